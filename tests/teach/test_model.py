"""The teaching models: corpus, vocabulary, training, save/load and its errors."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxrnn import teach
from jaxrnn.teach import _model

pytestmark = pytest.mark.usefixtures('float32_defaults')


def test_tokenize_and_corpus():
    assert teach.tokenize('I love myself.') == ['i', 'love', 'myself', '.']
    sentences = teach.corpus()
    assert len(sentences) > 50 and ['i', 'love', 'myself', '.'] in sentences


@pytest.mark.parametrize('cell', teach.CELLS)
def test_shipped_models_load_and_trace(cell):
    model = teach.shipped(cell)
    assert model.vocab == _model.vocabulary(teach.corpus())
    tokens, trace, predictions = model.trace('I love myself')
    assert tokens == ['i', 'love', 'myself'] and len(predictions) == 3
    assert np.asarray(trace.h).shape == (1, 3, model.hidden)


def test_training_lowers_the_loss_and_round_trips(tmp_path):
    trained = teach.train('gru', steps=30)
    assert trained.losses[-1] < trained.losses[0] - 0.5
    trained.save(tmp_path / 'gru.npz')
    loaded = teach.load(tmp_path / 'gru.npz')
    assert loaded.cell == 'gru' and loaded.vocab == trained.vocab
    for a, b in zip(_model.flatten(loaded.params), _model.flatten(trained.params), strict=True):
        assert a[0] == b[0]
        np.testing.assert_array_equal(a[1], b[1])


def test_errors(tmp_path):
    model = teach.shipped('lstm')
    with pytest.raises(teach.TeachError, match="'zebra' is not in the vocabulary"):
        model.trace('I love zebra')
    with pytest.raises(teach.TeachError, match='no words'):
        model.trace('   ')
    with pytest.raises(teach.TeachError, match='unknown cell'):
        teach.train('transformer')
    data = dict(np.load(_model.importlib.resources.files('jaxrnn.teach') / 'data/lstm.npz'))
    data['params/readout/kernel'] = data['params/readout/kernel'][:, :5]
    np.savez(tmp_path / 'bad.npz', **data)
    with pytest.raises(teach.TeachError, match=r'readout/kernel has shape \(32, 5\)'):
        teach.load(tmp_path / 'bad.npz')
    (tmp_path / 'junk.npz').write_bytes(b'not a zip')
    with pytest.raises(teach.TeachError, match='cannot read params file'):
        teach.load(tmp_path / 'junk.npz')
    np.savez(tmp_path / 'other.npz', weights=np.zeros(3))
    with pytest.raises(teach.TeachError, match='not a jaxrnn teaching params file'):
        teach.load(tmp_path / 'other.npz')


@pytest.mark.parametrize('cell, block', [('lstm', 1), ('gru', 1)])  # f of i f g o; z of r z n
def test_keep_bias_and_uniform_recurrent_init(cell, block):
    model = teach.LanguageModel(5, cell, 3, 4, keep_bias=2.0, recurrent_init='uniform')
    params = model.init(jax.random.key(0), jnp.zeros((1, 2), jnp.int32))['params']['cell']
    bias = np.asarray(params['bias']).reshape(-1, 4)
    assert (bias[block] == 2.0).all() and (np.delete(bias, block, 0) == 0).all()
    if cell == 'gru':
        assert (np.asarray(params['recurrent_bias']) == 0).all()
    w = np.abs(np.asarray(params['recurrent_kernel']))
    assert w.max() <= 0.5 and w.max() > 0.3  # U(-1/sqrt(4), 1/sqrt(4))


def test_a_language_model_refuses_unknown_options():
    with pytest.raises(ValueError, match="recurrent_init one of .*got 'lstm' and 'normal'"):
        teach.LanguageModel(5, 'lstm', recurrent_init='normal').init(
            jax.random.key(0), jnp.zeros((1, 2), jnp.int32)
        )
