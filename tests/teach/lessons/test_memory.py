"""The memory lesson: its task, its gradient measurement, a tiny run end to end."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxrnn.teach.lessons import _common, memory

pytestmark = pytest.mark.usefixtures('float32_defaults')


def test_the_answer_is_the_first_token_scored_at_the_end_only():
    tokens, lengths, targets, mask = memory.sample(jax.random.key(0), 64, 7)
    assert tokens.shape == (64, 7) and lengths is None
    assert (tokens[:, 0] < len(memory.SYMBOLS)).all() and (
        tokens[:, 1:] >= len(memory.SYMBOLS)
    ).all()
    assert (targets[:, -1] == tokens[:, 0]).all() and mask.sum() == 64 and (mask[:, -1] == 1).all()


def test_the_gradient_reaches_only_the_last_step_without_recurrence():
    """With a zero recurrent kernel the answer depends on the last input only, so the
    measured gradient is zero at every earlier step; with it, it is not."""
    h = memory.header('simple', memory.SETTINGS['tiny'])
    tokens = memory.sample(jax.random.key(0), 2, 5)[0]
    params = _common.network(h).init(jax.random.key(1), tokens)['params']
    profile = memory.gradient_profile(h, params, 5)
    assert profile.shape == (5,) and (profile[:-1] > 0).all()
    params['cell']['recurrent_kernel'] = jnp.zeros_like(params['cell']['recurrent_kernel'])
    profile = memory.gradient_profile(h, params, 5)
    assert (profile[:-1] == 0).all() and profile[-1] > 0


def test_the_gradient_is_measured_where_float32_reads_zero():
    """100 steps back, at initialization, the vanilla RNN's gradient is about 1e-26: its
    norm computed in float32 reads exactly 0 (the squares underflow); the profile
    (float64, the same float32 weights widened) measures it."""
    h = memory.header('simple', memory.SETTINGS['full'])
    init = _common.network(h).init(jax.random.key(0), memory.sample(jax.random.key(0), 2, 100)[0])
    params = init['params']
    profile = memory.gradient_profile(h, params, 100)
    assert profile.dtype == np.float64 and (profile > 0).all()
    assert profile[0] < 1e-20 * profile[-1]
    tokens, _, targets, _ = memory.sample(jax.random.key(654_321), 256, 100)

    def loss(probe):  # the same gradient in float32
        logits = _common.network(h).apply({'params': params}, tokens, probe=probe)[:, -1]
        return -jnp.sum(jax.nn.log_softmax(logits)[jnp.arange(256), targets[:, -1]])

    g32 = jax.grad(loss)(jnp.zeros((256, 100, h['embed']), jnp.float32))
    assert params['cell']['recurrent_kernel'].dtype == jnp.float32
    assert float(jnp.linalg.norm(g32[:, 0], axis=-1).max()) == 0.0


def test_equal_parameter_budget():
    counts = {}
    s = memory.SETTINGS['quick']
    for cell in memory.CELLS:
        h = memory.header(cell, s)
        params = _common.network(h).init(jax.random.key(0), jnp.zeros((1, 3), jnp.int32))
        counts[cell] = sum(a.size for a in jax.tree.leaves(params))
    assert max(counts.values()) / min(counts.values()) < 1.05, counts


def test_tiny_run_writes_a_page_and_decides_nothing(tmp_path):
    lesson = memory.run('tiny', train=True)
    assert [r[0] for r in lesson.rows] == ['3', '6'] and len(lesson.headers) == 4
    assert all(c.holds is None for c in lesson.claims)
    assert set(lesson.weights) == {f'{c}-{d}' for c in memory.CELLS for d in (3, 6)}
    page = lesson.write(tmp_path)
    text = page.read_text()
    assert 'http' not in text and text.count('<figcaption>') == 3
    assert (tmp_path / 'results.json').exists() and (tmp_path / 'memory-gradient.png').exists()
    assert sorted(p.name for p in (tmp_path / 'models').iterdir()) == [
        'gru.npz',
        'lstm.npz',
        'simple.npz',
    ]


def test_quick_run_shows_the_claims(tmp_path):
    """The issue's bar, on the shipped quick weights: gated cells >= 0.95 at T = 50, the
    vanilla RNN within 0.1 of chance, its gradient falling orders of magnitude more."""
    lesson = memory.run('quick')
    acc = lesson.results['accuracy']
    assert min(np.mean(acc['gru-50']), np.mean(acc['lstm-50'])) >= 0.95
    assert abs(np.mean(acc['simple-50']) - 0.25) <= 0.1
    orders = lesson.results['gradient_orders']['init']
    assert orders['simple'] - max(orders['gru'], orders['lstm']) >= 2
    assert [c.holds for c in lesson.claims[:3]] == [True, True, True]
