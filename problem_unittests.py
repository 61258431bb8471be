"""Checks for the notebook's functions: tensor types and shapes, variable scopes and the
variables the optimizers train. Each test builds in a fresh graph and prints 'Tests Passed'."""
from unittest import mock

import numpy as np

from facegen.config import DISCRIMINATOR_SCOPE, GENERATOR_SCOPE, IMAGE_SIZE, size_keyword
from facegen.env import import_tensorflow

tf = import_tensorflow()


def test_safe(func):
    """Run a test in its own graph so that tests never see each other's variables."""
    def func_wrapper(*args, **kwargs):
        with tf.Graph().as_default():
            result = func(*args, **kwargs)
        print('Tests Passed')
        return result

    return func_wrapper


def _assert_is_tensor(tensor, display_name):
    assert tensor is not None, \
        '{} is None: the function still returns the TODO placeholder value.'.format(display_name)
    assert isinstance(tensor, (tf.Tensor, tf.Variable)), \
        '{} is not a tensor. Found {!r}'.format(display_name, tensor)


def _assert_tensor_shape(tensor, shape, display_name):
    _assert_is_tensor(tensor, display_name)
    assert tensor.shape.rank == len(shape), \
        '{} has wrong rank. Found shape {}, expected {}'.format(display_name, tensor.shape, shape)

    tensor_shape = tensor.shape.as_list()
    wrong_dimension = [ten_dim for ten_dim, cor_dim in zip(tensor_shape, shape)
                       if cor_dim is not None and ten_dim != cor_dim]
    assert not wrong_dimension, \
        '{} has wrong shape.  Found {}, expected {}'.format(display_name, tensor_shape, shape)


def _check_input(tensor, shape, display_name, unknown_shape_ok=False):
    _assert_is_tensor(tensor, display_name)
    assert tensor.op.type == 'Placeholder', \
        '{} is not a Placeholder. Found op type {}'.format(display_name, tensor.op.type)
    if not (unknown_shape_ok and tensor.shape.rank is None):
        _assert_tensor_shape(tensor, shape, display_name)


class TmpMock():
    """Replace module.attrib_name with a MagicMock that records its calls and still does the real
    work (wraps=), so a function under test builds a real graph. Restored on exit."""
    def __init__(self, module, attrib_name):
        self.original_attrib = getattr(module, attrib_name)
        setattr(module, attrib_name, mock.MagicMock(wraps=self.original_attrib))
        self.module = module
        self.attrib_name = attrib_name

    def __enter__(self):
        return getattr(self.module, self.attrib_name)

    def __exit__(self, type, value, traceback):
        setattr(self.module, self.attrib_name, self.original_attrib)


def _assert_scope_call(mock_variable_scope, name, reuse, display_name):
    assert mock_variable_scope.called, \
        'tf.variable_scope not called in {}'.format(display_name)
    expected = mock.call(name, reuse=reuse)
    assert expected in mock_variable_scope.call_args_list, \
        'tf.variable_scope called with wrong arguments in {}: expected {}, found {}'.format(
            display_name, expected, mock_variable_scope.call_args_list)


@test_safe
def test_model_inputs(model_inputs):
    image_width = IMAGE_SIZE
    image_height = IMAGE_SIZE
    image_channels = 3
    z_dim = 100
    inputs = model_inputs(image_width, image_height, image_channels, z_dim)
    assert isinstance(inputs, (tuple, list)) and len(inputs) == 3, \
        'model_inputs must return (input_real, input_z, learning_rate). Found {!r}'.format(inputs)
    input_real, input_z, learn_rate = inputs

    _check_input(input_real, [None, image_width, image_height, image_channels], 'Real Input')
    _check_input(input_z, [None, z_dim], 'Z Input')
    # fed a number, so its shape may be left out, as the original tests allowed
    _check_input(learn_rate, [], 'Learning Rate', unknown_shape_ok=True)


def _sizes(image_size):
    """The original's 28, always (MNIST trains at it), and the notebook's CelebA size when it differs."""
    return sorted({IMAGE_SIZE, image_size})


@test_safe
def test_discriminator(discriminator, tf_module, image_size=IMAGE_SIZE):
    for size in _sizes(image_size):
        with tf.Graph().as_default(), TmpMock(tf_module, 'variable_scope') as mock_variable_scope:
            image = tf.placeholder(tf.float32, [None, size, size, 3])

            output, logits = discriminator(image)
            _assert_tensor_shape(output, [None, 1], 'Discriminator Training(reuse=false) output')
            _assert_tensor_shape(logits, [None, 1], 'Discriminator Training(reuse=false) Logits')
            _assert_scope_call(mock_variable_scope, DISCRIMINATOR_SCOPE, False,
                               'Discriminator Training(reuse=false)')

            mock_variable_scope.reset_mock()

            output_reuse, logits_reuse = discriminator(image, True)
            _assert_tensor_shape(output_reuse, [None, 1], 'Discriminator Inference(reuse=True) output')
            _assert_tensor_shape(logits_reuse, [None, 1], 'Discriminator Inference(reuse=True) Logits')
            _assert_scope_call(mock_variable_scope, DISCRIMINATOR_SCOPE, True,
                               'Discriminator Inference(reuse=True)')


@test_safe
def test_generator(generator, tf_module, image_size=IMAGE_SIZE):
    for size in _sizes(image_size):
        with tf.Graph().as_default(), TmpMock(tf_module, 'variable_scope') as mock_variable_scope:
            z = tf.placeholder(tf.float32, [None, 100])
            out_channel_dim = 5

            output = generator(z, out_channel_dim, **size_keyword(size))
            _assert_tensor_shape(output, [None, size, size, out_channel_dim], 'Generator output (is_train=True)')
            _assert_scope_call(mock_variable_scope, GENERATOR_SCOPE, False, 'Generator Training(reuse=false)')

            mock_variable_scope.reset_mock()
            output = generator(z, out_channel_dim, False, **size_keyword(size))
            _assert_tensor_shape(output, [None, size, size, out_channel_dim], 'Generator output (is_train=False)')
            _assert_scope_call(mock_variable_scope, GENERATOR_SCOPE, True, 'Generator Inference(reuse=True)')


@test_safe
def test_model_loss(model_loss, image_size=IMAGE_SIZE):
    for size in _sizes(image_size):
        with tf.Graph().as_default():
            out_channel_dim = 4
            input_real = tf.placeholder(tf.float32, [None, size, size, out_channel_dim])
            input_z = tf.placeholder(tf.float32, [None, 100])

            d_loss, g_loss = model_loss(input_real, input_z, out_channel_dim)

            _assert_tensor_shape(d_loss, [], 'Discriminator Loss')
            _assert_tensor_shape(g_loss, [], 'Generator Loss')


@test_safe
def test_model_opt(model_opt, tf_module):
    with TmpMock(tf_module, 'trainable_variables') as mock_trainable_variables:
        with tf.variable_scope(DISCRIMINATOR_SCOPE):
            discriminator_logits = tf.Variable(tf.zeros([3, 3]))
        with tf.variable_scope(GENERATOR_SCOPE):
            generator_logits = tf.Variable(tf.zeros([3, 3]))

        mock_trainable_variables.return_value = [discriminator_logits, generator_logits]
        labels = [[0.0, 0.0, 1.0], [0.0, 1.0, 0.0], [1.0, 0.0, 0.0]]
        # each loss depends on both networks, as in a GAN: only var_list keeps an optimizer to its own
        d_loss = tf.reduce_mean(tf.nn.sigmoid_cross_entropy_with_logits(
            logits=discriminator_logits + generator_logits, labels=labels))
        g_loss = tf.reduce_mean(tf.nn.sigmoid_cross_entropy_with_logits(
            logits=generator_logits - discriminator_logits, labels=labels))

        learning_rate = 0.001
        beta1 = 0.9
        d_train_opt, g_train_opt = model_opt(d_loss, g_loss, learning_rate, beta1)
        assert mock_trainable_variables.called,\
            'tf.trainable_variables not called'
        for opt, name in ((d_train_opt, 'Discriminator'), (g_train_opt, 'Generator')):
            assert isinstance(opt, (tf.Operation, tf.Tensor)), \
                '{} training operation is not a TensorFlow operation. Found {!r}'.format(name, opt)
        _assert_each_trains_its_own(((d_train_opt, discriminator_logits, 'Discriminator'),
                                     (g_train_opt, generator_logits, 'Generator')))


def _assert_each_trains_its_own(optimizers):
    """Run each training operation once: it must change its own network's variable and leave the
    other network's alone (an optimizer given no var_list trains every variable)."""
    variables = [variable for _, variable, _ in optimizers]
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        for opt, own, name in optimizers:
            before = sess.run(variables)
            sess.run(opt)
            after = sess.run(variables)
            for variable, old, new in zip(variables, before, after):
                if variable is own:
                    assert not np.array_equal(old, new), \
                        '{} training operation does not train the variables in its own scope'.format(name)
                else:
                    assert np.array_equal(old, new), \
                        '{} training operation also changes {}: give its optimizer only its own network\'s ' \
                        'variables (var_list)'.format(name, variable.op.name)
