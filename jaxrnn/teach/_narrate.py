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

from jaxrnn.kernels import GRUTrace, LSTMTrace

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
    """The role-play of one sentence; ``str()`` renders it as text."""

    cell: str
    tokens: tuple[str, ...]
    unit: int | None
    hidden: int
    convention: str
    steps: tuple[Step, ...]

    def text(self) -> str:
        name = {'lstm': 'LSTM', 'gru': 'GRU'}[self.cell]
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


def _tracker_words(equation: str, keep, old, write, new, total, unit) -> str:
    """``state = keep * old + write * new``, worded as kept + written = total on
    average, and with the factors for one unit when ``unit`` is given."""
    kept = keep * old
    k, w, tot = _sum_line(float(np.mean(kept)), float(np.mean(total)))
    words = f'{equation}: kept {k} + written {w} = {tot} on average'
    if unit is not None:
        ku, wu, tu = _sum_line(float(kept[unit]), float(total[unit]))
        words += (
            f' [unit {unit}: {_f(keep[unit])} x {_term(old[unit])} + {_f(write[unit])} x '
            f'{_term(new[unit])} = {ku} + {wu} = {tu}]'
        )
    return words


def _rows(trace, batch: int):
    fields = trace._asdict()
    out = {}
    for name, value in fields.items():
        a = np.asarray(value, np.float64)
        if a.ndim == 3:
            a = a[batch]
        if a.ndim != 2:
            raise ValueError(f'trace.{name} must be [t, h] or [batch, t, h], got {a.shape}.')
        out[name] = a
    return out


def _value(a, unit):
    return float(np.mean(a)), (None if unit is None else float(a[unit]))


def _with_unit(text_mean: str, unit: int | None, text_unit: str | None) -> str:
    return text_mean if unit is None else f'{text_mean} [unit {unit}: {text_unit}]'


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
    """
    if isinstance(trace, LSTMTrace):
        cell = 'lstm'
    elif isinstance(trace, GRUTrace):
        cell = 'gru'
    else:
        raise TypeError(f'narrate needs an LSTMTrace or GRUTrace, got {type(trace).__name__}.')
    rows = _rows(trace, batch)
    steps, hidden = rows['h'].shape
    tokens = tuple(str(t) for t in tokens)
    if len(tokens) != steps:
        raise ValueError(f'tokens has {len(tokens)} entries but the trace has {steps} steps.')
    if predictions is not None and len(predictions) != steps:
        raise ValueError(f'predictions has {len(predictions)} entries for {steps} steps.')
    if unit is not None and not 0 <= unit < hidden:
        raise ValueError(f'unit must be in [0, {hidden}), got {unit}.')
    zeros = np.zeros(hidden)
    if cell == 'lstm':
        c0, h0 = (zeros, zeros) if initial is None else (np.asarray(p, np.float64) for p in initial)
    else:
        h0 = zeros if initial is None else np.asarray(initial, np.float64)
    out = []
    for t in range(steps):
        prev = t  # subscripts: x_{t+1} reads h_t
        lines = [
            Line(
                'Input provider',
                '',
                '',
                float('nan'),
                None,
                f'passes x_{t + 1} = "{tokens[t]}" (its embedding) to every gate.',
            )
        ]
        if cell == 'lstm':
            h_prev = h0 if t == 0 else rows['h'][t - 1]
            c_prev = c0 if t == 0 else rows['c'][t - 1]
            lines += _lstm_lines(rows, t, prev, c_prev, unit)
        else:
            h_prev = h0 if t == 0 else rows['h'][t - 1]
            lines += _gru_lines(rows, t, prev, h_prev, unit)
        if t == 0 and initial is None:
            state = 'c_0 and h_0 are' if cell == 'lstm' else 'h_0 is'
            lines.insert(
                1,
                Line(
                    'Memory tracker',
                    '',
                    '',
                    float('nan'),
                    None,
                    f'starts empty: {state} all zeros, so nothing old is kept yet.',
                ),
            )
        if predictions is not None:
            lines.append(
                Line(
                    'Readout',
                    '',
                    '',
                    float('nan'),
                    None,
                    f'from h_{t + 1}, the model expects "{predictions[t]}" next.',
                )
            )
        out.append(Step(t + 1, tokens[t], tuple(lines)))
    return Narration(cell, tokens, unit, hidden, CONVENTIONS[cell], tuple(out))


def _gate_line(role, symbol, equation, a, unit, meaning):
    mean, one = _value(a, unit)
    words = _with_unit(
        f'{symbol} = {_f(mean)} on average: {meaning(mean)}',
        unit,
        None if one is None else f'{symbol} = {_f(one)}, {meaning(one)}',
    )
    return Line(role, symbol, equation, mean, one, words)


def _lstm_lines(rows, t, p, c_prev, unit):
    n = t + 1
    i, f, g, o, c, h = (rows[k][t] for k in 'ifgoch')
    pre = f'x_{n} W_{{}} + h_{p} U_{{}} + b_{{}}'
    lines = [
        _gate_line(
            'Forget gate',
            'f',
            f'f = sigmoid({pre.format("f", "f", "f")})',
            f,
            unit,
            lambda v: f'keeps {_pct(v)} of the old memory c_{p}',
        ),
        _gate_line(
            'Input gate',
            'i',
            f'i = sigmoid({pre.format("i", "i", "i")})',
            i,
            unit,
            lambda v: f'writes {_pct(v)} of the candidate into memory',
        ),
        _gate_line(
            'Candidate memory',
            'g',
            f'g = tanh({pre.format("g", "g", "g")})',
            g,
            unit,
            lambda v: f'proposes {_f(v)} as new content (between -1 and 1)',
        ),
        _gate_line(
            'Output gate',
            'o',
            f'o = sigmoid({pre.format("o", "o", "o")})',
            o,
            unit,
            lambda v: f'shows {_pct(v)} of tanh(c_{n}) as the output h_{n}',
        ),
    ]
    c_mean = float(np.mean(c))
    words = _tracker_words(f'c_{n} = f*c_{p} + i*g', f, c_prev, i, g, c, unit)
    h_mean, h_one = _value(h, unit)
    words += f'; h_{n} = o*tanh(c_{n}) = {_f(h_mean)} on average' + (
        '' if unit is None else f' [unit {unit}: {_f(h_one)}]'
    )
    lines.append(
        Line(
            'Memory tracker',
            'c',
            f'c_{n} = f * c_{p} + i * g;  h_{n} = o * tanh(c_{n})',
            c_mean,
            None if unit is None else float(c[unit]),
            words,
        )
    )
    return lines


def _gru_lines(rows, t, p, h_prev, unit):
    n = t + 1
    r, z, cand, h = (rows[k][t] for k in ('r', 'z', 'n', 'h'))
    lines = [
        _gate_line(
            'Reset gate',
            'r',
            f'r = sigmoid(x_{n} W_r + b_r + h_{p} U_r)',
            r,
            unit,
            lambda v: f"lets {_pct(v)} of the old state's recurrent term into the candidate",
        ),
        _gate_line(
            'Update gate',
            'z',
            f'z = sigmoid(x_{n} W_z + b_z + h_{p} U_z)',
            z,
            unit,
            lambda v: (
                f'keeps {_pct(v)} of the old state h_{p}, takes {_pct(1 - v)} from the candidate'
            ),
        ),
        _gate_line(
            'Candidate memory',
            'n',
            f'n = tanh(x_{n} W_n + b_n + r * (h_{p} U_n + b_hn))',
            cand,
            unit,
            lambda v: f'proposes {_f(v)} as the new state (between -1 and 1)',
        ),
    ]
    words = _tracker_words(f'h_{n} = z*h_{p} + (1-z)*n', z, h_prev, 1 - z, cand, h, unit)
    lines.append(
        Line(
            'Memory tracker',
            'h',
            f'h_{n} = z * h_{p} + (1 - z) * n',
            float(np.mean(h)),
            None if unit is None else float(h[unit]),
            words,
        )
    )
    return lines
