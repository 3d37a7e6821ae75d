"""``RNN`` and ``Bidirectional`` for Flax Linen, with the signatures of
``flax.linen.RNN`` and ``flax.linen.Bidirectional``. The bodies live in
:mod:`jaxrnn._layers.rnn`; this module declares the attributes, Linen's ``init_key``,
``nn.scan`` for other cells and the ``intermediates`` collection."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable, Mapping

import flax.linen as nn
import jax
from flax.core import FrozenDict

from jaxrnn._layers import rnn
from jaxrnn._layers.options import RNNOptions

if TYPE_CHECKING:
    from typing_extensions import Unpack

Array = jax.Array


def sow_trace(module: nn.Module, trace) -> None:
    """Sows a trace as ``intermediates/trace``."""
    module.sow('intermediates', 'trace', trace)


class RNN(rnn.RNNBody, nn.Module):
    """Runs a cell over a sequence; a drop-in for ``flax.linen.RNN``.

    With a jaxrnn cell (``LSTMCell``, ``GRUCell``, ``SimpleCell``) the whole sequence
    goes through the fused kernel: one input matmul for all steps, the recurrence in a
    ``lax.scan``, a custom backward pass. Any other ``RNNCellBase`` runs step by step
    under ``nn.scan``, with the same semantics. The parameters live under ``cell`` as
    with ``flax.linen.RNN``, so the same variables work with both.

    Differences from ``flax.linen.RNN``, both deliberate: with ``seq_lengths``, outputs
    at padded steps are zero (Flax leaves whatever the cell computed), and a sequence
    of length 0 returns the initial carry (Flax returns the last step's carry).

    Attributes:
      cell: the cell.
      time_major: inputs ``[t, *batch, features]`` instead of ``[*batch, t, features]``.
      return_carry: return ``(carry, outputs)`` instead of ``outputs``.
      reverse: read each sequence from its last valid step to its first; outputs come
        in processing order (padding kept at the end) unless ``keep_order``.
      keep_order: with ``reverse``, put the outputs back in input order.
      unroll: steps unrolled per loop iteration.
      checkpoint_every: gradient checkpointing of the fused kernel: ``None`` (default),
        a chunk size ``k`` or ``'auto'`` (``ceil(sqrt(t))``); the forward pass keeps the
        state every ``k`` steps only and the backward pass recomputes the rest, chunk by
        chunk (see :func:`jaxrnn.kernels.lstm`). A call's ``checkpoint_every`` overrides
        it. jaxrnn cells only (a ValueError for another cell).
      variable_axes, variable_broadcast, variable_carry, split_rngs: passed to
        ``nn.scan`` for non-jaxrnn cells, as in Flax. A jaxrnn cell runs no
        ``nn.scan``: its parameters are broadcast over the steps and it draws no
        per-step randomness, so ``variable_broadcast`` and ``split_rngs`` change
        nothing, and ``variable_axes`` or ``variable_carry`` other than the defaults
        raise a ValueError.

    Examples:
      >>> import jax, jax.numpy as jnp
      >>> import jaxrnn.linen as nn
      >>> x = jax.random.normal(jax.random.key(0), (2, 5, 3))   # [b, t, i]
      >>> layer = nn.RNN(nn.LSTMCell(4), return_carry=True)
      >>> variables = layer.init(jax.random.key(1), x)
      >>> (c, h), y = layer.apply(variables, x, seq_lengths=jnp.array([5, 3]))
      >>> y.shape, bool((y[1, 3:] == 0).all())
      ((2, 5, 4), True)
      >>> y, trace = nn.RNN(nn.LSTMCell(4)).apply(variables, x, trace=True)   # every gate
      >>> trace.f.shape
      (2, 5, 4)
    """

    cell: nn.RNNCellBase
    time_major: bool = False
    return_carry: bool = False
    reverse: bool = False
    keep_order: bool = False
    unroll: int = 1
    variable_axes: Mapping[Any, Any] = FrozenDict()
    variable_broadcast: Any = 'params'
    variable_carry: Any = False
    split_rngs: Mapping[Any, bool] = FrozenDict({'params': False})
    checkpoint_every: int | str | None = None

    def __call__(self, inputs: Array, *, init_key: Any = None, **options: Unpack[RNNOptions]):
        """Applies the RNN to ``inputs``; the keyword arguments override the attributes.

        Args:
          inputs: ``[*batch, t, features]`` (or time-major).
          init_key: key for ``cell.initialize_carry`` when no ``initial_carry`` is given
            (default ``jax.random.key(0)``).
          **options: ``initial_carry``, ``seq_lengths``, ``return_carry``,
            ``time_major``, ``reverse``, ``keep_order``, ``trace``,
            ``checkpoint_every``, as :class:`jaxrnn._layers.options.RNNOptions`. With
            ``trace`` every gate at every step comes back (jaxrnn cells only): an
            ``LSTMTrace``/``GRUTrace``/``SimpleTrace`` of ``[*batch, t, h]`` arrays in
            the order of the outputs, also sown as ``intermediates/trace``.

        Returns:
          ``outputs`` or, with ``return_carry``, ``(carry, outputs)``; with ``trace``
          the trace is appended: ``(outputs, trace)`` or ``(carry, outputs, trace)``.
        """
        return self._apply(inputs, init_key, options)

    def _initialize_carry(self, key, input_shape):
        return self.cell.initialize_carry(jax.random.key(0) if key is None else key, input_shape)

    def _scan(self, inputs, carry, valid, time_axis):
        """Step-by-step ``nn.scan`` for cells without a fused kernel."""

        def body(cell, carry, xs):
            x, v = xs
            return rnn.masked_step(cell, carry, x, v)

        scan = nn.scan(
            body,
            in_axes=time_axis,
            out_axes=time_axis,
            unroll=self.unroll,
            variable_axes=self.variable_axes,
            variable_broadcast=self.variable_broadcast,
            variable_carry=self.variable_carry,
            split_rngs=self.split_rngs,
        )
        return scan(self.cell, carry, (inputs, valid))

    _sow_trace = sow_trace

    def _check_fused(self):
        """``variable_axes`` and ``variable_carry`` change what ``nn.scan`` does with the
        cell's variables per step; a fused cell has one set of parameters for all steps
        (what the defaults give), so another value is an error, not ignored."""
        if self.variable_axes or self.variable_carry:
            raise ValueError(
                f'RNN(variable_axes={dict(self.variable_axes)!r}, variable_carry='
                f'{self.variable_carry!r}): a jaxrnn {type(self.cell).__name__} runs the '
                'fused kernel, whose parameters are the same at every step (the defaults '
                "{} and False); for per-step variables run flax's cell (step by step)."
            )


class Bidirectional(rnn.BidirectionalBody, nn.Module):
    """Processes the input in both directions and merges the outputs, as
    ``flax.linen.Bidirectional``. The backward RNN reads each sequence in reverse within
    its length and its outputs are put back in input order before merging.

    Attributes:
      forward_rnn, backward_rnn: RNN modules (``jaxrnn.linen.RNN`` or compatible).
      merge_fn: merges the two outputs (default: concatenate features).
      time_major, return_carry: as in :class:`RNN`; the carry is
        ``(forward_carry, backward_carry)``.
      checkpoint_every: when not ``None``, passed to both RNNs (overriding theirs), as
        :class:`RNN`'s ``checkpoint_every``; a call's overrides it.

    Examples:
      >>> import jax, jax.numpy as jnp
      >>> import jaxrnn.linen as nn
      >>> x = jnp.ones((2, 5, 3))
      >>> layer = nn.Bidirectional(nn.RNN(nn.GRUCell(4)), nn.RNN(nn.GRUCell(4)), return_carry=True)
      >>> variables = layer.init(jax.random.key(0), x)
      >>> (h_forward, h_backward), y = layer.apply(variables, x)
      >>> y.shape, h_backward.shape                             # outputs concatenated
      ((2, 5, 8), (2, 4))
    """

    forward_rnn: Any
    backward_rnn: Any
    merge_fn: Callable[[Array, Array], Array] = rnn.concatenate
    time_major: bool = False
    return_carry: bool = False
    checkpoint_every: int | str | None = None

    def __call__(self, inputs: Array, *, init_key: Any = None, **options: Unpack[RNNOptions]):
        """Runs both directions (``init_key`` is split between them); the keywords are
        those of :class:`RNN`, without ``reverse`` and ``keep_order`` (a ValueError if
        one is given). With ``trace`` returns ``(..., (forward_trace,
        backward_trace))``, both in input order."""
        return self._apply(inputs, init_key, options)

    def _direction_keys(self, key):
        keys = (None, None) if key is None else tuple(jax.random.split(key))
        return {'init_key': keys[0]}, {'init_key': keys[1]}
