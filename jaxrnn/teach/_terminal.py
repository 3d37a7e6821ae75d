"""Terminal views (rich): the tokens coloured by a gate's strength, and a compact
per-step table of every gate."""

from __future__ import annotations

from rich.console import Console, Group
from rich.table import Table
from rich.text import Text

from jaxrnn.teach import _values
from jaxrnn.teach._narrate import Narration


def coloured_tokens(
    trace, tokens, *, gate: str | None = None, unit: int | None = None, batch: int = 0
) -> Text:
    """The tokens, each on a background as strong as ``gate`` at that step (the mean
    over units, or ``unit``'s value); default gate: the one that keeps the old state
    (LSTM f, GRU z).

    Examples:
      >>> from jaxrnn import teach
      >>> tokens, trace, _ = teach.shipped('lstm').trace('i love myself')
      >>> text = teach.coloured_tokens(trace, tokens)   # a rich Text: print it with rich
      >>> text.plain.split()[:5]
      ['f', '(mean', 'over', 'units):', 'i']
    """
    strip = _values.gate_strip(trace, tokens, gate, unit, batch)
    text = Text(f'{strip.gate} ({strip.where}): ')
    for token, v, colour in strip.cells:
        text.append(f' {token} ', style=f'black on {colour}')
        text.append(f'{v:.2f} ', style='dim')
    return text


def step_table(trace, tokens, *, unit: int | None = None, batch: int = 0) -> Table:
    """One row per step: the token and every field of the trace (mean over units, or
    ``unit``'s value).

    Examples:
      >>> from jaxrnn import teach
      >>> tokens, trace, _ = teach.shipped('lstm').trace('i love myself')
      >>> table = teach.step_table(trace, tokens)
      >>> [column.header for column in table.columns]
      ['t', 'token', 'i', 'f', 'g', 'o', 'c', 'h']
      >>> table.row_count
      3
    """
    kind = _values.kind_of(trace)
    fields = _values.row(trace, batch, kind=kind).fields
    table = Table(title=f'{kind.title} trace ({_values.over(unit)})')
    table.add_column('t', justify='right')
    table.add_column('token')
    for name in fields:
        table.add_column(name, justify='right')
    columns = [_values.summary(a, unit) for a in fields.values()]
    for t, token in enumerate(tokens):
        table.add_row(str(t + 1), token, *(f'{column[t]:.3f}' for column in columns))
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
    """Prints the narration (if given), the coloured tokens and the step table.

    Examples:
      >>> from jaxrnn import teach
      >>> tokens, trace, _ = teach.shipped('lstm').trace('i love myself')
      >>> from rich.console import Console
      >>> import io
      >>> console = Console(width=120, record=True, file=io.StringIO())
      >>> teach.show(trace, tokens, console=console)       # without a narration: no role-play
      >>> print(console.export_text().splitlines()[0])
      f (mean over units):  i 0.62  love 0.55  myself 0.57
    """
    console = console or Console()
    if narration is not None:
        console.print(narration.text(), markup=False, highlight=False, soft_wrap=True)
    console.print(view(trace, tokens, gate=gate, unit=unit))
