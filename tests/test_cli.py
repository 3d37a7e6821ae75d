"""The `jaxrnn` command: the demo runs end to end and reports Flax parity."""

import re

import pytest

from jaxrnn import cli

pytestmark = pytest.mark.usefixtures('float32_defaults')


def test_demo_quick(capsys):
    assert cli.main(['demo', '--quick']) == 0
    out = capsys.readouterr().out
    assert 'outputs (8, 32, 32), carry ((8, 32), (8, 32))' in out
    assert 'outputs (8, 32, 32), carry (8, 32)' in out
    diffs = [float(d) for d in re.findall(r'flax.linen.RNN\(\w+\)\| = (\S+)', out)]
    assert len(diffs) == 2 and max(diffs) < 1e-5
    assert out.count('jaxrnn fwd+bwd') == 2


def test_unknown_command_exits_nonzero():
    with pytest.raises(SystemExit) as exc:
        cli.main(['nope'])
    assert exc.value.code == 2
