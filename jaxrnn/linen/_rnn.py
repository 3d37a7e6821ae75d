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

    With a jaxrnn cell (:class:`LSTMCell`, :class:`OptimizedLSTMCell`,
    :class:`GRUCell`, :class:`SimpleCell`) the whole sequence goes through the fused
    kernel in one call (as the cell's :meth:`~FusedCell.sequence`): one input matmul for
    all steps, the recurrence in a ``lax.scan``, a custom backward pass. Any other
    ``flax.linen.RNNCellBase`` runs step by step under ``nn.scan``, with the same
    semantics. The parameters live under ``cell``, as with ``flax.linen.RNN``; the
    guide "Switching from Flax" converts the parameters of Flax's cells.

    Inputs ``[b, t, i]`` (``[t, b, i]`` when ``time_major``), outputs ``[b, t, h]``.
    The call keywords are described once, in
    :class:`~jaxrnn._layers.options.RNNOptions` (with how ``seq_lengths`` differs from
    Flax); ``time_major``, ``return_carry``, ``reverse``, ``keep_order`` and
    ``checkpoint_every`` are also attributes, the defaults of the call keywords of the
    same names.

    Attributes:
      cell: the cell, run at every step.
      unroll: steps unrolled per loop iteration (of the kernel's ``lax.scan``, or of
        ``nn.scan``).
      variable_axes: passed to ``nn.scan`` for a cell that is not jaxrnn's, as Flax
        does. A jaxrnn cell has one set of parameters for all steps: a value other
        than the default ``{}`` is a ValueError.
      variable_broadcast: passed to ``nn.scan`` for another cell; changes nothing for
        a jaxrnn cell.
      variable_carry: as ``variable_axes`` (only the default ``False`` with a jaxrnn
        cell).
      split_rngs: as ``variable_broadcast`` (a jaxrnn cell draws no randomness per
        step).

    Examples:
      The same variables in jaxrnn's ``RNN`` (one kernel call) and in Flax's (the
      cell's step under ``nn.scan``):

      >>> import jax, jax.numpy as jnp
      >>> import flax.linen as nn
      >>> import jaxrnn.linen as jl
      >>> x = jax.random.normal(jax.random.key(0), (2, 5, 3))    # [b, t, i]
      >>> model = jl.RNN(jl.GRUCell(4))
      >>> variables = model.init(jax.random.key(1), x)
      >>> y = model.apply(variables, x)
      >>> y_flax = nn.RNN(jl.GRUCell(4)).apply(variables, x)
      >>> y.shape, bool(jnp.allclose(y, y_flax, atol=1e-6))
      ((2, 5, 4), True)

      Right-padded sequences: zero outputs at padded steps, and the carry of each
      sequence's last valid step:

      >>> lengths = jnp.array([5, 2])
      >>> h, y = model.apply(variables, x, seq_lengths=lengths, return_carry=True)
      >>> bool((y[1, 2:] == 0).all()), bool((h[1] == y[1, 1]).all())
      (True, True)

      Every gate at every step:

      >>> y, trace = model.apply(variables, x, trace=True)
      >>> type(trace).__name__, trace.z.shape, bool((trace.h == y).all())
      ('GRUTrace', (2, 5, 4), True)
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
        """Runs the cell over ``inputs``; a keyword that is not ``None`` overrides the
        attribute of the same name.

        Args:
          inputs: ``[b, t, i]``, or ``[t, b, i]`` when ``time_major``.
          init_key: the key of ``cell.initialize_carry`` when no ``initial_carry`` is
            given (default ``jax.random.key(0)``, as Flax).
          **options: the keywords of :class:`~jaxrnn._layers.options.RNNOptions`:
            ``initial_carry``, ``seq_lengths``, ``return_carry``, ``time_major``,
            ``reverse``, ``keep_order``, ``trace``, ``checkpoint_every``. A trace is
            also sown in the ``intermediates`` collection, as ``trace``.

        Returns:
          ``outputs [b, t, h]``, or ``(carry, outputs)`` with ``return_carry``; with
          ``trace`` the trace is appended.

        Examples:
          ``reverse`` reads each sequence from its last valid step; the outputs come in
          processing order, or in input order with ``keep_order``:

          >>> import jax, jax.numpy as jnp
          >>> import jaxrnn.linen as jl
          >>> x = jax.random.normal(jax.random.key(0), (1, 4, 3))    # [b, t, i]
          >>> lengths = jnp.array([3])                               # one padded step
          >>> model = jl.RNN(jl.SimpleCell(2), reverse=True)
          >>> variables = model.init(jax.random.key(1), x)
          >>> y = model.apply(variables, x, seq_lengths=lengths)
          >>> y_kept = model.apply(variables, x, seq_lengths=lengths, keep_order=True)
          >>> bool((y[:, :3] == y_kept[:, 2::-1]).all()), bool((y[:, 3] == 0).all())
          (True, True)

          The trace, sown:

          >>> (y, trace), state = model.apply(variables, x, trace=True, mutable=['intermediates'])
          >>> jax.tree.map(jnp.shape, state['intermediates'])
          {'trace': (SimpleTrace(h=(1, 4, 2)),)}
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
    """Runs a forward and a backward RNN over the inputs and merges their outputs; a
    drop-in for ``flax.linen.Bidirectional``.

    The backward RNN reads each sequence from its last valid step (``seq_lengths``) to
    its first and its outputs come back in input order, so the two merge step by step:
    with the default ``merge_fn``, outputs ``[b, t, h_forward + h_backward]``. The carry
    is ``(forward_carry, backward_carry)``; the backward one is its state after reading
    the first step.

    The call keywords are those of :class:`~jaxrnn._layers.options.RNNOptions` but
    ``reverse`` and ``keep_order``; ``time_major``, ``return_carry`` and
    ``checkpoint_every`` are also attributes, the defaults of the call keywords of the
    same names (a ``checkpoint_every`` that is not ``None`` overrides the RNNs' own).

    Attributes:
      forward_rnn: the RNN of the forward direction (:class:`RNN` or Flax's).
      backward_rnn: the RNN of the backward direction, called with ``reverse=True``
        and ``keep_order=True``.
      merge_fn: merges the two outputs, ``merge_fn(forward, backward)`` (default:
        concatenate along features).

    Examples:
      >>> import jax, jax.numpy as jnp
      >>> import jaxrnn.linen as jl
      >>> x = jax.random.normal(jax.random.key(0), (2, 5, 3))    # [b, t, i]
      >>> model = jl.Bidirectional(jl.RNN(jl.LSTMCell(4)), jl.RNN(jl.LSTMCell(4)))
      >>> variables = model.init(jax.random.key(1), x)
      >>> list(variables['params'])
      ['forward_rnn', 'backward_rnn']
      >>> (forward, backward), y = model.apply(variables, x, return_carry=True)
      >>> y.shape
      (2, 5, 8)
      >>> c, h = backward                          # its state after reading step 0
      >>> bool((h == y[:, 0, 4:]).all())
      True
    """

    forward_rnn: Any
    backward_rnn: Any
    merge_fn: Callable[[Array, Array], Array] = rnn.concatenate
    time_major: bool = False
    return_carry: bool = False
    checkpoint_every: int | str | None = None

    def __call__(self, inputs: Array, *, init_key: Any = None, **options: Unpack[RNNOptions]):
        """Runs both directions and merges their outputs.

        Args:
          inputs: ``[b, t, i]``, or ``[t, b, i]`` when ``time_major``.
          init_key: the key of the RNNs' initial carries when no ``initial_carry`` is
            given, split between the two.
          **options: the keywords of :class:`~jaxrnn._layers.options.RNNOptions`;
            ``initial_carry`` is ``(forward_carry, backward_carry)``. ``reverse`` and
            ``keep_order`` are in the signature for Flax's ``RNNBase`` protocol only: a
            ValueError if one is given.

        Returns:
          ``outputs [b, t, ...]`` as ``merge_fn`` makes them, or ``((forward_carry,
          backward_carry), outputs)`` with ``return_carry``; with ``trace``,
          ``(forward_trace, backward_trace)`` appended, both in input order.

        Examples:
          >>> import jax, jax.numpy as jnp
          >>> import jaxrnn.linen as jl
          >>> x = jax.random.normal(jax.random.key(0), (2, 5, 3))    # [b, t, i]
          >>> model = jl.Bidirectional(jl.RNN(jl.GRUCell(4)), jl.RNN(jl.GRUCell(4)),
          ...                          merge_fn=lambda f, b: f + b)
          >>> variables = model.init(jax.random.key(1), x)
          >>> y, (forward, backward) = model.apply(variables, x, trace=True)
          >>> y.shape, bool(jnp.allclose(y, forward.h + backward.h))
          ((2, 5, 4), True)
        """
        return self._apply(inputs, init_key, options)

    def _direction_keys(self, key):
        keys = (None, None) if key is None else tuple(jax.random.split(key))
        return {'init_key': keys[0]}, {'init_key': keys[1]}
