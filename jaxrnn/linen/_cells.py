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
    """Base of the jaxrnn Linen cells: parameters in the fused layout.

    Parameters (one set, shared by the step and the sequence kernel)::

      input_kernel      [in_features, G * features]
      recurrent_kernel  [features, G * features]   (recurrent_kernel_init per gate block)
      bias              [G * features]
      recurrent_bias    [features]                 (GRU only: b_hn)

    Attributes:
      features: number of hidden units h.
      kernel_init, recurrent_kernel_init, bias_init, dtype, param_dtype, precision,
        backend: see :class:`jaxrnn._layers.options.KernelOptions` (Flax's defaults).
      carry_init: initializer of the carry (default: zeros).

    Examples:
      A jaxrnn cell is used as a Flax cell is, one step at a time or inside ``RNN``:

      >>> import jax, jax.numpy as jnp
      >>> import jaxrnn.linen as nn
      >>> cell = nn.LSTMCell(features=4)
      >>> x = jnp.ones((2, 3))                                  # one step, [b, i]
      >>> carry = cell.initialize_carry(jax.random.key(0), x.shape)
      >>> variables = cell.init(jax.random.key(1), carry, x)
      >>> (c, h), y = cell.apply(variables, carry, x)
      >>> c.shape, bool((h == y).all())
      ((2, 4), True)
    """

    carry_init: Initializer = initializers.zeros_init()

    # Listed here so that Linen wraps them (it wraps only a class's own methods).
    __call__ = cells.FusedCellBody.__call__
    sequence = cells.FusedCellBody.sequence

    @nn.compact
    def params(self, in_features: int, hidden: int):
        """Creates (at init) or reads the parameters for inputs of ``in_features`` and a
        carry of ``hidden`` units; returns the kernel NamedTuple."""
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
        """A carry for inputs of shape ``[*batch, in]``, in float32 (float64 for float64
        params): ``(c, h)`` for the LSTM, ``h`` otherwise."""
        n = self.carry_parts  # keys as flax.linen: the rng itself, or split per part
        keys = [rng] * n if n == 1 or rng is None else list(jax.random.split(rng, n))
        return self._new_carry(self.carry_init, keys, input_shape, self.features)


class LSTMCell(cells.LSTMCellBody, FusedCell):
    r"""LSTM cell, gate order (i, f, g, o), carry ``(c, h)``::

      i = sigmoid(x W_ii + h W_hi + b_i)      f = sigmoid(x W_if + h W_hf + b_f)
      g = tanh(x W_ig + h W_hg + b_g)         o = sigmoid(x W_io + h W_ho + b_o)
      c' = f * c + i * g                      h' = o * tanh(c')

    A drop-in for ``flax.linen.LSTMCell`` / ``OptimizedLSTMCell`` (same equations,
    initializers and carry), with the gate weights fused.

    Attributes:
      forget_bias: added to the forget-gate block of ``bias`` at initialization
        (1.0 is the advice of Jozefowicz et al. 2015; default 0.0 as in Flax). It is
        part of the parameters, so it travels with them.
      gate_fn, activation_fn: Flax's; only ``nn.sigmoid`` and ``nn.tanh`` (the
        defaults), which the kernel computes; another function is a ValueError.

    Examples:
      >>> import jax, jax.numpy as jnp
      >>> import jaxrnn.linen as nn
      >>> layer = nn.RNN(nn.LSTMCell(features=4))
      >>> variables = layer.init(jax.random.key(0), jnp.ones((2, 5, 3)))    # [b, t, i]
      >>> jax.tree.map(jnp.shape, variables['params'])
      {'cell': {'bias': (16,), 'input_kernel': (3, 16), 'recurrent_kernel': (4, 16)}}
      >>> layer.apply(variables, jnp.ones((2, 5, 3))).shape
      (2, 5, 4)
    """

    forget_bias: float = 0.0
    gate_fn: Any = nn.sigmoid
    activation_fn: Any = nn.tanh


class OptimizedLSTMCell(LSTMCell):
    """:class:`LSTMCell` under the name of ``flax.linen.OptimizedLSTMCell``, so that
    after the import swap Flax's auto-generated module names (``OptimizedLSTMCell_0``)
    and so every parameter path stay the same. Both Flax classes compute the same
    function; jaxrnn runs both on the fused kernel.

    Examples:
      >>> import jax, jax.numpy as jnp
      >>> import flax.linen
      >>> import jaxrnn.linen as nn
      >>> from jaxrnn import convert
      >>> x = jax.random.normal(jax.random.key(0), (2, 5, 3))
      >>> flax_layer = flax.linen.RNN(flax.linen.OptimizedLSTMCell(4))
      >>> flax_vars = flax_layer.init(jax.random.key(1), x)
      >>> ours = nn.RNN(nn.OptimizedLSTMCell(4)).apply(convert.from_flax(flax_vars), x)
      >>> bool(jnp.allclose(ours, flax_layer.apply(flax_vars, x), atol=1e-6))
      True
    """


class GRUCell(cells.GRUCellBody, FusedCell):
    r"""GRU cell, gate order (r, z, n), carry ``h``::

      r = sigmoid(x W_ir + b_r + h W_hr)      z = sigmoid(x W_iz + b_z + h W_hz)
      n = tanh(x W_in + b_in + r * (h W_hn + b_hn))        (reset_after=True)
      n = tanh(x W_in + b_in + (r * h) W_hn + b_hn)        (reset_after=False)
      h' = (1 - z) * n + z * h

    ``reset_after=True`` (default) is the form of cuDNN, PyTorch, Keras and
    ``flax.linen.GRUCell``; ``False`` is Cho et al. (2014). ``gate_fn`` and
    ``activation_fn`` as :class:`LSTMCell`.

    Examples:
      >>> import jax, jax.numpy as jnp
      >>> import jaxrnn.linen as nn
      >>> layer = nn.RNN(nn.GRUCell(features=4), return_carry=True)
      >>> variables = layer.init(jax.random.key(0), jnp.ones((2, 5, 3)))
      >>> jax.tree.map(jnp.shape, variables['params']['cell'])
      {'bias': (12,), 'input_kernel': (3, 12), 'recurrent_bias': (4,), 'recurrent_kernel': (4, 12)}
      >>> h, y = layer.apply(variables, jnp.ones((2, 5, 3)), seq_lengths=jnp.array([5, 2]))
      >>> bool((h[1] == y[1, 1]).all()), bool((y[1, 2:] == 0).all())
      (True, True)
    """

    reset_after: bool = True
    gate_fn: Any = nn.sigmoid
    activation_fn: Any = nn.tanh


class SimpleCell(cells.SimpleCellBody, FusedCell):
    r"""Simple (Elman) cell, carry ``h``: ``h' = tanh(x W_ih + b + h W_hh)``.

    Attributes:
      activation: ``'tanh'`` (default, as ``flax.linen.SimpleCell``) or ``'relu'``.
      activation_fn: Flax's name for it: ``nn.tanh`` or ``nn.relu`` (``None``: from
        ``activation``).
      residual: Flax's pre-activation residual; only ``False`` (``True`` is a
        ValueError).

    Examples:
      >>> import jax, jax.numpy as jnp
      >>> import jaxrnn.linen as nn
      >>> layer = nn.RNN(nn.SimpleCell(features=4, activation_fn=jax.nn.relu))
      >>> variables = layer.init(jax.random.key(0), jnp.ones((2, 5, 3)))
      >>> bool((layer.apply(variables, jnp.ones((2, 5, 3))) >= 0).all())
      True
    """

    activation: str = 'tanh'
    activation_fn: Any = None
    residual: bool = False
