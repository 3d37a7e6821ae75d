"""The ``jaxrnn`` command (installed with the package; also ``python -m jaxrnn.cli``).

* ``jaxrnn demo``: trains the two teaching models (a word-level LSTM and GRU over the
  corpus that ships with jaxrnn, see :func:`jaxrnn.teach.train`), traces a sentence with
  both, prints each narration and a fair timing of one training step of each, and writes a
  self-contained interactive HTML report, the figures and the trained weights into a
  folder.
* ``jaxrnn trace SENTENCE [--cell lstm|gru]``: the same views for one model reading one
  sentence: the shipped weights (:func:`jaxrnn.teach.shipped`), or ``--params`` from a
  demo run.
* ``jaxrnn compare``: checks jaxrnn's Linen LSTM and GRU against ``flax.linen.RNN`` with
  the same weights (shapes, largest output difference) and times both.

``demo`` and ``trace`` need the ``teach`` extra (``pip install "jaxrnn[teach]"``);
``compare`` needs the core only. Exit status: 0 on success; 2 for a malformed command
line (argparse's usage error) and for a mistake (an unknown word, a params file of the
wrong cell or shape, an unwritable output path, a hidden unit or gate that does not
exist, a missing extra), which prints one line, ``jaxrnn: error: ...``, on standard
error, without a traceback.
"""

from __future__ import annotations

import argparse
import importlib
import os
import pathlib
import sys
from types import ModuleType
from typing import Any, Callable, cast

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np

import jaxrnn
import jaxrnn.linen as jl
from jaxrnn import _extras, _timing, convert

DEFAULT_SENTENCE = 'I love myself'
DEMO_HIDDEN = 32  # the hidden size of the demo's models, as the shipped ones
TRACE_STEPS = 300  # training steps of jaxrnn trace --corpus


class UserError(Exception):
    """A mistake on the command line: reported in one line, no traceback."""


def _teach(command: str) -> ModuleType:
    """``jaxrnn.teach``, or a one-line error if the ``teach`` extra is not installed."""
    try:
        _extras.require_teach(f'jaxrnn {command}')
    except _extras.MissingExtra as e:
        raise UserError(str(e)) from None
    from jaxrnn import teach

    return teach


def _shapes(tree):
    return jax.tree.map(lambda a: tuple(a.shape), tree)


def _apply(module: nn.Module, variables, x, **kwargs) -> tuple[Any, jax.Array]:
    """``(carry, outputs)`` of an RNN built with ``return_carry=True``."""
    return cast(tuple[Any, jax.Array], module.apply(variables, x, **kwargs))


def _forward(module: nn.Module, variables, x) -> Callable[[], Any]:
    """One blocking call of the jitted forward pass (outputs only)."""
    f = jax.jit(lambda v, x: _apply(module, v, x)[1])
    return lambda: jax.block_until_ready(f(variables, x))


def _train(module: nn.Module, variables, x) -> Callable[[], Any]:
    """One blocking call of the jitted forward and backward pass (a mean-square loss)."""
    f = jax.jit(jax.grad(lambda v, x: jnp.mean(_apply(module, v, x)[1] ** 2)))
    return lambda: jax.block_until_ready(f(variables, x))


def compare(quick: bool = False) -> int:
    """jaxrnn's Linen LSTM and GRU against flax.linen.RNN over Flax's cells: shapes,
    numbers, and timings (forward, forward + backward), interleaved in one run."""
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
        ('LSTM', jl.LSTMCell(hidden), nn.OptimizedLSTMCell(hidden)),
        ('GRU', jl.GRUCell(hidden), nn.GRUCell(hidden)),
    ]
    for name, ours_cell, flax_cell in layers:
        ours = jl.RNN(ours_cell, return_carry=True)
        theirs = nn.RNN(flax_cell, return_carry=True)
        variables = ours.init(jax.random.key(1), x)
        flax_params = convert.to_flax(variables['params']['cell'], flax_cell)
        flax_vars = {'params': {'cell': jax.tree.map(jnp.asarray, flax_params)}}
        carry, y = _apply(ours, variables, x, seq_lengths=lengths)
        print(f'{name}: jaxrnn.linen.RNN(jaxrnn.linen.{type(ours_cell).__name__}({hidden}))')
        print(f'  params  {_shapes(variables["params"]["cell"])}')
        print(f'  outputs {tuple(y.shape)}, carry {_shapes(carry)}')
        _, y_flax = _apply(theirs, flax_vars, x)
        _, y_ours = _apply(ours, variables, x)
        diff = float(jnp.max(jnp.abs(y_flax - y_ours)))
        print(f'  max |jaxrnn - flax.linen.RNN({type(flax_cell).__name__})| = {diff:.1e}')
        runs = {
            'jaxrnn forward': _forward(ours, variables, x),
            'flax forward': _forward(theirs, flax_vars, x),
            'jaxrnn fwd+bwd': _train(ours, variables, x),
            'flax fwd+bwd': _train(theirs, flax_vars, x),
        }
        compile_s = {label: _timing.seconds(run) for label, run in runs.items()}  # first call
        results = _timing.interleaved(runs, rounds)
        print(f'  {"":16}{"median ms":>10}{"min ms":>9}{"compile s":>11}{"vs flax":>9}')
        for label, stats in results.items():
            peer = results[label.replace('jaxrnn', 'flax')]['median_s']
            print(
                f'  {label:16}{stats["median_s"] * 1e3:10.2f}{stats["min_s"] * 1e3:9.2f}'
                f'{compile_s[label]:11.2f}{stats["median_s"] / peer:8.2f}x'
            )
        print()
    print(
        f'timings: median of {rounds} interleaved rounds after compile and warm-up, each '
        'running every function twice and timing the second, in rotating order; a ratio '
        'below 1 means jaxrnn is faster.'
    )
    return 0


def _writable(path: str | None, what: str) -> pathlib.Path | None:
    """Checks before any work that ``path`` can be written."""
    if path is None:
        return None
    p = pathlib.Path(path)
    parent = p.parent if str(p.parent) else pathlib.Path('.')
    if p.is_dir():
        raise UserError(f'{what} {path!r} is a directory; give a file name.')
    if not parent.is_dir():
        raise UserError(f'cannot write {what} {path!r}: folder {str(parent)!r} does not exist.')
    if not os.access(parent, os.W_OK) or (p.exists() and not os.access(p, os.W_OK)):
        raise UserError(f'cannot write {what} {path!r}: permission denied.')
    return p


def _model(cell: str, params: str | None, corpus: str | None = None, texts=None):
    """The model to trace: trained on ``texts`` (read from ``corpus``), loaded from
    ``params``, or the shipped one."""
    teach = _teach('trace')
    if texts is not None:
        print(
            f'training a word-level {cell.upper()} on {corpus} ({len(texts)} texts, '
            f'{TRACE_STEPS} steps)',
            flush=True,
        )
        return teach.train(cell, steps=TRACE_STEPS, sentences=texts)
    if params is None:
        return teach.shipped(cell)
    trained = teach.load(params)
    if trained.cell == 'simple':
        raise UserError(
            f'{params!r} holds a vanilla RNN: it has no gates to narrate; trace '
            "the lesson's lstm.npz or gru.npz."
        )
    if trained.cell != cell:
        raise UserError(
            f'{params!r} holds a {trained.cell} model, not a {cell} (use --cell {trained.cell}).'
        )
    return trained


def _fields(cell: str) -> tuple[str, ...]:
    """The trace fields of a teaching cell (the values of ``--gate``)."""
    kernel = {'lstm': jaxrnn.kernels.LSTM, 'gru': jaxrnn.kernels.GRU}[cell]
    return tuple(kernel.trace_type._fields)  # type: ignore[attr-defined]


def _check_gate(gate: str | None, cell: str) -> None:
    if gate is not None and gate not in _fields(cell):
        raise UserError(
            f'--gate must be one of {", ".join(_fields(cell))} for the {cell}, got {gate!r}.'
        )


def _check_unit(unit: int | None, hidden: int, models: str = 'this model') -> None:
    if unit is not None and not 0 <= unit < hidden:
        raise UserError(f'--unit must be in [0, {hidden}) for {models}, got {unit}.')


def _section(trained, gate_trace, tokens, narration, top, gate=None, sentences=None) -> dict:
    """A model's section of the HTML report (``teach.report_html``), its saturation
    measured over the shipped corpus (or ``sentences``, the text it was trained on)."""
    return dict(
        name=trained.cell.upper(),
        trace=gate_trace,
        tokens=tokens,
        narration=narration,
        predictions=top,
        gate=gate,
        corpus=trained.corpus_trace(sentences),
    )


def trace(
    sentence, cell, params=None, unit=None, gate=None, html=None, png=None, corpus=None
) -> int:
    """Prints the narration and the terminal view of one model reading ``sentence``;
    writes the HTML report and the overview figure when asked. Every argument is checked
    before anything is printed."""
    teach = _teach('trace')
    from rich.console import Console

    from jaxrnn.teach.lessons import units

    _check_gate(gate, cell)
    html_path, png_path = _writable(html, 'the HTML report'), _writable(png, 'the figure')
    if params is not None and corpus is not None:
        raise UserError('give --params or --corpus, not both.')
    texts = None if corpus is None else units.read_corpus(corpus)
    if texts is not None:  # checked before training: the words, the unit
        known = {w for t in texts for w in t}
        missing = [w for w in teach.tokenize(sentence) if w not in known]
        if missing:
            raise UserError(f'{missing[0]!r} is not a word of the corpus {corpus!r}.')
        _check_unit(unit, DEMO_HIDDEN, f'the model trained on --corpus ({DEMO_HIDDEN} units)')
    trained = _model(cell, params, corpus, texts)
    _check_unit(unit, trained.hidden)
    # an unknown word fails here; a lesson's classifier may have 2 outputs only
    tokens, gate_trace, top = trained.read(sentence, k=min(3, len(trained.names)))
    # a classifier's readout is its answer, not a next word: said once, after the steps
    steps_top = None if trained.labels else top
    narration = teach.narrate(gate_trace, tokens, unit=unit, predictions=steps_top)
    teach.show(gate_trace, tokens, narration=narration, gate=gate, console=Console())
    if trained.labels:
        answer = ', '.join(f'{w} {p:.0%}' for w, p in top[-1])
        print(f"the model's answer after the last word: {answer}")
    if png_path is not None:
        teach.overview(gate_trace, tokens, unit=narration.unit).savefig(png_path, dpi=100)
        print(f'wrote {png_path}')
    if html_path is not None:
        section = _section(trained, gate_trace, tokens, narration, steps_top, gate, texts)
        teach.write_report(html_path, f'jaxrnn trace: "{sentence}"', [section])
        print(f'wrote {html_path}')
    return 0


def demo(out='jaxrnn-demo', sentence=DEFAULT_SENTENCE, steps=300, unit=None, quick=False) -> int:
    """Trains the LSTM and the GRU teaching models, traces ``sentence`` with both and
    writes the report, the figures and the weights into ``out``. Every argument is
    checked before anything is printed or trained."""
    teach = _teach('demo')
    from rich.console import Console
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    if steps < 1:
        raise UserError(f'--steps must be at least 1, got {steps}.')
    _check_unit(unit, DEMO_HIDDEN, f"the demo's models ({DEMO_HIDDEN} hidden units)")
    out_dir = pathlib.Path(out)
    if out_dir.exists() and not out_dir.is_dir():
        raise UserError(f'--out {out!r} is a file, not a folder.')
    tokens = teach.tokenize(sentence)
    vocab = {w for words in teach.corpus() for w in words}
    unknown = [w for w in tokens if w not in vocab]
    if unknown or not tokens:
        raise teach.TeachError(
            f'--sentence: {unknown[0]!r} is not a word of the shipped corpus; the demo trains '
            'on it, so use its words (see jaxrnn/teach/data/corpus.txt).'
            if unknown
            else '--sentence has no words.'
        )
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise UserError(f'cannot create the output folder {out!r}: {e.strerror}.') from None
    _writable(str(out_dir / 'report.html'), 'the report')
    steps = min(steps, 60) if quick else steps
    console = Console()
    console.print(
        f'jaxrnn {jaxrnn.__version__} demo: training a word-level LSTM and GRU on the '
        f'shipped corpus ({len(teach.corpus())} sentences), then tracing "{sentence}".'
    )
    models = {}
    with Progress(
        TextColumn('{task.description}'),
        BarColumn(),
        TextColumn('step {task.completed:>4.0f}/{task.total:.0f}  loss {task.fields[loss]:.3f}'),
        TimeElapsedColumn(),
        console=console,
    ) as progress:
        for cell in teach.CELLS:
            task = progress.add_task(f'training {cell.upper():4}', total=steps, loss=float('nan'))

            def advance(k: int, loss: float, task=task) -> None:
                progress.update(task, completed=k, loss=loss)

            models[cell] = teach.train(
                cell, steps=steps, seed=0, hidden=DEMO_HIDDEN, progress=advance
            )
    sections, traces, spots = [], {}, {}
    for cell, trained in models.items():
        words, gate_trace, top = trained.read(sentence)
        narration = teach.narrate(gate_trace, words, unit=unit, predictions=top)
        losses = f'loss {trained.losses[0]:.2f} -> {trained.losses[-1]:.2f}'
        console.rule(f'{cell.upper()}: {losses}')
        teach.show(gate_trace, words, narration=narration, console=console)
        trained.save(out_dir / f'{cell}.npz')
        teach.overview(gate_trace, words, unit=narration.unit).savefig(
            out_dir / f'{cell}.png', dpi=100
        )
        traces[cell], spots[cell] = gate_trace, narration.unit
        sections.append(_section(trained, gate_trace, words, narration, top))
    rounds = 30
    stats = teach.step_times(models, rounds=rounds)
    timing = (
        f'One training step (the whole corpus, forward and backward), on this machine '
        f'({jax.devices()[0].device_kind}, {os.cpu_count()} cores): '
        + '; '.join(
            f'{cell.upper()} {s["median_s"] * 1e3:.2f} ms (middle half '
            f'{s["p25_s"] * 1e3:.2f}-{s["p75_s"] * 1e3:.2f})'
            for cell, s in stats.items()
        )
        + f'; medians of {rounds} rounds, both models compiled and warmed up first, their '
        'steps interleaved. A difference within the middle halves is noise; "python -m '
        'benchmarks" compares speed at real sizes.'
    )
    comparison = teach.compare(
        traces['lstm'], traces['gru'], tokens, units=(spots['lstm'], spots['gru'])
    )
    comparison.savefig(out_dir / 'compare.png', dpi=100)
    report = teach.write_report(
        out_dir / 'report.html',
        f'jaxrnn demo: "{sentence}"',
        sections,
        extra_figures=[
            (
                'The LSTM and the GRU side by side on the same sentence: on top the gate that '
                "keeps the old state (LSTM f, GRU z) for every unit (sorted, each model's "
                "spotlight framed in red) at every step; below, each spotlight's memory "
                'highway (kept + written = new state).',
                comparison,
            )
        ],
        intro=(
            f'Two small language models (embedding 16, hidden 32) trained for {steps} steps '
            'on the corpus that ships with jaxrnn read the same sentence; every number below '
            'comes from their trace (trace=True), the same computation as the fast kernel. '
            + timing
        ),
    )
    console.print(
        f'\n{timing}'
        f'\nwrote {report}, {out_dir / "lstm.png"}, {out_dir / "gru.png"}, '
        f'{out_dir / "compare.png"} and the weights {out_dir / "lstm.npz"}, {out_dir / "gru.npz"}'
        f'\nnext: jaxrnn trace "{sentence}" --cell gru --params {out_dir / "gru.npz"} --html '
        'gru.html'
        '\nthen the lessons, which measure what the video lesson claims: jaxrnn lesson memory '
        '--quick (and sentiment, music, units, lstm-vs-gru; "jaxrnn lesson --help")'
    )
    return 0


def lesson(
    name: str,
    size: str = 'full',
    train: bool = False,
    out: str | None = None,
    corpus: str | None = None,
) -> int:
    """Runs one lesson (:func:`jaxrnn.teach.lessons.run`), prints its table and claims
    and writes its page, figures, ``results.json`` and models into ``out``. Every argument
    is checked before anything is printed."""
    _teach('lesson')
    from jaxrnn.teach import lessons
    from jaxrnn.teach.lessons import units

    if corpus is not None and name != 'units':
        raise UserError(
            f'--corpus is for the units lesson, not {name!r} (jaxrnn trace also takes --corpus).'
        )
    if corpus is not None:
        units.read_corpus(corpus)  # a bad file fails here, before any output
    out_dir = pathlib.Path(out or f'jaxrnn-lesson-{name}')
    if out_dir.exists() and not out_dir.is_dir():
        raise UserError(f'--out {str(out_dir)!r} is a file, not a folder.')
    existing = next(p for p in (out_dir, *out_dir.parents) if p.exists())
    if not os.access(existing, os.W_OK):
        raise UserError(f'cannot write into {str(out_dir)!r}: permission denied.')
    header = f'jaxrnn lesson {name} ({size} run{", training every model" if train else ""})'
    said: list[bool] = []

    def progress(line: str) -> None:  # the header with the first line: an error comes first
        if not said:
            print(header, flush=True)
            said.append(True)
        print(f'  {line}', flush=True)

    if name == 'units' and corpus is not None:
        result = units.run(size, train=True, progress=progress, corpus=corpus)
    else:
        result = lessons.run(name, size, train=train, progress=progress)
    if not said:
        print(header)
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise UserError(
            f'cannot create the output folder {str(out_dir)!r}: {e.strerror}.'
        ) from None
    page = result.write(out_dir)
    print(result.text())
    print(
        f'\nwrote {page}, {out_dir / "results.json"}, the figures and models/ ('
        f'{result.seconds:.0f} s)'
    )
    return 0


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # one line, no usage block
        self.exit(2, f'{self.prog}: error: {message}\n')


def parser() -> argparse.ArgumentParser:
    """The ``jaxrnn`` command's argument parser, with the subcommands ``demo``, ``trace``
    and ``compare``; its ``--help`` texts are the command-line reference.

    A malformed command line makes it print one line (``jaxrnn: error: ...``, no usage
    block) and exit with status 2.

    Returns:
      The parser; ``parse_args`` gives a namespace with ``command`` and that command's
      options.

    Examples:
      >>> from jaxrnn import cli
      >>> args = cli.parser().parse_args(['trace', 'I love myself', '--cell', 'gru'])
      >>> args.command, args.sentence, args.cell, args.unit, args.params
      ('trace', 'I love myself', 'gru', None, None)
      >>> args = cli.parser().parse_args(['demo', '--quick'])
      >>> args.out, args.sentence, args.steps, args.quick
      ('jaxrnn-demo', 'I love myself', 300, True)
    """
    # The teaching models' cells; without the teach extra, demo and trace say how to get it.
    cells = None if _extras.missing_teach() else _teach('trace').CELLS
    lesson_names = None if cells is None else importlib.import_module('jaxrnn.teach.lessons').NAMES
    raw = argparse.RawDescriptionHelpFormatter
    parser = _Parser(
        prog='jaxrnn',
        description=(
            "Trace and narrate jaxrnn's teaching models, run the lessons, or check jaxrnn "
            'against Flax. '
            '"jaxrnn COMMAND --help" describes each command.'
        ),
        epilog=(
            'demo, trace and lesson need the teach extra (pip install "jaxrnn[teach]"); compare '
            'needs the core only. Exit status: 0 on success, 2 after a one-line error.'
        ),
    )
    sub = parser.add_subparsers(
        title='commands', dest='command', required=True, parser_class=_Parser, metavar='COMMAND'
    )
    demo_p = sub.add_parser(
        'demo',
        formatter_class=raw,
        help='train a small LSTM and GRU, trace a sentence with both, write a report',
        description=(
            'Trains the two teaching models, a word-level LSTM and GRU (embedding 16, hidden\n'
            '32), on the corpus that ships with jaxrnn, traces SENTENCE (in words of the\n'
            'corpus, checked before training) with both, prints\n'
            'each narration, the training time per step (each model compiled and warmed up\n'
            'first), and writes into the --out folder:\n'
            '  report.html         everything, in one self-contained interactive file\n'
            "  lstm.png, gru.png   each model's overview figure\n"
            '  compare.png         the two side by side\n'
            '  lstm.npz, gru.npz   the trained weights, for "jaxrnn trace --params"'
        ),
        epilog='example: jaxrnn demo --quick --out /tmp/jaxrnn-demo --unit 3',
    )
    demo_p.add_argument(
        '--out',
        default='jaxrnn-demo',
        metavar='FOLDER',
        help='the folder to write into, created if needed (default: jaxrnn-demo)',
    )
    demo_p.add_argument(
        '--sentence',
        default=DEFAULT_SENTENCE,
        help=f'the sentence to trace, in words of the corpus (default: "{DEFAULT_SENTENCE}")',
    )
    demo_p.add_argument(
        '--steps', type=int, default=300, help='training steps per model (default: 300)'
    )
    demo_p.add_argument(
        '--unit',
        type=int,
        default=None,
        help='the spotlight: the hidden unit (0 to 31) whose arithmetic the narration prints; '
        'default: the unit whose memory changed the most in one step',
    )
    demo_p.add_argument('--quick', action='store_true', help='train at most 60 steps per model')
    trace_p = sub.add_parser(
        'trace',
        formatter_class=raw,
        help='narrate and show the gates of one model reading a sentence',
        description=(
            'Runs one teaching model over SENTENCE with trace=True and prints the\n'
            "narration, followed through one spotlight unit: every gate's value at every\n"
            "step with what it does to the unit's memory, the arithmetic in the printed\n"
            "digits, the means over all units labelled as such, the handout's numbers\n"
            'translated, and the three likeliest next words; past 12 words, a table of\n'
            'every step and the three most eventful steps in full. Then the tokens\n'
            'coloured by a gate of the spotlight unit. Every argument is checked before\n'
            'anything is printed.'
        ),
        epilog=('example: jaxrnn trace "I love myself" --cell gru --unit 3 --html report.html'),
    )
    trace_p.add_argument(
        'sentence',
        metavar='SENTENCE',
        help="the sentence to read; its words must be in the corpus's vocabulary",
    )
    trace_p.add_argument(
        '--cell', choices=cells, default='lstm', help='lstm or gru (default: lstm)'
    )
    trace_p.add_argument(
        '--params',
        default=None,
        metavar='FILE',
        help='weights written by jaxrnn demo (FOLDER/lstm.npz or FOLDER/gru.npz); default: '
        'the weights that ship with jaxrnn',
    )
    trace_p.add_argument(
        '--corpus',
        default=None,
        metavar='FILE',
        help=f'train a word-level model on your own text first ({TRACE_STEPS} steps; '
        'paragraphs separated by blank lines), then trace SENTENCE, in its words',
    )
    trace_p.add_argument(
        '--unit',
        type=int,
        default=None,
        help='the spotlight: the hidden unit (0 to 31) whose arithmetic the narration prints; '
        'default: the unit whose memory changed the most in one step',
    )
    trace_p.add_argument(
        '--gate',
        default=None,
        help='the trace field shown first: it colours the tokens in the terminal and is '
        'selected in the HTML report (LSTM i, f, g, o, c, h; GRU r, z, n, h); default: f '
        'for the LSTM, z for the GRU',
    )
    trace_p.add_argument(
        '--html', default=None, metavar='FILE', help='also write a self-contained HTML report'
    )
    trace_p.add_argument(
        '--png', default=None, metavar='FILE', help='also write the overview figure (PNG)'
    )
    lesson_p = sub.add_parser(
        'lesson',
        formatter_class=raw,
        help='run a lesson: an experiment that measures what the video lesson claims',
        description=(
            'Runs one lesson of jaxrnn.teach.lessons, prints its table and each claim of the\n'
            'video lesson with what this run measured, and writes into the --out folder:\n'
            '  index.html     the page: claims, table, figures, questions for the class\n'
            '  results.json   every number, the settings, seeds and versions\n'
            '  *.png          the figures\n'
            '  models/*.npz   the trained models (jaxrnn trace --params opens the LSTM/GRU)\n'
            'Without --train the lesson opens the weights that ship with jaxrnn for its size\n'
            '(every size ships; --train trains again: under 2 minutes at --quick).\n'
            'lessons: memory, sentiment, music, units, lstm-vs-gru'
        ),
        epilog='example: jaxrnn lesson memory --quick --out /tmp/memory',
    )
    lesson_p.add_argument(
        'name',
        metavar='NAME',
        choices=lesson_names,
        help='memory, sentiment, music, units or lstm-vs-gru',
    )
    sizes = lesson_p.add_mutually_exclusive_group()
    sizes.add_argument(
        '--quick',
        action='store_true',
        help='the quick size: under 2 minutes of training on a 2-core CPU',
    )
    sizes.add_argument('--tiny', action='store_true', help='seconds; for tests (no claim decided)')
    lesson_p.add_argument(
        '--train',
        action='store_true',
        help='train every model again instead of opening the shipped weights',
    )
    lesson_p.add_argument(
        '--out',
        default=None,
        metavar='FOLDER',
        help='the folder to write into (default: jaxrnn-lesson-NAME)',
    )
    lesson_p.add_argument(
        '--corpus',
        default=None,
        metavar='FILE',
        help='units only: train and score on your own text',
    )
    compare_p = sub.add_parser(
        'compare',
        help="check jaxrnn's Linen LSTM and GRU against Flax's and time both",
        description=(
            'Runs jaxrnn.linen.RNN over LSTMCell and GRUCell and flax.linen.RNN over '
            'OptimizedLSTMCell and GRUCell with the same weights (jaxrnn.convert.to_flax) '
            'on random float32 inputs [batch, time, features] = [32, 128, 64], hidden 128. '
            'Prints the parameter and output shapes, the largest difference between the '
            'outputs, and the forward and forward + backward times (compiled with jax.jit; '
            "median and minimum of 20 interleaved rounds, the first call's time with "
            'compilation, and the ratio to Flax).'
        ),
    )
    compare_p.add_argument(
        '--quick',
        action='store_true',
        help='small sizes ([8, 32, 16], hidden 32) and 5 rounds',
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    """Runs the ``jaxrnn`` command with ``argv``, as the installed ``jaxrnn`` does.

    Args:
      argv: the arguments after ``jaxrnn`` (default ``sys.argv[1:]``).

    Returns:
      The exit status, 0 on success or 2 after a mistake (an unknown word, a params file
      of the wrong cell or shape, an unwritable output path, a hidden unit or gate that
      does not exist, a missing extra), reported in one line on standard error.

    Raises:
      SystemExit: from argparse, for ``--help`` (status 0) and for a malformed command
        line (status 2, one line on standard error).

    Examples:
      >>> import os
      >>> import tempfile
      >>> from jaxrnn import cli
      >>> cli.main(['trace', 'I love jaxrnn'])  # 'jaxrnn' is not in the vocabulary
      2
      >>> with tempfile.TemporaryDirectory() as folder:
      ...     png = os.path.join(folder, 'gru.png')
      ...     status = cli.main(['trace', 'I love myself', '--cell', 'gru', '--png', png])
      ...     written = os.path.getsize(png) > 0
      GRU reads "i love myself", followed through unit ... of 32: ...
      ...
      wrote .../gru.png
      >>> status, written
      (0, True)
    """
    args = parser().parse_args(argv)
    try:
        if args.command == 'compare':
            return compare(quick=args.quick)
        teach = _teach(args.command)
        try:
            if args.command == 'demo':
                return demo(args.out, args.sentence, args.steps, args.unit, args.quick)
            if args.command == 'lesson':
                size = 'quick' if args.quick else 'tiny' if args.tiny else 'full'
                return lesson(args.name, size, args.train, args.out, args.corpus)
            return trace(
                args.sentence,
                args.cell,
                args.params,
                args.unit,
                args.gate,
                args.html,
                args.png,
                args.corpus,
            )
        except teach.TeachError as e:
            raise UserError(str(e)) from None
    except UserError as e:
        print(f'jaxrnn: error: {e}', file=sys.stderr)
        return 2


if __name__ == '__main__':
    sys.exit(main())
