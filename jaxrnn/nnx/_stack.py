"""PyTorch-style stacked recurrent layers for Flax NNX: ``LSTM``, ``GRU`` and
``SimpleRNN`` (same layout, carry and dropout conventions as ``jaxrnn.linen.LSTM``)."""

from __future__ import annotations

from typing import Any

import jax
from flax import nnx

from jaxrnn import _layers
from jaxrnn.nnx._cells import FusedCell, GRUCell, LSTMCell, SimpleCell
from jaxrnn.nnx._rnn import sow_trace

Array = jax.Array


class _Layer(nnx.Module):
    """One layer of a stack: a forward cell and, when bidirectional, a backward one."""

    def __init__(self, forward: FusedCell, backward: FusedCell | None = None):
        self.forward = forward
        self.backward = backward

    def __call__(self, inputs, carry, **kwargs):
        cells = (self.forward,) if self.backward is None else (self.forward, self.backward)
        return _layers.run_layer(cells, inputs, carry, **kwargs)

    def step(self, carry, inputs):
        return self.forward(carry, inputs)


class Stack(nnx.Module):
    """Base of ``LSTM``, ``GRU`` and ``SimpleRNN``; see ``jaxrnn.linen.Stack`` for the
    layout of outputs, parameters (``layer_{k}.forward`` / ``layer_{k}.backward``) and
    carry (``carry[layer][direction]``).

    Dropout between layers is an ``nnx.Dropout``: active by default, off after
    ``model.eval()`` or with ``deterministic=True`` at call time; its key comes from the
    ``rngs`` given at construction (``dropout`` stream) or at call time.

    Args:
      in_features: input features of the first layer.
      hidden_features: hidden units per direction.
      num_layers, bidirectional: as ``torch.nn.LSTM``.
      dropout: dropout probability between layers (PyTorch's name).
      time_major, return_carry, unroll: as ``jaxrnn.nnx.RNN``.
      rngs: ``nnx.Rngs`` for the parameters and the dropout stream.
      **cell_kwargs: passed to every cell (initializers, ``dtype``, ``param_dtype``,
        ``precision``, ``backend``, and the cell's own options).
    """

    def __init__(
        self,
        cell_type: type,
        in_features: int,
        hidden_features: int,
        *,
        num_layers: int = 1,
        bidirectional: bool = False,
        dropout: float = 0.0,
        time_major: bool = False,
        return_carry: bool = False,
        unroll: int = 1,
        rngs: nnx.Rngs,
        **cell_kwargs,
    ):
        _layers.check_stack_config(num_layers, dropout, 'dropout')
        self.in_features = in_features
        self.hidden_features = hidden_features
        self.num_layers = num_layers
        self.bidirectional = bidirectional
        self.time_major = time_major
        self.return_carry = return_carry
        self.unroll = unroll
        dirs = _layers.num_directions(bidirectional)
        for k in range(num_layers):
            size = in_features if k == 0 else dirs * hidden_features
            cells = [
                cell_type(size, hidden_features, rngs=rngs, **cell_kwargs) for _ in range(dirs)
            ]
            setattr(self, f'layer_{k}', _Layer(*cells))
        self.dropout = nnx.Dropout(dropout, rngs=rngs)

    @property
    def layers(self) -> list[_Layer]:
        return [getattr(self, f'layer_{k}') for k in range(self.num_layers)]

    def _dropout_fn(self, deterministic, rngs):
        if self.dropout.rate == 0.0 or self.num_layers == 1:
            return lambda x: x
        return lambda x: self.dropout(x, deterministic=deterministic, rngs=rngs)

    def __call__(
        self,
        inputs: Array,
        *,
        initial_carry: Any = None,
        seq_lengths: Array | None = None,
        return_carry: bool | None = None,
        time_major: bool | None = None,
        deterministic: bool | None = None,
        rngs: Any = None,
        trace: bool = False,
    ):
        """Runs the stack; returns ``outputs [*batch, t, D * hidden]`` or
        ``(carry, outputs)``, with ``trace[layer][direction]`` appended when ``trace``.
        See ``jaxrnn.linen.Stack.__call__``."""
        return_carry = self.return_carry if return_carry is None else return_carry
        time_major = self.time_major if time_major is None else time_major
        carry, outputs, gates = _layers.run_stack(
            self.layers,
            inputs,
            initial_carry,
            bidirectional=self.bidirectional,
            dropout=self._dropout_fn(deterministic, rngs),
            seq_lengths=seq_lengths,
            time_major=time_major,
            unroll=self.unroll,
            trace=trace,
        )
        if trace:
            sow_trace(self, gates)
        return _layers.pack_result(carry, outputs, gates, return_carry=return_carry, trace=trace)

    def step(self, carry, inputs: Array, *, deterministic: bool | None = None, rngs=None):
        """One time step through every layer (unidirectional stacks), for decoding;
        see ``jaxrnn.linen.Stack.step``."""
        return _layers.step_stack(
            self.layers,
            carry,
            inputs,
            dropout=self._dropout_fn(deterministic, rngs),
            bidirectional=self.bidirectional,
        )

    def initialize_carry(self, input_shape: tuple[int, ...]):
        """Zero carry ``carry[layer][direction]`` for step inputs ``[*batch, in]``."""
        one = self.layer_0.forward.initialize_carry(tuple(input_shape))
        dirs = _layers.num_directions(self.bidirectional)
        return tuple(tuple(one for _ in range(dirs)) for _ in range(self.num_layers))


class LSTM(Stack):
    """Stacked LSTM, a Flax NNX counterpart of ``torch.nn.LSTM`` (see :class:`Stack`);
    ``forget_bias`` is accepted as in ``jaxrnn.nnx.LSTMCell``."""

    def __init__(self, in_features: int, hidden_features: int, **kwargs):
        super().__init__(LSTMCell, in_features, hidden_features, **kwargs)


class GRU(Stack):
    """Stacked GRU, a counterpart of ``torch.nn.GRU``; ``reset_after`` as in
    ``jaxrnn.nnx.GRUCell``."""

    def __init__(self, in_features: int, hidden_features: int, **kwargs):
        super().__init__(GRUCell, in_features, hidden_features, **kwargs)


class SimpleRNN(Stack):
    """Stacked simple RNN, a counterpart of ``torch.nn.RNN``; ``activation`` ('tanh'
    or 'relu') as in ``jaxrnn.nnx.SimpleCell``."""

    def __init__(self, in_features: int, hidden_features: int, **kwargs):
        super().__init__(SimpleCell, in_features, hidden_features, **kwargs)
