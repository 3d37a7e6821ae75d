"""The sequence driver, for every cell, against the float64 NumPy oracle: values and
gradients over a grid of batch, time, sizes, seq_lengths, reverse, layout and dtype."""

from __future__ import annotations

import itertools

import hypothesis
import hypothesis.extra.numpy as hnp
import hypothesis.strategies as st
import jax
import jax.extend
import jax.numpy as jnp
import numpy as np
import pytest
from jax.test_util import check_grads

from jaxrnn.kernels import _backend
from jaxrnn.kernels._backend import XLA, Native
from tests import reference
from tests.cases import CASE_IDS, CASES, as_dict, check_against_oracle, lengths_for, setup

# (batch, time, in_features, hidden)
SIZES = [(3, 7, 5, 4), (1, 1, 2, 3), (4, 3, 1, 1)]
TOL = {np.float64: 1e-10, np.float32: 2e-5, jnp.bfloat16: 6e-2, np.float16: 1e-2}


def _setup(case, size, seed=0, dtype=np.float64):
    return setup(case, size, seed, dtype)


XLA_PATHS = {
    'hoisted': XLA(projection='hoisted'),
    'in_loop': XLA(projection='in_loop'),
    'vjp': XLA(projection='hoisted', backward='vjp'),
}


# The native CPU kernel (jaxrnn/kernels/_native.py) runs every test of this module that
# takes the `xla`, `forward` or `backend` fixture; tests/kernels/test_native.py proves from
# the jaxpr that it is the native call that runs, and covers what is native-only.
PATHS = {**XLA_PATHS, 'native': Native()}


@pytest.fixture(params=list(PATHS))
def xla(request):
    """The scan's code paths, passed as ``backend=``: both placements of the input
    projection (the default picks one by platform and size) and the ``jax.vjp``
    backward instead of the cell's hand-written one; and the native kernel (its thread
    counts: ``test_native.py``). ``test_design_*`` below,
    ``tests/kernels/test_cells.py`` and ``tests/kernels/test_native.py`` prove from the
    jaxpr that each runs the path it names."""
    return PATHS[request.param]


@pytest.fixture(params=['hoisted', 'in_loop', 'native'])
def forward(request):
    """The forward code paths only (the backward choice does not change values)."""
    return PATHS[request.param]


@pytest.fixture(params=['auto', 'native'])
def backend(request):
    """The default backend and the native kernel, for the API-level tests."""
    return request.param


@pytest.mark.parametrize('case', CASES, ids=CASE_IDS)
@pytest.mark.parametrize(
    'size,use_lengths,reverse,time_major',
    list(itertools.product(SIZES, [False, True], [False, True], [False, True])),
)
@pytest.mark.parametrize('dtype', [np.float64, np.float32])
def test_values_match_oracle(case, size, use_lengths, reverse, time_major, dtype, forward):
    rng, params, xs, carry = _setup(case, size, dtype=dtype)
    lengths = lengths_for(rng, size[0], size[1]) if use_lengths else None
    ys = check_against_oracle(
        case, params, xs, carry, lengths, reverse, time_major, TOL[dtype], backend=forward
    )
    assert ys.dtype == dtype  # and the carry's (checked by the helper)


@pytest.mark.parametrize('case', CASES, ids=CASE_IDS)
@pytest.mark.parametrize('dtype', [jnp.bfloat16, np.float16])
@pytest.mark.parametrize('use_lengths,reverse', [(False, False), (True, True)])
def test_half_precision_computation_keeps_float32_carry(case, dtype, use_lengths, reverse, forward):
    size = SIZES[0]
    rng, params, xs, carry = _setup(case, size, dtype=np.float32)
    lengths = lengths_for(rng, size[0], size[1]) if use_lengths else None
    want_carry, want_ys = reference.run(case.ref_cell, as_dict(params), xs, carry, lengths, reverse)
    got_carry, got_ys = case.run(
        params, xs, carry, seq_lengths=lengths, reverse=reverse, dtype=dtype, backend=forward
    )
    assert got_ys.dtype == dtype
    for got in jax.tree.leaves(got_carry):
        assert got.dtype == np.float32
    tol = TOL[dtype]
    np.testing.assert_allclose(np.asarray(got_ys, np.float64), want_ys, atol=tol)
    for got, want in zip(jax.tree.leaves(got_carry), jax.tree.leaves(want_carry), strict=True):
        np.testing.assert_allclose(got, want, atol=tol)
    # Half-precision parameters and inputs compute in that dtype with a float32 carry.
    half = jax.tree.map(lambda a: jnp.asarray(a, dtype), (params, xs))
    carry2, ys2 = case.run(*half, backend=forward)
    assert ys2.dtype == dtype
    assert all(c.dtype == np.float32 for c in jax.tree.leaves(carry2))


def _loss_weights(rng, case, size):
    batch, steps, _, hidden = size
    wy = rng.standard_normal((batch, steps, hidden))
    wc = case.carry(rng, (batch,), hidden, np.float64)
    return wy, wc


def _scalar(ys, carry, wy, wc):
    total = (ys * wy).sum()
    for c, w in zip(jax.tree.leaves(carry), jax.tree.leaves(wc), strict=True):
        total = total + (c * w).sum()
    return total


@pytest.mark.parametrize('case', CASES, ids=CASE_IDS)
@pytest.mark.parametrize(
    'size,use_lengths,reverse',
    [
        (SIZES[0], False, False),
        (SIZES[0], True, False),
        (SIZES[0], False, True),
        (SIZES[0], True, True),
        (SIZES[2], True, True),
    ],
)
def test_gradients_match_oracle(case, size, use_lengths, reverse, xla):
    rng, params, xs, carry = _setup(case, size, seed=1)
    lengths = lengths_for(rng, size[0], size[1]) if use_lengths else None
    wy, wc = _loss_weights(rng, case, size)
    names = params._fields

    def ours(params, xs, carry):
        carry, ys = case.run(params, xs, carry, seq_lengths=lengths, reverse=reverse, backend=xla)
        return _scalar(ys, carry, wy, wc)

    got = jax.grad(ours, argnums=(0, 1, 2))(params, xs, carry)

    carry_parts = list(jax.tree.leaves(carry))

    def oracle(*arrays):
        p = dict(zip(names, arrays[: len(names)], strict=True))
        x = arrays[len(names)]
        c = arrays[len(names) + 1 :]
        c = tuple(c) if case.lstm_carry else c[0]
        c_out, ys = reference.run(case.ref_cell, p, x, c, lengths, reverse)
        return float(_scalar(ys, c_out, wy, wc))

    want = reference.numerical_grad(oracle, [*params, xs, *carry_parts])
    got_flat = [*got[0], got[1], *jax.tree.leaves(got[2])]
    labels = [*names, 'xs', *(['c', 'h'] if case.lstm_carry else ['h'])]
    for label, g, w in zip(labels, got_flat, want, strict=True):
        np.testing.assert_allclose(g, w, atol=1e-6, rtol=1e-6, err_msg=label)


@pytest.mark.parametrize('case', CASES, ids=CASE_IDS)
@pytest.mark.parametrize('use_lengths,reverse', [(False, False), (True, True)])
@pytest.mark.parametrize('path', list(XLA_PATHS))
def test_check_grads_first_and_second_order(case, use_lengths, reverse, path):
    """On the scan's paths; the native kernel's backward is a compiled call with no
    derivative of its own (first order: ``test_native.py``)."""
    xla = XLA_PATHS[path]
    size = (2, 4, 3, 2)
    rng, params, xs, carry = _setup(case, size, seed=2)
    lengths = np.array([4, 2], np.int32) if use_lengths else None

    def f(params, xs, carry):
        return case.run(params, xs, carry, seq_lengths=lengths, reverse=reverse, backend=xla)

    # Order 2 in reverse mode differentiates the custom backward itself. Forward mode
    # is not available: jax.custom_vjp functions support reverse mode only.
    check_grads(f, (params, xs, carry), order=2, modes=['rev'], atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize('case', CASES, ids=CASE_IDS)
def test_single_step_loop_matches_sequence(case):
    size = SIZES[0]
    _, params, xs, carry = _setup(case, size, dtype=np.float32)
    seq_carry, seq_ys = case.run(params, xs, carry)
    step_carry, ys = carry, []
    for t in range(size[1]):
        step_carry, y = case.step(params, step_carry, xs[:, t])
        ys.append(y)
    np.testing.assert_allclose(np.stack(ys, 1), seq_ys, atol=1e-6, rtol=1e-6)
    for a, b in zip(jax.tree.leaves(step_carry), jax.tree.leaves(seq_carry), strict=True):
        np.testing.assert_allclose(a, b, atol=1e-6, rtol=1e-6)


@pytest.mark.parametrize('case', CASES, ids=CASE_IDS)
def test_many_batch_axes_unbatched_and_unroll(case, backend):
    rng = np.random.default_rng(3)
    params = case.params(rng, 3, 4)
    xs = rng.standard_normal((2, 3, 5, 3)).astype(np.float32)  # [b1, b2, t, i]
    lengths = rng.integers(0, 6, size=(2, 3)).astype(np.int32)
    carry, ys = case.run(params, xs, seq_lengths=lengths, unroll=3, backend=backend)
    assert ys.shape == (2, 3, 5, 4)
    flat_carry, flat_ys = case.run(
        params, xs.reshape(6, 5, 3), seq_lengths=lengths.reshape(6), backend='xla'
    )
    np.testing.assert_allclose(ys.reshape(6, 5, 4), flat_ys, atol=1e-6)
    for a, b in zip(jax.tree.leaves(carry), jax.tree.leaves(flat_carry), strict=True):
        assert a.shape == (2, 3, 4)
        np.testing.assert_allclose(a.reshape(6, 4), b, atol=1e-6)
    # Unbatched: [t, i].
    _, ys1 = case.run(params, xs[0, 0], backend=backend)
    _, ys_b = case.run(params, xs[0, :1], backend='xla')
    assert ys1.shape == (5, 4)
    np.testing.assert_allclose(ys1, ys_b[0], atol=1e-6)


@pytest.mark.parametrize('case', CASES, ids=CASE_IDS)
def test_jit_vmap_grad(case, backend):
    rng = np.random.default_rng(4)
    params = case.params(rng, 3, 4)
    xs = rng.standard_normal((4, 6, 3)).astype(np.float32)
    lengths = np.array([6, 1, 0, 3], np.int32)

    def loss(params, xs, lengths):
        _, ys = case.run(params, xs, seq_lengths=lengths, reverse=True, backend=backend)
        return (ys**2).sum()

    eager = loss(params, xs, lengths)
    jitted = jax.jit(loss)(params, xs, lengths)  # traced seq_lengths
    np.testing.assert_allclose(jitted, eager, rtol=1e-6)
    # vmap over an extra leading axis equals the flat batch.
    per = jax.vmap(
        lambda x, n: case.run(params, x[None], seq_lengths=n[None], backend=backend)[1][0]
    )(xs, lengths)
    _, flat = case.run(params, xs, seq_lengths=lengths, backend='xla')
    np.testing.assert_allclose(per, flat, atol=1e-6)
    grads = jax.jit(jax.grad(loss))(params, xs, lengths)
    for g in grads:
        assert np.all(np.isfinite(g)) and g.dtype == np.float32

    def loss_xla(params):
        _, ys = case.run(params, xs, seq_lengths=lengths, reverse=True, backend='xla')
        return (ys**2).sum()

    for g, w in zip(grads, jax.grad(loss_xla)(params), strict=True):
        np.testing.assert_allclose(g, w, rtol=2e-5, atol=2e-5)


@pytest.mark.parametrize('case', CASES, ids=CASE_IDS)
def test_second_call_same_shapes_does_not_retrace(case):
    rng = np.random.default_rng(5)
    params = case.params(rng, 3, 4)
    traces = []

    @jax.jit
    def f(params, xs, lengths):
        traces.append(1)
        return case.run(params, xs, seq_lengths=lengths)[1]

    for seed in range(3):
        xs = np.random.default_rng(seed).standard_normal((2, 5, 3)).astype(np.float32)
        f(params, xs, np.array([5, seed], np.int32)).block_until_ready()
    assert len(traces) == 1


@pytest.mark.parametrize('case', CASES, ids=CASE_IDS)
@hypothesis.settings(max_examples=15, deadline=None)
@hypothesis.given(data=st.data())
def test_padding_values_never_matter(case, data):
    batch, steps, in_features, hidden = 3, 6, 2, 3
    seed = data.draw(st.integers(0, 2**16), label='seed')
    rng = np.random.default_rng(seed)
    params = case.params(rng, in_features, hidden)
    xs = rng.standard_normal((batch, steps, in_features)).astype(np.float32)
    lengths = np.asarray(
        data.draw(hnp.arrays(np.int32, batch, elements=st.integers(0, steps)), label='lengths')
    )
    reverse = data.draw(st.booleans(), label='reverse')
    noise = data.draw(
        hnp.arrays(
            np.float32, xs.shape, elements=st.floats(width=32)
        ),  # any float32, inf and nan included
        label='padding values',
    )
    padded = np.arange(steps)[None, :] >= lengths[:, None]
    xs2 = np.where(padded[..., None], noise, xs)
    c1, y1 = case.run(params, xs, seq_lengths=lengths, reverse=reverse)
    c2, y2 = case.run(params, xs2, seq_lengths=lengths, reverse=reverse)
    np.testing.assert_array_equal(y1, y2)
    for a, b in zip(jax.tree.leaves(c1), jax.tree.leaves(c2), strict=True):
        np.testing.assert_array_equal(a, b)
    assert np.all(np.asarray(y1)[padded] == 0)

    # Gradients w.r.t. the parameters do not see the padding either.
    def loss(p, x):
        return (case.run(p, x, seq_lengths=lengths, reverse=reverse)[1] ** 2).sum()

    g1, g2 = jax.grad(loss)(params, xs), jax.grad(loss)(params, xs2)
    for a, b in zip(g1, g2, strict=True):
        np.testing.assert_array_equal(a, b)


def _dots(jaxpr, inside_loop=False, found=None):
    """(output shape, inside a scan?) of every dot_general in a jaxpr, recursively."""
    found = [] if found is None else found
    for eqn in jaxpr.eqns:
        if eqn.primitive.name == 'dot_general':
            found.append((tuple(eqn.outvars[0].aval.shape), inside_loop))
        for sub in jax.extend.core.jaxprs_in_params(eqn.params):
            _dots(sub, inside_loop or eqn.primitive.name in ('scan', 'while'), found)
    return found


BATCH, STEPS, IN, HIDDEN = 3, 7, 5, 4


def _forward_dots(case, projection):
    """``(loss, params, xs, forward dots)`` with the projection forced to a placement."""
    rng = np.random.default_rng(0)
    params = case.params(rng, IN, HIDDEN)
    xs = rng.standard_normal((BATCH, STEPS, IN)).astype(np.float32)

    def loss(params, xs):
        return case.run(params, xs, backend=XLA(projection=projection))[1].sum()

    return loss, params, xs, _dots(jax.make_jaxpr(loss)(params, xs).jaxpr)


@pytest.mark.parametrize('case', CASES, ids=CASE_IDS)
def test_design_hoisted_projection_and_matmul_weight_gradients(case):
    """Forward: one [t, b, g] input projection outside the loop. Backward: inside the
    loop only [b, h] state-gradient matmuls; every weight gradient is one matmul outside."""
    loss, params, xs, fwd = _forward_dots(case, 'hoisted')
    g = case.gates * HIDDEN
    outside_fwd = [sorted(s) for s, loop in fwd if not loop]
    assert outside_fwd == [sorted((STEPS, BATCH, g))]  # one projection, any axis order
    _check_backward(loss, params, xs, fwd, g)


def _check_backward(loss, params, xs, fwd, g):
    steps, batch, in_features, hidden = STEPS, BATCH, IN, HIDDEN
    bwd = _dots(jax.make_jaxpr(jax.grad(loss, argnums=(0, 1)))(params, xs).jaxpr)
    outside = {s for s, loop in bwd if not loop}
    assert (in_features, g) in outside or (g, in_features) in outside  # dW_ih
    assert any(sorted(s) == sorted((steps, batch, in_features)) for s in outside)  # dx
    w_hh_grads = [
        s for s, loop in bwd if not loop and len(s) == 2 and sorted(s) != sorted((in_features, g))
    ]
    assert sum(np.prod(s) for s in w_hh_grads) == hidden * g  # dW_hh, possibly in blocks
    inside_bwd = [s for s, loop in bwd if loop][len([1 for _, loop in fwd if loop]) :]
    assert inside_bwd and all(s == (batch, hidden) for s in inside_bwd)


@pytest.mark.parametrize('case', CASES, ids=CASE_IDS)
def test_design_in_loop_projection_and_matmul_weight_gradients(case):
    """With the projection in the loop (the CPU rule for small hidden sizes): no matmul
    outside the forward loop, [b, g] input matmuls inside it, and the backward pass has
    the same structure as the hoisted one (weight gradients are matmuls after the loop)."""
    loss, params, xs, fwd = _forward_dots(case, 'in_loop')
    g = case.gates * HIDDEN
    assert not [s for s, loop in fwd if not loop]
    assert (BATCH, g) in [s for s, loop in fwd if loop]
    _check_backward(loss, params, xs, fwd, g)


def test_projection_rule():
    """The measured CPU rule (benchmarks/results/cpu-projection.json): in the loop up to
    hidden 128 below batch 4 and up to 512 from batch 4; hoisted otherwise and off CPU."""
    assert _backend.projection_mode(128, 'cpu', 1) == 'in_loop'
    assert _backend.projection_mode(256, 'cpu', 1) == 'hoisted'
    assert _backend.projection_mode(256, 'cpu', 3) == 'hoisted'
    assert _backend.projection_mode(256, 'cpu', 4) == 'in_loop'
    assert _backend.projection_mode(512, 'cpu', 16) == 'in_loop'
    assert _backend.projection_mode(1024, 'cpu', 64) == 'hoisted'
    assert _backend.projection_mode(128, 'gpu', 64) == 'hoisted'
    assert _backend.projection_mode(128, 'tpu', 64) == 'hoisted'


@pytest.mark.parametrize('batch,placement', [(1, 'hoisted'), (4, 'in_loop')])
def test_auto_places_the_projection_by_batch(batch, placement):
    """The scan's 'auto' projection at hidden 256 on the CPU: hoisted at batch 1 (one
    [t, b, 4h] matmul before the loop), in the loop at batch 4 (no matmul outside it), as
    the rule says."""
    hidden, steps = 256, 3
    rng = np.random.default_rng(0)
    params = CASES[0].params(rng, IN, hidden)
    xs = rng.standard_normal((batch, steps, IN)).astype(np.float32)
    jaxpr = jax.make_jaxpr(lambda p, x: CASES[0].run(p, x, backend='xla')[1])(params, xs).jaxpr
    outside = [s for s, loop in _dots(jaxpr) if not loop]
    if placement == 'hoisted':
        assert [sorted(s) for s in outside] == [sorted((steps, batch, 4 * hidden))]
    else:
        assert outside == []
