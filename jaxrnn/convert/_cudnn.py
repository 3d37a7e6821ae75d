"""``jax.experimental.rnn`` (cuDNN) packed LSTM weights <-> jaxrnn stack params; the
packed layout is described in :func:`from_jax_rnn`."""

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
    params.

    The packed vector (``jax.experimental.rnn.unpack_lstm_weights`` reads it the same
    way) holds, for each pseudo-layer ``l = k * D + d`` (layer ``k``, direction ``d``,
    ``D = 2`` if bidirectional, else 1), ``W_ih [4h, i]`` then ``W_hh [4h, h]``
    (row-major; ``i`` is ``input_size`` for layer 0 and ``D * h`` above it), and after
    all of them, for each pseudo-layer, ``b_ih`` then ``b_hh [4h]``: PyTorch's tensors
    in cuDNN's order, gate order (i, f, g, o) as jaxrnn's. So, as in
    :func:`from_torch`::

      input_kernel = W_ih.T [i, 4h],  recurrent_kernel = W_hh.T [h, 4h],  bias = b_ih + b_hh [4h]

    Args:
      weights: the vector, ``[n]`` with ``n =
        jax.experimental.rnn.get_num_params_in_lstm(input_size, hidden_size,
        num_layers, bidirectional)``.
      input_size: input features ``i`` of the first layer.
      hidden_size: hidden features ``h`` per direction.
      num_layers: number of stacked layers ``L``.
      bidirectional: whether every layer has a backward direction.

    Returns:
      ``{'layer_k': {'forward': cell, 'backward': cell}}`` (NumPy copies in the
      vector's dtype): the ``'params'`` of ``jaxrnn.linen.LSTM(hidden_size,
      num_layers=num_layers, bidirectional=bidirectional)``. Initial and final states
      ``h_0, c_0 [L * D, b, h]`` convert with :func:`carry_from_torch` and
      :func:`carry_to_torch`.

    Raises:
      ValueError: the vector's length is not the one these sizes need.

    Examples:
      ``jax.experimental.rnn``'s reference LSTM (``lstm_ref``, which runs on CPU) and
      jaxrnn's, with the same weights:

      >>> import jax
      >>> import jax.numpy as jnp
      >>> import numpy as np
      >>> from jax.experimental import rnn
      >>> import jaxrnn.linen as jl
      >>> from jaxrnn import convert
      >>> n = rnn.get_num_params_in_lstm(3, 4, 1, False)
      >>> weights = 0.5 * jax.random.normal(jax.random.key(0), (n,))
      >>> params = convert.from_jax_rnn(
      ...     weights, input_size=3, hidden_size=4, num_layers=1, bidirectional=False
      ... )
      >>> jax.tree.map(np.shape, params)
      {'layer_0': {'forward': {'bias': (16,), 'input_kernel': (3, 16),
                               'recurrent_kernel': (4, 16)}}}
      >>> x = jax.random.normal(jax.random.key(1), (2, 5, 3))
      >>> h_0 = c_0 = jnp.zeros((1, 2, 4))
      >>> w_ih, w_hh, b_ih, b_hh = rnn.unpack_lstm_weights(weights, 3, 4, 1, False)
      >>> seq_lengths = jnp.array([5, 5])
      >>> y_ref, h_n, c_n = rnn.lstm_ref(
      ...     x, h_0, c_0, w_ih, w_hh, b_ih, b_hh, seq_lengths, 3, 4, 1, 0.0, False
      ... )
      >>> y = jl.LSTM(4).apply({'params': params}, x)
      >>> bool(np.allclose(y, y_ref, atol=1e-5))
      True
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
    """Packs jaxrnn LSTM stack params into ``jax.experimental.rnn.lstm``'s flat vector.

    The inverse of :func:`from_jax_rnn` (the layout is described there), with the merged
    bias in ``b_ih`` and zeros in ``b_hh``: jaxrnn -> vector -> jaxrnn is bit-identical.

    Args:
      params: an LSTM stack's ``{'layer_k': {'forward': cell, 'backward': cell}}``
        (``jaxrnn.linen.LSTM``'s ``'params'``).

    Returns:
      The vector ``[n]`` (NumPy, the params' dtype), ``n =
      jax.experimental.rnn.get_num_params_in_lstm(i, h, L, bidirectional)``.

    Raises:
      ValueError: not a stack params tree, or a GRU or simple RNN stack
        (``jax.experimental.rnn`` has LSTM weights only).

    Examples:
      >>> import jax
      >>> import numpy as np
      >>> from jax.experimental import rnn
      >>> import jaxrnn.linen as jl
      >>> from jaxrnn import convert
      >>> x = np.zeros((2, 5, 3), np.float32)
      >>> model = jl.LSTM(4, num_layers=2, bidirectional=True)
      >>> params = model.init(jax.random.key(0), x)['params']
      >>> weights = convert.to_jax_rnn(params)
      >>> weights.shape, weights.dtype
      ((736,), dtype('float32'))
      >>> rnn.get_num_params_in_lstm(3, 4, 2, True)
      736
      >>> back = convert.from_jax_rnn(
      ...     weights, input_size=3, hidden_size=4, num_layers=2, bidirectional=True
      ... )
      >>> same = jax.tree.map(lambda a, b: a.tobytes() == np.asarray(b).tobytes(), back, params)
      >>> all(jax.tree.leaves(same))
      True
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
