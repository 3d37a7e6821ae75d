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

    ``params`` must have exactly the model's parameter paths, and at each the model's
    shape and dtype; nothing is reshaped or cast, so a converted tree that does not fit
    raises instead of loading.

    Args:
      params: a converted tree (e.g. from :func:`from_torch` or :func:`from_flax`).
      target: a ``flax.nnx`` module (a ``jaxrnn.nnx`` stack, ``RNN`` or cell, or any
        model holding them): its ``nnx.Param`` variables are written in place and the
        module is returned. Or a Linen params tree, real or abstract (for example
        ``model.init(...)['params']`` or ``jax.eval_shape(model.init, key,
        x)['params']``): the checked params are returned as JAX arrays, ready for
        ``model.apply({'params': ...}, x)``.

    Returns:
      ``target`` (NNX), or the params as JAX arrays (Linen).

    Raises:
      ValueError, TypeError: a missing or extra key, or a shape or dtype that differs
        from the model's (the message names the path); a ``target`` that is neither.

    Examples:
      A ``torch.nn.LSTM``'s weights in a ``jaxrnn.nnx.LSTM``:

      >>> import jax
      >>> import numpy as np
      >>> import torch
      >>> from flax import nnx
      >>> import jaxrnn.linen as jl
      >>> import jaxrnn.nnx as jn
      >>> from jaxrnn import convert
      >>> _ = torch.manual_seed(0)
      >>> torch_lstm = torch.nn.LSTM(3, 4, batch_first=True)
      >>> model = jn.LSTM(3, 4, rngs=nnx.Rngs(0))
      >>> model = convert.load(convert.from_torch(torch_lstm), model)
      >>> x = np.random.default_rng(0).normal(size=(2, 5, 3)).astype(np.float32)
      >>> y_torch, _ = torch_lstm(torch.from_numpy(x))
      >>> bool(np.allclose(model(x), y_torch.detach().numpy(), atol=1e-5))
      True

      Weights that do not fit are refused, naming the parameter:

      >>> convert.load(convert.from_torch(torch.nn.LSTM(3, 8)), model)
      Traceback (most recent call last):
      ...
      ValueError: params['layer_0']['forward']['bias'] has shape (32,); the model expects (16,).

      For Linen, check against the model's (abstract) params:

      >>> linen_model = jl.LSTM(4)
      >>> abstract = jax.eval_shape(linen_model.init, jax.random.key(0), x)['params']
      >>> params = convert.load(convert.from_torch(torch_lstm), abstract)
      >>> bool(np.allclose(linen_model.apply({'params': params}, x), model(x)))
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
