"""The Cell protocol: metadata read from one place, and every hand-written backward
step checked against ``jax.vjp`` of the same ``step`` over a grid of sizes, dtypes,
masks and directions."""

from __future__ import annotations

import itertools

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxrnn import kernels
from jaxrnn.kernels import _backend, _scan
from jaxrnn.kernels._types import has_backward, num_gates, param_shapes
from tests.cases import CASE_IDS, CASES, lengths_for, setup

TOL = {np.float64: 1e-12, np.float32: 2e-5}


def _cfg(dtype):
    return _scan.Config(False, 1, jnp.dtype(dtype), jnp.promote_types(dtype, jnp.float32), None)


@pytest.mark.parametrize('case', CASES, ids=CASE_IDS)
def test_metadata_is_declared_once(case):
    cell = case.cell
    assert cell.carry[-1] == 'h'
    assert set(cell.carry) - {'h'} <= set(cell.saved)  # carry sequences come from saved
    assert set(cell.trace_type._fields) - {'h'} <= set(cell.saved)
    shapes = param_shapes(cell, 5, 3)
    assert list(shapes) == list(cell.params_type._fields)
    g = num_gates(cell) * 3
    assert shapes['input_kernel'] == (5, g) and shapes['recurrent_kernel'] == (3, g)
    assert kernels.CELL_TYPES[cell.name] is type(cell)
    assert has_backward(cell)


@pytest.mark.parametrize('case', CASES, ids=CASE_IDS)
@pytest.mark.parametrize('batch,hidden', [(1, 1), (3, 4), (5, 7)])
@pytest.mark.parametrize('dtype', [np.float64, np.float32])
def test_step_bwd_matches_vjp_of_step(case, batch, hidden, dtype):
    """One step: the hand-written ``step_bwd`` returns what ``jax.vjp`` of ``step``
    returns for the pre-activations and the previous state."""
    cell, cfg = case.cell, _cfg(dtype)
    rng = np.random.default_rng(batch * 10 + hidden)
    g = num_gates(cell) * hidden
    params = case.params(rng, 2, hidden, dtype, scale=0.8)
    rec = _scan.recurrent(params)
    w, extras = _scan.prepare(rec, cfg)
    xp = jnp.asarray(rng.standard_normal((batch, g)), cfg.acc)
    state = tuple(jnp.asarray(rng.standard_normal((batch, hidden)), cfg.acc) for _ in cell.carry)
    dstate = tuple(jnp.asarray(rng.standard_normal(s.shape), cfg.acc) for s in state)
    dy = jnp.asarray(rng.standard_normal((batch, hidden)), cfg.acc)

    step = _scan._step_fn(cell, cfg)
    (new_state, y), vjp = jax.vjp(lambda x, s: step(x, s, rec), xp, state)
    want_dxp, want_dprev = vjp((dstate, dy))

    out = cell.step(
        _scan.split_gates(cell, xp), _scan.recurrent_matmul(w, num_gates(cell), cfg), state, extras
    )
    dtotal = dstate[:-1] + (dstate[-1] + dy,)
    hwt = _scan.recurrent_matmul_t(w, num_gates(cell), cfg)
    dx, dprev = cell.step_bwd(out.saved, state, out.y, dtotal, hwt)
    tol = TOL[dtype]
    np.testing.assert_allclose(jnp.concatenate(dx, axis=-1), want_dxp, rtol=tol, atol=tol)
    for got, want in zip(dprev, want_dprev, strict=True):
        np.testing.assert_allclose(got, want, rtol=tol, atol=tol)


@pytest.mark.parametrize('case', CASES, ids=CASE_IDS)
@pytest.mark.parametrize(
    'size,use_lengths,reverse,time_major',
    list(
        itertools.product([(3, 6, 4, 5), (1, 1, 2, 1)], [False, True], [False, True], [False, True])
    ),
)
@pytest.mark.parametrize('projection', ['hoisted', 'in_loop'])
def test_hand_written_backward_matches_vjp_backward(
    case, size, use_lengths, reverse, time_major, projection
):
    """The whole backward pass (every parameter, inputs, initial carry), hand-written
    against ``jax.vjp`` of the step, in float64."""
    rng, params, xs, carry = setup(case, size, seed=3)
    lengths = lengths_for(rng, size[0], size[1]) if use_lengths else None
    xs = np.swapaxes(xs, 0, 1) if time_major else xs
    wy = rng.standard_normal(xs.shape[:-1] + (size[3],))

    def loss(params, xs, carry, backend):
        final, ys = case.run(
            params,
            xs,
            carry,
            seq_lengths=lengths,
            reverse=reverse,
            time_major=time_major,
            backend=backend,
        )
        return (ys * wy).sum() + sum((c**2).sum() for c in jax.tree.leaves(final))

    grad = jax.grad(loss, argnums=(0, 1, 2))
    got = grad(params, xs, carry, _backend.XLA(projection=projection))
    want = grad(params, xs, carry, _backend.XLA(projection='hoisted', backward='vjp'))
    jax.tree.map(lambda a, b: np.testing.assert_allclose(a, b, rtol=1e-11, atol=1e-11), got, want)


def test_each_backward_is_the_one_asked_for():
    """The two backward paths are different programs: the ``jax.vjp`` one recomputes the
    recurrent matmul inside the backward loop, the hand-written one does not."""
    case = CASES[0]
    _, params, xs, _ = setup(case, (2, 3, 2, 4), dtype=np.float32)

    def loss(params, backward):
        backend = _backend.XLA(projection='hoisted', backward=backward)
        return case.run(params, xs, backend=backend)[1].sum()

    from tests.kernels.test_scan import _dots

    def loop_dots(backward):
        jaxpr = jax.make_jaxpr(jax.grad(lambda p: loss(p, backward)))(params).jaxpr
        return [s for s, loop in _dots(jaxpr) if loop]

    cell_dots, vjp_dots = loop_dots('cell'), loop_dots('vjp')
    # forward loop: h @ W_hh [b, 4h]; hand-written backward loop: dxp @ W_hh^T [b, h];
    # vjp backward loop: the recomputed h @ W_hh, its transpose, and dW_hh per step.
    assert cell_dots.count((2, 16)) == 1 and cell_dots.count((2, 4)) == 1
    assert vjp_dots.count((2, 16)) == 2 and (16, 4) in vjp_dots  # dW_hh^T, per step
