"""jaxrnn: fast fused-gate LSTM, GRU and simple-RNN kernels for JAX, with drop-in Flax
Linen and NNX layers.

* ``jaxrnn.kernels``: pure functions (``lstm``, ``gru``, ``simple_rnn`` and single
  steps) over parameter NamedTuples.
* ``jaxrnn.linen`` / ``jaxrnn.nnx``: cells, ``RNN`` and ``Bidirectional`` with Flax's
  signatures.
"""

from jaxrnn import kernels as kernels
from jaxrnn.kernels import GRUParams as GRUParams
from jaxrnn.kernels import LSTMParams as LSTMParams
from jaxrnn.kernels import SimpleParams as SimpleParams

__version__ = '0.1.0'
