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
    """The tokens, each on a background as strong as ``gate`` at that step, followed by
    the value.

    The value is the mean over units, or ``unit``'s value. Sigmoid gates are coloured
    white (0) to blue (1); the tanh candidates (``g``, ``n``) red (-1), white (0), blue
    (1).

    Args:
      trace: an ``LSTMTrace`` or ``GRUTrace`` (fields ``[t, h]`` or ``[b, t, h]``).
      tokens: the ``t`` tokens.
      gate: a field of the trace (``'i'``, ``'f'``, ...); by default the gate that keeps
        the old state (LSTM ``f``, GRU ``z``).
      unit: show this hidden unit instead of the mean over units.
      batch: which sequence of a batched trace.

    Returns:
      A :class:`rich.text.Text`, ``'<gate> (<over what>): '`` then each token and its
      value to two decimals; print it with a rich console.

    Raises:
      TypeError: ``trace`` is not an ``LSTMTrace`` or ``GRUTrace``.
      ValueError: ``gate`` is not a field of the trace.

    Examples:
      >>> from jaxrnn import teach
      >>> tokens, trace, _ = teach.shipped('lstm').trace('I love myself')
      >>> text = teach.coloured_tokens(trace, tokens)
      >>> type(text).__name__, text.plain.split(':')[0]
      ('Text', 'f (mean over units)')
      >>> teach.coloured_tokens(trace, tokens, gate='o', unit=5).plain.split(':')[0]
      'o (unit 5)'
    """
    strip = _values.gate_strip(trace, tokens, gate, unit, batch)
    text = Text(f'{strip.gate} ({strip.where}): ')
    for token, v, colour in strip.cells:
        text.append(f' {token} ', style=f'black on {colour}')
        text.append(f'{v:.2f} ', style='dim')
    return text


def step_table(trace, tokens, *, unit: int | None = None, batch: int = 0) -> Table:
    """A table with one row per step: the step (from 1), the token, and every field of
    the trace in the trace's order (LSTM ``i, f, g, o, c, h``; GRU ``r, z, n, h``), each
    the mean over units or ``unit``'s value, to three decimals.

    Args:
      trace: an ``LSTMTrace`` or ``GRUTrace`` (fields ``[t, h]`` or ``[b, t, h]``).
      tokens: the ``t`` tokens.
      unit: show this hidden unit instead of the mean over units.
      batch: which sequence of a batched trace.

    Returns:
      A :class:`rich.table.Table`; print it with a rich console.

    Raises:
      TypeError: ``trace`` is not an ``LSTMTrace`` or ``GRUTrace``.

    Examples:
      >>> from jaxrnn import teach
      >>> tokens, trace, _ = teach.shipped('gru').trace('I love myself')
      >>> table = teach.step_table(trace, tokens)
      >>> table.title, [column.header for column in table.columns], table.row_count
      ('GRU trace (mean over units)', ['t', 'token', 'r', 'z', 'n', 'h'], 3)
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
    """Prints the :func:`coloured_tokens` and the :func:`step_table` of the first
    sequence of ``trace``; with a narration, the narration and the tokens coloured for
    its spotlight unit instead (the narration has the spotlight's numbers): what
    ``jaxrnn trace`` prints.

    Args:
      trace: an ``LSTMTrace`` or ``GRUTrace`` (fields ``[t, h]``, or ``[b, t, h]`` of
        which sequence 0 is shown).
      tokens: the ``t`` tokens.
      narration: a :class:`Narration` of the same trace, printed first as plain text.
      gate: the gate that colours the tokens; by default the one that keeps the old
        state (LSTM ``f``, GRU ``z``).
      unit: show this hidden unit instead of the mean over units (with a narration:
        instead of its spotlight unit).
      console: the rich console to print to; by default a new one on standard output.

    Raises:
      TypeError: ``trace`` is not an ``LSTMTrace`` or ``GRUTrace``.
      ValueError: ``gate`` is not a field of the trace.

    Examples:
      >>> import io
      >>> from rich.console import Console
      >>> from jaxrnn import teach
      >>> tokens, trace, _ = teach.shipped('lstm').trace('I love myself')
      >>> console = Console(file=io.StringIO(), width=100)
      >>> teach.show(trace, tokens, console=console)
      >>> lines = console.file.getvalue().splitlines()
      >>> print(lines[0])
      f (mean over units):  i 0.62  love 0.55  myself 0.57
      >>> print(lines[-6])
      ┃ t ┃ token  ┃     i ┃     f ┃     g ┃     o ┃     c ┃     h ┃
      >>> console = Console(file=io.StringIO(), width=100)
      >>> narration = teach.narrate(trace, tokens, unit=3)
      >>> teach.show(trace, tokens, narration=narration, console=console)
      >>> print(console.file.getvalue().splitlines()[-1])
      f (unit 3):  i 0.14  love 0.27  myself 0.09
    """
    console = console or Console()
    if narration is None:
        console.print(view(trace, tokens, gate=gate, unit=unit))
        return
    console.print(narration.text(), markup=False, highlight=False, soft_wrap=True)
    unit = narration.unit if unit is None else unit
    console.print(coloured_tokens(trace, tokens, gate=gate, unit=unit))
