"""What every lesson shares: the sizes, the result (:class:`Lesson`: claims measured,
a table, figures, ``results.json`` and one self-contained HTML page), training several
seeds of one model at once, and the weights files that ship with jaxrnn.
"""

from __future__ import annotations

import dataclasses
import functools
import html
import importlib.resources
import json
import os
import pathlib
import platform
import time
from typing import Any, Callable, Iterable

import jax
import jax.numpy as jnp
import numpy as np
import optax
from matplotlib.figure import Figure

from jaxrnn.convert._common import flatten
from jaxrnn.teach import _values
from jaxrnn.teach._html import _figure, figure_png
from jaxrnn.teach._model import LanguageModel, TeachError, Trained

SIZES = ('tiny', 'quick', 'full')
NAMES = {'simple': 'vanilla RNN', 'gru': 'GRU', 'lstm': 'LSTM'}  # the cells, as the pages say
COLOURS = {'simple': '#888888', 'gru': '#1f77b4', 'lstm': '#d62728'}  # in every figure
Progress = Callable[[str], None]
Sample = Callable[[jax.Array], tuple]  # key -> (tokens, lengths, targets, mask)


def check_size(size: str) -> None:
    if size not in SIZES:
        raise TeachError(f'size must be one of {", ".join(SIZES)}, got {size!r}.')


@dataclasses.dataclass(frozen=True)
class Claim:
    """One claim of the lesson material, and what this run measured.

    Attributes:
      claim: the claim, in our words.
      measured: the numbers this run measured for it, one sentence.
      holds: ``True`` or ``False`` when the run decides it, ``None`` when it cannot
        (a tiny run, or a claim that is only illustrated).
    """

    claim: str
    measured: str
    holds: bool | None

    @property
    def verdict(self) -> str:
        return {True: 'holds', False: 'not borne out', None: 'not decided by this run'}[self.holds]


@dataclasses.dataclass
class Lesson:
    """A lesson's result: what :func:`jaxrnn.teach.lessons.run` returns.

    Attributes:
      name: the lesson's name (``'memory'``, ...).
      title: its title.
      size: ``'tiny'``, ``'quick'`` or ``'full'``.
      intro: what the experiment does, a paragraph.
      claims: the claims, each with its measurement and verdict.
      headers: the table's column names.
      rows: the table's rows (strings).
      figures: ``(file name, figure, caption)`` triples.
      results: every number the page shows, with the settings and seeds; written to
        ``results.json`` with the versions and the machine.
      extra_html: HTML sections of the page after the figures (coloured text).
      questions: what a teacher can ask at this lesson's figures.
      trained: ``{name: Trained}``: one model per cell (seed 0) that ``jaxrnn trace
        --params`` opens, written to ``models/`` beside the page.
      weights: every model of the run, ``{key: (header, params with a seed axis)}``:
        what :func:`save_weights` writes and what ships with jaxrnn.
      seconds: the wall-clock time of the run (training included).
    """

    name: str
    title: str
    size: str
    intro: str
    claims: list[Claim]
    headers: list[str]
    rows: list[list[str]]
    figures: list[tuple[str, Figure, str]]
    results: dict
    extra_html: str = ''
    questions: list[str] = dataclasses.field(default_factory=list)
    trained: dict[str, Trained] = dataclasses.field(default_factory=dict)
    weights: dict = dataclasses.field(default_factory=dict)
    seconds: float = 0.0

    def table(self) -> str:
        """The table as aligned text."""
        cells = [self.headers] + self.rows
        widths = [max(len(r[k]) for r in cells) for k in range(len(self.headers))]
        lines = [
            '  '.join(
                c.rjust(w) if k else c.ljust(w)
                for k, (c, w) in enumerate(zip(r, widths, strict=True))
            )
            for r in cells
        ]
        lines.insert(1, '  '.join('-' * w for w in widths))
        return '\n'.join(lines)

    def text(self) -> str:
        """What ``jaxrnn lesson`` prints: the title, the table and every claim with its
        measurement and verdict."""
        lines = [f'{self.title} ({self.size} run)', '', self.table(), '']
        for c in self.claims:
            lines.append(f'- {c.claim}: {c.verdict}. {c.measured}')
        return '\n'.join(lines)

    def write(self, folder) -> pathlib.Path:
        """Writes the page ``index.html``, ``results.json``, every figure as PNG and each
        trained model as ``models/<name>.npz`` into ``folder`` (made if missing).

        Returns:
          The page's path.
        """
        folder = pathlib.Path(folder)
        (folder / 'models').mkdir(parents=True, exist_ok=True)
        for file, fig, _ in self.figures:
            (folder / file).write_bytes(figure_png(fig))
        for name, trained in self.trained.items():
            trained.save(folder / 'models' / f'{name}.npz')
        record = dict(
            lesson=self.name,
            size=self.size,
            seconds=round(self.seconds, 1),
            claims=[dict(dataclasses.asdict(c), verdict=c.verdict) for c in self.claims],
            table=dict(headers=self.headers, rows=self.rows),
            results=self.results,
            machine=machine(),
        )
        (folder / 'results.json').write_text(json.dumps(record, indent=1) + '\n')
        page = folder / 'index.html'
        page.write_text(self.html(), encoding='utf-8')
        return page

    def html(self) -> str:
        """The self-contained page (figures inlined as PNG, no network reference)."""
        e = html.escape
        head = ''.join(f'<th>{e(h)}</th>' for h in self.headers)
        body = ''.join(
            '<tr>' + ''.join(f'<td>{e(c)}</td>' for c in row) + '</tr>' for row in self.rows
        )
        claims = ''.join(
            f'<tr class="{c.verdict.replace(" ", "-")}"><td>{e(c.claim)}</td>'
            f'<td>{e(c.measured)}</td><td>{e(c.verdict)}</td></tr>'
            for c in self.claims
        )
        figures = ''.join(_figure(fig, caption, caption) for _, fig, caption in self.figures)
        questions = ''.join(f'<li>{e(q)}</li>' for q in self.questions)
        size_flag = {'tiny': ' --tiny', 'quick': ' --quick', 'full': ''}[self.size]
        settings = json.dumps(self.results.get('settings', {}), indent=1)
        how = 'trained now' if self.results.get('trained_now', True) else 'the shipped weights'
        return (
            '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
            '<meta name="viewport" content="width=device-width, initial-scale=1">'
            f'<title>{e(self.title)}</title><style>{_CSS}</style></head><body>\n'
            f'<h1>{e(self.title)}</h1>\n<p>{e(self.intro)}</p>\n'
            '<h2>The claims, measured</h2>\n<div class="scroll"><table class="claims"><tr>'
            '<th>claim</th><th>measured in this run</th><th>verdict</th></tr>'
            f'{claims}</table></div>\n'
            f'<h2>Results</h2>\n<div class="scroll"><table><tr>{head}</tr>{body}</table></div>\n'
            f'{figures}\n{self.extra_html}\n'
            + (f'<h2>Questions for the class</h2><ol>{questions}</ol>\n' if questions else '')
            + '<h2>Reproduce</h2>\n'
            f'<pre>jaxrnn lesson {self.name}{size_flag}           '
            '# from the weights that ship with jaxrnn\n'
            f'jaxrnn lesson {self.name}{size_flag} --train   # trains every model again</pre>\n'
            f'<details><summary>Settings of this {self.size} run ({how}, {self.seconds:.0f} s '
            f'on {e(_machine_line())})</summary><pre>{e(settings)}</pre></details>\n'
            '</body></html>\n'
        )


_CSS = (
    'body{font-family:system-ui,sans-serif;max-width:60rem;margin:1rem auto;padding:0 1rem;'
    'line-height:1.45;color:#222}'
    '.scroll{overflow-x:auto;max-width:100%}'
    'table{border-collapse:collapse;margin:.5rem 0}'
    'td,th{border:1px solid #ccc;padding:.2rem .5rem;text-align:right;white-space:nowrap}'
    'table.claims td{white-space:normal;text-align:left}'
    'tr.holds td:last-child{color:#060;font-weight:bold}'
    'tr.not-borne-out td:last-child{color:#a00;font-weight:bold}'
    'figure{margin:1rem 0}figcaption{font-size:.9rem;color:#444;max-width:50rem}'
    'img{max-width:100%;height:auto}pre{background:#f6f6f6;padding:.5rem;overflow-x:auto}'
    '.words{line-height:2}.words span{padding:.1rem .15rem;border-radius:3px}'
)


def machine() -> dict:
    """The versions and the machine, for ``results.json``."""
    import flax

    import jaxrnn

    return dict(
        device=jax.devices()[0].device_kind,
        backend=jax.default_backend(),
        cores=os.cpu_count(),
        python=platform.python_version(),
        platform=platform.platform(),
        versions=dict(
            jaxrnn=jaxrnn.__version__,
            jax=jax.__version__,
            flax=flax.__version__,
            optax=optax.__version__,
            numpy=np.__version__,
        ),
        date=time.strftime('%Y-%m-%d'),
    )


def _machine_line() -> str:
    m = machine()
    return f'{m["device"]} ({m["backend"]}), {m["cores"]} cores, jax {m["versions"]["jax"]}'


def fit(
    model: LanguageModel,
    sample: Sample,
    *,
    seeds: Iterable[int],
    steps: int,
    learning_rate: float,
    clip: float = 1.0,
) -> tuple[dict, np.ndarray]:
    """Trains one model per seed at once (the seeds are a vmapped axis): Adam with the
    gradient clipped to global norm ``clip``, on the masked mean cross-entropy.

    ``sample(key)`` gives a fresh batch ``(tokens [b, t], lengths [b], targets [b, t],
    mask [b, t])``; the loss is ``sum(mask * CE(logits, targets)) / sum(mask)``. Seed
    ``s`` draws its parameters from ``jax.random.key(s)`` and its batches from
    ``jax.random.key(10_000 + s)``, so each seed sees its own data.

    Returns:
      ``(params, losses)``: every parameter with a leading seed axis, and the loss at
      each step ``[steps, seeds]``.
    """
    seeds = list(seeds)
    tokens, lengths, _, _ = sample(jax.random.key(0))
    params = jax.vmap(lambda k: model.init(k, tokens, seq_lengths=lengths)['params'])(
        jnp.stack([jax.random.key(s) for s in seeds])
    )
    optimizer = optax.chain(optax.clip_by_global_norm(clip), optax.adam(learning_rate))
    state = jax.vmap(optimizer.init)(params)

    def loss_fn(p, key):
        tokens, lengths, targets, mask = sample(key)
        logits = model.apply({'params': p}, tokens, seq_lengths=lengths)
        ce = optax.softmax_cross_entropy_with_integer_labels(logits, targets)
        return jnp.sum(ce * mask) / jnp.sum(mask)

    def one(p, s, key):
        loss, grads = jax.value_and_grad(loss_fn)(p, key)
        updates, s = optimizer.update(grads, s, p)
        return optax.apply_updates(p, updates), s, loss

    @jax.jit
    def update(p, s, keys):
        return jax.vmap(one)(p, s, keys)

    data = jnp.stack([jax.random.key(10_000 + s) for s in seeds])
    losses = []
    for k in range(steps):
        keys = jax.vmap(lambda key, k=k: jax.random.fold_in(key, k))(data)
        params, state, loss = update(params, state, keys)
        losses.append(loss)
    return jax.device_get(params), np.asarray(jnp.stack(losses)) if losses else np.zeros((0,))


def fit_params(header: dict, sample: Sample, **kwargs) -> dict:
    """:func:`fit` of the network ``header`` describes; the parameters only."""
    return fit(network(header), sample, **kwargs)[0]


def seed_params(params: dict, k: int) -> dict:
    """One seed's parameters out of :func:`fit`'s stacked ones."""
    return jax.tree.map(lambda a: a[k], params)


def param_count(params: dict) -> int:
    """The number of parameters of one model (:func:`fit`'s stacked params: one seed)."""
    return int(sum(np.prod(a.shape[1:]) for a in jax.tree.leaves(params)))


# ---- the weights that ship with jaxrnn --------------------------------------------------


def _weights_path(lesson: str, size: str):
    return importlib.resources.files('jaxrnn.teach').joinpath(f'data/lessons/{lesson}-{size}.npz')


def save_weights(path, models: dict[str, tuple[dict, dict]]) -> None:
    """Writes ``{key: (header, stacked params)}`` to one ``.npz``: the headers as JSON,
    every parameter under ``<key>/<module>/<name>``."""
    arrays: dict[str, Any] = {
        'header': np.array(json.dumps({k: h for k, (h, _) in models.items()}))
    }
    for key, (_, params) in models.items():
        for name, value in flatten(params):
            arrays[key + '/' + '/'.join(name)] = np.asarray(value)
    np.savez_compressed(path, **arrays)


def load_weights(
    lesson: str, size: str, headers: dict[str, dict], path=None
) -> dict[str, tuple[dict, dict]] | None:
    """The weights that ship for ``lesson`` at ``size`` (``None`` if none ship), as
    :func:`save_weights` wrote them; ``path`` reads another file instead.

    Raises:
      TeachError: the shipped models are not those ``headers`` describes (the lesson's
        settings changed since they were trained): train them again.
    """
    path = _weights_path(lesson, size) if path is None else pathlib.Path(path)
    if not path.is_file():
        return None
    with importlib.resources.as_file(path) as file, np.load(file, allow_pickle=False) as data:
        stored = json.loads(str(data['header']))
        if stored != json.loads(json.dumps(headers)):
            raise TeachError(
                f'the weights that ship for the {lesson} lesson ({size}) were trained with '
                'other settings; run it with train=True (jaxrnn lesson --train), or remake '
                'them with scripts/train_lessons.py.'
            )
        models = {}
        for key, header in stored.items():
            params: dict = {}
            for name in data.files:
                if name.startswith(key + '/'):
                    node = params
                    parts = name[len(key) + 1 :].split('/')
                    for part in parts[:-1]:
                        node = node.setdefault(part, {})
                    node[parts[-1]] = np.asarray(data[name])
            models[key] = (header, params)
    return models


def weights_file(lesson: str, size: str) -> pathlib.Path:
    """Where :func:`save_weights` writes the shipped weights in a source checkout."""
    return (
        pathlib.Path(__file__).resolve().parent.parent / 'data' / 'lessons' / f'{lesson}-{size}.npz'
    )


def trained(header: dict, params: dict, seed: int = 0) -> Trained:
    """Seed ``seed``'s model of a weights entry as a :class:`Trained` (for ``jaxrnn
    trace --params``)."""
    return Trained(
        header['cell'],
        tuple(header['vocab']),
        jax.tree.map(jnp.asarray, seed_params(params, seed)),
        header['embed'],
        header['hidden'],
        labels=tuple(header.get('labels', ())),
    )


def network(header: dict) -> Any:
    """The :class:`LanguageModel` a weights header describes (typed ``Any``: its
    ``apply`` returns logits, or ``(logits, trace)`` for ``trace=True``)."""
    return LanguageModel(
        len(header['vocab']),
        header['cell'],
        header['embed'],
        header['hidden'],
        len(header['labels']) or None if header.get('labels') else None,
        header.get('keep_bias', 0.0),
        header.get('recurrent_init', 'orthogonal'),
    )


def load_or_train(
    lesson: str,
    size: str,
    expected: dict[str, dict],
    sample: Callable[[str], Sample],
    *,
    train: bool,
    progress: Progress | None,
    seeds: Iterable[int],
    steps: int,
    learning_rate: float,
    describe: Callable[[str], str] = str,
) -> tuple[dict[str, tuple[dict, dict]], bool]:
    """The lesson's models: the shipped weights for ``size`` (checked against the
    ``expected`` headers), or, with ``train`` or when none ship, every model of
    ``expected`` trained by :func:`fit` on ``sample(key)``, each reported to
    ``progress`` as ``describe(key)`` with its time.

    Returns:
      ``({key: (header, params with a seed axis)}, trained_now)``.
    """
    seeds = tuple(seeds)
    models = None if train else load_weights(lesson, size, expected)
    if models is not None:
        return models, False
    models = {}
    for key, header in expected.items():
        what = f'{describe(key)}, {len(seeds)} seed(s) x {steps} steps'
        run = functools.partial(
            fit_params, header, sample(key), seeds=seeds, steps=steps, learning_rate=learning_rate
        )
        models[key] = (header, timed(progress, what, run))
    return models, True


def keep_gate(trace: Any) -> np.ndarray:
    """The gate that keeps the old state (the LSTM's ``f``, the GRU's ``z``; the views'
    :class:`~jaxrnn.teach._values.Kind`), float64 ``[b, t, h]``."""
    return _factors(trace)[0]


def written(trace: Any) -> np.ndarray:
    """What each step writes into the kept state (the LSTM's ``i * g``, the GRU's
    ``(1 - z) * n``), float64 and signed ``[b, t, h]``."""
    _, write, new = _factors(trace)
    return write * new


def memory_state(trace: Any) -> np.ndarray:
    """The state the keeping gate keeps (the LSTM's ``c``, otherwise ``h``), float64."""
    kind = _values.KINDS[type(trace)]
    return np.asarray(getattr(trace, kind.state), np.float64)


def _factors(trace: Any):
    kind = _values.kind_of(trace)
    fields = {name: np.asarray(getattr(trace, name), np.float64) for name in trace._fields}
    return kind.factors(fields)  # type: ignore[misc]


def at_last(logits, lengths):
    """Each sequence's logits at its last valid step: ``[b, t, k]``, ``[b]`` ->
    ``[b, k]``."""
    last = jnp.asarray(lengths) - 1
    return jnp.take_along_axis(logits, last[:, None, None], axis=1)[:, 0]


def spread(values) -> str:
    """``'mean (lowest-highest)'`` of the seeds' values, 2 decimals."""
    return f'{np.mean(values):.2f} ({np.min(values):.2f}-{np.max(values):.2f})'


def timed(progress: Progress | None, what: str, fn: Callable[[], Any]) -> Any:
    """Runs ``fn``, reporting ``what`` and its time to ``progress``."""
    start = time.perf_counter()
    out = fn()
    if progress is not None:
        progress(f'{what}: {time.perf_counter() - start:.1f} s')
    return out


def words_html(words, values, *, signed: bool, title: str) -> str:
    """``words`` as coloured spans, ``values`` (already divided by their scale: ``[0,
    1]``, or ``[-1, 1]`` when ``signed``) as background, each value in the span's
    tooltip: one ``<p class="words">`` under a title."""
    from jaxrnn.teach._values import colour

    spans = ''.join(
        f'<span style="background:{colour(v, signed)}" title="{html.escape(w)}: {v:+.2f}">'
        f'{html.escape(w)}</span> '
        for w, v in zip(words, values, strict=True)
    )
    return f'<h3>{html.escape(title)}</h3><p class="words">{spans}</p>'


def explained(values: np.ndarray, groups: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """How much each unit says about ``groups``: ``values [n, h]``, ``groups [n]`` (ints)
    -> ``(share, spread)``, each ``[h]``.

    ``spread`` is the standard deviation of the unit's group means (the groups weighted by
    their size): how far apart its mean state is from group to group, in the state's own
    units. ``share`` is the share of the unit's variance that the groups explain
    (between-group over total variance, in ``[0, 1]``); a unit that barely moves
    (standard deviation below 1e-3, a saturated one) gets 0, its tiny variance being
    noise. The lessons rank units by ``spread``: a unit explained by the groups but
    moving by 0.001 holds little a reader can see.
    """
    total = values.var(0)
    between = np.zeros(values.shape[1])
    for g in np.unique(groups):
        part = values[groups == g]
        between += len(part) * (part.mean(0) - values.mean(0)) ** 2
    between /= len(values)
    share = np.where(total > 1e-6, between / np.maximum(total, 1e-6), 0.0)
    return share, np.sqrt(between)
