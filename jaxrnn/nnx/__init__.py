"""Flax NNX layers over the jaxrnn kernels: switch ``flax.nnx`` for ``jaxrnn.nnx`` in
``RNN(LSTMCell(in, h, rngs=...))`` and get the same numbers from the fused kernel."""

from jaxrnn.nnx._cells import FusedCell as FusedCell
from jaxrnn.nnx._cells import GRUCell as GRUCell
from jaxrnn.nnx._cells import LSTMCell as LSTMCell
from jaxrnn.nnx._cells import OptimizedLSTMCell as OptimizedLSTMCell
from jaxrnn.nnx._cells import SimpleCell as SimpleCell
from jaxrnn.nnx._rnn import RNN as RNN
from jaxrnn.nnx._rnn import Bidirectional as Bidirectional
from jaxrnn.nnx._stack import GRU as GRU
from jaxrnn.nnx._stack import LSTM as LSTM
from jaxrnn.nnx._stack import SimpleRNN as SimpleRNN
from jaxrnn.nnx._stack import Stack as Stack
