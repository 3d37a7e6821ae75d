"""Weight converters between jaxrnn's fused layout and every common source.

jaxrnn keeps one cell's parameters fused, gate blocks side by side along the last axis:
``input_kernel [i, G*h]``, ``recurrent_kernel [h, G*h]``, ``bias [G*h]`` and, for the
GRU, ``recurrent_bias [h]`` (``b_hn``); gate order (i, f, g, o) for the LSTM, (r, z, n)
for the GRU. A stack (``jaxrnn.linen.LSTM``, ``GRU``, ``SimpleRNN`` and their NNX
twins) holds ``{'layer_k': {'forward': cell, 'backward': cell}}``.

.. list-table::
   :header-rows: 1

   * - source
     - to jaxrnn
     - from jaxrnn
   * - PyTorch ``nn.LSTM`` / ``GRU`` / ``RNN``
     - :func:`from_torch` (a stack)
     - :func:`to_torch` (weights or gradients)
   * - Flax Linen / NNX cells
     - :func:`from_flax` (a cell or a whole model)
     - :func:`to_flax`
   * - ``jax.experimental.rnn`` (cuDNN)
     - :func:`from_jax_rnn` (an LSTM stack)
     - :func:`to_jax_rnn`
   * - Keras weight lists
     - :func:`from_keras` (a cell; one stack layer for ``Bidirectional``)
     - :func:`to_keras` (weights or gradients)

Every converter returns NumPy arrays with the source's dtype (or writes into the torch
or NNX module it is given), checks every shape (nothing is cast; a mismatch names the
parameter) and is exact: the values are copies, transposes, concatenations or
reorderings, except where a source keeps two biases that are added to the same sum
(PyTorch, cuDNN, Keras GRU), which jaxrnn merges into one. jaxrnn -> source -> jaxrnn is
bit-identical for every source but one: a Keras GRU with ``reset_after=False`` has a
single candidate bias, so ``recurrent_bias`` comes back merged into ``bias`` (the same
function). Source -> jaxrnn -> source is bit-identical except that such a bias pair
comes back merged.

:func:`to_torch` and :func:`to_keras` also convert gradients (``into='grads'``).
:func:`load` puts a converted tree into a model with the same checks;
:func:`carry_to_torch` / :func:`carry_from_torch` convert stack carries to and from
PyTorch's ``(h_n, c_n)``.

Examples:
  >>> import numpy as np
  >>> import torch
  >>> import jaxrnn.linen as jl
  >>> from jaxrnn import convert
  >>> params = convert.from_torch(torch.nn.LSTM(3, 4, batch_first=True))
  >>> x = np.ones((2, 5, 3), np.float32)
  >>> jl.LSTM(4).apply({'params': params}, x).shape
  (2, 5, 4)
"""

from jaxrnn.convert._cudnn import from_jax_rnn as from_jax_rnn
from jaxrnn.convert._cudnn import to_jax_rnn as to_jax_rnn
from jaxrnn.convert._flax import from_flax as from_flax
from jaxrnn.convert._flax import to_flax as to_flax
from jaxrnn.convert._keras import from_keras as from_keras
from jaxrnn.convert._keras import to_keras as to_keras
from jaxrnn.convert._load import load as load
from jaxrnn.convert._torch import carry_from_torch as carry_from_torch
from jaxrnn.convert._torch import carry_to_torch as carry_to_torch
from jaxrnn.convert._torch import from_torch as from_torch
from jaxrnn.convert._torch import to_torch as to_torch
