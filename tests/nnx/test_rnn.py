"""jaxrnn.nnx.RNN and Bidirectional: fused and generic paths, transforms, Flax parity."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx

import jaxrnn.nnx as jn

B, T, I, H = 3, 6, 5, 4
LENGTHS = np.array([6, 0, 4], np.int32)


def _x(seed=0, shape=(B, T, I)):
    return jax.random.normal(jax.random.key(seed), shape, jnp.float32)


class Wrapped(nnx.RNNCellBase):
    """A non-jaxrnn cell (it hides the fused cell), so RNN takes the generic path."""

    def __init__(self, inner):
        self.inner = inner
        self.calls = nnx.Variable(jnp.zeros((), jnp.int32))

    def __call__(self, carry, x):
        self.calls[...] += 1
        return self.inner(carry, x)

    def initialize_carry(self, input_shape, rngs=None):
        return self.inner.initialize_carry(input_shape, rngs)

    @property
    def num_feature_axes(self):
        return 1


@pytest.mark.parametrize('reverse,keep_order', [(False, False), (True, False), (True, True)])
def test_generic_path_matches_fused(reverse, keep_order):
    cell = jn.LSTMCell(I, H, rngs=nnx.Rngs(0))
    x = _x()
    kw = dict(return_carry=True, reverse=reverse, keep_order=keep_order)
    fused = jn.RNN(cell, **kw)(x, seq_lengths=LENGTHS)
    wrapped = Wrapped(cell)
    generic = jn.RNN(wrapped, **kw)(x, seq_lengths=LENGTHS)
    for a, b in zip(jax.tree.leaves(fused), jax.tree.leaves(generic), strict=True):
        np.testing.assert_allclose(a, b, atol=2e-6)
    assert int(wrapped.calls[...]) == T  # the cell's state is threaded through the scan


def test_nnx_jit_grad_no_retrace_time_major():
    model = jn.RNN(jn.GRUCell(I, H, rngs=nnx.Rngs(0)))
    traces = []

    @nnx.jit
    def loss_and_grad(model, x, lengths):
        traces.append(1)
        return nnx.value_and_grad(lambda m: (m(x, seq_lengths=lengths) ** 2).sum())(model)

    for seed in range(3):
        loss, grads = loss_and_grad(model, _x(seed), LENGTHS)
    assert len(traces) == 1 and np.isfinite(loss)
    assert grads['cell']['recurrent_bias'][...].shape == (H,)
    y = model(_x(), seq_lengths=LENGTHS)
    y_tm = model(jnp.swapaxes(_x(), 0, 1), seq_lengths=LENGTHS, time_major=True)
    np.testing.assert_allclose(jnp.swapaxes(y_tm, 0, 1), y, atol=1e-6)


def test_bidirectional_matches_flax():
    f, b = jn.LSTMCell(I, H, rngs=nnx.Rngs(0)), jn.LSTMCell(I, H, rngs=nnx.Rngs(1))
    ours = jn.Bidirectional(jn.RNN(f), jn.RNN(b), return_carry=True)
    theirs = nnx.Bidirectional(nnx.RNN(f), nnx.RNN(b), return_carry=True)
    x = _x()
    (cf, cb), y = ours(x)
    (tf, tb), ty = theirs(x)
    assert y.shape == (B, T, 2 * H)
    for a, c in zip(jax.tree.leaves((cf, cb, y)), jax.tree.leaves((tf, tb, ty)), strict=True):
        np.testing.assert_allclose(a, c, atol=1e-6)
    y = ours(x, seq_lengths=LENGTHS)[1]
    bwd = jn.RNN(b)(x, seq_lengths=LENGTHS, reverse=True, keep_order=True)
    np.testing.assert_allclose(y[..., H:], bwd, atol=1e-6)


def test_bad_seq_lengths():
    model = jn.RNN(jn.LSTMCell(I, H, rngs=nnx.Rngs(0)))
    with pytest.raises(ValueError, match='seq_lengths must have shape'):
        model(_x(), seq_lengths=np.ones((B, 1), np.int32))
    with pytest.raises(ValueError, match=r'must lie in \[0, 6\]'):
        model(_x(), seq_lengths=np.array([-1, 2, 3]))
