"""jaxrnn.convert.from_keras / to_keras against Keras' own equations, written here in
NumPy from Keras' GRUCell/LSTMCell (gate orders z, r, h and i, f, c, o; a [2, 3h] bias
when reset_after), without Keras installed."""

from __future__ import annotations

import jax
import numpy as np
import pytest

import jaxrnn.linen as jl
from jaxrnn import convert

B, T, I, H = 2, 5, 4, 3


def _sigmoid(a):
    return 1 / (1 + np.exp(-a))


def keras_lstm_step(w, h, c, x):
    kernel, recurrent, bias = w
    z = x @ kernel + h @ recurrent + bias
    i, f, cc, o = np.split(z, 4, axis=-1)
    c = _sigmoid(f) * c + _sigmoid(i) * np.tanh(cc)
    h = _sigmoid(o) * np.tanh(c)
    return h, c


def keras_gru_step(w, h, x, reset_after):
    kernel, recurrent, bias = w
    input_bias, recurrent_bias = (bias[0], bias[1]) if reset_after else (bias, None)
    matrix_x = x @ kernel + input_bias
    x_z, x_r, x_h = np.split(matrix_x, 3, axis=-1)
    if reset_after:
        inner = h @ recurrent + recurrent_bias
        rec_z, rec_r, rec_h = np.split(inner, 3, axis=-1)
        z, r = _sigmoid(x_z + rec_z), _sigmoid(x_r + rec_r)
        rec_h = r * rec_h
    else:
        rec_z, rec_r, _ = np.split(h @ recurrent, 3, axis=-1)
        z, r = _sigmoid(x_z + rec_z), _sigmoid(x_r + rec_r)
        rec_h = (r * h) @ recurrent[:, 2 * H :]
    hh = np.tanh(x_h + rec_h)
    return z * h + (1 - z) * hh


def keras_simple_step(w, h, x):
    kernel, recurrent, bias = w
    return np.tanh(x @ kernel + bias + h @ recurrent)


def _weights(kind, reset_after=True, seed=0):
    rng = np.random.default_rng(seed)
    g = {'lstm': 4, 'gru': 3, 'simple': 1}[kind]
    bias_shape = (2, g * H) if kind == 'gru' and reset_after else (g * H,)
    return [
        (0.6 * rng.standard_normal(s)).astype(np.float64)
        for s in [(I, g * H), (H, g * H), bias_shape]
    ]


def _keras_run(kind, w, x, reset_after=True):
    h = np.zeros((B, H))
    c = np.zeros((B, H))
    ys = []
    for t in range(T):
        if kind == 'lstm':
            h, c = keras_lstm_step(w, h, c, x[:, t])
        elif kind == 'gru':
            h = keras_gru_step(w, h, x[:, t], reset_after)
        else:
            h = keras_simple_step(w, h, x[:, t])
        ys.append(h)
    return np.stack(ys, axis=1)


CASES = [('lstm', None), ('gru', True), ('gru', False), ('simple', None)]


@pytest.mark.parametrize('kind,reset_after', CASES, ids=['lstm', 'gru', 'gru_v1', 'simple'])
def test_keras_weights_give_keras_numbers(kind, reset_after):
    w = _weights(kind, reset_after in (True, None))
    x = np.random.default_rng(1).standard_normal((B, T, I))
    params = convert.from_keras(w, reset_after=reset_after)
    cell = {
        'lstm': jl.LSTMCell(H, param_dtype=np.float64),
        'gru': jl.GRUCell(H, reset_after=bool(reset_after), param_dtype=np.float64),
        'simple': jl.SimpleCell(H, param_dtype=np.float64),
    }[kind]
    ours = jl.RNN(cell).apply({'params': {'cell': params}}, x)
    np.testing.assert_allclose(ours, _keras_run(kind, w, x, reset_after), rtol=1e-12, atol=1e-12)
    back = convert.to_keras(params, reset_after=reset_after)
    np.testing.assert_allclose(_keras_run(kind, back, x, reset_after), ours, rtol=1e-12, atol=1e-12)
    # jaxrnn -> keras -> jaxrnn is bit-identical
    params['bias'][0] = -0.0
    again = convert.from_keras(convert.to_keras(params, reset_after=reset_after))
    jax.tree.map(
        lambda a, b: np.testing.assert_array_equal(a.view(np.uint64), b.view(np.uint64)),
        again,
        params,
    )
    # keras -> jaxrnn -> keras: bit-identical except a GRU's merged (b_z, b_r) pair
    if kind != 'gru' or not reset_after:
        for a, b in zip(back, w, strict=True):
            np.testing.assert_array_equal(a, b)


def test_use_bias_false_and_errors():
    w = _weights('gru')
    params = convert.from_keras(w[:2])
    assert np.all(params['bias'] == 0) and np.all(params['recurrent_bias'] == 0)
    with pytest.raises(ValueError, match='reset_after=False was requested'):
        convert.from_keras(w, reset_after=False)
    with pytest.raises(ValueError, match='reset_after applies to a GRU'):
        convert.from_keras(_weights('lstm'), reset_after=True)
    with pytest.raises(ValueError, match='needs reset_after'):
        convert.to_keras(convert.from_keras(w))
    with pytest.raises(ValueError, match='GRU bias must have shape'):
        convert.from_keras([w[0], w[1], np.zeros((4, 9))])
    with pytest.raises(ValueError, match='kernel must have shape'):
        convert.from_keras([np.zeros((I, 8)), w[1], w[2]])
    with pytest.raises(ValueError, match='2 gate blocks'):
        convert.from_keras([np.zeros((I, 6)), np.zeros((H, 6)), np.zeros(6)])
    with pytest.raises(ValueError, match='list'):
        convert.from_keras({'kernel': w[0]})
