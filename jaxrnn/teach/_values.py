"""A trace as the values every teaching view reads: narration, figures, terminal, HTML.

* :data:`KINDS`: the one mapping from a trace's type to its cell :class:`Kind` (which
  fields are gates, which are carried state, which gate keeps the old state, the gate
  labels, the kept/written split of the new state).
* :func:`row`: one sequence of a trace as float64 ``[t, h]`` arrays over its valid
  steps, with the state before every step (from the initial carry) and the kept/written
  split (:class:`Split`): LSTM ``c_t = f*c_{t-1} + i*g``, GRU ``h_t = z*h_{t-1} +
  (1-z)*n``.
* :func:`rows`: every sequence of a batch (or one), each cut to its length.
* :func:`summary`: per step, the mean over units or one unit's value.
* :func:`gate_strip` and :func:`colour`: a gate's per-step strength and the colour
  scale that the terminal and HTML views both draw with.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable, Mapping, Sequence
from typing import Any, NamedTuple

import numpy as np

from jaxrnn.kernels import GRU, LSTM, Simple

Factors = Callable[[Mapping[str, np.ndarray]], tuple[np.ndarray, np.ndarray, np.ndarray]]


@dataclasses.dataclass(frozen=True)
class Kind:
    """What the teaching views need to know about a cell, keyed by its trace fields.

    The cell's name, carry and trace type come from its kernel cell class (the one
    description of a cell, :class:`jaxrnn.kernels.Cell`); what is here is teaching.

    Attributes:
      cell: the kernel cell class (``jaxrnn.kernels.LSTM``, ``GRU``, ``Simple``).
      state: the carried field that the kept/written split adds up to.
      keep: the gate that keeps the old ``state`` (LSTM ``f``, GRU ``z``), or ``''``.
      labels: ``{gate: label}`` in the views' order (the keeping gate first, the
        candidate last).
      tanh: the gates on ``[-1, 1]`` (the candidates); the others are on ``[0, 1]``.
      factors: ``fields -> (keep, write, new)`` with ``state = keep*old + write*new``,
        each ``[t, h]``; ``None`` for a cell without gates.
    """

    cell: type
    state: str
    keep: str = ''
    labels: Mapping[str, str] = dataclasses.field(default_factory=dict)
    tanh: frozenset[str] = frozenset()
    factors: Factors | None = None

    @property
    def name(self) -> str:
        """``'lstm'``, ``'gru'`` or ``'simple'``."""
        return self.cell.name  # type: ignore[attr-defined]

    @property
    def carry(self) -> tuple[str, ...]:
        """The carried state fields, in carry order (the ``initial`` argument's)."""
        return self.cell.carry  # type: ignore[attr-defined]

    @property
    def title(self) -> str:
        return self.name.upper()

    @property
    def gates(self) -> tuple[str, ...]:
        return tuple(self.labels)


def _lstm_factors(v: Mapping[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    return v['f'], v['i'], v['g']


def _gru_factors(v: Mapping[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    return v['z'], 1 - v['z'], v['n']


_KINDS = (
    Kind(
        LSTM,
        state='c',
        keep='f',
        labels={
            'f': 'forget gate f (share of c kept)',
            'i': 'input gate i',
            'o': 'output gate o',
            'g': 'candidate g',
        },
        tanh=frozenset('g'),
        factors=_lstm_factors,
    ),
    Kind(
        GRU,
        state='h',
        keep='z',
        labels={
            'z': 'update gate z (share of h kept)',
            'r': 'reset gate r',
            'n': 'candidate n',
        },
        tanh=frozenset('n'),
        factors=_gru_factors,
    ),
    Kind(Simple, state='h'),
)
KINDS: dict[type, Kind] = {kind.cell.trace_type: kind for kind in _KINDS}  # type: ignore[attr-defined]


def _lookup(trace: Any) -> Kind | None:
    return next((KINDS[cls] for cls in type(trace).__mro__ if cls in KINDS), None)


def kind_of(trace: Any, *, who: str = '') -> Kind:
    """The kind of an LSTM or GRU trace (decided by its type, through :data:`KINDS`);
    ``TypeError`` for any other trace. ``who`` names the caller in the message."""
    kind = _lookup(trace)
    if kind is not None and kind.factors is not None:
        return kind
    gated = ' or '.join(cls.__name__ for cls, kind in KINDS.items() if kind.factors is not None)
    lead = f'{who} needs' if who else 'expected'
    raise TypeError(f'{lead} an {gated}, got {type(trace).__name__}.')


class Split(NamedTuple):
    """How a gated cell's state is updated at every step, each part ``[t, h]``:
    ``state = keep * old + write * new = kept + written``.

    Attributes:
      keep: the gate that keeps the old state (LSTM ``f``, GRU ``z``).
      write: the share of the candidate written (LSTM ``i``, GRU ``1 - z``).
      new: the candidate (LSTM ``g``, GRU ``n``).
      old: the state before the step (``c_{t-1}``, ``h_{t-1}``; the initial carry first).
      kept: ``keep * old``.
      written: ``write * new``.
      state: the state after the step (``c_t``, ``h_t``).
    """

    keep: np.ndarray
    write: np.ndarray
    new: np.ndarray
    old: np.ndarray
    kept: np.ndarray
    written: np.ndarray
    state: np.ndarray


@dataclasses.dataclass(frozen=True)
class Row:
    """One sequence of a trace.

    Attributes:
      kind: the cell's :class:`Kind`.
      fields: every trace field as a float64 ``[t, h]`` array, in the trace's order.
      initial: the carry before the first step, ``{field: [h]}`` (zeros by default).
    """

    kind: Kind
    fields: Mapping[str, np.ndarray]
    initial: Mapping[str, np.ndarray]

    @property
    def steps(self) -> int:
        return self.fields['h'].shape[0]

    @property
    def hidden(self) -> int:
        return self.fields['h'].shape[1]

    def previous(self, name: str) -> np.ndarray:
        """The carried field ``name`` before each step, ``[t, h]``: the initial carry,
        then the field shifted by one step."""
        first = self.initial[name][None]
        return np.concatenate([first, self.fields[name][:-1]], axis=0)

    @functools.cached_property
    def split(self) -> Split:
        """The state's update split in parts (LSTM ``c_t = f*c_{t-1} + i*g``, GRU
        ``h_t = z*h_{t-1} + (1-z)*n``); ``TypeError`` for a cell without gates."""
        if self.kind.factors is None:
            raise TypeError(f'a {self.kind.title} trace has no gates to split its state by.')
        keep, write, new = self.kind.factors(self.fields)
        old = self.previous(self.kind.state)
        return Split(keep, write, new, old, keep * old, write * new, self.fields[self.kind.state])


def _initial(kind: Kind, initial: Any, hidden: int) -> dict[str, np.ndarray]:
    if initial is None:
        return {name: np.zeros(hidden) for name in kind.carry}
    parts = initial if len(kind.carry) > 1 else (initial,)
    return {name: np.asarray(p, np.float64) for name, p in zip(kind.carry, parts, strict=True)}


def row(
    trace: Any,
    batch: int = 0,
    *,
    initial: Any = None,
    length: int | None = None,
    kind: Kind | None = None,
) -> Row:
    """Sequence ``batch`` of ``trace`` (fields ``[t, h]``, or ``[batch, t, h]``
    batch-major), its first ``length`` steps (all by default).

    Args:
      trace: an ``LSTMTrace``, ``GRUTrace`` or ``SimpleTrace``.
      batch: which sequence of a batched trace (ignored for ``[t, h]`` fields).
      initial: that sequence's initial carry, ``(c, h)`` or ``h`` (each ``[h]``); zeros
        by default.
      length: the number of valid steps.
      kind: the trace's kind, when the caller has already checked it.
    """
    kind = kind or _lookup(trace)
    if kind is None:
        raise TypeError(f'expected a jaxrnn trace, got {type(trace).__name__}.')
    fields = {}
    for name, value in trace._asdict().items():
        a = np.asarray(value, np.float64)
        if a.ndim == 3:
            a = a[batch]
        if a.ndim != 2:
            raise ValueError(f'trace.{name} must be [t, h] or [batch, t, h], got {a.shape}.')
        fields[name] = a if length is None else a[:length]
    return Row(kind, fields, _initial(kind, initial, fields['h'].shape[1]))


def rows(trace: Any, *, batch: int | None = None, lengths: Any = None) -> list[Row]:
    """Every sequence of ``trace`` (or only ``batch``), each cut to its length
    (``lengths``: one per sequence of the whole batch; all steps by default)."""
    h = np.shape(trace.h)
    count = h[0] if len(h) == 3 else 1
    which = range(count) if batch is None else [batch]
    lens = None if lengths is None else np.asarray(lengths).reshape(-1)
    return [row(trace, b, length=None if lens is None else int(lens[b])) for b in which]


def summary(a: np.ndarray, unit: int | None = None) -> np.ndarray:
    """``[t, h] -> [t]``: per step, the mean over units, or ``unit``'s value."""
    return a.mean(axis=1) if unit is None else a[:, unit]


def over(unit: int | None) -> str:
    """What a summary is over: ``'mean over units'`` or ``'unit K'``."""
    return 'mean over units' if unit is None else f'unit {unit}'


def colour(value: float, signed: bool) -> str:
    """A background colour for ``value``: white to blue on [0, 1], red-white-blue on
    [-1, 1]."""
    if signed:
        v = float(np.clip(value, -1, 1))
        r, g, b = (
            (255, int(255 * (1 + v)), int(255 * (1 + v)))
            if v < 0
            else (int(255 * (1 - v)), int(255 * (1 - 0.6 * v)), 255)
        )
    else:
        v = float(np.clip(value, 0, 1))
        r, g, b = int(255 * (1 - 0.85 * v)), int(255 * (1 - 0.6 * v)), 255
    return f'#{r:02x}{g:02x}{b:02x}'


@dataclasses.dataclass(frozen=True)
class Strip:
    """A gate's strength at every step, coloured: ``cells`` holds ``(token, value,
    colour)`` per step."""

    gate: str
    where: str
    cells: tuple[tuple[str, float, str], ...]


def gate_strip(
    trace: Any, tokens: Sequence[str], gate: str | None, unit: int | None, batch: int
) -> Strip:
    """The tokens with ``gate`` at each step (the mean over units, or ``unit``'s value)
    and its colour; default gate: the one that keeps the old state (LSTM f, GRU z). The
    gates are coloured white to blue on [0, 1]; the candidates and states (``g``, ``n``,
    ``c``, ``h``) red-white-blue, centred on 0, divided by :func:`scale`."""
    kind = kind_of(trace)
    gate = gate or kind.keep
    one = row(trace, batch, kind=kind)
    if gate not in one.fields:
        raise ValueError(f'gate must be one of {sorted(one.fields)} for this trace, got {gate!r}.')
    values = summary(one.fields[gate], unit)
    sign = signed(kind, gate)
    top = scale(kind, gate, one.fields[gate])
    cells = tuple(
        (token, float(v), colour(v / top, sign)) for token, v in zip(tokens, values, strict=True)
    )
    return Strip(gate, over(unit), cells)


SPOTLIGHTS = ('change', 'erase')
"""How a spotlight unit is chosen (:func:`spotlight`)."""


@dataclasses.dataclass(frozen=True)
class Choice:
    """A spotlight unit and the step that made it interesting.

    Attributes:
      unit: the hidden unit.
      step: the step (0-based) where its state moved, or its keeping gate erased, the
        most.
      by: the rule that chose it (one of :data:`SPOTLIGHTS`).
    """

    unit: int
    step: int
    by: str


def check_spotlight(by: str) -> None:
    """``ValueError`` unless ``by`` is one of :data:`SPOTLIGHTS`."""
    if by not in SPOTLIGHTS:
        raise ValueError(f'spotlight must be one of {", ".join(SPOTLIGHTS)}, got {by!r}.')


def spotlight(one: Row, by: str = 'change') -> Choice:
    """The most interesting unit of ``one`` for a narration to follow.

    ``by='change'``: the unit whose state (LSTM ``c``, GRU ``h``) moved the most in one
    step, ``max over t of |state_t - state_(t-1)|``. ``by='erase'``: the unit whose keeping
    gate erased the most in one step, ``max over t of (1 - keep_t) * |state_(t-1)|`` (LSTM
    ``keep = f``, GRU ``keep = z``). Both over the ``[t, h]`` arrays of ``one``.
    """
    check_spotlight(by)
    split = one.split
    if by == 'change':
        score = np.abs(split.state - split.old)
    else:
        score = (1 - split.keep) * np.abs(split.old)
    where_t, where_u = np.unravel_index(int(np.argmax(score)), score.shape)
    return Choice(int(where_u), int(where_t), by)


def check_unit(unit: int | None, hidden: int) -> None:
    """``ValueError`` unless ``unit`` is ``None`` or a unit of ``hidden``."""
    if unit is not None and not 0 <= unit < hidden:
        raise ValueError(f'unit must be in [0, {hidden}), got {unit}.')


def unit_order(one: Row) -> np.ndarray:
    """The units sorted for the figures: by the mean of the keeping gate (LSTM ``f``, GRU
    ``z``) over the steps, largest first (the units that hold their memory on top), ties
    by unit index; the unit indices, ``[h]``."""
    keep = one.fields[one.kind.keep] if one.kind.keep else one.fields['h']
    return np.lexsort((np.arange(one.hidden), -keep.mean(axis=0)))


def scale(kind: Kind, name: str, values: np.ndarray) -> float:
    """What a field's values are divided by before they are coloured, the same in every
    view (terminal, HTML, figures): the largest magnitude of ``values`` (every unit at
    every step of the sequence, ``[t, h]``) for the memory ``c``, which can leave [-1, 1],
    when it exceeds 1; else 1."""
    if name != 'c' or not signed(kind, name):
        return 1.0
    return max(1.0, float(np.max(np.abs(values))))


def signed(kind: Kind, name: str) -> bool:
    """Whether field ``name`` is drawn on a signed, centred scale: the candidates and the
    carried states (``g``, ``n``, ``c``, ``h``)."""
    return name in kind.tanh or name in kind.carry
