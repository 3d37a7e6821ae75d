"""Flax Linen layers over the jaxrnn kernels: switch ``flax.linen`` for
``jaxrnn.linen`` in ``RNN(LSTMCell(h))`` and get the same numbers from the fused kernel.

The cells have the names, attributes and call signatures of Flax's and the same
parameter paths down to each cell, where the gate weights are fused; ``RNN`` and
``Bidirectional`` take Flax's arguments; ``LSTM``, ``GRU`` and ``SimpleRNN`` are stacks
in the manner of ``torch.nn.LSTM``. ``jaxrnn.nnx`` has the same classes for Flax NNX.
The guide "Switching from Flax" lists what is the same as Flax and what differs,
argument by argument.

Examples:
  A tagger, as it would be written with ``flax.linen``:

  >>> import jax, jax.numpy as jnp
  >>> import flax.linen as nn
  >>> import jaxrnn.linen as jl
  >>> class Tagger(nn.Module):
  ...     @nn.compact
  ...     def __call__(self, x, lengths):
  ...         y = jl.Bidirectional(jl.RNN(jl.GRUCell(8)), jl.RNN(jl.GRUCell(8)))(
  ...             x, seq_lengths=lengths)
  ...         return nn.Dense(5)(y)
  >>> x = jnp.ones((2, 5, 3))                                    # [b, t, i]
  >>> lengths = jnp.array([5, 2])
  >>> variables = Tagger().init(jax.random.key(0), x, lengths)
  >>> list(variables['params'])                 # the names flax.linen gives them
  ['GRUCell_0', 'GRUCell_1', 'Dense_0']
  >>> Tagger().apply(variables, x, lengths).shape
  (2, 5, 5)
"""

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
