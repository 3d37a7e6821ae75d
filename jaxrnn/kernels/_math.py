"""Small numerical helpers shared by the cells: dots with a computation dtype and a
float32 (or wider) accumulator, and the dtype rules of every kernel.

Dtype rules (Flax's vocabulary):
  * ``cdt``, the computation dtype: the ``dtype`` argument, else the promoted dtype of
    the inputs and parameters. Every matmul takes ``cdt`` operands.
  * ``acc``, the accumulation dtype: ``promote(cdt, float32)``. Matmuls accumulate in it,
    gate math runs in it and the carry is kept in it, so bfloat16/float16 computation
    keeps a float32 carry, and float64 stays float64 end to end.
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

Array = jax.Array
Precision = Any


def dtypes(arrays, dtype) -> tuple[np.dtype, np.dtype]:
    """Returns ``(cdt, acc)`` for the given inputs and optional computation dtype."""
    cdt = jnp.dtype(dtype) if dtype is not None else jnp.result_type(*arrays)
    acc = jnp.promote_types(cdt, jnp.float32)
    return cdt, acc


def _operands(a: Array, w: Array, cdt, acc) -> tuple[Array, Array]:
    """Rounds both operands to ``cdt``.

    On CPU a half-precision ``cdt`` is then widened to ``acc``: XLA:CPU has no kernel for
    some ``bf16 x bf16 -> f32`` dot layouts, and since the product of two bf16/f16 values
    is exact in float32, rounding to ``cdt`` and multiplying in ``acc`` is the same
    arithmetic. GPUs and TPUs keep the native mixed-precision dot.
    """
    a, w = a.astype(cdt), w.astype(cdt)
    if cdt != acc and jax.default_backend() == 'cpu':
        a, w = a.astype(acc), w.astype(acc)
    return a, w


def einsum(spec: str, a: Array, w: Array, cdt, acc, precision) -> Array:
    """``jnp.einsum(spec, a, w)`` with ``cdt`` operands and an ``acc`` result."""
    a, w = _operands(a, w, cdt, acc)
    return jnp.einsum(spec, a, w, precision=precision, preferred_element_type=acc)


def dot(a: Array, w: Array, cdt, acc, precision) -> Array:
    """``a @ w`` for ``a [..., k]``, ``w [k, n]``."""
    return einsum('...k,kn->...n', a, w, cdt, acc, precision)


def dot_t(a: Array, w: Array, cdt, acc, precision) -> Array:
    """``a @ w.T`` for ``a [..., n]``, ``w [k, n]``, without materialising ``w.T``."""
    return einsum('...n,kn->...k', a, w, cdt, acc, precision)


def outer_sum(a: Array, d: Array, cdt, acc, precision) -> Array:
    """``sum_{t,b} a[t,b,:]^T d[t,b,:]``: one ``[k, n]`` matmul over all steps."""
    return einsum('tbk,tbn->kn', a, d, cdt, acc, precision)


def row(v: Array) -> Array:
    """``[n] -> [1, n]``, an explicit broadcast (jaxrnn runs under rank_promotion=raise)."""
    return v[None, :]


def dsigmoid(s: Array) -> Array:
    """sigma'(a) written in terms of s = sigma(a)."""
    return s * (1 - s)


def dtanh(y: Array) -> Array:
    """tanh'(a) written in terms of y = tanh(a)."""
    return 1 - y * y
