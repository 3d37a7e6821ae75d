"""Flax NNX cells over the fused kernels (same layout and math as ``jaxrnn.linen``).
The behaviour lives in :mod:`jaxrnn._layers.cells`; this module declares the
constructors and the ``nnx.Param`` attributes."""

from __future__ import annotations

from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Mapping

from flax import nnx
from flax.nnx import initializers

from jaxrnn._layers import cells
from jaxrnn._layers.options import (
    KERNEL_DEFAULTS,
    CellOptions,
    Initializer,
    KernelOptions,
    check_keywords,
)
from jaxrnn.kernels._types import param_fields

if TYPE_CHECKING:
    from typing_extensions import Unpack


class NNXCellOptions(CellOptions, total=False):
    """A cell's options in NNX: :class:`~jaxrnn._layers.options.CellOptions` and the
    ``nnx.Param`` metadata of ``flax.nnx`` cells (see :class:`FusedCell`)."""

    kernel_metadata: Mapping[str, Any]
    recurrent_kernel_metadata: Mapping[str, Any]
    bias_metadata: Mapping[str, Any]


class FusedCell(cells.FusedCellBody, nnx.RNNCellBase):
    """Base of the jaxrnn NNX cells: ``nnx.Param`` attributes in the fused layout
    (``input_kernel [in, G*h]``, ``recurrent_kernel [h, G*h]``, ``bias [G*h]``, and
    ``recurrent_bias [h]`` for the GRU); see ``jaxrnn.linen.FusedCell``.

    Args:
      in_features, hidden_features: sizes.
      carry_init: initializer of the carry (default: zeros), as ``flax.nnx`` cells; an
        ``initialize_carry(..., carry_init=...)`` argument takes precedence.
      rngs: ``nnx.Rngs`` for parameter initialization.
      kernel_metadata, recurrent_kernel_metadata, bias_metadata: as ``flax.nnx``
        cells: metadata (a sharding, say) of the ``nnx.Param`` of ``input_kernel``,
        ``recurrent_kernel``, and ``bias`` (and the GRU's ``recurrent_bias``).
      **options: ``kernel_init``, ``recurrent_kernel_init`` (per gate block),
        ``bias_init``, ``dtype``, ``param_dtype``, ``precision``, ``backend``; see
        :class:`jaxrnn._layers.options.KernelOptions` (Flax's defaults).

    Examples:
      >>> import jax.numpy as jnp
      >>> from flax import nnx
      >>> import jaxrnn.nnx as jn
      >>> cell = jn.LSTMCell(3, 4, rngs=nnx.Rngs(0))            # in_features, hidden_features
      >>> x = jnp.ones((2, 3))                                  # one step, [b, i]
      >>> (c, h), y = cell(cell.initialize_carry(x.shape), x)
      >>> c.shape, bool((h == y).all())
      ((2, 4), True)
      >>> cell.recurrent_kernel.value.shape                     # [h, 4h]
      (4, 16)
    """

    def __init__(
        self,
        in_features: int,
        hidden_features: int,
        *,
        carry_init: Initializer | None = None,
        rngs: nnx.Rngs,
        kernel_metadata: Mapping[str, Any] = MappingProxyType({}),
        recurrent_kernel_metadata: Mapping[str, Any] = MappingProxyType({}),
        bias_metadata: Mapping[str, Any] = MappingProxyType({}),
        **options: Unpack[KernelOptions],
    ):
        check_keywords(type(self).__name__, options, KernelOptions, owner=0)
        self.in_features = in_features
        self.hidden_features = hidden_features
        self.carry_init = carry_init
        for name, value in {**KERNEL_DEFAULTS, **options}.items():
            setattr(self, name, value)
        metadata = {
            'input_kernel': kernel_metadata,
            'recurrent_kernel': recurrent_kernel_metadata,
            'bias': bias_metadata,
            'recurrent_bias': bias_metadata,
        }
        for name, (init, shape) in self._param_specs(in_features, hidden_features).items():
            value = init(rngs.params(), shape, self.param_dtype)
            setattr(self, name, nnx.Param(value, **metadata[name]))

    def params(self, in_features: int | None = None, hidden: int | None = None):
        """The parameters as the kernel's NamedTuple, after checking ``in_features`` and
        ``hidden`` (when given) against the constructor's sizes."""
        name = type(self).__name__
        if in_features is not None and in_features != self.in_features:
            raise ValueError(
                f'inputs have {in_features} features but this {name} was built with '
                f'in_features={self.in_features}.'
            )
        if hidden is not None and hidden != self.hidden_features:
            raise ValueError(
                f'carry has {hidden} units but this {name} was built with '
                f'hidden_features={self.hidden_features}: pass a carry of '
                f'{self.hidden_features} units or build the cell with hidden_features={hidden}.'
            )
        fields = param_fields(self._kernel_cell())
        return self._pack_params({name: getattr(self, name)[...] for name in fields})

    def hidden_size(self, carry) -> int:
        """The carry's size (checked against ``hidden_features`` by :meth:`params`)."""
        units = cells.carry_units(self._kernel_cell(), carry)
        return self.hidden_features if units is None else units

    def initialize_carry(
        self,
        input_shape: tuple[int, ...],
        rngs: nnx.Rngs | Any = None,
        carry_init: Initializer | None = None,
    ):
        """A carry for inputs ``[*batch, in]`` in float32 (float64 for float64 params):
        zeros by default, else ``carry_init`` (this argument, or the constructor's),
        which needs ``rngs`` (its ``carry`` stream)."""
        carry_init = self.carry_init if carry_init is None else carry_init
        n = self.carry_parts
        if carry_init is None:
            zeros = initializers.zeros_init()
            return self._new_carry(zeros, [None] * n, input_shape, self.hidden_features)
        if rngs is None:
            raise ValueError('rngs must be given to initialize the carry with carry_init.')
        stream = rngs.carry if isinstance(rngs, nnx.Rngs) else rngs
        keys = [stream() for _ in range(n)]  # one draw per part, as flax.nnx
        return self._new_carry(carry_init, keys, input_shape, self.hidden_features)


class LSTMCell(cells.LSTMCellBody, FusedCell):
    r"""LSTM cell, gate order (i, f, g, o), carry ``(c, h)``; a drop-in for
    ``flax.nnx.LSTMCell`` / ``OptimizedLSTMCell``::

      i, f, o = sigmoid(.), g = tanh(.)  of  x W_ih + h W_hh + b
      c' = f * c + i * g,   h' = o * tanh(c')

    Args:
      in_features, hidden_features: sizes.
      forget_bias: added to the forget-gate bias at initialization (default 0.0).
      gate_fn, activation_fn: Flax's; only ``nnx.sigmoid`` and ``nnx.tanh`` (the
        defaults), which the kernel computes; another function is a ValueError.
      rngs: ``nnx.Rngs`` for parameter initialization.
      **options: ``carry_init``, the ``*_metadata`` of :class:`FusedCell` and the
        :class:`~jaxrnn._layers.options.KernelOptions` (initializers, ``dtype``,
        ``param_dtype``, ``precision``, ``backend``).

    Examples:
      >>> import jax.numpy as jnp
      >>> from flax import nnx
      >>> import jaxrnn.nnx as jn
      >>> layer = jn.RNN(jn.LSTMCell(3, 4, rngs=nnx.Rngs(0)))
      >>> layer(jnp.ones((2, 5, 3))).shape                      # [b, t, h]
      (2, 5, 4)
    """

    def __init__(
        self,
        in_features: int,
        hidden_features: int,
        *,
        forget_bias: float = 0.0,
        gate_fn: Any = nnx.sigmoid,
        activation_fn: Any = nnx.tanh,
        rngs: nnx.Rngs,
        **options: Unpack[NNXCellOptions],
    ):
        self.forget_bias = forget_bias
        self.gate_fn, self.activation_fn = gate_fn, activation_fn
        super().__init__(in_features, hidden_features, rngs=rngs, **options)


class OptimizedLSTMCell(LSTMCell):
    """:class:`LSTMCell` under the name of ``flax.nnx.OptimizedLSTMCell``, for the
    import swap (both Flax classes compute the same function; jaxrnn runs both on the
    fused kernel).

    Examples:
      >>> import jax, jax.numpy as jnp
      >>> import flax.nnx
      >>> import jaxrnn.nnx as jn
      >>> from jaxrnn import convert
      >>> x = jax.random.normal(jax.random.key(0), (2, 5, 3))
      >>> flax_layer = flax.nnx.RNN(flax.nnx.OptimizedLSTMCell(3, 4, rngs=flax.nnx.Rngs(0)))
      >>> ours = jn.RNN(jn.OptimizedLSTMCell(3, 4, rngs=flax.nnx.Rngs(1)))
      >>> _ = convert.load(convert.from_flax(flax_layer), ours)  # Flax's weights, fused
      >>> bool(jnp.allclose(ours(x), flax_layer(x), atol=1e-6))
      True
    """


class GRUCell(cells.GRUCellBody, FusedCell):
    r"""GRU cell, gate order (r, z, n), carry ``h``::

      n  = tanh(x W_in + b_in + r * (h W_hn + b_hn))     (reset_after=True, default)
      h' = (1 - z) * n + z * h

    Unlike ``flax.nnx.GRUCell`` (google/flax#5594) it keeps ``b_hn``
    (``recurrent_bias``), as PyTorch, cuDNN, Keras and ``flax.linen.GRUCell`` do.
    ``reset_after=False`` gives Cho et al. (2014). Other arguments as :class:`LSTMCell`.

    Examples:
      >>> import jax.numpy as jnp
      >>> from flax import nnx
      >>> import jaxrnn.nnx as jn
      >>> cell = jn.GRUCell(3, 4, rngs=nnx.Rngs(0))
      >>> sorted(nnx.state(cell, nnx.Param))                    # keeps b_hn, as Linen and PyTorch
      ['bias', 'input_kernel', 'recurrent_bias', 'recurrent_kernel']
      >>> jn.RNN(cell)(jnp.ones((2, 5, 3)), seq_lengths=jnp.array([5, 2]))[1, 2:].sum()
      Array(0., dtype=float32)
    """

    def __init__(
        self,
        in_features: int,
        hidden_features: int,
        *,
        reset_after: bool = True,
        gate_fn: Any = nnx.sigmoid,
        activation_fn: Any = nnx.tanh,
        rngs: nnx.Rngs,
        **options: Unpack[NNXCellOptions],
    ):
        self.reset_after = reset_after
        self.gate_fn, self.activation_fn = gate_fn, activation_fn
        super().__init__(in_features, hidden_features, rngs=rngs, **options)


class SimpleCell(cells.SimpleCellBody, FusedCell):
    r"""Simple (Elman) cell, carry ``h``: ``h' = tanh(x W_ih + b + h W_hh)``, or relu
    with ``activation='relu'`` (or Flax's ``activation_fn=nnx.relu``). Flax's
    ``residual=True`` is a ValueError (another function). Other arguments as
    :class:`LSTMCell`.

    Examples:
      >>> import jax.numpy as jnp
      >>> from flax import nnx
      >>> import jaxrnn.nnx as jn
      >>> layer = jn.RNN(jn.SimpleCell(3, 4, rngs=nnx.Rngs(0)))
      >>> bool((jnp.abs(layer(jnp.ones((2, 5, 3)))) < 1).all())   # tanh
      True
    """

    def __init__(
        self,
        in_features: int,
        hidden_features: int,
        *,
        activation: str = 'tanh',
        activation_fn: Any = None,
        residual: bool = False,
        rngs: nnx.Rngs,
        **options: Unpack[NNXCellOptions],
    ):
        self.activation = activation
        self.activation_fn, self.residual = activation_fn, residual
        super().__init__(in_features, hidden_features, rngs=rngs, **options)
