"""The sequence driver shared by every cell: hoisted input projection, ``lax.scan``
over time, ``seq_lengths`` masking, ``reverse``, and a custom VJP.

Forward, roughly equivalent to this Python loop (time-major, ``reverse=False``)::

  xp = x @ W_ih + b                       # [t, b, g], ONE matmul for all steps
  state = state0
  for t in range(T):
    new_state, y, res[t] = cell.step(rec, xp[t], state)  # h @ W_hh + gate math
    valid = t < seq_lengths                               # [b]
    state = where(valid, new_state, state)                # padded steps hold the state
    ys[t] = where(valid, y, 0)                            # padded outputs are zero
  return state, ys

With ``reverse=True`` the loop runs ``t = T-1 .. 0``. Because padded steps hold the
state, each sequence is then read backwards *within its own length* (the padding stays
at the end, as ``flax.linen.flip_sequences`` arranges) and ``ys[t]`` stays aligned with
``x[t]``.

Backward (``jax.custom_vjp``): the reverse loop carries only the state gradients and
emits ``dxp[t]`` (the gradient of the pre-activations); everything else is a large matmul
after the loop: ``dW_hh = sum_t h_{t-1}^T dxp_t`` here, and ``dW_ih``, ``db``, ``dx``
through the (linear) hoisted projection, which JAX differentiates into one matmul each.

On XLA:CPU with small hidden sizes the forward loop computes ``x_t @ W_ih + b`` step by
step instead (:func:`recurrence_in_loop`, chosen by :func:`projection_mode`, measured in
``benchmarks/NOTES.md``): two independent matmuls per step use both cores and no
``[t, b, g]`` buffer leaves the cache. Its backward pass is the same as above, with
``dW_ih``, ``db`` and ``dx`` written out as one matmul each after the loop.
"""

from __future__ import annotations

import functools
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp

from jaxrnn.kernels import _math, _pallas

Array = jax.Array


class Config(NamedTuple):
    """Static configuration of one recurrence (hashable)."""

    reverse: bool
    unroll: int
    cdt: Any
    acc: Any
    precision: Any
    backend: str = 'xla'


def _where_t(m: Array | None, new, old):
    """Selects ``new`` where the ``[b]`` mask ``m`` is set, else ``old`` (tree-wise)."""
    if m is None:
        return new
    return jax.tree.map(lambda a, b: jnp.where(m[:, None], a, b), new, old)


def _time_mask(lengths: Array | None, num_steps: int) -> Array | None:
    """``[t, b]`` boolean mask, true at valid steps."""
    if lengths is None:
        return None
    return jnp.arange(num_steps, dtype=lengths.dtype)[:, None] < lengths[None, :]


def _previous(seq: Array, init: Array, lengths: Array | None, reverse: bool) -> Array:
    """The state each step started from: ``prev[t]`` for ``seq [t, b, h]``.

    Forward: ``prev[t] = seq[t-1]`` and ``prev[0] = init``. Reverse: ``prev[t] = seq[t+1]``
    while ``t+1`` is a valid step of that sequence, else ``init``. Values at padded steps
    are never used.
    """
    if not reverse:
        return jnp.concatenate([init[None], seq[:-1]], axis=0)
    prev = jnp.concatenate([seq[1:], init[None]], axis=0)
    if lengths is not None:
        nxt_valid = _time_mask(lengths, seq.shape[0] + 1)[1:]  # t+1 < len
        prev = jnp.where(nxt_valid[..., None], prev, init[None])
    return prev


def _forward(cell, cfg: Config, rec, xp, state0, lengths, keep_residuals: bool, proj=None):
    """The forward loop. ``xp`` is ``[t, b, g]`` pre-activations, or, with ``proj = (w_ih,
    b)``, the ``[t, b, i]`` inputs themselves, projected one step at a time inside the
    loop (see :func:`projection_mode`). With ``cfg.backend == 'pallas'`` the loop is the
    persistent Pallas kernel (:mod:`jaxrnn.kernels._pallas`), same outputs and residuals."""
    if cfg.backend == 'pallas' and proj is None:
        return _pallas.forward(cell, cfg, rec, xp, state0, lengths, keep_residuals)
    rec_loop = cell.prepare(rec, cfg.cdt, cfg.acc)
    mask = _time_mask(lengths, xp.shape[0])
    if proj is not None:
        w_ih = proj[0].astype(cfg.cdt)
        bias = _math.row(proj[1].astype(cfg.acc))

    def body(state, inp):
        xp_t, m_t = inp
        if proj is not None:
            xp_t = _math.dot(xp_t, w_ih, cfg.cdt, cfg.acc, cfg.precision) + bias
        new_state, y, res = cell.step(rec_loop, xp_t, state, cfg.cdt, cfg.acc, cfg.precision)
        new_state = _where_t(m_t, new_state, state)
        if m_t is not None:
            y = jnp.where(m_t[:, None], y, jnp.zeros_like(y))
        return new_state, (y, res if keep_residuals else ())

    final, (ys, res) = jax.lax.scan(
        body, state0, (xp, mask), reverse=cfg.reverse, unroll=cfg.unroll
    )
    return final, ys, res


@functools.partial(jax.custom_vjp, nondiff_argnums=(0, 1))
def recurrence(cell, cfg: Config, rec: tuple, xp: Array, state0: tuple, lengths: Array | None):
    """Runs the recurrence over pre-projected inputs.

    Args:
      cell: a cell definition (``jaxrnn.kernels.lstm.LSTM`` and friends).
      cfg: static :class:`Config`.
      rec: the recurrent parameters (``cell.recurrent(params)``).
      xp: ``[t, b, g]`` pre-activations from the hoisted input projection, ``acc`` dtype.
      state0: internal state tuple, each ``[b, h]`` in ``acc`` dtype; ``h`` is last.
      lengths: ``[b]`` integer lengths, or ``None``.

    Returns:
      ``(final_state, ys)`` with ``ys [t, b, h]`` in ``acc`` dtype.
    """
    final, ys, _ = _forward(cell, cfg, rec, xp, state0, lengths, keep_residuals=False)
    return final, ys


def _recurrence_fwd(cell, cfg, rec, xp, state0, lengths):
    final, ys, res = _forward(cell, cfg, rec, xp, state0, lengths, keep_residuals=True)
    return (final, ys), (rec, state0, lengths, ys, res)


def _recurrence_bwd(cell, cfg, residuals, cotangents):
    drec, dxp, dstate0 = _backward(cell, cfg, residuals, cotangents)
    return drec, dxp.astype(cfg.acc), dstate0, None


def _backward(cell, cfg, residuals, cotangents):
    """The reverse loop: ``(drec, dxp [t, b, g], dstate0)``; weight gradients outside."""
    rec, state0, lengths, ys, res = residuals
    dfinal, dys = cotangents
    rec_loop = cell.prepare(rec, cfg.cdt, cfg.acc)
    mask = _time_mask(lengths, ys.shape[0])
    prev = tuple(
        _previous(s, s0, lengths, cfg.reverse)
        for s, s0 in zip(cell.state_sequence(ys, res), state0, strict=True)
    )

    def body(dstate, inp):
        res_t, prev_t, y_t, dy_t, m_t = inp
        dtotal = dstate[:-1] + (dstate[-1] + dy_t,)  # h is the last state component
        dxp_t, dprev = cell.step_bwd(
            rec_loop, res_t, prev_t, y_t, dtotal, cfg.cdt, cfg.acc, cfg.precision
        )
        if m_t is not None:  # padded step: the state passed through untouched
            dxp_t = jnp.where(m_t[:, None], dxp_t, jnp.zeros_like(dxp_t))
            dprev = _where_t(m_t, dprev, dstate)
        return dprev, dxp_t

    dstate0, dxp = jax.lax.scan(
        body,
        tuple(dfinal),
        (res, prev, ys, dys, mask),
        reverse=not cfg.reverse,
        unroll=cfg.unroll,
    )
    drec = cell.recurrent_grads(rec, dxp, res, prev, cfg.cdt, cfg.acc, cfg.precision)
    drec = tuple(d.astype(r.dtype) for d, r in zip(drec, rec, strict=True))
    dstate0 = tuple(d.astype(s.dtype) for d, s in zip(dstate0, state0, strict=True))
    return drec, dxp, dstate0


recurrence.defvjp(_recurrence_fwd, _recurrence_bwd)


@functools.partial(jax.custom_vjp, nondiff_argnums=(0, 1))
def recurrence_in_loop(cell, cfg: Config, rec, w_ih, b, x, state0, lengths):
    """:func:`recurrence` with the input projection inside the loop.

    The forward loop computes ``x_t @ W_ih + b`` at each step (two independent matmuls per
    step, which XLA:CPU runs on two cores, on data that stays in cache); the backward pass
    is the same as :func:`recurrence`'s, and ``dW_ih = x^T dxp``, ``db = sum dxp`` and
    ``dx = dxp W_ih^T`` are single matmuls over all steps after the loop.

    Args:
      x: ``[t, b, i]`` time-major inputs, zero at padded steps.
      w_ih, b: ``[i, g]`` and ``[g]``.
      Others as :func:`recurrence`.
    """
    final, ys, _ = _forward(cell, cfg, rec, x, state0, lengths, False, proj=(w_ih, b))
    return final, ys


def _in_loop_fwd(cell, cfg, rec, w_ih, b, x, state0, lengths):
    final, ys, res = _forward(cell, cfg, rec, x, state0, lengths, True, proj=(w_ih, b))
    return (final, ys), ((rec, state0, lengths, ys, res), w_ih, b, x)


def _in_loop_bwd(cell, cfg, residuals, cotangents):
    inner, w_ih, b, x = residuals
    drec, dxp, dstate0 = _backward(cell, cfg, inner, cotangents)
    dw = _math.outer_sum(x, dxp, cfg.cdt, cfg.acc, cfg.precision).astype(w_ih.dtype)
    db = jnp.sum(dxp, axis=(0, 1)).astype(b.dtype)
    dx = _math.einsum('tbg,ig->tbi', dxp, w_ih, cfg.cdt, cfg.acc, cfg.precision).astype(x.dtype)
    return drec, dw, db, dx, dstate0, None


recurrence_in_loop.defvjp(_in_loop_fwd, _in_loop_bwd)

PROJECTION = 'auto'
"""Where the input projection runs: ``'hoisted'`` (one matmul for all steps before the
loop), ``'in_loop'`` (one matmul per step inside it; the backward is the same) or
``'auto'`` (:func:`projection_mode`'s measured rule). Tests set it to check both."""


def projection_mode(hidden: int, backend: str | None = None) -> str:
    """The ``'auto'`` rule, measured on a 2-core CPU (``benchmarks/NOTES.md``, entry 3):
    on XLA:CPU with ``hidden <= 256`` the per-step projection is faster (the two
    independent per-step matmuls run on two cores and the ``[t, b, G h]`` pre-activations
    are never written out); with larger hidden sizes, and on GPU/TPU, one hoisted matmul
    is faster."""
    if PROJECTION != 'auto':
        return PROJECTION
    backend = backend or jax.default_backend()
    return 'in_loop' if backend == 'cpu' and hidden <= 256 else 'hoisted'


def project(
    x: Array,
    w_ih: Array,
    b: Array,
    mask: Array | None,
    time_major: bool,
    cdt,
    acc,
    precision,
) -> Array:
    """The hoisted input projection ``xp = x @ W_ih + b`` for all steps at once.

    Args:
      x: ``[t, b, i]`` (``time_major``) or ``[b, t, i]``.
      w_ih: ``[i, g]``; b: ``[g]``.
      mask: optional ``[t, b]`` validity mask; padded inputs are zeroed first, so values
        in the padding never reach any output or gradient.

    Returns:
      ``[t, b, g]`` in ``acc`` dtype (always time-major: the scan runs over axis 0).
    """
    if mask is not None:
        m = mask if time_major else mask.T
        x = jnp.where(m[..., None], x, jnp.zeros_like(x))
    if not time_major:
        # Transposing x (i features) first is far cheaper than a dot that writes a
        # transposed [t, b, g] output: measured 1.4 ms vs 11 ms for b=32, t=128, i=64,
        # g=512 on a 2-core CPU (benchmarks/NOTES.md).
        x = jnp.swapaxes(x, 0, 1)
    xp = _math.einsum('tbi,ig->tbg', x, w_ih, cdt, acc, precision)
    return xp + b.astype(acc)[None, None, :]


@functools.partial(
    jax.jit,
    static_argnames=(
        'cell',
        'reverse',
        'time_major',
        'unroll',
        'cdt',
        'precision',
        'trace',
        'projection',
        'backend',
    ),
)
def sequence(
    cell,
    params,
    xs: Array,
    state0: tuple,
    lengths: Array | None,
    *,
    reverse: bool,
    time_major: bool,
    unroll: int,
    cdt,
    precision,
    trace: bool = False,
    projection: str = 'hoisted',
    backend: str = 'xla',
):
    """Input projection + recurrence for ``xs`` with one flattened batch axis.

    Args:
      xs: ``[t, b, i]`` if ``time_major`` else ``[b, t, i]``.
      state0: internal state tuple, each ``[b, h]``.
      projection: ``'hoisted'`` or ``'in_loop'`` (:func:`projection_mode`).
      backend: ``'xla'`` (``lax.scan``) or ``'pallas'`` (the persistent kernel of
        :mod:`jaxrnn.kernels._pallas`, always with the hoisted projection). A trace always
        runs the scan (autodiff cannot see inside the Pallas kernel).
      trace: also return every gate at every step (``cell.trace_type``). The trace runs
        the same forward loop (:func:`_forward`, same step function, same numbers) but
        keeps the per-step gates and is differentiated by JAX's autodiff instead of the
        custom VJP; with ``trace=False`` none of this is in the program.

    Returns:
      ``(final_state, ys)`` or ``(final_state, ys, trace)``; ``ys`` in ``cdt`` and the
      trace fields in ``acc``, with the layout of ``xs``; trace fields are zero at padded
      steps.
    """
    acc = jnp.promote_types(cdt, jnp.float32)
    num_steps = xs.shape[0 if time_major else 1]
    mask = _time_mask(lengths, num_steps)
    state0 = tuple(s.astype(acc) for s in state0)
    backend = 'xla' if trace else backend
    cfg = Config(reverse, unroll, cdt, acc, precision, backend)
    rec = cell.recurrent(params)
    if projection == 'in_loop' and backend == 'xla':
        x = xs if mask is None else jnp.where((mask if time_major else mask.T)[..., None], xs, 0)
        x = x if time_major else jnp.swapaxes(x, 0, 1)
        w_ih, b = params.input_kernel, params.bias
        if not trace:
            final, ys = recurrence_in_loop(cell, cfg, rec, w_ih, b, x, state0, lengths)
            return final, _layout(ys.astype(cdt), time_major)
        final, ys, res = _forward(cell, cfg, rec, x, state0, lengths, True, proj=(w_ih, b))
    else:
        xp = project(xs, params.input_kernel, params.bias, mask, time_major, cdt, acc, precision)
        if not trace:
            final, ys = recurrence(cell, cfg, rec, xp, state0, lengths)
            return final, _layout(ys.astype(cdt), time_major)
        final, ys, res = _forward(cell, cfg, rec, xp, state0, lengths, True)
    fields = cell.trace(ys, res)
    if mask is not None:
        fields = jax.tree.map(lambda a: jnp.where(mask[..., None], a, jnp.zeros_like(a)), fields)
    fields = jax.tree.map(lambda a: _layout(a, time_major), fields)
    return final, _layout(ys.astype(cdt), time_major), fields


def _layout(seq: Array, time_major: bool) -> Array:
    """``[t, b, h]`` -> the caller's layout."""
    return seq if time_major else jnp.swapaxes(seq, 0, 1)


@functools.partial(jax.jit, static_argnames=('cell', 'cdt', 'precision'))
def step(cell, params, state: tuple, x: Array, *, cdt, precision):
    """One step with exactly the sequence kernel's math: ``x [b, i]``, ``state`` tuple."""
    acc = jnp.promote_types(cdt, jnp.float32)
    xp = _math.dot(x, params.input_kernel, cdt, acc, precision) + _math.row(params.bias.astype(acc))
    rec = cell.prepare(cell.recurrent(params), cdt, acc)
    state = tuple(s.astype(acc) for s in state)
    new_state, y, _ = cell.step(rec, xp, state, cdt, acc, precision)
    return new_state, y.astype(cdt)
