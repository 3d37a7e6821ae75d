"""``RNN`` and ``Bidirectional`` for Flax NNX, with the signatures of ``flax.nnx.RNN``
and ``flax.nnx.Bidirectional``. The bodies live in :mod:`jaxrnn._layers.rnn`; this
module declares the constructors, NNX's ``rngs``, ``nnx.scan`` for other cells and
``nnx.Intermediate``."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable

import jax
from flax import nnx

from jaxrnn._layers import rnn
from jaxrnn._layers.options import RNNOptions

if TYPE_CHECKING:
    from typing_extensions import Unpack

Array = jax.Array


def sow_trace(module: nnx.Module, trace) -> None:
    """Sows a trace as ``nnx.Intermediate`` ``'trace'`` when the call runs under
    ``nnx.capture`` (outside it, NNX's ``sow`` is deprecated and the trace is only
    returned)."""
    if hasattr(module, '__captures__'):
        module.sow(nnx.Intermediate, 'trace', trace)


class RNN(rnn.RNNBody, nnx.Module):
    """Runs a cell over a sequence; a drop-in for ``flax.nnx.RNN``.

    A jaxrnn cell runs the fused sequence kernel; any other ``nnx.RNNCellBase`` runs
    step by step under ``nnx.scan`` with the same semantics (zero outputs at padded
    steps, the carry of the last valid step, the initial carry for length 0). See
    ``jaxrnn.linen.RNN`` for the arguments; ``rngs`` (here or at call time) feeds the
    cell's ``initialize_carry``.
    """

    def __init__(
        self,
        cell,
        *,
        time_major: bool = False,
        return_carry: bool = False,
        reverse: bool = False,
        keep_order: bool = False,
        unroll: int = 1,
        rngs: nnx.Rngs | None = None,
    ):
        self.cell = cell
        self.time_major = time_major
        self.return_carry = return_carry
        self.reverse = reverse
        self.keep_order = keep_order
        self.unroll = unroll
        self.rngs = rngs

    def __call__(self, inputs: Array, *, rngs: Any = None, **options: Unpack[RNNOptions]):
        """As ``jaxrnn.linen.RNN.__call__``, with ``rngs`` for ``initialize_carry``
        instead of ``init_key``. With ``trace`` the trace is appended to the result and,
        under ``nnx.capture(..., nnx.Intermediate)``, sown as ``trace``."""
        return self._apply(inputs, rngs, options)

    def _initialize_carry(self, key, input_shape):
        rngs = self.rngs if key is None else key
        return self.cell.initialize_carry(input_shape, nnx.Rngs(carry=0) if rngs is None else rngs)

    def _scan(self, inputs, carry, valid, time_axis):
        """Step-by-step ``nnx.scan`` for cells without a fused kernel; the cell's state
        (parameters, counters) is threaded through the loop as a carry."""

        @nnx.compat.scan(
            in_axes=(nnx.StateAxes({...: nnx.Carry}), nnx.Carry, time_axis),
            out_axes=(nnx.Carry, time_axis),
            unroll=self.unroll,
        )
        def body(cell, carry, xs):
            x, v = xs
            return rnn.masked_step(cell, carry, x, v)

        return body(self.cell, carry, (inputs, valid))

    _sow_trace = sow_trace


class Bidirectional(rnn.BidirectionalBody, nnx.Module):
    """Both directions, merged; as ``flax.nnx.Bidirectional`` (see
    ``jaxrnn.linen.Bidirectional``)."""

    def __init__(
        self,
        forward_rnn,
        backward_rnn,
        *,
        merge_fn: Callable[[Array, Array], Array] = rnn.concatenate,
        time_major: bool = False,
        return_carry: bool = False,
    ):
        self.forward_rnn = forward_rnn
        self.backward_rnn = backward_rnn
        self.merge_fn = merge_fn
        self.time_major = time_major
        self.return_carry = return_carry

    def _direction_keys(self, key):
        return {'rngs': key}, {'rngs': key}

    def __call__(self, inputs: Array, *, rngs: Any = None, **options: Unpack[RNNOptions]):
        """As ``jaxrnn.linen.Bidirectional.__call__``; ``rngs`` goes to both RNNs."""
        return self._apply(inputs, rngs, options)
