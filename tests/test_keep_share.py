"""Keeping the draws the discriminator rates most real (keep_share; facegen/runs.draw): which draws it
keeps, that a run of the notebook's train() keeps them in its samples, and the error where a run
has no rating to keep them by. Real graphs; the notebook's network on 48 real digits."""
import numpy as np
import pytest
from support import RunWithoutRealness, tf

import helper
from facegen.runs import RATINGS, draw


def test_draw_keeps_the_best_rated_share_in_the_order_drawn():
    with tf.Graph().as_default(), tf.Session() as sess:
        input_z = tf.placeholder(tf.float32, [None, 3])
        samples = tf.tanh(input_z)
        realness = tf.reduce_sum(samples, axis=1, keepdims=True)  # a rating with no randomness: its order is known
        np.random.seed(7)
        kept = draw(sess, samples, input_z, 10, keep_share=0.25, realness=realness)
        np.random.seed(7)
        every = draw(sess, samples, input_z, 40)
    rating = every.sum(axis=1)
    best = np.sort(np.argsort(-rating)[:10])
    assert kept.shape == (10, 3)
    np.testing.assert_allclose(kept, every[best], rtol=1e-6)
    assert kept.sum(axis=1).min() >= np.sort(rating)[-10] - 1e-6


def test_a_run_that_keeps_half_its_draws_exports_ones_its_discriminator_rates_above_every_draw(nb, digits, tmp_path):
    ratings = {}

    class RatedRun(helper.TrainingRun):
        def export_samples(self):  # besides writing them: D's mean rating, in fresh passes, of them and of plain draws
            super().export_samples()
            kept = np.load(self.samples_path)['images'].astype(np.float32) / 127.5 - 1  # back to G's range
            with self.drawing():
                every = draw(self.sess, self.samples, self.input_z, len(kept))
            # both in each pass: the notebook's D shifts a whole batch at once, which moves every rating of a pass
            both = np.mean([self.sess.run(self.realness, {self.samples: np.concatenate([kept, every])})
                            for _ in range(RATINGS)], axis=0)
            ratings.update(kept=both[:len(kept)].mean(), every=both[len(kept):].mean())

    with tf.Graph().as_default():
        tf.set_random_seed(0)
        nb['train'](2, 8, 16, 0.0005, 0.5, digits.get_batches, digits.shape, digits.image_mode,
                    print_every=10 ** 9, show_every=10 ** 9,
                    run=RatedRun(str(tmp_path / 'run'), keep_share=0.5, samples_path=str(tmp_path / 'samples.npz')))
    assert np.load(tmp_path / 'samples.npz')['images'].shape == (2000, 28, 28, 1)
    assert ratings['kept'] > ratings['every'], ratings


def test_keep_share_without_the_discriminators_rating_is_a_clear_error(nb, digits):
    with pytest.raises(ValueError, match=r'keep_share = 0.5 needs the discriminator\'s logits .* leave keep_share at 1'):
        with tf.Graph().as_default():
            nb['train'](1, 8, 16, 0.0005, 0.5, digits.get_batches, digits.shape, digits.image_mode,
                        print_every=10 ** 9, show_every=10 ** 9, run=RunWithoutRealness(max_batches=1, keep_share=0.5))


@pytest.mark.parametrize('share', [0, 1.5])
def test_a_share_outside_0_to_1_is_refused(share):
    with pytest.raises(ValueError, match=f'keep_share = {share}: give a share above 0 and at most 1'):
        helper.TrainingRun(keep_share=share)


def test_a_run_without_the_rating_still_trains_and_draws_every_draw(nb, digits, tmp_path):
    with tf.Graph().as_default():
        tf.set_random_seed(0)
        nb['train'](1, 8, 16, 0.0005, 0.5, digits.get_batches, digits.shape, digits.image_mode,
                    print_every=10 ** 9, show_every=10 ** 9,
                    run=RunWithoutRealness(str(tmp_path / 'run'), samples_path=str(tmp_path / 'samples.npz')))
    assert np.load(tmp_path / 'samples.npz')['images'].shape == (2000, 28, 28, 1)
