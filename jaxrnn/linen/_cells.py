"""Flax Linen cells over the fused kernels. Each cell is a ``flax.linen.RNNCellBase``:
``__call__(carry, x) -> (carry, y)`` is one step (so the cell works inside Flax's own
``nn.RNN`` and inside a user's custom cell), and ``sequence`` runs the fused sequence
kernel, which ``jaxrnn.linen.RNN`` calls. Both use the same parameters.
"""

from __future__ import annotations

from typing import Any

import flax.linen as nn
import jax
import jax.numpy as jnp
from flax.linen import initializers
from flax.linen.linear import default_kernel_init

from jaxrnn import _layers

Array = jax.Array
Initializer = _layers.Initializer


class FusedCell(nn.RNNCellBase):
    """Base of the jaxrnn Linen cells: parameters in the fused layout.

    Parameters (one set, shared by the step and the sequence kernel)::

      input_kernel      [in_features, G * features]
      recurrent_kernel  [features, G * features]   (recurrent_kernel_init per gate block)
      bias              [G * features]
      recurrent_bias    [features]                 (GRU only: b_hn)

    Attributes:
      features: number of hidden units h.
      kernel_init: initializer of ``input_kernel`` (default: lecun_normal, as Flax).
      recurrent_kernel_init: initializer of each ``[h, h]`` gate block of
        ``recurrent_kernel`` (default: orthogonal, as Flax).
      bias_init: initializer of the biases (default: zeros).
      dtype: computation dtype (default: promoted from inputs and params). Carries and
        accumulation stay in float32 (float64 for float64).
      param_dtype: dtype of the parameters (default: float32).
      precision: ``jax.lax.Precision`` of every matmul.
      carry_init: initializer of the carry (default: zeros).
      backend: implementation of :meth:`sequence` (``'auto'``, ``'xla'``, ``'cudnn'``,
        ``'pallas'``; see :func:`jaxrnn.kernels.lstm`). The single step always runs
        XLA.
    """

    features: int
    kernel_init: Initializer = default_kernel_init
    recurrent_kernel_init: Initializer = initializers.orthogonal()
    bias_init: Initializer = initializers.zeros_init()
    dtype: Any = None
    param_dtype: Any = jnp.float32
    precision: Any = None
    carry_init: Initializer = initializers.zeros_init()
    backend: str = 'auto'

    def _spec(self) -> _layers.CellSpec:
        raise NotImplementedError

    def _inits(self) -> dict[str, Initializer]:
        return _layers.param_inits(
            self._spec(), self.kernel_init, self.recurrent_kernel_init, self.bias_init
        )

    @nn.compact
    def params(self, in_features: int):
        """Creates (at init) or reads the parameters; returns the kernel NamedTuple."""
        spec = self._spec()
        if self.has_variable('params', 'input_kernel'):
            expected = self.get_variable('params', 'input_kernel').shape[0]
            if expected != in_features:
                raise ValueError(
                    f'inputs have {in_features} features but the parameters of this '
                    f'{type(self).__name__} (input_kernel {expected} x ...) expect {expected}.'
                )
        inits = self._inits()
        shapes = _layers.param_shapes(spec, in_features, self.features)
        return spec.params_type(
            **{
                name: self.param(name, inits[name], shape, self.param_dtype)
                for name, shape in shapes.items()
            }
        )

    def __call__(self, carry, inputs):
        """One step: ``(carry, x [*batch, in]) -> (carry, y [*batch, features])``."""
        spec = self._spec()
        params = self.params(_layers.in_features_of(inputs))
        new_carry, y = spec.step_fn(
            params, carry, inputs, dtype=self.dtype, precision=self.precision
        )
        return _layers.keep_carry_dtype(new_carry, carry), y

    def sequence(
        self,
        inputs: Array,
        carry=None,
        *,
        seq_lengths: Array | None = None,
        reverse: bool = False,
        time_major: bool = False,
        unroll: int = 1,
        trace: bool = False,
    ):
        """The whole sequence through the fused kernel (see ``jaxrnn.kernels``).

        Args:
          inputs: ``[*batch, t, in]`` or, when ``time_major``, ``[t, *batch, in]``.
          carry: initial carry (zeros when ``None``).
          seq_lengths, reverse, time_major, unroll, trace: as in
            :func:`jaxrnn.kernels.lstm`; with ``reverse`` the outputs stay aligned with
            the inputs.

        Returns:
          ``(final_carry, outputs)``, or ``(final_carry, outputs, trace)``.
        """
        spec = self._spec()
        params = self.params(jnp.shape(inputs)[-1])
        return spec.sequence_fn(
            params,
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

    @nn.nowrap
    def initialize_carry(self, rng, input_shape: tuple[int, ...]):
        """A carry for inputs of shape ``[*batch, in]``, in float32 (float64 for float64
        params): ``(c, h)`` for the LSTM, ``h`` otherwise."""
        return _layers.init_carry(
            self._spec(),
            self.carry_init,
            rng,
            input_shape,
            self.features,
            _layers.carry_dtype(self.param_dtype),
        )

    @property
    def num_feature_axes(self) -> int:
        return 1


class LSTMCell(FusedCell):
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
    """

    forget_bias: float = 0.0

    def _spec(self):
        return _layers.lstm_spec()

    def _inits(self):
        return _layers.param_inits(
            self._spec(),
            self.kernel_init,
            self.recurrent_kernel_init,
            self.bias_init,
            self.forget_bias,
        )


class GRUCell(FusedCell):
    r"""GRU cell, gate order (r, z, n), carry ``h``::

      r = sigmoid(x W_ir + b_r + h W_hr)      z = sigmoid(x W_iz + b_z + h W_hz)
      n = tanh(x W_in + b_in + r * (h W_hn + b_hn))        (reset_after=True)
      n = tanh(x W_in + b_in + (r * h) W_hn + b_hn)        (reset_after=False)
      h' = (1 - z) * n + z * h

    ``reset_after=True`` (default) is the form of cuDNN, PyTorch, Keras and
    ``flax.linen.GRUCell``; ``False`` is Cho et al. (2014).
    """

    reset_after: bool = True

    def _spec(self):
        return _layers.gru_spec(self.reset_after)


class SimpleCell(FusedCell):
    r"""Simple (Elman) cell, carry ``h``: ``h' = tanh(x W_ih + b + h W_hh)``.

    Attributes:
      activation: ``'tanh'`` (default, as ``flax.linen.SimpleCell``) or ``'relu'``.
    """

    activation: str = 'tanh'

    def _spec(self):
        return _layers.simple_spec(self.activation)
