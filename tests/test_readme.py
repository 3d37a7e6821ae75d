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
@pytest.mark.parametrize('section', ['Stacks', 'Bring your weights'])
def test_readme_examples_run(section):
    blocks = _python_blocks(section)
    assert len(blocks) >= 3
    for block in blocks:
        exec(compile(block, f'README.md ({section})', 'exec'), {})
