"""``RNN`` and ``Bidirectional`` for Flax NNX, with the signatures of ``flax.nnx.RNN``
and ``flax.nnx.Bidirectional``. The bodies live in :mod:`jaxrnn._layers.rnn`; this
module declares the constructors, NNX's ``rngs``, ``nnx.scan`` for other cells and
``nnx.Intermediate``."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable, Mapping

import jax
from flax import nnx

from jaxrnn._layers import rnn
from jaxrnn._layers.options import RNNOptions

if TYPE_CHECKING:
    from typing_extensions import Unpack

Array = jax.Array


def sow_trace(module: nnx.Module, trace) -> None:
    """Sows a trace as ``nnx.Intermediate`` ``'trace'`` when the call runs under
    ``nnx.capture`` (outside it, NNX's ``sow`` is deprecated and the trace is only
    returned)."""
    if hasattr(module, '__captures__'):
        module.sow(nnx.Intermediate, 'trace', trace)


def carry_stream(rngs) -> Any:
    """A constructor's ``rngs`` as ``flax.nnx.RNN`` and ``Bidirectional`` keep it: ``True``
    a fresh ``'carry'`` stream seeded 0, an ``nnx.Rngs`` a fork of its ``carry`` stream,
    an ``nnx.RngStream`` itself, ``False`` (or ``None``) none."""
    if rngs is True:
        return nnx.RngStream(0, tag='carry')
    if rngs is False or rngs is None:
        return nnx.data(None)
    if isinstance(rngs, nnx.Rngs):
        return rngs.carry.fork()
    if isinstance(rngs, nnx.RngStream):
        return rngs
    raise TypeError(f'rngs must be an nnx.Rngs, nnx.RngStream or bool, got {type(rngs).__name__}.')


class RNN(rnn.RNNBody, nnx.Module):
    """Runs a cell over a sequence; a drop-in for ``flax.nnx.RNN``.

    A jaxrnn cell runs the fused sequence kernel; any other ``nnx.RNNCellBase`` runs
    step by step under ``nnx.scan`` with the same semantics (zero outputs at padded
    steps, the carry of the last valid step, the initial carry for length 0). See
    ``jaxrnn.linen.RNN`` for the arguments it shares with Linen (``cell``,
    ``time_major``, ``return_carry``, ``reverse``, ``keep_order``, ``unroll``,
    ``checkpoint_every``); the others are those of ``flax.nnx.RNN``.

    Args:
      state_axes: how ``nnx.scan`` treats the cell's state (default ``{...:
        nnx.Carry}``); other cells only: with a jaxrnn cell, a value is a ValueError
        (its parameters are the same at every step).
      broadcast_rngs: RNG streams broadcast rather than split over the steps (other
        cells; a jaxrnn cell draws nothing per step).
      rngs: the ``'carry'`` stream for ``initialize_carry``: ``True`` (default) a
        stream seeded 0, an ``nnx.Rngs`` (its ``carry`` stream, forked), an
        ``nnx.RngStream``, or ``False``. A call's ``rngs`` takes precedence.

    Examples:
      >>> import jax.numpy as jnp
      >>> from flax import nnx
      >>> import jaxrnn.nnx as jn
      >>> layer = jn.RNN(jn.GRUCell(3, 4, rngs=nnx.Rngs(0)), return_carry=True)
      >>> h, y = layer(jnp.ones((2, 5, 3)), seq_lengths=jnp.array([5, 3]))
      >>> y.shape, bool((h[1] == y[1, 2]).all())
      ((2, 5, 4), True)
      >>> capture = nnx.capture(layer, nnx.Intermediate)
      >>> (h, y, trace), sown = capture(jnp.ones((2, 5, 3)), trace=True)
      >>> trace.z.shape
      (2, 5, 4)
    """

    def __init__(
        self,
        cell,
        *,
        time_major: bool = False,
        return_carry: bool = False,
        reverse: bool = False,
        keep_order: bool = False,
        unroll: int = 1,
        checkpoint_every: int | str | None = None,
        state_axes: Mapping[Any, Any] | None = None,
        broadcast_rngs: Any = None,
        rngs: nnx.Rngs | nnx.RngStream | bool = True,
    ):
        self.cell = cell
        self.time_major = time_major
        self.return_carry = return_carry
        self.reverse = reverse
        self.keep_order = keep_order
        self.unroll = unroll
        self.checkpoint_every = checkpoint_every
        self.state_axes = state_axes
        self.broadcast_rngs = broadcast_rngs
        self.rngs = carry_stream(rngs)

    def __call__(self, inputs: Array, *, rngs: Any = None, **options: Unpack[RNNOptions]):
        """As ``jaxrnn.linen.RNN.__call__``, with ``rngs`` for ``initialize_carry``
        instead of ``init_key``. With ``trace`` the trace is appended to the result and,
        under ``nnx.capture(..., nnx.Intermediate)``, sown as ``trace``."""
        return self._apply(inputs, rngs, options)

    def _initialize_carry(self, key, input_shape):
        rngs = self.rngs if key is None else key
        if isinstance(rngs, nnx.Rngs):
            rngs = rngs.carry.fork()
        return self.cell.initialize_carry(input_shape, rngs)

    def _scan(self, inputs, carry, valid, time_axis):
        """Step-by-step ``nnx.scan`` for cells without a fused kernel, as
        ``flax.nnx.RNN`` runs it: the cell's state per ``state_axes``, the
        ``broadcast_rngs`` streams broadcast."""
        broadcast = nnx.All(nnx.RngState, self.broadcast_rngs)
        state_axes = nnx.StateAxes({broadcast: None, **(self.state_axes or {...: nnx.Carry})})

        @nnx.split_rngs(splits=1, only=self.broadcast_rngs, squeeze=True)
        @nnx.compat.scan(
            in_axes=(state_axes, nnx.Carry, time_axis),
            out_axes=(nnx.Carry, time_axis),
            unroll=self.unroll,
        )
        def body(cell, carry, xs):
            x, v = xs
            return rnn.masked_step(cell, carry, x, v)

        return body(self.cell, carry, (inputs, valid))

    def _check_fused(self):
        if self.state_axes is not None:
            raise ValueError(
                f'RNN(state_axes={self.state_axes!r}): a jaxrnn {type(self.cell).__name__} '
                'runs the fused kernel, whose parameters are the same at every step; '
                "state_axes applies to other cells (run flax's cell for per-step state)."
            )

    _sow_trace = sow_trace


class Bidirectional(rnn.BidirectionalBody, nnx.Module):
    """Both directions, merged; as ``flax.nnx.Bidirectional`` (see
    ``jaxrnn.linen.Bidirectional``, also for ``checkpoint_every``). ``rngs`` (constructor,
    as :class:`RNN`, or call) feeds both RNNs' ``initialize_carry``.

    Examples:
      >>> import jax.numpy as jnp
      >>> from flax import nnx
      >>> import jaxrnn.nnx as jn
      >>> rngs = nnx.Rngs(0)
      >>> layer = jn.Bidirectional(jn.RNN(jn.LSTMCell(3, 4, rngs=rngs)),
      ...                          jn.RNN(jn.LSTMCell(3, 4, rngs=rngs)))
      >>> layer(jnp.ones((2, 5, 3))).shape                      # outputs concatenated
      (2, 5, 8)
    """

    def __init__(
        self,
        forward_rnn,
        backward_rnn,
        *,
        merge_fn: Callable[[Array, Array], Array] = rnn.concatenate,
        time_major: bool = False,
        return_carry: bool = False,
        checkpoint_every: int | str | None = None,
        rngs: nnx.Rngs | nnx.RngStream | bool = True,
    ):
        self.forward_rnn = forward_rnn
        self.backward_rnn = backward_rnn
        self.merge_fn = merge_fn
        self.time_major = time_major
        self.return_carry = return_carry
        self.checkpoint_every = checkpoint_every
        self.rngs = carry_stream(rngs)

    def _direction_keys(self, key):
        rngs = self.rngs if key is None else key
        if isinstance(rngs, nnx.Rngs):
            rngs = rngs.carry
        return {'rngs': rngs}, {'rngs': rngs}

    def __call__(self, inputs: Array, *, rngs: Any = None, **options: Unpack[RNNOptions]):
        """As ``jaxrnn.linen.Bidirectional.__call__``; ``rngs`` goes to both RNNs."""
        return self._apply(inputs, rngs, options)
