"""Data-parallel training of a jaxrnn stack with JAX's own sharding.

The batch is split over a 1-D ``jax.sharding.Mesh`` of every device; parameters are
replicated. ``jax.jit`` partitions the fused kernel (its scan is over time, the batch
axis is untouched), and the gradient all-reduce comes from the sharding. The script
checks that the sharded step gives the loss and gradients of the same step on one
device. On a CPU, fake devices show it:

  XLA_FLAGS=--xla_force_host_platform_device_count=8 python examples/data_parallel.py
"""

from __future__ import annotations

import argparse
import json

import jax
import jax.numpy as jnp
import numpy as np
import optax
from jax.sharding import Mesh, NamedSharding
from jax.sharding import PartitionSpec as P

import jaxrnn.linen as jl


def main(argv=None):
    parser = argparse.ArgumentParser()
    parser.add_argument('--batch-per-device', type=int, default=4)
    parser.add_argument('--json', action='store_true', help='print a JSON summary only')
    args = parser.parse_args(argv)

    devices = jax.devices()
    mesh = Mesh(np.array(devices), ('data',))
    batch, steps, features, hidden = args.batch_per_device * len(devices), 12, 6, 16
    rng = np.random.default_rng(0)
    x = rng.standard_normal((batch, steps, features)).astype(np.float32)
    target = rng.standard_normal((batch, steps, 2 * hidden)).astype(np.float32)
    lengths = rng.integers(1, steps + 1, size=batch).astype(np.int32)

    model = jl.LSTM(hidden, num_layers=2, bidirectional=True)
    params = model.init(jax.random.key(0), x[:1])['params']
    optimizer = optax.adam(1e-2)

    def loss_fn(params, x, target, lengths):
        y = model.apply({'params': params}, x, seq_lengths=lengths)
        return jnp.sum((y - target) ** 2) / x.shape[0]

    @jax.jit
    def train_step(params, opt_state, x, target, lengths):
        loss, grads = jax.value_and_grad(loss_fn)(params, x, target, lengths)
        updates, opt_state = optimizer.update(grads, opt_state, params)
        return optax.apply_updates(params, updates), opt_state, loss, grads

    # one device: plain arrays
    single = jax.device_put((x, target, lengths), devices[0])
    _, _, loss_1, grads_1 = train_step(params, optimizer.init(params), *single)

    # every device: the batch axis sharded over 'data', parameters replicated
    data = NamedSharding(mesh, P('data'))
    replicated = NamedSharding(mesh, P())
    sharded = (jax.device_put(x, data), jax.device_put(target, data), jax.device_put(lengths, data))
    params_r = jax.device_put(params, replicated)
    new_params, _, loss_n, grads_n = train_step(params_r, optimizer.init(params_r), *sharded)

    grad_diff = max(
        float(np.max(np.abs(np.asarray(a) - np.asarray(b))))
        for a, b in zip(jax.tree.leaves(grads_1), jax.tree.leaves(grads_n), strict=True)
    )
    summary = {
        'devices': len(devices),
        'batch': batch,
        'input_shards': len(sharded[0].sharding.device_set),
        'loss_one_device': float(loss_1),
        'loss_sharded': float(loss_n),
        'max_grad_diff': grad_diff,
        'max_grad': max(float(jnp.max(jnp.abs(g))) for g in jax.tree.leaves(grads_1)),
        'params_replicated': all(
            leaf.sharding.is_fully_replicated for leaf in jax.tree.leaves(new_params)
        ),
    }
    if args.json:
        print(json.dumps(summary))
    else:
        print(
            f'{summary["devices"]} devices, batch {batch} sharded {summary["input_shards"]} ways: '
            f'loss {summary["loss_sharded"]:.6f} (one device {summary["loss_one_device"]:.6f}), '
            f'max |grad difference| {grad_diff:.1e}'
        )
    return summary


if __name__ == '__main__':
    main()
