"""The generator's weights averaged over training, which draw better than any one step's.

An exponential moving average (EMA) of every trainable variable under the generator's scope, with
StyleGAN2-ADA's rule (Karras et al. 2020, training_loop.py): the average's half-life is
HALF_LIFE_IMAGES images seen, and while a run is young it is at most RAMP_UP of the images seen
so far, so that the average forgets the random initial weights within the first batches (a fixed
0.999 with no warm-up still holds mostly early weights after a few thousand steps). Batch-norm
statistics are not averaged: the sampler uses the live ones, as StyleGAN2-ADA copies its buffers.

Samples are drawn with the averaged weights by swapping them into the generator's own variables
for the length of a `with average.in_place(sess)` block, so that any generator works, a tf.layers
one too, and the sampler is the network train() built. The averages are global variables named
AVERAGE_SCOPE/<the weight's name>: checkpoints keep them beside the live weights, so a resumed run
goes on with the same average, and `run.py sample` runs the collection's USE_AVERAGE op after
restoring a checkpoint to draw with them from the meta graph alone."""
import contextlib
import weakref

from .config import GENERATOR_SCOPE
from .env import import_tensorflow

tf = import_tensorflow()

HALF_LIFE_IMAGES = 10_000  # StyleGAN2-ADA's ema_kimg = 10 (its batch 32: about 300 steps)
RAMP_UP = 0.05             # its ema_rampup: the half-life is at most 5% of the images seen so far
UPDATE_IMAGES = 64         # the average moves once per this many images (every 16th batch of 4): a step's own
                           # sess.run for it cost the batch-4 loop a quarter of its speed, and a half-life of
                           # thousands of images does not tell 64 from 4
AVERAGE_SCOPE = 'generator_average'
USE_AVERAGE = 'use_generator_average'  # a collection: the op that copies the averages into the generator
_BY_GRAPH = weakref.WeakKeyDictionary()  # graph -> its GeneratorAverage (a collection would go into the meta graph)


def decay(images_seen, images, half_life=HALF_LIFE_IMAGES, ramp_up=RAMP_UP):
    """How much of the average a move after `images` more images keeps, at images_seen in all."""
    return 0.5 ** (images / max(min(half_life, images_seen * ramp_up), 1e-8))


class GeneratorAverage:
    """The averages of the generator's trainable variables in the default graph; build it after the
    generator and before the Saver, so that checkpoints hold it."""

    def __init__(self, half_life=HALF_LIFE_IMAGES, ramp_up=RAMP_UP):
        self.half_life, self.ramp_up = half_life, ramp_up
        self.weights = [var for var in tf.trainable_variables() if var.op.name.startswith(GENERATOR_SCOPE + '/')]
        if not self.weights:
            raise ValueError(f'No trainable variable is under the scope {GENERATOR_SCOPE!r}, so there is nothing to '
                             'average: build the generator inside tf.variable_scope("generator").')
        self.averages = [tf.Variable(tf.zeros(var.shape, var.dtype.base_dtype), trainable=False,
                                     name=AVERAGE_SCOPE + '/' + var.op.name) for var in self.weights]
        with tf.name_scope(AVERAGE_SCOPE + '/'):
            self._decay = tf.placeholder(tf.float32, [], name='decay')
            self._update = tf.group(*[average.assign_sub((1 - self._decay) * (average - weight))
                                      for weight, average in zip(self.weights, self.averages)])
            self._swap = swap(self.weights, self.averages)
            use = tf.group(*[weight.assign(average) for weight, average in zip(self.weights, self.averages)])
            self._start = tf.group(*[average.assign(weight) for weight, average in zip(self.weights, self.averages)])
        tf.add_to_collection(USE_AVERAGE, use)
        _BY_GRAPH[tf.get_default_graph()] = self

    def start(self, sess):
        """The averages take the generator's weights: at a run's first batch, or for a run saved without them."""
        sess.run(self._start)

    def after_batch(self, sess, batches_done, batch_size):
        """After each batch: every UPDATE_IMAGES images, the averages move towards the weights by the
        rule's decay for the images since the last move."""
        every = max(1, UPDATE_IMAGES // batch_size)
        if batches_done % every == 0:
            images = every * batch_size
            sess.run(self._update, {self._decay: decay(batches_done * batch_size, images, self.half_life, self.ramp_up)})

    @contextlib.contextmanager
    def in_place(self, sess):
        """Inside, the generator's variables hold the averages; after, its own weights again, however
        the block ends."""
        sess.run(self._swap)
        try:
            yield
        finally:
            sess.run(self._swap)


def start_from_weights(sess):
    """The averages in sess's graph take the generator's current weights (a run that had none)."""
    _BY_GRAPH[sess.graph].start(sess)


def drawing(sess):
    """A block in which sess's generator draws with the averaged weights, where its graph keeps
    them (train() with a TrainingRun), else with its own: what show_generator_output wraps."""
    kept = _BY_GRAPH.get(sess.graph)
    return kept.in_place(sess) if kept else contextlib.nullcontext()


def swap(variables_a, variables_b):
    """One op that exchanges the values of two lists of variables: every value is read before any
    is written."""
    values_a = [tf.identity(var.read_value()) for var in variables_a]
    values_b = [tf.identity(var.read_value()) for var in variables_b]
    with tf.control_dependencies(values_a + values_b):
        return tf.group(*[var.assign(value) for var, value in zip(variables_a, values_b)],
                        *[var.assign(value) for var, value in zip(variables_b, values_a)])


def use_saved_average(sess):
    """After restoring a checkpoint from its meta graph: the generator's variables take the averages
    it holds. False for a run trained without them."""
    ops = tf.get_collection(USE_AVERAGE)
    if ops:
        sess.run(ops)
    return bool(ops)
