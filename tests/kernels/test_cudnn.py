"""``backend='cudnn'`` (the LSTM through ``jax.experimental.rnn``) against the float64
oracle. On a CPU the cuDNN call itself is emulated (``emulated_cudnn`` in conftest);
the last tests run the real cuDNN and are skipped without an NVIDIA GPU."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxrnn import kernels
from jaxrnn.kernels import _cudnn
from tests import reference
from tests.cases import CASES, as_dict, check_against_oracle, setup

LSTM = CASES[0]
B, T, I, H = 4, 6, 3, 5
LENGTHS = np.array([6, 0, 2, 5], np.int32)


def _setup(seed=0):
    return setup(LSTM, (B, T, I, H), seed, np.float32)


@pytest.mark.parametrize('lengths', [None, LENGTHS], ids=['full', 'ragged'])
@pytest.mark.parametrize('reverse', [False, True])
@pytest.mark.parametrize('time_major', [False, True])
def test_values_match_oracle(emulated_cudnn, lengths, reverse, time_major):
    _, params, xs, carry = _setup()
    ys = check_against_oracle(
        LSTM, params, xs, carry, lengths, reverse, time_major, 2e-6, backend=emulated_cudnn
    )
    assert ys.dtype == np.float32


def test_gradients_match_oracle(emulated_cudnn):
    rng, params, xs, carry = _setup(seed=1)
    wy = rng.standard_normal((B, T, H))

    def scalar(ys, final):
        return (ys * wy).sum() + sum((c**2).sum() for c in final)

    def ours(params, xs, carry):
        final, ys = kernels.lstm(
            params, xs, carry, seq_lengths=LENGTHS, reverse=True, backend=emulated_cudnn
        )
        return scalar(ys, final)

    got = jax.grad(ours, argnums=(0, 1, 2))(params, xs, carry)

    def oracle(w_ih, w_hh, b, x, c, h):
        p = {'input_kernel': w_ih, 'recurrent_kernel': w_hh, 'bias': b}
        final, ys = reference.run(LSTM.ref_cell, p, x, (c, h), LENGTHS, True)
        return float(scalar(ys, final))

    want = reference.numerical_grad(oracle, [*params, xs, *carry])
    got_flat = [*got[0], got[1], *got[2]]
    labels = ['input_kernel', 'recurrent_kernel', 'bias', 'xs', 'c', 'h']
    for label, g, w in zip(labels, got_flat, want, strict=True):
        assert g.dtype == np.float32
        np.testing.assert_allclose(g, w, atol=2e-4, rtol=2e-4, err_msg=label)


def test_batch_axes_trace_and_jit(emulated_cudnn):
    rng, params, _, _ = _setup()
    xs = rng.standard_normal((2, 3, T, I)).astype(np.float32)
    lengths = rng.integers(0, T + 1, (2, 3)).astype(np.int32)
    got = jax.jit(lambda x, n: kernels.lstm(params, x, seq_lengths=n, backend=emulated_cudnn))(
        xs, lengths
    )
    want = kernels.lstm(params, xs, seq_lengths=lengths, backend='xla')
    jax.tree.map(lambda a, b: np.testing.assert_allclose(a, b, atol=2e-6), got, want)
    # The trace comes from the XLA scan (cuDNN keeps its gates to itself).
    traced = kernels.lstm(params, xs, seq_lengths=lengths, backend=emulated_cudnn, trace=True)
    np.testing.assert_allclose(traced[1], got[1], atol=2e-6)
    assert isinstance(traced[2], kernels.LSTMTrace)


def test_packing_matches_the_converter():
    """The traceable packing inside the kernel equals ``convert.to_jax_rnn``'s."""
    from jaxrnn import convert

    _, params, _, _ = _setup()
    tree = {'layer_0': {'forward': as_dict(params)}}
    np.testing.assert_array_equal(_cudnn.pack(params), convert.to_jax_rnn(tree))


def test_flip_within_lengths():
    x = np.arange(2 * 4).reshape(2, 4)
    got = _cudnn.flip_within(jnp.asarray(x), jnp.array([3, 0]))
    np.testing.assert_array_equal(got, [[2, 1, 0, 3], [4, 5, 6, 7]])


@pytest.mark.skipif(
    jax.default_backend() != 'gpu',
    reason=f'cuDNN needs an NVIDIA GPU; JAX runs on {jax.default_backend()} here '
    '(the code around cuDNN is tested above with cuDNN emulated)',
)
def test_real_cudnn_matches_xla():
    rng = np.random.default_rng(3)
    params = LSTM.params(rng, 32, 64)
    xs = rng.standard_normal((8, 40, 32)).astype(np.float32)
    lengths = rng.integers(0, 41, 8).astype(np.int32)

    def loss(params, backend):
        final, ys = kernels.lstm(
            params,
            xs,
            seq_lengths=lengths,
            reverse=True,
            backend=backend,
            precision=jax.lax.Precision.HIGHEST,
        )
        return (ys**2).sum() + sum(c.sum() for c in final)

    got = jax.value_and_grad(loss)(params, 'cudnn')
    want = jax.value_and_grad(loss)(params, 'xla')
    jax.tree.map(lambda a, b: np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-4), got, want)
