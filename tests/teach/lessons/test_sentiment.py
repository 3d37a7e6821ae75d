"""The sentiment lesson: what a word wrote and what is left, its influence, a tiny run."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxrnn.teach.lessons import _common, reviews, sentiment

pytestmark = pytest.mark.usefixtures('float32_defaults')


def _model(cell):
    h = sentiment.header(cell, sentiment.SETTINGS['tiny'])
    tokens, lengths, _ = sentiment.encode(reviews.generate(3, seed=0))
    params = _common.network(h).init(jax.random.key(0), tokens)['params']
    return h, params, tokens, lengths


def test_memory_left_is_what_was_written_times_the_later_keeping_gates():
    for cell in sentiment.CELLS:
        h, params, tokens, lengths = _model(cell)
        wrote, left, trace = sentiment.memory_left(h, params, tokens, lengths)
        b, p, n = 1, 7, int(lengths[1])
        if cell == 'lstm':
            w = np.abs(np.asarray(trace.i[b, p] * trace.g[b, p], np.float64))
            keep = np.asarray(trace.f[b, p + 1 : n], np.float64)
        else:
            w = np.abs(np.asarray((1 - trace.z[b, p]) * trace.n[b, p], np.float64))
            keep = np.asarray(trace.z[b, p + 1 : n], np.float64)
        np.testing.assert_allclose(wrote[b, p], w.sum(), rtol=1e-7)
        np.testing.assert_allclose(left[b, p], (w * keep.prod(0)).sum(), rtol=1e-6)
        np.testing.assert_allclose(left[b, n - 1], wrote[b, n - 1], rtol=1e-7)  # nothing after


def test_influence_is_the_directional_derivative_along_the_word():
    """On the shipped quick GRU (influences of order 1): gradient x input at a sentiment
    word equals the derivative of the margin when the word's embedding is scaled."""
    s = sentiment.SETTINGS['quick']
    headers = {c: sentiment.header(c, s) for c in sentiment.CELLS}
    h, stacked = _common.load_weights('sentiment', 'quick', headers)['gru']
    params = _common.seed_params(stacked, 0)
    review = reviews.generate(1, seed=0)[0]
    tokens, lengths, _ = sentiment.encode([review])
    infl = sentiment.influence(h, params, tokens, lengths)
    net = _common.network(h)
    x = np.asarray(params['embed']['embedding'])[tokens]

    def margin(probe):
        logits = net.apply({'params': params}, tokens, seq_lengths=lengths, probe=probe)
        end = logits[0, int(lengths[0]) - 1]
        return float(end[1] - end[0])

    eps, p = 1e-2, review.sentiment[0]
    bump = np.zeros(x.shape, np.float32)
    bump[0, p] = eps * x[0, p]
    numeric = (margin(jnp.asarray(bump)) - margin(-jnp.asarray(bump))) / (2 * eps)
    assert abs(infl[0, p]) > 0.1
    np.testing.assert_allclose(infl[0, p], numeric, rtol=2e-2)


def test_the_example_review_is_negative_only_through_its_first_word():
    ex = sentiment.example()
    assert ex.label == 0 and ex.words[ex.sentiment[0]] == sentiment.WORD
    assert [reviews.SCORES[ex.words[k]] for k in ex.sentiment] == [-2, 1]
    assert ex.sentiment[0] < 20 and ex.sentiment[1] > 60


def test_tiny_run_writes_a_page(tmp_path):
    lesson = sentiment.run('tiny', train=True)
    assert [r[0] for r in lesson.rows] == ['LSTM', 'GRU'] and all(
        c.holds is None for c in lesson.claims
    )
    text = lesson.write(tmp_path).read_text()
    assert 'http' not in text and text.count('<p class="words">') == 4
    assert text.count('<figcaption>') == 2
