"""PyTorch-style stacked recurrent layers for Flax NNX: ``LSTM``, ``GRU`` and
``SimpleRNN`` (same layout, carry and dropout conventions as ``jaxrnn.linen.LSTM``).
The bodies live in :mod:`jaxrnn._layers.stack`; this module declares the constructors,
the layers and NNX's dropout."""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING, Any

import jax
from flax import nnx

from jaxrnn._layers import stack
from jaxrnn._layers.options import KernelOptions, StackCallOptions, check_keywords
from jaxrnn.nnx._cells import FusedCell, GRUCell, LSTMCell, SimpleCell
from jaxrnn.nnx._rnn import sow_trace

if TYPE_CHECKING:
    from typing_extensions import Required, Unpack

Array = jax.Array


class _Layer(stack.LayerBody, nnx.Module):
    """One layer of a stack: a forward cell and, when bidirectional, a backward one."""

    def __init__(self, forward: FusedCell, backward: FusedCell | None = None):
        self.forward = forward
        self.backward = backward


class StackOptions(KernelOptions, total=False):
    """The constructor keywords of ``LSTM``, ``GRU`` and ``SimpleRNN`` besides the cell
    kind's own option: those of :class:`Stack` and the cells'
    :class:`~jaxrnn._layers.options.KernelOptions`."""

    num_layers: int
    bidirectional: bool
    dropout_rate: float | None
    dropout: float | None
    time_major: bool
    return_carry: bool
    unroll: int
    checkpoint_every: int | str | None
    rngs: Required[nnx.Rngs]


class Stack(stack.StackBody, nnx.Module):
    """Base of ``LSTM``, ``GRU`` and ``SimpleRNN``; see ``jaxrnn.linen.Stack`` for the
    layout of outputs, parameters (``layer_{k}.forward`` / ``layer_{k}.backward``) and
    carry (``carry[layer][direction]``).

    Dropout between layers is an ``nnx.Dropout``: active by default, off after
    ``model.eval()`` or with ``deterministic=True`` at call time; its key comes from the
    ``rngs`` given at construction (``dropout`` stream) or at call time.

    Args:
      cell_type: the cell class of every layer and direction.
      in_features: input features of the first layer.
      hidden_features: hidden units per direction.
      num_layers, bidirectional: as ``torch.nn.LSTM``.
      dropout_rate: dropout probability between layers (default 0.0; Flax's name, as
        ``jaxrnn.linen.LSTM``).
      dropout: alias of ``dropout_rate`` (PyTorch's name); give one of them.
      time_major, return_carry, unroll, checkpoint_every: as ``jaxrnn.nnx.RNN``.
      rngs: ``nnx.Rngs`` for the parameters and the dropout stream.
      **cell_options: passed to every cell (``cell_type``'s keywords).

    Examples:
      >>> import jax, jax.numpy as jnp
      >>> from flax import nnx
      >>> import jaxrnn.nnx as jn
      >>> model = jn.LSTM(3, 4, num_layers=2, rngs=nnx.Rngs(0))
      >>> xs = jax.random.normal(jax.random.key(0), (1, 5, 3))
      >>> ys = model(xs)
      >>> carry = model.initialize_carry((1, 3))
      >>> for t in range(5):
      ...     carry, y = model.step(carry, xs[:, t])            # one token at a time
      >>> bool(jnp.allclose(y, ys[:, -1], atol=1e-6))
      True
    """

    def __init__(
        self,
        cell_type: Any,
        in_features: int,
        hidden_features: int,
        *,
        num_layers: int = 1,
        bidirectional: bool = False,
        dropout_rate: float | None = None,
        dropout: float | None = None,
        time_major: bool = False,
        return_carry: bool = False,
        unroll: int = 1,
        checkpoint_every: int | str | None = None,
        rngs: nnx.Rngs,
        **cell_options: Any,
    ):
        rate, rate_name = stack.dropout_rate_of(dropout_rate, dropout)
        stack.check_stack_config(num_layers, rate, rate_name)
        self.in_features = in_features
        self.hidden_features = hidden_features
        self.num_layers = num_layers
        self.bidirectional = bidirectional
        for k in range(num_layers):
            size = in_features if k == 0 else self._directions * hidden_features
            cells = [
                cell_type(size, hidden_features, rngs=rngs, **cell_options)
                for _ in range(self._directions)
            ]
            setattr(self, f'layer_{k}', _Layer(*cells))
        self.dropout = nnx.Dropout(rate, rngs=rngs)
        # defaults of the call arguments
        self.time_major = time_major
        self.return_carry = return_carry
        self.unroll = unroll
        self.checkpoint_every = checkpoint_every

    @property
    def layers(self) -> list[_Layer]:
        return [getattr(self, f'layer_{k}') for k in range(self.num_layers)]

    def _layer_modules(self):
        return self.layers

    def _dropout_fn(self, deterministic, rngs):
        if not self._drops(self.dropout.rate):
            return lambda x: x
        return functools.partial(self.dropout, deterministic=deterministic, rngs=rngs)

    def __call__(
        self,
        inputs: Array,
        *,
        deterministic: bool | None = None,
        rngs: Any = None,
        **options: Unpack[StackCallOptions],
    ):
        """Runs the stack; returns ``outputs [*batch, t, D * hidden]`` or
        ``(carry, outputs)``, with ``trace[layer][direction]`` appended when ``trace``.
        See ``jaxrnn.linen.Stack.__call__``; ``rngs`` feeds the dropout."""
        return self._apply(inputs, self._dropout_fn(deterministic, rngs), options)

    def step(self, carry, inputs: Array, *, deterministic: bool | None = None, rngs=None):
        """One time step through every layer (unidirectional stacks), for decoding;
        see ``jaxrnn.linen.Stack.step``."""
        return self._step(carry, inputs, self._dropout_fn(deterministic, rngs))

    def initialize_carry(self, input_shape: tuple[int, ...]):
        """Zero carry ``carry[layer][direction]`` for step inputs ``[*batch, in]``."""
        return self._stack_carry(self.layers[0].forward.initialize_carry(tuple(input_shape)))

    _sow_trace = sow_trace


class LSTM(Stack):
    """Stacked LSTM, a Flax NNX counterpart of ``torch.nn.LSTM`` (see :class:`Stack`);
    ``forget_bias`` as in ``jaxrnn.nnx.LSTMCell``.

    Examples:
      >>> import jax.numpy as jnp
      >>> from flax import nnx
      >>> import jaxrnn.nnx as jn
      >>> model = jn.LSTM(3, 4, num_layers=2, bidirectional=True, dropout=0.2, rngs=nnx.Rngs(0))
      >>> x = jnp.ones((2, 5, 3))
      >>> model(x).shape                                        # dropout active
      (2, 5, 8)
      >>> model.eval()
      >>> bool((model(x) == model(x)).all())                    # no dropout after eval()
      True
    """

    def __init__(
        self,
        in_features: int,
        hidden_features: int,
        *,
        forget_bias: float = 0.0,
        **options: Unpack[StackOptions],
    ):
        check_keywords(type(self).__name__, options, StackOptions, owner=1)
        super().__init__(LSTMCell, in_features, hidden_features, forget_bias=forget_bias, **options)


class GRU(Stack):
    """Stacked GRU, a counterpart of ``torch.nn.GRU``; ``reset_after`` as in
    ``jaxrnn.nnx.GRUCell``.

    Examples:
      >>> import jax.numpy as jnp
      >>> from flax import nnx
      >>> import jaxrnn.nnx as jn
      >>> model = jn.GRU(3, 4, num_layers=2, rngs=nnx.Rngs(0))
      >>> sorted(nnx.state(model, nnx.Param)['layer_1']['forward'])
      ['bias', 'input_kernel', 'recurrent_bias', 'recurrent_kernel']
    """

    def __init__(
        self,
        in_features: int,
        hidden_features: int,
        *,
        reset_after: bool = True,
        **options: Unpack[StackOptions],
    ):
        check_keywords(type(self).__name__, options, StackOptions, owner=1)
        super().__init__(GRUCell, in_features, hidden_features, reset_after=reset_after, **options)


class SimpleRNN(Stack):
    """Stacked simple RNN, a counterpart of ``torch.nn.RNN``; ``activation`` ('tanh'
    or 'relu') as in ``jaxrnn.nnx.SimpleCell``.

    Examples:
      >>> import jax.numpy as jnp
      >>> from flax import nnx
      >>> import jaxrnn.nnx as jn
      >>> model = jn.SimpleRNN(3, 4, activation='relu', rngs=nnx.Rngs(0))
      >>> bool((model(jnp.ones((2, 5, 3))) >= 0).all())
      True
    """

    def __init__(
        self,
        in_features: int,
        hidden_features: int,
        *,
        activation: str = 'tanh',
        **options: Unpack[StackOptions],
    ):
        check_keywords(type(self).__name__, options, StackOptions, owner=1)
        super().__init__(SimpleCell, in_features, hidden_features, activation=activation, **options)
