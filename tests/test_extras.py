"""The core install without the ``teach`` extra: the core imports, ``jaxrnn compare``
needs nothing more, and ``jaxrnn demo`` / ``jaxrnn trace`` say in one line how to get it.
In a subprocess, where matplotlib reads as not installed (Flax itself brings rich and
optax, the extra's other packages)."""

from __future__ import annotations

import os
import pathlib
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parents[1]

SCRIPT = """
import sys
sys.modules['matplotlib'] = None  # as if not installed
import jaxrnn, jaxrnn.convert, jaxrnn.kernels, jaxrnn.linen, jaxrnn.nnx
from jaxrnn import cli
try:
    cli.main(['compare', '--help'])
except SystemExit as e:
    assert e.code == 0
try:
    import jaxrnn.teach
except ImportError as e:
    print(type(e).__name__, e, file=sys.stderr)
print(cli.main(['trace', 'hi', '--cell', 'gru']), cli.main(['demo', '--quick']))
"""


def test_core_and_cli_without_the_teach_extra():
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get('PYTHONPATH', ''))
    out = subprocess.run(
        [sys.executable, '-c', SCRIPT], env=env, capture_output=True, text=True, timeout=300
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.splitlines()[-1] == '2 2'
    assert (
        'MissingExtra jaxrnn.teach needs matplotlib, which the core install of jaxrnn '
        'leaves out: pip install "jaxrnn[teach]"' in out.stderr.splitlines()
    )
    errors = [line for line in out.stderr.splitlines() if line.startswith('jaxrnn: error: ')]
    assert len(errors) == 2 and 'Traceback' not in out.stderr
    for command, line in zip(('trace', 'demo'), errors, strict=True):
        assert line == (
            f'jaxrnn: error: jaxrnn {command} needs matplotlib, which the core install of '
            'jaxrnn leaves out: pip install "jaxrnn[teach]"'
        )
