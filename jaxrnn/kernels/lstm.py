r"""LSTM: the equations, once, and the public kernels.

Gate order (i, f, g, o), PyTorch/Flax/cuDNN convention::

  a       = x W_ih + b + h W_hh            # [b, 4h], a = (a_i, a_f, a_g, a_o)
  i       = sigmoid(a_i)                   # input gate: share of the candidate written
  f       = sigmoid(a_f)                   # forget gate: share of the old memory kept
  g       = tanh(a_g)                      # candidate memory
  o       = sigmoid(a_o)                   # output gate
  c'      = f * c + i * g
  h'      = o * tanh(c')

Carry order is ``(c, h)`` as in Flax.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Any, ClassVar, Literal, overload

import jax
import jax.numpy as jnp

from jaxrnn.kernels import _api, _math
from jaxrnn.kernels._types import LSTMCarry, LSTMParams, LSTMTrace, SequenceOptions, Step

if TYPE_CHECKING:
    from typing_extensions import Unpack

    from jaxrnn.kernels._backend import Backend

Array = jax.Array


@dataclasses.dataclass(frozen=True)
class LSTM:
    """The LSTM cell (:class:`jaxrnn.kernels._types.Cell`): the equations above, once.

    Examples:
      >>> from jaxrnn import kernels
      >>> cell = kernels.LSTM()
      >>> cell.name, cell.gates, cell.carry, cell.params_type.__name__
      ('lstm', ('i', 'f', 'g', 'o'), ('c', 'h'), 'LSTMParams')
    """

    name: ClassVar[str] = 'lstm'
    title: ClassVar[str] = 'LSTM'
    gates: ClassVar[tuple[str, ...]] = ('i', 'f', 'g', 'o')
    carry: ClassVar[tuple[str, ...]] = ('c', 'h')
    params_type: ClassVar[type] = LSTMParams
    trace_type: ClassVar[type] = LSTMTrace
    cudnn: ClassVar[bool] = True

    @property
    def saved(self) -> tuple[str, ...]:
        return ('i', 'f', 'g', 'o', 'c')

    def step(self, x, hw, state, extras) -> Step:
        c, h = state
        a_i, a_f, a_g, a_o = (x_k + h_k for x_k, h_k in zip(x, hw(h), strict=True))
        i = jax.nn.sigmoid(a_i)
        f = jax.nn.sigmoid(a_f)
        g = jnp.tanh(a_g)
        o = jax.nn.sigmoid(a_o)
        c_new = f * c + i * g
        h_new = o * jnp.tanh(c_new)
        return Step((c_new, h_new), h_new, (i, f, g, o, c_new))

    def step_bwd(self, saved, prev, y, dstate, hwt):
        """Hand-written backward of :meth:`step` (tested against ``jax.vjp`` of it):
        ``(dx blocks, dprev)`` from the step's saved values, the previous state and the
        cotangent of the new state (``dh`` includes the output's, ``y``)."""
        i, f, g, o, c_new = saved
        c_prev, _ = prev
        dc, dh = dstate
        tc = jnp.tanh(c_new)
        dc = dc + dh * o * _math.dtanh(tc)
        da = (
            dc * g * _math.dsigmoid(i),
            dc * c_prev * _math.dsigmoid(f),
            dc * i * _math.dtanh(g),
            dh * tc * _math.dsigmoid(o),
        )
        return da, (dc * f, hwt(da))

    def recurrent_grads(self, dx, saved, prev, outer):
        """``(dW_hh,)``: one matmul over all steps, ``dx [t, b, 4h]``."""
        _, h_prev = prev
        return (outer(h_prev, dx),)


_CELL = LSTM()


@overload
def lstm(
    params: LSTMParams,
    xs: Array,
    carry: LSTMCarry | None = None,
    *,
    trace: Literal[False] = False,
    **options: Unpack[SequenceOptions],
) -> tuple[LSTMCarry, Array]: ...


@overload
def lstm(
    params: LSTMParams,
    xs: Array,
    carry: LSTMCarry | None = None,
    *,
    trace: Literal[True],
    **options: Unpack[SequenceOptions],
) -> tuple[LSTMCarry, Array, LSTMTrace]: ...


def lstm(
    params: LSTMParams,
    xs: Array,
    carry: tuple[Array, Array] | None = None,
    *,
    seq_lengths: Array | None = None,
    reverse: bool = False,
    time_major: bool = False,
    unroll: int = 1,
    dtype=None,
    precision=None,
    trace: bool = False,
    backend: Backend = 'auto',
    checkpoint_every: int | str | None = None,
) -> tuple[Any, ...]:
    """Runs an LSTM over a sequence with the fused kernel.

    The input projection ``x @ W_ih + b`` is one matmul for all steps; the scan body does
    ``h @ W_hh`` and the fused gate math; the backward pass is a custom VJP whose weight
    gradients are single matmuls over all steps.

    Args:
      params: :class:`LSTMParams` (``input_kernel [i, 4h]``, ``recurrent_kernel [h, 4h]``,
        ``bias [4h]``), gate order (i, f, g, o).
      xs: ``[*batch, t, i]``, or ``[t, *batch, i]`` when ``time_major``.
      carry: ``(c, h)``, each ``[*batch, h]``; zeros when ``None``.
      seq_lengths: optional integer ``[*batch]`` lengths of right-padded sequences in
        ``[0, t]``. Outputs at padded steps are zero; the returned carry is the state at
        each sequence's last valid step (the initial carry for length 0).
      reverse: read each sequence from its last valid step to its first. Outputs stay
        aligned with the inputs (``ys[..., t, :]`` belongs to ``xs[..., t, :]``).
      time_major: layout of ``xs`` and of the outputs.
      unroll: steps unrolled per loop iteration (``lax.scan``'s ``unroll``).
      dtype: computation dtype (default: promoted from ``xs`` and ``params``). The carry
        and all accumulation stay in ``promote(dtype, float32)``.
      precision: ``jax.lax.Precision`` for every matmul.
      trace: also return an :class:`LSTMTrace` with every gate at every step (the same
        forward computation, differentiable; see :func:`jaxrnn.kernels._scan.sequence`).
      backend: ``'auto'`` (default), ``'xla'`` (the scan, every platform), ``'cudnn'``
        (cuDNN through ``jax.experimental.rnn``: NVIDIA GPUs, float32), ``'pallas'``
        (one persistent kernel for the whole sequence; interpret mode on CPU) or
        ``'native'`` (the compiled CPU loop, forward and backward; first-order
        gradients only). Same numbers within dtype tolerance; a trace always runs the
        scan. See the README's "Backends" and :mod:`jaxrnn.kernels._backend`.
      checkpoint_every: gradient checkpointing for long sequences. ``None`` (default):
        the forward pass keeps every step's gates and state for the backward pass,
        ``O(t)`` memory. ``k`` (a positive int): it keeps only the state entering each
        chunk of ``k`` steps (``ceil(t / k)`` states ``[*batch, h]``); the backward pass
        recomputes each chunk's gates from its checkpoint, runs the usual reverse loop
        over it and adds the chunk's weight gradients to running sums, so what it keeps
        is ``O(t / k + k)`` steps' worth and the extra cost is one forward pass.
        ``'auto'``: ``k = ceil(sqrt(t))``. The gradients equal those without it to
        float32 rounding (the weight gradients are summed chunk by chunk, a different
        order of the same terms). Not with ``trace=True`` or ``backend='cudnn'`` (a
        ValueError); see :func:`jaxrnn.kernels._scan.recurrence_checkpointed`.

    Returns:
      ``((c, h), ys)``: the final carry in the accumulation dtype and the outputs
      ``ys`` (``[*batch, t, h]`` or time-major) in the computation dtype; with
      ``trace=True``, ``((c, h), ys, trace)``.

    Examples:
      >>> import jax, jax.numpy as jnp
      >>> from jaxrnn import kernels
      >>> shapes = kernels.param_shapes(kernels.LSTM(), 3, 4)   # in_features 3, hidden 4
      >>> keys = jax.random.split(jax.random.key(0), len(shapes))
      >>> params = kernels.LSTMParams(*(0.5 * jax.random.normal(k, s)
      ...                               for k, s in zip(keys, shapes.values())))
      >>> xs = jax.random.normal(jax.random.key(1), (2, 5, 3))  # [b, t, i]
      >>> (c, h), ys = kernels.lstm(params, xs, seq_lengths=jnp.array([5, 2]))
      >>> ys.shape, c.shape, h.shape
      ((2, 5, 4), (2, 4), (2, 4))

      Padded steps output zero, and the carry is the state at each sequence's last valid step:

      >>> bool((ys[1, 2:] == 0).all()), bool((h[1] == ys[1, 1]).all())
      (True, True)

      With ``trace=True`` every gate of every step comes back too:

      >>> (c, h), ys, trace = kernels.lstm(params, xs, trace=True)
      >>> trace._fields, trace.f.shape
      (('i', 'f', 'g', 'o', 'c', 'h'), (2, 5, 4))
    """
    return _api.run_sequence(
        _CELL,
        params,
        xs,
        carry,
        seq_lengths=seq_lengths,
        reverse=reverse,
        time_major=time_major,
        unroll=unroll,
        dtype=dtype,
        precision=precision,
        trace=trace,
        backend=backend,
        checkpoint_every=checkpoint_every,
    )


def lstm_step(
    params: LSTMParams,
    carry: tuple[Array, Array],
    x: Array,
    *,
    dtype=None,
    precision=None,
) -> tuple[tuple[Array, Array], Array]:
    """One LSTM step with exactly the math of :func:`lstm` (for autoregressive decoding).

    Args:
      params: :class:`LSTMParams`.
      carry: ``(c, h)``, each ``[*batch, h]``.
      x: ``[*batch, i]``.
      dtype, precision: as in :func:`lstm`.

    Returns:
      ``((c', h'), h')`` with ``h'`` in the computation dtype.

    Examples:
      >>> import jax, jax.numpy as jnp
      >>> from jaxrnn import kernels
      >>> shapes = kernels.param_shapes(kernels.LSTM(), 3, 4)
      >>> keys = jax.random.split(jax.random.key(0), len(shapes))
      >>> params = kernels.LSTMParams(*(0.5 * jax.random.normal(k, s)
      ...                               for k, s in zip(keys, shapes.values())))
      >>> xs = jax.random.normal(jax.random.key(1), (2, 5, 3))
      >>> carry = (jnp.zeros((2, 4)), jnp.zeros((2, 4)))       # (c, h)
      >>> outputs = []
      >>> for t in range(5):
      ...     carry, y = kernels.lstm_step(params, carry, xs[:, t])
      ...     outputs.append(y)
      >>> _, ys = kernels.lstm(params, xs)
      >>> bool(jnp.allclose(jnp.stack(outputs, axis=1), ys, atol=1e-6))
      True
    """
    return _api.run_step(_CELL, params, carry, x, dtype=dtype, precision=precision)
