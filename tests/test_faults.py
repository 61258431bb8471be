"""Nothing lost: a moved, copied or damaged run folder resumes from what it holds, bad arguments
stop train() before anything is built, and a long run's graph does not grow."""
import random
import shutil
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
from support import BATCH, PER_EPOCH, ROOT, RUN_PY, TRAIN_IN_A_SUBPROCESS, checkpoint_values, tf, train

from facegen.runs import checkpoints


def steps(run_dir):
    return [int(path.rsplit('-', 1)[1]) for path in checkpoints(str(run_dir))]


def assert_resumed_exactly(run_dir, total):
    """The folder's newest checkpoint is a run that went on from the old one, not one that restarted."""
    final = checkpoint_values(checkpoints(str(run_dir))[0])
    assert final['global_step'] == total
    assert final['beta1_power'] == pytest.approx(0.5 ** (total + 1)), "Adam's steps: the old ones and the new"
    assert np.load(run_dir / 'losses.npy').shape == (total, 2)


def test_a_moved_run_folder_resumes_where_it_stopped(nb, digits, tmp_path, capsys):
    train(nb, digits, tmp_path / 'here', max_batches=8)
    shutil.move(tmp_path / 'here', tmp_path / 'there')
    capsys.readouterr()

    train(nb, digits, tmp_path / 'there')  # 2 epochs: 12 batches

    assert 'at batch 8 of 12' in capsys.readouterr().out
    assert_resumed_exactly(tmp_path / 'there', 12)


@pytest.mark.parametrize('damage', ['missing', 'garbled'])
def test_a_lost_or_garbled_checkpoint_index_does_not_start_over(nb, digits, tmp_path, damage):
    train(nb, digits, tmp_path, max_batches=8)
    index = tmp_path / 'checkpoint'
    index.unlink() if damage == 'missing' else index.write_bytes(b'\x00\xffnot a checkpoint state\n')

    train(nb, digits, tmp_path)

    assert_resumed_exactly(tmp_path, 12)


def test_a_damaged_newest_checkpoint_resumes_from_the_one_before(nb, digits, tmp_path, capsys):
    train(nb, digits, tmp_path, max_batches=8)  # checkpoints at 4 and 8
    data = next(tmp_path.glob('model.ckpt-8.data-*'))
    data.write_bytes(data.read_bytes()[:100])  # cut off, as by a full disk or a crash
    capsys.readouterr()

    train(nb, digits, tmp_path)

    out = capsys.readouterr().out
    assert 'Could not read the checkpoint' in out and 'model.ckpt-8' in out
    assert 'Resuming from' in out and 'model.ckpt-4' in out
    assert_resumed_exactly(tmp_path, 12)


def test_kept_checkpoints_stay_at_their_number_after_a_resume(nb, digits, tmp_path):
    train(nb, digits, tmp_path, max_batches=8, checkpoint_every=2, keep_checkpoints=2)
    assert steps(tmp_path) == [8, 6]
    train(nb, digits, tmp_path, epochs=3, checkpoint_every=2, keep_checkpoints=2)  # to 18
    assert steps(tmp_path) == [18, 16]


def test_lost_losses_leave_a_gap_and_the_history_stays_aligned(nb, digits, tmp_path, capsys):
    train(nb, digits, tmp_path, max_batches=8)
    (tmp_path / 'losses.npy').unlink()

    train(nb, digits, tmp_path)

    losses = np.load(tmp_path / 'losses.npy')
    assert losses.shape == (12, 2)
    assert np.isnan(losses[:8]).all() and np.isfinite(losses[8:]).all()
    assert 'batches 1 to 8' in capsys.readouterr().out


def test_sample_reads_the_folder_it_is_given_not_the_one_it_was_copied_from(nb, digits, tmp_path):
    train(nb, digits, tmp_path / 'original', max_batches=4)
    shutil.copytree(tmp_path / 'original', tmp_path / 'copy')
    train(nb, digits, tmp_path / 'original', max_batches=8)  # the original moves on

    result = subprocess.run([sys.executable, RUN_PY, 'sample', str(tmp_path / 'copy'), '-n', '4',
                             '--out', str(tmp_path / 'out')], capture_output=True, text=True, timeout=300)

    assert result.returncode == 0, result.stderr
    assert f"{tmp_path / 'copy' / 'model.ckpt-4'}" in result.stdout


@pytest.mark.parametrize('argument, value, message', [
    ('z_dim', 0, 'z_dim is 0'),
    ('batch_size', 0, 'batch_size is 0'),
    ('batch_size', 49, 'between 1 and the number of images (48)'),
    ('learning_rate', 0.0, 'learning_rate is 0.0'),
    ('beta1', 1.0, 'beta1 is 1.0'),
    ('epoch_count', 0, 'epoch_count is 0'),
    ('data_shape', (48, 28, 28, 3), 'data_shape is (48, 28, 28, 3)'),
])
def test_train_refuses_arguments_that_cannot_work_before_building_anything(nb, digits, argument, value, message):
    arguments = dict(epoch_count=1, batch_size=BATCH, z_dim=16, learning_rate=0.0005, beta1=0.5,
                     get_batches=digits.get_batches, data_shape=digits.shape, data_image_mode=digits.image_mode)
    arguments[argument] = value
    with tf.Graph().as_default() as graph:
        with pytest.raises(ValueError, match=message.replace('(', r'\(').replace(')', r'\)')):
            nb['train'](**arguments)
        assert graph.get_operations() == [], 'nothing was built'


def test_showing_the_generator_again_and_again_does_not_grow_the_graph(nb):
    with tf.Graph().as_default() as graph:
        input_z = tf.placeholder(tf.float32, [None, 16])
        nb['generator'](input_z, 1)  # the training network, as train() builds it first
        with tf.Session() as sess:
            sess.run(tf.global_variables_initializer())
            nb['show_generator_output'](sess, 4, input_z, 1, 'L')
            after_one = len(graph.get_operations())
            for _ in range(10):
                nb['show_generator_output'](sess, 4, input_z, 1, 'L')
            assert len(graph.get_operations()) == after_one


def test_a_resumed_run_keeps_its_per_epoch_position(nb, digits, tmp_path):
    """Resuming at a batch inside an epoch trains the rest of that epoch, then the next ones."""
    train(nb, digits, tmp_path, max_batches=PER_EPOCH + 2)
    assert steps(tmp_path)[0] == PER_EPOCH + 2
    train(nb, digits, tmp_path, epochs=3)
    assert_resumed_exactly(tmp_path, 3 * PER_EPOCH)


@pytest.fixture(scope='module')
def trained_run(nb, digits, tmp_path_factory):
    run_dir = tmp_path_factory.mktemp('run')
    train(nb, digits, run_dir, max_batches=4)
    return run_dir


def sample_command(*arguments):
    return subprocess.run([sys.executable, RUN_PY, 'sample'] + [str(a) for a in arguments],
                          capture_output=True, text=True, timeout=300)


@pytest.mark.parametrize('arguments, message', [
    (['-n', '0'], '-n 0: ask for at least 1 image'),
    (['-n', '-5'], '-n -5: ask for at least 1 image'),
])
def test_sample_refuses_a_count_below_one(trained_run, arguments, message):
    result = sample_command(trained_run, *arguments)
    assert result.returncode != 0 and message in result.stderr


def test_sample_refuses_an_output_that_is_a_file(trained_run, tmp_path):
    (tmp_path / 'taken').write_text('mine')
    result = sample_command(trained_run, '--out', tmp_path / 'taken')
    assert result.returncode != 0 and 'is a file: give a folder' in result.stderr
    assert (tmp_path / 'taken').read_text() == 'mine'


def test_sample_without_a_meta_graph_says_so(trained_run, tmp_path):
    copy = tmp_path / 'copy'
    shutil.copytree(trained_run, copy)
    (copy / 'model.ckpt-4.meta').unlink()
    result = sample_command(copy)
    assert result.returncode != 0 and 'has no meta graph' in result.stderr


def test_sample_draws_many_images_in_batches(trained_run, tmp_path):
    result = sample_command(trained_run, '-n', 2500, '--out', tmp_path)
    assert result.returncode == 0, result.stderr
    images = np.load(tmp_path / 'samples.npz')['images']
    assert images.shape == (2500, 28, 28, 1) and images.std() > 0
    assert not (images[:1000] == images[1000:2000]).all(), 'each batch draws its own z'
    assert sorted(p.name for p in tmp_path.iterdir()) == ['samples.npz', 'samples.png'], 'no partial file left'


def training_process(digits, run_dir, epochs):
    script = TRAIN_IN_A_SUBPROCESS.format(files=digits.data_files, run_dir=str(run_dir), epochs=epochs, max_batches=None)
    return subprocess.Popen([sys.executable, '-c', script], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True, cwd=ROOT)


def wait_for_checkpoint_after(run_dir, step, process, seconds=240):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and process.poll() is None:
        if steps(run_dir) and steps(run_dir)[0] > step:
            return
        time.sleep(0.05)


def test_a_second_training_in_the_same_folder_is_refused_and_a_dead_ones_lock_taken_over(nb, digits, tmp_path, capsys):
    process = training_process(digits, tmp_path, epochs=100)
    try:
        wait_for_checkpoint_after(tmp_path, 0, process)
        with pytest.raises(RuntimeError, match=f'in use: process {process.pid} on '):
            train(nb, digits, tmp_path)
    finally:
        process.kill()  # SIGKILL: it leaves its lock file behind, naming it
        process.wait()
    before = steps(tmp_path)
    capsys.readouterr()

    train(nb, digits, tmp_path, epochs=100, max_batches=before[0] + 2)

    assert f'Took over the lock of process {process.pid}' in capsys.readouterr().out
    assert steps(tmp_path)[0] == before[0] + 2


def test_killed_at_random_moments_each_resume_continues_exactly(nb, digits, tmp_path):
    """kill -9 three times, each at a random moment after a new checkpoint (which may be while the
    next is being written); then the run goes on to the end as if it had never been stopped."""
    rng, epochs, reached = random.Random(0), 20, 0
    for _ in range(3):
        process = training_process(digits, tmp_path, epochs)
        try:
            wait_for_checkpoint_after(tmp_path, reached, process)
            time.sleep(rng.uniform(0, 0.5))
        finally:
            process.send_signal(signal.SIGKILL)
            output = process.communicate()[0]
        assert process.returncode == -signal.SIGKILL, output
        assert steps(tmp_path), output
        reached = steps(tmp_path)[0]
    assert reached < epochs * PER_EPOCH, 'killed part way'

    train(nb, digits, tmp_path, epochs=epochs, show_every=1000)

    assert_resumed_exactly(tmp_path, epochs * PER_EPOCH)
