"""Orbax checkpoints end to end: jaxrnn models save and restore with plain Orbax (Linen
params and NNX state, restored into abstract targets), and a checkpoint of a Flax-cell
model loads into the jaxrnn model in one call (restore, ``from_flax``, apply / load)."""

from __future__ import annotations

import flax.linen as nn
import jax
import numpy as np
import orbax.checkpoint as ocp
import pytest
from flax import nnx

import jaxrnn.linen as jl
import jaxrnn.nnx as jn
from jaxrnn import convert
from tests.convert import flax_models as fm

pytestmark = pytest.mark.usefixtures('float32_defaults')


@pytest.fixture
def checkpointer():
    with ocp.StandardCheckpointer() as checkpointer:
        yield checkpointer


def test_jaxrnn_linen_params_round_trip(tmp_path, checkpointer):
    x = fm.inputs()
    model = fm.LinenModel(jl)
    params = fm.randomized(model.init(jax.random.key(0), x)['params'])
    checkpointer.save(tmp_path / 'ckpt', params)
    abstract = jax.eval_shape(model.init, jax.random.key(0), x)['params']
    restored = checkpointer.restore(tmp_path / 'ckpt', abstract)
    assert fm.bits(restored) == fm.bits(params)
    np.testing.assert_array_equal(
        model.apply({'params': restored}, x), model.apply({'params': params}, x)
    )


def test_jaxrnn_nnx_state_round_trip(tmp_path, checkpointer):
    model = fm.NNXModel(jn, rngs=nnx.Rngs(0))
    nnx.update(model, fm.randomized(fm.params_of(model)))
    checkpointer.save(tmp_path / 'ckpt', nnx.state(model))
    graphdef, abstract = nnx.split(nnx.eval_shape(lambda: fm.NNXModel(jn, rngs=nnx.Rngs(1))))
    restored = nnx.merge(graphdef, checkpointer.restore(tmp_path / 'ckpt', abstract))
    assert fm.bits(fm.params_of(restored)) == fm.bits(fm.params_of(model))
    x = fm.inputs()
    np.testing.assert_array_equal(restored(x), model(x))


def test_flax_linen_checkpoint_into_jaxrnn(tmp_path, checkpointer):
    x = fm.inputs()
    flax_model = fm.LinenModel(nn)
    variables = fm.randomized(flax_model.init(jax.random.key(0), x))
    checkpointer.save(tmp_path / 'flax', variables)
    # one call: the Flax checkpoint restores without any model and converts
    variables_ours = convert.from_flax(checkpointer.restore(tmp_path / 'flax'))
    logits = fm.LinenModel(jl).apply(variables_ours, x)
    np.testing.assert_allclose(logits, flax_model.apply(variables, x), atol=1e-6, rtol=0)
    assert fm.bits(variables_ours) == fm.bits(convert.from_flax(variables))


def test_flax_nnx_checkpoint_into_jaxrnn(tmp_path, checkpointer):
    flax_model = fm.flax_nnx_model()
    x = fm.inputs()
    expected = flax_model(x)
    # a checkpoint of the parameters loads without a Flax model: Orbax restores it as
    # {'value': array} leaves, which from_flax reads
    checkpointer.save(tmp_path / 'params', nnx.state(flax_model, nnx.Param))
    ours = fm.NNXModel(jn, rngs=nnx.Rngs(1))
    convert.load(convert.from_flax(checkpointer.restore(tmp_path / 'params')), ours)
    np.testing.assert_allclose(ours(x), expected, atol=1e-6, rtol=0)
    # a checkpoint of the whole state (RNG state too) restores into the Flax model's
    # abstract state; from_flax keeps its parameters
    checkpointer.save(tmp_path / 'state', nnx.state(flax_model))
    abstract = nnx.state(nnx.eval_shape(lambda: fm.NNXModel(nnx, rngs=nnx.Rngs(0))))
    restored = checkpointer.restore(tmp_path / 'state', abstract)
    ours = fm.NNXModel(jn, rngs=nnx.Rngs(2))
    convert.load(convert.from_flax(restored), ours)
    np.testing.assert_allclose(ours(x), expected, atol=1e-6, rtol=0)
    # without that target the RNG state comes back untyped and is not the jaxrnn model's
    untyped = convert.from_flax(checkpointer.restore(tmp_path / 'state'))
    with pytest.raises(ValueError, match=r"params have \[.*\['rngs'\]"):
        convert.load(untyped, fm.NNXModel(jn, rngs=nnx.Rngs(2)))
