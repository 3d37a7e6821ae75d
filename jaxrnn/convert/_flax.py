"""Flax cells (Linen and NNX) <-> jaxrnn cell params.

==========================  =====================================================
Flax cell                   parameters
==========================  =====================================================
linen ``LSTMCell``,         ``ii, if, ig, io``: kernel ``[in, h]``;
``OptimizedLSTMCell``       ``hi, hf, hg, ho``: kernel ``[h, h]`` and bias ``[h]``
linen ``GRUCell``           ``ir, iz, in``: kernel and bias; ``hr, hz``: kernel;
                            ``hn``: kernel and bias (b_hn)
linen ``SimpleCell``        ``i``: kernel and bias; ``h``: kernel
nnx ``LSTMCell``            as linen, with ``if_`` for ``if``
nnx ``OptimizedLSTMCell``   ``dense_i``: kernel ``[in, 4h]``; ``dense_h``: kernel, bias
nnx ``GRUCell``             ``dense_i``: kernel ``[in, 3h]``, bias; ``dense_h``: kernel
                            (no b_hn, google/flax#5594)
nnx ``SimpleCell``          ``dense_i``: kernel and bias; ``dense_h``: kernel
==========================  =====================================================

All use jaxrnn's gate orders, so the fused kernels are concatenations (bit-exact both
ways). Only the default gate and activation functions are convertible (a cell built with
another ``gate_fn``/``activation_fn``, or ``SimpleCell(residual=True)``, computes a
different function).
"""

from __future__ import annotations

from types import ModuleType
from typing import Any, Mapping

import numpy as np

from jaxrnn.convert import _common

# Flax's per-gate submodules are named after jaxrnn's gate names: 'ii', 'hf', 'ir', ...
_LSTM = _common.GATE_NAMES['lstm']
_GRU = _common.GATE_NAMES['gru']


def _linen_kind(params: Mapping) -> str:
    keys = set(params)
    if keys == {f'i{g}' for g in _LSTM} | {f'h{g}' for g in _LSTM}:
        return 'lstm'
    if keys == {f'i{g}' for g in _GRU} | {f'h{g}' for g in _GRU}:
        return 'gru'
    if keys == {'i', 'h'}:
        return 'simple'
    raise ValueError(
        'not the params of a flax.linen LSTMCell, OptimizedLSTMCell, GRUCell or SimpleCell '
        f"(expected keys like 'ii', 'hi', ... or 'ir', ... or 'i', 'h'); got {sorted(keys)}."
    )


def _get(tree: Mapping, path: str):
    node = tree
    where = 'params'
    for part in path.split('/'):
        node = _common.require(node, part, where)
        where += f"['{part}']"
    return _common.array(node)


def _from_linen(params: Mapping) -> dict:
    if set(params) == {'params'}:
        params = params['params']
    kind = _linen_kind(params)
    if kind == 'lstm':
        return {
            'input_kernel': _common.cat(*(_get(params, f'i{g}/kernel') for g in _LSTM)),
            'recurrent_kernel': _common.cat(*(_get(params, f'h{g}/kernel') for g in _LSTM)),
            'bias': _common.cat(*(_get(params, f'h{g}/bias') for g in _LSTM)),
        }
    if kind == 'gru':
        return {
            'input_kernel': _common.cat(*(_get(params, f'i{g}/kernel') for g in _GRU)),
            'recurrent_kernel': _common.cat(*(_get(params, f'h{g}/kernel') for g in _GRU)),
            'bias': _common.cat(*(_get(params, f'i{g}/bias') for g in _GRU)),
            'recurrent_bias': _get(params, 'hn/bias'),
        }
    return {
        'input_kernel': _get(params, 'i/kernel'),
        'recurrent_kernel': _get(params, 'h/kernel'),
        'bias': _get(params, 'i/bias'),
    }


def _to_linen(params: Mapping, kind: str) -> dict:
    ik = _common.split(params['input_kernel'], _common.GATES[kind])
    rk = _common.split(params['recurrent_kernel'], len(ik))
    b = _common.split(params['bias'], len(ik))
    if kind == 'lstm':
        out = {f'i{g}': {'kernel': ik[n]} for n, g in enumerate(_LSTM)}
        out.update({f'h{g}': {'kernel': rk[n], 'bias': b[n]} for n, g in enumerate(_LSTM)})
        return out
    if kind == 'gru':
        out = {f'i{g}': {'kernel': ik[n], 'bias': b[n]} for n, g in enumerate(_GRU)}
        out.update({f'h{g}': {'kernel': rk[n]} for n, g in enumerate(_GRU)})
        out['hn']['bias'] = _common.array(params['recurrent_bias'])
        return out
    return {'i': {'kernel': ik[0], 'bias': b[0]}, 'h': {'kernel': rk[0]}}


_CELLS = {'LSTMCell': 'lstm', 'OptimizedLSTMCell': 'lstm', 'GRUCell': 'gru', 'SimpleCell': 'simple'}
"""The convertible Flax cells (the same names in ``flax.linen`` and ``flax.nnx``)."""


def _instance_kind(cell, api: ModuleType) -> str | None:
    """The kind of ``cell`` if it is one of ``api``'s convertible cells, else ``None``
    (``api``: ``flax.linen`` or ``flax.nnx``)."""
    return next((k for name, k in _CELLS.items() if isinstance(cell, getattr(api, name))), None)


def _value(param) -> np.ndarray:
    return _common.array(param[...])


def _from_nnx(cell) -> dict:
    from flax import nnx

    if isinstance(cell, nnx.OptimizedLSTMCell):
        return {
            'input_kernel': _value(cell.dense_i.kernel),
            'recurrent_kernel': _value(cell.dense_h.kernel),
            'bias': _value(cell.dense_h.bias),
        }
    if isinstance(cell, nnx.LSTMCell):
        ins = [cell.ii, cell.if_, cell.ig, cell.io]
        hs = [cell.hi, cell.hf, cell.hg, cell.ho]
        return {
            'input_kernel': _common.cat(*(_value(m.kernel) for m in ins)),
            'recurrent_kernel': _common.cat(*(_value(m.kernel) for m in hs)),
            'bias': _common.cat(*(_value(m.bias) for m in hs)),
        }
    params = {
        'input_kernel': _value(cell.dense_i.kernel),
        'recurrent_kernel': _value(cell.dense_h.kernel),
        'bias': _value(cell.dense_i.bias),
    }
    if isinstance(cell, nnx.GRUCell):  # no b_hn in flax.nnx (google/flax#5594)
        params['recurrent_bias'] = np.zeros((cell.hidden_features,), params['bias'].dtype)
    return params


def _assign(param, value, name: str):
    import jax.numpy as jnp

    old = param[...]
    _common.check_shape(name, value, old.shape)
    if np.dtype(value.dtype) != np.dtype(old.dtype):
        raise TypeError(f'{name}: params are {value.dtype}, the cell holds {old.dtype}.')
    param[...] = jnp.asarray(value)


def _to_nnx(params: Mapping, cell) -> Any:
    from flax import nnx

    if isinstance(cell, nnx.GRUCell):
        b_hn = _common.array(params['recurrent_bias'])
        if np.any(b_hn != 0):
            raise ValueError(
                'flax.nnx.GRUCell has no b_hn (google/flax#5594), and these params have a '
                "nonzero 'recurrent_bias': the NNX cell cannot compute the same function. "
                'Use flax.linen.GRUCell or jaxrnn.nnx.GRUCell.'
            )
    name = type(cell).__name__
    if isinstance(cell, nnx.OptimizedLSTMCell):
        _assign(
            cell.dense_i.kernel, _common.array(params['input_kernel']), f'{name}.dense_i.kernel'
        )
        _assign(
            cell.dense_h.kernel, _common.array(params['recurrent_kernel']), f'{name}.dense_h.kernel'
        )
        _assign(cell.dense_h.bias, _common.array(params['bias']), f'{name}.dense_h.bias')
        return cell
    if isinstance(cell, nnx.LSTMCell):
        linen = _to_linen(params, 'lstm')
        for g in _LSTM:
            attr = 'if_' if g == 'f' else f'i{g}'
            _assign(getattr(cell, attr).kernel, linen[f'i{g}']['kernel'], f'{name}.{attr}.kernel')
            _assign(getattr(cell, f'h{g}').kernel, linen[f'h{g}']['kernel'], f'{name}.h{g}.kernel')
            _assign(getattr(cell, f'h{g}').bias, linen[f'h{g}']['bias'], f'{name}.h{g}.bias')
        return cell
    _assign(cell.dense_i.kernel, _common.array(params['input_kernel']), f'{name}.dense_i.kernel')
    _assign(
        cell.dense_h.kernel, _common.array(params['recurrent_kernel']), f'{name}.dense_h.kernel'
    )
    _assign(cell.dense_i.bias, _common.array(params['bias']), f'{name}.dense_i.bias')
    return cell


def from_flax(source) -> dict:
    """Converts a Flax cell's parameters into a jaxrnn cell params dict.

    Args:
      source: the params dict of a ``flax.linen`` ``LSTMCell``, ``OptimizedLSTMCell``,
        ``GRUCell`` or ``SimpleCell`` (for example ``variables['params']['RNN_0']['cell']``),
        or a ``flax.nnx`` cell of those classes.

    Returns:
      ``{'input_kernel', 'recurrent_kernel', 'bias'[, 'recurrent_bias']}`` (NumPy), the
      params of ``jaxrnn.linen.LSTMCell`` / ``GRUCell`` / ``SimpleCell`` (under ``cell``
      in a ``jaxrnn.linen.RNN``). An NNX ``GRUCell`` has no ``b_hn``
      (google/flax#5594): ``recurrent_bias`` is zeros, which is exactly its function.
    """
    from flax import nnx

    if _instance_kind(source, nnx) is not None:
        return _common.copies(_from_nnx(source))
    if isinstance(source, Mapping):
        return _common.copies(_from_linen(source))
    raise TypeError(
        'from_flax expects a flax.linen cell params dict or a flax.nnx LSTMCell, '
        f'OptimizedLSTMCell, GRUCell or SimpleCell, got {type(source).__name__}.'
    )


def to_flax(params: Mapping, target):
    """Converts a jaxrnn cell params dict into a Flax cell's parameters.

    Args:
      params: a jaxrnn cell's params (``reset_after=True`` for the GRU: Flax's GRU is
        the reset-after form).
      target: a ``flax.linen`` cell instance (``nn.LSTMCell(features=h)``, ...): returns
        its params dict; or a ``flax.nnx`` cell: writes the parameters in place and
        returns it. Its class must match the params' cell and its size the params'.

    Raises:
      ValueError: a cell or size mismatch, or a nonzero ``recurrent_bias`` for
        ``flax.nnx.GRUCell`` (which has no ``b_hn``, google/flax#5594).
    """
    kind, in_features, hidden = _common.cell_kind(params)
    import flax.linen as nn
    from flax import nnx

    nnx_kind, linen_kind = _instance_kind(target, nnx), _instance_kind(target, nn)
    if nnx_kind is not None:
        expected, size = nnx_kind, target.hidden_features
    elif linen_kind is not None:
        expected, size = linen_kind, target.features
    else:
        raise TypeError(
            'to_flax target must be a flax.linen or flax.nnx LSTMCell, OptimizedLSTMCell, '
            f'GRUCell or SimpleCell instance, got {type(target).__name__}.'
        )
    if expected != kind:
        raise ValueError(f'params are a {kind} cell but the target is a {type(target).__name__}.')
    if size != hidden:
        raise ValueError(
            f'params have hidden size {hidden} but the {type(target).__name__} has {size}.'
        )
    if nnx_kind is not None:
        if target.in_features != in_features:
            raise ValueError(
                f'params have {in_features} input features but the {type(target).__name__} '
                f'has in_features={target.in_features}.'
            )
        return _to_nnx(params, target)
    return _common.copies(_to_linen(params, kind))
