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
from support import ROOT, RUN_PY

from facegen.config import MNIST
from facegen.offline import write_bundled


@pytest.fixture(scope='module')
def data_dir(tmp_path_factory):
    folder = tmp_path_factory.mktemp('data')
    write_bundled(MNIST, str(folder))
    return str(folder)


def run_py(*arguments):
    return subprocess.run([sys.executable, RUN_PY, *map(str, arguments)], capture_output=True, text=True, cwd=ROOT)


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
