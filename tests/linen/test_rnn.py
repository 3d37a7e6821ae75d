"""jaxrnn.linen.RNN and Bidirectional: Flax's signature and semantics, seq_lengths,
layouts, jit without recompiling, and errors raised before XLA."""

from __future__ import annotations

import functools

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jaxrnn.linen as jl
from tests import reference
from tests.cases import CASES, grads_and_loops

B, T, I, H = 3, 6, 5, 4
LENGTHS = np.array([6, 0, 4], np.int32)


def _x(shape=(B, T, I), seed=0):
    return jax.random.normal(jax.random.key(seed), shape, jnp.float32)


def _oracle_lstm(params, x, lengths, reverse):
    case = CASES[0]
    carry0 = (np.zeros((x.shape[0], H)), np.zeros((x.shape[0], H)))
    return reference.run(case.ref_cell, params, np.asarray(x, np.float64), carry0, lengths, reverse)


@pytest.mark.parametrize('reverse,keep_order', [(False, False), (True, False), (True, True)])
def test_seq_lengths_reverse_keep_order_against_oracle(reverse, keep_order):
    x = _x()
    rnn = jl.RNN(jl.LSTMCell(H), return_carry=True, reverse=reverse, keep_order=keep_order)
    v = rnn.init(jax.random.key(1), x)
    (c, h), y = rnn.apply(v, x, seq_lengths=LENGTHS)
    (wc, wh), wy = _oracle_lstm(v['params']['cell'], x, LENGTHS, reverse)
    if reverse and not keep_order:  # Flax's order: processing order, padding at the end
        wy = np.stack([np.concatenate([wy[b, :n][::-1], wy[b, n:]]) for b, n in enumerate(LENGTHS)])
    np.testing.assert_allclose(y, wy, atol=2e-6)
    np.testing.assert_allclose(c, wc, atol=2e-6)
    np.testing.assert_allclose(h, wh, atol=2e-6)
    assert np.all(np.asarray(h)[1] == 0)  # length 0: the initial (zero) carry


def test_time_major_and_many_batch_axes():
    x = _x((2, 3, T, I))
    rnn = jl.RNN(jl.GRUCell(H))
    v = rnn.init(jax.random.key(0), x)
    lengths = np.array([[6, 2, 0], [1, 5, 6]], np.int32)
    y = rnn.apply(v, x, seq_lengths=lengths)
    assert y.shape == (2, 3, T, H)
    y_tm = rnn.apply(v, jnp.moveaxis(x, 2, 0), seq_lengths=lengths, time_major=True)
    np.testing.assert_allclose(jnp.moveaxis(y_tm, 0, 2), y, atol=1e-6)
    y_flat = rnn.apply(v, x.reshape(6, T, I), seq_lengths=lengths.reshape(6))
    np.testing.assert_allclose(y.reshape(6, T, H), y_flat, atol=1e-6)


def test_initial_carry_init_key_and_unroll():
    x = _x()
    cell = jl.LSTMCell(H, carry_init=nn.initializers.normal(1.0))
    rnn = jl.RNN(cell, return_carry=True, unroll=2)
    v = rnn.init(jax.random.key(0), x)
    c1, y1 = rnn.apply(v, x, init_key=jax.random.key(7))
    carry = cell.initialize_carry(jax.random.key(7), (B, I))
    c2, y2 = rnn.apply(v, x, initial_carry=carry)
    np.testing.assert_array_equal(y1, y2)
    c3, _ = rnn.apply(v, x, init_key=jax.random.key(8))
    assert not np.allclose(c1[0], c3[0])


def test_jit_does_not_recompile_and_grads_flow():
    x = _x()
    rnn = jl.RNN(jl.LSTMCell(H))
    v = rnn.init(jax.random.key(0), x)
    traces = []

    @jax.jit
    def loss(params, x, lengths):
        traces.append(1)
        return (rnn.apply({'params': params}, x, seq_lengths=lengths) ** 2).sum()

    for seed in range(3):
        g = jax.grad(loss)(v['params'], _x(seed=seed), LENGTHS)
    assert len(traces) == 1
    assert all(np.all(np.isfinite(leaf)) for leaf in jax.tree.leaves(g))
    vm = jax.vmap(lambda xi: rnn.apply(v, xi[None])[0])(x)
    np.testing.assert_allclose(vm, rnn.apply(v, x), atol=1e-6)


def test_bidirectional_matches_flax_bidirectional():
    x = _x()
    ours = jl.Bidirectional(jl.RNN(jl.LSTMCell(H)), jl.RNN(jl.GRUCell(H)), return_carry=True)
    v = ours.init(jax.random.key(0), x)
    flax_bi = nn.Bidirectional(nn.RNN(jl.LSTMCell(H)), nn.RNN(jl.GRUCell(H)), return_carry=True)
    (cf, cb), y = ours.apply(v, x)
    (fcf, fcb), fy = flax_bi.apply(v, x)
    np.testing.assert_allclose(y, fy, atol=1e-6)
    assert y.shape == (B, T, 2 * H)
    for a, b in zip(jax.tree.leaves((cf, cb)), jax.tree.leaves((fcf, fcb)), strict=True):
        np.testing.assert_allclose(a, b, atol=1e-6)
    # With lengths: the backward half at step t has read x[n-1], ..., x[t].
    y = ours.apply(v, x, seq_lengths=LENGTHS)[1]
    bwd = jl.RNN(jl.GRUCell(H)).apply(
        {'params': v['params']['backward_rnn']},
        x,
        seq_lengths=LENGTHS,
        reverse=True,
        keep_order=True,
    )
    np.testing.assert_allclose(y[..., H:], bwd, atol=1e-6)


def test_bad_inputs_raise_before_xla():
    x = _x()
    rnn = jl.RNN(jl.LSTMCell(H))
    v = rnn.init(jax.random.key(0), x)
    with pytest.raises(ValueError, match=r'seq_lengths must have shape \(3,\).*got \(2,\)'):
        rnn.apply(v, x, seq_lengths=np.array([1, 2]))
    with pytest.raises(TypeError, match='seq_lengths must have an integer dtype, got float'):
        rnn.apply(v, x, seq_lengths=np.array([1.0, 2.0, 3.0]))
    with pytest.raises(ValueError, match=r'seq_lengths values must lie in \[0, 6\]'):
        rnn.apply(v, x, seq_lengths=np.array([1, 7, 3]))
    with pytest.raises(ValueError, match='rank'):
        rnn.apply(v, jnp.ones((I,)))
    with pytest.raises(TypeError, match='xs must have a floating dtype, got int'):
        rnn.apply(v, jnp.ones((B, T, I), jnp.int32))
    with pytest.raises(ValueError, match=r'carry h must have shape \(3, 4\)'):
        rnn.apply(v, x, initial_carry=(jnp.zeros((B, H)), jnp.zeros((B, H + 1))))
    with pytest.raises(TypeError, match=r'carry must be a tuple \(c, h\)'):
        rnn.apply(v, x, initial_carry=jnp.zeros((B, H)))


def test_bidirectional_rejects_reverse_and_keep_order():
    """They are in the signature for Flax's RNNBase protocol; a value is an error."""
    x = _x()
    bi = jl.Bidirectional(jl.RNN(jl.LSTMCell(H)), jl.RNN(jl.LSTMCell(H)))
    v = bi.init(jax.random.key(0), x)
    np.testing.assert_array_equal(bi.apply(v, x, reverse=None, keep_order=None), bi.apply(v, x))
    with pytest.raises(ValueError, match='takes no reverse.*got reverse=False'):
        bi.apply(v, x, reverse=False)
    with pytest.raises(ValueError, match='takes no keep_order.*got keep_order=True'):
        bi.apply(v, x, keep_order=True)


def test_one_kernel_call_and_checks_once(monkeypatch):
    """The fused path calls the kernel driver once, with the kernel cell, and leaves
    seq_lengths to it; the generic path checks them itself."""
    from jaxrnn.kernels import _api
    from jaxrnn.kernels.lstm import LSTM

    x = _x()
    rnn = jl.RNN(jl.LSTMCell(H))
    v = rnn.init(jax.random.key(0), x)
    with pytest.raises(
        TypeError, match="RNN.__call__.. got an unexpected keyword argument 'deterministic'"
    ):
        rnn.apply(v, x, deterministic=True)
    checks, cells = [], []
    check, run = _api.check_seq_lengths, _api.run_sequence
    monkeypatch.setattr(_api, 'check_seq_lengths', lambda *a: checks.append(1) or check(*a))
    monkeypatch.setattr(
        _api, 'run_sequence', lambda cell, *a, **k: cells.append(cell) or run(cell, *a, **k)
    )
    rnn.apply(v, x, seq_lengths=LENGTHS, reverse=True)
    assert len(checks) == 1 and cells == [LSTM()]
    generic = jl.RNN(nn.OptimizedLSTMCell(H))
    generic.apply(generic.init(jax.random.key(0), x), x, seq_lengths=LENGTHS)
    assert len(checks) == 2 and len(cells) == 1  # no kernel: the layer checks them


def _same(got, want):
    jax.tree.map(lambda a, b: np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-6), got, want)


def test_checkpoint_every_attribute_call_argument_and_cell_sequence():
    """``checkpoint_every`` as ``RNN``'s attribute, as a call argument (which overrides
    it) and on the cell's ``sequence``: the same gradients as without it, from a program
    that loops over 3 chunks of 2 steps instead of the 6 steps.
    (On the XLA scan, whose loops it counts.)
    """
    x = _x()
    plain = jl.RNN(jl.LSTMCell(H, backend='xla'), reverse=True, return_carry=True)
    params = plain.init(jax.random.key(0), x)['params']

    def rnn(module, **kw):
        return lambda p, x: module.apply({'params': p}, x, seq_lengths=LENGTHS, **kw)

    want, loops = grads_and_loops(rnn(plain), params, x)
    assert loops == {T}
    chunked = jl.RNN(
        jl.LSTMCell(H, backend='xla'), reverse=True, return_carry=True, checkpoint_every=2
    )
    for apply in (
        rnn(chunked),
        rnn(plain, checkpoint_every=2),
        rnn(chunked.clone(checkpoint_every=4), checkpoint_every=2),
        lambda p, x: jl.LSTMCell(H, backend='xla').apply(
            {'params': p['cell']},
            x,
            seq_lengths=LENGTHS,
            reverse=True,
            checkpoint_every=2,
            method='sequence',
        ),
    ):
        got, loops = grads_and_loops(apply, params, x)
        _same(got, want)
        assert 3 in loops and T not in loops, loops
    _, loops = grads_and_loops(rnn(chunked, checkpoint_every='auto'), params, x)
    assert 2 in loops and T not in loops  # ceil(sqrt(6)) = 3: 2 chunks of 3


def test_checkpoint_every_on_bidirectional():
    """The attribute or the call argument reaches both RNNs (overriding theirs).
    (On the XLA scan, whose loops it counts.)
    """
    x = _x()
    make = functools.partial(
        jl.Bidirectional,
        jl.RNN(jl.LSTMCell(H, backend='xla')),
        jl.RNN(jl.GRUCell(H, backend='xla')),
    )
    plain = make(return_carry=True)
    params = plain.init(jax.random.key(0), x)['params']

    def apply(module, **kw):
        return lambda p, x: module.apply({'params': p}, x, seq_lengths=LENGTHS, **kw)

    want, loops = grads_and_loops(apply(plain), params, x)
    assert loops == {T}
    for fn in (
        apply(make(return_carry=True, checkpoint_every=2)),
        apply(plain, checkpoint_every=2),
        apply(
            jl.Bidirectional(
                jl.RNN(jl.LSTMCell(H, backend='xla'), checkpoint_every=2),
                jl.RNN(jl.GRUCell(H, backend='xla'), checkpoint_every=2),
                return_carry=True,
            )
        ),
    ):
        got, loops = grads_and_loops(fn, params, x)
        _same(got, want)
        assert 3 in loops and T not in loops, loops


def test_checkpoint_every_needs_a_jaxrnn_cell():
    x = _x()
    rnn = jl.RNN(nn.OptimizedLSTMCell(H), checkpoint_every=2)
    v = jl.RNN(nn.OptimizedLSTMCell(H)).init(jax.random.key(0), x)
    with pytest.raises(
        ValueError, match=r'checkpoint_every=2 needs a jaxrnn cell.*OptimizedLSTMCell'
    ):
        rnn.apply(v, x)
    fused = jl.RNN(jl.LSTMCell(H))
    v = fused.init(jax.random.key(0), x)
    with pytest.raises(
        ValueError, match=r"checkpoint_every must be None, a positive int or 'auto', got 0"
    ):
        fused.apply(v, x, checkpoint_every=0)
    with pytest.raises(ValueError, match='cannot be combined with trace=True'):
        fused.apply(v, x, checkpoint_every=2, trace=True)
