"""jaxrnn.linen behaves as flax.linen wherever Flax defines the behaviour: the rows of the
README's "Flax compatibility" table (Linen part) that say "same", and the errors of the
rows that say "not supported"."""

from __future__ import annotations

import warnings

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jaxrnn.linen as jl
from jaxrnn import convert

B, T, I, H = 3, 6, 5, 4
PAIRS = [
    (nn.LSTMCell, jl.LSTMCell),
    (nn.OptimizedLSTMCell, jl.OptimizedLSTMCell),
    (nn.GRUCell, jl.GRUCell),
    (nn.SimpleCell, jl.SimpleCell),
]
IDS = [p[0].__name__ for p in PAIRS]


def _x(seed=0, shape=(B, T, I)):
    return jax.random.normal(jax.random.key(seed), shape, jnp.float32)


def _close(a, b, tol=2e-6):
    for x, y in zip(jax.tree.leaves(a), jax.tree.leaves(b), strict=True):
        np.testing.assert_allclose(x, y, atol=tol, rtol=tol)


def _biased(params, seed=1):
    """Flax initialises biases to zero; shift every leaf so a test sees the biases."""
    leaves, tree = jax.tree.flatten(params)
    keys = jax.random.split(jax.random.key(seed), len(leaves))
    shifted = [
        v + 0.3 * jax.random.normal(k, v.shape, v.dtype) for v, k in zip(leaves, keys, strict=True)
    ]
    return jax.tree.unflatten(tree, shifted)


@pytest.mark.parametrize('flax_cls,ours_cls', PAIRS, ids=IDS)
def test_parameters_are_sized_from_the_carry(flax_cls, ours_cls):
    """Flax's cells read the hidden size from the carry (``h.shape[-1]``) and use
    ``features`` only in ``initialize_carry``; jaxrnn's do the same and warn, naming both
    numbers, once per mismatch."""
    wide = H + 3
    x = _x()[:, 0]
    parts = 2 if 'LSTM' in flax_cls.__name__ else 1
    carry = tuple(_x(k + 5, (B, wide)) for k in range(parts))
    carry = carry if parts == 2 else carry[0]
    fv = flax_cls(features=H).init(jax.random.key(0), carry, x)
    fv = {'params': _biased(fv['params'])}
    ours = ours_cls(features=H)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter('default')
        ov = ours.init(jax.random.key(0), carry, x)
        for _ in range(2):
            ours.apply(ov, carry, x)
        mine = ours.apply({'params': convert.from_flax(fv['params'])}, carry, x)
    assert len(caught) == 1, [str(w.message) for w in caught]
    assert f'features={H}) was given a carry of {wide} units' in str(caught[0].message)
    assert ov['params']['recurrent_kernel'].shape[0] == wide
    _close(mine, flax_cls(features=H).apply(fv, carry, x))
    # with parameters of one size, a carry of another names the carry
    narrow = jax.tree.map(lambda a: a[:, :H], carry)
    with pytest.raises(ValueError, match=f'carry has {H} units.*created for {wide}'):
        ours.apply(ov, narrow, x)


def test_a_decoder_cell_built_with_the_input_size():
    """The program of the issue: a decoder cell constructed with ``features`` = its input
    size, fed the encoder's wider carry, under ``nn.RNN`` and ``jl.RNN``."""
    enc_h, x = 8, _x()
    y_dec = _x(3, (B, T, 2))  # decoder inputs: 2 features

    def model(api):
        class Seq2seq(nn.Module):
            @nn.compact
            def __call__(self, x, y):
                carry, _ = api.RNN(api.LSTMCell(enc_h), return_carry=True)(x)
                return api.RNN(api.LSTMCell(features=y.shape[-1]))(y, initial_carry=carry)

        return Seq2seq()

    fv = model(nn).init(jax.random.key(0), x, y_dec)
    with pytest.warns(UserWarning, match='LSTMCell\\(features=2\\) was given a carry of 8'):
        ov = model(jl).init(jax.random.key(0), x, y_dec)
    # cells built inside a compact method belong to it: 'LSTMCell_0', 'LSTMCell_1'
    assert set(fv['params']) == set(ov['params']) == {'LSTMCell_0', 'LSTMCell_1'}
    converted = {'params': {name: convert.from_flax(p) for name, p in fv['params'].items()}}
    assert jax.tree.map(jnp.shape, converted) == jax.tree.map(jnp.shape, ov)
    with pytest.warns(UserWarning):
        _close(model(jl).apply(converted, x, y_dec), model(nn).apply(fv, x, y_dec))


@pytest.mark.parametrize('flax_cls,ours_cls', PAIRS, ids=IDS)
def test_initialize_carry_is_flaxs(flax_cls, ours_cls):
    """The same carry for the same key and ``carry_init`` (keys split as Flax splits
    them), and ``num_feature_axes``."""
    init = nn.initializers.normal(1.0)
    key = jax.random.key(4)
    theirs = flax_cls(H, carry_init=init).initialize_carry(key, (B, 2, I))
    mine = ours_cls(H, carry_init=init).initialize_carry(key, (B, 2, I))
    jax.tree.map(np.testing.assert_array_equal, mine, theirs)
    assert ours_cls(H).num_feature_axes == flax_cls(H).num_feature_axes == 1


def test_flax_function_arguments():
    """Flax's ``gate_fn``/``activation_fn`` are accepted when they are what the kernel
    computes (an explicit default; relu for ``SimpleCell``); another function, or
    ``SimpleCell(residual=True)``, is a ValueError naming the argument."""
    x = _x()
    kwargs = dict(gate_fn=nn.sigmoid, activation_fn=nn.tanh)
    v = jl.RNN(jl.LSTMCell(H)).init(jax.random.key(0), x)
    _close(jl.RNN(jl.LSTMCell(H, **kwargs)).apply(v, x), jl.RNN(jl.LSTMCell(H)).apply(v, x))
    fv = nn.RNN(nn.SimpleCell(H, activation_fn=nn.relu)).init(jax.random.key(0), x)
    fv = {'params': {'cell': _biased(fv['params']['cell'])}}
    ov = {'params': {'cell': convert.from_flax(fv['params']['cell'])}}
    theirs = nn.RNN(nn.SimpleCell(H, activation_fn=nn.relu)).apply(fv, x)
    _close(jl.RNN(jl.SimpleCell(H, activation_fn=nn.relu)).apply(ov, x), theirs)
    _close(jl.RNN(jl.SimpleCell(H, activation='relu')).apply(ov, x), theirs)
    bad = [
        (jl.LSTMCell(H, gate_fn=nn.hard_sigmoid), r'LSTMCell\(gate_fn=.hard_sigmoid.\)'),
        (jl.GRUCell(H, activation_fn=nn.relu), r'GRUCell\(activation_fn=.relu.\)'),
        (jl.SimpleCell(H, activation_fn=nn.gelu), r'activation_fn=.gelu.*tanh or relu'),
        (jl.SimpleCell(H, residual=True), r'SimpleCell\(residual=True\)'),
        (jl.SimpleCell(H, activation='relu', activation_fn=nn.tanh), 'give one of them'),
    ]
    for cell, message in bad:
        with pytest.raises(ValueError, match=message):
            jl.RNN(cell).init(jax.random.key(0), x)


def _pair(kind=nn.LSTMCell, ours=jl.LSTMCell, **rnn):
    """A Flax RNN and a jaxrnn RNN with the same (converted) parameters."""
    x = _x()
    flax_rnn = nn.RNN(kind(H), **rnn)
    fv = {'params': _biased(flax_rnn.init(jax.random.key(0), x)['params'])}
    ov = {'params': {'cell': convert.from_flax(fv['params']['cell'])}}
    return x, flax_rnn, fv, jl.RNN(ours(H), **rnn), ov


@pytest.mark.parametrize(
    'attrs,call',
    [
        ({}, dict(time_major=True)),
        (dict(time_major=True), dict(time_major=False)),
        (dict(return_carry=True), dict(return_carry=False)),
        ({}, dict(return_carry=True, reverse=True)),
        (dict(reverse=True), dict(keep_order=True)),
        (dict(unroll=3), dict(return_carry=True)),
    ],
)
def test_call_arguments_override_attributes(attrs, call):
    x, flax_rnn, fv, ours, ov = _pair(**attrs)
    if call.get('time_major', attrs.get('time_major')):
        x = jnp.swapaxes(x, 0, 1)
    _close(ours.apply(ov, x, **call), flax_rnn.apply(fv, x, **call))


def test_initial_carry_and_init_key():
    init = nn.initializers.normal(1.0)
    x, _, fv, _, ov = _pair()
    flax_rnn = nn.RNN(nn.LSTMCell(H, carry_init=init), return_carry=True)
    ours = jl.RNN(jl.LSTMCell(H, carry_init=init), return_carry=True)
    key = jax.random.key(8)
    _close(ours.apply(ov, x, init_key=key), flax_rnn.apply(fv, x, init_key=key))
    _close(ours.apply(ov, x), flax_rnn.apply(fv, x))  # default init_key: key(0)
    carry = (_x(1, (B, H)), _x(2, (B, H)))
    _close(ours.apply(ov, x, initial_carry=carry), flax_rnn.apply(fv, x, initial_carry=carry))


def test_scan_options_for_fused_and_other_cells():
    """``variable_broadcast`` and ``split_rngs`` change nothing for a fused cell; a
    ``variable_axes`` or ``variable_carry`` (per-step variables) is a ValueError. Another
    cell gets them as in Flax, through ``nn.scan``."""
    x, flax_rnn, fv, ours, ov = _pair()
    expected = flax_rnn.apply(fv, x)
    same = jl.RNN(jl.LSTMCell(H), split_rngs={'params': True}, variable_broadcast=['params'])
    _close(same.apply(ov, x), expected)
    for bad in (dict(variable_axes={'params': 0}), dict(variable_carry='cache')):
        with pytest.raises(ValueError, match='fused kernel, whose parameters are the same'):
            jl.RNN(jl.LSTMCell(H), **bad).apply(ov, x)

    class Sowing(nn.RNNCellBase):
        """Sows its output at every step."""

        @nn.compact
        def __call__(self, carry, x):
            carry, y = nn.LSTMCell(H, name='lstm')(carry, x)
            self.sow('intermediates', 'y', y)
            return carry, y

        def initialize_carry(self, rng, input_shape):
            return nn.LSTMCell(H, parent=None).initialize_carry(rng, input_shape)

        @property
        def num_feature_axes(self):
            return 1

    opts = dict(variable_axes={'intermediates': 1})
    v = nn.RNN(Sowing(), **opts).init(jax.random.key(0), x)
    v = {'params': v['params']}
    theirs, fs = nn.RNN(Sowing(), **opts).apply(v, x, mutable=['intermediates'])
    mine, ms = jl.RNN(Sowing(), **opts).apply(v, x, mutable=['intermediates'])
    _close((mine, ms), (theirs, fs))
    assert ms['intermediates']['cell']['y'][0].shape == (B, T, H)


def test_lifted_transforms():
    """``nn.scan`` over a jaxrnn cell, and ``nn.remat``, ``nn.jit`` and ``nn.vmap`` over
    a jaxrnn ``RNN``, give Flax's numbers (and gradients, through ``remat``)."""
    x, flax_rnn, fv, ours, ov = _pair()
    expected = flax_rnn.apply(fv, x)

    def scanned(cell_cls):
        return nn.scan(
            cell_cls,
            variable_broadcast='params',
            split_rngs={'params': False},
            in_axes=1,
            out_axes=1,
        )(H)

    carry = jl.LSTMCell(H).initialize_carry(None, (B, I))
    _, y = scanned(jl.LSTMCell).apply({'params': ov['params']['cell']}, carry, x)
    _, y_flax = scanned(nn.LSTMCell).apply({'params': fv['params']['cell']}, carry, x)
    _close(y, y_flax)
    _close(y, expected)

    remat = jl.RNN(nn.remat(jl.LSTMCell)(H))
    _close(remat.apply(ov, x), expected)
    grad = jax.grad(lambda v: (remat.apply(v, x) ** 2).sum())(ov)
    plain = jax.grad(lambda v: (ours.apply(v, x) ** 2).sum())(ov)
    _close(grad, plain, 1e-5)
    _close(nn.jit(jl.RNN)(jl.LSTMCell(H)).apply(ov, x), expected)

    ensemble = nn.vmap(
        jl.RNN,
        variable_axes={'params': 0},
        split_rngs={'params': True},
        in_axes=None,
        axis_size=2,
    )(jl.LSTMCell(H))
    ev = ensemble.init(jax.random.key(0), x)
    assert ev['params']['cell']['input_kernel'].shape == (2, I, 4 * H)
    ys = ensemble.apply(ev, x)
    for k in range(2):
        member = jax.tree.map(lambda a: a[k], ev)  # noqa: B023
        _close(ys[k], ours.apply(member, x))


def test_other_flax_cells_run_step_by_step():
    """A Flax cell jaxrnn does not compute (``MGUCell``) runs in ``jl.RNN`` with Flax's
    numbers, on the same variables."""
    x = _x()
    v = nn.RNN(nn.MGUCell(H)).init(jax.random.key(0), x)
    _close(jl.RNN(nn.MGUCell(H)).apply(v, x), nn.RNN(nn.MGUCell(H)).apply(v, x))


def test_bfloat16_parameters():
    """``param_dtype=jnp.bfloat16`` initializes (each recurrent block drawn in float32
    and cast; Flax's Linen cells draw in bfloat16, which fails on a CPU) and runs."""
    rnn = jl.RNN(jl.LSTMCell(H, param_dtype=jnp.bfloat16))
    v = rnn.init(jax.random.key(0), _x())
    assert {a.dtype for a in jax.tree.leaves(v)} == {jnp.dtype(jnp.bfloat16)}
    block = np.asarray(v['params']['cell']['recurrent_kernel'][:, :H], np.float32)
    np.testing.assert_allclose(block @ block.T, np.eye(H), atol=2e-2)
    assert rnn.apply(v, _x()).shape == (B, T, H)
