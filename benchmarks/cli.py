"""``python -m benchmarks SUITE``: runs a suite, prints a table, writes JSON, Markdown and
plots (see ``benchmarks/README.md``)."""

from __future__ import annotations

import argparse
import gc
import pathlib
import shlex
import sys

import jax
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from benchmarks import measure, problems, report
from benchmarks.impls import IMPLS, Impl
from jaxrnn import _timing

SUITES = {
    'quick': lambda args: problems.quick(),
    'deepbench': lambda args: problems.deepbench(args.full or jax.default_backend() != 'cpu'),
    'scaling': lambda args: problems.scaling(),
}
ROUNDS = {'quick': 7, 'deepbench': 5, 'scaling': 5}


def _default_dtypes() -> list[str]:
    # bfloat16 is native on GPUs and TPUs; XLA:CPU emulates it, so it is opt-in there.
    return ['float32'] if jax.default_backend() == 'cpu' else ['float32', 'bfloat16']


def _impls(suite: str, only: list[str] | None, skipped: dict) -> list[Impl]:
    chosen = []
    for impl in IMPLS:
        if only and not any(o.lower() in impl.name.lower() for o in only):
            continue
        if impl.recurrent_only and suite not in ('deepbench', 'tiny'):
            continue
        reason = impl.missing()
        if reason:
            skipped[impl.name] = reason
            continue
        chosen.append(impl)
    return chosen


def run_suite(args, console: Console) -> dict:
    suite = 'tiny' if args.tiny else args.suite
    plan = problems.tiny() if args.tiny else SUITES[args.suite](args)
    dtypes = args.dtype.split(',') if args.dtype else _default_dtypes()
    rounds = args.rounds or (3 if args.tiny else ROUNDS[args.suite])
    skipped: dict[str, str] = {}
    impls = _impls(suite, args.only, skipped)
    for name, reason in skipped.items():
        console.print(f'[yellow]skipping {name}[/]: {reason}')
    rates = {d: measure.gemm_rates(d, size=128 if args.tiny else 1024) for d in dtypes}
    best_rate = {d: max(r.values()) for d, r in rates.items()}
    rows = []
    groups = [(p, m, d) for p, modes in plan for m in modes for d in dtypes]
    with Progress(
        TextColumn('{task.description}'),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=True,
    ) as progress:
        task = progress.add_task('benchmarks', total=len(groups))
        for problem, mode, dtype in groups:
            progress.update(task, description=f'{problem.label} {mode} {dtype}')
            runners = {}
            for impl in impls:
                if problem.cell not in impl.cells:
                    continue
                try:
                    runners[impl.name] = (impl, impl.build(problem, mode, dtype))
                except Exception as e:  # noqa: BLE001 - reported, never silent
                    skipped[f'{impl.name} on {problem.label} {mode} {dtype}'] = (
                        f'{type(e).__name__}: {str(e).splitlines()[0][:200]}'
                    )
            stats = _timing.interleaved(
                {name: r.run for name, (_, r) in runners.items()},
                rounds,
                min_seconds=0.0 if args.tiny else 0.2,
            )
            peers = [stats[n]['median_s'] for n, (impl, _) in runners.items() if impl.peer]
            best_peer = min(peers) if peers else None
            for name, (impl, runner) in runners.items():
                flops = problem.flops(mode, impl.recurrent_only)
                floor = flops / best_rate[dtype]
                s = stats[name]
                rows.append(
                    dict(
                        problem=problem.label + (' (recurrent)' if impl.recurrent_only else ''),
                        tag=problem.tag,
                        cell=problem.cell,
                        size=dict(
                            batch=problem.batch,
                            time=problem.time,
                            input=problem.input,
                            hidden=problem.hidden,
                        ),
                        mode=mode,
                        dtype=dtype,
                        impl=name,
                        peer=impl.peer,
                        recurrent_only=impl.recurrent_only,
                        flops=flops,
                        floor_s=floor,
                        x_floor=s['median_s'] / floor,
                        x_best_peer=(
                            None
                            if best_peer is None or impl.recurrent_only
                            else s['median_s'] / best_peer
                        ),
                        compile_s=runner.compile_s,
                        memory=runner.memory,
                        **s,
                    )
                )
            del runners
            gc.collect()
            progress.advance(task)
    results = dict(
        suite=suite,
        environment=report.environment(),
        gemm_rates=rates,
        rows=rows,
        skipped=skipped,
    )
    if suite == 'scaling' or (args.tiny and args.suite == 'scaling'):
        results['scaling'] = report.scaling_fits(results)
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog='python -m benchmarks', description=__doc__.split('\n')[0]
    )
    parser.add_argument('suite', choices=sorted(SUITES))
    parser.add_argument(
        '--full', action='store_true', help='deepbench: every problem (default on accelerators)'
    )
    parser.add_argument(
        '--dtype',
        default=None,
        help='comma-separated: float32,bfloat16 (default: float32 on CPU, both elsewhere)',
    )
    parser.add_argument('--rounds', type=int, default=None, help='timed rounds per problem')
    parser.add_argument(
        '--only', nargs='*', default=None, help='implementations whose name contains one of these'
    )
    parser.add_argument(
        '--out',
        type=pathlib.Path,
        default=None,
        help='output folder (default benchmarks/out/SUITE)',
    )
    parser.add_argument('--tiny', action='store_true', help='a tiny configuration (for tests)')
    args = parser.parse_args(argv)
    console = Console()
    if not console.is_terminal:  # files and pipes: do not squeeze the table to 80 columns
        console = Console(width=200)
    command = 'python -m benchmarks ' + ' '.join(
        shlex.quote(a) for a in (argv if argv is not None else sys.argv[1:])
    )
    results = run_suite(args, console)
    results['command'] = command
    console.print(
        report.table(results, f'{results["suite"]} on {results["environment"]["device"]}')
    )
    out = args.out or pathlib.Path('benchmarks') / 'out' / results['suite']
    paths = report.write(results, out, command)
    console.print('wrote ' + ', '.join(str(p) for p in paths))
    return 0
