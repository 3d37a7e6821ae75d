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

from jaxrnn.kernels import _pallas
from jaxrnn.kernels._types import Cell

BACKENDS = ('auto', 'xla', 'cudnn', 'pallas')
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


Backend = Union[str, XLA, Pallas, CuDNN]
"""What ``backend=`` accepts: a name of :data:`BACKENDS` or an options object."""

_BY_NAME = {'xla': XLA, 'pallas': Pallas, 'cudnn': CuDNN}


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


def options(backend: Backend) -> XLA | Pallas | CuDNN | None:
    """The options object of ``backend`` (``None`` for ``'auto'``), checked."""
    if isinstance(backend, (XLA, Pallas, CuDNN)):
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
        return backend
    if not isinstance(backend, str) or backend not in BACKENDS:
        raise ValueError(
            f'backend must be one of {BACKENDS} or a jaxrnn.kernels backend options object '
            f'(XLA, Pallas, CuDNN), got {backend!r}.'
        )
    return None if backend == 'auto' else _BY_NAME[backend]()


def resolve(
    backend: Backend, cell: Cell, cdt, hidden: int, precision=None, batch: int = 1
) -> XLA | Pallas | CuDNN:
    """The backend that runs, with every ``'auto'`` field decided (platform and
    projection, the latter from ``hidden`` and ``batch``), or a ValueError naming what the
    requested one lacks."""
    opts = options(backend)
    platform = (opts.platform if opts is not None else None) or jax.default_backend()
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
    if isinstance(opts, XLA) and opts.projection == 'auto':
        opts = dataclasses.replace(opts, projection=projection_mode(hidden, platform, batch))
    return opts


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
