"""Pure fused-gate recurrent kernels: no Flax, no state, no RNG.

Public API::

  lstm(params, xs, carry=None, *, seq_lengths, reverse, time_major, unroll, dtype,
       precision, trace, backend) -> ((c, h), ys)
  gru(params, xs, carry=None, *, ..., reset_after=True) -> (h, ys)
  simple_rnn(params, xs, carry=None, *, ..., activation='tanh') -> (h, ys)
  lstm_step / gru_step / simple_step(params, carry, x) -> (carry, y)

With ``trace=True`` the sequence kernels also return every gate at every step
(``LSTMTrace``, ``GRUTrace``, ``SimpleTrace``), last in the tuple. ``backend`` picks the
implementation (``'auto'``, ``'xla'``, ``'cudnn'``, ``'pallas'``; see ``_backend``).
"""

from jaxrnn.kernels._types import GRUParams as GRUParams
from jaxrnn.kernels._types import GRUTrace as GRUTrace
from jaxrnn.kernels._types import LSTMParams as LSTMParams
from jaxrnn.kernels._types import LSTMTrace as LSTMTrace
from jaxrnn.kernels._types import SimpleParams as SimpleParams
from jaxrnn.kernels._types import SimpleTrace as SimpleTrace
from jaxrnn.kernels.gru import gru as gru
from jaxrnn.kernels.gru import gru_step as gru_step
from jaxrnn.kernels.lstm import lstm as lstm
from jaxrnn.kernels.lstm import lstm_step as lstm_step
from jaxrnn.kernels.simple import simple_rnn as simple_rnn
from jaxrnn.kernels.simple import simple_step as simple_step
