"""Every implementation, built on the same inputs and dtype.

An implementation turns a :class:`~benchmarks.problems.Problem`, a mode ('forward' or
'train': forward + backward with respect to the inputs and every weight, of the sum of
the outputs) and a dtype into a :class:`Runner`. Optional peers that are not installed
(or need a GPU) report why and are skipped with a note.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import sys
import time
from typing import Any, Callable

import jax
import jax.numpy as jnp
import numpy as np

from benchmarks.problems import Problem


@dataclasses.dataclass
class Runner:
    run: Callable[[], Any]  # one call, blocking until the result is ready
    compile_s: float
    memory: dict[str, int]  # bytes: 'temp', 'total' (JAX) or 'peak' (PyTorch)


@dataclasses.dataclass(frozen=True)
class Impl:
    name: str
    cells: tuple[str, ...]
    build: Callable[[Problem, str, str], Runner]
    missing: Callable[[], str | None] = lambda: None  # why it cannot run here, or None
    peer: bool = True  # False for jaxrnn itself
    recurrent_only: bool = False  # DeepBench's convention: input projection excluded


def _inputs(p: Problem) -> np.ndarray:
    """The same float32 inputs for every implementation (cast to the dtype by each)."""
    rng = np.random.default_rng(0)
    return rng.standard_normal((p.batch, p.time, p.input)).astype(np.float32)


# --- JAX implementations ------------------------------------------------------------------


def _jax_runner(fn: Callable, args: tuple, mode: str, argnums=(0, 1)) -> Runner:
    """Compiles ``fn(*args) -> outputs`` (or the gradient of ``sum(outputs)`` with
    respect to ``args[argnums]``), measuring compile time and XLA's memory analysis."""
    if mode == 'train':
        target = jax.grad(lambda *a: jnp.sum(fn(*a).astype(jnp.float32)), argnums=argnums)
    else:
        target = fn
    start = time.perf_counter()
    compiled = jax.jit(target).lower(*args).compile()
    compile_s = time.perf_counter() - start
    analysis = compiled.memory_analysis()
    memory = {}
    if analysis is not None:
        memory = {
            'temp': int(analysis.temp_size_in_bytes),
            'total': int(
                analysis.temp_size_in_bytes
                + analysis.argument_size_in_bytes
                + analysis.output_size_in_bytes
                - analysis.alias_size_in_bytes
            ),
        }
    return Runner(lambda: jax.block_until_ready(compiled(*args)), compile_s, memory)


def _jdtype(dtype: str):
    return {'float32': jnp.float32, 'bfloat16': jnp.bfloat16}[dtype]


def _x(p: Problem, dtype: str):
    x = _inputs(p)
    return jnp.asarray(x, _jdtype(dtype))


def _cast(tree, dtype: str):
    return jax.tree.map(lambda a: jnp.asarray(a, _jdtype(dtype)), tree)


def _jaxrnn(backend: str):
    """jaxrnn's public kernel with ``backend=`` (``'auto'`` is the library default)."""

    def build(p: Problem, mode: str, dtype: str) -> Runner:
        from jaxrnn import kernels

        rng = np.random.default_rng(1)
        cell = kernels.CELL_TYPES[p.cell]()
        scale = 1 / np.sqrt(p.hidden)
        shapes = kernels.param_shapes(cell, p.input, p.hidden)
        params = cell.params_type(
            *((scale * rng.standard_normal(s)).astype(np.float32) for s in shapes.values())
        )
        return _jax_runner(
            lambda params, x: kernels.run_sequence(cell, params, x, backend=backend)[1],
            (_cast(params, dtype), _x(p, dtype)),
            mode,
        )

    return build


def build_jaxrnn_recurrent(p: Problem, mode: str, dtype: str) -> Runner:
    """The recurrence alone over pre-projected inputs ``xp [t, b, G h]`` (DeepBench's
    convention): jaxrnn's scan and custom VJP, no input projection."""
    from jaxrnn.kernels import CELL_TYPES, _scan
    from jaxrnn.kernels._types import extra_fields

    rng = np.random.default_rng(1)
    g = p.gates * p.hidden
    cell = CELL_TYPES[p.cell]()
    cdt = _jdtype(dtype)
    acc = jnp.float32
    rec = [jnp.asarray(rng.standard_normal((p.hidden, g)) / np.sqrt(p.hidden), cdt)]
    rec += [jnp.zeros((p.hidden,), jnp.float32) for _ in extra_fields(cell)]
    xp = jnp.asarray(rng.standard_normal((p.time, p.batch, g)), acc)
    state0 = tuple(jnp.zeros((p.batch, p.hidden), acc) for _ in cell.carry)
    cfg = _scan.Config(False, 1, cdt, acc, None)

    def fn(rec, xp):
        return _scan.recurrence(cell, cfg, tuple(rec), xp, state0, None)[1]

    return _jax_runner(fn, (rec, xp), mode)


def _flax_linen(cell_name: str):
    def build(p: Problem, mode: str, dtype: str) -> Runner:
        import flax.linen as nn

        cell = getattr(nn, cell_name)(p.hidden, param_dtype=_jdtype(dtype), dtype=_jdtype(dtype))
        rnn = nn.RNN(cell)
        x = _x(p, dtype)
        params = rnn.init(jax.random.key(0), x)['params']
        return _jax_runner(lambda params, x: rnn.apply({'params': params}, x), (params, x), mode)

    return build


def _flax_nnx(cell_name: str):
    def build(p: Problem, mode: str, dtype: str) -> Runner:
        from flax import nnx

        dt = _jdtype(dtype)
        cell = getattr(nnx, cell_name)(
            p.input, p.hidden, dtype=dt, param_dtype=dt, rngs=nnx.Rngs(0)
        )
        carry = cell.initialize_carry((p.batch, p.input), nnx.Rngs(0))
        graphdef, params, *rest = nnx.split(nnx.RNN(cell), nnx.Param, ...)
        # An explicit initial carry: no RNG stream is touched inside the traced call.
        return _jax_runner(
            lambda params, x: nnx.merge(graphdef, params, *rest)(x, initial_carry=carry),
            (params, _x(p, dtype)),
            mode,
        )

    return build


def _equinox_missing():
    try:
        import equinox  # noqa: F401
    except ImportError:
        return 'equinox is not installed (pip install equinox)'
    return None


def build_equinox(p: Problem, mode: str, dtype: str) -> Runner:
    import equinox as eqx

    dt = _jdtype(dtype)
    key = jax.random.key(0)
    cell: eqx.Module
    if p.cell == 'lstm':
        cell = eqx.nn.LSTMCell(p.input, p.hidden, key=key, dtype=dt)
    else:
        cell = eqx.nn.GRUCell(p.input, p.hidden, key=key, dtype=dt)
    params, static = eqx.partition(cell, eqx.is_array)

    def fn(params, x):
        cell = eqx.combine(params, static)

        def one(seq):
            zero = jnp.zeros((p.hidden,), dt)
            init = (zero, zero) if p.cell == 'lstm' else zero

            def step(carry, xt):
                carry = cell(xt, carry)
                return carry, carry[0] if p.cell == 'lstm' else carry

            return jax.lax.scan(step, init, seq)[1]

        return jax.vmap(one)(x)

    return _jax_runner(fn, (params, _x(p, dtype)), mode)


# --- PyTorch --------------------------------------------------------------------------------


def _torch_missing():
    try:
        import torch  # noqa: F401
    except ImportError:
        return 'torch is not installed (pip install torch)'
    return None


@contextlib.contextmanager
def _quiet_stderr():
    """Silences file descriptor 2 (PyTorch's profiler prints a line at every start and
    stop from C++, past Python's ``sys.stderr``)."""
    sys.stderr.flush()
    saved = os.dup(2)
    with open(os.devnull, 'w') as null:
        os.dup2(null.fileno(), 2)
        try:
            yield
        finally:
            os.dup2(saved, 2)
            os.close(saved)


def _torch_peak(fn) -> int:
    """Peak bytes allocated while ``fn`` runs: the CUDA allocator's peak on a GPU; on a
    CPU, the peak of the profiler's allocation timeline (each op's own allocations net of
    its frees, in start order; an approximation)."""
    import torch
    from torch.profiler import ProfilerActivity, profile

    if torch.cuda.is_available():
        torch.cuda.reset_peak_memory_stats()
        fn()
        return int(torch.cuda.max_memory_allocated())
    with _quiet_stderr(), profile(activities=[ProfilerActivity.CPU], profile_memory=True) as prof:
        fn()
    deltas = sorted(
        (e.time_range.start, e.self_cpu_memory_usage)
        for e in prof.events()
        if e.self_cpu_memory_usage
    )
    current = peak = 0
    for _, d in deltas:
        current += d
        peak = max(peak, current)
    return int(peak)


def build_torch(p: Problem, mode: str, dtype: str) -> Runner:
    import torch

    device = 'cuda' if torch.cuda.is_available() else 'cpu'
    tdt = {'float32': torch.float32, 'bfloat16': torch.bfloat16}[dtype]
    torch.manual_seed(0)
    cls = torch.nn.LSTM if p.cell == 'lstm' else torch.nn.GRU
    module = cls(p.input, p.hidden, batch_first=True).to(device=device, dtype=tdt)
    x_np = _inputs(p)
    x = torch.tensor(x_np, device=device, dtype=tdt, requires_grad=mode == 'train')

    def sync():
        if device == 'cuda':
            torch.cuda.synchronize()

    if mode == 'forward':

        def run():
            with torch.no_grad():
                y, _ = module(x)
            sync()
            return y

    else:

        def run():
            module.zero_grad(set_to_none=True)
            x.grad = None
            y, _ = module(x)
            y.float().sum().backward()
            sync()
            return x.grad

    start = time.perf_counter()
    run()
    compile_s = time.perf_counter() - start  # first call (no compilation in eager mode)
    peak = _torch_peak(run)
    return Runner(run, compile_s, {'peak': peak})


def _native_missing():
    from jaxrnn.kernels import _native

    if jax.default_backend() != 'cpu':
        return 'the native kernel runs on the CPU'
    error = _native.load_error()
    return f'the native kernel is not available: {error}' if error else None


def _gpu_only(what: str):
    def missing():
        if jax.default_backend() != 'gpu':
            return f'{what} needs an NVIDIA GPU'
        return None

    return missing


def build_jax_experimental(p: Problem, mode: str, dtype: str) -> Runner:
    from jax.experimental import rnn

    if dtype != 'float32':
        raise NotImplementedError('jax.experimental.rnn.lstm supports float32 only')
    n = rnn.get_num_params_in_lstm(p.input, p.hidden, 1, False)
    weights = jax.random.normal(jax.random.key(0), (n,), jnp.float32) / np.sqrt(p.hidden)
    zeros = jnp.zeros((1, p.batch, p.hidden), jnp.float32)
    lengths = jnp.full((p.batch,), p.time, jnp.int32)

    def fn(weights, x):
        return rnn.lstm(x, zeros, zeros, weights, lengths, p.input, p.hidden, 1, 0.0, False)[0]

    return _jax_runner(fn, (weights, _x(p, dtype)), mode)


IMPLS = [
    Impl('jaxrnn', ('lstm', 'gru'), _jaxrnn('auto'), peer=False),
    Impl('jaxrnn backend=xla', ('lstm', 'gru'), _jaxrnn('xla'), peer=False),
    Impl('jaxrnn backend=native', ('lstm', 'gru'), _jaxrnn('native'), peer=False,
         missing=_native_missing),
    Impl('jaxrnn backend=pallas', ('lstm', 'gru'), _jaxrnn('pallas'), peer=False,
         missing=_gpu_only('the compiled Pallas kernel (interpret mode on CPU is for tests)')),
    Impl('jaxrnn backend=cudnn', ('lstm',), _jaxrnn('cudnn'), peer=False,
         missing=_gpu_only('cuDNN')),
    Impl('jaxrnn (recurrent only)', ('lstm', 'gru'), build_jaxrnn_recurrent, peer=False,
         recurrent_only=True),
    Impl('flax.linen LSTMCell', ('lstm',), _flax_linen('LSTMCell')),
    Impl('flax.linen OptimizedLSTMCell', ('lstm',), _flax_linen('OptimizedLSTMCell')),
    Impl('flax.linen GRUCell', ('gru',), _flax_linen('GRUCell')),
    Impl('flax.nnx LSTMCell', ('lstm',), _flax_nnx('LSTMCell')),
    Impl('flax.nnx OptimizedLSTMCell', ('lstm',), _flax_nnx('OptimizedLSTMCell')),
    Impl('flax.nnx GRUCell', ('gru',), _flax_nnx('GRUCell')),
    Impl('equinox', ('lstm', 'gru'), build_equinox, _equinox_missing),
    Impl('torch', ('lstm', 'gru'), build_torch, _torch_missing),
    Impl('jax.experimental.rnn', ('lstm',), build_jax_experimental,
         _gpu_only('jax.experimental.rnn (cuDNN)')),
]  # fmt: skip
