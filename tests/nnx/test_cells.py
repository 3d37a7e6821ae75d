"""jaxrnn.nnx cells: parity with flax.nnx cells, use inside flax.nnx.RNN, init."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx

import jaxrnn.nnx as jn
from jaxrnn import convert

B, T, I, H = 3, 6, 5, 4
LENGTHS = np.array([6, 1, 4], np.int32)

PAIRS = [
    ('LSTMCell', nnx.LSTMCell, jn.LSTMCell),
    ('OptimizedLSTMCell', nnx.OptimizedLSTMCell, jn.OptimizedLSTMCell),
    ('GRUCell', nnx.GRUCell, jn.GRUCell),
    ('SimpleCell', nnx.SimpleCell, jn.SimpleCell),
]


def _x(seed=0):
    return jax.random.normal(jax.random.key(seed), (B, T, I), jnp.float32)


def _close(a, b, tol=2e-6):
    for x, y in zip(jax.tree.leaves(a), jax.tree.leaves(b), strict=True):
        np.testing.assert_allclose(x, y, atol=tol, rtol=tol)


def _perturb_biases(module, seed):
    key = jax.random.key(seed)
    for path, param in nnx.iter_graph(module):
        if isinstance(param, nnx.Param) and path[-1] == 'bias':
            key, sub = jax.random.split(key)
            param[...] = param[...] + 0.3 * jax.random.normal(sub, param.shape, param.dtype)


@pytest.mark.parametrize('name,flax_cls,ours_cls', PAIRS, ids=[p[0] for p in PAIRS])
@pytest.mark.parametrize('reverse,keep_order', [(False, False), (True, True)])
def test_parity_with_flax_nnx(name, flax_cls, ours_cls, reverse, keep_order):
    x = _x()
    theirs = flax_cls(I, H, rngs=nnx.Rngs(0))
    _perturb_biases(theirs, 1)
    ours = convert.load(convert.from_flax(theirs), ours_cls(I, H, rngs=nnx.Rngs(1)))
    kw = dict(return_carry=True, reverse=reverse, keep_order=keep_order)
    _close(jn.RNN(ours, **kw)(x), nnx.RNN(theirs, **kw)(x))
    oc, oy = jn.RNN(ours, **kw)(x, seq_lengths=LENGTHS)
    fc, fy = nnx.RNN(theirs, **kw)(x, seq_lengths=LENGTHS)
    _close(oc, fc)
    valid = np.arange(T)[None, :] < LENGTHS[:, None]
    np.testing.assert_allclose(np.asarray(oy)[valid], np.asarray(fy)[valid], atol=2e-6)


@pytest.mark.parametrize(
    'make',
    [
        lambda: jn.LSTMCell(I, H, forget_bias=0.5, rngs=nnx.Rngs(0)),
        lambda: jn.GRUCell(I, H, rngs=nnx.Rngs(0)),
        lambda: jn.GRUCell(I, H, reset_after=False, rngs=nnx.Rngs(0)),
        lambda: jn.SimpleCell(I, H, rngs=nnx.Rngs(0)),
    ],
    ids=['lstm', 'gru', 'gru_before', 'simple'],
)
def test_same_numbers_three_ways(make):
    cell = make()
    _perturb_biases(cell, 2)
    x = _x(3)
    fused = jn.RNN(cell, return_carry=True)(x)
    via_flax = nnx.RNN(cell, return_carry=True)(x)
    carry = cell.initialize_carry((B, I))
    ys = []
    for t in range(T):
        carry, y = cell(carry, x[:, t])
        ys.append(y)
    _close(fused, via_flax)
    _close(fused, (carry, jnp.stack(ys, axis=1)))


def test_init_matches_linen_conventions():
    cell = jn.LSTMCell(I, H, forget_bias=1.0, rngs=nnx.Rngs(0))
    np.testing.assert_array_equal(cell.bias[...], np.repeat([0.0, 1.0, 0.0, 0.0], H))
    for k in range(4):
        block = np.asarray(cell.recurrent_kernel[...][:, k * H : (k + 1) * H])
        np.testing.assert_allclose(block @ block.T, np.eye(H), atol=1e-5)
    gru = jn.GRUCell(I, H, rngs=nnx.Rngs(0))
    assert gru.recurrent_bias.shape == (H,)
    c, h = cell.initialize_carry((2, 7, I))
    assert c.shape == (2, 7, H) and c.dtype == jnp.float32
    carry = gru.initialize_carry(
        (B, I), rngs=nnx.Rngs(carry=1), carry_init=nnx.initializers.normal(1.0)
    )
    assert carry.shape == (B, H) and float(jnp.abs(carry).sum()) > 0
    with pytest.raises(ValueError, match='rngs must be given'):
        gru.initialize_carry((B, I), carry_init=nnx.initializers.normal(1.0))
    with pytest.raises(TypeError, match='forget_bias applies to LSTMCell only'):
        jn.GRUCell(I, H, forget_bias=1.0, rngs=nnx.Rngs(0))


def test_wrong_inputs_are_clear_errors():
    cell = jn.LSTMCell(I, H, rngs=nnx.Rngs(0))
    with pytest.raises(ValueError, match='inputs have 3 features.*built with in_features=5'):
        jn.RNN(cell)(jnp.ones((B, T, 3)))
    with pytest.raises(ValueError, match='inputs have 3 features.*built with in_features=5'):
        cell(cell.initialize_carry((B, I)), jnp.ones((B, 3)))
    wide = (jnp.zeros((B, H + 2)),) * 2
    with pytest.raises(ValueError, match=f'carry has {H + 2} units.*hidden_features={H}'):
        cell(wide, jnp.ones((B, I)))
    with pytest.raises(ValueError, match=f'carry has {H + 2} units.*hidden_features={H}'):
        jn.RNN(cell)(jnp.ones((B, T, I)), initial_carry=wide)


def test_carry_init_is_a_constructor_argument():
    """As flax.nnx cells: carry_init at construction; an initialize_carry argument takes
    precedence; a carry_init needs rngs (the RNN passes its own)."""
    normal = nnx.initializers.normal(1.0)
    cell = jn.GRUCell(I, H, carry_init=normal, rngs=nnx.Rngs(0))
    assert cell.carry_init is normal
    carry = cell.initialize_carry((B, I), rngs=nnx.Rngs(carry=1))
    plain = jn.GRUCell(I, H, rngs=nnx.Rngs(0))
    same = plain.initialize_carry((B, I), rngs=nnx.Rngs(carry=1), carry_init=normal)
    np.testing.assert_array_equal(carry, same)
    assert float(jnp.abs(carry).sum()) > 0
    zeros = cell.initialize_carry(
        (B, I), carry_init=nnx.initializers.zeros_init(), rngs=nnx.Rngs(1)
    )
    np.testing.assert_array_equal(zeros, np.zeros((B, H)))
    with pytest.raises(ValueError, match='rngs must be given'):
        cell.initialize_carry((B, I))
    # the RNN initializes the carry with its rngs (here, at call time)
    x = _x()
    lstm = jn.LSTMCell(I, H, carry_init=normal, rngs=nnx.Rngs(0))
    c1, y1 = jn.RNN(lstm, return_carry=True)(x, rngs=nnx.Rngs(carry=7))
    initial = lstm.initialize_carry((B, I), rngs=nnx.Rngs(carry=7).carry.fork())  # as Flax
    c2, y2 = jn.RNN(lstm, return_carry=True)(x, initial_carry=initial)
    np.testing.assert_array_equal(y1, y2)
    assert not np.allclose(y1, jn.RNN(lstm)(x, rngs=nnx.Rngs(carry=8)))


def test_explicit_signatures_and_option_errors():
    """Each cell's own option is in its own signature only; another kind's option or an
    unknown keyword is a TypeError naming the class."""
    import inspect

    own = {jn.LSTMCell: 'forget_bias', jn.GRUCell: 'reset_after', jn.SimpleCell: 'activation'}
    for cls, option in own.items():
        params = inspect.signature(cls.__init__).parameters
        assert option in params and 'rngs' in params
        assert (set(own.values()) - {option}).isdisjoint(params)
    with pytest.raises(TypeError, match='forget_bias applies to LSTMCell only'):
        jn.SimpleCell(I, H, forget_bias=1.0, rngs=nnx.Rngs(0))
    with pytest.raises(TypeError, match='reset_after applies to GRUCell only'):
        jn.LSTMCell(I, H, reset_after=False, rngs=nnx.Rngs(0))
    with pytest.raises(
        TypeError, match=r"LSTMCell\(\) got an unexpected keyword argument 'kernel'"
    ):
        jn.LSTMCell(I, H, kernel=None, rngs=nnx.Rngs(0))
    with pytest.raises(
        ValueError, match=r"activation must be one of \('tanh', 'relu'\), got 'gelu'"
    ):
        jn.SimpleCell(I, H, activation='gelu', rngs=nnx.Rngs(0))
    # the shared options reach the cell
    cell = jn.GRUCell(I, H, param_dtype=jnp.float64, backend='xla', rngs=nnx.Rngs(0))
    assert cell.backend == 'xla' and cell.recurrent_kernel[...].dtype == jnp.float64
