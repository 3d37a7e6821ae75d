"""PyTorch parity: nn.LSTM / nn.GRU / nn.RNN fed PackedSequences against jaxrnn stacks
loaded with jaxrnn.convert.from_torch; gradients w.r.t. inputs, initial states and every
weight; exact round trips; errors."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import jaxrnn.linen as jl
from jaxrnn import convert

B, T, I, H = 4, 6, 5, 3
LENGTHS = np.array([6, 2, 5, 1], np.int64)
MODELS = {
    'LSTM': (lambda **kw: torch.nn.LSTM(**kw), lambda **kw: jl.LSTM(**kw)),
    'GRU': (lambda **kw: torch.nn.GRU(**kw), lambda **kw: jl.GRU(**kw)),
    'RNN_TANH': (lambda **kw: torch.nn.RNN(**kw), lambda **kw: jl.SimpleRNN(**kw)),
    'RNN_RELU': (
        lambda **kw: torch.nn.RNN(nonlinearity='relu', **kw),
        lambda **kw: jl.SimpleRNN(activation='relu', **kw),
    ),
}
DTYPES = {
    'float32': (torch.float32, jnp.float32, 2e-6),
    'float64': (torch.float64, jnp.float64, 1e-12),
}


def _pair(mode, num_layers, bidirectional, dtype, seed=0):
    torch.manual_seed(seed)
    make_torch, make_ours = MODELS[mode]
    t_dtype, j_dtype, _ = DTYPES[dtype]
    module = make_torch(
        input_size=I,
        hidden_size=H,
        num_layers=num_layers,
        bidirectional=bidirectional,
        batch_first=True,
    ).to(t_dtype)
    ours = make_ours(
        features=H,
        num_layers=num_layers,
        bidirectional=bidirectional,
        param_dtype=j_dtype,
        return_carry=True,
    )
    return module, ours


def _torch_run(module, x, h0, c0, lengths):
    packed = torch.nn.utils.rnn.pack_padded_sequence(
        x, torch.as_tensor(lengths), batch_first=True, enforce_sorted=False
    )
    out, state = module(packed, (h0, c0) if c0 is not None else h0)
    out, _ = torch.nn.utils.rnn.pad_packed_sequence(out, batch_first=True, total_length=T)
    return out, state


@pytest.mark.parametrize('mode', sorted(MODELS))
@pytest.mark.parametrize('num_layers', [1, 2])
@pytest.mark.parametrize('bidirectional', [False, True])
@pytest.mark.parametrize('dtype', sorted(DTYPES))
def test_packed_sequence_values_and_gradients(mode, num_layers, bidirectional, dtype):
    module, ours = _pair(mode, num_layers, bidirectional, dtype)
    t_dtype, _, tol = DTYPES[dtype]
    dirs = 2 if bidirectional else 1
    rng = np.random.default_rng(0)
    np_dtype = np.float32 if dtype == 'float32' else np.float64
    x = rng.standard_normal((B, T, I)).astype(np_dtype)
    h0 = (0.5 * rng.standard_normal((num_layers * dirs, B, H))).astype(np_dtype)
    c0 = (0.5 * rng.standard_normal(h0.shape)).astype(np_dtype) if mode == 'LSTM' else None
    w_out = rng.standard_normal((B, T, dirs * H)).astype(np_dtype)
    w_h = rng.standard_normal(h0.shape).astype(np_dtype)

    # torch: values and autograd gradients
    xt = torch.tensor(x, requires_grad=True)
    h0t = torch.tensor(h0, requires_grad=True)
    c0t = torch.tensor(c0, requires_grad=True) if c0 is not None else None
    out_t, state_t = _torch_run(module, xt, h0t, c0t, LENGTHS)
    h_t, c_t = state_t if mode == 'LSTM' else (state_t, None)
    loss_t = (out_t * torch.tensor(w_out)).sum() + (h_t * torch.tensor(w_h)).sum()
    if c_t is not None:
        loss_t = loss_t + (c_t * torch.tensor(w_h)).sum() * 0.5
    loss_t.backward()

    # jaxrnn: same weights, same initial states
    params = convert.from_torch(module)
    carry = convert.carry_from_torch(h0, c0, bidirectional=bidirectional)
    lengths = LENGTHS.astype(np.int32)

    def run(params, x, carry):
        return ours.apply({'params': params}, x, initial_carry=carry, seq_lengths=lengths)

    def loss(params, x, carry):
        final, out = run(params, x, carry)
        state = convert_carry(final)
        total = (out * w_out).sum() + (state[0] * w_h).sum()
        if mode == 'LSTM':
            total = total + (state[1] * w_h).sum() * 0.5
        return total

    def convert_carry(final):  # traced version of carry_to_torch
        flat = [cell for layer in final for cell in layer]
        if mode == 'LSTM':
            return jnp.stack([p[1] for p in flat]), jnp.stack([p[0] for p in flat])
        return (jnp.stack(flat),)

    final, out = run(params, x, carry)
    np.testing.assert_allclose(out, out_t.detach().numpy(), atol=tol, rtol=tol)
    state = convert.carry_to_torch(final)
    if mode == 'LSTM':
        np.testing.assert_allclose(state[0], h_t.detach().numpy(), atol=tol, rtol=tol)
        np.testing.assert_allclose(state[1], c_t.detach().numpy(), atol=tol, rtol=tol)
    else:
        np.testing.assert_allclose(state, h_t.detach().numpy(), atol=tol, rtol=tol)

    g_params, g_x, g_carry = jax.grad(loss, argnums=(0, 1, 2))(params, x, carry)
    np.testing.assert_allclose(g_x, xt.grad.numpy(), atol=tol * 5, rtol=tol * 5)
    g_state = convert.carry_to_torch(g_carry)
    g_h = g_state[0] if mode == 'LSTM' else g_state
    np.testing.assert_allclose(g_h, h0t.grad.numpy(), atol=tol * 5, rtol=tol * 5)
    if mode == 'LSTM':
        np.testing.assert_allclose(g_state[1], c0t.grad.numpy(), atol=tol * 5, rtol=tol * 5)

    # every torch weight's gradient, through to_torch(..., into='grads')
    twin = MODELS[mode][0](
        input_size=I, hidden_size=H, num_layers=num_layers, bidirectional=bidirectional
    ).to(t_dtype)
    convert.to_torch(g_params, twin, into='grads')
    for name, p in module.named_parameters():
        np.testing.assert_allclose(
            dict(twin.named_parameters())[name].grad.numpy(),
            p.grad.numpy(),
            atol=tol * 5,
            rtol=tol * 5,
            err_msg=name,
        )


def _bits(tree):
    return jax.tree.map(lambda a: np.asarray(a).view(f'u{np.asarray(a).dtype.itemsize}'), tree)


def _assert_bit_equal(a, b):
    jax.tree.map(np.testing.assert_array_equal, _bits(a), _bits(b))


floats = hnp.arrays(
    np.float32,
    st.just(1),
    elements=st.floats(width=32, allow_nan=False),
)


@settings(max_examples=15, deadline=None)
@given(
    mode=st.sampled_from(sorted(MODELS)),
    bidirectional=st.booleans(),
    special=st.sampled_from([0.0, -0.0, np.inf, -np.inf, np.nan, 1e-45, 3.4e38]),
    seed=st.integers(0, 2**16),
)
def test_round_trips_are_bit_identical(mode, bidirectional, special, seed):
    module, ours = _pair(mode, 2, bidirectional, 'float32', seed)
    x = np.zeros((1, 2, I), np.float32)
    rng = np.random.default_rng(seed)
    params = jax.tree.map(
        lambda a: rng.standard_normal(a.shape).astype(np.float32),
        ours.init(jax.random.key(0), x)['params'],
    )
    params['layer_0']['forward']['bias'][0] = special
    params['layer_1']['forward']['input_kernel'][0, 0] = special
    # jaxrnn -> torch -> jaxrnn
    _assert_bit_equal(convert.from_torch(convert.to_torch(params, module)), params)
    # torch -> jaxrnn -> torch: every weight bit for bit, the bias pair as its sum
    state = {k: v.clone() for k, v in module.state_dict().items()}
    back = convert.to_torch(convert.from_torch(module), module).state_dict()
    for name, value in state.items():
        if name.startswith('weight'):
            _assert_bit_equal(back[name].numpy(), value.numpy())
    ih, hh = 'bias_ih_l0', 'bias_hh_l0'
    np.testing.assert_array_equal((back[ih] + back[hh]).numpy(), (state[ih] + state[hh]).numpy())


def test_state_dict_bias_free_and_bfloat16():
    torch.manual_seed(0)
    module = torch.nn.GRU(I, H, num_layers=2, bias=False)
    params = convert.from_torch(module.state_dict())
    assert np.all(params['layer_1']['forward']['bias'] == 0)
    assert np.all(params['layer_1']['forward']['recurrent_bias'] == 0)
    convert.to_torch(params, module)  # zero biases fit a bias-free module
    params['layer_0']['forward']['bias'][1] = 1.0
    with pytest.raises(ValueError, match='bias=False'):
        convert.to_torch(params, module)
    bf16 = torch.nn.LSTM(I, H).to(torch.bfloat16)
    p16 = convert.from_torch(bf16)
    assert p16['layer_0']['forward']['input_kernel'].dtype == jnp.bfloat16
    np.testing.assert_array_equal(
        p16['layer_0']['forward']['input_kernel'].astype(np.float32),
        bf16.weight_ih_l0.detach().float().numpy().T,
    )


def test_errors_name_the_mismatch():
    torch.manual_seed(0)
    lstm = torch.nn.LSTM(I, H, num_layers=2, bidirectional=True)
    params = convert.from_torch(lstm)
    with pytest.raises(ValueError, match='hidden_size is 3 in params and 4'):
        convert.to_torch(params, torch.nn.LSTM(I, 4, num_layers=2, bidirectional=True))
    with pytest.raises(ValueError, match='num_layers is 2 in params and 3'):
        convert.to_torch(params, torch.nn.LSTM(I, H, num_layers=3, bidirectional=True))
    with pytest.raises(ValueError, match='bidirectional is True in params and False'):
        convert.to_torch(params, torch.nn.LSTM(I, H, num_layers=2))
    with pytest.raises(ValueError, match="kind is 'lstm' in params and 'gru'"):
        convert.to_torch(params, torch.nn.GRU(I, H, num_layers=2, bidirectional=True))
    with pytest.raises(ValueError, match='input_size is 5 in params and 6'):
        convert.to_torch(params, torch.nn.LSTM(6, H, num_layers=2, bidirectional=True))
    with pytest.raises(TypeError, match='float64'):
        convert.to_torch(params, torch.nn.LSTM(I, H, num_layers=2, bidirectional=True).double())
    with pytest.raises(ValueError, match='proj_size'):
        convert.from_torch(torch.nn.LSTM(I, H, proj_size=2))
    state = lstm.state_dict()
    del state['bias_hh_l1_reverse']
    with pytest.raises(ValueError, match='bias_hh_l1_reverse'):
        convert.from_torch(state)
    with pytest.raises(TypeError, match='Linear'):
        convert.from_torch(torch.nn.Linear(2, 2))
    with pytest.raises(ValueError, match="into must be 'weights' or 'grads'"):
        convert.to_torch(params, lstm, into='data')
    broken = jax.tree.map(lambda a: a, params)
    broken['layer_1']['backward']['recurrent_kernel'] = np.zeros((H, 3 * H), np.float32)
    with pytest.raises(ValueError, match=r"\['layer_1'\]\['backward'\]"):
        convert.to_torch(broken, lstm)
