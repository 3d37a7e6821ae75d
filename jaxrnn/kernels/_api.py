"""Argument checking and batch-axis handling in front of the jitted driver.

Every check here runs in Python before JAX traces anything, so a user sees a
ValueError or TypeError that names the argument, the expected and the given shape or
dtype, rather than an XLA shape error (or, worse, a silently broadcast answer).
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np

from jaxrnn.kernels import _backend, _cudnn, _math, _scan
from jaxrnn.kernels._backend import Backend
from jaxrnn.kernels._types import Cell, num_gates, param_shapes

Array = jax.Array


def _is_float(dtype) -> bool:
    return jnp.issubdtype(dtype, jnp.floating)


def _shape_dtype(x, name: str):
    """Shape and dtype of an array-like, or a TypeError naming ``name``."""
    if not hasattr(x, 'shape') or not hasattr(x, 'dtype'):
        try:
            x = np.asarray(x)
        except Exception as e:  # noqa: BLE001 - re-raised with the argument's name
            raise TypeError(f'{name} must be an array, got {type(x).__name__}.') from e
    return tuple(x.shape), np.dtype(x.dtype)


def check_params(cell, params) -> tuple[int, int]:
    """Checks a params NamedTuple against its cell; returns ``(in_features, hidden)``."""
    cls = cell.params_type
    if not isinstance(params, tuple) or getattr(params, '_fields', None) != cls._fields:
        raise TypeError(
            f'params must be a jaxrnn.kernels.{cls.__name__} with fields {cls._fields}, '
            f'got {type(params).__name__}.'
        )
    shapes = {}
    for field, value in zip(cls._fields, params, strict=True):
        shape, dtype = _shape_dtype(value, f'params.{field}')
        if not _is_float(dtype):
            raise TypeError(f'params.{field} must have a floating dtype, got {dtype}.')
        shapes[field] = shape
    g = num_gates(cell)
    w_hh = shapes['recurrent_kernel']
    if len(w_hh) != 2 or w_hh[1] != g * w_hh[0]:
        raise ValueError(
            f'params.recurrent_kernel must have shape [hidden, {g} * hidden], got {w_hh}.'
        )
    hidden = w_hh[0]
    w_ih = shapes['input_kernel']
    if len(w_ih) != 2 or w_ih[1] != g * hidden:
        raise ValueError(
            f'params.input_kernel must have shape [in_features, {g * hidden}] '
            f'(hidden={hidden} from recurrent_kernel), got {w_ih}.'
        )
    for field, want in param_shapes(cell, w_ih[0], hidden).items():
        if shapes[field] != want:
            raise ValueError(f'params.{field} must have shape {want}, got {shapes[field]}.')
    return w_ih[0], hidden


def _check_dtype_arg(dtype):
    if dtype is not None and not _is_float(jnp.dtype(dtype)):
        raise TypeError(f'dtype must be a floating dtype, got {jnp.dtype(dtype)}.')


def check_carry(cell, carry, batch_shape, hidden, name='carry') -> tuple:
    """Returns the carry as the cell's internal state tuple, checked."""
    names = cell.carry
    want = batch_shape + (hidden,)
    if len(names) == 1:
        parts = (carry,)
        if isinstance(carry, (tuple, list)):
            raise TypeError(
                f'{name} must be a single array h of shape {want}, got a '
                f'{type(carry).__name__} of {len(carry)} elements.'
            )
    else:
        if not isinstance(carry, (tuple, list)) or len(carry) != len(names):
            raise TypeError(
                f'{name} must be a tuple ({", ".join(names)}), each of shape {want}, '
                f'got {type(carry).__name__}.'
            )
        parts = tuple(carry)
    for part_name, part in zip(names, parts, strict=True):
        shape, dtype = _shape_dtype(part, f'{name} {part_name}')
        if shape != want:
            raise ValueError(
                f'{name} {part_name} must have shape {want} ([*batch, hidden]), got {shape}.'
            )
        if not _is_float(dtype):
            raise TypeError(f'{name} {part_name} must have a floating dtype, got {dtype}.')
    return tuple(jnp.asarray(p) for p in parts)


def check_seq_lengths(seq_lengths, batch_shape, num_steps):
    shape, dtype = _shape_dtype(seq_lengths, 'seq_lengths')
    if shape != batch_shape:
        raise ValueError(
            f'seq_lengths must have shape {batch_shape} (the batch shape of xs), got {shape}.'
        )
    if not jnp.issubdtype(dtype, jnp.integer):
        raise TypeError(f'seq_lengths must have an integer dtype, got {dtype}.')
    try:
        values = np.asarray(seq_lengths)
    except (jax.errors.TracerArrayConversionError, jax.errors.ConcretizationTypeError):
        return  # traced: values cannot be checked here (out-of-range values clamp)
    if values.size and (values.min() < 0 or values.max() > num_steps):
        raise ValueError(
            f'seq_lengths values must lie in [0, {num_steps}] (the time axis of xs), '
            f'got min {values.min()} and max {values.max()}.'
        )


def _check_unroll(unroll):
    if isinstance(unroll, bool) or not isinstance(unroll, int) or unroll < 1:
        raise ValueError(f'unroll must be a positive int, got {unroll!r}.')


def check_checkpoint_every(checkpoint_every) -> None:
    """``None``, a positive int or ``'auto'``, else a TypeError or ValueError naming the
    argument and the value given."""
    if checkpoint_every is None or checkpoint_every == 'auto':
        return
    if isinstance(checkpoint_every, (bool, np.bool_)) or not isinstance(
        checkpoint_every, (int, np.integer, str)
    ):
        raise TypeError(
            "checkpoint_every must be None, a positive int or 'auto', got "
            f'{checkpoint_every!r} ({type(checkpoint_every).__name__}).'
        )
    if isinstance(checkpoint_every, str) or checkpoint_every < 1:
        raise ValueError(
            f"checkpoint_every must be None, a positive int or 'auto', got {checkpoint_every!r}."
        )


def checkpoint_steps(checkpoint_every, num_steps: int) -> int | None:
    """The chunk size ``k`` of a checked ``checkpoint_every`` for ``num_steps`` steps:
    ``'auto'`` is :func:`jaxrnn.kernels._scan.checkpoint_chunk` (``ceil(sqrt(t))``)."""
    if checkpoint_every is None:
        return None
    if checkpoint_every == 'auto':
        return _scan.checkpoint_chunk(num_steps)
    return int(checkpoint_every)


def _check_inputs(x, name: str, layout: str, min_rank: int, in_features: int):
    """Rank, floating dtype and feature size of ``x``; returns its shape."""
    shape, dtype = _shape_dtype(x, name)
    if len(shape) < min_rank:
        raise ValueError(f'{name} must have rank >= {min_rank} ({layout}), got shape {shape}.')
    if not _is_float(dtype):
        raise TypeError(f'{name} must have a floating dtype, got {dtype}.')
    if shape[-1] != in_features:
        raise ValueError(
            f'{name} has {shape[-1]} features (last axis of shape {shape}) but '
            f'params.input_kernel expects {in_features}.'
        )
    return shape


def run_sequence(
    cell: Cell,
    params,
    xs,
    carry=None,
    *,
    seq_lengths=None,
    reverse: bool = False,
    time_major: bool = False,
    unroll: int = 1,
    dtype=None,
    precision=None,
    trace: bool = False,
    backend: Backend = 'auto',
    checkpoint_every: int | str | None = None,
):
    """Runs any :class:`~jaxrnn.kernels.Cell` over a sequence: checks the arguments,
    flattens batch axes and runs the jitted driver of the chosen backend
    (:mod:`jaxrnn.kernels._backend`). :func:`jaxrnn.kernels.lstm` and friends are this
    function with their cell; the arguments and results are theirs (the carry is a tuple
    in the cell's ``carry`` order, or the single ``h``).

    Examples:
      >>> import jax, jax.numpy as jnp
      >>> from jaxrnn import kernels
      >>> cell = kernels.GRU(reset_after=False)
      >>> shapes = kernels.param_shapes(cell, 3, 4)
      >>> keys = jax.random.split(jax.random.key(0), len(shapes))
      >>> params = cell.params_type(*(0.5 * jax.random.normal(k, s)
      ...                             for k, s in zip(keys, shapes.values())))
      >>> xs = jax.random.normal(jax.random.key(1), (2, 5, 3))
      >>> h, ys = kernels.run_sequence(cell, params, xs)
      >>> bool((h == kernels.gru(params, xs, reset_after=False)[0]).all())
      True
    """
    in_features, hidden = check_params(cell, params)
    _check_dtype_arg(dtype)
    _check_unroll(unroll)
    check_checkpoint_every(checkpoint_every)
    layout = '[t, *batch, features]' if time_major else '[*batch, t, features]'
    shape = _check_inputs(xs, 'xs', layout, 2, in_features)
    if time_major:
        num_steps, batch_shape = shape[0], shape[1:-1]
    else:
        num_steps, batch_shape = shape[-2], shape[:-2]
    batch = math.prod(batch_shape)
    if carry is None:
        state = tuple(jnp.zeros(batch_shape + (hidden,), jnp.float32) for _ in cell.carry)
    else:
        state = check_carry(cell, carry, batch_shape, hidden)
    lengths = None
    if seq_lengths is not None:
        check_seq_lengths(seq_lengths, batch_shape, num_steps)
        lengths = jnp.reshape(jnp.asarray(seq_lengths), (batch,))
    xs = jnp.asarray(xs)
    xs = xs.reshape(
        (num_steps, batch, in_features) if time_major else (batch, num_steps, in_features)
    )
    state = tuple(s.reshape(batch, hidden) for s in state)
    cdt, _ = _math.dtypes([xs, *params], dtype)
    if not isinstance(trace, bool):
        raise TypeError(f'trace must be a bool, got {type(trace).__name__}.')
    _scan.check_trace_checkpoint(trace, checkpoint_every)
    chosen = _backend.resolve(backend, cell, cdt, hidden, precision, batch)
    if isinstance(chosen, _backend.CuDNN) and checkpoint_every is not None:
        raise ValueError(
            f"checkpoint_every={checkpoint_every!r} is not available with backend='cudnn': "
            "cuDNN runs its own fused forward and backward passes, which keep every step's "
            "residuals. Use backend='xla' or 'pallas' to checkpoint."
        )
    if isinstance(chosen, _backend.CuDNN) and trace:  # cuDNN exposes no gates
        chosen = _backend.resolve(
            _backend.XLA(platform=chosen.platform), cell, cdt, hidden, batch=batch
        )
    if isinstance(chosen, _backend.CuDNN):
        out = _cudnn.sequence(
            params,
            xs,
            state,
            lengths,
            reverse=bool(reverse),
            time_major=bool(time_major),
            precision=precision,
        )
    else:
        out = _scan.sequence(
            cell,
            params,
            xs,
            state,
            lengths,
            cfg=config(
                chosen,
                cdt,
                reverse=bool(reverse),
                unroll=unroll,
                precision=precision,
                checkpoint_every=checkpoint_steps(checkpoint_every, num_steps),
            ),
            time_major=bool(time_major),
            trace=trace,
        )
    final = tuple(s.reshape(batch_shape + (hidden,)) for s in out[0])
    seq_shape = (
        (num_steps,) + batch_shape + (hidden,) if time_major else batch_shape + (num_steps, hidden)
    )
    ys = out[1].reshape(seq_shape)
    if not trace:
        return _to_carry(cell, final), ys
    fields = jax.tree.map(lambda a: a.reshape(seq_shape), out[2])
    return _to_carry(cell, final), ys, fields


def config(
    chosen, cdt, *, reverse: bool, unroll: int, precision, checkpoint_every: int | None = None
) -> _scan.Config:
    """The static :class:`_scan.Config` of a resolved XLA, Pallas or native backend
    (``checkpoint_every`` the chunk size, already resolved by :func:`checkpoint_steps`)."""
    common = dict(
        reverse=reverse,
        unroll=unroll,
        checkpoint_every=checkpoint_every,
        cdt=jnp.dtype(cdt),
        acc=jnp.promote_types(cdt, jnp.float32),
        precision=precision,
        platform=chosen.platform,
    )
    if isinstance(chosen, _backend.Pallas):
        return _scan.Config(backend='pallas', resident_bytes=chosen.resident_bytes, **common)
    if isinstance(chosen, _backend.Native):
        return _scan.Config(backend='native', threads=chosen.threads, **common)
    return _scan.Config(
        backend='xla', projection=chosen.projection, backward=chosen.backward, **common
    )


def _to_carry(cell, state: tuple):
    return state if len(cell.carry) > 1 else state[0]


def run_step(cell: Cell, params, carry, x, *, dtype=None, precision=None):
    """One step of any :class:`~jaxrnn.kernels.Cell`, with exactly the sequence kernel's
    math: ``(carry, x [*batch, i]) -> (carry, y)``.

    Examples:
      >>> import jax, jax.numpy as jnp
      >>> from jaxrnn import kernels
      >>> cell = kernels.LSTM()
      >>> shapes = kernels.param_shapes(cell, 3, 4)
      >>> keys = jax.random.split(jax.random.key(0), len(shapes))
      >>> params = kernels.LSTMParams(*(0.5 * jax.random.normal(k, s)
      ...                               for k, s in zip(keys, shapes.values())))
      >>> carry = (jnp.zeros((2, 4)), jnp.zeros((2, 4)))
      >>> (c, h), y = kernels.run_step(cell, params, carry, jnp.ones((2, 3)))
      >>> bool((y == kernels.lstm_step(params, carry, jnp.ones((2, 3)))[1]).all())
      True
    """
    in_features, hidden = check_params(cell, params)
    _check_dtype_arg(dtype)
    shape = _check_inputs(x, 'x', '[*batch, features]', 1, in_features)
    state = check_carry(cell, carry, shape[:-1], hidden)
    cdt, _ = _math.dtypes([x, *params], dtype)
    new_state, y = _scan.step(cell, params, state, jnp.asarray(x), cdt=cdt, precision=precision)
    return _to_carry(cell, new_state), y
