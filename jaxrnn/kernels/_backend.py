"""Which implementation runs a sequence: the ``backend=`` argument.

Backends:

  ``'xla'``     the ``lax.scan`` kernel of :mod:`jaxrnn.kernels._scan`; every platform,
                every cell, dtype and feature.
  ``'cudnn'``   cuDNN's LSTM through ``jax.experimental.rnn`` (:mod:`._cudnn`): NVIDIA
                GPUs, the LSTM only, float32 only (JAX binds nothing else).
  ``'pallas'``  the persistent Pallas kernel (:mod:`._pallas`): LSTM, GRU (both forms)
                and the simple RNN, any float dtype; NVIDIA GPUs through Triton, the CPU in
                interpret mode (slow, for testing); hidden sizes up to
                ``_pallas.MAX_HIDDEN`` (beyond it, the XLA scan runs, with a warning).
  ``'auto'``    the default: :func:`auto`'s rule.

Trace mode always runs the XLA scan, whatever the backend: neither cuDNN nor the Pallas
kernel exposes its gates to autodiff. Asking a backend for something it lacks (a GRU on
cuDNN, cuDNN on a CPU, bfloat16 on cuDNN, Pallas on a TPU) raises a ValueError that
names what is missing, before anything is traced.
"""

from __future__ import annotations

import warnings

import jax
import jax.numpy as jnp

from jaxrnn.kernels import _pallas

BACKENDS = ('auto', 'xla', 'cudnn', 'pallas')


def auto(cell, cdt, hidden: int, platform: str) -> str:
    """The ``'auto'`` rule: which backend runs by default.

    Measured rules only. On CPU the XLA scan is the only compiled backend (Pallas runs
    there in interpret mode only, and cuDNN does not exist). The cuDNN and Pallas
    backends have not yet been measured on a GPU in this project (no GPU was lent to
    the task that built them), so ``'auto'`` keeps the XLA scan on every platform until
    ``benchmarks/`` has GPU results to base a rule on; opt in with ``backend=``.
    """
    del cell, cdt, hidden, platform
    return 'xla'


def default_platform() -> str:
    """JAX's default platform: ``'cpu'``, ``'gpu'`` or ``'tpu'``."""
    return jax.default_backend()


def _check_name(backend) -> None:
    if not isinstance(backend, str) or backend not in BACKENDS:
        raise ValueError(f'backend must be one of {BACKENDS}, got {backend!r}.')


def resolve(backend, cell, cdt, hidden: int, precision=None, platform: str | None = None) -> str:
    """The backend that runs, or a ValueError naming what the requested one lacks."""
    _check_name(backend)
    platform = platform or default_platform()
    if backend == 'auto':
        return auto(cell, cdt, hidden, platform)
    if backend == 'cudnn':
        _check_cudnn(cell, cdt, precision, platform)
    if backend == 'pallas':
        _pallas.compile_params(platform)  # raises where there is no kernel (TPU)
        if not _pallas.covers(hidden):
            warnings.warn(
                f"backend='pallas' covers hidden sizes up to {_pallas.MAX_HIDDEN}; "
                f'hidden={hidden} runs the XLA scan.',
                stacklevel=4,
            )
            return 'xla'
    return backend


def _check_cudnn(cell, cdt, precision, platform: str) -> None:
    name = type(cell).__name__
    if name != 'LSTM':
        raise ValueError(
            f"backend='cudnn' runs the LSTM only (jax.experimental.rnn binds no "
            f'{"GRU" if name == "GRU" else "simple RNN"}, jax-ml/jax#18867); '
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
