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
    """The announcements at one step.

    Attributes:
      index: the step, from 1, in reading order.
      token: the token read at this step.
      lines: one :class:`Line` per role, in speaking order.
    """

    index: int
    token: str
    lines: tuple[Line, ...]


@dataclasses.dataclass(frozen=True)
class Narration:
    """The role-play of one sentence, made by :func:`narrate`; ``str()`` renders it as
    text (:meth:`text`).

    Attributes:
      cell: ``'lstm'`` or ``'gru'``.
      tokens: the ``t`` tokens read.
      unit: the hidden unit also reported, or ``None``.
      hidden: the number of hidden units ``h`` the means are over.
      convention: the sentence stating what the gates' values mean (printed second).
      steps: one per token, in reading order; each has ``index`` (from 1), ``token`` and
        ``lines``, one per role in speaking order, each with ``role`` (who speaks,
        ``'Forget gate'``), ``symbol`` (``'f'``; ``'c'`` or ``'h'`` for the memory
        tracker's update; ``''`` for a role without a value), ``equation`` (the role's
        equation at that step, or ``''``), ``mean`` (the value averaged over the units;
        ``nan`` without a value), ``unit`` (the chosen unit's value, or ``None``) and
        ``words`` (what it says).

    Examples:
      >>> from jaxrnn import teach
      >>> tokens, trace, _ = teach.shipped('gru').trace('I love myself')
      >>> narration = teach.narrate(trace, tokens)
      >>> narration.cell, narration.tokens, narration.hidden
      ('gru', ('i', 'love', 'myself'), 32)
      >>> [line.role for line in narration.steps[1].lines]
      ['Input provider', 'Reset gate', 'Update gate', 'Candidate memory', 'Memory tracker']
      >>> line = narration.steps[1].lines[2]
      >>> line.symbol, line.equation
      ('z', 'z = sigmoid(x_2 W_z + b_z + h_1 U_z)')
      >>> bool(0 < line.mean < 1)
      True
    """

    cell: str
    tokens: tuple[str, ...]
    unit: int | None
    hidden: int
    convention: str
    steps: tuple[Step, ...]

    def text(self) -> str:
        """The narration as text.

        A heading line naming the cell, the sentence and what the numbers are over; the
        convention; then per step a line ``Step n: "token"`` and, indented, one line
        ``Role: words`` per role, each followed by its equation (indented further).
        """
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
    """The role-play narration of an LSTM or GRU trace: at every step, each gate (a
    role) announces its value and what it does, with the trace's numbers.

    The roles, in speaking order, and the equations they announce (``x_n`` the input at
    step ``n``, ``h_p`` and ``c_p`` the state before it; ``*`` elementwise)::

      Input provider   passes x_n (the embedding of the token) to every gate
      LSTM  Forget gate       f = sigmoid(x_n W_f + h_p U_f + b_f)   share of c_p kept
            Input gate        i = sigmoid(x_n W_i + h_p U_i + b_i)   share of g written
            Candidate memory  g = tanh(x_n W_g + h_p U_g + b_g)
            Output gate       o = sigmoid(x_n W_o + h_p U_o + b_o)   share of tanh(c_n) shown
            Memory tracker    c_n = f * c_p + i * g;  h_n = o * tanh(c_n)
      GRU   Reset gate        r = sigmoid(x_n W_r + b_r + h_p U_r)
            Update gate       z = sigmoid(x_n W_z + b_z + h_p U_z)   share of h_p kept
            Candidate memory  n = tanh(x_n W_n + b_n + r * (h_p U_n + b_hn))
            Memory tracker    h_n = z * h_p + (1 - z) * n
      Readout          the predicted next word (only with predictions)

    At step 1 the memory tracker also says that the state starts at zeros (when
    ``initial`` is not given). Each value is the mean over the ``h`` units, and, with
    ``unit``, that unit's value. The memory tracker prints the update as kept + written
    = new state (``f * c_p`` + ``i * g`` for the LSTM, ``z * h_p`` + ``(1 - z) * n`` for
    the GRU), rounded so that it adds up in the printed three decimals. The numbers come
    from the trace, and the state before each step from the previous step's ``c`` or
    ``h`` (from ``initial`` at step 1).

    Args:
      trace: an ``LSTMTrace`` or ``GRUTrace`` (fields ``[t, h]`` or ``[b, t, h]``,
        batch-major, in input order, as a forward layer returns it).
      tokens: the ``t`` tokens read (strings), one per step.
      unit: also report this hidden unit's values (``0 <= unit < h``).
      batch: which sequence of a batched trace.
      initial: the initial carry of that sequence (LSTM ``(c, h)``, GRU ``h``, each
        ``[h]``); zeros by default.
      predictions: optionally, the word a readout predicts after each step (``t``
        strings, as :meth:`Trained.trace` returns them); announced by a last role, the
        readout.

    Returns:
      A :class:`Narration`; ``str()`` of it is the text.

    Raises:
      TypeError: ``trace`` is not an ``LSTMTrace`` or ``GRUTrace``.
      ValueError: ``tokens`` or ``predictions`` do not have one entry per step, or
        ``unit`` is out of range.

    Examples:
      >>> from jaxrnn import teach
      >>> trained = teach.shipped('lstm')
      >>> tokens, trace, next_words = trained.trace('I love myself')
      >>> narration = teach.narrate(trace, tokens, unit=3, predictions=next_words)
      >>> print(narration)
      LSTM reads "i love myself" (averaged over 32 units; [unit 3] is one unit).
      Gates are shares between 0 and 1. f is the share of the old memory c kept ...
      <BLANKLINE>
      Step 1: "i"
        Input provider: passes x_1 = "i" (its embedding) to every gate.
        Memory tracker: starts empty: c_0 and h_0 are all zeros, so nothing old is kept yet.
        Forget gate: f = ... on average: keeps ...% of the old memory c_0 [unit 3: f = ...]
            f = sigmoid(x_1 W_f + h_0 U_f + b_f)
      ...
        Memory tracker: c_1 = f*c_0 + i*g: kept 0.000 + written ... on average [unit 3: ...]
            c_1 = f * c_0 + i * g;  h_1 = o * tanh(c_1)
        Readout: from h_1, the model expects "..." next.
      <BLANKLINE>
      Step 2: "love"
      ...
      >>> len(narration.steps), len(str(narration).splitlines())
      (3, 45)
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
