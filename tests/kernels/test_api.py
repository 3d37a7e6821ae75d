"""Bad input gets a ValueError or TypeError from jaxrnn, naming the argument and the
expected and given shape or dtype, before JAX traces anything."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxrnn import kernels

I, H, B, T = 3, 4, 2, 5


def _lstm_params(in_features=I, hidden=H, dtype=np.float32):
    return kernels.LSTMParams(
        np.zeros((in_features, 4 * hidden), dtype),
        np.zeros((hidden, 4 * hidden), dtype),
        np.zeros((4 * hidden,), dtype),
    )


X = np.zeros((B, T, I), np.float32)


@pytest.mark.parametrize(
    'call,error,pattern',
    [
        (
            lambda: kernels.lstm(_lstm_params(), np.zeros((I,), np.float32)),
            ValueError,
            r'xs must have rank >= 2 \(\[\*batch, t, features\]\), got shape \(3,\)',
        ),
        (
            lambda: kernels.lstm(_lstm_params(), np.zeros((B, T, I + 1), np.float32)),
            ValueError,
            r'xs has 4 features .* params.input_kernel expects 3',
        ),
        (
            lambda: kernels.lstm(_lstm_params(), X.astype(np.int32)),
            TypeError,
            r'xs must have a floating dtype, got int32',
        ),
        (
            lambda: kernels.lstm(_lstm_params(), X, seq_lengths=np.array([1, 2, 3])),
            ValueError,
            r'seq_lengths must have shape \(2,\) \(the batch shape of xs\), got \(3,\)',
        ),
        (
            lambda: kernels.lstm(_lstm_params(), X, seq_lengths=np.array([1.0, 2.0])),
            TypeError,
            r'seq_lengths must have an integer dtype, got float64',
        ),
        (
            lambda: kernels.lstm(_lstm_params(), X, seq_lengths=np.array([1, 6])),
            ValueError,
            r'seq_lengths values must lie in \[0, 5\] .* got min 1 and max 6',
        ),
        (
            lambda: kernels.lstm(_lstm_params(), X, seq_lengths=np.array([-1, 2])),
            ValueError,
            r'seq_lengths values must lie in \[0, 5\]',
        ),
        (
            lambda: kernels.lstm(_lstm_params(), X, np.zeros((B, H), np.float32)),
            TypeError,
            r'carry must be a tuple \(c, h\), each of shape \(2, 4\), got ndarray',
        ),
        (
            lambda: kernels.lstm(_lstm_params(), X, (np.zeros((B, H)), np.zeros((B, H + 1)))),
            ValueError,
            r'carry h must have shape \(2, 4\) \(\[\*batch, hidden\]\), got \(2, 5\)',
        ),
        (
            lambda: kernels.lstm(_lstm_params(), X, (np.zeros((B, H)), np.zeros((B, H), int))),
            TypeError,
            r'carry h must have a floating dtype, got int64',
        ),
        (
            lambda: kernels.gru(
                kernels.GRUParams(
                    *[np.zeros(s, np.float32) for s in [(I, 3 * H), (H, 3 * H), (3 * H,), (H,)]]
                ),
                X,
                (np.zeros((B, H)),),
            ),
            TypeError,
            r'carry must be a single array h of shape \(2, 4\), got a tuple of 1 elements',
        ),
        (
            lambda: kernels.lstm(
                kernels.LSTMParams(np.zeros((I, 4 * H)), np.zeros((H, 3 * H)), np.zeros(4 * H)), X
            ),
            ValueError,
            r'params.recurrent_kernel must have shape \[hidden, 4 \* hidden\], got \(4, 12\)',
        ),
        (
            lambda: kernels.lstm(
                kernels.LSTMParams(np.zeros((I, 3 * H)), np.zeros((H, 4 * H)), np.zeros(4 * H)), X
            ),
            ValueError,
            r'params.input_kernel must have shape \[in_features, 16\] .* got \(3, 12\)',
        ),
        (
            lambda: kernels.lstm(
                kernels.LSTMParams(np.zeros((I, 4 * H)), np.zeros((H, 4 * H)), np.zeros(4 * H + 1)),
                X,
            ),
            ValueError,
            r'params.bias must have shape \(16,\), got \(17,\)',
        ),
        (
            lambda: kernels.lstm(
                kernels.LSTMParams(
                    np.zeros((I, 4 * H), int), np.zeros((H, 4 * H)), np.zeros(4 * H)
                ),
                X,
            ),
            TypeError,
            r'params.input_kernel must have a floating dtype, got int64',
        ),
        (
            lambda: kernels.lstm((1, 2, 3), X),
            TypeError,
            r'params must be a jaxrnn.kernels.LSTMParams',
        ),
        (
            lambda: kernels.gru(_lstm_params(), X),
            TypeError,
            r'params must be a jaxrnn.kernels.GRUParams',
        ),
        (
            lambda: kernels.lstm(_lstm_params(), X, dtype=jnp.int32),
            TypeError,
            r'dtype must be a floating dtype, got int32',
        ),
        (
            lambda: kernels.lstm(_lstm_params(), X, unroll=0),
            ValueError,
            r'unroll must be a positive int, got 0',
        ),
        (
            lambda: kernels.simple_rnn(
                kernels.SimpleParams(np.zeros((I, H)), np.zeros((H, H)), np.zeros(H)),
                X,
                activation='gelu',
            ),
            ValueError,
            r"activation must be one of \('tanh', 'relu'\), got 'gelu'",
        ),
        (
            lambda: kernels.lstm_step(
                _lstm_params(), (np.zeros((B, H)),) * 2, np.zeros((B, I + 2), np.float32)
            ),
            ValueError,
            r'x has 5 features .* expects 3',
        ),
        (
            lambda: kernels.lstm_step(
                _lstm_params(), (np.zeros((B + 1, H)),) * 2, np.zeros((B, I), np.float32)
            ),
            ValueError,
            r'carry c must have shape \(2, 4\)',
        ),
    ],
    ids=lambda v: None,
)
def test_bad_input(call, error, pattern):
    with pytest.raises(error, match=pattern):
        call()


def test_traced_seq_lengths_are_not_checked_but_clamp():
    """Under jit the values are unknown; out-of-range lengths act as clamped to [0, t]."""
    params = kernels.LSTMParams(*[np.full(p.shape, 0.1, np.float32) for p in _lstm_params()])
    x = np.ones((B, T, I), np.float32)
    f = jax.jit(lambda n: kernels.lstm(params, x, seq_lengths=n)[1])
    np.testing.assert_array_equal(f(np.array([99, -3], np.int32)), f(np.array([T, 0], np.int32)))
