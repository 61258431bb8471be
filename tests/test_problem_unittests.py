"""problem_unittests.py passes the notebook's own functions and fails the original TODO stubs and
the mistakes learners typically make."""
import pytest
from support import tf

import problem_unittests as tests

# ------------------------------------------------------------------ the notebook's functions pass

def test_model_inputs_passes(nb):
    tests.test_model_inputs(nb['model_inputs'])


def test_discriminator_passes(nb):
    tests.test_discriminator(nb['discriminator'], tf)


def test_generator_passes(nb):
    tests.test_generator(nb['generator'], tf)


def test_model_loss_passes(nb):
    tests.test_model_loss(nb['model_loss'])


def test_model_opt_passes(nb):
    tests.test_model_opt(nb['model_opt'], tf)


def test_mock_is_removed_after_a_test(nb):
    original = tf.variable_scope
    tests.test_discriminator(nb['discriminator'], tf)
    assert tf.variable_scope is original


# ------------------------------------------------------------------ the original TODO stubs fail

def stub_model_inputs(image_width, image_height, image_channels, z_dim):
    return None, None, None


def stub_discriminator(images, reuse=False):
    return None, None


def stub_generator(z, out_channel_dim, is_train=True):
    return None


def stub_model_loss(input_real, input_z, out_channel_dim):
    return None, None


def stub_model_opt(d_loss, g_loss, learning_rate, beta1):
    return None, None


@pytest.mark.parametrize('check, stub', [
    (lambda: tests.test_model_inputs(stub_model_inputs), 'model_inputs'),
    (lambda: tests.test_discriminator(stub_discriminator, tf), 'discriminator'),
    (lambda: tests.test_generator(stub_generator, tf), 'generator'),
    (lambda: tests.test_model_loss(stub_model_loss), 'model_loss'),
    (lambda: tests.test_model_opt(stub_model_opt, tf), 'model_opt'),
])
def test_todo_stub_fails(check, stub, capsys):
    with pytest.raises(AssertionError):
        check()
    assert 'Tests Passed' not in capsys.readouterr().out


def test_stub_failure_message_says_what_is_wrong():
    with pytest.raises(AssertionError, match='TODO'):
        tests.test_model_inputs(stub_model_inputs)


# ------------------------------------------------------------------ typical mistakes fail

def test_learning_rate_that_is_not_a_placeholder_fails(nb):
    def model_inputs(image_width, image_height, image_channels, z_dim):
        real, z, _ = nb['model_inputs'](image_width, image_height, image_channels, z_dim)
        return real, z, tf.constant(0.001)
    with pytest.raises(AssertionError, match='Placeholder'):
        tests.test_model_inputs(model_inputs)


def test_learning_rate_placeholder_without_a_shape_passes(nb, capsys):
    """The original tests accepted tf.placeholder(tf.float32, name='learning_rate'): it is fed a number."""
    def model_inputs(image_width, image_height, image_channels, z_dim):
        real, z, _ = nb['model_inputs'](image_width, image_height, image_channels, z_dim)
        return real, z, tf.placeholder(tf.float32, name='learning_rate')
    tests.test_model_inputs(model_inputs)
    assert 'Tests Passed' in capsys.readouterr().out


def test_learning_rate_placeholder_of_rank_one_fails(nb):
    def model_inputs(image_width, image_height, image_channels, z_dim):
        real, z, _ = nb['model_inputs'](image_width, image_height, image_channels, z_dim)
        return real, z, tf.placeholder(tf.float32, [1], name='learning_rate')
    with pytest.raises(AssertionError, match='Learning Rate has wrong rank'):
        tests.test_model_inputs(model_inputs)


def test_images_placeholder_of_wrong_rank_fails():
    def model_inputs(image_width, image_height, image_channels, z_dim):
        return (tf.placeholder(tf.float32, (None, image_width * image_height * image_channels)),
                tf.placeholder(tf.float32, (None, z_dim)), tf.placeholder(tf.float32, ()))
    with pytest.raises(AssertionError, match='rank'):
        tests.test_model_inputs(model_inputs)


def discriminator_with_scope(nb, scope_args):
    """The notebook's discriminator body under a different variable_scope call."""
    def discriminator(images, reuse=False):
        with tf.variable_scope(*scope_args(reuse)[0], **scope_args(reuse)[1]):
            h1 = nb['lrelu'](nb['conv'](images, 8, 'conv1'))
            logits = nb['dense'](tf.reshape(h1, [-1, 14 * 14 * 8]), 1, 'logits')
            return tf.sigmoid(logits), logits
    return discriminator


def test_discriminator_body_used_for_mistakes_passes_when_right(nb):
    tests.test_discriminator(discriminator_with_scope(nb, lambda r: (('discriminator',), {'reuse': r})), tf)


def test_discriminator_with_wrong_scope_name_fails(nb):
    wrong = discriminator_with_scope(nb, lambda r: (('Discriminator',), {'reuse': r}))
    with pytest.raises(AssertionError, match='wrong arguments'):
        tests.test_discriminator(wrong, tf)


def test_discriminator_that_does_not_pass_reuse_fails(nb):
    wrong = discriminator_with_scope(nb, lambda r: (('discriminator',), {}))
    with pytest.raises(AssertionError, match='wrong arguments'):
        tests.test_discriminator(wrong, tf)


def test_discriminator_without_variable_scope_fails(nb):
    def discriminator(images, reuse=False):
        flat = tf.reshape(images, [-1, 28 * 28 * 3])
        logits = tf.reduce_sum(flat, axis=1, keepdims=True)
        return tf.sigmoid(logits), logits
    with pytest.raises(AssertionError, match='not called'):
        tests.test_discriminator(discriminator, tf)


def test_generator_that_reuses_while_training_fails(nb):
    def generator(z, out_channel_dim, is_train=True):
        with tf.variable_scope('generator', reuse=is_train):  # inverted
            return tf.tanh(nb['deconv'](tf.reshape(nb['dense'](z, 14 * 14 * 4, 'project'), [-1, 14, 14, 4]),
                                        out_channel_dim, 'deconv'))
    with pytest.raises((AssertionError, ValueError)):
        tests.test_generator(generator, tf)


def test_generator_with_fixed_channel_count_fails(nb):
    def generator(z, out_channel_dim, is_train=True):
        return nb['generator'](z, 3, is_train)
    with pytest.raises(AssertionError, match='shape'):
        tests.test_generator(generator, tf)


def test_non_scalar_loss_fails(nb):
    def model_loss(input_real, input_z, out_channel_dim):
        g_model = nb['generator'](input_z, out_channel_dim)
        _, d_logits_real = nb['discriminator'](input_real)
        _, d_logits_fake = nb['discriminator'](g_model, reuse=True)
        d_loss = tf.nn.sigmoid_cross_entropy_with_logits(logits=d_logits_real, labels=tf.ones_like(d_logits_real))
        g_loss = tf.nn.sigmoid_cross_entropy_with_logits(logits=d_logits_fake, labels=tf.ones_like(d_logits_fake))
        return d_loss, g_loss  # no reduce_mean
    with pytest.raises(AssertionError, match='Loss has wrong rank'):
        tests.test_model_loss(model_loss)


def test_non_scalar_generator_loss_alone_fails(nb):
    """The original checked d_loss twice and never g_loss."""
    def model_loss(input_real, input_z, out_channel_dim):
        d_loss, g_loss = nb['model_loss'](input_real, input_z, out_channel_dim)
        return d_loss, tf.stack([g_loss, g_loss])
    with pytest.raises(AssertionError, match='Generator Loss'):
        tests.test_model_loss(model_loss)


def one_adam_per_network(variables, swapped=False):
    """A model_opt with an Adam for each network over the variables that tf.<variables>() lists,
    looked up when it runs, as the test's mock is (swapped: each optimizer given the other's)."""
    def model_opt(d_loss, g_loss, learning_rate, beta1):
        all_vars = getattr(tf, variables)()
        d_vars = [v for v in all_vars if v.name.startswith('discriminator/')]
        g_vars = [v for v in all_vars if v.name.startswith('generator/')]
        if swapped:
            d_vars, g_vars = g_vars, d_vars
        return (tf.train.AdamOptimizer(learning_rate, beta1).minimize(d_loss, var_list=d_vars),
                tf.train.AdamOptimizer(learning_rate, beta1).minimize(g_loss, var_list=g_vars))
    return model_opt


@pytest.mark.parametrize('variables, swapped, message', [
    ('global_variables', False, 'trainable_variables not called'),
    ('trainable_variables', True, 'does not train the variables in its own scope'),
], ids=['global_variables instead of trainable_variables', 'variable lists swapped'])
def test_model_opt_mistakes_fail(variables, swapped, message):
    with pytest.raises(AssertionError, match=message):
        tests.test_model_opt(one_adam_per_network(variables, swapped), tf)


def test_the_mistakes_model_opt_passes_when_right(capsys):
    tests.test_model_opt(one_adam_per_network('trainable_variables'), tf)
    assert 'Tests Passed' in capsys.readouterr().out


def test_model_opt_whose_optimizers_train_every_variable_fails():
    def model_opt(d_loss, g_loss, learning_rate, beta1):
        tf.trainable_variables()
        return (tf.train.AdamOptimizer(learning_rate, beta1).minimize(d_loss),
                tf.train.AdamOptimizer(learning_rate, beta1).minimize(g_loss))
    with pytest.raises(AssertionError, match='Discriminator training operation also changes generator/'):
        tests.test_model_opt(model_opt, tf)
