"""Figures, the terminal view and the HTML report render from a trace."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest
from rich.console import Console

from jaxrnn import kernels, teach
from jaxrnn.kernels import LSTMTrace
from jaxrnn.teach import _values
from tests.teach.conftest import TOKENS, T

PNG = b'\x89PNG\r\n\x1a\n'


def test_carried_plus_written_is_the_new_state(traced):
    kind, trace, initial = traced
    one = _values.row(trace, initial=initial)
    kept, written = one.split.kept, one.split.written
    state = np.asarray(trace.c if kind == 'lstm' else trace.h, np.float64)[0]
    np.testing.assert_allclose(kept + written, state, atol=2e-6)


def test_saturation_fractions_count_steps():
    f = np.array([[0.05], [0.95], [0.5], [0.99]])[None]  # [1, 4, 1]
    trace = LSTMTrace(*(np.full_like(f, 0.5) for _ in range(2)), f, f, f, f)
    trace = trace._replace(f=f, i=np.full_like(f, 0.02))
    fractions = teach.saturation_fractions(trace)
    assert fractions['f'][0].tolist() == [0.25] and fractions['f'][1].tolist() == [0.5]
    assert fractions['i'][0].tolist() == [1.0]
    assert 'g' not in fractions  # tanh candidates are not gates
    short = teach.saturation_fractions(trace, lengths=np.array([2]))
    assert short['f'][0].tolist() == [0.5] and short['f'][1].tolist() == [0.5]


@pytest.mark.parametrize('make', ['gate_heatmaps', 'highway', 'saturation', 'overview'])
def test_figures_render(traced, make, tmp_path):
    _, trace, _ = traced
    fn = getattr(teach, make)
    fig = fn(trace) if make == 'saturation' else fn(trace, TOKENS)
    path = tmp_path / f'{make}.png'
    fig.savefig(path)
    data = path.read_bytes()
    assert data.startswith(PNG) and len(data) > 5000


def test_compare_renders(tmp_path):
    rng = np.random.default_rng(1)

    def arrays(*shapes):
        return (rng.standard_normal(s).astype(np.float32) for s in shapes)

    lstm = kernels.LSTMParams(*arrays((3, 16), (4, 16), (16,)))
    gru = kernels.GRUParams(*arrays((3, 12), (4, 12), (12,), (4,)))
    xs = rng.standard_normal((1, T, 3)).astype(np.float32)
    traces = kernels.lstm(lstm, xs, trace=True)[2], kernels.gru(gru, xs, trace=True)[2]
    teach.compare(*traces, TOKENS).savefig(tmp_path / 'c.png')
    assert (tmp_path / 'c.png').read_bytes().startswith(PNG)


def test_terminal_view_shows_the_trace(traced):
    kind, trace, _ = traced
    console = Console(record=True, width=200)
    console.print(teach.coloured_tokens(trace, TOKENS))
    console.print(teach.step_table(trace, TOKENS, unit=1))
    out = console.export_text()
    gate = 'f' if kind == 'lstm' else 'z'
    means = np.asarray(getattr(trace, gate), np.float64)[0].mean(axis=1)
    for token, v in zip(TOKENS, means, strict=True):
        assert f' {token} ' in out and f'{v:.2f}' in out
    unit_h = np.asarray(trace.h, np.float64)[0, :, 1]
    assert all(f'{v:.3f}' in out for v in unit_h)
    with pytest.raises(ValueError, match='gate must be one of'):
        teach.coloured_tokens(trace, TOKENS, gate='q')


def test_html_report_is_self_contained(traced, tmp_path):
    kind, trace, initial = traced
    story = teach.narrate(trace, TOKENS, initial=initial, unit=0)
    path = teach.write_report(
        tmp_path / 'r.html',
        'test',
        [dict(name=kind, trace=trace, tokens=TOKENS, narration=story, gate='h')],
    )
    page = path.read_text()
    assert page.startswith('<!DOCTYPE html>') and len(page) > 20000
    assert page.count('data:image/png;base64,') == 2  # the highway and the saturation
    for marker in ('http://', 'https://', '<link', 'src="//', '<script src', '@import'):
        assert marker not in page
    assert re.findall(r'url\((?!#)', page) == []  # only the SVG's own arrow markers
    assert page.count('<figure') == page.count('<figcaption>') == 6
    assert '<option value="h" selected>' in page  # the gate shown first
    data = json.loads(re.search(r'class="data">(.*?)</script>', page).group(1))
    for name, equation in data['equations'].items():  # each field's own equation on hover
        assert equation.startswith(f'{name} = ') or equation.startswith(f'{name}_{{n}} = ')
    assert set(data['equations']) == set(trace._fields)
    keep = 'f' if kind == 'lstm' else 'z'
    assert f'{keep} = {story.steps[0].numbers[keep]:.3f}' in page  # the narration
    with pytest.raises(ValueError, match='gate must be one of'):
        teach.report_html(
            't', [dict(name=kind, trace=trace, tokens=TOKENS, narration=story, gate='q')]
        )


def test_heatmaps_sort_units_and_mark_the_spotlight(traced):
    kind, trace, _ = traced
    fig = teach.gate_heatmaps(trace, TOKENS, unit=2)
    one = _values.row(trace)
    keep = one.fields[one.kind.keep].mean(axis=0)
    order = _values.unit_order(one)
    assert np.all(np.diff(keep[order]) <= 0)  # the units that keep the most on top
    row = int(np.flatnonzero(order == 2)[0])
    panels = [ax for ax in fig.axes if ax.get_title()]
    assert len(panels) == (6 if kind == 'lstm' else 4)
    for ax in panels:
        (frame,) = ax.patches
        assert frame.get_y() == row - 0.5 and frame.get_width() == T
        marked = [t for t in ax.get_yticklabels() if t.get_color() == 'crimson']
        assert [t.get_text() for t in marked] == ['2']
    hw = teach.highway(trace, TOKENS, unit=2)
    assert hw.axes[0].get_title().split(',')[1].strip().startswith('unit 2')
    # kept and written side by side (neither hides the other), the spotlight's numbers
    bars = hw.axes[0].patches
    kept, written = bars[:T], bars[T:]
    split = one.split
    for t in range(T):
        assert kept[t].get_x() + kept[t].get_width() <= written[t].get_x() + 1e-9
        assert np.isclose(kept[t].get_height(), split.kept[t, 2])
        assert np.isclose(written[t].get_height(), split.written[t, 2])
    with pytest.raises(ValueError, match=r'unit must be in \[0, 4\)'):
        teach.saturation(trace, unit=4)


def test_the_memory_is_coloured_on_one_scale_everywhere(traced):
    kind, trace, _ = traced
    if kind != 'lstm':
        return
    c = _values.row(trace).fields['c']
    top = max(1.0, float(np.max(np.abs(c))))
    assert _values.scale(_values.kind_of(trace), 'c', c) == top
    for unit in range(c.shape[1]):  # one unit's strip: divided by every unit's largest |c|
        strip = _values.gate_strip(trace, TOKENS, 'c', unit, 0)
        assert [cell[2] for cell in strip.cells] == [
            _values.colour(v / top, True) for v in c[:, unit]
        ]
    fig = teach.gate_heatmaps(trace, TOKENS)
    (image,) = [ax for ax in fig.axes if ax.get_title() == 'memory c'][0].images
    assert image.get_clim() == (-top, top)


def test_signed_fields_are_drawn_signed(traced):
    kind, trace, _ = traced
    one = _values.row(trace)
    h = one.fields['h']
    t, u = np.unravel_index(np.argmin(h), h.shape)
    assert h[t, u] < -0.05
    strip = _values.gate_strip(trace, TOKENS, 'h', int(u), 0)
    red, green, blue = (int(strip.cells[t][2][k : k + 2], 16) for k in (1, 3, 5))
    assert red == 255 and green < 250 and blue < 250  # negative: red, not white
    assert _values.colour(0.0, True) == '#ffffff'
    assert _values.colour(-1.0, True) == '#ff0000' and _values.colour(1.0, True) == '#0066ff'


def test_figures_widen_with_the_input():
    rng = np.random.default_rng(0)
    steps = 60
    lstm = kernels.LSTMParams(
        *(rng.standard_normal(s).astype(np.float32) for s in ((3, 32), (8, 32), (32,)))
    )
    _, _, trace = kernels.lstm(
        lstm, rng.standard_normal((1, steps, 3)).astype(np.float32), trace=True
    )
    tokens = [f'w{k}' for k in range(steps)]
    fig = teach.gate_heatmaps(trace, tokens)
    width = fig.get_size_inches()[0]
    assert width >= 0.2 * steps  # at least 0.2 inch a token
    assert '(60 tokens)' in fig.get_suptitle() and len(fig.get_suptitle()) < 100
