"""The teaching models: a small word-level language model (embedding -> one jaxrnn
LSTM or GRU layer -> next-word logits) trained on the corpus that ships with jaxrnn, with
a vocabulary, training, saving and loading, and a traced run over a sentence.
"""

from __future__ import annotations

import dataclasses
import functools
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
from jaxrnn import kernels
from jaxrnn.convert._common import flatten

CELLS = ('lstm', 'gru')  # documented where jaxrnn.teach re-exports it
MODEL_CELLS = ('simple', 'lstm', 'gru')  # every cell a LanguageModel can hold
RECURRENT_INITS = ('orthogonal', 'uniform')
_GATES: dict[str, tuple[str, ...]] = {'lstm': kernels.LSTM.gates, 'gru': kernels.GRU.gates}
_KEEP = {'lstm': 'f', 'gru': 'z'}  # the gate that keeps the old state
_TOKEN = re.compile(r"[a-z']+|[.,!?]")


class TeachError(ValueError):
    """A user error in the teaching tools: an unknown cell, a word outside the vocabulary,
    an empty sentence, a params file that cannot be read or has the wrong arrays.

    A subclass of :class:`ValueError`; the ``jaxrnn`` command prints its message in one
    line and exits with status 2.

    Examples:
      >>> from jaxrnn import teach
      >>> try:
      ...     teach.shipped('lstm').trace('I love jaxrnn')
      ... except teach.TeachError as e:
      ...     print(e)
      'jaxrnn' is not in the vocabulary of this model (128 words of its training text);
      try words like '.', 'a', 'am', 'and', 'are', 'at', 'bad', 'be'.
      >>> issubclass(teach.TeachError, ValueError)
      True
    """


def tokenize(text: str) -> list[str]:
    """Splits ``text`` into lower-cased words and punctuation marks, the tokens of the
    teaching models.

    A token is a run of letters ``a``-``z`` and apostrophes, or one of ``. , ! ?``;
    everything else (digits, other symbols, letters outside ``a``-``z``) is dropped.

    Args:
      text: any string.

    Returns:
      The tokens, in order.

    Examples:
      >>> from jaxrnn import teach
      >>> teach.tokenize('I love myself!')
      ['i', 'love', 'myself', '!']
      >>> teach.tokenize("It's 3 o'clock, ok?")
      ["it's", "o'clock", ',', 'ok', '?']
    """
    return _TOKEN.findall(text.lower())


def corpus() -> list[list[str]]:
    """The corpus that ships with jaxrnn (``jaxrnn/teach/data/corpus.txt``), tokenized.

    Short English sentences, one per line of the file (blank lines and lines starting
    with ``#`` are skipped), each split by :func:`tokenize`. The teaching models are
    trained on it, and their vocabulary is its tokens.

    Returns:
      One token list per sentence.

    Examples:
      >>> from jaxrnn import teach
      >>> sentences = teach.corpus()
      >>> len(sentences)
      80
      >>> sentences[0]
      ['i', 'love', 'myself', '.']
    """
    text = importlib.resources.files('jaxrnn.teach').joinpath('data/corpus.txt').read_text()
    lines = [line for line in text.splitlines() if line.strip() and not line.startswith('#')]
    return [tokenize(line) for line in lines]


def vocabulary(sentences: list[list[str]]) -> tuple[str, ...]:
    """``'<pad>'`` (id 0) then every token of ``sentences``, sorted."""
    return ('<pad>',) + tuple(sorted({w for s in sentences for w in s}))


class LanguageModel(nn.Module):
    """The teaching models' network (Flax Linen): word ids in, next-word logits out.

    ``tokens [b, t] -> logits [b, t, vocab_size]``::

      x = embed(tokens)                                  # [b, t, embed]
      h = jaxrnn.linen.RNN(LSTMCell or GRUCell)(x)       # [b, t, hidden]
      logits = h @ W + bias                              # [b, t, vocab_size]

    Calling it takes ``tokens`` (int ids ``[b, t]``), ``seq_lengths`` (optional ``[b]``,
    passed to the recurrent layer), ``trace`` and ``probe``; with ``trace=True`` it
    returns ``(logits, trace)``, the recurrent layer's ``LSTMTrace`` or ``GRUTrace``
    (fields ``[b, t, hidden]``), which every view of :mod:`jaxrnn.teach` reads. A
    ``probe [b, t, embed]`` is added to the embedded inputs: the gradient of a loss with
    respect to it (at zero) is the gradient that reaches each step's input.

    Its parameters: ``embed`` (``embedding [vocab_size, embed]``), ``cell`` (the fused
    parameters of :class:`jaxrnn.linen.LSTMCell` or :class:`jaxrnn.linen.GRUCell`, with
    ``input_kernel [embed, G*hidden]``, G = 4 for the LSTM and 3 for the GRU) and
    ``readout`` (``kernel [hidden, vocab_size]``, ``bias [vocab_size]``).

    The lessons (:mod:`jaxrnn.teach.lessons`) use the same network as a classifier or
    a next-note predictor: ``outputs`` sets the readout's size, ``cell='simple'`` holds
    a vanilla RNN (``h' = tanh(x W_ih + h W_hh + b)``), and ``keep_bias`` and
    ``recurrent_init`` choose the initialization.

    Attributes:
      vocab_size: the number of token ids (``len(Trained.vocab)``, ``'<pad>'`` included).
      cell: ``'lstm'``, ``'gru'`` or ``'simple'``.
      embed: the embedding size, the recurrent layer's input features ``i``.
      hidden: the recurrent layer's hidden size ``h``.
      outputs: the readout's size (default ``None``: ``vocab_size``, next-token logits).
      keep_bias: added at initialization to the bias of the gate that keeps the old
        state: the LSTM's forget gate ``f``, the GRU's update gate ``z`` (``sigmoid(2)
        = 0.88`` of the state kept for 2.0); ignored by the simple RNN. Default 0.
      recurrent_init: ``'orthogonal'`` (default, Flax's) or ``'uniform'``: every
        ``[h, h]`` block of ``recurrent_kernel`` drawn from ``U(-1/sqrt(h), 1/sqrt(h))``,
        as PyTorch's ``nn.RNN``, ``nn.LSTM`` and ``nn.GRU`` draw it.

    Examples:
      >>> import jax
      >>> import jax.numpy as jnp
      >>> from jaxrnn import teach

      A shipped model, called on the ids of a sentence:

      >>> trained = teach.shipped('gru')
      >>> model = trained.model  # LanguageModel(len(trained.vocab), 'gru', 16, 32)
      >>> tokens = trained.ids(['i', 'love', 'myself'])[None]  # [b, t] = [1, 3]
      >>> logits, trace = model.apply({'params': trained.params}, tokens, trace=True)
      >>> logits.shape, type(trace).__name__, trace.z.shape
      ((1, 3, 129), 'GRUTrace', (1, 3, 32))
      >>> trained.vocab[int(logits[0, 0].argmax())]  # the likeliest word after 'i'
      'love'

      A new one, its parameters' shapes (``jax.eval_shape`` runs nothing):

      >>> model = teach.LanguageModel(vocab_size=10, cell='lstm', embed=3, hidden=4)
      >>> tokens = jnp.zeros((2, 5), jnp.int32)
      >>> shapes = jax.eval_shape(model.init, jax.random.key(0), tokens)['params']
      >>> jax.tree.map(lambda a: a.shape, shapes['readout'])
      {'bias': (10,), 'kernel': (4, 10)}
      >>> shapes['cell']['input_kernel'].shape  # [embed, 4 * hidden]
      (3, 16)
    """

    vocab_size: int
    cell: str = 'lstm'
    embed: int = 16
    hidden: int = 32
    outputs: int | None = None
    keep_bias: float = 0.0
    recurrent_init: str = 'orthogonal'

    @nn.compact
    def __call__(self, tokens, seq_lengths=None, trace: bool = False, probe=None):
        if self.cell not in MODEL_CELLS or self.recurrent_init not in RECURRENT_INITS:
            raise ValueError(
                f'cell must be one of {MODEL_CELLS} and recurrent_init one of '
                f'{RECURRENT_INITS}, got {self.cell!r} and {self.recurrent_init!r}.'
            )
        x = nn.Embed(self.vocab_size, self.embed, name='embed')(tokens)
        if probe is not None:  # [b, t, embed], added to the embedded inputs
            x = x + probe
        make = {'lstm': jl.LSTMCell, 'gru': jl.GRUCell, 'simple': jl.SimpleCell}[self.cell]
        options: dict[str, Any] = {}
        if self.recurrent_init == 'uniform':
            bound = 1 / self.hidden**0.5
            options['recurrent_kernel_init'] = _uniform(bound)
        if self.keep_bias and self.cell in _KEEP:
            options['bias_init'] = _keep_bias(self.cell, self.hidden, self.keep_bias)
        rnn = jl.RNN(make(self.hidden, name='cell', **options), name='rnn')
        out = rnn(x, seq_lengths=seq_lengths, trace=trace)
        h, gates = out if trace else (out, None)
        logits = nn.Dense(self.outputs or self.vocab_size, name='readout')(h)
        return (logits, gates) if trace else logits


def _uniform(bound: float):
    """``U(-bound, bound)``, an initializer."""

    def init(key, shape, dtype=jnp.float32):
        return jax.random.uniform(key, shape, dtype, -bound, bound)

    return init


def _keep_bias(cell: str, hidden: int, value: float):
    """Zeros with ``value`` on the keeping gate's block of the fused ``bias [G*h]``
    (the GRU's ``recurrent_bias [h]`` stays zero)."""
    gates = _GATES[cell]
    block = gates.index(_KEEP[cell])

    def init(key, shape, dtype=jnp.float32):
        b = jnp.zeros(shape, dtype)
        if shape[-1] != len(gates) * hidden:
            return b
        return b.at[block * hidden : (block + 1) * hidden].set(jnp.asarray(value, dtype))

    return init


@dataclasses.dataclass
class Trained:
    """A trained teaching model: its cell, vocabulary and parameters, ready to trace a
    sentence.

    Made by :func:`train`, :func:`shipped` and :func:`load`; written by :meth:`save`.

    Attributes:
      cell: ``'lstm'`` or ``'gru'`` (a lesson's model may also be ``'simple'``).
      vocab: the tokens, ``'<pad>'`` first (id 0), then the corpus's tokens, sorted; a
        token's id is its index.
      params: the :class:`LanguageModel`'s parameters (keys ``'embed'``, ``'cell'``,
        ``'readout'``).
      embed: the embedding size.
      hidden: the hidden size.
      losses: the training loss after each step (empty for a loaded model).
      seconds: the training time in seconds, measured after the update was compiled and
        run once to warm up (``0.0`` for a loaded model). One model's steps, timed
        alone: to compare two models' speed, use :func:`step_times`.
      labels: the names of the readout's outputs for a lesson's classifier (for
        example ``('negative', 'positive')``); empty (default) for a language model,
        whose outputs are the :attr:`vocab`.

    Examples:
      >>> from jaxrnn import teach
      >>> trained = teach.shipped('lstm')
      >>> trained.cell, len(trained.vocab), trained.vocab[:3]
      ('lstm', 129, ('<pad>', '.', 'a'))
      >>> tokens, trace, next_words = trained.trace('I love myself')
      >>> tokens, trace.h.shape
      (['i', 'love', 'myself'], (1, 3, 32))
    """

    cell: str
    vocab: tuple[str, ...]
    params: dict
    embed: int = 16
    hidden: int = 32
    losses: tuple[float, ...] = ()
    seconds: float = 0.0  # training time, compilation excluded
    labels: tuple[str, ...] = ()

    @property
    def model(self) -> LanguageModel:
        """The :class:`LanguageModel` these parameters belong to."""
        return LanguageModel(
            len(self.vocab), self.cell, self.embed, self.hidden, len(self.labels) or None
        )

    @property
    def names(self) -> tuple[str, ...]:
        """The names of the outputs: :attr:`labels`, or :attr:`vocab` for a language
        model."""
        return self.labels or self.vocab

    def ids(self, tokens: list[str]) -> np.ndarray:
        """The ids of ``tokens`` in :attr:`vocab`.

        Args:
          tokens: tokens of the vocabulary (see :func:`tokenize`).

        Returns:
          int32 ids, ``[t]``.

        Raises:
          TeachError: a token is not in the vocabulary, or ``tokens`` is empty.

        Examples:
          >>> from jaxrnn import teach
          >>> trained = teach.shipped('gru')
          >>> ids = trained.ids(['i', 'love', 'myself'])
          >>> ids.dtype, [trained.vocab[k] for k in ids]
          (dtype('int32'), ['i', 'love', 'myself'])
        """
        index = {w: k for k, w in enumerate(self.vocab)}
        unknown = [w for w in tokens if w not in index]
        if unknown:
            raise TeachError(
                f'{unknown[0]!r} is not in the vocabulary of this model ({len(self.vocab) - 1} '
                'words of its training text); try words like '
                + ', '.join(repr(w) for w in self.vocab[1:9])
                + '.'
            )
        if not tokens:
            raise TeachError('the sentence has no words.')
        return np.array([index[w] for w in tokens], np.int32)

    def trace(self, sentence: str):
        """Runs the model over ``sentence`` with ``trace=True``.

        Args:
          sentence: text whose tokens (:func:`tokenize`) are all in :attr:`vocab`.

        Returns:
          ``(tokens, trace, next_words)``: the ``t`` tokens; the recurrent layer's
          ``LSTMTrace`` or ``GRUTrace`` for the one sequence (fields ``[1, t, hidden]``,
          the input of :func:`narrate` and the figures); and after each step the word the
          model finds most likely to come next (the argmax of the logits), ``t`` strings.

        Raises:
          TeachError: a word is not in the vocabulary, or the sentence has none.

        Examples:
          >>> from jaxrnn import teach
          >>> tokens, trace, next_words = teach.shipped('lstm').trace('I love myself')
          >>> type(trace).__name__, trace._fields
          ('LSTMTrace', ('i', 'f', 'g', 'o', 'c', 'h'))
          >>> trace.f.shape, len(next_words)
          ((1, 3, 32), 3)
        """
        tokens, trace, top = self.read(sentence, k=1)
        return tokens, trace, [words[0][0] for words in top]

    def read(self, sentence: str, k: int = 3):
        """Runs the model over ``sentence`` with ``trace=True``, with the ``k``
        likeliest next words after each step and their probabilities.

        Args:
          sentence: text whose tokens (:func:`tokenize`) are all in :attr:`vocab`.
          k: how many next words per step (``1 <= k <= len(vocab)``).

        Returns:
          ``(tokens, trace, top)``: the ``t`` tokens; the ``LSTMTrace`` or ``GRUTrace``
          (fields ``[1, t, hidden]``); and per step the ``k`` likeliest next words as
          ``(word, probability)`` pairs, likeliest first (the softmax of the logits).

        Raises:
          TeachError: a word is not in the vocabulary, the sentence has none, or ``k``
            is out of range.

        Examples:
          >>> from jaxrnn import teach
          >>> tokens, trace, top = teach.shipped('lstm').read('I love myself')
          >>> len(top), len(top[0])
          (3, 3)
          >>> word, p = top[0][0]
          >>> word, 0 < p < 1
          ('love', True)
        """
        if not 1 <= k <= len(self.names):
            raise TeachError(f'k must be in [1, {len(self.names)}], got {k}.')
        tokens = tokenize(sentence)
        ids = self.ids(tokens)
        logits, trace = self.model.apply({'params': self.params}, ids[None], trace=True)
        probs = np.asarray(jax.nn.softmax(logits[0].astype(jnp.float32), axis=-1), np.float64)
        order = np.argsort(-probs, axis=-1, kind='stable')[:, :k]
        top = [
            [(self.names[j], float(p[j])) for j in row] for row, p in zip(order, probs, strict=True)
        ]
        return tokens, trace, top

    def corpus_trace(self, sentences: list[list[str]] | None = None):
        """Runs the model over every sentence of :func:`corpus` (or of ``sentences``;
        the words of its vocabulary only) with ``trace=True``: what :func:`saturation`
        measures over.

        Args:
          sentences: token lists (default: :func:`corpus`).

        Returns:
          ``(trace, lengths)``: the ``LSTMTrace`` or ``GRUTrace``, fields ``[b, t,
          hidden]`` with one sequence per sentence (padded), and each sentence's length
          ``[b]``; ``None`` when no sentence has a word of the vocabulary (a lesson's
          model over the shipped corpus).

        Examples:
          >>> from jaxrnn import teach
          >>> trace, lengths = teach.shipped('gru').corpus_trace()
          >>> trace.z.shape, int(lengths.sum())  # [sentences, longest, hidden], all words
          ((80, 10, 32), 496)
        """
        known = set(self.vocab)
        sentences = corpus() if sentences is None else sentences
        sentences = [s for s in ([w for w in s if w in known] for s in sentences) if s]
        if not sentences:
            return None
        ids = _pad([self.ids(s) for s in sentences])
        lengths = np.array([len(s) for s in sentences], np.int32)
        _, trace = self.model.apply({'params': self.params}, ids, seq_lengths=lengths, trace=True)
        return trace, lengths

    def save(self, path) -> None:
        """Writes the model to ``path``, a NumPy ``.npz`` file that :func:`load` reads.

        The file holds the header (``cell``, ``vocab``, ``embed``, ``hidden``) and every
        parameter under ``params/<module>/<name>``; not the losses nor the training time.
        NumPy adds ``.npz`` to a name without it.

        Args:
          path: a file name or an open binary file.
        """
        arrays: dict[str, Any] = {
            'cell': np.array(self.cell),
            'vocab': np.array(self.vocab),
            'embed': np.array(self.embed),
            'hidden': np.array(self.hidden),
        }
        if self.labels:
            arrays['labels'] = np.array(self.labels)
        for key, value in flatten(self.params):
            arrays['params/' + '/'.join(key)] = np.asarray(value)
        np.savez(path, **arrays)


def load(path) -> Trained:
    """Loads a params file written by :meth:`Trained.save` (or by ``jaxrnn demo``).

    The header (cell, vocabulary, embedding and hidden sizes) describes the model; every
    parameter it needs must be in the file with its shape. The file is read without
    pickle.

    Args:
      path: the ``.npz`` file.

    Returns:
      The :class:`Trained` model (its ``losses`` empty and ``seconds`` 0).

    Raises:
      TeachError: the file cannot be read, is not a teaching params file, names an unknown
        cell, or lacks a parameter or holds one of the wrong shape.

    Examples:
      >>> import os
      >>> import tempfile
      >>> import numpy as np
      >>> from jaxrnn import teach
      >>> trained = teach.shipped('gru')
      >>> with tempfile.TemporaryDirectory() as folder:
      ...     path = os.path.join(folder, 'gru.npz')
      ...     trained.save(path)
      ...     loaded = teach.load(path)
      >>> loaded.cell, loaded.vocab == trained.vocab
      ('gru', True)
      >>> bool(np.array_equal(loaded.params['cell']['bias'], trained.params['cell']['bias']))
      True
    """
    try:
        data = np.load(path, allow_pickle=False)
    except (OSError, ValueError) as e:
        raise TeachError(f'cannot read params file {str(path)!r}: {e}') from None
    try:
        cell = str(data['cell'])
        vocab = tuple(str(w) for w in data['vocab'])
        embed, hidden = int(data['embed']), int(data['hidden'])
        labels = tuple(str(w) for w in data['labels']) if 'labels' in data else ()
    except KeyError as e:
        raise TeachError(f'{str(path)!r} is not a jaxrnn teaching params file (no {e}).') from None
    if cell not in MODEL_CELLS:
        raise TeachError(f'{str(path)!r} holds an unknown cell {cell!r}.')
    model = LanguageModel(len(vocab), cell, embed, hidden, len(labels) or None)
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
    return Trained(cell, vocab, params, embed, hidden, labels=labels)


def shipped(cell: str) -> Trained:
    """The teaching model that ships with jaxrnn for ``cell``.

    Its weights (``jaxrnn/teach/data/{lstm,gru}.npz``, embedding 16, hidden 32) were made
    by ``scripts/train_teach_models.py`` with :func:`train` on :func:`corpus`; ``jaxrnn
    trace`` uses them when no ``--params`` is given. Loading needs no training.

    Args:
      cell: ``'lstm'`` or ``'gru'`` (one of :data:`CELLS`).

    Returns:
      The :class:`Trained` model, loaded by :func:`load` (so its ``losses`` are empty).

    Raises:
      TeachError: ``cell`` is not one of :data:`CELLS`.

    Examples:
      >>> from jaxrnn import teach
      >>> trained = teach.shipped('lstm')
      >>> trained.cell, trained.embed, trained.hidden
      ('lstm', 16, 32)
      >>> tokens, trace, next_words = trained.trace('I love myself')
      >>> print(teach.narrate(trace, tokens, unit=3).text().splitlines()[0])
      LSTM reads "i love myself", followed through unit 3 of 32: chosen by hand.
    """
    if cell not in CELLS:
        raise TeachError(f'unknown cell {cell!r}; choose one of {", ".join(CELLS)}.')
    path = importlib.resources.files('jaxrnn.teach').joinpath(f'data/{cell}.npz')
    with importlib.resources.as_file(path) as file:
        return load(file)


def _pad(rows, width: int | None = None) -> np.ndarray:
    """Rows of token ids as one int32 ``[len(rows), width]`` array (default: the longest
    row), padded with ``'<pad>'`` (id 0)."""
    ids = np.zeros((len(rows), width or max(len(r) for r in rows)), np.int32)
    for k, r in enumerate(rows):
        ids[k, : len(r)] = r
    return ids


def _batch(vocab: tuple[str, ...], sentences: list[list[str]] | None = None):
    """The corpus (or ``sentences``) as one training batch: ``(inputs, targets, lengths,
    mask)``, every sentence one padded sequence, the inputs all tokens but the last."""
    sentences = corpus() if sentences is None else sentences
    index = {w: k for k, w in enumerate(vocab)}
    ids = _pad([[index[w] for w in s] for s in sentences])
    lengths = np.array([len(s) - 1 for s in sentences], np.int32)  # inputs: all but last
    mask = np.arange(ids.shape[1] - 1)[None, :] < lengths[:, None]
    return ids[:, :-1], ids[:, 1:], lengths, mask


def _update(model: LanguageModel, batch, optimizer):
    """The jitted training step ``(params, opt_state) -> (params, opt_state, loss)``:
    one full-batch update of the masked mean next-token cross-entropy over ``batch``
    (:func:`_batch`)."""
    inputs, targets, lengths, mask = batch

    def loss_fn(params):
        logits = model.apply({'params': params}, inputs, seq_lengths=lengths)
        losses = optax.softmax_cross_entropy_with_integer_labels(logits, targets)
        return jnp.sum(losses * mask) / jnp.sum(mask)

    @jax.jit
    def step(params, opt_state):
        loss, grads = jax.value_and_grad(loss_fn)(params)
        updates, opt_state = optimizer.update(grads, opt_state, params)
        return optax.apply_updates(params, updates), opt_state, loss

    return step


def step_times(models: dict, rounds: int = 30, learning_rate: float = 1e-2) -> dict:
    """The time of one training step of each model, measured fairly: every model's
    update compiled and warmed up first, then ``rounds`` rounds in which each runs in
    turn, the order rotating (the benchmark suite's method, :mod:`jaxrnn._timing`).

    Args:
      models: ``{name: Trained}`` (from :func:`train` or :func:`load`).
      rounds: how many timed steps per model.
      learning_rate: Adam's learning rate (the steps update copies; the models keep
        their parameters).

    Returns:
      ``{name: stats}`` with ``median_s``, ``p25_s``, ``p75_s``, ``min_s``, ``rounds``
      and ``times_s`` (seconds).

    Examples:
      >>> from jaxrnn import teach
      >>> models = {cell: teach.shipped(cell) for cell in teach.CELLS}
      >>> times = teach.step_times(models, rounds=3)
      >>> sorted(times), times['gru']['rounds'], times['gru']['median_s'] > 0
      (['gru', 'lstm'], 3, True)
    """
    from jaxrnn import _timing

    runs = {}
    for name, trained in models.items():
        optimizer = optax.adam(learning_rate)
        step = _update(trained.model, _batch(trained.vocab), optimizer)
        state = (trained.params, optimizer.init(trained.params))
        compiled = step.lower(*state).compile()
        runs[name] = functools.partial(lambda c, s: jax.block_until_ready(c(*s)), compiled, state)
    return _timing.interleaved(runs, rounds)


def train(
    cell: str,
    *,
    steps: int = 300,
    seed: int = 0,
    embed: int = 16,
    hidden: int = 32,
    learning_rate: float = 1e-2,
    progress: Callable[[int, float], None] | None = None,
    sentences: list[list[str]] | None = None,
) -> Trained:
    """Trains a :class:`LanguageModel` on :func:`corpus` (or on ``sentences``) to
    predict the next word.

    Every sentence of the corpus is one sequence of the batch (padded with ``'<pad>'``
    to the longest); the model reads all tokens but the last and is scored on the next
    token at every step. Each of the ``steps`` steps is one full-batch Adam update of
    the mean cross-entropy over the valid steps (padding masked out of the loss and, by
    ``seq_lengths``, out of the recurrent layer)::

      loss = sum over sequences b and steps s < len_b - 1 of
             -log softmax(logits[b, s])[token[b, s + 1]]  /  (number of such steps)

    The first step compiles the update, which takes a few seconds on a CPU.

    Args:
      cell: ``'lstm'`` or ``'gru'`` (one of :data:`CELLS`).
      steps: the number of Adam steps.
      seed: the seed of the parameters' initialization (``jax.random.key(seed)``).
      embed: the embedding size.
      hidden: the recurrent layer's hidden size.
      learning_rate: Adam's learning rate.
      progress: called as ``progress(step, loss)`` after each step (``step`` from 1).
      sentences: a teacher's own text, one token list per sequence (``jaxrnn trace
        --corpus`` reads it with :func:`jaxrnn.teach.lessons.units.read_corpus`); the
        vocabulary is then its tokens. Default: :func:`corpus`.

    The update is compiled and run once on the initial state (its result discarded)
    before the steps are timed, so ``seconds`` leaves out compilation; it still times
    this model alone (:func:`step_times` compares models fairly).

    Returns:
      The :class:`Trained` model with ``losses`` (one per step) and ``seconds``.

    Raises:
      TeachError: ``cell`` is not one of :data:`CELLS`.

    Examples:
      Training compiles the update first and takes seconds, so this example is not run
      here (``jaxrnn demo`` runs it)::

        trained = teach.train('gru', steps=60, progress=lambda step, loss: None)
        tokens, trace, next_words = trained.trace('I love myself')
        len(trained.losses)  # 60

      An unknown cell fails at once:

      >>> from jaxrnn import teach
      >>> try:
      ...     teach.train('rnn')
      ... except teach.TeachError as e:
      ...     print(e)
      unknown cell 'rnn'; choose one of lstm, gru.
    """
    if cell not in CELLS:
        raise TeachError(f'unknown cell {cell!r}; choose one of {", ".join(CELLS)}.')
    sentences = corpus() if sentences is None else sentences
    vocab = vocabulary(sentences)
    model = LanguageModel(len(vocab), cell, embed, hidden)
    batch = _batch(vocab, sentences)
    params = model.init(jax.random.key(seed), batch[0])['params']
    optimizer = optax.adam(learning_rate)
    opt_state = optimizer.init(params)
    step = _update(model, batch, optimizer)
    compiled = step.lower(params, opt_state).compile()
    jax.block_until_ready(compiled(params, opt_state))  # warm-up, its result discarded
    losses, seconds = [], 0.0
    for k in range(steps):
        start = time.perf_counter()
        params, opt_state, loss = compiled(params, opt_state)
        losses.append(float(loss))  # waits for the step
        seconds += time.perf_counter() - start
        if progress is not None:
            progress(k + 1, losses[-1])
    return Trained(cell, vocab, jax.device_get(params), embed, hidden, tuple(losses), seconds)
