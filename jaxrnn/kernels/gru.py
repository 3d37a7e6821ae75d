r"""GRU: the equations, once, and the public kernels.

Gate order (r, z, n). The default "reset after" form is the one of cuDNN, PyTorch,
Keras (``reset_after=True``) and Flax::

  r  = sigmoid(x W_ir + b_r + h W_hr)
  z  = sigmoid(x W_iz + b_z + h W_hz)
  n  = tanh(x W_in + b_in + r * (h W_hn + b_hn))
  h' = (1 - z) * n + z * h                 # z is the share of the OLD state kept

``reset_after=False`` gives the original form of Cho et al. (2014), where the reset
gate scales the state *before* the recurrent matmul (Keras ``reset_after=False``)::

  n  = tanh(x W_in + b_in + (r * h) W_hn + b_hn)

The carry is ``h``.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Any, ClassVar, Literal, overload

import jax
import jax.numpy as jnp

from jaxrnn.kernels import _api, _math
from jaxrnn.kernels._types import GRUParams, GRUTrace, SequenceOptions, Step

if TYPE_CHECKING:
    from typing_extensions import Unpack

    from jaxrnn.kernels._backend import Backend

Array = jax.Array


@dataclasses.dataclass(frozen=True)
class GRU:
    """The GRU cell (:class:`jaxrnn.kernels._types.Cell`): the equations above, once.

    Attributes:
      reset_after: ``True`` for the cuDNN/PyTorch/Keras/Flax form, ``False`` for Cho et
        al. (2014).

    Examples:
      >>> from jaxrnn import kernels
      >>> kernels.GRU().gates, kernels.GRU().carry
      (('r', 'z', 'n'), ('h',))
      >>> kernels.GRU(reset_after=False) == kernels.GRU(reset_after=False)   # hashable, static
      True
    """

    reset_after: bool = True
    name: ClassVar[str] = 'gru'
    title: ClassVar[str] = 'GRU'
    gates: ClassVar[tuple[str, ...]] = ('r', 'z', 'n')
    carry: ClassVar[tuple[str, ...]] = ('h',)
    params_type: ClassVar[type] = GRUParams
    trace_type: ClassVar[type] = GRUTrace
    cudnn: ClassVar[bool] = False

    @property
    def saved(self) -> tuple[str, ...]:
        # h_n = h W_hn + b_hn: the reset-after backward needs it; recomputing it would
        # cost a matmul per step.
        return ('r', 'z', 'n', 'h_n') if self.reset_after else ('r', 'z', 'n')

    def step(self, x, hw, state, extras) -> Step:
        x_r, x_z, x_n = x
        (b_hn,) = extras
        (h,) = state
        if self.reset_after:
            h_r, h_z, h_n = hw(h)
            h_n = h_n + b_hn
        else:
            h_r, h_z = hw(h, 0, 2)
        r = jax.nn.sigmoid(x_r + h_r)
        z = jax.nn.sigmoid(x_z + h_z)
        saved: tuple[Array, ...]
        if self.reset_after:
            n = jnp.tanh(x_n + r * h_n)
            saved = (r, z, n, h_n)
        else:
            (rh_n,) = hw(r * h, 2, 3)
            n = jnp.tanh(x_n + rh_n + b_hn)
            saved = (r, z, n)
        h_new = (1 - z) * n + z * h
        return Step((h_new,), h_new, saved)

    def step_bwd(self, saved, prev, y, dstate, hwt):
        """Hand-written backward of :meth:`step`; see ``LSTM.step_bwd``."""
        r, z, n = saved[:3]
        (h_prev,) = prev
        (dh,) = dstate
        dz = dh * (h_prev - n)
        da_n = dh * (1 - z) * _math.dtanh(n)
        da_z = dz * _math.dsigmoid(z)
        if self.reset_after:
            da_r = da_n * saved[3] * _math.dsigmoid(r)
            dh_prev = dh * z + hwt((da_r, da_z, da_n * r))
        else:
            d_rh = hwt((da_n,), 2)
            da_r = d_rh * h_prev * _math.dsigmoid(r)
            dh_prev = dh * z + d_rh * r + hwt((da_r, da_z))
        return (da_r, da_z, da_n), (dh_prev,)

    def recurrent_grads(self, dx, saved, prev, outer):
        """``(dW_hh, db_hn)``, each one matmul (or sum) over all steps."""
        (h_prev,) = prev
        r = saved[0]
        hsize = h_prev.shape[-1]
        da_rz, da_n = dx[..., : 2 * hsize], dx[..., 2 * hsize :]
        if self.reset_after:
            dh_n = da_n * r
            dw_hh = outer(h_prev, jnp.concatenate([da_rz, dh_n], axis=-1))
            return (dw_hh, jnp.sum(dh_n, axis=(0, 1)))
        dw_hh = jnp.concatenate([outer(h_prev, da_rz), outer(r * h_prev, da_n)], axis=-1)
        return (dw_hh, jnp.sum(da_n, axis=(0, 1)))


@overload
def gru(
    params: GRUParams,
    xs: Array,
    carry: Array | None = None,
    *,
    reset_after: bool = True,
    trace: Literal[False] = False,
    **options: Unpack[SequenceOptions],
) -> tuple[Array, Array]: ...


@overload
def gru(
    params: GRUParams,
    xs: Array,
    carry: Array | None = None,
    *,
    reset_after: bool = True,
    trace: Literal[True],
    **options: Unpack[SequenceOptions],
) -> tuple[Array, Array, GRUTrace]: ...


def gru(
    params: GRUParams,
    xs: Array,
    carry: Array | None = None,
    *,
    seq_lengths: Array | None = None,
    reverse: bool = False,
    time_major: bool = False,
    unroll: int = 1,
    reset_after: bool = True,
    dtype=None,
    precision=None,
    trace: bool = False,
    backend: Backend = 'auto',
    checkpoint_every: int | str | None = None,
) -> tuple[Any, ...]:
    """Runs a GRU over a sequence with the fused kernel.

    Args:
      params: :class:`GRUParams` (``input_kernel [i, 3h]``, ``recurrent_kernel [h, 3h]``,
        ``bias [3h]``, ``recurrent_bias [h]``), gate order (r, z, n).
      xs: ``[*batch, t, i]``, or ``[t, *batch, i]`` when ``time_major``.
      carry: ``h``, ``[*batch, h]``; zeros when ``None``.
      seq_lengths: as in :func:`jaxrnn.kernels.lstm`, and so are ``reverse``,
        ``time_major``, ``unroll``, ``dtype``, ``precision``, ``trace`` (here a
        :class:`GRUTrace`) and ``checkpoint_every``.
      backend: ``'auto'``, ``'xla'``, ``'pallas'`` or ``'native'`` as in
        :func:`jaxrnn.kernels.lstm`; ``'cudnn'`` raises (JAX binds no cuDNN GRU).
      reset_after: ``True`` (default) for the cuDNN/PyTorch/Keras/Flax form, ``False``
        for Cho et al. (2014).

    Returns:
      ``(h, ys)``: the final carry in the accumulation dtype and the outputs; with
      ``trace=True``, ``(h, ys, trace)``.

    Examples:
      >>> import jax, jax.numpy as jnp
      >>> from jaxrnn import kernels
      >>> shapes = kernels.param_shapes(kernels.GRU(), 3, 4)
      >>> shapes
      {'input_kernel': (3, 12), 'recurrent_kernel': (4, 12), 'bias': (12,), 'recurrent_bias': (4,)}
      >>> keys = jax.random.split(jax.random.key(0), len(shapes))
      >>> params = kernels.GRUParams(*(0.5 * jax.random.normal(k, s)
      ...                              for k, s in zip(keys, shapes.values())))
      >>> xs = jax.random.normal(jax.random.key(1), (2, 5, 3))  # [b, t, i]
      >>> h, ys, trace = kernels.gru(params, xs, trace=True)
      >>> h.shape, ys.shape, trace._fields
      ((2, 4), (2, 5, 4), ('r', 'z', 'n', 'h'))
      >>> bool((trace.h == ys).all())                           # the trace's h is the output
      True

      The two forms compute different functions from the same parameters:

      >>> h_before, _ = kernels.gru(params, xs, reset_after=False)   # Cho et al. (2014)
      >>> bool(jnp.allclose(h, h_before))
      False
    """
    return _api.run_sequence(
        GRU(reset_after),
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


def gru_step(
    params: GRUParams,
    carry: Array,
    x: Array,
    *,
    reset_after: bool = True,
    dtype=None,
    precision=None,
) -> tuple[Array, Array]:
    """One GRU step with exactly the math of :func:`gru`.

    Args:
      params: :class:`GRUParams`.
      carry: ``h``, ``[*batch, h]``.
      x: ``[*batch, i]``.

    Returns:
      ``(h', h')``, the output in the computation dtype.

    Examples:
      >>> import jax, jax.numpy as jnp
      >>> from jaxrnn import kernels
      >>> shapes = kernels.param_shapes(kernels.GRU(), 3, 4)
      >>> keys = jax.random.split(jax.random.key(0), len(shapes))
      >>> params = kernels.GRUParams(*(0.5 * jax.random.normal(k, s)
      ...                              for k, s in zip(keys, shapes.values())))
      >>> x = jax.random.normal(jax.random.key(1), (2, 3))      # one step, [b, i]
      >>> h, y = kernels.gru_step(params, jnp.zeros((2, 4)), x)
      >>> h_seq, _ = kernels.gru(params, x[:, None])            # a sequence of one step
      >>> h.shape, bool(jnp.allclose(h, h_seq, atol=1e-6)), bool((h == y).all())
      ((2, 4), True, True)
    """
    return _api.run_step(GRU(reset_after), params, carry, x, dtype=dtype, precision=precision)
