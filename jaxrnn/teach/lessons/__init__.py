"""The lessons: small, honest experiments that measure what the video lesson claims.

Each lesson trains real models with jaxrnn's kernels and optax (or opens the weights that
ship with jaxrnn, trained by the same code), prints a table of what it measured, and
writes a self-contained HTML page, its figures and ``results.json`` (every number, the
settings, the seeds and the versions):

* ``memory``: the telephone game, measured: a vanilla RNN, a GRU and an LSTM of one
  parameter budget recall a token ``T`` steps back; the gradient that reaches each step;
  the keeping gates on the units that hold the token (:mod:`~jaxrnn.teach.lessons.memory`).
* ``sentiment``: long generated reviews classified by an LSTM and a GRU; follow a word
  (how much of what it wrote is still in memory at every later step) and each word's
  influence on the verdict (:mod:`~jaxrnn.teach.lessons.sentiment`).
* ``music``: melodies in a key; do the gated models keep the key over many notes, and
  which units hold it (:mod:`~jaxrnn.teach.lessons.music`).
* ``units``: a unit finder: the units of a trained word model with a readable job, each
  shown as coloured text (:mod:`~jaxrnn.teach.lessons.units`).
* ``lstm-vs-gru``: the video's comparison table, filled with this machine's measurements
  (:mod:`~jaxrnn.teach.lessons.compare`).

Every lesson has three sizes: ``'tiny'`` (seconds; the tests run it), ``'quick'`` (under
two minutes of training on a 2-core CPU; its results are committed in ``docs/lessons/``)
and ``'full'``. ``jaxrnn lesson NAME [--quick|--tiny] [--train] [--out DIR]`` runs one.

Examples:
  The ``memory`` lesson from the weights that ship with jaxrnn (no training):

  >>> from jaxrnn.teach import lessons
  >>> lesson = lessons.run('memory', size='quick')  # doctest: +SKIP
  >>> print(lesson.text())  # doctest: +SKIP

  >>> lessons.NAMES
  ('memory', 'sentiment', 'music', 'units', 'lstm-vs-gru')
"""

import importlib as _importlib
import time as _time
from typing import Callable as _Callable

from jaxrnn.teach._model import TeachError as _TeachError
from jaxrnn.teach.lessons import _common
from jaxrnn.teach.lessons._common import Claim as Claim
from jaxrnn.teach.lessons._common import Lesson as Lesson

NAMES: tuple[str, ...] = ('memory', 'sentiment', 'music', 'units', 'lstm-vs-gru')
"""The lessons, in the order of a class (``jaxrnn lesson NAME``)."""

SIZES: tuple[str, ...] = _common.SIZES
"""The sizes of every lesson: ``'tiny'`` (seconds; decides no claim), ``'quick'`` (under
two minutes of training on a 2-core CPU) and ``'full'``."""
_MODULES = {'lstm-vs-gru': 'compare'}


def run(
    name: str,
    size: str = 'full',
    *,
    train: bool = False,
    progress: _Callable[[str], None] | None = None,
) -> Lesson:
    """Runs the lesson ``name`` at ``size``.

    Args:
      name: one of :data:`NAMES`.
      size: ``'tiny'``, ``'quick'`` or ``'full'`` (default).
      train: train every model again; otherwise the lesson opens the weights that ship
        with jaxrnn for this size (and trains when none ship).
      progress: called with one line per step of the work (each model trained).

    Returns:
      The :class:`Lesson`: write it with :meth:`Lesson.write`, print :meth:`Lesson.text`.

    Raises:
      TeachError: an unknown lesson or size.
    """
    if name not in NAMES:
        raise _TeachError(f'unknown lesson {name!r}; choose one of {", ".join(NAMES)}.')
    if size not in SIZES:
        raise _TeachError(f'size must be one of {", ".join(SIZES)}, got {size!r}.')
    module = _importlib.import_module(f'jaxrnn.teach.lessons.{_MODULES.get(name, name)}')
    start = _time.perf_counter()
    lesson = module.run(size, train=train, progress=progress)
    lesson.seconds = _time.perf_counter() - start
    return lesson
