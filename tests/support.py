"""What several test modules share: where things are, the notebook's train() on a few real digits,
reading checkpoints, and the routes of the test HTTP server."""
import os
import subprocess

import pytest

import helper
from facegen.env import import_tensorflow

tf = import_tensorflow()

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RUN_PY = os.path.join(ROOT, 'run.py')
BATCH = 8
PER_EPOCH = 6  # the digits fixture's 48 digits / 8


def train(nb, digits, run_dir, epochs=2, get_batches=None, print_every=2, show_every=4, **run_settings):
    """The notebook's train() for `epochs` epochs of the digits fixture, in run_dir, with checkpoints
    and progress pictures every 4 batches unless run_settings (TrainingRun's) say otherwise."""
    run_settings = {'checkpoint_every': 4, 'picture_every': 4, **run_settings}
    with tf.Graph().as_default():
        tf.set_random_seed(0)
        nb['train'](epochs, BATCH, 16, 0.0005, 0.5, get_batches or digits.get_batches, digits.shape,
                    digits.image_mode, print_every=print_every, show_every=show_every,
                    run=helper.TrainingRun(str(run_dir), **run_settings))


def restored(nb, run_dir, epochs=2):
    """(the TrainingRun, {variable: value}) of the notebook's network built anew and restored from
    run_dir's newest checkpoint, as a resumed train() has it before its first batch."""
    with tf.Graph().as_default():
        input_real, input_z, lr = nb['model_inputs'](28, 28, 1, 16)
        d_loss, g_loss = nb['model_loss'](input_real, input_z, 1)
        nb['model_opt'](d_loss, g_loss, lr, 0.5)
        run = helper.TrainingRun(str(run_dir))
        run.attach(input_z, nb['generator'](input_z, 1, False))
        with tf.Session() as sess:
            sess.run(tf.global_variables_initializer())
            with run.start(sess, epochs, PER_EPOCH):
                return run, {v.op.name: sess.run(v) for v in tf.global_variables()}


class RunWithoutRealness(helper.TrainingRun):
    """A TrainingRun attached as a train() that passes no rating of its samples by D attaches it."""
    def attach(self, input_z, samples, realness=None):
        super().attach(input_z, samples)


def checkpoint_step(run_dir):
    """The step of the newest checkpoint TensorFlow's own index names, read as TensorFlow reads it."""
    latest = tf.train.latest_checkpoint(str(run_dir))
    return None if latest is None else int(latest.rsplit('-', 1)[1])


def checkpoint_values(checkpoint):
    """{variable name: value} of a checkpoint, or of the newest one in a run folder."""
    reader = tf.train.load_checkpoint(str(checkpoint))
    return {name: reader.get_tensor(name) for name in reader.get_variable_to_shape_map()}


class Route:
    """What the test server answers on one path: a status, a body, and optionally a body cut
    short after `send` bytes while Content-Length still announces the whole of it, then `hang`
    seconds of silence before the connection closes; or the body one byte every `trickle` seconds."""
    def __init__(self, body=b'', status=200, send=None, content_type='application/octet-stream', hang=0,
                 trickle=None):
        self.body, self.status, self.send, self.content_type = body, status, send, content_type
        self.hang, self.trickle = hang, trickle
        self.hits = 0


# run with cwd=ROOT, so that helper and facegen import as in the notebook
TRAIN_IN_A_SUBPROCESS = '''
import sys
import matplotlib; matplotlib.use('Agg')
import helper
from facegen.notebook import load_notebook_functions
nb = load_notebook_functions()
data = helper.Dataset('mnist', {files!r}, seed=0)
with nb['tf'].Graph().as_default():
    try:
        nb['train']({epochs}, 8, 16, 0.0005, 0.5, data.get_batches, data.shape, data.image_mode, show_every=100,
                    run=helper.TrainingRun({run_dir!r}, max_batches={max_batches}, checkpoint_every=4))
    except RuntimeError as err:
        print(err)
        sys.exit(3)
'''


def read_only_command(run_dir, command):
    """`command` run where run_dir is read-only: a read-only bind mount in a private mount
    namespace when we are root (root ignores file modes), the folder's mode otherwise."""
    if os.geteuid() != 0:
        os.chmod(run_dir, 0o555)
        return command
    probe = subprocess.run(['unshare', '-m', 'sh', '-c', f'mount --bind -o ro {run_dir} {run_dir}'],
                           capture_output=True)
    if probe.returncode != 0:
        pytest.skip('root without permission to make a read-only mount: cannot make a folder read-only')
    return ['unshare', '-m', 'sh', '-c', 'mount --bind -o ro "$0" "$0" && exec "$@"', str(run_dir)] + command
