"""The bodies of the PyTorch-style stacks (``LSTM``, ``GRU``, ``SimpleRNN`` with
``num_layers``, ``bidirectional`` and dropout between layers), shared by
``jaxrnn.linen`` and ``jaxrnn.nnx``."""

from __future__ import annotations

from typing import Any, Callable, NamedTuple, Sequence

import jax
import jax.numpy as jnp

from jaxrnn._layers import kernel
from jaxrnn._layers.cells import layout
from jaxrnn._layers.options import StackCallOptions, check_keywords, override
from jaxrnn._layers.rnn import pack_result

Array = jax.Array


class StackArgs(NamedTuple):
    """The arguments of one stack call, resolved (call arguments over attributes)."""

    initial_carry: Any
    seq_lengths: Array | None
    return_carry: bool
    time_major: bool
    trace: bool
    unroll: int
    checkpoint_every: int | str | None


class LayerBody:
    """One layer of a stack: a ``forward`` cell and, when bidirectional, a ``backward``
    one (declared by the framework's class)."""

    forward: Any
    backward: Any

    def __call__(self, inputs, carry, args: StackArgs):
        """Both directions over ``inputs``. The backward cell reads each sequence from
        its last valid step; its outputs stay aligned with the inputs, so the two
        directions concatenate step by step. Returns ``(carries, y, traces)`` with one
        carry (and trace, or ``None``) per direction."""
        cells = (self.forward,) if self.backward is None else (self.forward, self.backward)
        carries, outputs, traces = [], [], []
        for d, cell in enumerate(cells):
            sequence = kernel.SequenceArgs(
                args.seq_lengths,
                d == 1,
                args.time_major,
                args.unroll,
                args.trace,
                args.checkpoint_every,
            )
            out = kernel.sequence(cell, inputs, None if carry is None else carry[d], sequence)
            carries.append(out[0])
            outputs.append(out[1])
            traces.append(out[2] if args.trace else None)
        y = outputs[0] if len(outputs) == 1 else jnp.concatenate(outputs, axis=-1)
        return tuple(carries), y, tuple(traces)

    def step(self, carry, inputs):
        return self.forward(carry, inputs)


class StackBody:
    """The body of a stack's ``__call__`` and ``step``.

    Layer ``k`` reads the outputs of layer ``k - 1`` through ``dropout`` (not after the
    last layer, as ``torch.nn.LSTM``). The carry and the trace are indexed
    ``[layer][direction]``.

    The framework's class declares ``num_layers``, ``bidirectional``, ``time_major``,
    ``return_carry``, ``unroll``, ``checkpoint_every`` and the hooks ``_layer_modules()`` (the
    :class:`LayerBody` modules) and ``_sow_trace(trace)``; it passes its dropout as a
    function of the outputs.
    """

    num_layers: int
    bidirectional: bool
    time_major: bool
    return_carry: bool
    unroll: int
    checkpoint_every: int | str | None

    def _layer_modules(self) -> Sequence[Any]:
        raise NotImplementedError

    def _sow_trace(self, trace) -> None:
        raise NotImplementedError

    def _resolve(self, inputs, options: StackCallOptions) -> StackArgs:
        """Call arguments over attributes, and the checks a layer makes before the
        kernel: the rank of the inputs and the structure of the carry (the first
        layer's kernel checks the rest)."""
        check_keywords(f'{type(self).__name__}.__call__', options, StackCallOptions)
        time_major = override(options, 'time_major', self)
        layout(inputs, time_major)
        check_stack_carry(options.get('initial_carry'), self.num_layers, self._directions)
        return StackArgs(
            initial_carry=options.get('initial_carry'),
            seq_lengths=options.get('seq_lengths'),
            return_carry=override(options, 'return_carry', self),
            time_major=time_major,
            trace=options.get('trace', False),
            unroll=self.unroll,
            checkpoint_every=override(options, 'checkpoint_every', self),
        )

    def _apply(self, inputs, dropout: Callable, options: StackCallOptions):
        """The stack's ``__call__`` once the framework has made its ``dropout``."""
        args = self._resolve(inputs, options)
        carries, traces = [], []
        x = inputs
        for k, layer in enumerate(self._layer_modules()):
            if k:
                x = dropout(x)
            c, x, t = layer(x, None if args.initial_carry is None else args.initial_carry[k], args)
            carries.append(c)
            traces.append(t)
        if args.trace:
            self._sow_trace(tuple(traces))
        return pack_result(tuple(carries), x, tuple(traces), args.return_carry, args.trace)

    def _step(self, carry, inputs, dropout: Callable):
        """One step through every layer of a unidirectional stack (for decoding)."""
        check_stack_carry(carry, self.num_layers, self._directions)
        if self.bidirectional:
            raise ValueError(
                'step needs a unidirectional stack: a backward direction reads the sequence '
                'from its end, so it cannot be decoded one token at a time.'
            )
        carries = []
        x = inputs
        for k, layer in enumerate(self._layer_modules()):
            if k:
                x = dropout(x)
            c, x = layer.step(carry[k][0], x)
            carries.append((c,))
        return tuple(carries), x

    @property
    def _directions(self) -> int:
        return 2 if self.bidirectional else 1

    def _stack_carry(self, one):
        """``carry[layer][direction]``, each ``one``."""
        return tuple(tuple(one for _ in range(self._directions)) for _ in range(self.num_layers))

    def _drops(self, rate: float) -> bool:
        """Whether there is dropout to apply: a rate, and a layer after the first."""
        return rate != 0.0 and self.num_layers > 1


def dropout_rate_of(dropout_rate: float | None, dropout: float | None) -> tuple[float, str]:
    """The dropout rate from ``dropout_rate`` or its alias ``dropout`` (PyTorch's name),
    and the name the caller used."""
    if dropout is None:
        return (0.0 if dropout_rate is None else dropout_rate), 'dropout_rate'
    if dropout_rate is not None:
        raise ValueError(
            f'dropout is an alias of dropout_rate: give one of them, got '
            f'dropout_rate={dropout_rate!r} and dropout={dropout!r}.'
        )
    return dropout, 'dropout'


def check_stack_config(num_layers, dropout_rate, dropout_name: str = 'dropout_rate'):
    if not isinstance(num_layers, int) or isinstance(num_layers, bool) or num_layers < 1:
        raise ValueError(f'num_layers must be an integer >= 1, got {num_layers!r}.')
    if not 0.0 <= float(dropout_rate) < 1.0:
        raise ValueError(f'{dropout_name} must be in [0, 1), got {dropout_rate!r}.')


def check_stack_carry(carry, num_layers: int, num_dirs: int):
    """The stack carry is ``carry[layer][direction]``, each a cell carry."""
    if carry is None:
        return
    if not isinstance(carry, (tuple, list)) or len(carry) != num_layers:
        got = (
            f'a {type(carry).__name__} of length {len(carry)}'
            if isinstance(carry, (tuple, list))
            else type(carry).__name__
        )
        raise ValueError(
            f'initial_carry must be a tuple of {num_layers} per-layer carries '
            f'(carry[layer][direction]), got {got}.'
        )
    for k, layer in enumerate(carry):
        if not isinstance(layer, (tuple, list)) or len(layer) != num_dirs:
            raise ValueError(
                f'initial_carry[{k}] must be a tuple of {num_dirs} carries (one per '
                f'direction), got {type(layer).__name__}'
                + (f' of length {len(layer)}' if isinstance(layer, (tuple, list)) else '')
                + '.'
            )
