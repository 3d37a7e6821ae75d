"""GRU gate order (r, z, n), z as the share of the OLD state kept, and the two forms."""

import numpy as np

from jaxrnn import kernels


def _sigmoid(a):
    return 1 / (1 + np.exp(-a))


def _params(hidden, b_r, b_z, b_n, b_hn, w_hn=0.0):
    w_hh = np.zeros((hidden, 3 * hidden), np.float32)
    w_hh[:, 2 * hidden :] = w_hn * np.eye(hidden)
    return kernels.GRUParams(
        np.zeros((1, 3 * hidden), np.float32),
        w_hh,
        np.repeat([b_r, b_z, b_n], hidden).astype(np.float32),
        np.full((hidden,), b_hn, np.float32),
    )


def test_update_gate_is_share_of_old_state_kept():
    hidden = 2
    h0 = np.array([[0.8, -0.6]], np.float32)
    x = np.zeros((1, 1), np.float32)
    p = _params(hidden, b_r=0.0, b_z=30.0, b_n=0.5, b_hn=0.0)  # z = 1
    np.testing.assert_allclose(kernels.gru_step(p, h0, x)[0], h0, rtol=1e-6)
    p = _params(hidden, b_r=0.0, b_z=-30.0, b_n=0.5, b_hn=0.0)  # z = 0: h' = n
    np.testing.assert_allclose(
        kernels.gru_step(p, h0, x)[0], np.full((1, 2), np.tanh(0.5)), rtol=1e-6
    )


def test_reset_after_and_reset_before_differ_as_the_equations_say():
    hidden, b_r, b_z, b_n, b_hn, w = 2, -0.4, 0.2, 0.1, 0.7, 1.5
    h0 = np.array([[0.8, -0.6]], np.float32)
    x = np.zeros((1, 1), np.float32)
    p = _params(hidden, b_r, b_z, b_n, b_hn, w_hn=w)
    r, z = _sigmoid(b_r), _sigmoid(b_z)
    n_after = np.tanh(b_n + r * (w * h0 + b_hn))
    n_before = np.tanh(b_n + w * (r * h0) + b_hn)
    after = kernels.gru_step(p, h0, x)[0]
    before = kernels.gru_step(p, h0, x, reset_after=False)[0]
    np.testing.assert_allclose(after, (1 - z) * n_after + z * h0, rtol=1e-6)
    np.testing.assert_allclose(before, (1 - z) * n_before + z * h0, rtol=1e-6)
    assert not np.allclose(after, before)
