"""The README's Quick start and CI run the same test command."""

import pathlib

import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent


def test_ci_runs_the_readme_test_command():
    ci = (ROOT / '.ci' / 'run').read_text().splitlines()
    command = ci[ci.index('# README test command:') + 1]
    readme = (ROOT / 'README.md').read_text()
    quick_start = readme.split('## Quick start')[1].split('\n## ')[0]
    blocks = [b.strip() for b in quick_start.split('```')[1::2]]
    commands = [b.split('\n', 1)[1].strip() if b.startswith('bash') else b for b in blocks]
    assert len(commands) == 2, 'Quick start holds exactly two commands'
    assert commands[1] == command
    assert commands[0].endswith('jaxrnn demo')


def _python_blocks(section: str) -> list[str]:
    readme = (ROOT / 'README.md').read_text()
    body = readme.split(f'\n## {section}\n')[1].split('\n## ')[0]
    return [b.split('\n', 1)[1] for b in body.split('```')[1::2] if b.startswith('python')]


@pytest.mark.usefixtures('float32_defaults')
def test_readme_flax_swap_runs():
    """The README's one example runs as users run it (float32)."""
    (block,) = _python_blocks('Switching from Flax')
    exec(compile(block, 'README.md (Switching from Flax)', 'exec'), {})


def test_readme_is_short():
    assert len((ROOT / 'README.md').read_text().splitlines()) <= 120


def _readme_links():
    import importlib.util

    spec = importlib.util.spec_from_file_location('readme_links', ROOT / 'docs' / 'readme_links.py')
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _toctree_pages() -> set[str]:
    """Every page named in a toctree of docs/ (paths relative to docs/, no suffix)."""
    import re

    pages = {'index'}
    for md in (ROOT / 'docs').rglob('*.md'):
        if '_build' in md.parts:
            continue
        for tree in re.findall(r'```\{toctree\}\n(.*?)```', md.read_text(), re.S):
            folder = md.parent.relative_to(ROOT / 'docs')
            for line in tree.splitlines():
                if line.strip() and not line.startswith(':'):
                    pages.add((folder / line.strip()).as_posix())
    return pages


def test_readme_links_name_files_and_pages_of_the_site():
    """Every relative link of the README names a file of the repository, and every link
    into docs/ names a page of the site's table of contents (CI checks after the build
    that each was built: docs/readme_links.py)."""
    module = _readme_links()
    readme = (ROOT / 'README.md').read_text()
    targets = module.links(readme)
    docs = [t for t in targets if t.startswith('docs/') and t.endswith('.md')]
    assert len(docs) >= 10
    for target in targets:
        assert (ROOT / target.partition('#')[0]).is_file(), target
    pages = _toctree_pages()
    for target in docs:
        assert target.removeprefix('docs/').removesuffix('.md') in pages, target


def test_readme_link_check_finds_broken_links(tmp_path):
    """The CI check fails on a missing file, an unbuilt page and a missing heading."""
    module = _readme_links()
    (tmp_path / 'docs').mkdir()
    (tmp_path / 'docs' / 'built.md').write_text('# Built')
    (tmp_path / 'docs' / 'unbuilt.md').write_text('# Unbuilt')
    html = tmp_path / 'html'
    html.mkdir()
    (html / 'built.html').write_text('')
    readme = (
        '# Title\n## A section\n[ok](docs/built.md) [a](docs/unbuilt.md) [b](gone.py) '
        '[c](#a-section) [d](#nowhere) [e](https://example.org)\n```\n[f](in-code.md)\n```\n'
    )
    problems = module.broken(readme, tmp_path, html)
    assert [p.split(':')[0] for p in problems] == ['docs/unbuilt.md', 'gone.py', '#nowhere']


def test_readme_performance_table_is_the_committed_results():
    """The headline table is what `python -m benchmarks.headline` prints from the
    committed quick results, and those results come from the command shown."""
    import json

    from benchmarks.headline import headline

    results_path = ROOT / 'benchmarks' / 'results' / 'cpu-quick' / 'results.json'
    results = json.loads(results_path.read_text())
    readme = (ROOT / 'README.md').read_text()
    section = readme.split('\n## Performance\n')[1].split('\n## ')[0]
    assert headline(results).strip() in section
    assert results['command'] in section
    assert results['command'] == (
        'python -m benchmarks quick --rounds 21 --out benchmarks/results/cpu-quick'
    )
