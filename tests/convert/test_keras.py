"""jaxrnn.convert.from_keras / to_keras against Keras' own equations, written here in
NumPy from Keras' GRUCell/LSTMCell (gate orders z, r, h and i, f, c, o; a [2, 3h] bias
when reset_after), without Keras installed (and with JAX for the gradients, as the
transpose of from_keras). tests/convert/test_keras_real.py runs Keras itself."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jaxrnn.linen as jl
from jaxrnn import convert

B, T, I, H = 2, 5, 4, 3


def _sigmoid(a, xp=np):
    return 1 / (1 + xp.exp(-a))


def keras_lstm_step(w, h, c, x, xp=np):
    kernel, recurrent, bias = w
    z = x @ kernel + h @ recurrent + bias
    i, f, cc, o = xp.split(z, 4, axis=-1)
    c = _sigmoid(f, xp) * c + _sigmoid(i, xp) * xp.tanh(cc)
    h = _sigmoid(o, xp) * xp.tanh(c)
    return h, c


def keras_gru_step(w, h, x, reset_after, xp=np):
    kernel, recurrent, bias = w
    input_bias, recurrent_bias = (bias[0], bias[1]) if reset_after else (bias, None)
    matrix_x = x @ kernel + input_bias
    x_z, x_r, x_h = xp.split(matrix_x, 3, axis=-1)
    if reset_after:
        inner = h @ recurrent + recurrent_bias
        rec_z, rec_r, rec_h = xp.split(inner, 3, axis=-1)
        z, r = _sigmoid(x_z + rec_z, xp), _sigmoid(x_r + rec_r, xp)
        rec_h = r * rec_h
    else:
        rec_z, rec_r, _ = xp.split(h @ recurrent, 3, axis=-1)
        z, r = _sigmoid(x_z + rec_z, xp), _sigmoid(x_r + rec_r, xp)
        rec_h = (r * h) @ recurrent[:, 2 * H :]
    hh = xp.tanh(x_h + rec_h)
    return z * h + (1 - z) * hh


def keras_simple_step(w, h, x, xp=np):
    kernel, recurrent, bias = w
    return xp.tanh(x @ kernel + bias + h @ recurrent)


def _weights(kind, reset_after=True, seed=0):
    rng = np.random.default_rng(seed)
    g = {'lstm': 4, 'gru': 3, 'simple': 1}[kind]
    bias_shape = (2, g * H) if kind == 'gru' and reset_after else (g * H,)
    return [
        (0.6 * rng.standard_normal(s)).astype(np.float64)
        for s in [(I, g * H), (H, g * H), bias_shape]
    ]


def _keras_run(kind, w, x, reset_after=True, xp=np):
    """Keras' layer on ``x`` ``[B, T, I]``: outputs ``[B, T, H]`` (``xp=jnp`` to
    differentiate it, under ``jax.numpy_rank_promotion('allow')``: the bias is broadcast)."""
    h = xp.zeros((B, H))
    c = xp.zeros((B, H))
    ys = []
    for t in range(T):
        if kind == 'lstm':
            h, c = keras_lstm_step(w, h, c, x[:, t], xp)
        elif kind == 'gru':
            h = keras_gru_step(w, h, x[:, t], reset_after, xp)
        else:
            h = keras_simple_step(w, h, x[:, t], xp)
        ys.append(h)
    return xp.stack(ys, axis=1)


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


IDS = ['lstm', 'gru', 'gru_v1', 'simple']


def _cell(kind, reset_after):
    return {
        'lstm': lambda: jl.LSTMCell(H, param_dtype=np.float64),
        'gru': lambda: jl.GRUCell(H, reset_after=bool(reset_after), param_dtype=np.float64),
        'simple': lambda: jl.SimpleCell(H, param_dtype=np.float64),
    }[kind]()


def _stack(kind, reset_after):
    if kind == 'gru':
        return jl.GRU(H, bidirectional=True, reset_after=reset_after, param_dtype=np.float64)
    stack = {'lstm': jl.LSTM, 'simple': jl.SimpleRNN}[kind]
    return stack(H, bidirectional=True, param_dtype=np.float64)


def _with_bias(kind, w):
    """A ``use_bias=False`` list as the layer computes it: with a zero bias."""
    g = {'lstm': 4, 'gru': 3, 'simple': 1}[kind]
    return list(w) if len(w) == 3 else [*w, np.zeros((2, g * H) if kind == 'gru' else g * H)]


def _bits_equal(a, b):
    jax.tree.map(
        lambda u, v: np.testing.assert_array_equal(u.view(np.uint64), v.view(np.uint64)), a, b
    )


@pytest.mark.parametrize('kind,reset_after', CASES, ids=IDS)
def test_use_bias_false_gives_two_arrays(kind, reset_after):
    w = _weights(kind, reset_after in (True, None))
    x = np.random.default_rng(1).standard_normal((B, T, I))
    no_bias = convert.from_keras(w[:2], reset_after=reset_after)
    ours = jl.RNN(_cell(kind, reset_after)).apply({'params': {'cell': no_bias}}, x)
    np.testing.assert_allclose(ours, _keras_run(kind, _with_bias(kind, w[:2]), x, reset_after))
    back = convert.to_keras(no_bias, reset_after=reset_after, use_bias=False)
    assert len(back) == 2
    _bits_equal(back, w[:2])
    # a bias the Keras layer cannot hold is an error, not dropped
    with_bias = convert.from_keras(w, reset_after=reset_after)
    with pytest.raises(ValueError, match=r"use_bias=False, but params\['bias'\] is nonzero"):
        convert.to_keras(with_bias, reset_after=reset_after, use_bias=False)
    if kind == 'gru':
        no_bias['recurrent_bias'][1] = 0.5
        with pytest.raises(ValueError, match=r"params\['recurrent_bias'\] is nonzero .*0\.5"):
            convert.to_keras(no_bias, reset_after=reset_after, use_bias=False)
    # gradients of a layer without bias: the bias gradients are left out
    grads = convert.to_keras(with_bias, reset_after=reset_after, use_bias=False, into='grads')
    assert len(grads) == 2


@pytest.mark.parametrize('use_bias', [True, False], ids=['bias', 'no_bias'])
@pytest.mark.parametrize('kind,reset_after', CASES, ids=IDS)
def test_bidirectional_lists_load_into_a_bidirectional_stack(kind, reset_after, use_bias):
    """A Bidirectional layer's list (forward then backward) -> {'forward', 'backward'}: one
    layer of a bidirectional stack, computing Keras' concat of the forward outputs and the
    backward layer's outputs flipped back to input order."""
    n = 3 if use_bias else 2
    wf = _weights(kind, reset_after in (True, None), seed=0)[:n]
    wb = _weights(kind, reset_after in (True, None), seed=1)[:n]
    x = np.random.default_rng(2).standard_normal((B, T, I))
    params = convert.from_keras(wf + wb, reset_after=reset_after, bidirectional=True)
    assert set(params) == {'forward', 'backward'}
    _bits_equal(params['forward'], convert.from_keras(wf))
    _bits_equal(params['backward'], convert.from_keras(wb))
    expected = np.concatenate(
        [
            _keras_run(kind, _with_bias(kind, wf), x, reset_after),
            _keras_run(kind, _with_bias(kind, wb), x[:, ::-1], reset_after)[:, ::-1],
        ],
        axis=-1,
    )
    stack = _stack(kind, bool(reset_after))
    ours = stack.apply({'params': {'layer_0': params}}, x)
    np.testing.assert_allclose(ours, expected, rtol=1e-12, atol=1e-12)
    pair = jl.Bidirectional(jl.RNN(_cell(kind, reset_after)), jl.RNN(_cell(kind, reset_after)))
    variables = {
        'params': {
            'forward_rnn': {'cell': params['forward']},
            'backward_rnn': {'cell': params['backward']},
        }
    }
    np.testing.assert_allclose(pair.apply(variables, x), expected, rtol=1e-12, atol=1e-12)
    back = convert.to_keras(params, reset_after=reset_after, use_bias=use_bias, bidirectional=True)
    assert len(back) == 2 * n
    _bits_equal(back[:n], convert.to_keras(params['forward'], reset_after=reset_after)[:n])
    _bits_equal(back[n:], convert.to_keras(params['backward'], reset_after=reset_after)[:n])
    if kind != 'gru' or not reset_after or not use_bias:  # else the merged (b_z, b_r) pair
        _bits_equal(back, wf + wb)


@pytest.mark.parametrize('use_bias', [True, False], ids=['bias', 'no_bias'])
@pytest.mark.parametrize('kind,reset_after', CASES, ids=IDS)
def test_grads_are_keras_gradients(kind, reset_after, use_bias):
    """to_keras(grads, into='grads') is the gradient of the same loss with respect to the
    Keras weights (JAX autodiff of Keras' equations); converting gradients as weights is
    not (for the GRU it adds the gradients of two biases that share one sum)."""
    n = 3 if use_bias else 2
    w = _weights(kind, reset_after in (True, None))[:n]
    rng = np.random.default_rng(1)
    x = rng.standard_normal((B, T, I))
    cotangent = rng.standard_normal((B, T, H))
    params = convert.from_keras(w, reset_after=reset_after)

    def keras_loss(w):
        with jax.numpy_rank_promotion('allow'):
            y = _keras_run(kind, _with_bias(kind, w), x, reset_after, xp=jnp)
        return jnp.sum(y * cotangent)

    def our_loss(params):
        return jnp.sum(
            jl.RNN(_cell(kind, reset_after)).apply({'params': {'cell': params}}, x) * cotangent
        )

    expected = jax.grad(keras_loss)([jnp.asarray(a) for a in w])
    grads = jax.grad(our_loss)(params)
    got = convert.to_keras(grads, reset_after=reset_after, use_bias=use_bias, into='grads')
    assert len(got) == n
    for a, b in zip(got, expected, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12)
    if kind == 'gru' and use_bias:
        as_weights = convert.to_keras(grads, reset_after=reset_after, use_bias=use_bias)
        assert not np.allclose(as_weights[2], expected[2])
    if kind == 'gru' and not reset_after:  # b_in and b_hn are added to the same sum
        np.testing.assert_allclose(grads['bias'][2 * H :], grads['recurrent_bias'], rtol=1e-12)


def test_bidirectional_and_into_errors():
    lstm, gru = _weights('lstm'), _weights('gru')
    gru_v1 = _weights('gru', reset_after=False)
    with pytest.raises(ValueError, match='pass bidirectional=True'):
        convert.from_keras(lstm + lstm)
    with pytest.raises(ValueError, match='4 or 6 arrays; got list of length 5'):
        convert.from_keras(lstm + lstm[:2], bidirectional=True)
    with pytest.raises(ValueError, match='4 or 6 arrays; got list of length 3'):
        convert.from_keras(lstm, bidirectional=True)
    with pytest.raises(ValueError, match='forward half is a lstm layer .* backward half a gru'):
        convert.from_keras(lstm + gru, bidirectional=True)
    with pytest.raises(ValueError, match=r'forward half is a gru layer \(reset_after=True\)'):
        convert.from_keras(gru + gru_v1, bidirectional=True)
    with pytest.raises(ValueError, match='backward GRU bias must have shape'):
        convert.from_keras(gru + [gru[0], gru[1], np.zeros((4, 9))], bidirectional=True)
    wide = [np.zeros((I, 8 * H)), np.zeros((2 * H, 8 * H)), np.zeros(8 * H)]
    with pytest.raises(ValueError, match='with 4 inputs and 3 units, the backward half .* 6 units'):
        convert.from_keras(lstm + wide, bidirectional=True)
    with pytest.raises(TypeError, match="bidirectional must be True or False, got 'yes'"):
        convert.from_keras(lstm, bidirectional='yes')

    pair = convert.from_keras(lstm + lstm, bidirectional=True)
    with pytest.raises(ValueError, match='pass bidirectional=True'):
        convert.to_keras(pair)
    with pytest.raises(ValueError, match=r"params must be \{'forward'.*got \['bias', "):
        convert.to_keras(pair['forward'], bidirectional=True)
    pair['backward'] = convert.from_keras(wide)
    with pytest.raises(ValueError, match=r"params\['backward'\] is a lstm cell with 4 inputs and "):
        convert.to_keras(pair, bidirectional=True)
    with pytest.raises(ValueError, match=r"into must be 'weights' or 'grads', got 'grad'"):
        convert.to_keras(pair['forward'], into='grad')
    with pytest.raises(TypeError, match='use_bias must be True or False, got None'):
        convert.to_keras(pair['forward'], use_bias=None)
