"""The ``lstm-vs-gru`` lesson: the video's comparison table, measured on this machine.

Each row of the video's table ("LSTM vs GRU: which to choose?") becomes a measurement:

* complexity: parameters of one layer at the same hidden size, counted;
* speed: the time of a forward pass and of a training step (loss, gradient, Adam
  update) of the two layers at the lessons' sizes, compiled and warmed up, then timed
  interleaved (:mod:`jaxrnn._timing`, the benchmark suite's method): medians with the
  middle half of the rounds;
* memory: what each cell carries from step to step (the kernels' ``carry``);
* performance: the accuracies of the ``memory`` and ``sentiment`` lessons at the same
  size.
"""

from __future__ import annotations

import dataclasses
import functools

import jax
import jax.numpy as jnp
import numpy as np
import optax

from jaxrnn import _timing, kernels
from jaxrnn.teach.lessons import _common, memory, sentiment
from jaxrnn.teach.lessons._common import Claim, Lesson

CELLS = ('lstm', 'gru')
NAMES = _common.NAMES
COMPARABLE = 0.02  # the largest accuracy gap called comparable, fixed before the runs


@dataclasses.dataclass(frozen=True)
class Setting:
    """``sizes``: ``(name, batch, steps, inputs, hidden)`` timed; ``rounds``: timed
    rounds per size."""

    rounds: int
    sizes: tuple[tuple[str, int, int, int, int], ...] = (
        ('sentiment lesson', 32, 150, 16, 32),
        ('a wider layer', 32, 100, 256, 256),
    )


SETTINGS = {
    'tiny': Setting(rounds=2, sizes=(('tiny', 4, 8, 4, 8),)),
    'quick': Setting(rounds=20),
    'full': Setting(rounds=60),
}


def _runs(cell: str, batch: int, steps: int, inputs: int, hidden: int):
    """``(forward, train)``: blocking callables of one layer (an embedding-free jaxrnn
    layer with a linear readout at the last step)."""
    net = _common.network(
        dict(cell=cell, vocab=['x'] * 2, embed=inputs, hidden=hidden, labels=['a', 'b'])
    )
    x = jax.random.normal(jax.random.key(0), (batch, steps, inputs))
    y = jnp.zeros((batch,), jnp.int32)
    params = net.init(jax.random.key(1), jnp.zeros((batch, steps), jnp.int32))['params']
    optimizer = optax.adam(1e-3)
    state = optimizer.init(params)
    zero = jnp.zeros((batch, steps), jnp.int32)  # token 0, the probe carries the input

    @jax.jit
    def forward(p):
        return net.apply({'params': p}, zero, probe=x)[:, -1]

    @jax.jit
    def train(p, s):
        def loss(p):
            logits = net.apply({'params': p}, zero, probe=x)[:, -1]
            return optax.softmax_cross_entropy_with_integer_labels(logits, y).mean()

        value, grads = jax.value_and_grad(loss)(p)
        updates, s = optimizer.update(grads, s, p)
        return optax.apply_updates(p, updates), s, value

    fwd = forward.lower(params).compile()
    step = train.lower(params, state).compile()
    return (
        lambda: jax.block_until_ready(fwd(params)),
        lambda: jax.block_until_ready(step(params, state)),
    )


def layer_parameters(cell: str, inputs: int, hidden: int) -> int:
    """One layer's parameters: ``G (i h + h h + h)``, plus the GRU's ``recurrent_bias``."""
    gates = len(kernels.LSTM.gates if cell == 'lstm' else kernels.GRU.gates)
    return gates * (inputs * hidden + hidden * hidden + hidden) + (hidden if cell == 'gru' else 0)


def run(size: str = 'full', *, train: bool = False, progress=None) -> Lesson:
    """Runs the lesson (arguments as :func:`jaxrnn.teach.lessons.memory.run`); it runs
    the ``memory`` and ``sentiment`` lessons at the same size for their accuracies."""
    _common.check_size(size)
    s = SETTINGS[size]
    times = {}
    for name, b, t, i, h in s.sizes:
        runs = {}
        for cell in CELLS:
            fwd, step = _runs(cell, b, t, i, h)
            runs[f'{cell} forward'], runs[f'{cell} train'] = fwd, step
        times[name] = _common.timed(
            progress,
            f'timing {name} (B={b}, T={t}, I={i}, H={h})',
            functools.partial(_timing.interleaved, runs, s.rounds),
        )
    mem = memory.run(size, train=train, progress=progress)
    sen = sentiment.run(size, train=train, progress=progress)
    far = max(d for d in memory.SETTINGS[size].distances)
    acc_memory = {c: float(np.mean(mem.results['accuracy'][f'{c}-{far}'])) for c in CELLS}
    acc_sentiment = {c: float(np.mean(sen.results['stats'][c]['accuracy'])) for c in CELLS}

    def ms(st):
        return f'{st["median_s"] * 1e3:.2f} ms ({st["p25_s"] * 1e3:.2f}-{st["p75_s"] * 1e3:.2f})'

    headers = ['aspect', 'the video: LSTM', 'the video: GRU', 'measured: LSTM', 'measured: GRU']
    _, _, _, inputs, hidden = s.sizes[0]
    rows = [
        [
            'complexity',
            'more sophisticated',
            'simpler',
            f'4 gates, {layer_parameters("lstm", inputs, hidden):,} params (I={inputs}, '
            f'H={hidden})',
            f'3 gates, {layer_parameters("gru", inputs, hidden):,} params',
        ],
        [
            'memory',
            'separate cell state',
            'combined',
            f'carries {", ".join(kernels.LSTM.carry)}',
            f'carries {", ".join(kernels.GRU.carry)}',
        ],
    ]
    for name, b, t, i, h in s.sizes:
        for what in ('forward', 'train'):
            rows.append(
                [
                    f'speed: {what}, {name} (B={b}, T={t}, I={i}, H={h})',
                    'slower',
                    'faster',
                    ms(times[name][f'lstm {what}']),
                    ms(times[name][f'gru {what}']),
                ]
            )
    rows += [
        [
            'performance: memory lesson',
            'sometimes slightly better',
            'usually comparable',
            f'{acc_memory["lstm"]:.3f} at T = {far}',
            f'{acc_memory["gru"]:.3f}',
        ],
        [
            'performance: sentiment lesson',
            'sometimes slightly better',
            'usually comparable',
            f'{acc_sentiment["lstm"]:.3f}',
            f'{acc_sentiment["gru"]:.3f}',
        ],
    ]
    ratios = {
        f'{name}, {what}': times[name][f'gru {what}']['median_s']
        / times[name][f'lstm {what}']['median_s']
        for name, *_ in s.sizes
        for what in ('forward', 'train')
    }
    decide = size != 'tiny'
    gap = max(
        abs(acc_memory['lstm'] - acc_memory['gru']),
        abs(acc_sentiment['lstm'] - acc_sentiment['gru']),
    )
    claims = [
        Claim(
            'GRU is faster',
            'GRU time / LSTM time: '
            + ', '.join(f'{k} {v:.2f}' for k, v in ratios.items())
            + ' (below 1: the GRU is faster).',
            bool(max(ratios.values()) < 0.95) if decide else None,
        ),
        Claim(
            'GRU is simpler: fewer parameters and one state',
            f'{layer_parameters("gru", inputs, hidden):,} against '
            f'{layer_parameters("lstm", inputs, hidden):,} parameters at I={inputs}, '
            f'H={hidden}; the GRU carries h, the LSTM c and h.',
            True if decide else None,
        ),
        Claim(
            'their results are usually comparable',
            f'largest accuracy gap between them: {gap:.3f}, where comparable means within '
            f'{COMPARABLE} (memory at T = {far}: LSTM '
            f'{acc_memory["lstm"]:.3f}, GRU {acc_memory["gru"]:.3f}; sentiment: LSTM '
            f'{acc_sentiment["lstm"]:.3f}, GRU {acc_sentiment["gru"]:.3f}).',
            bool(gap <= COMPARABLE) if decide else None,
        ),
    ]
    return Lesson(
        name='lstm-vs-gru',
        title='LSTM vs GRU: the comparison table, measured',
        size=size,
        intro=(
            'The video compares LSTM and GRU in a table. Here each row is measured on this '
            'machine: parameters counted, what each cell carries, the time of a forward pass '
            "and of a training step at the lessons' sizes (each compiled and warmed up, "
            f'then {s.rounds} interleaved rounds: median, with the middle half of the rounds '
            'in brackets), and the accuracies of the memory and sentiment lessons at the same '
            'size. A speed difference within the brackets is noise.'
        ),
        claims=claims,
        headers=headers,
        rows=rows,
        figures=[],
        results=dict(
            settings=dataclasses.asdict(s),
            trained_now=mem.results['trained_now'] or sen.results['trained_now'],
            times=times,
            ratios=ratios,
            accuracy=dict(memory=acc_memory, sentiment=acc_sentiment),
        ),
        questions=[
            "Which rows of the video's table did this machine confirm? Which not?",
            "The GRU has three quarters of the LSTM's weights. Is it three quarters of the "
            'time? What else costs time in a step?',
        ],
    )
