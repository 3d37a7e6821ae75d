"""The narration can be checked by hand: a parser reads its text and recomputes every
product, sum, ``1 - z`` and ``tanh`` from the numbers printed before it; its numbers are
the trace's; the spotlight, the means, the handout and compact mode say what they are."""

from __future__ import annotations

import math
import re
from decimal import ROUND_HALF_UP, Decimal

import numpy as np
import pytest

from jaxrnn import teach
from jaxrnn.kernels import SimpleTrace
from jaxrnn.teach import _narrate, _values
from tests.teach.conftest import TOKENS, H, T

NUM = r'\(?-?\d+\.\d{3}\)?'
PRODUCT = re.compile(rf'(?<![\d.])({NUM}) x ({NUM}) = (-?\d+\.\d{{3}})')
SUM = re.compile(rf'= ({NUM}) \+ ({NUM}) = (-?\d+\.\d{{3}})')
ONE_MINUS = re.compile(r'1 - z = 1 - (\d\.\d{3}) = (\d\.\d{3})')
TANH = re.compile(r'tanh\((-?\d+\.\d{3})\) = (-?\d+\.\d{3})')
SHARE = re.compile(r'([fiorz]) = (\d\.\d{3}): (?:keeps|writes|shows|lets) (\d+\.\d)%')
HANDOUT = re.compile(
    r'([fz]) = (\d\.\d{3}):[^\n]*?the handout would say (?:Forget|Update) = (\d\.\d{3})'
)
CARRIED = re.compile(r'old (?:memory|state) ([ch])_(\d+) = (-?\d+\.\d{3})')
RESULT = re.compile(r'([ch])_(\d+) = kept \+ written = [^=]+ = (-?\d+\.\d{3})')
# A text of 45 tokens in the shipped corpus's vocabulary (compact mode).
LONG = (
    'i remember the summer by the sea . the river runs to the sea and the bird sings in '
    'the morning . we love our home but the dog waits by the door . i forget the bad days '
    'and i love my friends .'
)
_MILLI = Decimal('0.001')


def _d(text: str) -> Decimal:
    return Decimal(text.strip('()'))


def _round(x) -> Decimal:
    d = Decimal(x).quantize(_MILLI, ROUND_HALF_UP)
    return d if d != 0 else Decimal('0.000')


def _printed_before(text: str, operand: str, at: int) -> bool:
    """``operand`` (as printed, without parentheses) appears in ``text`` before ``at``."""
    return re.search(rf'(?<![\d.]){re.escape(operand)}(?!\d)', text[:at]) is not None


def check_by_hand(text: str) -> dict[str, int]:
    """Recomputes every piece of arithmetic in a narration's text, as a learner would,
    from the digits it prints; returns how many of each kind were checked."""
    counts = dict(products=0, sums=0, one_minus=0, tanh=0, shares=0, handout=0, carried=0)
    for m in PRODUCT.finditer(text):
        a, b, c = m.groups()
        assert _round(_d(a) * _d(b)) == _d(c), m.group(0)
        for operand in (a, b):
            assert _printed_before(text, operand.strip('()'), m.start()), (operand, m.group(0))
        counts['products'] += 1
    for m in SUM.finditer(text):
        a, b, c = m.groups()
        assert _d(a) + _d(b) == _d(c), m.group(0)
        for operand in (a, b):
            assert _printed_before(text, operand.strip('()'), m.start()), (operand, m.group(0))
        counts['sums'] += 1
    for m in ONE_MINUS.finditer(text):
        assert 1 - _d(m.group(1)) == _d(m.group(2)), m.group(0)
        counts['one_minus'] += 1
    for m in TANH.finditer(text):
        assert _round(math.tanh(float(m.group(1)))) == _d(m.group(2)), m.group(0)
        assert _printed_before(text, m.group(1), m.start())
        counts['tanh'] += 1
    for m in SHARE.finditer(text):
        assert _d(m.group(2)) * 100 == Decimal(m.group(3)), m.group(0)
        counts['shares'] += 1
    for m in HANDOUT.finditer(text):
        assert 1 - _d(m.group(2)) == _d(m.group(3)), m.group(0)
        counts['handout'] += 1
    # the memory carried into a step is the one the step before printed
    results = {(m.group(1), int(m.group(2))): m.group(3) for m in RESULT.finditer(text)}
    for m in CARRIED.finditer(text):
        state, p, value = m.group(1), int(m.group(2)), m.group(3)
        if p == 0:  # the initial state: given, not computed
            pass
        elif (state, p) in results:
            assert results[(state, p)] == value, m.group(0)
        else:  # compact: a step narrated after the table, its old state from the table
            assert _printed_before(text, value, m.start()), m.group(0)
        counts['carried'] += 1
    return counts


def check_reason(narration) -> None:
    """The heading's numbers (why this unit) are the narration's printed ones."""
    m = re.search(r'([ch])_(\d+) = (-?\d+\.\d{3}) -> [ch]_(\d+) = (-?\d+\.\d{3})', narration.reason)
    assert m, narration.reason
    step = narration.steps[int(m.group(4)) - 1]
    assert int(m.group(2)) == step.index - 1
    assert step.numbers['old'] == Decimal(m.group(3))
    assert step.numbers[m.group(1)] == Decimal(m.group(5))
    assert step.change == max(s.change for s in narration.steps)


def check_table(narration) -> int:
    """Recomputes every row of the compact table from its own digits."""
    rows = narration.table()
    names = _narrate.COLUMNS[narration.cell]
    state = 'c' if narration.cell == 'lstm' else 'h'
    previous = None
    for line in rows[1:]:
        cells = line.split()
        numbers = [c for c in cells if re.fullmatch(r'-?\d+\.\d{3}', c)]
        x = dict(zip(names, (Decimal(c) for c in numbers), strict=True))
        if previous is not None:
            assert x['old'] == previous
        assert _round(x['f' if state == 'c' else 'z'] * x['old']) == x['kept']
        if state == 'c':
            assert _round(x['i'] * x['g']) == x['written']
            assert _round(math.tanh(x['c'])) == x['tanh'] and _round(x['o'] * x['tanh']) == x['h']
        else:
            assert x['write'] == 1 - x['z'] and _round(x['write'] * x['n']) == x['written']
        assert x['kept'] + x['written'] == x[state]
        previous = x[state]
    return len(rows) - 1


@pytest.mark.usefixtures('float32_defaults')
@pytest.mark.parametrize('cell', teach.CELLS)
@pytest.mark.parametrize('sentence', ['I love myself', LONG], ids=['demo', 'long'])
def test_every_number_can_be_recomputed_by_hand(cell, sentence):
    tokens, trace, top = teach.shipped(cell).read(sentence)
    narration = teach.narrate(trace, tokens, predictions=top)
    text = narration.text()
    counts = check_by_hand(text)
    shown = len(narration.eventful) if narration.compact else len(tokens)
    per_step = 3 if cell == 'lstm' else 2  # kept, written (and h = o x tanh(c))
    assert counts['products'] == per_step * shown
    assert counts['sums'] == shown and counts['handout'] == shown
    assert counts['carried'] == shown
    assert counts['shares'] == (3 if cell == 'lstm' else 2) * shown  # f, i, o; r, z
    assert counts['tanh'] == (shown if cell == 'lstm' else 0)
    assert counts['one_minus'] == (shown if cell == 'gru' else 0)
    check_reason(narration)
    if sentence == LONG:
        assert len(tokens) >= 40 and narration.compact and len(narration.eventful) == 3
        assert check_table(narration) == len(tokens)
        # the readout at every step, in the table: word and probability
        assert all(re.search(r'  "[^"]+" (\d+%|<1%|>99%)', row) for row in narration.table()[1:])
        assert len(text.splitlines()) < 120  # not ~520 lines of near-identical text
    else:
        assert not narration.compact


def test_numbers_are_the_trace(traced):
    kind, trace, initial = traced
    story = teach.narrate(trace, TOKENS, unit=2, initial=initial)
    rows = {k: np.asarray(v, np.float64)[0] for k, v in trace._asdict().items()}
    state = 'c' if kind == 'lstm' else 'h'
    start = initial[0] if kind == 'lstm' else initial
    assert story.steps[0].numbers['old'] == _round(float(np.asarray(start)[2]))
    drift = 0.0
    for t, step in enumerate(story.steps):
        for gate in 'figo' if kind == 'lstm' else 'rzn':
            assert step.numbers[gate] == _round(float(rows[gate][t, 2])), (gate, t)
            assert f'{gate} = {step.numbers[gate]:.3f}' in story.text()
        drift = max(drift, abs(float(step.numbers[state]) - rows[state][t, 2]))
        # the printed state stays within rounding of the network's
        assert abs(float(step.numbers[state]) - rows[state][t, 2]) < 0.01
    assert story.drift >= drift and f'{story.drift:.4f}' in story.text()
    check_by_hand(story.text())


def test_the_spotlight_is_the_unit_whose_memory_moved_most(traced):
    kind, trace, initial = traced
    rows = {k: np.asarray(v, np.float64)[0] for k, v in trace._asdict().items()}
    state = rows['c' if kind == 'lstm' else 'h']
    start = np.asarray(initial[0] if kind == 'lstm' else initial, np.float64)
    old = np.concatenate([start[None], state[:-1]])
    change = np.abs(state - old)
    story = teach.narrate(trace, TOKENS, initial=initial)
    assert story.unit == int(np.argmax(change.max(axis=0)))
    assert f'at step {int(np.argmax(change.max(axis=1))) + 1}' in story.reason
    keep = rows['f' if kind == 'lstm' else 'z']
    erased = (1 - keep) * np.abs(old)
    by_erase = teach.narrate(trace, TOKENS, initial=initial, spotlight='erase')
    assert by_erase.unit == int(np.argmax(erased.max(axis=0)))
    assert teach.narrate(trace, TOKENS, unit=1).reason == 'chosen by hand'
    check_reason(story)
    erase = by_erase.steps[int(np.argmax(erased.max(axis=1)))]
    keep_name = 'f' if kind == 'lstm' else 'z'
    assert f'{keep_name} = {erase.numbers[keep_name]:.3f} on' in by_erase.reason


def test_means_are_labelled_and_not_multiplied(traced):
    kind, trace, _ = traced
    story = teach.narrate(trace, TOKENS)
    rows = {k: np.asarray(v, np.float64)[0] for k, v in trace._asdict().items()}
    for t, step in enumerate(story.steps):
        (means,) = [line for line in step.lines if line.role == 'All units']
        assert means.words.startswith(f'means over all {H} units')
        for name in _values.kind_of(trace).gates:
            assert f'{name} {np.mean(rows[name][t]):.3f}' in means.words
        assert ' x ' not in means.words and ' = ' not in means.words


def test_zero_start_only_when_the_memory_starts_at_zero(traced):
    kind, trace, initial = traced
    assert 'zero at the start' not in teach.narrate(trace, TOKENS, initial=initial).text()
    zero = teach.narrate(trace, TOKENS).text()
    assert ('zero at the start' in zero) == (kind == 'lstm')
    names = 'c and h' if kind == 'lstm' else 'h'
    assert f'the printed {names} differ from the network' in zero


def test_conventions_and_the_handout_are_stated(traced):
    kind, trace, _ = traced
    text = teach.narrate(trace, TOKENS).text()
    if kind == 'lstm':
        assert 'f is the share of the old memory c kept' in text
        assert '"Forget = 0.4 (keep 60%)" is f = 0.6 here' in text
        assert '"Forget = 0 (keep all old memory)", is f = 1 here' in text
    else:
        assert 'z is the share of the OLD state h kept' in text
        assert '"Update = 0.6 (60% new, 40% old)" is z = 0.4 here' in text
        assert 'contradicts itself' in text


def test_readout_top_words_and_compact_switch(traced):
    _, trace, _ = traced
    top = [[('a', 0.5), ('b', 0.3), ('c', 0.001)]] * T
    story = teach.narrate(trace, TOKENS, predictions=top)
    assert story.steps[2].lines[-1].role == 'Readout'
    assert story.steps[2].lines[-1].words.endswith('"a" 50%, "b" 30%, "c" <1%.')
    words = teach.narrate(trace, TOKENS, predictions=['a', 'b', 'c', 'd', 'e'])
    assert '"c" next' in words.steps[2].lines[-1].words
    compact = teach.narrate(trace, TOKENS, compact=True)
    assert compact.compact and len(compact.eventful) == 3
    text = compact.text()
    assert text.count('\nStep ') == 3 and len(compact.table()) == T + 1
    check_by_hand(text)
    check_table(compact)
    assert not teach.narrate(trace, TOKENS).compact  # 5 steps: full by default


def test_the_checker_catches_a_wrong_product():
    """The parser is not vacuous: one wrong digit fails it."""
    text = (
        'f = 0.500: keeps 50.0% of\nold memory c_0 = 0.300\nkept = f x c_0 = 0.500 x 0.300 = 0.151'
    )
    with pytest.raises(AssertionError):
        check_by_hand(text)
    assert check_by_hand(text.replace('0.151', '0.150'))['products'] == 1


def test_errors(traced):
    _, trace, _ = traced
    with pytest.raises(ValueError, match='tokens has 2 entries but the trace has 5 steps'):
        teach.narrate(trace, TOKENS[:2])
    with pytest.raises(ValueError, match=rf'unit must be in \[0, {H}\)'):
        teach.narrate(trace, TOKENS, unit=H)
    with pytest.raises(ValueError, match='spotlight must be one of change, erase'):
        teach.narrate(trace, TOKENS, spotlight='big')
    with pytest.raises(ValueError, match='spotlight must be one of change, erase'):
        teach.narrate(trace, TOKENS, unit=1, spotlight='big')
    with pytest.raises(TypeError, match='LSTMTrace or GRUTrace'):
        teach.narrate(SimpleTrace(np.zeros((T, H))), TOKENS)
