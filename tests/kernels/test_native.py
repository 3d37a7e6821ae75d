"""The native CPU kernel (``backend='native'``, :mod:`jaxrnn.kernels._native`).

Every value and gradient test of ``test_scan.py`` and ``test_checkpoint.py`` also runs on
this backend against the float64 oracle (their ``xla``/``forward``/``backend`` fixtures).
Here: that it is the native call that runs; that its forward writes exactly the values
the cells' own ``step`` computes and its backward exactly what their ``step_bwd``
computes (the scan's loops as the reference, over a grid of sizes whose work items split
unevenly); that the thread count changes nothing but speed; and its errors and fallback.
"""

from __future__ import annotations

import functools
import itertools
import os
import subprocess
import sys
import textwrap

import jax
import jax.extend
import jax.numpy as jnp
import numpy as np
import pytest
from jax.test_util import check_grads

from jaxrnn import kernels
from jaxrnn.kernels import _native, _scan
from jaxrnn.kernels._backend import Native
from tests.cases import CASE_IDS, CASES, lengths_for, setup

pytestmark = pytest.mark.skipif(
    not _native.available(), reason=f'the native library is not built: {_native.load_error()}'
)

# (batch, time, in, hidden): one item; uneven row chunks and unit blocks (batch 37 over
# chunks of 16, hidden 70 over blocks of 16 or 21 units); batch 1 (the wide items)
GRID = [(3, 6, 4, 5), (37, 9, 6, 70), (1, 12, 3, 33)]


def _eqns(jaxpr):
    for eqn in jaxpr.eqns:
        yield eqn
        for sub in jax.extend.core.jaxprs_in_params(eqn.params):
            yield from _eqns(sub)


def _calls(jaxpr) -> list[str]:
    """The target of every ``ffi_call`` in a jaxpr, recursively."""
    return [str(e.params['target_name']) for e in _eqns(jaxpr) if e.primitive.name == 'ffi_call']


def _primitives(jaxpr) -> set[str]:
    return {e.primitive.name for e in _eqns(jaxpr)}


@pytest.mark.parametrize('case', CASES, ids=CASE_IDS)
def test_design_one_call_forward_one_call_backward(case):
    """Forward: one native call and no loop in XLA; the gradient adds one backward call,
    and the weight gradients stay matmuls outside it."""
    _, params, xs, _ = setup(case, GRID[0], dtype=np.float32)

    def loss(params, xs):
        return case.run(params, xs, backend='native')[1].sum()

    forward = jax.make_jaxpr(loss)(params, xs).jaxpr
    assert _calls(forward) == ['jaxrnn_forward'] and 'scan' not in _primitives(forward)
    backward = jax.make_jaxpr(jax.grad(loss))(params, xs).jaxpr
    assert sorted(_calls(backward)) == ['jaxrnn_backward', 'jaxrnn_forward']
    assert 'scan' not in _primitives(backward) and 'dot_general' in _primitives(backward)


def test_auto_runs_it_up_to_hidden_256_and_xla_never():
    case = CASES[0]
    for hidden, backend, calls in [
        (256, 'auto', ['jaxrnn_forward']),
        (257, 'auto', []),
        (16, 'xla', []),
    ]:
        _, params, xs, _ = setup(case, (2, 3, 4, hidden), dtype=np.float32)
        jaxpr = jax.make_jaxpr(lambda p, x, b=backend: case.run(p, x, backend=b)[1])(params, xs)
        assert _calls(jaxpr.jaxpr) == calls, (hidden, backend)


def _saved_shapes(jaxpr) -> list[tuple]:
    """The shape of the saved-values output of every native forward call."""
    return [
        tuple(e.outvars[3].aval.shape)
        for e in _eqns(jaxpr)
        if e.primitive.name == 'ffi_call' and e.params['target_name'] == 'jaxrnn_forward'
    ]


@pytest.mark.parametrize('case', CASES, ids=CASE_IDS)
@pytest.mark.parametrize('reverse,use_lengths', [(False, False), (True, True)])
def test_trace_is_the_fast_path_bit_for_bit_and_differentiable(case, reverse, use_lengths):
    """Trace mode runs the same native forward (keeping its saved values, which are the
    gates), so its outputs are the fast path's bit for bit; the gates equal the scan's
    trace; and gradients through the gates (the native backward adds their cotangents)
    equal the scan trace's, which JAX differentiates step by step."""
    size = GRID[1]
    rng, params, xs, carry = setup(case, size, seed=6, dtype=np.float32)
    lengths = lengths_for(rng, size[0], size[1]) if use_lengths else None
    kw = dict(seq_lengths=lengths, reverse=reverse)
    fast = case.run(params, xs, carry, backend='native', **kw)
    final, ys, trace = case.run(params, xs, carry, backend='native', trace=True, **kw)
    np.testing.assert_array_equal(ys, fast[1])
    jax.tree.map(np.testing.assert_array_equal, final, fast[0])

    # against the scan's trace, values and gradients through the gates, in float64
    params, xs, carry = jax.tree.map(lambda a: np.asarray(a, np.float64), (params, xs, carry))
    trace = case.run(params, xs, carry, backend='native', trace=True, **kw)[2]
    scan = case.run(params, xs, carry, backend='xla', trace=True, **kw)[2]
    jax.tree.map(lambda a, b: np.testing.assert_allclose(a, b, atol=1e-12), trace, scan)
    weights = [rng.standard_normal(f.shape) for f in trace]

    def loss(params, xs, backend):
        _, ys, trace = case.run(params, xs, carry, backend=backend, trace=True, **kw)
        return sum((f * w).sum() for f, w in zip(trace, weights, strict=True)) + (ys**2).sum()

    got = jax.grad(loss, argnums=(0, 1))(params, xs, 'native')
    want = jax.grad(loss, argnums=(0, 1))(params, xs, 'xla')
    jax.tree.map(lambda a, b: np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-9), got, want)


def test_saved_values_are_written_only_when_needed():
    """The forward's saved values are an empty output unless a gradient or a trace needs
    them: inference writes nothing but the outputs."""
    case = CASES[0]
    _, params, xs, _ = setup(case, GRID[0], dtype=np.float32)
    b, t, _, h = GRID[0]
    run = functools.partial(case.run, backend='native')
    assert _saved_shapes(jax.make_jaxpr(lambda p: run(p, xs)[1])(params).jaxpr) == [(0,)]
    traced = jax.make_jaxpr(lambda p: run(p, xs, trace=True)[1])(params).jaxpr
    assert _saved_shapes(traced) == [(5, t, b, h)] and 'scan' not in _primitives(traced)
    grad = jax.make_jaxpr(jax.grad(lambda p: run(p, xs)[1].sum()))(params).jaxpr
    assert _saved_shapes(grad) == [(5, t, b, h)]


def _forward_pair(case, size, use_lengths, reverse, seed=0):
    """The native forward and the scan's (``cell.step`` in ``lax.scan``), float64, with
    the saved values."""
    rng, params, xs, carry = setup(case, size, seed)
    lengths = jnp.asarray(lengths_for(rng, size[0], size[1])) if use_lengths else None
    cfg = _scan.Config(reverse, 1, jnp.float64, jnp.float64, None)
    xp = _scan.project(xs, params.input_kernel, params.bias, None, False, *cfg[2:5])
    state0 = tuple(jnp.asarray(c) for c in jax.tree.leaves(carry))
    rec = _scan.recurrent(params)
    want = _scan._forward(case.cell, cfg, rec, xp, state0, lengths, True)
    got = _native.forward(case.cell, cfg._replace(backend='native'), rec, xp, state0, lengths, True)
    return cfg, rec, state0, lengths, got, want


GRID_ARGS = list(itertools.product(GRID, [False, True], [False, True]))


@pytest.mark.parametrize('case', CASES, ids=CASE_IDS)
@pytest.mark.parametrize('size,use_lengths,reverse', GRID_ARGS)
def test_forward_is_the_cells_step(case, size, use_lengths, reverse):
    """Outputs, final state and every saved value equal the scan's, which runs the
    cell's ``step`` (saved values at padded steps are never read)."""
    _, _, _, lengths, got, want = _forward_pair(case, size, use_lengths, reverse)
    assert jax.tree.structure(got) == jax.tree.structure(want)
    valid = np.ones(size[1::-1], bool)
    if lengths is not None:
        valid = np.arange(size[1])[:, None] < np.asarray(lengths)[None, :]
    jax.tree.map(lambda g, w: np.testing.assert_allclose(g, w, atol=1e-12), got[:2], want[:2])
    for g, w in zip(got[2], want[2], strict=True):
        assert g.shape == w.shape and g.dtype == w.dtype
        np.testing.assert_allclose(np.asarray(g)[valid], np.asarray(w)[valid], atol=1e-12)


@pytest.mark.parametrize('case', CASES, ids=CASE_IDS)
@pytest.mark.parametrize('size,use_lengths,reverse', GRID_ARGS)
def test_backward_is_the_cells_step_bwd(case, size, use_lengths, reverse):
    """``dxp`` and the initial state's gradients equal the scan's reverse loop of the
    cell's ``step_bwd``, from the same residuals and cotangents."""
    cfg, rec, state0, lengths, (final, ys, saved), _ = _forward_pair(
        case, size, use_lengths, reverse, seed=1
    )
    rng = np.random.default_rng(2)
    cotangents = (
        tuple(jnp.asarray(rng.standard_normal(s.shape)) for s in final),
        jnp.asarray(rng.standard_normal(ys.shape)),
    )
    prev = _scan._previous_states(case.cell, cfg, ys, saved, state0, lengths)
    args = (rec, ys, saved, prev, lengths, cotangents)
    want = _scan._reverse_cell(case.cell, cfg, *args)
    got = _scan._reverse_cell(case.cell, cfg._replace(backend='native'), *args)
    jax.tree.map(lambda g, w: np.testing.assert_allclose(g, w, atol=1e-12), got, want)


@pytest.mark.parametrize('case', CASES, ids=CASE_IDS)
def test_thread_count_changes_nothing(case):
    """Each work item runs the same operations whichever thread takes it: 1, 2, 3 and 8
    threads (more than the items) give the same bits, forward and gradients."""
    size = GRID[1]
    rng, params, xs, carry = setup(case, size, seed=3, dtype=np.float32)
    lengths = lengths_for(rng, size[0], size[1])

    def value_and_grads(threads):
        def loss(params, xs):
            final, ys = case.run(
                params, xs, carry, seq_lengths=lengths, backend=Native(threads=threads)
            )
            return (ys**2).sum() + sum(c.sum() for c in jax.tree.leaves(final))

        return jax.jit(jax.value_and_grad(loss, argnums=(0, 1)))(params, xs)

    want = value_and_grads(1)
    for threads in (2, 3, 8):
        jax.tree.map(np.testing.assert_array_equal, value_and_grads(threads), want)


@pytest.mark.parametrize('case', CASES, ids=CASE_IDS)
def test_first_order_check_grads(case):
    size = (2, 4, 3, 2)
    rng, params, xs, carry = setup(case, size, seed=2)
    lengths = np.array([4, 2], np.int32)

    def f(params, xs, carry):
        return case.run(params, xs, carry, seq_lengths=lengths, reverse=True, backend='native')

    check_grads(f, (params, xs, carry), order=1, modes=['rev'], atol=1e-6, rtol=1e-6)


def test_second_order_gradients_are_refused():
    """The backward pass is a compiled call without a derivative; JAX says so rather
    than returning a wrong second derivative."""
    case = CASES[0]
    _, params, xs, carry = setup(case, GRID[0])

    def grad_norm(xs):
        g = jax.grad(lambda x: case.run(params, x, backend='native')[1].sum())(xs)
        return (g**2).sum()

    with pytest.raises(Exception, match='ffi_call|differentiat|JVP|jvp'):
        jax.grad(grad_norm)(xs)


@pytest.mark.parametrize('case', CASES[:2], ids=CASE_IDS[:2])
def test_vmap_over_parameters(case):
    """vmap over the weights (as over seeds) runs one call per vmapped entry."""
    rng = np.random.default_rng(4)
    stacked = jax.tree.map(lambda *a: np.stack(a), *[case.params(rng, 3, 6) for _ in range(3)])
    xs = rng.standard_normal((4, 5, 3)).astype(np.float32)
    got = jax.vmap(lambda p: case.run(p, xs, backend='native')[1])(stacked)
    for k in range(3):
        params = jax.tree.map(lambda a, k=k: a[k], stacked)
        np.testing.assert_allclose(got[k], case.run(params, xs, backend='xla')[1], atol=2e-6)


def test_layers_take_the_backend():
    import jaxrnn.linen as jl  # noqa: PLC0415

    xs = jnp.asarray(np.random.default_rng(5).standard_normal((2, 7, 3)), jnp.float32)
    layer = jl.LSTM(8)
    variables = layer.init(jax.random.key(0), xs)
    want = layer.apply(variables, xs)
    got = jl.LSTM(8, backend='native').apply(variables, xs)
    jax.tree.map(lambda g, w: np.testing.assert_allclose(g, w, atol=2e-6), got, want)


def test_empty_sequences_and_batches():
    case = CASES[0]
    _, params, _, _ = setup(case, GRID[0], dtype=np.float32)
    for shape in ((2, 0, 4), (0, 3, 4)):
        xs = np.zeros(shape, np.float32)
        got = case.run(params, xs, backend='native')
        want = case.run(params, xs, backend='xla')
        jax.tree.map(np.testing.assert_array_equal, got, want)


# --- the rules --------------------------------------------------------------------------


def test_tiling_keeps_the_products_on_the_small_matrix_path():
    for batch, hidden, gates in itertools.product((1, 4, 16, 64), (32, 128, 512, 1024), (1, 3, 4)):
        mb, ub = _native.tiling(batch, hidden, gates)
        assert 1 <= mb <= min(batch, 16) and ub == min(
            64 if batch == 1 else 16 * -(-4 // gates), hidden
        )
        assert mb == 1 or mb * gates * ub * hidden <= 786432
        if batch > 1 and ub < hidden:
            assert (gates * ub) % 16 == 0 and 64 <= gates * ub <= 96
        mb, ub = _native.tiling(batch, hidden, gates, backward=True)
        assert ub == min(64, hidden) and (mb == batch or mb & (mb - 1) == 0)
        assert mb == 1 or mb * ub * gates * hidden <= 786432


def test_threads_rule():
    assert _native.threads_for(3, 1, 8, 4) == 3  # asked for: taken as given
    assert _native.threads_for(None, 1, 256, 4) == 1  # 262,144 multiply-adds per step
    assert _native.threads_for(None, 16, 128, 4) == min(_native.cores(), 2)  # 1,048,576
    assert _native.threads_for(None, 16, 512, 4) == min(_native.cores(), 32)  # 16.8 million


# --- errors and the fallback --------------------------------------------------------------


@pytest.mark.parametrize('threads', [0, -1, True, 1.5])
def test_bad_thread_count(threads):
    case = CASES[0]
    _, params, xs, _ = setup(case, GRID[0], dtype=np.float32)
    with pytest.raises(
        ValueError, match=rf'Native threads must be None or an int >= 1, got {threads!r}'
    ):
        case.run(params, xs, backend=Native(threads=threads))


def test_refuses_a_gpu_platform_and_cells_it_does_not_know():
    case = CASES[0]
    _, params, xs, _ = setup(case, GRID[0], dtype=np.float32)
    with pytest.raises(ValueError, match="backend='native' runs on the CPU; .* 'gpu'"):
        case.run(params, xs, backend=Native(platform='gpu'))

    class MyLSTM(kernels.LSTM):
        pass

    with pytest.raises(ValueError, match="built-in cells .* got MyLSTM; use backend='xla'"):
        kernels.run_sequence(MyLSTM(), params, xs, backend='native')


def test_open_library_says_why_not(tmp_path):
    lib, error = _native.open_library([tmp_path / 'missing.so'])
    assert lib is None and 'was not built' in error and 'pip install .' in error
    bogus = tmp_path / 'bogus.so'
    bogus.write_text('not a library')
    lib, error = _native.open_library([bogus])
    assert lib is None and 'did not load' in error


def test_without_the_library_native_warns_once_and_runs_the_scan():
    script = textwrap.dedent(
        """
        import warnings
        import jax.numpy as jnp
        from jaxrnn import kernels
        p = kernels.LSTMParams(jnp.ones((3, 16)), jnp.ones((4, 16)), jnp.ones(16))
        xs = jnp.ones((2, 5, 3))
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter('always')
            a = kernels.lstm(p, xs, backend='native')[1]
            b = kernels.lstm(p, 2 * xs, backend='native')[1]
        print(len(caught), caught[0].message)
        assert (a == kernels.lstm(p, xs, backend='xla')[1]).all()
        """
    )
    env = {**os.environ, _native.DISABLE: '0'}
    out = subprocess.run(
        [sys.executable, '-c', script], env=env, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == (
        "1 backend='native' is not available (JAXRNN_NATIVE=0 is set); running the XLA scan."
    )
