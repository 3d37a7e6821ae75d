"""``jax.experimental.rnn`` (cuDNN) packed LSTM weights <-> jaxrnn stack params.

The packed vector holds, for each pseudo-layer ``l = layer * D + direction``, ``W_ih``
``[4h, in_l]`` then ``W_hh`` ``[4h, h]`` (row-major), and after all of them, for each
pseudo-layer, ``b_ih`` then ``b_hh`` ``[4h]``: PyTorch's tensors in cuDNN's order
(``jax.experimental.rnn.unpack_lstm_weights``). Biases merge as in
:mod:`jaxrnn.convert._torch`.
"""

from __future__ import annotations

from typing import Mapping

import numpy as np

from jaxrnn.convert import _common


def _shapes(input_size, hidden_size, num_layers, bidirectional):
    dirs = 2 if bidirectional else 1
    weights, biases = [], []
    for k in range(num_layers):
        size = input_size if k == 0 else dirs * hidden_size
        for d in range(dirs):
            weights.append(((k, d), 'W_ih', (4 * hidden_size, size)))
            weights.append(((k, d), 'W_hh', (4 * hidden_size, hidden_size)))
            biases.append(((k, d), 'b_ih', (4 * hidden_size,)))
            biases.append(((k, d), 'b_hh', (4 * hidden_size,)))
    return weights + biases


def from_jax_rnn(
    weights, *, input_size: int, hidden_size: int, num_layers: int, bidirectional: bool
) -> dict:
    """Unpacks ``jax.experimental.rnn.lstm``'s flat weight vector into jaxrnn LSTM stack
    params (for ``jaxrnn.linen.LSTM(hidden_size, num_layers, bidirectional)``).

    Raises:
      ValueError: the vector's length is not the one these sizes need.

    Examples:
      >>> import jax, jax.numpy as jnp
      >>> from jax.experimental import rnn
      >>> from jaxrnn import convert
      >>> n = rnn.get_num_params_in_lstm(3, 4, 2, True)   # input, hidden, layers, bidirectional
      >>> weights = 0.1 * jax.random.normal(jax.random.key(0), (n,))
      >>> params = convert.from_jax_rnn(weights, input_size=3, hidden_size=4, num_layers=2,
      ...                               bidirectional=True)
      >>> sorted(params['layer_1']), params['layer_1']['forward']['input_kernel'].shape
      (['backward', 'forward'], (8, 16))
    """
    flat = _common.array(weights)
    layout = _shapes(input_size, hidden_size, num_layers, bidirectional)
    needed = sum(int(np.prod(shape)) for _, _, shape in layout)
    if flat.ndim != 1 or flat.shape[0] != needed:
        raise ValueError(
            f'weights must be a vector of {needed} values for input_size={input_size}, '
            f'hidden_size={hidden_size}, num_layers={num_layers}, '
            f'bidirectional={bidirectional}; got shape {flat.shape}.'
        )
    parts: dict = {}
    offset = 0
    for key, name, shape in layout:
        size = int(np.prod(shape))
        parts.setdefault(key, {})[name] = flat[offset : offset + size].reshape(shape)
        offset += size
    cells = {
        key: {
            'input_kernel': np.ascontiguousarray(p['W_ih'].T),
            'recurrent_kernel': np.ascontiguousarray(p['W_hh'].T),
            'bias': _common.add(p['b_ih'], p['b_hh']),
        }
        for key, p in parts.items()
    }
    return _common.stack_params(cells)


def to_jax_rnn(params: Mapping) -> np.ndarray:
    """Packs jaxrnn LSTM stack params into ``jax.experimental.rnn.lstm``'s flat vector
    (the merged bias in ``b_ih``, zeros in ``b_hh``).

    Examples:
      >>> import jax
      >>> from jax.experimental import rnn
      >>> from jaxrnn import convert
      >>> n = rnn.get_num_params_in_lstm(3, 4, 1, False)
      >>> weights = 0.1 * jax.random.normal(jax.random.key(0), (n,))
      >>> params = convert.from_jax_rnn(weights, input_size=3, hidden_size=4, num_layers=1,
      ...                               bidirectional=False)
      >>> packed = convert.to_jax_rnn(params)                  # b_ih + b_hh merged into b_ih
      >>> again = convert.from_jax_rnn(packed, input_size=3, hidden_size=4, num_layers=1,
      ...                              bidirectional=False)
      >>> bias = params['layer_0']['forward']['bias']
      >>> bias_again = again['layer_0']['forward']['bias']
      >>> packed.shape, bool((bias == bias_again).all())
      ((144,), True)
    """
    layout = _common.stack_layout(params)
    if layout['kind'] != 'lstm':
        raise ValueError(
            f'jax.experimental.rnn has LSTM weights only; params are a {layout["kind"]} stack.'
        )
    cells = {(k, d): cell for k, d, cell in _common.stack_cells(params)}
    chunks = []
    for key, name, _ in _shapes(
        layout['input_size'], layout['hidden_size'], layout['num_layers'], layout['bidirectional']
    ):
        cell = cells[key]
        bias = _common.array(cell['bias'])
        values = {
            'W_ih': _common.array(cell['input_kernel']).T,
            'W_hh': _common.array(cell['recurrent_kernel']).T,
            'b_ih': bias,
            'b_hh': np.zeros_like(bias),
        }
        value = values[name]
        chunks.append(np.ascontiguousarray(value).reshape(-1))
    return np.concatenate(chunks)
