"""The keyword sets the Linen and NNX layers share, each declared once.

A Linen layer holds its options as dataclass attributes, an NNX layer as constructor
keywords; both take the same call keywords. Where a framework's class adds its own
keyword (Linen's ``init_key``, NNX's ``rngs``, a cell's ``forget_bias``), its signature
names that keyword and types the shared ones as ``**options: Unpack[...]`` (PEP 692);
:func:`check_keywords` is the run-time half of that typing.
"""

from __future__ import annotations

from typing import Any, Callable, Mapping, TypedDict

import jax
import jax.numpy as jnp
from flax.linen import initializers
from flax.linen.linear import default_kernel_init

Array = jax.Array
Initializer = Callable[..., Array]


class KernelOptions(TypedDict, total=False):
    """What every jaxrnn cell takes, and every stack passes on to each of its cells.

    Keys:
      kernel_init: initializer of ``input_kernel`` (default: lecun_normal, as Flax).
      recurrent_kernel_init: initializer of each ``[h, h]`` gate block of
        ``recurrent_kernel`` (default: orthogonal, as Flax).
      bias_init: initializer of the biases (default: zeros).
      dtype: computation dtype (default: promoted from inputs and params). Carries and
        accumulation stay in float32 (float64 for float64).
      param_dtype: dtype of the parameters (default: float32).
      precision: ``jax.lax.Precision`` of every matmul.
      backend: implementation of the sequence kernel (``'auto'``, ``'xla'``, ``'cudnn'``,
        ``'pallas'``; see :func:`jaxrnn.kernels.lstm`). A single step always runs XLA.
    """

    kernel_init: Initializer
    recurrent_kernel_init: Initializer
    bias_init: Initializer
    dtype: Any
    param_dtype: Any
    precision: Any
    backend: str


KERNEL_DEFAULTS: KernelOptions = {
    'kernel_init': default_kernel_init,
    'recurrent_kernel_init': initializers.orthogonal(),
    'bias_init': initializers.zeros_init(),
    'dtype': None,
    'param_dtype': jnp.float32,
    'precision': None,
    'backend': 'auto',
}


class CellOptions(KernelOptions, total=False):
    """A cell's options: :class:`KernelOptions` and ``carry_init``, the initializer of
    the carry (zeros by default)."""

    carry_init: Initializer | None


class RNNOptions(TypedDict, total=False):
    """The call keywords of ``RNN`` and ``Bidirectional``, besides the framework's key
    (Linen ``init_key``, NNX ``rngs``); ``None`` takes the module's attribute.

    Keys:
      initial_carry: the initial carry; else the cell's ``initialize_carry``.
      seq_lengths: optional integer ``[*batch]`` lengths of right-padded sequences.
      return_carry: return ``(carry, outputs)`` instead of ``outputs``.
      time_major: inputs ``[t, *batch, features]`` instead of ``[*batch, t, features]``.
      reverse, keep_order: as the attributes of ``RNN``; ``Bidirectional`` takes them
        for Flax's ``RNNBase`` protocol only and raises if one is given.
      trace: also return every gate at every step (jaxrnn cells only), last in the
        result.
      checkpoint_every: gradient checkpointing every ``k`` steps, ``'auto'`` or ``None``
        (the attribute); see :func:`jaxrnn.kernels.lstm`. jaxrnn cells only (another
        cell runs step by step, with no custom backward to checkpoint: a ValueError).
        ``Bidirectional`` passes it to both RNNs.
    """

    initial_carry: Any
    seq_lengths: Array | None
    return_carry: bool | None
    time_major: bool | None
    reverse: bool | None
    keep_order: bool | None
    trace: bool
    checkpoint_every: int | str | None


class StackCallOptions(TypedDict, total=False):
    """The call keywords of a stack, besides Flax's ``deterministic`` (and NNX's
    ``rngs``); ``None`` takes the module's attribute.

    Keys:
      initial_carry: ``carry[layer][direction]`` (zeros when ``None``).
      seq_lengths: optional integer ``[*batch]`` lengths of right-padded sequences;
        outputs at padded steps are zero.
      return_carry, time_major: override the attributes.
      trace: also return every gate at every step, ``trace[layer][direction]``, last in
        the result.
      checkpoint_every: gradient checkpointing in every layer and direction (``k``,
        ``'auto'``, or ``None`` for the attribute); see :func:`jaxrnn.kernels.lstm`.
    """

    initial_carry: Any
    seq_lengths: Array | None
    return_carry: bool | None
    time_major: bool | None
    trace: bool
    checkpoint_every: int | str | None


# Each cell kind's own option, and the (cell, stack) that take it.
_ONLY = {
    'forget_bias': ('LSTMCell', 'LSTM'),
    'reset_after': ('GRUCell', 'GRU'),
    'activation': ('SimpleCell', 'SimpleRNN'),
}


def check_keywords(where: str, given: Mapping[str, Any], allowed: type, *, owner: int = -1):
    """A TypeError for a keyword of ``given`` that the TypedDict ``allowed`` does not
    declare, as Python words it for an explicit signature (``where`` is the callee, e.g.
    ``'RNN.__call__'``). ``owner`` 0 (a cell) or 1 (a stack) adds, for another cell
    kind's option, which cell or stack takes it."""
    known = allowed.__required_keys__ | allowed.__optional_keys__  # type: ignore[attr-defined]
    for key in given:
        if key not in known:
            hint = (
                f'; {key} applies to {_ONLY[key][owner]} only'
                if owner >= 0 and key in _ONLY
                else ''
            )
            raise TypeError(f'{where}() got an unexpected keyword argument {key!r}{hint}.')


def override(given: Mapping[str, Any], name: str, module) -> Any:
    """Flax's rule: a call argument that is not ``None`` overrides the attribute."""
    value = given.get(name)
    return getattr(module, name) if value is None else value
