"""TrainingRun: what a training run keeps and shows beyond the step itself.

The notebook's train() builds the model, loops and calls sess.run; a TrainingRun does the rest:
the batches still to train (a resumed run skips what it has done), a progress bar, the NaN stop,
the loss history, and, given a folder, checkpoints with exact resume, TensorBoard summaries, the
fixed-z progress pictures and a samples file. Ctrl-C saves a checkpoint and ends the run cleanly."""
import contextlib
import glob
import io
import itertools
import numbers
import os
import re
import socket
import time

import numpy as np
from PIL import Image

try:
    import fcntl
except ImportError:  # Windows: no folder lock
    fcntl = None

from . import average
from .config import CHANNELS, IMAGE_SIZES, KEEP_SHARES, Z_RANGE, is_keep_share
from .env import import_tensorflow, progress
from .images import generated_to_uint8, images_square_grid

tf = import_tensorflow()

FIXED_Z_COUNT = 16     # images in each progress picture
EXPORTED_SAMPLES = 2000  # images in samples_path: two of the score's draws, and the judge's N
REALNESS = 'samples_realness'  # the collection of D's logits of the inference samples, which run.py sample reads
RATINGS = 4  # D's passes over the draws: the notebook's D rates a batch at one random shift, which moves its ratings
LOCK_FILE = '.lock'
IMAGE_SHAPE = 'image_shape'  # the variable that says what size of image a checkpoint's generator draws
BATCHES_PER_EPOCH = 'batches_per_epoch'  # and the one that says how many batches its data made an epoch


def check_train_arguments(epoch_count, batch_size, z_dim, learning_rate, beta1, data_shape, image_mode):
    """A ValueError naming the first of train()'s arguments that cannot work, before anything is
    built: some (z_dim=0) would otherwise abort the whole process, a notebook's kernel with it."""
    channels = CHANNELS.get(image_mode)
    shape = tuple(data_shape) if isinstance(data_shape, (tuple, list)) else None
    problems = [
        (channels is None, f'data_image_mode is {image_mode!r}: use "L" (grayscale) or "RGB"'),
        (shape is None or len(shape) != 4 or shape[1] != shape[2] or shape[1] not in IMAGE_SIZES or shape[3] != channels,
         f'data_shape is {data_shape!r}: pass the dataset\'s .shape, (count, size, size, '
         f'{channels or "channels"}) for {image_mode!r} images, size {" or ".join(map(str, IMAGE_SIZES))}'),
        (not (isinstance(z_dim, numbers.Integral) and z_dim >= 1),
         f'z_dim is {z_dim!r}: it must be a whole number of at least 1'),
        (not (isinstance(epoch_count, numbers.Integral) and epoch_count >= 1), f'epoch_count is {epoch_count!r}: use 1 or more'),
        (not (isinstance(batch_size, numbers.Integral) and 1 <= batch_size <= (shape[0] if shape else 0)),
         f'batch_size is {batch_size!r}: it must be between 1 and the number of images ({shape and shape[0]})'),
        (not (isinstance(learning_rate, numbers.Real) and learning_rate > 0),
         f'learning_rate is {learning_rate!r}: it must be a number above 0'),
        (not (isinstance(beta1, numbers.Real) and 0 <= beta1 < 1), f'beta1 is {beta1!r}: it must be at least 0 and below 1'),
    ]
    for failed, message in problems:
        if failed:
            raise ValueError(f'train() cannot start: {message}. Nothing was built or changed.')


class TrainingRun:
    """A run of train(), in `folder` when one is given (None: nothing is written but samples_path).

    max_batches  stop after this many batches in all (the quick check uses it)
    minutes      stop after this much training time; the learning-rate schedule's total is then
                 estimated from the pace so far
    samples_path at the end, EXPORTED_SAMPLES generated images as an .npz of uint8, for scoring
    checkpoint_every, keep_checkpoints, picture_every: how often the folder gets each, and how many
                 checkpoints it keeps
    after_batch  called with the run after each batch (a sweep scores the run there and may stop it
                 by raising); after the run, .interrupted says whether Ctrl-C ended it
    ema_half_life  the half-life, in images seen, of the generator's weight average (facegen/average.py),
                 which draws every picture and sample of the run; 0: no average, the last step's weights
    keep_share   the share of the generator's draws its samples keep: those the discriminator finds most
                 real (draw()); 1: every draw
    """

    def __init__(self, folder=None, max_batches=None, minutes=None, samples_path=None,
                 checkpoint_every=500, keep_checkpoints=3, picture_every=100, after_batch=None,
                 ema_half_life=average.HALF_LIFE_IMAGES, keep_share=1.0):
        check_keep_share(keep_share)
        self.folder, self.max_batches, self.minutes, self.samples_path = folder, max_batches, minutes, samples_path
        self.checkpoint_every, self.keep_checkpoints, self.picture_every = checkpoint_every, keep_checkpoints, picture_every
        self.after_batch, self.ema_half_life, self.keep_share = after_batch, ema_half_life, keep_share
        self.done, self.losses, self.interrupted = 0, [], False
        self.average, self.batch_size = None, None

    # ------------------------------------------------------------ building, before the session

    def attach(self, input_z, samples, realness=None):
        """Called once the model and its optimizers are built, so that the Saver sees every variable.
        `samples` is the generator in inference mode on input_z; `realness`, the discriminator's logits
        of them, lets the run keep the draws D finds most real (keep_share)."""
        if realness is None and self.keep_share < 1:
            raise ValueError(f'keep_share = {self.keep_share} needs the discriminator\'s logits of the samples to '
                             'choose by: train() passes them as run.attach(input_z, samples, '
                             'discriminator(samples, reuse=True)[1]). Pass them, or leave keep_share at 1.')
        self.input_z, self.samples, self.realness = input_z, samples, realness
        self.global_step = tf.train.get_or_create_global_step()
        self._step_value = tf.placeholder(self.global_step.dtype, [], name='step_value')
        self._set_step = tf.assign(self.global_step, self._step_value)
        z_dim = int(input_z.shape[-1])
        # a variable, so that a resumed run draws its progress pictures from the same z
        self.fixed_z = tf.Variable(tf.random_uniform([FIXED_Z_COUNT, z_dim], *Z_RANGE), trainable=False, name='fixed_z')
        # saved with the weights, so that a folder of 28 x 28 runs is never resumed by a 64 x 64 network
        tf.Variable(samples.shape[1:].as_list(), trainable=False, name=IMAGE_SHAPE, dtype=tf.int32)
        # and what its data made an epoch, so that a folder is never resumed on other data (0: not yet known)
        self._batches_per_epoch = tf.Variable(0, trainable=False, name=BATCHES_PER_EPOCH, dtype=tf.int64)
        self._set_batches_per_epoch = tf.assign(self._batches_per_epoch, self._step_value)
        tf.add_to_collection('input_z', input_z)  # what `python run.py sample` feeds
        tf.add_to_collection('samples', samples)  # and fetches, from the meta graph alone
        if realness is not None:
            tf.add_to_collection(REALNESS, realness)
        if self.ema_half_life:
            self.average = average.GeneratorAverage(self.ema_half_life)
        # relative paths in the `checkpoint` index, so that a moved or copied folder still knows its own
        self.saver = tf.train.Saver(max_to_keep=self.keep_checkpoints, save_relative_paths=True)

    # ------------------------------------------------------------ the session

    @contextlib.contextmanager
    def start(self, sess, epoch_count, batches_per_epoch):
        """The training part of a session: holds the folder's lock, restores its newest checkpoint,
        shows a progress bar, and at the end saves the last checkpoint, the progress GIF and the
        samples. Ctrl-C inside saves a checkpoint and leaves the block quietly."""
        with self._folder_lock():
            with self._training(sess, epoch_count, batches_per_epoch) as run:
                yield run

    @contextlib.contextmanager
    def _folder_lock(self):
        """One training at a time in a folder: two would interleave their checkpoints. The lock is
        the kernel's (flock), so it goes with its process, however that ends; the file names the
        process for the message, and a file left by a process that is gone is taken over."""
        if not self.folder or fcntl is None:
            yield
            return
        path = os.path.join(self.folder, LOCK_FILE)
        try:
            os.makedirs(self.folder, exist_ok=True)
            lock = open(path, 'a+')
        except OSError as err:
            raise self._folder_error(err) from None
        with lock:
            lock.seek(0)
            holder = lock.read().strip()
            try:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                raise RuntimeError('{} is in use: {} is training there. Two trainings in one folder would mix their '
                                   'checkpoints: wait for it to end, stop it, or pass another run folder.'.format(
                                       self.folder, holder or 'another process')) from None
            if holder:
                print('Took over the lock of {} in {}: that process is gone.'.format(holder, self.folder))
            lock.seek(0)
            lock.truncate()
            lock.write('process {} on {}'.format(os.getpid(), socket.gethostname()))
            lock.flush()
            try:
                yield
            finally:
                lock.seek(0)
                lock.truncate()  # an empty file: nobody holds it
                lock.flush()
                fcntl.flock(lock, fcntl.LOCK_UN)

    @contextlib.contextmanager
    def _training(self, sess, epoch_count, batches_per_epoch):
        self.sess, self.epoch_count, self.batches_per_epoch = sess, epoch_count, batches_per_epoch
        self._planned = epoch_count * batches_per_epoch
        if self.max_batches is not None:
            self._planned = min(self._planned, self.max_batches)
        self.done, self.losses, self._writer, self.interrupted = 0, [], None, False
        if self.folder:
            try:
                os.makedirs(self.folder, exist_ok=True)
            except OSError as err:
                raise self._folder_error(err) from None
            # first: a refused folder gets no new file
            restored = restore_latest(sess, self.saver, self.folder, batches_per_epoch)
            try:
                self._writer = tf.summary.FileWriter(self.folder)
            except (OSError, tf.errors.OpError) as err:
                raise self._folder_error(err) from None
            if restored:
                self.done = int(sess.run(self.global_step))
                self.losses = saved_losses(self.folder, self.done)
                self._writer.add_session_log(tf.SessionLog(status=tf.SessionLog.START), self.done)
                print('Resuming from {} at batch {} of {}.'.format(self.folder, self.done, self._planned))
        sess.run(self._set_batches_per_epoch, {self._step_value: batches_per_epoch})  # a run from before it was kept
        if self.average and self.done == 0:
            self.average.start(sess)  # the average begins as the initial weights, as StyleGAN2-ADA's copy of G
        self._fixed_z = sess.run(self.fixed_z)
        self._first, self._started = self.done, time.perf_counter()
        # with a time budget the total is known once the pace is: record() sets it
        self._bar = progress(total=None if self.minutes else self._planned, initial=min(self.done, self._planned),
                             unit='batch', mininterval=5)
        try:
            with self._bar:
                yield self
        except KeyboardInterrupt:
            self.interrupted = True
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
        self.batch_size = batch_size  # the images a batch adds to the weight average's count
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
                    d_loss, g_loss, self.done + 1, self.folder and newest_checkpoint(self.folder)))
        self.done += 1
        self.losses.append((d_loss, g_loss))
        if self.average:
            self.average.after_batch(self.sess, self.done, self.batch_size)
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
        if self.after_batch:
            self.after_batch(self)

    def print(self, line):
        """Print above the progress bar instead of through it."""
        self._bar.write(line)

    # ------------------------------------------------------------ what the folder gets

    def drawing(self):
        """A block in which the generator draws with the averaged weights, where the run keeps them."""
        return self.average.in_place(self.sess) if self.average else contextlib.nullcontext()

    def save_picture(self):
        """The fixed z drawn now: a frame of progress.gif and one image in TensorBoard."""
        with self.drawing():
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
            self.saver.save(self.sess, os.path.join(self.folder, CHECKPOINT_PREFIX), global_step=self.done)
        except (OSError, tf.errors.OpError) as err:
            raise self._folder_error(err) from None

    def generate(self, count):
        """count images from the generator in inference mode, as uint8, the share keep_share of its draws."""
        with self.drawing():
            return generated_to_uint8(draw(self.sess, self.samples, self.input_z, count, self.keep_share, self.realness))

    def export_samples(self):
        images = self.generate(EXPORTED_SAMPLES)
        os.makedirs(os.path.dirname(self.samples_path) or '.', exist_ok=True)
        np.savez_compressed(self.samples_path, images=images)

    def _folder_error(self, err):
        newest = newest_checkpoint(self.folder)
        kept = 'the last checkpoint ({}) is intact'.format(newest) if newest else 'nothing had been saved there yet'
        return RuntimeError('Could not write a checkpoint or picture in {} ({}). Training stopped; {}. Free some '
                            'disk space or pass a writable run folder, then run again to resume.'.format(
                                self.folder, getattr(err, 'message', err), kept))


CHECKPOINT_PREFIX = 'model.ckpt'
_CHECKPOINT_INDEX = re.compile(re.escape(CHECKPOINT_PREFIX) + r'-(\d+)\.index')


def random_z(count, input_z):
    """count draws of z for the input_z placeholder, from the range train() feeds it."""
    return np.random.uniform(*Z_RANGE, size=(count, int(input_z.shape[-1])))


def check_keep_share(keep_share):
    if not is_keep_share(keep_share):
        raise ValueError(f'keep_share = {keep_share}: give a share {KEEP_SHARES}.')


def draw(sess, samples, input_z, count, keep_share=1.0, realness=None):
    """count images of `samples` (the generator's output range): with keep_share 1, count draws of z;
    below it, the count of count / keep_share draws that `realness` (D's logits of samples, averaged
    over RATINGS passes) rates most real, in the order drawn. Discriminator rejection sampling in its
    simplest form (Azadi et al. 2019): the trained D knows what the generator still draws badly."""
    check_keep_share(keep_share)
    if keep_share == 1:
        return sess.run(samples, {input_z: random_z(count, input_z)})
    images = sess.run(samples, {input_z: random_z(int(np.ceil(count / keep_share)), input_z)})
    rating = np.mean([sess.run(realness, {samples: images}) for _ in range(RATINGS)], axis=0).reshape(-1)
    return images[np.sort(np.argsort(-rating, kind='stable')[:count])]


def checkpoints(folder):
    """The checkpoints in folder, newest first, found by their own files: the `checkpoint` index
    TensorFlow keeps beside them may name another folder's (a copy's) or be missing or garbled."""
    steps = sorted((int(match.group(1)) for name in (os.listdir(folder) if os.path.isdir(folder) else [])
                    if (match := _CHECKPOINT_INDEX.fullmatch(name))), reverse=True)
    return [os.path.join(folder, f'{CHECKPOINT_PREFIX}-{step}') for step in steps]


def newest_checkpoint(folder):
    found = checkpoints(folder)
    return found[0] if found else None


def restore_latest(sess, saver, folder, batches_per_epoch=None):
    """True if folder held a checkpoint and the session now holds its variables: the newest one
    that can be read, saying so when a damaged newer one is passed over."""
    found = checkpoints(folder)
    for i, checkpoint in enumerate(found):
        try:
            # Checked first: resource variables would take a tensor of the wrong shape and fail later.
            reader = tf.train.load_checkpoint(checkpoint)
            saved_shapes = reader.get_variable_to_shape_map()
            check_image_shape(sess, reader, checkpoint, folder)
            check_batches_per_epoch(reader, checkpoint, folder, batches_per_epoch)
            # a run trained before the generator's weights were averaged: its average starts from them
            unaveraged = [var for var in tf.global_variables() if var.op.name not in saved_shapes
                          and var.op.name.startswith(average.AVERAGE_SCOPE + '/')]
            unrecorded = [var for var in tf.global_variables()  # runs from before these were recorded
                          if var.op.name in (IMAGE_SHAPE, BATCHES_PER_EPOCH) and var.op.name not in saved_shapes]
            mismatched = ['{} {} (saved: {})'.format(var.op.name, var.shape.as_list(),
                                                     saved_shapes.get(var.op.name, 'absent'))
                          for var in tf.global_variables()
                          if saved_shapes.get(var.op.name) != var.shape.as_list() and var not in unaveraged + unrecorded]
            if mismatched:
                raise RuntimeError('The checkpoint {} was written by a different network and cannot be restored into '
                                   'this one: {}. Delete {} or pass another run folder to start over.'.format(
                                       checkpoint, '; '.join(mismatched[:3]), folder))
            if unaveraged or unrecorded:
                tf.train.Saver([var for var in tf.global_variables() if var not in unaveraged + unrecorded]).restore(
                    sess, checkpoint)
            else:
                saver.restore(sess, checkpoint)
            if unaveraged:
                average.start_from_weights(sess)
                print('{} holds no average of the generator\'s weights (it was trained without one): the average '
                      'starts from its weights.'.format(checkpoint))
        except (tf.errors.OpError, ValueError, IndexError) as err:  # IndexError: a tensor's bytes cut short
            print('Could not read the checkpoint {} ({}): {}.'.format(
                checkpoint, str(err).splitlines()[0][:200],
                'trying the one before it' if i + 1 < len(found) else 'it was the last one'))
            continue
        if i:
            print('Resuming from {}, the newest checkpoint that could be read.'.format(checkpoint))
        # the Saver counts only what it saved itself: without this, a resumed run's old checkpoints pile up
        saver.recover_last_checkpoints([path for path in found[::-1] if path != checkpoint] + [checkpoint])
        return True
    if found:
        raise RuntimeError('None of the {} checkpoints in {} could be read, so training did not start over them: '
                           'move them away (or pass another run folder) to start over.'.format(len(found), folder))
    return False


class ImageSizeMismatch(RuntimeError):
    """A run folder's checkpoints draw images of another size than the network being trained."""


def check_image_shape(sess, reader, checkpoint, folder):
    """An ImageSizeMismatch naming both sizes when the checkpoint's generator draws another size of
    image than this graph's (a checkpoint written before sizes were recorded is let through: the
    variables' shapes are checked next)."""
    current = [var for var in tf.global_variables() if var.op.name == IMAGE_SHAPE]
    if not current or not reader.has_tensor(IMAGE_SHAPE):
        return
    saved, drawn = list(reader.get_tensor(IMAGE_SHAPE)), list(sess.run(current[0]))
    if saved != drawn:
        raise ImageSizeMismatch(
            '{} holds a run on {} images (its checkpoint {}), and this network draws {} images: a run cannot change '
            'its image size. Each size trains in a folder of its own (the notebook names them by size): pass another '
            'run folder. Nothing in {} was changed.'.format(folder, ' x '.join(map(str, saved)), os.path.basename(checkpoint),
                                                            ' x '.join(map(str, drawn)), folder))


class DataMismatch(RuntimeError):
    """A run folder resumed with other data, or another batch size, than its run trained on."""


def check_batches_per_epoch(reader, checkpoint, folder, batches_per_epoch):
    """A DataMismatch when the checkpoint's run had another number of batches an epoch: its data
    had another number of images (the offline stand-ins against the real datasets, another folder),
    or its batches another size. Resumed, it would go on with other data from a place in the epoch
    that means something else. A checkpoint from before this was recorded is let through."""
    if batches_per_epoch is None or not reader.has_tensor(BATCHES_PER_EPOCH):
        return
    saved = int(reader.get_tensor(BATCHES_PER_EPOCH))
    if saved and saved != batches_per_epoch:
        raise DataMismatch(
            '{} holds a run of {} batches an epoch (its checkpoint {}), and train() was given data and a batch size '
            'that make {}: other data, or another batch size, than that run trained on. A run cannot change either: '
            'pass another run folder, or the data and batch size of that run. Nothing in {} was changed.'.format(
                folder, saved, os.path.basename(checkpoint), batches_per_epoch, folder))


def saved_losses(folder, step):
    """The loss history of the first `step` batches; batches whose losses were lost (losses.npy
    missing or shorter) are NaN, so that row i stays batch i + 1."""
    path = os.path.join(folder, 'losses.npy')
    try:
        rows = [tuple(row) for row in np.load(path)[:step]]
    except (OSError, ValueError):
        rows = []
    if len(rows) < step:
        print('The losses of batches {} to {} were not in {}: the loss curve has a gap there.'.format(
            len(rows) + 1, step, path))
    return rows + [(np.nan, np.nan)] * (step - len(rows))


def write_progress_gif(folder):
    frames = [Image.open(path) for path in sorted(glob.glob(os.path.join(folder, 'progress', '*.png')))]
    if frames:
        frames = [frame.resize((frame.width * 2, frame.height * 2), Image.NEAREST) for frame in frames]
        frames[0].save(os.path.join(folder, 'progress.gif'), save_all=True, append_images=frames[1:],
                       duration=300, loop=0)
