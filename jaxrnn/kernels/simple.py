r"""Simple (Elman) RNN: the baseline the gated cells are compared with::

  h' = tanh(x W_ih + b + h W_hh)          # or relu, with activation='relu'

The carry is ``h``.
"""

from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp

from jaxrnn.kernels import _api, _math
from jaxrnn.kernels._types import SimpleParams, SimpleTrace

Array = jax.Array

ACTIVATIONS = ('tanh', 'relu')


@dataclasses.dataclass(frozen=True)
class Simple:
    """Cell definition used by the sequence driver (see ``_scan``)."""

    activation: str = 'tanh'
    params_type = SimpleParams
    trace_type = SimpleTrace
    num_gates = 1
    carry_names = ('h',)

    def recurrent(self, p: SimpleParams):
        return (p.recurrent_kernel,)

    def prepare(self, rec, cdt, acc):
        (w_hh,) = rec
        return (w_hh.astype(cdt),)

    def step(self, rec, xp, state, cdt, acc, precision):
        (w_hh,) = rec
        (h,) = state
        a = xp + _math.dot(h, w_hh, cdt, acc, precision)
        h_new = jnp.tanh(a) if self.activation == 'tanh' else jax.nn.relu(a)
        return (h_new,), h_new, ()

    def state_sequence(self, ys, res):
        return (ys,)

    def trace(self, ys, res) -> SimpleTrace:
        return SimpleTrace(ys)

    def step_bwd(self, rec, res, prev, y, dstate, cdt, acc, precision):
        (w_hh,) = rec
        (dh,) = dstate
        if self.activation == 'tanh':
            da = dh * _math.dtanh(y)
        else:
            da = jnp.where(y > 0, dh, jnp.zeros_like(dh))
        return da, (_math.dot_t(da, w_hh, cdt, acc, precision),)

    def recurrent_grads(self, rec, dxp, res, prev, cdt, acc, precision):
        (h_prev,) = prev
        return (_math.outer_sum(h_prev, dxp, cdt, acc, precision),)


def _cell(activation: str) -> Simple:
    if activation not in ACTIVATIONS:
        raise ValueError(f'activation must be one of {ACTIVATIONS}, got {activation!r}.')
    return Simple(activation)


def simple_rnn(
    params: SimpleParams,
    xs: Array,
    carry: Array | None = None,
    *,
    seq_lengths: Array | None = None,
    reverse: bool = False,
    time_major: bool = False,
    unroll: int = 1,
    activation: str = 'tanh',
    dtype=None,
    precision=None,
    trace: bool = False,
    backend: str = 'auto',
) -> tuple:
    """Runs a simple RNN over a sequence (arguments as :func:`jaxrnn.kernels.lstm`).

    Args:
      params: :class:`SimpleParams` (``input_kernel [i, h]``, ``recurrent_kernel
        [h, h]``, ``bias [h]``).
      activation: ``'tanh'`` (Elman, default) or ``'relu'``.
      trace: also return a :class:`SimpleTrace`.
      backend: ``'auto'``, ``'xla'`` or ``'pallas'``; ``'cudnn'`` raises (JAX binds no
        cuDNN simple RNN).

    Returns:
      ``(h, ys)``, or ``(h, ys, trace)``.
    """
    return _api.run_sequence(
        _cell(activation),
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
    )


def simple_step(
    params: SimpleParams,
    carry: Array,
    x: Array,
    *,
    activation: str = 'tanh',
    dtype=None,
    precision=None,
) -> tuple[Array, Array]:
    """One simple-RNN step with exactly the math of :func:`simple_rnn`."""
    return _api.run_step(_cell(activation), params, carry, x, dtype=dtype, precision=precision)
