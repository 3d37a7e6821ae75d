"""The README's headline table from a results file:

  python -m benchmarks.headline benchmarks/results/cpu-quick/results.json

One row per problem and mode: jaxrnn's median (the default backend, ``'auto'``), the XLA
scan's (``backend='xla'``, where the run has it), the fastest peer and its median,
jaxrnn's time over that peer's and over the GEMM floor.
"""

from __future__ import annotations

import json
import sys


def headline(results: dict) -> str:
    lines = [
        '| problem | mode | jaxrnn ms | scan ms | best peer | peer ms | jaxrnn / best peer '
        '| jaxrnn / floor |',
        '|---|---|---:|---:|---|---:|---:|---:|',
    ]
    groups: dict = {}
    for r in results['rows']:
        if r['recurrent_only']:
            continue
        groups.setdefault((r['problem'], r['mode'], r['dtype']), []).append(r)
    for (problem, mode, dtype), rows in groups.items():
        ours = {r['impl']: r for r in rows if not r['peer']}
        peers = [r for r in rows if r['peer']]
        if 'jaxrnn' not in ours or not peers:
            continue
        me = ours['jaxrnn']
        scan = ours.get('jaxrnn backend=xla')
        scan_ms = f'{1e3 * scan["median_s"]:.2f}' if scan else '-'
        best = min(peers, key=lambda r: r['median_s'])
        label = problem if dtype == 'float32' else f'{problem} ({dtype})'
        lines.append(
            f'| {label} | {mode} | {1e3 * me["median_s"]:.2f} | {scan_ms} | {best["impl"]} | '
            f'{1e3 * best["median_s"]:.2f} | {me["median_s"] / best["median_s"]:.2f} | '
            f'{me["x_floor"]:.2f} |'
        )
    return '\n'.join(lines) + '\n'


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    with open(argv[0]) as f:
        print(headline(json.load(f)), end='')
    return 0


if __name__ == '__main__':
    sys.exit(main())
