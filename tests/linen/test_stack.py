"""jaxrnn.linen.LSTM / GRU / SimpleRNN stacks: values and gradients against the float64
oracle, carries, dropout between layers only, step-by-step decoding, errors."""

from __future__ import annotations

import functools

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jaxrnn.linen as jl
from tests import reference
from tests.cases import grads_and_loops

B, T, I, H = 3, 5, 4, 3
LENGTHS = np.array([5, 0, 3], np.int32)

STACKS = {
    'lstm': (jl.LSTM, reference.lstm_cell, 2),
    'gru': (jl.GRU, reference.gru_cell, 1),
    'simple': (jl.SimpleRNN, reference.simple_cell, 1),
}


def _carry(rng, kind, layers, dirs, dtype=np.float32, batch=B):
    parts = STACKS[kind][2]

    def one():
        c = tuple((0.5 * rng.standard_normal((batch, H))).astype(dtype) for _ in range(parts))
        return c if parts == 2 else c[0]

    return tuple(tuple(one() for _ in range(dirs)) for _ in range(layers))


def _x(rng, dtype=np.float32, shape=(B, T, I)):
    return rng.standard_normal(shape).astype(dtype)


@pytest.mark.parametrize('kind', sorted(STACKS))
@pytest.mark.parametrize('num_layers', [1, 2, 3])
@pytest.mark.parametrize('bidirectional', [False, True])
@pytest.mark.parametrize('lengths', [None, LENGTHS])
def test_values_against_oracle(kind, num_layers, bidirectional, lengths):
    cls, ref_cell, _ = STACKS[kind]
    rng = np.random.default_rng(0)
    x = _x(rng)
    carry = _carry(rng, kind, num_layers, 2 if bidirectional else 1)
    model = cls(H, num_layers=num_layers, bidirectional=bidirectional, return_carry=True)
    params = model.init(jax.random.key(1), x)['params']
    final, y = model.apply({'params': params}, x, initial_carry=carry, seq_lengths=lengths)
    want_final, want_y = reference.run_stack(ref_cell, params, x, carry, lengths)
    assert y.shape == (B, T, (2 if bidirectional else 1) * H)
    assert y.dtype == jnp.float32
    np.testing.assert_allclose(y, want_y, atol=3e-6)
    jax.tree.map(lambda a, b: np.testing.assert_allclose(a, b, atol=3e-6), final, want_final)


@pytest.mark.parametrize('kind', sorted(STACKS))
def test_gradients_against_oracle(kind):
    """float64 gradients w.r.t. every parameter, the inputs and the initial carry of a
    2-layer bidirectional stack with seq_lengths, against central differences."""
    cls, ref_cell, _ = STACKS[kind]
    rng = np.random.default_rng(1)
    b, t = 2, 3
    lengths = np.array([3, 2], np.int32)
    x = _x(rng, np.float64, (b, t, 2))
    carry = _carry(rng, kind, 2, 2, np.float64, batch=b)
    model = cls(H, num_layers=2, bidirectional=True, param_dtype=jnp.float64, return_carry=True)
    params = model.init(jax.random.key(2), x)['params']
    w_out = rng.standard_normal((b, t, 2 * H))
    w_carry = jax.tree.map(lambda c: rng.standard_normal(c.shape), carry)

    def loss(final, y):
        terms = jax.tree.map(lambda a, w: (a * w).sum(), final, w_carry)
        return (y * w_out).sum() + sum(jax.tree.leaves(terms))

    def ours(params, x, carry):
        final, y = model.apply({'params': params}, x, initial_carry=carry, seq_lengths=lengths)
        return loss(final, y)

    grads = jax.grad(ours, argnums=(0, 1, 2))(params, x, carry)

    leaves, treedef = jax.tree.flatten((params, x, carry))

    def oracle(*flat):
        p, xx, cc = jax.tree.unflatten(treedef, flat)
        final, y = reference.run_stack(ref_cell, p, xx, cc, lengths)
        return float(loss(final, y))

    want = jax.tree.unflatten(treedef, reference.numerical_grad(oracle, leaves))
    jax.tree.map(functools.partial(np.testing.assert_allclose, rtol=1e-6, atol=1e-7), grads, want)


def test_time_major_matches_batch_major():
    rng = np.random.default_rng(3)
    x = _x(rng)
    model = jl.GRU(H, num_layers=2, bidirectional=True)
    params = model.init(jax.random.key(0), x)
    y = model.apply(params, x, seq_lengths=LENGTHS)
    y_tm = model.apply(params, x.swapaxes(0, 1), seq_lengths=LENGTHS, time_major=True)
    np.testing.assert_allclose(y_tm.swapaxes(0, 1), y, atol=1e-6)
    assert np.all(np.asarray(y)[1] == 0) and np.all(np.asarray(y)[2, 3:] == 0)


def test_dropout_between_layers_only():
    rng = np.random.default_rng(4)
    x = _x(rng)
    model = jl.LSTM(H, num_layers=2, dropout_rate=0.5)
    params = model.init(jax.random.key(0), x, deterministic=True)
    keep = model.apply(params, x, deterministic=True)
    dropped = model.apply(params, x, deterministic=False, rngs={'dropout': jax.random.key(1)})
    again = model.apply(params, x, deterministic=False, rngs={'dropout': jax.random.key(1)})
    other = model.apply(params, x, deterministic=False, rngs={'dropout': jax.random.key(2)})
    assert not np.allclose(keep, dropped)
    np.testing.assert_array_equal(dropped, again)
    assert not np.allclose(dropped, other)
    # the last layer's outputs are not dropped: no exact zeros appear
    assert np.all(np.asarray(dropped) != 0)
    # layer 1 reads layer 0's outputs through inverted dropout: each value is zeroed or
    # scaled by 1 / (1 - rate), and nothing else is dropped
    out, state = model.apply(
        params,
        x,
        deterministic=False,
        rngs={'dropout': jax.random.key(1)},
        capture_intermediates=lambda mdl, _: isinstance(mdl, nn.Dropout),
        mutable=['intermediates'],
    )
    (masked,) = state['intermediates']['dropout']['__call__']
    y0 = jl.LSTM(H).apply({'params': {'layer_0': params['params']['layer_0']}}, x)
    kept = np.asarray(masked) != 0
    assert 0 < kept.mean() < 1
    np.testing.assert_allclose(np.asarray(masked)[kept], 2 * np.asarray(y0)[kept], rtol=1e-6)
    y1 = jl.LSTM(H).apply({'params': {'layer_0': params['params']['layer_1']}}, masked)
    np.testing.assert_allclose(out, y1, atol=1e-6)
    np.testing.assert_array_equal(out, dropped)
    # as in Flax, the deterministic flag is needed when dropout is active...
    with pytest.raises(ValueError, match='deterministic'):
        model.apply(params, x)
    # ...and not when there is nothing to drop (one layer: no dropout, as PyTorch)
    single = jl.LSTM(H, dropout_rate=0.5)
    p1 = single.init(jax.random.key(0), x)
    np.testing.assert_array_equal(single.apply(p1, x), single.apply(p1, x, deterministic=False))


@pytest.mark.parametrize('kind', sorted(STACKS))
def test_step_by_step_decoding_equals_sequence(kind):
    cls = STACKS[kind][0]
    rng = np.random.default_rng(5)
    x = _x(rng)
    model = cls(H, num_layers=3, return_carry=True)
    params = model.init(jax.random.key(0), x)
    final, y = model.apply(params, x)
    carry = model.initialize_carry(None, (B, I))
    step = jax.jit(functools.partial(model.apply, method='step'))
    outs = []
    for t in range(T):
        carry, out = step(params, carry, x[:, t])
        outs.append(out)
    np.testing.assert_allclose(jnp.stack(outs, axis=1), y, atol=1e-6)
    jax.tree.map(lambda a, b: np.testing.assert_allclose(a, b, atol=1e-6), carry, final)


def test_initialize_carry_structure():
    model = jl.LSTM(H, num_layers=2, bidirectional=True)
    carry = model.initialize_carry(None, (7, I))
    assert len(carry) == 2 and all(len(layer) == 2 for layer in carry)
    assert all(part.shape == (7, H) for part in jax.tree.leaves(carry))
    assert all(part.dtype == jnp.float32 for part in jax.tree.leaves(carry))


def test_jit_vmap_and_leading_batch_axes():
    rng = np.random.default_rng(6)
    x = _x(rng, shape=(2, B, T, I))
    model = jl.GRU(H, num_layers=2, bidirectional=True)
    params = model.init(jax.random.key(0), x[0])
    y = jax.jit(model.apply)(params, x)
    y_vmap = jax.vmap(model.apply, in_axes=(None, 0))(params, x)
    np.testing.assert_allclose(y, y_vmap, atol=1e-6)
    np.testing.assert_allclose(y[1], model.apply(params, x[1]), atol=1e-6)


def test_errors():
    rng = np.random.default_rng(7)
    x = _x(rng)
    model = jl.LSTM(H, num_layers=2, bidirectional=True)
    params = model.init(jax.random.key(0), x)
    with pytest.raises(ValueError, match='initial_carry must be a tuple of 2'):
        model.apply(params, x, initial_carry=_carry(rng, 'lstm', 1, 2))
    with pytest.raises(ValueError, match=r'initial_carry\[0\] must be a tuple of 2'):
        model.apply(params, x, initial_carry=_carry(rng, 'lstm', 2, 1))
    with pytest.raises(ValueError, match='seq_lengths'):
        model.apply(params, x, seq_lengths=np.array([1, 2], np.int32))
    with pytest.raises(ValueError, match='rank'):
        model.apply(params, x[0, 0])
    with pytest.raises(ValueError, match='unidirectional'):
        model.apply(params, model.initialize_carry(None, (B, I)), x[:, 0], method='step')
    with pytest.raises(ValueError, match='num_layers'):
        jl.LSTM(H, num_layers=0).init(jax.random.key(0), x)
    with pytest.raises(ValueError, match='dropout_rate'):
        jl.GRU(H, dropout_rate=1.0).init(jax.random.key(0), x)
    with pytest.raises(ValueError, match='features'):
        model.apply(params, _x(rng, shape=(B, T, I + 1)))


@pytest.mark.parametrize(
    'kind,backend', [('lstm', 'cudnn'), ('lstm', 'pallas'), ('gru', 'pallas'), ('simple', 'pallas')]
)
def test_backends_match_oracle(kind, backend, request):
    """Two bidirectional layers with ragged lengths (one of them 0), values and
    gradients, on every backend the cell has (cuDNN emulated on a CPU)."""
    if backend == 'cudnn':
        backend = request.getfixturevalue('emulated_cudnn')
    cls, ref_cell, _ = STACKS[kind]
    rng = np.random.default_rng(0)
    x = _x(rng)
    carry = _carry(rng, kind, 2, 2)
    model = cls(H, num_layers=2, bidirectional=True, return_carry=True, backend=backend)
    xla = cls(H, num_layers=2, bidirectional=True, return_carry=True, backend='xla')
    params = model.init(jax.random.key(1), x)['params']
    final, y = model.apply({'params': params}, x, initial_carry=carry, seq_lengths=LENGTHS)
    want_final, want_y = reference.run_stack(ref_cell, params, x, carry, LENGTHS)
    np.testing.assert_allclose(y, want_y, atol=3e-6)
    jax.tree.map(lambda a, b: np.testing.assert_allclose(a, b, atol=3e-6), final, want_final)

    def loss(params, module):
        out = module.apply({'params': params}, x, initial_carry=carry, seq_lengths=LENGTHS)
        return jnp.sum(out[1] ** 2)

    got, want = jax.grad(loss)(params, model), jax.grad(loss)(params, xla)
    jax.tree.map(lambda a, b: np.testing.assert_allclose(a, b, atol=2e-5, rtol=2e-5), got, want)


def test_attribute_order_and_cell_options():
    """The stack's own attributes come right after features (``jl.LSTM(H, 2)`` is two
    layers), the cells' options after them, and they reach every cell."""
    import dataclasses

    fields = [f.name for f in dataclasses.fields(jl.LSTM)]
    assert fields[:10] == [
        'features',
        'num_layers',
        'bidirectional',
        'dropout_rate',
        'deterministic',
        'time_major',
        'return_carry',
        'unroll',
        'checkpoint_every',
        'kernel_init',
    ]
    x = _x(np.random.default_rng(8))
    model = jl.LSTM(H, 2, forget_bias=1.0, param_dtype=jnp.float64)
    params = model.init(jax.random.key(0), x)['params']
    assert set(params) == {'layer_0', 'layer_1'}
    for layer in params.values():
        np.testing.assert_array_equal(layer['forward']['bias'], np.repeat([0.0, 1.0, 0.0, 0.0], H))
        assert layer['forward']['input_kernel'].dtype == jnp.float64
    with pytest.raises(
        TypeError, match="LSTM.__call__.. got an unexpected keyword argument 'rngs_'"
    ):
        model.apply({'params': params}, x, rngs_=None)


@pytest.mark.parametrize('kind', ['gru'])  # the other cells: tests/kernels/test_checkpoint.py
def test_checkpoint_every_same_gradients(kind):
    """``checkpoint_every`` (attribute, or call argument overriding it) reaches every
    layer and direction: the same gradients as without it, from a program that loops
    over chunks of 2 steps (2 of them, and a last one of 1) instead of the 5 steps.
    (On the XLA scan, whose loops it counts.)
    """
    cls = STACKS[kind][0]
    x = _x(np.random.default_rng(9))
    plain = cls(H, num_layers=2, bidirectional=True, backend='xla')
    params = plain.init(jax.random.key(0), x)['params']

    def stack(model, **kw):
        return lambda p, x: model.apply({'params': p}, x, seq_lengths=LENGTHS, **kw)

    want, loops = grads_and_loops(stack(plain), params, x)
    assert loops == {T}
    chunked = plain.clone(checkpoint_every=2)
    for apply in (stack(chunked), stack(plain, checkpoint_every=2)):
        got, loops = grads_and_loops(apply, params, x)
        jax.tree.map(lambda a, b: np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-6), got, want)
        assert {2, 1} <= loops and T not in loops, loops
