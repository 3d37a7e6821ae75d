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

from jaxrnn.kernels import GRUTrace, LSTMTrace

GATES = {
    'lstm': (
        ('f', 'forget gate f (share of c kept)'),
        ('i', 'input gate i'),
        ('o', 'output gate o'),
        ('g', 'candidate g'),
    ),
    'gru': (('z', 'update gate z (share of h kept)'), ('r', 'reset gate r'), ('n', 'candidate n')),
}
_TANH = {'g', 'n'}


def cell_of(trace) -> str:
    if isinstance(trace, LSTMTrace):
        return 'lstm'
    if isinstance(trace, GRUTrace):
        return 'gru'
    raise TypeError(f'expected an LSTMTrace or GRUTrace, got {type(trace).__name__}.')


def rows(trace, batch: int = 0) -> dict[str, np.ndarray]:
    """The trace of one sequence as ``{field: [t, h]}`` float64 arrays."""
    out = {}
    for name, value in trace._asdict().items():
        a = np.asarray(value, np.float64)
        out[name] = a[batch] if a.ndim == 3 else a
    return out


def carried_written(trace, batch: int = 0, initial=None):
    """Per step and unit, the part of the new state carried from the old one and the
    part written: LSTM ``f*c_{t-1}`` and ``i*g`` (summing to ``c_t``), GRU ``z*h_{t-1}``
    and ``(1-z)*n`` (summing to ``h_t``). Each ``[t, h]``."""
    cell = cell_of(trace)
    r = rows(trace, batch)
    state = r['c'] if cell == 'lstm' else r['h']
    if initial is None:
        first = np.zeros_like(state[:1])
    else:
        init = initial[0] if cell == 'lstm' else initial
        first = np.asarray(init, np.float64)[None]
    prev = np.concatenate([first, state[:-1]], axis=0)
    if cell == 'lstm':
        return r['f'] * prev, r['i'] * r['g']
    return r['z'] * prev, (1 - r['z']) * r['n']


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


def gate_heatmaps(trace, tokens, *, batch: int = 0, title: str | None = None) -> Figure:
    """One heatmap per gate: hidden units (rows) x steps (columns, labelled with the
    tokens); sigmoid gates on [0, 1], tanh candidates on [-1, 1]."""
    cell = cell_of(trace)
    r = rows(trace, batch)
    gates = GATES[cell]
    fig = Figure(figsize=(3.2 * len(gates), 3.6), layout='constrained')
    axes = fig.subplots(1, len(gates))
    for ax, (name, label) in zip(axes, gates, strict=True):
        image = _heatmap(ax, r[name], tokens, label, name in _TANH)
        fig.colorbar(image, ax=ax, shrink=0.8)
    fig.suptitle(title or f'{cell.upper()} gates, every unit at every step')
    return fig


def highway(trace, tokens, *, batch: int = 0, initial=None, ax=None) -> Figure:
    """The memory highway: per step, the mean magnitude of the part of the new memory
    carried from the old one and of the part written, and of the memory itself."""
    cell = cell_of(trace)
    kept, written = carried_written(trace, batch, initial)
    state = rows(trace, batch)['c' if cell == 'lstm' else 'h']
    fig = None
    if ax is None:
        fig = Figure(figsize=(max(4.0, 0.9 * len(tokens) + 2), 3.4), layout='constrained')
        ax = fig.subplots()
    steps = np.arange(len(tokens))
    carried_label = 'carried  |f * c_(t-1)|' if cell == 'lstm' else 'kept  |z * h_(t-1)|'
    written_label = 'written  |i * g|' if cell == 'lstm' else 'written  |(1 - z) * n|'
    k, w = np.mean(np.abs(kept), axis=1), np.mean(np.abs(written), axis=1)
    ax.bar(steps, k, color='tab:blue', label=carried_label)
    ax.bar(steps, w, bottom=k, color='tab:orange', label=written_label)
    ax.plot(
        steps,
        np.mean(np.abs(state), axis=1),
        'k.-',
        label='memory  |c_t|' if cell == 'lstm' else 'state  |h_t|',
    )
    ax.set_ylabel('mean over units')
    top = max(float(np.max(k + w)), float(np.max(np.mean(np.abs(state), axis=1))))
    ax.set_ylim(0, 1.45 * top if top > 0 else 1)  # room for the legend
    ax.set_title(f'{cell.upper()} memory highway: carried vs written', fontsize=10)
    _tokens_axis(ax, tokens)
    ax.legend(fontsize=8, loc='upper left')
    return fig if fig is not None else ax.figure


def saturation_fractions(trace, *, batch: int | None = None, lengths=None) -> dict:
    """Per gate, ``(left, right)``: each unit's share of valid steps below 0.1 and above
    0.9 (over every sequence of the batch unless ``batch`` is given). ``[h]`` each."""
    cell = cell_of(trace)
    out = {}
    for name, _ in GATES[cell]:
        if name in _TANH:
            continue
        a = np.asarray(getattr(trace, name), np.float64)
        if a.ndim == 2:
            a = a[None]
        if batch is not None:
            a = a[batch : batch + 1]
        valid = np.ones(a.shape[:2], bool)
        if lengths is not None:
            lens = np.asarray(lengths).reshape(-1)
            if batch is not None:
                lens = lens[batch : batch + 1]
            valid = np.arange(a.shape[1])[None, :] < lens[:, None]
        flat = a[valid]  # [n, h]
        out[name] = (np.mean(flat < 0.1, axis=0), np.mean(flat > 0.9, axis=0))
    return out


def saturation(trace, *, batch: int | None = None, lengths=None) -> Figure:
    """Gate saturation per unit: x = share of steps below 0.1 (left-saturated), y =
    share above 0.9 (right-saturated), one point per unit and gate."""
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
    ax.set_title(f'{cell_of(trace).upper()} gate saturation per unit', fontsize=10)
    ax.legend(title='gate', fontsize=8)
    return fig


def compare(lstm_trace, gru_trace, tokens, *, batch: int = 0) -> Figure:
    """An LSTM and a GRU on the same sentence: the gate that keeps the old state (LSTM
    forget gate f, GRU update gate z) per unit and step, and each one's highway."""
    fig = Figure(figsize=(max(8.0, 1.6 * len(tokens) + 3), 6.4), layout='constrained')
    axes = fig.subplots(2, 2)
    r_l, r_g = rows(lstm_trace, batch), rows(gru_trace, batch)
    image = _heatmap(axes[0, 0], r_l['f'], tokens, 'LSTM forget gate f: share of c kept', False)
    _heatmap(axes[0, 1], r_g['z'], tokens, 'GRU update gate z: share of h kept', False)
    fig.colorbar(image, ax=axes[0, :], shrink=0.8)
    highway(lstm_trace, tokens, batch=batch, ax=axes[1, 0])
    highway(gru_trace, tokens, batch=batch, ax=axes[1, 1])
    fig.suptitle('LSTM and GRU on "' + ' '.join(tokens) + '"')
    return fig


def overview(trace, tokens, *, batch: int = 0) -> Figure:
    """Gate heatmaps, the highway and the saturation of one trace in one figure."""
    cell = cell_of(trace)
    gates = GATES[cell]
    r = rows(trace, batch)
    fig = Figure(figsize=(3.2 * len(gates), 7.2), layout='constrained')
    grid = fig.add_gridspec(2, len(gates))
    for k, (name, label) in enumerate(gates):
        ax = fig.add_subplot(grid[0, k])
        image = _heatmap(ax, r[name], tokens, label, name in _TANH)
        fig.colorbar(image, ax=ax, shrink=0.8)
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
    fig.suptitle(f'{cell.upper()} reading "' + ' '.join(tokens) + '"')
    return fig
