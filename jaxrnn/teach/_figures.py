"""Figures over a trace (matplotlib, object-oriented API: no global pyplot state).

Each function returns a :class:`matplotlib.figure.Figure` made without pyplot: nothing
to close, no backend to choose; save it with ``fig.savefig(path)``.

* :func:`gate_heatmaps`: every gate and state as a units x time heatmap, tokens on the
  time axis, units sorted, the spotlight unit marked.
* :func:`highway`: the spotlight unit's memory at every step, split into what was
  carried from the old memory and what was written (the cell-state highway), the same
  numbers as the narration.
* :func:`saturation`: per unit, the share of steps a gate spends below 0.1 and above
  0.9 (as in Karpathy, Johnson and Fei-Fei 2015, "Visualizing and understanding
  recurrent networks"), best measured over a whole corpus.
* :func:`compare`: an LSTM and a GRU side by side on the same sentence.

Figures widen with the input (about 0.2 inch per token), so that a 60-token sentence
keeps readable labels; sigmoid gates are drawn on ``[0, 1]``, the candidates and states
(``g``, ``n``, ``c``, ``h``) on signed scales centred on 0.
"""

from __future__ import annotations

import textwrap

import numpy as np
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle

from jaxrnn.teach import _values

# Per cell kind, the highway's legend: (kept part, written part, state).
HIGHWAY = {
    'lstm': ('carried  f * c_(t-1)', 'written  i * g', 'memory  c_t'),
    'gru': ('kept  z * h_(t-1)', 'written  (1 - z) * n', 'state  h_t'),
}
# Per cell kind, the title of the heatmap of the gate that keeps the old state.
KEEPS = {'lstm': 'LSTM forget gate f: share of c kept', 'gru': 'GRU update gate z: share of h kept'}
STATES = {'c': 'memory c', 'h': 'hidden state h (the output)'}
SPOT = 'crimson'  # the spotlight unit's colour in every figure


def _width(tokens, least: float = 4.0) -> float:
    """A figure width (inches) that gives every token label room: 0.2 inch a token."""
    return max(least, 0.2 * len(tokens) + 2.0)


def _title(kind: _values.Kind, tokens) -> str:
    """``LSTM reading "..."``, the sentence shortened and wrapped to fit a title."""
    sentence = ' '.join(tokens)
    if len(tokens) > 12:
        sentence = ' '.join(tokens[:12]) + ' ...'
        return f'{kind.title} reading "{sentence}" ({len(tokens)} tokens)'
    return '\n'.join(textwrap.wrap(f'{kind.title} reading "{sentence}"', 90))


def _tokens_axis(ax, tokens):
    ax.set_xticks(range(len(tokens)))
    many = len(tokens) > 6
    ax.set_xticklabels(
        tokens,
        rotation=90 if len(tokens) > 20 else 45 if many else 0,
        ha='right' if many and len(tokens) <= 20 else 'center',
        fontsize=8 if len(tokens) > 20 else 9,
    )


def _scale(kind: _values.Kind, name: str, values: np.ndarray) -> tuple[str, float, float]:
    """The colour map and range of field ``name`` (``values [t, h]``), as in the terminal
    and HTML views: white to blue on [0, 1] for the gates; red (negative), white (0), blue
    (positive) for the candidates and states (:func:`~jaxrnn.teach._values.scale`)."""
    if not _values.signed(kind, name):
        return 'Blues', 0.0, 1.0
    top = _values.scale(kind, name, values)
    return 'RdBu', -top, top


def label(kind: _values.Kind, name: str) -> str:
    """What field ``name`` is, in words (``'forget gate f (share of c kept)'``)."""
    return kind.labels.get(name) or STATES.get(name, name)


def _heatmap(ax, kind, name, values, tokens, order, spot):
    """``values [t, h]`` as units (rows, in ``order``) x steps; the spotlight unit
    ``spot`` framed and its label coloured."""
    cmap, lo, hi = _scale(kind, name, values)
    image = ax.imshow(
        values[:, order].T, aspect='auto', cmap=cmap, vmin=lo, vmax=hi, interpolation='nearest'
    )
    ax.set_title(label(kind, name), fontsize=10)
    ax.set_ylabel('unit (sorted)', fontsize=8)
    hidden = len(order)
    every = 1 if hidden <= 32 else int(np.ceil(hidden / 32))
    ticks = list(range(0, hidden, every))
    row = int(np.flatnonzero(order == spot)[0]) if spot is not None else None
    if row is not None and row not in ticks:
        ticks = sorted([*ticks, row])
    ax.set_yticks(ticks)
    ax.set_yticklabels([str(order[k]) for k in ticks], fontsize=6)
    if row is not None:
        ax.get_yticklabels()[ticks.index(row)].set_color(SPOT)
        ax.get_yticklabels()[ticks.index(row)].set_fontweight('bold')
        ax.add_patch(
            Rectangle((-0.5, row - 0.5), len(tokens), 1, fill=False, edgecolor=SPOT, linewidth=1.5)
        )
    _tokens_axis(ax, tokens)
    return image


def _panels(fig: Figure, axes, one: _values.Row, tokens, spot: int | None) -> None:
    """One heatmap per field of ``one`` (the gates in the views' order, then the
    states), each with its colour bar."""
    kind = one.kind
    order = _values.unit_order(one)
    for ax, name in zip(axes, fields(kind), strict=True):
        image = _heatmap(ax, kind, name, one.fields[name], tokens, order, spot)
        fig.colorbar(image, ax=ax, shrink=0.9, pad=0.01)


def fields(kind: _values.Kind) -> tuple[str, ...]:
    """The fields the figures show, in order: the gates, then the carried states."""
    return (*kind.gates, *kind.carry)


def _spot(one: _values.Row, tokens, unit: int | None) -> int:
    _values.check_unit(unit, one.hidden)
    return _values.spotlight(one).unit if unit is None else unit


def gate_heatmaps(
    trace, tokens, *, batch: int = 0, unit: int | None = None, title: str | None = None
) -> Figure:
    """One heatmap per gate and state: hidden units (rows) x steps (columns, labelled
    with the tokens), each with its colour bar, one panel under the other.

    The gates in the views' order (the gate that keeps the old state first, the
    candidate last), then the states: LSTM ``f, i, o, g, c, h``; GRU ``z, r, n, h``.
    Sigmoid gates are drawn white (0) to blue (1); the candidates and states red
    (negative), white (0), blue (positive), centred on 0 (``[-1, 1]``; ``c`` on
    ``[-m, m]`` with ``m`` its largest magnitude when that exceeds 1). The units are
    sorted by their mean keeping gate (LSTM ``f``, GRU ``z``), the units that keep the
    most on top; the tick labels are the unit numbers, and the spotlight unit is framed
    in red.

    Args:
      trace: an ``LSTMTrace`` or ``GRUTrace`` (fields ``[t, h]`` or ``[b, t, h]``).
      tokens: the ``t`` tokens, the labels of the time axis.
      batch: which sequence of a batched trace.
      unit: the spotlight unit to mark; by default the one :func:`narrate` chooses.
      title: the figure's title (default: the cell and the sentence).

    Returns:
      A :class:`~matplotlib.figure.Figure` with one heatmap and one colour bar per field.

    Raises:
      TypeError: ``trace`` is not an ``LSTMTrace`` or ``GRUTrace``.
      ValueError: ``unit`` is out of range.

    Examples:
      >>> from jaxrnn import teach
      >>> tokens, trace, _ = teach.shipped('lstm').trace('I love myself')
      >>> fig = teach.gate_heatmaps(trace, tokens)
      >>> type(fig).__name__, len(fig.axes)  # 6 fields, 6 colour bars
      ('Figure', 12)
      >>> [ax.get_title() for ax in fig.axes[:6]]  # doctest: +NORMALIZE_WHITESPACE
      ['forget gate f (share of c kept)', 'input gate i', 'output gate o', 'candidate g',
       'memory c', 'hidden state h (the output)']
    """
    kind = _values.kind_of(trace)
    one = _values.row(trace, batch, kind=kind)
    names = fields(kind)
    height = 0.06 * one.hidden + 1.4
    fig = Figure(figsize=(_width(tokens, 6.0), height * len(names) + 1.0), layout='constrained')
    _panels(fig, fig.subplots(len(names), 1), one, tokens, _spot(one, tokens, unit))
    fig.suptitle(title or _title(kind, tokens))
    return fig


def highway(
    trace, tokens, *, batch: int = 0, initial=None, unit: int | None = None, ax=None
) -> Figure:
    """The memory highway of one unit: at every step, the new memory split into what was
    carried from the old memory and what was written.

    The state update in two parts, ``state = kept + written``::

      LSTM   c_t = f * c_(t-1) + i * g          kept = f * c_(t-1), written = i * g
      GRU    h_t = z * h_(t-1) + (1 - z) * n    kept = z * h_(t-1), written = (1 - z) * n

    Per step, two signed bars side by side, ``kept`` (blue, left) and ``written``
    (orange, right), and the new state, their sum, as a black line. These are the
    spotlight unit's numbers, the ones :func:`narrate` prints (unrounded here).

    Args:
      trace: an ``LSTMTrace`` or ``GRUTrace`` (fields ``[t, h]`` or ``[b, t, h]``).
      tokens: the ``t`` tokens, the labels of the time axis.
      batch: which sequence of a batched trace.
      initial: that sequence's initial carry (LSTM ``(c, h)``, GRU ``h``, each ``[h]``),
        the old state of step 1; zeros by default.
      unit: the unit to show; by default the spotlight :func:`narrate` chooses.
      ax: draw into these axes instead of a new figure.

    Returns:
      The new :class:`~matplotlib.figure.Figure` (one axes), or the figure of ``ax``.

    Raises:
      TypeError: ``trace`` is not an ``LSTMTrace`` or ``GRUTrace``.
      ValueError: ``unit`` is out of range.

    Examples:
      >>> from matplotlib.figure import Figure
      >>> from jaxrnn import teach
      >>> tokens, trace, _ = teach.shipped('gru').trace('I love myself')
      >>> fig = teach.highway(trace, tokens, unit=3)
      >>> type(fig).__name__, fig.axes[0].get_title()
      ('Figure', 'GRU memory highway, unit 3: kept + written = new state')
      >>> mine = Figure()
      >>> left, right = mine.subplots(1, 2)
      >>> teach.highway(trace, tokens, ax=right) is mine
      True
    """
    kind = _values.kind_of(trace)
    one = _values.row(trace, batch, initial=initial, kind=kind)
    u = _spot(one, tokens, unit)
    split = one.split
    kept, written, state = split.kept[:, u], split.written[:, u], split.state[:, u]
    fig = None
    if ax is None:
        fig = Figure(figsize=(_width(tokens, 5.0), 3.4), layout='constrained')
        ax = fig.subplots()
    steps = np.arange(len(tokens))
    carried_label, written_label, state_label = HIGHWAY[kind.name]
    ax.axhline(0, color='0.6', linewidth=0.8)
    ax.bar(steps - 0.2, kept, width=0.4, color='tab:blue', label=carried_label)
    ax.bar(steps + 0.2, written, width=0.4, color='tab:orange', label=written_label)
    ax.plot(steps, state, '.-', color='black', label=state_label)
    ax.set_ylabel(f'unit {u}', color=SPOT)
    low = min(0.0, float(np.min([kept, written, state])))
    high = max(0.0, float(np.max([kept, written, state])))
    span = max(high - low, 1e-3)
    wide = len(tokens) >= 12  # a wide axes: the legend in one row
    ax.set_ylim(low - 0.05 * span, high + (0.5 if wide else 0.9) * span)  # legend room
    ax.set_title(f'{kind.title} memory highway, unit {u}: kept + written = new state', fontsize=10)
    _tokens_axis(ax, tokens)
    ax.legend(fontsize=7, loc='upper left', ncols=3 if wide else 1)
    return fig if fig is not None else ax.figure


def saturation_fractions(trace, *, batch: int | None = None, lengths=None) -> dict:
    """The numbers of :func:`saturation`: per sigmoid gate and unit, the share of steps
    the gate is nearly closed and nearly open.

    For gate ``a`` and unit ``u``, over the valid steps ``s`` of the sequences read::

      left[u]  = mean over s of (a[s, u] < 0.1)     (left-saturated: nearly closed)
      right[u] = mean over s of (a[s, u] > 0.9)     (right-saturated: nearly open)

    The tanh candidates (``g``, ``n``) are left out.

    Args:
      trace: an ``LSTMTrace`` or ``GRUTrace`` (fields ``[t, h]`` or ``[b, t, h]``).
      batch: only this sequence; by default every sequence of the batch.
      lengths: the valid steps of each sequence of the whole batch (``[b]``); all ``t``
        by default.

    Returns:
      ``{gate: (left, right)}``, each ``[h]`` float64, for the gates in the views' order
      (LSTM ``f, i, o``; GRU ``z, r``).

    Raises:
      TypeError: ``trace`` is not an ``LSTMTrace`` or ``GRUTrace``.

    Examples:
      >>> import numpy as np
      >>> from jaxrnn import teach
      >>> tokens, trace, _ = teach.shipped('lstm').trace('I love myself')
      >>> fractions = teach.saturation_fractions(trace)
      >>> {gate: (left.shape, right.shape) for gate, (left, right) in fractions.items()}
      {'f': ((32,), (32,)), 'i': ((32,), (32,)), 'o': ((32,), (32,))}
      >>> left, right = fractions['f']
      >>> bool(np.all((left >= 0) & (right >= 0) & (left + right <= 1)))
      True
    """
    kind = _values.kind_of(trace)
    sequences = _values.rows(trace, batch=batch, lengths=lengths)
    out = {}
    for name in kind.gates:
        if name in kind.tanh:
            continue
        flat = np.concatenate([one.fields[name] for one in sequences])  # [n, h]
        out[name] = (np.mean(flat < 0.1, axis=0), np.mean(flat > 0.9, axis=0))
    return out


def saturation(
    trace, *, batch: int | None = None, lengths=None, unit: int | None = None, ax=None
) -> Figure:
    """Gate saturation per unit, after Karpathy, Johnson and Fei-Fei (2015): one point
    per unit and sigmoid gate, at x = the share of steps below 0.1 (nearly closed) and
    y = the share above 0.9 (nearly open).

    The numbers are :func:`saturation_fractions`'s; they mean most over many steps, so
    pass a trace of a whole corpus (:meth:`Trained.corpus_trace`) with its ``lengths``.
    A point on the grey diagonal ``x + y = 1`` is always saturated; one at the origin
    never is. With ``unit``, that unit's points are ringed in red.

    Args:
      trace: an ``LSTMTrace`` or ``GRUTrace`` (fields ``[t, h]`` or ``[b, t, h]``).
      batch: only this sequence; by default every sequence of the batch.
      lengths: the valid steps of each sequence of the whole batch (``[b]``); all ``t``
        by default.
      unit: a unit to ring (the spotlight).
      ax: draw into these axes instead of a new figure.

    Returns:
      A :class:`~matplotlib.figure.Figure` with one axes (or the figure of ``ax``).

    Raises:
      TypeError: ``trace`` is not an ``LSTMTrace`` or ``GRUTrace``.
      ValueError: ``unit`` is out of range.

    Examples:
      >>> from jaxrnn import teach
      >>> trace, lengths = teach.shipped('lstm').corpus_trace()
      >>> fig = teach.saturation(trace, lengths=lengths, unit=3)
      >>> type(fig).__name__, fig.axes[0].get_title()
      ('Figure', 'LSTM gate saturation per unit, over 496 steps')
    """
    fractions = saturation_fractions(trace, batch=batch, lengths=lengths)
    _values.check_unit(unit, np.shape(trace.h)[-1])
    count = sum(one.steps for one in _values.rows(trace, batch=batch, lengths=lengths))
    fig = None
    if ax is None:
        fig = Figure(figsize=(4.4, 4.0), layout='constrained')
        ax = fig.subplots()
    ax.plot([0, 1], [1, 0], color='0.8', linewidth=1)
    for name, (left, right) in fractions.items():
        ax.scatter(left, right, s=18, alpha=0.8, label=f'{name}')
        if unit is not None:
            ax.scatter(
                left[unit], right[unit], s=90, facecolors='none', edgecolors=SPOT, linewidths=1.5
            )
    if unit is not None:
        ax.scatter([], [], s=90, facecolors='none', edgecolors=SPOT, label=f'unit {unit}')
    ax.set_xlim(-0.02, 1.02)
    ax.set_ylim(-0.02, 1.02)
    ax.set_xlabel('share of steps < 0.1 (closed)')
    ax.set_ylabel('share of steps > 0.9 (open)')
    ax.set_title(
        f'{_values.kind_of(trace).title} gate saturation per unit, over {count} steps',
        fontsize=10,
    )
    ax.legend(title='gate', fontsize=8)
    return fig if fig is not None else ax.figure


def compare(lstm_trace, gru_trace, tokens, *, batch: int = 0, units=(None, None)) -> Figure:
    """An LSTM and a GRU on the same sentence, side by side: on top the gate that keeps
    the old state (LSTM forget gate ``f``, GRU update gate ``z``) per unit (sorted) and
    step, on one colour scale ``[0, 1]``, each model's spotlight unit framed; below each
    one's :func:`highway` of that unit.

    Args:
      lstm_trace: an ``LSTMTrace`` (fields ``[t, h]`` or ``[b, t, h]``).
      gru_trace: a ``GRUTrace`` over the same ``t`` tokens (its ``h`` may differ).
      tokens: the ``t`` tokens, the labels of the time axes.
      batch: which sequence of batched traces.
      units: the LSTM's and the GRU's spotlight units; each ``None`` (the default) for
        the one :func:`narrate` chooses.

    Returns:
      A :class:`~matplotlib.figure.Figure` with four panels and one colour bar.

    Raises:
      TypeError: a trace is not an ``LSTMTrace`` or ``GRUTrace``.

    Examples:
      >>> from jaxrnn import teach
      >>> tokens, lstm_trace, _ = teach.shipped('lstm').trace('I love myself')
      >>> _, gru_trace, _ = teach.shipped('gru').trace('I love myself')
      >>> fig = teach.compare(lstm_trace, gru_trace, tokens)
      >>> [ax.get_title() for ax in fig.axes[:2]]
      ['LSTM forget gate f: share of c kept', 'GRU update gate z: share of h kept']
      >>> len(fig.axes)
      5
    """
    fig = Figure(figsize=(2 * _width(tokens, 5.0), 7.0), layout='constrained')
    axes = fig.subplots(2, 2)
    traces = (lstm_trace, gru_trace)
    for k, (trace, unit) in enumerate(zip(traces, units, strict=True)):
        kind = _values.kind_of(trace)
        one = _values.row(trace, batch, kind=kind)
        spot = _spot(one, tokens, unit)
        order = _values.unit_order(one)
        image = _heatmap(axes[0, k], kind, kind.keep, one.fields[kind.keep], tokens, order, spot)
        axes[0, k].set_title(KEEPS[kind.name], fontsize=10)
        highway(trace, tokens, batch=batch, unit=spot, ax=axes[1, k])
    fig.colorbar(image, ax=axes[0, :], shrink=0.8)
    kind = _values.kind_of(lstm_trace)
    fig.suptitle(_title(kind, tokens).replace('LSTM reading', 'LSTM and GRU on', 1))
    return fig


def overview(trace, tokens, *, batch: int = 0, unit: int | None = None) -> Figure:
    """One trace in one figure: the :func:`gate_heatmaps` on top, the :func:`highway` of
    the spotlight unit below.

    The figure that ``jaxrnn trace --png`` writes.

    Args:
      trace: an ``LSTMTrace`` or ``GRUTrace`` (fields ``[t, h]`` or ``[b, t, h]``).
      tokens: the ``t`` tokens, the labels of the time axes.
      batch: which sequence of a batched trace.
      unit: the spotlight unit; by default the one :func:`narrate` chooses.

    Returns:
      A :class:`~matplotlib.figure.Figure` with a heatmap and a colour bar per field and
      the highway.

    Raises:
      TypeError: ``trace`` is not an ``LSTMTrace`` or ``GRUTrace``.
      ValueError: ``unit`` is out of range.

    Examples:
      >>> from jaxrnn import teach
      >>> tokens, trace, _ = teach.shipped('gru').trace('I love myself')
      >>> fig = teach.overview(trace, tokens)
      >>> fig.get_suptitle()
      'GRU reading "i love myself"'
      >>> len(fig.axes)  # 4 fields, 4 colour bars, the highway
      9
    """
    kind = _values.kind_of(trace)
    one = _values.row(trace, batch, kind=kind)
    spot = _spot(one, tokens, unit)
    names = fields(kind)
    height = 0.06 * one.hidden + 1.4
    fig = Figure(figsize=(_width(tokens, 6.0), height * len(names) + 4.0), layout='constrained')
    grid = fig.add_gridspec(len(names) + 1, 1, height_ratios=[height] * len(names) + [3.0])
    axes = [fig.add_subplot(grid[k, 0]) for k in range(len(names))]
    _panels(fig, axes, one, tokens, spot)
    highway(trace, tokens, batch=batch, unit=spot, ax=fig.add_subplot(grid[len(names), 0]))
    fig.suptitle(_title(kind, tokens))
    return fig
