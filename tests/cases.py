"""Cell cases shared by the kernel and layer tests: random parameters in the fused
layout, the kernel under test and the matching float64 oracle cell."""

from __future__ import annotations

import dataclasses
import functools
from typing import Any, Callable

import jax
import jax.extend
import numpy as np

from jaxrnn import kernels
from jaxrnn.kernels.gru import GRU
from jaxrnn.kernels.lstm import LSTM
from jaxrnn.kernels.simple import Simple
from tests import reference


@dataclasses.dataclass(frozen=True)
class Case:
    name: str
    cell: Any  # the kernel's Cell
    run: Callable  # kernel: (params, xs, carry, **kw) -> (carry, ys)
    step: Callable  # kernel: (params, carry, x, **kw) -> (carry, y)
    ref_cell: Callable  # oracle cell
    lstm_carry: bool = False

    @property
    def params_type(self):
        return self.cell.params_type

    @property
    def gates(self) -> int:
        return len(self.cell.gates)

    def params(self, rng, in_features, hidden, dtype=np.float32, scale=0.6):
        shapes = {
            'input_kernel': (in_features, self.gates * hidden),
            'recurrent_kernel': (hidden, self.gates * hidden),
            'bias': (self.gates * hidden,),
            'recurrent_bias': (hidden,),
        }
        return self.params_type(
            **{
                f: (scale * rng.standard_normal(shapes[f])).astype(dtype)
                for f in self.params_type._fields
            }
        )

    def carry(self, rng, batch_shape, hidden, dtype=np.float32):
        def one():
            return (0.5 * rng.standard_normal(tuple(batch_shape) + (hidden,))).astype(dtype)

        return (one(), one()) if self.lstm_carry else one()


CASES = [
    Case(
        'lstm',
        LSTM(),
        kernels.lstm,
        kernels.lstm_step,
        reference.lstm_cell,
        lstm_carry=True,
    ),
    Case('gru', GRU(), kernels.gru, kernels.gru_step, reference.gru_cell),
    Case(
        'gru_reset_before',
        GRU(reset_after=False),
        functools.partial(kernels.gru, reset_after=False),
        functools.partial(kernels.gru_step, reset_after=False),
        functools.partial(reference.gru_cell, reset_after=False),
    ),
    Case(
        'simple',
        Simple(),
        kernels.simple_rnn,
        kernels.simple_step,
        reference.simple_cell,
    ),
    Case(
        'simple_relu',
        Simple(activation='relu'),
        functools.partial(kernels.simple_rnn, activation='relu'),
        functools.partial(kernels.simple_step, activation='relu'),
        functools.partial(reference.simple_cell, activation='relu'),
    ),
]
CASE_IDS = [c.name for c in CASES]


def setup(case, size, seed=0, dtype=np.float64):
    """``(rng, params, xs [b, t, i], carry)`` for ``size = (batch, time, in, hidden)``."""
    batch, steps, in_features, hidden = size
    rng = np.random.default_rng(seed)
    params = case.params(rng, in_features, hidden, dtype)
    xs = rng.standard_normal((batch, steps, in_features)).astype(dtype)
    carry = case.carry(rng, (batch,), hidden, dtype)
    return rng, params, xs, carry


def check_against_oracle(case, params, xs, carry, lengths, reverse, time_major, tol, **kwargs):
    """Runs ``case.run`` (batch-major ``xs``, given in the asked layout) and compares the
    outputs and final carry with the float64 oracle; returns the outputs."""
    want_carry, want_ys = reference.run(case.ref_cell, as_dict(params), xs, carry, lengths, reverse)
    got_carry, got_ys = case.run(
        params,
        np.swapaxes(xs, 0, 1) if time_major else xs,
        carry,
        seq_lengths=lengths,
        reverse=reverse,
        time_major=time_major,
        **kwargs,
    )
    if time_major:
        got_ys = np.swapaxes(got_ys, 0, 1)
    np.testing.assert_allclose(got_ys, want_ys, atol=tol, rtol=tol)
    for got, want in zip(jax.tree.leaves(got_carry), jax.tree.leaves(want_carry), strict=True):
        assert got.dtype == got_ys.dtype
        np.testing.assert_allclose(got, want, atol=tol, rtol=tol)
    return got_ys


def as_dict(params):
    return dict(zip(params._fields, params, strict=True))


def lengths_for(rng, batch, steps):
    """Varied lengths that include 0 and the full length when the batch allows."""
    lengths = rng.integers(0, steps + 1, size=batch)
    if batch >= 2:
        lengths[0], lengths[1] = steps, 0
    return lengths.astype(np.int32)


def scan_lengths(jaxpr, found=None) -> list[int]:
    """The ``length`` of every scan in a jaxpr, recursively: a gradient with
    ``checkpoint_every=k`` over ``t`` steps loops over ``t // k`` chunks of ``k`` steps,
    one without it over the ``t`` steps."""
    found = [] if found is None else found
    for eqn in jaxpr.eqns:
        if eqn.primitive.name == 'scan':
            found.append(eqn.params['length'])
        for sub in jax.extend.core.jaxprs_in_params(eqn.params):
            scan_lengths(sub, found)
    return found


def grads_and_loops(apply, params, x):
    """The gradient of a loss of ``apply(params, x)`` w.r.t. ``(params, x)``, and the set
    of the lengths of the loops its program runs (:func:`scan_lengths`)."""

    def loss(params, x):
        out = apply(params, x)
        return sum((leaf**2).sum() for leaf in jax.tree.leaves(out))

    grads = jax.grad(loss, argnums=(0, 1))(params, x)
    return grads, set(scan_lengths(jax.make_jaxpr(jax.grad(loss))(params, x).jaxpr))
