"""NOTES.md entry 11: the native kernel's recurrence alone (the FFI calls, no projection
and no weight-gradient matmuls), forward with its saved values plus backward, LSTM and
GRU, float32: on 1 and 2 threads (the ``Native(threads=None)`` rule), and with the item
sizes of ``_native.tiling`` against halved and doubled ones (the tiling rule). Interleaved
medians (``jaxrnn._timing.interleaved``), milliseconds.

  python -m benchmarks.experiments.native [--rounds 7]
"""

import argparse

import jax
import jax.numpy as jnp
import numpy as np

from jaxrnn import _timing, kernels
from jaxrnn.kernels import _native, _scan

# (cell, batch, steps, hidden)
PROBLEMS = [
    ('lstm', 1, 512, 128),
    ('lstm', 2, 256, 128),
    ('lstm', 16, 128, 128),
    ('lstm', 32, 128, 256),
    ('lstm', 16, 100, 512),
    ('gru', 16, 100, 512),
    ('lstm', 64, 25, 512),
]


def _runner(cell, batch, steps, hidden, threads, tiles):
    rng = np.random.default_rng(0)
    gates = len(cell.gates)
    rec = (jnp.asarray(0.1 * rng.standard_normal((hidden, gates * hidden)), jnp.float32),)
    if cell.name == 'gru':
        rec += (jnp.zeros(hidden, jnp.float32),)
    xp = jnp.asarray(rng.standard_normal((steps, batch, gates * hidden)), jnp.float32)
    state0 = tuple(jnp.zeros((batch, hidden), jnp.float32) for _ in cell.carry)
    cfg = _scan.Config(False, 1, jnp.float32, jnp.float32, None, backend='native', threads=threads)
    fwd_tiles, bwd_tiles = tiles

    def step(rec, xp, dys):
        final, ys, saved = _native.forward(cell, cfg, rec, xp, state0, None, True, fwd_tiles)
        prev = _scan._previous_states(cell, cfg, ys, saved, state0, None)
        return _native.reverse(cell, cfg, rec, ys, saved, prev, None, (final, dys), tiles=bwd_tiles)

    fn = jax.jit(step)
    dys = jnp.ones((steps, batch, hidden), jnp.float32)
    return lambda: jax.block_until_ready(fn(rec, xp, dys))


def main(argv=None) -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument('--rounds', type=int, default=7)
    args = parser.parse_args(argv)
    print('| problem | 1 thread | 2 threads | tiles / 2 (2 threads) | tiles x 2 (2 threads) |')
    print('|---|---:|---:|---:|---:|')
    for name, batch, steps, hidden in PROBLEMS:
        cell = kernels.CELL_TYPES[name]()
        gates = len(cell.gates)
        fwd = _native.tiling(batch, hidden, gates)
        bwd = _native.tiling(batch, hidden, gates, backward=True)

        def scaled(tile, k):
            return (max(1, int(tile[0] * k)), max(1, int(tile[1] * k)))

        runs = {
            '1': _runner(cell, batch, steps, hidden, 1, (None, None)),
            '2': _runner(cell, batch, steps, hidden, 2, (None, None)),
            'half': _runner(cell, batch, steps, hidden, 2, (scaled(fwd, 0.5), scaled(bwd, 0.5))),
            'double': _runner(cell, batch, steps, hidden, 2, (scaled(fwd, 2), scaled(bwd, 2))),
        }
        stats = _timing.interleaved(runs, args.rounds)
        ms = {k: 1e3 * v['median_s'] for k, v in stats.items()}
        print(
            f'| {name} b{batch} t{steps} h{hidden} (tiles {fwd} / {bwd}) | {ms["1"]:.2f} | '
            f'{ms["2"]:.2f} | {ms["half"]:.2f} | {ms["double"]:.2f} |',
            flush=True,
        )


if __name__ == '__main__':
    main()
