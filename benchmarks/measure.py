"""The GEMM floor and fitted exponents. Timing is :mod:`jaxrnn._timing` (interleaved
rounds, the second of two calls timed, rotating order; medians and percentiles), the
timer ``jaxrnn compare`` uses too. The GEMM floor of a problem is its matmul flops
divided by the best matmul rate measured in the same run on the same device and dtype."""

from __future__ import annotations

from typing import Any, Callable

import jax
import jax.numpy as jnp
import numpy as np

from jaxrnn import _timing


def gemm_rates(dtype: str, size: int = 1024, rounds: int = 10) -> dict[str, float]:
    """Matmul rates (flop/s) of a ``[n, n] x [n, n]`` product in ``dtype``: JAX's and, if
    installed, PyTorch's. The floor uses the best of them."""
    jdt = {'float32': jnp.float32, 'bfloat16': jnp.bfloat16}[dtype]
    rng = np.random.default_rng(0)
    a = jnp.asarray(rng.standard_normal((size, size)), jdt)
    b = jnp.asarray(rng.standard_normal((size, size)), jdt)
    mm = jax.jit(jnp.matmul)
    runs: dict[str, Callable[[], Any]] = {'jax': lambda: jax.block_until_ready(mm(a, b))}
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
    stats = _timing.interleaved(runs, rounds)
    flops = 2.0 * size**3
    return {name: flops / s['median_s'] for name, s in stats.items()}


def fit_exponent(sizes, seconds) -> float:
    """The slope of log(time) against log(size): time ~ size ** exponent."""
    return float(np.polyfit(np.log(sizes), np.log(seconds), 1)[0])
