"""PyTorch ``nn.LSTM`` / ``nn.GRU`` / ``nn.RNN`` weights and carries <-> jaxrnn stack params
and carries. The layouts and the bias merge are described in :func:`from_torch` and
:func:`to_torch`; a torch -> jaxrnn -> torch round trip keeps every weight bit for bit and
the sum ``b_ih + b_hh`` (the only thing the module's output depends on), not the split."""

from __future__ import annotations

from typing import Any, Mapping

import numpy as np

from jaxrnn.convert import _common

_MODES = {'LSTM': 'lstm', 'GRU': 'gru', 'RNN_TANH': 'simple', 'RNN_RELU': 'simple'}


def _torch():
    try:
        import torch
    except ImportError as e:  # pragma: no cover - exercised only without torch
        raise ImportError('jaxrnn.convert torch functions need PyTorch: pip install torch') from e
    return torch


def _to_numpy(tensor) -> np.ndarray:
    torch = _torch()
    tensor = tensor.detach().cpu()
    if tensor.dtype == torch.bfloat16:  # NumPy has no bfloat16; reinterpret the bits
        import ml_dtypes

        return tensor.view(torch.int16).numpy().view(ml_dtypes.bfloat16)
    return tensor.numpy()


def _to_tensor(value) -> Any:
    """A torch tensor holding a copy of ``value`` (bfloat16 via its bits)."""
    torch = _torch()
    value = np.array(value, copy=True, order='C')
    if value.dtype.name == 'bfloat16':
        return torch.from_numpy(value.view(np.int16)).view(torch.bfloat16)
    return torch.from_numpy(value)


def _name(kind: str, k: int, d: int) -> str:
    return f'{kind}_l{k}' + ('_reverse' if d else '')


def _state_dict_layout(state: Mapping) -> dict[str, Any]:
    """Layer count, directions and cell kind from a state dict's keys and shapes."""
    if any(key.startswith('weight_hr') for key in state):
        raise ValueError(
            'LSTM with proj_size > 0 (weight_hr_l*) is not supported: jaxrnn has no projected LSTM.'
        )
    if 'weight_hh_l0' not in state:
        raise ValueError(
            "state_dict has no 'weight_hh_l0': expected the keys of a torch.nn.LSTM, GRU "
            f'or RNN, got {sorted(state)[:8]}.'
        )
    num_layers = 0
    while f'weight_hh_l{num_layers}' in state:
        num_layers += 1
    bidirectional = 'weight_hh_l0_reverse' in state
    rows, hidden = tuple(state['weight_hh_l0'].shape)
    kind = _common.KINDS.get(rows // hidden) if rows % hidden == 0 else None
    if kind is None:
        raise ValueError(
            f'weight_hh_l0 has shape {(rows, hidden)}; expected [G*h, h] with G = 4 (LSTM), '
            '3 (GRU) or 1 (RNN).'
        )
    return dict(kind=kind, hidden_size=hidden, num_layers=num_layers, bidirectional=bidirectional)


def from_torch(module_or_state_dict) -> dict:
    """Converts a ``torch.nn.LSTM``, ``GRU`` or ``RNN`` (or its ``state_dict()``) into
    the params of the matching jaxrnn stack.

    PyTorch's layer ``k`` (suffix ``_reverse`` for the backward direction) holds
    ``weight_ih_l{k} [G*h, i]``, ``weight_hh_l{k} [G*h, h]`` and two biases
    ``bias_ih_l{k}``, ``bias_hh_l{k} [G*h]``, where ``i`` is ``input_size`` for layer 0
    and ``D * h`` above it (``D = 2`` if bidirectional, else 1). The gate orders are
    jaxrnn's, (i, f, g, o) for the LSTM and (r, z, n) for the GRU, so the fused kernels
    are transposes, and the biases that are added to the same sum are merged into one::

      input_kernel     = weight_ih.T                          [i, G*h]
      recurrent_kernel = weight_hh.T                          [h, G*h]
      bias             = b_ih + b_hh                          [G*h]   LSTM, RNN
      bias             = (b_ir + b_hr, b_iz + b_hz, b_in)     [3h]    GRU
      recurrent_bias   = b_hn                                 [h]     GRU

    (``b_hn`` stays apart because the GRU's reset gate multiplies it.) A module built
    with ``bias=False`` gives zero biases.

    The result is the ``'params'`` collection of ``jaxrnn.linen.LSTM(features=h,
    num_layers=L, bidirectional=...)`` (or ``GRU``, ``SimpleRNN``) and loads into
    ``jaxrnn.nnx.LSTM`` with :func:`jaxrnn.convert.load`. An ``nn.RNN`` with
    ``nonlinearity='relu'`` needs ``SimpleRNN(activation='relu')``. ``batch_first`` is a
    property of the call, not the weights: jaxrnn stacks are batch-major unless
    ``time_major=True``. Initial and final states convert with
    :func:`carry_from_torch` and :func:`carry_to_torch`.

    Args:
      module_or_state_dict: a ``torch.nn.LSTM``, ``GRU`` or ``RNN``, or its
        ``state_dict()``, on any device, in any dtype (bfloat16 included).

    Returns:
      ``{'layer_k': {'forward': cell, 'backward': cell}}`` (``'backward'`` only when
      bidirectional), each cell ``{'input_kernel', 'recurrent_kernel', 'bias'}`` (and
      the GRU's ``'recurrent_bias'``) as NumPy copies in the module's dtype.

    Raises:
      TypeError: not a PyTorch RNN module or a mapping.
      ValueError: ``proj_size > 0``, or keys/shapes that are not a PyTorch RNN's.

    Examples:
      A two-layer ``torch.nn.LSTM`` and the jaxrnn stack with its weights compute the
      same outputs:

      >>> import jax
      >>> import numpy as np
      >>> import torch
      >>> import jaxrnn.linen as jl
      >>> from jaxrnn import convert
      >>> _ = torch.manual_seed(0)
      >>> torch_lstm = torch.nn.LSTM(3, 4, num_layers=2, batch_first=True)
      >>> params = convert.from_torch(torch_lstm)
      >>> jax.tree.map(np.shape, params['layer_1'])
      {'forward': {'bias': (16,), 'input_kernel': (4, 16), 'recurrent_kernel': (4, 16)}}
      >>> x = np.random.default_rng(0).normal(size=(2, 5, 3)).astype(np.float32)
      >>> y_torch, _ = torch_lstm(torch.from_numpy(x))
      >>> y = jl.LSTM(4, num_layers=2).apply({'params': params}, x)
      >>> y.shape, y.dtype
      ((2, 5, 4), dtype('float32'))
      >>> bool(np.allclose(y, y_torch.detach().numpy(), atol=1e-5))
      True

      The GRU keeps ``b_hn`` apart:

      >>> gru = convert.from_torch(torch.nn.GRU(3, 4, bidirectional=True))
      >>> jax.tree.map(np.shape, gru['layer_0']['backward'])
      {'bias': (12,), 'input_kernel': (3, 12), 'recurrent_bias': (4,), 'recurrent_kernel': (4, 12)}
    """
    torch = _torch()
    if isinstance(module_or_state_dict, torch.nn.Module):
        module = module_or_state_dict
        if not isinstance(module, torch.nn.RNNBase):
            raise TypeError(
                f'from_torch expects torch.nn.LSTM, GRU or RNN, got {type(module).__name__}.'
            )
        if getattr(module, 'proj_size', 0):
            raise ValueError(f'proj_size={module.proj_size} is not supported (no projected LSTM).')
        state = module.state_dict()
    elif isinstance(module_or_state_dict, Mapping):
        state = module_or_state_dict
    else:
        raise TypeError(
            'from_torch expects a torch.nn.LSTM/GRU/RNN or its state_dict, got '
            f'{type(module_or_state_dict).__name__}.'
        )
    layout = _state_dict_layout(state)
    kind, hidden = layout['kind'], layout['hidden_size']
    gates = _common.GATES[kind]
    cells = {}
    for k in range(layout['num_layers']):
        for d in range(2 if layout['bidirectional'] else 1):
            w_ih = _to_numpy(_common.require(state, _name('weight_ih', k, d), 'state_dict'))
            w_hh = _to_numpy(_common.require(state, _name('weight_hh', k, d), 'state_dict'))
            _common.check_shape(_name('weight_hh', k, d), w_hh, (gates * hidden, hidden))
            if w_ih.ndim != 2 or w_ih.shape[0] != gates * hidden:
                raise ValueError(
                    f'{_name("weight_ih", k, d)} must have shape [{gates * hidden}, in], '
                    f'got {w_ih.shape}.'
                )
            has_bias = _name('bias_ih', k, d) in state
            if has_bias:
                b_ih = _to_numpy(state[_name('bias_ih', k, d)])
                b_hh = _to_numpy(_common.require(state, _name('bias_hh', k, d), 'state_dict'))
                _common.check_shape(_name('bias_ih', k, d), b_ih, (gates * hidden,))
                _common.check_shape(_name('bias_hh', k, d), b_hh, (gates * hidden,))
            else:
                b_ih = b_hh = np.zeros((gates * hidden,), w_hh.dtype)
            cell = {
                'input_kernel': np.ascontiguousarray(w_ih.T),
                'recurrent_kernel': np.ascontiguousarray(w_hh.T),
            }
            if kind == 'gru':
                cell['bias'] = np.concatenate(
                    [_common.add(b_ih[: 2 * hidden], b_hh[: 2 * hidden]), b_ih[2 * hidden :]]
                )
                cell['recurrent_bias'] = b_hh[2 * hidden :].copy()
            else:
                cell['bias'] = _common.add(b_ih, b_hh)
            cells[k, d] = cell
    return _common.stack_params(cells)


def _torch_values(kind: str, cell: Mapping, hidden: int, into: str) -> dict[str, np.ndarray]:
    """One cell's fused params -> PyTorch's four tensors (``into='weights'``), or the
    gradients of PyTorch's four tensors given the gradients of the fused params
    (``into='grads'``: the adjoint of the bias merge copies the bias gradient to both)."""
    bias = _common.array(cell['bias'])
    values = {
        'weight_ih': _common.array(cell['input_kernel']).T,
        'weight_hh': _common.array(cell['recurrent_kernel']).T,
        'bias_ih': bias,
    }
    if kind == 'gru':
        first = bias[: 2 * hidden] if into == 'grads' else np.zeros_like(bias[: 2 * hidden])
        values['bias_hh'] = np.concatenate([first, _common.array(cell['recurrent_bias'])])
    else:
        values['bias_hh'] = bias.copy() if into == 'grads' else np.zeros_like(bias)
    return values


def to_torch(params: Mapping, module, *, into: str = 'weights'):
    """Loads a jaxrnn stack params tree into a ``torch.nn.LSTM``/``GRU``/``RNN`` in place.

    The inverse of :func:`from_torch`: the kernels are transposed back and the merged
    bias goes to ``bias_ih``, with zeros in ``bias_hh`` (``b_hn`` for the GRU), so the
    module computes the same function and jaxrnn -> torch -> jaxrnn is bit-identical::

      weight_ih = input_kernel.T,  weight_hh = recurrent_kernel.T
      bias_ih   = bias,            bias_hh   = 0                         LSTM, RNN
      bias_ih   = bias,            bias_hh   = (0, 0, recurrent_bias)    GRU

    With ``into='grads'`` the same tree holds gradients ``g`` of a loss with respect to
    jaxrnn's parameters, and each torch parameter's ``.grad`` gets the gradient of that
    loss with respect to it (the adjoint of the bias merge gives both biases the merged
    bias's gradient)::

      bias_ih.grad = g_bias,           bias_hh.grad = g_bias              LSTM, RNN
      bias_ih.grad = (g_r, g_z, g_n),  bias_hh.grad = (g_r, g_z, g_hn)    GRU

    (``g_bias = (g_r, g_z, g_n)`` for the GRU; ``g_hn`` is the gradient of
    ``recurrent_bias``.)

    Args:
      params: ``{'layer_k': {'forward': ..., 'backward': ...}}`` as :func:`from_torch`
        returns and ``jaxrnn.linen.LSTM`` holds (or a tree of the same shape, such as
        gradients).
      module: the torch module; its mode, ``num_layers``, ``bidirectional``, sizes and
        dtype must match ``params`` (checked; nothing is reshaped or cast).
      into: ``'weights'`` writes the parameters. ``'grads'`` treats ``params`` as
        gradients with respect to jaxrnn's parameters and sets each torch parameter's
        ``.grad`` to the gradient of the same loss with respect to it (so a torch
        optimizer can step on gradients computed in JAX).

    Returns:
      ``module``.

    Raises:
      TypeError: ``module`` is not a PyTorch RNN module, or its dtype is not the
        params'.
      ValueError: a bad ``into``; params whose kind, sizes, layer count or directions
        differ from the module's; ``proj_size > 0``; or a nonzero bias for a module
        built with ``bias=False`` (with ``into='weights'``).

    Examples:
      jaxrnn -> torch -> jaxrnn is bit-identical, and the module computes what the
      jaxrnn stack does:

      >>> import jax
      >>> import jax.numpy as jnp
      >>> import numpy as np
      >>> import torch
      >>> import jaxrnn.linen as jl
      >>> from jaxrnn import convert
      >>> x = np.random.default_rng(0).normal(size=(2, 5, 3)).astype(np.float32)
      >>> model = jl.GRU(4, num_layers=2)
      >>> params = model.init(jax.random.key(0), x)['params']
      >>> torch_gru = torch.nn.GRU(3, 4, num_layers=2, batch_first=True)
      >>> torch_gru = convert.to_torch(params, torch_gru)
      >>> back = convert.from_torch(torch_gru)
      >>> same = jax.tree.map(lambda a, b: a.tobytes() == np.asarray(b).tobytes(), back, params)
      >>> all(jax.tree.leaves(same))
      True
      >>> y_torch, _ = torch_gru(torch.from_numpy(x))
      >>> bool(np.allclose(model.apply({'params': params}, x), y_torch.detach().numpy(), atol=1e-5))
      True

      Gradients computed in JAX, handed to torch: they equal torch's own backward pass
      for the same loss.

      >>> def loss(params):
      ...     return jnp.sum(model.apply({'params': params}, x) ** 2)
      >>> grads = jax.grad(loss)(params)
      >>> (y_torch**2).sum().backward()
      >>> expected = {name: p.grad.clone() for name, p in torch_gru.named_parameters()}
      >>> torch_gru = convert.to_torch(grads, torch_gru, into='grads')
      >>> all(
      ...     torch.allclose(p.grad, expected[name], atol=1e-5)
      ...     for name, p in torch_gru.named_parameters()
      ... )
      True
    """
    torch = _torch()
    if not isinstance(module, torch.nn.RNNBase):
        raise TypeError(f'to_torch expects torch.nn.LSTM, GRU or RNN, got {type(module).__name__}.')
    if into not in ('weights', 'grads'):
        raise ValueError(f"into must be 'weights' or 'grads', got {into!r}.")
    if getattr(module, 'proj_size', 0):
        raise ValueError(f'proj_size={module.proj_size} is not supported (no projected LSTM).')
    layout = _common.stack_layout(params)
    expected = dict(
        kind=_MODES[module.mode],
        hidden_size=module.hidden_size,
        input_size=module.input_size,
        num_layers=module.num_layers,
        bidirectional=module.bidirectional,
    )
    for key, value in expected.items():
        if layout[key] != value:
            raise ValueError(
                f'params do not match the torch module: {key} is {layout[key]!r} in params '
                f'and {value!r} in {type(module).__name__}.'
            )
    torch_params = dict(module.named_parameters())
    with torch.no_grad():
        for k, d, cell in _common.stack_cells(params):
            values = _torch_values(layout['kind'], cell, module.hidden_size, into)
            for base, value in values.items():
                name = _name(base, k, d)
                if name not in torch_params:  # bias=False
                    if into == 'weights' and np.any(value != 0):
                        raise ValueError(
                            f'{type(module).__name__} has bias=False but layer_{k} '
                            f'{_common.DIRECTIONS[d]} has a nonzero {base.replace("_ih", "")}.'
                        )
                    continue
                target = torch_params[name]
                _common.check_shape(name, value, tuple(target.shape))
                tensor = _to_tensor(value)
                if tensor.dtype != target.dtype:
                    raise TypeError(
                        f'{name}: params are {value.dtype}, the module is {target.dtype}; '
                        'cast one of them first.'
                    )
                if into == 'weights':
                    target.copy_(tensor)
                else:
                    target.grad = tensor.clone()
    return module


def carry_to_torch(carry):
    """Converts a jaxrnn stack's carry into PyTorch's final states ``(h_n, c_n)``.

    ``carry[k][d]`` (layer ``k``, direction ``d``: 0 forward, 1 backward) is ``(c, h)``
    for the LSTM and ``h`` otherwise, each ``[b, h]``, as a stack called with
    ``return_carry=True`` returns it. PyTorch stacks them along a first axis, in the
    order ``index = k * D + d`` (``D = 2`` if bidirectional, else 1)::

      h_n[k * D + d] = carry[k][d][1]   (LSTM; c_n from carry[k][d][0])
      h_n[k * D + d] = carry[k][d]      (GRU, RNN)

    Args:
      carry: the stack carry (JAX or NumPy arrays).

    Returns:
      ``(h_n, c_n)`` for the LSTM, ``h_n`` otherwise, each ``[L * D, b, h]`` with
      ``L = num_layers`` (NumPy).

    Examples:
      The final state of a ``torch.nn.GRU`` and of the jaxrnn stack with its weights:

      >>> import numpy as np
      >>> import torch
      >>> import jaxrnn.linen as jl
      >>> from jaxrnn import convert
      >>> _ = torch.manual_seed(0)
      >>> torch_gru = torch.nn.GRU(3, 4, num_layers=2, batch_first=True)
      >>> x = np.random.default_rng(0).normal(size=(2, 5, 3)).astype(np.float32)
      >>> model = jl.GRU(4, num_layers=2, return_carry=True)
      >>> carry, y = model.apply({'params': convert.from_torch(torch_gru)}, x)
      >>> [[h.shape for h in layer] for layer in carry]
      [[(2, 4)], [(2, 4)]]
      >>> h_n = convert.carry_to_torch(carry)
      >>> h_n.shape
      (2, 2, 4)
      >>> _, h_n_torch = torch_gru(torch.from_numpy(x))
      >>> bool(np.allclose(h_n, h_n_torch.detach().numpy(), atol=1e-5))
      True
    """
    flat = [cell for layer in carry for cell in layer]
    if isinstance(flat[0], tuple):  # LSTM (c, h)
        c = np.stack([_common.array(part[0]) for part in flat])
        h = np.stack([_common.array(part[1]) for part in flat])
        return h, c
    return np.stack([_common.array(part) for part in flat])


def carry_from_torch(h_0, c_0=None, *, bidirectional: bool = False):
    """Converts PyTorch's initial states ``h_0`` (and ``c_0``) into a jaxrnn stack carry.

    The inverse of :func:`carry_to_torch`: ``h_0[k * D + d]`` is layer ``k``, direction
    ``d`` (``D = 2`` if ``bidirectional``, else 1); the result ``carry[k][d]`` is
    ``(c_0[k * D + d], h_0[k * D + d])`` for the LSTM (when ``c_0`` is given) and
    ``h_0[k * D + d]`` otherwise, ready for a stack's ``initial_carry``.

    Args:
      h_0: ``[L * D, b, h]`` (``L = num_layers``), a torch tensor or an array.
      c_0: the LSTM's ``[L * D, b, h]``; ``None`` for the GRU and the RNN.
      bidirectional: whether the states come from a bidirectional module.

    Returns:
      A tuple of ``L`` tuples of ``D`` carries, each ``(c, h)`` or ``h``, ``[b, h]``
      (NumPy).

    Raises:
      ValueError: ``c_0``'s shape differs from ``h_0``'s, or the first axis of ``h_0``
        does not divide into ``D``.

    Examples:
      A bidirectional two-layer ``torch.nn.LSTM`` started from given states, and the
      jaxrnn stack with the same weights and states:

      >>> import numpy as np
      >>> import torch
      >>> import jaxrnn.linen as jl
      >>> from jaxrnn import convert
      >>> _ = torch.manual_seed(0)
      >>> torch_lstm = torch.nn.LSTM(3, 4, num_layers=2, bidirectional=True, batch_first=True)
      >>> h_0, c_0 = torch.randn(4, 2, 4), torch.randn(4, 2, 4)  # [L * D, b, h]
      >>> carry = convert.carry_from_torch(h_0, c_0, bidirectional=True)
      >>> len(carry), len(carry[0])  # layers, directions
      (2, 2)
      >>> [a.shape for a in carry[0][1]]  # (c, h) of layer 0, backward
      [(2, 4), (2, 4)]
      >>> x = np.random.default_rng(0).normal(size=(2, 5, 3)).astype(np.float32)
      >>> model = jl.LSTM(4, num_layers=2, bidirectional=True)
      >>> y = model.apply({'params': convert.from_torch(torch_lstm)}, x, initial_carry=carry)
      >>> y.shape
      (2, 5, 8)
      >>> y_torch, _ = torch_lstm(torch.from_numpy(x), (h_0, c_0))
      >>> bool(np.allclose(y, y_torch.detach().numpy(), atol=1e-5))
      True
    """
    h = _common.array(h_0.detach().cpu().numpy() if hasattr(h_0, 'detach') else h_0)
    c = None
    if c_0 is not None:
        c = _common.array(c_0.detach().cpu().numpy() if hasattr(c_0, 'detach') else c_0)
        _common.check_shape('c_0', c, h.shape)
    dirs = 2 if bidirectional else 1
    if h.ndim < 2 or h.shape[0] % dirs:
        raise ValueError(f'h_0 must have shape [num_layers * {dirs}, *batch, h], got {h.shape}.')
    layers = []
    for k in range(h.shape[0] // dirs):
        parts = []
        for d in range(dirs):
            i = k * dirs + d
            parts.append(h[i] if c is None else (c[i], h[i]))
        layers.append(tuple(parts))
    return tuple(layers)
