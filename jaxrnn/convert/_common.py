"""Checks and helpers shared by the converters. Converters work on NumPy arrays (exact
copies, no device transfer, any dtype) and return NumPy arrays."""

from __future__ import annotations

from typing import Any, Mapping

import numpy as np

from jaxrnn.kernels import CELL_TYPES
from jaxrnn.kernels._types import param_fields

GATE_NAMES = {kind: cls.gates for kind, cls in CELL_TYPES.items()}
"""Gate block names by cell kind, in the fused layout's order (from the kernels' cells)."""

GATES = {kind: len(names) for kind, names in GATE_NAMES.items()}
"""Number of gate blocks G by cell kind."""

KINDS = {gates: kind for kind, gates in GATES.items()}
"""Cell kind by number of gate blocks G (``recurrent_kernel`` is ``[h, G*h]``)."""

CELL_FIELDS = {kind: param_fields(cls) for kind, cls in CELL_TYPES.items()}
"""Parameter fields by cell kind (the cells' parameter NamedTuples)."""

DIRECTIONS = ('forward', 'backward')


def array(value) -> np.ndarray:
    """A NumPy view or copy of a JAX/NumPy array (bit-exact, dtype kept)."""
    return np.asarray(value)


def cat(*arrays) -> np.ndarray:
    return np.concatenate([array(a) for a in arrays], axis=-1)


def copies(tree):
    """Fresh NumPy copies of every leaf, so a converted tree never aliases its source."""
    if isinstance(tree, Mapping):
        return {key: copies(value) for key, value in tree.items()}
    return np.array(tree, copy=True)


def flatten(tree, prefix: tuple = ()):
    """Yields ``(path, leaf)`` for every leaf of a nested mapping (``path`` a key tuple)."""
    if isinstance(tree, Mapping):
        for key, value in tree.items():
            yield from flatten(value, prefix + (key,))
    else:
        yield prefix, tree


def path_str(keys) -> str:
    """``('a', 0)`` -> ``"['a'][0]"``, the indexing that reaches a leaf."""
    return ''.join(f'[{k!r}]' for k in keys)


def add(a, b) -> np.ndarray:
    """``a + b``, keeping ``a`` bit for bit where ``b`` is zero (``-0.0 + 0.0`` would
    give ``+0.0``), so merging a bias with the zeros a converter wrote is exact."""
    a, b = array(a), array(b)
    return np.where(b == 0, a, a + b)


def split(value, n: int) -> list[np.ndarray]:
    return np.split(array(value), n, axis=-1)


def require(tree: Mapping, key: str, where: str):
    if not isinstance(tree, Mapping):
        raise TypeError(f'{where} must be a mapping, got {type(tree).__name__}.')
    if key not in tree:
        raise ValueError(f'{where} has no {key!r}; it has {sorted(tree)}.')
    return tree[key]


def check_shape(name: str, value, expected: tuple[int, ...]):
    shape = tuple(np.shape(value))
    if shape != tuple(expected):
        raise ValueError(f'{name} must have shape {tuple(expected)}, got {shape}.')


def cell_kind(params: Mapping, where: str = 'params') -> tuple[str, int, int]:
    """``(kind, in_features, hidden)`` of a jaxrnn cell's params dict, with every field
    checked against the fused layout."""
    kernel = array(require(params, 'recurrent_kernel', where))
    if kernel.ndim != 2 or kernel.shape[0] == 0 or kernel.shape[1] % kernel.shape[0]:
        raise ValueError(
            f"{where}['recurrent_kernel'] must have shape [h, G*h], got {kernel.shape}."
        )
    hidden = kernel.shape[0]
    gates = kernel.shape[1] // hidden
    gates_kind = 'gru' if 'recurrent_bias' in params else KINDS.get(gates)
    if gates_kind is None or (gates_kind == 'gru') != (gates == 3):
        raise ValueError(
            f'{where}: recurrent_kernel {kernel.shape} has {gates} gate blocks; expected 4 '
            '(LSTM), 3 (GRU, with recurrent_bias) or 1 (simple RNN).'
        )
    extra = set(params) - set(CELL_FIELDS[gates_kind])
    if extra:
        raise ValueError(f'{where} has unexpected keys {sorted(extra)} for a {gates_kind} cell.')
    in_features = array(require(params, 'input_kernel', where)).shape[0]
    check_shape(f"{where}['input_kernel']", params['input_kernel'], (in_features, gates * hidden))
    check_shape(f"{where}['bias']", require(params, 'bias', where), (gates * hidden,))
    if gates_kind == 'gru':
        check_shape(f"{where}['recurrent_bias']", params['recurrent_bias'], (hidden,))
    return gates_kind, in_features, hidden


def stack_layout(params: Mapping, where: str = 'params') -> dict[str, Any]:
    """Checks a stack params tree ``{'layer_k': {'forward': cell, 'backward': cell}}`` and
    returns its ``kind``, ``input_size``, ``hidden_size``, ``num_layers`` and
    ``bidirectional``."""
    if not isinstance(params, Mapping) or 'layer_0' not in params:
        raise ValueError(
            f"{where} must be a stack params tree {{'layer_0': {{'forward': ...}}, ...}}"
            + (f', got keys {sorted(params)}.' if isinstance(params, Mapping) else '.')
        )
    num_layers = len(params)
    names = [f'layer_{k}' for k in range(num_layers)]
    if sorted(params) != sorted(names):
        raise ValueError(f'{where} keys must be {names}, got {sorted(params)}.')
    bidirectional = 'backward' in params['layer_0']
    dirs = DIRECTIONS[: 2 if bidirectional else 1]
    layout: dict[str, Any] = {}  # the first cell's
    for k, name in enumerate(names):
        if sorted(params[name]) != sorted(dirs):
            raise ValueError(
                f"{where}['{name}'] keys must be {list(dirs)}, got {sorted(params[name])}."
            )
        for d in dirs:
            kind, in_features, hidden = cell_kind(params[name][d], f"{where}['{name}']['{d}']")
            if not layout:
                layout = dict(kind=kind, input_size=in_features, hidden_size=hidden)
            expected_in = layout['input_size'] if k == 0 else len(dirs) * layout['hidden_size']
            if (kind, hidden, in_features) != (layout['kind'], layout['hidden_size'], expected_in):
                raise ValueError(
                    f"{where}['{name}']['{d}'] is a {kind} cell with {in_features} inputs and "
                    f'hidden size {hidden}; expected a {layout["kind"]} cell with {expected_in} '
                    f'inputs and hidden size {layout["hidden_size"]}.'
                )
    return dict(layout, num_layers=num_layers, bidirectional=bidirectional)


def stack_params(cells: dict[tuple[int, int], dict]) -> dict:
    """``{(layer, direction): cell params}`` -> the stack params tree."""
    tree: dict = {}
    for (k, d), cell in sorted(cells.items()):
        tree.setdefault(f'layer_{k}', {})[DIRECTIONS[d]] = cell
    return copies(tree)


def stack_cells(params: Mapping):
    """Yields ``(layer, direction, cell params)`` of a checked stack params tree."""
    for k in range(len(params)):
        layer = params[f'layer_{k}']
        for d, name in enumerate(DIRECTIONS):
            if name in layer:
                yield k, d, layer[name]
