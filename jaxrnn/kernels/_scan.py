"""The sequence driver shared by every cell: hoisted input projection, ``lax.scan``
over time, ``seq_lengths`` masking, ``reverse``, and a custom VJP.

Forward, roughly equivalent to this Python loop (time-major, ``reverse=False``)::

  xp = x @ W_ih + b                       # [t, b, g], ONE matmul for all steps
  state = state0
  for t in range(T):
    new_state, y, saved[t] = cell.step(split(xp[t]), hw, state, extras)  # h @ W_hh + gates
    valid = t < seq_lengths                               # [b]
    state = where(valid, new_state, state)                # padded steps hold the state
    ys[t] = where(valid, y, 0)                            # padded outputs are zero
  return state, ys

With ``reverse=True`` the loop runs ``t = T-1 .. 0``. Because padded steps hold the
state, each sequence is then read backwards *within its own length* (the padding stays
at the end, as ``flax.linen.flip_sequences`` arranges) and ``ys[t]`` stays aligned with
``x[t]``.

Backward (``jax.custom_vjp``): the reverse loop carries only the state gradients and
emits ``dxp[t]`` (the gradient of the pre-activations), from the cell's hand-written
``step_bwd``; everything else is a large matmul after the loop: ``dW_hh = sum_t
h_{t-1}^T dxp_t`` (the cell's ``recurrent_grads``), and ``dW_ih``, ``db``, ``dx`` through
the (linear) hoisted projection, which JAX differentiates into one matmul each. A cell
without a hand-written backward (or ``Config.backward == 'vjp'``) is differentiated
step by step with ``jax.vjp`` of its ``step`` instead (:func:`_reverse_vjp`).

On XLA:CPU (up to hidden 128 below batch 4, up to 512 from batch 4) the forward loop
computes ``x_t @ W_ih + b`` step by step instead (:func:`recurrence_in_loop`, chosen by
``_backend.projection_mode``, measured in ``benchmarks/NOTES.md``): two independent
matmuls per step use both cores and no ``[t, b, g]`` buffer leaves the cache. Its
backward pass is the same as above, with ``dW_ih``, ``db`` and ``dx`` written out as one
matmul each after the loop.

Gradient checkpointing (``Config.checkpoint_every = k``, :func:`recurrence_checkpointed`).
The backward pass above reads every step's ``saved`` values and outputs, kept by the
forward pass, and makes ``dxp [t, b, g]`` before the weight-gradient matmuls: ``O(t)``
memory per layer, ``g`` values per step. With ``k`` the forward loop runs in chunks of
``k`` steps (a ``lax.scan`` over ``t // k`` chunks around the step loop, and a last chunk
of ``t % k`` steps run on its own) and keeps only the state entering each chunk; the
backward pass recomputes each chunk's residuals from its checkpoint, runs the reverse loop
above over the chunk and adds the chunk's weight gradients to running sums::

  # forward: keeps ceil(t / k) states [b, h] (and the inputs x, which dW_ih needs anyway)
  for c in chunks:  checkpoint[c] = state;  state, ys[c] = forward(x[c], state)
  # backward, chunks from the last processed to the first
  for c in reversed(chunks):
    ys_c, saved_c = forward(x[c], checkpoint[c])            # k steps recomputed
    dxp_c, dstate = reverse_loop(saved_c, ys_c, dys[c], dstate)
    dW_hh += h_prev_c^T dxp_c;  dW_ih += x_c^T dxp_c;  db += sum(dxp_c);  dx[c] = dxp_c W_ih^T

Kept between the passes: ``ceil(t / k)`` states; while a chunk is differentiated, ``k``
steps of residuals and ``dxp``; extra cost one forward pass. The hoisted projection
becomes one ``[k, b, g]`` matmul per chunk. Each weight gradient is a sum over chunks of
one matmul per chunk instead of one matmul over all steps: the same terms summed in
another order, so the gradients agree with the unchunked ones to float32 rounding, not
bit for bit (``tests/kernels/test_checkpoint.py`` bounds the difference). ``'auto'`` is
``k = ceil(sqrt(t))`` (:func:`checkpoint_chunk`). The Pallas forward composes (one kernel
launch per chunk); cuDNN's and trace mode's do not (``jaxrnn.kernels._api`` raises).

Everything that selects a code path is a field of the static :class:`Config`, so it is
part of the jit cache key.
"""

from __future__ import annotations

import functools
import math
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp

from jaxrnn.kernels import _math, _native, _pallas
from jaxrnn.kernels._types import Cell, has_backward, num_gates

Array = jax.Array


class Config(NamedTuple):
    """Static configuration of one recurrence (hashable; part of every jit cache key).

    Attributes:
      reverse: run ``t = T-1 .. 0``.
      unroll: steps unrolled per loop iteration.
      cdt: computation dtype (matmul operands).
      acc: accumulation dtype (``promote(cdt, float32)``): gate math and the carry.
      precision: ``jax.lax.Precision`` of every matmul.
      backend: ``'xla'`` (``lax.scan``), ``'pallas'`` (the persistent kernel of
        :mod:`jaxrnn.kernels._pallas` for the forward loop) or ``'native'`` (the compiled
        CPU loops of :mod:`jaxrnn.kernels._native`, forward and backward).
      projection: ``'hoisted'`` (``x @ W_ih + b`` for all steps before the loop) or
        ``'in_loop'`` (one step at a time inside it; XLA backend only).
      backward: ``'cell'`` (the cell's hand-written backward step, when it has one) or
        ``'vjp'`` (``jax.vjp`` of the cell's ``step``).
      resident_bytes: Pallas: ``W_hh`` is loaded once before the time loop when its
        padded size is at most this, else re-read at every step.
      platform: where the program runs (``'cpu'``, ``'gpu'``, ``'tpu'``): the Pallas
        kernel compiles with Triton for ``'gpu'`` and runs in interpret mode on ``'cpu'``.
      checkpoint_every: ``None`` (the backward pass reads every step's saved values), or
        ``k >= 1``: gradient checkpointing with chunks of ``k`` steps
        (:func:`recurrence_checkpointed`; ``'auto'`` is resolved to a ``k`` before this).
      threads: native: the threads of each call (``None``: the cores of the process).
    """

    reverse: bool
    unroll: int
    cdt: Any
    acc: Any
    precision: Any
    backend: str = 'xla'
    projection: str = 'hoisted'
    backward: str = 'cell'
    resident_bytes: int = _pallas.RESIDENT_BYTES
    platform: str = 'cpu'
    checkpoint_every: int | None = None
    threads: int | None = None


def hand_written(cell: Cell, cfg: Config) -> bool:
    """Whether the backward pass runs the cell's hand-written ``step_bwd``."""
    return cfg.backward == 'cell' and has_backward(cell)


# --- the recurrent matmul, as the cells call it ------------------------------------------


def _gate_columns(w: Array, start: int, stop: int, num_blocks: int) -> Array:
    """The columns of gate blocks ``start .. stop - 1`` of ``w [h, G*h]`` (``w`` itself
    for all of them)."""
    if (start, stop) == (0, num_blocks):
        return w
    hidden = w.shape[0]
    return w[:, start * hidden : stop * hidden]


def recurrent_matmul(w: Array, num_blocks: int, cfg: Config):
    """The scan's ``hw(v, start=0, stop=None)``: ONE dot of ``v [b, h]`` with the
    contiguous columns of gate blocks ``start .. stop - 1`` of ``w [h, G*h]``, split into
    ``[b, h]`` blocks (see :data:`jaxrnn.kernels._types.RecurrentMatmul`)."""

    def hw(v, start=0, stop=None):
        stop = num_blocks if stop is None else stop
        cols = _gate_columns(w, start, stop, num_blocks)
        out = _math.dot(v, cols, cfg.cdt, cfg.acc, cfg.precision)
        return tuple(jnp.split(out, stop - start, axis=-1))

    return hw


def recurrent_matmul_t(w: Array, num_blocks: int, cfg: Config):
    """``hwt(ds, start=0) = concat(ds) @ W[:, blocks]^T`` (one dot), for ``step_bwd``."""

    def hwt(ds, start=0):
        d = ds[0] if len(ds) == 1 else jnp.concatenate(ds, axis=-1)
        cols = _gate_columns(w, start, start + len(ds), num_blocks)
        return _math.dot_t(d, cols, cfg.cdt, cfg.acc, cfg.precision)

    return hwt


def recurrent(params) -> tuple[Array, ...]:
    """``(recurrent_kernel, *extras)``: the parameters the loop reads (every field after
    ``bias``; see :class:`jaxrnn.kernels._types.Cell`)."""
    return (params.recurrent_kernel, *params[3:])


def prepare(rec: tuple, cfg: Config) -> tuple[Array, tuple[Array, ...]]:
    """``(W_hh in cdt, extras as [1, n] rows in acc)`` from the recurrent parameters."""
    return rec[0].astype(cfg.cdt), tuple(_math.row(e.astype(cfg.acc)) for e in rec[1:])


def split_gates(cell: Cell, xp_t: Array) -> tuple[Array, ...]:
    """``[b, G*h] -> G`` blocks of ``[b, h]``, in the cell's gate order."""
    return tuple(jnp.split(xp_t, num_gates(cell), axis=-1))


def state_sequence(cell: Cell, ys: Array, saved: tuple) -> tuple[Array, ...]:
    """Each carry component at every step, ``[t, b, h]``: ``h`` is the outputs, the
    others are saved by the step under their carry name."""
    return tuple(ys if name == 'h' else saved[cell.saved.index(name)] for name in cell.carry)


def trace_fields(cell: Cell, ys: Array, saved: tuple):
    """The cell's trace NamedTuple from the outputs and the saved values."""
    named = dict(zip(cell.saved, saved, strict=True), h=ys)
    fields = cell.trace_type._fields  # type: ignore[attr-defined]
    return cell.trace_type(*(named[f] for f in fields))


# --- forward ---------------------------------------------------------------------------


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
        nxt_valid = _time_mask(lengths, seq.shape[0] + 1)[1:]  # type: ignore[index]
        prev = jnp.where(nxt_valid[..., None], prev, init[None])
    return prev


def _forward(cell, cfg: Config, rec, xp, state0, lengths, keep_residuals: bool, proj=None):
    """The forward loop: ``(final_state, ys [t, b, h], saved)``, ``saved`` a tuple of
    ``[t, b, h]`` (empty unless ``keep_residuals``). ``xp`` is ``[t, b, g]``
    pre-activations, or, with ``proj = (w_ih, b)``, the ``[t, b, i]`` inputs themselves,
    projected one step at a time inside the loop. With ``cfg.backend == 'pallas'`` the
    loop is the persistent Pallas kernel, with ``'native'`` the compiled CPU loop (same
    outputs and saved values)."""
    if cfg.backend == 'pallas' and proj is None:
        return _pallas.forward(cell, cfg, rec, xp, state0, lengths, keep_residuals)
    if cfg.backend == 'native' and proj is None:
        return _native.forward(cell, cfg, rec, xp, state0, lengths, keep_residuals)
    w, extras = prepare(rec, cfg)
    hw = recurrent_matmul(w, num_gates(cell), cfg)
    mask = _time_mask(lengths, xp.shape[0])
    if proj is not None:
        w_ih = proj[0].astype(cfg.cdt)
        bias = _math.row(proj[1].astype(cfg.acc))

    def body(state, inp):
        xp_t, m_t = inp
        if proj is not None:
            xp_t = _math.dot(xp_t, w_ih, cfg.cdt, cfg.acc, cfg.precision) + bias
        out = cell.step(split_gates(cell, xp_t), hw, state, extras)
        new_state, y = _where_t(m_t, out.state, state), out.y
        if m_t is not None:
            y = jnp.where(m_t[:, None], y, jnp.zeros_like(y))
        return new_state, (y, out.saved if keep_residuals else ())

    final, (ys, saved) = jax.lax.scan(
        body, state0, (xp, mask), reverse=cfg.reverse, unroll=cfg.unroll
    )
    return final, ys, saved


# --- the custom VJP over pre-projected inputs ----------------------------------------------


@functools.partial(jax.custom_vjp, nondiff_argnums=(0, 1))
def recurrence(cell, cfg: Config, rec: tuple, xp: Array, state0: tuple, lengths: Array | None):
    """Runs the recurrence over pre-projected inputs.

    Args:
      cell: a :class:`jaxrnn.kernels._types.Cell`.
      cfg: static :class:`Config`.
      rec: the recurrent parameters ``(recurrent_kernel, *extras)``.
      xp: ``[t, b, g]`` pre-activations from the hoisted input projection, ``acc`` dtype.
      state0: the carry tuple, each ``[b, h]`` in ``acc`` dtype; ``h`` is last.
      lengths: ``[b]`` integer lengths, or ``None``.

    Returns:
      ``(final_state, ys)`` with ``ys [t, b, h]`` in ``acc`` dtype.
    """
    final, ys, _ = _forward(cell, cfg, rec, xp, state0, lengths, keep_residuals=False)
    return final, ys


def _recurrence_fwd(cell, cfg, rec, xp, state0, lengths):
    final, ys, saved = _forward(cell, cfg, rec, xp, state0, lengths, keep_residuals=True)
    # The jax.vjp backward recomputes each step from its inputs, so it also keeps xp.
    kept_xp = None if hand_written(cell, cfg) else xp
    return (final, ys), (rec, state0, lengths, ys, saved, kept_xp)


def _recurrence_bwd(cell, cfg, residuals, cotangents):
    drec, dxp, dstate0 = _backward(cell, cfg, residuals, cotangents)
    return drec, dxp.astype(cfg.acc), dstate0, None


def _backward(cell, cfg, residuals, cotangents, dsaved=None):
    """The reverse loop: ``(drec, dxp [t, b, g], dstate0)``, by the cell's hand-written
    backward step (:func:`_reverse_cell`) or by ``jax.vjp`` of its step
    (:func:`_reverse_vjp`). ``dsaved``: the native trace's cotangents of the saved
    values (:func:`recurrence_traced`)."""
    rec, state0, lengths, ys, saved, xp = residuals
    prev = _previous_states(cell, cfg, ys, saved, state0, lengths)
    if dsaved is not None:
        dxp, dstate0 = _native.reverse(cell, cfg, rec, ys, saved, prev, lengths, cotangents, dsaved)
        drec = _recurrent_grads(cell, cfg, dxp, saved, prev)
    elif hand_written(cell, cfg):
        dxp, dstate0 = _reverse_cell(cell, cfg, rec, ys, saved, prev, lengths, cotangents)
        drec = _recurrent_grads(cell, cfg, dxp, saved, prev)
    else:
        mask = _time_mask(lengths, ys.shape[0])
        drec, dxp, dstate0 = _reverse_vjp(cell, cfg, rec, xp, prev, mask, cotangents)
    drec, dstate0 = _cast_grads(drec, dstate0, rec, state0)
    return drec, dxp, dstate0


def _previous_states(cell, cfg, ys, saved, state0, lengths) -> tuple[Array, ...]:
    """The state each step started from, per carry component (:func:`_previous` of
    :func:`state_sequence`), each ``[t, b, h]``."""
    return tuple(
        _previous(s, s0, lengths, cfg.reverse)
        for s, s0 in zip(state_sequence(cell, ys, saved), state0, strict=True)
    )


def _cast_grads(drec, dstate0, rec, state0):
    """The gradients of the recurrent parameters and of the initial state in their
    dtypes."""
    drec = tuple(d.astype(r.dtype) for d, r in zip(drec, rec, strict=True))
    dstate0 = tuple(d.astype(s.dtype) for d, s in zip(dstate0, state0, strict=True))
    return drec, dstate0


def _reverse_cell(cell, cfg, rec, ys, saved, prev, lengths, cotangents):
    """The reverse loop of the cell's ``step_bwd``: it carries only the state gradients
    and emits ``dxp[t]``. Returns ``(dxp [t, b, g], dstate0)``; the weight gradients are
    made after it (:func:`_recurrent_grads`). On the native backend the loop is the
    compiled one of :func:`jaxrnn.kernels._native.reverse`."""
    if cfg.backend == 'native':
        return _native.reverse(cell, cfg, rec, ys, saved, prev, lengths, cotangents)
    dfinal, dys = cotangents
    mask = _time_mask(lengths, ys.shape[0])
    w, _ = prepare(rec, cfg)
    hwt = recurrent_matmul_t(w, num_gates(cell), cfg)

    def body(dstate, inp):
        saved_t, prev_t, y_t, dy_t, m_t = inp
        dtotal = dstate[:-1] + (dstate[-1] + dy_t,)  # h is the last carry component
        dx, dprev = cell.step_bwd(saved_t, prev_t, y_t, dtotal, hwt)
        dxp_t = dx[0] if len(dx) == 1 else jnp.concatenate(dx, axis=-1)
        if m_t is not None:  # padded step: the state passed through untouched
            dxp_t = jnp.where(m_t[:, None], dxp_t, jnp.zeros_like(dxp_t))
            dprev = _where_t(m_t, dprev, dstate)
        return tuple(dprev), dxp_t

    dstate0, dxp = jax.lax.scan(
        body,
        tuple(dfinal),
        (saved, prev, ys, dys, mask),
        reverse=not cfg.reverse,
        unroll=cfg.unroll,
    )
    return dxp, dstate0


def _recurrent_grads(cell, cfg, dxp, saved, prev):
    """The cell's ``recurrent_grads``: the recurrent parameters' gradients as single
    matmuls over all steps (``dW_hh = sum_t h_{t-1}^T dxp_t`` and the like)."""

    def outer(a, d):
        return _math.outer_sum(a, d, cfg.cdt, cfg.acc, cfg.precision)

    return cell.recurrent_grads(dxp, saved, prev, outer)


def _step_fn(cell, cfg: Config):
    """``(xp_t, state, rec) -> (new_state, y)``: one step of the scan, as a function of
    everything it depends on (for ``jax.vjp``)."""
    num_blocks = num_gates(cell)

    def step(xp_t, state, rec):
        w, extras = prepare(rec, cfg)
        out = cell.step(
            split_gates(cell, xp_t), recurrent_matmul(w, num_blocks, cfg), state, extras
        )
        return out.state, out.y

    return step


def _reverse_vjp(cell, cfg, rec, xp, prev, mask, cotangents, drec0=None):
    """The reverse loop by ``jax.vjp`` of the cell's ``step``: each step is recomputed
    from its inputs (``xp[t]`` and the previous state) and differentiated; the recurrent
    parameters' gradient is summed step by step, starting from ``drec0`` (zeros by
    default; the checkpointed backward passes the sum of the chunks after this one, so
    the sum runs in the same order). For cells without a hand-written backward;
    ``benchmarks/NOTES.md`` compares the two."""
    dfinal, dys = cotangents
    step = _step_fn(cell, cfg)

    def body(carry, inp):
        dstate, drec = carry
        xp_t, prev_t, dy_t, m_t = inp
        dnew, dy = dstate, dy_t
        if m_t is not None:  # a padded step holds the state and outputs zero
            dnew = _where_t(m_t, dstate, jax.tree.map(jnp.zeros_like, dstate))
            dy = jnp.where(m_t[:, None], dy_t, jnp.zeros_like(dy_t))
        _, vjp = jax.vjp(step, xp_t, prev_t, rec)
        dxp_t, dprev, drec_t = vjp((dnew, dy))
        if m_t is not None:
            dprev = _where_t(m_t, dprev, dstate)
        drec = tuple(a + d.astype(a.dtype) for a, d in zip(drec, drec_t, strict=True))
        return (tuple(dprev), drec), dxp_t

    if drec0 is None:
        drec0 = _zero_grads(rec, cfg)
    (dstate0, drec), dxp = jax.lax.scan(
        body,
        (tuple(dfinal), drec0),
        (xp, prev, dys, mask),
        reverse=not cfg.reverse,
        unroll=cfg.unroll,
    )
    return drec, dxp, dstate0


def _zero_grads(rec, cfg) -> tuple[Array, ...]:
    """Zero gradients of the recurrent parameters, in ``acc``."""
    return tuple(jnp.zeros(r.shape, cfg.acc) for r in rec)


recurrence.defvjp(_recurrence_fwd, _recurrence_bwd)


@functools.partial(jax.custom_vjp, nondiff_argnums=(0, 1))
def recurrence_traced(cell, cfg: Config, rec: tuple, xp: Array, state0: tuple, lengths):
    """Trace mode on the native backend: :func:`recurrence` that also returns the saved
    values (``(final, ys, saved)``), from the same native forward as the fast path, so
    the trace's numbers are the fast path's bit for bit. Differentiable: the native
    backward adds the cotangents of the saved values (the trace's gates) to its step."""
    return _forward(cell, cfg, rec, xp, state0, lengths, keep_residuals=True)


def _traced_fwd(cell, cfg, rec, xp, state0, lengths):
    final, ys, saved = _forward(cell, cfg, rec, xp, state0, lengths, keep_residuals=True)
    return (final, ys, saved), (rec, state0, lengths, ys, saved, None)


def _traced_bwd(cell, cfg, residuals, cotangents):
    dfinal, dys, dsaved = cotangents
    drec, dxp, dstate0 = _backward(cell, cfg, residuals, (dfinal, dys), tuple(dsaved))
    return drec, dxp.astype(cfg.acc), dstate0, None


recurrence_traced.defvjp(_traced_fwd, _traced_bwd)


@functools.partial(jax.custom_vjp, nondiff_argnums=(0, 1))
def recurrence_in_loop(cell, cfg: Config, rec, w_ih, b, x, state0, lengths):
    """:func:`recurrence` with the input projection inside the loop.

    The forward loop computes ``x_t @ W_ih + b`` at each step (two independent matmuls per
    step, which XLA:CPU runs on two cores, on data that stays in cache); the backward pass
    is the same as :func:`recurrence`'s (hand-written cells only), and ``dW_ih = x^T
    dxp``, ``db = sum dxp`` and ``dx = dxp W_ih^T`` are single matmuls over all steps after
    the loop.

    Args:
      x: ``[t, b, i]`` time-major inputs, zero at padded steps.
      w_ih, b: ``[i, g]`` and ``[g]``.
      Others as :func:`recurrence`.
    """
    final, ys, _ = _forward(cell, cfg, rec, x, state0, lengths, False, proj=(w_ih, b))
    return final, ys


def _in_loop_fwd(cell, cfg, rec, w_ih, b, x, state0, lengths):
    final, ys, saved = _forward(cell, cfg, rec, x, state0, lengths, True, proj=(w_ih, b))
    return (final, ys), ((rec, state0, lengths, ys, saved, None), w_ih, b, x)


def _in_loop_bwd(cell, cfg, residuals, cotangents):
    inner, w_ih, b, x = residuals
    drec, dxp, dstate0 = _backward(cell, cfg, inner, cotangents)
    dw, db, dx = _input_grads_acc(cfg, w_ih, x, dxp)
    return drec, dw.astype(w_ih.dtype), db.astype(b.dtype), dx.astype(x.dtype), dstate0, None


recurrence_in_loop.defvjp(_in_loop_fwd, _in_loop_bwd)


# --- gradient checkpointing ------------------------------------------------------------------


def _chunk_loop(fn, carry, steps, chunks, every: int, reverse: bool):
    """Runs ``fn`` over the consecutive chunks of ``every`` steps of a sequence.

    The ``t`` steps are cut into ``t // every`` full chunks, run by one ``lax.scan`` over
    chunks, and, when ``every`` does not divide ``t``, a last chunk of the ``t % every``
    remaining steps, run by a call of its own (no padded steps). Chunks run in time order,
    or from the last one with ``reverse``.

    Args:
      fn: ``(carry, steps_c, chunk_c, start) -> (carry, (step_out_c, chunk_out_c))`` for
        one chunk: ``steps_c`` the chunk's slice of ``steps``, ``chunk_c`` its entry of
        ``chunks``, ``start`` the index of its first step.
      steps: a tree of time-major ``[t, ...]`` arrays.
      chunks: a tree of ``[num_chunks, ...]`` arrays, one entry per chunk.

    Returns:
      ``(carry, step_out [t, ...], chunk_out [num_chunks, ...])``, outputs in time order.
    """
    num_steps = jax.tree.leaves(steps)[0].shape[0]
    full, rest = divmod(num_steps, every)
    cut = full * every

    def run_full(carry):
        xs = jax.tree.map(lambda a: a[:cut].reshape((full, every) + a.shape[1:]), steps)
        starts = jnp.arange(full, dtype=jnp.int32) * every
        cs = jax.tree.map(lambda a: a[:full], chunks)
        carry, (ys, cy) = jax.lax.scan(
            lambda c, inp: fn(c, *inp), carry, (xs, cs, starts), reverse=reverse
        )
        return carry, (jax.tree.map(lambda a: a.reshape((cut,) + a.shape[2:]), ys), cy)

    def run_rest(carry):
        xs = jax.tree.map(lambda a: a[cut:], steps)
        cs = jax.tree.map(lambda a: a[full], chunks)
        carry, (ys, cy) = fn(carry, xs, cs, jnp.asarray(cut, jnp.int32))
        return carry, (ys, jax.tree.map(lambda a: a[None], cy))

    parts = [run for run, size in ((run_full, full), (run_rest, rest)) if size]
    outs = {}
    for i in reversed(range(len(parts))) if reverse else range(len(parts)):
        carry, outs[i] = parts[i](carry)
    ordered = [outs[i] for i in range(len(parts))]

    def cat(*arrays):
        return arrays[0] if len(arrays) == 1 else jnp.concatenate(arrays, axis=0)

    step_out = jax.tree.map(cat, *[o[0] for o in ordered])
    chunk_out = jax.tree.map(cat, *[o[1] for o in ordered])
    return carry, step_out, chunk_out


def _shift(lengths: Array | None, start: Array) -> Array | None:
    """Lengths relative to a chunk starting at step ``start``: step ``j`` of the chunk is
    valid where ``j < lengths - start`` (any integer; negative for sequences that end
    before the chunk)."""
    return None if lengths is None else lengths - start.astype(lengths.dtype)


def _chunk_forward(cell, cfg, rec, proj, x, state, lengths, keep_residuals: bool):
    """:func:`_forward` over one chunk of inputs ``x [k, b, i]``: ``(final, ys, saved,
    xp)``. The projection ``proj = (w_ih, b)`` runs inside the loop (``'in_loop'``; ``xp``
    is then ``None``) or as one matmul over the chunk before it (``'hoisted'``)."""
    if cfg.projection == 'in_loop':
        out = _forward(cell, cfg, rec, x, state, lengths, keep_residuals, proj=proj)
        return (*out, None)
    w_ih, b = proj
    xp = project_time_major(x, w_ih, b, cfg.cdt, cfg.acc, cfg.precision)
    return (*_forward(cell, cfg, rec, xp, state, lengths, keep_residuals), xp)


def _forward_checkpointed(cell, cfg, rec, proj, x, state0, lengths):
    """The forward loop in chunks of ``cfg.checkpoint_every`` steps (:func:`_chunk_loop`),
    keeping no per-step residual: ``(final_state, ys [t, b, h], checkpoints)``, the
    checkpoints the state entering each chunk in processing order (one tuple of
    ``[num_chunks, b, h]`` arrays)."""

    def chunk(state, x_c, _, start):
        final, ys_c, _, _ = _chunk_forward(
            cell, cfg, rec, proj, x_c, state, _shift(lengths, start), False
        )
        return final, (ys_c, state)

    return _chunk_loop(chunk, state0, x, (), cfg.checkpoint_every, cfg.reverse)


@functools.partial(jax.custom_vjp, nondiff_argnums=(0, 1))
def recurrence_checkpointed(cell, cfg: Config, rec, w_ih, b, x, state0, lengths):
    """:func:`recurrence_in_loop` (``cfg.projection == 'in_loop'``) or projection and
    :func:`recurrence` (``'hoisted'``) with gradient checkpointing every ``k =
    cfg.checkpoint_every`` steps.

    Forward: the loop runs chunk by chunk (:func:`_forward_checkpointed`); it keeps the
    state entering each chunk and nothing per step, so the residuals are ``ceil(t / k)``
    states ``[b, h]`` besides the inputs ``x`` (which ``dW_ih`` needs anyway). The hoisted
    projection is one ``[k, b, g]`` matmul per chunk, before the chunk's loop; no
    ``[t, b, g]`` pre-activations are kept.

    Backward: for each chunk, from the last processed to the first, the chunk's forward
    runs again from its checkpoint, keeping its ``saved`` values and outputs (``k``
    steps of them), and the reverse loop (:func:`_reverse_cell` or :func:`_reverse_vjp`)
    runs over the chunk, carrying the state gradients into the chunk before it. The
    chunk's weight gradients (:func:`_recurrent_grads`, or :func:`_reverse_vjp`'s running
    sum, and :func:`_input_grads_acc`) are added to running sums in ``acc``, and its
    ``dx`` is emitted::

      for c in chunks, last processed first:
        ys_c, saved_c = forward(x_c, checkpoint_c)          # k steps, recomputed
        dxp_c, dstate = reverse_loop(saved_c, ys_c, dys_c, dstate)
        dW_hh += h_prev_c^T dxp_c; dW_ih += x_c^T dxp_c; db += sum(dxp_c); dx_c = dxp_c W_ih^T

    No ``[t, b, g]`` array exists in either pass. Extra cost: one forward pass.

    Args:
      x: ``[t, b, i]`` time-major inputs, zero at padded steps.
      w_ih, b: ``[i, g]`` and ``[g]``.
      Others as :func:`recurrence`.

    Returns:
      ``(final_state, ys)`` as :func:`recurrence`.
    """
    final, ys, _ = _forward_checkpointed(cell, cfg, rec, (w_ih, b), x, state0, lengths)
    return final, ys


def _checkpointed_fwd(cell, cfg, rec, w_ih, b, x, state0, lengths):
    final, ys, checkpoints = _forward_checkpointed(cell, cfg, rec, (w_ih, b), x, state0, lengths)
    return (final, ys), (rec, w_ih, b, x, lengths, checkpoints)


def _checkpointed_bwd(cell, cfg, residuals, cotangents):
    rec, w_ih, b, x, lengths, checkpoints = residuals
    dfinal, dys = cotangents
    cell_bwd = hand_written(cell, cfg)

    def chunk(carry, steps_c, entry, start):
        dstate, (drec, dw, db) = carry
        x_c, dys_c = steps_c
        lengths_c = _shift(lengths, start)
        _, ys_c, saved_c, xp_c = _chunk_forward(
            cell, cfg, rec, (w_ih, b), x_c, entry, lengths_c, True
        )
        prev_c = _previous_states(cell, cfg, ys_c, saved_c, entry, lengths_c)
        if cell_bwd:
            dxp_c, dentry = _reverse_cell(
                cell, cfg, rec, ys_c, saved_c, prev_c, lengths_c, (dstate, dys_c)
            )
            drec_c = _recurrent_grads(cell, cfg, dxp_c, saved_c, prev_c)
            drec = tuple(s + d.astype(s.dtype) for s, d in zip(drec, drec_c, strict=True))
        else:
            mask_c = _time_mask(lengths_c, x_c.shape[0])
            drec, dxp_c, dentry = _reverse_vjp(
                cell, cfg, rec, xp_c, prev_c, mask_c, (dstate, dys_c), drec
            )
        dw_c, db_c, dx_c = _input_grads_acc(cfg, w_ih, x_c, dxp_c)
        sums = (drec, dw + dw_c, db + db_c)
        return (dentry, sums), (dx_c.astype(x.dtype), ())

    zeros = (_zero_grads(rec, cfg), jnp.zeros(w_ih.shape, cfg.acc), jnp.zeros(b.shape, cfg.acc))
    (dstate0, (drec, dw, db)), dx, _ = _chunk_loop(
        chunk, (tuple(dfinal), zeros), (x, dys), checkpoints, cfg.checkpoint_every, not cfg.reverse
    )
    drec, dstate0 = _cast_grads(drec, dstate0, rec, checkpoints)  # the states' dtypes
    return drec, dw.astype(w_ih.dtype), db.astype(b.dtype), dx, dstate0, None


def _input_grads_acc(cfg, w_ih, x, dxp) -> tuple[Array, Array, Array]:
    """``(dW_ih, db, dx)`` of the input projection ``x @ W_ih + b`` from ``dxp [t, b, g]``,
    in ``cfg.acc``: ``dW_ih = x^T dxp`` and ``dx = dxp W_ih^T`` one matmul each,
    ``db = sum dxp``."""
    dw = _math.outer_sum(x, dxp, cfg.cdt, cfg.acc, cfg.precision)
    db = jnp.sum(dxp.astype(cfg.acc), axis=(0, 1))
    dx = _math.einsum('tbg,ig->tbi', dxp, w_ih, cfg.cdt, cfg.acc, cfg.precision)
    return dw, db, dx


recurrence_checkpointed.defvjp(_checkpointed_fwd, _checkpointed_bwd)


def check_trace_checkpoint(trace: bool, checkpoint_every) -> None:
    """A ValueError for ``trace=True`` with ``checkpoint_every``: the trace returns every
    gate at every step (``O(t)`` memory by design) and is differentiated by JAX's autodiff
    of the forward loop, not by the checkpointed backward."""
    if trace and checkpoint_every is not None:
        raise ValueError(
            f'checkpoint_every={checkpoint_every!r} cannot be combined with trace=True: the '
            "trace returns every gate at every step and is differentiated by JAX's autodiff "
            'of the forward loop, not by the checkpointed backward. Use one of them.'
        )


def checkpoint_chunk(num_steps: int) -> int:
    """The ``checkpoint_every='auto'`` rule: ``k = ceil(sqrt(t))`` (1 for ``t <= 1``), so
    there are ``ceil(t / k) <= k`` chunks: the forward keeps at most ``k`` states and the
    backward recomputes at most ``k`` steps at a time, ``O(sqrt(t))`` each."""
    return 1 if num_steps <= 1 else math.isqrt(num_steps - 1) + 1


# --- the jitted entry points ---------------------------------------------------------------


def time_major_inputs(x: Array, mask: Array | None, time_major: bool) -> Array:
    """``x`` as ``[t, b, i]``, zero at padded steps (``mask [t, b]``), so values in the
    padding never reach any output or gradient."""
    if mask is not None:
        m = mask if time_major else mask.T
        x = jnp.where(m[..., None], x, jnp.zeros_like(x))
    return x if time_major else jnp.swapaxes(x, 0, 1)


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
      mask: optional ``[t, b]`` validity mask; padded inputs are zeroed first
        (:func:`time_major_inputs`).

    Returns:
      ``[t, b, g]`` in ``acc`` dtype (always time-major: the scan runs over axis 0).
    """
    # Transposing x (i features) first is far cheaper than a dot that writes a
    # transposed [t, b, g] output: measured 1.4 ms vs 11 ms for b=32, t=128, i=64, g=512
    # on a 2-core CPU (benchmarks/NOTES.md).
    x = time_major_inputs(x, mask, time_major)
    return project_time_major(x, w_ih, b, cdt, acc, precision)


def project_time_major(x: Array, w_ih: Array, b: Array, cdt, acc, precision) -> Array:
    """:func:`project` of time-major inputs ``x [t, b, i]`` whose padding is already
    zeroed: ``[t, b, g]`` in ``acc`` dtype."""
    xp = _math.einsum('tbi,ig->tbg', x, w_ih, cdt, acc, precision)
    return xp + b.astype(acc)[None, None, :]


def _in_loop(cell: Cell, cfg: Config) -> bool:
    """Whether the projection runs inside the loop: asked for, on the XLA backend, with a
    hand-written backward; otherwise it is hoisted."""
    return cfg.projection == 'in_loop' and cfg.backend == 'xla' and hand_written(cell, cfg)


@functools.partial(jax.jit, static_argnames=('cell', 'cfg', 'time_major', 'trace'))
def sequence(
    cell,
    params,
    xs: Array,
    state0: tuple,
    lengths: Array | None,
    *,
    cfg: Config,
    time_major: bool,
    trace: bool = False,
):
    """Input projection + recurrence for ``xs`` with one flattened batch axis.

    Args:
      cell: a :class:`jaxrnn.kernels._types.Cell`.
      params: the cell's parameters NamedTuple.
      xs: ``[t, b, i]`` if ``time_major`` else ``[b, t, i]``.
      state0: the carry tuple, each ``[b, h]``.
      lengths: ``[b]`` integer lengths or ``None``.
      cfg: the static :class:`Config`. ``projection == 'in_loop'`` runs on the XLA
        backend with a hand-written backward only; otherwise the projection is hoisted.
        With ``checkpoint_every`` the recurrence is :func:`recurrence_checkpointed`
        (nothing to checkpoint for ``t = 0``); not with ``trace``.
      trace: also return every gate at every step (``cell.trace_type``). The trace runs
        the same forward loop (:func:`_forward`, same step function, same numbers): on
        the native backend the native forward, differentiated by
        :func:`recurrence_traced`; on every other the XLA scan, differentiated by JAX's
        autodiff instead of the custom VJP. With ``trace=False`` none of this is in the
        program.

    Returns:
      ``(final_state, ys)`` or ``(final_state, ys, trace)``; ``ys`` in ``cdt`` and the
      trace fields in ``acc``, with the layout of ``xs``; trace fields are zero at padded
      steps.
    """
    cdt, acc = cfg.cdt, cfg.acc
    num_steps = xs.shape[0 if time_major else 1]
    mask = _time_mask(lengths, num_steps)
    state0 = tuple(s.astype(acc) for s in state0)
    if trace and cfg.backend != 'native':
        cfg = cfg._replace(backend='xla')
    rec = recurrent(params)
    check_trace_checkpoint(trace, cfg.checkpoint_every)
    if cfg.checkpoint_every is not None and num_steps:
        cfg = cfg._replace(projection='in_loop' if _in_loop(cell, cfg) else 'hoisted')
        x = time_major_inputs(xs, mask, time_major)
        w_ih, b = params.input_kernel, params.bias
        final, ys = recurrence_checkpointed(cell, cfg, rec, w_ih, b, x, state0, lengths)
        return final, _layout(ys.astype(cdt), time_major)
    if _in_loop(cell, cfg):
        x = time_major_inputs(xs, mask, time_major)
        w_ih, b = params.input_kernel, params.bias
        if not trace:
            final, ys = recurrence_in_loop(cell, cfg, rec, w_ih, b, x, state0, lengths)
            return final, _layout(ys.astype(cdt), time_major)
        final, ys, saved = _forward(cell, cfg, rec, x, state0, lengths, True, proj=(w_ih, b))
    else:
        xp = project(
            xs, params.input_kernel, params.bias, mask, time_major, cdt, acc, cfg.precision
        )
        if not trace:
            final, ys = recurrence(cell, cfg, rec, xp, state0, lengths)
            return final, _layout(ys.astype(cdt), time_major)
        if cfg.backend == 'native':
            final, ys, saved = recurrence_traced(cell, cfg, rec, xp, state0, lengths)
        else:
            final, ys, saved = _forward(cell, cfg, rec, xp, state0, lengths, True)
    fields = trace_fields(cell, ys, saved)
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
    cfg = Config(False, 1, cdt, acc, precision)
    xp = _math.dot(x, params.input_kernel, cdt, acc, precision) + _math.row(params.bias.astype(acc))
    state = tuple(s.astype(acc) for s in state)
    new_state, y = _step_fn(cell, cfg)(xp, state, recurrent(params))
    return new_state, y.astype(cdt)
