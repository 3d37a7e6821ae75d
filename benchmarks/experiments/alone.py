"""NOTES.md entry 4: jaxrnn's LSTM forward at batch 1 (both projection placements) and
Flax's, alone, 60 back-to-back pairs each (the second call timed, ``jaxrnn._timing``).

  python benchmarks/experiments/alone.py
"""

from typing import Any, Callable

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np

from jaxrnn import _timing, kernels

B, T, IN, H = 1, 256, 64, 64
rng = np.random.default_rng(0)
shapes = [(IN, 4 * H), (H, 4 * H), (4 * H,)]
params = kernels.LSTMParams(
    *(jnp.asarray(0.1 * rng.standard_normal(s), jnp.float32) for s in shapes)
)
x = jnp.asarray(rng.standard_normal((B, T, IN)), jnp.float32)


def blocking(f: Callable, *args) -> Callable[[], Any]:
    return lambda: jax.block_until_ready(f(*args))


runs = {}
for mode in ('in_loop', 'hoisted'):
    backend = kernels.XLA(projection=mode)
    c = jax.jit(lambda p, x, b=backend: kernels.lstm(p, x, backend=b)[1]).lower(params, x).compile()
    runs[f'jaxrnn {mode}'] = blocking(c, params, x)
rnn = nn.RNN(nn.OptimizedLSTMCell(H))
v = rnn.init(jax.random.key(0), x)
runs['flax OptimizedLSTMCell'] = blocking(jax.jit(rnn.apply).lower(v, x).compile(), v, x)
for k, s in _timing.interleaved(runs, 60).items():
    ms = [1e3 * s['median_s'], 1e3 * s['p25_s'], 1e3 * s['p75_s']]
    print('{}: median {:.3f} ms, p25 {:.3f}, p75 {:.3f}'.format(k, *ms))
