"""A self-contained HTML report: narration, figures (PNG, base64-inlined) and coloured
tokens, with inline styles. The file references nothing outside itself."""

from __future__ import annotations

import base64
import html
import io
import pathlib
from collections.abc import Sequence

from matplotlib.figure import Figure

from jaxrnn.teach import _figures, _values
from jaxrnn.teach._narrate import Narration

_STYLE = """
body { font-family: system-ui, sans-serif; max-width: 1100px; margin: 2em auto;
       padding: 0 1em; color: #222; line-height: 1.45; }
h1 { font-size: 1.6em; } h2 { margin-top: 2em; border-bottom: 1px solid #ddd; }
.step { margin: 0.8em 0; padding: 0.4em 0.8em; background: #f7f7f9; border-radius: 6px; }
.role { font-weight: 600; } .eq { font-family: monospace; color: #555; margin-left: 1.5em; }
.tok { padding: 0.15em 0.35em; margin: 0 0.1em; border-radius: 4px; }
.val { color: #888; font-size: 0.8em; margin-right: 0.4em; }
img { max-width: 100%; } .note { color: #555; }
"""


def figure_png(fig: Figure, dpi: int = 100) -> bytes:
    buffer = io.BytesIO()
    fig.savefig(buffer, format='png', dpi=dpi)
    return buffer.getvalue()


def _img(fig: Figure, alt: str) -> str:
    data = base64.b64encode(figure_png(fig)).decode('ascii')
    return f'<img alt="{html.escape(alt)}" src="data:image/png;base64,{data}">'


def _tokens_html(trace, tokens, unit: int | None = None) -> str:
    strip = _values.gate_strip(trace, tokens, None, unit, 0)
    parts = [f'<p><b>{html.escape(strip.gate)}</b> ({strip.where}): ']
    for token, v, colour in strip.cells:
        parts.append(
            f'<span class="tok" style="background:{colour}">{html.escape(token)}</span>'
            f'<span class="val">{v:.2f}</span>'
        )
    parts.append('</p>')
    return ''.join(parts)


def _narration_html(narration: Narration) -> str:
    out = [f'<p class="note">{html.escape(narration.convention)}</p>']
    for step in narration.steps:
        out.append(f'<div class="step"><b>Step {step.index}: "{html.escape(step.token)}"</b>')
        for line in step.lines:
            out.append(
                f'<div><span class="role">{html.escape(line.role)}</span>: '
                f'{html.escape(line.words)}</div>'
            )
            if line.equation:
                out.append(f'<div class="eq">{html.escape(line.equation)}</div>')
        out.append('</div>')
    return '\n'.join(out)


def report_html(
    title: str,
    sections: list[dict],
    *,
    extra_figures: Sequence[tuple[str, Figure]] = (),
    intro: str = '',
) -> str:
    """The HTML report as a string: one self-contained page that references nothing
    outside itself (figures are PNG images inlined as ``data:`` URLs, styles inline).

    The page holds the title, the intro, then per section a heading (its ``name``), the
    tokens coloured by the gate that keeps the old state (LSTM ``f``, GRU ``z``; as
    :func:`coloured_tokens`), the narration step by step, and the :func:`overview`
    figure; then the extra figures, each under its caption. Each section shows sequence
    0 of its trace. All text is HTML-escaped.

    Args:
      title: the page title (also its first heading).
      sections: one per model, each a dict with ``'name'`` (the heading), ``'trace'``
        (an ``LSTMTrace`` or ``GRUTrace``), ``'tokens'`` (its ``t`` tokens),
        ``'narration'`` (a :class:`Narration` of it, from :func:`narrate`) and, optional,
        ``'unit'`` (colour the tokens by this hidden unit instead of the mean).
      extra_figures: ``(caption, figure)`` pairs shown after the sections.
      intro: a paragraph of plain text under the title.

    Returns:
      The page, a complete HTML document.

    Examples:
      >>> import re
      >>> from jaxrnn import teach
      >>> tokens, trace, _ = teach.shipped('lstm').trace('I love myself')
      >>> section = dict(name='LSTM', trace=trace, tokens=tokens,
      ...                narration=teach.narrate(trace, tokens))
      >>> page = teach.report_html('My report', [section], intro='One sentence.')
      >>> page.startswith('<!DOCTYPE html>'), page.count('<img ')
      (True, 1)
      >>> sorted(set(re.findall(r'(?:src|href)="([a-z]+):', page)))  # only inlined data
      ['data']
    """
    body = [f'<h1>{html.escape(title)}</h1>']
    if intro:
        body.append(f'<p>{html.escape(intro)}</p>')
    for section in sections:
        trace, tokens = section['trace'], section['tokens']
        unit = section.get('unit')
        body.append(f'<h2>{html.escape(section["name"])}</h2>')
        body.append(_tokens_html(trace, tokens, unit=unit))
        body.append(_narration_html(section['narration']))
        body.append(_img(_figures.overview(trace, tokens), f'{section["name"]} gates'))
    for caption, fig in extra_figures:
        body.append(f'<h2>{html.escape(caption)}</h2>')
        body.append(_img(fig, caption))
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f'<title>{html.escape(title)}</title><style>{_STYLE}</style></head>'
        '<body>\n' + '\n'.join(body) + '\n</body></html>\n'
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
