r"""A persistent Pallas kernel: the whole forward recurrence in one launch.

``lax.scan`` on a GPU launches the step's kernels once per time step from the host and
reads ``W_hh`` from memory at every step. This kernel instead runs the time loop on the
device: each program owns one batch tile, keeps its ``h`` (and ``c``) in registers,
loads ``W_hh`` once before the loop when it fits on chip, and at each step does
``h @ W_hh`` and the gate math fused, writing ``y_t`` (and the residuals the backward
pass needs). The input projection stays hoisted (one matmul before the kernel), and the
backward pass is the XLA custom VJP of :mod:`jaxrnn.kernels._scan` (``_backward``),
which reads the residuals this kernel writes in exactly the scan's format.

Layout inside the kernel (gate-major, padded), for ``G`` gates::

  xp   [t, G, B, H]    pre-activations x_t W_ih + b, accumulation dtype
  w    [G, H, H]       W_hh split into its gate blocks, computation dtype
  ys   [t, B, H]       outputs (zero at padded steps)
  res  [t, R, B, H]    per-step residuals: LSTM (i, f, g, o, c), GRU (r, z, n[, h_n])

``B`` is the batch padded to a multiple of the batch tile and ``H`` the hidden size
padded to a power of two >= 16 (Triton needs power-of-two blocks and dots of at least
16 x 16). Padded hidden units have zero weights, inputs and carry, so they stay exactly
zero and never reach a real unit; padded batch rows have length 0.

Per step (LSTM; GRU and the simple RNN likewise, from the equations in their modules)::

  a_k = xp[t, k] + h @ w[k]       for k in (i, f, g, o)      # G dots [b, H] x [H, H]
  c'  = sigmoid(a_f) * c + sigmoid(a_i) * tanh(a_g);  h' = sigmoid(a_o) * tanh(c')
  (c, h) = where(t < length, (c', h'), (c, h));  ys[t] = where(t < length, h', 0)

Platforms: NVIDIA GPUs through Triton (``pl.pallas_call`` with Triton compiler params);
on CPU the same kernel runs in Pallas' interpret mode (slow; for testing). TPU is not
covered (no TPU was available to build and measure it on) and raises.
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
from jax.experimental import pallas as pl

from jaxrnn.kernels import _math

Array = jax.Array

MAX_HIDDEN = 512
"""Largest (padded) hidden size the kernel covers; ``backend='pallas'`` falls back to
the XLA scan beyond it (``[b, H] x [H, H]`` tiles larger than this do not fit one
Triton program)."""

RESIDENT_BYTES = 128 * 1024
"""``W_hh`` is loaded once before the time loop (held on chip for the whole sequence)
when its padded size ``G * H * H * itemsize`` is at most this; above it, each step
re-reads it inside the same launch (from L2 on a GPU). Tests set it to 0 to run the
re-reading path."""


def _next_pow2(n: int) -> int:
    return 1 << max(0, (n - 1).bit_length())


def padded_hidden(hidden: int) -> int:
    """The hidden size inside the kernel: a power of two, at least 16."""
    return max(16, _next_pow2(hidden))


def batch_tile(batch: int) -> int:
    """Rows of the batch per program: a power of two in [16, 64]."""
    return min(64, max(16, _next_pow2(batch)))


def covers(hidden: int) -> bool:
    """Whether the kernel covers this hidden size (see :data:`MAX_HIDDEN`)."""
    return padded_hidden(hidden) <= MAX_HIDDEN


# --- per-cell step bodies on gate blocks --------------------------------------------------
# Each takes the step's gate pre-activations ``xs[k] [b, H]``, ``hw(v, k) = v @ w[k]``,
# the extra refs' values and the state; returns (new_state, y, residual blocks).


def _lstm_body(cell, xs, hw, extras, state):
    c, h = state
    i = jax.nn.sigmoid(xs[0] + hw(h, 0))
    f = jax.nn.sigmoid(xs[1] + hw(h, 1))
    g = jnp.tanh(xs[2] + hw(h, 2))
    o = jax.nn.sigmoid(xs[3] + hw(h, 3))
    c_new = f * c + i * g
    h_new = o * jnp.tanh(c_new)
    return (c_new, h_new), h_new, (i, f, g, o, c_new)


def _gru_body(cell, xs, hw, extras, state):
    (b_hn,) = extras
    (h,) = state
    r = jax.nn.sigmoid(xs[0] + hw(h, 0))
    z = jax.nn.sigmoid(xs[1] + hw(h, 1))
    if cell.reset_after:
        h_n = hw(h, 2) + b_hn
        n = jnp.tanh(xs[2] + r * h_n)
        saved = (r, z, n, h_n)
    else:
        n = jnp.tanh(xs[2] + hw(r * h, 2) + b_hn)
        saved = (r, z, n)
    h_new = (1 - z) * n + z * h
    return (h_new,), h_new, saved


def _simple_body(cell, xs, hw, extras, state):
    (h,) = state
    a = xs[0] + hw(h, 0)
    h_new = jnp.tanh(a) if cell.activation == 'tanh' else jax.nn.relu(a)
    return (h_new,), h_new, ()


def _describe(cell):
    """``(body, extras, num_residuals, to_scan_residuals)`` for a cell definition."""
    name = type(cell).__name__
    if name == 'LSTM':
        return _lstm_body, lambda rec: (), 5, lambda r: (_join(r[:4]), r[4])
    if name == 'GRU':
        count = 4 if cell.reset_after else 3
        return _gru_body, lambda rec: (rec[1],), count, lambda r: (_join(r),)
    if name == 'Simple':
        return _simple_body, lambda rec: (), 0, lambda r: ()
    raise TypeError(f'the Pallas backend has no kernel for {name}.')


def _join(parts):
    return jnp.concatenate(parts, axis=-1)


# --- the kernel ---------------------------------------------------------------------------


def _kernel(body, cell, cfg, num_state, num_extras, num_res, resident, *refs):
    lengths_ref, xp_ref, w_ref = refs[:3]
    extra_refs = refs[3 : 3 + num_extras]
    state_refs = refs[3 + num_extras : 3 + num_extras + num_state]
    outs = refs[3 + num_extras + num_state :]
    ys_ref, final_refs = outs[0], outs[1 : 1 + num_state]
    res_ref = outs[1 + num_state] if num_res else None
    num_steps, num_gates = xp_ref.shape[0], xp_ref.shape[1]
    lengths = lengths_ref[...][:, None]  # [b, 1]
    extras = tuple(r[...] for r in extra_refs)
    resident_w = [w_ref[k] for k in range(num_gates)] if resident else None

    def hw(v, k):
        w = resident_w[k] if resident else w_ref[k]
        return _math.dot(v, w, cfg.cdt, cfg.acc, cfg.precision)

    def step(s, state):
        t = num_steps - 1 - s if cfg.reverse else s
        xs = [xp_ref[t, k] for k in range(num_gates)]
        new_state, y, saved = body(cell, xs, hw, extras, state)
        valid = t < lengths
        ys_ref[t] = jnp.where(valid, y, jnp.zeros_like(y))
        if res_ref is not None:
            for k, part in enumerate(saved):
                res_ref[t, k] = part
        return tuple(jnp.where(valid, n, o) for n, o in zip(new_state, state, strict=True))

    state0 = tuple(r[...] for r in state_refs)
    final = jax.lax.fori_loop(0, num_steps, step, state0)
    for ref, value in zip(final_refs, final, strict=True):
        ref[...] = value


def compile_params(platform: str):
    """``(interpret, compiler_params)`` of the kernel on ``platform``."""
    if platform == 'gpu':
        from jax.experimental.pallas import triton as pl_triton

        return False, pl_triton.CompilerParams(num_warps=4, num_stages=1)
    if platform == 'tpu':
        raise ValueError(
            "backend='pallas' has no TPU kernel yet (it was built without a TPU to measure "
            "it on); use backend='xla'."
        )
    return True, None


def _platform_params():
    return compile_params(jax.default_backend())


def forward(cell, cfg, rec, xp, state0, lengths, keep_residuals: bool):
    """Drop-in for ``_scan._forward`` (hoisted projection) running the Pallas kernel.

    Args:
      xp: ``[t, b, G h]`` pre-activations, ``acc`` dtype.
      state0: state tuple, each ``[b, h]``, ``acc`` dtype.
      lengths: ``[b]`` integer lengths or ``None``.

    Returns:
      ``(final_state, ys [t, b, h], residuals)`` as ``_scan._forward``: the residuals in
      the scan's format when ``keep_residuals``, else ``()``.
    """
    body, extras_of, num_res, to_scan = _describe(cell)
    num_steps, batch, width = xp.shape
    hidden = rec[0].shape[0]
    num_gates = width // hidden
    hp, bb = padded_hidden(hidden), batch_tile(batch)
    bp = -(-batch // bb) * bb
    num_res = num_res if keep_residuals else 0

    def pad_bh(a):  # [..., b, h] -> [..., bp, hp]
        widths = [(0, 0)] * (a.ndim - 2) + [(0, bp - batch), (0, hp - hidden)]
        return jnp.pad(a, widths)

    xp_k = pad_bh(jnp.moveaxis(xp.reshape(num_steps, batch, num_gates, hidden), 2, 1))
    w = rec[0].astype(cfg.cdt).reshape(hidden, num_gates, hidden)
    w = jnp.pad(jnp.moveaxis(w, 1, 0), [(0, 0), (0, hp - hidden), (0, hp - hidden)])
    extras = tuple(jnp.pad(e.astype(cfg.acc), (0, hp - hidden))[None, :] for e in extras_of(rec))
    state = tuple(pad_bh(s) for s in state0)
    if lengths is None:
        lengths = jnp.full((batch,), num_steps, jnp.int32)
    lengths = jnp.pad(lengths.astype(jnp.int32), (0, bp - batch))

    resident = num_gates * hp * hp * jnp.dtype(cfg.cdt).itemsize <= RESIDENT_BYTES
    tile = pl.BlockSpec((bb, hp), lambda i: (i, 0))
    in_specs = [
        pl.BlockSpec((bb,), lambda i: (i,)),
        pl.BlockSpec((num_steps, num_gates, bb, hp), lambda i: (0, 0, i, 0)),
        pl.BlockSpec((num_gates, hp, hp), lambda i: (0, 0, 0)),
        *[pl.BlockSpec((1, hp), lambda i: (0, 0)) for _ in extras],
        *[tile for _ in state],
    ]
    out_shape = [jax.ShapeDtypeStruct((num_steps, bp, hp), cfg.acc)]
    out_specs = [pl.BlockSpec((num_steps, bb, hp), lambda i: (0, i, 0))]
    out_shape += [jax.ShapeDtypeStruct((bp, hp), cfg.acc) for _ in state]
    out_specs += [tile for _ in state]
    if num_res:
        out_shape.append(jax.ShapeDtypeStruct((num_steps, num_res, bp, hp), cfg.acc))
        out_specs.append(pl.BlockSpec((num_steps, num_res, bb, hp), lambda i: (0, 0, i, 0)))
    interpret, params = _platform_params()
    kernel = functools.partial(_kernel, body, cell, cfg, len(state), len(extras), num_res, resident)
    outs = pl.pallas_call(
        kernel,
        out_shape=out_shape,
        grid=(bp // bb,),
        in_specs=in_specs,
        out_specs=out_specs,
        interpret=interpret,
        compiler_params=params,
        name=f'jaxrnn_{type(cell).__name__.lower()}_forward',
    )(lengths, xp_k, w, *extras, *state)
    ys = outs[0][:, :batch, :hidden]
    final = tuple(s[:batch, :hidden] for s in outs[1 : 1 + len(state)])
    if not num_res:
        return final, ys, ()
    res = outs[-1][:, :, :batch, :hidden]
    return final, ys, to_scan(tuple(res[:, k] for k in range(num_res)))
