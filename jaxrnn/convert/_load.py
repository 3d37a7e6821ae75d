"""Strict loading of a converted params tree into a jaxrnn model."""

from __future__ import annotations

from typing import Any, Mapping

import jax
import jax.numpy as jnp
import numpy as np


def _flatten(tree, prefix=()):
    if isinstance(tree, Mapping):
        for key, value in tree.items():
            yield from _flatten(value, prefix + (key,))
    else:
        yield prefix, tree


def _path(keys) -> str:
    return ''.join(f'[{k!r}]' for k in keys)


def _check(params: Mapping, reference: Mapping):
    ours = dict(_flatten(params))
    theirs = dict(_flatten(reference))
    missing = sorted(set(theirs) - set(ours))
    extra = sorted(set(ours) - set(theirs))
    if missing:
        raise ValueError(f'params are missing {_path(missing[0])} (and {len(missing) - 1} more).')
    if extra:
        raise ValueError(
            f'params have {_path(extra[0])}, which the model does not (and {len(extra) - 1} more).'
        )
    for key, ref in theirs.items():
        value = ours[key]
        if tuple(np.shape(value)) != tuple(np.shape(ref)):
            raise ValueError(
                f'params{_path(key)} has shape {tuple(np.shape(value))}; the model expects '
                f'{tuple(np.shape(ref))}.'
            )
        if np.dtype(jnp.result_type(value)) != np.dtype(jnp.result_type(ref)):
            raise TypeError(
                f'params{_path(key)} is {jnp.result_type(value)}; the model holds '
                f'{jnp.result_type(ref)}.'
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
    """
    from flax import nnx

    if isinstance(target, nnx.Module):
        reference = nnx.to_pure_dict(nnx.state(target, nnx.Param))
        _check(params, reference)
        nnx.update(target, jax.tree.map(jnp.asarray, dict(params)))
        return target
    if isinstance(target, Mapping):
        _check(params, target)
        return jax.tree.map(jnp.asarray, dict(params))
    raise TypeError(
        f'load target must be a flax.nnx Module or a params dict, got {type(target).__name__}.'
    )
