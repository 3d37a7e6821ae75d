"""jaxrnn.nnx behaves as flax.nnx wherever Flax defines the behaviour: the rows of the
README's "Flax compatibility" table (NNX part) that say "same", and the errors of the
rows that say "not supported"."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx

import jaxrnn.nnx as jn
from jaxrnn import convert

B, T, I, H = 3, 6, 5, 4
PAIRS = [
    (nnx.LSTMCell, jn.LSTMCell),
    (nnx.OptimizedLSTMCell, jn.OptimizedLSTMCell),
    (nnx.GRUCell, jn.GRUCell),
    (nnx.SimpleCell, jn.SimpleCell),
]
IDS = [p[0].__name__ for p in PAIRS]
NORMAL = nnx.initializers.normal(1.0)


def _x(seed=0, shape=(B, T, I)):
    return jax.random.normal(jax.random.key(seed), shape, jnp.float32)


def _close(a, b, tol=2e-6):
    for x, y in zip(jax.tree.leaves(a), jax.tree.leaves(b), strict=True):
        np.testing.assert_allclose(x, y, atol=tol, rtol=tol)


def _flax_cell(cls, **kwargs):
    """A Flax cell; ``carry_init`` in its constructor is deprecated there (a warning)."""
    if 'carry_init' in kwargs:
        with pytest.warns(UserWarning, match='carry_init is provided in __init__'):
            return cls(I, H, rngs=nnx.Rngs(0), **kwargs)
    return cls(I, H, rngs=nnx.Rngs(0), **kwargs)


def _ours_like(flax_cell, ours_cls, **kwargs):
    """A jaxrnn cell holding ``flax_cell``'s parameters."""
    return convert.load(convert.from_flax(flax_cell), ours_cls(I, H, rngs=nnx.Rngs(1), **kwargs))


@pytest.mark.parametrize('flax_cls,ours_cls', PAIRS, ids=IDS)
def test_initialize_carry_is_flaxs(flax_cls, ours_cls):
    """The same carry from the same stream and ``carry_init`` (one draw per part)."""
    theirs = _flax_cell(flax_cls).initialize_carry((B, 2, I), nnx.Rngs(carry=3), NORMAL)
    mine = ours_cls(I, H, rngs=nnx.Rngs(0)).initialize_carry((B, 2, I), nnx.Rngs(carry=3), NORMAL)
    jax.tree.map(np.testing.assert_array_equal, mine, theirs)
    stream = nnx.Rngs(carry=4).carry
    theirs = _flax_cell(flax_cls, carry_init=NORMAL).initialize_carry((B, I), stream)
    stream = nnx.Rngs(carry=4).carry
    mine = ours_cls(I, H, carry_init=NORMAL, rngs=nnx.Rngs(0)).initialize_carry((B, I), stream)
    jax.tree.map(np.testing.assert_array_equal, mine, theirs)


def test_rnn_rngs_as_flax():
    """``rngs`` of the constructor (``True``, an ``Rngs``) and of the call feed the
    carry as in ``flax.nnx.RNN``; ``rngs=False`` with a ``carry_init`` is an error."""
    x = _x()
    flax_cell = _flax_cell(nnx.LSTMCell, carry_init=NORMAL)
    ours = _ours_like(flax_cell, jn.LSTMCell, carry_init=NORMAL)
    for rngs in (True, nnx.Rngs(carry=5)):
        theirs = nnx.RNN(flax_cell, rngs=rngs if rngs is True else nnx.Rngs(carry=5))(x)
        _close(jn.RNN(ours, rngs=rngs)(x), theirs)
    _close(jn.RNN(ours)(x, rngs=nnx.Rngs(carry=6)), nnx.RNN(flax_cell)(x, rngs=nnx.Rngs(carry=6)))
    with pytest.raises(ValueError, match='rngs must be given'):
        jn.RNN(ours, rngs=False)(x)
    with pytest.raises(TypeError, match='rngs must be an nnx.Rngs, nnx.RngStream or bool'):
        jn.RNN(ours, rngs=3)


def test_bidirectional_rngs_as_flax():
    x = _x()
    cells = [_flax_cell(nnx.GRUCell, carry_init=NORMAL) for _ in range(2)]
    ours = [_ours_like(c, jn.GRUCell, carry_init=NORMAL) for c in cells]
    theirs = nnx.Bidirectional(nnx.RNN(cells[0]), nnx.RNN(cells[1]), rngs=nnx.Rngs(carry=2))
    mine = jn.Bidirectional(jn.RNN(ours[0]), jn.RNN(ours[1]), rngs=nnx.Rngs(carry=2))
    _close(mine(x), theirs(x))


class Dropping(nnx.RNNCellBase):
    """A Flax LSTM cell whose output goes through dropout."""

    def __init__(self, rngs):
        self.lstm = nnx.LSTMCell(I, H, rngs=rngs)
        self.drop = nnx.Dropout(0.5, rngs=rngs)

    def __call__(self, carry, x):
        carry, y = self.lstm(carry, x)
        return carry, self.drop(y)

    def initialize_carry(self, input_shape, rngs=None):
        return self.lstm.initialize_carry(input_shape, nnx.Rngs(carry=0))

    @property
    def num_feature_axes(self):
        return 1


def test_state_axes_and_broadcast_rngs():
    """Another cell runs under ``nnx.scan`` with Flax's ``state_axes`` and
    ``broadcast_rngs`` (one dropout mask for all steps); with a jaxrnn cell a
    ``state_axes`` is a ValueError (its parameters are the same at every step)."""
    x = _x()
    cell = Dropping(nnx.Rngs(params=0, dropout=1))
    for options in (dict(broadcast_rngs='dropout'), dict(state_axes={...: nnx.Carry})):
        theirs = nnx.RNN(nnx.clone(cell), **options)(x)
        mine = jn.RNN(nnx.clone(cell), **options)(x)
        _close(mine, theirs)
    zeros = np.asarray(jn.RNN(nnx.clone(cell), broadcast_rngs='dropout')(x)) == 0
    assert np.all(zeros == zeros[:, :1]), 'one dropout mask for every step'
    ours = jn.LSTMCell(I, H, rngs=nnx.Rngs(0))
    with pytest.raises(ValueError, match='state_axes.*fused kernel'):
        jn.RNN(ours, state_axes={...: nnx.Carry})(x)


def test_flax_function_and_metadata_arguments():
    """``gate_fn``/``activation_fn`` as Linen (see tests/linen/test_flax_semantics.py),
    the ``*_metadata`` of each parameter, and the Flax arguments jaxrnn does not take."""
    x = _x()
    flax_cell = _flax_cell(nnx.SimpleCell, activation_fn=nnx.relu)
    ours = _ours_like(flax_cell, jn.SimpleCell, activation_fn=nnx.relu)
    _close(jn.RNN(ours)(x), nnx.RNN(flax_cell)(x))
    jn.LSTMCell(I, H, gate_fn=nnx.sigmoid, activation_fn=nnx.tanh, rngs=nnx.Rngs(0))
    with pytest.raises(ValueError, match=r'GRUCell\(gate_fn=.hard_sigmoid.\)'):
        jn.GRUCell(I, H, gate_fn=nnx.hard_sigmoid, rngs=nnx.Rngs(0))
    with pytest.raises(ValueError, match=r'SimpleCell\(residual=True\)'):
        jn.SimpleCell(I, H, residual=True, rngs=nnx.Rngs(0))
    cell = jn.GRUCell(
        I,
        H,
        kernel_metadata={'role': 'in'},
        recurrent_kernel_metadata={'role': 'rec'},
        bias_metadata={'role': 'bias'},
        rngs=nnx.Rngs(0),
    )
    roles = {
        name: getattr(cell, name).get_metadata()['role']
        for name in ('input_kernel', 'recurrent_kernel', 'bias', 'recurrent_bias')
    }
    assert roles == {
        'input_kernel': 'in',
        'recurrent_kernel': 'rec',
        'bias': 'bias',
        'recurrent_bias': 'bias',
    }
    for name in ('promote_dtype', 'keep_rngs'):
        with pytest.raises(TypeError, match=f'unexpected keyword argument {name!r}'):
            jn.LSTMCell(I, H, rngs=nnx.Rngs(0), **{name: None})


def test_bfloat16_parameters():
    """``param_dtype=jnp.bfloat16`` initializes (each recurrent block drawn in float32
    and cast, as ``flax.nnx``'s ``modified_orthogonal``) and runs. (Flax's
    ``OptimizedLSTMCell`` and Linen cells draw in bfloat16, which fails on a CPU.)"""
    cell = jn.LSTMCell(I, H, param_dtype=jnp.bfloat16, rngs=nnx.Rngs(0))
    flax_cell = nnx.LSTMCell(I, H, param_dtype=jnp.bfloat16, rngs=nnx.Rngs(0))
    assert cell.recurrent_kernel.dtype == flax_cell.hi.kernel.dtype == jnp.bfloat16
    block = np.asarray(cell.recurrent_kernel[...][:, :H], np.float32)
    np.testing.assert_allclose(block @ block.T, np.eye(H), atol=2e-2)
    assert jn.RNN(cell)(_x()).shape == (B, T, H)
