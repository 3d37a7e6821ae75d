"""The ``backend=`` argument: names, the ``'auto'`` rule and the errors that name what a
backend lacks, raised before anything is traced."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxrnn import kernels
from jaxrnn.kernels import _backend
from jaxrnn.kernels.gru import GRU as GRUCell
from jaxrnn.kernels.lstm import LSTM as LSTMCell
from jaxrnn.kernels.simple import Simple as SimpleCell
from tests.cases import CASES

LSTM, GRU, SIMPLE = CASES[0], CASES[1], CASES[3]


def _args(case, dtype=np.float32):
    rng = np.random.default_rng(0)
    return case.params(rng, 3, 4, dtype), rng.standard_normal((2, 5, 3)).astype(dtype)


@pytest.mark.parametrize('platform', ['cpu', 'gpu', 'tpu'])
@pytest.mark.parametrize('dtype', [jnp.float32, jnp.bfloat16])
@pytest.mark.parametrize('hidden', [1, 128, 1024])
def test_auto_picks_the_scan_until_gpu_rules_are_measured(platform, dtype, hidden):
    for cell in (LSTMCell(), GRUCell(True), SimpleCell('tanh')):
        got = _backend.resolve('auto', cell, dtype, hidden, platform=platform)
        assert got == 'xla'


def test_auto_runs_the_scan_here():
    params, xs = _args(GRU)
    jaxpr = str(jax.make_jaxpr(lambda p, x: kernels.gru(p, x)[1])(params, xs))
    assert 'scan' in jaxpr and 'pallas_call' not in jaxpr


@pytest.mark.parametrize('bad', ['cuda', 'XLA', None, 1])
def test_unknown_backend(bad):
    params, xs = _args(LSTM)
    with pytest.raises(ValueError, match=r"backend must be one of \('auto', 'xla', 'cudnn'"):
        kernels.lstm(params, xs, backend=bad)


def test_cudnn_needs_a_gpu():
    params, xs = _args(LSTM)
    with pytest.raises(ValueError, match="backend='cudnn' needs an NVIDIA GPU; .* 'cpu'"):
        kernels.lstm(params, xs, backend='cudnn')


@pytest.mark.parametrize('case,name', [(GRU, 'GRU'), (SIMPLE, 'simple RNN')])
def test_cudnn_has_no_gru_or_simple_rnn(emulated_cudnn, case, name):
    params, xs = _args(case)
    with pytest.raises(ValueError, match=f'runs the LSTM only .*binds no {name}'):
        case.run(params, xs, backend='cudnn')


def test_cudnn_float32_only(emulated_cudnn):
    params, xs = _args(LSTM)
    with pytest.raises(ValueError, match='float32 only .* dtype is bfloat16'):
        kernels.lstm(params, xs, dtype=jnp.bfloat16, backend='cudnn')
    with pytest.raises(ValueError, match='float32 only .* dtype is float64'):
        kernels.lstm(*_args(LSTM, np.float64), backend='cudnn')


@pytest.mark.parametrize('precision', ['default', 'bfloat16', 'nonsense'])
def test_cudnn_precision(emulated_cudnn, precision):
    params, xs = _args(LSTM)
    with pytest.raises(ValueError, match='precision None, HIGH .* or HIGHEST'):
        kernels.lstm(params, xs, precision=precision, backend='cudnn')
    # The accepted ones run.
    for ok in (None, 'highest', 'tensorfloat32'):
        kernels.lstm(params, xs, precision=ok, backend='cudnn')


def test_pallas_has_no_tpu_kernel(monkeypatch):
    monkeypatch.setattr(_backend, 'default_platform', lambda: 'tpu')
    params, xs = _args(GRU)
    with pytest.raises(ValueError, match="backend='pallas' has no TPU kernel"):
        kernels.gru(params, xs, backend='pallas')
