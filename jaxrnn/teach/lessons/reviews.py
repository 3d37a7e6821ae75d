"""A generator of long film reviews with filler, written for jaxrnn (no data files, no
downloads): the corpus of the ``sentiment`` and ``units`` lessons.

A review is 30 to 150 words: neutral filler sentences from templates, with one to three
sentiment sentences at random places. Each sentiment word scores ``+2`` (strong
positive: ``wonderful``, ...), ``+1`` (mild: ``good``, ...), ``-1`` or ``-2``
(``terrible``, ...); a review is positive when its words' scores sum above zero (no
review sums to zero). So a strong word early in a review outweighs a mild one at its
end: the classifier must keep it in memory across the filler.

Examples:
  >>> from jaxrnn.teach.lessons import reviews
  >>> review = reviews.generate(1, seed=0)[0]
  >>> 30 <= len(review.words) <= 150, review.label in (0, 1)
  (True, True)
  >>> reviews.SCORES['terrible'], reviews.SCORES['nice']
  (-2, 1)
"""

from __future__ import annotations

import dataclasses

import numpy as np

STRONG_NEGATIVE = ('terrible', 'awful', 'horrible', 'dreadful')
MILD_NEGATIVE = ('dull', 'boring', 'weak', 'bland')
MILD_POSITIVE = ('good', 'nice', 'fine', 'pleasant')
STRONG_POSITIVE = ('wonderful', 'excellent', 'brilliant', 'superb')
SCORES: dict[str, int] = {
    **{w: -2 for w in STRONG_NEGATIVE},
    **{w: -1 for w in MILD_NEGATIVE},
    **{w: 1 for w in MILD_POSITIVE},
    **{w: 2 for w in STRONG_POSITIVE},
}
LABELS = ('negative', 'positive')
SHORTEST, LONGEST = 30, 150

NOUNS = (
    'film',
    'story',
    'singer',
    'camera',
    'music',
    'plot',
    'director',
    'scene',
    'cast',
    'ending',
    'city',
    'train',
    'house',
    'letter',
    'dog',
    'sister',
    'doctor',
    'river',
)
_PLACES = (
    'in a small town',
    'on a train',
    'at night',
    'in the rain',
    'by the river',
    'in an old house',
    'after the war',
    'in the city',
)
_PEOPLE = ('i', 'we', 'my brother', 'my friend', 'my sister')
_COMPANY = ('my brother', 'my friend', 'my sister', 'a friend')  # after 'with'
_FILLER = (
    'the {n} is about a {n} and a {n} {p} .',
    '{who} watched it {p} .',
    'it lasts about two hours .',
    'the {n} meets the {n} {p} .',
    'then the {n} leaves the {n} .',
    'most of it takes place {p} .',
    'there is a {n} , a {n} and a {n} .',
    '{who} saw it with {who2} .',
    'the second half follows the {n} .',
    'in the end the {n} goes home .',
)
_OPINION = (
    'the {n} was {w} .',
    'the whole thing was {w} .',
    'i thought the {n} was {w} .',
    'all in all , {w} .',
    'the {n} felt {w} to me .',
)


@dataclasses.dataclass(frozen=True)
class Review:
    """One generated review.

    Attributes:
      words: its tokens (words and punctuation, lower case).
      label: 1 positive, 0 negative.
      sentiment: the positions of its sentiment words.
    """

    words: tuple[str, ...]
    label: int
    sentiment: tuple[int, ...]

    @property
    def score(self) -> int:
        return sum(SCORES[self.words[k]] for k in self.sentiment)


def _fill(template: str, rng: np.random.RandomState, word: str = '') -> list[str]:
    out = []
    for part in template.split():
        if part == '{n}':
            out.append(NOUNS[rng.randint(len(NOUNS))])
        elif part == '{p}':
            out.extend(_PLACES[rng.randint(len(_PLACES))].split())
        elif part == '{who}':
            out.extend(_PEOPLE[rng.randint(len(_PEOPLE))].split())
        elif part == '{who2}':
            out.extend(_COMPANY[rng.randint(len(_COMPANY))].split())
        elif part == '{w}':
            out.append(word)
        else:
            out.append(part)
    return out


def review(
    rng: np.random.RandomState, length: int | None = None, first: str = '', at: int | None = None
) -> Review:
    """One review of about ``length`` words (30 to 150; drawn when ``None``).

    ``first`` (a sentiment word) with ``at`` (a sentence index) places that word's
    sentence there, for the lesson's example; otherwise one to three sentiment sentences
    go to random places.
    """
    length = int(rng.randint(SHORTEST, LONGEST + 1)) if length is None else length
    words_all = tuple(SCORES)
    while True:
        sentences: list[list[str]] = []
        while sum(len(s) for s in sentences) < length:
            sentences.append(_fill(_FILLER[rng.randint(len(_FILLER))], rng))
        count = rng.randint(1, 4)
        chosen = [words_all[rng.randint(len(words_all))] for _ in range(count)]
        if first:  # the placed word's sentence at ``at``, every other one after it
            at = 0 if at is None else at
            places = [at] + sorted(rng.randint(at + 1, len(sentences) + 2, size=count - 1).tolist())
            chosen[0] = first
        else:
            places = sorted(rng.randint(0, len(sentences) + 1, size=count).tolist())
        for word, place in sorted(zip(chosen, places, strict=True), key=lambda e: -e[1]):
            sentences.insert(place, _fill(_OPINION[rng.randint(len(_OPINION))], rng, word))
        words = [w for s in sentences for w in s]
        while len(words) > LONGEST:  # drop the last filler sentence
            last = max(k for k, s in enumerate(sentences) if not any(w in SCORES for w in s))
            sentences.pop(last)
            words = [w for s in sentences for w in s]
        positions = tuple(k for k, w in enumerate(words) if w in SCORES)
        score = sum(SCORES[words[k]] for k in positions)
        if score != 0 and len(words) >= SHORTEST and positions:
            return Review(tuple(words), int(score > 0), positions)


def generate(count: int, seed: int = 0) -> list[Review]:
    """``count`` reviews from ``numpy.random.RandomState(seed)``."""
    rng = np.random.RandomState(seed)
    return [review(rng) for _ in range(count)]


def vocabulary() -> tuple[str, ...]:
    """``'<pad>'`` then every word a review can hold, sorted."""
    words = set(SCORES) | set(NOUNS) | {'.', ','}
    for group in (_PLACES, _PEOPLE, _COMPANY, _FILLER, _OPINION):
        for text in group:
            words |= {w for w in text.split() if not w.startswith('{')}
    return ('<pad>',) + tuple(sorted(words))
