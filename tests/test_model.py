"""What the notebook's model does beyond the shapes and scopes problem_unittests checks: the
discriminator's random shift, the learning-rate schedule train() follows, and the transposed
convolution its deconv layer calls."""
import numpy as np
import pytest
from support import checkpoint_values, tf, train

from facegen import ops


def test_random_shift_moves_the_whole_batch_by_at_most_two_pixels(nb):
    images = np.random.default_rng(0).uniform(-1, 1, (3, 28, 28, 2)).astype(np.float32)
    with tf.Graph().as_default(), tf.Session() as sess:
        shifted = nb['random_shift'](tf.constant(images), pixels=2)
        assert shifted.shape.as_list()[1:] == [28, 28, 2], 'the static shape the next layer needs'
        padded = np.pad(images, [(0, 0), (2, 2), (2, 2), (0, 0)])
        offsets = set()
        for _ in range(60):
            out = sess.run(shifted)
            found = [(dy, dx) for dy in range(5) for dx in range(5)
                     if np.array_equal(out, padded[:, dy:dy + 28, dx:dx + 28])]
            assert len(found) == 1, 'every image is one window of the zero-padded batch, the same for all'
            offsets |= set(found)
    assert len(offsets) > 10, 'a new move on every call'


def test_the_discriminator_sees_shifted_images(nb):
    images = np.random.default_rng(1).uniform(-1, 1, (4, 28, 28, 1)).astype(np.float32)
    with tf.Graph().as_default(), tf.Session() as sess:
        _, logits = nb['discriminator'](tf.constant(images))
        sess.run(tf.global_variables_initializer())
        runs = [sess.run(logits) for _ in range(10)]
    assert any(not np.allclose(runs[0], other) for other in runs[1:])


def test_learning_rate_is_constant_then_falls_linearly_to_zero(nb):
    rate, constant = nb['scheduled_learning_rate'], nb['CONSTANT_RATE_BATCHES']
    total = constant + 1000
    assert rate(0.001, 0, total) == rate(0.001, constant - 1, total) == 0.001
    assert rate(0.001, constant + 500, total) == pytest.approx(0.0005)
    assert rate(0.001, total, total) == 0.0
    assert rate(0.001, 2 * total, total) == 0.0, 'never negative'
    # the offline stand-ins' short runs keep the rate they were given
    assert all(rate(0.001, done, constant) == 0.001 for done in range(constant))


def test_train_feeds_the_scheduled_rate_to_both_optimizers(nb, digits, tmp_path, monkeypatch):
    calls = []

    def stop_after_batch_8(learning_rate, done, total):
        calls.append((learning_rate, done, total))
        return learning_rate if done < 8 else 0.0

    monkeypatch.setitem(nb, 'scheduled_learning_rate', stop_after_batch_8)
    train(nb, digits, tmp_path)  # 12 batches, a checkpoint every 4

    assert calls == [(0.0005, done, 12) for done in range(12)]
    saved = {step: weights(tmp_path / f'model.ckpt-{step}') for step in (4, 8, 12)}
    for name in saved[8]:
        assert not np.array_equal(saved[4][name], saved[8][name]), name + ' trained while the rate was 0.0005'
        assert np.array_equal(saved[8][name], saved[12][name]), name + ' moved at rate 0'


def weights(checkpoint):
    return {name: value for name, value in checkpoint_values(checkpoint).items()
            if name.startswith(('generator/', 'discriminator/')) and 'Adam' not in name
            and not name.rsplit('/', 1)[1].startswith(('moving_', 'updates'))}


@pytest.mark.parametrize('kernel, stride, size', [(5, 2, 7), (4, 2, 7), (5, 1, 28)])
@pytest.mark.parametrize('static_batch', [True, False])
def test_conv2d_transpose_computes_tensorflows_sums_and_gradients(kernel, stride, size, static_batch):
    channels, fast_from = ops.DILATED_GRADIENT_MIN_CHANNELS, ops.DILATED_GRADIENT_MIN_BATCH
    rng = np.random.default_rng(kernel * stride)
    w = rng.standard_normal((kernel, kernel, channels, 6)).astype(np.float32)
    # below the batch where the dilated gradient starts (TensorFlow's own, chosen as the step runs
    # when the batch is not known before) and at it
    for batch in (fast_from - 12, fast_from):
        x = rng.standard_normal((batch, size, size, 6)).astype(np.float32)
        with tf.Graph().as_default() as graph, tf.Session() as sess:
            inputs = tf.placeholder(tf.float32, x.shape if static_batch else (None,) + x.shape[1:])
            results = []
            for transposed_conv in (ops.tensorflow_conv2d_transpose, ops.conv2d_transpose):
                wt = tf.constant(w)
                y = transposed_conv(inputs, wt, stride)
                results.append(sess.run([y] + tf.gradients(tf.reduce_sum(y * y), [inputs, wt]), {inputs: x}))
            own = [op for op in graph.get_operations() if op.type == 'Conv2DBackpropFilter']
        assert len(own) == (2 if static_batch and batch < fast_from else 1), 'ours builds TensorFlow\'s only when it runs it'
        assert y.shape[1:] == (size * stride, size * stride, channels)
        for expected, ours in zip(*results):
            np.testing.assert_allclose(ours, expected, rtol=1e-4, atol=1e-4 * np.abs(expected).max())


def test_conv2d_transpose_keeps_tensorflows_gradient_for_few_channels():
    with tf.Graph().as_default() as graph:
        x = tf.placeholder(tf.float32, (None, 14, 14, 64))
        w = tf.zeros((4, 4, 3, 64))
        y = ops.conv2d_transpose(x, w, 2)  # a colour generator's last layer
        tf.gradients(tf.reduce_sum(y), [x, w])
    assert not [op for op in graph.get_operations() if f'/{ops.FILTER_GRADIENT_SCOPE}/' in op.name]
