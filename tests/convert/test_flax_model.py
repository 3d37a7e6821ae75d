"""jaxrnn.convert.from_flax / to_flax on whole models: the converted tree is exactly the
tree of the same program written with jaxrnn's classes (paths, shapes, dtypes) and gives
the same logits; converting back gives Flax's tree bit for bit; damaged, ambiguous or
mismatched cells raise naming their path (the detection rule of jaxrnn/convert/_flax.py)."""

from __future__ import annotations

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx
from flax.core import FrozenDict, freeze

import jaxrnn.linen as jl
import jaxrnn.nnx as jn
from jaxrnn import convert
from tests.convert import flax_models as fm

pytestmark = pytest.mark.usefixtures('float32_defaults')

CELLS = ['GRUCell_0', 'GRUCell_1', 'LSTMCell_0', 'OptimizedLSTMCell_0', 'SimpleCell_0']


@pytest.fixture(scope='module')
def linen():
    """Flax's variables (random everywhere) and the jaxrnn model's init variables."""
    x = fm.inputs()
    theirs = fm.randomized(fm.LinenModel(nn).init(jax.random.key(0), x))
    ours = fm.LinenModel(jl).init(jax.random.key(0), x)
    return x, theirs, ours


def test_linen_model_converts_to_the_jaxrnn_model(linen):
    x, theirs, ours = linen
    params = convert.from_flax(theirs)
    assert fm.layout(params) == fm.layout(ours)  # the same paths, shapes and dtypes
    logits = fm.LinenModel(jl).apply(params, x)
    np.testing.assert_allclose(logits, fm.LinenModel(nn).apply(theirs, x), atol=1e-6, rtol=0)
    # every non-cell leaf is the same object; the cells are fresh NumPy arrays
    for name in ('Dense_0', 'Dense_1'):
        assert params['params'][name]['kernel'] is theirs['params'][name]['kernel']
    dense = params['params']['LinenDecoder_0']['Dense_0']['bias']
    assert dense is theirs['params']['LinenDecoder_0']['Dense_0']['bias']
    for name in CELLS:
        assert all(isinstance(a, np.ndarray) for a in jax.tree.leaves(params['params'][name]))
    # the Linen GRU keeps b_hn
    np.testing.assert_array_equal(
        params['params']['GRUCell_1']['recurrent_bias'], theirs['params']['GRUCell_1']['hn']['bias']
    )
    # variables['params'] and a FrozenDict give the same, in their own form
    assert fm.bits(convert.from_flax(theirs['params'])) == fm.bits(params['params'])
    frozen = convert.from_flax(freeze(theirs))
    assert isinstance(frozen, FrozenDict)
    assert fm.bits(frozen.unfreeze()) == fm.bits(params)


def test_linen_model_back_to_flax_is_bit_identical(linen):
    x, theirs, _ = linen
    params = convert.from_flax(theirs)
    abstract = jax.eval_shape(fm.LinenModel(nn).init, jax.random.key(0), x)
    back = convert.to_flax(params, abstract)
    assert fm.bits(back) == fm.bits(theirs)
    assert back['params']['Dense_1']['kernel'] is params['params']['Dense_1']['kernel']
    # a lone 'params' key on one side only: the result has the target's form
    assert fm.bits(convert.to_flax(params['params'], abstract)) == fm.bits(theirs)
    assert fm.bits(convert.to_flax(params, abstract['params'])) == fm.bits(theirs['params'])
    assert isinstance(convert.to_flax(params, freeze(abstract)), FrozenDict)


@pytest.fixture(scope='module')
def nnx_models():
    return fm.flax_nnx_model(), fm.NNXModel(jn, rngs=nnx.Rngs(5))


def test_nnx_model_converts_to_the_jaxrnn_model(nnx_models):
    theirs, ours = nnx_models
    params = convert.from_flax(theirs)
    assert fm.layout(params) == fm.layout(fm.params_of(ours))
    # the module, its whole state (RNG state dropped: not a parameter) and the pure
    # dict of its parameters give the same tree
    assert fm.bits(convert.from_flax(nnx.state(theirs))) == fm.bits(params)
    assert fm.bits(convert.from_flax(fm.params_of(theirs))) == fm.bits(params)
    # NNX's GRUCell has no b_hn: zeros, exactly its function
    assert not np.any(params['bi']['forward_rnn']['cell']['recurrent_bias'])
    assert params['mid']['kernel'] is theirs.mid.kernel[...]  # non-cell leaves kept
    convert.load(params, ours)  # one call
    x = fm.inputs()
    np.testing.assert_allclose(ours(x), theirs(x), atol=1e-6, rtol=0)


def test_nnx_model_back_to_flax_is_bit_identical(nnx_models):
    theirs, ours = nnx_models
    convert.load(convert.from_flax(theirs), ours)
    target = fm.NNXModel(nnx, rngs=nnx.Rngs(7))
    assert convert.to_flax(fm.params_of(ours), target) is target  # in place
    assert fm.bits(fm.params_of(target)) == fm.bits(fm.params_of(theirs))


def test_detection_rule():
    cell = fm.randomized(nn.SimpleCell(3).init(jax.random.key(0), jnp.zeros(3), jnp.zeros(2)))
    cell = cell['params']
    # a user module with submodules 'i' and 'h' that are not SimpleCell's Denses is kept
    mine = {'i': {'kernel': jnp.ones((2, 3)), 'bias': jnp.ones(3)}, 'h': cell['i']}
    out = convert.from_flax({'Mine_0': mine, 'SimpleCell_0': cell})
    assert out['Mine_0']['i']['kernel'] is mine['i']['kernel']
    assert set(out['SimpleCell_0']) == {'input_kernel', 'recurrent_kernel', 'bias'}
    # ... but one laid out exactly as a SimpleCell is one (documented)
    assert set(convert.from_flax({'Mine_0': cell})['Mine_0']) == set(out['SimpleCell_0'])
    # NNX's GRUCell and SimpleCell differ only in the dense_h kernel's width
    gru = fm.params_of(nnx.GRUCell(2, 3, rngs=nnx.Rngs(0)))
    simple = fm.params_of(nnx.SimpleCell(2, 3, rngs=nnx.Rngs(0)))
    both = convert.from_flax({'g': gru, 's': simple})
    assert 'recurrent_bias' in both['g'] and 'recurrent_bias' not in both['s']
    # Orbax's form of an nnx.State restored without a target: {'value': array} leaves
    wrapped = jax.tree.map(lambda a: {'value': a}, {'g': gru, 'other': {'w': jnp.ones(2)}})
    unwrapped = convert.from_flax(wrapped)
    assert fm.bits(unwrapped['g']) == fm.bits(both['g'])
    assert unwrapped['other']['w'] is wrapped['other']['w']['value']


def _tree(theirs):
    return jax.tree.map(lambda a: a, theirs['params'])  # fresh dicts, same leaves


def test_from_flax_errors_name_the_path(linen):
    _, theirs, _ = linen
    bad = _tree(theirs)
    del bad['LSTMCell_0']['io']
    with pytest.raises(
        ValueError,
        match=r"params\['LSTMCell_0'\] has some of the keys of a "
        r"flax.linen LSTMCell/OptimizedLSTMCell .*missing \['io'\]",
    ):
        convert.from_flax(bad)
    bad = _tree(theirs)
    bad['LinenDecoder_0']['LSTMCell_0']['extra'] = {'kernel': jnp.ones(2)}
    with pytest.raises(
        ValueError,
        match=r"\['LinenDecoder_0'\]\['LSTMCell_0'\] .*unexpected "
        r"\['extra'\]",
    ):
        convert.from_flax(bad)
    bad = _tree(theirs)
    del bad['GRUCell_1']['hn']['bias']
    with pytest.raises(ValueError, match=r"params\['GRUCell_1'\]\['hn'\] has no 'bias'"):
        convert.from_flax(bad)
    bad = _tree(theirs)
    bad['SimpleCell_0']['h']['kernel'] = jnp.ones((fm.H, 5))
    with pytest.raises(
        ValueError,
        match=r"params\['SimpleCell_0'\]\['h'\]\['kernel'\] must "
        r'have shape \(6, 6\) .*got \(6, 5\)',
    ):
        convert.from_flax(bad)
    bad = _tree(theirs)
    bad['GRUCell_0']['hz']['kernel'] = jnp.ones((5, 5), jnp.float16)
    with pytest.raises(TypeError, match=r"\['GRUCell_0'\]\['hz'\]\['kernel'\] is float16"):
        convert.from_flax(bad)
    gru = fm.params_of(nnx.GRUCell(2, 3, rngs=nnx.Rngs(0)))
    gru['dense_h']['kernel'] = jnp.ones((3, 6))
    with pytest.raises(
        ValueError,
        match=r"params\['x'\] is laid out as a flax.nnx GRUCell or "
        r'SimpleCell, but .* \(3, 6\)',
    ):
        convert.from_flax({'x': gru})
    with pytest.raises(ValueError, match='found no flax.linen or flax.nnx LSTMCell'):
        convert.from_flax({'Dense_0': theirs['params']['Dense_0']})
    with pytest.raises(ValueError, match='found no'):
        convert.from_flax(fm.NNXModel(jn, rngs=nnx.Rngs(0)))  # already jaxrnn's


def test_to_flax_errors_name_the_path(linen):
    x, theirs, ours = linen
    params = convert.from_flax(theirs)['params']
    target = theirs['params']
    missing = dict(params)
    del missing['LSTMCell_0']
    with pytest.raises(
        ValueError,
        match=r"params has no 'LSTMCell_0'.*The target has a "
        r"flax.linen LSTMCell/OptimizedLSTMCell at target\['LSTMCell_0'\]",
    ):
        convert.to_flax(missing, target)
    wrong = dict(params, LSTMCell_0=params['GRUCell_0'])
    with pytest.raises(
        ValueError,
        match=r"params\['LSTMCell_0'\] is a gru cell with 8 inputs "
        r'and hidden size 5; the target has a flax.linen LSTMCell',
    ):
        convert.to_flax(wrong, target)
    flax_layout = dict(params, SimpleCell_0=target['SimpleCell_0'])
    with pytest.raises(ValueError, match=r"params\['SimpleCell_0'\] has no 'recurrent_kernel'"):
        convert.to_flax(flax_layout, target)
    wide = fm.LinenModel(jl).init(jax.random.key(0), jnp.ones((fm.B, fm.T, fm.I + 1)))
    with pytest.raises(ValueError, match=r"params\['LSTMCell_0'\] is a lstm cell with 4 inputs"):
        convert.to_flax(wide['params'], target)
    as_f16 = jax.tree.map(lambda a: np.asarray(a, np.float16), params)
    with pytest.raises(
        TypeError,
        match=r"params\['(\w+)'\] is float16; the target holds "
        r"float32 at target\['\1'\]",
    ):
        convert.to_flax(as_f16, target)
    dense = dict(params, Dense_1={'kernel': jnp.ones((fm.H, 3)), 'bias': jnp.ones(2)})
    with pytest.raises(
        ValueError,
        match=r"params\['Dense_1'\]\['kernel'\] has shape \(6, 3\); "
        r'the target expects \(6, 2\)',
    ):
        convert.to_flax(dense, target)
    with pytest.raises(ValueError, match=r"params have \['extra'\], which the target does not"):
        convert.to_flax(dict(params, extra=jnp.ones(1)), target)
    with pytest.raises(ValueError, match='target has no flax.linen or flax.nnx'):
        convert.to_flax(ours, ours)
    with pytest.raises(TypeError, match='to_flax target must be'):
        convert.to_flax(params, [1])
    with pytest.raises(TypeError, match='to_flax params must be a mapping'):
        convert.to_flax([1], target)


def test_to_flax_nnx_errors_name_the_path(nnx_models):
    theirs, _ = nnx_models
    params = convert.from_flax(theirs)
    params['bi']['backward_rnn']['cell']['recurrent_bias'] = np.full(5, 0.5, np.float32)
    with pytest.raises(
        ValueError,
        match=r"5594\), and params\['bi'\]\['backward_rnn'\]\['cell'\] "
        r"has a nonzero 'recurrent_bias'",
    ):
        convert.to_flax(params, fm.NNXModel(nnx, rngs=nnx.Rngs(0)))
    params = convert.from_flax(theirs)
    del params['decoder']['cell']['lstm']
    with pytest.raises(
        ValueError,
        match=r"params\['decoder'\]\['cell'\] has no 'lstm'.*"
        r"flax.nnx LSTMCell at target\['decoder'\]\['cell'\]\['lstm'\]",
    ):
        convert.to_flax(params, fm.NNXModel(nnx, rngs=nnx.Rngs(0)))
    with pytest.raises(ValueError, match='use convert.load'):
        convert.to_flax(fm.params_of(theirs), fm.NNXModel(jn, rngs=nnx.Rngs(0)))
