"""LSTM gate order (i, f, g, o) and carry order (c, h), checked on hand-set biases."""

import numpy as np

from jaxrnn import kernels


def _sigmoid(a):
    return 1 / (1 + np.exp(-a))


def test_gate_order_and_carry_order():
    hidden = 2
    b_i, b_f, b_g, b_o = 0.3, -1.2, 0.7, 2.0
    params = kernels.LSTMParams(
        np.zeros((1, 4 * hidden), np.float32),
        np.zeros((hidden, 4 * hidden), np.float32),
        np.repeat([b_i, b_f, b_g, b_o], hidden).astype(np.float32),
    )
    c0 = np.full((1, hidden), 0.5, np.float32)
    h0 = np.zeros((1, hidden), np.float32)
    (c, h), y = kernels.lstm_step(params, (c0, h0), np.zeros((1, 1), np.float32))
    want_c = _sigmoid(b_f) * 0.5 + _sigmoid(b_i) * np.tanh(b_g)
    np.testing.assert_allclose(c, np.full((1, hidden), want_c), rtol=1e-6)
    np.testing.assert_allclose(h, _sigmoid(b_o) * np.tanh(c), rtol=1e-6)
    np.testing.assert_array_equal(y, h)


def test_forget_gate_open_keeps_memory_across_a_long_sequence():
    hidden, steps = 3, 200
    params = kernels.LSTMParams(
        np.zeros((1, 4 * hidden), np.float32),
        np.zeros((hidden, 4 * hidden), np.float32),
        np.repeat([-30.0, 30.0, 0.0, 0.0], hidden).astype(np.float32),  # i=0, f=1
    )
    c0 = np.array([[0.9, -0.4, 0.1]], np.float32)
    (c, _), _ = kernels.lstm(params, np.zeros((1, steps, 1), np.float32), (c0, np.zeros_like(c0)))
    np.testing.assert_allclose(c, c0, rtol=1e-6)
