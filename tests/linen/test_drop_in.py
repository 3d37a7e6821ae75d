"""A Flax program switches to jaxrnn by its imports alone.

The program is written once against a namespace ``api`` holding ``RNN``,
``Bidirectional``, ``LSTMCell``, ``OptimizedLSTMCell`` and ``GRUCell``: ``flax.linen``
itself, or the same names from ``jaxrnn.linen`` (what a user gets by changing the import).
It has an embedding, a bidirectional GRU encoder, an ``OptimizedLSTMCell`` summary, and a
decoder whose own cell wraps an ``LSTMCell`` built with ``features`` = the decoder's input
size while it runs on the encoder's wider carry (Flax sizes the cell from the carry).
"""

from __future__ import annotations

import types

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

import jaxrnn.linen as jl
from jaxrnn import convert

VOCAB, EMBED, HIDDEN, B, T = 11, 6, 5, 4, 7
NAMES = ('RNN', 'Bidirectional', 'LSTMCell', 'OptimizedLSTMCell', 'GRUCell')
FLAX = types.SimpleNamespace(**{n: getattr(nn, n) for n in NAMES})
JAXRNN = types.SimpleNamespace(**{n: getattr(jl, n) for n in NAMES})


def program(api):
    """The user's model, with every recurrent class taken from ``api``."""

    class DecoderCell(nn.RNNCellBase):
        vocab: int
        features: int  # the input size: Flax never uses it at call time

        @nn.compact
        def __call__(self, carry, x):
            carry, h = api.LSTMCell(features=self.features)(carry, x)
            return carry, nn.Dense(self.vocab)(h)

        @nn.nowrap
        def initialize_carry(self, rng, input_shape):
            return api.LSTMCell(self.features, parent=None).initialize_carry(rng, input_shape)

        @property
        def num_feature_axes(self):
            return 1

    class Seq2seq(nn.Module):
        @nn.compact
        def __call__(self, source, target, lengths):
            x = nn.Embed(VOCAB, EMBED)(source)
            both = api.Bidirectional(api.RNN(api.GRUCell(HIDDEN)), api.RNN(api.GRUCell(HIDDEN)))
            encoded = both(x, seq_lengths=lengths)
            summary = api.RNN(api.OptimizedLSTMCell(2 * HIDDEN), return_carry=True)
            carry, _ = summary(encoded, seq_lengths=lengths)
            decoder = api.RNN(DecoderCell(VOCAB, EMBED))
            return decoder(nn.Embed(VOCAB, EMBED)(target), initial_carry=carry)

    return Seq2seq()


def _data():
    rng = np.random.default_rng(0)
    source = jnp.asarray(rng.integers(0, VOCAB, (B, T)))
    target = jnp.asarray(rng.integers(0, VOCAB, (B, T)))
    lengths = jnp.asarray([T, 3, 1, 5])
    return source, target, lengths


def _paths(tree):
    return {jax.tree_util.keystr(p): (v.shape, v.dtype) for p, v in jax.tree.leaves_with_path(tree)}


@pytest.fixture(scope='module')
def flax_variables():
    return program(FLAX).init(jax.random.key(0), *_data())


def test_same_paths_and_logits(flax_variables):
    data = _data()
    with pytest.warns(UserWarning, match=f'features={EMBED}\\) was given a carry of'):
        ours = program(JAXRNN).init(jax.random.key(0), *data)
    converted = convert.from_flax(flax_variables)
    assert _paths(converted) == _paths(ours)
    assert 'OptimizedLSTMCell_0' in converted['params']  # Flax's auto-generated names
    with pytest.warns(UserWarning, match='was given a carry of'):
        logits = program(JAXRNN).apply(converted, *data)
    np.testing.assert_allclose(logits, program(FLAX).apply(flax_variables, *data), atol=2e-5)
    back = convert.to_flax(converted, flax_variables)
    jax.tree.map(np.testing.assert_array_equal, back, flax_variables)


def test_same_training_steps(flax_variables):
    """A few Adam steps from the same parameters give the same losses."""
    source, target, lengths = _data()
    labels = jnp.roll(target, -1, axis=1)

    def losses(api, variables):
        model, opt = program(api), optax.adam(1e-2)
        params = variables['params']
        state = opt.init(params)

        def loss_fn(p):
            logits = model.apply({'params': p}, source, target, lengths)
            return optax.softmax_cross_entropy_with_integer_labels(logits, labels).mean()

        out = []
        for _ in range(3):
            loss, grads = jax.value_and_grad(loss_fn)(params)
            updates, state = opt.update(grads, state)
            params = optax.apply_updates(params, updates)
            out.append(float(loss))
        return out

    theirs = losses(FLAX, flax_variables)
    with pytest.warns(UserWarning, match='was given a carry of'):
        mine = losses(JAXRNN, convert.from_flax(flax_variables))
    np.testing.assert_allclose(mine, theirs, rtol=1e-5)
    assert mine[-1] < mine[0]
