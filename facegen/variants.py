"""The networks a sweep trains besides the notebook's own, built from the notebook's functions.

    notebook  the notebook's discriminator and generator, as they are
    classic   the classic 2017 solution: 5x5 kernels, G 512-256-128, D 64-128-256 with batch norm
              (the network of the PyTorch and Keras references)

and, for either, the settings a 2017 learner tuned that the notebook fixes: the leaky ReLU's slope,
dropout after each of a network's activations, and label smoothing; and DiffAugment's colour and
cutout beside the notebook's shift. Each is put in place for the
length of a `with variant(nb, ...)` block by swapping the notebook's own function for one that
calls it with other arguments, so that nothing here copies the notebook's code."""
import contextlib
import functools
import inspect

from .config import DISCRIMINATOR_SCOPE, GENERATOR_SCOPE
from .env import import_tensorflow

tf = import_tensorflow()
NETWORKS = ('notebook', 'classic')


class SettingHadNoEffect(ValueError):
    """A sweep setting that the notebook's code gave no place to act."""


def classic_networks(nb):
    """The classic solution's network, on the notebook's layer helpers (and its batch norm)."""
    lrelu, conv, deconv, dense, batch_norm = (nb[name] for name in ('lrelu', 'conv', 'deconv', 'dense', 'batch_norm'))

    def discriminator(images, reuse=False):
        with tf.variable_scope(DISCRIMINATOR_SCOPE, reuse=reuse):
            h = lrelu(conv(images, 64, 'conv1', kernel=5))
            h = lrelu(batch_norm(conv(h, 128, 'conv2', kernel=5), True, 'bn2'))
            h = lrelu(batch_norm(conv(h, 256, 'conv3', kernel=5), True, 'bn3'))
            logits = dense(tf.reshape(h, [-1, 4 * 4 * 256]), 1, 'logits')
            return tf.sigmoid(logits), logits

    def generator(z, out_channel_dim, is_train=True):
        with tf.variable_scope(GENERATOR_SCOPE, reuse=not is_train):
            h = lrelu(batch_norm(tf.reshape(dense(z, 7 * 7 * 512, 'project'), [-1, 7, 7, 512]), is_train, 'bn0'))
            h = lrelu(batch_norm(deconv(h, 256, 'deconv1', kernel=5), is_train, 'bn1'))
            h = lrelu(batch_norm(deconv(h, 128, 'deconv2', kernel=5), is_train, 'bn2'))
            return tf.tanh(deconv(h, out_channel_dim, 'deconv3', kernel=5, stride=1))

    return discriminator, generator


@contextlib.contextmanager
def variant(nb, network='notebook', alpha=None, label_smoothing=None, generator_dropout=0.0,
            discriminator_dropout=0.0, augment_color=False, cutout=0.0):
    """A block in which the notebook's train() builds `network` with these settings; None keeps the
    notebook's own value (its lrelu's leak, its model_loss's smoothing). augment_color and cutout
    add DiffAugment's colour and cutout (the notebook's random_color, random_cutout) wherever the
    discriminator moves its images by random_shift."""
    if network not in NETWORKS:
        raise ValueError(f'Unknown network variant {network!r}: use one of {", ".join(NETWORKS)}.')
    saved = {name: nb[name] for name in ('lrelu', 'model_loss', 'discriminator', 'generator', 'random_shift')}
    calls = {GENERATOR_SCOPE: 0, DISCRIMINATOR_SCOPE: 0}  # the lrelu's, in each network
    shifts = []  # the random_shift's
    try:
        if augment_color or cutout:
            nb['random_shift'] = _augmentation(nb, saved['random_shift'], augment_color, cutout, shifts)
        if alpha is not None or generator_dropout or discriminator_dropout:
            nb['lrelu'] = _activation(saved['lrelu'], alpha, {GENERATOR_SCOPE: generator_dropout,
                                                               DISCRIMINATOR_SCOPE: discriminator_dropout}, calls)
        if label_smoothing is not None:
            if 'smooth' not in inspect.signature(saved['model_loss']).parameters:
                raise ValueError("The notebook's model_loss takes no `smooth` argument (the real images' label), "
                                 'so a sweep cannot set label_smoothing: add one, or leave label_smoothing out.')
            nb['model_loss'] = functools.partial(saved['model_loss'], smooth=1 - label_smoothing)
        if network == 'classic':
            nb['discriminator'], nb['generator'] = classic_networks(nb)
        yield
        # a setting that changed nothing is a mistake to say, not a trial to score as if it had
        unused = [f'{name} = {value}' for name, value, used in (
            ('alpha', alpha, sum(calls.values())), ('generator_dropout', generator_dropout, calls[GENERATOR_SCOPE]),
            ('discriminator_dropout', discriminator_dropout, calls[DISCRIMINATOR_SCOPE])) if value and not used]
        if unused:
            raise SettingHadNoEffect(f'{", ".join(unused)} had no effect: the {network} networks never call the notebook\'s '
                             'lrelu there, where these settings act. Call lrelu in them, or leave these settings out.')
        if (augment_color or cutout) and not shifts:
            raise SettingHadNoEffect(f'augment_color = {augment_color}, cutout = {cutout} had no effect: the {network} '
                                     'discriminator never calls random_shift, where they act. Call it on the images, or '
                                     'leave these settings out.')
    finally:
        nb.update(saved)


def notebook_values(nb):
    """{'alpha': ..., 'label_smoothing': ...}: what variant() keeps when given None, read from the
    defaults of the notebook's lrelu and model_loss (absent where they have none)."""
    values = {}
    leak = next(iter(list(inspect.signature(nb['lrelu']).parameters.values())[1:]), None)
    if leak is not None and isinstance(leak.default, float):
        values['alpha'] = leak.default
    smooth = inspect.signature(nb['model_loss']).parameters.get('smooth')
    if smooth is not None and isinstance(smooth.default, (int, float)):
        values['label_smoothing'] = round(1 - smooth.default, 6)
    return values


def _augmentation(nb, random_shift, color, cutout, shifts):
    """The notebook's random_shift, after its random_color (if color) and before its random_cutout
    (at ratio `cutout`, if any): DiffAugment's order; shifts counts the calls."""
    def augment(images, *args, **kwargs):
        shifts.append(1)
        images = random_shift(nb['random_color'](images) if color else images, *args, **kwargs)
        return nb['random_cutout'](images, cutout) if cutout else images
    return augment


def _activation(lrelu, alpha, dropout, calls):
    """The notebook's lrelu with slope alpha, then dropout at the rate of the network it is in; the
    generator's inference copy (built with reuse, for samples) keeps every unit. calls counts them
    per network."""
    def activation(x, *args, **kwargs):
        y = lrelu(x, alpha) if alpha is not None else lrelu(x, *args, **kwargs)
        scope = tf.get_variable_scope()
        network = scope.name.split('/')[0]
        if network in calls:
            calls[network] += 1
        rate = dropout.get(network, 0.0)
        if rate and not (network == GENERATOR_SCOPE and scope.reuse):
            y = tf.nn.dropout(y, rate=rate)
        return y
    return activation
