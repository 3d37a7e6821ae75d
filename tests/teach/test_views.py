"""Figures, the terminal view and the HTML report render from a trace."""

from __future__ import annotations

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
        [dict(name=kind, trace=trace, tokens=TOKENS, narration=story, unit=0)],
    )
    page = path.read_text()
    assert page.startswith('<!DOCTYPE html>') and len(page) > 20000
    assert page.count('data:image/png;base64,') == 1
    for marker in ('http://', 'https://', '<link', '<script', 'src="//', 'url('):
        assert marker not in page
    first = story.steps[0].lines[2]
    assert f'{first.mean:.3f}' in page
