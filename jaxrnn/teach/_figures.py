"""Figures over a trace (matplotlib, object-oriented API: no global pyplot state).

Each function returns a :class:`matplotlib.figure.Figure` made without pyplot: nothing
to close, no backend to choose; save it with ``fig.savefig(path)``.

* :func:`gate_heatmaps`: every gate as a units x time heatmap, tokens on the time axis.
* :func:`highway`: per step, how much of the new memory was carried from the old one
  and how much was written (the cell-state highway).
* :func:`saturation`: per unit, the share of steps a gate spends below 0.1 and above
  0.9 (as in Karpathy, Johnson and Fei-Fei 2015, "Visualizing and understanding
  recurrent networks").
* :func:`compare`: an LSTM and a GRU side by side on the same sentence.
"""

from __future__ import annotations

import numpy as np
from matplotlib.figure import Figure

from jaxrnn.teach import _values

# Per cell kind, the highway's legend: (kept part, written part, state).
HIGHWAY = {
    'lstm': ('carried  |f * c_(t-1)|', 'written  |i * g|', 'memory  |c_t|'),
    'gru': ('kept  |z * h_(t-1)|', 'written  |(1 - z) * n|', 'state  |h_t|'),
}
# Per cell kind, the title of the heatmap of the gate that keeps the old state.
KEEPS = {'lstm': 'LSTM forget gate f: share of c kept', 'gru': 'GRU update gate z: share of h kept'}


def _tokens_axis(ax, tokens):
    ax.set_xticks(range(len(tokens)))
    ax.set_xticklabels(
        tokens, rotation=45 if len(tokens) > 6 else 0, ha='right' if len(tokens) > 6 else 'center'
    )


def _heatmap(ax, values, tokens, title, tanh):
    image = ax.imshow(
        values.T,
        aspect='auto',
        cmap='RdBu_r' if tanh else 'viridis',
        vmin=-1 if tanh else 0,
        vmax=1,
        interpolation='nearest',
    )
    ax.set_title(title, fontsize=10)
    ax.set_ylabel('unit')
    _tokens_axis(ax, tokens)
    return image


def _gate_panels(fig: Figure, axes, one: _values.Row, tokens) -> None:
    """One heatmap per gate of ``one``, in the views' order, each with its colour bar."""
    kind = one.kind
    for ax, (name, label) in zip(axes, kind.labels.items(), strict=True):
        image = _heatmap(ax, one.fields[name], tokens, label, name in kind.tanh)
        fig.colorbar(image, ax=ax, shrink=0.8)


def gate_heatmaps(trace, tokens, *, batch: int = 0, title: str | None = None) -> Figure:
    """One heatmap per gate: hidden units (rows) x steps (columns, labelled with the
    tokens), each with its colour bar.

    The gates in the views' order: the gate that keeps the old state first, the
    candidate last (LSTM ``f, i, o, g``; GRU ``z, r, n``). Sigmoid gates are drawn on
    ``[0, 1]``, the tanh candidates (``g``, ``n``) on ``[-1, 1]``.

    Args:
      trace: an ``LSTMTrace`` or ``GRUTrace`` (fields ``[t, h]`` or ``[b, t, h]``).
      tokens: the ``t`` tokens, the labels of the time axis.
      batch: which sequence of a batched trace.
      title: the figure's title (default: the cell and what is shown).

    Returns:
      A :class:`~matplotlib.figure.Figure` with one heatmap and one colour bar per gate.

    Raises:
      TypeError: ``trace`` is not an ``LSTMTrace`` or ``GRUTrace``.

    Examples:
      >>> from jaxrnn import teach
      >>> tokens, trace, _ = teach.shipped('lstm').trace('I love myself')
      >>> fig = teach.gate_heatmaps(trace, tokens)
      >>> type(fig).__name__, len(fig.axes)  # 4 gates, 4 colour bars
      ('Figure', 8)
      >>> [ax.get_title() for ax in fig.axes[:4]]
      ['forget gate f (share of c kept)', 'input gate i', 'output gate o', 'candidate g']
    """
    kind = _values.kind_of(trace)
    gates = kind.gates
    fig = Figure(figsize=(3.2 * len(gates), 3.6), layout='constrained')
    _gate_panels(fig, fig.subplots(1, len(gates)), _values.row(trace, batch, kind=kind), tokens)
    fig.suptitle(title or f'{kind.title} gates, every unit at every step')
    return fig


def highway(trace, tokens, *, batch: int = 0, initial=None, ax=None) -> Figure:
    """The memory highway: per step, how much of the new memory was carried from the
    old one and how much was written.

    The state update split in two parts, ``state = kept + written``::

      LSTM   c_t = f * c_(t-1) + i * g          kept = f * c_(t-1), written = i * g
      GRU    h_t = z * h_(t-1) + (1 - z) * n    kept = z * h_(t-1), written = (1 - z) * n

    Per step, stacked bars show the mean over units of ``|kept|`` and of ``|written|``,
    and a line the mean of ``|state|``. The parts can have opposite signs, so the line
    can sit below the top of the bar.

    Args:
      trace: an ``LSTMTrace`` or ``GRUTrace`` (fields ``[t, h]`` or ``[b, t, h]``).
      tokens: the ``t`` tokens, the labels of the time axis.
      batch: which sequence of a batched trace.
      initial: that sequence's initial carry (LSTM ``(c, h)``, GRU ``h``, each ``[h]``),
        the old state of step 1; zeros by default.
      ax: draw into these axes instead of a new figure.

    Returns:
      The new :class:`~matplotlib.figure.Figure` (one axes), or the figure of ``ax``.

    Raises:
      TypeError: ``trace`` is not an ``LSTMTrace`` or ``GRUTrace``.

    Examples:
      >>> from matplotlib.figure import Figure
      >>> from jaxrnn import teach
      >>> tokens, trace, _ = teach.shipped('gru').trace('I love myself')
      >>> fig = teach.highway(trace, tokens)
      >>> type(fig).__name__, fig.axes[0].get_title()
      ('Figure', 'GRU memory highway: carried vs written')
      >>> mine = Figure()
      >>> left, right = mine.subplots(1, 2)
      >>> teach.highway(trace, tokens, ax=right) is mine
      True
    """
    kind = _values.kind_of(trace)
    one = _values.row(trace, batch, initial=initial, kind=kind)
    kept, written, state = one.split.kept, one.split.written, one.split.state
    fig = None
    if ax is None:
        fig = Figure(figsize=(max(4.0, 0.9 * len(tokens) + 2), 3.4), layout='constrained')
        ax = fig.subplots()
    steps = np.arange(len(tokens))
    carried_label, written_label, state_label = HIGHWAY[kind.name]
    k, w = np.mean(np.abs(kept), axis=1), np.mean(np.abs(written), axis=1)
    ax.bar(steps, k, color='tab:blue', label=carried_label)
    ax.bar(steps, w, bottom=k, color='tab:orange', label=written_label)
    ax.plot(steps, np.mean(np.abs(state), axis=1), 'k.-', label=state_label)
    ax.set_ylabel('mean over units')
    top = max(float(np.max(k + w)), float(np.max(np.mean(np.abs(state), axis=1))))
    ax.set_ylim(0, 1.45 * top if top > 0 else 1)  # room for the legend
    ax.set_title(f'{kind.title} memory highway: carried vs written', fontsize=10)
    _tokens_axis(ax, tokens)
    ax.legend(fontsize=8, loc='upper left')
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


def saturation(trace, *, batch: int | None = None, lengths=None) -> Figure:
    """Gate saturation per unit, after Karpathy, Johnson and Fei-Fei (2015): one point
    per unit and sigmoid gate, at x = the share of steps below 0.1 (nearly closed) and
    y = the share above 0.9 (nearly open).

    The numbers are :func:`saturation_fractions`'s. A point on the grey diagonal
    ``x + y = 1`` is always saturated; one at the origin never is.

    Args:
      trace: an ``LSTMTrace`` or ``GRUTrace`` (fields ``[t, h]`` or ``[b, t, h]``).
      batch: only this sequence; by default every sequence of the batch.
      lengths: the valid steps of each sequence of the whole batch (``[b]``); all ``t``
        by default.

    Returns:
      A :class:`~matplotlib.figure.Figure` with one axes.

    Raises:
      TypeError: ``trace`` is not an ``LSTMTrace`` or ``GRUTrace``.

    Examples:
      >>> from jaxrnn import teach
      >>> tokens, trace, _ = teach.shipped('lstm').trace('the film was long but i loved it')
      >>> fig = teach.saturation(trace)
      >>> type(fig).__name__, fig.axes[0].get_title()
      ('Figure', 'LSTM gate saturation per unit')
    """
    fractions = saturation_fractions(trace, batch=batch, lengths=lengths)
    fig = Figure(figsize=(4.2, 4.0), layout='constrained')
    ax = fig.subplots()
    ax.plot([0, 1], [1, 0], color='0.8', linewidth=1)
    for name, (left, right) in fractions.items():
        ax.scatter(left, right, s=18, alpha=0.8, label=f'{name}')
    ax.set_xlim(-0.02, 1.02)
    ax.set_ylim(-0.02, 1.02)
    ax.set_xlabel('share of steps < 0.1 (closed)')
    ax.set_ylabel('share of steps > 0.9 (open)')
    ax.set_title(f'{_values.kind_of(trace).title} gate saturation per unit', fontsize=10)
    ax.legend(title='gate', fontsize=8)
    return fig


def compare(lstm_trace, gru_trace, tokens, *, batch: int = 0) -> Figure:
    """An LSTM and a GRU on the same sentence, side by side: on top the gate that keeps
    the old state (LSTM forget gate ``f``, GRU update gate ``z``) per unit and step, on
    one colour scale ``[0, 1]``; below each one's :func:`highway`.

    Args:
      lstm_trace: an ``LSTMTrace`` (fields ``[t, h]`` or ``[b, t, h]``).
      gru_trace: a ``GRUTrace`` over the same ``t`` tokens (its ``h`` may differ).
      tokens: the ``t`` tokens, the labels of the time axes.
      batch: which sequence of batched traces.

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
    fig = Figure(figsize=(max(8.0, 1.6 * len(tokens) + 3), 6.4), layout='constrained')
    axes = fig.subplots(2, 2)
    traces = (lstm_trace, gru_trace)
    for ax, trace in zip(axes[0], traces, strict=True):
        kind = _values.kind_of(trace)
        keep = _values.row(trace, batch, kind=kind).fields[kind.keep]
        image = _heatmap(ax, keep, tokens, KEEPS[kind.name], False)
    fig.colorbar(image, ax=axes[0, :], shrink=0.8)
    for ax, trace in zip(axes[1], traces, strict=True):
        highway(trace, tokens, batch=batch, ax=ax)
    fig.suptitle('LSTM and GRU on "' + ' '.join(tokens) + '"')
    return fig


def overview(trace, tokens, *, batch: int = 0) -> Figure:
    """One trace in one figure: the :func:`gate_heatmaps` on top, the :func:`highway`
    and the :func:`saturation` of that sequence below.

    The figure that ``jaxrnn trace --png`` writes and the HTML report shows.

    Args:
      trace: an ``LSTMTrace`` or ``GRUTrace`` (fields ``[t, h]`` or ``[b, t, h]``).
      tokens: the ``t`` tokens, the labels of the time axes.
      batch: which sequence of a batched trace.

    Returns:
      A :class:`~matplotlib.figure.Figure` with a heatmap and a colour bar per gate,
      the highway and the saturation.

    Raises:
      TypeError: ``trace`` is not an ``LSTMTrace`` or ``GRUTrace``.

    Examples:
      >>> from jaxrnn import teach
      >>> tokens, trace, _ = teach.shipped('gru').trace('I love myself')
      >>> fig = teach.overview(trace, tokens)
      >>> fig.get_suptitle()
      'GRU reading "i love myself"'
      >>> len(fig.axes)  # 3 gates, 3 colour bars, highway, saturation
      8
    """
    kind = _values.kind_of(trace)
    gates = kind.gates
    fig = Figure(figsize=(3.2 * len(gates), 7.2), layout='constrained')
    grid = fig.add_gridspec(2, len(gates))
    panels = (fig.add_subplot(grid[0, k]) for k in range(len(gates)))
    _gate_panels(fig, panels, _values.row(trace, batch, kind=kind), tokens)
    highway(trace, tokens, batch=batch, ax=fig.add_subplot(grid[1, : len(gates) - 1]))
    ax = fig.add_subplot(grid[1, len(gates) - 1])
    for name, (left, right) in saturation_fractions(trace, batch=batch).items():
        ax.scatter(left, right, s=14, alpha=0.8, label=name)
    ax.set_xlim(-0.02, 1.02)
    ax.set_ylim(-0.02, 1.02)
    ax.set_xlabel('share < 0.1')
    ax.set_ylabel('share > 0.9')
    ax.set_title('saturation per unit', fontsize=10)
    ax.legend(fontsize=8)
    fig.suptitle(f'{kind.title} reading "' + ' '.join(tokens) + '"')
    return fig
