"""Flax NNX cells over the fused kernels (the layout and math of ``jaxrnn.linen``'s).
The behaviour lives in ``jaxrnn._layers.cells``; this module declares the
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
    """Base of the jaxrnn NNX cells: a ``flax.nnx.RNNCellBase`` holding the fused
    parameters of :class:`jaxrnn.linen.FusedCell` as ``nnx.Param`` attributes.

    The attributes ``input_kernel [i, G*h]``, ``recurrent_kernel [h, G*h]``, ``bias
    [G*h]`` and, for the GRU, ``recurrent_bias [h]`` (``i = in_features``, ``h =
    hidden_features``) are drawn by the constructor from ``rngs.params``. Inputs or a
    carry of other sizes are a ValueError naming the constructor argument.

    ``__call__`` is one step, so a cell also works inside ``flax.nnx.RNN``,
    ``nnx.scan`` and your own cells; :meth:`sequence` runs a whole sequence in one
    kernel call, which is what :class:`RNN` does.

    Args:
      in_features: the input features ``i``.
      hidden_features: the hidden units ``h``.
      carry_init: initializer of the carry (default ``None``: zeros), as ``flax.nnx``
        cells; a ``carry_init`` given to :meth:`initialize_carry` takes precedence.
      rngs: the ``nnx.Rngs`` whose ``params`` stream draws the parameters.
      kernel_metadata: metadata of the ``nnx.Param`` ``input_kernel`` (a sharding,
        say), as ``flax.nnx`` cells take it.
      recurrent_kernel_metadata: likewise, of ``recurrent_kernel``.
      bias_metadata: likewise, of ``bias`` (and of the GRU's ``recurrent_bias``).
      **options: the options of :class:`~jaxrnn._layers.options.KernelOptions`
        (initializers, ``dtype``, ``param_dtype``, ``precision``, ``backend``).

    Examples:
      >>> import jax, jax.numpy as jnp
      >>> from flax import nnx
      >>> import jaxrnn.nnx as jn
      >>> cell = jn.GRUCell(3, 4, rngs=nnx.Rngs(0))
      >>> jax.tree.map(jnp.shape, nnx.to_pure_dict(nnx.state(cell, nnx.Param)))
      {'bias': (12,), 'input_kernel': (3, 12), 'recurrent_bias': (4,), 'recurrent_kernel': (4, 12)}
      >>> h = cell.initialize_carry((2, 3))
      >>> cell(h, jnp.ones((2, 5)))
      Traceback (most recent call last):
        ...
      ValueError: inputs have 5 features but this GRUCell was built with in_features=3.
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
        """The parameters as the kernel's NamedTuple (:class:`~jaxrnn.kernels.LSTMParams`,
        :class:`~jaxrnn.kernels.GRUParams` or :class:`~jaxrnn.kernels.SimpleParams`),
        after checking ``in_features`` and ``hidden``, when given, against the
        constructor's sizes (a ValueError if they differ).

        Examples:
          The parameters as the kernels of :mod:`jaxrnn.kernels` take them:

          >>> import jax, jax.numpy as jnp
          >>> from flax import nnx
          >>> import jaxrnn.nnx as jn
          >>> from jaxrnn import kernels
          >>> xs = jax.random.normal(jax.random.key(0), (2, 5, 3))   # [b, t, i]
          >>> cell = jn.LSTMCell(3, 4, rngs=nnx.Rngs(0))
          >>> params = cell.params()
          >>> type(params).__name__, params.input_kernel.shape
          ('LSTMParams', (3, 16))
          >>> _, ys = kernels.lstm(params, xs)
          >>> bool((ys == cell.sequence(xs)[1]).all())
          True
        """
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
        """A carry for step inputs of shape ``[b, i]``, as ``flax.nnx`` cells make it.

        Zeros by default, which need no ``rngs`` (``flax.nnx`` cells need one); else
        ``carry_init`` (this argument, or the constructor's), one draw per part from the
        ``carry`` stream of ``rngs``. In ``promote(param_dtype, float32)``.

        Args:
          input_shape: the shape of one step's inputs, ``(*b, i)``.
          rngs: an ``nnx.Rngs`` (its ``carry`` stream) or a stream, needed with
            ``carry_init``.
          carry_init: initializer of each part, ``carry_init(key, [b, h], dtype)``.

        Returns:
          ``(c, h)`` for the LSTM, ``h`` otherwise; each ``[b, hidden_features]``.

        Examples:
          >>> from flax import nnx
          >>> import jaxrnn.nnx as jn
          >>> cell = jn.LSTMCell(3, 4, rngs=nnx.Rngs(0))
          >>> c, h = cell.initialize_carry((2, 3))
          >>> c.shape, h.dtype, float(abs(h).sum())
          ((2, 4), dtype('float32'), 0.0)
          >>> c, h = cell.initialize_carry((2, 3), nnx.Rngs(carry=1),
          ...                              carry_init=nnx.initializers.normal())
          >>> bool((h != 0).any())
          True
        """
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
    r"""LSTM cell, a drop-in for ``flax.nnx.LSTMCell`` and ``OptimizedLSTMCell``.

    The cell of :class:`jaxrnn.linen.LSTMCell` (its equations, gate order (i, f, g, o),
    carry ``(c, h)`` and fused parameters) as an NNX module; see :class:`FusedCell` for
    the parameters and the methods.

    Args:
      in_features: the input features ``i``.
      hidden_features: the hidden units ``h``.
      forget_bias: as :class:`jaxrnn.linen.LSTMCell`'s (default 0.0).
      gate_fn: as :class:`jaxrnn.linen.LSTMCell`'s (only the default, ``nnx.sigmoid``).
      activation_fn: as :class:`jaxrnn.linen.LSTMCell`'s (only the default,
        ``nnx.tanh``).
      rngs: the ``nnx.Rngs`` whose ``params`` stream draws the parameters.
      **options: ``carry_init`` and the ``*_metadata`` of :class:`FusedCell`, and the
        options of :class:`~jaxrnn._layers.options.KernelOptions`.

    Examples:
      ``flax.nnx.RNN(flax.nnx.LSTMCell(3, 4, rngs=...))`` after the import swap:

      >>> import jax, jax.numpy as jnp
      >>> from flax import nnx
      >>> import jaxrnn.nnx as jn
      >>> x = jnp.ones((2, 5, 3))                               # [b, t, i]
      >>> model = jn.RNN(jn.LSTMCell(3, 4, rngs=nnx.Rngs(0)))
      >>> model(x).shape
      (2, 5, 4)
      >>> model.cell.recurrent_kernel.shape                     # [h, 4h]
      (4, 16)
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
      >>> import jax.numpy as jnp
      >>> from flax import nnx
      >>> import jaxrnn.nnx as jn
      >>> x = jnp.ones((2, 3))
      >>> a = jn.OptimizedLSTMCell(3, 4, rngs=nnx.Rngs(0))
      >>> b = jn.LSTMCell(3, 4, rngs=nnx.Rngs(0))
      >>> carry = a.initialize_carry(x.shape)
      >>> bool((a(carry, x)[1] == b(carry, x)[1]).all())
      True
    """


class GRUCell(cells.GRUCellBody, FusedCell):
    r"""GRU cell, a drop-in for ``flax.nnx.GRUCell``.

    The cell of :class:`jaxrnn.linen.GRUCell` (its equations, gate order (r, z, n),
    carry ``h`` and fused parameters) as an NNX module; see :class:`FusedCell` for the
    parameters and the methods. Unlike ``flax.nnx.GRUCell`` (google/flax#5594) it keeps
    ``b_hn`` (``recurrent_bias``), as ``flax.linen.GRUCell``, PyTorch, cuDNN and Keras
    do, so the same weights give the same numbers in all of them.

    Args:
      in_features: the input features ``i``.
      hidden_features: the hidden units ``h``.
      reset_after: as :class:`jaxrnn.linen.GRUCell`'s (default ``True``).
      gate_fn: as :class:`LSTMCell`'s.
      activation_fn: as :class:`LSTMCell`'s.
      rngs: the ``nnx.Rngs`` whose ``params`` stream draws the parameters.
      **options: as :class:`LSTMCell`'s.

    Examples:
      >>> from flax import nnx
      >>> import jaxrnn.nnx as jn
      >>> jn.GRUCell(3, 4, rngs=nnx.Rngs(0)).recurrent_bias.shape     # b_hn
      (4,)
      >>> print(nnx.GRUCell(3, 4, rngs=nnx.Rngs(0)).dense_h.bias)     # flax.nnx: none
      None
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
    r"""Simple (Elman) cell, a drop-in for ``flax.nnx.SimpleCell``.

    The cell of :class:`jaxrnn.linen.SimpleCell` (its equation and parameters) as an
    NNX module; see :class:`FusedCell` for the parameters and the methods.

    Args:
      in_features: the input features ``i``.
      hidden_features: the hidden units ``h``.
      activation: as :class:`jaxrnn.linen.SimpleCell`'s (default ``'tanh'``).
      activation_fn: as :class:`jaxrnn.linen.SimpleCell`'s, with ``nnx.tanh`` or
        ``nnx.relu`` (default ``None``).
      residual: as :class:`jaxrnn.linen.SimpleCell`'s (only ``False``).
      rngs: the ``nnx.Rngs`` whose ``params`` stream draws the parameters.
      **options: as :class:`LSTMCell`'s.

    Examples:
      >>> import jax
      >>> from flax import nnx
      >>> import jaxrnn.nnx as jn
      >>> x = jax.random.normal(jax.random.key(0), (2, 5, 3))   # [b, t, i]
      >>> cell = jn.SimpleCell(3, 4, activation_fn=nnx.relu, rngs=nnx.Rngs(0))
      >>> h, y = cell.sequence(x)
      >>> y.shape, bool((y >= 0).all())
      ((2, 5, 4), True)
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
