"""The memory benchmark, small: one LSTM training step at T = 400 with and without
``checkpoint_every='auto'``, each in its own process."""

from __future__ import annotations

from benchmarks import memory


def test_checkpointing_shrinks_what_the_method_keeps(tmp_path):
    rows = memory.main(
        ['--lengths', '400', '--cells', 'lstm', '--batch', '2', '--repeats', '1']
        + ['--out', str(tmp_path)]
    )
    none, auto = rows
    assert (none['checkpoint_every'], auto['checkpoint_every']) == (None, 'auto')
    assert none['ran'] and auto['ran'] and auto['step_seconds'] > 0
    # the per-step arrays are the same for both: 4 x [400, 2, 256] float32
    assert none['per_step_array_bytes'] == auto['per_step_array_bytes'] == 4 * 400 * 2 * 256 * 4
    assert auto['temp_bytes'] < none['temp_bytes']
    rest = [r['temp_bytes'] - r['per_step_array_bytes'] for r in rows]
    assert rest[1] < rest[0] / 3
    assert auto['peak_rss_bytes'] >= auto['rss_before_step_bytes'] > 0
    table = (tmp_path / 'results.md').read_text()
    assert table.startswith('`python -m benchmarks.memory --lengths 400')
    assert '| lstm | 2 | 400 | auto |' in table
    assert (tmp_path / 'memory.png').stat().st_size > 0
