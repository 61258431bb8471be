"""Faces at 64 x 64 as well as 28 x 28 (issue 26): the size is one setting of a run, and each part
that sees images follows it. Real data (the bundled LFW faces, framed as CelebA), the notebook's own
networks, real checkpoints."""
import os
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image
from support import ROOT, RUN_PY, tf

import helper
import problem_unittests as tests
from facegen import score, sweep
from facegen.config import CELEBA, size_keyword
from facegen.dataset import cache_prefix
from facegen.offline import write_bundled
from facegen.runs import LOCK_FILE, ImageSizeMismatch


@pytest.fixture(scope='module')
def face_dir(tmp_path_factory):
    folder = tmp_path_factory.mktemp('data')
    write_bundled(CELEBA, str(folder))
    return str(folder)


def caches(folder):
    return sorted(name for name in os.listdir(folder) if '-cache-' in name)


def test_faces_decode_at_each_size_into_caches_side_by_side(face_dir):
    small = helper.Dataset('celeba', data_dir=face_dir)
    large = helper.Dataset('celeba', data_dir=face_dir, image_size=64)
    assert small.shape == (100, 28, 28, 3) and large.shape == (100, 64, 64, 3)
    assert [name[:len(cache_prefix('celeba', 28))] for name in caches(face_dir)] == [
        cache_prefix('celeba', 28), cache_prefix('celeba', 64)]
    again = helper.Dataset('celeba', data_dir=face_dir, image_size=64)  # from its cache, the other kept
    assert np.array_equal(again.images, large.images) and len(caches(face_dir)) == 2
    # the same 108-pixel centre square, resized: the 64 faces shrunk to 28 look like the 28 ones
    shrunk = np.array([np.array(Image.fromarray(face).resize((28, 28), Image.BILINEAR)) for face in large.images[:10]])
    assert np.abs(shrunk.astype(int) - small.images[:10]).mean() < 6
    assert np.abs(shrunk.astype(int) - small.images[10:20]).mean() > 20, 'other faces differ more'


def test_a_size_a_dataset_does_not_take_is_refused_by_name(face_dir):
    with pytest.raises(ValueError, match='celeba images can be trained at 28 or 64 pixels a side, not 32'):
        helper.Dataset('celeba', data_dir=face_dir, image_size=32)
    with pytest.raises(ValueError, match='mnist images can be trained at 28 pixels a side, not 64'):
        helper.Dataset('mnist', data_dir=face_dir, image_size=64)


@pytest.mark.parametrize('image_size', [28, 64])
def test_the_notebooks_networks_follow_the_size(nb, image_size):
    tests.test_discriminator(nb['discriminator'], nb['tf'], image_size)
    tests.test_generator(nb['generator'], nb['tf'], image_size)
    tests.test_model_loss(nb['model_loss'], image_size)
    with tf.Graph().as_default():
        z = tf.placeholder(tf.float32, [None, 100])
        nb['generator'](z, 3, **size_keyword(image_size))
        nb['discriminator'](tf.placeholder(tf.float32, [None, image_size, image_size, 3]))
        shapes = {v.op.name: v.shape.as_list() for v in tf.global_variables()}
    if image_size == 28:  # D down to 4x4 in three, as the classic solution's; G 7x7x256, 14x14x128 twice (3x3), 28x28
        assert shapes['generator/project/w'] == [100, 7 * 7 * 256] and shapes['generator/deconv2/w'][2:] == [3, 128]
        assert shapes['generator/conv2/w'] == [3, 3, 128, 128] and 'generator/bn2/gamma' in shapes
        assert shapes['discriminator/conv3/w'] == [4, 4, 128, 256] and shapes['discriminator/logits/w'] == [4 * 4 * 256, 1]
    else:  # the DCGAN paper's: 4x4x512 up to 64x64 in four steps; D down to 4x4x512 in four
        assert shapes['generator/project/w'] == [100, 4 * 4 * 512] and shapes['generator/deconv4/w'][2:] == [3, 64]
        assert shapes['discriminator/conv4/w'] == [4, 4, 256, 512] and shapes['discriminator/logits/w'] == [4 * 4 * 512, 1]


def test_the_unit_tests_still_take_a_28_only_solution(nb):
    def generator_of_28_only(z, out_channel_dim, is_train=True):
        return nb['generator'](z, out_channel_dim, is_train)
    tests.test_generator(generator_of_28_only, nb['tf'])
    with pytest.raises(TypeError, match='image_size'):
        tests.test_generator(generator_of_28_only, nb['tf'], 64)


def train(nb, dataset, folder, batches):
    with tf.Graph().as_default():
        nb['train'](1, 10, 100, 0.0005, 0.5, dataset.get_batches, dataset.shape, dataset.image_mode,
                    print_every=10 ** 9, show_every=10 ** 9,
                    run=helper.TrainingRun(folder, max_batches=batches, samples_path=os.path.join(folder, 'samples.npz')))


def folder_state(folder):
    # the lock file is written by every training that opens the folder, refused or not, and emptied after
    return {name: os.stat(os.path.join(folder, name)).st_mtime_ns for name in os.listdir(folder) if name != LOCK_FILE}


def test_a_run_folder_of_one_size_is_never_resumed_at_another(nb, face_dir, tmp_path):
    small = helper.Dataset('celeba', data_dir=face_dir)
    large = helper.Dataset('celeba', data_dir=face_dir, image_size=64)
    folder = str(tmp_path / 'run')
    train(nb, small, folder, 2)
    assert np.load(os.path.join(folder, 'samples.npz'))['images'].shape[1:] == (28, 28, 3)
    before = folder_state(folder)
    with pytest.raises(ImageSizeMismatch, match=r'holds a run on 28 x 28 x 3 images .* draws 64 x 64 x 3 images'):
        train(nb, large, folder, 4)
    assert folder_state(folder) == before, 'nothing in the folder was written or removed'
    train(nb, small, folder, 4)  # the same size resumes
    assert sorted(name for name in os.listdir(folder) if name.endswith('.index'))[-1] == 'model.ckpt-4.index'

    other = str(tmp_path / 'run64')
    train(nb, large, other, 2)
    assert np.load(os.path.join(other, 'samples.npz'))['images'].shape[1:] == (64, 64, 3)
    with pytest.raises(ImageSizeMismatch, match='holds a run on 64 x 64 x 3 images'):
        train(nb, small, other, 4)
    # run.py sample reads the size from the checkpoint's meta graph alone
    drawn = subprocess.run([sys.executable, RUN_PY, 'sample', other, '-n', '9', '--out', str(tmp_path / 'drawn')],
                           capture_output=True, text=True, cwd=ROOT)
    assert drawn.returncode == 0, drawn.stderr[-2000:]
    assert np.load(tmp_path / 'drawn' / 'samples.npz')['images'].shape == (9, 64, 64, 3)
    assert Image.open(tmp_path / 'drawn' / 'samples.png').size == (3 * 64, 3 * 64)


def test_faces_score_at_64_against_real_faces_at_64(face_dir):
    with score.Scorer('celeba', face_dir, fid=False, image_size=64) as scorer:
        assert scorer.network.reference_images.shape[1:] == (64, 64, 3)
        real = scorer(scorer.network.held_out)
        assert real['quality'] > 0.95 and real['faceness'] > 0.9
        noise = scorer(np.random.default_rng(0).integers(0, 256, (100, 64, 64, 3), dtype=np.uint8))
        assert noise['quality'] < 0.05 and noise['faceness'] < 0.05
        assert scorer.references['mean image']['quality'] <= 0.05
        with pytest.raises(ValueError, match='uint8 N x 64 x 64 x 3'):
            scorer(np.zeros((100, 28, 28, 3), np.uint8))
    assert score.score_samples(scorer.network.held_out, 'celeba', face_dir, fid=False)['quality'] > 0.95


def test_a_sweep_takes_image_size_and_checks_it_against_its_datasets(face_dir, tmp_path):
    spec = tmp_path / 'sizes.toml'
    spec.write_text('datasets = ["celeba"]\nbudget_batches = 3\nprune = false\nreports = 0\n'
                    '[grid]\nimage_size = [28, 64]\n')
    done = subprocess.run([sys.executable, RUN_PY, 'sweep', str(spec), '--data', face_dir, '--runs', str(tmp_path / 'runs')],
                          capture_output=True, text=True, cwd=ROOT)
    assert done.returncode == 0, done.stderr[-3000:]
    folder = tmp_path / 'runs' / 'sweeps' / 'sizes'
    for point, size in ((0, 28), (1, 64)):
        samples = np.load(folder / f'point-{point:03d}' / 'celeba' / 'samples.npz')['images']
        assert samples.shape[1:] == (size, size, 3)
        assert Image.open(folder / f'point-{point:03d}' / 'celeba' / 'samples.png').size == (4 * size, 4 * size)

    digits = tmp_path / 'digits.toml'
    digits.write_text('datasets = ["mnist", "celeba"]\nbudget_batches = 3\n[fixed]\nimage_size = 64\n[grid]\nbeta1 = [0.5]\n')
    with pytest.raises(sweep.SpecError, match='image_size = 64: mnist images can be trained at 28 pixels a side, not 64'):
        sweep.read_spec(str(digits))
    search = tmp_path / 'search.toml'
    search.write_text('datasets = ["celeba"]\nbudget_batches = 3\ntrials = 2\n[search]\nimage_size = {low = 28, high = 64}\n')
    with pytest.raises(sweep.SpecError, match='image_size: .* takes a list of choices'):
        sweep.read_spec(str(search))
