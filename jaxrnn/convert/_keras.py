"""Keras ``LSTM`` / ``GRU`` / ``SimpleRNN`` (and ``Bidirectional``) weight lists <->
jaxrnn cell params, from NumPy arrays (Keras itself is not needed). The layouts are
described in :func:`from_keras` and :func:`to_keras`."""

from __future__ import annotations

from typing import Mapping, Sequence

import numpy as np

from jaxrnn.convert import _common

_INTO = ('weights', 'grads')


def _zrh_to_rzn(value):
    z, r, h = _common.split(value, 3)
    return np.concatenate([r, z, h], axis=-1)


def _rzn_to_zrh(value):
    r, z, n = _common.split(value, 3)
    return np.concatenate([z, r, n], axis=-1)


def _check_flag(name: str, value) -> None:
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f'{name} must be True or False, got {value!r}.')


def _halves(weights: Sequence, bidirectional: bool) -> list[tuple[str, Sequence]]:
    """``[(name prefix, one layer's weight list)]``: one entry, or forward and backward."""
    if isinstance(weights, (Mapping, str, bytes)) or not hasattr(weights, '__len__'):
        raise ValueError(
            'weights must be a list of arrays, as layer.get_weights() returns, got '
            f'{type(weights).__name__}.'
        )
    n = len(weights)
    if not bidirectional:
        if n not in (2, 3):
            hint = " (a Bidirectional layer's list: pass bidirectional=True)" if n in (4, 6) else ''
            raise ValueError(
                'weights must be a list [kernel, recurrent_kernel, bias] (or without bias), '
                f'got {type(weights).__name__} of length {n}{hint}.'
            )
        return [('', weights)]
    if n not in (4, 6):
        raise ValueError(
            "with bidirectional=True, weights must be a Bidirectional layer's list: the "
            "forward layer's [kernel, recurrent_kernel(, bias)] then the backward layer's, "
            f'4 or 6 arrays; got {type(weights).__name__} of length {n}.'
        )
    half = n // 2
    return [('forward ', weights[:half]), ('backward ', weights[half:])]


def _cell_from_keras(weights: Sequence, reset_after: bool | None, where: str):
    """One Keras layer's list -> ``(cell params, layout)``, layout ``(kind, in, hidden,
    reset_after or None)``."""
    kernel, recurrent = _common.array(weights[0]), _common.array(weights[1])
    if recurrent.ndim != 2 or recurrent.shape[0] == 0 or recurrent.shape[1] % recurrent.shape[0]:
        raise ValueError(
            f'{where}recurrent_kernel must have shape [h, G*h], got {recurrent.shape}.'
        )
    hidden = recurrent.shape[0]
    gates = recurrent.shape[1] // hidden
    kind = _common.KINDS.get(gates)
    if kind is None:
        raise ValueError(
            f'{where}recurrent_kernel {recurrent.shape} has {gates} gate blocks; expected 4 '
            '(LSTM), 3 (GRU) or 1 (SimpleRNN).'
        )
    if kernel.ndim != 2 or kernel.shape[1] != gates * hidden:
        raise ValueError(
            f'{where}kernel must have shape [in, {gates * hidden}], got {kernel.shape}.'
        )
    bias = _common.array(weights[2]) if len(weights) == 3 else None
    if kind != 'gru':
        if reset_after is not None:
            raise ValueError(f'reset_after applies to a GRU; these weights are a {kind} layer.')
        if bias is None:
            bias = np.zeros((gates * hidden,), kernel.dtype)
        _common.check_shape(f'{where}bias', bias, (gates * hidden,))
        params = {'input_kernel': kernel, 'recurrent_kernel': recurrent, 'bias': bias}
        return _common.copies(params), (kind, kernel.shape[0], hidden, None)

    if bias is None:
        found = reset_after if reset_after is not None else True
        bias = np.zeros((2, 3 * hidden) if found else (3 * hidden,), kernel.dtype)
    found = bias.shape == (2, 3 * hidden)
    if not found and bias.shape != (3 * hidden,):
        raise ValueError(
            f'{where}GRU bias must have shape (2, {3 * hidden}) (reset_after=True) or '
            f'({3 * hidden},) (reset_after=False), got {bias.shape}.'
        )
    if reset_after is not None and reset_after != found:
        raise ValueError(
            f'reset_after={reset_after} was requested but the {where}GRU bias {bias.shape} is '
            f'that of reset_after={found}.'
        )
    params = {
        'input_kernel': _zrh_to_rzn(kernel),
        'recurrent_kernel': _zrh_to_rzn(recurrent),
    }
    if found:
        b_in, b_rec = _zrh_to_rzn(bias[0]), _zrh_to_rzn(bias[1])
        params['bias'] = np.concatenate(
            [_common.add(b_in[: 2 * hidden], b_rec[: 2 * hidden]), b_in[2 * hidden :]]
        )
        params['recurrent_bias'] = b_rec[2 * hidden :].copy()
    else:
        params['bias'] = _zrh_to_rzn(bias)
        params['recurrent_bias'] = np.zeros((hidden,), bias.dtype)
    return _common.copies(params), (kind, kernel.shape[0], hidden, found)


def _describe(layout) -> str:
    kind, in_features, hidden, reset_after = layout
    variant = '' if reset_after is None else f' (reset_after={reset_after})'
    return f'a {kind} layer{variant} with {in_features} inputs and {hidden} units'


def from_keras(
    weights: Sequence, *, reset_after: bool | None = None, bidirectional: bool = False
) -> dict:
    """Converts a Keras recurrent layer's weight list into jaxrnn cell params.

    A Keras ``LSTM``, ``GRU`` or ``SimpleRNN`` layer's ``get_weights()`` is ``[kernel
    [i, G*h], recurrent_kernel [h, G*h], bias]`` (no bias with ``use_bias=False``); a
    ``Bidirectional`` layer's is the forward layer's list followed by the backward
    layer's. Keras' LSTM gate order (i, f, c, o) is jaxrnn's (i, f, g, o), so an LSTM or
    SimpleRNN converts as it is. Keras' GRU order (z, r, h) is reordered to jaxrnn's
    (r, z, n), and its bias is ``[2, 3h]`` (input row, recurrent row) with
    ``reset_after=True`` (Keras' default, the cuDNN form) or ``[3h]`` with
    ``reset_after=False``::

      input_kernel     = (W_r, W_z, W_h)               [i, 3h]   Keras: (W_z, W_r, W_h)
      recurrent_kernel = (U_r, U_z, U_h)               [h, 3h]   Keras: (U_z, U_r, U_h)

      reset_after=True, Keras bias [2, 3h] = [(b_z, b_r, b_h), (c_z, c_r, c_h)]:
      bias             = (b_r + c_r, b_z + c_z, b_h)   [3h]
      recurrent_bias   = c_h                           [h]

      reset_after=False, Keras bias [3h] = (b_z, b_r, b_h):
      bias             = (b_r, b_z, b_h)               [3h]
      recurrent_bias   = 0                             [h]

    Keras' update gate keeps the old state (``h' = z * h + (1 - z) * hh``), as jaxrnn's.

    Args:
      weights: ``[kernel, recurrent_kernel, bias]`` or ``[kernel, recurrent_kernel]``
        (``use_bias=False``), as ``layer.get_weights()`` returns (NumPy or other
        arrays); with ``bidirectional=True``, a ``keras.layers.Bidirectional`` layer's
        list: the forward layer's list then the backward layer's (4 or 6 arrays, split
        in half; both halves must be the same kind of layer with the same sizes).
      reset_after: for a GRU, the variant you expect (checked against the bias shape);
        ``None`` reads it from the bias. A ``reset_after=False`` GRU loads into
        ``GRUCell(reset_after=False)``.
      bidirectional: the weights are a ``Bidirectional`` layer's.

    Returns:
      The cell's params dict (NumPy copies, the weights' dtype); the cell kind comes
      from the number of gate blocks (4 LSTM, 3 GRU, 1 SimpleRNN). With
      ``bidirectional=True``, ``{'forward': cell params, 'backward': cell params}``: one
      layer of a bidirectional stack, so ``{'layer_0': result}`` is the ``'params'`` of
      ``jaxrnn.linen.LSTM(h, bidirectional=True)`` (or ``GRU``, ``SimpleRNN``), which
      computes what the Keras layer with ``merge_mode='concat'`` (its default) does; for
      ``jaxrnn.linen.Bidirectional`` use ``{'forward_rnn': {'cell': result['forward']},
      'backward_rnn': {'cell': result['backward']}}``.

    Raises:
      ValueError, TypeError: a list of the wrong length, a shape that is not a Keras
        layer's (the message names the array), a ``reset_after`` that the bias
        contradicts or given for a layer that is not a GRU, or halves of a
        ``Bidirectional`` list that differ.

    Examples:
      The weights of ``keras.layers.LSTM(4)`` on 3 input features, as NumPy arrays
      (Keras is not imported here; ``layer.get_weights()`` gives the same list):

      >>> import jax
      >>> import numpy as np
      >>> import jaxrnn.linen as jl
      >>> from jaxrnn import convert
      >>> rng = np.random.default_rng(0)
      >>> def normal(*shape):
      ...     return (0.5 * rng.normal(size=shape)).astype(np.float32)
      >>> lstm_weights = [normal(3, 16), normal(4, 16), normal(16)]  # kernel, recurrent, bias
      >>> cell = convert.from_keras(lstm_weights)
      >>> jax.tree.map(np.shape, cell)
      {'bias': (16,), 'input_kernel': (3, 16), 'recurrent_kernel': (4, 16)}
      >>> x = normal(2, 5, 3)
      >>> jl.RNN(jl.LSTMCell(4)).apply({'params': {'cell': cell}}, x).shape
      (2, 5, 4)

      ``keras.layers.GRU(4)`` (``reset_after=True``): the gate blocks are reordered and
      the two bias rows merged. The first step from a zero state, written from Keras'
      equations, is jaxrnn's:

      >>> kernel, recurrent, bias = gru_weights = [normal(3, 12), normal(4, 12), normal(2, 12)]
      >>> cell = convert.from_keras(gru_weights)
      >>> jax.tree.map(np.shape, cell)
      {'bias': (12,), 'input_kernel': (3, 12), 'recurrent_bias': (4,), 'recurrent_kernel': (4, 12)}
      >>> bool(np.array_equal(cell['input_kernel'][:, :4], kernel[:, 4:8]))  # r: Keras' 2nd
      True
      >>> def sigmoid(v):
      ...     return 1 / (1 + np.exp(-v))
      >>> a_z, a_r, a_h = np.split(x[:, 0] @ kernel + bias[0], 3, axis=-1)
      >>> u_z, u_r, u_h = np.split(bias[1], 3)  # the recurrent terms at h = 0
      >>> z, r = sigmoid(a_z + u_z), sigmoid(a_r + u_r)
      >>> h_1 = (1 - z) * np.tanh(a_h + r * u_h)
      >>> y = jl.RNN(jl.GRUCell(4)).apply({'params': {'cell': cell}}, x)
      >>> bool(np.allclose(y[:, 0], h_1, atol=1e-5))
      True

      A ``Bidirectional(LSTM(4))`` layer's six arrays give one bidirectional stack layer:

      >>> both = convert.from_keras(lstm_weights + lstm_weights, bidirectional=True)
      >>> sorted(both)
      ['backward', 'forward']
      >>> jl.LSTM(4, bidirectional=True).apply({'params': {'layer_0': both}}, x).shape
      (2, 5, 8)
    """
    _check_flag('bidirectional', bidirectional)
    converted = [
        (where, *_cell_from_keras(half, reset_after, where))
        for where, half in _halves(weights, bidirectional)
    ]
    if not bidirectional:
        return converted[0][1]
    (_, forward, forward_layout), (_, backward, backward_layout) = converted
    if forward_layout != backward_layout:
        raise ValueError(
            'the two halves of a Bidirectional weight list must be the same kind of layer: '
            f'the forward half is {_describe(forward_layout)}, the backward half '
            f'{_describe(backward_layout)}.'
        )
    return {'forward': forward, 'backward': backward}


def _cell_to_keras(
    params: Mapping, reset_after: bool | None, use_bias: bool, into: str, where: str
) -> tuple[list[np.ndarray], tuple]:
    kind, in_features, hidden = _common.cell_kind(params, where)
    kernel = _common.array(params['input_kernel'])
    recurrent = _common.array(params['recurrent_kernel'])
    bias = _common.array(params['bias'])
    if kind != 'gru':
        if reset_after is not None:
            raise ValueError(f'reset_after applies to a GRU; {where} are a {kind} cell.')
        weights = [kernel, recurrent]
        keras_bias = bias
    else:
        if reset_after is None:
            raise ValueError(
                "to_keras needs reset_after=True or False for a GRU (the Keras layer's "
                'variant; jaxrnn params do not record it).'
            )
        weights = [_rzn_to_zrh(kernel), _rzn_to_zrh(recurrent)]
        b_hn = _common.array(params['recurrent_bias'])
        if reset_after:
            # weights: the merged (b_r, b_z) in the input row, zeros in the recurrent row;
            # grads: both rows are added into that sum, so each gets its gradient
            rec_rz = bias[: 2 * hidden] if into == 'grads' else np.zeros_like(bias[: 2 * hidden])
            keras_bias = np.stack([_rzn_to_zrh(bias), _rzn_to_zrh(np.concatenate([rec_rz, b_hn]))])
        else:
            # weights: one bias b_h + b_hn; grads: its gradient is either term's, not the
            # sum of both
            b_n = bias[2 * hidden :] if into == 'grads' else _common.add(bias[2 * hidden :], b_hn)
            keras_bias = _rzn_to_zrh(np.concatenate([bias[: 2 * hidden], b_n]))
    if use_bias:
        weights.append(keras_bias)
    elif into == 'weights':
        for name in ('bias', 'recurrent_bias'):
            if name in params and np.any(_common.array(params[name]) != 0):
                raise ValueError(
                    f'use_bias=False, but {where}[{name!r}] is nonzero (largest magnitude '
                    f'{np.max(np.abs(_common.array(params[name])))}): a Keras layer without a '
                    'bias cannot compute the same function.'
                )
    return [np.array(w, copy=True) for w in weights], (kind, in_features, hidden)


def to_keras(
    params: Mapping,
    *,
    reset_after: bool | None = None,
    use_bias: bool = True,
    bidirectional: bool = False,
    into: str = 'weights',
) -> list[np.ndarray]:
    """Converts jaxrnn cell params into a Keras weight list for ``layer.set_weights``.

    The inverse of :func:`from_keras` (the layouts are described there). An LSTM or
    SimpleRNN converts as it is; a GRU's gate blocks go back to Keras' order (z, r, h)
    and, with ``b = (b_r, b_z, b_n)`` jaxrnn's ``bias`` and ``b_hn`` its
    ``recurrent_bias``, its bias is::

      reset_after=True   [(b_z, b_r, b_n), (0, 0, b_hn)]     [2, 3h]
      reset_after=False  (b_z, b_r, b_n + b_hn)              [3h]

    So jaxrnn -> Keras -> jaxrnn is bit-identical, except that with
    ``reset_after=False`` the ``recurrent_bias`` comes back merged into ``bias`` (the
    same function: jaxrnn's ``GRUCell(reset_after=False)`` adds both to the same sum).

    Args:
      params: a jaxrnn cell's params; with ``bidirectional=True``, ``{'forward': cell
        params, 'backward': cell params}`` as :func:`from_keras` returns (one layer of a
        bidirectional stack, ``params['layer_k']``), both the same kind and sizes.
      reset_after: required for a GRU: the variant of the Keras layer (and of the
        jaxrnn cell the params come from). With ``False`` the bias ``b_hn`` is added to
        the candidate's input bias (the same function in that form).
      use_bias: the Keras layer's ``use_bias``. ``False`` returns ``[kernel,
        recurrent_kernel]`` and raises a ValueError if ``bias`` or ``recurrent_bias``
        is nonzero (with ``into='weights'``).
      bidirectional: build a ``keras.layers.Bidirectional`` layer's list: the forward
        layer's then the backward layer's.
      into: ``'weights'`` converts parameters. ``'grads'`` treats ``params`` as the
        gradients of a loss with respect to jaxrnn's parameters and returns the
        gradients of the same loss with respect to the Keras layer's weights (for a
        Keras optimizer): the transpose of :func:`from_keras`. Kernels convert as
        weights; with ``(g_r, g_z, g_n)`` the gradient of ``bias`` and ``g_hn`` that of
        ``recurrent_bias``, a GRU's bias gradient is::

          reset_after=True   [(g_z, g_r, g_n), (g_z, g_r, g_hn)]
          reset_after=False  (g_z, g_r, g_n)

        (Keras' ``b_z`` and ``b_r`` rows both feed jaxrnn's merged bias, so each gets
        its gradient; with ``reset_after=False`` Keras' one ``b_h`` stands for ``b_in +
        b_hn``, whose gradient is ``g_n`` (which equals ``g_hn``), not ``g_n + g_hn``). With
        ``use_bias=False`` the bias gradients are left out.

    Returns:
      ``[kernel [i, G*h], recurrent_kernel [h, G*h], bias]`` (the GRU bias ``[2, 3h]``
      with ``reset_after=True``, ``[3h]`` with ``False``; no bias with
      ``use_bias=False``), twice over (forward then backward) with ``bidirectional``;
      NumPy arrays with the params' dtype.

    Raises:
      ValueError, TypeError: params that are not a jaxrnn cell's (or a
      ``{'forward', 'backward'}`` pair with ``bidirectional=True``), a GRU without
      ``reset_after`` or a ``reset_after`` for another cell, a nonzero bias with
      ``use_bias=False``, a bad ``into``, or flags that are not booleans.

    Examples:
      The weights of ``keras.layers.LSTM(4)`` on 3 input features, as NumPy arrays
      (Keras is not imported here): Keras -> jaxrnn -> Keras is bit-identical.

      >>> import jax
      >>> import jax.numpy as jnp
      >>> import numpy as np
      >>> import jaxrnn.linen as jl
      >>> from jaxrnn import convert
      >>> rng = np.random.default_rng(0)
      >>> def normal(*shape):
      ...     return (0.5 * rng.normal(size=shape)).astype(np.float32)
      >>> lstm_weights = [normal(3, 16), normal(4, 16), normal(16)]
      >>> back = convert.to_keras(convert.from_keras(lstm_weights))
      >>> [w.shape for w in back]
      [(3, 16), (4, 16), (16,)]
      >>> all(a.tobytes() == b.tobytes() for a, b in zip(back, lstm_weights))
      True

      A jaxrnn GRU for ``keras.layers.GRU(4)`` (``reset_after=True``): the merged bias
      goes to the input row, ``b_hn`` to the recurrent row.

      >>> x = normal(2, 5, 3)
      >>> model = jl.RNN(jl.GRUCell(4, bias_init=jax.nn.initializers.normal(0.5)))
      >>> params = model.init(jax.random.key(0), x)['params']
      >>> kernel, recurrent, bias = convert.to_keras(params['cell'], reset_after=True)
      >>> kernel.shape, recurrent.shape, bias.shape
      ((3, 12), (4, 12), (2, 12))
      >>> bool(np.all(bias[1, :8] == 0))  # the recurrent row's z and r blocks
      True
      >>> bool(np.array_equal(bias[1, 8:], params['cell']['recurrent_bias']))  # b_hn
      True

      Gradients for a Keras optimizer: both bias rows feed the merged ``(b_r, b_z)``,
      so both get its gradient.

      >>> def loss(params):
      ...     return jnp.sum(model.apply({'params': params}, x) ** 2)
      >>> grads = jax.grad(loss)(params)
      >>> g_kernel, g_recurrent, g_bias = convert.to_keras(
      ...     grads['cell'], reset_after=True, into='grads'
      ... )
      >>> bool(np.array_equal(g_bias[0, :8], g_bias[1, :8]))
      True
    """
    _check_flag('use_bias', use_bias)
    _check_flag('bidirectional', bidirectional)
    if into not in _INTO:
        raise ValueError(f"into must be 'weights' or 'grads', got {into!r}.")
    is_pair = isinstance(params, Mapping) and set(params) == {'forward', 'backward'}
    if not bidirectional:
        if is_pair:
            raise ValueError(
                "params are {'forward': ..., 'backward': ...}: pass bidirectional=True for a "
                'Keras Bidirectional layer.'
            )
        return _cell_to_keras(params, reset_after, use_bias, into, 'params')[0]
    if not is_pair:
        found = sorted(params) if isinstance(params, Mapping) else type(params).__name__
        raise ValueError(
            "with bidirectional=True, params must be {'forward': cell params, 'backward': "
            f'cell params}}, got {found}.'
        )
    forward, forward_layout = _cell_to_keras(
        params['forward'], reset_after, use_bias, into, "params['forward']"
    )
    backward, backward_layout = _cell_to_keras(
        params['backward'], reset_after, use_bias, into, "params['backward']"
    )
    if forward_layout != backward_layout:
        kind, in_features, hidden = backward_layout
        raise ValueError(
            "params['backward'] is a {} cell with {} inputs and hidden size {}; a Keras "
            'Bidirectional layer needs the same as the forward cell: {} with {} inputs and '
            'hidden size {}.'.format(kind, in_features, hidden, *forward_layout)
        )
    return forward + backward
