"""Keras ``LSTM`` / ``GRU`` / ``SimpleRNN`` weight lists <-> jaxrnn cell params, from
NumPy arrays (Keras itself is not needed).

A Keras recurrent layer's ``get_weights()`` is ``[kernel [in, G*h], recurrent_kernel
[h, G*h], bias]`` (no bias with ``use_bias=False``). Gate orders: LSTM (i, f, c, o), as
jaxrnn; GRU (z, r, h), which jaxrnn reorders to (r, z, n). The GRU bias is ``[2, 3h]``
(input row, recurrent row) with ``reset_after=True`` (Keras' default, the cuDNN form)
and ``[3h]`` with ``reset_after=False``:

  reset_after=True   bias = (b_r + b_hr, b_z + b_hz, b_h),  recurrent_bias = b_hh
  reset_after=False  bias = (b_r, b_z, b_h),                recurrent_bias = 0

Keras' update gate keeps the old state (``h' = z * h + (1 - z) * hh``), as jaxrnn's.
"""

from __future__ import annotations

from typing import Mapping, Sequence

import numpy as np

from jaxrnn.convert import _common


def _zrh_to_rzn(value):
    z, r, h = _common.split(value, 3)
    return np.concatenate([r, z, h], axis=-1)


def _rzn_to_zrh(value):
    r, z, n = _common.split(value, 3)
    return np.concatenate([z, r, n], axis=-1)


def from_keras(weights: Sequence, *, reset_after: bool | None = None) -> dict:
    """Converts a Keras recurrent layer's weight list into jaxrnn cell params.

    Args:
      weights: ``[kernel, recurrent_kernel, bias]`` or ``[kernel, recurrent_kernel]``
        (``use_bias=False``), as ``layer.get_weights()`` returns.
      reset_after: for a GRU, the variant you expect (checked against the bias shape);
        ``None`` reads it from the bias. A ``reset_after=False`` GRU loads into
        ``GRUCell(reset_after=False)``.

    Returns:
      The cell's params dict (NumPy); the cell kind comes from the number of gate
      blocks (4 LSTM, 3 GRU, 1 SimpleRNN).
    """
    if isinstance(weights, Mapping) or len(weights) not in (2, 3):
        raise ValueError(
            'weights must be a list [kernel, recurrent_kernel, bias] (or without bias), '
            f'got {type(weights).__name__}'
            + ('' if isinstance(weights, Mapping) else f' of length {len(weights)}')
            + '.'
        )
    kernel, recurrent = _common.array(weights[0]), _common.array(weights[1])
    if recurrent.ndim != 2 or recurrent.shape[1] % recurrent.shape[0]:
        raise ValueError(f'recurrent_kernel must have shape [h, G*h], got {recurrent.shape}.')
    hidden = recurrent.shape[0]
    gates = recurrent.shape[1] // hidden
    kind = _common.KINDS.get(gates)
    if kind is None:
        raise ValueError(
            f'recurrent_kernel {recurrent.shape} has {gates} gate blocks; expected 4 (LSTM), '
            '3 (GRU) or 1 (SimpleRNN).'
        )
    if kernel.ndim != 2 or kernel.shape[1] != gates * hidden:
        raise ValueError(f'kernel must have shape [in, {gates * hidden}], got {kernel.shape}.')
    has_bias = len(weights) == 3
    bias = _common.array(weights[2]) if has_bias else None
    if kind != 'gru':
        if reset_after is not None:
            raise ValueError(f'reset_after applies to a GRU; these weights are a {kind} layer.')
        if bias is None:
            bias = np.zeros((gates * hidden,), kernel.dtype)
        _common.check_shape('bias', bias, (gates * hidden,))
        return _common.copies({'input_kernel': kernel, 'recurrent_kernel': recurrent, 'bias': bias})

    if bias is None:
        found = reset_after if reset_after is not None else True
        bias = np.zeros((2, 3 * hidden) if found else (3 * hidden,), kernel.dtype)
    found = bias.shape == (2, 3 * hidden)
    if not found and bias.shape != (3 * hidden,):
        raise ValueError(
            f'GRU bias must have shape (2, {3 * hidden}) (reset_after=True) or '
            f'({3 * hidden},) (reset_after=False), got {bias.shape}.'
        )
    if reset_after is not None and reset_after != found:
        raise ValueError(
            f'reset_after={reset_after} was requested but the GRU bias {bias.shape} is '
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
    return _common.copies(params)


def to_keras(params: Mapping, *, reset_after: bool | None = None) -> list[np.ndarray]:
    """Converts jaxrnn cell params into a Keras weight list ``[kernel,
    recurrent_kernel, bias]`` for ``layer.set_weights``.

    Args:
      params: a jaxrnn cell's params.
      reset_after: required for a GRU: the variant of the Keras layer (and of the
        jaxrnn cell the params come from). With ``False`` the bias ``b_hn`` is added to
        the candidate's input bias (the same function in that form).
    """
    kind, _, hidden = _common.cell_kind(params)
    kernel = _common.array(params['input_kernel'])
    recurrent = _common.array(params['recurrent_kernel'])
    bias = _common.array(params['bias'])
    if kind != 'gru':
        if reset_after is not None:
            raise ValueError(f'reset_after applies to a GRU; params are a {kind} cell.')
        return [np.array(kernel), np.array(recurrent), np.array(bias)]
    if reset_after is None:
        raise ValueError('to_keras needs reset_after=True or False for a GRU.')
    b_hn = _common.array(params['recurrent_bias'])
    if reset_after:
        rec = np.concatenate([np.zeros_like(bias[: 2 * hidden]), b_hn])
        keras_bias = np.stack([_rzn_to_zrh(bias), _rzn_to_zrh(rec)])
    else:
        keras_bias = _rzn_to_zrh(
            np.concatenate([bias[: 2 * hidden], _common.add(bias[2 * hidden :], b_hn)])
        )
    return [_rzn_to_zrh(kernel), _rzn_to_zrh(recurrent), keras_bias]
