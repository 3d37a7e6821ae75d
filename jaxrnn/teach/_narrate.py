"""Narration: the class role-play (one person per gate, each announcing its decision at
every step), acted by a real network with the numbers of its trace, followed through one
*spotlight* unit whose arithmetic a learner can check by hand.

Every number of the spotlight is printed to three decimals, and every result (a product,
a sum, a ``tanh``) is computed from the *printed* numbers, halves rounded away from zero,
so that the learner's hand arithmetic gives the same digits. The memory carried from step to step is
the printed one; how far it drifts from the network's unrounded memory is measured and
stated. Means over all units are printed on their own line, labelled as means, and never
multiplied.

Conventions, stated in every narration: the LSTM forget gate ``f`` is the share of the
old memory *kept* (1 keeps all of it, 0 erases it); the GRU update gate ``z`` (PyTorch,
Flax, cuDNN and Keras) is the share of the *old* state kept, ``1 - z`` the share taken
from the candidate. The class handout counts both the other way; every narration says
how to translate.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from decimal import ROUND_HALF_UP, Decimal

import numpy as np

from jaxrnn.teach import _values

COMPACT_AFTER = 12
"""Narrations of more steps than this are compact by default: a table of the spotlight's
numbers at every step, then the three most eventful steps narrated in full."""

EVENTFUL = 3
"""How many steps a compact narration narrates in full."""

CONVENTIONS = {
    'lstm': (
        'Gates are shares between 0 and 1. f is the share of the old memory c kept '
        '(f = 1 keeps all of it, f = 0 erases it); i is the share of the candidate g '
        'written; o is the share of tanh(c) shown as the output h.'
    ),
    'gru': (
        'Gates are shares between 0 and 1. z is the share of the OLD state h kept and '
        '1 - z the share taken from the candidate n (the convention of PyTorch, Flax, '
        "cuDNN and Keras); r is the share of the old state's recurrent term let into the "
        'candidate.'
    ),
}

# The class handout (the role-play sheet "Be the Memory Network!"), translated: what its
# numbers mean here, and where it contradicts itself.
HANDOUT = {
    'lstm': (
        'The role-play handout counts the forget gate the other way round: its "Forget" '
        'is the share ERASED, so its "Forget = 0.4 (keep 60%)" is f = 0.6 here, and '
        "f = 1 - the handout's Forget at every step. The handout also contradicts itself: "
        'after "Forget = 0.4 (keep 60%)" its memory update multiplies the old memory by '
        '0.4, the share it said it erases, and "Forget = 0.2 (keep 80%)" is followed by '
        '0.2 x the old memory. Its step 1, "Forget = 0 (keep all old memory)", is f = 1 '
        'here; f = 0 would erase everything (at its step 1 nothing is erased either way: the '
        'handout starts with no memory). Its forget and input values always add up to 1; '
        'in a real LSTM f and i are separate gates and need not. And it lists an output '
        'gate but never uses one: its h is the memory itself, where here h = o x tanh(c).'
    ),
    'gru': (
        'The role-play handout counts the update gate the other way round: its "Update" '
        'is the share of NEW information, so its "Update = 0.6 (60% new, 40% old)" is '
        "z = 0.4 here, and z = 1 - the handout's Update at every step (its step 1, "
        '"Update = 1 (100% new information)", is z = 0). The handout also contradicts '
        'itself: its '
        'background says the update gate controls how much OLD memory to keep (the '
        'convention here) while its example uses the share of new; and it describes the '
        'reset gate as deciding how much previous memory to erase, then uses "Reset = 1" '
        'to keep everything. Its reset value means the same as r here: 1 lets all of the '
        'old state into the candidate.'
    ),
}

# Per cell kind, the roles' equations, keyed by the trace's names; ``{n}`` is the step,
# ``{p}`` the step before.
EQUATIONS = {
    'lstm': {
        'f': 'f = sigmoid(x_{n} W_f + h_{p} U_f + b_f)',
        'i': 'i = sigmoid(x_{n} W_i + h_{p} U_i + b_i)',
        'g': 'g = tanh(x_{n} W_g + h_{p} U_g + b_g)',
        'c': 'c_{n} = f * c_{p} + i * g',
        'o': 'o = sigmoid(x_{n} W_o + h_{p} U_o + b_o);  h_{n} = o * tanh(c_{n})',
        'h': 'h_{n} = o * tanh(c_{n})',
    },
    'gru': {
        'r': 'r = sigmoid(x_{n} W_r + b_r + h_{p} U_r)',
        'z': 'z = sigmoid(x_{n} W_z + b_z + h_{p} U_z)',
        'n': 'n = tanh(x_{n} W_n + b_n + r * (h_{p} U_n + b_hn))',
        'h': 'h_{n} = z * h_{p} + (1 - z) * n',
    },
}

# The spotlight's numbers per step, in the order of the compact table's columns.
COLUMNS = {
    'lstm': ('old', 'f', 'i', 'g', 'kept', 'written', 'c', 'o', 'tanh', 'h'),
    'gru': ('old', 'r', 'z', 'write', 'n', 'kept', 'written', 'h'),
}
HEADERS = {
    'old': {'lstm': 'c_(t-1)', 'gru': 'h_(t-1)'},
    'kept': {'lstm': 'f*c_(t-1)', 'gru': 'z*h_(t-1)'},
    'written': {'lstm': 'i*g', 'gru': '(1-z)*n'},
    'tanh': {'lstm': 'tanh(c)'},
    'write': {'gru': '1-z'},
}

_MILLI = Decimal('0.001')
_CARRIED = {'lstm': ('c', 'h'), 'gru': ('h',)}


def rounded(x: float | Decimal) -> Decimal:
    """``x`` to three decimals, halves away from zero (``ROUND_HALF_UP``: 0.0125 -> 0.013,
    -0.0125 -> -0.013), as a :class:`~decimal.Decimal` (no ``-0.000``)."""
    d = (x if isinstance(x, Decimal) else Decimal(float(x))).quantize(_MILLI, ROUND_HALF_UP)
    return d if d != 0 else Decimal('0.000')


def _v(d: Decimal) -> str:
    return f'{d:.3f}'


def _t(d: Decimal) -> str:
    """An operand: negative values in parentheses (``0.2 x (-0.1)``)."""
    return _v(d) if d >= 0 else f'({_v(d)})'


def _pct(d: Decimal) -> str:
    return f'{d * 100:.1f}%'


def _signed(d: Decimal) -> str:
    return f'+{_v(d)}' if d > 0 else _v(d)


@dataclasses.dataclass(frozen=True)
class Line:
    """One role's announcement at one step.

    Attributes:
      role: who speaks (``'Forget gate'``).
      symbol: the quantity announced (``'f'``; ``'c'`` or ``'h'`` for the memory
        tracker), or ``''`` for a line without one (the input provider, the means, the
        readout).
      value: the spotlight unit's printed value (three decimals), or ``None``.
      words: what the role says, with its numbers and arithmetic.
      equation: the equation the role applies at this step, or ``''``.
    """

    role: str
    symbol: str
    value: Decimal | None
    words: str
    equation: str = ''


@dataclasses.dataclass(frozen=True)
class Step:
    """The announcements at one step.

    Attributes:
      index: the step, from 1, in reading order.
      token: the token read at this step.
      numbers: the spotlight unit's printed numbers at this step, by name (LSTM ``old``
        (``c_(t-1)``), ``f, i, g, kept, written, c, o, tanh, h``; GRU ``old``
        (``h_(t-1)``), ``r, z, write`` (``1 - z``), ``n, kept, written, h``).
      lines: one :class:`Line` per role, in speaking order.
      readout: the likeliest next words after this step, ``(word, probability)`` pairs
        (the probability ``None`` when only the word was given); empty without
        predictions.
    """

    index: int
    token: str
    numbers: Mapping[str, Decimal]
    lines: tuple[Line, ...]
    readout: tuple[tuple[str, float | None], ...] = ()

    @property
    def change(self) -> Decimal:
        """How far the spotlight's memory moved at this step, ``|new - old|``."""
        new = self.numbers['c' if 'c' in self.numbers else 'h']
        return abs(new - self.numbers['old'])


@dataclasses.dataclass(frozen=True)
class Narration:
    """The role-play of one sentence, followed through one spotlight unit; made by
    :func:`narrate`. ``str()`` renders it as text (:meth:`text`).

    Attributes:
      cell: ``'lstm'`` or ``'gru'``.
      tokens: the ``t`` tokens read.
      unit: the spotlight unit whose arithmetic is printed.
      reason: why that unit (chosen automatically, or given).
      hidden: the number of hidden units ``h``.
      convention: what the gates' values mean here.
      handout: the role-play handout's numbers translated, and its contradictions.
      drift: the largest difference between a printed state (LSTM ``c`` and ``h``, GRU
        ``h``) and the network's unrounded one over the sentence (the rounding's only
        effect).
      steps: one :class:`Step` per token, in reading order, each narrated in full.
      compact: whether :meth:`text` shows a table of every step and narrates only the
        :attr:`eventful` steps.
      eventful: the indices (from 1) of the steps a compact text narrates in full: the
        three where the spotlight's memory moved the most.

    Examples:
      >>> from jaxrnn import teach
      >>> tokens, trace, _ = teach.shipped('gru').trace('I love myself')
      >>> narration = teach.narrate(trace, tokens, unit=3)
      >>> narration.cell, narration.tokens, narration.unit, narration.hidden
      ('gru', ('i', 'love', 'myself'), 3, 32)
      >>> [line.role for line in narration.steps[1].lines]
      ['Input provider', 'Reset gate', 'Update gate', 'Candidate', 'Memory tracker', 'All units']
      >>> numbers = narration.steps[1].numbers
      >>> numbers['h'] == numbers['kept'] + numbers['written']  # exact in the printed digits
      True
    """

    cell: str
    tokens: tuple[str, ...]
    unit: int
    reason: str
    hidden: int
    convention: str
    handout: str
    drift: float
    steps: tuple[Step, ...]
    compact: bool = False
    eventful: tuple[int, ...] = ()

    def table(self) -> list[str]:
        """The spotlight's numbers at every step as fixed-width text rows (a header
        first): the step, the token, then :data:`COLUMNS`, and, with predictions, the
        likeliest next words (``next``)."""
        names = COLUMNS[self.cell]
        heads = [HEADERS.get(name, {}).get(self.cell, name) for name in names]
        width = max(len(t) for t in self.tokens) + 2
        head = f'{"t":>3}  {"token":<{width}}' + ''.join(f'{h:>10}' for h in heads)
        readout = any(step.readout for step in self.steps)
        rows = [head + ('  next' if readout else '')]
        for step in self.steps:
            cells = ''.join(f'{_v(step.numbers[name]):>10}' for name in names)
            words = '  ' + _words(step.readout) if readout else ''
            rows.append(f'{step.index:>3}  {step.token:<{width}}{cells}{words}')
        return rows

    def rounding(self) -> str:
        """The sentence that states the rounding rule and the measured drift."""
        names = ' and '.join(_CARRIED[self.cell])
        return (
            f'Every number of unit {self.unit} is rounded to 3 decimals (halves away from '
            'zero), and every result is computed from the printed numbers, so you get the '
            f"same digits by hand; the printed {names} differ from the network's unrounded "
            f'ones by at most {self.drift:.4f} in this sentence.'
        )

    def text(self) -> str:
        """The narration as text.

        A heading naming the cell, the sentence and the spotlight unit (and why), the
        rounding rule, the convention and the handout's translation; then either every
        step (a line ``Step n: "token"``, then one line ``Role: words`` per role, the
        equations at the first step narrated) or, when :attr:`compact`, the table of
        every step followed by the :attr:`eventful` steps in full.
        """
        name = self.cell.upper()
        out = [
            f'{name} reads "{" ".join(self.tokens)}", followed through unit {self.unit} of '
            f'{self.hidden}: {self.reason}.',
            self.rounding(),
            self.convention,
            'Handout: ' + self.handout,
            '',
        ]
        shown = self.steps
        if self.compact:
            out.append(
                f'{len(self.steps)} steps: unit {self.unit} at every step (columns as in '
                f'the steps below), then the {len(self.eventful)} steps where its memory '
                'moved the most, in full.'
            )
            out.extend(self.table())
            out.append('')
            shown = tuple(s for s in self.steps if s.index in self.eventful)
        for k, step in enumerate(shown):
            out.append(f'Step {step.index}: "{step.token}"')
            for line in step.lines:
                out.append(f'  {line.role}: {line.words}')
                if line.equation and k == 0:
                    out.append(f'      {line.equation}')
            out.append('')
        return '\n'.join(out).rstrip() + '\n'

    def __str__(self) -> str:
        return self.text()


def _memory_words(old: Decimal, kept: Decimal, written: Decimal, new: Decimal) -> str:
    """What happened to the memory, in words."""
    if abs(kept) >= 2 * abs(written):
        how = 'mostly kept'
    elif abs(written) >= 2 * abs(kept):
        how = 'mostly new content'
    else:
        how = 'a mix of kept and new'
    if old * new < 0 and min(abs(old), abs(new)) >= Decimal('0.05'):
        how += ', and it changed sign'
    return f'from {_v(old)} to {_v(new)}: {how}'


def _lstm_numbers(net: Mapping[str, float], old: Decimal) -> dict[str, Decimal]:
    """One LSTM step of one unit in printed digits, from the network's gate values
    ``net`` (floats) and the printed old memory ``old``::

      f, i, g, o = rounded(net)            (the network's gates, 3 decimals)
      kept = rounded(f * old)              written = rounded(i * g)
      c = kept + written                   (exact: both have 3 decimals)
      tanh = rounded(tanh(c))              h = rounded(o * tanh)
    """
    f, i, g, o = (rounded(net[k]) for k in 'figo')
    kept, written = rounded(f * old), rounded(i * g)
    c = kept + written
    tanh = rounded(Decimal(math.tanh(float(c))))
    h = rounded(o * tanh)
    return dict(old=old, f=f, i=i, g=g, kept=kept, written=written, c=c, o=o, tanh=tanh, h=h)


def _gru_numbers(net: Mapping[str, float], old: Decimal) -> dict[str, Decimal]:
    """One GRU step of one unit in printed digits, from the network's gate values ``net``
    and the printed old state ``old``::

      r, z, n = rounded(net)               write = 1 - z (exact)
      kept = rounded(z * old)              written = rounded(write * n)
      h = kept + written
    """
    r, z, n = (rounded(net[k]) for k in 'rzn')
    write = 1 - z
    kept, written = rounded(z * old), rounded(write * n)
    return dict(old=old, r=r, z=z, write=write, n=n, kept=kept, written=written, h=kept + written)


def _lstm_lines(x: Mapping[str, Decimal], n: int, u: int) -> list[Line]:
    p = n - 1
    eq = {k: e.format(n=n, p=p) for k, e in EQUATIONS['lstm'].items()}
    old = x['old']
    start = ' (zero at the start: nothing to keep, whatever f is)' if p == 0 and old == 0 else ''
    return [
        Line(
            'Forget gate',
            'f',
            x['f'],
            f"f = {_v(x['f'])}: keeps {_pct(x['f'])} of unit {u}'s old memory c_{p} = "
            f'{_v(old)}{start}; the handout would say Forget = {_v(1 - x["f"])}.',
            eq['f'],
        ),
        Line(
            'Input gate',
            'i',
            x['i'],
            f'i = {_v(x["i"])}: writes {_pct(x["i"])} of the candidate into the memory.',
            eq['i'],
        ),
        Line(
            'Candidate',
            'g',
            x['g'],
            f'g = {_v(x["g"])}: proposes {_signed(x["g"])} as new content for the memory '
            f'({"up" if x["g"] >= 0 else "down"}; between -1 and 1).',
            eq['g'],
        ),
        Line(
            'Memory tracker',
            'c',
            x['c'],
            f'kept = f x c_{p} = {_v(x["f"])} x {_t(old)} = {_v(x["kept"])}; '
            f'written = i x g = {_v(x["i"])} x {_t(x["g"])} = {_v(x["written"])}; '
            f'c_{n} = kept + written = {_v(x["kept"])} + {_t(x["written"])} = {_v(x["c"])}. '
            f"Unit {u}'s memory went " + _memory_words(old, x['kept'], x['written'], x['c']) + '.',
            eq['c'],
        ),
        Line(
            'Output gate',
            'o',
            x['o'],
            f'o = {_v(x["o"])}: shows {_pct(x["o"])} of tanh(c_{n}) as the output: '
            f'tanh({_v(x["c"])}) = {_v(x["tanh"])}; h_{n} = o x tanh(c_{n}) = '
            f'{_v(x["o"])} x {_t(x["tanh"])} = {_v(x["h"])}.',
            eq['o'],
        ),
    ]


def _gru_lines(x: Mapping[str, Decimal], n: int, u: int) -> list[Line]:
    p = n - 1
    eq = {k: e.format(n=n, p=p) for k, e in EQUATIONS['gru'].items()}
    old = x['old']
    return [
        Line(
            'Reset gate',
            'r',
            x['r'],
            f"r = {_v(x['r'])}: lets {_pct(x['r'])} of the old state's recurrent term into "
            'the candidate (it shapes n; it does not touch the memory directly).',
            eq['r'],
        ),
        Line(
            'Update gate',
            'z',
            x['z'],
            f"z = {_v(x['z'])}: keeps {_pct(x['z'])} of unit {u}'s old state h_{p} = "
            f'{_v(old)} and takes 1 - z = 1 - {_v(x["z"])} = {_v(x["write"])} from the '
            f'candidate; the handout would say Update = {_v(x["write"])}.',
            eq['z'],
        ),
        Line(
            'Candidate',
            'n',
            x['n'],
            f'n = {_v(x["n"])}: proposes {_signed(x["n"])} as the new state '
            f'({"up" if x["n"] >= 0 else "down"}; between -1 and 1).',
            eq['n'],
        ),
        Line(
            'Memory tracker',
            'h',
            x['h'],
            f'kept = z x h_{p} = {_v(x["z"])} x {_t(old)} = {_v(x["kept"])}; '
            f'written = (1 - z) x n = {_v(x["write"])} x {_t(x["n"])} = {_v(x["written"])}; '
            f'h_{n} = kept + written = {_v(x["kept"])} + {_t(x["written"])} = {_v(x["h"])}. '
            f"Unit {u}'s state went " + _memory_words(old, x['kept'], x['written'], x['h']) + '.',
            eq['h'],
        ),
    ]


def _reason(choice: _values.Choice, steps: list[Step], kind: _values.Kind, hidden: int) -> str:
    """Why the spotlight was chosen, with the narration's own printed numbers."""
    step = steps[choice.step]
    n, state = step.index, kind.state
    old, new = step.numbers['old'], step.numbers[state]
    where = f'at step {n} ("{step.token}")'
    if choice.by == 'change':
        return (
            f'its {state} changed the most in one step of all {hidden} units: '
            f'{state}_{n - 1} = {_v(old)} -> {state}_{n} = {_v(new)} {where}'
        )
    keep = step.numbers[kind.keep]
    return (
        f'its {kind.keep} gate erased the most in one step of all {hidden} units: '
        f'{kind.keep} = {_v(keep)} on {state}_{n - 1} = {_v(old)} {where}'
    )


def _means_line(one: _values.Row, t: int) -> Line:
    """The means over all units at step ``t``, labelled as such."""
    kind = one.kind
    names = [*kind.gates, kind.state]
    parts = [f'{name} {np.mean(one.fields[name][t]):.3f}' for name in names]
    parts.append(f'|{kind.state}| {np.mean(np.abs(one.fields[kind.state][t])):.3f}')
    return Line(
        'All units',
        '',
        None,
        f'means over all {one.hidden} units (each a mean of that quantity; means are not '
        'multiplied with each other): ' + ', '.join(parts) + '.',
    )


def share(p: float) -> str:
    """A probability as a percentage, ``'<1%'`` below 0.5% and ``'>99%'`` above 99.5%."""
    return '<1%' if p < 0.005 else '>99%' if p > 0.995 else f'{100 * p:.0f}%'


def _words(readout) -> str:
    """``'"love" 27%, "my" 20%'`` (or ``'"love"'`` without probabilities)."""
    return ', '.join(f'"{w}"' + ('' if p is None else f' {share(p)}') for w, p in readout)


def _readout(prediction) -> tuple[tuple[str, float | None], ...]:
    if isinstance(prediction, str):
        return ((prediction, None),)
    return tuple((str(w), float(p)) for w, p in prediction)


def _readout_line(readout, n: int, hidden: int) -> Line:
    """The readout's line from a step's :attr:`Step.readout`."""
    if readout and readout[0][1] is None:  # only the likeliest word was given
        return Line('Readout', '', None, f'from h_{n}, the model expects {_words(readout)} next.')
    return Line(
        'Readout',
        '',
        None,
        f'from all {hidden} units of h_{n}, the likeliest next words: {_words(readout)}.',
    )


def narrate(
    trace,
    tokens,
    *,
    unit: int | None = None,
    spotlight: str = 'change',
    batch: int = 0,
    initial=None,
    predictions=None,
    compact: bool | None = None,
) -> Narration:
    """The role-play narration of an LSTM or GRU trace, followed through one spotlight
    unit: at every step each gate (a role) announces the unit's value and what it does to
    the unit's memory, and the memory tracker does the arithmetic.

    The roles, in speaking order (``x_n`` the input at step ``n``, ``h_p`` and ``c_p``
    the state before it; ``*`` elementwise)::

      Input provider   passes x_n (the embedding of the token) to every gate
      LSTM  Forget gate       f = sigmoid(x_n W_f + h_p U_f + b_f)   share of c_p kept
            Input gate        i = sigmoid(x_n W_i + h_p U_i + b_i)   share of g written
            Candidate         g = tanh(x_n W_g + h_p U_g + b_g)
            Memory tracker    c_n = f * c_p + i * g   (kept + written)
            Output gate       o = sigmoid(x_n W_o + h_p U_o + b_o);  h_n = o * tanh(c_n)
      GRU   Reset gate        r = sigmoid(x_n W_r + b_r + h_p U_r)
            Update gate       z = sigmoid(x_n W_z + b_z + h_p U_z)   share of h_p kept
            Candidate         n = tanh(x_n W_n + b_n + r * (h_p U_n + b_hn))
            Memory tracker    h_n = z * h_p + (1 - z) * n   (kept + written)
      All units        the means over all units of every gate and of the state
      Readout          the likeliest next words (only with predictions)

    The spotlight's numbers are rounded to three decimals (halves away from zero), and
    every product, sum and ``tanh`` is computed from the printed numbers, so a learner
    gets the same digits by hand. The memory carried to the next step is the printed one; the
    narration states how far it drifts from the network's unrounded memory
    (:attr:`Narration.drift`). The gates' values come from the trace, the state before
    step 1 from ``initial`` (zeros by default). The GRU's equations are printed in the
    reset-after form (jaxrnn's default, as PyTorch and cuDNN); a trace of a
    ``reset_after=False`` GRU has the same r, z, n and h, but its candidate is
    ``tanh(x W_n + b_n + (r * h_p) U_n)``.

    Args:
      trace: an ``LSTMTrace`` or ``GRUTrace`` (fields ``[t, h]`` or ``[b, t, h]``,
        batch-major, in input order, as a forward layer returns it).
      tokens: the ``t`` tokens read (strings), one per step.
      unit: the spotlight unit (``0 <= unit < h``); by default chosen by ``spotlight``.
      spotlight: how to choose the unit when ``unit`` is not given: ``'change'``, the
        unit whose memory moved the most in one step, or ``'erase'``, the unit whose
        keeping gate erased the most in one step (:data:`jaxrnn.teach.SPOTLIGHTS`).
      batch: which sequence of a batched trace.
      initial: the initial carry of that sequence (LSTM ``(c, h)``, GRU ``h``, each
        ``[h]``); zeros by default.
      predictions: optionally, after each step, the likeliest next words as ``t`` lists
        of ``(word, probability)`` pairs (as :meth:`Trained.read` returns them), or ``t``
        strings; announced by a last role, the readout.
      compact: print a table of every step and only the three most eventful steps in
        full; by default when the sentence has more than
        :data:`~jaxrnn.teach.COMPACT_AFTER` (12) steps.

    Returns:
      A :class:`Narration`; ``str()`` of it is the text.

    Raises:
      TypeError: ``trace`` is not an ``LSTMTrace`` or ``GRUTrace``.
      ValueError: ``tokens`` or ``predictions`` do not have one entry per step, ``unit``
        is out of range, or ``spotlight`` is unknown.

    Examples:
      >>> from jaxrnn import teach
      >>> trained = teach.shipped('lstm')
      >>> tokens, trace, top = trained.read('I love myself')
      >>> narration = teach.narrate(trace, tokens, predictions=top)
      >>> print(narration)
      LSTM reads "i love myself", followed through unit ... of 32: its c changed the most ...
      ...
      Step 1: "i"
        Input provider: passes x_1, the embedding of "i", to every gate.
        Forget gate: f = ...: keeps ...% of unit ...'s old memory c_0 = 0.000 (zero at the ...
            f = sigmoid(x_1 W_f + h_0 U_f + b_f)
      ...
        Memory tracker: kept = f x c_0 = ... x 0.000 = 0.000; written = i x g = ...
      ...
        Readout: from all 32 units of h_1, the likeliest next words: "love" ...%, ...
      ...
      >>> step = narration.steps[2]
      >>> step.numbers['c'] == step.numbers['kept'] + step.numbers['written']
      True
    """
    kind = _values.kind_of(trace, who='narrate')
    one = _values.row(trace, batch, initial=initial, kind=kind)
    steps, hidden = one.steps, one.hidden
    tokens = tuple(str(t) for t in tokens)
    if len(tokens) != steps:
        raise ValueError(f'tokens has {len(tokens)} entries but the trace has {steps} steps.')
    if predictions is not None and len(predictions) != steps:
        raise ValueError(f'predictions has {len(predictions)} entries for {steps} steps.')
    _values.check_spotlight(spotlight)
    _values.check_unit(unit, hidden)
    choice = None
    if unit is None:
        choice = _values.spotlight(one, spotlight)
        unit = choice.unit
    numbers = _lstm_numbers if kind.name == 'lstm' else _gru_numbers
    lines_of = _lstm_lines if kind.name == 'lstm' else _gru_lines
    old = rounded(one.initial[kind.state][unit])
    out, drift = [], 0.0
    for t in range(steps):
        net = {name: float(a[t, unit]) for name, a in one.fields.items()}
        x = numbers(net, old)
        for name in kind.carry:  # the printed states against the network's
            drift = max(drift, abs(float(x[name]) - net[name]))
        lines = [
            Line(
                'Input provider',
                '',
                None,
                f'passes x_{t + 1}, the embedding of "{tokens[t]}", to every gate.',
            ),
            *lines_of(x, t + 1, unit),
            _means_line(one, t),
        ]
        readout: tuple = ()
        if predictions is not None:
            readout = _readout(predictions[t])
            lines.append(_readout_line(readout, t + 1, hidden))
        out.append(Step(t + 1, tokens[t], x, tuple(lines), readout))
        old = x[kind.state]
    reason = 'chosen by hand' if choice is None else _reason(choice, out, kind, hidden)
    compact = steps > COMPACT_AFTER if compact is None else compact
    ranked = sorted(out, key=lambda s: (-s.change, s.index))[:EVENTFUL]
    return Narration(
        kind.name,
        tokens,
        unit,
        reason,
        hidden,
        CONVENTIONS[kind.name],
        HANDOUT[kind.name],
        drift,
        tuple(out),
        compact,
        tuple(sorted(s.index for s in ranked)) if compact else (),
    )
