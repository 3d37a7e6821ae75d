"""Orbax checkpoints: a Flax model's checkpoint runs in jaxrnn, and a jaxrnn model saves
and restores with plain Orbax.

Trains a small Flax classifier (``nn.RNN(nn.LSTMCell)`` then ``nn.Dense``) for a few optax
steps and saves its variables with Orbax. The same program written with jaxrnn's classes
loads that checkpoint in one call (restore, ``convert.from_flax``), and its logits agree
with Flax's. Then the jaxrnn model's own params go through Orbax and come back, restored
into the abstract params of ``jax.eval_shape(model.init, ...)``, bit for bit.

  python examples/checkpoint.py [--quick]
"""

from __future__ import annotations

import argparse
import pathlib
import tempfile

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import optax
import orbax.checkpoint as ocp

import jaxrnn.linen as jl
from jaxrnn import convert


class Classifier(nn.Module):
    hidden: int
    lib: object  # flax.linen or jaxrnn.linen: the one line that differs

    @nn.compact
    def __call__(self, x):
        (c, h), _ = self.lib.RNN(self.lib.LSTMCell(self.hidden), return_carry=True)(x)
        return nn.Dense(2)(h)


def train(model, variables, x, labels, steps):
    """A few optax steps; returns the trained variables and the first and last loss."""
    opt = optax.adam(1e-2)

    @jax.jit
    def step(params, state):
        def loss_fn(p):
            logits = model.apply({'params': p}, x)
            return optax.softmax_cross_entropy_with_integer_labels(logits, labels).mean()

        loss, grads = jax.value_and_grad(loss_fn)(params)
        updates, state = opt.update(grads, state, params)
        return optax.apply_updates(params, updates), state, loss

    params, state, losses = variables['params'], opt.init(variables['params']), []
    for _ in range(steps):
        params, state, loss = step(params, state)
        losses.append(float(loss))
    return {'params': params}, losses[0], losses[-1]


def _same_bits(a, b) -> bool:
    a, b = np.asarray(a), np.asarray(b)
    return a.dtype == b.dtype and a.shape == b.shape and a.tobytes() == b.tobytes()


def main(argv=None):
    parser = argparse.ArgumentParser()
    parser.add_argument('--quick', action='store_true')
    args = parser.parse_args(argv)
    batch, steps, features, hidden = (8, 12, 6, 16) if args.quick else (64, 40, 16, 64)
    train_steps = 10 if args.quick else 100
    rng = np.random.default_rng(0)
    x = jnp.asarray(rng.standard_normal((batch, steps, features)), jnp.float32)
    labels = jnp.asarray(np.asarray(x)[..., 0].sum(1) > 0, jnp.int32)  # toy task

    flax_model, ours = Classifier(hidden, nn), Classifier(hidden, jl)
    flax_vars = flax_model.init(jax.random.key(0), x)
    flax_vars, first, last = train(flax_model, flax_vars, x, labels, train_steps)
    print(f'trained the Flax model for {train_steps} steps: loss {first:.4f} -> {last:.4f}')

    with tempfile.TemporaryDirectory() as tmp, ocp.StandardCheckpointer() as checkpointer:
        directory = pathlib.Path(tmp)
        checkpointer.save(directory / 'flax', flax_vars)
        checkpointer.wait_until_finished()

        # The Flax checkpoint into jaxrnn, in one call (no Flax model needed to restore).
        variables = convert.from_flax(checkpointer.restore(directory / 'flax'))
        diff = float(jnp.max(jnp.abs(ours.apply(variables, x) - flax_model.apply(flax_vars, x))))
        print(f'Flax checkpoint -> jaxrnn: max |logits(flax) - logits(jaxrnn)| = {diff:.1e}')

        # The jaxrnn model's own checkpoint: save its params, restore into abstract ones.
        checkpointer.save(directory / 'jaxrnn', variables['params'])
        checkpointer.wait_until_finished()
        abstract = jax.eval_shape(ours.init, jax.random.key(0), x)['params']
        restored = checkpointer.restore(directory / 'jaxrnn', abstract)
    same = jax.tree.all(jax.tree.map(_same_bits, restored, variables['params']))
    print(f'jaxrnn checkpoint -> jaxrnn: params restored bit for bit: {same}')
    return diff, first, last, same


if __name__ == '__main__':
    main()
