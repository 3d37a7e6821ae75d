"""Problem sizes and suites.

DeepBench's RNN problems come from ``code/kernels/rnn_problems.h`` of
baidu-research/DeepBench: ``(hidden, batch, timesteps, cell)`` with the input size equal
to the hidden size. Only the LSTM and GRU entries are used (the suite has no vanilla RNN
peers beyond jaxrnn).
"""

from __future__ import annotations

import dataclasses

from jaxrnn.kernels import CELL_TYPES


@dataclasses.dataclass(frozen=True)
class Problem:
    cell: str  # 'lstm' or 'gru'
    batch: int
    time: int
    input: int
    hidden: int
    tag: str = ''  # e.g. 'deepbench-train'

    @property
    def gates(self) -> int:
        """G, the cell's number of gate blocks (from the cell's own declaration)."""
        return len(CELL_TYPES[self.cell].gates)

    @property
    def label(self) -> str:
        return f'{self.cell} b{self.batch} t{self.time} i{self.input} h{self.hidden}'

    def flops(self, mode: str, recurrent_only: bool = False) -> float:
        """Matmul flops of the layer: forward ``2 b t (i + h) G h`` (``2 b t h G h`` for
        the recurrent part alone); training is three times the forward (the forward
        matmuls, and two matmuls of the same size per matmul in the backward pass)."""
        width = self.hidden if recurrent_only else self.input + self.hidden
        forward = 2.0 * self.batch * self.time * width * self.gates * self.hidden
        return forward if mode == 'forward' else 3.0 * forward


# (hidden, batch, timesteps, cell), DeepBench training_set (LSTM and GRU entries)
DEEPBENCH_TRAIN = [
    *[(h, b, 25, 'lstm') for h in (512, 1024, 2048, 4096) for b in (16, 32, 64, 128)],
    (1536, 8, 50, 'lstm'), (1536, 16, 50, 'lstm'), (1536, 32, 50, 'lstm'),
    (256, 16, 150, 'lstm'), (256, 32, 150, 'lstm'), (256, 64, 150, 'lstm'),
    *[(h, 32, t, 'gru') for h in (2816,) for t in (750, 375, 187)],
    *[(h, 32, t, 'gru') for h in (2048, 1536, 2560) for t in (1500, 750, 375, 187)],
    (512, 32, 1, 'gru'), (1024, 32, 1500, 'gru'), (1024, 64, 1500, 'gru'),
]  # fmt: skip
# DeepBench inference_server_set (LSTM and GRU entries)
DEEPBENCH_INFERENCE = [
    *[(h, b, 25, 'lstm') for h in (512, 1024, 2048) for b in (1, 2, 4)],
    *[(1536, b, 50, 'lstm') for b in (1, 2, 4)],
    *[(256, b, 150, 'lstm') for b in (1, 2, 4)],
    *[(h, b, t, 'gru') for h in (2816, 2048, 1536, 2560) for b in (1, 2, 4)
      for t in (1500, 750, 375, 187)],
    *[(512, b, 1, 'gru') for b in (1, 2, 4)],
    *[(1024, b, 1500, 'gru') for b in (1, 2, 4)],
]  # fmt: skip

# What a 2-core CPU finishes in minutes: the smallest DeepBench sizes of each kind.
DEEPBENCH_CPU_TRAIN = [(512, 16, 25, 'lstm'), (512, 64, 25, 'lstm'), (1024, 16, 25, 'lstm'),
                       (256, 32, 150, 'lstm'), (512, 32, 1, 'gru')]  # fmt: skip
DEEPBENCH_CPU_INFERENCE = [(512, 1, 25, 'lstm'), (512, 4, 25, 'lstm'), (256, 1, 150, 'lstm'),
                           (512, 4, 1, 'gru'), (1536, 1, 187, 'gru')]  # fmt: skip


def _deepbench(entries, tag):
    return [Problem(cell, b, t, h, h, tag) for h, b, t, cell in entries]


def quick() -> list[tuple[Problem, tuple[str, ...]]]:
    """LSTM and GRU at a few sizes (forward and training), minutes on a 2-core CPU."""
    sizes = [(32, 64, 128, 128), (1, 256, 64, 64), (16, 32, 256, 256)]
    return [
        (Problem(cell, b, t, i, h, 'quick'), ('forward', 'train'))
        for cell in ('lstm', 'gru')
        for b, t, i, h in sizes
    ]


def deepbench(full: bool) -> list[tuple[Problem, tuple[str, ...]]]:
    """DeepBench's RNN sizes: training problems timed forward and training, inference
    problems forward only. ``full`` takes every entry; else the CPU subset."""
    train = DEEPBENCH_TRAIN if full else DEEPBENCH_CPU_TRAIN
    infer = DEEPBENCH_INFERENCE if full else DEEPBENCH_CPU_INFERENCE
    return [(p, ('forward', 'train')) for p in _deepbench(train, 'deepbench-train')] + [
        (p, ('forward',)) for p in _deepbench(infer, 'deepbench-inference')
    ]


SCALING_BASE = dict(batch=16, time=128, input=128, hidden=128)
SCALING_AXES = {
    'time': (64, 128, 256, 512, 1024, 2048, 4096),
    'batch': (1, 2, 4, 8, 16, 32, 64, 128),
    'hidden': (32, 64, 128, 256, 512, 1024),
}


def scaling(cells=('lstm', 'gru')) -> list[tuple[Problem, tuple[str, ...]]]:
    """Sweeps of time, batch and hidden size around ``SCALING_BASE`` (input = hidden in
    the hidden sweep)."""
    out: list[tuple[Problem, tuple[str, ...]]] = []
    seen = set()
    for cell in cells:
        for axis, values in SCALING_AXES.items():
            for v in values:
                size = dict(SCALING_BASE, **{axis: v})
                if axis == 'hidden':
                    size['input'] = v
                p = Problem(
                    cell,
                    size['batch'],
                    size['time'],
                    size['input'],
                    size['hidden'],
                    f'scaling-{axis}',
                )
                key = (p.cell, p.batch, p.time, p.input, p.hidden)
                if key not in seen:
                    seen.add(key)
                    out.append((p, ('forward', 'train')))
    return out


def tiny() -> list[tuple[Problem, tuple[str, ...]]]:
    """A configuration small enough for the test suite."""
    return [(Problem(c, 2, 5, 3, 4, 'tiny'), ('forward', 'train')) for c in ('lstm', 'gru')]
