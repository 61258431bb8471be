"""The networks a sweep trains besides the notebook's own, built from the notebook's functions.

    notebook  the notebook's discriminator and generator, as they are
    classic   the classic 2017 solution: 5x5 kernels, G 512-256-128, D 64-128-256 with batch norm
              (the network of the PyTorch and Keras references)

and, for either, the settings a 2017 learner tuned that the notebook fixes: the leaky ReLU's slope,
dropout after each of a network's activations, and label smoothing; DiffAugment's colour and
cutout beside the notebook's shift; and what the literature measured since: the hinge loss and
spectral normalization of D's weights (Miyato et al. 2018), D's own learning rate (TTUR, Heusel
et al. 2017) and the lazy R1 penalty (Mescheder et al. 2018; Karras et al. 2020); and the networks'
width, the notebook's CHANNELS. Each is put in
place for the length of a `with variant(nb, ...)` block by swapping the notebook's own function for
one that calls it with other arguments (or around it), so that nothing here copies the notebook's
code."""
import contextlib
import functools
import inspect

from .config import DISCRIMINATOR_SCOPE, GENERATOR_SCOPE, LATENT_CLASSES, Z_RANGE, is_latent_classes, size_keyword
from .env import import_tensorflow

tf = import_tensorflow()
NETWORKS = ('notebook', 'classic')
LOSSES = ('notebook', 'hinge')
RATE_RATIO = 'D_RATE_RATIO'  # the notebook's constant: D's learning rate over G's
CHANNELS = 'CHANNELS'  # the notebook's constant: D's first layer's channels, G's last hidden layer's
R1_GAMMA = 'R1_GAMMA'  # the notebook's constant: the weight of its r1_penalty, the lazy R1 penalty


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
            discriminator_dropout=0.0, augment_color=False, cutout=0.0, loss='notebook', spectral_norm=False,
            d_rate_ratio=None, r1_gamma=None, channels=None, generator_channels=None, latent_classes=0,
            class_information=0.0):
    """A block in which the notebook's train() builds `network` with these settings; None keeps the
    notebook's own value (its lrelu's leak, its model_loss's smoothing, its model_opt's ratio of D's
    learning rate to G's). augment_color and cutout add DiffAugment's colour and cutout (the
    notebook's random_color, random_cutout) wherever the discriminator moves its images by
    random_shift. loss = 'hinge' trains both networks on the hinge loss instead of model_loss's;
    spectral_norm divides each of D's weight matrices by its largest singular value; r1_gamma sets
    the notebook's R1_GAMMA, the weight of the lazy R1 penalty its model_loss adds to D's loss (the
    hinge loss adds it too). channels sets the notebook's CHANNELS, the width of both networks;
    generator_channels sets it in the generator alone (after channels, if both are given).
    latent_classes (K) hands the generator z's first number as one of K classes, one-hot;
    class_information adds InfoGAN's term for them to G's loss, at that weight."""
    if network not in NETWORKS:
        raise ValueError(f'Unknown network variant {network!r}: use one of {", ".join(NETWORKS)}.')
    if loss not in LOSSES:
        raise ValueError(f'Unknown loss {loss!r}: use one of {", ".join(LOSSES)}.')
    if not is_latent_classes(latent_classes):
        raise ValueError(f'latent_classes = {latent_classes}: give {LATENT_CLASSES}.')
    if class_information and not latent_classes:
        raise ValueError(f'class_information = {class_information} needs latent_classes, the classes it '
                         'asks the generator to draw apart: set both, or leave class_information out.')
    saved = {name: nb[name] for name in ('lrelu', 'model_loss', 'discriminator', 'generator', 'random_shift')}
    if 'r1_penalty' in nb:  # absent from a notebook written before it
        saved['r1_penalty'] = nb['r1_penalty']
    saved_penalty = saved.get('r1_penalty')
    saved_constants = {name: nb[name] for name in (RATE_RATIO, CHANNELS, R1_GAMMA) if name in nb}
    calls = {GENERATOR_SCOPE: 0, DISCRIMINATOR_SCOPE: 0}  # the lrelu's, in each network
    shifts = []  # the random_shift's
    penalties = []  # the r1_penalty's
    try:
        if augment_color or cutout:
            nb['random_shift'] = _augmentation(nb, saved['random_shift'], augment_color, cutout, shifts)
        if alpha is not None or generator_dropout or discriminator_dropout:
            nb['lrelu'] = _activation(saved['lrelu'], alpha, {GENERATOR_SCOPE: generator_dropout,
                                                               DISCRIMINATOR_SCOPE: discriminator_dropout}, calls)
        if label_smoothing is not None:
            if loss == 'hinge':
                raise SettingHadNoEffect(f'label_smoothing = {label_smoothing} has no effect with the hinge loss, '
                                         'which has no labels: leave one of them out.')
            if 'smooth' not in inspect.signature(saved['model_loss']).parameters:
                raise ValueError("The notebook's model_loss takes no `smooth` argument (the real images' label), "
                                 'so a sweep cannot set label_smoothing: add one, or leave label_smoothing out.')
            nb['model_loss'] = functools.partial(saved['model_loss'], smooth=1 - label_smoothing)
        if d_rate_ratio is not None:
            if RATE_RATIO not in nb['model_opt'].__code__.co_names:
                raise SettingHadNoEffect(f"d_rate_ratio = {d_rate_ratio} has no effect: the notebook's model_opt never "
                                         f"reads {RATE_RATIO}, D's learning rate over G's. Use it there, or leave "
                                         'd_rate_ratio out.')
            nb[RATE_RATIO] = d_rate_ratio
        if channels is not None:
            _check_width_setting(nb, 'channels', channels, network, ('discriminator', 'generator'))
            nb[CHANNELS] = channels
        if generator_channels is not None:
            _check_width_setting(nb, 'generator_channels', generator_channels, network, ('generator',))
            nb['generator'] = _of_width(nb, saved['generator'], generator_channels)
        if r1_gamma is not None:
            if saved_penalty is None or R1_GAMMA not in saved_penalty.__code__.co_names:
                raise SettingHadNoEffect(f"r1_gamma = {r1_gamma} has no effect: the notebook has no r1_penalty that reads "
                                         f'{R1_GAMMA}, its weight. Define one, or leave r1_gamma out.')
            nb[R1_GAMMA] = r1_gamma

            def counted_penalty(*args, **kwargs):
                penalties.append(1)
                return saved_penalty(*args, **kwargs)
            nb['r1_penalty'] = counted_penalty
        if network == 'classic':
            nb['discriminator'], nb['generator'] = classic_networks(nb)
        if latent_classes:
            drawn = []  # (z, images) of each generator built to train
            nb['generator'] = _of_latent_classes(nb['generator'], latent_classes, drawn)
            if class_information:
                nb['model_loss'] = _reading_classes(nb, nb['model_loss'], drawn, latent_classes, class_information)
        if spectral_norm:
            nb['discriminator'] = _spectrally_normalized(nb['discriminator'])
        if loss == 'hinge':
            nb['model_loss'] = _hinge_loss(nb)
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
        if r1_gamma is not None and not penalties:
            raise SettingHadNoEffect(f"r1_gamma = {r1_gamma} had no effect: the notebook's model_loss never calls "
                                     'r1_penalty. Add it to the discriminator\'s loss, or leave r1_gamma out.')
    finally:
        nb.update(saved)
        for name in (RATE_RATIO, CHANNELS, R1_GAMMA):
            if name in saved_constants:
                nb[name] = saved_constants[name]
            else:
                nb.pop(name, None)


def notebook_values(nb):
    """{'alpha': ..., 'label_smoothing': ..., 'd_rate_ratio': ..., 'channels': ..., 'r1_gamma': ...}:
    what variant() keeps when given None, read from the defaults of the notebook's lrelu and
    model_loss and from its D_RATE_RATIO, CHANNELS and R1_GAMMA (each absent where it has none)."""
    values = {}
    leak = next(iter(list(inspect.signature(nb['lrelu']).parameters.values())[1:]), None)
    if leak is not None and isinstance(leak.default, float):
        values['alpha'] = leak.default
    smooth = inspect.signature(nb['model_loss']).parameters.get('smooth')
    if smooth is not None and isinstance(smooth.default, (int, float)):
        values['label_smoothing'] = round(1 - smooth.default, 6)
    if isinstance(nb.get(RATE_RATIO), (int, float)):
        values['d_rate_ratio'] = float(nb[RATE_RATIO])
    if isinstance(nb.get(CHANNELS), int):
        values['channels'] = nb[CHANNELS]
    if isinstance(nb.get(R1_GAMMA), (int, float)):
        values['r1_gamma'] = float(nb[R1_GAMMA])
    return values


def _check_width_setting(nb, setting, value, network, names):
    """A SettingHadNoEffect for a width setting where the networks `names` cannot take it."""
    if network != 'notebook':
        raise SettingHadNoEffect(f'{setting} = {value} has no effect on the {network} networks, whose widths '
                                 f'are their own: leave {setting} out.')
    deaf = [name for name in names if CHANNELS not in nb[name].__code__.co_names]
    if deaf:
        raise SettingHadNoEffect(f"{setting} = {value} has no effect: the notebook's {' and '.join(deaf)} never "
                                 f'read {CHANNELS}, their width. Use it there, or leave {setting} out.')


def _of_width(nb, network, channels):
    """network, built with the notebook's CHANNELS set to channels while it runs (its variables are
    made then; the other network keeps the notebook's width)."""
    def network_of_its_own_width(*args, **kwargs):
        width = nb[CHANNELS]
        nb[CHANNELS] = channels
        try:
            return network(*args, **kwargs)
        finally:
            nb[CHANNELS] = width
    return network_of_its_own_width


def _class_of(z, classes):
    """Which of `classes` equal parts of z's range z's first number lies in."""
    low, high = Z_RANGE
    return tf.clip_by_value(tf.cast(tf.floor((z[:, 0] - low) / (high - low) * classes), tf.int32), 0, classes - 1)


def _reading_classes(nb, model_loss, drawn, classes, weight):
    """model_loss, with weight times how badly a small reader tells z's class from the generated image
    added to G's loss; the reader, in G's scope, learns from the same loss (InfoGAN's mutual
    information term for a categorical code, Chen et al. 2016, with a reader of its own)."""
    def loss(input_real, input_z, out_channel_dim, *args, **kwargs):
        d_loss, g_loss = model_loss(input_real, input_z, out_channel_dim, *args, **kwargs)
        z, images = drawn[-1]
        with tf.variable_scope(GENERATOR_SCOPE, reuse=tf.AUTO_REUSE), tf.variable_scope('class_reader'):
            h = tf.nn.leaky_relu(nb['conv'](images, 32, 'conv1'))
            h = tf.nn.leaky_relu(nb['conv'](h, 64, 'conv2'))
            logits = nb['dense'](tf.reshape(h, [-1, int(h.shape[1] * h.shape[2] * h.shape[3])]), classes, 'logits')
        misread = tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(labels=_class_of(z, classes), logits=logits))
        return d_loss, g_loss + weight * misread
    return loss


def _of_latent_classes(generator, classes, drawn):
    """generator, given z's first number as one of `classes` equal parts of its range, one-hot, in its
    place: a latent with a discrete part, so that G may draw disconnected modes (digits) with no
    path of draws between them (DeLiGAN, Gurumurthy et al. 2017; Tanielian et al. 2020)."""
    def generator_of_classes(z, *args, **kwargs):
        if int(z.shape[-1]) < 2:
            raise ValueError(f'latent_classes = {classes} needs a z of 2 numbers or more (the first picks the class, '
                             f'the others vary the image within it), not {int(z.shape[-1])}: raise z_dim.')
        images = generator(tf.concat([tf.one_hot(_class_of(z, classes), classes), z[:, 1:]], axis=1), *args, **kwargs)
        if kwargs.get('is_train', args[1] if len(args) > 1 else True):
            drawn.append((z, images))
        return images
    return generator_of_classes


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


def _hinge_loss(nb):
    """model_loss with the hinge loss: D pushes real logits above 1 and generated ones below -1; G
    raises its images' logit (Miyato et al. 2018). It builds the notebook's networks as its
    model_loss does, with its R1 penalty."""
    def model_loss(input_real, input_z, out_channel_dim):
        generated = nb['generator'](input_z, out_channel_dim, **size_keyword(input_real.shape[1]))
        _, real_logits = nb['discriminator'](input_real)
        _, generated_logits = nb['discriminator'](generated, reuse=True)
        d_loss = tf.reduce_mean(tf.nn.relu(1.0 - real_logits)) + tf.reduce_mean(tf.nn.relu(1.0 + generated_logits))
        if 'r1_penalty' in nb:  # the notebook's, as its own model_loss adds it
            d_loss += nb['r1_penalty'](input_real)
        return d_loss, -tf.reduce_mean(generated_logits)
    return model_loss


def _spectrally_normalized(discriminator):
    """The discriminator with each of its weight matrices (a kernel read as kernel-height x width x
    inputs by outputs) divided by its largest singular value, estimated by one step of the power
    method per call from the last call's vector (Miyato et al. 2018). It acts on what the network
    asks tf.get_variable for, so it works on any discriminator, tf.layers' too."""
    def normalized(images, *args, **kwargs):
        with tf.variable_scope(tf.get_variable_scope(), custom_getter=_spectral_norm_getter,
                               auxiliary_name_scope=False):
            return discriminator(images, *args, **kwargs)
    return normalized


def _spectral_norm_getter(getter, name, *args, **kwargs):
    weights = getter(name, *args, **kwargs)
    if kwargs.get('trainable') is False or weights.shape.ndims < 2:
        return weights  # biases, batch norm's scale and statistics
    matrix = tf.reshape(weights, [-1, int(weights.shape[-1])])
    u = getter(name + '_sn_u', *args, **{**kwargs, 'shape': [1, int(matrix.shape[1])], 'trainable': False,
                                        'initializer': tf.random_normal_initializer(), 'regularizer': None,
                                        'constraint': None, 'partitioner': None})
    v = tf.stop_gradient(tf.math.l2_normalize(tf.matmul(u, matrix, transpose_b=True)))
    u_next = tf.stop_gradient(tf.math.l2_normalize(tf.matmul(v, matrix)))
    sigma = tf.reduce_sum(tf.matmul(v, matrix) * u_next)
    with tf.control_dependencies([u.assign(u_next)]):
        return weights / sigma
