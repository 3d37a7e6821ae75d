"""Trace mode on the NNX layers: returned last, captured with nnx.capture, under
nnx.jit and nnx.grad."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx

import jaxrnn.nnx as jn

B, T, I, H = 3, 6, 4, 5
LENGTHS = np.array([6, 2, 4], np.int32)


def _x(seed=0):
    return np.random.default_rng(seed).standard_normal((B, T, I)).astype(np.float32)


def test_rnn_trace_and_capture():
    x = _x()
    rnn = jn.RNN(jn.LSTMCell(I, H, rngs=nnx.Rngs(0)))
    y, trace = rnn(x, seq_lengths=LENGTHS, trace=True)
    np.testing.assert_array_equal(trace.h, y)
    np.testing.assert_array_equal(rnn(x, seq_lengths=LENGTHS), y)
    (y2, trace2), captured = nnx.capture(rnn, nnx.Intermediate)(x, seq_lengths=LENGTHS, trace=True)
    jax.tree.map(np.testing.assert_array_equal, captured['trace'].get_value()[0], trace)
    assert not hasattr(rnn, 'trace')  # outside capture nothing is stored on the module


def test_stack_trace_under_jit_and_grad():
    x = _x(1)
    model = jn.GRU(I, H, num_layers=2, bidirectional=True, rngs=nnx.Rngs(0))
    y, trace = nnx.jit(lambda m, x: m(x, trace=True))(model, x)
    np.testing.assert_array_equal(trace[1][1].h, y[..., H:])

    def loss(m):
        _, tr = m(x, trace=True)
        return jnp.mean(tr[0][0].z ** 2)

    grads = nnx.grad(loss)(model)
    leaves = jax.tree.leaves(nnx.to_pure_dict(grads))
    assert any(np.any(g != 0) for g in leaves) and all(np.all(np.isfinite(g)) for g in leaves)
