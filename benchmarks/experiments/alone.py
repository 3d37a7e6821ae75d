"""NOTES.md entry 4: jaxrnn's LSTM forward at batch 1 (both projection placements) and
Flax's, alone, 60 back-to-back pairs each (the second call timed).

  python benchmarks/experiments/alone.py
"""

import time

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np

from jaxrnn import kernels

B, T, IN, H = 1, 256, 64, 64
rng = np.random.default_rng(0)
shapes = [(IN, 4 * H), (H, 4 * H), (4 * H,)]
params = kernels.LSTMParams(
    *(jnp.asarray(0.1 * rng.standard_normal(s), jnp.float32) for s in shapes)
)
x = jnp.asarray(rng.standard_normal((B, T, IN)), jnp.float32)
runs = {}
for mode in ('in_loop', 'hoisted'):
    backend = kernels.XLA(projection=mode)
    c = jax.jit(lambda p, x, b=backend: kernels.lstm(p, x, backend=b)[1]).lower(params, x).compile()
    runs[f'jaxrnn {mode}'] = lambda c=c: jax.block_until_ready(c(params, x))
rnn = nn.RNN(nn.OptimizedLSTMCell(H))
v = rnn.init(jax.random.key(0), x)
g = jax.jit(rnn.apply).lower(v, x).compile()
runs['flax OptimizedLSTMCell'] = lambda: jax.block_until_ready(g(v, x))
times = {k: [] for k in runs}
for _ in range(60):
    for k, f in runs.items():
        f()
        start = time.perf_counter()
        f()
        times[k].append(time.perf_counter() - start)
for k, ts in times.items():
    ts = 1e3 * np.array(ts)
    p10, p90 = np.percentile(ts, [10, 90])
    print(f'{k}: median {np.median(ts):.3f} ms, p10 {p10:.3f}, p90 {p90:.3f}')
