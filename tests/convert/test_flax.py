"""jaxrnn.convert.from_flax / to_flax: jaxrnn params run in Flax's own cells with the
same numbers, round trips are bit-identical, mismatches raise. (Flax -> jaxrnn parity
is in tests/linen/test_cells.py and tests/nnx/test_cells.py.)"""

from __future__ import annotations

import flax.linen as nn
import jax
import numpy as np
import pytest
from flax import nnx

import jaxrnn.linen as jl
from jaxrnn import convert
from tests.cases import CASES, as_dict

B, T, I, H = 2, 5, 4, 3
CASE = {c.name: c for c in CASES}
LINEN = [
    (nn.LSTMCell, 'lstm', jl.LSTMCell),
    (nn.OptimizedLSTMCell, 'lstm', jl.LSTMCell),
    (nn.GRUCell, 'gru', jl.GRUCell),
    (nn.SimpleCell, 'simple', jl.SimpleCell),
]
NNX = [
    (nnx.LSTMCell, 'lstm'),
    (nnx.OptimizedLSTMCell, 'lstm'),
    (nnx.GRUCell, 'gru'),
    (nnx.SimpleCell, 'simple'),
]


def _params(kind, seed=0):
    params = as_dict(CASE[kind].params(np.random.default_rng(seed), I, H))
    if kind == 'gru':
        params['recurrent_bias'] = np.zeros_like(params['recurrent_bias'])
    return params


def _x():
    return np.random.default_rng(9).standard_normal((B, T, I)).astype(np.float32)


def _bits(tree):
    return jax.tree.map(lambda a: np.asarray(a).view(np.uint32), tree)


@pytest.mark.parametrize('flax_cls,kind,ours_cls', LINEN, ids=[c[0].__name__ for c in LINEN])
def test_linen_to_flax_runs_in_flax(flax_cls, kind, ours_cls):
    params = _params(kind)
    if kind == 'gru':
        params['recurrent_bias'] = np.full((H,), 0.3, np.float32)
    flax_params = convert.to_flax(params, flax_cls(features=H))
    x = _x()
    theirs = nn.RNN(flax_cls(H)).apply({'params': {'cell': flax_params}}, x)
    ours = jl.RNN(ours_cls(H)).apply({'params': {'cell': params}}, x)
    np.testing.assert_allclose(ours, theirs, atol=2e-6)
    _ = jax.tree.map(
        np.testing.assert_array_equal, _bits(convert.from_flax(flax_params)), _bits(params)
    )
    wrapped = convert.from_flax({'params': flax_params})
    jax.tree.map(np.testing.assert_array_equal, _bits(wrapped), _bits(params))


@pytest.mark.parametrize('flax_cls,kind', NNX, ids=[c[0].__name__ for c in NNX])
def test_nnx_to_flax_runs_in_flax(flax_cls, kind):
    params = _params(kind)
    params['bias'][0] = -0.0
    cell = convert.to_flax(params, flax_cls(I, H, rngs=nnx.Rngs(0)))
    x = _x()
    theirs = nnx.RNN(cell)(x)
    ours = jl.RNN(
        jl.LSTMCell(H) if kind == 'lstm' else jl.GRUCell(H) if kind == 'gru' else jl.SimpleCell(H)
    )
    np.testing.assert_allclose(ours.apply({'params': {'cell': params}}, x), theirs, atol=2e-6)
    jax.tree.map(np.testing.assert_array_equal, _bits(convert.from_flax(cell)), _bits(params))


def test_flax_to_jaxrnn_to_flax_is_bit_identical():
    x = np.zeros((B, I), np.float32)
    for flax_cls, _, _ in LINEN:
        cell = flax_cls(H)
        variables = cell.init(
            jax.random.key(0), cell.initialize_carry(jax.random.key(0), x.shape), x
        )
        original = jax.tree.map(
            lambda a: np.random.default_rng(1).standard_normal(a.shape).astype(np.float32),
            variables['params'],
        )
        back = convert.to_flax(convert.from_flax(original), flax_cls(H))
        jax.tree.map(np.testing.assert_array_equal, _bits(back), _bits(original))
    for flax_cls, _ in NNX:
        if flax_cls is nnx.GRUCell:
            continue  # checked below: b_hn has nowhere to go
        cell = flax_cls(I, H, rngs=nnx.Rngs(3))
        before = nnx.to_pure_dict(nnx.state(cell, nnx.Param))
        after = convert.to_flax(convert.from_flax(cell), flax_cls(I, H, rngs=nnx.Rngs(4)))
        jax.tree.map(
            np.testing.assert_array_equal,
            _bits(nnx.to_pure_dict(nnx.state(after, nnx.Param))),
            _bits(before),
        )


def test_nnx_gru_has_no_b_hn():
    """google/flax#5594: flax.nnx.GRUCell has no b_hn. From NNX the bias is 0 (exactly
    its function); into NNX a nonzero b_hn cannot be represented and raises."""
    cell = nnx.GRUCell(I, H, rngs=nnx.Rngs(0))
    params = convert.from_flax(cell)
    assert np.all(params['recurrent_bias'] == 0)
    params['recurrent_bias'][1] = 0.5
    with pytest.raises(ValueError, match='5594'):
        convert.to_flax(params, cell)
    linen_params = convert.to_flax(params, nn.GRUCell(H))  # linen keeps b_hn
    np.testing.assert_array_equal(linen_params['hn']['bias'], params['recurrent_bias'])


def test_errors():
    lstm = _params('lstm')
    with pytest.raises(ValueError, match='lstm cell but the target is a GRUCell'):
        convert.to_flax(lstm, nn.GRUCell(H))
    with pytest.raises(ValueError, match='hidden size 3 but the LSTMCell has 5'):
        convert.to_flax(lstm, nn.LSTMCell(5))
    with pytest.raises(ValueError, match='in_features=6'):
        convert.to_flax(lstm, nnx.LSTMCell(6, H, rngs=nnx.Rngs(0)))
    with pytest.raises(TypeError, match='to_flax target'):
        convert.to_flax(lstm, jl.LSTMCell(H))
    with pytest.raises(ValueError, match="expected keys like 'ii'"):
        convert.from_flax({'ii': {}, 'zz': {}})
    bad = convert.to_flax(lstm, nn.LSTMCell(H))
    del bad['hf']['bias']
    with pytest.raises(ValueError, match=r"params\['hf'\] has no 'bias'"):
        convert.from_flax(bad)
    with pytest.raises(TypeError, match='from_flax expects'):
        convert.from_flax([1, 2])
    with pytest.raises(TypeError, match='float64'):
        convert.to_flax(
            {k: v.astype(np.float64) for k, v in lstm.items()}, nnx.LSTMCell(I, H, rngs=nnx.Rngs(0))
        )
