"""Peak training memory against sequence length, with and without ``checkpoint_every``.

  python -m benchmarks.memory [--lengths 1000,10000,100000] [--cells lstm,gru]
                              [--batch 8] [--repeats 3] [--out benchmarks/results/memory]

One training step (forward and backward of ``mean(outputs**2)`` with respect to every
weight and the inputs) of ``jaxrnn.kernels.lstm``/``gru`` at ``--batch`` sequences (8),
input = hidden = 256, float32, for every length T and ``checkpoint_every`` in (None,
'auto'). Each configuration runs in a fresh process, so its peak resident memory is its
own. Reported per point:

- XLA's own plan, ``jit(step).lower(...).compile().memory_analysis()``: the temporary
  buffers (``temp_size_in_bytes``, where the backward's residuals live), the arguments and
  the outputs. Of the temporaries, ``4 * T * batch * 256`` floats are arrays that any
  training step on every output holds whatever the method: the time-major inputs, the
  outputs, the outputs' gradient and the inputs' time-major gradient (one ``[T, batch,
  256]`` array each); the table shows them and the rest apart, the rest being what the
  method itself keeps (the residuals, ``dxp``) and what checkpointing bounds;
- the process's peak resident set (``ru_maxrss``) after compiling and running the step,
  and before it (imports, inputs), so their difference is what the step added;
- the median wall time of the step over ``--repeats`` runs after one warm-up.

A configuration whose plan (temporaries, arguments and outputs) exceeds 85% of the
machine's memory is compiled and reported but not run (``ran: false``).
"""

from __future__ import annotations

import argparse
import json
import os
import pathlib
import platform
import resource
import subprocess
import sys
import time

HIDDEN = 256
PER_STEP_ARRAYS = 4
"""``[T, batch, hidden]`` float32 arrays any training step of this benchmark holds (the
module docstring)."""


def _peak_bytes() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # Linux: KiB


def _total_memory() -> int:
    return int(pathlib.Path('/proc/meminfo').read_text().split()[1]) * 1024  # MemTotal, KiB


def child(cell: str, length: int, checkpoint_every, repeats: int, batch: int = 8) -> dict:
    """One configuration, in this process: the numbers of the module docstring."""
    import jax
    import jax.numpy as jnp
    import numpy as np

    from jaxrnn import kernels

    fn = {'lstm': kernels.lstm, 'gru': kernels.gru}[cell]
    gates = {'lstm': 4, 'gru': 3}[cell]
    rng = np.random.default_rng(0)
    fields = {
        'input_kernel': (HIDDEN, gates * HIDDEN),
        'recurrent_kernel': (HIDDEN, gates * HIDDEN),
        'bias': (gates * HIDDEN,),
    }
    if cell == 'gru':
        fields['recurrent_bias'] = (HIDDEN,)
    ptype = {'lstm': kernels.LSTMParams, 'gru': kernels.GRUParams}[cell]
    params = ptype(
        **{k: jnp.asarray(0.05 * rng.standard_normal(s), jnp.float32) for k, s in fields.items()}
    )
    xs = jnp.asarray(rng.standard_normal((batch, length, HIDDEN)), jnp.float32)
    before = _peak_bytes()

    def loss(params, xs):
        _, ys = fn(params, xs, checkpoint_every=checkpoint_every)
        return jnp.mean(ys**2)

    step = jax.jit(jax.value_and_grad(loss, argnums=(0, 1)))
    start = time.perf_counter()
    compiled = step.lower(params, xs).compile()
    compile_s = time.perf_counter() - start
    analysis = compiled.memory_analysis()
    assert analysis is not None, 'XLA gave no memory analysis for this backend'
    planned = sum(
        int(getattr(analysis, f'{k}_size_in_bytes')) for k in ('temp', 'argument', 'output')
    )
    ran = planned <= 0.85 * _total_memory()
    times = []
    if ran:
        jax.block_until_ready(compiled(params, xs))  # warm-up
        for _ in range(repeats):
            start = time.perf_counter()
            jax.block_until_ready(compiled(params, xs))
            times.append(time.perf_counter() - start)
    return dict(
        cell=cell,
        length=length,
        batch=batch,
        checkpoint_every=checkpoint_every,
        temp_bytes=int(analysis.temp_size_in_bytes),
        per_step_array_bytes=PER_STEP_ARRAYS * length * batch * HIDDEN * 4,
        argument_bytes=int(analysis.argument_size_in_bytes),
        output_bytes=int(analysis.output_size_in_bytes),
        ran=ran,
        peak_rss_bytes=_peak_bytes(),
        rss_before_step_bytes=before,
        compile_seconds=compile_s,
        step_seconds=float(np.median(times)) if times else None,
        step_seconds_all=times,
    )


def _gib(n: int) -> str:
    return f'{n / 2**30:.3f}'


def _mib(n: int) -> str:
    return f'{n / 2**20:.1f}'


def markdown(rows: list[dict], command: str) -> str:
    lines = [
        f'`{command}`',
        '',
        f'One training step, input = hidden = {HIDDEN}, float32; memory in MiB. "Per-step '
        f'arrays": the {PER_STEP_ARRAYS} `[T, batch, {HIDDEN}]` arrays any training step on '
        'every output holds (inputs, outputs and their gradients); "rest": the other '
        'temporaries, what the method keeps for its backward pass.',
        '',
        '| cell | batch | T | checkpoint_every | XLA temp | per-step arrays | rest | '
        'peak RSS | RSS added by the step | step (s) | step time vs none |',
        '|---|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|',
    ]
    base = {(r['cell'], r['batch'], r['length']): r for r in rows if r['checkpoint_every'] is None}
    for r in rows:
        ref = base.get((r['cell'], r['batch'], r['length']))
        ratio = ''
        if ref and r['step_seconds'] and ref['step_seconds']:
            ratio = f'{r["step_seconds"] / ref["step_seconds"]:.2f}'
        rest = r['temp_bytes'] - r['per_step_array_bytes']
        if r['ran']:
            rss = _mib(r['peak_rss_bytes'])
            added = _mib(r['peak_rss_bytes'] - r['rss_before_step_bytes'])
            step = f'{r["step_seconds"]:.2f}' if r['step_seconds'] is not None else ''
        else:
            rss, added, step = 'not run: plan exceeds memory', '', ''
        lines.append(
            f'| {r["cell"]} | {r["batch"]} | {r["length"]} | {r["checkpoint_every"]} '
            f'| {_mib(r["temp_bytes"])} | {_mib(r["per_step_array_bytes"])} | {_mib(rest)} '
            f'| {rss} | {added} | {step} | {ratio} |'
        )
    return '\n'.join(lines) + '\n'


def plot(rows: list[dict], path: pathlib.Path) -> None:
    """Left: the XLA temporaries against T; right: the rest (temporaries less the per-step
    arrays every method holds), with a sqrt(T) line through the first 'auto' point."""
    import matplotlib

    matplotlib.use('Agg')
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(11, 4.5))
    panels = (
        (axes[0], lambda r: r['temp_bytes'], 'XLA temporaries of a training step (MiB)'),
        (
            axes[1],
            lambda r: r['temp_bytes'] - r['per_step_array_bytes'],
            'temporaries less the per-step arrays (MiB)',
        ),
    )
    for ax, value, label in panels:
        for cell in sorted({r['cell'] for r in rows}):
            for ckpt, style in ((None, 'o-'), ('auto', 's--')):
                pts = [r for r in rows if r['cell'] == cell and r['checkpoint_every'] == ckpt]
                if pts:
                    ax.loglog(
                        [r['length'] for r in pts],
                        [value(r) / 2**20 for r in pts],
                        style,
                        label=f'{cell}, checkpoint_every={ckpt}',
                    )
        ax.set_xlabel('sequence length T')
        ax.set_ylabel(label)
    auto = sorted((r for r in rows if r['checkpoint_every'] == 'auto'), key=lambda r: r['length'])
    if auto:
        t0, m0 = auto[0]['length'], (auto[0]['temp_bytes'] - auto[0]['per_step_array_bytes'])
        ts = sorted({r['length'] for r in rows})
        axes[1].loglog(
            ts, [m0 / 2**20 * (t / t0) ** 0.5 for t in ts], 'k:', label='proportional to sqrt(T)'
        )
    axes[1].legend(fontsize=8)
    batches = sorted({r['batch'] for r in rows})
    fig.suptitle(f'batch {", ".join(map(str, batches))}, hidden {HIDDEN}, float32')
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main(argv=None) -> list[dict]:
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--lengths', default='1000,10000,100000')
    parser.add_argument('--cells', default='lstm,gru')
    parser.add_argument('--batch', type=int, default=8)
    parser.add_argument('--modes', default='None,auto', help='checkpoint_every values')
    parser.add_argument('--repeats', type=int, default=3)
    parser.add_argument('--out', default=None)
    parser.add_argument('--child', nargs=3, metavar=('CELL', 'T', 'CHECKPOINT_EVERY'))
    args = parser.parse_args(argv)
    if args.child:
        cell, length, ckpt = args.child
        value = None if ckpt == 'None' else ckpt if ckpt == 'auto' else int(ckpt)
        print(json.dumps(child(cell, int(length), value, args.repeats, args.batch)))
        return []
    rows = []
    for cell in args.cells.split(','):
        for length in (int(t) for t in args.lengths.split(',')):
            for ckpt in args.modes.split(','):
                command = [sys.executable, '-m', 'benchmarks.memory', '--child', cell]
                command += [str(length), ckpt, '--repeats', str(args.repeats)]
                command += ['--batch', str(args.batch)]
                done = subprocess.run(command, capture_output=True, text=True, check=True)
                row = json.loads(done.stdout.strip().splitlines()[-1])
                rows.append(row)
                step = f'{row["step_seconds"]:.3f} s' if row['ran'] else 'not run'
                print(
                    f'{cell} batch={args.batch} T={length} checkpoint_every='
                    f'{row["checkpoint_every"]}: XLA temp {_gib(row["temp_bytes"])} GiB, peak '
                    f'RSS {_gib(row["peak_rss_bytes"])} GiB, step {step}',
                    flush=True,
                )
    line = 'python -m benchmarks.memory ' + ' '.join(argv if argv is not None else sys.argv[1:])
    if args.out:
        out = pathlib.Path(args.out)
        out.mkdir(parents=True, exist_ok=True)
        meta = dict(
            command=line.strip(),
            machine=platform.machine(),
            memory_bytes=_total_memory(),
            cpus=os.cpu_count(),
            hidden=HIDDEN,
        )
        (out / 'results.json').write_text(json.dumps(dict(meta=meta, rows=rows), indent=1))
        (out / 'results.md').write_text(markdown(rows, line.strip()))
        plot(rows, out / 'memory.png')
    return rows


if __name__ == '__main__':
    main()
