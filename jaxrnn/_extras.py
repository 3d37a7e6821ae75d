"""Optional dependencies. The core (kernels, layers, converters) needs jax, jaxlib, flax
and numpy only; the teaching views, the teaching models and the ``demo`` and ``trace``
commands also need the ``teach`` extra: ``pip install "jaxrnn[teach]"``."""

from __future__ import annotations

import importlib.util

TEACH = ('matplotlib', 'optax', 'rich')
"""The packages of the ``teach`` extra (``pyproject.toml``)."""


class MissingExtra(ImportError):
    """An optional dependency is not installed; the message says how to install it."""


def missing_teach() -> list[str]:
    """The packages of the ``teach`` extra that are not installed."""
    return [name for name in TEACH if importlib.util.find_spec(name) is None]


def require_teach(what: str = 'jaxrnn.teach') -> None:
    """Raises :class:`MissingExtra`, naming ``what`` and the missing packages, unless the
    ``teach`` extra is installed."""
    missing = missing_teach()
    if missing:
        raise MissingExtra(
            f'{what} needs {", ".join(missing)}, which the core install of jaxrnn leaves out: '
            'pip install "jaxrnn[teach]"'
        )
