"""The units lesson: its features, its correlations, a teacher's corpus."""

import numpy as np
import pytest

from jaxrnn import teach
from jaxrnn.teach.lessons import units

pytestmark = pytest.mark.usefixtures('float32_defaults')


def test_features_of_a_text():
    f = units.features([['i', 'saw', 'it', '.', 'it', 'was', 'good', '.']], top=1)
    assert f['position in sentence'][0].tolist() == [0, 1, 2, 3, 0, 1, 2, 3]
    assert f['sentences so far'][0].tolist() == [0, 0, 0, 0, 1, 1, 1, 1]
    assert f['sentence end'][0].tolist() == [0, 0, 0, 1, 0, 0, 0, 1]
    assert f['fires at "it"'][0].tolist() == [0, 0, 1, 0, 1, 0, 0, 0]
    assert f['fires at a sentiment word'][0].tolist() == [0, 0, 0, 0, 0, 0, 1, 0]


def test_correlations_are_pearson():
    rng = np.random.default_rng(0)
    values, feature = rng.standard_normal((50, 3)), rng.standard_normal(50)
    values[:, 1] = 3 * feature + 1
    values[:, 2] = 7.0
    r = units._correlations(values, feature)
    assert r[0] == pytest.approx(np.corrcoef(values[:, 0], feature)[0, 1])
    assert r[1] == pytest.approx(1.0) and r[2] == 0.0


def test_read_corpus_cuts_paragraphs_and_rejects_what_it_cannot_use(tmp_path):
    path = tmp_path / 'c.txt'
    path.write_text('One two three.\nfour\n\n' + 'word ' * 320)
    texts = units.read_corpus(path)
    assert texts[0] == ['one', 'two', 'three', '.', 'four'] and [len(t) for t in texts[1:]] == [
        150,
        150,
        20,
    ]
    path.write_text('too short')
    with pytest.raises(teach.TeachError, match='it needs 2'):
        units.read_corpus(path)
    with pytest.raises(teach.TeachError, match='cannot read corpus'):
        units.read_corpus(tmp_path / 'missing.txt')


def test_tiny_run_on_a_teachers_corpus(tmp_path):
    path = tmp_path / 'c.txt'
    path.write_text('\n\n'.join(['the cat sat . the dog ran . it was good .'] * 6))
    lesson = units.run('tiny', corpus=path)
    assert lesson.results['trained_now'] and str(path) in lesson.intro
    assert {r[0] for r in lesson.rows} >= {'position in sentence', 'sentence end'}
    assert 'http' not in lesson.write(tmp_path / 'out').read_text()
