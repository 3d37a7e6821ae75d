"""``RNN`` and ``Bidirectional`` for Flax Linen, with the signatures of
``flax.linen.RNN`` and ``flax.linen.Bidirectional``."""

from __future__ import annotations

import functools
from typing import Any, Callable, Mapping

import flax.linen as nn
import jax
from flax.core import FrozenDict

from jaxrnn import _layers
from jaxrnn.linen._cells import FusedCell

Array = jax.Array


class RNN(nn.Module):
    """Runs a cell over a sequence; a drop-in for ``flax.linen.RNN``.

    With a jaxrnn cell (``LSTMCell``, ``GRUCell``, ``SimpleCell``) the whole sequence
    goes through the fused kernel: one input matmul for all steps, the recurrence in a
    ``lax.scan``, a custom backward pass. Any other ``RNNCellBase`` runs step by step
    under ``nn.scan``, with the same semantics. The parameters live under ``cell`` as
    with ``flax.linen.RNN``, so the same variables work with both.

    Differences from ``flax.linen.RNN``, both deliberate: with ``seq_lengths``, outputs
    at padded steps are zero (Flax leaves whatever the cell computed), and a sequence
    of length 0 returns the initial carry (Flax returns the last step's carry).

    Attributes:
      cell: the cell.
      time_major: inputs ``[t, *batch, features]`` instead of ``[*batch, t, features]``.
      return_carry: return ``(carry, outputs)`` instead of ``outputs``.
      reverse: read each sequence from its last valid step to its first; outputs come
        in processing order (padding kept at the end) unless ``keep_order``.
      keep_order: with ``reverse``, put the outputs back in input order.
      unroll: steps unrolled per loop iteration.
      variable_axes, variable_broadcast, variable_carry, split_rngs: passed to
        ``nn.scan`` for non-jaxrnn cells, as in Flax.
    """

    cell: nn.RNNCellBase
    time_major: bool = False
    return_carry: bool = False
    reverse: bool = False
    keep_order: bool = False
    unroll: int = 1
    variable_axes: Mapping[Any, Any] = FrozenDict()
    variable_broadcast: Any = 'params'
    variable_carry: Any = False
    split_rngs: Mapping[Any, bool] = FrozenDict({'params': False})

    def __call__(
        self,
        inputs: Array,
        *,
        initial_carry: Any = None,
        init_key: Any = None,
        seq_lengths: Array | None = None,
        return_carry: bool | None = None,
        time_major: bool | None = None,
        reverse: bool | None = None,
        keep_order: bool | None = None,
        trace: bool = False,
    ):
        """Applies the RNN to ``inputs``; the keyword arguments override the attributes.

        Args:
          inputs: ``[*batch, t, features]`` (or time-major).
          initial_carry: the initial carry; else ``cell.initialize_carry(init_key, ...)``.
          init_key: key for ``initialize_carry`` (default ``jax.random.key(0)``).
          seq_lengths: optional integer ``[*batch]`` lengths of right-padded sequences.
          trace: also return every gate at every step (jaxrnn cells only): an
            ``LSTMTrace``/``GRUTrace``/``SimpleTrace`` of ``[*batch, t, h]`` arrays in
            the order of the outputs, also sown as ``intermediates/trace``.

        Returns:
          ``outputs`` or, with ``return_carry``, ``(carry, outputs)``; with ``trace``
          the trace is appended: ``(outputs, trace)`` or ``(carry, outputs, trace)``.
        """
        return_carry = self.return_carry if return_carry is None else return_carry
        time_major = self.time_major if time_major is None else time_major
        reverse = self.reverse if reverse is None else reverse
        keep_order = self.keep_order if keep_order is None else keep_order

        time_axis, batch_dims = _layers.layout(inputs, self.cell.num_feature_axes, time_major)
        _layers.check_lengths(seq_lengths, batch_dims, inputs.shape[time_axis])
        if initial_carry is None:
            key = jax.random.key(0) if init_key is None else init_key
            carry = self.cell.initialize_carry(key, _layers.carry_input_shape(inputs, time_axis))
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
            self.sow('intermediates', 'trace', result[-1])
        return result

    def _scan(self, inputs, carry, valid, *, time_axis):
        """Step-by-step ``nn.scan`` for cells without a fused kernel."""

        def body(cell, carry, xs):
            x, v = xs
            return _layers.masked_step(cell, carry, x, v)

        scan = nn.scan(
            body,
            in_axes=time_axis,
            out_axes=time_axis,
            unroll=self.unroll,
            variable_axes=self.variable_axes,
            variable_broadcast=self.variable_broadcast,
            variable_carry=self.variable_carry,
            split_rngs=self.split_rngs,
        )
        return scan(self.cell, carry, (inputs, valid))


class Bidirectional(nn.Module):
    """Processes the input in both directions and merges the outputs, as
    ``flax.linen.Bidirectional``. The backward RNN reads each sequence in reverse within
    its length and its outputs are put back in input order before merging.

    Attributes:
      forward_rnn, backward_rnn: RNN modules (``jaxrnn.linen.RNN`` or compatible).
      merge_fn: merges the two outputs (default: concatenate features).
      time_major, return_carry: as in :class:`RNN`; the carry is
        ``(forward_carry, backward_carry)``.
    """

    forward_rnn: Any
    backward_rnn: Any
    merge_fn: Callable[[Array, Array], Array] = _layers.concatenate
    time_major: bool = False
    return_carry: bool = False

    def __call__(
        self,
        inputs: Array,
        *,
        initial_carry: Any = None,
        init_key: Any = None,
        seq_lengths: Array | None = None,
        return_carry: bool | None = None,
        time_major: bool | None = None,
        reverse: bool | None = None,  # accepted for signature parity; unused
        keep_order: bool | None = None,  # accepted for signature parity; unused
        trace: bool = False,
    ):
        """Runs both directions; with ``trace`` returns ``(..., (forward_trace,
        backward_trace))``, both in input order."""
        time_major = self.time_major if time_major is None else time_major
        return_carry = self.return_carry if return_carry is None else return_carry
        if init_key is not None:
            key_fwd, key_bwd = jax.random.split(init_key)
        else:
            key_fwd = key_bwd = None
        return _layers.bidirectional(
            self.forward_rnn,
            self.backward_rnn,
            self.merge_fn,
            inputs,
            initial_carry=initial_carry,
            seq_lengths=seq_lengths,
            time_major=time_major,
            return_carry=return_carry,
            forward_kwargs={'init_key': key_fwd},
            backward_kwargs={'init_key': key_bwd},
            trace=trace,
        )
