"""Which implementation runs a sequence: the ``backend=`` argument.

``backend`` is a name or an options object (a small frozen dataclass; hashable, so it
is part of the jit cache key, and nothing about the choice lives in module globals):

  ``'xla'`` / :class:`XLA`     the ``lax.scan`` kernel of :mod:`jaxrnn.kernels._scan`;
                every platform, every cell, dtype and feature. ``XLA(projection=...)``
                places the input projection (``'auto'``, ``'hoisted'``, ``'in_loop'``).
  ``'cudnn'`` / :class:`CuDNN`  cuDNN's LSTM through ``jax.experimental.rnn``
                (:mod:`._cudnn`): NVIDIA GPUs, the LSTM only, float32 only (JAX binds
                nothing else).
  ``'pallas'`` / :class:`Pallas` the persistent Pallas kernel (:mod:`._pallas`): every
                cell, any float dtype; NVIDIA GPUs through Triton, the CPU in interpret
                mode (slow, for testing); hidden sizes up to ``max_hidden`` (beyond it,
                the XLA scan runs, with a warning). ``Pallas(resident_bytes=...)`` sets the
                on-chip budget for ``W_hh``.
  ``'native'`` / :class:`Native` the compiled CPU kernel (:mod:`._native`): one call runs
                the whole time loop, forward and backward, on the process's cores, with
                OpenBLAS for the recurrent matmul; the built-in cells, float32, bfloat16,
                float16 and float64. ``Native(threads=...)`` sets its thread count. Built
                by ``pip install .``; where it was not built it warns once and runs the
                XLA scan.
  ``'auto'``    the default: the XLA scan, on every platform. Measured rules only: on
                CPU the scan is the only compiled backend (Pallas runs there in interpret
                mode only, and cuDNN does not exist); the cuDNN and Pallas backends have
                not yet been measured on a GPU in this project (no GPU was lent to the
                tasks that built them), so ``'auto'`` keeps the scan until
                ``benchmarks/`` has GPU results to base a rule on; opt in with
                ``backend=``. The scan's projection placement is then decided by
                :func:`projection_mode`.

Every options object has a ``platform`` field: ``None`` (the default) means JAX's default
backend at call time; naming one (``'gpu'``) builds the program for that platform, e.g.
to lower the Triton kernel on a machine without a GPU.

Trace mode always runs the XLA scan, whatever the backend: neither cuDNN nor the Pallas
kernel exposes its gates to autodiff. Asking a backend for something it lacks (a GRU on
cuDNN, cuDNN on a CPU, bfloat16 on cuDNN, Pallas on a TPU) raises a ValueError that
names what is missing, before anything is traced.
"""

from __future__ import annotations

import dataclasses
import warnings
from typing import Union

import jax
import jax.numpy as jnp

from jaxrnn.kernels import _native, _pallas
from jaxrnn.kernels._types import Cell

BACKENDS = ('auto', 'xla', 'cudnn', 'pallas', 'native')
PROJECTIONS = ('auto', 'hoisted', 'in_loop')
BACKWARDS = ('cell', 'vjp')
PLATFORMS = ('cpu', 'gpu', 'tpu')


@dataclasses.dataclass(frozen=True)
class XLA:
    """The ``lax.scan`` backend.

    Attributes:
      projection: where ``x @ W_ih + b`` runs: ``'hoisted'`` (one matmul for all steps
        before the loop), ``'in_loop'`` (one matmul per step inside it; the backward is
        the same) or ``'auto'`` (:func:`projection_mode`'s measured rule).
      backward: ``'cell'`` (default: the cell's hand-written backward step, which
        ``benchmarks/NOTES.md`` measures faster) or ``'vjp'`` (``jax.vjp`` of the cell's
        step, the path of cells that have no hand-written backward; same gradients).
      platform: ``None`` for JAX's default backend, or ``'cpu'``/``'gpu'``/``'tpu'``.

    Examples:
      >>> import jax, jax.numpy as jnp
      >>> from jaxrnn import kernels
      >>> shapes = kernels.param_shapes(kernels.LSTM(), 3, 16)
      >>> keys = jax.random.split(jax.random.key(0), len(shapes))
      >>> params = kernels.LSTMParams(*(0.5 * jax.random.normal(k, s)
      ...                               for k, s in zip(keys, shapes.values())))
      >>> xs = jax.random.normal(jax.random.key(1), (2, 5, 3))
      >>> _, ys = kernels.lstm(params, xs)                       # backend='auto'
      >>> _, ys_hoisted = kernels.lstm(params, xs, backend=kernels.XLA(projection='hoisted'))
      >>> bool(jnp.allclose(ys, ys_hoisted, atol=1e-6))
      True
      >>> kernels.XLA(projection='hoisted') == kernels.XLA(projection='hoisted')   # a cache key
      True
    """

    projection: str = 'auto'
    backward: str = 'cell'
    platform: str | None = None


@dataclasses.dataclass(frozen=True)
class Pallas:
    """The persistent Pallas kernel.

    Attributes:
      resident_bytes: ``W_hh`` is loaded once before the time loop when its padded size
        is at most this many bytes, else re-read at every step inside the launch.
      max_hidden: the largest (padded) hidden size it runs; beyond it, the XLA scan.
      platform: as :class:`XLA`; ``'gpu'`` compiles with Triton, ``'cpu'`` interprets.

    Examples:
      >>> import jax, jax.numpy as jnp
      >>> from jaxrnn import kernels
      >>> shapes = kernels.param_shapes(kernels.LSTM(), 3, 16)
      >>> keys = jax.random.split(jax.random.key(0), len(shapes))
      >>> params = kernels.LSTMParams(*(0.5 * jax.random.normal(k, s)
      ...                               for k, s in zip(keys, shapes.values())))
      >>> xs = jax.random.normal(jax.random.key(1), (2, 5, 3))
      >>> _, ys = kernels.lstm(params, xs)                       # backend='auto'
      >>> _, ys_pallas = kernels.lstm(params, xs, backend=kernels.Pallas())   # interpreted on CPU
      >>> bool(jnp.allclose(ys, ys_pallas, atol=1e-5))
      True
    """

    resident_bytes: int = _pallas.RESIDENT_BYTES
    max_hidden: int = _pallas.MAX_HIDDEN
    platform: str | None = None


@dataclasses.dataclass(frozen=True)
class CuDNN:
    """cuDNN's LSTM through ``jax.experimental.rnn``.

    Attributes:
      platform: as :class:`XLA`; cuDNN needs ``'gpu'``.

    Examples:
      >>> import jax, jax.numpy as jnp
      >>> from jaxrnn import kernels
      >>> shapes = kernels.param_shapes(kernels.LSTM(), 3, 16)
      >>> keys = jax.random.split(jax.random.key(0), len(shapes))
      >>> params = kernels.LSTMParams(*(0.5 * jax.random.normal(k, s)
      ...                               for k, s in zip(keys, shapes.values())))
      >>> xs = jax.random.normal(jax.random.key(1), (2, 5, 3))
      >>> _, ys = kernels.lstm(params, xs)                       # backend='auto'
      >>> kernels.lstm(params, xs, backend=kernels.CuDNN())   # on a machine without a GPU
      Traceback (most recent call last):
        ...
      ValueError: backend='cudnn' needs an NVIDIA GPU; ...
    """

    platform: str | None = None


@dataclasses.dataclass(frozen=True)
class Native:
    """The native CPU kernel (:mod:`jaxrnn.kernels._native`).

    Attributes:
      threads: the most threads a call runs on (from XLA's CPU thread pool; they claim
        each step's work items from one counter). ``None`` (default): by the step's work
        (one thread below 2^20 multiply-adds per step), up to the cores this process may
        use (``os.sched_getaffinity``). Part of the jit cache key like every option.
      platform: as :class:`XLA`; the native kernel needs ``'cpu'``.

    Examples:
      >>> import jax, jax.numpy as jnp
      >>> from jaxrnn import kernels
      >>> shapes = kernels.param_shapes(kernels.LSTM(), 3, 16)
      >>> keys = jax.random.split(jax.random.key(0), len(shapes))
      >>> params = kernels.LSTMParams(*(0.5 * jax.random.normal(k, s)
      ...                               for k, s in zip(keys, shapes.values())))
      >>> xs = jax.random.normal(jax.random.key(1), (2, 5, 3))
      >>> _, ys = kernels.lstm(params, xs, backend='xla')
      >>> _, ys_native = kernels.lstm(params, xs, backend=kernels.Native(threads=1))
      >>> bool(jnp.allclose(ys, ys_native, atol=1e-6))
      True
    """

    threads: int | None = None
    platform: str | None = None


Backend = Union[str, XLA, Pallas, CuDNN, Native]
"""What ``backend=`` accepts: a name of :data:`BACKENDS` or an options object."""

_BY_NAME = {'xla': XLA, 'pallas': Pallas, 'cudnn': CuDNN, 'native': Native}


IN_LOOP_MAX_HIDDEN = {'small_batch': 128, 'batch': 512}
"""The largest hidden sizes at which the CPU rule of :func:`projection_mode` computes the
projection in the loop: at a batch below 4 (``'small_batch'``) and from 4 on."""


def projection_mode(hidden: int, platform: str, batch: int = 1) -> str:
    """The ``'auto'`` projection rule, measured on a 2-core CPU (``benchmarks/NOTES.md``,
    entry 3; ``python -m benchmarks.experiments.projection_grid``, committed as
    ``benchmarks/results/cpu-projection.json``: LSTM and GRU, forward and training,
    T 128, batch 1 to 64, hidden 64 to 1024)::

      platform  batch    hidden       projection   measured in-loop / hoisted
      cpu       < 4      <= 128       in the loop  0.67-1.11 (a tie at 128)
      cpu       < 4      > 128        hoisted      0.98-2.37 (hoisted won 11 of 12)
      cpu       >= 4     <= 512       in the loop  0.47-1.11 (train at h 128: ties)
      cpu       >= 4     > 512        hoisted      1.08-1.28 (batch 16, hidden 1024)
      gpu, tpu  any      any          hoisted

    In the loop, the two independent per-step matmuls (``x_t @ W_ih``, ``h @ W_hh``) run
    on both cores and the ``[t, b, G h]`` pre-activations are never written out; at
    batch 1 and large hidden sizes one big matmul before the loop wins instead.

    Args:
      hidden: the hidden size ``h``.
      platform: ``'cpu'``, ``'gpu'`` or ``'tpu'``.
      batch: the number of sequences (every batch axis together).

    Returns:
      ``'in_loop'`` or ``'hoisted'``.
    """
    if platform != 'cpu':
        return 'hoisted'
    limit = IN_LOOP_MAX_HIDDEN['small_batch' if batch < 4 else 'batch']
    return 'in_loop' if hidden <= limit else 'hoisted'


def options(backend: Backend) -> XLA | Pallas | CuDNN | Native | None:
    """The options object of ``backend`` (``None`` for ``'auto'``), checked."""
    if isinstance(backend, (XLA, Pallas, CuDNN, Native)):
        platform = backend.platform
        if platform is not None and platform not in PLATFORMS:
            raise ValueError(f'backend platform must be one of {PLATFORMS}, got {platform!r}.')
        if isinstance(backend, XLA) and backend.projection not in PROJECTIONS:
            raise ValueError(
                f'XLA projection must be one of {PROJECTIONS}, got {backend.projection!r}.'
            )
        if isinstance(backend, XLA) and backend.backward not in BACKWARDS:
            raise ValueError(f'XLA backward must be one of {BACKWARDS}, got {backend.backward!r}.')
        if isinstance(backend, Pallas):
            for field in ('resident_bytes', 'max_hidden'):
                value = getattr(backend, field)
                if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                    raise ValueError(f'Pallas {field} must be an int >= 0, got {value!r}.')
        if isinstance(backend, Native) and backend.threads is not None:
            value = backend.threads
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f'Native threads must be None or an int >= 1, got {value!r}.')
        return backend
    if not isinstance(backend, str) or backend not in BACKENDS:
        raise ValueError(
            f'backend must be one of {BACKENDS} or a jaxrnn.kernels backend options object '
            f'(XLA, Pallas, CuDNN, Native), got {backend!r}.'
        )
    return None if backend == 'auto' else _BY_NAME[backend]()


def resolve(
    backend: Backend, cell: Cell, cdt, hidden: int, precision=None, batch: int = 1
) -> XLA | Pallas | CuDNN | Native:
    """The backend that runs, with every ``'auto'`` field decided (platform and
    projection, the latter from ``hidden`` and ``batch``), or a ValueError naming what the
    requested one lacks."""
    opts = options(backend)
    platform = (opts.platform if opts is not None else None) or jax.default_backend()
    if opts is None and auto_native(cell, cdt, hidden, platform):
        opts = Native()
    opts = dataclasses.replace(opts or XLA(), platform=platform)  # 'auto': see above
    if isinstance(opts, CuDNN):
        _check_cudnn(cell, cdt, precision, platform)
    if isinstance(opts, Pallas):
        _pallas.compile_params(platform)  # raises where there is no kernel (TPU)
        if not _pallas.covers(hidden, opts.max_hidden):
            warnings.warn(
                f"backend='pallas' covers hidden sizes up to {opts.max_hidden}; "
                f'hidden={hidden} runs the XLA scan.',
                stacklevel=4,
            )
            opts = XLA(platform=platform)
    if isinstance(opts, Native):
        _check_native(cell, cdt, platform)
        error = _native.load_error()
        if error is not None:
            _warn_once(f"backend='native' is not available ({error}); running the XLA scan.")
            opts = XLA(platform=platform)
    if isinstance(opts, XLA) and opts.projection == 'auto':
        opts = dataclasses.replace(opts, projection=projection_mode(hidden, platform, batch))
    return opts


AUTO_NATIVE_MAX_HIDDEN = 256
"""The largest hidden size at which ``'auto'`` picks the native kernel on a CPU."""


def auto_native(cell: Cell, cdt, hidden: int, platform: str) -> bool:
    """Whether ``'auto'`` runs the native kernel: on a CPU, for a built-in cell in
    float32, up to hidden :data:`AUTO_NATIVE_MAX_HIDDEN`, when the library is loaded.

    Measured on a 2-core CPU (``benchmarks/NOTES.md``, entry 11; the committed
    ``benchmarks/results/cpu-quick`` and ``cpu-deepbench``, whose ``jaxrnn backend=native``
    and ``jaxrnn backend=xla`` rows time both at every size), native time over the XLA
    scan's::

      sizes                                  forward     training
      hidden 64-256, T 32-256 (quick)        0.57-0.89   0.76-0.98
      batch 32, T 150, hidden 256            1.30        0.94
      LSTM hidden 512-1024, T 25, batch 16+  0.84-0.98   0.91-0.95
      LSTM hidden 512, T 25, batch 1 and 4   1.04-1.14
      GRU hidden 512, T 1 (a single step)    1.55-2.02   2.09

    The rule keeps the scan above hidden 256 (one run there; and a single step costs the
    native kernel a pass over ``W_hh`` to pack it). Other dtypes were not measured.
    """
    return (
        platform == 'cpu'
        and hidden <= AUTO_NATIVE_MAX_HIDDEN
        and jnp.dtype(cdt) == jnp.float32
        and _native.supports(cell)
        and _native.available()
    )


_WARNED: set[str] = set()


def _warn_once(message: str) -> None:
    """Warns with ``message`` the first time only (a missing native library would
    otherwise warn at every trace)."""
    if message not in _WARNED:
        _WARNED.add(message)
        warnings.warn(message, stacklevel=5)


def _check_native(cell: Cell, cdt, platform: str) -> None:
    if platform != 'cpu':
        raise ValueError(
            f"backend='native' runs on the CPU; JAX's default platform is {platform!r}. "
            "Use backend='xla' (or 'auto'), or Native(platform='cpu') for CPU arrays."
        )
    if not _native.supports(cell):
        raise ValueError(
            f"backend='native' runs jaxrnn's built-in cells (LSTM, GRU, Simple), got "
            f"{type(cell).__name__}; use backend='xla'."
        )
    if jnp.dtype(cdt) not in _native.COMPUTE_DTYPES:
        raise ValueError(
            f"backend='native' computes in float32, float64, bfloat16 or float16; the "
            f"computation dtype is {jnp.dtype(cdt)}. Use backend='xla'."
        )


def _check_cudnn(cell: Cell, cdt, precision, platform: str) -> None:
    if not cell.cudnn:
        raise ValueError(
            f"backend='cudnn' runs the LSTM only (jax.experimental.rnn binds no "
            f'{cell.title}, jax-ml/jax#18867); '
            "use backend='xla' or 'pallas'."
        )
    if platform != 'gpu':
        raise ValueError(
            f"backend='cudnn' needs an NVIDIA GPU; JAX's default platform is {platform!r}. "
            "Use backend='xla' (or 'auto')."
        )
    if jnp.dtype(cdt) != jnp.float32:
        raise ValueError(
            f"backend='cudnn' computes in float32 only (jax.experimental.rnn); the "
            f"computation dtype is {jnp.dtype(cdt)}. Use backend='pallas' or 'xla'."
        )
    if precision is not None:
        try:
            level = jax.lax.Precision(precision)
        except (TypeError, ValueError):
            level = None
        if level not in (jax.lax.Precision.HIGH, jax.lax.Precision.HIGHEST):
            raise ValueError(
                "backend='cudnn' takes precision None, HIGH (TF32 allowed) or HIGHEST "
                f'(full float32) for the whole LSTM, got {precision!r}.'
            )
