"""The HTML report in a real browser: Chromium (Debian's package, or Playwright's own)
driven by Playwright. The report is opened at a wide and a narrow width; the checks are
on content, not pixels: no element overflows the page, every figure has its caption, the
controls change what is shown, a heatmap cell explains itself on hover, the diagram shows
the narration's numbers, and the script raises no error.

``pytest --screenshots DIR`` also saves the screenshots into ``DIR`` (the README's
``docs/screenshots/report-wide.png`` is the wide one).

The tests skip, with the reason, only where Playwright or a Chromium is missing; CI
installs both (``.ci/run``).
"""

from __future__ import annotations

import os
import re
import shutil

import pytest

from jaxrnn import teach
from jaxrnn.teach import _values
from tests.teach.test_narrate import LONG

sync_api = pytest.importorskip('playwright.sync_api', reason='Playwright is not installed')

WIDTHS = {'wide': 1280, 'narrow': 420}
# Every element must fit the page, except inside a horizontally scrolling box.
OVERFLOW = """() => {
  const width = document.documentElement.clientWidth;
  const bad = [];
  for (const el of document.body.querySelectorAll('*')) {
    if (el.closest('.scroll') || el.id === 'tip') continue;
    const r = el.getBoundingClientRect();
    const out = r.right > width + 1 || r.left < -1;
    if (r.width > 0 && out) bad.push(el.tagName + '.' + el.getAttribute('class'));
  }
  return {bad, scroll: document.documentElement.scrollWidth, width};
}"""

# The table cells whose text takes more than one line.
WRAPPED = """() => [...document.querySelectorAll('.fig-table td, .fig-table th')].filter((td) => {
  const range = document.createRange();
  range.selectNodeContents(td);
  const tops = new Set([...range.getClientRects()].map((r) => Math.round(r.top)));
  return tops.size > 1;
}).map((td) => td.textContent)"""


def _chromium() -> str | None:
    for name in ('chromium', 'chromium-browser', 'google-chrome'):
        if path := shutil.which(name):
            return path
    return None


@pytest.fixture(scope='module')
def browser():
    with sync_api.sync_playwright() as p:
        path = _chromium()
        if path is None and not os.path.exists(p.chromium.executable_path):
            pytest.skip('no Chromium: apt-get install chromium (or playwright install chromium)')
        browser = p.chromium.launch(executable_path=path, args=['--no-sandbox'])
        yield browser
        browser.close()


@pytest.fixture(scope='module')
def report(tmp_path_factory):
    """The demo's report of the shipped models on the demo sentence and a 45-word text:
    ``(path, {model: narration})``."""
    sections, stories = [], {}
    for cell in teach.CELLS:
        trained = teach.shipped(cell)
        for sentence, name in (('I love myself', cell.upper()), (LONG, f'{cell.upper()}, long')):
            tokens, trace, top = trained.read(sentence)
            narration = teach.narrate(trace, tokens, predictions=top)
            stories[name] = narration
            sections.append(
                dict(
                    name=name,
                    trace=trace,
                    tokens=tokens,
                    narration=narration,
                    predictions=top,
                    corpus=trained.corpus_trace(),
                )
            )
    path = tmp_path_factory.mktemp('report') / 'report.html'
    teach.write_report(path, 'jaxrnn: the shipped models', sections)
    return path, stories


def _open(browser, path, width):
    page = browser.new_page(viewport={'width': width, 'height': 900})
    errors = []
    page.on('pageerror', lambda e: errors.append(str(e)))
    page.on('console', lambda m: errors.append(m.text) if m.type == 'error' else None)
    page.goto(path.as_uri())
    return page, errors


@pytest.mark.parametrize('width', WIDTHS, ids=list(WIDTHS))
def test_report_fits_and_every_figure_has_a_caption(browser, report, width, tmp_path, request):
    path, stories = report
    page, errors = _open(browser, path, WIDTHS[width])
    fit = page.evaluate(OVERFLOW)
    assert fit['bad'] == [] and fit['scroll'] <= fit['width'], fit
    # no number of the spotlight tables wraps onto a second line (they scroll instead)
    wrapped = page.evaluate(WRAPPED)
    assert wrapped == [], wrapped[:5]
    figures = page.locator('figure')
    assert figures.count() == 6 * len(stories)
    for k in range(figures.count()):
        caption = figures.nth(k).locator('figcaption')
        assert caption.count() == 1 and len(caption.inner_text().split()) >= 15, k
    # every model section filled in by the script: its strip, heatmap and diagram
    for k, narration in enumerate(stories.values()):
        section = page.locator(f'#model-{k}')
        assert section.locator('.strip .tok').count() == len(narration.tokens)
        assert section.locator('.grid:not(.cols) > div').count() == 32 * (len(narration.tokens) + 1)
        assert '=' in section.locator('svg [data-k="old"]').text_content()
    shot = tmp_path / f'report-{width}.png'
    page.locator('#model-0').scroll_into_view_if_needed()
    page.screenshot(path=shot)
    assert shot.read_bytes().startswith(b'\x89PNG') and shot.stat().st_size > 20000
    if folder := request.config.getoption('--screenshots'):
        os.makedirs(folder, exist_ok=True)
        shutil.copy(shot, os.path.join(folder, shot.name))
    assert errors == []
    page.close()


def test_controls_change_what_is_shown(browser, report):
    path, stories = report
    page, errors = _open(browser, path, WIDTHS['wide'])
    narration = stories['LSTM']
    lstm = page.locator('#model-0')
    spot = narration.unit
    # step 1 shows the narration's printed numbers on the diagram
    assert lstm.locator('.steplabel').inner_text() == 'step 1 of 3: "i"'
    first = narration.steps[0].numbers
    assert lstm.locator('svg [data-k="c"]').text_content() == f'c_t = {first["c"]:.3f}'
    assert lstm.locator('.stepbox[data-step="0"]').is_visible()
    assert not lstm.locator('.stepbox[data-step="1"]').is_visible()
    # the next-step button moves the diagram, the narration and the table row
    lstm.locator('.next').click()
    assert lstm.locator('.steplabel').inner_text() == 'step 2 of 3: "love"'
    second = narration.steps[1].numbers
    assert lstm.locator('svg [data-k="old"]').text_content() == f'c_(t-1) = {first["c"]:.3f}'
    assert lstm.locator('svg [data-k="kept"]').text_content() == f'kept = {second["kept"]:.3f}'
    assert lstm.locator('.stepbox[data-step="1"]').is_visible()
    assert lstm.locator('tr.now').get_attribute('data-step') == '1'
    # the field selector changes the strip, the heatmap and its legend
    strip_before = lstm.locator('.strip .tok').first.get_attribute('style')
    lstm.locator('select.field').select_option('g')
    assert lstm.locator('.heat-what').inner_text() == 'candidate g'
    assert lstm.locator('.strip .tok').first.get_attribute('style') != strip_before
    assert lstm.locator('.heat-legend').inner_text().startswith('-1.000')
    # the browser colours every value as the terminal view does (_values.gate_strip), the
    # memory c on the same scale (divided by its largest magnitude)
    tokens, trace, _ = teach.shipped('lstm').read('I love myself')
    for field in ('g', 'c'):
        lstm.locator('select.field').select_option(field)
        terminal = _values.gate_strip(trace, tokens, field, spot, 0).cells
        for t in range(len(tokens)):
            style = lstm.locator('.strip .tok').nth(t).get_attribute('style')
            got = [int(v) for v in re.search(r'rgb\((\d+), (\d+), (\d+)\)', style).groups()]
            want = [int(terminal[t][2][k : k + 2], 16) for k in (1, 3, 5)]
            assert all(abs(a - b) <= 1 for a, b in zip(got, want, strict=True)), (field, t)
    lstm.locator('select.field').select_option('g')
    # the unit selector: the diagram shows that unit, and says it is not the spotlight
    other = (spot + 1) % 32
    lstm.locator('select.unit').select_option(str(other))
    assert f'unit {other} (network values, rounded)' in lstm.locator('.diagram-what').inner_text()
    assert lstm.locator('.unit-note').is_visible()
    # hovering a heatmap cell shows its value and equation
    cells = lstm.locator('.grid:not(.cols) > div:not(.rowlab)')
    cells.nth(2).hover()
    tip = page.locator('#tip')
    assert tip.is_visible()
    assert tip.inner_text().startswith('g[unit ') and 'g = tanh(x_' in tip.inner_text()
    # clicking a token goes to its step; "show every step" shows the whole narration
    lstm.locator('.strip .tok').nth(2).click()
    assert lstm.locator('.steplabel').inner_text() == 'step 3 of 3: "myself"'
    lstm.locator('.allsteps').check()
    assert all(lstm.locator(f'.stepbox[data-step="{k}"]').is_visible() for k in range(3))
    assert errors == []
    page.close()


def test_the_report_opens_on_the_gate_it_was_given(browser, tmp_path):
    tokens, trace, top = teach.shipped('gru').read('I love myself')
    section = dict(
        name='GRU',
        trace=trace,
        tokens=tokens,
        gate='n',
        narration=teach.narrate(trace, tokens, predictions=top),
    )
    path = teach.write_report(tmp_path / 'g.html', 'GRU', [section])
    page, errors = _open(browser, path, WIDTHS['narrow'])
    assert page.locator('select.field').input_value() == 'n'
    assert page.locator('.heat-what').inner_text() == 'candidate n'
    assert page.locator('.strip-what').inner_text().startswith('candidate n, unit ')
    assert errors == []
    page.close()
