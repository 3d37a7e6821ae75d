"""Training stability in bfloat16: an LSTM and a GRU character language model trained in
bfloat16 compute and in float32 from the same initialisation, on the same batches.

  python -m benchmarks.stability [--steps 10000] [--out benchmarks/results/bf16-stability]

bfloat16 compute is jaxrnn's ``dtype=jnp.bfloat16`` on the recurrent cell, the embedding
and the readout: every matmul takes bfloat16 operands, while the parameters, the carry,
the gate math and every accumulation stay in float32 (the parameters are float32; Adam
updates them in float32). Per logged step it records both runs' loss and global gradient
norm; it reports whether any loss or gradient was NaN or inf, the final loss (mean of the
last tenth of the steps) of each run, their relative difference against ``--tolerance``,
and the ratio of gradient norms over training, and draws the curves.

The data is a synthetic character language (fixed seed, no download): words drawn with
Zipf frequencies from a random lexicon, sentences with nested brackets, so a model gains
from remembering which brackets are open.
"""

from __future__ import annotations

import argparse
import json
import pathlib
import platform
import sys
import time

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import optax

import jaxrnn
import jaxrnn.linen as jl

LETTERS = 'abcdefghijklmnopqrst'
ALPHABET = LETTERS + ' ().\n'


def language(num_chars: int, seed: int = 0) -> np.ndarray:
    """``[num_chars]`` int32 character ids of the synthetic language."""
    rng = np.random.default_rng(seed)
    lexicon = [''.join(rng.choice(list(LETTERS), rng.integers(2, 8))) for _ in range(300)]
    zipf = 1.0 / np.arange(1, len(lexicon) + 1)
    zipf /= zipf.sum()
    out: list[str] = []
    size = 0
    while size < num_chars:
        depth, words = 0, []
        for _ in range(rng.integers(4, 16)):
            if depth < 3 and rng.random() < 0.15:
                words.append('(')
                depth += 1
            words.append(lexicon[rng.choice(len(lexicon), p=zipf)])
            if depth and rng.random() < 0.25:
                words.append(')')
                depth -= 1
        words.extend(')' * depth)
        sentence = ' '.join(words).replace('( ', '(').replace(' )', ')') + '.\n'
        out.append(sentence)
        size += len(sentence)
    text = ''.join(out)[:num_chars]
    return np.array([ALPHABET.index(c) for c in text], np.int32)


class LanguageModel(nn.Module):
    """Embedding, one recurrent layer, readout; ``dtype`` is every layer's computation
    dtype (parameters float32)."""

    cell: str
    hidden: int
    dtype: jnp.dtype

    @nn.compact
    def __call__(self, tokens):
        x = nn.Embed(len(ALPHABET), 32, dtype=self.dtype)(tokens)
        cls = {'lstm': jl.LSTMCell, 'gru': jl.GRUCell}[self.cell]
        h = jl.RNN(cls(self.hidden, dtype=self.dtype))(x)
        return nn.Dense(len(ALPHABET), dtype=self.dtype)(h).astype(jnp.float32)


def batches(data: np.ndarray, batch: int, length: int, steps: int, seed: int = 1):
    """``[steps, batch, length + 1]`` windows at random offsets (the same for both runs)."""
    rng = np.random.default_rng(seed)
    starts = rng.integers(0, len(data) - length - 1, (steps, batch))
    return data[starts[..., None] + np.arange(length + 1)]


def train(cell: str, dtype, params, windows: np.ndarray, hidden: int, log_every: int):
    """Adam from ``params``; returns per logged step ``(loss, grad_norm)`` arrays and
    whether any loss or gradient was not finite."""
    model = LanguageModel(cell, hidden, dtype)
    opt = optax.chain(optax.clip_by_global_norm(1.0), optax.adam(3e-3))
    state = opt.init(params)

    @jax.jit
    def step(params, state, window):
        def loss_fn(p):
            logits = model.apply({'params': p}, window[:, :-1])
            return optax.softmax_cross_entropy_with_integer_labels(logits, window[:, 1:]).mean()

        loss, grads = jax.value_and_grad(loss_fn)(params)
        finite = jnp.isfinite(loss) & jnp.all(
            jnp.array([jnp.all(jnp.isfinite(g)) for g in jax.tree.leaves(grads)])
        )
        updates, state = opt.update(grads, state, params)
        return optax.apply_updates(params, updates), state, loss, optax.tree.norm(grads), finite

    losses, norms, all_finite = [], [], True
    for k, window in enumerate(windows):
        params, state, loss, norm, finite = step(params, state, window)
        all_finite &= bool(finite)
        if k % log_every == 0 or k == len(windows) - 1:
            losses.append(float(loss))
            norms.append(float(norm))
    return np.array(losses), np.array(norms), all_finite


def compare(cell: str, steps: int, hidden: int, batch: int, length: int, log_every: int):
    """Both runs of one cell from one initialisation; the summary dict."""
    data = language(200_000)
    windows = batches(data, batch, length, steps)
    model = LanguageModel(cell, hidden, jnp.float32)
    params = model.init(jax.random.key(0), windows[0, :, :-1])['params']
    runs = {}
    for name, dtype in (('float32', jnp.float32), ('bfloat16', jnp.bfloat16)):
        start = time.perf_counter()
        losses, norms, finite = train(cell, dtype, params, windows, hidden, log_every)
        runs[name] = dict(
            loss=losses.tolist(),
            grad_norm=norms.tolist(),
            finite=finite,
            seconds=time.perf_counter() - start,
        )
    tail = max(1, len(runs['float32']['loss']) // 10)
    final = {k: float(np.mean(v['loss'][-tail:])) for k, v in runs.items()}
    ratio = np.array(runs['bfloat16']['grad_norm']) / np.array(runs['float32']['grad_norm'])
    return dict(
        cell=cell,
        steps=steps,
        runs=runs,
        final_loss=final,
        relative_difference=(final['bfloat16'] - final['float32']) / final['float32'],
        grad_norm_ratio=dict(
            median=float(np.median(ratio)), min=float(ratio.min()), max=float(ratio.max())
        ),
    )


def plot(results: list[dict], path: pathlib.Path, log_every: int):
    import matplotlib

    matplotlib.use('Agg')
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(2, len(results), figsize=(6 * len(results), 7), squeeze=False)
    for col, r in enumerate(results):
        steps = np.arange(len(r['runs']['float32']['loss'])) * log_every
        for name, style in (('float32', '-'), ('bfloat16', '--')):
            axes[0, col].plot(steps, r['runs'][name]['loss'], style, label=name, lw=1)
        axes[0, col].set_title(f'{r["cell"].upper()}: training loss')
        axes[0, col].set_ylabel('cross-entropy (nats/char)')
        axes[0, col].legend()
        ratio = np.array(r['runs']['bfloat16']['grad_norm']) / np.array(
            r['runs']['float32']['grad_norm']
        )
        axes[1, col].plot(steps, ratio, lw=1)
        axes[1, col].axhline(1.0, color='k', lw=0.5)
        axes[1, col].set_title('gradient norm, bfloat16 / float32')
        axes[1, col].set_xlabel('step')
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main(argv=None) -> list[dict]:
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--steps', type=int, default=10_000)
    parser.add_argument('--cells', default='lstm,gru')
    parser.add_argument('--hidden', type=int, default=128)
    parser.add_argument('--batch', type=int, default=16)
    parser.add_argument('--length', type=int, default=64)
    parser.add_argument('--log-every', type=int, default=10)
    parser.add_argument('--tolerance', type=float, default=0.03)
    parser.add_argument('--out', default=None, help='write results.json and losses.png here')
    args = parser.parse_args(argv)
    results = []
    for cell in args.cells.split(','):
        r = compare(cell, args.steps, args.hidden, args.batch, args.length, args.log_every)
        r['within_tolerance'] = abs(r['relative_difference']) <= args.tolerance
        results.append(r)
        print(
            f'{cell}: {args.steps} steps; final loss float32 {r["final_loss"]["float32"]:.4f}, '
            f'bfloat16 {r["final_loss"]["bfloat16"]:.4f} '
            f'({100 * r["relative_difference"]:+.2f}%, tolerance {100 * args.tolerance:.0f}%); '
            f'all finite: float32 {r["runs"]["float32"]["finite"]}, '
            f'bfloat16 {r["runs"]["bfloat16"]["finite"]}; gradient norm ratio median '
            f'{r["grad_norm_ratio"]["median"]:.3f} '
            f'[{r["grad_norm_ratio"]["min"]:.3f}, {r["grad_norm_ratio"]["max"]:.3f}]'
        )
    if args.out:
        out = pathlib.Path(args.out)
        out.mkdir(parents=True, exist_ok=True)
        meta = dict(
            command='python -m benchmarks.stability ' + ' '.join(argv or sys.argv[1:]),
            args=vars(args),
            jax=jax.__version__,
            jaxrnn=jaxrnn.__version__ if hasattr(jaxrnn, '__version__') else None,
            machine=platform.machine(),
            devices=[str(d) for d in jax.devices()],
        )
        (out / 'results.json').write_text(json.dumps(dict(meta=meta, results=results)))
        plot(results, out / 'losses.png', args.log_every)
    return results


if __name__ == '__main__':
    main()
