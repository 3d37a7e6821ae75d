"""The review generator of the sentiment and units lessons."""

import numpy as np
import pytest

from jaxrnn.teach import tokenize
from jaxrnn.teach.lessons import reviews

pytestmark = pytest.mark.usefixtures('float32_defaults')


def test_reviews_are_long_labelled_by_their_words_and_reproducible():
    items = reviews.generate(300, seed=5)
    vocab = set(reviews.vocabulary())
    for r in items:
        assert reviews.SHORTEST <= len(r.words) <= reviews.LONGEST
        assert r.score != 0 and r.label == int(r.score > 0)
        assert [k for k, w in enumerate(r.words) if w in reviews.SCORES] == list(r.sentiment)
        assert set(r.words) <= vocab and tokenize(' '.join(r.words)) == list(r.words)
    assert 0.35 < np.mean([r.label for r in items]) < 0.65
    assert reviews.generate(3, seed=5) == items[:3]


@pytest.mark.parametrize('seed', range(20))
def test_a_placed_word_goes_where_asked(seed):
    r = reviews.review(np.random.RandomState(seed), length=100, first='terrible', at=1)
    sentence_starts = [0] + [k + 1 for k, w in enumerate(r.words) if w == '.']
    assert sentence_starts[1] <= r.sentiment[0] < sentence_starts[2]
    assert r.words[r.sentiment[0]] == 'terrible'  # the first sentiment word is the placed one
