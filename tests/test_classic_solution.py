"""A learner's own TF1 code runs here: a solution written the way most 2017 submissions were
(tf.layers for every layer, an unshaped learning-rate placeholder, one variable_scope per network,
batch norm with a training flag and UPDATE_OPS as control dependencies) passes problem_unittests,
passes the checks of the original Udacity tests, and trains in the notebook's train().

The original tests replaced tf.variable_scope with a bare MagicMock (nothing wrapped, so no scope
is opened at all) and compared its *last* call with the expected one; original_scope_check does the
same, so the notebook's own networks are held to it too."""
import subprocess
import sys
from unittest import mock

import numpy as np
import pytest
from support import BATCH, ROOT, tf

import helper
import problem_unittests as tests

# ------------------------------------------------------------------ a classic solution


def model_inputs(image_width, image_height, image_channels, z_dim):
    inputs_real = tf.placeholder(tf.float32, (None, image_width, image_height, image_channels), name='input_real')
    inputs_z = tf.placeholder(tf.float32, (None, z_dim), name='input_z')
    learning_rate = tf.placeholder(tf.float32, name='learning_rate')
    return inputs_real, inputs_z, learning_rate


def discriminator(images, reuse=False, alpha=0.2):
    with tf.variable_scope('discriminator', reuse=reuse):
        x1 = tf.layers.conv2d(images, 32, 5, strides=2, padding='same')
        relu1 = tf.maximum(alpha * x1, x1)
        x2 = tf.layers.conv2d(relu1, 64, 5, strides=2, padding='same')
        bn2 = tf.layers.batch_normalization(x2, training=True)
        relu2 = tf.maximum(alpha * bn2, bn2)
        flat = tf.reshape(relu2, (-1, 7 * 7 * 64))
        logits = tf.layers.dense(flat, 1)
        return tf.sigmoid(logits), logits


def generator(z, out_channel_dim, is_train=True, alpha=0.2):
    with tf.variable_scope('generator', reuse=not is_train):
        x1 = tf.layers.dense(z, 7 * 7 * 128)
        x1 = tf.reshape(x1, (-1, 7, 7, 128))
        x1 = tf.layers.batch_normalization(x1, training=is_train)
        x1 = tf.maximum(alpha * x1, x1)
        x2 = tf.layers.conv2d_transpose(x1, 64, 5, strides=2, padding='same')
        x2 = tf.layers.batch_normalization(x2, training=is_train)
        x2 = tf.maximum(alpha * x2, x2)
        logits = tf.layers.conv2d_transpose(x2, out_channel_dim, 5, strides=2, padding='same')
        return tf.tanh(logits)


def model_loss(input_real, input_z, out_channel_dim):
    g_model = generator(input_z, out_channel_dim)
    d_model_real, d_logits_real = discriminator(input_real)
    d_model_fake, d_logits_fake = discriminator(g_model, reuse=True)
    d_loss_real = tf.reduce_mean(tf.nn.sigmoid_cross_entropy_with_logits(
        logits=d_logits_real, labels=tf.ones_like(d_model_real) * 0.9))
    d_loss_fake = tf.reduce_mean(tf.nn.sigmoid_cross_entropy_with_logits(
        logits=d_logits_fake, labels=tf.zeros_like(d_model_fake)))
    g_loss = tf.reduce_mean(tf.nn.sigmoid_cross_entropy_with_logits(
        logits=d_logits_fake, labels=tf.ones_like(d_model_fake)))
    return d_loss_real + d_loss_fake, g_loss


def model_opt(d_loss, g_loss, learning_rate, beta1):
    t_vars = tf.trainable_variables()
    d_vars = [var for var in t_vars if var.name.startswith('discriminator')]
    g_vars = [var for var in t_vars if var.name.startswith('generator')]
    with tf.control_dependencies(tf.get_collection(tf.GraphKeys.UPDATE_OPS)):
        d_train_opt = tf.train.AdamOptimizer(learning_rate, beta1=beta1).minimize(d_loss, var_list=d_vars)
        g_train_opt = tf.train.AdamOptimizer(learning_rate, beta1=beta1).minimize(g_loss, var_list=g_vars)
    return d_train_opt, g_train_opt


CLASSIC = {'model_inputs': model_inputs, 'discriminator': discriminator, 'generator': generator,
           'model_loss': model_loss, 'model_opt': model_opt}

# ------------------------------------------------------------------ the original tests' scope check


def original_scope_check(build, scope, reuse_flags):
    """Build each network with tf.variable_scope a bare MagicMock, as the 2017 tests did; after each
    build its last call must be (scope, reuse=flag). Returns what each build returned."""
    original = tf.variable_scope
    built = []
    with tf.Graph().as_default():
        tf.variable_scope = mock.MagicMock()
        try:
            for flag in reuse_flags:
                tf.variable_scope.reset_mock()
                built.append(build(flag))
                assert tf.variable_scope.call_args == mock.call(scope, reuse=flag), tf.variable_scope.call_args_list
        finally:
            tf.variable_scope = original
    return built


def check_networks_the_original_way(functions):
    image = lambda: tf.placeholder(tf.float32, [None, 28, 28, 3])
    z = lambda: tf.placeholder(tf.float32, [None, 100])
    for output, logits in original_scope_check(lambda reuse: functions['discriminator'](image(), reuse),
                                               'discriminator', [False, True]):
        assert output.shape.as_list() == logits.shape.as_list() == [None, 1]
    for output in original_scope_check(lambda reuse: functions['generator'](z(), 5, not reuse),
                                       'generator', [False, True]):
        assert output.shape.as_list() == [None, 28, 28, 5]


# ------------------------------------------------------------------ the tests


TF_LAYERS_IN_A_FRESH_PROCESS = '''
import helper
import tensorflow.compat.v1 as tf
with tf.Graph().as_default():
    print(tf.layers.conv2d(tf.zeros([1, 28, 28, 1]), 4, 5).shape.as_list())
    tf.layers.batch_normalization(tf.zeros([1, 4]), training=True)
'''


def test_tf_layers_work_and_say_nothing_about_being_deprecated():
    result = subprocess.run([sys.executable, '-c', TF_LAYERS_IN_A_FRESH_PROCESS], cwd=ROOT,
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == '[1, 24, 24, 4]'
    assert result.stderr == ''


def test_the_classic_solution_passes_problem_unittests(capsys):
    tests.test_model_inputs(model_inputs)
    tests.test_discriminator(discriminator, tf)
    tests.test_generator(generator, tf)
    tests.test_model_loss(model_loss)
    tests.test_model_opt(model_opt, tf)
    assert capsys.readouterr().out.count('Tests Passed') == 5


@pytest.mark.parametrize('functions', [CLASSIC, 'notebook'], ids=['classic solution', 'notebook'])
def test_networks_pass_the_original_tests_scope_check(functions, nb):
    check_networks_the_original_way(nb if functions == 'notebook' else functions)


def test_the_scope_check_fails_a_network_whose_last_scope_is_not_its_own(nb):
    def discriminator_with_an_inner_scope(images, reuse=False):
        with tf.variable_scope('discriminator', reuse=reuse):
            with tf.variable_scope('head'):
                logits = tf.layers.dense(tf.layers.flatten(images), 1)
            return tf.sigmoid(logits), logits
    with pytest.raises(AssertionError):
        check_networks_the_original_way({'discriminator': discriminator_with_an_inner_scope,
                                         'generator': nb['generator']})


def test_the_classic_solution_trains_in_the_notebooks_train(nb, digits, tmp_path, monkeypatch, capsys):
    for name, function in CLASSIC.items():
        monkeypatch.setitem(nb, name, function)
    with tf.Graph().as_default():
        tf.set_random_seed(0)
        nb['train'](5, BATCH, 100, 0.0002, 0.5, digits.get_batches, digits.shape, digits.image_mode,
                    print_every=10, show_every=1000, run=helper.TrainingRun(str(tmp_path), max_batches=30))
        variables = {v.op.name for v in tf.global_variables()}
    out = capsys.readouterr().out
    assert 'Batch 30...' in out and 'Final output after 30 batches' in out
    assert np.load(tmp_path / 'losses.npy').shape == (30, 2)
    assert 'discriminator/conv2d/kernel' in variables and 'generator/batch_normalization/moving_mean' in variables
