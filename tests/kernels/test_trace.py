"""Trace mode of the kernels: the trace is the fast path's numbers (h equals the outputs
bit for bit), the equations recomputed from it hold, padded steps are zero, it works
under jit/vmap/grad, and with tracing off the program has no trace in it."""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.extend.core import jaxprs_in_params

from jaxrnn import kernels
from tests import reference
from tests.cases import CASES, as_dict, lengths_for

B, T, I, H = 4, 6, 3, 5
KIND = {'lstm': 'lstm', 'gru': 'gru', 'gru_reset_before': 'gru', 'simple': 'simple'}
TRACED = [c for c in CASES if c.name in KIND]
FIELDS = {'lstm': 'ifgoch', 'gru': 'rznh', 'simple': 'h'}


@pytest.mark.parametrize('case', TRACED, ids=[c.name for c in TRACED])
@pytest.mark.parametrize('reverse', [False, True])
@pytest.mark.parametrize('time_major', [False, True])
@pytest.mark.parametrize('with_lengths', [False, True])
def test_trace_is_the_fast_path_and_obeys_the_equations(case, reverse, time_major, with_lengths):
    rng = np.random.default_rng(0)
    params = case.params(rng, I, H)
    xs = rng.standard_normal((B, T, I)).astype(np.float32)
    carry = case.carry(rng, (B,), H)
    lengths = lengths_for(rng, B, T) if with_lengths else None
    inputs = xs.swapaxes(0, 1) if time_major else xs
    kw = dict(seq_lengths=lengths, reverse=reverse, time_major=time_major)
    final, ys = case.run(params, inputs, carry, **kw)
    final_t, ys_t, trace = case.run(params, inputs, carry, trace=True, **kw)

    kind = KIND[case.name]
    assert type(trace).__name__ == {'lstm': 'LSTMTrace', 'gru': 'GRUTrace'}.get(kind, 'SimpleTrace')
    assert tuple(trace._fields) == tuple(FIELDS[kind])
    np.testing.assert_array_equal(ys_t, ys)  # same numbers as the fast path
    jax.tree.map(np.testing.assert_array_equal, final_t, final)
    np.testing.assert_array_equal(trace.h, ys)  # h is the outputs (zero where padded)
    for field in trace:
        assert field.shape == inputs.shape[:-1] + (H,) and field.dtype == jnp.float32
    batch_major = (
        jax.tree.map(lambda a: np.asarray(a).swapaxes(0, 1), trace) if time_major else trace
    )
    err = reference.trace_errors(
        kind,
        as_dict(params),
        xs,
        carry,
        batch_major,
        lengths,
        reverse,
        reset_after=case.name != 'gru_reset_before',
    )
    assert err < 2e-6


def test_trace_under_jit_vmap_and_leading_batch_axes():
    case = CASES[0]
    rng = np.random.default_rng(1)
    params = case.params(rng, I, H)
    xs = rng.standard_normal((2, B, T, I)).astype(np.float32)
    run = jax.jit(functools.partial(kernels.lstm, trace=True))
    _, _, many = run(params, xs)
    _, _, mapped = jax.vmap(run, in_axes=(None, 0))(params, xs)
    jax.tree.map(lambda a, b: np.testing.assert_allclose(a, b, atol=1e-6), many, mapped)
    assert many.f.shape == (2, B, T, H)


def test_a_gate_penalty_is_differentiable():
    """Penalising saturated forget gates: the gradient through the trace matches central
    differences of the float64 trace."""
    case = CASES[0]
    rng = np.random.default_rng(2)
    params = case.params(rng, 2, 3, dtype=np.float64)
    xs = rng.standard_normal((2, 4, 2))
    lengths = np.array([4, 2], np.int32)

    def penalty(params, xs):
        _, _, tr = kernels.lstm(params, xs, seq_lengths=lengths, trace=True)
        return jnp.sum(tr.f * (1 - tr.f)) + jnp.sum(tr.c**2)

    grads = jax.grad(penalty, argnums=(0, 1))(params, xs)
    leaves, treedef = jax.tree.flatten((params, xs))

    def numeric(*flat):
        p, x = jax.tree.unflatten(treedef, flat)
        return float(penalty(kernels.LSTMParams(*p), x))

    want = jax.tree.unflatten(treedef, reference.numerical_grad(numeric, leaves))
    jax.tree.map(
        functools.partial(np.testing.assert_allclose, rtol=1e-6, atol=1e-8),
        (tuple(grads[0]), grads[1]),
        (tuple(want[0]), want[1]),
    )


def _walk(jaxpr):
    for eqn in jaxpr.eqns:
        yield eqn
        for sub in jaxprs_in_params(eqn.params):
            yield from _walk(sub)


@pytest.mark.parametrize('case', TRACED, ids=[c.name for c in TRACED])
def test_no_trace_in_the_program_when_tracing_is_off(case):
    """On the scan, trace=False lowers to the same program as before trace mode existed:
    the custom VJP around a scan whose only per-step output is the hidden state.
    trace=True is a different program (no custom VJP, per-step gates). The native
    kernel's: ``tests/kernels/test_native.py``."""
    rng = np.random.default_rng(3)
    params = case.params(rng, I, H)
    xs = rng.standard_normal((B, T, I)).astype(np.float32)
    off = jax.make_jaxpr(lambda p, x: case.run(p, x, backend='xla'))(params, xs)
    default = jax.jit(lambda p, x: case.run(p, x, backend='xla')).lower(params, xs).as_text()
    explicit = jax.jit(lambda p, x: case.run(p, x, trace=False, backend='xla'))
    explicit = explicit.lower(params, xs).as_text()
    assert default == explicit
    names = [e.primitive.name for e in _walk(off.jaxpr)]
    assert 'custom_vjp_call' in names
    scans = [e for e in _walk(off.jaxpr) if e.primitive.name == 'scan']
    assert len(scans) == 1
    per_step = scans[0].outvars[scans[0].params['num_carry'] :]
    assert len(per_step) == 1  # ys only
    on = jax.make_jaxpr(lambda p, x: case.run(p, x, trace=True, backend='xla'))(params, xs)
    assert 'custom_vjp_call' not in [e.primitive.name for e in _walk(on.jaxpr)]


def test_trace_must_be_a_bool():
    case = CASES[0]
    rng = np.random.default_rng(4)
    with pytest.raises(TypeError, match='trace must be a bool'):
        kernels.lstm(case.params(rng, I, H), np.zeros((B, T, I), np.float32), trace='yes')
