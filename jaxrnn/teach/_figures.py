"""Figures over a trace (matplotlib, object-oriented API: no global pyplot state).

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
    tokens); sigmoid gates on [0, 1], tanh candidates on [-1, 1].

    Examples:
      >>> import matplotlib.pyplot as plt
      >>> from jaxrnn import teach
      >>> tokens, trace, _ = teach.shipped('lstm').trace('i love myself')
      >>> fig = teach.gate_heatmaps(trace, tokens)
      >>> [ax.get_title() for ax in fig.axes][:4]
      ['forget gate f (share of c kept)', 'input gate i', 'output gate o', 'candidate g']
      >>> plt.close(fig)
    """
    kind = _values.kind_of(trace)
    gates = kind.gates
    fig = Figure(figsize=(3.2 * len(gates), 3.6), layout='constrained')
    _gate_panels(fig, fig.subplots(1, len(gates)), _values.row(trace, batch, kind=kind), tokens)
    fig.suptitle(title or f'{kind.title} gates, every unit at every step')
    return fig


def highway(trace, tokens, *, batch: int = 0, initial=None, ax=None) -> Figure:
    """The memory highway: per step, the mean magnitude of the part of the new memory
    carried from the old one and of the part written, and of the memory itself.

    Examples:
      >>> import matplotlib.pyplot as plt
      >>> from jaxrnn import teach
      >>> tokens, trace, _ = teach.shipped('lstm').trace('i love myself')
      >>> fig = teach.highway(trace, tokens)
      >>> type(fig).__name__
      'Figure'
      >>> plt.close(fig)
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
    """Per gate, ``(left, right)``: each unit's share of valid steps below 0.1 and above
    0.9 (over every sequence of the batch unless ``batch`` is given). ``[h]`` each.

    Examples:
      >>> import matplotlib.pyplot as plt
      >>> from jaxrnn import teach
      >>> tokens, trace, _ = teach.shipped('lstm').trace('i love myself')
      >>> fractions = teach.saturation_fractions(trace)
      >>> sorted(fractions)
      ['f', 'i', 'o']
      >>> left, right = fractions['f']                      # shares below 0.1, above 0.9
      >>> left.shape, bool(((left >= 0) & (left + right <= 1)).all())   # one per unit
      ((32,), True)
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
    """Gate saturation per unit: x = share of steps below 0.1 (left-saturated), y =
    share above 0.9 (right-saturated), one point per unit and gate.

    Examples:
      >>> import matplotlib.pyplot as plt
      >>> from jaxrnn import teach
      >>> tokens, trace, _ = teach.shipped('lstm').trace('i love myself')
      >>> fig = teach.saturation(trace)
      >>> len(fig.axes)
      1
      >>> plt.close(fig)
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
    """An LSTM and a GRU on the same sentence: the gate that keeps the old state (LSTM
    forget gate f, GRU update gate z) per unit and step, and each one's highway.

    Examples:
      >>> import matplotlib.pyplot as plt
      >>> from jaxrnn import teach
      >>> tokens, trace, _ = teach.shipped('lstm').trace('i love myself')
      >>> gru_tokens, gru_trace, _ = teach.shipped('gru').trace('i love myself')
      >>> fig = teach.compare(trace, gru_trace, tokens)
      >>> type(fig).__name__
      'Figure'
      >>> plt.close(fig)
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
    """Gate heatmaps, the highway and the saturation of one trace in one figure.

    Examples:
      >>> import matplotlib.pyplot as plt
      >>> from jaxrnn import teach
      >>> tokens, trace, _ = teach.shipped('lstm').trace('i love myself')
      >>> fig = teach.overview(trace, tokens)
      >>> fig.savefig('overview.png')  # doctest: +SKIP
      >>> plt.close(fig)
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
