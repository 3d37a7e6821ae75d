"""Trains every lesson's models, writes the weights that ship with jaxrnn
(``jaxrnn/teach/data/lessons/NAME-SIZE.npz``) and the pages, figures and
``results.json`` of the quick and full runs (``docs/lessons/NAME/`` and
``docs/lessons/NAME/full/``).

Run from a source checkout::

  python scripts/train_lessons.py                     # tiny and quick, every lesson
  python scripts/train_lessons.py --sizes full memory # the full memory lesson
  python scripts/train_lessons.py --pages             # pages again from the shipped weights

The ``lstm-vs-gru`` lesson trains nothing (it times the layers on this machine and reads
the accuracies of the others' shipped weights): run it last, on an idle machine.
"""

import argparse
import pathlib

from jaxrnn.teach import lessons
from jaxrnn.teach.lessons import _common

DOCS = pathlib.Path(__file__).resolve().parent.parent / 'docs' / 'lessons'


def main(argv=None) -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument('names', nargs='*', default=list(lessons.NAMES))
    parser.add_argument('--sizes', default='tiny,quick')
    parser.add_argument(
        '--pages',
        action='store_true',
        help='do not train: write the pages from the shipped weights',
    )
    args = parser.parse_args(argv)
    for name in args.names:
        for size in args.sizes.split(','):
            train = name != 'lstm-vs-gru' and not args.pages
            lesson = lessons.run(name, size, train=train, progress=lambda line: print(' ', line))
            if lesson.weights and train:
                _common.save_weights(_common.weights_file(name, size), lesson.weights)
            if size != 'tiny':
                print(lesson.text())
                folder = DOCS / name / ('full' if size == 'full' else '')
                print('wrote', lesson.write(folder), f'({lesson.seconds:.0f} s)')


if __name__ == '__main__':
    main()
