"""The teaching models: a small word-level language model (embedding -> one jaxrnn
LSTM or GRU layer -> next-word logits) trained on the corpus that ships with jaxrnn, with
a vocabulary, training, saving and loading, and a traced run over a sentence.
"""

from __future__ import annotations

import dataclasses
import importlib.resources
import re
import time
from typing import Any, Callable

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import optax

import jaxrnn.linen as jl
from jaxrnn.convert._common import flatten

CELLS = ('lstm', 'gru')
"""The cells of the teaching models (:func:`shipped`, :func:`train`)."""
_TOKEN = re.compile(r"[a-z']+|[.,!?]")


class TeachError(ValueError):
    """A user error in the teaching tools (unknown word, bad params file, ...).

    Examples:
      >>> from jaxrnn import teach
      >>> teach.shipped('lstm').trace('i love zebras')
      Traceback (most recent call last):
        ...
      jaxrnn.teach._model.TeachError: 'zebras' is not in the vocabulary of this model ...
    """


def tokenize(text: str) -> list[str]:
    """Lower-cased words and punctuation: ``'I love myself.' -> ['i', 'love', 'myself', '.']``.

    Examples:
      >>> from jaxrnn import teach
      >>> teach.tokenize("I love myself, don't I?")
      ['i', 'love', 'myself', ',', "don't", 'i', '?']
    """
    return _TOKEN.findall(text.lower())


def corpus() -> list[list[str]]:
    """The shipped corpus (``jaxrnn/teach/data/corpus.txt``), one token list per line.

    Examples:
      >>> from jaxrnn import teach
      >>> sentences = teach.corpus()
      >>> len(sentences), all(isinstance(w, str) for w in sentences[0])
      (80, True)
    """
    text = importlib.resources.files('jaxrnn.teach').joinpath('data/corpus.txt').read_text()
    lines = [line for line in text.splitlines() if line.strip() and not line.startswith('#')]
    return [tokenize(line) for line in lines]


def vocabulary(sentences: list[list[str]]) -> tuple[str, ...]:
    """``'<pad>'`` then every token of ``sentences``, sorted."""
    return ('<pad>',) + tuple(sorted({w for s in sentences for w in s}))


class LanguageModel(nn.Module):
    """``tokens [b, t] -> logits [b, t, vocab]``: embedding, one jaxrnn recurrent layer,
    a linear readout. ``trace=True`` also returns the recurrent layer's trace.

    Examples:
      >>> import jax, jax.numpy as jnp
      >>> from jaxrnn import teach
      >>> model = teach.LanguageModel(vocab_size=10, cell='gru', embed=4, hidden=8)
      >>> tokens = jnp.array([[1, 2, 3]])
      >>> variables = model.init(jax.random.key(0), tokens)
      >>> logits, trace = model.apply(variables, tokens, trace=True)
      >>> logits.shape, trace.z.shape
      ((1, 3, 10), (1, 3, 8))
    """

    vocab_size: int
    cell: str = 'lstm'
    embed: int = 16
    hidden: int = 32

    @nn.compact
    def __call__(self, tokens, seq_lengths=None, trace: bool = False):
        x = nn.Embed(self.vocab_size, self.embed, name='embed')(tokens)
        make = {'lstm': jl.LSTMCell, 'gru': jl.GRUCell}[self.cell]
        rnn = jl.RNN(make(self.hidden, name='cell'), name='rnn')
        out = rnn(x, seq_lengths=seq_lengths, trace=trace)
        h, gates = out if trace else (out, None)
        logits = nn.Dense(self.vocab_size, name='readout')(h)
        return (logits, gates) if trace else logits


@dataclasses.dataclass
class Trained:
    """A trained teaching model: its cell, vocabulary and parameters.

    Examples:
      >>> from jaxrnn import teach
      >>> lstm = teach.shipped('lstm')
      >>> lstm.cell, lstm.hidden, len(lstm.vocab) > 50
      ('lstm', 32, True)
      >>> tokens, trace, next_words = lstm.trace('i love myself')
      >>> tokens, trace.c.shape, len(next_words)
      (['i', 'love', 'myself'], (1, 3, 32), 3)
    """

    cell: str
    vocab: tuple[str, ...]
    params: dict
    embed: int = 16
    hidden: int = 32
    losses: tuple[float, ...] = ()
    seconds: float = 0.0  # training time

    @property
    def model(self) -> LanguageModel:
        return LanguageModel(len(self.vocab), self.cell, self.embed, self.hidden)

    def ids(self, tokens: list[str]) -> np.ndarray:
        index = {w: k for k, w in enumerate(self.vocab)}
        unknown = [w for w in tokens if w not in index]
        if unknown:
            raise TeachError(
                f'{unknown[0]!r} is not in the vocabulary of this model ({len(self.vocab) - 1} '
                'words from the shipped corpus); try words like '
                + ', '.join(repr(w) for w in self.vocab[1:9])
                + '.'
            )
        if not tokens:
            raise TeachError('the sentence has no words.')
        return np.array([index[w] for w in tokens], np.int32)

    def trace(self, sentence: str):
        """Runs the model over ``sentence``: returns ``(tokens, trace, next_words)``, the
        trace for the one sequence (``[1, t, hidden]`` fields) and the model's most likely
        next word after each step."""
        tokens = tokenize(sentence)
        ids = self.ids(tokens)
        logits, trace = self.model.apply({'params': self.params}, ids[None], trace=True)
        best = np.asarray(jnp.argmax(logits[0], axis=-1))
        return tokens, trace, [self.vocab[k] for k in best]

    def save(self, path) -> None:
        arrays: dict[str, Any] = {
            'cell': np.array(self.cell),
            'vocab': np.array(self.vocab),
            'embed': np.array(self.embed),
            'hidden': np.array(self.hidden),
        }
        for key, value in flatten(self.params):
            arrays['params/' + '/'.join(key)] = np.asarray(value)
        np.savez(path, **arrays)


def load(path) -> Trained:
    """Loads a params file written by :meth:`Trained.save` (or ``jaxrnn demo``); every
    array is checked against the model its header describes.

    Examples:
      >>> import pathlib, tempfile
      >>> from jaxrnn import teach
      >>> gru = teach.shipped('gru')
      >>> with tempfile.TemporaryDirectory() as tmp:
      ...     gru.save(pathlib.Path(tmp) / 'gru.npz')
      ...     again = teach.load(pathlib.Path(tmp) / 'gru.npz')
      >>> again.cell, again.vocab == gru.vocab
      ('gru', True)
    """
    try:
        data = np.load(path, allow_pickle=False)
    except (OSError, ValueError) as e:
        raise TeachError(f'cannot read params file {str(path)!r}: {e}') from None
    try:
        cell = str(data['cell'])
        vocab = tuple(str(w) for w in data['vocab'])
        embed, hidden = int(data['embed']), int(data['hidden'])
    except KeyError as e:
        raise TeachError(f'{str(path)!r} is not a jaxrnn teaching params file (no {e}).') from None
    if cell not in CELLS:
        raise TeachError(f'{str(path)!r} holds an unknown cell {cell!r}.')
    model = LanguageModel(len(vocab), cell, embed, hidden)
    shapes = jax.eval_shape(model.init, jax.random.key(0), jnp.zeros((1, 2), jnp.int32))['params']
    params: dict = {}
    for key, spec in flatten(shapes):
        name = 'params/' + '/'.join(key)
        if name not in data:
            raise TeachError(f'{str(path)!r} has no {name!r}.')
        value = data[name]
        if value.shape != spec.shape:
            raise TeachError(
                f'{str(path)!r}: {name} has shape {value.shape}, expected {spec.shape} for a '
                f'{cell} with {len(vocab)} words, embed {embed}, hidden {hidden}.'
            )
        node = params
        for part in key[:-1]:
            node = node.setdefault(part, {})
        node[key[-1]] = jnp.asarray(value)
    return Trained(cell, vocab, params, embed, hidden)


def shipped(cell: str) -> Trained:
    """The weights that ship with jaxrnn (made by ``scripts/train_teach_models.py``).

    Examples:
      >>> from jaxrnn import teach
      >>> [teach.shipped(cell).cell for cell in teach.CELLS]
      ['lstm', 'gru']
    """
    if cell not in CELLS:
        raise TeachError(f'unknown cell {cell!r}; choose one of {", ".join(CELLS)}.')
    path = importlib.resources.files('jaxrnn.teach').joinpath(f'data/{cell}.npz')
    with importlib.resources.as_file(path) as file:
        return load(file)


def train(
    cell: str,
    *,
    steps: int = 300,
    seed: int = 0,
    embed: int = 16,
    hidden: int = 32,
    learning_rate: float = 1e-2,
    progress: Callable[[int, float], None] | None = None,
) -> Trained:
    """Trains a :class:`LanguageModel` on the shipped corpus to predict the next word
    (full batch, Adam; padded steps masked out of the loss).

    Examples:
      >>> from jaxrnn import teach
      >>> trained = teach.train('gru', steps=5, hidden=8, embed=4)
      >>> len(trained.losses), trained.losses[-1] < trained.losses[0]
      (5, True)
    """
    if cell not in CELLS:
        raise TeachError(f'unknown cell {cell!r}; choose one of {", ".join(CELLS)}.')
    sentences = corpus()
    vocab = vocabulary(sentences)
    index = {w: k for k, w in enumerate(vocab)}
    width = max(len(s) for s in sentences)
    ids = np.zeros((len(sentences), width), np.int32)
    for row, s in enumerate(sentences):
        ids[row, : len(s)] = [index[w] for w in s]
    lengths = np.array([len(s) - 1 for s in sentences], np.int32)  # inputs: all but last
    inputs, targets = ids[:, :-1], ids[:, 1:]
    mask = np.arange(width - 1)[None, :] < lengths[:, None]

    model = LanguageModel(len(vocab), cell, embed, hidden)
    params = model.init(jax.random.key(seed), inputs)['params']
    optimizer = optax.adam(learning_rate)
    opt_state = optimizer.init(params)

    def loss_fn(params):
        logits = model.apply({'params': params}, inputs, seq_lengths=lengths)
        losses = optax.softmax_cross_entropy_with_integer_labels(logits, targets)
        return jnp.sum(losses * mask) / jnp.sum(mask)

    @jax.jit
    def step(params, opt_state):
        loss, grads = jax.value_and_grad(loss_fn)(params)
        updates, opt_state = optimizer.update(grads, opt_state, params)
        return optax.apply_updates(params, updates), opt_state, loss

    losses = []
    start = time.perf_counter()
    for k in range(steps):
        params, opt_state, loss = step(params, opt_state)
        losses.append(float(loss))
        if progress is not None:
            progress(k + 1, losses[-1])
    seconds = time.perf_counter() - start
    return Trained(cell, vocab, jax.device_get(params), embed, hidden, tuple(losses), seconds)
