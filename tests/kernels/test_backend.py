"""The ``backend=`` argument: names, the ``'auto'`` rule and the errors that name what a
backend lacks, raised before anything is traced."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxrnn import kernels
from jaxrnn.kernels import _backend, _native
from jaxrnn.kernels._backend import XLA, Native, Pallas
from tests.cases import CASES

LSTM, GRU, SIMPLE = CASES[0], CASES[1], CASES[3]


def _args(case, dtype=np.float32):
    rng = np.random.default_rng(0)
    return case.params(rng, 3, 4, dtype), rng.standard_normal((2, 5, 3)).astype(dtype)


@pytest.mark.parametrize('dtype', [jnp.float32, jnp.bfloat16])
@pytest.mark.parametrize('hidden', [1, 128, 256, 257, 1024])
def test_auto_follows_the_measured_cpu_rule(dtype, hidden):
    """On a CPU: the native kernel for float32 up to hidden 256 (where the library is
    built), else the scan; the scan on GPUs and TPUs until GPU rules are measured."""
    here = jax.default_backend()
    native = here == 'cpu' and dtype == jnp.float32 and hidden <= 256 and _native.available()
    for case in (LSTM, GRU, SIMPLE):
        got = _backend.resolve('auto', case.cell, dtype, hidden)
        assert isinstance(got, Native if native else XLA) and got.platform == here
        for platform in ('gpu', 'tpu'):
            assert not _backend.auto_native(case.cell, dtype, hidden, platform)


def test_auto_keeps_the_scan_for_a_cell_the_native_kernel_lacks():
    class MyGRU(type(GRU.cell)):
        pass

    assert isinstance(_backend.resolve('auto', MyGRU(), jnp.float32, 16), XLA)


@pytest.mark.parametrize('platform', ['cpu', 'gpu', 'tpu'])
def test_an_options_platform_is_kept(platform):
    got = _backend.resolve(XLA(platform=platform), LSTM.cell, jnp.float32, 128)
    assert got.platform == platform


def test_auto_runs_the_native_kernel_here_at_small_hidden():
    params, xs = _args(GRU)
    jaxpr = str(jax.make_jaxpr(lambda p, x: kernels.gru(p, x)[1])(params, xs))
    assert 'pallas_call' not in jaxpr
    if _native.available():
        assert 'jaxrnn_forward' in jaxpr and 'scan' not in jaxpr
    else:
        assert 'scan' in jaxpr


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
        case.run(params, xs, backend=emulated_cudnn)


def test_cudnn_float32_only(emulated_cudnn):
    params, xs = _args(LSTM)
    with pytest.raises(ValueError, match='float32 only .* dtype is bfloat16'):
        kernels.lstm(params, xs, dtype=jnp.bfloat16, backend=emulated_cudnn)
    with pytest.raises(ValueError, match='float32 only .* dtype is float64'):
        kernels.lstm(*_args(LSTM, np.float64), backend=emulated_cudnn)


@pytest.mark.parametrize('precision', ['default', 'bfloat16', 'nonsense'])
def test_cudnn_precision(emulated_cudnn, precision):
    params, xs = _args(LSTM)
    with pytest.raises(ValueError, match='precision None, HIGH .* or HIGHEST'):
        kernels.lstm(params, xs, precision=precision, backend=emulated_cudnn)
    # The accepted ones run.
    for ok in (None, 'highest', 'tensorfloat32'):
        kernels.lstm(params, xs, precision=ok, backend=emulated_cudnn)


def test_pallas_has_no_tpu_kernel():
    params, xs = _args(GRU)
    with pytest.raises(ValueError, match="backend='pallas' has no TPU kernel"):
        kernels.gru(params, xs, backend=Pallas(platform='tpu'))


def test_auto_decides_platform_and_projection_before_tracing():
    got = _backend.resolve('xla', LSTM.cell, jnp.float32, 128)
    assert got == XLA(projection='in_loop', platform='cpu')
    got = _backend.resolve('auto', LSTM.cell, jnp.float32, 512)
    assert got == XLA(projection='hoisted', platform='cpu')
    got = _backend.resolve('auto', LSTM.cell, jnp.float32, 512, batch=16)
    assert got == XLA(projection='in_loop', platform='cpu')
    got = _backend.resolve(XLA(projection='hoisted'), LSTM.cell, jnp.float32, 128)
    assert got == XLA(projection='hoisted', platform='cpu')


@pytest.mark.parametrize(
    'bad,match',
    [
        (XLA(projection='inside'), 'XLA projection must be one of'),
        (XLA(backward='autodiff'), 'XLA backward must be one of'),
        (XLA(platform='cuda'), 'backend platform must be one of'),
        (Pallas(resident_bytes=-1), 'Pallas resident_bytes must be an int >= 0, got -1'),
        (Pallas(max_hidden=1.5), 'Pallas max_hidden must be an int >= 0, got 1.5'),
    ],
)
def test_bad_backend_options(bad, match):
    params, xs = _args(LSTM)
    with pytest.raises(ValueError, match=match):
        kernels.lstm(params, xs, backend=bad)
