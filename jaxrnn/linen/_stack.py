"""PyTorch-style stacked recurrent layers for Flax Linen: ``LSTM``, ``GRU`` and
``SimpleRNN`` with ``num_layers``, ``bidirectional`` and dropout between layers, each
layer running the fused kernel."""

from __future__ import annotations

from typing import Any

import flax.linen as nn
import jax
import jax.numpy as jnp
from flax.linen import initializers
from flax.linen.linear import default_kernel_init

from jaxrnn import _layers
from jaxrnn.linen._cells import FusedCell, GRUCell, LSTMCell, SimpleCell

Array = jax.Array
Initializer = _layers.Initializer


class _Layer(nn.Module):
    """One layer of a stack: a forward cell and, when bidirectional, a backward one."""

    forward: FusedCell
    backward: FusedCell | None = None

    def __call__(self, inputs, carry, **kwargs):
        cells = (self.forward,) if self.backward is None else (self.forward, self.backward)
        return _layers.run_layer(cells, inputs, carry, **kwargs)

    def step(self, carry, inputs):
        return self.forward(carry, inputs)


class Stack(nn.Module):
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
      kernel_init, recurrent_kernel_init, bias_init, dtype, param_dtype, precision,
      backend: passed to every cell (see ``jaxrnn.linen.LSTMCell``).
    """

    features: int
    num_layers: int = 1
    bidirectional: bool = False
    dropout_rate: float = 0.0
    deterministic: bool | None = None
    time_major: bool = False
    return_carry: bool = False
    unroll: int = 1
    kernel_init: Initializer = default_kernel_init
    recurrent_kernel_init: Initializer = initializers.orthogonal()
    bias_init: Initializer = initializers.zeros_init()
    dtype: Any = None
    param_dtype: Any = jnp.float32
    precision: Any = None
    backend: str = 'auto'

    def _cell(self) -> FusedCell:
        raise NotImplementedError

    def _cell_kwargs(self) -> dict:
        return dict(
            features=self.features,
            kernel_init=self.kernel_init,
            recurrent_kernel_init=self.recurrent_kernel_init,
            bias_init=self.bias_init,
            dtype=self.dtype,
            param_dtype=self.param_dtype,
            precision=self.precision,
            backend=self.backend,
            parent=None,
        )

    def setup(self):
        _layers.check_stack_config(self.num_layers, self.dropout_rate, 'dropout_rate')
        layers = []
        for k in range(self.num_layers):
            backward = self._cell() if self.bidirectional else None
            layer = _Layer(forward=self._cell(), backward=backward, name=f'layer_{k}')
            layers.append(layer)
        self.layers = layers
        self.dropout = nn.Dropout(self.dropout_rate)

    def _dropout_fn(self, deterministic):
        if self.dropout_rate == 0.0 or self.num_layers == 1:
            return lambda x: x
        deterministic = nn.merge_param('deterministic', self.deterministic, deterministic)
        return lambda x: self.dropout(x, deterministic=deterministic)

    def __call__(
        self,
        inputs: Array,
        *,
        initial_carry: Any = None,
        seq_lengths: Array | None = None,
        return_carry: bool | None = None,
        time_major: bool | None = None,
        deterministic: bool | None = None,
        trace: bool = False,
    ):
        """Runs the stack over ``inputs [*batch, t, in]`` (or time-major).

        Args:
          inputs: the input sequences.
          initial_carry: ``carry[layer][direction]`` (zeros when ``None``).
          seq_lengths: optional integer ``[*batch]`` lengths of right-padded sequences;
            outputs at padded steps are zero.
          return_carry, time_major: override the attributes.
          deterministic: disables dropout; see the class docstring.
          trace: also return every gate at every step, ``trace[layer][direction]``
          (each as ``jaxrnn.linen.RNN``'s trace, in input order), last in the tuple;
          also sown as ``intermediates/trace``.

        Returns:
          ``outputs [*batch, t, D * features]`` or ``(carry, outputs)``, with the trace
          appended when ``trace``.
        """
        return_carry = self.return_carry if return_carry is None else return_carry
        time_major = self.time_major if time_major is None else time_major
        carry, outputs, gates = _layers.run_stack(
            self.layers,
            inputs,
            initial_carry,
            bidirectional=self.bidirectional,
            dropout=self._dropout_fn(deterministic),
            seq_lengths=seq_lengths,
            time_major=time_major,
            unroll=self.unroll,
            trace=trace,
        )
        if trace:
            self.sow('intermediates', 'trace', gates)
        return _layers.pack_result(carry, outputs, gates, return_carry=return_carry, trace=trace)

    def step(self, carry, inputs: Array, *, deterministic: bool | None = None):
        """One time step through every layer, for autoregressive decoding.

        ``(carry, x [*batch, in]) -> (carry, y [*batch, features])``, with the same
        parameters and numbers as ``__call__`` on the whole sequence. Unidirectional
        stacks only. Start from :meth:`initialize_carry`.
        """
        return _layers.step_stack(
            self.layers,
            carry,
            inputs,
            dropout=self._dropout_fn(deterministic),
            bidirectional=self.bidirectional,
        )

    @nn.nowrap
    def initialize_carry(self, rng, input_shape: tuple[int, ...]):
        """Zero carry ``carry[layer][direction]`` for step inputs ``[*batch, in]``."""
        cell = self._cell()
        one = cell.initialize_carry(rng, tuple(input_shape))
        dirs = _layers.num_directions(self.bidirectional)
        return tuple(tuple(one for _ in range(dirs)) for _ in range(self.num_layers))


class LSTM(Stack):
    """Stacked LSTM, a Flax Linen counterpart of ``torch.nn.LSTM`` (see :class:`Stack`).

    Attributes:
      forget_bias: added to every forget-gate bias at initialization (default 0.0).
    """

    forget_bias: float = 0.0

    def _cell(self):
        return LSTMCell(forget_bias=self.forget_bias, **self._cell_kwargs())


class GRU(Stack):
    """Stacked GRU, a Flax Linen counterpart of ``torch.nn.GRU`` (see :class:`Stack`).

    Attributes:
      reset_after: ``True`` (default) for the cuDNN/PyTorch form; ``False`` for Cho et
        al. (2014).
    """

    reset_after: bool = True

    def _cell(self):
        return GRUCell(reset_after=self.reset_after, **self._cell_kwargs())


class SimpleRNN(Stack):
    """Stacked simple (Elman) RNN, a counterpart of ``torch.nn.RNN`` (see :class:`Stack`).

    Attributes:
      activation: ``'tanh'`` (default) or ``'relu'`` (PyTorch's ``nonlinearity``).
    """

    activation: str = 'tanh'

    def _cell(self):
        return SimpleCell(activation=self.activation, **self._cell_kwargs())
