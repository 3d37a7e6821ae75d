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
  res  [t, R, B, H]    per-step saved values, the cell's ``saved`` (LSTM i, f, g, o, c)

``B`` is the batch padded to a multiple of the batch tile and ``H`` the hidden size
padded to a power of two >= 16 (Triton needs power-of-two blocks and dots of at least
16 x 16). Padded hidden units have zero weights, inputs and carry, so they stay exactly
zero and never reach a real unit; padded batch rows have length 0.

Per step, the cell's own ``step`` (:class:`jaxrnn.kernels._types.Cell`; the LSTM shown,
the GRU and the simple RNN likewise) with ``hw(h)`` doing one dot per gate block::

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
"""Default largest (padded) hidden size the kernel covers (``Pallas.max_hidden`` in
:mod:`jaxrnn.kernels._backend`): beyond it ``backend='pallas'`` falls back to the XLA
scan (``[b, H] x [H, H]`` tiles larger than this do not fit one Triton program)."""

RESIDENT_BYTES = 128 * 1024
"""Default on-chip budget (``Config.resident_bytes``): ``W_hh`` is loaded once before
the time loop (held on chip for the whole sequence) when its padded size ``G * H * H *
itemsize`` is at most this; above it, each step re-reads it inside the same launch (from
L2 on a GPU)."""


def _next_pow2(n: int) -> int:
    return 1 << max(0, (n - 1).bit_length())


def padded_hidden(hidden: int) -> int:
    """The hidden size inside the kernel: a power of two, at least 16."""
    return max(16, _next_pow2(hidden))


def batch_tile(batch: int) -> int:
    """Rows of the batch per program: a power of two in [16, 64]."""
    return min(64, max(16, _next_pow2(batch)))


def covers(hidden: int, max_hidden: int = MAX_HIDDEN) -> bool:
    """Whether the kernel covers this hidden size."""
    return padded_hidden(hidden) <= max_hidden


# --- the kernel ---------------------------------------------------------------------------


def _kernel(cell, cfg, num_state, num_extras, num_saved, resident, *refs):
    """One program: the whole time loop for one batch tile. The step is the cell's own
    ``step`` (:class:`jaxrnn.kernels._types.Cell`), with the recurrent matmul done one
    gate block at a time on the ``[G, H, H]`` weight blocks."""
    lengths_ref, xp_ref, w_ref = refs[:3]
    extra_refs = refs[3 : 3 + num_extras]
    state_refs = refs[3 + num_extras : 3 + num_extras + num_state]
    outs = refs[3 + num_extras + num_state :]
    ys_ref, final_refs = outs[0], outs[1 : 1 + num_state]
    res_ref = outs[1 + num_state] if num_saved else None
    num_steps, num_gates = xp_ref.shape[0], xp_ref.shape[1]
    lengths = lengths_ref[...][:, None]  # [b, 1]
    extras = tuple(r[...] for r in extra_refs)
    resident_w = [w_ref[k] for k in range(num_gates)] if resident else None

    def hw(v, start=0, stop=None):
        stop = num_gates if stop is None else stop
        return tuple(
            _math.dot(
                v,
                resident_w[k] if resident_w is not None else w_ref[k],
                cfg.cdt,
                cfg.acc,
                cfg.precision,
            )
            for k in range(start, stop)
        )

    def step(s, state):
        t = num_steps - 1 - s if cfg.reverse else s
        out = cell.step(tuple(xp_ref[t, k] for k in range(num_gates)), hw, state, extras)
        valid = t < lengths
        ys_ref[t] = jnp.where(valid, out.y, jnp.zeros_like(out.y))
        if res_ref is not None:
            for k, part in enumerate(out.saved):
                res_ref[t, k] = part
        return tuple(jnp.where(valid, n, o) for n, o in zip(out.state, state, strict=True))

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


def forward(cell, cfg, rec, xp, state0, lengths, keep_residuals: bool):
    """Drop-in for ``_scan._forward`` (hoisted projection) running the Pallas kernel.

    Args:
      xp: ``[t, b, G h]`` pre-activations, ``acc`` dtype.
      state0: state tuple, each ``[b, h]``, ``acc`` dtype.
      lengths: ``[b]`` integer lengths or ``None``.

    Returns:
      ``(final_state, ys [t, b, h], saved)`` as ``_scan._forward``: the cell's saved
      values, each ``[t, b, h]``, when ``keep_residuals``, else ``()``.
    """
    num_steps, batch, width = xp.shape
    hidden = rec[0].shape[0]
    num_gates = width // hidden
    hp, bb = padded_hidden(hidden), batch_tile(batch)
    bp = -(-batch // bb) * bb
    num_res = len(cell.saved) if keep_residuals else 0

    def pad_bh(a):  # [..., b, h] -> [..., bp, hp]
        widths = [(0, 0)] * (a.ndim - 2) + [(0, bp - batch), (0, hp - hidden)]
        return jnp.pad(a, widths)

    xp_k = pad_bh(jnp.moveaxis(xp.reshape(num_steps, batch, num_gates, hidden), 2, 1))
    w = rec[0].astype(cfg.cdt).reshape(hidden, num_gates, hidden)
    w = jnp.pad(jnp.moveaxis(w, 1, 0), [(0, 0), (0, hp - hidden), (0, hp - hidden)])
    extras = tuple(jnp.pad(e.astype(cfg.acc), (0, hp - hidden))[None, :] for e in rec[1:])
    state = tuple(pad_bh(s) for s in state0)
    if lengths is None:
        lengths = jnp.full((batch,), num_steps, jnp.int32)
    lengths = jnp.pad(lengths.astype(jnp.int32), (0, bp - batch))

    resident = num_gates * hp * hp * jnp.dtype(cfg.cdt).itemsize <= cfg.resident_bytes
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
    interpret, params = compile_params(cfg.platform)
    kernel = functools.partial(_kernel, cell, cfg, len(state), len(extras), num_res, resident)
    outs = pl.pallas_call(
        kernel,
        out_shape=out_shape,
        grid=(bp // bb,),
        in_specs=in_specs,
        out_specs=out_specs,
        interpret=interpret,
        compiler_params=params,
        name=f'jaxrnn_{cell.name}_forward_{"resident" if resident else "reread"}',
    )(lengths, xp_k, w, *extras, *state)
    ys = outs[0][:, :batch, :hidden]
    final = tuple(s[:batch, :hidden] for s in outs[1 : 1 + len(state)])
    if not num_res:
        return final, ys, ()
    res = outs[-1][:, :, :batch, :hidden]
    return final, ys, tuple(res[:, k] for k in range(num_res))
