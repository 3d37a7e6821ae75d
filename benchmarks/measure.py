"""Method: compile and warm up first; then rounds in which every implementation runs once,
in turn (interleaved, so drift on a shared machine hits all alike); the median and the
spread (25th-75th percentile) of the rounds. The GEMM floor of a problem is its matmul
flops divided by the best matmul rate measured in the same run on the same device and
dtype."""

from __future__ import annotations

import statistics
import time
from typing import Callable

import jax
import jax.numpy as jnp
import numpy as np


def _time(fn: Callable) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def summarize(times: list[float]) -> dict:
    q = np.percentile(times, [25, 75])
    return {
        'median_s': statistics.median(times),
        'p25_s': float(q[0]),
        'p75_s': float(q[1]),
        'min_s': min(times),
        'rounds': len(times),
        'times_s': list(times),
    }


def interleaved(
    runs: dict[str, Callable], rounds: int, min_seconds: float = 0.0, tick: Callable = None
) -> dict[str, dict]:
    """Times every callable ``rounds`` times, round-robin, after one warm-up call each.

    In each round every callable runs twice in a row and the second call is timed: the
    first absorbs what the previous library left behind (thread pools keep spinning for
    a while after their work, PyTorch's OpenMP workers and XLA's alike; on a 2-core
    machine the call right after another library's pays for it: jaxrnn's training step at
    batch 1 measured 4.9 ms straight after PyTorch's and 1.6 ms after its own), and the
    order rotates from round to round so no implementation always follows the same one
    (the median then ignores the rounds where it did). Runs more
    rounds (up to 4x) while the timed calls add up to under ``min_seconds``, so very fast
    calls still get a stable median."""
    for fn in runs.values():
        fn()  # warm-up
    names = list(runs)
    times = {name: [] for name in runs}
    k, spent = 0, 0.0
    while k < rounds or (spent < min_seconds and k < 4 * rounds):
        shift = k % len(names)
        for name in names[shift:] + names[:shift]:  # rotate who follows whom
            fn = runs[name]
            fn()  # settle: not timed
            times[name].append(_time(fn))
            spent += times[name][-1]
        k += 1
        if tick:
            tick()
    return {name: summarize(t) for name, t in times.items()}


def gemm_rates(dtype: str, size: int = 1024, rounds: int = 10) -> dict[str, float]:
    """Matmul rates (flop/s) of a ``[n, n] x [n, n]`` product in ``dtype``: JAX's and, if
    installed, PyTorch's. The floor uses the best of them."""
    jdt = {'float32': jnp.float32, 'bfloat16': jnp.bfloat16}[dtype]
    rng = np.random.default_rng(0)
    a = jnp.asarray(rng.standard_normal((size, size)), jdt)
    b = jnp.asarray(rng.standard_normal((size, size)), jdt)
    mm = jax.jit(jnp.matmul)
    runs = {'jax': lambda: jax.block_until_ready(mm(a, b))}
    try:
        import torch

        device = 'cuda' if torch.cuda.is_available() else 'cpu'
        tdt = {'float32': torch.float32, 'bfloat16': torch.bfloat16}[dtype]
        ta = torch.randn(size, size, device=device, dtype=tdt)
        tb = torch.randn(size, size, device=device, dtype=tdt)

        def torch_mm():
            out = ta @ tb
            if device == 'cuda':
                torch.cuda.synchronize()
            return out

        runs['torch'] = torch_mm
    except ImportError:
        pass
    stats = interleaved(runs, rounds)
    flops = 2.0 * size**3
    return {name: flops / s['median_s'] for name, s in stats.items()}


def fit_exponent(sizes, seconds) -> float:
    """The slope of log(time) against log(size): time ~ size ** exponent."""
    return float(np.polyfit(np.log(sizes), np.log(seconds), 1)[0])
