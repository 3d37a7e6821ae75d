"""Everything the layers know about ``jaxrnn.kernels``, in one module.

- The kernel cells: :func:`lstm`, :func:`gru`, :func:`simple` build the cell objects the
  driver runs.
- Their metadata is the cells' own declaration (:class:`jaxrnn.kernels.Cell`, with
  :func:`jaxrnn.kernels.param_shapes`), which the layers read directly.
- The two kernel calls, :func:`sequence` and :func:`step`: a layer calls
  ``_api.run_sequence`` / ``_api.run_step`` directly, with the kernel cell, and leaves to
  them every check they make (inputs, dtypes, feature sizes, carry shapes,
  ``seq_lengths``, ``unroll``, ``trace``, ``backend``, ``checkpoint_every``).
"""

from __future__ import annotations

from typing import Any, NamedTuple

import jax.numpy as jnp

from jaxrnn.kernels import _api
from jaxrnn.kernels.gru import GRU
from jaxrnn.kernels.lstm import LSTM
from jaxrnn.kernels.simple import Simple

# --- the kernel cells ----------------------------------------------------------------------


def lstm() -> LSTM:
    return LSTM()


def gru(reset_after: bool) -> GRU:
    return GRU(reset_after)


def simple(activation: str) -> Simple:
    return Simple(activation)  # checks the activation


# --- the two kernel calls -------------------------------------------------------------------


class SequenceArgs(NamedTuple):
    """The per-call arguments of the sequence kernel (the cell brings its parameters,
    dtype, precision and backend)."""

    seq_lengths: Any
    reverse: bool
    time_major: bool
    unroll: int
    trace: bool
    checkpoint_every: int | str | None = None


def sequence(cell: Any, inputs, carry, args: SequenceArgs) -> Any:
    """A jaxrnn cell (Linen or NNX) over a whole sequence, through
    ``_api.run_sequence``. Returns ``(carry, outputs)`` or ``(carry, outputs, trace)``,
    outputs aligned with the inputs. ``inputs`` has rank >= 2 (the caller's layout)."""
    return _api.run_sequence(
        cell._kernel_cell(),
        cell.params(jnp.shape(inputs)[-1], cell.hidden_size(carry)),
        inputs,
        carry,
        seq_lengths=args.seq_lengths,
        reverse=args.reverse,
        time_major=args.time_major,
        unroll=args.unroll,
        dtype=cell.dtype,
        precision=cell.precision,
        trace=args.trace,
        backend=cell.backend,
        checkpoint_every=args.checkpoint_every,
    )


def step(cell: Any, carry, inputs, in_features: int) -> Any:
    """One step of a jaxrnn cell (Linen or NNX) through ``_api.run_step``."""
    return _api.run_step(
        cell._kernel_cell(),
        cell.params(in_features, cell.hidden_size(carry)),
        carry,
        inputs,
        dtype=cell.dtype,
        precision=cell.precision,
    )


def check_seq_lengths(seq_lengths, batch_dims: tuple[int, ...], num_steps: int) -> None:
    """The kernel's own ``seq_lengths`` check, for the path that runs no kernel (a
    step-by-step scan of another cell)."""
    _api.check_seq_lengths(seq_lengths, batch_dims, num_steps)
