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
           'augment_color': True, 'cutout': 0.5}


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


@pytest.mark.parametrize('name', sorted(CHANGED))
def test_each_setting_changes_what_is_trained(nb, digits, baseline, name):
    changed = trained(nb, digits, **{name: CHANGED[name]})
    same = changed.keys() == baseline.keys() and all(
        np.array_equal(changed[key], baseline[key]) for key in baseline)
    assert not same, f'{name} = {CHANGED[name]!r} trained exactly what the defaults train'


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
