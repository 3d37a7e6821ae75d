"""Peak training memory against sequence length, with and without ``checkpoint_every``.

  python -m benchmarks.memory [--lengths 1000,10000,100000] [--cells lstm,gru]
                              [--out benchmarks/results/memory]

One training step (forward and backward of ``mean(outputs**2)`` with respect to every
weight and the inputs) of ``jaxrnn.kernels.lstm``/``gru`` at batch 8, input = hidden = 256,
float32, for every length T and ``checkpoint_every`` in (None, 'auto'). Each configuration
runs in a fresh process, so its peak resident memory is its own. Reported per point:

- XLA's own plan, ``jit(step).lower(...).compile().memory_analysis()``: the temporary
  buffers (``temp_size_in_bytes``, where the backward's residuals live), the arguments and
  the outputs;
- the process's peak resident set (``ru_maxrss``) after compiling and running the step
  twice, and before it (imports, inputs), so their difference is what the step added;
- the median wall time of the step over ``--repeats`` runs after one warm-up.
"""

from __future__ import annotations

import argparse
import json
import pathlib
import platform
import resource
import subprocess
import sys
import time

BATCH, HIDDEN = 8, 256


def _peak_bytes() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # Linux: KiB


def child(cell: str, length: int, checkpoint_every, repeats: int) -> dict:
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
    xs = jnp.asarray(rng.standard_normal((BATCH, length, HIDDEN)), jnp.float32)
    before = _peak_bytes()

    def loss(params, xs):
        _, ys = fn(params, xs, checkpoint_every=checkpoint_every)
        return jnp.mean(ys**2)

    step = jax.jit(jax.value_and_grad(loss, argnums=(0, 1)))
    start = time.perf_counter()
    compiled = step.lower(params, xs).compile()
    compile_s = time.perf_counter() - start
    analysis = compiled.memory_analysis()
    jax.block_until_ready(compiled(params, xs))  # warm-up
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        jax.block_until_ready(compiled(params, xs))
        times.append(time.perf_counter() - start)
    return dict(
        cell=cell,
        length=length,
        checkpoint_every=checkpoint_every,
        temp_bytes=int(analysis.temp_size_in_bytes),
        argument_bytes=int(analysis.argument_size_in_bytes),
        output_bytes=int(analysis.output_size_in_bytes),
        peak_rss_bytes=_peak_bytes(),
        rss_before_step_bytes=before,
        compile_seconds=compile_s,
        step_seconds=float(np.median(times)),
        step_seconds_all=times,
    )


def _gib(n: int) -> str:
    return f'{n / 2**30:.3f}'


def markdown(rows: list[dict], command: str) -> str:
    lines = [
        f'`{command}`',
        '',
        f'Training step, batch {BATCH}, input = hidden = {HIDDEN}, float32; GiB.',
        '',
        '| cell | T | checkpoint_every | XLA temp | peak RSS | RSS added by the step | '
        'step (s) | step time vs none |',
        '|---|---:|---|---:|---:|---:|---:|---:|',
    ]
    base = {(r['cell'], r['length']): r for r in rows if r['checkpoint_every'] is None}
    for r in rows:
        ref = base.get((r['cell'], r['length']))
        ratio = f'{r["step_seconds"] / ref["step_seconds"]:.2f}' if ref else ''
        lines.append(
            f'| {r["cell"]} | {r["length"]} | {r["checkpoint_every"]} | {_gib(r["temp_bytes"])} '
            f'| {_gib(r["peak_rss_bytes"])} | '
            f'{_gib(r["peak_rss_bytes"] - r["rss_before_step_bytes"])} '
            f'| {r["step_seconds"]:.3f} | {ratio} |'
        )
    return '\n'.join(lines) + '\n'


def plot(rows: list[dict], path: pathlib.Path) -> None:
    import matplotlib

    matplotlib.use('Agg')
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.5, 4.5))
    for cell in sorted({r['cell'] for r in rows}):
        for ckpt, style in ((None, 'o-'), ('auto', 's--')):
            pts = [r for r in rows if r['cell'] == cell and r['checkpoint_every'] == ckpt]
            if pts:
                ax.loglog(
                    [r['length'] for r in pts],
                    [r['temp_bytes'] / 2**20 for r in pts],
                    style,
                    label=f'{cell}, checkpoint_every={ckpt}',
                )
    ax.set_xlabel('sequence length T')
    ax.set_ylabel('XLA temporary buffers of a training step (MiB)')
    ax.set_title(f'batch {BATCH}, hidden {HIDDEN}, float32')
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main(argv=None) -> list[dict]:
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--lengths', default='1000,10000,100000')
    parser.add_argument('--cells', default='lstm,gru')
    parser.add_argument('--repeats', type=int, default=3)
    parser.add_argument('--out', default=None)
    parser.add_argument('--child', nargs=3, metavar=('CELL', 'T', 'CHECKPOINT_EVERY'))
    args = parser.parse_args(argv)
    if args.child:
        cell, length, ckpt = args.child
        value = None if ckpt == 'None' else ckpt if ckpt == 'auto' else int(ckpt)
        print(json.dumps(child(cell, int(length), value, args.repeats)))
        return []
    rows = []
    for cell in args.cells.split(','):
        for length in (int(t) for t in args.lengths.split(',')):
            for ckpt in ('None', 'auto'):
                command = [sys.executable, '-m', 'benchmarks.memory', '--child', cell]
                command += [str(length), ckpt, '--repeats', str(args.repeats)]
                done = subprocess.run(command, capture_output=True, text=True, check=True)
                row = json.loads(done.stdout.strip().splitlines()[-1])
                rows.append(row)
                print(
                    f'{cell} T={length} checkpoint_every={row["checkpoint_every"]}: XLA temp '
                    f'{_gib(row["temp_bytes"])} GiB, peak RSS {_gib(row["peak_rss_bytes"])} '
                    f'GiB, step {row["step_seconds"]:.3f} s',
                    flush=True,
                )
    command = 'python -m benchmarks.memory ' + ' '.join(argv if argv is not None else sys.argv[1:])
    if args.out:
        out = pathlib.Path(args.out)
        out.mkdir(parents=True, exist_ok=True)
        meta = dict(command=command.strip(), machine=platform.machine(), batch=BATCH, hidden=HIDDEN)
        (out / 'results.json').write_text(json.dumps(dict(meta=meta, rows=rows), indent=1))
        (out / 'results.md').write_text(markdown(rows, command.strip()))
        plot(rows, out / 'memory.png')
    return rows


if __name__ == '__main__':
    main()
