"""jaxrnn.linen cells: Flax parity, use inside flax.linen.RNN and custom cells,
initializers, carries and dtypes."""

from __future__ import annotations

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jaxrnn.linen as jl
from jaxrnn import convert

B, T, I, H = 3, 6, 5, 4
LENGTHS = np.array([6, 1, 4], np.int32)

PAIRS = [
    ('LSTMCell', nn.LSTMCell, jl.LSTMCell),
    ('OptimizedLSTMCell', nn.OptimizedLSTMCell, jl.OptimizedLSTMCell),
    ('GRUCell', nn.GRUCell, jl.GRUCell),
    ('SimpleCell', nn.SimpleCell, jl.SimpleCell),
]


def _inputs(seed=0):
    return jax.random.normal(jax.random.key(seed), (B, T, I), jnp.float32)


def _close(a, b, tol=2e-6):
    for x, y in zip(jax.tree.leaves(a), jax.tree.leaves(b), strict=True):
        np.testing.assert_allclose(x, y, atol=tol, rtol=tol)


def _random_bias(params, key):
    """Flax initialises biases to zero; make them non-zero so the test sees them."""
    leaves, tree = jax.tree.flatten(params)
    keys = jax.random.split(key, len(leaves))
    return jax.tree.unflatten(
        tree,
        [
            x + 0.3 * jax.random.normal(k, x.shape, x.dtype)
            for x, k in zip(leaves, keys, strict=True)
        ],
    )


@pytest.mark.parametrize('name,flax_cls,ours_cls', PAIRS, ids=[p[0] for p in PAIRS])
@pytest.mark.parametrize('reverse,keep_order', [(False, False), (True, False), (True, True)])
def test_parity_with_flax(name, flax_cls, ours_cls, reverse, keep_order):
    x = _inputs()
    flax_rnn = nn.RNN(flax_cls(H), return_carry=True, reverse=reverse, keep_order=keep_order)
    fv = flax_rnn.init(jax.random.key(1), x)
    fv = {'params': _random_bias(fv['params'], jax.random.key(2))}
    ours = jl.RNN(ours_cls(H), return_carry=True, reverse=reverse, keep_order=keep_order)
    ov = {'params': {'cell': convert.from_flax(fv['params']['cell'])}}

    _close(ours.apply(ov, x), flax_rnn.apply(fv, x))
    # With seq_lengths (all >= 1: Flax's carry for length 0 is not the initial carry),
    # the carries and the outputs at valid steps agree; our padded outputs are zero.
    fc, fy = flax_rnn.apply(fv, x, seq_lengths=LENGTHS)
    oc, oy = ours.apply(ov, x, seq_lengths=LENGTHS)
    _close(oc, fc)
    valid = np.arange(T)[None, :] < LENGTHS[:, None]
    np.testing.assert_allclose(np.asarray(oy)[valid], np.asarray(fy)[valid], atol=2e-6)
    assert np.all(np.asarray(oy)[~valid] == 0)


@pytest.mark.parametrize(
    'cell',
    [
        jl.LSTMCell(H),
        jl.GRUCell(H),
        jl.GRUCell(H, reset_after=False),
        jl.SimpleCell(H),
        jl.SimpleCell(H, activation='relu'),
    ],
    ids=['lstm', 'gru', 'gru_before', 'simple', 'simple_relu'],
)
def test_same_numbers_three_ways(cell):
    """Fused RNN == flax.linen.RNN over the jaxrnn cell == a Python loop of steps."""
    x = _inputs(3)
    ours = jl.RNN(cell, return_carry=True)
    v = ours.init(jax.random.key(4), x)
    v = {'params': _random_bias(v['params'], jax.random.key(5))}
    fused = ours.apply(v, x)
    via_flax = nn.RNN(cell, return_carry=True).apply(v, x)
    carry = cell.initialize_carry(jax.random.key(0), x[:, 0].shape)
    ys = []
    for t in range(T):
        carry, y = cell.apply({'params': v['params']['cell']}, carry, x[:, t])
        ys.append(y)
    _close(fused, via_flax)
    _close(fused, (carry, jnp.stack(ys, axis=1)))


class Decoder(nn.RNNCellBase):
    """A user's seq2seq decoder cell: a jaxrnn LSTM cell followed by a Dense layer."""

    features: int
    vocab: int

    @nn.compact
    def __call__(self, carry, x):
        carry, h = jl.LSTMCell(self.features, name='lstm')(carry, x)
        return carry, nn.Dense(self.vocab, name='out')(h)

    @nn.nowrap
    def initialize_carry(self, rng, input_shape):
        return jl.LSTMCell(self.features, parent=None).initialize_carry(rng, input_shape)

    @property
    def num_feature_axes(self):
        return 1


def test_custom_cell_inside_flax_and_jaxrnn_rnn():
    x = _inputs(6)
    dec = Decoder(H, 7)
    v = nn.RNN(dec).init(jax.random.key(0), x)
    assert set(v['params']['cell']) == {'lstm', 'out'}
    y_flax = nn.RNN(dec).apply(v, x, seq_lengths=LENGTHS)
    y_ours = jl.RNN(dec).apply(v, x, seq_lengths=LENGTHS)  # generic step-wise path
    valid = np.arange(T)[None, :] < LENGTHS[:, None]
    assert y_ours.shape == (B, T, 7)
    np.testing.assert_allclose(np.asarray(y_ours)[valid], np.asarray(y_flax)[valid], atol=1e-6)

    def loss(params):
        return (jl.RNN(dec).apply({'params': params}, x) ** 2).mean()

    grads = jax.grad(loss)(v['params'])
    assert all(np.all(np.isfinite(g)) for g in jax.tree.leaves(grads))


def test_initializers_follow_flax():
    cell = jl.LSTMCell(H, forget_bias=1.0)
    v = cell.init(
        jax.random.key(0), cell.initialize_carry(jax.random.key(0), (B, I)), _inputs()[:, 0]
    )
    p = v['params']
    assert p['input_kernel'].shape == (I, 4 * H) and p['recurrent_kernel'].shape == (H, 4 * H)
    np.testing.assert_array_equal(p['bias'], np.repeat([0.0, 1.0, 0.0, 0.0], H))
    for k in range(4):  # each gate block of the recurrent kernel is orthogonal
        block = np.asarray(p['recurrent_kernel'][:, k * H : (k + 1) * H])
        np.testing.assert_allclose(block @ block.T, np.eye(H), atol=1e-5)
    gru = jl.GRUCell(H).init(jax.random.key(0), jnp.zeros((B, H)), _inputs()[:, 0])['params']
    assert gru['recurrent_bias'].shape == (H,) and gru['bias'].shape == (3 * H,)


def test_carry_structure_and_dtypes():
    lstm = jl.LSTMCell(H, param_dtype=jnp.float32)
    c, h = lstm.initialize_carry(jax.random.key(0), (2, 3, I))
    assert c.shape == h.shape == (2, 3, H) and c.dtype == jnp.float32
    assert jl.GRUCell(H).initialize_carry(jax.random.key(0), (B, I)).shape == (B, H)
    assert lstm.num_feature_axes == 1
    # bfloat16 computation: bfloat16 outputs, float32 carry.
    x = _inputs().astype(jnp.bfloat16)
    rnn = jl.RNN(jl.LSTMCell(H, dtype=jnp.bfloat16), return_carry=True)
    v = rnn.init(jax.random.key(0), x)
    (c, h), y = rnn.apply(v, x)
    assert y.dtype == jnp.bfloat16 and c.dtype == h.dtype == jnp.float32
    ref = jl.RNN(jl.LSTMCell(H), return_carry=True).apply(v, x.astype(jnp.float32))
    np.testing.assert_allclose(np.asarray(y, np.float32), ref[1], atol=3e-2)


def test_wrong_feature_size_is_a_clear_error():
    rnn = jl.RNN(jl.LSTMCell(H))
    v = rnn.init(jax.random.key(0), _inputs())
    with pytest.raises(ValueError, match='inputs have 3 features.*expect 5'):
        rnn.apply(v, jnp.ones((B, T, 3)))
    with pytest.raises(ValueError, match='rank'):
        jl.LSTMCell(H).init(jax.random.key(0), (jnp.zeros(H), jnp.zeros(H)), jnp.float32(1.0))


def test_cell_kind_options_are_checked():
    x = _inputs()[:, 0]
    with pytest.raises(
        ValueError, match=r"activation must be one of \('tanh', 'relu'\), got 'gelu'"
    ):
        jl.SimpleCell(H, activation='gelu').init(jax.random.key(0), jnp.zeros((B, H)), x)
    with pytest.raises(TypeError, match='forget_bias'):
        jl.GRUCell(H, forget_bias=1.0)
