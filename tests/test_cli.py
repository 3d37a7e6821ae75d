"""The `jaxrnn` command end to end: demo, trace, compare, and one-line errors."""

import os
import re

import pytest

from jaxrnn import cli

pytestmark = pytest.mark.usefixtures('float32_defaults')


def test_demo_quick_writes_everything(tmp_path, capsys):
    out_dir = tmp_path / 'demo'
    assert cli.main(['demo', '--quick', '--out', str(out_dir), '--unit', '1']) == 0
    out = capsys.readouterr().out
    for name in ('report.html', 'lstm.png', 'gru.png', 'compare.png', 'lstm.npz', 'gru.npz'):
        assert (out_dir / name).stat().st_size > 1000, name
    assert 'Forget gate: f = ' in out and 'Update gate: z = ' in out
    assert 'followed through unit 1 of 32: chosen by hand' in out
    assert 'the handout would say Forget = ' in out and 'likeliest next words' in out
    # the timings: both models warmed up, interleaved, with their spread, and where
    timing = ' '.join(out[out.index('One training step') :].split())
    assert 'both models compiled and warmed up first, their steps interleaved' in timing
    assert re.search(r'LSTM \d+\.\d\d ms \(middle half [\d.]+-[\d.]+\)', timing)
    assert 'cores' in timing and 'noise' in timing
    page = (out_dir / 'report.html').read_text()
    assert 'http' not in page and page.count('<figcaption>') == 13  # 6 per model, compare


def test_trace_with_demo_params_writes_files(tmp_path, capsys):
    html, png = tmp_path / 't.html', tmp_path / 't.png'
    args = ['trace', 'I love my friends', '--cell', 'gru', '--unit', '0', '--gate', 'r']
    assert cli.main(args + ['--html', str(html), '--png', str(png)]) == 0
    out = capsys.readouterr().out
    assert 'Step 4: "friends"' in out and 'Reset gate' in out
    assert 'r (unit 0):' in out  # --gate colours the tokens
    page = html.read_text()
    assert page.startswith('<!DOCTYPE html>') and '<option value="r" selected>' in page
    assert png.read_bytes().startswith(b'\x89PNG')


def _error_of(args, capsys):
    code = cli.main(args)
    out, err = capsys.readouterr()
    assert code == 2
    assert out == ''  # the error comes before any other output
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith('jaxrnn: error: ')
    assert 'Traceback' not in err
    return lines[0]


def test_user_errors_are_one_line(tmp_path, capsys):
    with pytest.raises(SystemExit) as exc:
        cli.main(['trace', 'hi', '--cell', 'transformer'])
    assert exc.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "invalid choice: 'transformer'" in err[0]
    assert 'not in the vocabulary' in _error_of(['trace', 'I love zebras'], capsys)
    bad = tmp_path / 'bad.npz'
    bad.write_bytes(b'junk')
    assert 'cannot read params file' in _error_of(['trace', 'i', '--params', str(bad)], capsys)
    missing_dir = tmp_path / 'nope' / 'r.html'
    assert 'does not exist' in _error_of(['trace', 'i', '--html', str(missing_dir)], capsys)
    assert 'is a directory' in _error_of(['trace', 'i', '--png', str(tmp_path)], capsys)
    assert '--unit must be in [0, 32)' in _error_of(['trace', 'i love', '--unit', '99'], capsys)
    msg = _error_of(['trace', 'i love', '--gate', 'x'], capsys)
    assert "--gate must be one of i, f, g, o, c, h for the lstm, got 'x'" in msg
    msg = _error_of(['trace', 'i love', '--cell', 'gru', '--gate', 'f'], capsys)
    assert 'one of r, z, n, h for the gru' in msg
    # demo: every argument checked before it prints or trains anything
    msg = _error_of(['demo', '--sentence', 'I love zebras', '--out', str(tmp_path / 'd')], capsys)
    assert "'zebras' is not a word of the shipped corpus" in msg
    assert '--unit must be in' in _error_of(['demo', '--unit', '32'], capsys)
    assert '--steps must be at least 1' in _error_of(['demo', '--steps', '0'], capsys)
    assert not (tmp_path / 'd').exists()
    if os.geteuid() != 0:  # root can write anywhere
        locked = tmp_path / 'locked'
        locked.mkdir(mode=0o500)
        assert 'permission denied' in _error_of(
            ['trace', 'i', '--html', str(locked / 'r.html')], capsys
        )
    a_file = tmp_path / 'file'
    a_file.write_text('x')
    assert 'is a file, not a folder' in _error_of(['demo', '--quick', '--out', str(a_file)], capsys)


def test_params_of_the_other_cell(tmp_path, capsys):
    from jaxrnn import teach

    teach.train('gru', steps=2).save(tmp_path / 'g.npz')
    msg = _error_of(['trace', 'i', '--cell', 'lstm', '--params', str(tmp_path / 'g.npz')], capsys)
    assert 'holds a gru model' in msg


def test_compare_quick(capsys):
    assert cli.main(['compare', '--quick']) == 0
    out = capsys.readouterr().out
    assert 'outputs (8, 32, 32), carry ((8, 32), (8, 32))' in out
    assert 'outputs (8, 32, 32), carry (8, 32)' in out
    diffs = [float(d) for d in re.findall(r'flax.linen.RNN\(\w+\)\| = (\S+)', out)]
    assert len(diffs) == 2 and max(diffs) < 1e-5
    assert out.count('jaxrnn fwd+bwd') == 2


def test_unknown_command_exits_nonzero():
    with pytest.raises(SystemExit) as exc:
        cli.main(['nope'])
    assert exc.value.code == 2


def test_lesson_tiny_writes_its_page_and_models(tmp_path, capsys):
    out_dir = tmp_path / 'units'
    assert cli.main(['lesson', 'units', '--tiny', '--train', '--out', str(out_dir)]) == 0
    out = capsys.readouterr().out
    assert out.startswith('jaxrnn lesson units (tiny run, training every model)')
    assert 'not decided by this run' in out and f'wrote {out_dir / "index.html"}' in out
    for name in ('index.html', 'results.json', 'units-jobs.png', 'models/lstm.npz'):
        assert (out_dir / name).stat().st_size > 500, name


@pytest.mark.parametrize(
    'args, message',
    [
        (['lesson', 'memory', '--corpus', 'x.txt'], '--corpus is for the units lesson'),
        (['lesson', 'units', '--corpus', 'missing.txt'], 'cannot read corpus'),
        (['lesson', 'memory', '--quick', '--tiny'], 'not allowed with argument'),
        (['trace', 'a b', '--corpus', 'missing.txt'], 'cannot read corpus'),
    ],
)
def test_lesson_and_corpus_mistakes_fail_before_any_output(
    tmp_path, capsys, monkeypatch, args, message
):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit) if 'not allowed' in message else _nothing() as status:
        code = cli.main(args)
    captured = capsys.readouterr()
    assert captured.out == '' and message in captured.err
    assert (status.value.code if status else code) == 2
    assert list(tmp_path.iterdir()) == []  # no output folder made


class _nothing:
    def __enter__(self):
        return None

    def __exit__(self, *exc):
        return False


def test_trace_trains_on_a_teachers_corpus(tmp_path, capsys):
    path = tmp_path / 'mine.txt'
    path.write_text('the cat sat on the mat .\n\nthe dog sat on the log .\n\na cat ran .')
    assert cli.main(['trace', 'the cat sat', '--cell', 'gru', '--corpus', str(path)]) == 0
    out = capsys.readouterr().out
    assert out.startswith(f'training a word-level GRU on {path} (3 texts, 300 steps)')
    assert 'GRU reads "the cat sat"' in out
    assert cli.main(['trace', 'the zebra', '--corpus', str(path)]) == 2
    assert "'zebra' is not a word of the corpus" in capsys.readouterr().err
    assert cli.main(['trace', 'the cat', '--corpus', str(path), '--unit', '40']) == 2
    captured = capsys.readouterr()  # refused before training
    assert captured.out == '' and 'the model trained on --corpus (32 units)' in captured.err


def test_trace_opens_a_lessons_models(tmp_path, capsys):
    from jaxrnn.teach import lessons

    lessons.run('sentiment', 'tiny').write(tmp_path)
    args = ['trace', 'the film was terrible', '--params', str(tmp_path / 'models' / 'lstm.npz')]
    assert cli.main(args) == 0
    out = capsys.readouterr().out
    assert 'LSTM reads "the film was terrible"' in out and 'likeliest next words' not in out
    assert "the model's answer after the last word: negative" in out
    lessons.run('memory', 'tiny').write(tmp_path / 'memory')
    assert cli.main(['trace', 'a e f', '--params', str(tmp_path / 'memory/models/simple.npz')]) == 2
    assert 'holds a vanilla RNN: it has no gates to narrate' in capsys.readouterr().err
