"""The README's Quick start and CI run the same test command."""

import pathlib

import jax
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
@pytest.mark.parametrize(
    'section,count',
    [
        ('Switching from Flax', 1),
        ('Stacks', 3),
        ('Bring your weights', 5),
        ('Trace mode and teaching views', 1),
    ],
)
def test_readme_examples_run(section, count):
    """Each block runs as users run it: float32 and JAX's default rank promotion (Keras'
    initializers broadcast, which the suite otherwise makes an error)."""
    blocks = _python_blocks(section)
    assert len(blocks) == count
    for block in blocks:
        with jax.numpy_rank_promotion('allow'):
            exec(compile(block, f'README.md ({section})', 'exec'), {})


@pytest.mark.usefixtures('float32_defaults')
def test_readme_narration_is_what_jaxrnn_trace_prints(capsys):
    """The excerpt under "Trace mode" is the output of the command it names (decimals to
    within 0.002 and percentages to within 1, allowing for float differences between
    machines and JAX versions)."""
    import re

    from jaxrnn import cli

    readme = (ROOT / 'README.md').read_text()
    section = readme.split('\n## Trace mode and teaching views\n')[1].split('\n## ')[0]
    command = re.search(r'jaxrnn trace "I love myself" --cell lstm --unit 3', section)
    assert command
    excerpt = section.split('printed (an excerpt; step 2 of 3):')[1].split('```')[1].strip()
    assert cli.main(['trace', 'I love myself', '--cell', 'lstm', '--unit', '3']) == 0
    printed = capsys.readouterr().out
    number = re.compile(r'-?\d+(?:\.\d+)?')
    lines = [line.rstrip() for line in printed.splitlines()]
    for line in excerpt.splitlines():
        line = line.rstrip()
        shape = number.sub('#', line)
        matches = [p for p in lines if number.sub('#', p) == shape]
        assert matches, f'not printed: {line}'
        want = number.findall(line)

        def close(printed_line, want=want):
            got = number.findall(printed_line)
            return all(
                abs(float(a) - float(b)) <= (2e-3 if '.' in a else 1)  # decimals; percentages
                for a, b in zip(want, got, strict=True)
            )

        assert any(close(p) for p in matches), line


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
    assert results['command'] == 'python -m benchmarks quick --out benchmarks/results/cpu-quick'
