"""Teaching views over a trace: every gate of every step, shown and explained.

Any jaxrnn LSTM or GRU layer or kernel called with ``trace=True`` returns its trace
(an ``LSTMTrace`` with fields ``i, f, g, o, c, h`` or a ``GRUTrace`` with ``r, z, n, h``,
each ``[b, t, h]``); these views read it, with the ``t`` tokens the layer read:

* :func:`narrate`: the class role-play (one role per gate, each announcing its value
  at every step), followed through one spotlight unit whose arithmetic a learner can
  check by hand, with the class handout translated; a :class:`Narration`.
* Figures (matplotlib :class:`~matplotlib.figure.Figure`): :func:`gate_heatmaps`,
  :func:`highway`, :func:`saturation` (and its numbers, :func:`saturation_fractions`),
  :func:`compare`, :func:`overview`.
* Terminal (rich): :func:`coloured_tokens`, :func:`step_table`, :func:`show`.
* HTML: :func:`write_report` (and :func:`report_html`), one self-contained,
  interactive file: controls for the field, unit and step, a cell diagram with the
  step's numbers, the narration, a heatmap that explains itself on hover, and captioned
  figures.
* The teaching models: :func:`shipped`, :func:`train`, :func:`load` give a
  :class:`Trained` word-level language model (a :class:`LanguageModel`: embedding, one
  jaxrnn LSTM or GRU layer, next-word readout) over the :func:`corpus` that ships with
  jaxrnn, split into words by :func:`tokenize`; user mistakes raise :class:`TeachError`.
* The lessons, :mod:`jaxrnn.teach.lessons`: experiments that train real models and
  measure what the video lesson claims (``memory``, ``sentiment``, ``music``, ``units``,
  ``lstm-vs-gru``), each with a table, figures, a page and ``results.json``.

Needs the ``teach`` extra (``pip install "jaxrnn[teach]"``: matplotlib, rich, optax);
without it, importing this module raises an ``ImportError`` that names the extra.

Examples:
  A trace of any layer, here an untrained LSTM over random inputs (its tokens made up):

  >>> import jax
  >>> import jaxrnn
  >>> from jaxrnn import teach
  >>> layer = jaxrnn.linen.RNN(jaxrnn.linen.LSTMCell(4))
  >>> x = jax.random.normal(jax.random.key(0), (2, 5, 3))
  >>> variables = layer.init(jax.random.key(1), x)
  >>> y, trace = layer.apply(variables, x, trace=True)
  >>> narration = teach.narrate(trace, ['the', 'cat', 'sat', 'down', '.'], batch=1)
  >>> print(narration.text().splitlines()[0])
  LSTM reads "the cat sat down .", followed through unit ... of 4: its c changed the most ...
  >>> type(teach.gate_heatmaps(trace, ['the', 'cat', 'sat', 'down', '.'])).__name__
  'Figure'

  A teaching model that ships with jaxrnn reading a sentence of its vocabulary:

  >>> tokens, trace, next_words = teach.shipped('gru').trace('I love myself')
  >>> tokens, len(next_words)
  (['i', 'love', 'myself'], 3)
"""

from jaxrnn import _extras

_extras.require_teach()  # one clear ImportError naming the extra, before a view imports matplotlib

from jaxrnn.teach import _model, _narrate, _values
from jaxrnn.teach._figures import compare as compare
from jaxrnn.teach._figures import gate_heatmaps as gate_heatmaps
from jaxrnn.teach._figures import highway as highway
from jaxrnn.teach._figures import overview as overview
from jaxrnn.teach._figures import saturation as saturation
from jaxrnn.teach._figures import saturation_fractions as saturation_fractions
from jaxrnn.teach._html import report_html as report_html
from jaxrnn.teach._html import write_report as write_report
from jaxrnn.teach._model import LanguageModel as LanguageModel
from jaxrnn.teach._model import TeachError as TeachError
from jaxrnn.teach._model import Trained as Trained
from jaxrnn.teach._model import corpus as corpus
from jaxrnn.teach._model import load as load
from jaxrnn.teach._model import shipped as shipped
from jaxrnn.teach._model import step_times as step_times
from jaxrnn.teach._model import tokenize as tokenize
from jaxrnn.teach._model import train as train
from jaxrnn.teach._narrate import Narration as Narration
from jaxrnn.teach._narrate import narrate as narrate
from jaxrnn.teach._terminal import coloured_tokens as coloured_tokens
from jaxrnn.teach._terminal import show as show
from jaxrnn.teach._terminal import step_table as step_table

SPOTLIGHTS: tuple[str, ...] = _values.SPOTLIGHTS
"""How :func:`narrate` chooses its spotlight unit when none is given: ``'change'``
(the unit whose memory moved the most in one step, the default) or ``'erase'`` (the unit
whose keeping gate erased the most memory in one step)."""

COMPACT_AFTER: int = _narrate.COMPACT_AFTER
"""A narration of more steps than this (12) is compact by default: a table of the
spotlight unit's numbers at every step, then the three steps where its memory moved the
most, narrated in full (``narrate(compact=...)`` overrides it)."""

CELLS: tuple[str, ...] = _model.CELLS
"""The cells of the teaching models, ``('lstm', 'gru')``.

The values of the ``cell`` argument of :func:`train` and :func:`shipped` and of
:class:`LanguageModel`, and the ``--cell`` choices of ``jaxrnn trace``.
"""
