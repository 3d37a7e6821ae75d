"""The ``sentiment`` lesson: does a word like "terrible" survive a long review?

An LSTM and a GRU classify generated reviews (:mod:`~jaxrnn.teach.lessons.reviews`: 30
to 150 words, filler with one to three sentiment words). Then, for one review, the
lesson follows a word: at every later step, how much of what it wrote is still in
memory, and each word's influence on the verdict.

What a word wrote, and what is left of it (per unit ``j``; exact bookkeeping of the
cell's linear memory path, treating the later gates as given)::

  LSTM  written_p = i_p * g_p          left at t = written_p * f_{p+1} * ... * f_t
  GRU   written_p = (1 - z_p) * n_p    left at t = written_p * z_{p+1} * ... * z_t

The influence of word ``p`` on the verdict is gradient x input: the gradient of
``logit(positive) - logit(negative)`` with respect to the word's embedding, dotted
with the embedding (positive: it pushes towards "positive").
"""

from __future__ import annotations

import dataclasses
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from matplotlib.figure import Figure

from jaxrnn.teach._model import _pad
from jaxrnn.teach.lessons import _common, reviews
from jaxrnn.teach.lessons._common import Claim, Lesson

CELLS = ('lstm', 'gru')
NAMES, COLOURS = _common.NAMES, _common.COLOURS
FILLER = ('the', 'a', 'it', 'is', 'and', '.')
FAR = 60  # a sentiment word at least this many words before the end is "far"


@dataclasses.dataclass(frozen=True)
class Setting:
    """One size of the lesson: ``seeds`` models per cell, ``steps`` Adam steps of
    ``batch`` reviews drawn from ``pool`` generated ones (seed 1), tested on ``test``
    others (seed 2)."""

    seeds: tuple[int, ...]
    steps: int
    batch: int = 32
    pool: int = 4000
    test: int = 1000
    embed: int = 16
    hidden: int = 32
    keep_bias: float = 1.0
    learning_rate: float = 3e-3


SETTINGS = {
    'tiny': Setting(seeds=(0,), steps=5, batch=8, pool=64, test=64),
    'quick': Setting(seeds=(0,), steps=700),
    'full': Setting(seeds=(0, 1, 2), steps=2000, pool=10000),
}
WORD = 'terrible'


def header(cell: str, s: Setting) -> dict:
    return dict(
        cell=cell,
        vocab=list(reviews.vocabulary()),
        labels=list(reviews.LABELS),
        embed=s.embed,
        hidden=s.hidden,
        keep_bias=s.keep_bias,
    )


def encode(items: list[reviews.Review]):
    """``(tokens [n, 150], lengths [n], labels [n])`` as NumPy arrays."""
    index = {w: k for k, w in enumerate(reviews.vocabulary())}
    tokens = _pad([[index[w] for w in r.words] for r in items], reviews.LONGEST)
    lengths = np.array([len(r.words) for r in items], np.int32)
    return tokens, lengths, np.array([r.label for r in items], np.int32)


def _sampler(s: Setting):
    tokens, lengths, labels = (jnp.asarray(a) for a in encode(reviews.generate(s.pool, seed=1)))
    steps = jnp.arange(tokens.shape[1])

    def sample(key):
        pick = jax.random.randint(key, (s.batch,), 0, s.pool)
        last = lengths[pick] - 1
        at_end = steps[None, :] == last[:, None]
        targets = jnp.where(at_end, labels[pick][:, None], 0)
        return tokens[pick], lengths[pick], targets, at_end.astype(jnp.float32)

    return sample


def example() -> reviews.Review:
    """The review the lesson follows: about 110 words, "terrible" in its second
    sentence, one mild positive word later and no other sentiment word, so it is
    negative only if the model remembers "terrible" (the first such review from seeds
    0, 1, ...)."""
    for seed in range(10_000):
        r = reviews.review(np.random.RandomState(seed), length=100, first=WORD, at=1)
        later = [reviews.SCORES[r.words[k]] for k in r.sentiment[1:]]
        if later == [1] and r.sentiment[1] > len(r.words) * 2 // 3:
            return r
    raise AssertionError('no example review')  # pragma: no cover: seed 0.. finds one


def memory_left(h: dict, params: dict, tokens, lengths):
    """What each word wrote and how much of it is left at the end of its review.

    Returns ``(written, left, trace)``: ``written [n, t]`` the sum over units of
    ``|written_p|``; ``left [n, t]`` the sum over units of ``|written_p| * (product of
    the keeping gate over the later steps of the review)``; and the trace.
    """
    _, trace = _common.network(h).apply({'params': params}, tokens, seq_lengths=lengths, trace=True)
    keep = _common.keep_gate(trace)
    wrote = np.abs(_common.written(trace))
    steps = np.arange(keep.shape[1])
    keep = np.where(steps[None, :, None] < np.asarray(lengths)[:, None, None], keep, 1.0)
    after = np.cumprod(keep[:, ::-1], axis=1)[:, ::-1]  # prod over s >= p
    after = np.concatenate([after[:, 1:], np.ones_like(after[:, :1])], axis=1)  # s > p
    return wrote.sum(-1), (wrote * after).sum(-1), trace


def influence(h: dict, params: dict, tokens, lengths) -> np.ndarray:
    """Gradient x input of ``logit(positive) - logit(negative)`` at each review's last
    word, for every word: ``[n, t]``."""
    net = _common.network(h)

    def margin(probe):
        logits = net.apply({'params': params}, tokens, seq_lengths=lengths, probe=probe)
        end = _common.at_last(logits, lengths)
        return jnp.sum(end[:, 1] - end[:, 0])

    g = jax.grad(margin)(jnp.zeros(tokens.shape + (h['embed'],)))
    x = jnp.asarray(params['embed']['embedding'])[tokens]
    return np.asarray(jnp.sum(g * x, -1), np.float64)


def _accuracy(h, params, tokens, lengths, labels) -> np.ndarray:
    net = _common.network(h)

    def one(p):
        logits = net.apply({'params': p}, tokens, seq_lengths=lengths)
        return _common.at_last(logits, lengths).argmax(-1) == labels

    return np.asarray(jax.vmap(one)(params))  # [seeds, n]


def _share(correct: np.ndarray, subset: np.ndarray) -> list:
    """Each seed's accuracy over ``subset`` of the test reviews (``None`` for an empty
    subset, which a tiny run can draw)."""
    return correct[:, subset].mean(1).tolist() if subset.any() else [None] * len(correct)


def _mean(values: list) -> float:
    return float(np.mean(values)) if None not in values else float('nan')


def run(size: str = 'full', *, train: bool = False, progress=None) -> Lesson:
    """Runs the lesson (arguments as :func:`jaxrnn.teach.lessons.memory.run`)."""
    _common.check_size(size)
    s = SETTINGS[size]
    expected = {c: header(c, s) for c in CELLS}
    sample = _sampler(s)
    models, trained_now = _common.load_or_train(
        'sentiment',
        size,
        expected,
        lambda key: sample,
        train=train,
        progress=progress,
        seeds=s.seeds,
        steps=s.steps,
        learning_rate=s.learning_rate,
        describe=NAMES.__getitem__,
    )
    test = reviews.generate(s.test, seed=2)
    tokens, lengths, labels = encode(test)
    far = np.array([len(r.words) - 1 - r.sentiment[-1] >= FAR for r in test])
    near = np.array([len(r.words) - 1 - r.sentiment[-1] < 30 for r in test])
    ex = example()
    ex_tokens, ex_lengths, _ = encode([ex])
    pos = ex.sentiment[0]
    stats: dict[str, Any] = {}
    follow: dict[str, Any] = {}
    words_html = []
    for cell in CELLS:
        h, params = models[cell]
        correct = _accuracy(h, params, tokens, lengths, labels)
        p0 = _common.seed_params(params, 0)
        count = min(256, len(test))
        wrote, left, _ = memory_left(h, p0, tokens[:count], lengths[:count])
        infl = np.abs(influence(h, p0, tokens[:count], lengths[:count]))
        is_word = np.zeros(left.shape, bool)
        is_filler = np.zeros(left.shape, bool)
        for k, r in enumerate(test[:count]):
            is_word[k, list(r.sentiment)] = True
            is_filler[k, [j for j, w in enumerate(r.words) if w in FILLER]] = True
        stats[cell] = dict(
            parameters=_common.param_count(params),
            accuracy=correct.mean(1).tolist(),
            accuracy_far=_share(correct, far),
            accuracy_near=_share(correct, near),
            wrote_sentiment=float(wrote[is_word].mean()),
            wrote_filler=float(wrote[is_filler].mean()),
            left_sentiment=float(left[is_word].mean()),
            left_filler=float(left[is_filler].mean()),
            influence_sentiment=float(infl[is_word].mean()),
            influence_filler=float(infl[is_filler].mean()),
        )
        # follow the example's word
        e_wrote, e_left, e_trace = memory_left(h, p0, ex_tokens, ex_lengths)
        keep = _common.keep_gate(e_trace)[0]
        n = len(ex.words)
        writes = np.abs(_common.written(e_trace))[0]
        written = writes[pos]
        running = np.cumprod(np.concatenate([np.ones((1, keep.shape[1])), keep[pos + 1 : n]]), 0)
        filler_at = next(
            k for k in range(pos + 1, n) if ex.words[k] in FILLER and ex.words[k] != '.'
        )
        f_written = writes[filler_at]
        f_running = np.cumprod(
            np.concatenate([np.ones((1, keep.shape[1])), keep[filler_at + 1 : n]]), 0
        )
        e_infl = influence(h, p0, ex_tokens, ex_lengths)[0, :n]
        probs = jax.nn.softmax(
            _common.network(h).apply({'params': p0}, ex_tokens, seq_lengths=ex_lengths)[0, n - 1]
        )
        top = np.argsort(-written, kind='stable')[:8]
        follow[cell] = dict(
            units=top.tolist(),
            running=running[:, top].T.tolist(),  # [units, steps from pos]
            amount=(written * running).sum(1).tolist(),
            filler=dict(
                position=int(filler_at),
                word=ex.words[filler_at],
                amount=(f_written * f_running).sum(1).tolist(),
            ),
            left=e_left[0, :n].tolist(),
            influence=e_infl.tolist(),
            p_negative=float(probs[0]),
        )
        words_html.append(
            _common.words_html(
                ex.words,
                e_left[0, :n] / max(e_left[0, :n].max(), 1e-12),
                signed=False,
                title=f'{NAMES[cell]}: what each word wrote that is left at the end (darker: more; '
                'hover for the value, divided by the largest)',
            )
        )
        words_html.append(
            _common.words_html(
                ex.words,
                e_infl / max(np.abs(e_infl).max(), 1e-12),
                signed=True,
                title=f"{NAMES[cell]}: each word's influence on the verdict, gradient x input "
                '(blue: towards positive, red: towards negative)',
            )
        )
    results = dict(
        settings=dict(dataclasses.asdict(s), far=FAR, filler=FILLER, word=WORD),
        trained_now=trained_now,
        stats=stats,
        example=dict(words=list(ex.words), label=reviews.LABELS[ex.label], position=pos),
        follow=follow,
    )
    steps_after = len(ex.words) - 1 - pos
    claims = _claims(size, stats, follow, steps_after)
    headers = [
        'cell',
        'params',
        'accuracy',
        f'word >= {FAR} before the end',
        'last word < 30 before',
        'left of a sentiment word / of a filler word',
        'influence of a sentiment word / of a filler word',
    ]
    rows = [
        [
            NAMES[c],
            f'{stats[c]["parameters"]:,}',
            f'{np.mean(stats[c]["accuracy"]):.3f}',
            f'{_mean(stats[c]["accuracy_far"]):.3f} ({int(far.sum())} reviews)',
            f'{_mean(stats[c]["accuracy_near"]):.3f} ({int(near.sum())} reviews)',
            f'{stats[c]["left_sentiment"]:.3f} / {stats[c]["left_filler"]:.3f}',
            f'{stats[c]["influence_sentiment"]:.3f} / {stats[c]["influence_filler"]:.3f}',
        ]
        for c in CELLS
    ]
    return Lesson(
        name='sentiment',
        title='Sentiment: does "terrible" survive a long review?',
        size=size,
        intro=(
            'An LSTM and a GRU (hidden 32, embedding 16) read generated film reviews of 30 '
            'to 150 words (neutral filler sentences with one to three sentiment words; '
            'strong words count 2, mild ones 1, the sign of the sum is the label) and say '
            f'whether each is positive after its last word. They train on {s.pool} reviews '
            f'({s.steps} Adam steps of {s.batch}, {len(s.seeds)} seed(s)) and are tested on '
            f'{s.test} others. Then the lesson follows the word "{WORD}" through one '
            f'review: at every later step, how much of what it wrote into memory is left '
            f'(for each unit, what it wrote times the running product of the keeping gate: '
            "the LSTM's forget gate f, the GRU's update gate z), and every word's influence "
            'on the verdict (gradient x input). The example review is negative although a '
            f'positive word comes after "{WORD}", its only negative word: a model gets it '
            f'right only if it remembers "{WORD}".'
        ),
        claims=claims,
        headers=headers,
        rows=rows,
        figures=[
            (
                'sentiment-follow.png',
                follow_figure(follow, ex, pos),
                f'Following "{WORD}" (word {pos} of {len(ex.words)}): top, what it wrote '
                'that is still in memory at every later word (sum over units), against what '
                'a filler word right after it wrote; bottom, the running product of the '
                'keeping gate on the 8 units it wrote the most into (1: all of it kept).',
            ),
            (
                'sentiment-words.png',
                words_figure(follow, ex),
                'Every word of the example review: what it wrote that is left at the end '
                '(sum over units) and its influence on the verdict (gradient x input), '
                'LSTM and GRU.',
            ),
        ],
        results=results,
        extra_html='<h2>Word by word</h2>' + ''.join(words_html),
        questions=[
            f'In the top figure, how much of what "{WORD}" wrote is left at the end of the '
            'review? And of the filler word next to it?',
            'Which words does each model let write the most? Are they the words you would pick?',
            f'The review has a positive word after "{WORD}" and is still negative. What must '
            'the model remember to get it right?',
        ],
        trained={cell: _common.trained(*models[cell]) for cell in CELLS},
        weights=models,
    )


def _claims(size, stats, follow, steps_after) -> list[Claim]:
    decide = size != 'tiny'
    far = {c: _mean(stats[c]['accuracy_far']) for c in CELLS}
    kept = {c: follow[c]['amount'][-1] / max(follow[c]['amount'][0], 1e-12) for c in CELLS}
    ratio = {c: stats[c]['left_sentiment'] / max(stats[c]['left_filler'], 1e-12) for c in CELLS}
    wrote = {c: stats[c]['wrote_sentiment'] / max(stats[c]['wrote_filler'], 1e-12) for c in CELLS}
    return [
        Claim(
            f'the verdict of a sentiment word like "{WORD}" is kept across a long review',
            f'accuracy on reviews whose last sentiment word is {FAR} or more words before the '
            f'end: LSTM {far["lstm"]:.3f}, GRU {far["gru"]:.3f}.',
            bool(min(far.values()) >= 0.9) if decide else None,
        ),
        Claim(
            f'what "{WORD}" wrote rides the highway to the end of the review',
            f'of what "{WORD}" wrote into memory, {kept["lstm"]:.2f} (LSTM) and '
            f'{kept["gru"]:.2f} (GRU) is left {steps_after} words later (the product of the '
            'keeping gate): the models keep the verdict by writing it again, not by keeping '
            "the word's own write.",
            bool(min(kept.values()) >= 0.5) if decide else None,
        ),
        Claim(
            'filler words like "the" and "a" fade',
            'mean over 256 test reviews, sentiment words against filler words: what they write '
            f'{wrote["lstm"]:.1f} times as much (LSTM), {wrote["gru"]:.1f} times (GRU); what is '
            f'left of it at the end {ratio["lstm"]:.1f} and {ratio["gru"]:.1f} times.',
            bool(min(ratio.values()) >= 2) if decide else None,
        ),
    ]


def follow_figure(follow: dict, ex: reviews.Review, pos: int) -> Figure:
    fig = Figure(figsize=(9, 5.4), layout='constrained')
    axes = fig.subplots(2, 2, sharex='col')
    n = len(ex.words)
    for k, cell in enumerate(CELLS):
        f = follow[cell]
        ax = axes[0, k]
        ax.plot(range(pos, n), f['amount'], color=COLOURS[cell], label=f'"{ex.words[pos]}"')
        fp = f['filler']['position']
        ax.plot(
            range(fp, n),
            f['filler']['amount'],
            color='#888',
            ls='--',
            label=f'filler "{f["filler"]["word"]}" (word {fp})',
        )
        ax.set_title(f'{NAMES[cell]}: what "{ex.words[pos]}" wrote, left in memory')
        ax.set_ylabel('sum over units')
        ax.legend(fontsize=7)
        ax = axes[1, k]
        im = ax.imshow(
            np.array(f['running']),
            aspect='auto',
            cmap='Blues',
            vmin=0,
            vmax=1,
            extent=(pos - 0.5, n - 0.5, len(f['units']) - 0.5, -0.5),
        )
        ax.set_yticks(range(len(f['units'])), [str(u) for u in f['units']])
        ax.set_ylabel('unit')
        ax.set_xlabel('word of the review')
        fig.colorbar(im, ax=ax, label='share kept')
    return fig


def words_figure(follow: dict, ex: reviews.Review) -> Figure:
    n = len(ex.words)
    fig = Figure(figsize=(max(8, 0.09 * n), 4.2), layout='constrained')
    axes = fig.subplots(4, 1, sharex=True)
    for k, cell in enumerate(CELLS):
        left = np.array(follow[cell]['left'])
        infl = np.array(follow[cell]['influence'])
        top = max(np.abs(infl).max(), 1e-12)
        axes[2 * k].imshow(
            left[None] / max(left.max(), 1e-12), aspect='auto', cmap='Blues', vmin=0, vmax=1
        )
        axes[2 * k].set_yticks([0], [f'{NAMES[cell]} left'])
        axes[2 * k + 1].imshow(infl[None], aspect='auto', cmap='RdBu', vmin=-top, vmax=top)
        axes[2 * k + 1].set_yticks([0], [f'{NAMES[cell]} influence'])
    marks = list(ex.sentiment)
    axes[-1].set_xticks(marks, [f'{ex.words[m]} ({m})' for m in marks], rotation=30)
    axes[-1].set_xlabel('word of the review (sentiment words labelled)')
    return fig
