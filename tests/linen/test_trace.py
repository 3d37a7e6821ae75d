"""Trace mode on the Linen layers: return order, alignment with the outputs (reverse,
keep_order, Bidirectional, stacks), the equations, the intermediates collection."""

from __future__ import annotations

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jaxrnn.linen as jl
from tests import reference

B, T, I, H = 3, 6, 4, 5
LENGTHS = np.array([6, 2, 4], np.int32)


def _x(seed=0):
    return np.random.default_rng(seed).standard_normal((B, T, I)).astype(np.float32)


def _valid(lengths=LENGTHS):
    return np.arange(T)[None, :] < lengths[:, None]


@pytest.mark.parametrize('reverse,keep_order', [(False, False), (True, False), (True, True)])
def test_rnn_trace_order_and_alignment(reverse, keep_order):
    x = _x()
    rnn = jl.RNN(jl.LSTMCell(H), reverse=reverse, keep_order=keep_order)
    v = rnn.init(jax.random.key(0), x)
    y = rnn.apply(v, x, seq_lengths=LENGTHS)
    y2, trace = rnn.apply(v, x, seq_lengths=LENGTHS, trace=True)
    carry, y3, trace3 = rnn.apply(v, x, seq_lengths=LENGTHS, trace=True, return_carry=True)
    np.testing.assert_array_equal(y2, y)
    np.testing.assert_array_equal(y3, y)
    np.testing.assert_array_equal(trace.h, y)  # in the order of the outputs
    jax.tree.map(np.testing.assert_array_equal, trace3, trace)
    if not reverse or keep_order:  # input order: the equations hold against the inputs
        zeros = (np.zeros((B, H)), np.zeros((B, H)))
        p = v['params']['cell']
        assert reference.trace_errors('lstm', p, x, zeros, trace, LENGTHS, reverse) < 2e-6


def test_trace_is_sown_and_jit_and_grad_work():
    x = _x(1)
    rnn = jl.RNN(jl.GRUCell(H))
    v = rnn.init(jax.random.key(0), x)
    (y, trace), state = jax.jit(
        lambda v, x: rnn.apply(v, x, trace=True, mutable=['intermediates'])
    )(v, x)
    (sown,) = state['intermediates']['trace']
    jax.tree.map(np.testing.assert_array_equal, sown, trace)
    # no trace requested: nothing sown
    _, state = rnn.apply(v, x, mutable=['intermediates'])
    assert 'trace' not in state.get('intermediates', {})

    def saturation(params):
        _, tr = rnn.apply({'params': params}, x, trace=True)
        return jnp.mean(jnp.abs(tr.z - 0.5))

    grads = jax.grad(saturation)(v['params'])
    assert all(np.all(np.isfinite(g)) for g in jax.tree.leaves(grads))
    assert any(np.any(g != 0) for g in jax.tree.leaves(grads))


def test_bidirectional_trace():
    x = _x(2)
    bi = jl.Bidirectional(jl.RNN(jl.LSTMCell(H)), jl.RNN(jl.LSTMCell(H)))
    v = bi.init(jax.random.key(0), x)
    y, (fwd, bwd) = bi.apply(v, x, seq_lengths=LENGTHS, trace=True)
    np.testing.assert_array_equal(fwd.h, y[..., :H])
    np.testing.assert_array_equal(bwd.h, y[..., H:])  # input order, like the outputs
    zeros = (np.zeros((B, H)), np.zeros((B, H)))
    p = v['params']['backward_rnn']['cell']
    assert reference.trace_errors('lstm', p, x, zeros, bwd, LENGTHS, reverse=True) < 2e-6


@pytest.mark.parametrize('cls,kind', [(jl.LSTM, 'lstm'), (jl.GRU, 'gru'), (jl.SimpleRNN, 'simple')])
def test_stack_trace_per_layer_and_direction(cls, kind):
    x = _x(3)
    model = cls(H, num_layers=2, bidirectional=True)
    v = model.init(jax.random.key(0), x)
    carry, y, trace = model.apply(v, x, seq_lengths=LENGTHS, return_carry=True, trace=True)
    assert len(trace) == 2 and all(len(layer) == 2 for layer in trace)
    np.testing.assert_array_equal(trace[1][0].h, y[..., :H])
    np.testing.assert_array_equal(trace[1][1].h, y[..., H:])
    # layer 1 reads layer 0's outputs: the equations hold against them
    layer0 = np.concatenate([trace[0][0].h, trace[0][1].h], axis=-1)
    parts = 2 if kind == 'lstm' else 1
    for d in range(2):
        zeros = tuple(np.zeros((B, H)) for _ in range(parts))
        zeros = zeros if parts == 2 else zeros[0]
        p = v['params']['layer_1'][('forward', 'backward')[d]]
        err = reference.trace_errors(kind, p, layer0, zeros, trace[1][d], LENGTHS, d == 1)
        assert err < 2e-6
    _, state = model.apply(v, x, trace=True, mutable=['intermediates'])
    assert len(state['intermediates']['trace'][0]) == 2


def test_trace_needs_a_jaxrnn_cell():
    x = _x(4)
    rnn = jl.RNN(nn.GRUCell(H))
    v = rnn.init(jax.random.key(0), x)
    with pytest.raises(ValueError, match='trace=True needs a jaxrnn cell'):
        rnn.apply(v, x, trace=True)
