"""NOTES.md entry 8: the hand-written backward step vs ``jax.vjp`` of the cell's step
(``XLA(backward='cell')`` vs ``XLA(backward='vjp')``), training step (gradient of the sum
of the outputs with respect to every weight and the inputs), LSTM, GRU and the simple
RNN, interleaved in one run.

  python benchmarks/experiments/backward.py
"""

import jax
import jax.numpy as jnp
import numpy as np

from jaxrnn import _timing, kernels

SIZES = [(32, 64, 128, 128), (1, 256, 64, 64), (16, 32, 256, 256), (16, 100, 512, 512)]


def compiled(run, backward, params, x):
    backend = kernels.XLA(projection='hoisted', backward=backward)

    def loss(p, x):
        return run(p, x, backend=backend)[1].sum()

    f = jax.jit(jax.grad(loss, argnums=(0, 1))).lower(params, x).compile()
    return lambda: jax.block_until_ready(f(params, x))


for name, run, params_type, gates in (
    ('lstm', kernels.lstm, kernels.LSTMParams, 4),
    ('gru', kernels.gru, kernels.GRUParams, 3),
    ('simple', kernels.simple_rnn, kernels.SimpleParams, 1),
):
    for b, t, i, h in SIZES:
        rng = np.random.default_rng(0)
        shapes = [(i, gates * h), (h, gates * h), (gates * h,), (h,)]
        shapes = shapes[: len(params_type._fields)]
        params = params_type(
            *(jnp.asarray(0.1 * rng.standard_normal(s), jnp.float32) for s in shapes)
        )
        x = jnp.asarray(rng.standard_normal((b, t, i)), jnp.float32)
        fns = {mode: compiled(run, mode, params, x) for mode in ('cell', 'vjp')}
        res = _timing.interleaved(fns, rounds=15)
        cell, vjp = res['cell']['median_s'], res['vjp']['median_s']
        print(f'{name} {(b, t, i, h)}: hand-written {1e3 * cell:.2f} ms, jax.vjp '
              f'{1e3 * vjp:.2f} ms, ratio vjp/hand-written {vjp / cell:.2f}')  # fmt: skip
