"""The native CPU backend: one compiled call runs the whole time loop.

``native/rnn_cpu.cc`` (built by ``pip install .`` with scikit-build-core into
``jaxrnn/libjaxrnn_cpu.so``, linked against OpenBLAS from the ``scipy-openblas32`` wheel)
defines two XLA FFI handlers, registered here with :func:`jax.ffi.register_ffi_target`:

  ``jaxrnn_forward``   drop-in for ``_scan._forward`` with the hoisted projection:
                       ``xp [t, b, G h]`` in, ``ys``, the final state and the cell's
                       ``saved`` values out; the recurrent matmul and the fused gate math
                       of every step, on ``threads`` cores, ``W_hh`` packed once per call.
  ``jaxrnn_backward``  drop-in for ``_scan._reverse_cell``: the cell's ``step_bwd`` over
                       all steps, ``dxp [t, b, G h]`` and the initial state's gradients out.

Everything else stays in XLA: the input projection before the loop and the weight
gradients after it (one matmul each, as on the scan backend) and checkpointing (a call
per chunk). Trace mode runs the same forward call, keeping its saved values (the gates),
and the backward call adds their cotangents (``_scan.recurrence_traced``). The handlers
implement the cells of :mod:`jaxrnn.kernels.lstm`, :mod:`~jaxrnn.kernels.gru` (both forms)
and :mod:`~jaxrnn.kernels.simple` (tanh and relu); ``tests/kernels/test_native.py`` runs
the backend tests on them against the float64 oracle and checks every step against the
cells' own ``step``. Accumulation in float32 or float64; bfloat16 and float16 computation
rounds each recurrent matmul's operand as XLA does.

If the library was not built or does not load (or ``JAXRNN_NATIVE=0`` is set),
:func:`load_error` says why, and ``backend='native'`` warns once and runs the XLA scan.
"""

from __future__ import annotations

import ctypes
import functools
import os
import sys
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np

from jaxrnn.kernels._types import Cell

Array = jax.Array

LIBRARY = 'libjaxrnn_cpu.so'
ABI = 4
"""The handlers' signature version; must equal ``kAbi`` in ``native/rnn_cpu.cc``."""

_ROUND = {jnp.dtype(jnp.bfloat16): 1, jnp.dtype(jnp.float16): 2}
ACC_DTYPES = (jnp.dtype(jnp.float32), jnp.dtype(jnp.float64))
COMPUTE_DTYPES = (*ACC_DTYPES, *_ROUND)


def _candidates() -> list[Path]:
    """Where the library may be: beside this package (an installed or in-place build),
    then in a ``jaxrnn`` folder of any ``sys.path`` entry (the installed copy, when the
    sources are imported from a checkout, as the test suite does)."""
    here = Path(__file__).resolve().parent.parent / LIBRARY
    found = [here]
    for entry in sys.path:
        path = Path(entry or '.') / 'jaxrnn' / LIBRARY
        if path not in found:
            found.append(path)
    return found


DISABLE = 'JAXRNN_NATIVE'
"""Set this environment variable to ``0`` before jaxrnn first needs the library to leave it
unloaded (``backend='native'`` then warns and runs the XLA scan), e.g. to rule it out
while debugging."""


def open_library(paths: list[Path]) -> tuple[ctypes.CDLL | None, str | None]:
    """Loads the first of ``paths`` that exists (with its OpenBLAS, single-threaded):
    ``(library, None)``, or ``(None, why not)``."""
    try:
        import scipy_openblas32  # noqa: PLC0415
    except ImportError as err:
        return None, f'OpenBLAS (the scipy-openblas32 package) is not installed: {err}'
    found = [p for p in paths if p.is_file()]
    if not found:
        return None, (
            f'{LIBRARY} was not built (looked beside jaxrnn and in every sys.path entry); '
            'install jaxrnn with `pip install .`, which needs a C++ compiler'
        )
    try:
        # The library's OpenBLAS by path first (it then needs no search path of its own),
        # with one thread: each of the kernel's threads calls it, and an idle OpenBLAS
        # thread pool would compete with them for the cores.
        _load_single_threaded(os.path.join(scipy_openblas32.get_lib_dir(), 'libscipy_openblas.so'))
        lib = ctypes.CDLL(str(found[0]))
        abi = lib.jaxrnn_native_abi()
    except (OSError, AttributeError) as err:
        return None, f'{found[0]} did not load: {err}'
    if abi != ABI:
        return None, (
            f'{found[0]} is from another jaxrnn version (ABI {abi}, this one needs {ABI}); '
            'reinstall with `pip install .`'
        )
    return lib, None


@functools.cache
def _load() -> str | None:
    """Loads the library and registers its handlers, once: ``None``, or why not."""
    if os.environ.get(DISABLE) == '0':
        return f'{DISABLE}=0 is set'
    lib, error = open_library(_candidates())
    if lib is None:
        return error
    lib.jaxrnn_native_init()
    for name, symbol in (('forward', lib.JaxrnnForward), ('backward', lib.JaxrnnBackward)):
        jax.ffi.register_ffi_target(f'jaxrnn_{name}', jax.ffi.pycapsule(symbol), platform='cpu')
    return None


def _load_single_threaded(path: str) -> None:
    """Loads OpenBLAS with ``OPENBLAS_NUM_THREADS=1`` (read when it loads; the variable
    is restored at once, so nothing else sees it)."""
    before = os.environ.get('OPENBLAS_NUM_THREADS')
    os.environ['OPENBLAS_NUM_THREADS'] = '1'
    try:
        ctypes.CDLL(path)
    finally:
        if before is None:
            del os.environ['OPENBLAS_NUM_THREADS']
        else:
            os.environ['OPENBLAS_NUM_THREADS'] = before


def load_error() -> str | None:
    """Why the native CPU kernel is unavailable, or ``None`` when it is loaded (public as
    ``jaxrnn.kernels.native_error``).

    Examples:
      >>> from jaxrnn import kernels
      >>> message = kernels.native_error()    # None where `pip install .` built the kernel
      >>> message is None or isinstance(message, str)
      True
    """
    return _load()


def available() -> bool:
    """Whether the native library is built, loaded and registered."""
    return _load() is None


def supports(cell: Cell) -> bool:
    """Whether the native kernel implements ``cell`` (the built-in cells)."""
    return _cell_code(cell) is not None


def _cell_code(cell: Cell) -> int | None:
    from jaxrnn.kernels.gru import GRU  # noqa: PLC0415 (the cells import the API)
    from jaxrnn.kernels.lstm import LSTM  # noqa: PLC0415
    from jaxrnn.kernels.simple import Simple  # noqa: PLC0415

    for code, kind in enumerate((LSTM, GRU, Simple)):
        if type(cell) is kind:
            return code
    return None


def cores() -> int:
    """The cores this process may run on (``os.sched_getaffinity`` where it exists)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1


MIN_WORK_PER_THREAD = 1 << 19
"""Multiply-adds of one step's recurrent matmul per thread (``b G h^2``) below which
``Native(threads=None)`` adds no thread. The threads meet once per phase of every step;
where a step is a few microseconds the second core saves less than the waits cost, and
the two counts trade places from run to run. ``python -m benchmarks.experiments.native``
(``benchmarks/NOTES.md``, entry 11) measures both: two threads 0.60-0.93 of one thread's
time from batch 16."""


def threads_for(requested: int | None, batch: int, hidden: int, gates: int) -> int:
    """The threads of one call: ``requested``, or by the per-step work (see
    :data:`MIN_WORK_PER_THREAD`) up to :func:`cores`."""
    if requested is not None:
        return requested
    work = batch * gates * hidden * hidden
    return max(1, min(cores(), work // MIN_WORK_PER_THREAD))


def tiling(batch: int, hidden: int, gates: int, backward: bool = False) -> tuple[int, int]:
    """``(mb, ub)``: rows of the batch and hidden units per work item.

    Measured on a 2-core AVX-512 CPU with OpenBLAS 0.3.34 (``benchmarks/NOTES.md``, entry
    11): a row-major ``[m, k] x [k, n]`` product with ``m n k`` up to about ``8e5`` and a
    64-column panel runs at 109-115 GFLOP/s per core (OpenBLAS's small-matrix path: no
    packing, no buffer allocation); larger products fall back to about 50. So the
    forward's product per item, ``[mb, h] x [h, G ub]``, has ``G ub`` the first multiple
    of 16 from 64 (64 columns for the LSTM and the simple RNN, 96 for the GRU) and ``mb``
    the largest power of two up to 16 with ``mb G ub h <= 786432``; the backward's,
    ``[mb, G h] x [G h, ub]``, has ``ub`` 64 and the same bound. At batch 1
    (matrix-vector products) the forward takes 64 units per item, fewer calls per step.
    ``python -m benchmarks.experiments.openblas_small`` measures the products,
    ``python -m benchmarks.experiments.native`` these tiles against halved and doubled.
    """
    width = gates * hidden
    if backward or batch == 1:
        ub = 64
    else:
        ub = 16 * -(-64 // (16 * gates))
    ub = max(1, min(ub, hidden))
    cols = ub if backward else gates * ub
    mb = max(1, min(16, 786432 // max(cols * (width if backward else hidden), 1)))
    mb = 1 << (mb.bit_length() - 1)  # a power of two
    return min(batch, mb), ub


def _attrs(cell: Cell, cfg, batch: int, hidden: int, gates: int, backward: bool, tiles) -> dict:
    mb, ub = tiles or tiling(batch, hidden, gates, backward)
    code = _cell_code(cell)
    assert code is not None, cell  # _backend refuses other cells before tracing
    return dict(
        cell=np.int64(code),
        reset_after=bool(getattr(cell, 'reset_after', True)),
        relu=getattr(cell, 'activation', 'tanh') == 'relu',
        reverse=bool(cfg.reverse),
        round=np.int64(_ROUND.get(jnp.dtype(cfg.cdt), 0)),
        threads=np.int64(threads_for(cfg.threads, batch, hidden, gates)),
        mb=np.int64(mb),
        ub=np.int64(ub),
    )


def _call(target: str, out_types):
    """``jax.ffi.ffi_call`` of a registered handler (loading the library first)."""
    error = _load()
    if error is not None:
        raise RuntimeError(f'the native kernel is not available: {error}')
    return jax.ffi.ffi_call(target, out_types, vmap_method='sequential')


def _lengths(lengths: Array | None, batch: int, num_steps: int) -> Array:
    if lengths is None:
        return jnp.full((batch,), num_steps, jnp.int32)
    return lengths.astype(jnp.int32)


def _weights(cell: Cell, cfg, rec: tuple) -> tuple[Array, Array]:
    """``W_hh`` with the values of the computation dtype, in ``acc``, and ``b_hn`` (zeros
    for the cells without one)."""
    w = rec[0].astype(cfg.cdt).astype(cfg.acc)
    bhn = rec[1].astype(cfg.acc) if len(rec) > 1 else jnp.zeros((w.shape[0],), cfg.acc)
    return w, bhn


def forward(
    cell: Cell, cfg, rec: tuple, xp: Array, state0: tuple, lengths, keep_residuals, tiles=None
):
    """Drop-in for ``_scan._forward`` (hoisted projection) on the native kernel.

    Args:
      xp: ``[t, b, G h]`` pre-activations, ``acc`` dtype.
      state0: the carry tuple, each ``[b, h]``, ``acc`` dtype.
      lengths: ``[b]`` integer lengths or ``None``.
      tiles: ``(mb, ub)`` instead of :func:`tiling`'s (for
        ``benchmarks/experiments/native.py``).

    Returns:
      ``(final_state, ys [t, b, h], saved)``, ``saved`` the cell's saved values, each
      ``[t, b, h]``, when ``keep_residuals``, else ``()``.
    """
    num_steps, batch, width = xp.shape
    w, bhn = _weights(cell, cfg, rec)
    hidden = w.shape[0]
    num_saved = len(cell.saved) if keep_residuals else 0
    if num_steps == 0 or batch == 0 or hidden == 0:
        ys = jnp.zeros((num_steps, batch, hidden), cfg.acc)
        saved = tuple(ys for _ in range(num_saved))
        return tuple(state0), ys, saved
    acc = cfg.acc
    out_types = (
        jax.ShapeDtypeStruct((num_steps, batch, hidden), acc),
        jax.ShapeDtypeStruct((batch, hidden), acc),
        jax.ShapeDtypeStruct((batch, hidden), acc),
        jax.ShapeDtypeStruct((num_saved, num_steps, batch, hidden) if num_saved else (0,), acc),
    )
    call = _call('jaxrnn_forward', out_types)
    ys, c, h, saved = call(
        xp.astype(acc),
        w,
        bhn,
        state0[0],
        state0[-1],
        _lengths(lengths, batch, num_steps),
        **_attrs(cell, cfg, batch, hidden, width // hidden, False, tiles),
    )
    final = (c, h) if len(state0) == 2 else (h,)
    return final, ys, tuple(saved[k] for k in range(num_saved))


def reverse(
    cell: Cell, cfg, rec: tuple, ys, saved, prev, lengths, cotangents, dsaved=None, tiles=None
):
    """Drop-in for ``_scan._reverse_cell`` on the native kernel: ``(dxp [t, b, G h],
    dstate0)`` from the forward's outputs and saved values, the previous states ``prev``
    (per carry component, each ``[t, b, h]``) and the cotangents ``(dfinal, dys)``; in
    trace mode also those of the saved values, ``dsaved`` (in ``cell.saved`` order; the
    GRU's ``h_n``, which the trace does not expose, gets none). ``tiles`` as
    :func:`forward`'s."""
    dfinal, dys = cotangents
    num_steps, batch, hidden = ys.shape
    width = len(cell.gates) * hidden
    if num_steps == 0 or batch == 0 or hidden == 0:
        return jnp.zeros((num_steps, batch, width), cfg.acc), tuple(dfinal)
    acc = cfg.acc
    w, _ = _weights(cell, cfg, rec)
    stacked = jnp.stack(saved) if saved else jnp.zeros((0,), acc)
    state = (jax.ShapeDtypeStruct((batch, hidden), acc),) * 2
    call = _call('jaxrnn_backward', (jax.ShapeDtypeStruct((num_steps, batch, width), acc), *state))
    dxp, dc, dh = call(
        w,
        stacked.astype(acc),
        prev[0].astype(acc),
        prev[-1].astype(acc),
        ys.astype(acc),
        dys.astype(acc),
        _lengths(lengths, batch, num_steps),
        dfinal[0].astype(acc),
        dfinal[-1].astype(acc),
        jnp.stack(dsaved).astype(acc) if dsaved else jnp.zeros((0,), acc),
        **_attrs(cell, cfg, batch, hidden, len(cell.gates), True, tiles),
    )
    return dxp, ((dc, dh) if len(dfinal) == 2 else (dh,))
