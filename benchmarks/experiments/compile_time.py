"""Issue 6's compile-time target: a 2-layer bidirectional LSTM, jaxrnn's stack against the
same stack built from Flax's ``nn.RNN(OptimizedLSTMCell)`` and ``nn.Bidirectional``;
forward and training step, lowering + compilation, median of 5 compilations from cleared caches.

  python benchmarks/experiments/compile_time.py
"""

import statistics
import time

import flax.linen as nn
import jax
import jax.numpy as jnp

import jaxrnn.linen as jl

B, T, IN, H = 16, 64, 128, 128


class FlaxStack(nn.Module):
    @nn.compact
    def __call__(self, x):
        for _ in range(2):
            x = nn.Bidirectional(nn.RNN(nn.OptimizedLSTMCell(H)), nn.RNN(nn.OptimizedLSTMCell(H)))(
                x
            )
        return x


x = jnp.ones((B, T, IN))
models = {'jaxrnn LSTM(2 layers, bidirectional)': jl.LSTM(H, num_layers=2, bidirectional=True),
          'flax nn.RNN(OptimizedLSTMCell) x 2, Bidirectional': FlaxStack()}  # fmt: skip
for name, model in models.items():
    params = model.init(jax.random.key(0), x)
    fwd = lambda p, x, model=model: model.apply(p, x)  # noqa: E731
    train = jax.grad(lambda p, x, model=model: jnp.sum(model.apply(p, x)))
    for label, fn in (('forward', fwd), ('train', train)):
        times = []
        for _ in range(5):
            jax.clear_caches()  # every compilation from scratch
            start = time.perf_counter()
            jax.jit(fn).lower(params, x).compile()
            times.append(time.perf_counter() - start)
        print(f'{name:50} {label:8} compile {statistics.median(times):.2f} s')
