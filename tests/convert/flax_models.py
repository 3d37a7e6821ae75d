"""One small model written twice, with Flax's cells and with jaxrnn's, in Linen and in NNX:
an LSTM encoder, a bidirectional GRU, Dense layers, a simple RNN, an optimized LSTM and a
user's decoder cell (an LSTM cell and a Dense read-out) under ``RNN``. ``lib`` is
``flax.linen``/``jaxrnn.linen`` or ``flax.nnx``/``jaxrnn.nnx``: the same program with one
import swapped, so the parameter paths agree down to each cell."""

from __future__ import annotations

from typing import Any

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx

B, T, I, H = 2, 4, 3, 6  # the cells' features equal their carries (see the task notes)


class LinenDecoder(nn.RNNCellBase):
    """A user's decoder cell: ``lib.LSTMCell`` and an ``nn.Dense`` read-out."""

    features: int
    lib: Any = nn

    @nn.compact
    def __call__(self, carry, x):
        carry, y = self.lib.LSTMCell(self.features)(carry, x)
        return carry, nn.Dense(self.features)(y)

    @nn.nowrap
    def initialize_carry(self, rng, input_shape):
        return self.lib.LSTMCell(self.features, parent=None).initialize_carry(rng, input_shape)

    @property
    def num_feature_axes(self) -> int:
        return 1


class LinenModel(nn.Module):
    lib: Any  # flax.linen or jaxrnn.linen

    @nn.compact
    def __call__(self, x):
        lib = self.lib
        y = lib.RNN(lib.LSTMCell(8))(x)  # [B, T, 8]
        y = lib.Bidirectional(lib.RNN(lib.GRUCell(5)), lib.RNN(lib.GRUCell(5)))(y)  # 10
        y = nn.Dense(H)(y)
        y = lib.RNN(lib.SimpleCell(H))(y)
        y = lib.RNN(lib.OptimizedLSTMCell(H))(y)
        y = lib.RNN(LinenDecoder(H, lib))(y)
        return nn.Dense(2)(y)


class NNXDecoder(nnx.RNNCellBase):
    """A user's decoder cell: ``lib.LSTMCell`` and an ``nnx.Linear`` read-out."""

    def __init__(self, features: int, lib, *, rngs: nnx.Rngs):
        self.lstm = lib.LSTMCell(features, features, rngs=rngs)
        self.out = nnx.Linear(features, features, rngs=rngs)

    def __call__(self, carry, x):
        carry, y = self.lstm(carry, x)
        return carry, self.out(y)

    def initialize_carry(self, input_shape, rngs=None):
        return self.lstm.initialize_carry(input_shape, rngs)

    @property
    def num_feature_axes(self) -> int:
        return 1


class NNXModel(nnx.Module):
    def __init__(self, lib, *, rngs: nnx.Rngs):  # lib: flax.nnx or jaxrnn.nnx
        self.encoder = lib.RNN(lib.LSTMCell(I, 8, rngs=rngs))
        self.bi = lib.Bidirectional(
            lib.RNN(lib.GRUCell(8, 5, rngs=rngs)), lib.RNN(lib.GRUCell(8, 5, rngs=rngs))
        )
        self.mid = nnx.Linear(10, H, rngs=rngs)
        self.simple = lib.RNN(lib.SimpleCell(H, H, rngs=rngs))
        self.optimized = lib.RNN(lib.OptimizedLSTMCell(H, H, rngs=rngs))
        self.decoder = lib.RNN(NNXDecoder(H, lib, rngs=rngs))
        self.head = nnx.Linear(H, 2, rngs=rngs)

    def __call__(self, x):
        y = self.bi(self.encoder(x))
        y = self.optimized(self.simple(self.mid(y)))
        return self.head(self.decoder(y))


def inputs(seed: int = 9) -> jax.Array:
    return jnp.asarray(np.random.default_rng(seed).standard_normal((B, T, I)), jnp.float32)


def randomized(tree, seed: int = 1):
    """``tree`` with every array replaced by random values of its shape and dtype (biases
    and b_hn nonzero, so that a misplaced block shows)."""
    rng = np.random.default_rng(seed)
    return jax.tree.map(
        lambda a: jnp.asarray(0.5 * rng.standard_normal(np.shape(a)), a.dtype), tree
    )


def flax_nnx_model(seed: int = 0) -> NNXModel:
    """A Flax NNX model with random parameters everywhere (NNX initializes biases to 0)."""
    model = NNXModel(nnx, rngs=nnx.Rngs(seed))
    nnx.update(model, randomized(nnx.to_pure_dict(nnx.state(model, nnx.Param)), seed + 1))
    return model


def params_of(model: nnx.Module) -> dict:
    """The pure dict of an NNX model's parameters."""
    return nnx.to_pure_dict(nnx.state(model, nnx.Param))


def bits(tree):
    """Every leaf as raw bytes, for bit-for-bit comparisons (keeps -0.0 apart from 0.0)."""
    return jax.tree.map(lambda a: np.ascontiguousarray(np.asarray(a)).tobytes(), tree)


def layout(tree):
    """Every leaf's shape and dtype."""
    return jax.tree.map(lambda a: (tuple(np.shape(a)), np.dtype(a.dtype)), tree)
