"""Interleaved wall-clock timing: the one timer of ``jaxrnn compare`` and the benchmark
suite (``python -m benchmarks``).

Method: one warm-up call each (after compilation); then rounds in which every callable
runs twice in a row and the second call is timed, the order rotating from round to
round (interleaved, so drift on a shared machine hits all alike); the median and the
spread (25th-75th percentile) of the rounds. ``benchmarks/NOTES.md`` (entry 4) says why.
"""

from __future__ import annotations

import statistics
import time
from typing import Any, Callable, Mapping, TypedDict

import numpy as np


class Stats(TypedDict):
    median_s: float
    p25_s: float
    p75_s: float
    min_s: float
    rounds: int
    times_s: list[float]


def seconds(fn: Callable[[], Any]) -> float:
    """The wall-clock time of one call of ``fn`` (which blocks until its result is ready)."""
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def summarize(times: list[float]) -> Stats:
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
    runs: Mapping[str, Callable[[], Any]],
    rounds: int,
    min_seconds: float = 0.0,
    tick: Callable[[], Any] | None = None,
) -> dict[str, Stats]:
    """Times every callable ``rounds`` times, round-robin, after one warm-up call each.

    Each callable takes no arguments and blocks until its result is ready (for a jitted
    function: ``lambda: jax.block_until_ready(f(*args))``).

    In each round every callable runs twice in a row and the second call is timed: the
    first absorbs what the previous library left behind (thread pools keep spinning for
    a while after their work, PyTorch's OpenMP workers and XLA's alike; on a 2-core
    machine the call right after another library's pays for it: jaxrnn's training step at
    batch 1 measured 4.9 ms straight after PyTorch's and 1.6 ms after its own), and the
    order rotates from round to round so no implementation always follows the same one
    (the median then ignores the rounds where it did). Runs more rounds (up to 4x) while
    the timed calls add up to under ``min_seconds``, so very fast calls still get a
    stable median. ``tick`` is called after every round (a progress bar)."""
    for fn in runs.values():
        fn()  # warm-up
    names = list(runs)
    if not names:
        return {}
    times: dict[str, list[float]] = {name: [] for name in runs}
    k, spent = 0, 0.0
    while k < rounds or (spent < min_seconds and k < 4 * rounds):
        shift = k % len(names)
        for name in names[shift:] + names[:shift]:  # rotate who follows whom
            fn = runs[name]
            fn()  # settle: not timed
            times[name].append(seconds(fn))
            spent += times[name][-1]
        k += 1
        if tick is not None:
            tick()
    return {name: summarize(t) for name, t in times.items()}
