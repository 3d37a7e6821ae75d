"""A Flax user switches one import: flax.linen.RNN(OptimizedLSTMCell) -> jaxrnn.linen.

Builds a small sentiment-style classifier twice (Flax's classes and jaxrnn's, the same
names), converts Flax's variables with one ``convert.from_flax`` call (the parameter paths
stay the same; each cell's gate weights are fused), checks the logits agree, then trains
the jaxrnn model for a few optax steps on a toy task.

  python examples/swap_flax.py [--quick]
"""

from __future__ import annotations

import argparse

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import optax

import jaxrnn.linen as jl
from jaxrnn import convert


class Classifier(nn.Module):
    hidden: int
    rnn_module: object  # flax.linen or jaxrnn.linen: the only difference

    @nn.compact
    def __call__(self, x, lengths):
        api = self.rnn_module
        rnn = api.RNN(api.OptimizedLSTMCell(self.hidden), return_carry=True)
        (c, h), _ = rnn(x, seq_lengths=lengths)
        return nn.Dense(2)(h)


def main(argv=None):
    parser = argparse.ArgumentParser()
    parser.add_argument('--quick', action='store_true')
    args = parser.parse_args(argv)
    batch, steps, features, hidden = (8, 12, 6, 16) if args.quick else (64, 40, 16, 64)
    train_steps = 20 if args.quick else 200
    rng = np.random.default_rng(0)
    x = jnp.asarray(rng.standard_normal((batch, steps, features)), jnp.float32)
    lengths = jnp.asarray(rng.integers(1, steps + 1, batch), jnp.int32)
    # Toy label: is the sum of the first feature over the valid steps positive?
    mask = np.arange(steps)[None, :] < np.asarray(lengths)[:, None]
    labels = jnp.asarray((np.asarray(x)[..., 0] * mask).sum(1) > 0, jnp.int32)

    flax_model = Classifier(hidden, nn)
    ours = Classifier(hidden, jl)
    flax_vars = flax_model.init(jax.random.key(0), x, lengths)
    params = convert.from_flax(flax_vars)['params']  # same paths, each cell fused
    diff = jnp.max(
        jnp.abs(
            flax_model.apply(flax_vars, x, lengths) - ours.apply({'params': params}, x, lengths)
        )
    )
    print(f'max |logits(flax) - logits(jaxrnn)| with the same weights: {float(diff):.1e}')

    opt = optax.adam(1e-2)
    state = opt.init(params)

    @jax.jit
    def step(params, state):
        def loss_fn(p):
            logits = ours.apply({'params': p}, x, lengths)
            return optax.softmax_cross_entropy_with_integer_labels(logits, labels).mean()

        loss, grads = jax.value_and_grad(loss_fn)(params)
        updates, state = opt.update(grads, state, params)
        return optax.apply_updates(params, updates), state, loss

    for i in range(train_steps):
        params, state, loss = step(params, state)
        if i in (0, train_steps - 1):
            print(f'step {i:4d}  loss {float(loss):.4f}')
    return float(diff), float(loss)


if __name__ == '__main__':
    main()
