"""A self-contained, interactive HTML report: per model the controls (field, unit, step),
the tokens coloured by the chosen field, an SVG cell diagram with the step's numbers on
its wires, the spotlight narration, a heatmap whose cells explain themselves on hover,
and captioned figures (PNG, base64-inlined). Styles, script and data are inline; the file
references nothing outside itself."""

from __future__ import annotations

import base64
import html
import importlib.resources
import io
import json
import pathlib
from collections.abc import Sequence

import numpy as np
from matplotlib.figure import Figure

from jaxrnn.teach import _figures, _values
from jaxrnn.teach._narrate import COLUMNS, EQUATIONS, HEADERS, Narration, share


def _asset(name: str) -> str:
    """A file of the report (``data/report.css``, ``data/report.js``), to inline."""
    return importlib.resources.files('jaxrnn.teach').joinpath(f'data/{name}').read_text()


# The cell diagrams: wires and boxes, and the labels (``data-k``: the number shown,
# ``data-label``: its name) that the script fills with the step's numbers.
_MARKER = (
    '<defs><marker id="a{id}" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" '
    'markerHeight="7" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="#555"/>'
    '</marker></defs>'
)


def _svg(label: str, wires: str, circles: str, boxes: str, marks: str, texts: str) -> str:
    """A cell diagram: arrowed wires, the operations (circles), the gates (boxes), their
    marks, and the text (the numbers the script fills in)."""
    arrow = ' marker-end="url(#a{id})"'
    paths = ''.join(
        f'<path d="{d.rstrip(">")}"{arrow if d.endswith(">") else ""}/>' for d in wires.split()
    )
    rings = ''.join(
        f'<circle cx="{x}" cy="{y}" r="15"/>' for x, y in (c.split(',') for c in circles.split())
    )
    rects = ''.join(
        f'<rect x="{int(x) - 30}" y="{int(y) - 15}" width="60" height="30" rx="5"/>'
        for x, y in (b.split(',') for b in boxes.split())
    )
    return (
        f'<svg viewBox="0 0 780 320" width="100%" role="img" aria-label="{label}">{_MARKER}'
        f'<g stroke="#555" stroke-width="2" fill="none">{paths}</g>'
        f'<g fill="#fff" stroke="#333" stroke-width="1.5">{rings}{rects}</g>'
        f'<g text-anchor="middle">{marks}</g>{texts}</svg>'
    )


def _num(x: int, y: int, key: str, label: str) -> str:
    return f'<text class="num" x="{x}" y="{y}" data-k="{key}" data-label="{label}"></text>'


# The cell diagrams: wires (``>`` ends in an arrow), operations, gates, and the labels
# (``data-k``: the number shown, ``data-label``: its name) that the script fills with the
# step's numbers.
_LSTM_SVG = _svg(
    'LSTM cell diagram',
    'M20,70H213> M245,70H413> M445,70H740> M60,295H600 M110,295V245 M230,295V245 '
    'M350,295V245 M600,295V245 M110,215V120H230V87> M230,215V165H273> M350,215V165H307> '
    'M290,150V120H430V87> M600,70V103> M600,135V148> M600,215V182> M615,165H740>',
    '230,70 430,70 290,165 600,165',
    '110,230 230,230 350,230 600,230 600,120',
    '<text x="230" y="75">&#215;</text><text x="430" y="75">+</text>'
    '<text x="290" y="170">&#215;</text><text x="600" y="170">&#215;</text>'
    '<text x="110" y="235">&#963; f</text><text x="230" y="235">&#963; i</text>'
    '<text x="350" y="235">tanh g</text><text x="600" y="235">&#963; o</text>'
    '<text x="600" y="125">tanh</text>',
    '<text x="20" y="35">old memory</text><text x="450" y="35">new memory</text>'
    '<text x="20" y="315">x_t (the token) and h_(t-1)</text>'
    + _num(20, 55, 'old', 'c_(t-1)')
    + _num(118, 160, 'f', 'f')
    + _num(250, 58, 'kept', 'kept')
    + _num(238, 200, 'i', 'i')
    + _num(358, 200, 'g', 'g')
    + _num(300, 112, 'written', 'written')
    + _num(450, 58, 'c', 'c_t')
    + _num(636, 125, 'tanh', 'tanh(c_t)')
    + _num(610, 205, 'o', 'o')
    + _num(630, 155, 'h', 'h_t'),
)

_GRU_SVG = _svg(
    'GRU cell diagram',
    'M20,70H153> M185,70H543> M575,70H740> M60,295H460 M170,295V245 M330,295V245 '
    'M460,295V245 M170,215V87> M170,160H208> M270,160H543> M360,230H428> M490,230H560V177> '
    'M560,145V87>',
    '170,70 560,70 560,160',
    '170,230 330,230 460,230 240,160',
    '<text x="170" y="75">&#215;</text><text x="560" y="75">+</text>'
    '<text x="560" y="165">&#215;</text><text x="170" y="235">&#963; z</text>'
    '<text x="330" y="235">&#963; r</text><text x="460" y="235">tanh n</text>'
    '<text x="240" y="165">1 - z</text>',
    '<text x="20" y="35">old state</text><text x="590" y="35">new state (the output)</text>'
    '<text x="20" y="315">x_t (the token) and h_(t-1)</text>'
    + _num(20, 55, 'old', 'h_(t-1)')
    + _num(178, 125, 'z', 'z')
    + _num(200, 58, 'kept', 'kept')
    + _num(280, 150, 'write', '1-z')
    + _num(345, 212, 'r', 'r')
    + _num(495, 252, 'n', 'n')
    + _num(570, 120, 'written', 'written')
    + _num(590, 58, 'h', 'h_t'),
)

_DIAGRAM_CAPTIONS = {
    'lstm': (
        'The LSTM cell at the chosen step, for the chosen unit. Left to right along the '
        'top runs the memory highway: the old memory c_(t-1) is multiplied by the forget '
        'gate f (kept = f x c_(t-1)), the written part i x g is added (written), and the '
        'sum is the new memory c_t. Below, the four gates read the token x_t and the old '
        'output h_(t-1); on the right the output gate o shows o x tanh(c_t) as h_t. '
        'Every number sits on the wire it travels along.'
    ),
    'gru': (
        'The GRU cell at the chosen step, for the chosen unit. Along the top runs the '
        'state: the old state h_(t-1) is multiplied by the update gate z (kept = z x '
        'h_(t-1)); the candidate n, made from the token and the old state let in by the '
        'reset gate r, is multiplied by 1 - z (written); their sum is the new state h_t, '
        'which is also the output. Every number sits on the wire it travels along.'
    ),
}


def figure_png(fig: Figure, dpi: int = 100) -> bytes:
    """``fig`` as PNG bytes at ``dpi``."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format='png', dpi=dpi)
    return buffer.getvalue()


def _figure(fig: Figure, alt: str, caption: str) -> str:
    data = base64.b64encode(figure_png(fig)).decode('ascii')
    return (
        f'<figure><div class="scroll"><img alt="{html.escape(alt)}" '
        f'src="data:image/png;base64,{data}"></div>'
        f'<figcaption>{html.escape(caption)}</figcaption></figure>'
    )


def _narration_html(narration: Narration) -> str:
    out = []
    for k, step in enumerate(narration.steps):
        out.append(
            f'<div class="stepbox" data-step="{step.index - 1}"><b>Step {step.index}: '
            f'"{html.escape(step.token)}"</b>'
        )
        for line in step.lines:
            out.append(
                f'<div><span class="role">{html.escape(line.role)}</span>: '
                f'{html.escape(line.words)}</div>'
            )
            if line.equation and k == 0:
                out.append(f'<div class="eq">{html.escape(line.equation)}</div>')
        out.append('</div>')
    return '\n'.join(out)


def _table_html(narration: Narration, top) -> str:
    names = list(COLUMNS[narration.cell])
    heads = [HEADERS.get(n, {}).get(narration.cell, n) for n in names]
    out = ['<div class="scroll"><table><tr><th>t</th><th class="w">token</th>']
    out += [f'<th>{html.escape(h)}</th>' for h in heads]
    if top is not None:
        out.append('<th class="w">likeliest next words</th>')
    out.append('</tr>')
    for step in narration.steps:
        out.append(
            f'<tr data-step="{step.index - 1}"><td>{step.index}</td>'
            f'<td class="w">{html.escape(step.token)}</td>'
        )
        out += [f'<td>{step.numbers[n]:.3f}</td>' for n in names]
        if top is not None:
            words = ', '.join(f'{w} {share(p)}' for w, p in top[step.index - 1])
            out.append(f'<td class="w">{html.escape(words)}</td>')
        out.append('</tr>')
    out.append('</table></div>')
    return ''.join(out)


def _data(one: _values.Row, narration: Narration, gate: str) -> dict:
    """The section's data for ``report.js``, as JSON: ``cell``, ``tokens`` (``t``),
    ``spot`` (the spotlight unit), ``gate`` (the field shown first), ``state`` (``'c'``
    or ``'h'``), ``order`` (the units, sorted), ``fields`` (``{name: [t][h]}``, 4
    decimals), ``initial`` (the state before step 1, ``[h]``), ``signed`` (the fields on
    a signed scale), ``scales`` (``{name: divisor}``, :func:`_values.scale`), ``labels``
    and ``equations`` (``{name: text}``, ``{n}``/``{p}`` the step and the one before) and
    ``printed`` (per step, the narration's printed numbers of the spotlight)."""
    kind = one.kind
    names = _figures.fields(kind)
    labels = {name: _figures.label(kind, name) for name in names}
    return {
        'cell': kind.name,
        'tokens': list(narration.tokens),
        'spot': narration.unit,
        'gate': gate,
        'state': kind.state,
        'order': [int(u) for u in _values.unit_order(one)],
        'fields': {n: np.round(one.fields[n], 4).tolist() for n in names},
        'initial': np.round(one.initial[kind.state], 4).tolist(),
        'signed': [n for n in names if _values.signed(kind, n)],
        'scales': {n: _values.scale(kind, n, one.fields[n]) for n in names},
        'labels': labels,
        'equations': {n: EQUATIONS[kind.name][n] for n in names},
        'printed': [{k: float(v) for k, v in s.numbers.items()} for s in narration.steps],
    }


def _section(index: int, section: dict) -> str:
    trace, tokens, narration = section['trace'], section['tokens'], section['narration']
    kind = _values.kind_of(trace, who='report_html')
    one = _values.row(trace, 0, kind=kind)
    gate = section.get('gate') or kind.keep
    if gate not in one.fields:
        raise ValueError(f'gate must be one of {sorted(one.fields)} for this trace, got {gate!r}.')
    top = section.get('predictions')
    if top is not None and top and isinstance(top[0], str):
        top = None  # only the likeliest word: the narration says it
    data = _data(one, narration, gate)
    spot, name = narration.unit, html.escape(section['name'])
    options = ''.join(
        f'<option value="{n}"{" selected" if n == gate else ""}>{html.escape(label)}</option>'
        for n, label in data['labels'].items()
    )
    units = ''.join(
        f'<option value="{u}"{" selected" if u == spot else ""}>'
        f'{u}{" (spotlight)" if u == spot else ""}</option>'
        for u in data['order']
    )
    svg = (_LSTM_SVG if kind.name == 'lstm' else _GRU_SVG).replace('{id}', str(index))
    state = kind.state
    out = [
        f'<section class="model" id="model-{index}"><h2>{name}</h2>',
        f'<p>{html.escape(kind.title)} reads "{html.escape(" ".join(tokens))}" '
        f'({len(tokens)} tokens, {one.hidden} units). The spotlight is unit {spot}: '
        f'{html.escape(narration.reason)}. Its numbers are printed step by step below, '
        'with their arithmetic; it is the unit the controls start on, "(spotlight)" in the '
        'unit menu, and red in the heatmap, the highway and the saturation figure. '
        f'{html.escape(narration.rounding())}</p>',
        f'<p class="note">{html.escape(narration.convention)}</p>',
        f'<details><summary>Translating the role-play handout</summary><p>'
        f'{html.escape(narration.handout)}</p></details>',
        '<div class="controls">'
        f'<label>show <select class="field" aria-label="field">{options}</select></label>'
        f'<label>unit <select class="unit" aria-label="unit">{units}</select></label>'
        '<span><button class="prev" type="button" aria-label="previous step">&#9664;</button> '
        f'<input class="slider" type="range" min="0" max="{len(tokens) - 1}" value="0" '
        'aria-label="step"> <button class="next" type="button" aria-label="next step">&#9654;'
        '</button></span> <b class="steplabel"></b></div>',
        '<figure class="fig-strip"><div class="strip"></div><div class="legend strip-legend">'
        '</div><figcaption>The sentence, each token on a background as strong as '
        '<span class="strip-what"></span> at that step (the value under the token). Gates '
        'go from white (0, closed) to blue (1, open); the candidates and states from red '
        '(negative) through white (0) to blue (positive). Click a token to go to its '
        'step.</figcaption></figure>',
        f'<figure class="fig-diagram"><div class="scroll">{svg}</div><figcaption>'
        f'<b class="diagram-what"></b>. {html.escape(_DIAGRAM_CAPTIONS[kind.name])}'
        '</figcaption></figure>',
        '<h3>The spotlight narration</h3>'
        f'<p class="note unit-note" hidden>The narration follows unit {spot}, the spotlight; '
        'the diagram and strip show the unit you chose.</p>'
        '<label><input type="checkbox" class="allsteps"> show every step</label>'
        f'<div class="narration">{_narration_html(narration)}</div>',
        '<figure class="fig-table">'
        + _table_html(narration, top)
        + f'<figcaption>Unit {spot} at every step, the numbers of the narration (rounded to '
        f'3 decimals; every result computed from the printed numbers, so each row can be '
        f'checked by hand: kept + written = the new {state}). The highlighted row is the '
        'chosen step.'
        + (
            ' The last column is the readout: the likeliest next words, from all units.'
            if top is not None
            else ''
        )
        + '</figcaption></figure>',
        '<figure class="fig-heat"><div class="scroll"><div class="heat"><div>'
        '<div class="grid"></div><div class="grid cols"></div></div></div></div>'
        '<div class="legend heat-legend"></div><figcaption>Every unit (rows) at every step '
        '(columns) of <span class="heat-what"></span>. The units are sorted by their '
        f'average {kind.keep} gate, the units that keep the most memory on top; the unit '
        'number is on the left, the spotlight in red and outlined. Hover a cell to see its '
        'value and equation; click it to choose that unit and step.</figcaption></figure>',
        f'<script type="application/json" class="data">{_json(data)}</script>',
    ]
    out.append(
        _figure(
            _figures.highway(trace, tokens, unit=spot),
            f'{kind.title} memory highway, unit {spot}',
            f'The memory highway of unit {spot}: at every step, what was kept from the old '
            f'{state} (blue bar, left) and what was written (orange bar, right), both signed, '
            f'and the new {state}, their sum (black line). A long blue bar and a short orange '
            'one: the memory was carried; the reverse: it was rewritten. Same numbers as the '
            'narration (unrounded).',
        )
    )
    corpus = section.get('corpus')
    where = 'this sentence'
    sat_trace, lengths = trace, None
    if corpus is not None:
        sat_trace, lengths = corpus
        where = f'all {int(np.sum(lengths))} steps of the {len(lengths)} corpus sentences'
    out.append(
        _figure(
            _figures.saturation(sat_trace, lengths=lengths, unit=spot),
            f'{kind.title} gate saturation',
            f'Gate saturation over {where}: one point per unit and gate, placed at the share '
            'of steps where the gate is nearly closed (below 0.1, x) and nearly open (above '
            '0.9, y). Points near the grey diagonal are always saturated, acting as '
            'switches; points near the origin are never saturated, acting as dials. '
            f'Unit {spot} is ringed in red.',
        )
    )
    out.append('</section>')
    return '\n'.join(out)


def _json(data: dict) -> str:
    """JSON safe inside a ``<script>`` element."""
    return json.dumps(data, separators=(',', ':')).replace('</', '<\\/')


def report_html(
    title: str,
    sections: list[dict],
    *,
    extra_figures: Sequence[tuple[str, Figure]] = (),
    intro: str = '',
) -> str:
    """The HTML report as a string: one self-contained, interactive page that references
    nothing outside itself (figures inlined as ``data:`` PNG, styles, script and data
    inline).

    Per section (one model reading one sentence): controls to choose the field shown
    (a gate or a state; initially ``gate``), the unit (initially the narration's
    spotlight) and the step; the tokens coloured by the chosen field (wrapping, with a
    colour legend); an SVG diagram of the cell with the step's numbers on its wires; the
    spotlight narration of the step (or of every step) and a table of the spotlight's
    numbers at every step, with the readout's likeliest next words; a heatmap of every
    unit (sorted, the spotlight outlined) at every step, whose cells show their value and
    equation on hover; the spotlight's memory :func:`highway`; and the gate
    :func:`saturation`, over the corpus when given. Every figure has a caption saying
    how to read it. Then the extra figures, each with its caption. Each section shows
    sequence 0 of its trace. All text is HTML-escaped.

    Args:
      title: the page title (also its first heading).
      sections: one per model, each a dict with ``'name'`` (the heading), ``'trace'``
        (an ``LSTMTrace`` or ``GRUTrace``), ``'tokens'`` (its ``t`` tokens) and
        ``'narration'`` (a :class:`Narration` of it, from :func:`narrate`, whose unit is
        the spotlight), and optionally ``'predictions'`` (per step the likeliest next
        words as ``(word, probability)`` pairs, :meth:`Trained.read`), ``'gate'`` (the
        field shown first; default the gate that keeps the old state, LSTM ``f``, GRU
        ``z``) and ``'corpus'`` (``(trace, lengths)`` of the model over a corpus, for the
        saturation figure, :meth:`Trained.corpus_trace`).
      extra_figures: ``(caption, figure)`` pairs shown after the sections.
      intro: a paragraph of plain text under the title.

    Returns:
      The page, a complete HTML document.

    Raises:
      ValueError: a section's ``gate`` is not a field of its trace.

    Examples:
      >>> import re
      >>> from jaxrnn import teach
      >>> tokens, trace, top = teach.shipped('lstm').read('I love myself')
      >>> section = dict(name='LSTM', trace=trace, tokens=tokens, predictions=top,
      ...                narration=teach.narrate(trace, tokens, predictions=top))
      >>> page = teach.report_html('My report', [section], intro='One sentence.')
      >>> page.startswith('<!DOCTYPE html>'), page.count('<figure'), page.count('<figcaption')
      (True, 6, 6)
      >>> sorted(set(re.findall(r'(?:src|href)="([a-z]+):', page)))  # only inlined data
      ['data']
    """
    body = [f'<h1>{html.escape(title)}</h1>']
    if intro:
        body.append(f'<p>{html.escape(intro)}</p>')
    body.append(
        '<p class="note">How to read this page: pick what to show (a gate or a state), a '
        'unit and a step with the controls; the strip, the cell diagram, the narration and '
        'the heatmap follow. Gates are shares from 0 to 1; candidates and states lie '
        'between -1 and 1 (the LSTM memory c can grow beyond). Every number comes from the '
        "model's trace (trace=True), the same computation as the fast kernel.</p>"
    )
    for k, section in enumerate(sections):
        body.append(_section(k, section))
    for caption, fig in extra_figures:
        body.append(_figure(fig, caption, caption))
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f'<title>{html.escape(title)}</title><style>{_asset("report.css")}</style></head>'
        '<body>\n' + '\n'.join(body) + '\n<div id="tip"></div>\n'
        f'<script>{_asset("report.js")}</script>\n</body></html>\n'
    )


def write_report(path, title: str, sections: list[dict], **kwargs) -> pathlib.Path:
    """Writes the self-contained HTML report of :func:`report_html` to ``path`` (UTF-8).

    Args:
      path: the file to write (replaced if it exists).
      title: the page title.
      sections: one per model, as in :func:`report_html`.
      **kwargs: ``extra_figures`` and ``intro``, as in :func:`report_html`.

    Returns:
      ``path`` as a :class:`pathlib.Path`.

    Examples:
      >>> import os
      >>> import re
      >>> import tempfile
      >>> from jaxrnn import teach
      >>> tokens, trace, _ = teach.shipped('gru').trace('I love myself')
      >>> section = dict(name='GRU', trace=trace, tokens=tokens,
      ...                narration=teach.narrate(trace, tokens))
      >>> with tempfile.TemporaryDirectory() as folder:
      ...     path = teach.write_report(os.path.join(folder, 'report.html'), 'GRU', [section])
      ...     page = path.read_text(encoding='utf-8')
      >>> path.name, '<h2>GRU</h2>' in page
      ('report.html', True)
      >>> re.findall(r'(?:src|href)="http', page)  # no link outside the file
      []
    """
    path = pathlib.Path(path)
    path.write_text(report_html(title, sections, **kwargs), encoding='utf-8')
    return path
