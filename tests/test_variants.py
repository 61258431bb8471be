"""Each sweep setting takes effect where facegen/sweep.py's table says it goes, and a setting with no
place to act is an error. Real trainings of the notebook's train() (two batches, seeded) on 48
real digits, through the sweep's own train_with."""
import numpy as np
import pytest
from support import tf

import helper
from facegen import sweep
from facegen.variants import SettingHadNoEffect, variant

# a value other than the default for each setting of the table
CHANGED = {'network': 'classic', 'generator_dropout': 0.3, 'discriminator_dropout': 0.3, 'label_smoothing': 0.0,
           'alpha': 0.05, 'batch_size': 4, 'z_dim': 8, 'learning_rate': 0.004, 'beta1': 0.9, 'ema_half_life': 0,
           'augment_color': True, 'cutout': 0.5, 'loss': 'hinge', 'spectral_norm': True, 'd_rate_ratio': 4.0,
           'r1_gamma': 10.0, 'channels': 32, 'generator_channels': 32, 'image_size': 64, 'keep_share': 0.5,
           'latent_classes': 10, 'class_information': 1.0}
NEEDS = {'class_information': {'latent_classes': 10}}  # a setting that acts only beside another, compared with that one alone
DATA_SETTINGS = ('image_size',)  # act on the Dataset, not on train(): shown in test_image_size.py
DRAWING_SETTINGS = ('keep_share',)  # act on what a trained run draws, not on what it trains: shown below


def trained(nb, digits, **changes):
    """{variable: value} of a two-batch training with the sweep's settings for mnist, changed so."""
    settings = {**sweep.settings_for('mnist', {}, {'fixed': {}}), 'batch_size': 8, 'z_dim': 16, **changes}
    values = {}

    def keep_values(run):
        if run.done == 2:
            values.update({var.op.name: run.sess.run(var) for var in tf.global_variables()})

    digits.reseed(0)  # the same batches each time, as a sweep's worker does per trial
    sweep.train_with(nb, settings, digits, helper.TrainingRun(max_batches=2, after_batch=keep_values), seed=0)
    return values


@pytest.fixture(scope='module')
def baseline(nb, digits):
    return trained(nb, digits)


def test_the_table_lists_each_setting_once_with_where_it_goes():
    assert sorted(CHANGED) == sorted(sweep.HYPERPARAMETERS)
    for name, setting in sweep.HYPERPARAMETERS.items():
        assert setting.goes and setting.allowed, name
        assert setting.valid(CHANGED[name]), f'{name}: the test\'s value is one the table takes'


def test_training_with_the_same_settings_and_seed_repeats(nb, digits, baseline):
    again = trained(nb, digits)
    assert again.keys() == baseline.keys()
    assert all(np.array_equal(again[name], baseline[name]) for name in baseline)


@pytest.mark.parametrize('name', sorted(set(CHANGED) - set(DATA_SETTINGS) - set(DRAWING_SETTINGS)))
def test_each_setting_changes_what_is_trained(nb, digits, baseline, name):
    before = trained(nb, digits, **NEEDS[name]) if name in NEEDS else baseline
    changed = trained(nb, digits, **NEEDS.get(name, {}), **{name: CHANGED[name]})
    same = changed.keys() == before.keys() and all(
        np.array_equal(changed[key], before[key]) for key in before)
    assert not same, f'{name} = {CHANGED[name]!r} trained exactly what the defaults train'


def test_keep_share_changes_what_a_trained_run_draws(nb, digits):
    drawn = {}
    for share in (1.0, CHANGED['keep_share']):
        settings = {**sweep.settings_for('mnist', {}, {'fixed': {}}), 'batch_size': 8, 'z_dim': 16, 'keep_share': share}
        digits.reseed(0)
        run = helper.TrainingRun(max_batches=2, after_batch=lambda run: drawn.setdefault(
            run.keep_share, run.generate(16)) if run.done == 2 else None)
        sweep.train_with(nb, settings, digits, run, seed=0)
    assert drawn.keys() == {1.0, CHANGED['keep_share']}
    assert not np.array_equal(drawn[1.0], drawn[CHANGED['keep_share']]), 'keep_share drew what every draw gives'


def test_a_setting_the_networks_give_no_place_is_an_error(nb, digits):
    def generator_without_lrelu(z, out_channel_dim, is_train=True):
        with tf.variable_scope('generator', reuse=not is_train):
            h = tf.nn.relu(tf.reshape(nb['dense'](z, 7 * 7 * 16, 'project'), [-1, 7, 7, 16]))
            h = tf.nn.relu(nb['deconv'](h, 8, 'deconv1'))
            return tf.tanh(nb['deconv'](h, out_channel_dim, 'deconv2'))

    own = nb['generator']
    nb['generator'] = generator_without_lrelu
    try:
        with pytest.raises(SettingHadNoEffect, match='generator_dropout = 0.3 had no effect'):
            with tf.Graph().as_default(), variant(nb, generator_dropout=0.3):
                nb['train'](1, 8, 16, 0.0005, 0.5, digits.get_batches, digits.shape, digits.image_mode,
                            print_every=10 ** 9, show_every=10 ** 9, run=helper.TrainingRun(max_batches=1))
    finally:
        nb['generator'] = own
    assert nb['lrelu'].__name__ == 'lrelu', 'the notebook\'s own functions are back'


def test_cutout_zeroes_a_square_of_its_ratio_and_colour_moves_each_image_its_own_way(nb):
    with tf.Graph().as_default(), tf.Session() as sess:
        ones = tf.ones([200, 28, 28, 3])
        cut, coloured = sess.run([nb['random_cutout'](ones, 0.5), nb['random_color'](ones)])
    zeroed = (cut == 0).all(axis=3).sum(axis=(1, 2))
    assert zeroed.max() == 14 * 14, 'a 14 x 14 square where it lies wholly inside'
    assert zeroed.min() > 0 and len(set(zeroed)) > 10, 'at a new place in each image, cut by the border at times'
    assert len({round(float(image.mean()), 4) for image in coloured}) > 190, 'each image its own brightness'


def test_a_search_takes_choices_for_a_true_or_false_setting(tmp_path):
    spec = tmp_path / 'bad.toml'
    spec.write_text('budget_batches = 5\ntrials = 2\n[search]\naugment_color = {low = 0, high = 1}\n')
    with pytest.raises(sweep.SpecError, match='takes a list of choices'):
        sweep.read_spec(str(spec))


def test_spectral_norm_brings_each_of_d_s_weight_matrices_to_a_largest_singular_value_of_1(nb):
    normalized = {}  # what the discriminator's layers get from tf.get_variable: the weights as divided
    own = nb['discriminator']

    def keep(next_getter, name, *args, **kwargs):
        normalized[name] = next_getter(name, *args, **kwargs)
        return normalized[name]

    def discriminator_keeping_its_weights(images, reuse=False):
        with tf.variable_scope(tf.get_variable_scope(), custom_getter=keep, auxiliary_name_scope=False):
            return own(images, reuse)

    nb['discriminator'] = discriminator_keeping_its_weights
    try:
        with tf.Graph().as_default(), tf.Session() as sess:
            tf.set_random_seed(0)
            with variant(nb, spectral_norm=True):
                nb['discriminator'](tf.random.uniform([8, 28, 28, 1], -1, 1))
            sess.run(tf.global_variables_initializer())
            kernels = [name for name in normalized if name.endswith('/w')]
            assert len(kernels) == 4, kernels  # conv1, conv2, conv3, logits
            for _ in range(100):  # each run moves the power method's vector on by one step
                values = sess.run({name: normalized[name] for name in kernels})
            stored = sess.run({name: tf.global_variables(name)[0] for name in kernels})
    finally:
        nb['discriminator'] = own
    for name in kernels:
        matrix = values[name].reshape(-1, values[name].shape[-1])
        # the power method's estimate approaches the largest singular value from below, slowly where
        # the top two are close: the divided matrix's lies just above 1
        assert 0.999 < np.linalg.svd(matrix, compute_uv=False)[0] < 1.05, name
        stored_sigma = np.linalg.svd(stored[name].reshape(matrix.shape), compute_uv=False)[0]
        assert np.allclose(values[name], stored[name] / stored_sigma, rtol=0.02, atol=1e-6), name
    assert any(abs(np.linalg.svd(stored[name].reshape(-1, stored[name].shape[-1]), compute_uv=False)[0] - 1) > 0.3
               for name in kernels), 'some stored weights were far from 1: the division did something'


def test_r1_penalizes_d_s_gradient_at_the_real_images_on_one_batch_in_16(nb):
    own_shift = nb['random_shift']
    nb['random_shift'] = lambda images, *args, **kwargs: images  # the same D on each run, to compare losses
    try:
        with tf.Graph().as_default(), tf.Session() as sess:
            real = tf.placeholder(tf.float32, [8, 28, 28, 1])
            z = tf.placeholder(tf.float32, [8, 16])
            with variant(nb, r1_gamma=0.0):
                plain, _ = nb['model_loss'](real, z, 1)
            with variant(nb, r1_gamma=10.0), tf.variable_scope(tf.get_variable_scope(), reuse=tf.AUTO_REUSE):
                penalized, _ = nb['model_loss'](real, z, 1)  # on the same networks' variables
            sess.run(tf.global_variables_initializer())
            feed = {real: np.random.RandomState(0).uniform(-1, 1, [8, 28, 28, 1]),
                    z: np.random.RandomState(1).uniform(-1, 1, [8, 16])}
            added = [np.subtract(*sess.run([penalized, plain], feed)) for _ in range(33)]
    finally:
        nb['random_shift'] = own_shift
    due = [i for i, extra in enumerate(added) if abs(extra) > 1e-4]
    assert due == [0, 16, 32], added
    assert all(added[i] > 0 for i in due), 'a squared norm, weighted by gamma / 2 x 16'


def test_r1_gamma_needs_a_model_loss_that_calls_the_notebooks_r1_penalty(nb, digits, monkeypatch):
    def model_loss_without_r1(input_real, input_z, out_channel_dim):  # a learner's, written before R1
        _, real_logits = nb['discriminator'](input_real)
        _, fake_logits = nb['discriminator'](nb['generator'](input_z, out_channel_dim), reuse=True)
        d_loss = tf.reduce_mean(tf.nn.softplus(-real_logits)) + tf.reduce_mean(tf.nn.softplus(fake_logits))
        return d_loss, tf.reduce_mean(tf.nn.softplus(-fake_logits))

    with monkeypatch.context() as patched:
        patched.setitem(nb, 'model_loss', model_loss_without_r1)
        with pytest.raises(SettingHadNoEffect, match='never calls r1_penalty'):
            trained(nb, digits, r1_gamma=2.0)
    with monkeypatch.context() as patched:
        patched.delitem(nb, 'r1_penalty')
        with pytest.raises(SettingHadNoEffect, match='has no r1_penalty'), variant(nb, r1_gamma=2.0):
            pass
    with tf.Graph().as_default(), variant(nb, r1_gamma=2.0):
        assert nb['R1_GAMMA'] == 2.0
        images = tf.zeros([1, 28, 28, 1])
        nb['discriminator'](images)
        nb['r1_penalty'](images)  # as model_loss calls it, after D is built
    assert nb['R1_GAMMA'] == 0.0, "the notebook's own gamma is back"


def test_ttur_needs_a_model_opt_that_reads_the_ratio_and_hinge_has_no_labels_to_smooth(nb):
    own = nb['model_opt']
    nb['model_opt'] = lambda d_loss, g_loss, learning_rate, beta1: own(d_loss, g_loss, learning_rate, beta1)
    try:
        with pytest.raises(SettingHadNoEffect, match='never reads D_RATE_RATIO'):
            with variant(nb, d_rate_ratio=2.0):
                pass
    finally:
        nb['model_opt'] = own
    with pytest.raises(SettingHadNoEffect, match='hinge loss, which has no labels'):
        with variant(nb, loss='hinge', label_smoothing=0.1):
            pass
    with variant(nb, d_rate_ratio=3.0):
        assert nb['D_RATE_RATIO'] == 3.0
    assert nb['D_RATE_RATIO'] == 1.0, "the notebook's own ratio is back"


def test_channels_sets_both_networks_width_and_only_where_the_notebook_reads_it(nb, digits):
    narrow = trained(nb, digits, channels=32)
    assert narrow['discriminator/conv1/w'].shape[-1] == 32 and narrow['discriminator/conv2/w'].shape[-1] == 64
    assert narrow['generator/project/w'].shape[-1] == 7 * 7 * 128 and narrow['generator/deconv1/w'].shape[2] == 64
    assert nb['CHANNELS'] == 64, "the notebook's own width is back"
    with pytest.raises(SettingHadNoEffect, match='channels = 32 has no effect on the classic networks'):
        with variant(nb, network='classic', channels=32):
            pass
    own = nb['generator']
    nb['generator'] = lambda z, out_channel_dim, is_train=True: own(z, out_channel_dim, is_train)
    try:
        with pytest.raises(SettingHadNoEffect, match="the notebook's generator never read CHANNELS"):
            with variant(nb, channels=32):
                pass
    finally:
        nb['generator'] = own


def test_generator_channels_widens_the_generator_alone(nb, digits):
    wide = trained(nb, digits, generator_channels=96)
    assert wide['generator/project/w'].shape[-1] == 7 * 7 * 384 and wide['generator/deconv1/w'].shape[2] == 192
    assert wide['discriminator/conv1/w'].shape[-1] == 64, "the discriminator keeps the notebook's width"
    both = trained(nb, digits, channels=32, generator_channels=96)
    assert both['discriminator/conv1/w'].shape[-1] == 32 and both['generator/project/w'].shape[-1] == 7 * 7 * 384
    assert nb['CHANNELS'] == 64, "the notebook's own width is back"
    with pytest.raises(SettingHadNoEffect, match='generator_channels = 96 has no effect on the classic networks'):
        with variant(nb, network='classic', generator_channels=96):
            pass


def test_latent_classes_gives_the_generator_z_s_first_number_as_one_of_so_many_classes(nb):
    with tf.Graph().as_default(), variant(nb, latent_classes=10):
        z = tf.placeholder(tf.float32, [None, 8])
        nb['generator'](z, 1)
        images = nb['generator'](z, 1, False)
        project, = [var for var in tf.global_variables() if var.op.name == 'generator/project/w']
        assert project.shape[0] == 10 + 7, 'one-hot of the class, then the other 7 numbers of z'
        rest = np.random.RandomState(0).uniform(-1, 1, 7)
        # -0.95 and -0.85 lie in the first tenth of z's range, -0.75 in the second
        feed = np.array([[first, *rest] for first in (-0.95, -0.85, -0.75)])
        with tf.Session() as sess:
            sess.run(tf.global_variables_initializer())
            drawn = sess.run(images, {z: feed})
    np.testing.assert_array_equal(drawn[0], drawn[1])
    assert np.abs(drawn[0] - drawn[2]).max() > 1e-3, 'another class drew the same image'
    with tf.Graph().as_default(), variant(nb, latent_classes=10):
        with pytest.raises(ValueError, match='latent_classes = 10 needs a z of 2 numbers or more .* not 1: raise z_dim'):
            nb['generator'](tf.placeholder(tf.float32, [None, 1]), 1)


def test_class_information_reads_z_s_class_back_from_the_image_and_needs_the_classes(nb):
    with tf.Graph().as_default(), variant(nb, latent_classes=10, class_information=1.0):
        real = tf.placeholder(tf.float32, [None, 28, 28, 1])
        z = tf.placeholder(tf.float32, [None, 8])
        _, g_loss = nb['model_loss'](real, z, 1)
        readers = [var for var in tf.trainable_variables() if 'class_reader' in var.op.name]
        assert readers and all(var.op.name.startswith('generator/') for var in readers), 'the reader trains with G'
        assert all(gradient is not None for gradient in tf.gradients(g_loss, readers)), 'G\'s loss holds its misreading'
    with pytest.raises(ValueError, match='class_information = 1.0 needs latent_classes'):
        with tf.Graph().as_default(), variant(nb, class_information=1.0):
            pass
