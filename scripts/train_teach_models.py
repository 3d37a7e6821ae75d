"""Trains the teaching models that ship with jaxrnn (used by ``jaxrnn trace`` when no
``--params`` is given) and writes them to ``jaxrnn/teach/data/{lstm,gru}.npz``.

  python scripts/train_teach_models.py [--steps 400]

``jaxrnn demo`` trains the same models (same function and seed; 300 steps by default) on
the spot.
"""

from __future__ import annotations

import argparse
import pathlib

from jaxrnn import teach

DATA = pathlib.Path(__file__).resolve().parents[1] / 'jaxrnn' / 'teach' / 'data'


def main(argv=None):
    parser = argparse.ArgumentParser()
    parser.add_argument('--steps', type=int, default=400)
    parser.add_argument('--out', type=pathlib.Path, default=DATA)
    args = parser.parse_args(argv)
    for cell in teach.CELLS:
        trained = teach.train(cell, steps=args.steps, seed=0)
        trained.save(args.out / f'{cell}.npz')
        print(f'{cell}: loss {trained.losses[0]:.3f} -> {trained.losses[-1]:.3f}, saved')


if __name__ == '__main__':
    main()
