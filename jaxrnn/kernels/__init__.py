"""Pure fused-gate recurrent kernels: no Flax, no state, no RNG.

Public API::

  lstm(params, xs, carry=None, *, seq_lengths, reverse, time_major, unroll, dtype,
       precision, trace, backend, checkpoint_every) -> ((c, h), ys)
  gru(params, xs, carry=None, *, ..., reset_after=True) -> (h, ys)
  simple_rnn(params, xs, carry=None, *, ..., activation='tanh') -> (h, ys)
  lstm_step / gru_step / simple_step(params, carry, x) -> (carry, y)
  run_sequence(cell, params, xs, carry=None, ...) / run_step(cell, params, carry, x):
       the same for any Cell, e.g. one written in a file of its own

Cells (:class:`Cell`, the protocol every backend runs): ``LSTM``, ``GRU(reset_after)``,
``Simple(activation)``; ``CELL_TYPES`` maps each cell's ``name`` to its class, whose
class attributes (``gates``, ``carry``, ``params_type``, ``trace_type``, ``title``) are
the one description of that cell that converters, views and benchmarks read.

With ``trace=True`` the sequence kernels also return every gate at every step
(``LSTMTrace``, ``GRUTrace``, ``SimpleTrace``), last in the tuple. ``backend`` picks the
implementation (``'auto'``, ``'xla'``, ``'cudnn'``, ``'pallas'``, ``'native'``, or the
options objects ``XLA``, ``Pallas``, ``CuDNN``, ``Native``; see ``_backend``).

Examples:
  ``CELL_TYPES`` maps each name to its class:

  >>> from jaxrnn import kernels
  >>> {name: cls.title for name, cls in kernels.CELL_TYPES.items()}
  {'lstm': 'LSTM', 'gru': 'GRU', 'simple': 'simple RNN'}
"""

from jaxrnn.kernels._api import run_sequence as run_sequence
from jaxrnn.kernels._api import run_step as run_step
from jaxrnn.kernels._backend import XLA as XLA
from jaxrnn.kernels._backend import CuDNN as CuDNN
from jaxrnn.kernels._backend import Native as Native
from jaxrnn.kernels._backend import Pallas as Pallas
from jaxrnn.kernels._native import load_error as native_error  # noqa: F401 (public)
from jaxrnn.kernels._types import Cell as Cell
from jaxrnn.kernels._types import GRUParams as GRUParams
from jaxrnn.kernels._types import GRUTrace as GRUTrace
from jaxrnn.kernels._types import LSTMParams as LSTMParams
from jaxrnn.kernels._types import LSTMTrace as LSTMTrace
from jaxrnn.kernels._types import SimpleParams as SimpleParams
from jaxrnn.kernels._types import SimpleTrace as SimpleTrace
from jaxrnn.kernels._types import Step as Step
from jaxrnn.kernels._types import param_shapes as param_shapes
from jaxrnn.kernels.gru import GRU as GRU
from jaxrnn.kernels.gru import gru as gru
from jaxrnn.kernels.gru import gru_step as gru_step
from jaxrnn.kernels.lstm import LSTM as LSTM
from jaxrnn.kernels.lstm import lstm as lstm
from jaxrnn.kernels.lstm import lstm_step as lstm_step
from jaxrnn.kernels.simple import Simple as Simple
from jaxrnn.kernels.simple import simple_rnn as simple_rnn
from jaxrnn.kernels.simple import simple_step as simple_step

CELL_TYPES: dict[str, type[Cell]] = {cls.name: cls for cls in (LSTM, GRU, Simple)}
"""Every built-in cell class by its ``name`` (``'lstm'``, ``'gru'``, ``'simple'``)."""
