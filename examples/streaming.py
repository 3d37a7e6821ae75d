"""Training on one long stream in truncated-BPTT windows, carrying the state across them.

A single stream of ``--steps`` values (100,000 by default) is far too long to
backpropagate through at once. It is cut into windows of ``--window`` steps, read in
order; each window starts from the final carry of the one before (``return_carry=True``
and ``initial_carry=``), with ``jax.lax.stop_gradient`` on that carry so gradients stay
inside the window (truncated BPTT). The memory of a training step is that of one window,
whatever the stream's length.

The stream: a noisy periodic signal whose period (97) is longer than a window in
``--quick`` mode, so the state at a window's start carries information the window itself
does not have yet. After training, the script reads the held-out tail of the stream twice,
carrying the state across windows and resetting it at every window, and prints both losses.

  python examples/streaming.py [--quick]
"""

from __future__ import annotations

import argparse
import functools

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import optax

import jaxrnn.linen as jl

PERIOD = 97


class Predictor(nn.Module):
    """An LSTM over ``[batch, window, 1]`` values and a linear readout of the next one."""

    hidden: int

    @nn.compact
    def __call__(self, x, carry):
        carry, h = jl.RNN(jl.LSTMCell(self.hidden), return_carry=True)(x, initial_carry=carry)
        return carry, nn.Dense(1)(h)


def stream(num_steps: int, seed: int = 0) -> np.ndarray:
    """``[num_steps]`` float32: a fixed random waveform of period ``PERIOD``, plus noise."""
    rng = np.random.default_rng(seed)
    wave = np.convolve(rng.standard_normal(PERIOD * 3), np.ones(5) / 5, 'same')[PERIOD:-PERIOD]
    values = np.resize(wave, num_steps) + 0.05 * rng.standard_normal(num_steps)
    return values.astype(np.float32)


def windows(values: np.ndarray, batch: int, window: int) -> tuple[np.ndarray, np.ndarray]:
    """The stream as ``batch`` parallel sub-streams (one contiguous piece each), cut into
    windows: inputs and next-value targets ``[num_windows, batch, window, 1]``."""
    per = (len(values) - 1) // batch // window * window
    x = values[: batch * per].reshape(batch, per)
    y = values[1 : batch * per + 1].reshape(batch, per)
    cut = per // window

    def split(a):
        return a.reshape(batch, cut, window, 1).transpose(1, 0, 2, 3)

    return split(x), split(y)


def main(argv=None):
    parser = argparse.ArgumentParser()
    parser.add_argument('--quick', action='store_true')
    parser.add_argument('--steps', type=int, default=100_000)
    parser.add_argument('--window', type=int, default=32)
    args = parser.parse_args(argv)
    num_steps = 40_000 if args.quick else args.steps
    batch, hidden, window = 8, 32, args.window
    values = stream(num_steps)
    split = int(0.9 * num_steps)
    x, y = windows(values[:split], batch, window)
    x_test, y_test = windows(values[split:], 1, window)

    model = Predictor(hidden)
    zeros = jl.LSTMCell(hidden).initialize_carry(None, (batch, 1))
    params = model.init(jax.random.key(0), x[0], zeros)['params']
    opt = optax.adam(3e-3)
    opt_state = opt.init(params)

    def loss_fn(params, carry, xw, yw):
        carry, pred = model.apply({'params': params}, xw, carry)
        return jnp.mean((pred - yw) ** 2), carry

    @jax.jit
    def train_step(params, opt_state, carry, xw, yw):
        carry = jax.lax.stop_gradient(carry)  # truncate: no gradient into earlier windows
        (loss, carry), grads = jax.value_and_grad(loss_fn, has_aux=True)(params, carry, xw, yw)
        updates, opt_state = opt.update(grads, opt_state, params)
        return optax.apply_updates(params, updates), opt_state, carry, loss

    @functools.partial(jax.jit, static_argnames='carried')
    def evaluate(params, carried: bool):
        def body(carry, xy):
            xw, yw = xy
            start = carry if carried else jax.tree.map(jnp.zeros_like, carry)
            loss, carry = loss_fn(params, start, xw, yw)
            return carry, loss

        first = jl.LSTMCell(hidden).initialize_carry(None, (1, 1))
        return jnp.mean(jax.lax.scan(body, first, (x_test, y_test))[1])

    epochs = 4 if args.quick else 3
    for epoch in range(epochs):
        carry, losses = zeros, []
        for k in range(len(x)):  # windows in stream order, the state carried across
            params, opt_state, carry, loss = train_step(params, opt_state, carry, x[k], y[k])
            losses.append(float(loss))
        print(
            f'epoch {epoch}: {len(x)} windows of {window} steps x {batch} sub-streams, '
            f'first loss {losses[0]:.4f}, mean of last 20 {np.mean(losses[-20:]):.4f}'
        )
    carried = float(evaluate(params, carried=True))
    reset = float(evaluate(params, carried=False))
    print(
        f'held-out tail ({len(x_test)} windows): loss {carried:.4f} carrying the state, '
        f'{reset:.4f} resetting it every window'
    )
    return losses[0], float(np.mean(losses[-20:])), carried, reset


if __name__ == '__main__':
    main()
