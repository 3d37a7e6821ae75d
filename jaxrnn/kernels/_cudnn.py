r"""The cuDNN LSTM through ``jax.experimental.rnn``, behind jaxrnn's API.

``jax.experimental.rnn.lstm`` binds cuDNN's LSTM (NVIDIA GPUs, float32, batch-major,
forward direction per pseudo-layer, ``seq_lengths`` >= 1) with a cuDNN backward pass.
This module gives it jaxrnn's semantics, so ``backend='cudnn'`` returns what the XLA
scan returns:

- weights: packed from our fused layout each call (``W_ih^T``, ``W_hh^T``, the single
  bias as ``b_ih`` and zeros as ``b_hh``; same gate order i, f, g, o), differentiably,
  so gradients reach :class:`LSTMParams` directly;
- ``reverse``: each sequence is flipped within its length, run forward, and the outputs
  flipped back (aligned with the inputs, as the scan's ``reverse``);
- ``seq_lengths`` of 0: cuDNN needs at least one step, so it runs one step and the
  carry is replaced by the initial carry (outputs at padded steps are zero anyway);
- time-major inputs are transposed in and out.

``unroll`` has no meaning here and is ignored. Trace mode runs the XLA scan
(cuDNN does not expose its gates).
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
from jax.experimental import rnn as jax_rnn

Array = jax.Array


def pack(params) -> Array:
    """``jax.experimental.rnn``'s flat weight vector for one layer, one direction."""
    w_ih, w_hh, bias = params.input_kernel, params.recurrent_kernel, params.bias
    return jnp.concatenate(
        [w_ih.T.reshape(-1), w_hh.T.reshape(-1), bias, jnp.zeros_like(bias)]
    ).astype(jnp.float32)


def flip_within(x: Array, lengths: Array) -> Array:
    """Reverses ``x [b, t, ...]`` along time within each length; padding stays put."""
    num_steps = x.shape[1]
    t = jnp.arange(num_steps)[None, :]
    index = jnp.where(t < lengths[:, None], lengths[:, None] - 1 - t, t)
    index = index.reshape(index.shape + (1,) * (x.ndim - 2))
    return jnp.take_along_axis(x, index, axis=1)


@functools.partial(jax.jit, static_argnames=('reverse', 'time_major', 'precision'))
def sequence(params, xs, state0, lengths, *, reverse: bool, time_major: bool, precision):
    """The LSTM over ``xs`` through cuDNN, with jaxrnn's semantics.

    Args:
      params: :class:`LSTMParams`.
      xs: ``[t, b, i]`` if ``time_major`` else ``[b, t, i]``, float32.
      state0: ``(c, h)``, each ``[b, h]``.
      lengths: ``[b]`` integer lengths in ``[0, t]``, or ``None``.

    Returns:
      ``((c, h), ys)`` with ``ys`` in the layout of ``xs``, float32.
    """
    x = jnp.swapaxes(xs, 0, 1) if time_major else xs
    x = x.astype(jnp.float32)
    batch, num_steps, in_features = x.shape
    hidden = params.recurrent_kernel.shape[0]
    full = jnp.full((batch,), num_steps, jnp.int32)
    lengths = full if lengths is None else lengths.astype(jnp.int32)
    run_lengths = jnp.maximum(lengths, 1)
    if reverse:
        x = flip_within(x, run_lengths)
    c0, h0 = (s.astype(jnp.float32) for s in state0)
    ys, h_n, c_n = jax_rnn.lstm(
        x,
        h0[None],
        c0[None],
        pack(params),
        run_lengths,
        input_size=in_features,
        hidden_size=hidden,
        num_layers=1,
        dropout=0.0,
        bidirectional=False,
        precision=precision,
    )
    if reverse:
        ys = flip_within(ys, run_lengths)
    valid = jnp.arange(num_steps)[None, :] < lengths[:, None]
    ys = jnp.where(valid[..., None], ys, jnp.zeros_like(ys))
    empty = (lengths == 0)[:, None]
    final = (jnp.where(empty, c0, c_n[0]), jnp.where(empty, h0, h_n[0]))
    return final, jnp.swapaxes(ys, 0, 1) if time_major else ys
