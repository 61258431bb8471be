"""The generator's weight average (facegen/average.py): its rule, its place in checkpoints, resume,
drawing with it, and run.py sample. Real graphs of the notebook's network on 48 real digits."""
import subprocess
import sys

import numpy as np
import pytest
from support import BATCH, PER_EPOCH, ROOT, RUN_PY, checkpoint_values, restored, tf, train

import helper
from facegen import average


def test_the_rule_ramps_up_then_holds_its_half_life():
    assert average.decay(10 ** 7, average.HALF_LIFE_IMAGES) == pytest.approx(0.5), 'a half-life of images'
    # early on the half-life is 5% of the images seen: after 1,000 images, 50
    assert average.decay(1000, 50) == pytest.approx(0.5)
    assert average.decay(64, 64) < 1e-6, 'the first move all but copies the weights'


def weights_and_averages(values):
    names = [n for n in values if n.startswith('generator/') and not n.endswith(('Adam', 'Adam_1'))
             and not any(part in n for part in ('moving_', 'updates'))]
    return {n: (values[n], values[f'{average.AVERAGE_SCOPE}/{n}']) for n in names}


def test_checkpoints_keep_an_average_of_each_generator_weight(nb, digits, tmp_path):
    train(nb, digits, tmp_path, epochs=3)  # 18 batches of 8: the average moves at batches 8 and 16
    pairs = weights_and_averages(checkpoint_values(tmp_path))
    assert pairs, 'the generator has weights'
    for name, (weight, averaged) in pairs.items():
        assert weight.shape == averaged.shape, name
        assert not np.array_equal(weight, averaged), f'{name}: the average lags the weights'
        assert np.abs(averaged).sum() > 0, f'{name}: the average moved from its zeros'


def test_without_a_half_life_there_is_no_average(nb, digits, tmp_path):
    train(nb, digits, tmp_path, ema_half_life=0)
    assert not [n for n in checkpoint_values(tmp_path) if n.startswith(average.AVERAGE_SCOPE)]


def test_drawing_swaps_the_average_in_and_back_out(nb):
    with tf.Graph().as_default():
        z = tf.placeholder(tf.float32, [None, 16])
        nb['generator'](z, 1)
        kept = average.GeneratorAverage()
        with tf.Session() as sess:
            sess.run(tf.global_variables_initializer())
            kept.after_batch(sess, 8, 8)  # the first move: the average all but equals the weights
            sess.run([a.assign(a + 1) for a in kept.averages])
            weights, averages = sess.run(kept.weights), sess.run(kept.averages)
            with helper.averaged_generator(sess):
                inside = sess.run(kept.weights)
            after = sess.run(kept.weights)
    for w, a, i, o in zip(weights, averages, inside, after):
        np.testing.assert_array_equal(i, a)
        np.testing.assert_array_equal(o, w)


def test_a_resumed_run_goes_on_with_the_same_average(nb, digits, tmp_path):
    train(nb, digits, tmp_path, epochs=3, max_batches=10)
    saved = checkpoint_values(tmp_path)
    run, values = restored(nb, tmp_path, epochs=3)
    averaged = {var.op.name: values[var.op.name] for var in run.average.averages}
    assert averaged
    for name, value in averaged.items():
        np.testing.assert_array_equal(value, saved[name], err_msg=name)


def test_a_run_saved_without_an_average_resumes_with_one(nb, digits, tmp_path, capsys):
    train(nb, digits, tmp_path, max_batches=4, ema_half_life=0)
    train(nb, digits, tmp_path, epochs=3)
    assert 'holds no average' in capsys.readouterr().out
    values = checkpoint_values(tmp_path)
    assert values['global_step'] == 3 * PER_EPOCH
    assert weights_and_averages(values)


def test_run_py_sample_draws_with_the_average(nb, digits, tmp_path):
    train(nb, digits, tmp_path / 'run', epochs=3)
    subprocess.run([sys.executable, RUN_PY, 'sample', str(tmp_path / 'run'), '-n', '8', '--out', str(tmp_path / 'out')],
                   check=True, capture_output=True, cwd=ROOT)
    drawn = np.load(tmp_path / 'out' / 'samples.npz')['images']
    assert drawn.shape == (8, 28, 28, 1)

    # the same z through the saved graph with its own weights and with the averaged ones
    latest = str(tmp_path / 'run' / f'model.ckpt-{3 * PER_EPOCH}')
    with tf.Graph().as_default(), tf.Session() as sess:
        tf.train.import_meta_graph(latest + '.meta').restore(sess, latest)
        z_in, samples = tf.get_collection('input_z')[0], tf.get_collection('samples')[0]
        z = np.random.default_rng(0).uniform(-1, 1, (BATCH, int(z_in.shape[-1])))
        own = sess.run(samples, {z_in: z})
        assert average.use_saved_average(sess)
        averaged = sess.run(samples, {z_in: z})
    assert not np.allclose(own, averaged), 'the average draws other images than the last weights'
