"""run.py score, sample and sweep keep training's promises: bad input and bad files get one line that
names the problem and what to do, exit status not 0, no traceback, and nothing half-made is kept.

Real files on disk, real processes, real signals."""
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
from support import ROOT, RUN_PY, RunWithoutRealness, read_only_command, tf, train

from facegen.config import MNIST
from facegen.offline import write_bundled


@pytest.fixture(scope='module')
def data_dir(tmp_path_factory):
    folder = tmp_path_factory.mktemp('data')
    write_bundled(MNIST, str(folder))
    return str(folder)


def run_py(*arguments, env=None):
    return subprocess.run([sys.executable, RUN_PY, *map(str, arguments)], capture_output=True, text=True, cwd=ROOT,
                          env=env)


def assert_one_line(done, *words, name=''):
    """Failed, with no traceback, one line on stderr holding each of words (name: what was tried)."""
    assert done.returncode not in (0, None), f'{name}: {done.stdout[-2000:]}'
    assert 'Traceback' not in done.stderr and 'Traceback' not in done.stdout, done.stderr[-3000:]
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, f'{name}: {done.stderr}'
    for word in words:
        assert word in lines[0], f'{name}: {lines[0]}'


# ------------------------------------------------------------------ run.py score

def samples_files(folder):
    """{name: (path, what the line must say)} of files that are not whole samples files."""
    digits = np.random.default_rng(0).integers(0, 256, (100, 28, 28), dtype=np.uint8)
    np.savez_compressed(folder / 'good.npz', images=digits)
    whole = (folder / 'good.npz').read_bytes()
    np.save(folder / 'saved.npy', digits)
    (folder / 'npy_named.npz').write_bytes((folder / 'saved.npy').read_bytes())
    (folder / 'cut.npz').write_bytes(whole[:len(whole) // 2])
    damaged = bytearray(whole)
    damaged[200:220] = bytes(20)
    (folder / 'damaged.npz').write_bytes(bytes(damaged))
    np.savez(folder / 'other.npz', pictures=digits)
    (folder / 'text.npz').write_text('not numbers')
    return {'.npy': (folder / 'saved.npy', 'one array'), '.npy named .npz': (folder / 'npy_named.npz', 'one array'),
            'cut in half': (folder / 'cut.npz', 'damaged, cut short'), 'damaged bytes': (folder / 'damaged.npz', 'damaged'),
            'another array': (folder / 'other.npz', 'not `images`'), 'text': (folder / 'text.npz', 'not a NumPy file'),
            'missing': (folder / 'missing.npz', 'not there'), 'a folder': (folder, 'a folder')}


def test_score_names_a_file_that_is_not_whole_samples(data_dir, tmp_path):
    for name, (path, says) in samples_files(tmp_path).items():
        assert_one_line(run_py('score', path, '--data', data_dir), says, str(path), name=name)


def test_ctrl_c_while_the_classifier_trains_caches_nothing_and_the_next_score_trains_it(tmp_path):
    data = tmp_path / 'data'  # a folder of its own: no classifier cached there yet
    data.mkdir()
    np.savez(tmp_path / 'real.npz', images=_bundled_digits()[:200])
    score = subprocess.Popen([sys.executable, RUN_PY, 'score', str(tmp_path / 'real.npz'), '--data', str(data)],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT,
                             env={**os.environ, 'PYTHONUNBUFFERED': '1'})
    deadline = time.monotonic() + 120
    for line in score.stdout:  # bounded: the process ends, or the deadline fails the test
        assert time.monotonic() < deadline, 'the classifier never started training'
        if line.startswith('Training the digit classifier'):
            break
    time.sleep(0.5)  # inside scikit-learn's fit, which takes seconds
    score.send_signal(signal.SIGINT)
    out, err = score.communicate(timeout=120)
    assert score.returncode not in (0, None) and 'Traceback' not in err, err
    assert err.strip().startswith('Stopped') and len(err.strip().splitlines()) == 1, err
    assert not list(data.glob('.digit-classifier-*')), 'no classifier cut short is cached'

    again = run_py('score', tmp_path / 'real.npz', '--data', data)
    assert again.returncode == 0 and 'Training the digit classifier' in again.stdout, again.stderr[-2000:]
    assert list(data.glob('.digit-classifier-*.joblib'))


def _bundled_digits():
    from facegen.offline import bundled_mnist
    return bundled_mnist()


# ------------------------------------------------------------------ run.py sweep: a damaged journal

@pytest.fixture(scope='module')
def finished_sweep(data_dir, tmp_path_factory):
    """A finished two-point sweep: (its spec, its runs folder, the bytes of its study.log)."""
    folder = tmp_path_factory.mktemp('sweep')
    spec = folder / 'pair.toml'
    spec.write_text('datasets = ["mnist"]\nbudget_batches = 20\nprune = false\nreports = 0\n'
                    '[grid]\nlearning_rate = [0.0005, 0.001]\n')
    done = run_py('sweep', spec, '--data', data_dir, '--runs', folder / 'runs')
    assert done.returncode == 0, done.stderr[-3000:]
    return spec, folder / 'runs', (folder / 'runs' / 'sweeps' / 'pair' / 'study.log').read_bytes()


def damaged_copy(finished_sweep, tmp_path, damage):
    """A copy of the finished sweep's runs folder whose study.log is damage(its bytes)."""
    import shutil
    spec, runs, journal = finished_sweep
    copy = tmp_path / 'runs'
    shutil.copytree(runs, copy)
    (copy / 'sweeps' / 'pair' / 'study.log').write_bytes(damage(journal))
    return spec, copy, copy / 'sweeps' / 'pair' / 'study.log'


def cut_last_line(journal):
    """A full disk's end: a last entry written only in part, no end of line."""
    return journal + journal.splitlines(keepends=True)[-1][:25]


def garble_line(number):
    def garble(journal):
        lines = journal.splitlines(keepends=True)
        lines[number - 1] = b'{"op_code": 5, "worker_id": \xff\xfe garbage\n'
        return b''.join(lines)
    return garble


@pytest.mark.parametrize('damage, line', [(cut_last_line, None), (garble_line(6), 6)], ids=['cut short', 'garbled'])
def test_a_damaged_journal_is_refused_untouched_and_its_finished_trials_stay_readable(
        data_dir, finished_sweep, tmp_path, damage, line):
    spec, runs, journal = damaged_copy(finished_sweep, tmp_path, damage)
    damaged = journal.read_bytes()
    line = line or len(damaged.splitlines())
    refused = run_py('sweep', spec, '--data', data_dir, '--runs', runs)
    assert_one_line(refused, f'line {line} is', 'will not write', '--results-only', '--recover-journal')
    assert journal.read_bytes() == damaged, 'not one byte appended'

    temporary = tmp_path / 'tmp'
    temporary.mkdir()
    shown = run_py('sweep', spec, '--data', data_dir, '--runs', runs, '--results-only',
                   env={**os.environ, 'TMPDIR': str(temporary)})
    assert shown.returncode == 0 and f'line {line} is' in shown.stdout, shown.stderr[-3000:]
    assert list(temporary.iterdir()) == [], 'the readable lines\' copy is removed once the page is written'
    rows = [r for r in (runs / 'sweeps' / 'pair' / 'results.md').read_text().splitlines() if r.startswith('|')][2:]
    expected = 2 if damage is cut_last_line else None
    assert expected is None or len(rows) == expected, 'both finished trials are on the page'
    assert journal.read_bytes() == damaged

    recovered = run_py('sweep', spec, '--data', data_dir, '--runs', runs, '--recover-journal')
    assert recovered.returncode == 0, recovered.stderr[-3000:]
    (kept,) = journal.parent.glob('study.log.damaged-*')
    assert kept.read_bytes() == damaged, 'the damaged file is kept as it was'
    assert b'\xff' not in journal.read_bytes() and journal.read_bytes().endswith(b'\n')
    again = run_py('sweep', spec, '--data', data_dir, '--runs', runs)
    assert again.returncode == 0, again.stderr[-3000:]


# ------------------------------------------------------------------ run.py sample

@pytest.fixture(scope='module')
def trained_run(nb, digits, tmp_path_factory):
    """A run folder of the notebook's train(): checkpoints at batches 4, 8 and 12, with their meta graphs."""
    run_dir = tmp_path_factory.mktemp('trained') / 'run'
    train(nb, digits, run_dir)
    assert sorted(p.name for p in run_dir.glob('*.index')) == [f'model.ckpt-{n}.index' for n in (12, 4, 8)]
    return run_dir


def copy_of(run_dir, tmp_path):
    import shutil
    copy = tmp_path / 'copy'
    shutil.copytree(run_dir, copy)
    return copy


def plain_saver_checkpoint(folder):
    """A checkpoint written by a plain tf.train.Saver, as a learner's own code writes one: model.ckpt-1."""
    with tf.Graph().as_default(), tf.Session() as sess:
        weights = tf.get_variable('classifier/w', [3, 3], initializer=tf.ones_initializer())
        sess.run(weights.initializer)
        tf.train.Saver().save(sess, str(folder / 'model.ckpt'), global_step=1)


def test_sample_passes_over_a_cut_off_newest_checkpoint(trained_run, tmp_path):
    run_dir = copy_of(trained_run, tmp_path)
    data = next(run_dir.glob('model.ckpt-12.data-*'))
    data.write_bytes(data.read_bytes()[:100])  # cut off, as by a full disk
    done = run_py('sample', run_dir, '-n', 4, '--out', tmp_path / 'out')
    assert done.returncode == 0, done.stderr
    assert 'Could not read the checkpoint' in done.stdout and 'model.ckpt-12' in done.stdout
    assert 'Sampling from' in done.stdout and 'model.ckpt-8, the newest checkpoint that could be read' in done.stdout
    assert np.load(tmp_path / 'out' / 'samples.npz')['images'].shape == (4, 28, 28, 1)


def test_sample_with_no_readable_checkpoint_says_so_and_writes_nothing(trained_run, tmp_path):
    run_dir = copy_of(trained_run, tmp_path)
    for data in run_dir.glob('model.ckpt-*.data-*'):
        data.write_bytes(data.read_bytes()[:100])
    assert_one_line(run_py('sample', run_dir, '--out', tmp_path / 'out'), 'Could not read the checkpoint',
                    'nothing to sample from')
    assert not (tmp_path / 'out').exists()


def test_sample_refuses_a_plain_savers_checkpoint(tmp_path):
    plain_saver_checkpoint(tmp_path)
    assert_one_line(run_py('sample', tmp_path, '--out', tmp_path / 'out'), 'was not written by train()')
    assert not (tmp_path / 'out').exists()


def test_sample_refuses_a_checkpoint_whose_files_come_from_two_networks(trained_run, tmp_path):
    run_dir = copy_of(trained_run, tmp_path)
    other = tmp_path / 'other'
    other.mkdir()
    plain_saver_checkpoint(other)
    for path in run_dir.glob('model.ckpt-12.*'):
        if not path.name.endswith('.meta'):
            path.unlink()
    for path in other.glob('model.ckpt-1.*'):
        if not path.name.endswith('.meta'):
            (run_dir / path.name.replace('ckpt-1.', 'ckpt-12.')).write_bytes(path.read_bytes())
    assert_one_line(run_py('sample', run_dir, '--out', tmp_path / 'out'), 'holds another network')


def test_sample_into_a_read_only_folder_is_one_line_and_leaves_nothing(trained_run, tmp_path):
    out = tmp_path / 'out'
    out.mkdir()
    try:
        done = subprocess.run(read_only_command(out, [sys.executable, RUN_PY, 'sample', str(trained_run), '-n', '4',
                                                      '--out', str(out)]),
                              capture_output=True, text=True, cwd=ROOT)
    finally:
        os.chmod(out, 0o755)
    assert_one_line(done, 'Could not write the samples in', str(out), '--out')
    assert list(out.iterdir()) == []


def test_sample_rewrites_whole_files_only(trained_run, tmp_path):
    out = tmp_path / 'out'
    assert run_py('sample', trained_run, '-n', 4, '--out', out).returncode == 0
    assert sorted(p.name for p in out.iterdir()) == ['samples.npz', 'samples.png'], 'no partial file left'


def test_sample_keeps_the_share_its_discriminator_rates_best_and_names_a_run_that_cannot(nb, digits, trained_run,
                                                                                          tmp_path):
    done = run_py('sample', trained_run, '-n', 6, '--keep-share', 0.5, '--out', tmp_path / 'out')
    assert done.returncode == 0, done.stderr
    assert np.load(tmp_path / 'out' / 'samples.npz')['images'].shape == (6, 28, 28, 1)
    assert_one_line(run_py('sample', trained_run, '--keep-share', 0, '--out', tmp_path / 'zero'),
                    '--keep-share 0', 'above 0 and at most 1')

    with tf.Graph().as_default():
        nb['train'](1, 8, 16, 0.0005, 0.5, digits.get_batches, digits.shape, digits.image_mode,
                    print_every=10 ** 9, show_every=10 ** 9, run=RunWithoutRealness(str(tmp_path / 'unrated')))
    assert_one_line(run_py('sample', tmp_path / 'unrated', '--keep-share', 0.5, '--out', tmp_path / 'none'),
                    'keeps no rating of its samples', '--keep-share 1')
    assert not (tmp_path / 'zero').exists() and not (tmp_path / 'none').exists()


# ------------------------------------------------------------------ run.py bench, and caches

@pytest.mark.parametrize('arguments, says', [
    (['--batch', '0'], '--batch 0'),
    (['--steps', '0'], '--steps 0'),
    (['--quality', 'mnist', '-m', '-1'], '-m -1'),
    (['--quality', 'mnist', '--learning-rate', '0'], '--learning-rate 0'),
    (['--quality', 'mnist', '--keep-share', '1.5'], '--keep-share 1.5'),
    (['--quality', 'mnist', '--latent-classes', '1'], '--latent-classes 1'),
    (['--quality', 'mnist', '--class-information', '1'], '--class-information 1: give --latent-classes too'),
    (['--quality', 'celeba', '--data', '/no/such/folder'], 'is not a folder'),
])
def test_bench_names_impossible_arguments_before_running_anything(arguments, says):
    assert_one_line(run_py('bench', *arguments), says, 'Nothing was run')


def test_bench_names_a_folder_without_faces(tmp_path):
    assert_one_line(run_py('bench', '--quality', 'celeba', '--data', tmp_path, '-m', '0.01'), 'holds no .jpg')


@pytest.mark.parametrize('interruption', [KeyboardInterrupt, OSError], ids=['Ctrl-C', 'a full disk'])
def test_a_cache_cut_short_leaves_the_old_one_and_nothing_else(tmp_path, interruption):
    from facegen.files import written_whole
    cache = tmp_path / '.cache.npz'
    cache.write_bytes(b'the whole earlier cache')
    with pytest.raises(interruption):
        with written_whole(str(cache)) as partial:
            with open(partial, 'wb') as f:
                f.write(b'half of a new')
            raise interruption
    assert cache.read_bytes() == b'the whole earlier cache'
    assert [p.name for p in tmp_path.iterdir()] == ['.cache.npz'], 'no partial file left beside it'
    with written_whole(str(cache)) as partial:
        with open(partial, 'wb') as f:
            f.write(b'a whole new cache')
    assert cache.read_bytes() == b'a whole new cache' and oct(cache.stat().st_mode & 0o777) != oct(0o600)
