"""Interleaved wall-clock timing of jitted callables (used by the demo and benchmarks).

Each callable is compiled and warmed up first; then every round times each callable
once, in turn, so drift on a shared machine hits all of them alike. Medians are quoted.
"""

from __future__ import annotations

import statistics
import time
from typing import Any, Callable

import jax


def _run(fn: Callable, args) -> float:
    start = time.perf_counter()
    jax.block_until_ready(fn(*args))
    return time.perf_counter() - start


def interleaved(fns: dict[str, Callable], args: tuple, rounds: int = 20) -> dict[str, Any]:
    """Returns ``{name: {'compile_s', 'median_s', 'min_s', 'max_s', 'times_s'}}``."""
    out = {}
    for name, fn in fns.items():
        out[name] = {'compile_s': _run(fn, args), 'times_s': []}
        _run(fn, args)  # warm-up
    for _ in range(rounds):
        for name, fn in fns.items():
            out[name]['times_s'].append(_run(fn, args))
    for stats in out.values():
        times = stats['times_s']
        stats.update(median_s=statistics.median(times), min_s=min(times), max_s=max(times))
    return out
