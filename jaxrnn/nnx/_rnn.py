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

    :class:`jaxrnn.linen.RNN` as an NNX module: a jaxrnn cell runs the whole sequence
    in one call of the fused kernel, any other ``nnx.RNNCellBase`` runs step by step
    under ``nnx.scan``, with the same semantics. Inputs ``[b, t, i]`` (``[t, b, i]`` when
    ``time_major``), outputs ``[b, t, h]``.

    The call keywords are described in :class:`~jaxrnn._layers.options.RNNOptions`;
    ``time_major``, ``return_carry``, ``reverse``, ``keep_order`` and
    ``checkpoint_every`` are also constructor arguments, the defaults of the call
    keywords of the same names.

    Args:
      cell: the cell, run at every step.
      unroll: as :class:`jaxrnn.linen.RNN`'s (default 1).
      state_axes: as ``flax.nnx.RNN``'s, how ``nnx.scan`` treats the state of a cell
        that is not jaxrnn's (default ``{...: nnx.Carry}``). A jaxrnn cell has one set
        of parameters for all steps: a value is a ValueError.
      broadcast_rngs: as ``flax.nnx.RNN``'s, the RNG streams broadcast rather than
        split over the steps of another cell (a jaxrnn cell draws nothing per step).
      rngs: the ``carry`` stream of the cell's ``initialize_carry``: ``True``
        (default) a stream seeded 0, an ``nnx.Rngs`` (its ``carry`` stream, forked), an
        ``nnx.RngStream``, or ``False`` (none). A call's ``rngs`` takes precedence.

    Examples:
      The same cell object in jaxrnn's ``RNN`` (one kernel call) and in Flax's (the
      cell's step under ``nnx.scan``):

      >>> import jax, jax.numpy as jnp
      >>> from flax import nnx
      >>> import jaxrnn.nnx as jn
      >>> x = jax.random.normal(jax.random.key(0), (2, 5, 3))    # [b, t, i]
      >>> cell = jn.GRUCell(3, 4, rngs=nnx.Rngs(0))
      >>> y = jn.RNN(cell)(x)
      >>> y.shape, bool(jnp.allclose(y, nnx.RNN(cell)(x), atol=1e-6))
      ((2, 5, 4), True)

      Right-padded sequences: zero outputs at padded steps, and the carry of each
      sequence's last valid step:

      >>> model = jn.RNN(jn.LSTMCell(3, 4, rngs=nnx.Rngs(0)), return_carry=True)
      >>> (c, h), y = model(x, seq_lengths=jnp.array([5, 2]))
      >>> bool((y[1, 2:] == 0).all()), bool((h[1] == y[1, 1]).all())
      (True, True)
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
        """Runs the cell over ``inputs``; a keyword that is not ``None`` overrides the
        constructor's value of the same name.

        Args:
          inputs: ``[b, t, i]``, or ``[t, b, i]`` when ``time_major``.
          rngs: the ``carry`` stream of the cell's ``initialize_carry`` when no
            ``initial_carry`` is given (an ``nnx.Rngs`` or an ``nnx.RngStream``;
            default: the constructor's).
          **options: the keywords of :class:`~jaxrnn._layers.options.RNNOptions`:
            ``initial_carry``, ``seq_lengths``, ``return_carry``, ``time_major``,
            ``reverse``, ``keep_order``, ``trace``, ``checkpoint_every``. Under
            ``nnx.capture(..., nnx.Intermediate)`` a trace is also sown, as ``trace``.

        Returns:
          ``outputs [b, t, h]``, or ``(carry, outputs)`` with ``return_carry``; with
          ``trace`` the trace is appended.

        Examples:
          >>> import jax, jax.numpy as jnp
          >>> from flax import nnx
          >>> import jaxrnn.nnx as jn
          >>> x = jax.random.normal(jax.random.key(0), (2, 5, 3))    # [b, t, i]
          >>> model = jn.RNN(jn.LSTMCell(3, 4, rngs=nnx.Rngs(0)))
          >>> y, trace = model(x, trace=True)
          >>> type(trace).__name__, trace.f.shape, bool((trace.h == y).all())
          ('LSTMTrace', (2, 5, 4), True)
          >>> (y, trace), captured = nnx.capture(model, nnx.Intermediate)(x, trace=True)
          >>> list(captured)
          ['trace']
        """
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
    """Runs a forward and a backward RNN over the inputs and merges their outputs; a
    drop-in for ``flax.nnx.Bidirectional``.

    :class:`jaxrnn.linen.Bidirectional` as an NNX module: the same directions, merge,
    carry ``(forward_carry, backward_carry)`` and call keywords (those of
    :class:`~jaxrnn._layers.options.RNNOptions` but ``reverse`` and ``keep_order``).
    ``time_major``, ``return_carry`` and ``checkpoint_every`` are also constructor
    arguments, the defaults of the call keywords of the same names (a
    ``checkpoint_every`` that is not ``None`` overrides the RNNs' own).

    Args:
      forward_rnn: as :class:`jaxrnn.linen.Bidirectional`'s (an :class:`RNN` or Flax's).
      backward_rnn: likewise.
      merge_fn: likewise (default: concatenate along features).
      rngs: the ``carry`` stream given to both RNNs' ``initialize_carry``, as
        :class:`RNN`'s ``rngs``; a call's ``rngs`` takes precedence.

    Examples:
      >>> import jax, jax.numpy as jnp
      >>> from flax import nnx
      >>> import jaxrnn.nnx as jn
      >>> x = jax.random.normal(jax.random.key(0), (2, 5, 3))    # [b, t, i]
      >>> rngs = nnx.Rngs(0)
      >>> model = jn.Bidirectional(jn.RNN(jn.GRUCell(3, 4, rngs=rngs)),
      ...                          jn.RNN(jn.GRUCell(3, 4, rngs=rngs)))
      >>> (forward, backward), y = model(x, seq_lengths=jnp.array([5, 3]), return_carry=True)
      >>> y.shape                                  # [b, t, 2h]
      (2, 5, 8)
      >>> bool((backward == y[:, 0, 4:]).all())    # its state after reading step 0
      True
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
        """Runs both directions and merges their outputs, as
        :meth:`jaxrnn.linen.Bidirectional.__call__` (the same keywords and results),
        with ``rngs`` in place of ``init_key``: the ``carry`` stream given to both RNNs
        (default: the constructor's).

        Examples:
          >>> import jax, jax.numpy as jnp
          >>> from flax import nnx
          >>> import jaxrnn.nnx as jn
          >>> x = jax.random.normal(jax.random.key(0), (2, 5, 3))    # [b, t, i]
          >>> rngs = nnx.Rngs(0)
          >>> model = jn.Bidirectional(jn.RNN(jn.SimpleCell(3, 4, rngs=rngs)),
          ...                          jn.RNN(jn.SimpleCell(3, 4, rngs=rngs)))
          >>> y, (forward, backward) = model(x, trace=True)
          >>> bool((forward.h == y[..., :4]).all()), bool((backward.h == y[..., 4:]).all())
          (True, True)
        """
        return self._apply(inputs, rngs, options)
