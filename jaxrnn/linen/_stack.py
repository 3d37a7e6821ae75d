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
    """Base of :class:`LSTM`, :class:`GRU` and :class:`SimpleRNN`: layers of fused
    cells in the manner of ``torch.nn.LSTM``, optionally bidirectional, with dropout
    between layers.

    Layer ``k`` reads the outputs of layer ``k - 1`` (the inputs for ``k = 0``) and
    makes one kernel call per direction; a bidirectional layer concatenates its forward
    and backward outputs along features. With ``h = features`` and ``D = 2`` if
    ``bidirectional`` else 1 (the NNX stacks hold and return the same):

    - Outputs: ``[b, t, D*h]`` (``[t, b, D*h]`` when ``time_major``), zero at padded
      steps.
    - Parameters: ``layer_{k}/forward`` and ``layer_{k}/backward``, each one cell's
      fused parameters (``input_kernel [i, G*h]`` in layer 0 and ``[D*h, G*h]`` above,
      ``recurrent_kernel [h, G*h]``, ``bias [G*h]``, the GRU's ``recurrent_bias [h]``);
      :func:`jaxrnn.convert.from_torch` returns this tree.
    - Carry: ``carry[k][d]`` for layer ``k`` and direction ``d`` (0 forward, 1
      backward), each the cell's carry: ``(c, h)`` for the LSTM, ``h`` otherwise, each
      ``[b, h]``. The backward direction reads each sequence from its last valid step
      (as PyTorch on a ``PackedSequence``), so its final carry is its state after
      reading the first step (PyTorch's ``h_n``); :func:`jaxrnn.convert.carry_to_torch`
      stacks the carry as PyTorch's ``(h_n, c_n)``.
    - Dropout: on the outputs of every layer but the last (PyTorch's rule), with rate
      ``dropout_rate``. In Linen it draws from the ``'dropout'`` RNG stream and is off
      when ``deterministic`` (Flax's flag, as attribute or call argument: one of the
      two, needed only when there is dropout to apply).

    The call keywords are described in :class:`~jaxrnn._layers.options.StackCallOptions`;
    ``time_major``, ``return_carry`` and ``checkpoint_every`` are also attributes, the
    defaults of the call keywords of the same names.

    Attributes:
      features: the hidden units ``h`` of each direction.
      num_layers: the number of layers (default 1).
      bidirectional: add a backward direction to every layer (default ``False``).
      dropout_rate: the dropout probability between layers, in ``[0, 1)`` (default
        0.0).
      deterministic: no dropout when ``True`` (default ``None``: give it at call time).
      unroll: steps unrolled per loop iteration of the kernel.

    The options of :class:`~jaxrnn._layers.options.KernelOptions` (initializers,
    ``dtype``, ``param_dtype``, ``precision``, ``backend``) are attributes too, passed to
    every cell; each kind adds its cell's own option.

    Examples:
      Two bidirectional layers:

      >>> import jax, jax.numpy as jnp
      >>> import jaxrnn.linen as jl
      >>> x = jnp.ones((2, 5, 3))                                # [b, t, i]
      >>> model = jl.LSTM(features=4, num_layers=2, bidirectional=True)
      >>> variables = model.init(jax.random.key(0), x)
      >>> jax.tree.map(jnp.shape, variables['params']['layer_1']['backward'])
      {'bias': (16,), 'input_kernel': (8, 16), 'recurrent_kernel': (4, 16)}
      >>> carry, y = model.apply(variables, x, return_carry=True)
      >>> y.shape                                                # [b, t, D*h]
      (2, 5, 8)
      >>> len(carry), len(carry[0])                              # [layer][direction]
      (2, 2)
      >>> c, h = carry[1][0]                                     # layer 1, forward
      >>> bool((h == y[:, -1, :4]).all())
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
        """Runs the stack over a sequence.

        Args:
          inputs: ``[b, t, i]``, or ``[t, b, i]`` when ``time_major``.
          deterministic: no dropout when ``True`` (overrides the attribute; Flax's
            ``nn.merge_param`` rule: one of the two, needed only when there is dropout
            to apply). Dropout draws from the ``'dropout'`` RNG stream of ``apply``.
          **options: the keywords of :class:`~jaxrnn._layers.options.StackCallOptions`:
            ``initial_carry``, ``seq_lengths``, ``return_carry``, ``time_major``,
            ``trace``, ``checkpoint_every``. A trace is also sown in the
            ``intermediates`` collection, as ``trace``.

        Returns:
          ``outputs [b, t, D*features]``, or ``(carry, outputs)`` with ``return_carry``;
          with ``trace`` the trace ``trace[layer][direction]`` is appended.

        Examples:
          Dropout between the layers, in training only:

          >>> import jax, jax.numpy as jnp
          >>> import jaxrnn.linen as jl
          >>> x = jnp.ones((2, 5, 3))                                # [b, t, i]
          >>> model = jl.GRU(features=4, num_layers=2, dropout_rate=0.5)
          >>> variables = model.init(jax.random.key(0), x, deterministic=True)
          >>> y_eval = model.apply(variables, x, deterministic=True)
          >>> y_train = model.apply(variables, x, deterministic=False,
          ...                       rngs={'dropout': jax.random.key(1)})
          >>> y_eval.shape, bool((y_train != y_eval).any())
          ((2, 5, 4), True)

          Padded sequences and the trace of every layer and direction:

          >>> y, trace = model.apply(variables, x, deterministic=True, trace=True,
          ...                        seq_lengths=jnp.array([5, 3]))
          >>> trace[1][0].z.shape, bool((y[1, 3:] == 0).all())
          ((2, 5, 4), True)
        """
        return self._apply(inputs, self._dropout_fn(deterministic), options)

    def step(self, carry, inputs: Array, *, deterministic: bool | None = None):
        """One time step through every layer, for decoding one token at a time.

        The same parameters and numbers as the sequence call: stepping through a
        sequence gives its outputs and final carry. Unidirectional stacks only (a
        backward direction reads from the end: a ValueError). Start from
        :meth:`initialize_carry`, or from the carry of a sequence call (a prompt).

        Args:
          carry: ``carry[layer][0]``, as :meth:`initialize_carry` or a sequence call
            returns it.
          inputs: ``x [b, i]``, one step.
          deterministic: as in ``__call__`` (dropout between layers).

        Returns:
          ``(new_carry, y [b, features])``.

        Examples:
          >>> import jax, jax.numpy as jnp
          >>> import jaxrnn.linen as jl
          >>> x = jax.random.normal(jax.random.key(0), (2, 5, 3))    # [b, t, i]
          >>> model = jl.LSTM(features=4, num_layers=2)
          >>> variables = model.init(jax.random.key(1), x)
          >>> final, y = model.apply(variables, x, return_carry=True)
          >>> carry = model.initialize_carry(None, (2, 3))
          >>> for t in range(5):
          ...     carry, y_t = model.apply(variables, carry, x[:, t], method='step')
          >>> bool(jnp.allclose(y_t, y[:, -1], atol=1e-6))
          True
          >>> bool(all(jnp.allclose(a, b, atol=1e-6)
          ...          for a, b in zip(jax.tree.leaves(carry), jax.tree.leaves(final))))
          True
        """
        return self._step(carry, inputs, self._dropout_fn(deterministic))

    @nn.nowrap
    def initialize_carry(self, rng, input_shape: tuple[int, ...]):
        """The initial carry ``carry[layer][direction]`` for step inputs ``[b, i]``:
        zeros, each ``[b, features]`` in ``promote(param_dtype, float32)``. It needs no
        bound module (``rng`` may be ``None``).

        Examples:
          >>> import jax, jax.numpy as jnp
          >>> import jaxrnn.linen as jl
          >>> carry = jl.GRU(features=4, num_layers=3).initialize_carry(None, (2, 3))
          >>> len(carry), jax.tree.map(jnp.shape, carry[0])
          (3, ((2, 4),))
        """
        return self._stack_carry(self._cell().initialize_carry(rng, tuple(input_shape)))

    _sow_trace = sow_trace


class LSTM(Stack):
    """Stacked LSTM, a Flax Linen counterpart of ``torch.nn.LSTM``: layers of
    :class:`LSTMCell` (see :class:`Stack` for the layout, carry and dropout).

    Attributes:
      forget_bias: as :class:`LSTMCell`'s, in every cell (default 0.0).

    Examples:
      >>> import jax, jax.numpy as jnp
      >>> import jaxrnn.linen as jl
      >>> x = jnp.ones((2, 5, 3))                                # [b, t, i]
      >>> model = jl.LSTM(features=4, num_layers=2, forget_bias=1.0)
      >>> variables = model.init(jax.random.key(0), x)
      >>> list(variables['params']), model.apply(variables, x).shape
      (['layer_0', 'layer_1'], (2, 5, 4))
    """

    forget_bias: float = 0.0

    @nn.nowrap
    def _cell(self):
        return LSTMCell(self.features, forget_bias=self.forget_bias, **self._cell_options())


class GRU(Stack):
    """Stacked GRU, a Flax Linen counterpart of ``torch.nn.GRU``: layers of
    :class:`GRUCell` (see :class:`Stack` for the layout, carry and dropout).

    Attributes:
      reset_after: as :class:`GRUCell`'s, in every cell (default ``True``, PyTorch's
        form).

    Examples:
      >>> import jax, jax.numpy as jnp
      >>> import jaxrnn.linen as jl
      >>> x = jnp.ones((2, 5, 3))                                # [b, t, i]
      >>> model = jl.GRU(features=4, bidirectional=True, return_carry=True)
      >>> variables = model.init(jax.random.key(0), x)
      >>> carry, y = model.apply(variables, x)
      >>> y.shape, jax.tree.map(jnp.shape, carry)
      ((2, 5, 8), (((2, 4), (2, 4)),))
    """

    reset_after: bool = True

    @nn.nowrap
    def _cell(self):
        return GRUCell(self.features, reset_after=self.reset_after, **self._cell_options())


class SimpleRNN(Stack):
    """Stacked simple (Elman) RNN, a Flax Linen counterpart of ``torch.nn.RNN``: layers
    of :class:`SimpleCell` (see :class:`Stack` for the layout, carry and dropout).

    Attributes:
      activation: ``'tanh'`` (default) or ``'relu'``, in every cell (PyTorch's
        ``nonlinearity``).

    Examples:
      >>> import jax, jax.numpy as jnp
      >>> import jaxrnn.linen as jl
      >>> x = jax.random.normal(jax.random.key(0), (2, 5, 3))    # [b, t, i]
      >>> model = jl.SimpleRNN(features=4, num_layers=2, activation='relu')
      >>> y = model.apply(model.init(jax.random.key(1), x), x)
      >>> y.shape, bool((y >= 0).all())
      ((2, 5, 4), True)
    """

    activation: str = 'tanh'

    @nn.nowrap
    def _cell(self):
        return SimpleCell(self.features, activation=self.activation, **self._cell_options())
