"""NOTES.md entry 11: OpenBLAS's single-threaded sgemm (the ``scipy-openblas32`` wheel
that the native kernel links) on the per-step products of the native kernel, by the
width of the column panel: GFLOP/s per core. Compiles ``openblas_small.c`` with the C
compiler (``cc``) into a temporary folder and runs it for each shape.

  python -m benchmarks.experiments.openblas_small
"""

import pathlib
import subprocess
import tempfile

import scipy_openblas32

HERE = pathlib.Path(__file__).resolve().parent
# (rows m, depth k, columns n): a step of the forward (k = h) or backward (k = G h)
SHAPES = [(16, 512, 2048), (8, 512, 2048), (16, 256, 1024), (32, 256, 1024), (16, 1024, 4096),
          (8, 1024, 4096), (4, 2048, 512), (1, 128, 512)]  # fmt: skip
PANELS = [16, 32, 48, 64, 96, 128, 256]


def main() -> None:
    lib = scipy_openblas32.get_lib_dir()
    with tempfile.TemporaryDirectory() as tmp:
        exe = pathlib.Path(tmp) / 'openblas_small'
        subprocess.run(
            ['cc', '-O2', f'-I{scipy_openblas32.get_include_dir()}',
             str(HERE / 'openblas_small.c'), f'-L{lib}', '-lscipy_openblas',
             f'-Wl,-rpath,{lib}', '-o', str(exe)],
            check=True,
        )  # fmt: skip
        print('| m, k, n | ' + ' | '.join(f'panel {p}' for p in PANELS) + ' |')
        print('|---|' + '---:|' * len(PANELS))
        for m, k, n in SHAPES:
            rates = []
            for p in PANELS:
                out = subprocess.run(
                    [str(exe), str(m), str(k), str(n), str(p)], capture_output=True, text=True
                )
                rates.append(out.stdout.strip() if out.returncode == 0 else '-')
            print(f'| {m}, {k}, {n} | ' + ' | '.join(rates) + ' |', flush=True)


if __name__ == '__main__':
    main()
