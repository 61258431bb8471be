"""TrainingRun: what a training run keeps and shows beyond the step itself.

The notebook's train() builds the model, loops and calls sess.run; a TrainingRun does the rest:
the batches still to train (a resumed run skips what it has done), a progress bar, the NaN stop,
the loss history, and, given a folder, checkpoints with exact resume, TensorBoard summaries, the
fixed-z progress pictures and a samples file. Ctrl-C saves a checkpoint and ends the run cleanly."""
import contextlib
import glob
import io
import itertools
import os
import time

import numpy as np
from PIL import Image

from .env import import_tensorflow, progress
from .images import generated_to_uint8, images_square_grid

tf = import_tensorflow()

FIXED_Z_COUNT = 16     # images in each progress picture
EXPORTED_SAMPLES = 2000  # images in samples_path, enough for a quality score


class TrainingRun:
    """A run of train(), in `folder` when one is given (None: nothing is written but samples_path).

    max_batches  stop after this many batches in all (the quick check uses it)
    minutes      stop after this much training time; the learning-rate schedule's total is then
                 estimated from the pace so far
    samples_path at the end, EXPORTED_SAMPLES generated images as an .npz of uint8, for scoring
    checkpoint_every, keep_checkpoints, picture_every: how often the folder gets each, and how many
                 checkpoints it keeps
    """

    def __init__(self, folder=None, max_batches=None, minutes=None, samples_path=None,
                 checkpoint_every=500, keep_checkpoints=3, picture_every=100):
        self.folder, self.max_batches, self.minutes, self.samples_path = folder, max_batches, minutes, samples_path
        self.checkpoint_every, self.keep_checkpoints, self.picture_every = checkpoint_every, keep_checkpoints, picture_every
        self.done, self.losses = 0, []

    # ------------------------------------------------------------ building, before the session

    def attach(self, input_z, samples):
        """Called once the model and its optimizers are built, so that the Saver sees every variable.
        `samples` is the generator in inference mode on input_z."""
        self.input_z, self.samples = input_z, samples
        self.global_step = tf.train.get_or_create_global_step()
        self._step_value = tf.placeholder(self.global_step.dtype, [], name='step_value')
        self._set_step = tf.assign(self.global_step, self._step_value)
        z_dim = int(input_z.shape[-1])
        # a variable, so that a resumed run draws its progress pictures from the same z
        self.fixed_z = tf.Variable(tf.random_uniform([FIXED_Z_COUNT, z_dim], -1, 1), trainable=False, name='fixed_z')
        tf.add_to_collection('input_z', input_z)  # what `python run.py sample` feeds
        tf.add_to_collection('samples', samples)  # and fetches, from the meta graph alone
        self.saver = tf.train.Saver(max_to_keep=self.keep_checkpoints)

    # ------------------------------------------------------------ the session

    @contextlib.contextmanager
    def start(self, sess, epoch_count, batches_per_epoch):
        """The training part of a session: restores the newest checkpoint of the folder, shows a
        progress bar, and at the end saves the last checkpoint, the progress GIF and the samples.
        Ctrl-C inside saves a checkpoint and leaves the block quietly."""
        self.sess, self.epoch_count, self.batches_per_epoch = sess, epoch_count, batches_per_epoch
        self._planned = epoch_count * batches_per_epoch
        if self.max_batches is not None:
            self._planned = min(self._planned, self.max_batches)
        self.done, self.losses, self._writer = 0, [], None
        if self.folder:
            try:
                os.makedirs(self.folder, exist_ok=True)
                self._writer = tf.summary.FileWriter(self.folder)
            except (OSError, tf.errors.OpError) as err:
                raise self._folder_error(err) from None
            if restore_latest(sess, self.saver, self.folder):
                self.done = int(sess.run(self.global_step))
                self.losses = saved_losses(self.folder, self.done)
                self._writer.add_session_log(tf.SessionLog(status=tf.SessionLog.START), self.done)
                print('Resuming from {} at batch {} of {}.'.format(self.folder, self.done, self._planned))
        self._fixed_z = sess.run(self.fixed_z)
        self._first, self._started = self.done, time.perf_counter()
        # with a time budget the total is known once the pace is: record() sets it
        self._bar = progress(total=None if self.minutes else self._planned, initial=min(self.done, self._planned),
                             unit='batch', mininterval=5)
        try:
            with self._bar:
                yield self
        except KeyboardInterrupt:
            if self.folder:
                self.save_checkpoint()
                print('Interrupted at batch {}: checkpoint saved in {}. Run again to resume.'.format(
                    self.done, self.folder))
            else:
                print('Interrupted at batch {} (no run folder, so nothing was saved).'.format(self.done))
            return
        finally:
            if self._writer:
                self._writer.close()  # however training ended, the summaries written so far reach the disk
        if self.folder:
            self.save_checkpoint()
            write_progress_gif(self.folder)
        if self.samples_path:
            self.export_samples()

    @property
    def total_batches(self):
        """How many batches the run will have trained when it ends."""
        trained, elapsed = self.done - self._first, time.perf_counter() - self._started
        if self.minutes is None or trained == 0:
            return self._planned
        left = max(self.minutes * 60 - elapsed, 0)
        return min(self._planned, self.done + round(trained * left / elapsed))

    def batches(self, get_batches, batch_size):
        """(epoch_i, batch_images) for each batch still to train: finished epochs are not started
        again, the batches already trained in the current epoch are skipped, and the run stops at
        max_batches or when its minutes are up. The progress bar closes with the last batch, so that
        what train() shows after the loop comes after it."""
        for epoch_i in range(self.done // self.batches_per_epoch, self.epoch_count):
            already_trained = max(self.done - epoch_i * self.batches_per_epoch, 0)
            for batch_images in itertools.islice(get_batches(batch_size), already_trained, None):
                if self.done >= self._planned or (
                        self.minutes is not None and time.perf_counter() - self._started >= self.minutes * 60):
                    self._bar.close()
                    return
                yield epoch_i, batch_images
        self._bar.close()

    def record(self, d_loss, g_loss):
        """After each batch: the NaN stop, the loss history, TensorBoard, and on their schedules
        the progress picture and the checkpoint."""
        if not (np.isfinite(d_loss) and np.isfinite(g_loss)):
            raise FloatingPointError(
                'The losses became D={} G={} at batch {}: training stopped and nothing was saved. The last '
                'good checkpoint ({}) is intact: lower the learning rate and run again to resume from it.'.format(
                    d_loss, g_loss, self.done + 1, self.folder and tf.train.latest_checkpoint(self.folder)))
        self.done += 1
        self.losses.append((d_loss, g_loss))
        self._bar.update()
        if self.minutes is not None:
            self._bar.total = self.total_batches
        if self._writer:
            self._writer.add_summary(tf.Summary(value=[
                tf.Summary.Value(tag='discriminator_loss', simple_value=d_loss),
                tf.Summary.Value(tag='generator_loss', simple_value=g_loss)]), self.done)
            if self.done % self.picture_every == 0:
                self.save_picture()
            if self.done % self.checkpoint_every == 0:
                self.save_checkpoint()

    def print(self, line):
        """Print above the progress bar instead of through it."""
        self._bar.write(line)

    # ------------------------------------------------------------ what the folder gets

    def save_picture(self):
        """The fixed z drawn now: a frame of progress.gif and one image in TensorBoard."""
        images = self.sess.run(self.samples, {self.input_z: self._fixed_z})
        mode = 'L' if images.shape[-1] == 1 else 'RGB'
        grid = images_square_grid(images, mode)
        try:
            os.makedirs(os.path.join(self.folder, 'progress'), exist_ok=True)
            grid.save(os.path.join(self.folder, 'progress', '{:08d}.png'.format(self.done)))
        except OSError as err:
            raise self._folder_error(err) from None
        png = io.BytesIO()
        grid.save(png, format='PNG')
        self._writer.add_summary(tf.Summary(value=[tf.Summary.Value(tag='fixed_z_samples', image=tf.Summary.Image(
            height=grid.height, width=grid.width, colorspace=len(mode), encoded_image_string=png.getvalue()))]),
            self.done)

    def save_checkpoint(self):
        # Losses first, then the checkpoint: a resumed run finds at least as many losses as batches restored.
        try:
            with open(os.path.join(self.folder, 'losses.npy.partial'), 'wb') as f:
                np.save(f, np.array(self.losses[:self.done], dtype=np.float32).reshape(-1, 2))
            os.replace(os.path.join(self.folder, 'losses.npy.partial'), os.path.join(self.folder, 'losses.npy'))
            self.sess.run(self._set_step, {self._step_value: self.done})
            self.saver.save(self.sess, os.path.join(self.folder, 'model.ckpt'), global_step=self.done)
        except (OSError, tf.errors.OpError) as err:
            raise self._folder_error(err) from None

    def export_samples(self):
        z = np.random.uniform(-1, 1, size=(EXPORTED_SAMPLES, int(self.input_z.shape[-1])))
        images = generated_to_uint8(self.sess.run(self.samples, {self.input_z: z}))
        os.makedirs(os.path.dirname(self.samples_path) or '.', exist_ok=True)
        np.savez_compressed(self.samples_path, images=images)

    def _folder_error(self, err):
        return RuntimeError('Could not write a checkpoint or picture in {} ({}). Training stopped; the last '
                            'checkpoint ({}) is intact. Free some disk space or pass a writable run folder, then '
                            'run again to resume.'.format(self.folder, getattr(err, 'message', err),
                                                          tf.train.latest_checkpoint(self.folder)))


def restore_latest(sess, saver, folder):
    """True if folder held a checkpoint and the session now holds its variables."""
    latest = tf.train.latest_checkpoint(folder)
    if latest is None:
        return False
    # Checked first: resource variables would take a tensor of the wrong shape and fail later.
    saved_shapes = tf.train.load_checkpoint(latest).get_variable_to_shape_map()
    mismatched = ['{} {} (saved: {})'.format(var.op.name, var.shape.as_list(), saved_shapes.get(var.op.name, 'absent'))
                  for var in tf.global_variables() if saved_shapes.get(var.op.name) != var.shape.as_list()]
    if mismatched:
        raise RuntimeError('The checkpoint {} was written by a different network and cannot be restored into this '
                           'one: {}. Delete {} or pass another run folder to start over.'.format(
                               latest, '; '.join(mismatched[:3]), folder))
    saver.restore(sess, latest)
    return True


def saved_losses(folder, step):
    path = os.path.join(folder, 'losses.npy')
    return [tuple(row) for row in np.load(path)[:step]] if os.path.exists(path) else []


def write_progress_gif(folder):
    frames = [Image.open(path) for path in sorted(glob.glob(os.path.join(folder, 'progress', '*.png')))]
    if frames:
        frames = [frame.resize((frame.width * 2, frame.height * 2), Image.NEAREST) for frame in frames]
        frames[0].save(os.path.join(folder, 'progress.gif'), save_all=True, append_images=frames[1:],
                       duration=300, loop=0)
