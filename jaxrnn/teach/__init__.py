"""Teaching views over a trace: see every gate of every step, explained.

* :func:`narrate`: the class role-play (one role per gate, announcing at every step)
  with the real numbers of a trace.
* Figures (matplotlib): :func:`gate_heatmaps`, :func:`highway`, :func:`saturation`,
  :func:`compare`, :func:`overview`.
* Terminal (rich): :func:`coloured_tokens`, :func:`step_table`, :func:`show`.
* :func:`write_report`: one self-contained HTML file with all of it.
* The teaching models: :func:`train`, :func:`shipped`, :func:`load` (a word-level
  language model over one jaxrnn LSTM or GRU layer, trained on a corpus that ships with
  jaxrnn).

Get a trace from any jaxrnn layer with ``trace=True``::

  y, trace = jaxrnn.linen.RNN(jaxrnn.linen.LSTMCell(32)).apply(variables, x, trace=True)
  print(jaxrnn.teach.narrate(trace, tokens))

Examples:
  The shipped teaching models, one per cell of :data:`CELLS`:

  >>> from jaxrnn import teach
  >>> teach.CELLS
  ('lstm', 'gru')
  >>> tokens, trace, next_words = teach.shipped('lstm').trace('I love myself')
  >>> tokens, type(trace).__name__
  (['i', 'love', 'myself'], 'LSTMTrace')
"""

from jaxrnn import _extras

_extras.require_teach()  # one clear ImportError naming the extra, before a view imports matplotlib

from jaxrnn.teach._figures import compare as compare
from jaxrnn.teach._figures import gate_heatmaps as gate_heatmaps
from jaxrnn.teach._figures import highway as highway
from jaxrnn.teach._figures import overview as overview
from jaxrnn.teach._figures import saturation as saturation
from jaxrnn.teach._figures import saturation_fractions as saturation_fractions
from jaxrnn.teach._html import report_html as report_html
from jaxrnn.teach._html import write_report as write_report
from jaxrnn.teach._model import CELLS as CELLS
from jaxrnn.teach._model import LanguageModel as LanguageModel
from jaxrnn.teach._model import TeachError as TeachError
from jaxrnn.teach._model import Trained as Trained
from jaxrnn.teach._model import corpus as corpus
from jaxrnn.teach._model import load as load
from jaxrnn.teach._model import shipped as shipped
from jaxrnn.teach._model import tokenize as tokenize
from jaxrnn.teach._model import train as train
from jaxrnn.teach._narrate import Narration as Narration
from jaxrnn.teach._narrate import narrate as narrate
from jaxrnn.teach._terminal import coloured_tokens as coloured_tokens
from jaxrnn.teach._terminal import show as show
from jaxrnn.teach._terminal import step_table as step_table
