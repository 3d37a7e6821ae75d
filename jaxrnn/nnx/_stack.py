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
    """Base of :class:`LSTM`, :class:`GRU` and :class:`SimpleRNN`: the stacks of
    :class:`jaxrnn.linen.Stack` as NNX modules.

    The same layers, outputs ``[b, t, D*h]``, parameter tree, carry
    ``carry[layer][direction]`` and dropout rule as the Linen stacks: the parameters
    are the cells ``layer_{k}.forward`` and ``layer_{k}.backward`` (each a
    :class:`FusedCell`), so ``nnx.state(model, nnx.Param)`` has the tree of a Linen
    stack's ``params``.

    Dropout between layers is an ``nnx.Dropout``: active by default, off after
    ``model.eval()`` (on again after ``model.train()``) or with ``deterministic=True``
    at call time; its key comes from the ``dropout`` stream of the constructor's
    ``rngs``, or of a call's.

    The call keywords are described in :class:`~jaxrnn._layers.options.StackCallOptions`;
    ``time_major``, ``return_carry`` and ``checkpoint_every`` are also constructor
    arguments, the defaults of the call keywords of the same names.

    Args:
      cell_type: the cell class of every layer and direction.
      in_features: the input features ``i`` of the first layer.
      hidden_features: the hidden units ``h`` of each direction.
      num_layers: as :class:`jaxrnn.linen.Stack`'s (default 1).
      bidirectional: likewise (default ``False``).
      dropout_rate: likewise (default 0.0).
      dropout: alias of ``dropout_rate`` (PyTorch's name); give one of them.
      unroll: as :class:`jaxrnn.linen.Stack`'s (default 1).
      rngs: the ``nnx.Rngs`` of the parameters and of the dropout.
      **cell_options: passed to every cell (the keywords of ``cell_type``).

    Examples:
      Two bidirectional layers:

      >>> import jax, jax.numpy as jnp
      >>> from flax import nnx
      >>> import jaxrnn.nnx as jn
      >>> x = jnp.ones((2, 5, 3))                                # [b, t, i]
      >>> model = jn.LSTM(3, 4, num_layers=2, bidirectional=True, rngs=nnx.Rngs(0))
      >>> params = nnx.to_pure_dict(nnx.state(model, nnx.Param))
      >>> jax.tree.map(jnp.shape, params['layer_1']['backward'])
      {'bias': (16,), 'input_kernel': (8, 16), 'recurrent_kernel': (4, 16)}
      >>> carry, y = model(x, return_carry=True)
      >>> y.shape, len(carry), len(carry[0])                     # [layer][direction]
      ((2, 5, 8), 2, 2)
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
        """The layers ``layer_0``, ``layer_1``, ...; each holds its cells as ``forward``
        and ``backward`` (``None`` when unidirectional).

        Examples:
          >>> from flax import nnx
          >>> import jaxrnn.nnx as jn
          >>> model = jn.GRU(3, 4, num_layers=2, rngs=nnx.Rngs(0))
          >>> [type(layer.forward).__name__ for layer in model.layers]
          ['GRUCell', 'GRUCell']
          >>> model.layers[1].forward.in_features, model.layers[1].backward
          (4, None)
        """
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
        """Runs the stack over a sequence.

        Args:
          inputs: ``[b, t, i]``, or ``[t, b, i]`` when ``time_major``.
          deterministic: no dropout when ``True``, dropout when ``False``; ``None``
            (default) follows ``model.train()`` / ``model.eval()``.
          rngs: an ``nnx.Rngs`` whose ``dropout`` stream draws the dropout mask
            (default: the constructor's).
          **options: the keywords of :class:`~jaxrnn._layers.options.StackCallOptions`:
            ``initial_carry``, ``seq_lengths``, ``return_carry``, ``time_major``,
            ``trace``, ``checkpoint_every``. Under ``nnx.capture(...,
            nnx.Intermediate)`` a trace is also sown, as ``trace``.

        Returns:
          ``outputs [b, t, D*hidden_features]``, or ``(carry, outputs)`` with
          ``return_carry``; with ``trace`` the trace ``trace[layer][direction]`` is
          appended.

        Examples:
          Dropout in training, none after ``model.eval()``:

          >>> import jax.numpy as jnp
          >>> from flax import nnx
          >>> import jaxrnn.nnx as jn
          >>> x = jnp.ones((2, 5, 3))                                # [b, t, i]
          >>> model = jn.GRU(3, 4, num_layers=2, dropout_rate=0.5, rngs=nnx.Rngs(0))
          >>> bool((model(x) != model(x)).any())                     # a new mask each call
          True
          >>> model.eval()
          >>> bool((model(x) == model(x)).all())
          True
          >>> y, trace = model(x, trace=True, seq_lengths=jnp.array([5, 3]))
          >>> trace[1][0].z.shape, bool((y[1, 3:] == 0).all())
          ((2, 5, 4), True)
        """
        return self._apply(inputs, self._dropout_fn(deterministic, rngs), options)

    def step(self, carry, inputs: Array, *, deterministic: bool | None = None, rngs=None):
        """One time step through every layer, for decoding one token at a time, as
        :meth:`jaxrnn.linen.Stack.step` (the same numbers as the sequence call;
        unidirectional stacks only). ``deterministic`` and ``rngs`` as in
        ``__call__``.

        Examples:
          >>> import jax, jax.numpy as jnp
          >>> from flax import nnx
          >>> import jaxrnn.nnx as jn
          >>> x = jax.random.normal(jax.random.key(0), (2, 5, 3))    # [b, t, i]
          >>> model = jn.LSTM(3, 4, num_layers=2, rngs=nnx.Rngs(0))
          >>> final, y = model(x, return_carry=True)
          >>> carry = model.initialize_carry((2, 3))
          >>> for t in range(5):
          ...     carry, y_t = model.step(carry, x[:, t])
          >>> bool(jnp.allclose(y_t, y[:, -1], atol=1e-6))
          True
          >>> bool(all(jnp.allclose(a, b, atol=1e-6)
          ...          for a, b in zip(jax.tree.leaves(carry), jax.tree.leaves(final))))
          True
        """
        return self._step(carry, inputs, self._dropout_fn(deterministic, rngs))

    def initialize_carry(self, input_shape: tuple[int, ...]):
        """The initial carry ``carry[layer][direction]`` for step inputs ``[b, i]``:
        zeros, each ``[b, hidden_features]`` in ``promote(param_dtype, float32)``.

        Examples:
          >>> import jax, jax.numpy as jnp
          >>> from flax import nnx
          >>> import jaxrnn.nnx as jn
          >>> model = jn.LSTM(3, 4, bidirectional=True, rngs=nnx.Rngs(0))
          >>> jax.tree.map(jnp.shape, model.initialize_carry((2, 3)))
          ((((2, 4), (2, 4)), ((2, 4), (2, 4))),)
        """
        return self._stack_carry(self.layers[0].forward.initialize_carry(tuple(input_shape)))

    _sow_trace = sow_trace


class LSTM(Stack):
    """Stacked LSTM, a Flax NNX counterpart of ``torch.nn.LSTM``: layers of
    :class:`LSTMCell` (see :class:`Stack`).

    Args:
      in_features: the input features ``i`` of the first layer.
      hidden_features: the hidden units ``h`` of each direction.
      forget_bias: as :class:`jaxrnn.linen.LSTMCell`'s, in every cell (default 0.0).
      **options: the keywords of :class:`Stack` (``num_layers``, ``bidirectional``,
        ``dropout_rate``, ``rngs``, ...) and the options of
        :class:`~jaxrnn._layers.options.KernelOptions`.

    Examples:
      >>> import jax.numpy as jnp
      >>> from flax import nnx
      >>> import jaxrnn.nnx as jn
      >>> model = jn.LSTM(3, 4, num_layers=2, dropout=0.1, rngs=nnx.Rngs(0))
      >>> model(jnp.ones((2, 5, 3)), deterministic=True).shape
      (2, 5, 4)
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
    """Stacked GRU, a Flax NNX counterpart of ``torch.nn.GRU``: layers of
    :class:`GRUCell` (see :class:`Stack`).

    Args:
      in_features: the input features ``i`` of the first layer.
      hidden_features: the hidden units ``h`` of each direction.
      reset_after: as :class:`jaxrnn.linen.GRUCell`'s, in every cell (default
        ``True``).
      **options: as :class:`LSTM`'s.

    Examples:
      >>> import jax, jax.numpy as jnp
      >>> from flax import nnx
      >>> import jaxrnn.nnx as jn
      >>> model = jn.GRU(3, 4, bidirectional=True, rngs=nnx.Rngs(0))
      >>> carry, y = model(jnp.ones((2, 5, 3)), return_carry=True)
      >>> y.shape, jax.tree.map(jnp.shape, carry)
      ((2, 5, 8), (((2, 4), (2, 4)),))
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
    """Stacked simple (Elman) RNN, a Flax NNX counterpart of ``torch.nn.RNN``: layers
    of :class:`SimpleCell` (see :class:`Stack`).

    Args:
      in_features: the input features ``i`` of the first layer.
      hidden_features: the hidden units ``h`` of each direction.
      activation: ``'tanh'`` (default) or ``'relu'``, in every cell (PyTorch's
        ``nonlinearity``).
      **options: as :class:`LSTM`'s.

    Examples:
      >>> import jax
      >>> from flax import nnx
      >>> import jaxrnn.nnx as jn
      >>> x = jax.random.normal(jax.random.key(0), (2, 5, 3))    # [b, t, i]
      >>> model = jn.SimpleRNN(3, 4, num_layers=2, activation='relu', rngs=nnx.Rngs(0))
      >>> y = model(x)
      >>> y.shape, bool((y >= 0).all())
      ((2, 5, 4), True)
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
