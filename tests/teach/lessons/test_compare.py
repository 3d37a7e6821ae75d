"""The lstm-vs-gru lesson: its parameter counts and a tiny run."""

import jax
import jax.numpy as jnp
import pytest

import jaxrnn.linen as jl
from jaxrnn.teach.lessons import compare

pytestmark = pytest.mark.usefixtures('float32_defaults')


@pytest.mark.parametrize('cell', ['lstm', 'gru'])
def test_parameter_counts_are_the_layers(cell):
    make = jl.LSTMCell if cell == 'lstm' else jl.GRUCell
    layer = jl.RNN(make(16))
    params = layer.init(jax.random.key(0), jnp.zeros((1, 2, 8)))
    assert compare.layer_parameters(cell, 8, 16) == sum(a.size for a in jax.tree.leaves(params))


def test_tiny_run_fills_every_row_of_the_video_table(tmp_path):
    lesson = compare.run('tiny')
    aspects = [r[0] for r in lesson.rows]
    assert aspects[:2] == ['complexity', 'memory'] and sum('speed' in a for a in aspects) == 2
    assert all(len(r) == 5 and all(r) for r in lesson.rows)
    assert all(c.holds is None for c in lesson.claims)  # a tiny run decides nothing
    assert 'http' not in lesson.write(tmp_path).read_text()
