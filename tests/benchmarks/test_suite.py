"""The benchmark suite's code runs end to end on a tiny configuration and writes what
benchmarks/README.md promises. No timing is asserted."""

from __future__ import annotations

import json

import jax
import numpy as np
import pytest

from benchmarks import cli, measure, problems, report
from benchmarks.impls import IMPLS

pytestmark = pytest.mark.usefixtures('float32_defaults')


def test_tiny_run_writes_table_json_markdown_and_plots(tmp_path, capsys):
    assert cli.main(['quick', '--tiny', '--rounds', '2', '--out', str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert 'jaxrnn' in out and 'x floor' in out
    results = json.loads((tmp_path / 'results.json').read_text())
    env = results['environment']
    assert env['cpu_count'] and env['versions']['jax'] and env['device']
    names = {r['impl'] for r in results['rows']}
    assert {
        'jaxrnn',
        'flax.linen OptimizedLSTMCell',
        'flax.linen GRUCell',
        'flax.nnx GRUCell',
    } <= names
    assert {'equinox', 'torch'} <= names  # installed by the test extra / dev setup
    if jax.default_backend() != 'gpu':  # GPU only: skipped with a note elsewhere
        for name in ('jax.experimental.rnn', 'jaxrnn backend=pallas', 'jaxrnn backend=cudnn'):
            assert 'needs an NVIDIA GPU' in results['skipped'][name]
    for r in results['rows']:
        assert len(r['times_s']) >= 2 and r['median_s'] > 0 and r['x_floor'] > 0
        assert r['floor_s'] == pytest.approx(
            r['flops'] / max(results['gemm_rates']['float32'].values())
        )
        assert r['mode'] in ('forward', 'train')
    markdown = (tmp_path / 'results.md').read_text()
    assert markdown.count('| lstm b2 t5 i3 h4 |') >= 10
    assert (tmp_path / 'ratios.png').read_bytes().startswith(b'\x89PNG')


def test_every_implementation_computes_the_same_layer_shape():
    """Each implementation's forward output has the layer's shape (the timings compare
    like with like)."""
    p = problems.Problem('lstm', 2, 3, 4, 5)
    for impl in IMPLS:
        if 'lstm' not in impl.cells or impl.missing() or impl.recurrent_only:
            continue
        out = impl.build(p, 'forward', 'float32').run()
        shape = tuple(out.shape)
        assert shape == (2, 3, 5), impl.name


@pytest.mark.parametrize('cell', ['lstm', 'gru'])
def test_backend_entries_run_the_same_layer(cell):
    """The GPU-only backend entries build and compute the default's outputs (the Pallas
    one in interpret mode here; the timing is only meaningful on a GPU)."""
    p = problems.Problem(cell, 2, 3, 4, 5)
    by_name = {impl.name: impl for impl in IMPLS}
    want = by_name['jaxrnn'].build(p, 'forward', 'float32').run()
    got = by_name['jaxrnn backend=pallas'].build(p, 'forward', 'float32').run()
    np.testing.assert_allclose(got, want, atol=1e-6)


def test_flops_floor_and_fits():
    p = problems.Problem('gru', 4, 10, 8, 16)
    assert p.flops('forward') == 2 * 4 * 10 * (8 + 16) * 3 * 16
    assert p.flops('train') == 3 * p.flops('forward')
    assert p.flops('forward', recurrent_only=True) == 2 * 4 * 10 * 16 * 3 * 16
    sizes = np.array([64, 128, 256, 512])
    assert measure.fit_exponent(sizes, 3e-6 * sizes**1.0) == pytest.approx(1.0)
    assert measure.fit_exponent(sizes, 1e-9 * sizes**2.0) == pytest.approx(2.0)


def test_deepbench_sizes_are_deepbench_s():
    full = problems.deepbench(full=True)
    lstm = [p for p, _ in full if p.cell == 'lstm' and p.tag == 'deepbench-train']
    assert {(p.hidden, p.batch) for p in lstm if p.time == 25} == {
        (h, b) for h in (512, 1024, 2048, 4096) for b in (16, 32, 64, 128)
    }
    assert all(p.input == p.hidden for p, _ in full)
    cpu = problems.deepbench(full=False)
    assert {(p.cell, p.batch, p.time, p.hidden) for p, _ in cpu} <= {
        (p.cell, p.batch, p.time, p.hidden) for p, _ in full
    }


def test_scaling_fits_from_rows():
    rows = []
    for axis, values in problems.SCALING_AXES.items():
        for v in values:
            size = dict(problems.SCALING_BASE, **{axis: v})
            if axis == 'hidden':
                size['input'] = v
            t = 1e-6 * size['time'] * size['batch'] ** 0.5 * size['hidden'] ** 2
            rows.append(dict(cell='lstm', mode='forward', dtype='float32', impl='x', size=size,
                             median_s=t, memory={}))  # fmt: skip
    (fit,) = report.scaling_fits({'rows': rows})
    assert fit['exponents']['time'] == pytest.approx(1.0)
    assert fit['exponents']['batch'] == pytest.approx(0.5)
    assert fit['exponents']['hidden'] == pytest.approx(2.0)
