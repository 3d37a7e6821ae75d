"""The ``jaxrnn`` command.

``jaxrnn demo [--quick]`` builds jaxrnn's Linen LSTM and GRU layers, runs them, prints
parameter and output shapes, checks that they give Flax's numbers for the same
parameters, and times them (forward, and forward + backward) against
``flax.linen.RNN`` over Flax's own cells, interleaved in one run.
"""

from __future__ import annotations

import argparse
import os
import sys

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np

import jaxrnn
import jaxrnn.linen as jl
from jaxrnn import _timing


def _lstm_to_flax(p):
    """Fused LSTM params -> flax.linen (Optimized)LSTMCell's per-gate Dense params."""
    hidden = p['recurrent_kernel'].shape[0]
    out = {}
    for k, gate in enumerate('ifgo'):
        cols = slice(k * hidden, (k + 1) * hidden)
        out[f'i{gate}'] = {'kernel': p['input_kernel'][:, cols]}
        out[f'h{gate}'] = {'kernel': p['recurrent_kernel'][:, cols], 'bias': p['bias'][cols]}
    return out


def _gru_to_flax(p):
    hidden = p['recurrent_kernel'].shape[0]
    out = {}
    for k, gate in enumerate('rzn'):
        cols = slice(k * hidden, (k + 1) * hidden)
        out[f'i{gate}'] = {'kernel': p['input_kernel'][:, cols], 'bias': p['bias'][cols]}
        out[f'h{gate}'] = {'kernel': p['recurrent_kernel'][:, cols]}
    out['hn']['bias'] = p['recurrent_bias']
    return out


def _shapes(tree):
    return jax.tree.map(lambda a: tuple(a.shape), tree)


def demo(quick: bool = False) -> int:
    batch, steps, features, hidden = (8, 32, 16, 32) if quick else (32, 128, 64, 128)
    rounds = 5 if quick else 20
    print(
        f'jaxrnn {jaxrnn.__version__} on {jax.devices()[0].device_kind} '
        f'({jax.default_backend()}), {os.cpu_count()} cores, jax {jax.__version__}'
    )
    print(
        f'inputs [batch, time, features] = [{batch}, {steps}, {features}], '
        f'hidden = {hidden}, float32\n'
    )
    x = jax.random.normal(jax.random.key(0), (batch, steps, features), jnp.float32)
    lengths = jnp.asarray(np.random.default_rng(0).integers(1, steps + 1, batch), jnp.int32)
    layers = [
        ('LSTM', jl.LSTMCell(hidden), nn.OptimizedLSTMCell(hidden), _lstm_to_flax),
        ('GRU', jl.GRUCell(hidden), nn.GRUCell(hidden), _gru_to_flax),
    ]
    for name, ours_cell, flax_cell, to_flax in layers:
        ours = jl.RNN(ours_cell, return_carry=True)
        theirs = nn.RNN(flax_cell, return_carry=True)
        variables = ours.init(jax.random.key(1), x)
        flax_vars = {'params': {'cell': to_flax(variables['params']['cell'])}}
        carry, y = ours.apply(variables, x, seq_lengths=lengths)
        print(f'{name}: jaxrnn.linen.RNN(jaxrnn.linen.{type(ours_cell).__name__}({hidden}))')
        print(f'  params  {_shapes(variables["params"]["cell"])}')
        print(f'  outputs {tuple(y.shape)}, carry {_shapes(carry)}')
        _, y_flax = theirs.apply(flax_vars, x)
        _, y_ours = ours.apply(variables, x)
        diff = float(jnp.max(jnp.abs(y_flax - y_ours)))
        print(f'  max |jaxrnn - flax.linen.RNN({type(flax_cell).__name__})| = {diff:.1e}')

        def fwd(apply, v):
            f = jax.jit(lambda v, x: apply(v, x)[1])
            return lambda x: f(v, x)

        def train(apply, v):
            f = jax.jit(jax.grad(lambda v, x: jnp.mean(apply(v, x)[1] ** 2)))
            return lambda x: f(v, x)

        results = _timing.interleaved(
            {
                'jaxrnn forward': fwd(ours.apply, variables),
                'flax forward': fwd(theirs.apply, flax_vars),
                'jaxrnn fwd+bwd': train(ours.apply, variables),
                'flax fwd+bwd': train(theirs.apply, flax_vars),
            },
            (x,),
            rounds=rounds,
        )
        print(f'  {"":16}{"median ms":>10}{"min ms":>9}{"compile s":>11}{"vs flax":>9}')
        for label, stats in results.items():
            peer = results[label.replace('jaxrnn', 'flax')]['median_s']
            print(
                f'  {label:16}{stats["median_s"] * 1e3:10.2f}{stats["min_s"] * 1e3:9.2f}'
                f'{stats["compile_s"]:11.2f}{stats["median_s"] / peer:8.2f}x'
            )
        print()
    print(
        f'timings: median of {rounds} interleaved rounds after compile and warm-up; '
        'a ratio below 1 means jaxrnn is faster.'
    )
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog='jaxrnn', description=__doc__.split('\n\n')[0])
    sub = parser.add_subparsers(dest='command', required=True)
    demo_parser = sub.add_parser('demo', help='build, run and time the LSTM and GRU layers')
    demo_parser.add_argument('--quick', action='store_true', help='small sizes, few rounds')
    args = parser.parse_args(argv)
    if args.command == 'demo':
        return demo(quick=args.quick)
    return 2  # unreachable: argparse rejects unknown commands


if __name__ == '__main__':
    sys.exit(main())
