"""The narration's numbers are the trace's numbers, and its arithmetic adds up."""

from __future__ import annotations

import re
from decimal import Decimal

import numpy as np
import pytest

from jaxrnn import teach
from jaxrnn.kernels import SimpleTrace
from tests.teach.conftest import TOKENS, H, T

GATES = {'lstm': 'figo', 'gru': 'rzn'}
SUM = re.compile(r'kept (\(?-?[\d.]+\)?) \+ written (\(?-?[\d.]+\)?) = (-?[\d.]+)')
UNIT_SUM = re.compile(r'= (\(?-?[\d.]+\)?) \+ (\(?-?[\d.]+\)?) = (-?[\d.]+)\]')


def _num(text):
    return Decimal(text.strip('()'))


@pytest.mark.parametrize('unit', [None, 2])
def test_numbers_are_the_trace(traced, unit):
    kind, trace, initial = traced
    story = teach.narrate(trace, TOKENS, unit=unit, initial=initial)
    rows = {k: np.asarray(v, np.float64)[0] for k, v in trace._asdict().items()}
    assert len(story.steps) == T and [s.token for s in story.steps] == TOKENS
    text = story.text()
    for t, step in enumerate(story.steps):
        lines = {line.symbol: line for line in step.lines if line.symbol}
        assert step.lines[0].role == 'Input provider' and f'"{TOKENS[t]}"' in step.lines[0].words
        for gate in GATES[kind]:
            line = lines[gate]
            assert line.mean == np.mean(rows[gate][t])
            assert f'{gate} = {line.mean:.3f}' in line.words
            if unit is not None:
                assert line.unit == rows[gate][t, unit]
                assert f'{gate} = {line.unit:.3f}' in line.words
            assert line.words in text
        # the memory tracker: kept + written = new state, in the printed digits
        state = 'c' if kind == 'lstm' else 'h'
        tracker = lines[state]
        old = (initial[0] if kind == 'lstm' else initial) if t == 0 else rows[state][t - 1]
        keep_gate = rows['f' if kind == 'lstm' else 'z'][t]
        kept = keep_gate * np.asarray(old, np.float64)
        written = rows[state][t] - kept
        k, w, total = (_num(g) for g in SUM.search(tracker.words).groups())
        assert k + w == total
        assert abs(float(total) - np.mean(rows[state][t])) <= 5e-4
        assert abs(float(k) - np.mean(kept)) <= 5e-4
        assert abs(float(w) - np.mean(written)) <= 1.0001e-3
        if unit is not None:
            ku, wu, tu = (_num(g) for g in UNIT_SUM.search(tracker.words).groups())
            assert ku + wu == tu
            assert abs(float(tu) - rows[state][t, unit]) <= 5e-4
            assert abs(float(wu) - written[unit]) <= 1.0001e-3


def test_conventions_are_stated(traced):
    kind, trace, initial = traced
    text = teach.narrate(trace, TOKENS, initial=initial).text()
    if kind == 'lstm':
        assert 'f is the share of the old memory c kept' in text
        assert 'keeps' in text and 'of the old memory c_0' in text
    else:
        assert 'z is the share of the OLD state h kept' in text
        assert 'of the old state h_0, takes' in text


def test_empty_start_and_predictions(traced):
    kind, trace, _ = traced
    story = teach.narrate(trace, TOKENS, predictions=['a', 'b', 'c', 'd', 'e'])
    assert 'starts empty' in story.steps[0].lines[1].words
    assert story.steps[2].lines[-1].role == 'Readout' and '"c"' in story.steps[2].lines[-1].words


def test_errors(traced):
    _, trace, _ = traced
    with pytest.raises(ValueError, match='tokens has 2 entries but the trace has 5 steps'):
        teach.narrate(trace, TOKENS[:2])
    with pytest.raises(ValueError, match=rf'unit must be in \[0, {H}\)'):
        teach.narrate(trace, TOKENS, unit=H)
    with pytest.raises(TypeError, match='LSTMTrace or GRUTrace'):
        teach.narrate(SimpleTrace(np.zeros((T, H))), TOKENS)
