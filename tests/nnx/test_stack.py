"""jaxrnn.nnx.LSTM / GRU / SimpleRNN: the same parameter tree and numbers as the Linen
stacks (which are tested against the float64 oracle), NNX dropout, decoding, errors."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx

import jaxrnn.linen as jl
import jaxrnn.nnx as jn
from jaxrnn import convert
from tests import reference
from tests.cases import grads_and_loops

B, T, I, H = 3, 5, 4, 3
LENGTHS = np.array([5, 1, 3], np.int32)
PAIRS = {
    'lstm': (jn.LSTM, jl.LSTM, reference.lstm_cell),
    'gru': (jn.GRU, jl.GRU, reference.gru_cell),
    'simple': (jn.SimpleRNN, jl.SimpleRNN, reference.simple_cell),
}


def _x(seed=0, shape=(B, T, I)):
    return np.random.default_rng(seed).standard_normal(shape).astype(np.float32)


def _params(model):
    return nnx.to_pure_dict(nnx.state(model, nnx.Param))


@pytest.mark.parametrize('kind', sorted(PAIRS))
@pytest.mark.parametrize('bidirectional', [False, True])
def test_values_and_grads_match_linen_and_oracle(kind, bidirectional):
    nnx_cls, linen_cls, ref_cell = PAIRS[kind]
    x = _x()
    model = nnx_cls(I, H, num_layers=2, bidirectional=bidirectional, rngs=nnx.Rngs(0))
    linen = linen_cls(H, num_layers=2, bidirectional=bidirectional)
    params = _params(model)
    assert jax.tree.map(jnp.shape, params) == jax.tree.map(
        jnp.shape, linen.init(jax.random.key(0), x)['params']
    )
    carry, y = model(x, seq_lengths=LENGTHS, return_carry=True)
    carry_l, y_l = linen.apply({'params': params}, x, seq_lengths=LENGTHS, return_carry=True)
    np.testing.assert_array_equal(y, y_l)
    jax.tree.map(np.testing.assert_array_equal, carry, carry_l)
    zeros = model.initialize_carry((B, I))
    _, want = reference.run_stack(ref_cell, params, x, zeros, LENGTHS)
    np.testing.assert_allclose(y, want, atol=3e-6)

    def loss_nnx(model, x):
        return jnp.sum(model(x, seq_lengths=LENGTHS) ** 2)

    def loss_linen(params, x):
        return jnp.sum(linen.apply({'params': params}, x, seq_lengths=LENGTHS) ** 2)

    g_model, g_x = nnx.grad(loss_nnx, argnums=(0, 1))(model, x)
    g_params, g_x_l = jax.grad(loss_linen, argnums=(0, 1))(params, x)
    jax.tree.map(np.testing.assert_array_equal, nnx.to_pure_dict(g_model), g_params)
    np.testing.assert_array_equal(g_x, g_x_l)


def test_dropout_train_eval_and_rngs():
    x = _x(1)
    model = jn.LSTM(I, H, num_layers=2, dropout=0.5, rngs=nnx.Rngs(0, dropout=1))
    a, b = model(x), model(x)
    assert not np.allclose(a, b)  # the dropout stream advances
    assert np.all(np.asarray(a) != 0)  # nothing dropped after the last layer
    model.eval()
    c, d = model(x), model(x)
    np.testing.assert_array_equal(c, d)
    np.testing.assert_array_equal(
        model(x, deterministic=False, rngs=nnx.Rngs(dropout=3)),
        model(x, deterministic=False, rngs=nnx.Rngs(dropout=3)),
    )
    model.train()
    np.testing.assert_array_equal(model(x, deterministic=True), c)
    single = jn.LSTM(I, H, dropout=0.5, rngs=nnx.Rngs(0))  # one layer: nothing to drop
    np.testing.assert_array_equal(single(x), single(x))


def test_step_decoding_and_jit():
    x = _x(2)
    model = jn.GRU(I, H, num_layers=2, rngs=nnx.Rngs(0))
    final, y = nnx.jit(lambda m, x: m(x, return_carry=True))(model, x)
    step = nnx.jit(lambda m, c, x: m.step(c, x))
    carry = model.initialize_carry((B, I))
    outs = []
    for t in range(T):
        carry, out = step(model, carry, x[:, t])
        outs.append(out)
    np.testing.assert_allclose(jnp.stack(outs, axis=1), y, atol=1e-6)
    jax.tree.map(lambda a, b: np.testing.assert_allclose(a, b, atol=1e-6), carry, final)


def test_load_converted_params_and_errors():
    x = _x(3)
    model = jn.LSTM(I, H, num_layers=2, bidirectional=True, rngs=nnx.Rngs(0))
    other = jn.LSTM(I, H, num_layers=2, bidirectional=True, rngs=nnx.Rngs(5))
    convert.load(_params(other), model)
    np.testing.assert_array_equal(model(x), other(x))
    with pytest.raises(ValueError, match='unidirectional'):
        model.step(model.initialize_carry((B, I)), x[:, 0])
    with pytest.raises(ValueError, match='initial_carry must be a tuple of 2'):
        model(x, initial_carry=((None, None),))
    with pytest.raises(ValueError, match='num_layers'):
        jn.GRU(I, H, num_layers=0, rngs=nnx.Rngs(0))
    with pytest.raises(ValueError, match='dropout'):
        jn.GRU(I, H, dropout=-0.1, rngs=nnx.Rngs(0))


@pytest.mark.parametrize('kind,backend', [('lstm', 'cudnn'), ('gru', 'pallas')])
def test_backend_reaches_every_cell(kind, backend, request):
    if backend == 'cudnn':
        backend = request.getfixturevalue('emulated_cudnn')
    nnx_cls, _, ref_cell = PAIRS[kind]
    x = _x(2)
    model = nnx_cls(I, H, num_layers=2, bidirectional=True, backend=backend, rngs=nnx.Rngs(0))
    assert all(
        cell.backend == backend
        for layer in model.layers
        for cell in (layer.forward, layer.backward)
    )
    y = model(x, seq_lengths=LENGTHS)
    _, want = reference.run_stack(
        ref_cell, _params(model), x, model.initialize_carry((B, I)), LENGTHS
    )
    np.testing.assert_allclose(y, want, atol=3e-6)


def test_dropout_rate_and_its_alias():
    """dropout_rate is Flax's name (as the Linen stacks); dropout, PyTorch's, is an alias."""
    x = _x(4)
    a = jn.LSTM(I, H, num_layers=2, dropout_rate=0.5, rngs=nnx.Rngs(0, dropout=1))
    b = jn.LSTM(I, H, num_layers=2, dropout=0.5, rngs=nnx.Rngs(0, dropout=1))
    assert a.dropout.rate == b.dropout.rate == 0.5
    np.testing.assert_array_equal(a(x), b(x))
    assert not np.allclose(a(x), a(x, deterministic=True))
    with pytest.raises(ValueError, match='dropout is an alias of dropout_rate'):
        jn.LSTM(I, H, dropout_rate=0.5, dropout=0.5, rngs=nnx.Rngs(0))
    with pytest.raises(ValueError, match=r'dropout_rate must be in \[0, 1\)'):
        jn.LSTM(I, H, dropout_rate=1.0, rngs=nnx.Rngs(0))


def test_stack_signatures_and_option_errors():
    import inspect

    assert 'forget_bias' in inspect.signature(jn.LSTM.__init__).parameters
    assert 'forget_bias' not in inspect.signature(jn.GRU.__init__).parameters
    model = jn.LSTM(I, H, num_layers=2, forget_bias=1.0, rngs=nnx.Rngs(0))
    for layer in model.layers:
        np.testing.assert_array_equal(layer.forward.bias[...], np.repeat([0.0, 1.0, 0.0, 0.0], H))
    relu = jn.SimpleRNN(I, H, activation='relu', rngs=nnx.Rngs(0))
    assert relu.layers[0].forward.activation == 'relu'
    with pytest.raises(TypeError, match='forget_bias applies to LSTM only'):
        jn.GRU(I, H, forget_bias=1.0, rngs=nnx.Rngs(0))
    with pytest.raises(
        TypeError, match="LSTM\\(\\) got an unexpected keyword argument 'carry_init'"
    ):
        jn.LSTM(I, H, carry_init=nnx.initializers.zeros_init(), rngs=nnx.Rngs(0))
    with pytest.raises(
        TypeError, match=r"LSTM.__call__\(\) got an unexpected keyword argument 'reverse'"
    ):
        model(_x(), reverse=True)


@pytest.mark.parametrize('kind', ['lstm'])  # the other cells: tests/kernels/test_checkpoint.py
def test_checkpoint_every_same_gradients(kind):
    """``checkpoint_every`` (constructor, or call argument overriding it) reaches every
    layer and direction: the same gradients as without it, from a program that loops
    over chunks of 2 steps (2 of them, and a last one of 1) instead of the 5 steps.
    (On the XLA scan, whose loops it counts.)
    """
    nnx_cls = PAIRS[kind][0]
    x = _x()

    def pure(model, **kw):
        graphdef, params, rest = nnx.split(model, nnx.Param, ...)

        def apply(params, x):
            return nnx.merge(graphdef, params, rest)(x, seq_lengths=LENGTHS, **kw)

        return apply, params

    def build(**kw):
        return nnx_cls(
            I, H, num_layers=2, bidirectional=True, backend='xla', rngs=nnx.Rngs(0), **kw
        )

    apply, params = pure(build())
    want, loops = grads_and_loops(apply, params, x)
    assert loops == {T}
    for apply, _ in (pure(build(checkpoint_every=2)), pure(build(), checkpoint_every=2)):
        got, loops = grads_and_loops(apply, params, x)
        jax.tree.map(lambda a, b: np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-6), got, want)
        assert {2, 1} <= loops and T not in loops, loops
