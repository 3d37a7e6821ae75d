"""Weight converters between jaxrnn's fused layout and every common source.

* PyTorch ``nn.LSTM``/``nn.GRU``/``nn.RNN``: :func:`from_torch` (a stack),
  :func:`to_torch`.
* Flax Linen and NNX: :func:`from_flax` (a cell or a whole model), :func:`to_flax`.
* ``jax.experimental.rnn`` (cuDNN): :func:`from_jax_rnn` (a stack), :func:`to_jax_rnn`.
* Keras weight lists: :func:`from_keras` (a cell; a stack layer for ``Bidirectional``),
  :func:`to_keras`.

Every converter returns NumPy arrays with the source's dtype, checks every shape
(nothing is reshaped or cast; a mismatch names the parameter) and is exact: the values
are copies, transposes, concatenations or reorderings, except where a source keeps two
biases that are added to the same sum (PyTorch, cuDNN, Keras GRU), which jaxrnn merges
into one. jaxrnn -> source -> jaxrnn is bit-identical for every source; source ->
jaxrnn -> source is bit-identical except that such a bias pair comes back merged.

:func:`to_torch` and :func:`to_keras` also convert gradients (``into='grads'``).
:func:`load` puts a converted tree into a model with the same checks;
:func:`carry_to_torch` / :func:`carry_from_torch` convert stack carries to and from
PyTorch's ``(h_n, c_n)``.
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
