"""The behaviour of the jaxrnn cells, shared by ``jaxrnn.linen`` and ``jaxrnn.nnx``.

:class:`FusedCellBody` is the step (``__call__``), ``sequence``, the parameters' shapes
and initializers and the carry; :class:`LSTMCellBody`, :class:`GRUCellBody` and
:class:`SimpleCellBody` add the kernel cell of each kind. A framework's cell class
inherits them and declares the attributes of :class:`~jaxrnn._layers.options.CellOptions`
and ``params(in_features)`` (the parameters as the kernel's NamedTuple: Linen creates or
reads them with ``self.param``, NNX reads its ``nnx.Param`` attributes), and its own
``initialize_carry`` signature.
"""

from __future__ import annotations

from typing import Any, Mapping

import jax
import jax.numpy as jnp

from jaxrnn._layers import kernel
from jaxrnn._layers.options import Initializer
from jaxrnn.kernels._types import num_gates, param_shapes

Array = jax.Array


class FusedCellBody:
    """A jaxrnn cell: parameters in the fused layout (``input_kernel [in, G*h]``,
    ``recurrent_kernel [h, G*h]``, ``bias [G*h]``, and ``recurrent_bias [h]`` for the
    GRU), one set shared by the step and the sequence kernel."""

    # Declared by the framework's class, with dtype, precision and backend (which
    # the kernel calls read): the KernelOptions.
    kernel_init: Initializer
    recurrent_kernel_init: Initializer
    bias_init: Initializer
    param_dtype: Any

    def _kernel_cell(self) -> Any:
        """The kernel cell object (the kind mixins)."""
        raise NotImplementedError

    def params(self, in_features: int, hidden: int) -> Any:
        """The parameters as the kernel's NamedTuple, for inputs of ``in_features`` and
        a carry of ``hidden`` units (the framework's class: it checks both against the
        parameters it holds, naming the argument a user would change)."""
        raise NotImplementedError

    def hidden_size(self, carry) -> int:
        """The number of hidden units a call with ``carry`` (``None``: the cell's own
        initial carry) runs with (the framework's class: Linen sizes its parameters
        from the carry, as ``flax.linen`` does; NNX checks it against
        ``hidden_features``)."""
        raise NotImplementedError

    def _forget_gate_bias(self) -> float:
        return 0.0

    def _param_specs(self, in_features: int, hidden: int) -> dict[str, tuple[Initializer, Any]]:
        """``{field: (initializer, shape)}`` of the parameters, in field order."""
        cell = self._kernel_cell()
        inits = {
            'input_kernel': self.kernel_init,
            'recurrent_kernel': blockwise(self.recurrent_kernel_init, num_gates(cell)),
            'bias': shifted(self.bias_init, self._forget_gate_bias(), cell.gates),
            'recurrent_bias': self.bias_init,
        }
        shapes = param_shapes(cell, in_features, hidden)
        return {name: (inits[name], shape) for name, shape in shapes.items()}

    def _pack_params(self, values: Mapping[str, Array]) -> Any:
        """``{field: array}`` as the kernel's params NamedTuple."""
        return self._kernel_cell().params_type(**values)

    def __call__(self, carry, inputs):
        """One time step: ``(carry, x [b, i]) -> (new_carry, y [b, h])``.

        The step of :func:`jaxrnn.kernels.lstm_step` (``gru_step``, ``simple_step``) with
        the cell's parameters, ``dtype`` and ``precision``: the equations of the cell's
        class, ``y`` the new ``h``. The new carry has the dtype of ``carry`` (so that the
        step scans), as with Flax's cells. Flax's ``RNN``, its scans and your own cells
        call this method.

        Args:
          carry: ``(c, h)`` for an LSTM cell, ``h`` otherwise; each ``[b, h]``.
          inputs: ``x [b, i]``.

        Returns:
          ``(new_carry, y)``, ``y [b, h]``.

        Examples:
          Linen (``init`` creates the parameters from the carry and the inputs):

          >>> import jax, jax.numpy as jnp
          >>> import jaxrnn.linen as jl
          >>> x = jnp.ones((2, 3))                                  # [b, i]
          >>> cell = jl.LSTMCell(4)
          >>> carry = cell.initialize_carry(jax.random.key(0), x.shape)
          >>> variables = cell.init(jax.random.key(1), carry, x)
          >>> (c, h), y = cell.apply(variables, carry, x)
          >>> c.shape, h.shape, bool((y == h).all())
          ((2, 4), (2, 4), True)

          NNX (the constructor creates them):

          >>> from flax import nnx
          >>> import jaxrnn.nnx as jn
          >>> cell = jn.GRUCell(3, 4, rngs=nnx.Rngs(0))
          >>> h, y = cell(cell.initialize_carry(x.shape), x)
          >>> h.shape, bool((y == h).all())
          ((2, 4), True)
        """
        new_carry, y = kernel.step(self, carry, inputs, in_features_of(inputs))
        return keep_carry_dtype(new_carry, carry), y

    def sequence(
        self,
        inputs: Array,
        carry=None,
        *,
        seq_lengths: Array | None = None,
        reverse: bool = False,
        time_major: bool = False,
        unroll: int = 1,
        trace: bool = False,
        checkpoint_every: int | str | None = None,
    ):
        """The whole sequence in one call of the fused kernel, with the parameters of the
        step.

        :func:`jaxrnn.kernels.lstm` (``gru``, ``simple_rnn``) with the cell's parameters
        and options: the input projection of every step in one matmul, the recurrence in
        a ``lax.scan``, a custom backward pass. ``RNN`` makes the same kernel call for a
        jaxrnn cell. It gives the numbers of calling the cell step by step.

        Args:
          inputs: ``[b, t, i]``, or ``[t, b, i]`` when ``time_major``.
          carry: the initial carry (zeros when ``None``).
          seq_lengths: optional integer ``[b]`` lengths of right-padded sequences (see
            :class:`~jaxrnn._layers.options.RNNOptions`).
          reverse: read each sequence from its last valid step to its first; unlike
            ``RNN(reverse=True)``, the outputs stay aligned with the inputs.
          time_major: the layout of the inputs and the outputs.
          unroll: steps unrolled per loop iteration.
          trace: also return every gate at every step (see
            :class:`~jaxrnn._layers.options.RNNOptions`).
          checkpoint_every: gradient checkpointing (see
            :class:`~jaxrnn._layers.options.RNNOptions`).

        Returns:
          ``(carry, outputs [b, t, h])``, or ``(carry, outputs, trace)`` with ``trace``.

        Examples:
          The sequence call gives the numbers of the step, called ``t`` times:

          >>> import jax, jax.numpy as jnp
          >>> from flax import nnx
          >>> import jaxrnn.nnx as jn
          >>> xs = jax.random.normal(jax.random.key(0), (2, 5, 3))   # [b, t, i]
          >>> cell = jn.LSTMCell(3, 4, rngs=nnx.Rngs(0))
          >>> (c, h), ys = cell.sequence(xs)
          >>> carry = cell.initialize_carry((2, 3))
          >>> for t in range(5):
          ...     carry, y = cell(carry, xs[:, t])
          >>> ys.shape, bool(jnp.allclose(y, ys[:, -1], atol=1e-6))
          ((2, 5, 4), True)

          In Linen it is a method for ``apply``:

          >>> import jaxrnn.linen as jl
          >>> cell = jl.GRUCell(4)
          >>> variables = cell.init(jax.random.key(1), jnp.zeros((2, 4)), xs[:, 0])
          >>> h, ys = cell.apply(variables, xs, method='sequence', seq_lengths=jnp.array([5, 2]))
          >>> bool((h[1] == ys[1, 1]).all()), bool((ys[1, 2:] == 0).all())
          (True, True)
        """
        layout(inputs, time_major)
        args = kernel.SequenceArgs(
            seq_lengths, reverse, time_major, unroll, trace, checkpoint_every
        )
        return kernel.sequence(self, inputs, carry, args)

    def _new_carry(self, carry_init: Initializer, keys, input_shape, hidden: int):
        """``carry_init`` applied to each carry part ``[*batch, hidden]`` (inputs
        ``[*batch, in]``) with its key from ``keys`` (one per part, as
        :meth:`carry_parts` counts them; ``None`` entries for a deterministic init), in
        ``promote(param_dtype, float32)``: ``(c, h)`` for the LSTM, ``h`` otherwise."""
        shape = tuple(input_shape[:-1]) + (hidden,)
        dtype = jnp.promote_types(self.param_dtype, jnp.float32)
        parts = tuple(carry_init(k, shape, dtype) for k in keys)
        return parts if len(parts) > 1 else parts[0]

    @property
    def carry_parts(self) -> int:
        """The number of arrays in the carry (2, ``c`` and ``h``, for the LSTM; else 1).

        Examples:
          >>> import jaxrnn.linen as jl
          >>> jl.LSTMCell(4).carry_parts, jl.GRUCell(4).carry_parts
          (2, 1)
        """
        return len(self._kernel_cell().carry)

    @property
    def num_feature_axes(self) -> int:
        return 1


FUNCTIONS: dict[str, Any] = {'sigmoid': jax.nn.sigmoid, 'tanh': jnp.tanh, 'relu': jax.nn.relu}
"""The functions a fused kernel computes, by name (Flax's ``nn.sigmoid``, ``nn.tanh``
and ``nn.relu`` are these objects)."""


def function_name(cell: Any, argument: str, value: Any, allowed: tuple[str, ...]) -> str:
    """The name in ``allowed`` of the function ``value`` (a Flax cell's ``gate_fn`` or
    ``activation_fn``), or a ValueError naming ``argument``: the fused kernel computes
    no other function."""
    for name in allowed:
        if value is FUNCTIONS[name]:
            return name
    cls = type(cell).__name__
    raise ValueError(
        f'{cls}({argument}={getattr(value, "__name__", value)!r}): the fused kernel computes '
        f"{' or '.join(allowed)} only. For another function run flax's {cls} "
        '(jaxrnn RNN runs any Flax cell step by step).'
    )


class GatedCellBody(FusedCellBody):
    """The LSTM and GRU: Flax's ``gate_fn`` and ``activation_fn`` are accepted when they
    are what the kernel computes (sigmoid gates, tanh)."""

    gate_fn: Any
    activation_fn: Any

    def _check_functions(self) -> None:
        function_name(self, 'gate_fn', self.gate_fn, ('sigmoid',))
        function_name(self, 'activation_fn', self.activation_fn, ('tanh',))


class LSTMCellBody(GatedCellBody):
    forget_bias: float

    def _kernel_cell(self):
        self._check_functions()
        return kernel.lstm()

    def _forget_gate_bias(self) -> float:
        return self.forget_bias


class GRUCellBody(GatedCellBody):
    reset_after: bool

    def _kernel_cell(self):
        self._check_functions()
        return kernel.gru(self.reset_after)


class SimpleCellBody(FusedCellBody):
    """``activation`` names the function; Flax's ``activation_fn`` (``nn.tanh`` or
    ``nn.relu``), when given, names it too (both given must agree). Flax's
    ``residual=True`` is a different function: a ValueError."""

    activation: str
    activation_fn: Any
    residual: bool

    def _kernel_cell(self):
        activation = self.activation
        name = type(self).__name__
        if self.activation_fn is not None:
            given = function_name(self, 'activation_fn', self.activation_fn, ('tanh', 'relu'))
            if activation not in ('tanh', given):
                raise ValueError(
                    f'{name}(activation={activation!r}, activation_fn={given!r}): give one '
                    'of them, or the same function in both.'
                )
            activation = given
        if self.residual:
            raise ValueError(
                f'{name}(residual=True) adds the carry before the activation, which the fused '
                "kernel does not compute; run flax's SimpleCell (jaxrnn RNN runs any Flax cell "
                'step by step).'
            )
        return kernel.simple(activation)


def blockwise(init: Initializer, num_blocks: int) -> Initializer:
    """Applies ``init`` to each ``[h, h]`` gate block of a ``[h, G*h]`` kernel.

    Flax's per-gate cells draw each gate's recurrent matrix separately (orthogonal per
    gate); a single orthogonal ``[h, 4h]`` draw would have a different distribution.
    Each block is drawn in at least float32 and cast to ``dtype`` (as ``flax.nnx``'s
    ``modified_orthogonal``: the QR of an orthogonal draw has no bfloat16 kernel on CPU).
    """

    def blocks(key, shape, dtype=jnp.float32):
        rows, cols = shape
        keys = jax.random.split(key, num_blocks)
        width = cols // num_blocks
        wide = jnp.promote_types(dtype, jnp.float32)
        parts = [init(k, (rows, width), wide) for k in keys]
        return jnp.concatenate(parts, axis=-1).astype(dtype)

    return blocks


def shifted(bias_init: Initializer, forget_bias: float, gates: tuple[str, ...]) -> Initializer:
    """``bias_init`` plus ``forget_bias`` on the forget gate's block (``'f'`` in the
    cell's ``gates``, the LSTM's) of the fused bias."""
    if not forget_bias:
        return bias_init
    block = gates.index('f')

    def bias(key, shape, dtype=jnp.float32):
        hidden = shape[0] // len(gates)
        b = bias_init(key, shape, dtype)
        return b.at[block * hidden : (block + 1) * hidden].add(jnp.asarray(forget_bias, dtype))

    return bias


def carry_units(cell: Any, carry) -> int | None:
    """The size of the last axis of ``carry``'s ``h`` (the last part of the kernel
    ``cell``'s carry), or ``None`` when ``carry`` is ``None`` or not shaped like that
    cell's carry, parts of one size (the kernel's check then names what is wrong)."""
    if carry is None:
        return None
    parts = carry if len(cell.carry) > 1 else (carry,)
    if not isinstance(parts, (tuple, list)) or len(parts) != len(cell.carry):
        return None
    sizes = {tuple(getattr(p, 'shape', ()))[-1:] for p in parts}
    return int(sizes.pop()[0]) if len(sizes) == 1 and () not in sizes else None


def keep_carry_dtype(new_carry, old_carry):
    """Casts a step's carry back to the incoming carry's dtype (scan needs a fixed type)."""
    return jax.tree.map(lambda n, o: n.astype(jnp.asarray(o).dtype), new_carry, old_carry)


def in_features_of(inputs) -> int:
    """The feature size of a step's inputs, or a ValueError for a rank-0 input."""
    if jnp.ndim(inputs) < 1:
        raise ValueError(
            f'inputs must have rank >= 1 ([*batch, features]), got shape {jnp.shape(inputs)}.'
        )
    return jnp.shape(inputs)[-1]


def layout(inputs, time_major: bool, num_feature_axes: int = 1):
    """``(time_axis, batch_dims)`` of a sequence as Flax's ``nn.RNN`` infers them, or a
    ValueError for too low a rank (the one shape check a layer makes before the kernel:
    the carry's shape depends on it)."""
    ndim = jnp.ndim(inputs)
    if ndim < num_feature_axes + 1:
        raise ValueError(
            f'inputs must have rank >= {num_feature_axes + 1} '
            f'([*batch, time, features]), got shape {jnp.shape(inputs)}.'
        )
    shape = jnp.shape(inputs)
    time_axis = 0 if time_major else ndim - (num_feature_axes + 1)
    batch_dims = shape[1:-num_feature_axes] if time_major else shape[:time_axis]
    return time_axis, tuple(batch_dims)
