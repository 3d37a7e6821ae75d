"""Narration: the class role-play (one person per gate, each announcing its decision at
every step), acted by a real network with the numbers of its trace.

Conventions, stated in every narration: the LSTM forget gate ``f`` is the share of the
old memory *kept* (1 keeps all of it, 0 erases it); the GRU update gate ``z`` (PyTorch,
Flax, cuDNN and Keras) is the share of the *old* state kept, ``1 - z`` the share taken
from the candidate. The memory tracker's arithmetic is printed so that it adds up: the
kept part plus the written part equals the new state, in the printed digits.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from jaxrnn.teach import _values

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


# Per cell kind, the gates' roles in speaking order, keyed by the trace's gate names:
# ``(role, equation, meaning)``. In the templates ``{n}`` is the step, ``{p}`` the step
# before; in a meaning ``{pct}`` is the value as a share, ``{rest}`` one minus it and
# ``{value}`` the value itself.
ROLES = {
    'lstm': {
        'f': (
            'Forget gate',
            'f = sigmoid(x_{n} W_f + h_{p} U_f + b_f)',
            'keeps {pct} of the old memory c_{p}',
        ),
        'i': (
            'Input gate',
            'i = sigmoid(x_{n} W_i + h_{p} U_i + b_i)',
            'writes {pct} of the candidate into memory',
        ),
        'g': (
            'Candidate memory',
            'g = tanh(x_{n} W_g + h_{p} U_g + b_g)',
            'proposes {value} as new content (between -1 and 1)',
        ),
        'o': (
            'Output gate',
            'o = sigmoid(x_{n} W_o + h_{p} U_o + b_o)',
            'shows {pct} of tanh(c_{n}) as the output h_{n}',
        ),
    },
    'gru': {
        'r': (
            'Reset gate',
            'r = sigmoid(x_{n} W_r + b_r + h_{p} U_r)',
            "lets {pct} of the old state's recurrent term into the candidate",
        ),
        'z': (
            'Update gate',
            'z = sigmoid(x_{n} W_z + b_z + h_{p} U_z)',
            'keeps {pct} of the old state h_{p}, takes {rest} from the candidate',
        ),
        'n': (
            'Candidate memory',
            'n = tanh(x_{n} W_n + b_n + r * (h_{p} U_n + b_hn))',
            'proposes {value} as the new state (between -1 and 1)',
        ),
    },
}

# Per cell kind, the memory tracker: ``(equation, its short form, the output's
# equation or '')``.
TRACKER = {
    'lstm': (
        'c_{n} = f * c_{p} + i * g;  h_{n} = o * tanh(c_{n})',
        'c_{n} = f*c_{p} + i*g',
        'h_{n} = o*tanh(c_{n})',
    ),
    'gru': ('h_{n} = z * h_{p} + (1 - z) * n', 'h_{n} = z*h_{p} + (1-z)*n', ''),
}


@dataclasses.dataclass(frozen=True)
class Line:
    """One role's announcement at one step.

    Attributes:
      role: who speaks (``'Forget gate'``).
      symbol: the quantity (``'f'``), or ``''`` for the input provider.
      equation: the equation the role applies.
      mean: the value averaged over hidden units (``nan`` for the input provider).
      unit: the chosen unit's value, or ``None``.
      words: what the value means, in words, with its numbers.
    """

    role: str
    symbol: str
    equation: str
    mean: float
    unit: float | None
    words: str


@dataclasses.dataclass(frozen=True)
class Step:
    index: int  # 1-based, in reading order
    token: str
    lines: tuple[Line, ...]


@dataclasses.dataclass(frozen=True)
class Narration:
    """The role-play of one sentence; ``str()`` renders it as text.

    Examples:
      >>> from jaxrnn import teach
      >>> tokens, trace, _ = teach.shipped('gru').trace('i love myself')
      >>> narration = teach.narrate(trace, tokens)
      >>> narration.cell, narration.hidden, len(narration.steps)
      ('gru', 32, 3)
      >>> str(narration) == narration.text()
      True
    """

    cell: str
    tokens: tuple[str, ...]
    unit: int | None
    hidden: int
    convention: str
    steps: tuple[Step, ...]

    def text(self) -> str:
        name = self.cell.upper()
        where = f'averaged over {self.hidden} units' + (
            f'; [unit {self.unit}] is one unit' if self.unit is not None else ''
        )
        out = [f'{name} reads "{" ".join(self.tokens)}" ({where}).', self.convention, '']
        for step in self.steps:
            out.append(f'Step {step.index}: "{step.token}"')
            for line in step.lines:
                out.append(f'  {line.role}: {line.words}')
                if line.equation:
                    out.append(f'      {line.equation}')
            out.append('')
        return '\n'.join(out).rstrip() + '\n'

    def __str__(self) -> str:
        return self.text()


def _f(v: float) -> str:
    return f'{v:.3f}'


def _pct(v: float) -> str:
    return f'{100 * v:.0f}%'


def _term(v: float) -> str:
    """A printed addend: negative values in parentheses (``0.2 + (-0.1)``)."""
    return _f(v) if v >= 0 else f'({_f(v)})'


def _sum_line(kept: float, total: float) -> tuple[str, str, str]:
    """Printed ``kept + written = total`` that adds up in three decimals: the total and
    the kept part are rounded, the written part is their difference, which is within
    0.001 of the written value because ``kept + written = total``."""
    t = round(total, 3)
    k = round(kept, 3)
    w = round(t - k, 3)
    return _term(k), _term(w), _f(t)


def _meaning(template: str, v: float, n: int, p: int) -> str:
    return template.format(n=n, p=p, pct=_pct(v), rest=_pct(1 - v), value=_f(v))


def _gate_line(
    kind: str, gate: str, n: int, mean: float, unit: int | None, one: float | None
) -> Line:
    """One gate's line at step ``n`` (1-based): its mean, and ``unit``'s value ``one``."""
    role, equation, meaning = ROLES[kind][gate]
    p = n - 1
    words = f'{gate} = {_f(mean)} on average: {_meaning(meaning, mean, n, p)}'
    if unit is not None and one is not None:
        words += f' [unit {unit}: {gate} = {_f(one)}, {_meaning(meaning, one, n, p)}]'
    return Line(role, gate, equation.format(n=n, p=p), mean, one, words)


def _tracker_line(one: _values.Row, t: int, unit: int | None) -> Line:
    """The memory tracker's line: ``state = keep * old + write * new``, worded as kept +
    written = total on average, with the factors for one unit when ``unit`` is given
    (and, for the LSTM, the output that reads the new memory)."""
    n, p = t + 1, t
    equation, short, output = (x.format(n=n, p=p) for x in TRACKER[one.kind.name])
    keep, write, new, old, kept, _, total = (a[t] for a in one.split)
    k, w, tot = _sum_line(float(np.mean(kept)), float(np.mean(total)))
    words = f'{short}: kept {k} + written {w} = {tot} on average'
    if unit is not None:
        ku, wu, tu = _sum_line(float(kept[unit]), float(total[unit]))
        words += (
            f' [unit {unit}: {_f(keep[unit])} x {_term(old[unit])} + {_f(write[unit])} x '
            f'{_term(new[unit])} = {ku} + {wu} = {tu}]'
        )
    if output:
        h = one.fields['h'][t]
        words += f'; {output} = {_f(float(np.mean(h)))} on average' + (
            '' if unit is None else f' [unit {unit}: {_f(float(h[unit]))}]'
        )
    return Line(
        'Memory tracker',
        one.kind.state,
        equation,
        float(np.mean(total)),
        None if unit is None else float(total[unit]),
        words,
    )


def _line(role: str, words: str) -> Line:
    """A line without a quantity (the input provider, the readout)."""
    return Line(role, '', '', float('nan'), None, words)


def narrate(
    trace,
    tokens,
    *,
    unit: int | None = None,
    batch: int = 0,
    initial=None,
    predictions=None,
) -> Narration:
    """The role-play narration of an LSTM or GRU trace.

    Args:
      trace: an ``LSTMTrace`` or ``GRUTrace`` (fields ``[t, h]`` or ``[batch, t, h]``,
        batch-major, in input order, as a forward layer returns it).
      tokens: the ``t`` tokens read (strings).
      unit: also report this hidden unit's values.
      batch: which sequence of a batched trace.
      initial: the initial carry of that sequence (``(c, h)`` or ``h``, each ``[h]``);
        zeros by default.
      predictions: optionally, the word a readout predicts after each step; announced
        by a last role, the readout.

    Returns:
      A :class:`Narration`; its numbers are the trace's (means over units, or the unit's
      value).

    Examples:
      >>> from jaxrnn import teach
      >>> lstm = teach.shipped('lstm')
      >>> tokens, trace, next_words = lstm.trace('i love myself')
      >>> narration = teach.narrate(trace, tokens, unit=3, predictions=next_words)
      >>> print(narration.text().splitlines()[0])
      LSTM reads "i love myself" (averaged over 32 units; [unit 3] is one unit).
      >>> print(str(narration).split('Step 2')[1].splitlines()[1])
        Input provider: passes x_2 = "love" (its embedding) to every gate.
    """
    kind = _values.kind_of(trace, who='narrate')
    one = _values.row(trace, batch, initial=initial, kind=kind)
    steps, hidden = one.steps, one.hidden
    tokens = tuple(str(t) for t in tokens)
    if len(tokens) != steps:
        raise ValueError(f'tokens has {len(tokens)} entries but the trace has {steps} steps.')
    if predictions is not None and len(predictions) != steps:
        raise ValueError(f'predictions has {len(predictions)} entries for {steps} steps.')
    if unit is not None and not 0 <= unit < hidden:
        raise ValueError(f'unit must be in [0, {hidden}), got {unit}.')
    roles = ROLES[kind.name]
    means = {g: _values.summary(one.fields[g]) for g in roles}
    ones = {g: _values.summary(one.fields[g], unit) for g in roles}
    out = []
    for t in range(steps):
        lines = [
            _line(
                'Input provider', f'passes x_{t + 1} = "{tokens[t]}" (its embedding) to every gate.'
            )
        ]
        if t == 0 and initial is None:
            zero = ' and '.join(f'{name}_0' for name in kind.carry)
            verb = 'are' if len(kind.carry) > 1 else 'is'
            lines.append(
                _line(
                    'Memory tracker',
                    f'starts empty: {zero} {verb} all zeros, so nothing old is kept yet.',
                )
            )
        for gate in roles:
            value = None if unit is None else float(ones[gate][t])
            lines.append(_gate_line(kind.name, gate, t + 1, float(means[gate][t]), unit, value))
        lines.append(_tracker_line(one, t, unit))
        if predictions is not None:
            lines.append(
                _line('Readout', f'from h_{t + 1}, the model expects "{predictions[t]}" next.')
            )
        out.append(Step(t + 1, tokens[t], tuple(lines)))
    return Narration(kind.name, tokens, unit, hidden, CONVENTIONS[kind.name], tuple(out))
