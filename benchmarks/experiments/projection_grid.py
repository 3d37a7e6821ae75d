"""NOTES.md entry 3 (second round): where the input projection should run on a CPU, by
batch size as well as hidden size. jaxrnn's LSTM and GRU, forward and training (the
gradient of a loss of the outputs with respect to the parameters and the inputs), with the
projection hoisted and in the loop, interleaved in one run (the suite's method), float32.

  python -m benchmarks.experiments.projection_grid [--rounds 7] [--out FILE.json]
      [--steps T] [--sizes B:H,B:H,...]

Prints one row per (cell, pass, batch, hidden) with both medians and their ratio; with
``--out``, also writes them with the machine and versions as JSON.
"""

import argparse
import json

import jax
import jax.numpy as jnp
import numpy as np

from benchmarks.report import environment
from jaxrnn import _timing, kernels

STEPS = 128
BATCHES = (1, 4, 16, 64)
HIDDENS = (64, 128, 256)
EXTRA = ((1, 512), (4, 512), (16, 512), (1, 1024), (16, 1024))  # (batch, hidden)
RUN = {'lstm': kernels.lstm, 'gru': kernels.gru}
PARAMS = {'lstm': kernels.LSTMParams, 'gru': kernels.GRUParams}


def params_of(cell: str, i: int, h: int, rng) -> tuple:
    gates = 4 if cell == 'lstm' else 3
    shapes = [(i, gates * h), (h, gates * h), (gates * h,)] + ([(h,)] if cell == 'gru' else [])
    return PARAMS[cell](*(jnp.asarray(0.1 * rng.standard_normal(s), jnp.float32) for s in shapes))


def runner(cell: str, mode: str, train: bool, params, x):
    """One blocking call of the compiled forward or training pass with projection ``mode``."""
    backend = kernels.XLA(projection=mode)

    def forward(p, x):
        return RUN[cell](p, x, backend=backend)[1]

    fn = jax.grad(lambda p, x: jnp.mean(forward(p, x) ** 2), argnums=(0, 1)) if train else forward
    compiled = jax.jit(fn).lower(params, x).compile()
    return lambda: jax.block_until_ready(compiled(params, x))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument('--rounds', type=int, default=7)
    ap.add_argument('--out', default=None)
    ap.add_argument('--steps', type=int, default=STEPS, help=f'T (default {STEPS})')
    ap.add_argument('--sizes', default=None, help='B:H,B:H,... instead of the grid')
    args = ap.parse_args()
    sizes = [(b, h) for b in BATCHES for h in HIDDENS] + list(EXTRA)
    if args.sizes:
        pairs = [pair.split(':') for pair in args.sizes.split(',')]
        sizes = [(int(b), int(h)) for b, h in pairs]
    rows = []
    head = ('cell', 'pass', 'b', 'h', 'hoisted ms', 'in loop ms', 'ratio')
    print('{:5} {:8} {:>3} {:>4}  {:>10} {:>10} {:>6}'.format(*head))
    for cell in RUN:
        for train in (False, True):
            for b, h in sizes:
                rng = np.random.default_rng(0)
                params = params_of(cell, h, h, rng)
                x = jnp.asarray(rng.standard_normal((b, args.steps, h)), jnp.float32)
                runs = {m: runner(cell, m, train, params, x) for m in ('hoisted', 'in_loop')}
                res = _timing.interleaved(runs, args.rounds)
                hoisted, in_loop = res['hoisted']['median_s'], res['in_loop']['median_s']
                row = dict(cell=cell, train=train, batch=b, steps=args.steps, hidden=h)
                row.update(hoisted_s=hoisted, in_loop_s=in_loop, ratio=in_loop / hoisted)
                rows.append(row)
                name = 'train' if train else 'forward'
                print(f'{cell:5} {name:8} {b:>3} {h:>4}  {1e3 * hoisted:10.3f} '
                      f'{1e3 * in_loop:10.3f} {in_loop / hoisted:6.2f}', flush=True)  # fmt: skip
    if args.out:
        with open(args.out, 'w') as f:
            json.dump({'environment': environment(), 'rounds': args.rounds, 'rows': rows}, f,
                      indent=1)  # fmt: skip


if __name__ == '__main__':
    main()
