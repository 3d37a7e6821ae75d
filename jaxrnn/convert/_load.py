"""Strict loading of a converted params tree into a jaxrnn model."""

from __future__ import annotations

from typing import Any, Mapping

import jax
import jax.numpy as jnp
import numpy as np

from jaxrnn.convert import _common


def check(params: Mapping, reference: Mapping, holder: str = 'the model'):
    """Raises unless ``params`` has exactly the leaves of ``reference`` (an array tree or
    an abstract one of ``jax.ShapeDtypeStruct``) with their shapes and dtypes; errors name
    the leaf's path and ``holder`` (what ``reference`` describes)."""
    ours = dict(_common.flatten(params))
    theirs = dict(_common.flatten(reference))
    missing = sorted(set(theirs) - set(ours), key=str)
    extra = sorted(set(ours) - set(theirs), key=str)
    if missing:
        raise ValueError(
            f'params are missing {_common.path_str(missing[0])} (and {len(missing) - 1} more).'
        )
    if extra:
        raise ValueError(
            f'params have {_common.path_str(extra[0])}, which {holder} does not '
            f'(and {len(extra) - 1} more).'
        )
    for key, ref in theirs.items():
        value, where = ours[key], f'params{_common.path_str(key)}'
        if tuple(np.shape(value)) != tuple(np.shape(ref)):
            raise ValueError(
                f'{where} has shape {tuple(np.shape(value))}; {holder} expects '
                f'{tuple(np.shape(ref))}.'
            )
        if np.dtype(jnp.result_type(value)) != np.dtype(jnp.result_type(ref)):
            raise TypeError(
                f'{where} is {jnp.result_type(value)}; {holder} holds {jnp.result_type(ref)}.'
            )


def load(params: Mapping, target) -> Any:
    """Checks a params tree against a model's and loads it.

    Args:
      params: a converted tree (e.g. from :func:`from_torch`).
      target: a ``jaxrnn.nnx`` module (stack, ``RNN`` or cell): the parameters are
        written in place and the module is returned. Or a Linen params tree (for
        example ``model.init(...)['params']``): the checked params are returned as JAX
        arrays, ready for ``model.apply({'params': ...}, x)``.

    Raises:
      ValueError, TypeError: a missing or extra key, or a shape or dtype that differs
        from the model's (nothing is reshaped or cast).

    Examples:
      >>> import jax.numpy as jnp
      >>> from flax import nnx
      >>> import jaxrnn.nnx as jn
      >>> from jaxrnn import convert
      >>> source = jn.GRU(3, 4, rngs=nnx.Rngs(0))
      >>> target = jn.GRU(3, 4, rngs=nnx.Rngs(1))
      >>> params = nnx.to_pure_dict(nnx.state(source, nnx.Param))
      >>> _ = convert.load(params, target)                      # checks keys, shapes, dtypes
      >>> x = jnp.ones((2, 5, 3))
      >>> bool((source(x) == target(x)).all())
      True
    """
    from flax import nnx

    if isinstance(target, nnx.Module):
        reference = nnx.to_pure_dict(nnx.state(target, nnx.Param))
        check(params, reference)
        nnx.update(target, jax.tree.map(jnp.asarray, dict(params)))
        return target
    if isinstance(target, Mapping):
        check(params, target)
        return jax.tree.map(jnp.asarray, dict(params))
    raise TypeError(
        f'load target must be a flax.nnx Module or a params dict, got {type(target).__name__}.'
    )
