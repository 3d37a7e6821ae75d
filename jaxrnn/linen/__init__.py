"""Flax Linen layers over the jaxrnn kernels: switch ``flax.linen`` for
``jaxrnn.linen`` in ``RNN(LSTMCell(h))`` and get the same numbers from the fused kernel."""

from jaxrnn.linen._cells import FusedCell as FusedCell
from jaxrnn.linen._cells import GRUCell as GRUCell
from jaxrnn.linen._cells import LSTMCell as LSTMCell
from jaxrnn.linen._cells import OptimizedLSTMCell as OptimizedLSTMCell
from jaxrnn.linen._cells import SimpleCell as SimpleCell
from jaxrnn.linen._rnn import RNN as RNN
from jaxrnn.linen._rnn import Bidirectional as Bidirectional
from jaxrnn.linen._stack import GRU as GRU
from jaxrnn.linen._stack import LSTM as LSTM
from jaxrnn.linen._stack import SimpleRNN as SimpleRNN
from jaxrnn.linen._stack import Stack as Stack
