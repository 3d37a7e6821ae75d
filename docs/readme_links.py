"""Checks that every link in the README resolves.

  python docs/readme_links.py docs/_build/html

A link to a documentation page (``docs/<page>.md``) must have been built into
``<html>/<page>.html``; any other relative link must name a file of the repository; an
anchor (``#...``) must be a heading of the README. Prints one line per broken link and
exits 1 if there is any (CI runs this after building the documentation).
"""

from __future__ import annotations

import pathlib
import re
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent
LINK = re.compile(r'!?\[[^\]]*\]\(([^)\s]+)\)')


def links(markdown: str) -> list[str]:
    """Every link target of a markdown text, outside code blocks, in order."""
    prose = ''.join(markdown.split('```')[0::2])
    return LINK.findall(prose)


def _anchor(heading: str) -> str:
    return re.sub(r'[^\w\- ]', '', heading.strip().lower()).replace(' ', '-')


def broken(markdown: str, root: pathlib.Path, html: pathlib.Path) -> list[str]:
    """The links of ``markdown`` (a file at ``root``) that do not resolve, with why."""
    anchors = {_anchor(h) for h in re.findall(r'^#+ (.*)$', markdown, re.M)}
    problems = []
    for target in links(markdown):
        if re.match(r'[a-z]+:', target):
            continue  # external: not checked (no network)
        path, _, anchor = target.partition('#')
        if not path:
            if anchor not in anchors:
                problems.append(f'{target}: no such heading in the README')
            continue
        if not (root / path).is_file():
            problems.append(f'{target}: no such file')
        elif path.startswith('docs/') and path.endswith('.md'):
            page = html / (path.removeprefix('docs/').removesuffix('.md') + '.html')
            if not page.is_file():
                problems.append(f'{target}: not built ({page} missing)')
    return problems


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) != 1:
        print('usage: python docs/readme_links.py HTML_DIR', file=sys.stderr)
        return 2
    html = pathlib.Path(argv[0])
    if not (html / 'index.html').is_file():
        print(f'readme_links: {html} holds no built documentation (index.html)', file=sys.stderr)
        return 2
    problems = broken((ROOT / 'README.md').read_text(), ROOT, html)
    for p in problems:
        print(f'README.md: {p}')
    print(
        f'README.md: {len(links((ROOT / "README.md").read_text()))} links, {len(problems)} broken'
    )
    return 1 if problems else 0


if __name__ == '__main__':
    sys.exit(main())
