"""Flax NNX layers over the jaxrnn kernels: switch ``flax.nnx`` for ``jaxrnn.nnx`` in
``RNN(LSTMCell(in, h, rngs=...))`` and get the same numbers from the fused kernel.

The classes of ``jaxrnn.linen`` as NNX modules, with the constructor arguments of
``flax.nnx``'s (sizes first, ``rngs``) and the same parameters, held as ``nnx.Param``
attributes. The guide "Switching from Flax" lists what is the same as Flax and what
differs, argument by argument.

Examples:
  A classifier reading the last valid step of each sequence, trained with ``optax``:

  >>> import jax, jax.numpy as jnp
  >>> import optax
  >>> from flax import nnx
  >>> import jaxrnn.nnx as jn
  >>> class Classifier(nnx.Module):
  ...     def __init__(self, rngs):
  ...         self.rnn = jn.RNN(jn.LSTMCell(3, 8, rngs=rngs), return_carry=True)
  ...         self.head = nnx.Linear(8, 2, rngs=rngs)
  ...     def __call__(self, x, lengths):
  ...         (c, h), _ = self.rnn(x, seq_lengths=lengths)    # h: each last valid step
  ...         return self.head(h)
  >>> model = Classifier(nnx.Rngs(0))
  >>> optimizer = nnx.Optimizer(model, optax.adam(1e-2), wrt=nnx.Param)
  >>> x, lengths, labels = jnp.ones((2, 5, 3)), jnp.array([5, 2]), jnp.array([0, 1])
  >>> @nnx.jit
  ... def train_step(model, optimizer):
  ...     def loss_fn(model):
  ...         logits = model(x, lengths)
  ...         return optax.softmax_cross_entropy_with_integer_labels(logits, labels).mean()
  ...     loss, grads = nnx.value_and_grad(loss_fn)(model)
  ...     optimizer.update(model, grads)
  ...     return loss
  >>> first = train_step(model, optimizer)
  >>> bool(train_step(model, optimizer) < first)
  True
"""

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
