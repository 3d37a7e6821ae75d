"""Strict JAX settings for the whole suite.

float64 is enabled so the float64 paths can be compared with the NumPy oracle; every
other test passes explicit dtypes, and tests assert result dtypes, so an accidental
promotion to float64 is caught rather than hidden.

Keras (the real-Keras parity tests and the README's Keras example) runs on its JAX
backend, set here before anything imports it: TensorFlow is not a test dependency.
"""

import os

import jax
import pytest

jax.config.update('jax_enable_x64', True)
jax.config.update('jax_numpy_rank_promotion', 'raise')
os.environ['KERAS_BACKEND'] = 'jax'


@pytest.fixture(autouse=True, scope='module')
def _release_compiled_programs():
    """Drops JAX's compiled programs after each test module. The suite compiles
    thousands of small programs; kept alive, each holds its own memory mappings, and one
    process passes Linux's default limit of 65530 mappings (``vm.max_map_count``) about
    two thirds of the way through, where XLA aborts while compiling the next program."""
    yield
    jax.clear_caches()


@pytest.fixture
def float32_defaults():
    """Runs a test as users run jaxrnn: without the suite's float64 default."""
    jax.config.update('jax_enable_x64', False)
    yield
    jax.config.update('jax_enable_x64', True)


@pytest.fixture
def emulated_cudnn(monkeypatch):
    """The ``backend=`` value that runs the cuDNN backend on a CPU: ``CuDNN(platform=
    'gpu')``, with the cuDNN call ``jax.experimental.rnn.lstm`` replaced by
    ``jax.experimental.rnn.lstm_ref``, JAX's own reference that JAX's GPU tests check
    cuDNN against (same packed weights, same arguments), standing in for the hardware.
    What is tested is everything jaxrnn puts around cuDNN: weight packing, flips for
    ``reverse``, zero lengths, layouts, gradients through the packing."""
    from jax.experimental import rnn as jax_rnn

    from jaxrnn.kernels import _cudnn
    from jaxrnn.kernels._backend import CuDNN

    def lstm(x, h_0, c_0, weights, seq_lengths, precision=None, **sizes):
        assert seq_lengths.dtype == jax.numpy.int32  # as cuDNN requires
        names = ('input_size', 'hidden_size', 'num_layers', 'bidirectional')
        unpacked = jax_rnn.unpack_lstm_weights(weights, *(sizes[n] for n in names))
        return jax_rnn.lstm_ref(x, h_0, c_0, *unpacked, seq_lengths, **sizes)

    monkeypatch.setattr(_cudnn.jax_rnn, 'lstm', lstm)
    _cudnn.sequence.clear_cache()
    yield CuDNN(platform='gpu')
    _cudnn.sequence.clear_cache()
