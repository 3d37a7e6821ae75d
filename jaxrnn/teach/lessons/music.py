"""The ``music`` lesson: does a model remember a melody's key across many notes?

Tunes are generated (no data files). A major key is drawn (12 keys); four notes set it
(tonic, third, fifth, tonic: the key's major triad, which names one key only); then
comes a passage of ``gap`` notes drawn at random from all twelve, which says nothing
about the key; then a ``rest``; then the tune comes back: ``after`` notes that walk the
key's scale from its tonic, one or two scale steps up or down at a time. Notes are pitch
classes named ``c cs d ds e f fs g gs a as b`` (``cs`` is C sharp), one token each.

A vanilla RNN, a GRU and an LSTM of one parameter budget learn to predict the notes
after the rest (the first of them is the tonic: only the key-setting notes, ``gap +
1`` notes back, tell it). Trained on gaps from 0 to ``gap``, they are tested at fixed
gaps: how often the first note after the rest is the tonic, how often the likeliest
next note of the returning tune is in the key, and how much probability goes to the
key's seven notes. The lesson also finds the units that hold the key at the rest (the
share of a unit's variance there that the key explains).

Without the passage the recent notes would tell the key too; with it, only memory
does.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from matplotlib.figure import Figure

from jaxrnn.teach.lessons import _common
from jaxrnn.teach.lessons._common import Claim, Lesson

NOTES = ('c', 'cs', 'd', 'ds', 'e', 'f', 'fs', 'g', 'gs', 'a', 'as', 'b')
REST = len(NOTES)  # the token after the passage
MAJOR = (0, 2, 4, 5, 7, 9, 11)
INTRO = (0, 2, 4, 0)  # scale degrees: the tonic triad, then the tonic
CELLS = ('simple', 'gru', 'lstm')
NAMES, COLOURS = _common.NAMES, _common.COLOURS


@dataclasses.dataclass(frozen=True)
class Setting:
    """One size: ``seeds`` models per cell, ``steps`` Adam steps of ``batch`` tunes
    with passages of 0 to ``gap`` random notes and ``after`` notes after the rest;
    tested on ``test`` tunes at each of ``gaps``."""

    seeds: tuple[int, ...]
    steps: int
    gap: int = 40
    gaps: tuple[int, ...] = (0, 10, 20, 40)
    after: int = 8
    batch: int = 32
    test: int = 512
    hidden: tuple[tuple[str, int], ...] = (('simple', 58), ('gru', 33), ('lstm', 29))
    embed: int = 8
    keep_bias: float = 3.0
    recurrent_init: str = 'uniform'
    learning_rate: float = 3e-3


SETTINGS = {
    'tiny': Setting(seeds=(0,), steps=5, gap=6, gaps=(0, 6), after=4, batch=8, test=32),
    'quick': Setting(seeds=(0, 1), steps=1000),
    'full': Setting(seeds=(0, 1, 2), steps=2000, gap=100, gaps=(0, 10, 20, 40, 70, 100)),
}


def header(cell: str, s: Setting) -> dict:
    return dict(
        cell=cell,
        vocab=[*NOTES, 'rest'],
        labels=list(NOTES),
        embed=s.embed,
        hidden=dict(s.hidden)[cell],
        keep_bias=s.keep_bias,
        recurrent_init=s.recurrent_init,
    )


def in_key(key: int) -> np.ndarray:
    """The seven pitch classes of ``key`` (a tonic 0..11), as a boolean mask ``[12]``."""
    mask = np.zeros(12, bool)
    mask[[(key + d) % 12 for d in MAJOR]] = True
    return mask


def tunes(key, count: int, gap: int, after: int, fixed: bool = False):
    """``count`` tunes: ``(tokens [count, 4 + gap + 1 + after], lengths, targets, mask,
    keys)``, jax arrays from ``key``. Each passage has ``gap`` notes when ``fixed``,
    else 0 to ``gap`` (drawn; the tune is padded after its end). ``targets`` is the
    next token; ``mask`` is 1 where the next token is a note of the returning tune."""
    k_key, k_gap, k_noise, k_walk = jax.random.split(key, 4)
    width = len(INTRO) + gap + 1 + after
    keys = jax.random.randint(k_key, (count,), 0, 12)
    gaps = jnp.full((count,), gap) if fixed else jax.random.randint(k_gap, (count,), 0, gap + 1)
    p = jnp.arange(width)[None, :]
    rest = len(INTRO) + gaps[:, None]  # the rest's position
    walk = jnp.concatenate(
        [
            jnp.zeros((count, 1), jnp.int32),
            jnp.cumsum(
                jax.random.choice(k_walk, jnp.array([-2, -1, 1, 2]), (count, after - 1)), axis=1
            ),
        ],
        axis=1,
    )
    degree = jnp.take_along_axis(walk, jnp.clip(p - rest - 1, 0, after - 1), axis=1)
    intro = jnp.array(INTRO)[jnp.clip(p, 0, len(INTRO) - 1)]
    scale = jnp.array(MAJOR)
    tune = (keys[:, None] + scale[jnp.where(p < len(INTRO), intro, degree) % 7]) % 12
    noise = jax.random.randint(k_noise, (count, width), 0, 12)
    tokens = jnp.where((p >= len(INTRO)) & (p < rest), noise, tune)
    tokens = jnp.where(p == rest, REST, tokens)
    lengths = rest[:, 0] + 1 + after
    tokens = jnp.where(p < lengths[:, None], tokens, 0).astype(jnp.int32)
    targets = jnp.concatenate([tokens[:, 1:], jnp.zeros((count, 1), jnp.int32)], axis=1)
    mask = ((p >= rest) & (p < lengths[:, None] - 1)).astype(jnp.float32)
    return tokens, lengths, targets, mask, keys


def _sampler(s: Setting):
    def sample(key):
        return tunes(key, s.batch, s.gap, s.after)[:4]

    return sample


def run(size: str = 'full', *, train: bool = False, progress=None) -> Lesson:
    """Runs the lesson (arguments as :func:`jaxrnn.teach.lessons.memory.run`)."""
    _common.check_size(size)
    s = SETTINGS[size]
    expected = {c: header(c, s) for c in CELLS}
    models, trained_now = _common.load_or_train(
        'music',
        size,
        expected,
        lambda key: _sampler(s),
        train=train,
        progress=progress,
        seeds=s.seeds,
        steps=s.steps,
        learning_rate=s.learning_rate,
        describe=NAMES.__getitem__,
    )
    stats: dict[str, Any] = {c: dict(tonic={}, in_key={}, mass={}) for c in CELLS}
    holders: dict[str, Any] = {}
    for cell in CELLS:
        h, params = models[cell]
        stats[cell]['parameters'] = _common.param_count(params)
        for gap in s.gaps:
            tokens, lengths, _, mask, keys = tunes(
                jax.random.key(2024 + gap), s.test, gap, s.after, fixed=True
            )
            tonic, top_in, mass = _measure(h, params, tokens, lengths, mask, keys)
            stats[cell]['tonic'][gap] = tonic
            stats[cell]['in_key'][gap] = top_in
            stats[cell]['mass'][gap] = mass
        # the units that hold the key: their state at the rest, after the longest gap
        tokens, lengths, _, _, keys = tunes(
            jax.random.key(7), s.test, s.gaps[-1], s.after, fixed=True
        )
        _, trace = _common.network(h).apply(
            {'params': _common.seed_params(params, 0)}, tokens, seq_lengths=lengths, trace=True
        )
        at_rest = len(INTRO) + s.gaps[-1]
        state = _common.memory_state(trace)[:, at_rest]
        key_of = np.asarray(keys)
        score, spread = _common.explained(state, key_of)
        order = np.argsort(-spread, kind='stable')[:6]
        means = np.stack(
            [
                state[key_of == k].mean(0) if (key_of == k).any() else np.zeros(state.shape[1])
                for k in range(12)
            ]
        )
        holders[cell] = dict(
            units=order.tolist(), scores=score[order].tolist(), means=means[:, order].T.tolist()
        )
    results = dict(
        settings=dataclasses.asdict(s), trained_now=trained_now, stats=stats, holders=holders
    )
    longest = s.gaps[-1]

    def cell_text(c, what):
        return f'{np.mean(stats[c][what][longest]):.3f}'

    headers = (
        ['cell', 'params']
        + [f'tonic after the rest, gap {g}' for g in s.gaps]
        + [
            f'likeliest note in key, gap {longest}',
            f'probability on the key, gap {longest}',
            'best key unit (share of variance)',
        ]
    )
    rows = [
        [NAMES[c], f'{stats[c]["parameters"]:,}']
        + [_common.spread(stats[c]['tonic'][g]) for g in s.gaps]
        + [
            cell_text(c, 'in_key'),
            cell_text(c, 'mass'),
            f'{holders[c]["units"][0]} ({holders[c]["scores"][0]:.2f})',
        ]
        for c in CELLS
    ]
    decide = size != 'tiny'
    tonic = {c: float(np.mean(stats[c]['tonic'][longest])) for c in CELLS}
    far = [g for g in s.gaps if g >= 40] or [longest]
    lstm_far, gru_far = (float(np.mean(stats[c]['tonic'][far[0]])) for c in ('lstm', 'gru'))
    claims = [
        Claim(
            'an LSTM remembers the key signature across many notes',
            f'after a passage of {far[0]} random notes the LSTM names the tonic {lstm_far:.3f} '
            f'of the time (GRU: {gru_far:.3f}); a guess without the key names it 1 time in 12 '
            '(0.083). Whether its later notes stay in the key says little: the returning tune '
            'gives the key away (every cell stays in key there, see the table).',
            bool(lstm_far >= 0.9) if decide else None,
        ),
        Claim(
            'gated cells keep the key where the vanilla RNN loses it',
            f'the tonic after a gap of {longest}: LSTM {tonic["lstm"]:.3f}, GRU '
            f'{tonic["gru"]:.3f}, vanilla RNN {tonic["simple"]:.3f}.',
            bool(min(tonic['lstm'], tonic['gru']) >= tonic['simple'] + 0.2) if decide else None,
        ),
    ]
    return Lesson(
        name='music',
        title='Music: remembering the key across many notes',
        size=size,
        intro=(
            'Tunes are generated in one of the 12 major keys: four notes set the key (tonic, '
            f'third, fifth, tonic), then a passage of 0 to {s.gap} notes drawn at random from '
            'all twelve (it says nothing about the key), then a rest, then the tune comes '
            f"back: {s.after} notes walking the key's scale from its tonic. A vanilla RNN, a "
            'GRU and an LSTM of about one parameter budget learn to predict the notes after '
            f'the rest ({s.steps} Adam steps of {s.batch} tunes, {len(s.seeds)} seeds, the '
            'initialization of the memory lesson); the first of them, the tonic, only the '
            f'key-setting notes tell. {s.test} new tunes test them at each gap length.'
        ),
        claims=claims,
        headers=headers,
        rows=rows,
        figures=[
            (
                'music-key.png',
                key_figure(stats, s),
                'After the rest: how often the model names the tonic (left), how often its '
                'likeliest next note is in the key (middle) and how much probability it puts on '
                "the key's seven notes (right), against the length of the random passage; mean "
                'of the seeds. Dotted: guessing without the key (1/12 and 7/12).',
            ),
            (
                'music-units.png',
                units_figure(holders),
                "The units that hold the key at the rest after the longest passage: each unit's "
                'mean state for each of the 12 keys, for the six units whose mean moves most '
                "from key to key (in brackets: the share of the unit's variance the key "
                'explains).',
            ),
        ],
        results=results,
        questions=[
            'After the longest passage, which models still find the tonic? Is the vanilla '
            'RNN better than a guess?',
            'Why is "in key" easier than "the tonic" for a model that forgot the key?',
            'Find a unit that holds the key in the units figure: which keys make it '
            'positive? Are they neighbours on the circle of fifths (C, G, D, A, ...)?',
        ],
        trained={cell: _common.trained(*models[cell]) for cell in CELLS},
        weights=models,
    )


def _measure(h, params, tokens, lengths, mask, keys):
    """Per seed: the share of tunes whose first note after the rest is predicted as the
    tonic, the share of the returning tune's predictions that are in the key, and the
    mean probability on the key's notes."""
    net = _common.network(h)
    logits = jax.vmap(lambda p: net.apply({'params': p}, tokens, seq_lengths=lengths))(params)
    probs = np.asarray(jax.nn.softmax(logits, -1), np.float64)  # [seeds, n, t, 12]
    best = probs.argmax(-1)
    keys = np.asarray(keys)
    masks = np.stack([in_key(int(k)) for k in keys])  # [n, 12]
    m = np.asarray(mask, bool)
    rest = m.argmax(1)  # the rest's position: the first scored step
    first = best[:, np.arange(len(keys)), rest]
    tonic = (first == keys[None]).mean(1)
    top_in = np.take_along_axis(
        np.broadcast_to(masks[None, :, None], probs.shape), best[..., None], -1
    )[..., 0]
    mass = (probs * masks[None, :, None]).sum(-1)
    return tonic.tolist(), top_in[:, m].mean(1).tolist(), mass[:, m].mean(1).tolist()


def key_figure(stats: dict, s: Setting) -> Figure:
    fig = Figure(figsize=(10, 3.2), layout='constrained')
    axes = fig.subplots(1, 3, sharey=True)
    for ax, what, title, chance in zip(
        axes,
        ('tonic', 'in_key', 'mass'),
        (
            'first note after the rest is the tonic',
            'likeliest next note is in the key',
            "probability on the key's 7 notes",
        ),
        (1 / 12, 7 / 12, 7 / 12),
        strict=True,
    ):
        for cell in CELLS:
            ax.plot(
                s.gaps,
                [np.mean(stats[cell][what][g]) for g in s.gaps],
                '-o',
                color=COLOURS[cell],
                label=NAMES[cell],
            )
        ax.axhline(chance, ls=':', color='k', lw=1)
        ax.set_title(title, fontsize=10)
        ax.set_xlabel('random notes between key and tune')
        ax.set_xticks(s.gaps)
    axes[0].set_ylabel('share of tunes (mean of the seeds)')
    axes[0].set_ylim(0, 1.03)
    axes[0].legend(fontsize=8)
    return fig


def units_figure(holders: dict) -> Figure:
    fig = Figure(figsize=(10, 2.8), layout='constrained')
    axes = fig.subplots(1, len(CELLS))
    for ax, cell in zip(axes, CELLS, strict=True):
        m = np.array(holders[cell]['means'])
        top = max(np.abs(m).max(), 1e-12)
        ax.imshow(m, cmap='RdBu', vmin=-top, vmax=top, aspect='auto')
        ax.set_xticks(range(12), [n.upper() for n in NOTES], fontsize=7)
        ax.set_yticks(
            range(len(m)),
            [
                f'{u} ({sc:.2f})'
                for u, sc in zip(holders[cell]['units'], holders[cell]['scores'], strict=True)
            ],
            fontsize=7,
        )
        ax.set_title(f'{NAMES[cell]}: unit (share explained)', fontsize=9)
        ax.set_xlabel('key (tonic)')
    return fig
