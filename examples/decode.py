"""Autoregressive decoding with single steps that match the sequence kernel.

Runs a GRU over a prompt with the fused sequence kernel, then keeps generating one step at
a time with ``jaxrnn.kernels.gru_step`` (the same math), feeding each output back through a
readout. Checks that re-running the whole generated sequence through the sequence kernel
reproduces the step-by-step outputs.

  python examples/decode.py [--quick]
"""

from __future__ import annotations

import argparse

import jax
import jax.numpy as jnp
import numpy as np

from jaxrnn import kernels


def main(argv=None):
    parser = argparse.ArgumentParser()
    parser.add_argument('--quick', action='store_true')
    args = parser.parse_args(argv)
    features, hidden, prompt_len, new_steps = (4, 8, 5, 5) if args.quick else (8, 32, 20, 30)
    rng = np.random.default_rng(0)

    def w(*shape):
        return jnp.asarray(0.4 * rng.standard_normal(shape), jnp.float32)

    params = kernels.GRUParams(
        w(features, 3 * hidden), w(hidden, 3 * hidden), w(3 * hidden), w(hidden)
    )
    readout = w(hidden, features)  # next input = tanh(h @ readout)
    prompt = w(1, prompt_len, features)

    h, ys = kernels.gru(params, prompt)  # the prompt in one fused call
    x = jnp.tanh(ys[:, -1] @ readout)
    inputs, outputs = [prompt[:, t] for t in range(prompt_len)], list(ys.swapaxes(0, 1))
    step = jax.jit(kernels.gru_step)
    for _ in range(new_steps):
        inputs.append(x)
        h, y = step(params, h, x)
        outputs.append(y)
        x = jnp.tanh(y @ readout)

    _, replay = kernels.gru(params, jnp.stack(inputs, axis=1))
    diff = float(jnp.max(jnp.abs(replay - jnp.stack(outputs, axis=1))))
    print(
        f'generated {new_steps} steps after a {prompt_len}-step prompt; '
        f'max |step-by-step - sequence kernel| = {diff:.1e}'
    )
    return diff


if __name__ == '__main__':
    main()
