"""Terminal views (rich): the tokens coloured by a gate's strength, and a compact
per-step table of every gate."""

from __future__ import annotations

import numpy as np
from rich.console import Console, Group
from rich.table import Table
from rich.text import Text

from jaxrnn.teach import _figures
from jaxrnn.teach._narrate import Narration

_DEFAULT_GATE = {'lstm': 'f', 'gru': 'z'}


def _gate_values(trace, gate: str, unit: int | None, batch: int) -> np.ndarray:
    rows = _figures.rows(trace, batch)
    if gate not in rows:
        raise ValueError(f'gate must be one of {sorted(rows)} for this trace, got {gate!r}.')
    a = rows[gate]
    return a.mean(axis=1) if unit is None else a[:, unit]


def _colour(value: float, signed: bool) -> str:
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


def coloured_tokens(
    trace, tokens, *, gate: str | None = None, unit: int | None = None, batch: int = 0
) -> Text:
    """The tokens, each on a background as strong as ``gate`` at that step (the mean
    over units, or ``unit``'s value); default gate: the one that keeps the old state
    (LSTM f, GRU z)."""
    cell = _figures.cell_of(trace)
    gate = gate or _DEFAULT_GATE[cell]
    values = _gate_values(trace, gate, unit, batch)
    where = 'mean over units' if unit is None else f'unit {unit}'
    text = Text(f'{gate} ({where}): ')
    for token, v in zip(tokens, values, strict=True):
        text.append(f' {token} ', style=f'black on {_colour(v, gate in ("g", "n"))}')
        text.append(f'{v:.2f} ', style='dim')
    return text


def step_table(trace, tokens, *, unit: int | None = None, batch: int = 0) -> Table:
    """One row per step: the token and every field of the trace (mean over units, or
    ``unit``'s value)."""
    rows = _figures.rows(trace, batch)
    where = 'mean over units' if unit is None else f'unit {unit}'
    table = Table(title=f'{_figures.cell_of(trace).upper()} trace ({where})')
    table.add_column('t', justify='right')
    table.add_column('token')
    for name in rows:
        table.add_column(name, justify='right')
    for t, token in enumerate(tokens):
        values = [rows[name][t].mean() if unit is None else rows[name][t, unit] for name in rows]
        table.add_row(str(t + 1), token, *(f'{v:.3f}' for v in values))
    return table


def view(trace, tokens, *, gate: str | None = None, unit: int | None = None, batch: int = 0):
    """The coloured tokens and the step table as one rich renderable."""
    return Group(
        coloured_tokens(trace, tokens, gate=gate, unit=unit, batch=batch),
        step_table(trace, tokens, unit=unit, batch=batch),
    )


def show(
    trace,
    tokens,
    *,
    narration: Narration | None = None,
    gate: str | None = None,
    unit: int | None = None,
    console: Console | None = None,
) -> None:
    """Prints the narration (if given), the coloured tokens and the step table."""
    console = console or Console()
    if narration is not None:
        console.print(narration.text(), markup=False, highlight=False, soft_wrap=True)
    console.print(view(trace, tokens, gate=gate, unit=unit))
