"""NOTES.md entry 3: jaxrnn's LSTM forward with the input projection hoisted vs in the
loop, at several sizes, interleaved in one run.

  python benchmarks/experiments/projection.py
"""

import jax
import jax.numpy as jnp
import numpy as np

from jaxrnn import _timing, kernels

SIZES = [(32, 64, 128, 128), (1, 256, 64, 64), (16, 32, 256, 256), (16, 25, 512, 512),
         (64, 25, 512, 512), (32, 150, 256, 256), (8, 1024, 128, 128)]  # fmt: skip


def runner(mode, params, x):
    """The forward pass compiled with the projection ``mode``, as a blocking call."""
    backend = kernels.XLA(projection=mode)
    f = jax.jit(lambda p, x: kernels.lstm(p, x, backend=backend)[1]).lower(params, x).compile()
    return lambda: jax.block_until_ready(f(params, x))


for b, t, i, h in SIZES:
    rng = np.random.default_rng(0)
    shapes = [(i, 4 * h), (h, 4 * h), (4 * h,)]
    params = kernels.LSTMParams(
        *(jnp.asarray(0.1 * rng.standard_normal(s), jnp.float32) for s in shapes)
    )
    x = jnp.asarray(rng.standard_normal((b, t, i)), jnp.float32)
    res = _timing.interleaved({m: runner(m, params, x) for m in ('hoisted', 'in_loop')}, 15)
    hoisted, in_loop = res['hoisted']['median_s'], res['in_loop']['median_s']
    print(f'{(b, t, i, h)}: hoisted {1e3 * hoisted:.2f} ms, in loop {1e3 * in_loop:.2f} ms, '
          f'ratio {in_loop / hoisted:.2f}')  # fmt: skip
