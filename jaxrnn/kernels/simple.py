r"""Simple (Elman) RNN: the baseline the gated cells are compared with::

  h' = tanh(x W_ih + b + h W_hh)          # or relu, with activation='relu'

The carry is ``h``.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Any, ClassVar, Literal, overload

import jax
import jax.numpy as jnp

from jaxrnn.kernels import _api, _math
from jaxrnn.kernels._types import SequenceOptions, SimpleParams, SimpleTrace, Step

if TYPE_CHECKING:
    from typing_extensions import Unpack

    from jaxrnn.kernels._backend import Backend

Array = jax.Array

ACTIVATIONS = ('tanh', 'relu')


@dataclasses.dataclass(frozen=True)
class Simple:
    """The simple RNN cell (:class:`jaxrnn.kernels._types.Cell`).

    Attributes:
      activation: ``'tanh'`` or ``'relu'``.

    Examples:
      >>> from jaxrnn import kernels
      >>> kernels.Simple().gates, kernels.Simple(activation='relu').activation
      (('a',), 'relu')
    """

    activation: str = 'tanh'
    name: ClassVar[str] = 'simple'
    title: ClassVar[str] = 'simple RNN'
    gates: ClassVar[tuple[str, ...]] = ('a',)
    carry: ClassVar[tuple[str, ...]] = ('h',)
    params_type: ClassVar[type] = SimpleParams
    trace_type: ClassVar[type] = SimpleTrace
    cudnn: ClassVar[bool] = False

    def __post_init__(self):
        if self.activation not in ACTIVATIONS:
            raise ValueError(f'activation must be one of {ACTIVATIONS}, got {self.activation!r}.')

    @property
    def saved(self) -> tuple[str, ...]:
        return ()

    def step(self, x, hw, state, extras) -> Step:
        (h,) = state
        (a,) = (x_k + h_k for x_k, h_k in zip(x, hw(h), strict=True))
        h_new = jnp.tanh(a) if self.activation == 'tanh' else jax.nn.relu(a)
        return Step((h_new,), h_new, ())

    def step_bwd(self, saved, prev, y, dstate, hwt):
        """Hand-written backward of :meth:`step`; see ``LSTM.step_bwd``."""
        (dh,) = dstate
        if self.activation == 'tanh':
            da = dh * _math.dtanh(y)
        else:
            da = jnp.where(y > 0, dh, jnp.zeros_like(dh))
        return (da,), (hwt((da,)),)

    def recurrent_grads(self, dx, saved, prev, outer):
        (h_prev,) = prev
        return (outer(h_prev, dx),)


@overload
def simple_rnn(
    params: SimpleParams,
    xs: Array,
    carry: Array | None = None,
    *,
    activation: str = 'tanh',
    trace: Literal[False] = False,
    **options: Unpack[SequenceOptions],
) -> tuple[Array, Array]: ...


@overload
def simple_rnn(
    params: SimpleParams,
    xs: Array,
    carry: Array | None = None,
    *,
    activation: str = 'tanh',
    trace: Literal[True],
    **options: Unpack[SequenceOptions],
) -> tuple[Array, Array, SimpleTrace]: ...


def simple_rnn(
    params: SimpleParams,
    xs: Array,
    carry: Array | None = None,
    *,
    seq_lengths: Array | None = None,
    reverse: bool = False,
    time_major: bool = False,
    unroll: int = 1,
    activation: str = 'tanh',
    dtype=None,
    precision=None,
    trace: bool = False,
    backend: Backend = 'auto',
    checkpoint_every: int | str | None = None,
) -> tuple[Any, ...]:
    """Runs a simple RNN over a sequence (arguments as :func:`jaxrnn.kernels.lstm`).

    Args:
      params: :class:`SimpleParams` (``input_kernel [i, h]``, ``recurrent_kernel
        [h, h]``, ``bias [h]``).
      activation: ``'tanh'`` (Elman, default) or ``'relu'``.
      trace: also return a :class:`SimpleTrace`.
      backend: ``'auto'``, ``'xla'``, ``'pallas'`` or ``'native'``; ``'cudnn'`` raises
        (JAX binds no cuDNN simple RNN).

    Returns:
      ``(h, ys)``, or ``(h, ys, trace)``.

    Examples:
      >>> import jax, jax.numpy as jnp
      >>> from jaxrnn import kernels
      >>> shapes = kernels.param_shapes(kernels.Simple(), 3, 4)
      >>> keys = jax.random.split(jax.random.key(0), len(shapes))
      >>> params = kernels.SimpleParams(*(0.5 * jax.random.normal(k, s)
      ...                                 for k, s in zip(keys, shapes.values())))
      >>> xs = jax.random.normal(jax.random.key(1), (2, 5, 3))
      >>> h, ys = kernels.simple_rnn(params, xs)
      >>> h.shape, bool((jnp.abs(ys) < 1).all())                # tanh: in (-1, 1)
      ((2, 4), True)
      >>> h, ys = kernels.simple_rnn(params, xs, activation='relu')
      >>> bool((ys >= 0).all())
      True
    """
    return _api.run_sequence(
        Simple(activation),
        params,
        xs,
        carry,
        seq_lengths=seq_lengths,
        reverse=reverse,
        time_major=time_major,
        unroll=unroll,
        dtype=dtype,
        precision=precision,
        trace=trace,
        backend=backend,
        checkpoint_every=checkpoint_every,
    )


def simple_step(
    params: SimpleParams,
    carry: Array,
    x: Array,
    *,
    activation: str = 'tanh',
    dtype=None,
    precision=None,
) -> tuple[Array, Array]:
    """One simple-RNN step with exactly the math of :func:`simple_rnn`.

    Examples:
      >>> import jax, jax.numpy as jnp
      >>> from jaxrnn import kernels
      >>> params = kernels.SimpleParams(jnp.eye(3, 4), jnp.zeros((4, 4)), jnp.zeros(4))
      >>> h, y = kernels.simple_step(params, jnp.zeros((1, 4)), jnp.array([[1.0, 0.0, -1.0]]))
      >>> h                                                     # tanh(x W_ih + b + h W_hh)
      Array([[ 0.7615942,  0.       , -0.7615942,  0.       ]], dtype=float32)
    """
    return _api.run_step(Simple(activation), params, carry, x, dtype=dtype, precision=precision)
