"""jaxrnn.convert.from_keras / to_keras against Keras 3 itself, on its JAX backend
(tests/conftest.py sets ``KERAS_BACKEND=jax``): for every layer kind (LSTM, GRU with
``reset_after`` True and False, SimpleRNN), with and without bias, alone and in a
``Bidirectional``, the converted weights give Keras' outputs and final states, load back
into a fresh Keras layer that reproduces them, and ``to_keras(grads, into='grads')`` is
Keras' gradient. float32, as Keras runs."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jaxrnn.linen as jl
from jaxrnn import convert

keras = pytest.importorskip('keras')

B, T, I, H = 2, 5, 4, 3
ATOL = 1e-6  # float32; the largest difference seen is 1.2e-7
GRAD_ATOL = 5e-6  # gradients up to 13 in size; the largest difference seen is 1e-6

KINDS = {  # id: (Keras layer, its options, jaxrnn cell kind, reset_after for to_keras)
    'lstm': (lambda: keras.layers.LSTM, {}, 'lstm', None),
    'gru': (lambda: keras.layers.GRU, {'reset_after': True}, 'gru', True),
    'gru_v1': (lambda: keras.layers.GRU, {'reset_after': False}, 'gru', False),
    'simple': (lambda: keras.layers.SimpleRNN, {}, 'simple', None),
}


@pytest.fixture(autouse=True)
def _as_keras_runs(float32_defaults):
    """JAX as Keras users run it: without the suite's float64 default (Keras' GRU without
    bias builds a float64 zero bias under it) and with rank promotion, by which Keras adds
    its biases (``[batch, G*h] + [G*h]``; the suite makes it an error for jaxrnn's code)."""
    assert keras.backend.backend() == 'jax', 'KERAS_BACKEND must be jax (tests/conftest.py)'
    with jax.numpy_rank_promotion('allow'):
        yield


def _keras_layer(name, use_bias=True, bidirectional=False, seed=0, **options):
    """A built Keras layer returning sequences and states, with random weights (Keras
    initialises biases to zeros and ones, which would hide a misplaced bias)."""
    make, kind_options, _, _ = KINDS[name]
    layer = make()(
        H, use_bias=use_bias, return_sequences=True, return_state=True, **kind_options, **options
    )
    if bidirectional:
        layer = keras.layers.Bidirectional(layer)
    layer.build((B, T, I))
    rng = np.random.default_rng(seed)
    layer.set_weights(
        [(0.6 * rng.standard_normal(w.shape)).astype(np.float32) for w in layer.get_weights()]
    )
    return layer


def _cell(name):
    _, _, kind, reset_after = KINDS[name]
    if kind == 'lstm':
        return jl.LSTMCell(H)
    return jl.GRUCell(H, reset_after=reset_after) if kind == 'gru' else jl.SimpleCell(H)


def _stack(name):
    _, _, kind, reset_after = KINDS[name]
    if kind == 'gru':
        return jl.GRU(H, bidirectional=True, reset_after=reset_after, return_carry=True)
    return {'lstm': jl.LSTM, 'simple': jl.SimpleRNN}[kind](H, bidirectional=True, return_carry=True)


def _keras_states(carry):
    """A jaxrnn carry -> Keras' returned states: ``[h, c]`` for the LSTM, ``[h]``."""
    return [carry[1], carry[0]] if isinstance(carry, tuple) else [carry]


def _ours(name, params, x, bidirectional, **options):
    """jaxrnn's ``[outputs, *states]`` in the order a Keras layer returns them."""
    if bidirectional:
        carry, y = _stack(name).apply({'params': {'layer_0': params}}, x, **options)
        forward, backward = carry[0]
        return [y, *_keras_states(forward), *_keras_states(backward)]
    rnn = jl.RNN(_cell(name), return_carry=True)
    carry, y = rnn.apply({'params': {'cell': params}}, x, **options)
    return [y, *_keras_states(carry)]


def _x(seed=1):
    return np.random.default_rng(seed).standard_normal((B, T, I)).astype(np.float32)


def _close(ours, theirs, atol=ATOL):
    assert len(ours) == len(theirs)
    for a, b in zip(ours, theirs, strict=True):
        assert a.dtype == np.float32
        np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=0, atol=atol)


CASES = [
    pytest.param(name, use_bias, bidirectional, id=f'{name}-{bias}-{direction}')
    for name in KINDS
    for use_bias, bias in [(True, 'bias'), (False, 'no_bias')]
    for bidirectional, direction in [(False, 'uni'), (True, 'bidirectional')]
]


@pytest.mark.parametrize('name,use_bias,bidirectional', CASES)
def test_keras_weights_give_keras_outputs_and_load_back(name, use_bias, bidirectional):
    layer = _keras_layer(name, use_bias, bidirectional)
    x = _x()
    weights = layer.get_weights()
    assert len(weights) == (2 + use_bias) * (1 + bidirectional)
    params = convert.from_keras(weights, bidirectional=bidirectional)
    theirs = layer(x)
    _close(_ours(name, params, x, bidirectional), theirs)

    back = convert.to_keras(
        params, reset_after=KINDS[name][3], use_bias=use_bias, bidirectional=bidirectional
    )
    fresh = _keras_layer(name, use_bias, bidirectional, seed=7)
    fresh.set_weights(back)
    _close(fresh(x), theirs)


@pytest.mark.parametrize('name,use_bias,bidirectional', CASES)
def test_grads_are_keras_grads(name, use_bias, bidirectional):
    """``to_keras(grads, into='grads')`` of jaxrnn's gradients is Keras' gradient of the
    same loss (outputs and final states) with respect to its weights, from
    ``layer.stateless_call``; for a GRU with bias, converting them as weights is not."""
    layer = _keras_layer(name, use_bias, bidirectional)
    x = _x()
    variables = layer.trainable_variables
    assert [v.path for v in variables] == [v.path for v in layer.weights]
    cotangents = [
        np.random.default_rng(2 + k).standard_normal(np.shape(out)).astype(np.float32)
        for k, out in enumerate(layer(x))
    ]

    def loss(outputs):
        return sum(jnp.sum(out * c) for out, c in zip(outputs, cotangents, strict=True))

    def keras_loss(trainable):
        non_trainable = [v.value for v in layer.non_trainable_variables]
        outputs, _ = layer.stateless_call(trainable, non_trainable, x)
        return loss(outputs)

    theirs = jax.grad(keras_loss)([v.value for v in variables])
    params = convert.from_keras(layer.get_weights(), bidirectional=bidirectional)
    grads = jax.grad(lambda p: loss(_ours(name, p, x, bidirectional)))(params)
    options = dict(reset_after=KINDS[name][3], use_bias=use_bias, bidirectional=bidirectional)
    ours = convert.to_keras(grads, into='grads', **options)
    _close(ours, theirs, atol=GRAD_ATOL)
    if KINDS[name][2] == 'gru' and use_bias:
        as_weights = convert.to_keras(grads, **options)
        assert not all(
            np.allclose(a, b, atol=1e-3) for a, b in zip(as_weights, theirs, strict=True)
        )


@pytest.mark.parametrize('name', KINDS)
def test_go_backwards_is_reverse(name):
    """Keras ``go_backwards=True`` reads the sequence from its end and returns the outputs
    in that (processing) order: ``RNN(cell, reverse=True)`` (``keep_order=False``)."""
    layer = _keras_layer(name, go_backwards=True)
    x = _x()
    params = convert.from_keras(layer.get_weights())
    _close(_ours(name, params, x, False, reverse=True), layer(x))


@pytest.mark.parametrize('name', KINDS)
def test_masked_bidirectional_is_seq_lengths(name):
    """A Keras mask that pads the end of each sequence is ``seq_lengths``: the backward
    direction starts at the last valid step, padded outputs are zero (a ``Bidirectional``
    returning sequences zeroes them) and the final states are those at the last valid
    step."""
    layer = _keras_layer(name, bidirectional=True)
    x = _x()
    lengths = np.array([T, 2])
    mask = np.arange(T)[None, :] < lengths[:, None]
    params = convert.from_keras(layer.get_weights(), bidirectional=True)
    theirs = layer(x, mask=mask)
    assert np.all(np.asarray(theirs[0])[1, 2:] == 0)
    _close(_ours(name, params, x, True, seq_lengths=lengths), theirs)
