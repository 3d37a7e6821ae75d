"""An independent float64 NumPy oracle, written from the equations, one sequence and
one step at a time (no masking tricks, no fused layout shortcuts beyond reading the
gate blocks). Gradients come from central finite differences of these loops.
"""

from __future__ import annotations

import numpy as np


def _sigmoid(a):
    return 1.0 / (1.0 + np.exp(-a))


def _blocks(w, n):
    return np.split(np.asarray(w, np.float64), n, axis=-1)


def lstm_cell(p, carry, x):
    c, h = carry
    wi, wf, wg, wo = _blocks(p['input_kernel'], 4)
    ui, uf, ug, uo = _blocks(p['recurrent_kernel'], 4)
    bi, bf, bg, bo = _blocks(p['bias'], 4)
    i = _sigmoid(x @ wi + h @ ui + bi)
    f = _sigmoid(x @ wf + h @ uf + bf)
    g = np.tanh(x @ wg + h @ ug + bg)
    o = _sigmoid(x @ wo + h @ uo + bo)
    c = f * c + i * g
    h = o * np.tanh(c)
    return (c, h), h


def gru_cell(p, carry, x, reset_after=True):
    h = carry
    wr, wz, wn = _blocks(p['input_kernel'], 3)
    ur, uz, un = _blocks(p['recurrent_kernel'], 3)
    br, bz, bn = _blocks(p['bias'], 3)
    bhn = np.asarray(p['recurrent_bias'], np.float64)
    r = _sigmoid(x @ wr + br + h @ ur)
    z = _sigmoid(x @ wz + bz + h @ uz)
    if reset_after:
        n = np.tanh(x @ wn + bn + r * (h @ un + bhn))
    else:
        n = np.tanh(x @ wn + bn + (r * h) @ un + bhn)
    h = (1 - z) * n + z * h
    return h, h


def simple_cell(p, carry, x, activation='tanh'):
    a = x @ p['input_kernel'] + p['bias'] + carry @ p['recurrent_kernel']
    h = np.tanh(a) if activation == 'tanh' else np.maximum(a, 0)
    return h, h


def run(cell, p, xs, carry, lengths=None, reverse=False):
    """Runs ``cell`` over ``xs [b, t, i]`` one sequence at a time.

    Each sequence ``b`` is cut to its length, reversed if asked, run, and its outputs
    put back at the positions of the inputs they belong to; padded outputs are zero.

    Returns ``(final_carry, ys [b, t, h])``.
    """
    p = {k: np.asarray(v, np.float64) for k, v in p.items()}
    xs = np.asarray(xs, np.float64)
    batch, steps, _ = xs.shape
    multi = isinstance(carry, tuple)
    parts = carry if multi else (carry,)
    parts = [np.asarray(c, np.float64) for c in parts]
    hidden = parts[-1].shape[-1]
    ys = np.zeros((batch, steps, hidden))
    finals = [np.zeros_like(c) for c in parts]
    for b in range(batch):
        length = steps if lengths is None else int(lengths[b])
        order = range(length - 1, -1, -1) if reverse else range(length)
        state = tuple(c[b] for c in parts)
        for t in order:
            state, y = cell(p, state if multi else state[0], xs[b, t])
            state = state if multi else (state,)
            ys[b, t] = y
        for k, s in enumerate(state):
            finals[k][b] = s
    return (tuple(finals) if multi else finals[0]), ys


def numerical_grad(fn, arrays, eps=1e-6):
    """Central differences of scalar ``fn(*arrays)`` w.r.t. each array (float64)."""
    arrays = [np.array(a, np.float64) for a in arrays]
    grads = []
    for a in arrays:
        g = np.zeros_like(a)
        flat, gflat = a.reshape(-1), g.reshape(-1)
        for k in range(flat.size):
            old = flat[k]
            flat[k] = old + eps
            up = fn(*arrays)
            flat[k] = old - eps
            down = fn(*arrays)
            flat[k] = old
            gflat[k] = (up - down) / (2 * eps)
        grads.append(g)
    return grads


def run_stack(cell, params, xs, carry, lengths=None):
    """A stack ``{'layer_k': {'forward': p, 'backward': p}}`` over ``xs [b, t, i]``:
    layer ``k`` reads layer ``k - 1``'s outputs, the backward direction runs :func:`run`
    with ``reverse``, and the directions concatenate. ``carry[k][d]`` as jaxrnn's stacks.
    """
    x = np.asarray(xs, np.float64)
    finals = []
    for k in range(len(params)):
        layer = params[f'layer_{k}']
        outs, layer_finals = [], []
        for d, name in enumerate(('forward', 'backward')):
            if name in layer:
                c, y = run(cell, layer[name], x, carry[k][d], lengths, reverse=d == 1)
                outs.append(y)
                layer_finals.append(c)
        x = np.concatenate(outs, axis=-1)
        finals.append(tuple(layer_finals))
    return tuple(finals), x


def trace_errors(kind, p, xs, carry, trace, lengths=None, reverse=False, reset_after=True):
    """Largest error of the cell's equations recomputed in float64 from a trace.

    At every valid step the gates are recomputed from the input, the parameters and the
    *traced* previous state (the trace's own ``h`` (and ``c``) at the step processed
    before, or the initial carry), and compared with the traced gates; the state update
    is checked the same way. Padded steps must be exactly zero. ``trace`` fields are
    ``[b, t, h]``; ``kind`` is 'lstm', 'gru' or 'simple'.
    """
    p = {k: np.asarray(v, np.float64) for k, v in p.items()}
    xs = np.asarray(xs, np.float64)
    tr = {k: np.asarray(v, np.float64) for k, v in trace._asdict().items()}
    batch, steps, _ = xs.shape
    worst = 0.0
    for b in range(batch):
        length = steps if lengths is None else int(lengths[b])
        for name, value in tr.items():
            if np.any(value[b, length:] != 0):
                raise AssertionError(f'trace.{name} is not zero at padded steps of row {b}')
        order = list(range(length - 1, -1, -1) if reverse else range(length))
        if kind == 'lstm':
            c_prev, h_prev = (np.asarray(carry[0], np.float64)[b], np.asarray(carry[1])[b])
        else:
            h_prev = np.asarray(carry, np.float64)[b]
        for t in order:
            x = xs[b, t]
            got = {k: v[b, t] for k, v in tr.items()}
            if kind == 'lstm':
                a = x @ p['input_kernel'] + h_prev @ p['recurrent_kernel'] + p['bias']
                a_i, a_f, a_g, a_o = np.split(a, 4)
                want = dict(i=_sigmoid(a_i), f=_sigmoid(a_f), g=np.tanh(a_g), o=_sigmoid(a_o))
                want['c'] = got['f'] * c_prev + got['i'] * got['g']
                want['h'] = got['o'] * np.tanh(got['c'])
                c_prev = got['c']
            elif kind == 'gru':
                wr, wz, wn = _blocks(p['input_kernel'], 3)
                ur, uz, un = _blocks(p['recurrent_kernel'], 3)
                br, bz, bn = _blocks(p['bias'], 3)
                r = _sigmoid(x @ wr + br + h_prev @ ur)
                z = _sigmoid(x @ wz + bz + h_prev @ uz)
                if reset_after:
                    n = np.tanh(x @ wn + bn + got['r'] * (h_prev @ un + p['recurrent_bias']))
                else:
                    n = np.tanh(x @ wn + bn + (got['r'] * h_prev) @ un + p['recurrent_bias'])
                want = dict(r=r, z=z, n=n, h=(1 - got['z']) * got['n'] + got['z'] * h_prev)
            else:
                a = x @ p['input_kernel'] + p['bias'] + h_prev @ p['recurrent_kernel']
                want = dict(h=np.tanh(a))
            for name, value in want.items():
                worst = max(worst, float(np.max(np.abs(value - got[name]))))
            h_prev = got['h']
    return worst
