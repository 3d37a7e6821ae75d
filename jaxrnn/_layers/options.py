"""The options that ``jaxrnn.linen`` and ``jaxrnn.nnx`` share, each described once.

A Linen layer holds its options as dataclass attributes, an NNX layer takes them as
constructor keywords; both take the same call keywords, and a call keyword that is not
``None`` overrides the attribute or constructor value of the same name (Flax's rule).
Each class's own docstring names the options it takes from the sets below and describes
only what is its own.
"""

# Where a class adds a keyword of its own (Linen's ``init_key``, NNX's ``rngs``, a cell's
# ``forget_bias``), its signature names that keyword and types the shared ones as
# ``**options: Unpack[...]`` (PEP 692); check_keywords is the run-time half of that typing.

from __future__ import annotations

from typing import Any, Callable, Mapping, TypedDict

import jax
import jax.numpy as jnp
from flax.linen import initializers
from flax.linen.linear import default_kernel_init

Array = jax.Array
Initializer = Callable[..., Array]


class KernelOptions(TypedDict, total=False):
    """The options of every jaxrnn cell, which a stack passes on to each of its cells.

    Linen cells and stacks hold them as attributes, NNX cells and stacks take them as
    constructor keywords; the defaults are Flax's.

    Keyword Args:
      kernel_init: initializer of ``input_kernel [i, G*h]`` (default: lecun_normal, as
        Flax).
      recurrent_kernel_init: initializer of ``recurrent_kernel [h, G*h]``, applied to
        each ``[h, h]`` gate block on its own as Flax's per-gate layers draw it (default:
        orthogonal, as Flax).
      bias_init: initializer of ``bias [G*h]`` and of the GRU's ``recurrent_bias [h]``
        (default: zeros).
      dtype: dtype of the matmuls (default: promoted from the inputs and the
        parameters). The gate math, the carry and every accumulation stay in
        ``promote(dtype, float32)``, so bfloat16 runs keep a float32 carry.
      param_dtype: dtype of the parameters (default: float32). A bfloat16
        ``recurrent_kernel`` is drawn in float32 and cast.
      precision: ``jax.lax.Precision`` of every matmul (default: ``None``).
      backend: implementation of the sequence kernel: ``'auto'`` (default), ``'xla'``,
        ``'cudnn'``, ``'pallas'``, ``'native'`` or an options object of
        :mod:`jaxrnn.kernels` (:class:`~jaxrnn.kernels.XLA`,
        :class:`~jaxrnn.kernels.Pallas`, :class:`~jaxrnn.kernels.CuDNN`,
        :class:`~jaxrnn.kernels.Native`); see :func:`jaxrnn.kernels.lstm`. A single
        step always runs XLA.

    Examples:
      The same options in both frameworks; the parameters are bfloat16, the carry
      stays float32:

      >>> import jax.numpy as jnp
      >>> from flax import nnx
      >>> import jaxrnn.linen as jl
      >>> import jaxrnn.nnx as jn
      >>> options = dict(param_dtype=jnp.bfloat16, bias_init=nnx.initializers.ones)
      >>> linen_cell = jl.GRUCell(4, **options)                  # attributes
      >>> nnx_cell = jn.GRUCell(3, 4, rngs=nnx.Rngs(0), **options)  # constructor keywords
      >>> linen_cell.param_dtype == nnx_cell.param_dtype
      True
      >>> nnx_cell.bias.dtype, nnx_cell.bias[...][:3]
      (dtype(bfloat16), Array([1, 1, 1], dtype=bfloat16))
      >>> nnx_cell.initialize_carry((2, 3)).dtype
      dtype('float32')
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
    """A cell's options: those of :class:`KernelOptions` and ``carry_init``.

    Keyword Args:
      carry_init: initializer of each part of the carry, called as
        ``carry_init(key, [b, h], dtype)`` with ``dtype`` ``promote(param_dtype,
        float32)`` (default: zeros, as Flax).
    """

    carry_init: Initializer | None


class RNNOptions(TypedDict, total=False):
    """The call keywords of ``RNN`` and ``Bidirectional`` (Linen and NNX).

    Besides these, a call takes its framework's key for the initial carry (Linen
    ``init_key``, NNX ``rngs``). A keyword left at ``None`` takes the layer's attribute
    (Linen) or constructor value (NNX) of the same name.

    Keyword Args:
      initial_carry: the carry to start from: ``(c, h)`` for an LSTM cell, ``h``
        otherwise, each ``[b, h]`` (``Bidirectional``: ``(forward, backward)``). By
        default the cell's ``initialize_carry``.
      seq_lengths: integer ``[b]`` lengths of right-padded sequences, in ``[0, t]``.
        Outputs at padded steps are zero and the carry is each sequence's state after
        its last valid step (the initial carry for length 0); Flax leaves the padded
        outputs as the cell computed them and returns the last step's carry for
        length 0.
      return_carry: return ``(carry, outputs)`` instead of ``outputs``.
      time_major: inputs and outputs ``[t, b, ...]`` instead of ``[b, t, ...]``.
      reverse: read each sequence from its last valid step to its first; the outputs
        come in processing order (padding kept at the end) unless ``keep_order``.
        ``Bidirectional`` takes it for Flax's ``RNNBase`` protocol only and raises if it
        is given.
      keep_order: with ``reverse``, put the outputs back in input order (as
        ``reverse``, not for ``Bidirectional``).
      trace: also return every gate at every step, last in the result: an
        :class:`~jaxrnn.kernels.LSTMTrace`, :class:`~jaxrnn.kernels.GRUTrace` or
        :class:`~jaxrnn.kernels.SimpleTrace` of ``[b, t, h]`` arrays in the order of
        the outputs (``Bidirectional``: ``(forward_trace, backward_trace)``, both in
        input order). jaxrnn cells only: another cell is a ValueError.
      checkpoint_every: gradient checkpointing of the fused kernel: ``None`` (none), a
        chunk size ``k`` or ``'auto'`` (``ceil(sqrt(t))``); the forward pass keeps the
        state every ``k`` steps and the backward pass recomputes the rest, chunk by
        chunk (see :func:`jaxrnn.kernels.lstm`). jaxrnn cells only (another cell runs
        step by step, with no custom backward pass to checkpoint: a ValueError).
        ``Bidirectional`` passes it to both RNNs.

    A call returns ``outputs [b, t, h]`` (``Bidirectional``: the two directions merged
    by ``merge_fn``), or ``(carry, outputs)`` with ``return_carry``; with ``trace`` the
    trace is appended: ``(outputs, trace)`` or ``(carry, outputs, trace)``.
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
    """The call keywords of the stacks ``LSTM``, ``GRU`` and ``SimpleRNN`` (Linen and NNX).

    Besides these, a call takes Flax's ``deterministic`` (and NNX's ``rngs``) for the
    dropout. A keyword left at ``None`` takes the stack's attribute (Linen) or
    constructor value (NNX) of the same name.

    Keyword Args:
      initial_carry: the carry to start from, ``carry[layer][direction]`` as the stack
        returns it (zeros when ``None``).
      seq_lengths: integer ``[b]`` lengths of right-padded sequences, as for ``RNN``
        (:class:`RNNOptions`); the backward direction reads each sequence from its last
        valid step.
      return_carry: return ``(carry, outputs)`` instead of ``outputs``.
      time_major: inputs and outputs ``[t, b, ...]`` instead of ``[b, t, ...]``.
      trace: also return every gate at every step, last in the result:
        ``trace[layer][direction]``, each as ``RNN``'s trace, in input order.
      checkpoint_every: gradient checkpointing in every layer and direction, as for
        ``RNN`` (:class:`RNNOptions`).

    A call returns ``outputs [b, t, D*h]`` (``D = 2`` when bidirectional, else 1), or
    ``(carry, outputs)`` with ``return_carry``; with ``trace`` the trace is appended.
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
