"""The ``units`` lesson: a unit finder (after Karpathy, Johnson and Fei-Fei, "Visualizing
and Understanding Recurrent Networks", 2015, and Strobelt et al.'s LSTMVis).

A word-level language model (an LSTM and a GRU, hidden 32) learns to predict the next
word of a corpus: by default the generated reviews of the ``sentiment`` lesson (several
sentences each, so there is something to count and to reset), or a teacher's own text.
Then every unit's value at every word (the LSTM's memory ``c`` and output ``h``, the
GRU's ``h``) is scored against simple, readable features of the text:

* ``position in sentence``: words since the last ``.`` (``!`` and ``?`` too);
* ``position in text``: words since the start;
* ``sentences so far``: how many sentences have ended;
* ``sentence end``: 1 at ``. ! ?``;
* ``fires at "w"``: 1 at the word ``w``, for the most frequent words;
* ``fires at a <class>``: 1 at any word of a class the text uses (sentiment words,
  nouns of the review generator).

A unit's score for a feature is the Pearson correlation of the two over every word of
the corpus; a unit "has the job" when ``|r| >= 0.5``. Each job's best unit is shown as
coloured text.
"""

from __future__ import annotations

import dataclasses
import pathlib
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from matplotlib.figure import Figure

from jaxrnn.teach._model import TeachError, _pad, tokenize
from jaxrnn.teach.lessons import _common, reviews
from jaxrnn.teach.lessons._common import Claim, Lesson

CELLS = ('lstm', 'gru')
NAMES = _common.NAMES
ENDS = frozenset('.!?')
READABLE = 0.5  # |r| at least this: the unit has the job
LONGEST = 150  # words per training sequence


@dataclasses.dataclass(frozen=True)
class Setting:
    """One size: ``steps`` Adam steps of ``batch`` texts from ``pool`` generated reviews
    (or the teacher's corpus), scored over ``score`` texts."""

    steps: int
    batch: int = 32
    pool: int = 4000
    score: int = 300
    embed: int = 16
    hidden: int = 32
    learning_rate: float = 3e-3


SETTINGS = {
    'tiny': Setting(steps=5, batch=8, pool=64, score=16),
    'quick': Setting(steps=600),
    'full': Setting(steps=2000, pool=10000),
}


def header(cell: str, vocab: tuple[str, ...], s: Setting) -> dict:
    return dict(cell=cell, vocab=list(vocab), embed=s.embed, hidden=s.hidden)


def read_corpus(path) -> list[list[str]]:
    """A teacher's text file as texts of at most 150 tokens: each paragraph (lines
    separated by a blank line) is one text, split by :func:`jaxrnn.teach.tokenize` and
    cut into pieces of 150.

    Raises:
      TeachError: the file cannot be read, or holds fewer than 2 texts of 3 tokens.
    """
    try:
        text = pathlib.Path(path).read_text(encoding='utf-8')
    except (OSError, UnicodeDecodeError) as e:
        raise TeachError(f'cannot read corpus {str(path)!r}: {e}') from None
    texts = []
    for paragraph in text.split('\n\n'):
        words = tokenize(paragraph)
        texts += [words[k : k + LONGEST] for k in range(0, len(words), LONGEST)]
    texts = [t for t in texts if len(t) >= 3]
    if len(texts) < 2:
        raise TeachError(
            f'corpus {str(path)!r} has {len(texts)} text(s) of 3 words or more; it needs 2 '
            '(paragraphs are separated by blank lines).'
        )
    return texts


def features(texts: list[list[str]], top: int = 8) -> dict[str, list[np.ndarray]]:
    """The readable features of every word: ``{name: [one array per text]}``."""
    counts: dict[str, int] = {}
    for t in texts:
        for w in t:
            counts[w] = counts.get(w, 0) + 1
    frequent = sorted((w for w in counts if w not in ENDS), key=lambda w: (-counts[w], w))[:top]
    out: dict[str, list[np.ndarray]] = {
        'position in sentence': [],
        'position in text': [],
        'sentences so far': [],
        'sentence end': [],
    }
    classes = {
        'sentiment word': frozenset(reviews.SCORES),
        'noun (review generator)': frozenset(reviews.NOUNS),
    }
    classes = {k: v for k, v in classes.items() if any(counts.get(w) for w in v)}
    for name in [f'fires at "{w}"' for w in frequent] + [f'fires at a {c}' for c in classes]:
        out[name] = []
    for t in texts:
        since, done, pos, ended = 0, 0, [], []
        for w in t:
            pos.append(since)
            ended.append(done)
            since, done = (0, done + 1) if w in ENDS else (since + 1, done)
        out['position in sentence'].append(np.array(pos, float))
        out['position in text'].append(np.arange(len(t), dtype=float))
        out['sentences so far'].append(np.array(ended, float))
        out['sentence end'].append(np.array([w in ENDS for w in t], float))
        for w in frequent:
            out[f'fires at "{w}"'].append(np.array([x == w for x in t], float))
        for c, words in classes.items():
            out[f'fires at a {c}'].append(np.array([x in words for x in t], float))
    return out


def _encode(texts, vocab):
    index = {w: k for k, w in enumerate(vocab)}
    tokens = _pad([[index[w] for w in t] for t in texts])
    return tokens, np.array([len(t) for t in texts], np.int32)


def _sampler(texts, vocab, batch):
    tokens, lengths = (jnp.asarray(a) for a in _encode(texts, vocab))
    steps = jnp.arange(tokens.shape[1] - 1)

    def sample(key):
        pick = jax.random.randint(key, (batch,), 0, len(texts))
        t, n = tokens[pick], lengths[pick] - 1
        mask = (steps[None, :] < n[:, None]).astype(jnp.float32)
        return t[:, :-1], n, t[:, 1:], mask

    return sample


def run(size: str = 'full', *, train: bool = False, progress=None, corpus=None) -> Lesson:
    """Runs the lesson (arguments as :func:`jaxrnn.teach.lessons.memory.run`).

    Args:
      corpus: a teacher's text file (:func:`read_corpus`); the models are then trained
        on it (``train`` is implied) and scored over it.
    """
    _common.check_size(size)
    s = SETTINGS[size]
    own = corpus is not None
    texts = (
        read_corpus(corpus) if own else [list(r.words) for r in reviews.generate(s.pool, seed=3)]
    )
    # the reviews' vocabulary holds every word the generator can write, so the scored
    # reviews (another seed) never hold an unknown word
    vocab = (
        ('<pad>',) + tuple(sorted({w for t in texts for w in t})) if own else (reviews.vocabulary())
    )
    expected = {c: header(c, vocab, s) for c in CELLS}
    models, trained_now = _common.load_or_train(
        'units',
        size,
        expected,
        lambda key: _sampler(texts, vocab, s.batch),
        train=train or own,
        progress=progress,
        seeds=(0,),
        steps=s.steps,
        learning_rate=s.learning_rate,
        describe=lambda key: f'{NAMES[key]} word model',
    )
    scored = texts[: s.score] if own else [list(r.words) for r in reviews.generate(s.score, 4)]
    feats = features(scored)
    flat = {k: np.concatenate(v) for k, v in feats.items()}
    jobs: dict[str, Any] = {}
    examples = []
    untrained: list[dict] = []
    for cell in CELLS:
        h, params = models[cell]
        found, states = _jobs(h, _common.seed_params(params, 0), scored, flat)
        if cell == 'lstm':  # the control: the same network before training
            tokens = _encode(scored[:1], tuple(h['vocab']))[0]
            init = _common.network(h).init(jax.random.key(0), tokens)['params']
            untrained = _jobs(h, init, scored, flat)[0]
        jobs[cell] = found
        for j in found[:3]:
            if abs(j['r']) < READABLE:
                continue
            k = next((i for i, t in enumerate(scored) if len(t) >= 40), 0)
            text = scored[k]
            v = np.asarray(states[j['state']], np.float64)[k, : len(text), j['unit']]
            v = np.sign(j['r']) * (v - v.mean())  # blue where the unit does its job
            top = max(np.abs(v).max(), 1e-12)
            examples.append(
                _common.words_html(
                    text,
                    v / top,
                    signed=True,
                    title=f'{NAMES[cell]} unit {j["unit"]} ({j["state"]}): {j["feature"]}, '
                    f'r = {j["r"]:+.2f} (the unit minus its mean on this text'
                    + (', sign flipped since r < 0' if j['r'] < 0 else '')
                    + ': blue where it does its job)',
                )
            )
    readable = {c: [j for j in jobs[c] if abs(j['r']) >= READABLE] for c in CELLS}
    headers = (
        ['feature']
        + [f'{NAMES[c]}: best unit, r' for c in CELLS]
        + ['untrained LSTM: best unit, r']
    )
    names = [j['feature'] for j in jobs['lstm']]
    by = {
        c: {j['feature']: j for j in found}
        for c, found in (*jobs.items(), ('untrained', untrained))
    }
    rows = [
        [f]
        + [
            f'{by[c][f]["state"]}[{by[c][f]["unit"]}]  {by[c][f]["r"]:+.2f}' if f in by[c] else '-'
            for c in (*CELLS, 'untrained')
        ]
        for f in names
    ]
    decide = size != 'tiny'
    control = [j['feature'] for j in untrained if abs(j['r']) >= READABLE]
    learned = [j['feature'] for j in readable['lstm'] if j['feature'] not in control]
    claims = [
        Claim(
            'trained units take readable jobs (Karpathy et al. 2015)',
            f'units with |r| >= {READABLE} for a feature: LSTM '
            f'{len(readable["lstm"])} of {len(jobs["lstm"])} features '
            f'({", ".join(j["feature"] for j in readable["lstm"][:4]) or "none"}), GRU '
            f'{len(readable["gru"])} ({_names(readable["gru"])}); '
            f'the same LSTM before training: {len(control)} ({", ".join(control[:4]) or "none"}).',
            bool(min(len(v) for v in readable.values()) >= 2) if decide else None,
        ),
        Claim(
            'the jobs are learned, not given by the input',
            'features with a unit at |r| >= 0.5 after training but not before (LSTM): '
            f'{", ".join(learned) or "none"}.',
            bool(learned) if decide else None,
        ),
    ]
    results = dict(
        settings=dataclasses.asdict(s),
        corpus=str(corpus) if own else 'generated reviews (seed 3 to train, seed 4 to score)',
        trained_now=trained_now,
        jobs=jobs,
        untrained_lstm=untrained,
        readable=READABLE,
        words_scored=int(sum(len(t) for t in scored)),
    )
    return Lesson(
        name='units',
        title='Units: which units have a readable job?',
        size=size,
        intro=(
            'A word-level LSTM and GRU (hidden 32) learn to predict the next word of '
            + (f"the teacher's corpus {corpus}" if own else 'generated film reviews')
            + f" ({s.steps} Adam steps of {s.batch} texts). Then every unit's value at every "
            f'word of {len(scored)} texts ({results["words_scored"]} words) is compared with '
            'readable features of the text (the position in the sentence and in the text, '
            'sentence ends, a frequent word, a word class) by the Pearson correlation r over '
            f'all words; a unit has the job when |r| >= {READABLE}. The best unit of each '
            'clear job is shown on a text, coloured by its value. The control: the same LSTM '
            'before training (a unit can follow the current word without learning anything).'
        ),
        claims=claims,
        headers=headers,
        rows=rows,
        figures=[
            (
                'units-jobs.png',
                jobs_figure(jobs),
                "For each feature, the best unit's correlation r with it (LSTM: memory c or "
                f'output h; GRU: h). The dashed lines mark |r| = {READABLE}.',
            )
        ],
        results=results,
        extra_html='<h2>The units at work</h2>' + ''.join(examples),
        questions=[
            'Pick a unit shown on the text: could you have guessed its job from the colours '
            'alone, before reading its name?',
            'A correlation of 0.6 is not 1. Where on the text does the unit disagree with its job?',
            'Which jobs does no unit take? Why might the model not need them to predict the '
            'next word?',
        ],
        trained={cell: _common.trained(*models[cell]) for cell in CELLS},
        weights=models,
    )


def _names(jobs: list[dict]) -> str:
    return ', '.join(j['feature'] for j in jobs[:4]) or 'none'


def _jobs(h: dict, params: dict, scored, flat: dict):
    """Each feature's best unit: ``[{feature, r, state, unit}]`` by ``|r|``, largest
    first, and the states ``{name: [n, t, hidden]}``."""
    tokens, lengths = _encode(scored, tuple(h['vocab']))
    _, trace = _common.network(h).apply({'params': params}, tokens, seq_lengths=lengths, trace=True)
    states = {'c': trace.c, 'h': trace.h} if h['cell'] == 'lstm' else {'h': trace.h}
    values = {
        name: np.concatenate([np.asarray(v, np.float64)[k, : len(t)] for k, t in enumerate(scored)])
        for name, v in states.items()
    }
    found = []
    for feature, f in flat.items():
        if f.std() == 0:
            continue
        best = (0.0, '', -1)
        for name, v in values.items():
            r = _correlations(v, f)
            u = int(np.argmax(np.abs(r)))
            if abs(r[u]) > abs(best[0]):
                best = (float(r[u]), name, u)
        found.append(dict(feature=feature, r=best[0], state=best[1], unit=best[2]))
    found.sort(key=lambda j: -abs(j['r']))
    return found, states


def _correlations(values: np.ndarray, feature: np.ndarray) -> np.ndarray:
    """Pearson r of each column of ``values [n, h]`` with ``feature [n]`` (0 for a
    constant column)."""
    v = values - values.mean(0)
    f = feature - feature.mean()
    den = np.sqrt((v**2).sum(0) * (f**2).sum())
    return np.where(den > 0, (v * f[:, None]).sum(0) / np.maximum(den, 1e-300), 0.0)


def jobs_figure(jobs: dict) -> Figure:
    names = [j['feature'] for j in jobs['lstm']]
    fig = Figure(figsize=(7, 0.3 * len(names) + 1.2), layout='constrained')
    ax = fig.subplots()
    y = np.arange(len(names))
    for k, (cell, colour) in enumerate((('lstm', '#d62728'), ('gru', '#1f77b4'))):
        by = {j['feature']: j['r'] for j in jobs[cell]}
        ax.barh(
            y + (k - 0.5) * 0.38,
            [by.get(n, 0.0) for n in names],
            height=0.38,
            color=colour,
            label=NAMES[cell],
        )
    for x in (-READABLE, READABLE):
        ax.axvline(x, ls='--', color='k', lw=1)
    ax.set_yticks(y, names, fontsize=8)
    ax.invert_yaxis()
    ax.set_xlim(-1, 1)
    ax.set_xlabel('correlation r of the best unit with the feature')
    ax.legend(fontsize=8)
    return fig
