"""Gradient checkpointing (``checkpoint_every``): the gradients equal those without it
on every path and feature; the chunked program, its ``O(t / k)`` residuals and the
absence of any ``[t, b, g]`` array are proven from the jaxpr; the ``'auto'`` rule; the
errors, raised before tracing.

Equality. The checkpointed backward pass runs the same forward step and the same reverse
loop body as the unchunked one, but it sums each weight gradient chunk by chunk (one
matmul per chunk, added to a running sum) where the unchunked one takes one matmul over
all steps: the same terms, added in another order. The two therefore agree to float32
rounding, not bit for bit: the comparison allows :data:`ULPS` units in the last place of
each gradient's largest entry, and every path is also checked against the float64
oracle.
"""

from __future__ import annotations

import math

import jax
import jax.extend
import jax.numpy as jnp
import numpy as np
import pytest
from jax.test_util import check_grads

from jaxrnn import kernels
from jaxrnn.kernels import _api, _scan
from jaxrnn.kernels._backend import XLA, Native, Pallas
from tests import reference
from tests.cases import CASE_IDS, CASES, as_dict, lengths_for, scan_lengths, setup

ULPS = 64
"""Allowed difference from the unchunked gradients, in units in the last place of the
largest entry of each gradient (see the module docstring). Over :data:`GRID`, 77 of the
168 gradient arrays are bit-identical and the largest difference is 24 units."""

PATHS = {
    'hoisted': XLA(projection='hoisted'),
    'in_loop': XLA(projection='in_loop'),
    'vjp': XLA(projection='hoisted', backward='vjp'),
    'native': Native(),
}

# (batch, time, in_features, hidden), seq_lengths, reverse, time_major, checkpoint_every
CONFIGS = [
    ((3, 7, 5, 4), False, False, False, 3),  # 2 chunks of 3 and a last chunk of 1
    ((3, 7, 5, 4), True, False, True, 1),  # one step per chunk
    ((3, 7, 5, 4), False, True, False, 'auto'),  # ceil(sqrt(7)) = 3
    ((3, 7, 5, 4), True, True, False, 2),
    ((3, 7, 5, 4), True, False, False, 7),  # one chunk: only the initial state kept
    ((4, 3, 1, 1), True, True, True, 2),
]
CONFIG_IDS = ['k3', 'k1-tm', 'auto-rev', 'k2-rev', 'k=t', 'small-k2-rev-tm']


@pytest.fixture(params=list(PATHS))
def path(request):
    """Both projection placements, the ``jax.vjp`` backward and the native kernel (one
    call per chunk, forward and backward), as ``backend=``."""
    return PATHS[request.param]


def _close(got, want, ulps=ULPS):
    """Every leaf of ``got`` within ``ulps`` units in the last place of the largest
    entry of the matching leaf of ``want``."""
    for g, w in zip(jax.tree.leaves(got), jax.tree.leaves(want), strict=True):
        assert g.shape == w.shape and g.dtype == w.dtype
        eps = float(jnp.finfo(w.dtype).eps)
        g, w = np.asarray(g, np.float64), np.asarray(w, np.float64)
        scale = float(np.max(np.abs(w), initial=0.0))
        np.testing.assert_allclose(g, w, rtol=0, atol=ulps * eps * max(scale, 1e-30))


def _loss_fn(case, lengths, reverse, time_major, backend, every, dtype=None):
    """A scalar of the outputs and the final carry, with fixed weights (a function of
    ``(params, xs, carry)``; ``xs`` batch-major, transposed here for ``time_major``)."""

    def loss(params, xs, carry):
        x = jnp.swapaxes(xs, 0, 1) if time_major else xs
        final, ys = case.run(
            params,
            x,
            carry,
            seq_lengths=lengths,
            reverse=reverse,
            time_major=time_major,
            backend=backend,
            dtype=dtype,
            checkpoint_every=every,
        )
        ys = jnp.swapaxes(ys, 0, 1) if time_major else ys
        ys = ys.astype(jax.tree.leaves(final)[0].dtype)
        weights = jnp.cos(jnp.arange(ys.size, dtype=ys.dtype)).reshape(ys.shape)
        return (ys * weights).sum() + sum((c**2).sum() for c in jax.tree.leaves(final))

    return loss


def _grads(case, args, lengths, reverse, time_major, backend, every, dtype=None):
    loss = _loss_fn(case, lengths, reverse, time_major, backend, every, dtype)
    return jax.grad(loss, argnums=(0, 1, 2))(*args)


def _path_of(i: int) -> str:
    """The ``i``-th path name, in turn: items given one path each cycle through the three
    paths, so that each is exercised without multiplying a grid by three."""
    return list(PATHS)[i % len(PATHS)]


# Every case with every config, each pair on one path (cycling: each case meets each path
# twice, each config meets each path).
GRID = [
    pytest.param(
        case, config, _path_of(i + j), id=f'{CASE_IDS[i]}-{CONFIG_IDS[j]}-{_path_of(i + j)}'
    )
    for i, case in enumerate(CASES)
    for j, config in enumerate(CONFIGS)
]
# Every case on one path (cycling).
BY_CASE = [
    pytest.param(case, _path_of(i), id=f'{CASE_IDS[i]}-{_path_of(i)}')
    for i, case in enumerate(CASES)
]


@pytest.mark.parametrize('case,config,path_name', GRID)
def test_gradients_equal_without_checkpointing(case, config, path_name):
    size, use_lengths, reverse, time_major, every = config
    path = PATHS[path_name]
    rng, params, xs, carry = setup(case, size, seed=1, dtype=np.float32)
    lengths = lengths_for(rng, size[0], size[1]) if use_lengths else None
    args = (params, xs, carry)
    want = _grads(case, args, lengths, reverse, time_major, path, None)
    got = _grads(case, args, lengths, reverse, time_major, path, every)
    _close(got, want)
    # And the forward values.
    run = dict(seq_lengths=lengths, reverse=reverse, backend=path)
    _close(case.run(*args, checkpoint_every=every, **run), case.run(*args, **run))


@pytest.mark.parametrize('case,path_name', BY_CASE)
def test_gradients_match_oracle(case, path_name):
    path = PATHS[path_name]
    size = (3, 7, 5, 4)
    rng, params, xs, carry = setup(case, size, seed=2)
    lengths = lengths_for(rng, size[0], size[1])
    loss = _loss_fn(case, lengths, True, False, path, 3)
    got = jax.grad(loss, argnums=(0, 1, 2))(params, xs, carry)
    names = params._fields

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
        weights = np.cos(np.arange(ys.size)).reshape(ys.shape)
        return float((ys * weights).sum() + sum((c**2).sum() for c in jax.tree.leaves(final)))

    want = reference.numerical_grad(oracle, [*params, xs, *jax.tree.leaves(carry)])
    labels = [*names, 'xs', *(['c', 'h'] if case.lstm_carry else ['h'])]
    got_flat = [*got[0], got[1], *jax.tree.leaves(got[2])]
    for label, g, w in zip(labels, got_flat, want, strict=True):
        np.testing.assert_allclose(g, w, atol=1e-6, rtol=1e-6, err_msg=label)


@pytest.mark.parametrize('case,path_name', BY_CASE)
def test_bfloat16_computation(case, path_name):
    """bfloat16 matmuls with a float32 carry: the same gradients within bfloat16's
    rounding (a recomputed value one float32 ulp away can round to the neighbouring
    bfloat16), and float32 gradients for float32 parameters."""
    size = (3, 7, 5, 4)
    rng, params, xs, carry = setup(case, size, seed=3, dtype=np.float32)
    lengths = lengths_for(rng, size[0], size[1])
    args = (params, xs, carry)
    path = PATHS[path_name]
    want = _grads(case, args, lengths, True, False, path, None, jnp.bfloat16)
    got = _grads(case, args, lengths, True, False, path, 'auto', jnp.bfloat16)
    for g, w in zip(jax.tree.leaves(got), jax.tree.leaves(want), strict=True):
        assert g.dtype == np.float32
        scale = float(np.max(np.abs(w)))
        np.testing.assert_allclose(g, w, rtol=0, atol=2e-2 * scale)


@pytest.mark.parametrize('path_name', ['in_loop', 'vjp'])
def test_second_order(path_name):
    """Reverse-over-reverse differentiates the checkpointed backward pass itself."""
    case = CASES[0]
    rng, params, xs, carry = setup(case, (2, 5, 3, 2), seed=4)
    lengths = np.array([5, 2], np.int32)

    def f(params, xs, carry):
        return case.run(
            params,
            xs,
            carry,
            seq_lengths=lengths,
            reverse=True,
            backend=PATHS[path_name],
            checkpoint_every=2,
        )

    check_grads(f, (params, xs, carry), order=2, modes=['rev'], atol=1e-5, rtol=1e-5)


def test_many_batch_axes_and_an_empty_sequence():
    case = CASES[1]
    rng = np.random.default_rng(5)
    params = case.params(rng, 3, 4)
    xs = rng.standard_normal((2, 3, 5, 3)).astype(np.float32)  # [b1, b2, t, i]
    lengths = rng.integers(0, 6, size=(2, 3)).astype(np.int32)

    def loss(params, xs, every):
        return (case.run(params, xs, seq_lengths=lengths, checkpoint_every=every)[1] ** 2).sum()

    _close(jax.grad(loss)(params, xs, 2), jax.grad(loss)(params, xs, None))
    # No steps: nothing to checkpoint; the initial carry comes back.
    carry = rng.standard_normal((2, 3, 4)).astype(np.float32)
    final, ys = case.run(params, xs[:, :, :0], carry, checkpoint_every='auto')
    assert ys.shape == (2, 3, 0, 4)
    np.testing.assert_array_equal(final, carry)


# --- the structure: a chunk loop, and only the checkpoints kept ---------------------------


B, T, I, H = 3, 7, 5, 4


@pytest.mark.parametrize('case', CASES, ids=CASE_IDS)
@pytest.mark.parametrize('path', [PATHS[name] for name in ('hoisted', 'in_loop', 'vjp')])
def test_design_the_gradient_runs_the_chunk_loop(case, path):
    """The scan's paths (the native kernel's chunks: ``test_native.py``).

    With ``checkpoint_every=3`` and 7 steps the gradient's program loops over 2 chunks
    of 3 steps (a scan of length 2 around scans of length 3: the forward chunks, and in
    the backward the recomputation and the reverse loop of each chunk) and runs a last
    chunk of 1 step; no loop runs over all 7 steps. Without it, every loop is over the
    7 steps (so this test fails if the option does not reach the kernel)."""
    rng, params, xs, carry = setup(case, (B, T, I, H), dtype=np.float32)

    def lengths_of(every):
        loss = _loss_fn(case, None, False, False, path, every)
        return scan_lengths(jax.make_jaxpr(jax.grad(loss))(params, xs, carry).jaxpr)

    assert set(lengths_of(None)) == {T}
    chunked = lengths_of(3)
    assert T not in chunked
    assert {2, 3, 1} <= set(chunked)
    assert chunked.count(2) == 2  # the forward's and the backward's chunk loops


def _residuals(case, every, projection, steps=40):
    """The shapes of the arrays ``jax.vjp`` keeps for the backward pass of an RNN over
    ``steps`` steps (batch 2, 3 input features, 5 hidden units)."""
    rng = np.random.default_rng(6)
    params = case.params(rng, 3, 5)
    xs = rng.standard_normal((2, steps, 3)).astype(np.float32)
    lengths = np.array([steps, 7], np.int32)

    def f(params, xs):
        return case.run(
            params,
            xs,
            seq_lengths=lengths,
            backend=XLA(projection=projection),
            checkpoint_every=every,
        )

    _, vjp = jax.vjp(f, params, xs)
    return [tuple(a.shape) for a in jax.tree.leaves(vjp) if hasattr(a, 'shape')]


@pytest.mark.parametrize('case', CASES[:3], ids=CASE_IDS[:3])
@pytest.mark.parametrize('projection', ['hoisted', 'in_loop'])
def test_design_residuals_are_the_checkpoints(case, projection):
    """What the forward pass keeps for the backward pass, 40 steps: with
    ``checkpoint_every=5`` one state ``[2, 5]`` per chunk for each carry component (8
    chunks), and of the per-step arrays only the inputs (3 features: ``dW_ih`` reads
    them anyway); nothing ``[40, 2, 5]`` (outputs, gates, cell states) and no
    ``[40, 2, 20]`` pre-activations. Without it, per-step states and gates are kept."""
    steps, hidden, features = 40, 5, 3
    chunked = _residuals(case, 5, projection, steps)
    assert chunked.count((8, 2, hidden)) == len(case.cell.carry)
    per_step = [s for s in chunked if steps in s]
    assert per_step and all(s[-1] == features for s in per_step), per_step
    gates = len(case.cell.gates) * hidden
    assert (steps, 2, hidden) not in chunked and (steps, 2, gates) not in chunked
    unchunked = _residuals(case, None, projection, steps)
    assert unchunked.count((steps, 2, hidden)) >= len(case.cell.saved)


def test_design_residuals_grow_with_the_number_of_chunks():
    """``'auto'``: ``ceil(sqrt(t))``-step chunks, so ``ceil(t / k)`` states are kept
    besides the inputs: 10 for 100 steps, 20 for 400 (4 times the steps, twice the
    states)."""
    case = CASES[0]
    for steps, chunks in ((100, 10), (400, 20)):
        shapes = _residuals(case, 'auto', 'hoisted', steps)
        states = [s for s in shapes if s[1:] == (2, 5)]
        assert states == [(chunks, 2, 5)] * 2, shapes


def _shapes(jaxpr) -> set[tuple[int, ...]]:
    """The shape of every array in a jaxpr and in the jaxprs inside it."""
    found = set()
    for eqn in jaxpr.eqns:
        for var in (*eqn.invars, *eqn.outvars):
            if hasattr(var.aval, 'shape'):
                found.add(tuple(var.aval.shape))
        for sub in jax.extend.core.jaxprs_in_params(eqn.params):
            found |= _shapes(sub)
    return found


@pytest.mark.parametrize('path_name', list(PATHS))
def test_design_no_array_holds_every_steps_gates(path_name):
    """What bounds the memory: an LSTM with 6 units has 24 gate pre-activations per
    step. Without checkpointing, the gradient's program (forward and backward) holds
    arrays of them for all 40 steps (``[40, 2, 24]``: the gates kept, ``dxp``); with
    ``checkpoint_every=5`` no array holds more than one chunk's (5 steps x batch 2):
    the weight gradients are summed chunk by chunk, so nothing gathers ``dxp`` (or the
    chunks' gates) over all steps."""
    case, path = CASES[0], PATHS[path_name]
    rng = np.random.default_rng(9)
    params = case.params(rng, 3, 6)
    xs = rng.standard_normal((2, 40, 3)).astype(np.float32)

    def widest(every):
        def loss(params, xs):
            return (case.run(params, xs, backend=path, checkpoint_every=every)[1] ** 2).sum()

        jaxpr = jax.make_jaxpr(jax.grad(loss, argnums=(0, 1)))(params, xs).jaxpr
        return max(math.prod(s[:-1]) for s in _shapes(jaxpr) if s and s[-1] == 24)

    assert widest(None) == 40 * 2
    assert widest(5) == 5 * 2


def test_auto_rule():
    assert [_scan.checkpoint_chunk(t) for t in (0, 1, 2, 4, 5, 9, 10, 100, 101)] == [
        1,
        1,
        2,
        2,
        3,
        3,
        4,
        10,
        11,
    ]
    for t in range(1, 2000):
        k = _scan.checkpoint_chunk(t)
        assert k == math.ceil(math.sqrt(t)) and math.ceil(t / k) <= k
    assert _api.checkpoint_steps('auto', 7) == 3
    assert _api.checkpoint_steps(5, 7) == 5
    assert _api.checkpoint_steps(np.int64(5), 7) == 5
    assert _api.checkpoint_steps(None, 7) is None


def test_the_option_is_part_of_the_cache_key():
    """Each ``checkpoint_every`` compiles its own program (it is a field of the static
    Config), and a second call with the same one reuses it."""
    case = CASES[0]
    _, params, xs, carry = setup(case, (B, T, I, H), dtype=np.float32)
    _scan.sequence.clear_cache()
    for every in (None, 2, 3, 'auto', 2, None):
        case.run(params, xs, carry, checkpoint_every=every)
    assert _scan.sequence._cache_size() == 3  # None, 2, and 3 ('auto' is 3 here)


# --- backends ----------------------------------------------------------------------------


@pytest.mark.parametrize('case', [CASES[0], CASES[1]], ids=CASE_IDS[:2])
def test_pallas_runs_one_kernel_per_chunk(case):
    """The Pallas forward composes: each chunk is one launch of the persistent kernel
    over its steps, from the chunk's checkpoint, in the forward pass and again in the
    backward pass (to recompute the chunk's residuals)."""
    size = (3, 6, 4, 5)
    rng, params, xs, carry = setup(case, size, seed=7, dtype=np.float32)
    lengths = lengths_for(rng, size[0], size[1])
    args = (params, xs, carry)
    want = _grads(case, args, lengths, True, False, Pallas(), None)
    _close(_grads(case, args, lengths, True, False, Pallas(), 4), want)  # chunks 4 and 2
    # 6 steps in chunks of 2: a loop over 3 chunks launches the kernel, forward and
    # backward, and no kernel runs outside such a loop.
    loss = _loss_fn(case, lengths, True, False, Pallas(), 2)
    _close(jax.grad(loss, argnums=(0, 1, 2))(*args), want)
    launches = _pallas_calls(jax.make_jaxpr(jax.grad(loss))(*args).jaxpr)
    assert launches == [3, 3], launches


def _pallas_calls(jaxpr, loop=None):
    """For each pallas_call in a jaxpr (recursively), the length of the innermost scan
    around it (``None`` outside any)."""
    found = []
    for eqn in jaxpr.eqns:
        if eqn.primitive.name == 'pallas_call':
            found.append(loop)
            continue
        inner = eqn.params['length'] if eqn.primitive.name == 'scan' else loop
        for sub in jax.extend.core.jaxprs_in_params(eqn.params):
            found += _pallas_calls(sub, inner)
    return found


def test_cudnn_raises(emulated_cudnn):
    params, xs = _lstm_args()
    with pytest.raises(
        ValueError, match=r"checkpoint_every=4 is not available with backend='cudnn'"
    ):
        kernels.lstm(params, xs, backend=emulated_cudnn, checkpoint_every=4)
    kernels.lstm(params, xs, backend=emulated_cudnn)  # and runs without it


# --- errors -------------------------------------------------------------------------------


def _lstm_args():
    rng = np.random.default_rng(8)
    return CASES[0].params(rng, I, H), rng.standard_normal((B, T, I)).astype(np.float32)


@pytest.mark.parametrize(
    'value,error,pattern',
    [
        (0, ValueError, r"checkpoint_every must be None, a positive int or 'auto', got 0\."),
        (-3, ValueError, r'got -3\.'),
        ('sqrt', ValueError, r"got 'sqrt'\."),
        (True, TypeError, r'got True \(bool\)'),
        (2.0, TypeError, r'got 2\.0 \(float\)'),
        ((2,), TypeError, r'got \(2,\) \(tuple\)'),
    ],
)
def test_bad_values(value, error, pattern):
    params, xs = _lstm_args()
    with pytest.raises(error, match=pattern):
        kernels.lstm(params, xs, checkpoint_every=value)


def test_trace_raises_naming_both():
    params, xs = _lstm_args()
    with pytest.raises(ValueError, match=r"checkpoint_every='auto' cannot be combined with trace"):
        kernels.lstm(params, xs, trace=True, checkpoint_every='auto')


def test_errors_come_before_tracing(monkeypatch):
    """Nothing is traced for a bad value: the driver is never called."""
    params, xs = _lstm_args()

    def fail(*args, **kwargs):
        raise AssertionError('traced')

    monkeypatch.setattr(_scan, 'sequence', fail)
    for value in (0, True, 'x'):
        with pytest.raises((ValueError, TypeError), match='checkpoint_every'):
            kernels.lstm(params, xs, checkpoint_every=value)
    with pytest.raises(ValueError, match='checkpoint_every'):
        kernels.lstm(params, xs, trace=True, checkpoint_every=2)


def test_oracle_values(path):
    """The forward values with checkpointing, against the float64 oracle."""
    case = CASES[0]
    rng, params, xs, carry = setup(case, (B, T, I, H))
    lengths = lengths_for(rng, B, T)
    want_carry, want_ys = reference.run(case.ref_cell, as_dict(params), xs, carry, lengths, True)
    got_carry, got_ys = case.run(
        params, xs, carry, seq_lengths=lengths, reverse=True, backend=path, checkpoint_every=3
    )
    np.testing.assert_allclose(got_ys, want_ys, atol=1e-10)
    for g, w in zip(jax.tree.leaves(got_carry), jax.tree.leaves(want_carry), strict=True):
        np.testing.assert_allclose(g, w, atol=1e-10)
