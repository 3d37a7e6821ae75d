"""Parameter containers and shape conventions shared by every kernel.

Shape letters used in docstrings and comments throughout jaxrnn:

  b  batch (any number of leading batch axes are flattened to one inside a kernel)
  t  time
  i  input features
  h  hidden features
  g  gates: g = G * h with G = 4 (LSTM), 3 (GRU) or 1 (simple RNN)

Gate blocks are laid out side by side along the last axis of the fused kernels:
``input_kernel[:, k*h:(k+1)*h]`` is gate ``k`` in the cell's gate order.
"""

from __future__ import annotations

from typing import Any, Callable, ClassVar, NamedTuple, Protocol, Sequence, TypedDict

import jax

Array = jax.Array

LSTMCarry = tuple[Array, Array]
"""The LSTM carry ``(c, h)``, each ``[*batch, h]``."""


class SequenceOptions(TypedDict, total=False):
    """The keyword arguments every sequence kernel takes besides ``trace`` (for typing
    the overloads whose result arity depends on ``trace``; see :func:`jaxrnn.kernels.lstm`
    for their meaning)."""

    seq_lengths: Array | None
    reverse: bool
    time_major: bool
    unroll: int
    dtype: Any
    precision: Any
    backend: Any
    checkpoint_every: int | str | None


class LSTMParams(NamedTuple):
    """Fused LSTM parameters, gate order (i, f, g, o).

    Attributes:
      input_kernel: ``[i, 4h]``, W_ih.
      recurrent_kernel: ``[h, 4h]``, W_hh.
      bias: ``[4h]``, the single bias b (PyTorch's ``b_ih + b_hh``).

    Examples:
      >>> import jax.numpy as jnp
      >>> from jaxrnn import kernels
      >>> params = kernels.LSTMParams(input_kernel=jnp.zeros((3, 16)),
      ...                             recurrent_kernel=jnp.zeros((4, 16)), bias=jnp.zeros(16))
      >>> params.recurrent_kernel[:, 4:8].shape                 # the forget gate's block, [h, h]
      (4, 4)
    """

    input_kernel: Array
    recurrent_kernel: Array
    bias: Array


class GRUParams(NamedTuple):
    """Fused GRU parameters, gate order (r, z, n).

    Attributes:
      input_kernel: ``[i, 3h]``, W_ih.
      recurrent_kernel: ``[h, 3h]``, W_hh.
      bias: ``[3h]``, b_i = (b_r, b_z, b_in). PyTorch's ``b_hr`` and ``b_hz`` fold in
        here, since they are added to the same sums.
      recurrent_bias: ``[h]``, b_hn, the bias of the hidden-side candidate term,
        which the reset gate multiplies in the "reset after" form.

    Examples:
      >>> from jaxrnn import kernels
      >>> kernels.GRUParams._fields
      ('input_kernel', 'recurrent_kernel', 'bias', 'recurrent_bias')
    """

    input_kernel: Array
    recurrent_kernel: Array
    bias: Array
    recurrent_bias: Array


class SimpleParams(NamedTuple):
    """Simple (Elman) RNN parameters.

    Attributes:
      input_kernel: ``[i, h]``, W_ih.
      recurrent_kernel: ``[h, h]``, W_hh.
      bias: ``[h]``, b.

    Examples:
      >>> from jaxrnn import kernels
      >>> kernels.param_shapes(kernels.Simple(), 3, 4)
      {'input_kernel': (3, 4), 'recurrent_kernel': (4, 4), 'bias': (4,)}
    """

    input_kernel: Array
    recurrent_kernel: Array
    bias: Array


class LSTMTrace(NamedTuple):
    """Every LSTM gate at every step (trace mode), each ``[*batch, t, h]`` (or
    time-major), post-activation, in the accumulation dtype; zero at padded steps.

    Attributes:
      i: input gate, the share of the candidate written into memory.
      f: forget gate, the share of the old memory ``c_{t-1}`` kept.
      g: candidate memory, ``tanh``.
      o: output gate, the share of ``tanh(c_t)`` shown as ``h_t``.
      c: memory (cell state) after the step, ``c_t = f * c_{t-1} + i * g``.
      h: hidden state after the step, ``h_t = o * tanh(c_t)`` (the outputs).

    Examples:
      >>> import jax.numpy as jnp
      >>> from jaxrnn import kernels
      >>> params = kernels.LSTMParams(jnp.full((3, 16), 0.1), jnp.zeros((4, 16)), jnp.zeros(16))
      >>> (c, h), ys, trace = kernels.lstm(params, jnp.ones((2, 5, 3)), trace=True)
      >>> trace.f.shape, float(trace.f[0, 0, 0])                # sigmoid(0.3)
      ((2, 5, 4), 0.574442...)
    """

    i: Array
    f: Array
    g: Array
    o: Array
    c: Array
    h: Array


class GRUTrace(NamedTuple):
    """Every GRU gate at every step (trace mode); see :class:`LSTMTrace`.

    Attributes:
      r: reset gate, the share of the recurrent candidate term kept.
      z: update gate, the share of the OLD state ``h_{t-1}`` kept.
      n: candidate state, ``tanh``.
      h: hidden state after the step, ``h_t = (1 - z) * n + z * h_{t-1}``.

    Examples:
      >>> import jax.numpy as jnp
      >>> from jaxrnn import kernels
      >>> params = kernels.GRUParams(jnp.zeros((3, 12)), jnp.zeros((4, 12)), jnp.zeros(12),
      ...                            jnp.zeros(4))
      >>> h, ys, trace = kernels.gru(params, jnp.ones((2, 5, 3)), trace=True)
      >>> float(trace.z[0, 0, 0]), float(trace.n[0, 0, 0])      # sigmoid(0), tanh(0)
      (0.5, 0.0)
    """

    r: Array
    z: Array
    n: Array
    h: Array


class SimpleTrace(NamedTuple):
    """The simple RNN's state at every step (trace mode).

    Attributes:
      h: hidden state after the step.

    Examples:
      >>> import jax.numpy as jnp
      >>> from jaxrnn import kernels
      >>> params = kernels.SimpleParams(jnp.ones((3, 4)), jnp.zeros((4, 4)), jnp.zeros(4))
      >>> h, ys, trace = kernels.simple_rnn(params, jnp.ones((2, 5, 3)), trace=True)
      >>> trace._fields, bool((trace.h == ys).all())
      (('h',), True)
    """

    h: Array


# --- the Cell protocol ----------------------------------------------------------------------

RecurrentMatmul = Callable[..., tuple[Array, ...]]
"""``hw(v, start=0, stop=None) -> (v @ W_k for k in range(start, stop))``: the recurrent
matmul of ``v [b, h]`` with the gate blocks ``start .. stop - 1`` of ``W_hh`` (all of them
by default), each ``[b, h]`` in the accumulation dtype. The backend decides how: the scan
does one dot over the contiguous columns, the Pallas kernel one dot per block."""

RecurrentMatmulT = Callable[..., Array]
"""``hwt(ds, start=0) -> sum_k ds[k] @ W_{start+k}^T``, ``[b, h]``: the transpose of
:data:`RecurrentMatmul`, used by hand-written backward steps."""

OuterSum = Callable[[Array, Array], Array]
"""``outer(a [t, b, h], d [t, b, n]) -> sum_{t,b} a^T d``, ``[h, n]``: one matmul over all
steps, used by hand-written weight gradients."""


class Step(NamedTuple):
    """What one forward step returns.

    Attributes:
      state: the new carry, in the cell's ``carry`` order, each ``[b, h]``.
      y: the output, ``[b, h]`` (the new ``h``).
      saved: per-step values named by the cell's ``saved``, each ``[b, h]``: everything
        the hand-written backward step needs, and every trace field but ``h``.

    Examples:
      >>> from jaxrnn import kernels
      >>> kernels.Step._fields
      ('state', 'y', 'saved')
    """

    state: tuple[Array, ...]
    y: Array
    saved: tuple[Array, ...]


class Cell(Protocol):
    """What a recurrent cell declares, once, for every backend and every view.

    A cell is a small frozen dataclass (hashable: it is part of the jit cache key). Its
    ``step`` is written over gate blocks and calls the recurrent matmul through ``hw``, so
    the ``lax.scan`` driver (:mod:`jaxrnn.kernels._scan`), the persistent Pallas kernel
    (:mod:`jaxrnn.kernels._pallas`) and any later backend run the same equations.
    Parameters always hold ``input_kernel [i, G*h]``, ``recurrent_kernel [h, G*h]`` and
    ``bias [G*h]``, in the order of ``gates``; extra recurrent parameters (the GRU's
    ``recurrent_bias [h]``) come after them in ``params_type`` and are passed to ``step``
    as ``extras`` in the accumulation dtype.

    A cell may also define the hand-written backward step ``step_bwd`` and
    ``recurrent_grads`` (see :func:`has_backward`); without them the driver
    differentiates ``step`` with ``jax.vjp`` (correct, and slower: it recomputes the
    recurrent matmul in the backward loop and sums the weight gradient step by step).

    Attributes:
      name: short name (``'lstm'``), used by converters, views and benchmarks.
      title: the name in prose (``'LSTM'``, ``'simple RNN'``).
      gates: gate block names, in the order of the fused columns.
      carry: carry component names, in the carry's order; ``'h'`` is last.
      params_type: the parameters' NamedTuple.
      trace_type: the NamedTuple of trace mode; its fields are named in ``saved`` or
        are ``'h'`` (the outputs).
      cudnn: whether ``jax.experimental.rnn``'s cuDNN kernel computes this cell.

    Examples:
      Every built-in cell satisfies it; a cell of your own runs through
      :func:`jaxrnn.kernels.run_sequence` (see the Backends guide for a complete one):

      >>> from jaxrnn import kernels
      >>> for name, cls in kernels.CELL_TYPES.items():
      ...     print(name, cls.gates, cls.carry, cls().saved)
      lstm ('i', 'f', 'g', 'o') ('c', 'h') ('i', 'f', 'g', 'o', 'c')
      gru ('r', 'z', 'n') ('h',) ('r', 'z', 'n', 'h_n')
      simple ('a',) ('h',) ()
    """

    name: ClassVar[str]
    title: ClassVar[str]
    gates: ClassVar[tuple[str, ...]]
    carry: ClassVar[tuple[str, ...]]
    params_type: ClassVar[type]
    trace_type: ClassVar[type]
    cudnn: ClassVar[bool]

    @property
    def saved(self) -> tuple[str, ...]:
        """Names of the per-step values ``step`` returns in ``Step.saved``."""
        ...

    def step(
        self,
        x: Sequence[Array],
        hw: RecurrentMatmul,
        state: tuple[Array, ...],
        extras: tuple[Array, ...],
    ) -> Step:
        """One step: ``x`` the gate blocks of ``x_t W_ih + b`` (each ``[b, h]``), ``hw``
        the recurrent matmul, ``state`` the carry, ``extras`` the extra recurrent
        parameters."""
        ...


def num_gates(cell: Cell) -> int:
    """``G``: the number of gate blocks of the fused kernels."""
    return len(cell.gates)


def param_fields(cell: Cell | type[Cell]) -> tuple[str, ...]:
    """The fields of the cell's parameters NamedTuple, in order."""
    return cell.params_type._fields  # type: ignore[attr-defined]


def param_shapes(cell: Cell, in_features: int, hidden: int) -> dict[str, tuple[int, ...]]:
    """The shape of every field of ``cell.params_type``, in field order.

    Examples:
      >>> from jaxrnn import kernels
      >>> kernels.param_shapes(kernels.LSTM(), 3, 4)            # in_features 3, hidden 4
      {'input_kernel': (3, 16), 'recurrent_kernel': (4, 16), 'bias': (16,)}
    """
    g = num_gates(cell) * hidden
    shapes = {
        'input_kernel': (in_features, g),
        'recurrent_kernel': (hidden, g),
        'bias': (g,),
        'recurrent_bias': (hidden,),
    }
    return {name: shapes[name] for name in param_fields(cell)}


def extra_fields(cell: Cell) -> tuple[str, ...]:
    """The recurrent parameters besides ``recurrent_kernel`` (passed as ``extras``)."""
    return param_fields(cell)[3:]


def has_backward(cell: Any) -> bool:
    """Whether ``cell`` defines a hand-written backward (``step_bwd`` and
    ``recurrent_grads``)."""
    return hasattr(cell, 'step_bwd') and hasattr(cell, 'recurrent_grads')
