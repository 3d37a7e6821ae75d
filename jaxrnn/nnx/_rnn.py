"""``RNN`` and ``Bidirectional`` for Flax NNX, with the signatures of ``flax.nnx.RNN``
and ``flax.nnx.Bidirectional``."""

from __future__ import annotations

import functools
from typing import Any, Callable

import jax
from flax import nnx

from jaxrnn import _layers
from jaxrnn.nnx._cells import FusedCell

Array = jax.Array


def sow_trace(module: nnx.Module, value):
    """Sows a trace as ``nnx.Intermediate`` ``'trace'`` when the call runs under
    ``nnx.capture`` (outside it, NNX's ``sow`` is deprecated and the trace is only
    returned)."""
    if hasattr(module, '__captures__'):
        module.sow(nnx.Intermediate, 'trace', value)


class RNN(nnx.Module):
    """Runs a cell over a sequence; a drop-in for ``flax.nnx.RNN``.

    A jaxrnn cell runs the fused sequence kernel; any other ``nnx.RNNCellBase`` runs
    step by step under ``nnx.scan`` with the same semantics (zero outputs at padded
    steps, the carry of the last valid step, the initial carry for length 0). See
    ``jaxrnn.linen.RNN`` for the arguments.
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

    def __call__(
        self,
        inputs: Array,
        *,
        initial_carry: Any = None,
        seq_lengths: Array | None = None,
        return_carry: bool | None = None,
        time_major: bool | None = None,
        reverse: bool | None = None,
        keep_order: bool | None = None,
        rngs: Any = None,
        trace: bool = False,
    ):
        """As ``jaxrnn.linen.RNN.__call__``. With ``trace`` the trace is appended to the
        result and, under ``nnx.capture(..., nnx.Intermediate)``, sown as ``trace``."""
        return_carry = self.return_carry if return_carry is None else return_carry
        time_major = self.time_major if time_major is None else time_major
        reverse = self.reverse if reverse is None else reverse
        keep_order = self.keep_order if keep_order is None else keep_order

        time_axis, batch_dims = _layers.layout(inputs, self.cell.num_feature_axes, time_major)
        _layers.check_lengths(seq_lengths, batch_dims, inputs.shape[time_axis])
        if initial_carry is None:
            rngs = self.rngs if rngs is None else rngs
            carry = self.cell.initialize_carry(
                _layers.carry_input_shape(inputs, time_axis),
                rngs if rngs is not None else nnx.Rngs(carry=0),
            )
        else:
            carry = initial_carry

        result = _layers.run_rnn(
            self.cell,
            carry,
            inputs,
            fused=isinstance(self.cell, FusedCell),
            generic_scan=functools.partial(self._scan, time_axis=time_axis),
            seq_lengths=seq_lengths,
            time_axis=time_axis,
            batch_dims=batch_dims,
            time_major=time_major,
            reverse=reverse,
            keep_order=keep_order,
            return_carry=return_carry,
            unroll=self.unroll,
            trace=trace,
        )
        if trace:
            sow_trace(self, result[-1])
        return result

    def _scan(self, inputs, carry, valid, *, time_axis):
        """Step-by-step ``nnx.scan`` for cells without a fused kernel; the cell's state
        (parameters, counters) is threaded through the loop as a carry."""

        @nnx.compat.scan(
            in_axes=(nnx.StateAxes({...: nnx.Carry}), nnx.Carry, time_axis),
            out_axes=(nnx.Carry, time_axis),
            unroll=self.unroll,
        )
        def body(cell, carry, xs):
            x, v = xs
            return _layers.masked_step(cell, carry, x, v)

        return body(self.cell, carry, (inputs, valid))


class Bidirectional(nnx.Module):
    """Both directions, merged; as ``flax.nnx.Bidirectional`` (see
    ``jaxrnn.linen.Bidirectional``)."""

    def __init__(
        self,
        forward_rnn,
        backward_rnn,
        *,
        merge_fn: Callable[[Array, Array], Array] = _layers.concatenate,
        time_major: bool = False,
        return_carry: bool = False,
    ):
        self.forward_rnn = forward_rnn
        self.backward_rnn = backward_rnn
        self.merge_fn = merge_fn
        self.time_major = time_major
        self.return_carry = return_carry

    def __call__(
        self,
        inputs: Array,
        *,
        initial_carry: Any = None,
        rngs: Any = None,
        seq_lengths: Array | None = None,
        return_carry: bool | None = None,
        time_major: bool | None = None,
        reverse: bool | None = None,
        keep_order: bool | None = None,
        trace: bool = False,
    ):
        time_major = self.time_major if time_major is None else time_major
        return_carry = self.return_carry if return_carry is None else return_carry
        return _layers.bidirectional(
            self.forward_rnn,
            self.backward_rnn,
            self.merge_fn,
            inputs,
            initial_carry=initial_carry,
            seq_lengths=seq_lengths,
            time_major=time_major,
            return_carry=return_carry,
            forward_kwargs={'rngs': rngs},
            backward_kwargs={'rngs': rngs},
            trace=trace,
        )
