"""The bodies of ``RNN`` and ``Bidirectional``, shared by ``jaxrnn.linen`` and
``jaxrnn.nnx``: argument resolution, the fused and the generic path, output order."""

from __future__ import annotations

import logging
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
from flax.linen.recurrent import flip_sequences

from jaxrnn._layers import kernel
from jaxrnn._layers.cells import FusedCellBody, keep_carry_dtype, layout
from jaxrnn._layers.options import RNNOptions, check_keywords, override

Array = jax.Array


class RNNArgs(NamedTuple):
    """The arguments of one ``RNN`` call, resolved: call arguments over attributes,
    and the layout of the inputs."""

    initial_carry: Any
    key: Any
    seq_lengths: Array | None
    return_carry: bool
    time_major: bool
    reverse: bool
    keep_order: bool
    trace: bool
    checkpoint_every: int | str | None
    time_axis: int
    batch_dims: tuple[int, ...]


class RNNBody:
    """The body of ``RNN.__call__``.

    A jaxrnn cell runs the whole sequence in one kernel call (outputs aligned with the
    inputs); any other cell runs step by step in the framework's scan of
    :func:`masked_step`, over inputs flipped within their lengths when ``reverse``
    (outputs in processing order). Reversed outputs then come in Flax's order:
    processing order, or input order with ``keep_order``.

    The framework's class declares ``cell``, ``time_major``, ``return_carry``,
    ``reverse``, ``keep_order``, ``unroll``, ``checkpoint_every`` and the hooks
    ``_initialize_carry(key, input_shape)``, ``_scan(inputs, carry, valid, time_axis)``,
    ``_sow_trace(trace)`` and ``_check_fused()``.
    """

    cell: Any
    time_major: bool
    return_carry: bool
    reverse: bool
    keep_order: bool
    unroll: int
    checkpoint_every: int | str | None

    def _initialize_carry(self, key, input_shape: tuple[int, ...]) -> Any:
        raise NotImplementedError

    def _scan(self, inputs, carry, valid, time_axis: int) -> tuple[Any, Any]:
        raise NotImplementedError

    def _sow_trace(self, trace) -> None:
        raise NotImplementedError

    def _check_fused(self) -> None:
        """Raises for a scan option that a fused cell cannot honour (its parameters are
        the same at every step, and it draws no randomness per step)."""
        raise NotImplementedError

    def _resolve(self, inputs, key, options: RNNOptions) -> RNNArgs:
        check_keywords(f'{type(self).__name__}.__call__', options, RNNOptions)
        trace = options.get('trace', False)
        if trace and not isinstance(self.cell, FusedCellBody):
            raise ValueError(
                'trace=True needs a jaxrnn cell (LSTMCell, GRUCell, SimpleCell); '
                f'{type(self.cell).__name__} has no fused kernel to trace.'
            )
        checkpoint_every = override(options, 'checkpoint_every', self)
        if checkpoint_every is not None and not isinstance(self.cell, FusedCellBody):
            raise ValueError(
                f'checkpoint_every={checkpoint_every!r} needs a jaxrnn cell (LSTMCell, '
                f'GRUCell, SimpleCell); {type(self.cell).__name__} runs step by step under '
                "the framework's scan, which has no custom backward pass to checkpoint."
            )
        time_major = override(options, 'time_major', self)
        time_axis, batch_dims = layout(inputs, time_major, self.cell.num_feature_axes)
        return RNNArgs(
            initial_carry=options.get('initial_carry'),
            key=key,
            seq_lengths=options.get('seq_lengths'),
            return_carry=override(options, 'return_carry', self),
            time_major=time_major,
            reverse=override(options, 'reverse', self),
            keep_order=override(options, 'keep_order', self),
            trace=trace,
            checkpoint_every=checkpoint_every,
            time_axis=time_axis,
            batch_dims=batch_dims,
        )

    def _apply(self, inputs, key, options: RNNOptions):
        """``RNN.__call__`` once the framework has taken its key argument."""
        args = self._resolve(inputs, key, options)
        carry = args.initial_carry
        if carry is None:
            shape = jnp.shape(inputs)
            carry_shape = shape[: args.time_axis] + shape[args.time_axis + 1 :]
            carry = self._initialize_carry(args.key, carry_shape)
        fused = isinstance(self.cell, FusedCellBody)
        traced = None
        if fused:  # the kernel checks seq_lengths, dtypes, features and the carry
            self._check_fused()
            sequence = kernel.SequenceArgs(
                args.seq_lengths,
                args.reverse,
                args.time_major,
                self.unroll,
                args.trace,
                args.checkpoint_every,
            )
            out = kernel.sequence(self.cell, inputs, carry, sequence)
            carry, outputs = out[:2]
            traced = out[2] if args.trace else None
        else:
            carry, outputs = self._generic(inputs, carry, args)
        if args.reverse and args.keep_order != fused:
            outputs, traced = flip((outputs, traced), args.seq_lengths, args)
        if args.trace:
            self._sow_trace(traced)
        return pack_result(carry, outputs, traced, args.return_carry, args.trace)

    def _generic(self, inputs, carry, args: RNNArgs):
        num_steps = jnp.shape(inputs)[args.time_axis]
        if args.seq_lengths is not None:
            kernel.check_seq_lengths(args.seq_lengths, args.batch_dims, num_steps)
        if args.reverse:
            inputs = flip(inputs, args.seq_lengths, args)
        valid = valid_mask(args.seq_lengths, num_steps, args.time_major)
        return self._scan(inputs, carry, valid, args.time_axis)


class BidirectionalBody:
    """The body of ``Bidirectional.__call__``.

    The backward RNN reads each sequence in reverse within its length and its outputs
    come back in input order (``keep_order``), so the two merge step by step. With
    ``trace`` the trace ``(forward_trace, backward_trace)`` comes last, both in input
    order.

    ``checkpoint_every`` (call argument or attribute), when not ``None``, is passed to
    both RNNs as their call argument (it overrides their attributes).

    The framework's class declares ``forward_rnn``, ``backward_rnn``, ``merge_fn``,
    ``time_major``, ``return_carry``, ``checkpoint_every`` and the hook
    ``_direction_keys(key) -> (forward keywords, backward keywords)`` (Linen splits
    ``init_key``, NNX passes ``rngs``).
    """

    forward_rnn: Any
    backward_rnn: Any
    merge_fn: Any
    time_major: bool
    return_carry: bool
    checkpoint_every: int | str | None

    def _direction_keys(self, key) -> tuple[dict[str, Any], dict[str, Any]]:
        raise NotImplementedError

    def _apply(self, inputs, key, options: RNNOptions):
        where = f'{type(self).__name__}.__call__'
        check_keywords(where, options, RNNOptions)
        for name in ('reverse', 'keep_order'):
            if options.get(name) is not None:
                raise ValueError(
                    f"{where} takes no {name} (it is in the signature for Flax's RNNBase "
                    'protocol only): the backward RNN always reads in reverse and its '
                    f'outputs come back in input order; got {name}={options.get(name)!r}.'
                )
        if self.forward_rnn is self.backward_rnn:
            logging.warning(
                'forward_rnn and backward_rnn are the same object: they share parameters.'
            )
        trace = options.get('trace', False)
        initial_carry = options.get('initial_carry')
        carry_fwd, carry_bwd = (None, None) if initial_carry is None else initial_carry
        common: dict[str, Any] = dict(
            seq_lengths=options.get('seq_lengths'),
            return_carry=True,
            time_major=override(options, 'time_major', self),
        )
        if trace:  # only then: another RNN (Flax's) has no trace argument
            common['trace'] = True
        checkpoint_every = override(options, 'checkpoint_every', self)
        if checkpoint_every is not None:  # likewise
            common['checkpoint_every'] = checkpoint_every
        key_fwd, key_bwd = self._direction_keys(key)
        fwd = self.forward_rnn(inputs, initial_carry=carry_fwd, reverse=False, **common, **key_fwd)
        bwd = self.backward_rnn(
            inputs, initial_carry=carry_bwd, reverse=True, keep_order=True, **common, **key_bwd
        )
        outputs = jax.tree.map(self.merge_fn, fwd[1], bwd[1])
        traced = (fwd[2], bwd[2]) if trace else None
        return_carry = override(options, 'return_carry', self)
        return pack_result((fwd[0], bwd[0]), outputs, traced, return_carry, trace)


def pack_result(carry, outputs, traced, return_carry: bool, trace: bool):
    """``outputs``, ``(carry, outputs)``, ``(outputs, trace)`` or
    ``(carry, outputs, trace)``: the trace always comes last."""
    result = (carry, outputs) if return_carry else (outputs,)
    if trace:
        result += (traced,)
    return result if len(result) > 1 else result[0]


def concatenate(a: Array, b: Array) -> Array:
    """The default merge of ``Bidirectional``: concatenate along features."""
    return jnp.concatenate([a, b], axis=-1)


def flip(tree, seq_lengths, args: RNNArgs):
    """Reverses each sequence within its length, padding kept at the end (Flax)."""
    return jax.tree.map(
        lambda y: flip_sequences(y, seq_lengths, len(args.batch_dims), args.time_major), tree
    )


def valid_mask(seq_lengths, num_steps: int, time_major: bool):
    """``[t, *batch]`` (time-major) or ``[*batch, t]`` boolean mask of valid steps."""
    if seq_lengths is None:
        return None
    lengths = jnp.asarray(seq_lengths)
    if time_major:
        steps = jnp.arange(num_steps).reshape((num_steps,) + (1,) * lengths.ndim)
        return steps < lengths[None]
    steps = jnp.arange(num_steps).reshape((1,) * lengths.ndim + (num_steps,))
    return steps < lengths[..., None]


def masked_step(cell, carry, x, valid):
    """Runs ``cell(carry, x)``; where ``valid [*batch]`` is false, the carry is held and
    the output is zero. This gives any cell the semantics of the fused kernel."""
    new_carry, y = cell(carry, x)
    new_carry = keep_carry_dtype(new_carry, carry)
    if valid is None:
        return new_carry, y

    def pick(new, old):
        m = valid.reshape(valid.shape + (1,) * (new.ndim - valid.ndim))
        return jnp.where(m, new, old)

    new_carry = jax.tree.map(pick, new_carry, carry)
    y = jax.tree.map(lambda v: pick(v, jnp.zeros_like(v)), y)
    return new_carry, y
