"""Every example runs at its --quick size and shows what its README says."""

import importlib.util
import pathlib
import sys

import pytest

EXAMPLES = pathlib.Path(__file__).resolve().parent.parent / 'examples'


def _load(name):
    spec = importlib.util.spec_from_file_location(f'examples_{name}', EXAMPLES / f'{name}.py')
    module = importlib.util.module_from_spec(spec)
    sys.modules[f'examples_{name}'] = module  # dataclasses (Flax modules) need it
    spec.loader.exec_module(module)
    return module


pytestmark = pytest.mark.usefixtures('float32_defaults')


def test_swap_flax(capsys):
    diff, final_loss = _load('swap_flax').main(['--quick'])
    assert diff < 1e-6
    out = capsys.readouterr().out
    first_loss = float(out.split('step    0  loss ')[1].split()[0])
    assert final_loss < first_loss


def test_decode():
    assert _load('decode').main(['--quick']) < 1e-6


def test_streaming():
    """Truncated BPTT over a long stream: the loss falls, and on the held-out tail the
    carried state beats resetting it at every window."""
    first, last, carried, reset = _load('streaming').main(['--quick'])
    assert last < first / 2
    assert carried < reset / 2


def test_checkpoint(capsys):
    diff, first_loss, final_loss, restored_bit_for_bit = _load('checkpoint').main(['--quick'])
    assert diff < 1e-6
    assert final_loss < first_loss
    assert restored_bit_for_bit
    out = capsys.readouterr().out
    assert f'max |logits(flax) - logits(jaxrnn)| = {diff:.1e}' in out
