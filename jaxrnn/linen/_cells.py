"""Flax Linen cells over the fused kernels. Each cell is a ``flax.linen.RNNCellBase``:
``__call__(carry, x) -> (carry, y)`` is one step (so the cell works inside Flax's own
``nn.RNN`` and inside a user's custom cell), and ``sequence`` runs the fused sequence
kernel, which ``jaxrnn.linen.RNN`` calls. Both use the same parameters.

The behaviour lives in :mod:`jaxrnn._layers.cells`; this module declares the attributes
and the parameters.
"""

from __future__ import annotations

import warnings
from typing import Any

import flax.linen as nn
import jax
from flax.linen import initializers

from jaxrnn._layers import cells
from jaxrnn._layers.options import KERNEL_DEFAULTS, Initializer


class Features(nn.Module):
    """``features``, the first attribute of every jaxrnn Linen cell and stack."""

    features: int


class KernelAttributes(Features):
    """The attributes of :class:`~jaxrnn._layers.options.KernelOptions`.

    Linen collects dataclass fields base class first, so a class with bases
    ``(KernelAttributes, Other)`` where ``Other`` extends :class:`Features` has the
    fields ``features``, ``Other``'s, then these.
    """

    kernel_init: Initializer = KERNEL_DEFAULTS['kernel_init']
    recurrent_kernel_init: Initializer = KERNEL_DEFAULTS['recurrent_kernel_init']
    bias_init: Initializer = KERNEL_DEFAULTS['bias_init']
    dtype: Any = KERNEL_DEFAULTS['dtype']
    param_dtype: Any = KERNEL_DEFAULTS['param_dtype']
    precision: Any = KERNEL_DEFAULTS['precision']
    backend: str = KERNEL_DEFAULTS['backend']


class FusedCell(cells.FusedCellBody, KernelAttributes, nn.RNNCellBase):
    """Base of the jaxrnn Linen cells: a ``flax.linen.RNNCellBase`` whose parameters
    are in the fused layout.

    The parameters, one set shared by the step and the sequence kernel, with ``G``
    gates (4 LSTM, 3 GRU, 1 simple) side by side in the cell's gate order::

      input_kernel      [i, G*h]
      recurrent_kernel  [h, G*h]
      bias              [G*h]
      recurrent_bias    [h]          GRU only: b_hn

    ``init`` creates them at the first call, sized as ``flax.linen`` cells size theirs:
    ``i`` from the inputs and ``h`` from the carry's ``h.shape[-1]``; ``features`` is
    read only by :meth:`initialize_carry` (a carry of another size gets a warning naming
    both sizes). Inputs or a carry that do not fit existing parameters are a ValueError
    naming the argument and both sizes.

    ``__call__`` is one step, so a cell also works inside ``flax.linen.RNN``,
    ``nn.scan`` and your own cells; :meth:`sequence` runs a whole sequence in one
    kernel call, which is what :class:`RNN` does.

    Attributes:
      features: the number of hidden units ``h``; give the attributes after it by
        keyword (their order differs from Flax's).
      carry_init: initializer of the carry (default: zeros, as Flax).

    The options of :class:`~jaxrnn._layers.options.KernelOptions` (``kernel_init``,
    ``recurrent_kernel_init``, ``bias_init``, ``dtype``, ``param_dtype``, ``precision``,
    ``backend``) are attributes too.

    Examples:
      >>> import jax, jax.numpy as jnp
      >>> import jaxrnn.linen as jl
      >>> x = jnp.ones((2, 3))                                  # [b, i]
      >>> cell = jl.GRUCell(4)
      >>> carry = cell.initialize_carry(jax.random.key(0), x.shape)
      >>> variables = cell.init(jax.random.key(1), carry, x)
      >>> jax.tree.map(jnp.shape, variables['params'])
      {'bias': (12,), 'input_kernel': (3, 12), 'recurrent_bias': (4,), 'recurrent_kernel': (4, 12)}
      >>> cell.apply(variables, carry, jnp.ones((2, 5)))
      Traceback (most recent call last):
        ...
      ValueError: inputs have 5 features but the parameters of this GRUCell ... expect 3.
      ...
    """

    carry_init: Initializer = initializers.zeros_init()

    # Listed here so that Linen wraps them (it wraps only a class's own methods).
    __call__ = cells.FusedCellBody.__call__
    sequence = cells.FusedCellBody.sequence

    @nn.compact
    def params(self, in_features: int, hidden: int):
        """The parameters as the kernel's NamedTuple (:class:`~jaxrnn.kernels.LSTMParams`,
        :class:`~jaxrnn.kernels.GRUParams` or :class:`~jaxrnn.kernels.SimpleParams`),
        created at ``init`` or read, for inputs of ``in_features`` and a carry of
        ``hidden`` units (a ValueError if they do not fit existing parameters).

        Examples:
          The parameters as the kernels of :mod:`jaxrnn.kernels` take them:

          >>> import jax, jax.numpy as jnp
          >>> import jaxrnn.linen as jl
          >>> from jaxrnn import kernels
          >>> xs = jax.random.normal(jax.random.key(0), (2, 5, 3))   # [b, t, i]
          >>> cell = jl.LSTMCell(4)
          >>> carry = cell.initialize_carry(None, (2, 3))
          >>> variables = cell.init(jax.random.key(1), carry, xs[:, 0])
          >>> params = cell.apply(variables, 3, 4, method='params')
          >>> type(params).__name__, params.recurrent_kernel.shape
          ('LSTMParams', (4, 16))
          >>> _, ys = kernels.lstm(params, xs)
          >>> _, ys_cell = cell.apply(variables, xs, method='sequence')
          >>> bool((ys == ys_cell).all())
          True
        """
        if self.has_variable('params', 'recurrent_kernel'):
            name = type(self).__name__
            rows: int = self.get_variable('params', 'input_kernel').shape[0]
            if rows != in_features:
                raise ValueError(
                    f'inputs have {in_features} features but the parameters of this {name} '
                    f'(input_kernel {rows} x ...) expect {rows}.'
                )
            units: int = self.get_variable('params', 'recurrent_kernel').shape[0]
            if units != hidden:
                raise ValueError(
                    f'carry has {hidden} units but the parameters of this {name} were '
                    f'created for {units} (recurrent_kernel {units} x ...): pass a carry of '
                    f'{units} units, as at init.'
                )
        specs = self._param_specs(in_features, hidden)
        return self._pack_params(
            {
                name: self.param(name, init, shape, self.param_dtype)
                for name, (init, shape) in specs.items()
            }
        )

    @nn.nowrap
    def hidden_size(self, carry) -> int:
        """The carry's size, as ``flax.linen`` cells take it (``h.shape[-1]``; they never
        read ``features`` at call time), else ``features``. A carry of another size than
        ``features`` gets a warning naming both."""
        units = cells.carry_units(self._kernel_cell(), carry)
        if units is None:
            return self.features
        if units != self.features:
            warnings.warn(
                f'{type(self).__name__}(features={self.features}) was given a carry of '
                f'{units} units: its parameters are sized from the carry ({units}), as '
                'flax.linen cells do; features is used only by initialize_carry.',
                UserWarning,
                stacklevel=2,
            )
        return units

    @nn.nowrap
    def initialize_carry(self, rng, input_shape: tuple[int, ...]):
        """A carry for step inputs of shape ``[b, i]``, as ``flax.linen`` cells make it.

        Each part is ``carry_init(key, [b, features], dtype)`` with ``dtype``
        ``promote(param_dtype, float32)`` (float32 for bfloat16 parameters); the LSTM
        splits ``rng`` into one key per part, as Flax. It needs no bound module.

        Args:
          rng: a key for ``carry_init`` (``None`` will do for the default zeros).
          input_shape: the shape of one step's inputs, ``(*b, i)``.

        Returns:
          ``(c, h)`` for the LSTM, ``h`` otherwise; each ``[b, features]``.

        Examples:
          >>> import jax, jax.numpy as jnp
          >>> import jaxrnn.linen as jl
          >>> c, h = jl.LSTMCell(4).initialize_carry(jax.random.key(0), (2, 3))
          >>> c.shape, h.shape, float(jnp.abs(h).sum())
          ((2, 4), (2, 4), 0.0)
          >>> jl.GRUCell(4, param_dtype=jnp.bfloat16).initialize_carry(None, (2, 3)).dtype
          dtype('float32')
        """
        n = self.carry_parts  # keys as flax.linen: the rng itself, or split per part
        keys = [rng] * n if n == 1 or rng is None else list(jax.random.split(rng, n))
        return self._new_carry(self.carry_init, keys, input_shape, self.features)


class LSTMCell(cells.LSTMCellBody, FusedCell):
    r"""LSTM cell, a drop-in for ``flax.linen.LSTMCell`` and ``OptimizedLSTMCell``.

    Gate order (i, f, g, o), carry ``(c, h)``, each ``[b, h]``; with ``W_ih`` the
    ``input_kernel [i, 4h]``, ``W_hh`` the ``recurrent_kernel [h, 4h]`` and ``b`` the
    ``bias [4h]``, split into the four gate blocks::

      (a_i, a_f, a_g, a_o) = x W_ih + h W_hh + b
      i = sigmoid(a_i)     f = sigmoid(a_f)     g = tanh(a_g)     o = sigmoid(a_o)
      c' = f * c + i * g
      h' = o * tanh(c')                         (the output y)

    The same equations, initializers (not the same random draws) and carry as Flax's two
    classes, with the gate weights fused (see :class:`FusedCell` for the parameters and
    the methods).

    Attributes:
      forget_bias: added to the forget-gate block of ``bias`` at initialization
        (default 0.0, as Flax; 1.0 is the advice of Jozefowicz et al. 2015). It is part
        of the parameters, so it travels with them.
      gate_fn: Flax's; only ``nn.sigmoid`` (the default), which the kernel computes;
        another function is a ValueError.
      activation_fn: Flax's; only ``nn.tanh`` (the default), likewise.

    Examples:
      ``flax.linen.RNN(flax.linen.LSTMCell(4))`` after the import swap: the same
      parameter path, ``cell``, holding the fused parameters:

      >>> import jax, jax.numpy as jnp
      >>> import jaxrnn.linen as jl
      >>> x = jnp.ones((2, 5, 3))                               # [b, t, i]
      >>> model = jl.RNN(jl.LSTMCell(4))
      >>> variables = model.init(jax.random.key(0), x)
      >>> jax.tree.map(jnp.shape, variables)
      {'params': {'cell': {'bias': (16,), 'input_kernel': (3, 16), 'recurrent_kernel': (4, 16)}}}
      >>> model.apply(variables, x).shape
      (2, 5, 4)

      ``forget_bias`` sets the second of the four gate blocks of ``bias``:

      >>> cell = jl.LSTMCell(4, forget_bias=1.0)
      >>> carry = cell.initialize_carry(None, (2, 3))
      >>> bias = cell.init(jax.random.key(0), carry, x[:, 0])['params']['bias']
      >>> bias.reshape(4, 4)[:, 0]                              # gates i, f, g, o
      Array([0., 1., 0., 0.], dtype=float32)
    """

    forget_bias: float = 0.0
    gate_fn: Any = nn.sigmoid
    activation_fn: Any = nn.tanh


class OptimizedLSTMCell(LSTMCell):
    """:class:`LSTMCell` under the name of ``flax.linen.OptimizedLSTMCell``.

    Both Flax classes compute the same function and jaxrnn runs both on the fused
    kernel; the second name keeps Flax's auto-generated module names
    (``OptimizedLSTMCell_0``), and so every parameter path, the same after the import
    swap.

    Examples:
      A decoder cell written against either module has the same parameter names:

      >>> import jax, jax.numpy as jnp
      >>> import flax.linen as nn
      >>> import jaxrnn.linen as jl
      >>> class Decoder(nn.Module):
      ...     rnn: object                       # flax.linen or jaxrnn.linen
      ...     @nn.compact
      ...     def __call__(self, carry, x):
      ...         carry, h = self.rnn.OptimizedLSTMCell(4)(carry, x)
      ...         return carry, nn.Dense(2)(h)
      >>> carry, x = (jnp.zeros((2, 4)), jnp.zeros((2, 4))), jnp.ones((2, 3))
      >>> ours = Decoder(jl).init(jax.random.key(0), carry, x)['params']
      >>> flax_ = Decoder(nn).init(jax.random.key(0), carry, x)['params']
      >>> sorted(ours), sorted(ours) == sorted(flax_)
      (['Dense_0', 'OptimizedLSTMCell_0'], True)
    """


class GRUCell(cells.GRUCellBody, FusedCell):
    r"""GRU cell, a drop-in for ``flax.linen.GRUCell``.

    Gate order (r, z, n), carry ``h [b, h]``; with ``W_ih`` the ``input_kernel
    [i, 3h]``, ``W_hh`` the ``recurrent_kernel [h, 3h]``, ``b`` the ``bias [3h]`` (the
    blocks ``b_r``, ``b_z``, ``b_in``) and ``b_hn`` the ``recurrent_bias [h]``::

      r = sigmoid(x W_ir + h W_hr + b_r)        z = sigmoid(x W_iz + h W_hz + b_z)
      n = tanh(x W_in + b_in + r * (h W_hn + b_hn))       (reset_after=True)
      n = tanh(x W_in + b_in + (r * h) W_hn + b_hn)       (reset_after=False)
      h' = (1 - z) * n + z * h                            (the output y)

    See :class:`FusedCell` for the parameters and the methods.

    Attributes:
      reset_after: ``True`` (default) for the form of ``flax.linen.GRUCell``, cuDNN,
        PyTorch and Keras; ``False`` for that of Cho et al. (2014).
      gate_fn: Flax's; only ``nn.sigmoid`` (the default), as :class:`LSTMCell`.
      activation_fn: Flax's; only ``nn.tanh`` (the default), as :class:`LSTMCell`.

    Examples:
      >>> import jax, jax.numpy as jnp
      >>> import jaxrnn.linen as jl
      >>> x = jnp.ones((2, 5, 3))                               # [b, t, i]
      >>> model = jl.RNN(jl.GRUCell(4), return_carry=True)
      >>> variables = model.init(jax.random.key(0), x)
      >>> variables['params']['cell']['recurrent_bias'].shape  # b_hn
      (4,)
      >>> h, y = model.apply(variables, x)
      >>> h.shape, y.shape, bool((h == y[:, -1]).all())
      ((2, 4), (2, 5, 4), True)
    """

    reset_after: bool = True
    gate_fn: Any = nn.sigmoid
    activation_fn: Any = nn.tanh


class SimpleCell(cells.SimpleCellBody, FusedCell):
    r"""Simple (Elman) cell, a drop-in for ``flax.linen.SimpleCell``.

    Carry ``h [b, h]``; with ``W_ih`` the ``input_kernel [i, h]``, ``W_hh`` the
    ``recurrent_kernel [h, h]`` and ``b`` the ``bias [h]``::

      h' = tanh(x W_ih + h W_hh + b)                      (the output y)

    or ``relu`` in place of ``tanh``. See :class:`FusedCell` for the parameters and the
    methods.

    Attributes:
      activation: ``'tanh'`` (default, as ``flax.linen.SimpleCell``) or ``'relu'``.
      activation_fn: Flax's way to name it: ``nn.tanh`` or ``nn.relu`` (default
        ``None``: from ``activation``); if both are given they must agree.
      residual: Flax's pre-activation residual; only ``False`` (``True`` is a
        ValueError: another function).

    Examples:
      >>> import jax, jax.numpy as jnp
      >>> import flax.linen as nn
      >>> import jaxrnn.linen as jl
      >>> x = jax.random.normal(jax.random.key(0), (2, 5, 3))   # [b, t, i]
      >>> model = jl.RNN(jl.SimpleCell(4, activation_fn=nn.relu))
      >>> y = model.apply(model.init(jax.random.key(1), x), x)
      >>> y.shape, bool((y >= 0).all())
      ((2, 5, 4), True)
    """

    activation: str = 'tanh'
    activation_fn: Any = None
    residual: bool = False
