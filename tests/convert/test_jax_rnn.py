"""jaxrnn.convert.from_jax_rnn / to_jax_rnn: jax.experimental.rnn's packed cuDNN weight
vector, checked with jax.experimental.rnn's own unpacker and lstm_ref (multi-layer,
bidirectional, seq_lengths)."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.experimental import rnn

import jaxrnn.linen as jl
from jaxrnn import convert

B, T, I, H = 3, 6, 4, 5
LENGTHS = np.array([6, 2, 4], np.int32)


@pytest.mark.parametrize('num_layers', [1, 2, 3])
@pytest.mark.parametrize('bidirectional', [False, True])
def test_lstm_ref_parity(num_layers, bidirectional):
    dirs = 2 if bidirectional else 1
    n = rnn.get_num_params_in_lstm(I, H, num_layers, bidirectional)
    weights = jax.random.normal(jax.random.key(0), (n,), jnp.float32) * 0.4
    rng = np.random.default_rng(0)
    x = rng.standard_normal((B, T, I)).astype(np.float32)
    h0 = rng.standard_normal((num_layers * dirs, B, H)).astype(np.float32)
    c0 = rng.standard_normal((num_layers * dirs, B, H)).astype(np.float32)

    w_ih, w_hh, b_ih, b_hh = rnn.unpack_lstm_weights(weights, I, H, num_layers, bidirectional)
    y_ref, h_ref, c_ref = rnn.lstm_ref(
        x,
        h0,
        c0,
        w_ih,
        w_hh,
        b_ih,
        b_hh,
        jnp.asarray(LENGTHS),
        I,
        H,
        num_layers,
        0.0,
        bidirectional,
    )
    params = convert.from_jax_rnn(
        weights, input_size=I, hidden_size=H, num_layers=num_layers, bidirectional=bidirectional
    )
    model = jl.LSTM(H, num_layers=num_layers, bidirectional=bidirectional, return_carry=True)
    carry = convert.carry_from_torch(h0, c0, bidirectional=bidirectional)
    final, y = model.apply({'params': params}, x, initial_carry=carry, seq_lengths=LENGTHS)
    h_n, c_n = convert.carry_to_torch(final)
    np.testing.assert_allclose(y, y_ref, atol=3e-6)
    np.testing.assert_allclose(h_n, h_ref, atol=3e-6)
    np.testing.assert_allclose(c_n, c_ref, atol=3e-6)
    # back to the packed vector: the same function through jax.experimental.rnn
    packed = convert.to_jax_rnn(params)
    assert packed.shape == (n,)
    again = rnn.unpack_lstm_weights(jnp.asarray(packed), I, H, num_layers, bidirectional)
    y2, _, _ = rnn.lstm_ref(
        x, h0, c0, *again, jnp.asarray(LENGTHS), I, H, num_layers, 0.0, bidirectional
    )
    np.testing.assert_allclose(y2, y_ref, atol=3e-6)
    # jaxrnn -> packed -> jaxrnn is bit-identical
    back = convert.from_jax_rnn(
        packed, input_size=I, hidden_size=H, num_layers=num_layers, bidirectional=bidirectional
    )
    jax.tree.map(
        lambda a, b: np.testing.assert_array_equal(a.view(np.uint32), b.view(np.uint32)),
        back,
        params,
    )


def test_errors():
    n = rnn.get_num_params_in_lstm(I, H, 2, True)
    with pytest.raises(ValueError, match=f'vector of {n} values'):
        convert.from_jax_rnn(
            np.zeros(n + 1, np.float32),
            input_size=I,
            hidden_size=H,
            num_layers=2,
            bidirectional=True,
        )
    gru = jl.GRU(H).init(jax.random.key(0), np.zeros((1, 2, I), np.float32))['params']
    with pytest.raises(ValueError, match='LSTM weights only'):
        convert.to_jax_rnn(gru)
