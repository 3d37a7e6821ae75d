"""PyTorch-style stacked recurrent layers for Flax Linen: ``LSTM``, ``GRU`` and
``SimpleRNN`` with ``num_layers``, ``bidirectional`` and dropout between layers, each
layer running the fused kernel. The bodies live in :mod:`jaxrnn._layers.stack`; this
module declares the attributes, the layers and Linen's dropout."""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING, Any

import flax.linen as nn
import jax

from jaxrnn._layers import stack
from jaxrnn._layers.options import KERNEL_DEFAULTS, StackCallOptions
from jaxrnn.linen._cells import Features, FusedCell, GRUCell, KernelAttributes, LSTMCell, SimpleCell
from jaxrnn.linen._rnn import sow_trace

if TYPE_CHECKING:
    from typing_extensions import Unpack

Array = jax.Array


class _Layer(stack.LayerBody, nn.Module):
    """One layer of a stack: a forward cell and, when bidirectional, a backward one."""

    forward: FusedCell
    backward: FusedCell | None = None

    # Listed here so that Linen wraps them (it wraps only a class's own methods).
    __call__ = stack.LayerBody.__call__
    step = stack.LayerBody.step


class StackAttributes(Features):
    """The stack's own attributes, after ``features`` (see :class:`Stack`)."""

    num_layers: int = 1
    bidirectional: bool = False
    dropout_rate: float = 0.0
    deterministic: bool | None = None
    time_major: bool = False
    return_carry: bool = False
    unroll: int = 1
    checkpoint_every: int | str | None = None


class Stack(stack.StackBody, KernelAttributes, StackAttributes):
    """Base of ``LSTM``, ``GRU`` and ``SimpleRNN``: ``num_layers`` layers of fused cells.

    Layer ``k`` reads the outputs of layer ``k - 1`` (the inputs for ``k = 0``); a
    bidirectional layer concatenates its forward and backward outputs along features, so
    the output is ``[*batch, t, D * features]`` with ``D = 2`` if ``bidirectional`` else
    1. The backward direction reads each sequence from its last valid step
    (``seq_lengths``), as ``torch.nn.LSTM`` on a ``PackedSequence``.

    Parameters: ``layer_{k}/forward`` and ``layer_{k}/backward``, each a cell's fused
    parameters (``input_kernel``, ``recurrent_kernel``, ``bias``, and the GRU's
    ``recurrent_bias``); ``jaxrnn.convert.from_torch`` returns this tree.

    Carry: ``carry[k][d]`` is the carry of layer ``k``, direction ``d`` (0 forward,
    1 backward): ``(c, h)`` for the LSTM, ``h`` otherwise, each ``[*batch, features]``.
    The final carry of the backward direction is the state after reading the first step
    (PyTorch's ``h_n`` convention). ``jaxrnn.convert.carry_to_torch`` stacks it as
    PyTorch's ``(h_n, c_n)``.

    Dropout: applied to the outputs of every layer except the last (PyTorch's
    convention), with rate ``dropout_rate``, the ``'dropout'`` RNG stream and
    Flax's ``deterministic`` (attribute or call argument, exactly one of them). A
    ``deterministic`` flag is only needed when dropout is active.

    Attributes:
      features: hidden units per direction.
      num_layers: number of stacked layers.
      bidirectional: add a backward direction to every layer.
      dropout_rate: dropout probability between layers.
      deterministic: no dropout when True (may be given at call time instead).
      time_major: inputs ``[t, *batch, in]`` instead of ``[*batch, t, in]``.
      return_carry: return ``(carry, outputs)``.
      unroll: steps unrolled per loop iteration in the kernel.
      checkpoint_every: gradient checkpointing in every layer and direction: ``None``
        (default), a chunk size ``k`` or ``'auto'`` (see :func:`jaxrnn.kernels.lstm`); a
        call's ``checkpoint_every`` overrides it.
      kernel_init, recurrent_kernel_init, bias_init, dtype, param_dtype, precision,
      backend: passed to every cell (see ``jaxrnn.linen.LSTMCell``).

    Examples:
      Decoding one step at a time with ``step`` gives the sequence call's numbers:

      >>> import jax, jax.numpy as jnp
      >>> import jaxrnn.linen as nn
      >>> model = nn.GRU(features=4, num_layers=2)
      >>> xs = jax.random.normal(jax.random.key(0), (1, 5, 3))
      >>> variables = model.init(jax.random.key(1), xs)
      >>> ys = model.apply(variables, xs)
      >>> carry = model.initialize_carry(None, (1, 3))
      >>> for t in range(5):
      ...     carry, y = model.apply(variables, carry, xs[:, t], method='step')
      >>> bool(jnp.allclose(y, ys[:, -1], atol=1e-6))
      True
    """

    @nn.nowrap
    def _cell(self) -> FusedCell:
        raise NotImplementedError

    @nn.nowrap
    def _cell_options(self) -> dict[str, Any]:
        """The cells' options: the stack's :class:`KernelAttributes`; no parent (the
        layer adopts the cell)."""
        return dict(parent=None, **{name: getattr(self, name) for name in KERNEL_DEFAULTS})

    def setup(self):
        stack.check_stack_config(self.num_layers, self.dropout_rate)
        layers = []
        for k in range(self.num_layers):
            backward = self._cell() if self.bidirectional else None
            layers.append(_Layer(forward=self._cell(), backward=backward, name=f'layer_{k}'))
        self.layers = layers
        self.dropout = nn.Dropout(self.dropout_rate)

    def _layer_modules(self):
        return self.layers

    def _dropout_fn(self, deterministic):
        if not self._drops(self.dropout_rate):
            return lambda x: x
        deterministic = nn.merge_param('deterministic', self.deterministic, deterministic)
        return functools.partial(self.dropout, deterministic=deterministic)

    def __call__(
        self,
        inputs: Array,
        *,
        deterministic: bool | None = None,
        **options: Unpack[StackCallOptions],
    ):
        """Runs the stack over ``inputs [*batch, t, in]`` (or time-major).

        Args:
          inputs: the input sequences.
          deterministic: disables dropout; see the class docstring.
          **options: ``initial_carry`` (``carry[layer][direction]``, zeros when
            ``None``), ``seq_lengths``, ``return_carry``, ``time_major``, ``trace``,
            ``checkpoint_every``, as :class:`jaxrnn._layers.options.StackCallOptions`. The trace,
            ``trace[layer][direction]`` (each as ``jaxrnn.linen.RNN``'s trace, in input
            order), is also sown as ``intermediates/trace``.

        Returns:
          ``outputs [*batch, t, D * features]`` or ``(carry, outputs)``, with the trace
          appended when ``trace``.
        """
        return self._apply(inputs, self._dropout_fn(deterministic), options)

    def step(self, carry, inputs: Array, *, deterministic: bool | None = None):
        """One time step through every layer, for autoregressive decoding.

        ``(carry, x [*batch, in]) -> (carry, y [*batch, features])``, with the same
        parameters and numbers as ``__call__`` on the whole sequence. Unidirectional
        stacks only. Start from :meth:`initialize_carry`.
        """
        return self._step(carry, inputs, self._dropout_fn(deterministic))

    @nn.nowrap
    def initialize_carry(self, rng, input_shape: tuple[int, ...]):
        """Zero carry ``carry[layer][direction]`` for step inputs ``[*batch, in]``."""
        return self._stack_carry(self._cell().initialize_carry(rng, tuple(input_shape)))

    _sow_trace = sow_trace


class LSTM(Stack):
    """Stacked LSTM, a Flax Linen counterpart of ``torch.nn.LSTM`` (see :class:`Stack`).

    Attributes:
      forget_bias: added to every forget-gate bias at initialization (default 0.0).

    Examples:
      >>> import jax, jax.numpy as jnp
      >>> import jaxrnn.linen as nn
      >>> model = nn.LSTM(features=4, num_layers=2, bidirectional=True, dropout_rate=0.1)
      >>> x = jnp.ones((2, 5, 3))
      >>> variables = model.init(jax.random.key(0), x, deterministic=True)
      >>> sorted(variables['params']), sorted(variables['params']['layer_1'])
      (['layer_0', 'layer_1'], ['backward', 'forward'])
      >>> carry, y = model.apply(variables, x, return_carry=True, deterministic=False,
      ...                        rngs={'dropout': jax.random.key(1)})
      >>> y.shape, carry[1][0][1].shape                         # layer 1, forward, h
      ((2, 5, 8), (2, 4))
    """

    forget_bias: float = 0.0

    @nn.nowrap
    def _cell(self):
        return LSTMCell(self.features, forget_bias=self.forget_bias, **self._cell_options())


class GRU(Stack):
    """Stacked GRU, a Flax Linen counterpart of ``torch.nn.GRU`` (see :class:`Stack`).

    Attributes:
      reset_after: ``True`` (default) for the cuDNN/PyTorch form; ``False`` for Cho et
        al. (2014).

    Examples:
      >>> import jax, jax.numpy as jnp
      >>> import jaxrnn.linen as nn
      >>> model = nn.GRU(features=4, num_layers=3)
      >>> variables = model.init(jax.random.key(0), jnp.ones((2, 5, 3)))
      >>> model.apply(variables, jnp.ones((2, 5, 3))).shape
      (2, 5, 4)
    """

    reset_after: bool = True

    @nn.nowrap
    def _cell(self):
        return GRUCell(self.features, reset_after=self.reset_after, **self._cell_options())


class SimpleRNN(Stack):
    """Stacked simple (Elman) RNN, a counterpart of ``torch.nn.RNN`` (see :class:`Stack`).

    Attributes:
      activation: ``'tanh'`` (default) or ``'relu'`` (PyTorch's ``nonlinearity``).

    Examples:
      >>> import jax, jax.numpy as jnp
      >>> import jaxrnn.linen as nn
      >>> model = nn.SimpleRNN(features=4, bidirectional=True, activation='relu')
      >>> variables = model.init(jax.random.key(0), jnp.ones((2, 5, 3)))
      >>> model.apply(variables, jnp.ones((2, 5, 3))).shape
      (2, 5, 8)
    """

    activation: str = 'tanh'

    @nn.nowrap
    def _cell(self):
        return SimpleCell(self.features, activation=self.activation, **self._cell_options())
