"""Output: the rich table, JSON (environment and every raw timing), Markdown and plots."""

from __future__ import annotations

import json
import os
import pathlib
import platform

import numpy as np
from matplotlib.figure import Figure
from rich.table import Table

from benchmarks import measure
from benchmarks.problems import SCALING_AXES, SCALING_BASE

COLUMNS = ('problem', 'mode', 'dtype', 'implementation', 'median ms', 'p25-p75 ms', 'x floor',
           'x best peer', 'compile s', 'MiB')  # fmt: skip


def _rates(results: dict) -> str:
    parts = []
    for dtype, rates in results['gemm_rates'].items():
        each = ', '.join(f'{k} {v / 1e9:.1f}' for k, v in rates.items())
        parts.append(f'{dtype}: {each} GFLOP/s')
    return '; '.join(parts)


def environment() -> dict:
    import flax
    import jax

    import jaxrnn

    env = {
        'device': jax.devices()[0].device_kind,
        'backend': jax.default_backend(),
        'cpu_count': os.cpu_count(),
        'platform': platform.platform(),
        'python': platform.python_version(),
        'versions': {
            'jaxrnn': jaxrnn.__version__,
            'jax': jax.__version__,
            'flax': flax.__version__,
        },
    }
    for name in ('equinox', 'torch'):
        try:
            module = __import__(name)
            env['versions'][name] = module.__version__
        except ImportError:
            env['versions'][name] = None
    try:
        import torch

        env['torch_threads'] = torch.get_num_threads()
    except ImportError:
        pass
    return env


def _ms(s):
    return f'{1e3 * s:.3f}' if s < 0.01 else f'{1e3 * s:.1f}'


def _mb(memory: dict) -> str:
    value = memory.get('total', memory.get('peak'))
    return '' if value is None else f'{value / 2**20:.1f}'


def table(results: dict, title: str) -> Table:
    t = Table(title=title, show_lines=False)
    for k, col in enumerate(COLUMNS):
        t.add_column(col, justify='left' if k < 4 else 'right')
    last = None
    for r in results['rows']:
        key = (r['problem'], r['mode'], r['dtype'])
        if last is not None and key != last:
            t.add_section()
        last = key
        style = 'bold' if not r['peer'] else None
        t.add_row(
            r['problem'],
            r['mode'],
            r['dtype'],
            r['impl'],
            _ms(r['median_s']),
            f'{_ms(r["p25_s"])}-{_ms(r["p75_s"])}',
            f'{r["x_floor"]:.2f}',
            '' if r['x_best_peer'] is None else f'{r["x_best_peer"]:.2f}',
            f'{r["compile_s"]:.2f}',
            _mb(r['memory']),
            style=style,
        )
    return t


def markdown(results: dict, command: str) -> str:
    env = results['environment']
    lines = [
        f'# Benchmark results: {results["suite"]}',
        '',
        f'Command: `{command}`',
        '',
        f'Device: {env["device"]} ({env["backend"]}), {env["cpu_count"]} cores; '
        + ', '.join(f'{k} {v}' for k, v in env['versions'].items() if v),
        '',
        f'Matmul rate, [1024, 1024] x [1024, 1024] ({_rates(results)}); the floor uses the best.',
        '',
        'Times are medians of interleaved rounds after compile and warm-up; `x floor` is the '
        'time over the GEMM floor (matmul flops / best matmul rate), `x best peer` the time '
        'over the fastest non-jaxrnn implementation of the same problem (below 1: jaxrnn is '
        "faster). Memory: XLA's compiled memory analysis (arguments + outputs + temporaries) "
        'for JAX, the allocation peak for PyTorch.',
        '',
        '| ' + ' | '.join(COLUMNS) + ' |',
        '|' + '---|' * 4 + '---:|' * (len(COLUMNS) - 4),
    ]
    for r in results['rows']:
        name = f'**{r["impl"]}**' if not r['peer'] else r['impl']
        peer = '' if r['x_best_peer'] is None else f'{r["x_best_peer"]:.2f}'
        lines.append(
            f'| {r["problem"]} | {r["mode"]} | {r["dtype"]} | {name} | {_ms(r["median_s"])} | '
            f'{_ms(r["p25_s"])}-{_ms(r["p75_s"])} | {r["x_floor"]:.2f} | {peer} | '
            f'{r["compile_s"]:.2f} | {_mb(r["memory"])} |'
        )
    if results['skipped']:
        lines += ['', 'Skipped: ' + '; '.join(f'{k}: {v}' for k, v in results['skipped'].items())]
    if results.get('scaling'):
        lines += [
            '',
            '## Scaling exponents (time ~ size^k)',
            '',
            '| cell | mode | implementation | ' + ' | '.join(SCALING_AXES) + ' |',
            '|---|---|---|' + '---:|' * len(SCALING_AXES),
        ]
        for s in results['scaling']:
            lines.append(
                f'| {s["cell"]} | {s["mode"]} | {s["impl"]} | '
                + ' | '.join(f'{s["exponents"].get(a, float("nan")):.2f}' for a in SCALING_AXES)
                + ' |'
            )
    return '\n'.join(lines) + '\n'


def scaling_fits(results: dict) -> list[dict]:
    """Per cell, mode and implementation, the fitted exponent along each axis (the other
    sizes at ``SCALING_BASE``)."""
    out = []
    groups: dict[tuple[str, str, str, str], list[dict]] = {}
    for r in results['rows']:
        groups.setdefault((r['cell'], r['mode'], r['dtype'], r['impl']), []).append(r)
    for (cell, mode, dtype, impl), rs in groups.items():
        exponents, curves = {}, {}
        for axis in SCALING_AXES:
            others = {k: v for k, v in SCALING_BASE.items() if k != axis}
            if axis == 'hidden':
                others.pop('input')
            pts = sorted(
                (r['size'][axis], r['median_s'], r['memory'])
                for r in rs
                if all(r['size'][k] == v for k, v in others.items())
                and (axis != 'hidden' or r['size']['input'] == r['size']['hidden'])
            )
            if len(pts) >= 3:
                sizes, secs = [p[0] for p in pts], [p[1] for p in pts]
                exponents[axis] = measure.fit_exponent(sizes, secs)
                curves[axis] = pts
        out.append(
            dict(cell=cell, mode=mode, dtype=dtype, impl=impl, exponents=exponents, curves=curves)
        )
    return out


def scaling_plot(fits: list[dict], path: pathlib.Path) -> None:
    """Time against T, batch and hidden, per implementation, log-log."""
    cells_modes = sorted({(f['cell'], f['mode']) for f in fits})
    fig = Figure(figsize=(5 * len(SCALING_AXES), 3.6 * len(cells_modes)), layout='constrained')
    axes = np.atleast_2d(fig.subplots(len(cells_modes), len(SCALING_AXES), squeeze=False))
    for row, (cell, mode) in enumerate(cells_modes):
        for col, axis in enumerate(SCALING_AXES):
            ax = axes[row, col]
            for f in fits:
                if (f['cell'], f['mode']) != (cell, mode) or axis not in f['curves']:
                    continue
                pts = f['curves'][axis]
                style = dict(linewidth=2.5, color='black') if f['impl'] == 'jaxrnn' else {}
                ax.loglog(
                    [p[0] for p in pts],
                    [p[1] * 1e3 for p in pts],
                    'o-',
                    label=f'{f["impl"]} (k={f["exponents"][axis]:.2f})',
                    **style,
                )
            ax.set_xlabel(axis)
            ax.set_ylabel('ms')
            ax.set_title(f'{cell} {mode}: time vs {axis}', fontsize=10)
            ax.legend(fontsize=6)
    fig.savefig(path, dpi=90)


def ratio_plot(results: dict, path: pathlib.Path) -> None:
    """Per problem and mode, every implementation's time over the GEMM floor (log)."""
    keys = []
    for r in results['rows']:
        k = (r['problem'], r['mode'], r['dtype'])
        if k not in keys:
            keys.append(k)
    impls = []
    for r in results['rows']:
        if r['impl'] not in impls:
            impls.append(r['impl'])
    fig = Figure(figsize=(max(8, 0.9 * len(keys) * len(impls) / 3), 4.5), layout='constrained')
    ax = fig.subplots()
    width = 0.8 / max(1, len(impls))
    for j, impl in enumerate(impls):
        xs, ys = [], []
        for i, k in enumerate(keys):
            for r in results['rows']:
                if (r['problem'], r['mode'], r['dtype']) == k and r['impl'] == impl:
                    xs.append(i + j * width)
                    ys.append(r['x_floor'])
        ax.bar(xs, ys, width, label=impl, color='black' if impl == 'jaxrnn' else None)
    ax.set_yscale('log')
    ax.axhline(1.0, color='0.5', linewidth=1)
    ax.set_xticks([i + 0.4 - width / 2 for i in range(len(keys))])
    ax.set_xticklabels([f'{k[0]}\n{k[1]} {k[2]}' for k in keys], fontsize=6)
    ax.set_ylabel('time / GEMM floor')
    ax.set_title(f'{results["suite"]}: time over the GEMM floor (lower is better)')
    if results['rows']:
        ax.legend(fontsize=7, ncols=3)
    fig.savefig(path, dpi=90)


def write(results: dict, out: pathlib.Path, command: str) -> list[pathlib.Path]:
    out.mkdir(parents=True, exist_ok=True)
    paths = [out / 'results.json', out / 'results.md', out / 'ratios.png']
    (out / 'results.json').write_text(json.dumps(results, indent=1))
    (out / 'results.md').write_text(markdown(results, command))
    ratio_plot(results, out / 'ratios.png')
    if results.get('scaling'):
        scaling_plot(results['scaling'], out / 'scaling.png')
        paths.append(out / 'scaling.png')
    return paths
