"""The ``memory`` lesson: the telephone game, measured.

The task: the first token is one of ``symbols`` letters (``a`` to ``d``); then come
``T - 1`` filler tokens drawn at random from ``fillers`` other letters; after the last
one the model must name the first token. The answer depends only on a token ``T`` steps
back, so a model that forgets is at chance, ``1 / symbols``.

A vanilla RNN, a GRU and an LSTM with the same parameter budget learn it at every
distance ``T``, several seeds each; the lesson measures their accuracy against ``T``,
the gradient that reaches each step from the loss at the end (the vanishing gradient),
and the LSTM's forget gate and the GRU's update gate on the units that hold the token.
"""

from __future__ import annotations

import dataclasses
import functools
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import optax
from matplotlib.figure import Figure
from matplotlib.ticker import NullFormatter

from jaxrnn.teach.lessons import _common
from jaxrnn.teach.lessons._common import Claim, Lesson

CELLS = ('simple', 'gru', 'lstm')
NAMES, COLOURS = _common.NAMES, _common.COLOURS
SYMBOLS = 'abcd'
FILLERS = 'efghijklmnopqrst'


@dataclasses.dataclass(frozen=True)
class Setting:
    """One size of the lesson.

    Attributes:
      distances: the distances ``T`` (sequence lengths) trained and tested.
      seeds: the seeds, one model each per cell and ``T``.
      steps: Adam steps per model.
      batch: sequences per step.
      test: test sequences per model.
      hidden: each cell's hidden size, chosen for one parameter budget (about 5,500).
      embed: the embedding size.
      keep_bias: the initial bias of the LSTM's forget gate and the GRU's update gate.
      recurrent_init: ``'uniform'``: PyTorch's ``U(-1/sqrt(h), 1/sqrt(h))`` for every
        cell (the initialization a PyTorch user gets).
      learning_rate: Adam's.
    """

    distances: tuple[int, ...]
    seeds: tuple[int, ...]
    steps: int
    batch: int = 64
    test: int = 1000
    hidden: tuple[tuple[str, int], ...] = (('simple', 68), ('gru', 37), ('lstm', 32))
    embed: int = 8
    keep_bias: float = 2.0
    recurrent_init: str = 'uniform'
    learning_rate: float = 3e-3


SETTINGS = {
    'tiny': Setting(distances=(3, 6), seeds=(0, 1), steps=5, batch=8, test=32),
    'quick': Setting(distances=(5, 10, 20, 50), seeds=(0, 1, 2), steps=1000, keep_bias=3.0),
    'full': Setting(distances=(5, 10, 20, 50, 100), seeds=(0, 1, 2, 3), steps=2000, keep_bias=3.0),
}


def header(cell: str, s: Setting) -> dict:
    return dict(
        cell=cell,
        vocab=list(SYMBOLS + FILLERS),
        labels=list(SYMBOLS),
        embed=s.embed,
        hidden=dict(s.hidden)[cell],
        keep_bias=s.keep_bias,
        recurrent_init=s.recurrent_init,
    )


def sample(key, batch: int, distance: int):
    """A batch of the task: ``(tokens [b, T], lengths, targets [b, T], mask [b, T])``;
    the target is the first token, scored after the last step only."""
    k1, k2 = jax.random.split(key)
    first = jax.random.randint(k1, (batch,), 0, len(SYMBOLS))
    tokens = jax.random.randint(k2, (batch, distance), len(SYMBOLS), len(SYMBOLS) + len(FILLERS))
    tokens = tokens.at[:, 0].set(first)
    targets = jnp.zeros_like(tokens).at[:, -1].set(first)
    mask = jnp.zeros(tokens.shape, jnp.float32).at[:, -1].set(1.0)
    return tokens, None, targets, mask


def _accuracy(h: dict, params: dict, distance: int, test: int) -> np.ndarray:
    """Each seed's accuracy on ``test`` fresh sequences (the same for every model)."""
    tokens, _, targets, _ = sample(jax.random.key(123_456), test, distance)
    net = _common.network(h)
    logits = jax.vmap(lambda p: net.apply({'params': p}, tokens)[:, -1])(params)
    return np.asarray((logits.argmax(-1) == targets[None, :, -1]).mean(-1), np.float64)


def gradient_profile(h: dict, params: dict, distance: int, count: int = 256) -> np.ndarray:
    """The gradient that reaches each step: ``|dL/dx_t|`` (the norm of the loss's
    gradient with respect to the embedded input at step ``t``, mean over ``count``
    sequences), for ``t = 0 .. T-1``; ``L`` is the cross-entropy of the answer after
    the last step. ``[T]``, float64.

    Computed in float64 (the model's float32 weights, widened): 100 steps back a vanilla
    RNN's gradient is about 1e-26, and the squares in a float32 norm underflow to 0.
    """
    tokens, _, targets, _ = sample(jax.random.key(654_321), count, distance)
    net = _common.network(h)
    with jax.enable_x64(True):
        wide = jax.tree.map(lambda a: jnp.asarray(a, jnp.float64), params)

        def loss(probe):
            logits = net.apply({'params': wide}, tokens, probe=probe)[:, -1]
            return optax.softmax_cross_entropy_with_integer_labels(logits, targets[:, -1]).sum()

        g = jax.grad(loss)(jnp.zeros(tokens.shape + (h['embed'],), jnp.float64))
        return np.asarray(jnp.linalg.norm(g, axis=-1).mean(0), np.float64)


def holding_units(h: dict, params: dict, distance: int, count: int = 512):
    """The units that hold the first token, and their keeping gate.

    Units are ranked by how far apart their final state (``c`` for the LSTM, ``h`` for
    the GRU) is from one first token to another (the spread of
    :func:`_common.explained`, over ``count`` sequences). Returns ``(order, scores,
    keep)``: the units, best first; each unit's share of variance the first token
    explains; the keeping gate (``f`` or ``z``) ``[count, T, hidden]``.
    """
    tokens, _, targets, _ = sample(jax.random.key(777), count, distance)
    _, trace = _common.network(h).apply({'params': params}, tokens, trace=True)
    state = _common.memory_state(trace)[:, -1]
    scores, spread = _common.explained(state, np.asarray(targets[:, -1]))
    keep = _common.keep_gate(trace)
    return np.argsort(-spread, kind='stable'), scores, keep


def _orders(profile: np.ndarray) -> float:
    """How many orders of magnitude the gradient falls from the last step (distance 0)
    to the first (distance T-1); negative when it grows."""
    return float(np.log10(profile[-1] / profile[0]))


def run(size: str = 'full', *, train: bool = False, progress=None) -> Lesson:
    """Runs the lesson.

    Args:
      size: ``'tiny'`` (seconds, for tests), ``'quick'`` (under 2 minutes on a 2-core
        CPU when training) or ``'full'``.
      train: train every model again; otherwise use the weights that ship with jaxrnn
        (trained by this function at this size), or train when none ship.
      progress: called with one line per trained model.

    Returns:
      The :class:`~jaxrnn.teach.lessons.Lesson`.
    """
    _common.check_size(size)
    s = SETTINGS[size]
    expected = {f'{c}-{d}': header(c, s) for d in s.distances for c in CELLS}
    models, trained_now = _common.load_or_train(
        'memory',
        size,
        expected,
        lambda key: functools.partial(sample, batch=s.batch, distance=int(key.split('-')[1])),
        train=train,
        progress=progress,
        seeds=s.seeds,
        steps=s.steps,
        learning_rate=s.learning_rate,
        describe=lambda key: f'{NAMES[key.split("-")[0]]}, T = {key.split("-")[1]}',
    )
    chance = 1 / len(SYMBOLS)
    acc = {
        key: _accuracy(h, params, int(key.split('-')[1]), s.test)
        for key, (h, params) in models.items()
    }
    counts = {cell: _common.param_count(models[f'{cell}-{s.distances[0]}'][1]) for cell in CELLS}
    longest = s.distances[-1]
    # the gradient, at initialization and after training, for seed 0 at the longest T
    profiles: dict[str, dict[str, list[float]]] = {'init': {}, 'trained': {}}
    for cell in CELLS:
        h, params = models[f'{cell}-{longest}']
        tokens = sample(jax.random.key(0), 2, longest)[0]
        init = _common.network(h).init(jax.random.key(s.seeds[0]), tokens)['params']
        profiles['init'][cell] = gradient_profile(h, init, longest).tolist()
        profiles['trained'][cell] = gradient_profile(
            h, _common.seed_params(params, 0), longest
        ).tolist()
    gates = {}
    for cell in ('lstm', 'gru'):
        h, params = models[f'{cell}-{longest}']
        order, scores, keep = holding_units(h, _common.seed_params(params, 0), longest)
        top = [int(u) for u in order[:3]]
        mean_keep = keep.mean(0)  # [T, hidden]
        gates[cell] = dict(
            units=top,
            scores=[float(scores[u]) for u in top],
            keep=[mean_keep[:, u].tolist() for u in top],
            all_units=mean_keep.mean(1).tolist(),
            # of what step 0 wrote, the share still there at the end: the gate's product
            # over the later steps, mean over the sequences
            kept_at_end=[float(keep[:, 1:, u].prod(1).mean()) for u in top],
        )
    results: dict[str, Any] = dict(
        settings=dict(dataclasses.asdict(s), symbols=SYMBOLS, fillers=FILLERS, chance=chance),
        trained_now=trained_now,
        parameters=counts,
        accuracy={k: v.tolist() for k, v in acc.items()},
        gradient=profiles,
        gradient_orders={
            when: {c: _orders(np.array(p)) for c, p in profiles[when].items()} for when in profiles
        },
        gates=gates,
    )
    claims = _claims(size, acc, results, longest, chance)
    headers = ['T (steps back)'] + [
        f'{NAMES[c]} (h={dict(s.hidden)[c]}, {counts[c]:,} params)' for c in CELLS
    ]
    rows = [[str(d)] + [_common.spread(acc[f'{c}-{d}']) for c in CELLS] for d in s.distances]
    trained = {cell: _common.trained(*models[f'{cell}-{longest}']) for cell in CELLS}
    return Lesson(
        name='memory',
        title='Memory: the telephone game, measured',
        size=size,
        intro=(
            f'Each sequence starts with one of {len(SYMBOLS)} letters ({", ".join(SYMBOLS)}) '
            f'followed by T - 1 filler letters drawn at random from {len(FILLERS)} others; '
            'after the last one the model must name the first letter, so its answer depends '
            f'on a token T steps back (chance: {chance:.2f}). A vanilla RNN, a GRU and an '
            f'LSTM with about the same number of parameters learn it at each T, '
            f'{len(s.seeds)} seeds each ({s.steps} Adam steps of {s.batch} sequences, '
            f'learning rate {s.learning_rate}, gradient clipped at norm 1). Every cell draws '
            'its recurrent weights as PyTorch does, U(-1/sqrt(h), 1/sqrt(h)), and the gated '
            f'cells start with their keeping gate biased by {s.keep_bias} (sigmoid = '
            f'{1 / (1 + np.exp(-s.keep_bias)):.2f} of the memory kept per step). Accuracy '
            f'is measured on {s.test} new sequences. What it took (trial runs, not this '
            "one): with Flax's orthogonal recurrent initialization the vanilla RNN solved "
            'T = 50 in 2 seeds of 4 and T = 100 in 1 of 4 (1,500 steps); with a keeping-gate '
            'bias of 1 and 600 steps, 3 of 6 gated models failed at T = 50 (two at chance); '
            'with a bias of 2 and 1,000 steps one LSTM seed of 3 reached only 0.72.'
        ),
        claims=claims,
        headers=headers,
        rows=rows,
        figures=[
            (
                'memory-accuracy.png',
                accuracy_figure(s, acc, chance),
                'Accuracy against the distance T to the remembered token: the mean of the seeds '
                '(line) and each seed (dots); the dashed line is chance.',
            ),
            (
                'memory-gradient.png',
                gradient_figure(profiles, longest),
                f'The gradient that reaches each step from the loss at the end (T = {longest}), '
                'against its distance from the end, log scale: at initialization (left: why the '
                'vanilla RNN cannot learn, almost no gradient reaches the first token) and after '
                'training (right: the gated cells answer with a loss near 0, so all their '
                'gradients are small; the slope is what matters). Computed in float64.',
            ),
            (
                'memory-gates.png',
                gates_figure(gates, longest),
                'The keeping gate on the three units that hold the first letter (the units whose '
                'final state moves most from one first letter to another), mean over 512 '
                'sequences: the '
                "LSTM's forget gate f and the GRU's update gate z; a value near 1 keeps the unit's "
                'memory. Dashed: the mean over all units.',
            ),
        ],
        results=results,
        questions=[
            'In the accuracy figure, at what distance does the vanilla RNN fall to chance? '
            'Why does it not fall gradually to chance for the gated cells?',
            'The gradient figure is on a log scale. How many times smaller is the vanilla '
            "RNN's gradient at the first token than at the last? What does that mean for "
            'learning to remember?',
            'Read the forget gate of the LSTM unit that holds the letter best and multiply it '
            'over all the steps: how much of what the letter wrote is left at the end? How '
            'can the unit still know the letter?',
        ],
        trained=trained,
        weights=models,
    )


def _claims(size, acc, results, longest, chance) -> list[Claim]:
    decide = size != 'tiny'
    far = [d for d in SETTINGS[size].distances if d >= 50] or [SETTINGS[size].distances[-1]]
    d = far[0]
    gated = {c: acc[f'{c}-{d}'] for c in ('gru', 'lstm')}
    vanilla = acc[f'simple-{d}']
    orders = results['gradient_orders']['init']
    gated_fall = max(orders['gru'], orders['lstm'])
    claims = [
        Claim(
            f'LSTM and GRU remember a token {d} steps back',
            f'accuracy at T = {d}: GRU {gated["gru"].mean():.2f} (lowest seed '
            f'{gated["gru"].min():.2f}), LSTM {gated["lstm"].mean():.2f} (lowest '
            f'{gated["lstm"].min():.2f}).',
            bool(min(a.mean() for a in gated.values()) >= 0.95) if decide else None,
        ),
        Claim(
            f'the vanilla RNN forgets it: at chance {d} steps back',
            f'accuracy at T = {d}: {vanilla.mean():.2f} (seeds {vanilla.min():.2f} to '
            f'{vanilla.max():.2f}); chance is {chance:.2f}.',
            bool(abs(vanilla.mean() - chance) <= 0.1) if decide else None,
        ),
        Claim(
            "the vanilla RNN's gradient vanishes with distance, the gated cells' far less",
            f'at initialization the gradient falls by {orders["simple"]:.1f} orders of '
            f'magnitude over {longest - 1} steps for the vanilla RNN, {orders["gru"]:.1f} for '
            f'the GRU and {orders["lstm"]:.1f} for the LSTM.',
            bool(orders['simple'] - gated_fall >= 2) if decide else None,
        ),
    ]
    kept = {c: results['gates'][c]['kept_at_end'][0] for c in ('lstm', 'gru')}
    gate = {c: float(np.mean(results['gates'][c]['keep'][0][1:])) for c in ('lstm', 'gru')}
    claims.append(
        Claim(
            'the gates keep a protected highway: what the token wrote stays on the units '
            'that hold it',
            f'on the unit that holds the first letter best, the keeping gate averages '
            f'{gate["lstm"]:.2f} (LSTM f) and {gate["gru"]:.2f} (GRU z), so of what the letter '
            f'wrote there {kept["lstm"]:.2f} (LSTM) and {kept["gru"]:.2f} (GRU) is left after '
            f'{longest - 1} steps (the product of the gate). Where that is small the unit '
            'still knows the letter at the end: it writes it again at every step.',
            bool(min(kept.values()) >= 0.5) if decide else None,
        )
    )
    return claims


def accuracy_figure(s: Setting, acc: dict, chance: float) -> Figure:
    fig = Figure(figsize=(6.4, 3.6), layout='constrained')
    ax = fig.subplots()
    for cell in CELLS:
        means = [acc[f'{cell}-{d}'].mean() for d in s.distances]
        ax.plot(s.distances, means, '-o', color=COLOURS[cell], label=NAMES[cell])
        for d in s.distances:
            a = acc[f'{cell}-{d}']
            ax.scatter([d] * len(a), a, s=10, color=COLOURS[cell], alpha=0.5)
    ax.axhline(chance, ls='--', color='k', lw=1, label=f'chance ({chance:.2f})')
    ax.set_xscale('log')
    ax.set_xticks(s.distances, [str(d) for d in s.distances])
    ax.xaxis.set_minor_formatter(NullFormatter())
    ax.set_xlabel('distance T to the remembered token (steps)')
    ax.set_ylabel('accuracy')
    ax.set_ylim(0, 1.05)
    ax.legend(loc='lower left', fontsize=8)
    ax.set_title('Which cells remember a token T steps back')
    return fig


def gradient_figure(profiles: dict, longest: int) -> Figure:
    fig = Figure(figsize=(8.4, 3.4), layout='constrained')
    axes = fig.subplots(1, 2, sharey=True)
    for ax, when in zip(axes, ('init', 'trained'), strict=True):
        for cell in CELLS:
            p = np.array(profiles[when][cell])
            distance = np.arange(len(p))[::-1]
            ax.plot(distance, np.maximum(p, 1e-30), color=COLOURS[cell], label=NAMES[cell])
        ax.set_yscale('log')
        ax.set_xlabel('distance from the end (steps)')
        ax.set_title('at initialization' if when == 'init' else 'after training')
    axes[0].set_ylabel('|dL/dx_t|, mean over 256 sequences')
    axes[0].legend(fontsize=8)
    fig.suptitle(f'The gradient that reaches step t from the loss at the end (T = {longest})')
    return fig


def gates_figure(gates: dict, longest: int) -> Figure:
    fig = Figure(figsize=(8.4, 3.2), layout='constrained')
    axes = fig.subplots(1, 2, sharey=True)
    for ax, cell, gate in zip(
        axes, ('lstm', 'gru'), ('forget gate f', 'update gate z'), strict=True
    ):
        g = gates[cell]
        for k, (unit, values) in enumerate(zip(g['units'], g['keep'], strict=True)):
            ax.plot(
                values,
                color=COLOURS[cell],
                alpha=1 - 0.3 * k,
                label=f'unit {unit} (kept at the end: {g["kept_at_end"][k]:.2f})',
            )
        ax.plot(g['all_units'], ls='--', color='k', lw=1, label='all units (mean)')
        ax.set_title(f'{NAMES[cell]}: {gate}')
        ax.set_xlabel(f'step (T = {longest})')
        ax.legend(fontsize=7, loc='lower left')
    axes[0].set_ylabel('gate value (1 keeps everything)')
    axes[0].set_ylim(0, 1.02)
    return fig
