"""Flax cells (Linen and NNX) <-> jaxrnn cell params, one cell or a whole model. The
layouts and the rule that finds Flax cells in a tree are described in :func:`from_flax`."""

from __future__ import annotations

from typing import Any, Mapping, NamedTuple

import numpy as np

from jaxrnn.convert import _common, _load

# Flax's per-gate submodules are named after jaxrnn's gate names: 'ii', 'hf', 'ir', ...
_LSTM_I = tuple(f'i{g}' for g in _common.GATE_NAMES['lstm'])
_LSTM_H = tuple(f'h{g}' for g in _common.GATE_NAMES['lstm'])
_GRU_I = tuple(f'i{g}' for g in _common.GATE_NAMES['gru'])
_GRU_H = tuple(f'h{g}' for g in _common.GATE_NAMES['gru'])
_NNX_LSTM_I = tuple('if_' if name == 'if' else name for name in _LSTM_I)

_GATE_KEYS = (
    frozenset(_LSTM_I + _NNX_LSTM_I + _LSTM_H),
    frozenset(_GRU_I + _GRU_H),
)
"""Rule 2's names: the per-gate submodule names of the LSTM and of the GRU."""


def _blocks(names: tuple[str, ...], param: str) -> tuple[tuple[str, str], ...]:
    return tuple((name, param) for name in names)


class _Layout(NamedTuple):
    """Where a Flax cell keeps each jaxrnn parameter."""

    name: str
    """The Flax classes, for messages: ``'flax.linen GRUCell'``."""
    kind: str
    """``'lstm'``, ``'gru'`` or ``'simple'``."""
    fields: Mapping[str, tuple[tuple[str, str], ...]]
    """jaxrnn field -> the ``(submodule, parameter)`` arrays concatenated on the last
    axis to make it, in jaxrnn's gate order."""
    zero: tuple[str, ...] = ()
    """jaxrnn fields the Flax cell lacks, which are therefore zero (``recurrent_bias``
    of ``flax.nnx.GRUCell``, google/flax#5594)."""

    def structure(self) -> dict[str, frozenset[str]]:
        """Submodule -> the names of its parameters."""
        out: dict[str, set[str]] = {}
        for blocks in self.fields.values():
            for module, param in blocks:
                out.setdefault(module, set()).add(param)
        return {module: frozenset(params) for module, params in out.items()}

    def shapes(self, in_features: int, hidden: int) -> dict[tuple[str, str], tuple[int, ...]]:
        """``(submodule, parameter)`` -> its shape for a cell of these sizes."""
        g = _common.GATES[self.kind] * hidden
        fused = {
            'input_kernel': (in_features, g),
            'recurrent_kernel': (hidden, g),
            'bias': (g,),
            'recurrent_bias': (hidden,),
        }
        return {
            block: fused[field][:-1] + (fused[field][-1] // len(blocks),)
            for field, blocks in self.fields.items()
            for block in blocks
        }


def _per_gate(name: str, kind: str, inputs: tuple[str, ...], recurrents: tuple[str, ...]):
    fields = {
        'input_kernel': _blocks(inputs, 'kernel'),
        'recurrent_kernel': _blocks(recurrents, 'kernel'),
        # Flax's LSTM has its biases on the recurrent Denses, the GRU and the simple cell
        # on the input ones (the GRU's b_hn on 'hn').
        'bias': _blocks(recurrents if kind == 'lstm' else inputs, 'bias'),
    }
    if kind == 'gru':
        fields['recurrent_bias'] = ((recurrents[-1], 'bias'),)
    return _Layout(name, kind, fields)


def _dense_pair(name: str, kind: str, bias_on: str, zero: tuple[str, ...] = ()):
    fields = {
        'input_kernel': (('dense_i', 'kernel'),),
        'recurrent_kernel': (('dense_h', 'kernel'),),
        'bias': ((bias_on, 'bias'),),
    }
    return _Layout(name, kind, fields, zero)


_LINEN_LSTM = _per_gate('flax.linen LSTMCell/OptimizedLSTMCell', 'lstm', _LSTM_I, _LSTM_H)
_LINEN_GRU = _per_gate('flax.linen GRUCell', 'gru', _GRU_I, _GRU_H)
_LINEN_SIMPLE = _per_gate('flax.linen SimpleCell', 'simple', ('i',), ('h',))
_NNX_LSTM = _per_gate('flax.nnx LSTMCell', 'lstm', _NNX_LSTM_I, _LSTM_H)
_NNX_OPTIMIZED = _dense_pair('flax.nnx OptimizedLSTMCell', 'lstm', 'dense_h')
_NNX_GRU = _dense_pair('flax.nnx GRUCell', 'gru', 'dense_i', zero=('recurrent_bias',))
_NNX_SIMPLE = _dense_pair('flax.nnx SimpleCell', 'simple', 'dense_i')
_LAYOUTS = (
    _LINEN_LSTM,
    _LINEN_GRU,
    _LINEN_SIMPLE,
    _NNX_LSTM,
    _NNX_OPTIMIZED,
    _NNX_GRU,
    _NNX_SIMPLE,
)


def _class_layouts() -> tuple[tuple[type, _Layout], ...]:
    """The convertible Flax cell classes and their layouts (NNX's ``OptimizedLSTMCell``
    is not an ``LSTMCell`` subclass; the order still puts it first)."""
    import flax.linen as nn
    from flax import nnx

    return (
        (nnx.OptimizedLSTMCell, _NNX_OPTIMIZED),
        (nnx.LSTMCell, _NNX_LSTM),
        (nnx.GRUCell, _NNX_GRU),
        (nnx.SimpleCell, _NNX_SIMPLE),
        (nn.OptimizedLSTMCell, _LINEN_LSTM),
        (nn.LSTMCell, _LINEN_LSTM),
        (nn.GRUCell, _LINEN_GRU),
        (nn.SimpleCell, _LINEN_SIMPLE),
    )


def _class_layout(obj) -> _Layout | None:
    return next((layout for cls, layout in _class_layouts() if isinstance(obj, cls)), None)


# ---------------------------------------------------------------------------- detection


def _shape(leaf) -> tuple[int, ...]:
    return tuple(np.shape(leaf))


def _dtype(leaf) -> np.dtype:
    return np.dtype(leaf.dtype) if hasattr(leaf, 'dtype') else np.asarray(leaf).dtype


def _sizes(node: Mapping, layout: _Layout, where: str) -> tuple[int, int, np.dtype]:
    """``(in_features, hidden, dtype)`` of a cell whose structure is ``layout``'s, with
    every array's shape and dtype checked."""
    (ik, _), (rk, _) = layout.fields['input_kernel'][0], layout.fields['recurrent_kernel'][0]
    for module in (ik, rk):
        shape = _shape(node[module]['kernel'])
        if len(shape) != 2:
            raise ValueError(
                f"{where}['{module}']['kernel'] of a {layout.name} must be 2-D, got {shape}."
            )
    in_features, hidden = _shape(node[ik]['kernel'])[0], _shape(node[rk]['kernel'])[0]
    dtype = _dtype(node[ik]['kernel'])
    for (module, param), expected in layout.shapes(in_features, hidden).items():
        leaf, name = node[module][param], f"{where}['{module}']['{param}']"
        if _shape(leaf) != expected:
            raise ValueError(
                f'{name} must have shape {expected} (a {layout.name} with {in_features} '
                f'inputs and hidden size {hidden}), got {_shape(leaf)}.'
            )
        if _dtype(leaf) != dtype:
            raise TypeError(
                f"{name} is {_dtype(leaf)} but {where}['{ik}']['kernel'] is {dtype}: a "
                "cell's parameters share one dtype."
            )
    return in_features, hidden, dtype


def _structure(node: Mapping) -> dict[str, Any]:
    return {
        key: frozenset(value) if isinstance(value, Mapping) else None for key, value in node.items()
    }


def _match(node: Mapping, where: str) -> _Layout | None:
    """The layout of ``node`` by rules 1 and 2 of ``from_flax``'s docstring (``None``: not a
    cell); raises for a damaged or inconsistent cell."""
    structure = _structure(node)
    candidates = [layout for layout in _LAYOUTS if layout.structure() == structure]
    if len(candidates) > 1:  # NNX's GRUCell and SimpleCell: dense_h is [h, 3h] or [h, h]
        shape = _shape(node['dense_h']['kernel'])
        candidates = [
            layout
            for layout in candidates
            if len(shape) == 2 and shape[1] == _common.GATES[layout.kind] * shape[0]
        ]
        if not candidates:
            raise ValueError(
                f'{where} is laid out as a flax.nnx GRUCell or SimpleCell, but its '
                f"['dense_h']['kernel'] has shape {shape}; expected [h, 3h] or [h, h]."
            )
    if candidates:
        _sizes(node, candidates[0], where)
        return candidates[0]
    keys = set(node)
    for gate_keys in _GATE_KEYS:
        if len(keys & gate_keys) >= 2:
            _raise_near_miss(node, where)
    return None


def _raise_near_miss(node: Mapping, where: str):
    """Rule 2: explains how ``node`` differs from the per-gate layout it is closest to."""
    keys = set(node)
    per_gate = [layout for layout in _LAYOUTS if len(layout.structure()) > 2]
    layout = max(per_gate, key=lambda lay: len(keys & set(lay.structure())))
    expected = layout.structure()
    if keys != set(expected):
        raise ValueError(
            f'{where} has some of the keys of a {layout.name} but not its layout: missing '
            f'{sorted(set(expected) - keys)}, unexpected {sorted(keys - set(expected))}.'
        )
    for module, params in expected.items():
        where_module = f"{where}['{module}']"
        for param in sorted(params):
            _common.require(node[module], param, where_module)
        extra = set(node[module]) - params
        if extra:
            raise ValueError(
                f'{where_module} has unexpected keys {sorted(extra)} for a {layout.name} '
                f'(expected {sorted(params)}).'
            )


def _find_cells(tree, where: str) -> dict[tuple, _Layout]:
    """Path -> layout of every Flax cell in a dict tree, by the detection rule."""
    found: dict[tuple, _Layout] = {}

    def visit(node, path):
        if not isinstance(node, Mapping):
            return
        layout = _match(node, where + _common.path_str(path))
        if layout is not None:
            found[path] = layout
            return
        for key, value in node.items():
            visit(value, path + (key,))

    visit(tree, ())
    return found


def _module_cells(module) -> dict[tuple, _Layout]:
    """Path -> layout of every Flax NNX cell in ``module``, by class."""
    from flax import nnx

    found = {}
    for path, node in nnx.iter_graph(module):
        layout = _class_layout(node)
        if layout is not None:
            found[tuple(path)] = layout
    return found


# ---------------------------------------------------------------------------- conversion


def _from_layout(node: Mapping, layout: _Layout, where: str) -> dict:
    """A Flax cell's params (``layout``) -> the fused jaxrnn params (NumPy copies)."""
    _, hidden, dtype = _sizes(node, layout, where)
    params = {
        field: _common.cat(*(node[module][param] for module, param in blocks))
        for field, blocks in layout.fields.items()
    }
    params.update({field: np.zeros((hidden,), dtype) for field in layout.zero})
    return _common.copies(params)


def _to_layout(params: Mapping, layout: _Layout, where: str) -> dict:
    """Fused jaxrnn params (checked by ``_common.cell_kind``) -> ``layout``'s tree."""
    for field in layout.zero:
        if np.any(_common.array(params[field]) != 0):
            raise ValueError(
                f'{layout.name} has no b_hn (google/flax#5594), and {where} has a nonzero '
                "'recurrent_bias': the NNX cell cannot compute the same function. Use "
                'flax.linen.GRUCell or jaxrnn.nnx.GRUCell.'
            )
    out: dict[str, dict] = {}
    for field, blocks in layout.fields.items():
        for (module, param), part in zip(
            blocks, _common.split(params[field], len(blocks)), strict=True
        ):
            out.setdefault(module, {})[param] = part
    return _common.copies(out)


def _get(tree, path: tuple, where: str):
    node = tree
    for n, key in enumerate(path):
        node = _common.require(node, key, where + _common.path_str(path[:n]))
    return node


def _replace(tree, new: Mapping[tuple, Any], path: tuple = ()):
    """``tree`` with the subtree at each path of ``new`` replaced; mappings rebuilt as
    dicts, every other leaf kept."""
    if path in new:
        return new[path]
    if isinstance(tree, Mapping):
        return {key: _replace(value, new, path + (key,)) for key, value in tree.items()}
    return tree


def _keep_frozen(result, given):
    """A FrozenDict result for a FrozenDict input."""
    from flax.core import FrozenDict, freeze

    return freeze(result) if isinstance(given, FrozenDict) else result


def _unwrap_variables(tree):
    """Orbax restores an ``nnx.State`` without a target as ``{'kernel': {'value': a}}``:
    when every leaf is the only entry of a ``'value'`` mapping, drops those wrappers
    (giving ``nnx.to_pure_dict``'s form)."""

    def wrapped(node) -> bool:
        return isinstance(node, Mapping) and set(node) == {'value'}

    def all_wrapped(node) -> bool:
        if wrapped(node):
            return not isinstance(node['value'], Mapping)
        return isinstance(node, Mapping) and all(all_wrapped(v) for v in node.values())

    def strip(node):
        if wrapped(node):
            return node['value']
        return {key: strip(value) for key, value in node.items()}

    return strip(tree) if tree and all_wrapped(tree) else tree


def from_flax(source):
    """Converts a Flax cell's or a whole Flax model's parameters into jaxrnn's layout.

    Flax's cells keep one Dense per gate (Linen, NNX ``LSTMCell``) or one Dense per
    side (NNX's other cells):

    .. list-table::
       :header-rows: 1

       * - Flax cell
         - parameters
       * - linen ``LSTMCell``, ``OptimizedLSTMCell``
         - ``ii, if, ig, io``: kernel ``[i, h]``; ``hi, hf, hg, ho``: kernel ``[h, h]``
           and bias ``[h]``
       * - linen ``GRUCell``
         - ``ir, iz, in``: kernel and bias; ``hr, hz``: kernel; ``hn``: kernel and bias
           (``b_hn``)
       * - linen ``SimpleCell``
         - ``i``: kernel and bias; ``h``: kernel
       * - nnx ``LSTMCell``
         - as linen, with ``if_`` for ``if``
       * - nnx ``OptimizedLSTMCell``
         - ``dense_i``: kernel ``[i, 4h]``; ``dense_h``: kernel ``[h, 4h]`` and bias
       * - nnx ``GRUCell``
         - ``dense_i``: kernel ``[i, 3h]`` and bias; ``dense_h``: kernel (no ``b_hn``,
           google/flax#5594)
       * - nnx ``SimpleCell``
         - ``dense_i``: kernel and bias; ``dense_h``: kernel

    All use jaxrnn's gate orders, (i, f, g, o) and (r, z, n), so each fused parameter
    is a concatenation along the last axis (bit-exact both ways), for example::

      input_kernel     = [ii | if | ig | io].kernel      [i, 4h]   linen LSTMCell
      recurrent_kernel = [hi | hf | hg | ho].kernel      [h, 4h]
      bias             = [hi | hf | hg | ho].bias        [4h]
      bias             = [ir | iz | in].bias             [3h]      linen GRUCell
      recurrent_bias   = hn.bias                         [h]

    Only the default gate and activation functions are convertible (a cell built with
    another ``gate_fn``/``activation_fn``, or ``SimpleCell(residual=True)``, computes a
    different function).

    **Whole models.** Every Flax cell in the tree is converted where it stands and every
    other entry is kept as it is, so the result has the parameter paths of the same
    program written with jaxrnn's classes (``jaxrnn.linen.RNN``, ``LSTMCell``,
    ``OptimizedLSTMCell``, ``GRUCell``, ``SimpleCell``, ``Bidirectional``: Flax's class
    names, so Linen's generated module names are the same; the NNX cells sit under the
    same attributes, ``cell`` in an ``RNN``).

    **How cells are found.** In an ``nnx.Module``, by class: every ``flax.nnx``
    ``LSTMCell``, ``OptimizedLSTMCell``, ``GRUCell`` or ``SimpleCell`` (subclasses
    included). In a dict (Linen params, the pure dict of an ``nnx.State``, what Orbax
    restores), by layout, top down:

    1. A mapping is a cell when its keys are exactly those of one row of the table and
       each entry is a mapping holding exactly that row's parameters (``kernel``, or
       ``kernel`` and ``bias``). NNX's ``GRUCell`` and ``SimpleCell`` have the same
       entries: the ``dense_h`` kernel, ``[h, 3h]`` or ``[h, h]``, tells them apart. A
       cell's arrays must then have the row's shapes for one ``i`` and one ``h`` and one
       dtype (else a ValueError or TypeError names the path). The search does not go
       into a cell.
    2. A mapping that holds two or more of the LSTM's gate names (``ii, if, if_, ig, io,
       hi, hf, hg, ho``) or of the GRU's (``ir, iz, in, hr, hz, hn``) but is not a cell
       by rule 1 (a gate missing, an extra key, a gate without its bias) raises a
       ValueError naming its path: it is a damaged cell, or a module that cannot be told
       from one.
    3. Any other mapping is searched; every other leaf is kept.

    So a mapping with the keys ``i, h`` (or ``dense_i, dense_h``) whose entries are not
    those Dense parameters is a user module and is left alone; but a user module whose
    submodules ``i`` (Dense with bias) and ``h`` (Dense without bias) have exactly
    SimpleCell's shapes is converted as a SimpleCell: its parameters are those of one
    and say nothing else (convert such a model part by part). A tree without any Flax
    cell raises.

    A tree whose every leaf is alone under a ``'value'`` key, Orbax's form of an
    ``nnx.State`` restored without a target, is first read as its pure dict.

    Args:
      source: one of

        - a ``flax.linen`` cell's params dict (``LSTMCell``, ``OptimizedLSTMCell``,
          ``GRUCell``, ``SimpleCell``, e.g. ``variables['params']['RNN_0']['cell']``),
          or a ``flax.nnx`` cell of those classes: returns the cell's fused params;
        - a whole Linen model's params or variables (dict or FrozenDict, with or without
          the ``'params'`` key, e.g. ``model.init(...)``), or any dict tree in which
          Flax cells are found by the rule above (a pure dict of an ``nnx.State``, what
          Orbax restores);
        - a whole ``nnx.Module`` or ``nnx.State``: its ``nnx.Param`` variables only.

    Returns:
      For one cell, ``{'input_kernel' [i, G*h], 'recurrent_kernel' [h, G*h], 'bias'
      [G*h] (, 'recurrent_bias' [h])}``, the params of ``jaxrnn.linen.LSTMCell`` /
      ``GRUCell`` / ``SimpleCell`` (``cell`` in a ``jaxrnn.linen.RNN``); a lone top-level
      ``'params'`` key around one cell is dropped. For a model, a tree of dicts (a
      FrozenDict for a FrozenDict) with each cell so replaced and every other leaf kept
      as given (same object), so that it is the tree of the same program written with
      jaxrnn's classes: ``jaxrnn_model.apply(from_flax(variables), x)`` (Linen) or
      ``convert.load(from_flax(flax_model), jaxrnn_model)`` (NNX: a pure dict of the
      ``nnx.Param`` variables, what :func:`load` writes; RNG state is not converted, and
      batch statistics and other non-``Param`` variables keep Flax's paths,
      ``nnx.update(model, nnx.state(flax_model, nnx.BatchStat))``). Converted arrays are
      NumPy copies in the source's dtype. An NNX ``GRUCell`` has no ``b_hn``
      (google/flax#5594): ``recurrent_bias`` is zeros, which is exactly its function.

    Raises:
      ValueError, TypeError: a damaged, ambiguous or inconsistent cell (the message
        names its path and the expected and given shape or dtype), or no Flax cell.

    Examples:
      One ``flax.linen.LSTMCell``'s params, run by jaxrnn:

      >>> import flax.linen as nn
      >>> import jax
      >>> import numpy as np
      >>> from flax import nnx
      >>> import jaxrnn.linen as jl
      >>> import jaxrnn.nnx as jn
      >>> from jaxrnn import convert
      >>> x = jax.random.normal(jax.random.key(0), (2, 5, 3))
      >>> flax_rnn = nn.RNN(nn.LSTMCell(4))
      >>> variables = flax_rnn.init(jax.random.key(1), x)
      >>> sorted(variables['params']['cell'])
      ['hf', 'hg', 'hi', 'ho', 'if', 'ig', 'ii', 'io']
      >>> cell = convert.from_flax(variables['params']['cell'])
      >>> jax.tree.map(np.shape, cell)
      {'bias': (16,), 'input_kernel': (3, 16), 'recurrent_kernel': (4, 16)}
      >>> y = jl.RNN(jl.LSTMCell(4)).apply({'params': {'cell': cell}}, x)
      >>> bool(np.allclose(y, flax_rnn.apply(variables, x), atol=1e-5))
      True

      A whole Linen model: the cell is converted in place, the Dense is kept.

      >>> flax_model = nn.Sequential([nn.RNN(nn.GRUCell(4)), nn.Dense(2)])
      >>> variables = flax_model.init(jax.random.key(1), x)
      >>> converted = convert.from_flax(variables)
      >>> jax.tree.map(np.shape, converted)
      {'params': {'layers_0': {'cell': {'bias': (12,), 'input_kernel': (3, 12),
                                        'recurrent_bias': (4,), 'recurrent_kernel': (4, 12)}},
                  'layers_1': {'bias': (2,), 'kernel': (4, 2)}}}
      >>> jaxrnn_model = nn.Sequential([jl.RNN(jl.GRUCell(4)), nn.Dense(2)])
      >>> y = jaxrnn_model.apply(converted, x)
      >>> bool(np.allclose(y, flax_model.apply(variables, x), atol=1e-5))
      True

      A whole NNX model, loaded into the same model built from ``jaxrnn.nnx``:

      >>> flax_nnx = nnx.RNN(nnx.LSTMCell(3, 4, rngs=nnx.Rngs(0)))
      >>> jaxrnn_nnx = jn.RNN(jn.LSTMCell(3, 4, rngs=nnx.Rngs(1)))
      >>> jaxrnn_nnx = convert.load(convert.from_flax(flax_nnx), jaxrnn_nnx)
      >>> bool(np.allclose(jaxrnn_nnx(x), flax_nnx(x), atol=1e-5))
      True
    """
    from flax import nnx

    if isinstance(source, nnx.Module):
        cells = _module_cells(source)
        tree = nnx.to_pure_dict(nnx.state(source, nnx.Param))
    elif isinstance(source, nnx.State):
        tree = nnx.to_pure_dict(source.filter(nnx.Param))
        cells = _find_cells(tree, 'params')
    elif isinstance(source, Mapping):
        tree = _unwrap_variables(source)
        if set(tree) == {'params'} and isinstance(tree['params'], Mapping):
            if _match(tree['params'], "params['params']") is not None:
                tree = tree['params']  # one cell's variables: its params, as before
        cells = _find_cells(tree, 'params')
    else:
        raise TypeError(
            'from_flax expects Flax params (a dict tree), a flax.nnx Module or an nnx.State, '
            f'got {type(source).__name__}.'
        )
    if not cells:
        keys = sorted(source) if isinstance(source, Mapping) else type(source).__name__
        raise ValueError(
            'found no flax.linen or flax.nnx LSTMCell, OptimizedLSTMCell, GRUCell or '
            "SimpleCell params (expected keys like 'ii', 'hi', ... or 'ir', ... or 'i', 'h' "
            f"or 'dense_i', 'dense_h' somewhere); got {keys}."
        )
    converted = {
        path: _from_layout(_get(tree, path, 'params'), layout, 'params' + _common.path_str(path))
        for path, layout in cells.items()
    }
    if () in converted:
        return converted[()]  # one cell: its params dict
    return _keep_frozen(_replace(tree, converted), source)


def _cell_to_flax(params, path: tuple, layout: _Layout, reference) -> dict:
    """The jaxrnn cell at ``path`` of ``params`` in the layout of the target's cell at
    ``path`` of ``reference``, with kind, sizes and dtype checked."""
    where, there = 'params' + _common.path_str(path), 'target' + _common.path_str(path)
    try:
        cell = _get(params, path, 'params')
    except ValueError as error:
        raise ValueError(f'{error} The target has a {layout.name} at {there}.') from None
    kind, in_features, hidden = _common.cell_kind(cell, where)
    their_in, their_hidden, their_dtype = _sizes(_get(reference, path, 'target'), layout, there)
    if (kind, in_features, hidden) != (layout.kind, their_in, their_hidden):
        raise ValueError(
            f'{where} is a {kind} cell with {in_features} inputs and hidden size {hidden}; '
            f'the target has a {layout.name} ({layout.kind}) with {their_in} inputs and '
            f'hidden size {their_hidden} at {there}.'
        )
    dtype = _dtype(cell['input_kernel'])
    if dtype != their_dtype:
        raise TypeError(f'{where} is {dtype}; the target holds {their_dtype} at {there}.')
    return _to_layout(cell, layout, where)


def _tree_to_flax(params, reference, cells: Mapping[tuple, _Layout]) -> dict:
    """``params`` with each cell at ``cells``' paths in Flax's layout, checked leaf by
    leaf against ``reference`` (the target's tree)."""
    if not cells:
        raise ValueError(
            'the to_flax target has no flax.linen or flax.nnx LSTMCell, OptimizedLSTMCell, '
            'GRUCell or SimpleCell (for a jaxrnn model, use convert.load).'
        )
    converted = {
        path: _cell_to_flax(params, path, layout, reference) for path, layout in cells.items()
    }
    out = _replace(params, converted)
    _load.check(out, reference, 'the target')
    return out


def _align_params_key(params: Mapping, target: Mapping):
    """Matches a lone top-level ``'params'`` key present on one side only."""
    if set(target) == {'params'} and 'params' not in params:
        return {'params': params}
    if set(params) == {'params'} and 'params' not in target:
        return params['params']
    return params


def _write_nnx(tree: Mapping, module, reference: Mapping):
    import jax
    import jax.numpy as jnp
    from flax import nnx

    _load.check(tree, reference, 'the target')
    nnx.update(module, jax.tree.map(jnp.asarray, dict(tree)))
    return module


def _single_cell_to_flax(params: Mapping, target, layout: _Layout):
    from flax import nnx

    kind, in_features, hidden = _common.cell_kind(params)
    name = type(target).__name__
    is_nnx = isinstance(target, nnx.Module)
    size = target.hidden_features if is_nnx else target.features
    if layout.kind != kind:
        raise ValueError(f'params are a {kind} cell but the target is a {name}.')
    if size != hidden:
        raise ValueError(f'params have hidden size {hidden} but the {name} has {size}.')
    if not is_nnx:
        return _to_layout(params, layout, 'params')
    if target.in_features != in_features:
        raise ValueError(
            f'params have {in_features} input features but the {name} has '
            f'in_features={target.in_features}.'
        )
    reference = nnx.to_pure_dict(nnx.state(target, nnx.Param))
    return _write_nnx(_to_layout(params, layout, 'params'), target, reference)


def to_flax(params: Mapping, target):
    """Converts jaxrnn params (one cell or a whole model) into Flax's layout.

    Args:
      params: a jaxrnn cell's params (``reset_after=True`` for the GRU: Flax's GRU is
        the reset-after form), or a whole model's params or variables (e.g. from
        :func:`from_flax`, or a jaxrnn model's trained params).
      target: says which layout to produce:

        - a Flax cell instance: ``flax.linen`` (``nn.LSTMCell(features=h)``, ...):
          returns its params dict; ``flax.nnx``: writes the parameters in place and
          returns it. Its class must match the params' cell and its size the params'.
        - a Linen model's params or variables, real or abstract
          (``jax.eval_shape(flax_model.init, key, x)``): returns a tree with exactly
          the target's paths, each Flax cell found by the rule of :func:`from_flax`
          made from the jaxrnn cell at the same path of ``params`` (NumPy copies),
          every other leaf taken from ``params`` as it is. A lone ``'params'`` key on
          one side only is matched to the other's top level.
        - an ``nnx.Module`` holding Flax NNX cells (found by class): every
          ``nnx.Param`` of it is written from ``params`` (a pure dict with the module's
          paths, the cells in jaxrnn's layout) in place; returns the module.

    Returns:
      The Flax cell's params dict (a ``flax.linen`` cell), the params tree with the
      target's paths (a FrozenDict for a FrozenDict target), or the ``flax.nnx`` target,
      written in place. The inverse of :func:`from_flax`: jaxrnn -> Flax -> jaxrnn is
      bit-identical.

    Raises:
      ValueError, TypeError: a cell of the wrong kind, size or dtype, a cell or leaf
        missing from ``params`` or one the target does not have (the message names the
        path), a target without Flax cells, or a nonzero ``recurrent_bias`` for
        ``flax.nnx.GRUCell`` (which has no ``b_hn``, google/flax#5594).

    Examples:
      One cell, into a ``flax.linen.LSTMCell``'s layout:

      >>> import flax.linen as nn
      >>> import jax
      >>> import numpy as np
      >>> from flax import nnx
      >>> import jaxrnn.linen as jl
      >>> import jaxrnn.nnx as jn
      >>> from jaxrnn import convert
      >>> x = jax.random.normal(jax.random.key(0), (2, 5, 3))
      >>> cell = jl.LSTMCell(4)
      >>> carry = cell.initialize_carry(jax.random.key(0), (2, 3))
      >>> params = cell.init(jax.random.key(1), carry, x[:, 0])['params']
      >>> flax_params = convert.to_flax(params, nn.LSTMCell(4))
      >>> jax.tree.map(np.shape, flax_params['hi']), jax.tree.map(np.shape, flax_params['ii'])
      ({'bias': (4,), 'kernel': (4, 4)}, {'kernel': (3, 4)})
      >>> _, y = cell.apply({'params': params}, carry, x[:, 0])
      >>> _, y_flax = nn.LSTMCell(4).apply({'params': flax_params}, carry, x[:, 0])
      >>> bool(np.allclose(y, y_flax, atol=1e-5))
      True

      A whole Linen model, with the Flax model's abstract variables as the target;
      jaxrnn -> Flax -> jaxrnn is bit-identical:

      >>> jaxrnn_model = nn.Sequential([jl.RNN(jl.GRUCell(4)), nn.Dense(2)])
      >>> flax_model = nn.Sequential([nn.RNN(nn.GRUCell(4)), nn.Dense(2)])
      >>> variables = jaxrnn_model.init(jax.random.key(1), x)
      >>> target = jax.eval_shape(flax_model.init, jax.random.key(1), x)
      >>> flax_variables = convert.to_flax(variables, target)
      >>> sorted(flax_variables['params']['layers_0']['cell'])
      ['hn', 'hr', 'hz', 'in', 'ir', 'iz']
      >>> y = flax_model.apply(flax_variables, x)
      >>> bool(np.allclose(y, jaxrnn_model.apply(variables, x), atol=1e-5))
      True
      >>> back = convert.from_flax(flax_variables)
      >>> same = jax.tree.map(lambda a, b: a.tobytes() == np.asarray(b).tobytes(), back, variables)
      >>> all(jax.tree.leaves(same))
      True

      An NNX model, written in place from a ``jaxrnn.nnx`` model's parameters:

      >>> jaxrnn_nnx = jn.RNN(jn.LSTMCell(3, 4, rngs=nnx.Rngs(0)))
      >>> params = nnx.to_pure_dict(nnx.state(jaxrnn_nnx, nnx.Param))
      >>> flax_nnx = nnx.RNN(nnx.LSTMCell(3, 4, rngs=nnx.Rngs(1)))
      >>> flax_nnx = convert.to_flax(params, flax_nnx)
      >>> bool(np.allclose(flax_nnx(x), jaxrnn_nnx(x), atol=1e-5))
      True
    """
    from flax import nnx

    layout = _class_layout(target)
    if layout is not None:
        return _single_cell_to_flax(params, target, layout)
    if isinstance(target, (nnx.Module, Mapping)) and not isinstance(params, Mapping):
        raise TypeError(f'to_flax params must be a mapping, got {type(params).__name__}.')
    if isinstance(target, nnx.Module):
        reference = nnx.to_pure_dict(nnx.state(target, nnx.Param))
        tree = _tree_to_flax(params, reference, _module_cells(target))
        return _write_nnx(tree, target, reference)
    if isinstance(target, Mapping):
        params = _align_params_key(params, target)
        return _keep_frozen(_tree_to_flax(params, target, _find_cells(target, 'target')), target)
    raise TypeError(
        'to_flax target must be a flax.linen or flax.nnx LSTMCell, OptimizedLSTMCell, '
        'GRUCell or SimpleCell instance, a Flax model params tree or an nnx.Module, got '
        f'{type(target).__name__}.'
    )
