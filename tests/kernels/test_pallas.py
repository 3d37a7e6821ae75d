"""The persistent Pallas kernel (``backend='pallas'``) against the float64 oracle.

On CPU the kernel runs in Pallas' interpret mode: the same kernel body (gate blocks,
padding, the in-kernel time loop, masking, residual layout) evaluated by XLA, so every
numerical property is checked here; only the Triton compilation and the speed need a
GPU (the last test, skipped elsewhere).
"""

from __future__ import annotations

import dataclasses

import jax
import jax.extend
import jax.numpy as jnp
import numpy as np
import pytest

from jaxrnn import kernels
from jaxrnn.kernels import _pallas, _scan
from jaxrnn.kernels._backend import Pallas
from tests import reference
from tests.cases import CASE_IDS, CASES, as_dict, check_against_oracle, lengths_for, setup

SIZE = (3, 6, 4, 5)  # batch, time, in, hidden (hidden 5 pads to 16)


PATHS = {'resident': Pallas(), 'reread': Pallas(resident_bytes=0)}


@pytest.fixture(params=list(PATHS))
def weights_path(request):
    """Both ways the kernel reads W_hh, passed as ``backend=``: once before the loop
    (small weights) or at every step (large weights, forced here by a zero on-chip
    budget). ``test_weights_path_is_the_one_asked_for`` proves each runs its path."""
    return PATHS[request.param]


def _setup(case, size=SIZE, seed=0, dtype=np.float64):
    return setup(case, size, seed, dtype)


@pytest.mark.parametrize('case', CASES, ids=CASE_IDS)
@pytest.mark.parametrize(
    'use_lengths,reverse,time_major',
    [(False, False, False), (True, True, True), (True, False, False)],
)
def test_values_match_oracle(case, use_lengths, reverse, time_major, weights_path):
    rng, params, xs, carry = _setup(case)
    lengths = lengths_for(rng, SIZE[0], SIZE[1]) if use_lengths else None
    ys = check_against_oracle(
        case, params, xs, carry, lengths, reverse, time_major, 1e-12, backend=weights_path
    )
    assert ys.dtype == np.float64


@pytest.mark.parametrize('case', CASES, ids=CASE_IDS)
def test_gradients_match_oracle(case):
    size = (3, 4, 3, 2)
    rng, params, xs, carry = _setup(case, size, seed=1)
    lengths = np.array([4, 0, 2], np.int32)
    wy = rng.standard_normal((size[0], size[1], size[3]))
    names = params._fields

    def scalar(ys, final):
        return (ys * wy).sum() + sum((c**2).sum() for c in jax.tree.leaves(final))

    def ours(params, xs, carry):
        final, ys = case.run(params, xs, carry, seq_lengths=lengths, reverse=True, backend='pallas')
        return scalar(ys, final)

    got = jax.grad(ours, argnums=(0, 1, 2))(params, xs, carry)

    def oracle(*arrays):
        p = dict(zip(names, arrays[: len(names)], strict=True))
        c = arrays[len(names) + 1 :]
        final, ys = reference.run(
            case.ref_cell,
            p,
            arrays[len(names)],
            tuple(c) if case.lstm_carry else c[0],
            lengths,
            True,
        )
        return float(scalar(ys, final))

    want = reference.numerical_grad(oracle, [*params, xs, *jax.tree.leaves(carry)])
    labels = [*names, 'xs', *(['c', 'h'] if case.lstm_carry else ['h'])]
    got_flat = [*got[0], got[1], *jax.tree.leaves(got[2])]
    for label, g, w in zip(labels, got_flat, want, strict=True):
        np.testing.assert_allclose(g, w, atol=1e-6, rtol=1e-6, err_msg=label)


@pytest.mark.parametrize(
    'case', [c for c in CASES if c.name in ('lstm', 'gru')], ids=['lstm', 'gru']
)
@pytest.mark.parametrize('dtype', [jnp.bfloat16, np.float32])
def test_low_precision_and_several_batch_tiles(case, dtype):
    """More than one program (batch 70 -> two tiles of 64), bfloat16 or float32
    computation with a float32 carry, against the float64 oracle."""
    size = (70, 5, 3, 6)
    rng, params, xs, carry = _setup(case, size, seed=2, dtype=np.float32)
    lengths = rng.integers(0, size[1] + 1, size[0]).astype(np.int32)
    want_carry, want_ys = reference.run(case.ref_cell, as_dict(params), xs, carry, lengths)
    got_carry, got_ys = case.run(
        params, xs, carry, seq_lengths=lengths, dtype=dtype, backend='pallas'
    )
    assert got_ys.dtype == dtype
    tol = 6e-2 if dtype == jnp.bfloat16 else 2e-5
    np.testing.assert_allclose(np.asarray(got_ys, np.float64), want_ys, atol=tol)
    for got, want in zip(jax.tree.leaves(got_carry), jax.tree.leaves(want_carry), strict=True):
        assert got.dtype == np.float32
        np.testing.assert_allclose(got, want, atol=tol)


@pytest.mark.parametrize('case', CASES, ids=CASE_IDS)
def test_residuals_are_the_scans(case):
    """The kernel writes exactly the residuals the XLA backward pass reads."""
    rng, params, xs, carry = _setup(case)
    lengths = jnp.asarray(lengths_for(rng, SIZE[0], SIZE[1]))
    cell = case.cell
    cfg = _scan.Config(False, 1, jnp.float64, jnp.float64, None)
    xp = _scan.project(xs, params.input_kernel, params.bias, None, False, *cfg[2:5])
    state0 = tuple(jnp.asarray(c) for c in jax.tree.leaves(carry))
    rec = _scan.recurrent(params)
    want = _scan._forward(cell, cfg, rec, xp, state0, lengths, True)
    got = _pallas.forward(cell, cfg._replace(backend='pallas'), rec, xp, state0, lengths, True)
    assert jax.tree.structure(got) == jax.tree.structure(want)
    valid = np.arange(SIZE[1])[:, None] < np.asarray(lengths)[None, :]
    for g, w in zip(jax.tree.leaves(got[2]), jax.tree.leaves(want[2]), strict=True):
        assert g.shape == w.shape
        # Residuals at padded steps are never read (the backward masks those steps).
        np.testing.assert_allclose(np.asarray(g)[valid], np.asarray(w)[valid], atol=1e-12)


def _eqns(jaxpr):
    """Every equation of a jaxpr, recursively, but not inside a Pallas kernel's body."""
    for eqn in jaxpr.eqns:
        yield eqn
        if eqn.primitive.name != 'pallas_call':
            for sub in jax.extend.core.jaxprs_in_params(eqn.params):
                yield from _eqns(sub)


def _primitives(jaxpr):
    """Primitives of a jaxpr, recursively, but not inside a Pallas kernel's body."""
    return {eqn.primitive.name for eqn in _eqns(jaxpr)}


def _kernel_names(jaxpr):
    """The ``name`` of every pallas_call in a jaxpr, recursively."""
    return [
        str(eqn.params.get('name_and_src_info', eqn.params.get('name')))
        for eqn in _eqns(jaxpr)
        if eqn.primitive.name == 'pallas_call'
    ]


@pytest.mark.parametrize('case', CASES, ids=CASE_IDS)
@pytest.mark.parametrize('path', list(PATHS))
def test_weights_path_is_the_one_asked_for(case, path):
    """The program that runs for ``backend=PATHS[path]`` is the kernel of that path, on
    a first call and after the other path was compiled (the option is part of the jit
    cache key, so no program is reused across paths)."""
    _, params, xs, carry = _setup(case, dtype=np.float32)
    for first in (path, *PATHS):
        jaxpr = jax.make_jaxpr(lambda p, x, b=PATHS[first]: case.run(p, x, backend=b))
        names = _kernel_names(jaxpr(params, xs).jaxpr)
        assert len(names) == 1 and f'_forward_{first}' in names[0], names


def test_design_one_kernel_forward_scan_backward():
    """Forward: one pallas_call and no scan; the gradient adds the XLA backward scan."""
    case = CASES[0]
    _, params, xs, carry = _setup(case, dtype=np.float32)

    def loss(params, xs):
        return case.run(params, xs, backend='pallas')[1].sum()

    forward = _primitives(jax.make_jaxpr(loss)(params, xs).jaxpr)
    assert 'pallas_call' in forward and 'scan' not in forward
    backward = _primitives(jax.make_jaxpr(jax.grad(loss))(params, xs).jaxpr)
    assert {'pallas_call', 'scan'} <= backward


def test_trace_runs_the_scan_with_the_same_numbers():
    case = CASES[0]
    rng, params, xs, carry = _setup(case)
    lengths = lengths_for(rng, SIZE[0], SIZE[1])
    fast = kernels.lstm(params, xs, carry, seq_lengths=lengths, backend='pallas')
    traced = kernels.lstm(params, xs, carry, seq_lengths=lengths, backend='pallas', trace=True)
    xla = kernels.lstm(params, xs, carry, seq_lengths=lengths, backend='xla', trace=True)
    np.testing.assert_allclose(traced[1], fast[1], atol=1e-12)
    jax.tree.map(np.testing.assert_array_equal, traced[2], xla[2])


def test_jit_and_vmap():
    case = CASES[1]
    rng, params, xs, carry = _setup(case, dtype=np.float32)
    lengths = np.array([6, 1, 0], np.int32)

    def run(xs, lengths):
        return case.run(params, xs, seq_lengths=lengths, backend='pallas')[1]

    want = case.run(params, xs, seq_lengths=lengths, backend='xla')[1]
    np.testing.assert_allclose(jax.jit(run)(xs, lengths), want, atol=1e-6)
    per = jax.vmap(lambda x, n: run(x[None], n[None])[0])(xs, lengths)
    np.testing.assert_allclose(per, want, atol=1e-6)


def test_large_hidden_falls_back_to_the_scan_with_a_warning():
    case = CASES[0]
    _, params, xs, carry = _setup(case, size=(2, 3, 2, 20), dtype=np.float32)
    with pytest.warns(UserWarning, match='covers hidden sizes up to 16; hidden=20'):
        got = case.run(params, xs, carry, backend=Pallas(max_hidden=16))
    want = case.run(params, xs, carry, backend='xla')
    jax.tree.map(np.testing.assert_array_equal, got, want)


def test_padding_rules():
    assert [_pallas.padded_hidden(h) for h in (1, 16, 17, 128, 200)] == [16, 16, 32, 128, 256]
    assert [_pallas.batch_tile(b) for b in (1, 16, 17, 64, 500)] == [16, 16, 32, 64, 64]
    assert _pallas.covers(512) and not _pallas.covers(513)


@pytest.mark.parametrize('case', CASES, ids=CASE_IDS)
@pytest.mark.parametrize('dtype', [np.float32, jnp.bfloat16])
def test_kernel_lowers_to_triton_for_cuda(case, dtype, weights_path):
    """Without a GPU, the kernel (forward and the residuals of the backward) still goes
    through Pallas' Triton lowering for CUDA: power-of-two blocks, supported primitives,
    dynamic time indexing. Compiling the Triton IR to GPU code needs the GPU."""
    backend = dataclasses.replace(weights_path, platform='gpu')
    rng, params, xs, _ = _setup(case, (20, 9, 24, 100), dtype=np.float32)
    lengths = rng.integers(0, 10, 20).astype(np.int32)

    def loss(params, xs):
        _, ys = case.run(
            params, xs, seq_lengths=lengths, reverse=True, dtype=dtype, backend=backend
        )
        return ys.astype(np.float32).sum()

    lowered = jax.jit(jax.grad(loss)).trace(params, xs).lower(lowering_platforms=('cuda',))
    assert lowered.as_text().count('xla.gpu.triton') == 1


@pytest.mark.skipif(
    jax.default_backend() != 'gpu',
    reason='the compiled (Triton) Pallas kernel needs an NVIDIA GPU; on '
    f'{jax.default_backend()} the kernel is tested in interpret mode above',
)
@pytest.mark.parametrize('case', CASES, ids=CASE_IDS)
@pytest.mark.parametrize('dtype', [np.float32, jnp.bfloat16])
def test_compiled_kernel_on_gpu_matches_xla(case, dtype):
    rng, params, xs, carry = _setup(case, size=(8, 50, 64, 128), dtype=np.float32)
    lengths = rng.integers(1, 51, 8).astype(np.int32)

    def loss(params, backend):
        final, ys = case.run(params, xs, carry, seq_lengths=lengths, dtype=dtype, backend=backend)
        return (ys.astype(np.float32) ** 2).sum() + sum(c.sum() for c in jax.tree.leaves(final))

    tol = 5e-2 if dtype == jnp.bfloat16 else 2e-3
    got = jax.value_and_grad(loss)(params, 'pallas')
    want = jax.value_and_grad(loss)(params, 'xla')
    jax.tree.map(lambda a, b: np.testing.assert_allclose(a, b, rtol=tol, atol=tol), got, want)
