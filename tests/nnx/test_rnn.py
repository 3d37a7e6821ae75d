"""jaxrnn.nnx.RNN and Bidirectional: fused and generic paths, transforms, Flax parity."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx

import jaxrnn.nnx as jn
from tests.cases import grads_and_loops

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


def test_bidirectional_rejects_reverse_and_keep_order():
    """They are in the signature for Flax's RNNBase protocol; a value is an error."""
    f, b = jn.LSTMCell(I, H, rngs=nnx.Rngs(0)), jn.LSTMCell(I, H, rngs=nnx.Rngs(1))
    bi = jn.Bidirectional(jn.RNN(f), jn.RNN(b))
    x = _x()
    np.testing.assert_array_equal(bi(x, reverse=None, keep_order=None), bi(x))
    with pytest.raises(ValueError, match='takes no reverse.*got reverse=True'):
        bi(x, reverse=True)
    with pytest.raises(ValueError, match='takes no keep_order.*got keep_order=False'):
        bi(x, keep_order=False)


def test_unknown_call_keyword_and_seq_lengths_checked_once(monkeypatch):
    from jaxrnn.kernels import _api

    rnn = jn.RNN(jn.GRUCell(I, H, rngs=nnx.Rngs(0)))
    with pytest.raises(
        TypeError, match=r"RNN.__call__\(\) got an unexpected keyword argument 'init_key'"
    ):
        rnn(_x(), init_key=jax.random.key(0))
    calls = []
    check = _api.check_seq_lengths
    monkeypatch.setattr(_api, 'check_seq_lengths', lambda *a: calls.append(1) or check(*a))
    rnn(_x(), seq_lengths=LENGTHS)  # the fused kernel checks them
    assert len(calls) == 1
    jn.RNN(Wrapped(jn.GRUCell(I, H, rngs=nnx.Rngs(0))))(_x(), seq_lengths=LENGTHS)  # the layer
    assert len(calls) == 2


def _pure(model, **kw):
    """``(apply(params, x), params)`` for a model called with ``kw``."""
    graphdef, params, rest = nnx.split(model, nnx.Param, ...)

    def apply(params, x):
        return nnx.merge(graphdef, params, rest)(x, seq_lengths=LENGTHS, **kw)

    return apply, params


def _same(got, want):
    jax.tree.map(lambda a, b: np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-6), got, want)


def test_checkpoint_every_rnn_bidirectional_and_cell_sequence():
    """``checkpoint_every`` on ``RNN`` and ``Bidirectional`` (constructor, or call
    argument overriding it) and on the cell's ``sequence``: the same gradients as without
    it, from a program that loops over 3 chunks of 2 steps instead of the 6 steps.
    (On the XLA scan, whose loops it counts.)
    """
    x = _x()
    cell = jn.LSTMCell(I, H, backend='xla', rngs=nnx.Rngs(0))
    apply, params = _pure(jn.RNN(cell, reverse=True))
    want, loops = grads_and_loops(apply, params, x)
    assert loops == {T}
    for apply, _ in (
        _pure(jn.RNN(cell, reverse=True, checkpoint_every=2)),
        _pure(jn.RNN(cell, reverse=True, checkpoint_every=4), checkpoint_every=2),
    ):
        got, loops = grads_and_loops(apply, params, x)
        _same(got, want)
        assert 3 in loops and T not in loops, loops
    graphdef, cell_params = nnx.split(cell)

    def sequence(params, x, every=None):
        cell = nnx.merge(graphdef, params)
        return cell.sequence(x, seq_lengths=LENGTHS, reverse=True, checkpoint_every=every)

    want, _ = grads_and_loops(sequence, cell_params, x)
    got, loops = grads_and_loops(lambda p, x: sequence(p, x, 2), cell_params, x)
    _same(got, want)
    assert 3 in loops and T not in loops

    f, b = (
        jn.LSTMCell(I, H, backend='xla', rngs=nnx.Rngs(1)),
        jn.GRUCell(I, H, backend='xla', rngs=nnx.Rngs(2)),
    )
    apply, params = _pure(jn.Bidirectional(jn.RNN(f), jn.RNN(b)))
    want, loops = grads_and_loops(apply, params, x)
    assert loops == {T}
    for apply, _ in (
        _pure(jn.Bidirectional(jn.RNN(f), jn.RNN(b), checkpoint_every=2)),
        _pure(jn.Bidirectional(jn.RNN(f), jn.RNN(b)), checkpoint_every=2),
    ):
        got, loops = grads_and_loops(apply, params, x)
        _same(got, want)
        assert 3 in loops and T not in loops, loops


def test_checkpoint_every_needs_a_jaxrnn_cell():
    rnn = jn.RNN(Wrapped(jn.GRUCell(I, H, rngs=nnx.Rngs(0))), checkpoint_every='auto')
    with pytest.raises(ValueError, match=r"checkpoint_every='auto' needs a jaxrnn cell.*Wrapped"):
        rnn(_x())
    with pytest.raises(TypeError, match=r'checkpoint_every must be None.*got True \(bool\)'):
        jn.RNN(jn.GRUCell(I, H, rngs=nnx.Rngs(0)), checkpoint_every=True)(_x())
