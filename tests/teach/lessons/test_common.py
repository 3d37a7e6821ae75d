"""The lessons' shared parts: the result page and JSON, training several seeds at once,
the shipped weights, the variance a grouping explains."""

import json
import pathlib

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxrnn import teach
from jaxrnn.teach import lessons
from jaxrnn.teach.lessons import _common

ROOT = pathlib.Path(__file__).resolve().parents[3]

pytestmark = pytest.mark.usefixtures('float32_defaults')


def test_explained_is_one_for_the_grouping_and_near_zero_for_noise():
    rng = np.random.default_rng(0)
    groups = rng.integers(0, 4, 4000)
    values = np.stack([groups * 1.0, rng.standard_normal(4000), 1 + 1e-5 * groups], 1)
    share, spread = _common.explained(values, groups)
    assert share[0] == pytest.approx(1.0) and share[1] < 0.01
    assert spread[0] == pytest.approx(groups.std()) and spread[1] < 0.05
    assert share[2] == 0.0  # a unit that barely moves says nothing


def test_fit_trains_each_seed_on_its_own_data_and_lowers_the_loss():
    header = dict(cell='gru', vocab=['a', 'b', 'c'], labels=['x', 'y'], embed=4, hidden=6)

    def sample(key):  # label: is the first token 'b'
        tokens = jax.random.randint(key, (16, 3), 0, 3)
        targets = jnp.zeros_like(tokens).at[:, -1].set(tokens[:, 0] == 1)
        mask = jnp.zeros(tokens.shape).at[:, -1].set(1.0)
        return tokens, None, targets, mask

    params, losses = _common.fit(
        _common.network(header), sample, seeds=(0, 1), steps=60, learning_rate=3e-2
    )
    assert losses.shape == (60, 2) and params['readout']['bias'].shape == (2, 2)
    assert (losses[-5:].mean(0) < 0.5 * losses[:5].mean(0)).all()
    # seed 1 alone trains the same model as seed 1 beside seed 0: its own init, its data
    alone, alone_losses = _common.fit(
        _common.network(header), sample, seeds=(1,), steps=60, learning_rate=3e-2
    )
    np.testing.assert_allclose(alone_losses[:, 0], losses[:, 1], rtol=1e-5)
    assert not np.allclose(losses[:, 0], losses[:, 1])  # seed 0 saw other batches


def test_weights_round_trip_and_open_as_trained_models(tmp_path):
    header = dict(cell='lstm', vocab=['<pad>', 'a', 'b'], labels=['x', 'y'], embed=3, hidden=4)
    net = _common.network(header)
    params = jax.vmap(lambda k: net.init(k, jnp.zeros((1, 2), jnp.int32))['params'])(
        jnp.stack([jax.random.key(0), jax.random.key(1)])
    )
    path = tmp_path / 'w.npz'
    _common.save_weights(path, {'lstm': (header, params)})
    loaded_weights = _common.load_weights('any', 'quick', {'lstm': header}, path)
    ((loaded_header, loaded),) = loaded_weights.values()
    assert loaded_header == header
    jax.tree.map(np.testing.assert_array_equal, loaded, jax.device_get(params))
    with pytest.raises(teach.TeachError, match='trained with other settings'):
        _common.load_weights('any', 'quick', {'lstm': dict(header, hidden=5)}, path)
    trained = _common.trained(header, loaded, seed=1)
    tokens, trace, top = trained.read('a b', k=2)
    assert trace.c.shape == (1, 2, 4) and {w for w, _ in top[0]} == {'x', 'y'}


def test_unknown_lesson_or_size_is_a_teach_error():
    with pytest.raises(teach.TeachError, match='unknown lesson'):
        lessons.run('nope')
    with pytest.raises(teach.TeachError, match='size must be one of tiny, quick, full'):
        lessons.run('memory', 'huge')


@pytest.mark.parametrize('name', [n for n in lessons.NAMES if n != 'lstm-vs-gru'])
def test_committed_quick_results_are_what_the_shipped_weights_give(name):
    """docs/lessons/NAME/results.json (written when the weights were trained) holds the
    numbers the shipped quick weights give now: the committed page is reproducible.

    Run as the lessons run, in float32; an accuracy to 0.01 (a model at chance has
    near-tied logits), every other number to 1%."""
    committed = json.loads((ROOT / 'docs' / 'lessons' / name / 'results.json').read_text())
    lesson = lessons.run(name, 'quick')
    assert lesson.results['trained_now'] is False  # the shipped weights, not a new run
    now = json.loads(json.dumps(lesson.results))
    now.pop('trained_now'), committed['results'].pop('trained_now')
    old = dict(_leaves(committed['results']))
    new = dict(_leaves(now))
    assert sorted(old) == sorted(new)
    for path, value in old.items():
        if isinstance(value, float):
            close = 0.01 if any(k in path for k in ('accuracy', 'in_key', 'mass')) else 1e-12
            assert new[path] == pytest.approx(value, rel=1e-2, abs=close), path
        else:
            assert new[path] == value, path
    assert [c.holds for c in lesson.claims] == [c['holds'] for c in committed['claims']]


def _leaves(tree, path=''):
    if isinstance(tree, dict):
        for k, v in tree.items():
            yield from _leaves(v, f'{path}/{k}')
    elif isinstance(tree, (list, tuple)):
        for k, v in enumerate(tree):
            yield from _leaves(v, f'{path}/{k}')
    else:
        yield path, tree


@pytest.mark.parametrize('name', ['memory', 'sentiment', 'music', 'units'])
def test_training_again_reproduces_the_shipped_tiny_weights(name):
    """``--train`` remakes what ships: the tiny run trained now gives the shipped tiny
    weights (same seeds, same data), to float32 rounding."""
    lesson = lessons.run(name, 'tiny', train=True)
    shipped = _common.load_weights(name, 'tiny', {k: h for k, (h, _) in lesson.weights.items()})
    assert shipped is not None and sorted(shipped) == sorted(lesson.weights)
    for key, (_, params) in lesson.weights.items():
        jax.tree.map(
            lambda a, b: np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-6),
            jax.device_get(params),
            shipped[key][1],
        )
