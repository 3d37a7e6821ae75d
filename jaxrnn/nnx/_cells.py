"""Flax NNX cells over the fused kernels (same layout and math as ``jaxrnn.linen``)."""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
from flax import nnx
from flax.nnx import initializers
from flax.nnx.nn.linear import default_kernel_init

from jaxrnn import _layers

Array = jax.Array
Initializer = _layers.Initializer


class FusedCell(nnx.RNNCellBase):
    """Base of the jaxrnn NNX cells: ``nnx.Param`` attributes in the fused layout
    (``input_kernel [in, G*h]``, ``recurrent_kernel [h, G*h]``, ``bias [G*h]``, and
    ``recurrent_bias [h]`` for the GRU); see ``jaxrnn.linen.FusedCell``."""

    def __init__(
        self,
        spec: _layers.CellSpec,
        in_features: int,
        hidden_features: int,
        *,
        kernel_init: Initializer = default_kernel_init,
        recurrent_kernel_init: Initializer = initializers.orthogonal(),
        bias_init: Initializer = initializers.zeros_init(),
        forget_bias: float = 0.0,
        dtype: Any = None,
        param_dtype: Any = jnp.float32,
        precision: Any = None,
        backend: str = 'auto',
        rngs: nnx.Rngs,
    ):
        self.spec = nnx.static(spec)
        self.in_features = in_features
        self.hidden_features = hidden_features
        self.dtype = dtype
        self.param_dtype = param_dtype
        self.precision = precision
        self.backend = backend
        inits = _layers.param_inits(
            spec, kernel_init, recurrent_kernel_init, bias_init, forget_bias
        )
        shapes = _layers.param_shapes(spec, in_features, hidden_features)
        for name, shape in shapes.items():
            setattr(self, name, nnx.Param(inits[name](rngs.params(), shape, param_dtype)))

    def params(self):
        """The parameters as the kernel's NamedTuple."""
        return self.spec.params_type(
            **{name: getattr(self, name)[...] for name in self.spec.params_type._fields}
        )

    def __call__(self, carry, inputs):
        """One step: ``(carry, x [*batch, in]) -> (carry, y [*batch, hidden])``."""
        _layers.in_features_of(inputs)
        new_carry, y = self.spec.step_fn(
            self.params(), carry, inputs, dtype=self.dtype, precision=self.precision
        )
        return _layers.keep_carry_dtype(new_carry, carry), y

    def sequence(
        self,
        inputs,
        carry=None,
        *,
        seq_lengths=None,
        reverse=False,
        time_major=False,
        unroll=1,
        trace=False,
    ):
        """The whole sequence through the fused kernel; see
        ``jaxrnn.linen.FusedCell.sequence``."""
        return self.spec.sequence_fn(
            self.params(),
            inputs,
            carry,
            seq_lengths=seq_lengths,
            reverse=reverse,
            time_major=time_major,
            unroll=unroll,
            dtype=self.dtype,
            precision=self.precision,
            trace=trace,
            backend=self.backend,
        )

    def initialize_carry(
        self, input_shape: tuple[int, ...], rngs: Any = None, carry_init: Initializer | None = None
    ):
        """A carry for inputs ``[*batch, in]`` in float32 (float64 for float64 params):
        zeros by default, else ``carry_init`` (which needs ``rngs``)."""
        key = None
        if carry_init is None:
            carry_init = initializers.zeros_init()
        else:
            if rngs is None:
                raise ValueError('rngs must be given to initialize the carry with carry_init.')
            key = rngs.carry() if isinstance(rngs, nnx.Rngs) else rngs()
        return _layers.init_carry(
            self.spec,
            carry_init,
            key,
            input_shape,
            self.hidden_features,
            _layers.carry_dtype(self.param_dtype),
        )

    @property
    def num_feature_axes(self) -> int:
        return 1


class LSTMCell(FusedCell):
    r"""LSTM cell, gate order (i, f, g, o), carry ``(c, h)``; a drop-in for
    ``flax.nnx.LSTMCell`` / ``OptimizedLSTMCell``::

      i, f, o = sigmoid(.), g = tanh(.)  of  x W_ih + h W_hh + b
      c' = f * c + i * g,   h' = o * tanh(c')

    Args:
      in_features, hidden_features: sizes.
      forget_bias: added to the forget-gate bias at initialization (default 0.0).
      kernel_init, recurrent_kernel_init (per gate block), bias_init, dtype,
      param_dtype, precision: as Flax's cells.
      backend: implementation of ``sequence`` (``'auto'``, ``'xla'``, ``'cudnn'``,
        ``'pallas'``; see :func:`jaxrnn.kernels.lstm`).
      rngs: ``nnx.Rngs`` for parameter initialization.
    """

    def __init__(self, in_features: int, hidden_features: int, *, rngs: nnx.Rngs, **kwargs):
        super().__init__(_layers.lstm_spec(), in_features, hidden_features, rngs=rngs, **kwargs)


class GRUCell(FusedCell):
    r"""GRU cell, gate order (r, z, n), carry ``h``::

      n  = tanh(x W_in + b_in + r * (h W_hn + b_hn))     (reset_after=True, default)
      h' = (1 - z) * n + z * h

    Unlike ``flax.nnx.GRUCell`` (google/flax#5594) it keeps ``b_hn``
    (``recurrent_bias``), as PyTorch, cuDNN, Keras and ``flax.linen.GRUCell`` do.
    ``reset_after=False`` gives Cho et al. (2014).
    """

    def __init__(
        self,
        in_features: int,
        hidden_features: int,
        *,
        rngs: nnx.Rngs,
        reset_after: bool = True,
        **kwargs,
    ):
        if 'forget_bias' in kwargs:
            raise TypeError('forget_bias applies to LSTMCell only.')
        super().__init__(
            _layers.gru_spec(reset_after), in_features, hidden_features, rngs=rngs, **kwargs
        )


class SimpleCell(FusedCell):
    r"""Simple (Elman) cell, carry ``h``: ``h' = tanh(x W_ih + b + h W_hh)`` (or relu)."""

    def __init__(
        self,
        in_features: int,
        hidden_features: int,
        *,
        rngs: nnx.Rngs,
        activation: str = 'tanh',
        **kwargs,
    ):
        if 'forget_bias' in kwargs:
            raise TypeError('forget_bias applies to LSTMCell only.')
        super().__init__(
            _layers.simple_spec(activation), in_features, hidden_features, rngs=rngs, **kwargs
        )
