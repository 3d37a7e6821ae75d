"""The bfloat16 stability run, short: a few hundred Adam steps of an LSTM and a GRU
character model in bfloat16 compute and in float32 from one initialisation."""

from __future__ import annotations

import numpy as np
import pytest

from benchmarks import stability


@pytest.mark.usefixtures('float32_defaults')
def test_bfloat16_training_tracks_float32(tmp_path):
    results = stability.main(
        ['--steps', '200', '--hidden', '32', '--log-every', '5', '--out', str(tmp_path)]
    )
    assert [r['cell'] for r in results] == ['lstm', 'gru']
    for r in results:
        f32, bf16 = r['runs']['float32'], r['runs']['bfloat16']
        assert f32['finite'] and bf16['finite']
        assert f32['loss'][-1] < 0.7 * f32['loss'][0], 'the model learns'
        # bfloat16 really ran: its losses differ from float32's, but not by much
        assert np.any(np.array(bf16['loss']) != np.array(f32['loss']))
        assert abs(r['relative_difference']) < 0.03
        assert 0.8 < r['grad_norm_ratio']['median'] < 1.25
    assert (tmp_path / 'results.json').exists() and (tmp_path / 'losses.png').exists()


def test_language_is_fixed_and_balanced():
    """The same text for the same seed; brackets close within each sentence."""
    ids = stability.language(5000)
    np.testing.assert_array_equal(ids, stability.language(5000))
    text = ''.join(stability.ALPHABET[i] for i in stability.language(20000))
    for sentence in text.split('\n')[:-1]:
        depth = 0
        for ch in sentence:
            depth += {'(': 1, ')': -1}.get(ch, 0)
            assert depth >= 0
        assert depth == 0
