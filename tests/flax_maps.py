"""Maps Flax cell parameters into jaxrnn's fused layout (test helper; the public
converters belong to jaxrnn.convert)."""

from __future__ import annotations

import jax.numpy as jnp


def _cat(*arrays):
    return jnp.concatenate(arrays, axis=-1)


def linen_lstm(p):
    """flax.linen LSTMCell / OptimizedLSTMCell params -> jaxrnn.linen.LSTMCell params."""
    g = 'ifgo'
    return {
        'input_kernel': _cat(*(p[f'i{k}']['kernel'] for k in g)),
        'recurrent_kernel': _cat(*(p[f'h{k}']['kernel'] for k in g)),
        'bias': _cat(*(p[f'h{k}']['bias'] for k in g)),
    }


def linen_gru(p):
    g = 'rzn'
    return {
        'input_kernel': _cat(*(p[f'i{k}']['kernel'] for k in g)),
        'recurrent_kernel': _cat(*(p[f'h{k}']['kernel'] for k in g)),
        'bias': _cat(*(p[f'i{k}']['bias'] for k in g)),
        'recurrent_bias': p['hn']['bias'],
    }


def linen_simple(p):
    return {
        'input_kernel': p['i']['kernel'],
        'recurrent_kernel': p['h']['kernel'],
        'bias': p['i']['bias'],
    }


def nnx_lstm(cell):
    if hasattr(cell, 'dense_i'):  # OptimizedLSTMCell
        return {
            'input_kernel': cell.dense_i.kernel[...],
            'recurrent_kernel': cell.dense_h.kernel[...],
            'bias': cell.dense_h.bias[...],
        }
    ins = [cell.ii, cell.if_, cell.ig, cell.io]
    hs = [cell.hi, cell.hf, cell.hg, cell.ho]
    return {
        'input_kernel': _cat(*(m.kernel[...] for m in ins)),
        'recurrent_kernel': _cat(*(m.kernel[...] for m in hs)),
        'bias': _cat(*(m.bias[...] for m in hs)),
    }


def nnx_gru(cell):
    """flax.nnx.GRUCell has no b_hn (google/flax#5594): it maps to recurrent_bias = 0."""
    hidden = cell.hidden_features
    return {
        'input_kernel': cell.dense_i.kernel[...],
        'recurrent_kernel': cell.dense_h.kernel[...],
        'bias': cell.dense_i.bias[...],
        'recurrent_bias': jnp.zeros((hidden,), cell.dense_i.kernel[...].dtype),
    }


def nnx_simple(cell):
    return {
        'input_kernel': cell.dense_i.kernel[...],
        'recurrent_kernel': cell.dense_h.kernel[...],
        'bias': cell.dense_i.bias[...],
    }


def load_nnx(ours, fused: dict):
    """Writes a fused params dict into a jaxrnn.nnx cell."""
    for name, value in fused.items():
        getattr(ours, name)[...] = value
    return ours
