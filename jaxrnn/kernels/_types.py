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

from typing import NamedTuple

import jax

Array = jax.Array


class LSTMParams(NamedTuple):
    """Fused LSTM parameters, gate order (i, f, g, o).

    Attributes:
      input_kernel: ``[i, 4h]``, W_ih.
      recurrent_kernel: ``[h, 4h]``, W_hh.
      bias: ``[4h]``, the single bias b (PyTorch's ``b_ih + b_hh``).
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
    """

    r: Array
    z: Array
    n: Array
    h: Array


class SimpleTrace(NamedTuple):
    """The simple RNN's state at every step (trace mode).

    Attributes:
      h: hidden state after the step.
    """

    h: Array


NUM_GATES = {LSTMParams: 4, GRUParams: 3, SimpleParams: 1}
