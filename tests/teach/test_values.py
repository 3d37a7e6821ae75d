"""The values every teaching view reads (``jaxrnn.teach._values``), checked by hand on
tiny traces."""

from __future__ import annotations

import ast
import pathlib

import numpy as np
import pytest

from jaxrnn.kernels import GRUTrace, LSTMTrace, SimpleTrace
from jaxrnn.teach import _values

# Binary fractions, so that the hand arithmetic below is exact in float64.
F = np.array([[0.5, 0.25], [0.75, 1.0]])  # [t=2, h=2]
I = np.array([[0.25, 0.5], [0.5, 0.125]])
G = np.array([[0.5, -1.0], [-0.25, 0.5]])
C0 = np.array([1.0, -0.5])


def _lstm(c0=C0):
    c1 = F[0] * c0 + I[0] * G[0]  # [0.625, -0.625]
    c2 = F[1] * c1 + I[1] * G[1]  # [0.34375, -0.5625]
    c = np.stack([c1, c2])
    return LSTMTrace(i=I, f=F, g=G, o=np.full_like(F, 0.5), c=c, h=0.5 * np.tanh(c))


def test_lstm_split_by_hand():
    one = _values.row(_lstm(), initial=(C0, np.zeros(2)))
    split = one.split
    np.testing.assert_array_equal(split.old, [[1.0, -0.5], [0.625, -0.625]])
    np.testing.assert_array_equal(split.kept, [[0.5, -0.125], [0.46875, -0.625]])
    np.testing.assert_array_equal(split.written, [[0.125, -0.5], [-0.125, 0.0625]])
    np.testing.assert_array_equal(split.keep, F)
    np.testing.assert_array_equal(split.write, I)
    np.testing.assert_array_equal(split.new, G)
    # kept + written is the new memory, per unit and step
    np.testing.assert_array_equal(split.kept + split.written, one.fields['c'])
    np.testing.assert_array_equal(split.state, one.fields['c'])
    assert (one.steps, one.hidden) == (2, 2)


def test_gru_split_by_hand():
    z = np.array([[0.5, 0.25], [1.0, 0.0]])
    n = np.array([[0.5, -0.5], [0.25, 0.75]])
    h0 = np.array([-1.0, 0.5])
    h1 = z[0] * h0 + (1 - z[0]) * n[0]  # [-0.25, -0.25]
    h2 = z[1] * h1 + (1 - z[1]) * n[1]  # [-0.25, 0.75]
    trace = GRUTrace(r=np.full_like(z, 0.5), z=z, n=n, h=np.stack([h1, h2]))
    split = _values.row(trace, initial=h0).split
    np.testing.assert_array_equal(split.old, [[-1.0, 0.5], [-0.25, -0.25]])
    np.testing.assert_array_equal(split.kept, [[-0.5, 0.125], [-0.25, 0.0]])
    np.testing.assert_array_equal(split.written, [[0.25, -0.375], [0.0, 0.75]])
    np.testing.assert_array_equal(split.write, 1 - z)
    np.testing.assert_array_equal(split.kept + split.written, [[-0.25, -0.25], [-0.25, 0.75]])


def test_initial_carry_defaults_to_zeros():
    one = _values.row(_lstm(c0=np.zeros(2)))
    assert set(one.initial) == {'c', 'h'}
    np.testing.assert_array_equal(one.split.old[0], [0.0, 0.0])
    np.testing.assert_array_equal(one.previous('h')[1], one.fields['h'][0])
    np.testing.assert_array_equal(one.split.kept + one.split.written, one.fields['c'])


def test_batch_row_and_valid_steps():
    one = _lstm()
    other = LSTMTrace(*(2 * np.asarray(a) for a in one))
    batched = LSTMTrace(*(np.stack([a, b]) for a, b in zip(one, other, strict=True)))
    second = _values.row(batched, 1)
    for name in LSTMTrace._fields:
        assert second.fields[name].dtype == np.float64
        np.testing.assert_array_equal(second.fields[name], getattr(other, name))
    assert _values.row(batched, 0, length=1).steps == 1
    cut = _values.rows(batched, lengths=[1, 2])
    assert [r.steps for r in cut] == [1, 2]
    np.testing.assert_array_equal(cut[1].fields['f'], other.f)
    only = _values.rows(batched, batch=1, lengths=np.array([[1], [2]]))
    assert len(only) == 1 and only[0].steps == 2
    assert len(_values.rows(one)) == 1  # an unbatched trace is one sequence
    with pytest.raises(ValueError, match=r'trace.i must be \[t, h\] or \[batch, t, h\]'):
        _values.row(LSTMTrace(*(np.zeros(3) for _ in range(6))))


def test_kinds_come_from_the_trace_type():
    assert _values.kind_of(_lstm()).name == 'lstm'
    assert _values.kind_of(GRUTrace(*(np.zeros((1, 1)) for _ in range(4)))).name == 'gru'
    simple = SimpleTrace(np.zeros((3, 2)))
    with pytest.raises(TypeError, match='^expected an LSTMTrace or GRUTrace, got SimpleTrace'):
        _values.kind_of(simple)
    with pytest.raises(TypeError, match='^narrate needs an LSTMTrace or GRUTrace, got tuple'):
        _values.kind_of((1, 2), who='narrate')
    one = _values.row(simple)  # a simple trace has values but no gates to split by
    assert one.kind.name == 'simple' and one.steps == 3
    with pytest.raises(TypeError, match='no gates'):
        _ = one.split
    with pytest.raises(TypeError, match='expected a jaxrnn trace'):
        _values.row((np.zeros((2, 2)),))


@pytest.mark.parametrize('trace_type', list(_values.KINDS))
def test_kinds_are_keyed_by_the_trace_fields(trace_type):
    kind = _values.KINDS[trace_type]
    fields = set(trace_type._fields)
    assert set(kind.carry) <= fields and kind.state in kind.carry
    assert set(kind.gates) <= fields and kind.tanh <= set(kind.gates)
    assert set(kind.gates).isdisjoint(kind.carry)
    if kind.factors is not None:
        assert kind.gates[0] == kind.keep  # the keeping gate leads the views


def test_summary_and_strip():
    trace = _lstm()
    np.testing.assert_array_equal(_values.summary(F), [0.375, 0.875])
    np.testing.assert_array_equal(_values.summary(F, 1), [0.25, 1.0])
    assert _values.over(None) == 'mean over units' and _values.over(3) == 'unit 3'
    strip = _values.gate_strip(trace, ['a', 'b'], None, None, 0)
    assert strip.gate == 'f' and strip.where == 'mean over units'
    assert [(t, v) for t, v, _ in strip.cells] == [('a', 0.375), ('b', 0.875)]
    assert strip.cells[0][2] == _values.colour(0.375, False)
    signed = _values.gate_strip(trace, ['a', 'b'], 'g', 1, 0)
    assert [c for _, _, c in signed.cells] == [_values.colour(-1.0, True), '#7fb2ff']
    with pytest.raises(ValueError, match=r"gate must be one of \['c', 'f', 'g', 'h', 'i', 'o'\]"):
        _values.gate_strip(trace, ['a', 'b'], 'z', None, 0)


def test_colour_scale():
    assert _values.colour(0.0, False) == '#ffffff'
    assert _values.colour(1.0, False) == _values.colour(7.0, False) == '#2666ff'
    assert _values.colour(-1.0, True) == '#ff0000'
    assert _values.colour(0.0, True) == '#ffffff'
    assert _values.colour(1.0, True) == '#0066ff'


def test_views_share_no_private_names():
    """Each view reads the shared module; none reaches into another module's private
    names."""
    folder = pathlib.Path(_values.__file__).parent
    for path in folder.glob('*.py'):
        tree = ast.parse(path.read_text())
        modules = set()
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and (node.module or '').startswith('jaxrnn.teach'):
                for alias in node.names:
                    if node.module == 'jaxrnn.teach':
                        modules.add(alias.asname or alias.name)
                    else:
                        assert not alias.name.startswith('_'), (path.name, alias.name)
        for node in ast.walk(tree):
            if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
                if node.value.id in modules:
                    assert not node.attr.startswith('_'), (path.name, node.attr)
