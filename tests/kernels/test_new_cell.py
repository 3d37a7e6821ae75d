"""Adding a cell takes one file: a minimal gated unit (MGU, Zhou et al. 2016) written
here as a Cell, with no backward of its own, runs through the scan and the Pallas kernel
(interpret mode) and matches a float64 loop written from its equations, values and
gradients::

  f  = sigmoid(x W_f + b_f + h U_f)            # forget gate
  n  = tanh(x W_n + b_n + (f * h) U_n)         # candidate
  h' = (1 - f) * h + f * n
"""

from __future__ import annotations

import dataclasses
from typing import ClassVar, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxrnn import kernels
from jaxrnn.kernels import Pallas, Step
from jaxrnn.kernels._types import has_backward


class MGUParams(NamedTuple):
    input_kernel: jax.Array  # [i, 2h], gate order (f, n)
    recurrent_kernel: jax.Array  # [h, 2h]
    bias: jax.Array  # [2h]


class MGUTrace(NamedTuple):
    f: jax.Array
    h: jax.Array


@dataclasses.dataclass(frozen=True)
class MGU:
    name: ClassVar[str] = 'mgu'
    title: ClassVar[str] = 'MGU'
    gates: ClassVar[tuple[str, ...]] = ('f', 'n')
    carry: ClassVar[tuple[str, ...]] = ('h',)
    params_type: ClassVar[type] = MGUParams
    trace_type: ClassVar[type] = MGUTrace
    cudnn: ClassVar[bool] = False
    saved: tuple[str, ...] = ('f',)

    def step(self, x, hw, state, extras) -> Step:
        x_f, x_n = x
        (h,) = state
        (h_f,) = hw(h, 0, 1)
        f = jax.nn.sigmoid(x_f + h_f)
        (fh_n,) = hw(f * h, 1, 2)
        n = jnp.tanh(x_n + fh_n)
        h_new = (1 - f) * h + f * n
        return Step((h_new,), h_new, (f,))


def _sigmoid(a):
    return 1 / (1 + np.exp(-a))


def mgu_loop(p, xs, h, lengths):
    """The float64 oracle: a NumPy loop over ``xs [b, t, i]`` from the equations."""
    p = [np.asarray(a, np.float64) for a in p]
    w, u, b = p
    hidden = u.shape[0]
    h = np.asarray(h, np.float64)
    ys = np.zeros(xs.shape[:2] + (hidden,))
    for t in range(xs.shape[1]):
        a = xs[:, t] @ w + b
        f = _sigmoid(a[:, :hidden] + h @ u[:, :hidden])
        n = np.tanh(a[:, hidden:] + (f * h) @ u[:, hidden:])
        new = (1 - f) * h + f * n
        valid = (t < lengths)[:, None]
        h = np.where(valid, new, h)
        ys[:, t] = np.where(valid, new, 0)
    return h, ys


def _setup(seed=0):
    rng = np.random.default_rng(seed)
    batch, steps, in_features, hidden = 3, 6, 4, 5
    shapes = ((in_features, 2 * hidden), (hidden, 2 * hidden), (2 * hidden,))
    params = MGUParams(*(0.6 * rng.standard_normal(s) for s in shapes))
    xs = rng.standard_normal((batch, steps, in_features))
    h0 = 0.5 * rng.standard_normal((batch, hidden))
    return params, xs, h0, np.array([6, 0, 4], np.int32)


@pytest.mark.parametrize('backend', ['xla', Pallas(), Pallas(resident_bytes=0)])
def test_mgu_values_and_gradients_match_a_float64_loop(backend):
    assert not has_backward(MGU())  # the driver differentiates its step with jax.vjp
    params, xs, h0, lengths = _setup()
    want_h, want_ys = mgu_loop(params, xs, h0, lengths)
    h, ys = kernels.run_sequence(MGU(), params, xs, h0, seq_lengths=lengths, backend=backend)
    np.testing.assert_allclose(ys, want_ys, atol=1e-12)
    np.testing.assert_allclose(h, want_h, atol=1e-12)

    wy = np.random.default_rng(1).standard_normal(want_ys.shape)

    def loss(params, xs, h0):
        h, ys = kernels.run_sequence(MGU(), params, xs, h0, seq_lengths=lengths, backend=backend)
        return (ys * wy).sum() + (h**2).sum()

    got = jax.grad(loss, argnums=(0, 1, 2))(params, xs, h0)
    args = [*params, xs, h0]

    def oracle(*a):
        h, ys = mgu_loop(a[:3], a[3], a[4], lengths)
        return (ys * wy).sum() + (h**2).sum()

    eps = 1e-6
    for k, (g, a) in enumerate(zip([*got[0], got[1], got[2]], args, strict=True)):
        want = np.zeros_like(a)
        for idx in np.ndindex(a.shape):
            up, down = [x.copy() for x in args], [x.copy() for x in args]
            up[k][idx] += eps
            down[k][idx] -= eps
            want[idx] = (oracle(*up) - oracle(*down)) / (2 * eps)
        np.testing.assert_allclose(g, want, atol=1e-6, rtol=1e-6, err_msg=str(k))


def test_mgu_trace_and_step():
    params, xs, h0, lengths = _setup(2)
    h, ys, trace = kernels.run_sequence(MGU(), params, xs, h0, seq_lengths=lengths, trace=True)
    assert isinstance(trace, MGUTrace)
    np.testing.assert_array_equal(trace.h, ys)
    assert np.all((trace.f >= 0) & (trace.f <= 1))
    carry = h0
    for t in range(xs.shape[1]):
        carry, y = kernels.run_step(MGU(), params, carry, xs[:, t])
        np.testing.assert_allclose(y[0], ys[0, t], atol=1e-12)  # row 0 has the full length
