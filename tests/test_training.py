"""train()'s run folder (helper.TrainingRun): checkpoints, exact resume, Ctrl-C, NaN, a full disk, sampling, TensorBoard.

Each test trains the notebook's own network for a few batches on 48 real digits."""
import os
import resource
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
from PIL import Image
from support import (
    BATCH,
    PER_EPOCH,
    ROOT,
    RUN_PY,
    TRAIN_IN_A_SUBPROCESS,
    checkpoint_step,
    checkpoint_values,
    read_only_command,
    restored,
    tf,
    train,
)

import helper
from facegen.config import Z_RANGE
from facegen.runs import LOCK_FILE, DataMismatch, random_z


def test_checkpoints_are_kept_and_the_run_ends_with_one(nb, digits, tmp_path):
    train(nb, digits, tmp_path, keep_checkpoints=2)  # 12 batches, a checkpoint every 4

    assert checkpoint_step(tmp_path) == 12
    kept = sorted(p.name for p in tmp_path.glob('model.ckpt-*.index'))
    assert kept == ['model.ckpt-12.index', 'model.ckpt-8.index'], 'only the last K are kept'
    assert (tmp_path / 'model.ckpt-12.meta').exists(), 'with its meta graph'
    assert np.load(tmp_path / 'losses.npy').shape == (12, 2)


def test_interrupted_run_resumes_where_it_stopped(nb, digits, tmp_path):
    uninterrupted, interrupted = tmp_path / 'a', tmp_path / 'b'
    train(nb, digits, uninterrupted)
    train(nb, digits, interrupted, max_batches=5)  # stops part way through the first epoch
    first_losses = np.load(interrupted / 'losses.npy')
    saved = checkpoint_values(interrupted)
    assert checkpoint_step(interrupted) == 5

    consumed = []

    def counting_batches(batch_size):
        for batch in digits.get_batches(batch_size):
            consumed.append(1)
            yield batch

    train(nb, digits, interrupted, get_batches=counting_batches)

    assert checkpoint_step(interrupted) == checkpoint_step(uninterrupted) == 12
    losses = np.load(interrupted / 'losses.npy')
    assert losses.shape == (12, 2)
    assert np.array_equal(losses[:5], first_losses), 'the loss curve continues from the saved one'
    assert len(consumed) == 12, 'epoch 1 from its 6th batch (5 skipped, 1 trained), then epoch 2'
    # Counters that only a restored run gets right: Adam's beta1 power is beta1 ** (1 + its steps)
    # and each batch norm counts its updates; a run restarted at 0 would hold 7 steps' worth.
    final = checkpoint_values(interrupted)
    assert saved['beta1_power'] == pytest.approx(0.5 ** 6)
    for name in ('beta1_power', 'beta1_power_1'):
        assert final[name] == pytest.approx(0.5 ** 13), name
    updates = [name for name in final if name.endswith('/updates')]
    assert updates and all(final[name] == 12 for name in updates)


def test_restore_brings_back_optimizer_state_and_batch_norm_statistics(nb, digits, tmp_path):
    train(nb, digits, tmp_path, max_batches=5)
    saved = checkpoint_values(tmp_path)

    run, values = restored(nb, tmp_path)

    for name in [n for n in saved if 'Adam' in n or 'moving_' in n or 'updates' in n or n == 'fixed_z']:
        assert np.array_equal(values[name], saved[name]), name
    assert values['global_step'] == 5 and run.done == 5
    assert len(run.losses) == 5


def test_the_progress_pictures_and_the_samples_draw_z_from_the_range_train_feeds(nb, digits, tmp_path):
    train(nb, digits, tmp_path, max_batches=1)
    fixed_z = checkpoint_values(tmp_path)['fixed_z']
    with tf.Graph().as_default():
        drawn = random_z(1000, tf.placeholder(tf.float32, (None, 16)))
    assert drawn.shape == (1000, 16)
    low, high = Z_RANGE
    for z in (fixed_z, drawn):
        assert low <= z.min() < low / 2 and high / 2 < z.max() <= high  # all of the range, nothing outside it


def test_ctrl_c_saves_a_checkpoint_and_stops_cleanly(nb, digits, tmp_path, capsys):
    def interrupted_after_seven(batch_size):
        for i, batch in enumerate(digits.get_batches(batch_size)):
            if i == 1:  # the 8th batch of the run: epoch 2, batch 2
                os.kill(os.getpid(), signal.SIGINT)  # what Ctrl-C sends
            yield batch

    def batches(batch_size):
        # epoch 1 plain, epoch 2 interrupted
        batches.calls += 1
        return (digits.get_batches if batches.calls == 1 else interrupted_after_seven)(batch_size)
    batches.calls = 0

    train(nb, digits, tmp_path, get_batches=batches)  # returns normally: no exception

    assert checkpoint_step(tmp_path) == 7
    assert 'Interrupted at batch 7' in capsys.readouterr().out
    train(nb, digits, tmp_path)
    assert checkpoint_step(tmp_path) == 12


def test_nan_loss_stops_with_the_batch_named_and_keeps_the_last_checkpoint(nb, digits, tmp_path):
    train(nb, digits, tmp_path, max_batches=4)
    before = {p.name: p.read_bytes() for p in tmp_path.glob('model.ckpt-*')}

    def poisoned(batch_size):
        for i, batch in enumerate(digits.get_batches(batch_size)):
            yield batch * np.nan if i == 4 else batch  # the 5th batch of epoch 1 = batch 5 overall

    with pytest.raises(FloatingPointError, match='at batch 5') as err:
        train(nb, digits, tmp_path, get_batches=poisoned)

    assert 'model.ckpt-4' in str(err.value)
    assert checkpoint_step(tmp_path) == 4
    assert {p.name: p.read_bytes() for p in tmp_path.glob('model.ckpt-*')} == before


def test_full_disk_is_a_clear_error_and_keeps_the_last_checkpoint(nb, digits, tmp_path):
    train(nb, digits, tmp_path, max_batches=4)
    before = {p.name: p.read_bytes() for p in tmp_path.glob('model.ckpt-*')}

    # Files can grow no larger than 4 KiB from here on: the checkpoint's data file can't be written.
    old_signal = signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    old_limit = resource.getrlimit(resource.RLIMIT_FSIZE)
    resource.setrlimit(resource.RLIMIT_FSIZE, (4096, old_limit[1]))
    try:
        with pytest.raises(RuntimeError, match='Could not write a checkpoint') as err:
            train(nb, digits, tmp_path, max_batches=8)
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, old_limit)
        signal.signal(signal.SIGXFSZ, old_signal)

    assert 'model.ckpt-4' in str(err.value), 'the message names the checkpoint that is still good'
    assert checkpoint_step(tmp_path) == 4
    assert {p.name: p.read_bytes() for p in tmp_path.glob('model.ckpt-*')} == before
    train(nb, digits, tmp_path, max_batches=8)  # with room again, it resumes from there
    assert checkpoint_step(tmp_path) == 8


def test_a_checkpoint_of_another_network_is_a_clear_error(nb, digits, tmp_path):
    train(nb, digits, tmp_path, max_batches=2)
    with pytest.raises(RuntimeError, match='different network'):
        with tf.Graph().as_default():
            nb['train'](1, BATCH, 32, 0.0005, 0.5, digits.get_batches, digits.shape, digits.image_mode,
                        run=helper.TrainingRun(str(tmp_path)))  # z_dim 32 instead of 16


def test_a_run_resumed_on_other_data_is_a_clear_error_and_changes_nothing(nb, digits, tmp_path):
    train(nb, digits, tmp_path, max_batches=2)
    before = {p.name: p.stat().st_mtime_ns for p in tmp_path.iterdir() if p.name != LOCK_FILE}
    half = (digits.shape[0] // 2, *digits.shape[1:])  # the same images, half as many: 3 batches an epoch, not 6
    with pytest.raises(DataMismatch, match=f'{tmp_path} holds a run of {PER_EPOCH} batches an epoch .*make 3'):
        with tf.Graph().as_default():
            nb['train'](2, BATCH, 16, 0.0005, 0.5, digits.get_batches, half, digits.image_mode,
                        run=helper.TrainingRun(str(tmp_path)))
    assert {p.name: p.stat().st_mtime_ns for p in tmp_path.iterdir() if p.name != LOCK_FILE} == before
    train(nb, digits, tmp_path)  # its own data again: it resumes
    assert checkpoint_step(tmp_path) == 2 * PER_EPOCH


def test_tensorboard_summaries_and_progress_gif(nb, digits, tmp_path):
    train(nb, digits, tmp_path)

    tags = set()
    for events in tmp_path.glob('events.out.tfevents.*'):
        for event in tf.train.summary_iterator(str(events)):
            tags.update(value.tag for value in event.summary.value)
    assert {'discriminator_loss', 'generator_loss'} <= tags
    images = [value.image for events in tmp_path.glob('events.out.tfevents.*')
              for event in tf.train.summary_iterator(str(events)) for value in event.summary.value
              if value.tag == 'fixed_z_samples']
    assert len(images) == 3, 'one grid of the fixed z every picture_every=4 batches of 12'
    assert (images[0].width, images[0].height) == (4 * 28, 4 * 28), 'the 16 samples as one 4x4 grid'
    gif = Image.open(tmp_path / 'progress.gif')
    assert gif.n_frames == 3


def test_sample_command_draws_from_the_meta_graph_alone(nb, digits, tmp_path):
    train(nb, digits, tmp_path / 'run', max_batches=4)

    result = subprocess.run([sys.executable, RUN_PY, 'sample', str(tmp_path / 'run'), '-n', '16',
                             '--out', str(tmp_path / 'out')], capture_output=True, text=True, timeout=300)

    assert result.returncode == 0, result.stderr
    images = np.load(tmp_path / 'out' / 'samples.npz')['images']
    assert images.shape == (16, 28, 28, 1) and images.dtype == np.uint8
    assert Image.open(tmp_path / 'out' / 'samples.png').size == (112, 112)


def test_sample_command_without_a_checkpoint_says_what_to_do(tmp_path):
    result = subprocess.run([sys.executable, RUN_PY, 'sample', str(tmp_path)],
                            capture_output=True, text=True, timeout=300)
    assert result.returncode != 0
    assert 'No checkpoint' in result.stderr and 'TrainingRun' in result.stderr


def test_read_only_run_folder_is_a_clear_error_and_keeps_the_last_checkpoint(nb, digits, tmp_path):
    run_dir = tmp_path / 'run'
    train(nb, digits, run_dir, max_batches=4)
    before = {p.name: p.read_bytes() for p in run_dir.glob('model.ckpt-*')}
    script = TRAIN_IN_A_SUBPROCESS.format(files=digits.data_files,
                                          run_dir=str(run_dir), epochs=2, max_batches=8)

    try:
        result = subprocess.run(read_only_command(run_dir, [sys.executable, '-c', script]),
                                capture_output=True, text=True, timeout=300, cwd=ROOT)
    finally:
        os.chmod(run_dir, 0o755)

    assert result.returncode == 3, result.stdout + result.stderr
    assert 'Could not write' in result.stdout and str(run_dir) in result.stdout
    assert 'model.ckpt-4' in result.stdout, 'names the checkpoint that is still good'
    assert {p.name: p.read_bytes() for p in run_dir.glob('model.ckpt-*')} == before
    assert checkpoint_step(run_dir) == 4


def test_killed_process_loses_only_the_batches_since_the_last_checkpoint(nb, digits, tmp_path):
    run_dir = tmp_path / 'run'
    script = TRAIN_IN_A_SUBPROCESS.format(files=digits.data_files,
                                          run_dir=str(run_dir), epochs=20, max_batches=None)
    process = subprocess.Popen([sys.executable, '-c', script], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                               cwd=ROOT)
    try:
        deadline = time.monotonic() + 240
        while (checkpoint_step(run_dir) or 0) < 12 and time.monotonic() < deadline and process.poll() is None:
            time.sleep(0.2)
    finally:
        process.kill()  # SIGKILL: no handler runs, whatever it was doing
        process.wait()
    assert process.returncode == -signal.SIGKILL
    saved = checkpoint_step(run_dir)
    assert saved is not None and saved >= 12

    assert saved < 20 * PER_EPOCH, 'killed part way'

    train(nb, digits, run_dir, epochs=20, show_every=1000)  # same folder: resumes from what was saved

    assert checkpoint_step(run_dir) == 20 * PER_EPOCH, 'the same total as a run never killed'
    assert np.load(run_dir / 'losses.npy').shape == (20 * PER_EPOCH, 2)
