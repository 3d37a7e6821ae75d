"""jaxrnn.convert.load: strict loading into NNX modules and Linen params trees."""

from __future__ import annotations

import jax
import numpy as np
import pytest
from flax import nnx

import jaxrnn.linen as jl
import jaxrnn.nnx as jn
from jaxrnn import convert

I, H = 4, 3


def _linen_params(**kw):
    x = np.zeros((1, 2, I), np.float32)
    return jl.LSTM(H, num_layers=2, **kw).init(jax.random.key(0), x)['params']


def test_load_linen_and_nnx():
    params = jax.tree.map(np.asarray, _linen_params())
    loaded = convert.load(params, _linen_params())
    assert all(isinstance(a, jax.Array) for a in jax.tree.leaves(loaded))
    model = convert.load(params, jn.LSTM(I, H, num_layers=2, rngs=nnx.Rngs(1)))
    np.testing.assert_array_equal(
        model.layer_1.forward.bias[...], params['layer_1']['forward']['bias']
    )


def test_mismatches_raise():
    params = jax.tree.map(np.asarray, _linen_params())
    model = jn.LSTM(I, H, num_layers=3, rngs=nnx.Rngs(1))
    with pytest.raises(ValueError, match=r"missing \['layer_2'\]"):
        convert.load(params, model)
    with pytest.raises(ValueError, match=r"\['layer_1'\]\['forward'\]\['bias'\], which the model"):
        convert.load(params, {'layer_0': params['layer_0']})
    wrong = jax.tree.map(np.asarray, _linen_params())
    wrong['layer_0']['forward']['bias'] = np.zeros(5, np.float32)
    with pytest.raises(ValueError, match=r"\['bias'\] has shape \(5,\); the model expects \(12,\)"):
        convert.load(wrong, _linen_params())
    with pytest.raises(TypeError, match='float64'):
        convert.load(jax.tree.map(lambda a: a.astype(np.float64), params), _linen_params())
    with pytest.raises(TypeError, match='load target'):
        convert.load(params, [1])
