"""Simple (Elman) RNN: the recurrence by hand, and the relu variant."""

import numpy as np

from jaxrnn import kernels


def test_elman_recurrence_by_hand():
    w_ih = np.array([[0.5, -1.0]], np.float32)
    w_hh = np.array([[0.3, 0.0], [0.2, -0.4]], np.float32)
    b = np.array([0.1, 0.2], np.float32)
    xs = np.array([[[1.0], [-2.0], [0.5]]], np.float32)
    h = np.zeros(2)
    for x in xs[0]:
        h = np.tanh(x @ w_ih + b + h @ w_hh)
    carry, ys = kernels.simple_rnn(kernels.SimpleParams(w_ih, w_hh, b), xs)
    np.testing.assert_allclose(carry[0], h, rtol=1e-6)
    np.testing.assert_allclose(ys[0, -1], h, rtol=1e-6)
    _, ys_relu = kernels.simple_rnn(kernels.SimpleParams(w_ih, w_hh, b), xs, activation='relu')
    assert np.all(np.asarray(ys_relu) >= 0)
