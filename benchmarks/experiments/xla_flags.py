"""NOTES.md entry 7: XLA:CPU flags against jaxrnn's kernels. A flag must be set before JAX
starts, so each setting runs in its own process; the settings alternate (A, B, A, B, ...)
and each process times every problem with the suite's interleaved method, so the
comparison is of medians across alternating processes, not within one run.

  python -m benchmarks.experiments.xla_flags [--repeats 3] [--rounds 9]
"""

import argparse
import json
import os
import statistics
import subprocess
import sys

FLAGS = {
    'default': '',
    'small_while_loop_threshold': (
        '--xla_backend_extra_options=xla_cpu_small_while_loop_byte_threshold=100000000'
    ),
}
# (cell, batch, steps, features, hidden)
PROBLEMS = [('lstm', 1, 512, 128, 128), ('gru', 1, 512, 128, 128), ('lstm', 16, 100, 512, 512)]


def child(rounds: int) -> None:
    """Times every problem, forward and training, with 'auto'; prints one JSON line."""
    import jax
    import jax.numpy as jnp
    import numpy as np

    from jaxrnn import _timing, kernels

    runs = {}
    for cell, b, t, i, h in PROBLEMS:
        rng = np.random.default_rng(0)
        gates = 4 if cell == 'lstm' else 3
        shapes = [(i, gates * h), (h, gates * h), (gates * h,)] + ([(h,)] if cell == 'gru' else [])
        make = kernels.LSTMParams if cell == 'lstm' else kernels.GRUParams
        params = make(*(jnp.asarray(0.1 * rng.standard_normal(s), jnp.float32) for s in shapes))
        x = jnp.asarray(rng.standard_normal((b, t, i)), jnp.float32)
        run = kernels.lstm if cell == 'lstm' else kernels.gru

        def forward(p, x, run=run):
            return run(p, x)[1]

        def train(p, x, forward=forward):
            return jax.grad(lambda p, x: jnp.mean(forward(p, x) ** 2), argnums=(0, 1))(p, x)

        for name, fn in (('forward', forward), ('train', train)):
            compiled = jax.jit(fn).lower(params, x).compile()
            runs[f'{cell} b{b} t{t} i{i} h{h} {name}'] = lambda c=compiled, p=params, x=x: (
                jax.block_until_ready(c(p, x))
            )
    res = _timing.interleaved(runs, rounds)
    print(json.dumps({k: v['median_s'] for k, v in res.items()}))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument('--repeats', type=int, default=3)
    ap.add_argument('--rounds', type=int, default=9)
    ap.add_argument('--child', action='store_true')
    args = ap.parse_args()
    if args.child:
        child(args.rounds)
        return
    medians: dict[str, dict[str, list[float]]] = {name: {} for name in FLAGS}
    for _ in range(args.repeats):
        for name, flag in FLAGS.items():
            env = dict(os.environ, XLA_FLAGS=flag)
            cmd = [sys.executable, '-m', 'benchmarks.experiments.xla_flags', '--child',
                   '--rounds', str(args.rounds)]  # fmt: skip
            out = subprocess.run(cmd, env=env, capture_output=True, text=True, check=True)
            for key, value in json.loads(out.stdout.strip().splitlines()[-1]).items():
                medians[name].setdefault(key, []).append(value)
    print(f'{"problem":34} {"default ms":>11} {"flag ms":>9} {"flag/default":>13}')
    for key in medians['default']:
        base = statistics.median(medians['default'][key])
        flagged = statistics.median(medians['small_while_loop_threshold'][key])
        print(f'{key:34} {1e3 * base:11.2f} {1e3 * flagged:9.2f} {flagged / base:13.2f}')


if __name__ == '__main__':
    main()
