"""The music lesson: its melodies and a tiny run."""

import jax
import numpy as np
import pytest

from jaxrnn.teach.lessons import music

pytestmark = pytest.mark.usefixtures('float32_defaults')


def test_tunes_set_the_key_hide_it_and_come_back_in_it():
    tokens, lengths, targets, mask, keys = (
        np.asarray(a) for a in music.tunes(jax.random.key(0), 200, 12, 6)
    )
    passage_out_of_key = []
    for t, n, y, m, k in zip(tokens, lengths, targets, mask, keys, strict=True):
        rest = int(np.flatnonzero(t[:n] == music.REST)[0])
        assert list(t[:4]) == [k, (k + 4) % 12, (k + 7) % 12, k] and 4 <= rest <= 16
        assert n == rest + 7 and (t[n:] == 0).all()
        tune = t[rest + 1 : n]
        assert tune[0] == k and music.in_key(int(k))[tune].all()
        passage_out_of_key += list(~music.in_key(int(k))[t[4:rest]])
        assert np.flatnonzero(m).tolist() == list(range(rest, n - 1))  # the tune's notes
        assert (y[rest : n - 1] == tune[: n - 1 - rest]).all()
    assert 0.3 < np.mean(passage_out_of_key) < 0.5  # random notes: 5 of 12 out of key
    fixed = np.asarray(music.tunes(jax.random.key(1), 5, 9, 3, fixed=True)[0])
    assert (fixed[:, 4 + 9] == music.REST).all()


def test_tiny_run_writes_a_page(tmp_path):
    lesson = music.run('tiny', train=True)
    assert [r[0] for r in lesson.rows] == ['vanilla RNN', 'GRU', 'LSTM']
    text = lesson.write(tmp_path).read_text()
    assert 'http' not in text and text.count('<figcaption>') == 2
