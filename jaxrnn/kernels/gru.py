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

import jax
import jax.numpy as jnp

from jaxrnn.kernels import _api, _math
from jaxrnn.kernels._types import GRUParams, GRUTrace

Array = jax.Array


@dataclasses.dataclass(frozen=True)
class GRU:
    """Cell definition used by the sequence driver (see ``_scan``)."""

    reset_after: bool = True
    params_type = GRUParams
    trace_type = GRUTrace
    num_gates = 3
    carry_names = ('h',)

    def recurrent(self, p: GRUParams):
        return (p.recurrent_kernel, p.recurrent_bias)

    def prepare(self, rec, cdt, acc):
        w_hh, b_hn = rec
        return (w_hh.astype(cdt), b_hn.astype(acc))

    def step(self, rec, xp, state, cdt, acc, precision):
        w_hh, b_hn = rec
        (h,) = state
        x_r, x_z, x_n = jnp.split(xp, 3, axis=-1)
        hsize = h.shape[-1]
        if self.reset_after:
            hh = _math.dot(h, w_hh, cdt, acc, precision)
            h_r, h_z, h_n = jnp.split(hh, 3, axis=-1)
            h_n = h_n + _math.row(b_hn)
            r = jax.nn.sigmoid(x_r + h_r)
            z = jax.nn.sigmoid(x_z + h_z)
            n = jnp.tanh(x_n + r * h_n)
            res = (jnp.concatenate([r, z, n, h_n], axis=-1),)
        else:
            h_rz = _math.dot(h, w_hh[:, : 2 * hsize], cdt, acc, precision)
            h_r, h_z = jnp.split(h_rz, 2, axis=-1)
            r = jax.nn.sigmoid(x_r + h_r)
            z = jax.nn.sigmoid(x_z + h_z)
            h_n = _math.dot(r * h, w_hh[:, 2 * hsize :], cdt, acc, precision) + _math.row(b_hn)
            n = jnp.tanh(x_n + h_n)
            res = (jnp.concatenate([r, z, n], axis=-1),)
        h_new = (1 - z) * n + z * h
        return (h_new,), h_new, res

    def state_sequence(self, ys, res):
        return (ys,)

    def trace(self, ys, res) -> GRUTrace:
        (saved,) = res
        hsize = ys.shape[-1]
        r, z, n = (saved[..., k * hsize : (k + 1) * hsize] for k in range(3))
        return GRUTrace(r, z, n, ys)

    def step_bwd(self, rec, res, prev, y, dstate, cdt, acc, precision):
        w_hh, _ = rec
        (h_prev,) = prev
        (dh,) = dstate
        hsize = h_prev.shape[-1]
        (saved,) = res
        r, z, n = (saved[..., k * hsize : (k + 1) * hsize] for k in range(3))
        dz = dh * (h_prev - n)
        da_n = dh * (1 - z) * _math.dtanh(n)
        dh_prev = dh * z
        if self.reset_after:
            h_n = saved[..., 3 * hsize :]
            da_r = da_n * h_n * _math.dsigmoid(r)
            da_z = dz * _math.dsigmoid(z)
            dhh = jnp.concatenate([da_r, da_z, da_n * r], axis=-1)
            dh_prev = dh_prev + _math.dot_t(dhh, w_hh, cdt, acc, precision)
        else:
            d_rh = _math.dot_t(da_n, w_hh[:, 2 * hsize :], cdt, acc, precision)
            da_r = d_rh * h_prev * _math.dsigmoid(r)
            da_z = dz * _math.dsigmoid(z)
            dh_prev = (
                dh_prev
                + d_rh * r
                + _math.dot_t(
                    jnp.concatenate([da_r, da_z], axis=-1),
                    w_hh[:, : 2 * hsize],
                    cdt,
                    acc,
                    precision,
                )
            )
        return jnp.concatenate([da_r, da_z, da_n], axis=-1), (dh_prev,)

    def recurrent_grads(self, rec, dxp, res, prev, cdt, acc, precision):
        (h_prev,) = prev
        (saved,) = res
        hsize = h_prev.shape[-1]
        r = saved[..., :hsize]
        da_rz, da_n = dxp[..., : 2 * hsize], dxp[..., 2 * hsize :]
        if self.reset_after:
            dhh = jnp.concatenate([da_rz, da_n * r], axis=-1)
            dw_hh = _math.outer_sum(h_prev, dhh, cdt, acc, precision)
            db_hn = jnp.sum(da_n * r, axis=(0, 1))
        else:
            dw_hh = jnp.concatenate(
                [
                    _math.outer_sum(h_prev, da_rz, cdt, acc, precision),
                    _math.outer_sum(r * h_prev, da_n, cdt, acc, precision),
                ],
                axis=-1,
            )
            db_hn = jnp.sum(da_n, axis=(0, 1))
        return (dw_hh, db_hn)


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
    backend: str = 'auto',
) -> tuple:
    """Runs a GRU over a sequence with the fused kernel.

    Args:
      params: :class:`GRUParams` (``input_kernel [i, 3h]``, ``recurrent_kernel [h, 3h]``,
        ``bias [3h]``, ``recurrent_bias [h]``), gate order (r, z, n).
      xs: ``[*batch, t, i]``, or ``[t, *batch, i]`` when ``time_major``.
      carry: ``h``, ``[*batch, h]``; zeros when ``None``.
      seq_lengths, reverse, time_major, unroll, dtype, precision, trace: as in
        :func:`jaxrnn.kernels.lstm` (the trace is a :class:`GRUTrace`).
      backend: ``'auto'``, ``'xla'`` or ``'pallas'`` as in :func:`jaxrnn.kernels.lstm`;
        ``'cudnn'`` raises (JAX binds no cuDNN GRU).
      reset_after: ``True`` (default) for the cuDNN/PyTorch/Keras/Flax form, ``False``
        for Cho et al. (2014).

    Returns:
      ``(h, ys)``: the final carry in the accumulation dtype and the outputs; with
      ``trace=True``, ``(h, ys, trace)``.
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
    """
    return _api.run_step(GRU(reset_after), params, carry, x, dtype=dtype, precision=precision)
