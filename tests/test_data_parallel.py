"""Multi-device data parallelism (README): the sharded training step of
examples/data_parallel.py on 8 fake CPU devices, in a subprocess so the device count
does not leak into other tests."""

from __future__ import annotations

import json
import os
import pathlib
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parents[1]


def test_sharded_step_matches_one_device():
    env = dict(os.environ, XLA_FLAGS='--xla_force_host_platform_device_count=8')
    env['PYTHONPATH'] = str(ROOT) + os.pathsep + env.get('PYTHONPATH', '')
    out = subprocess.run(
        [sys.executable, str(ROOT / 'examples' / 'data_parallel.py'), '--json'],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    summary = json.loads(out.stdout.strip().splitlines()[-1])
    assert summary['devices'] == 8
    assert summary['input_shards'] == 8
    assert summary['params_replicated']
    assert abs(summary['loss_sharded'] - summary['loss_one_device']) <= 1e-6 * max(
        1.0, abs(summary['loss_one_device'])
    )
    assert summary['max_grad'] > 1e-2  # the gradients compared are not trivially zero
    assert summary['max_grad_diff'] <= 1e-5 * summary['max_grad']
