"""Framework-neutral pieces shared by ``jaxrnn.linen`` and ``jaxrnn.nnx``: parameter
shapes and initialisation of the fused layout, argument resolution for ``RNN``, the
masked step used for non-jaxrnn cells, and the bidirectional merge. No gate math lives
here (that is in ``jaxrnn.kernels``) and nothing here owns parameters.
"""

from __future__ import annotations

import functools
import logging
from typing import Any, Callable

import jax
import jax.numpy as jnp
from flax.linen.recurrent import flip_sequences

from jaxrnn import kernels
from jaxrnn.kernels import _api
from jaxrnn.kernels.gru import GRU
from jaxrnn.kernels.lstm import LSTM
from jaxrnn.kernels.simple import Simple

Array = jax.Array
Initializer = Callable[..., Array]


# --- the three cells, described once for both Flax APIs ---------------------------------


class CellSpec:
    """What a Flax layer needs to know about one kernel cell."""

    def __init__(self, kernel_cell, sequence_fn, step_fn):
        self.kernel_cell = kernel_cell
        self.sequence_fn = sequence_fn
        self.step_fn = step_fn
        self.params_type = kernel_cell.params_type
        self.num_gates = len(kernel_cell.gates)
        self.carry_names = kernel_cell.carry


def lstm_spec() -> CellSpec:
    return CellSpec(LSTM(), kernels.lstm, kernels.lstm_step)


def gru_spec(reset_after: bool) -> CellSpec:
    return CellSpec(
        GRU(reset_after),
        functools.partial(kernels.gru, reset_after=reset_after),
        functools.partial(kernels.gru_step, reset_after=reset_after),
    )


def simple_spec(activation: str) -> CellSpec:
    return CellSpec(
        Simple(activation),
        functools.partial(kernels.simple_rnn, activation=activation),
        functools.partial(kernels.simple_step, activation=activation),
    )


def blockwise(init: Initializer, num_blocks: int) -> Initializer:
    """Applies ``init`` to each ``[h, h]`` gate block of a ``[h, G*h]`` kernel.

    Flax's per-gate cells draw each gate's recurrent matrix separately (orthogonal per
    gate); a single orthogonal ``[h, 4h]`` draw would have a different distribution.
    """

    def blocks(key, shape, dtype=jnp.float32):
        rows, cols = shape
        keys = jax.random.split(key, num_blocks)
        width = cols // num_blocks
        return jnp.concatenate([init(k, (rows, width), dtype) for k in keys], axis=-1)

    return blocks


def param_shapes(spec: CellSpec, in_features: int, hidden: int) -> dict[str, tuple]:
    g = spec.num_gates
    shapes = {
        'input_kernel': (in_features, g * hidden),
        'recurrent_kernel': (hidden, g * hidden),
        'bias': (g * hidden,),
        'recurrent_bias': (hidden,),
    }
    return {name: shapes[name] for name in spec.params_type._fields}


def param_inits(
    spec: CellSpec,
    kernel_init: Initializer,
    recurrent_kernel_init: Initializer,
    bias_init: Initializer,
    forget_bias: float = 0.0,
) -> dict[str, Initializer]:
    """Initializers for each field of the cell's params NamedTuple."""

    def bias(key, shape, dtype=jnp.float32):
        b = bias_init(key, shape, dtype)
        if forget_bias:  # LSTM only: block 1 of (i, f, g, o)
            hidden = shape[0] // 4
            b = b.at[hidden : 2 * hidden].add(jnp.asarray(forget_bias, dtype))
        return b

    inits = {
        'input_kernel': kernel_init,
        'recurrent_kernel': blockwise(recurrent_kernel_init, spec.num_gates),
        'bias': bias,
        'recurrent_bias': bias_init,
    }
    return {name: inits[name] for name in spec.params_type._fields}


def carry_dtype(param_dtype) -> Any:
    """Carries are kept in ``promote(param_dtype, float32)``."""
    return jnp.promote_types(param_dtype, jnp.float32)


def init_carry(spec: CellSpec, carry_init: Initializer, key, input_shape, hidden, dtype):
    """``carry_init`` applied to each carry part of shape ``[*batch, hidden]``."""
    shape = tuple(input_shape[:-1]) + (hidden,)
    keys = jax.random.split(key, len(spec.carry_names)) if key is not None else None
    parts = tuple(
        carry_init(keys[k] if keys is not None else None, shape, dtype)
        for k in range(len(spec.carry_names))
    )
    return parts if len(parts) > 1 else parts[0]


def keep_carry_dtype(new_carry, old_carry):
    """Casts a step's carry back to the incoming carry's dtype (scan needs a fixed type)."""
    return jax.tree.map(lambda n, o: n.astype(jnp.asarray(o).dtype), new_carry, old_carry)


def in_features_of(inputs) -> int:
    """The feature size of a step's inputs, or a ValueError for a rank-0 input."""
    if jnp.ndim(inputs) < 1:
        raise ValueError(
            f'inputs must have rank >= 1 ([*batch, features]), got shape {jnp.shape(inputs)}.'
        )
    return jnp.shape(inputs)[-1]


# --- RNN: argument resolution, the generic masked scan, output order -----------------------


def layout(inputs, num_feature_axes: int, time_major: bool):
    """Returns ``(time_axis, batch_dims)`` as Flax's ``nn.RNN`` infers them."""
    ndim = jnp.ndim(inputs)
    if ndim < num_feature_axes + 1:
        raise ValueError(
            f'inputs must have rank >= {num_feature_axes + 1} '
            f'([*batch, time, features]), got shape {jnp.shape(inputs)}.'
        )
    time_axis = 0 if time_major else ndim - (num_feature_axes + 1)
    batch_dims = (
        jnp.shape(inputs)[1:-num_feature_axes] if time_major else jnp.shape(inputs)[:time_axis]
    )
    return time_axis, tuple(batch_dims)


def carry_input_shape(inputs, time_axis: int) -> tuple[int, ...]:
    shape = jnp.shape(inputs)
    return shape[:time_axis] + shape[time_axis + 1 :]


def check_lengths(seq_lengths, batch_dims, num_steps):
    if seq_lengths is not None:
        _api.check_seq_lengths(seq_lengths, batch_dims, num_steps)


def flip(outputs, seq_lengths, batch_dims, time_major):
    """Reverses each sequence within its length, padding kept at the end (Flax)."""
    return jax.tree.map(
        lambda y: flip_sequences(y, seq_lengths, len(batch_dims), time_major), outputs
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


def masked_step(cell_fn: Callable, carry, x, valid):
    """Runs ``cell_fn(carry, x)``; where ``valid [*batch]`` is false, the carry is held
    and the output is zero. This gives any cell the semantics of the fused kernel."""
    new_carry, y = cell_fn(carry, x)
    new_carry = keep_carry_dtype(new_carry, carry)
    if valid is None:
        return new_carry, y

    def pick(new, old):
        m = valid.reshape(valid.shape + (1,) * (new.ndim - valid.ndim))
        return jnp.where(m, new, old)

    new_carry = jax.tree.map(pick, new_carry, carry)
    y = jax.tree.map(lambda v: pick(v, jnp.zeros_like(v)), y)
    return new_carry, y


def run_rnn(
    cell,
    carry,
    inputs,
    *,
    fused: bool,
    generic_scan: Callable,
    seq_lengths,
    time_axis: int,
    batch_dims,
    time_major: bool,
    reverse: bool,
    keep_order: bool,
    return_carry: bool,
    unroll: int,
    trace: bool = False,
):
    """The body of ``RNN.__call__`` shared by Linen and NNX.

    A fused cell runs ``cell.sequence`` (outputs aligned with inputs). Any other cell runs
    ``generic_scan(inputs, carry, valid) -> (carry, outputs)``, the framework's own scan of
    :func:`masked_step`, over inputs flipped within their lengths when ``reverse`` (outputs
    in processing order). Reversed outputs are then put in Flax's order: processing order,
    or input order with ``keep_order``. With ``trace`` (fused cells only) the trace comes
    last in the result, in the order of the outputs.
    """
    gates = None
    if trace and not fused:
        raise ValueError(
            'trace=True needs a jaxrnn cell (LSTMCell, GRUCell, SimpleCell); '
            f'{type(cell).__name__} has no fused kernel to trace.'
        )
    if fused:
        out = cell.sequence(
            inputs,
            carry,
            seq_lengths=seq_lengths,
            reverse=reverse,
            time_major=time_major,
            unroll=unroll,
            trace=trace,
        )
        carry, outputs = out[:2]
        gates = out[2] if trace else None
    else:
        if reverse:
            inputs = flip(inputs, seq_lengths, batch_dims, time_major)
        valid = valid_mask(seq_lengths, inputs.shape[time_axis], time_major)
        carry, outputs = generic_scan(inputs, carry, valid)
    if reverse and keep_order != fused:
        outputs = flip(outputs, seq_lengths, batch_dims, time_major)
        if trace:
            gates = flip(gates, seq_lengths, batch_dims, time_major)
    return pack_result(carry, outputs, gates, return_carry=return_carry, trace=trace)


def bidirectional(
    forward_rnn,
    backward_rnn,
    merge_fn,
    inputs,
    *,
    initial_carry,
    seq_lengths,
    time_major: bool,
    return_carry: bool,
    forward_kwargs: dict,
    backward_kwargs: dict,
    trace: bool = False,
):
    """The body of ``Bidirectional.__call__`` shared by Linen and NNX.

    The backward RNN reads each sequence in reverse within its length and its outputs come
    back in input order (``keep_order``), so the two merge step by step. ``*_kwargs`` carry
    each framework's key argument (``init_key`` in Linen, ``rngs`` in NNX). With
    ``trace`` the trace ``(forward_trace, backward_trace)`` comes last, both in input order.
    """
    carry_fwd, carry_bwd = (None, None) if initial_carry is None else initial_carry
    if forward_rnn is backward_rnn:
        logging.warning('forward_rnn and backward_rnn are the same object: they share parameters.')
    common = dict(seq_lengths=seq_lengths, return_carry=True, time_major=time_major)
    if trace:
        common['trace'] = True
    fwd = forward_rnn(inputs, initial_carry=carry_fwd, reverse=False, **common, **forward_kwargs)
    bwd = backward_rnn(
        inputs, initial_carry=carry_bwd, reverse=True, keep_order=True, **common, **backward_kwargs
    )
    outputs = jax.tree.map(merge_fn, fwd[1], bwd[1])
    gates = (fwd[2], bwd[2]) if trace else None
    return pack_result((fwd[0], bwd[0]), outputs, gates, return_carry=return_carry, trace=trace)


def pack_result(carry, outputs, gates, *, return_carry: bool, trace: bool):
    """``outputs``, ``(carry, outputs)``, ``(outputs, trace)`` or
    ``(carry, outputs, trace)``: the trace always comes last."""
    result = (carry, outputs) if return_carry else (outputs,)
    if trace:
        result += (gates,)
    return result if len(result) > 1 else result[0]


def concatenate(a: Array, b: Array) -> Array:
    """The default merge of ``Bidirectional``: concatenate along features."""
    return jnp.concatenate([a, b], axis=-1)


# --- stacks: PyTorch-style multi-layer, optionally bidirectional ---------------------------


def num_directions(bidirectional: bool) -> int:
    return 2 if bidirectional else 1


def check_stack_config(num_layers, dropout_rate, dropout_name: str):
    if not isinstance(num_layers, int) or isinstance(num_layers, bool) or num_layers < 1:
        raise ValueError(f'num_layers must be an integer >= 1, got {num_layers!r}.')
    if not 0.0 <= float(dropout_rate) < 1.0:
        raise ValueError(f'{dropout_name} must be in [0, 1), got {dropout_rate!r}.')


def check_stack_carry(carry, num_layers: int, num_dirs: int):
    """The stack carry is ``carry[layer][direction]``, each a cell carry."""
    if carry is None:
        return
    if not isinstance(carry, (tuple, list)) or len(carry) != num_layers:
        got = (
            f'a {type(carry).__name__} of length {len(carry)}'
            if isinstance(carry, (tuple, list))
            else type(carry).__name__
        )
        raise ValueError(
            f'initial_carry must be a tuple of {num_layers} per-layer carries '
            f'(carry[layer][direction]), got {got}.'
        )
    for k, layer in enumerate(carry):
        if not isinstance(layer, (tuple, list)) or len(layer) != num_dirs:
            raise ValueError(
                f'initial_carry[{k}] must be a tuple of {num_dirs} carries (one per '
                f'direction), got {type(layer).__name__}'
                + (f' of length {len(layer)}' if isinstance(layer, (tuple, list)) else '')
                + '.'
            )


def run_layer(
    cells, inputs, carry, *, seq_lengths, time_major: bool, unroll: int, trace: bool = False
):
    """One stack layer: ``cells`` is ``(forward,)`` or ``(forward, backward)``. The
    backward cell reads each sequence from its last valid step; its outputs stay aligned
    with the inputs, so the two directions concatenate step by step. Returns
    ``(carries, y, traces)`` with one carry (and trace, or ``None``) per direction."""
    carries, outputs, traces = [], [], []
    for d, cell in enumerate(cells):
        out = cell.sequence(
            inputs,
            None if carry is None else carry[d],
            seq_lengths=seq_lengths,
            reverse=d == 1,
            time_major=time_major,
            unroll=unroll,
            trace=trace,
        )
        carries.append(out[0])
        outputs.append(out[1])
        traces.append(out[2] if trace else None)
    y = outputs[0] if len(outputs) == 1 else jnp.concatenate(outputs, axis=-1)
    return tuple(carries), y, tuple(traces)


def run_stack(layers, inputs, carry, *, bidirectional: bool, dropout: Callable, **layer_kwargs):
    """The body of a stack's ``__call__`` shared by Linen and NNX.

    Checks the inputs, ``seq_lengths`` and the carry, then runs
    ``layer(x, carry_k, **layer_kwargs) -> (carry_k, y, traces_k)`` for each layer, with
    ``dropout`` between layers (not after the last, as ``torch.nn.LSTM``). Returns
    ``(carry, outputs, trace)``, carry and trace indexed ``[layer][direction]``.
    """
    time_major = layer_kwargs['time_major']
    time_axis, batch_dims = layout(inputs, 1, time_major)
    check_lengths(layer_kwargs['seq_lengths'], batch_dims, inputs.shape[time_axis])
    check_stack_carry(carry, len(layers), num_directions(bidirectional))
    carries, traces = [], []
    x = inputs
    for k, layer in enumerate(layers):
        if k:
            x = dropout(x)
        c, x, t = layer(x, None if carry is None else carry[k], **layer_kwargs)
        carries.append(c)
        traces.append(t)
    return tuple(carries), x, tuple(traces)


def step_stack(layers, carry, inputs, *, dropout: Callable, bidirectional: bool):
    """One step through every layer of a unidirectional stack (for decoding); the body of
    a stack's ``step`` shared by Linen and NNX."""
    in_features_of(inputs)
    check_stack_carry(carry, len(layers), num_directions(bidirectional))
    if bidirectional:
        raise ValueError(
            'step needs a unidirectional stack: a backward direction reads the sequence '
            'from its end, so it cannot be decoded one token at a time.'
        )
    carries = []
    x = inputs
    for k, layer in enumerate(layers):
        if k:
            x = dropout(x)
        c, x = layer.step(carry[k][0], x)
        carries.append((c,))
    return tuple(carries), x
