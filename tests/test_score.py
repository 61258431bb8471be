"""The quality score tells real images from noise, from a collapsed generator and from a half-trained one.

Real networks on real images: the digit classifier trained on the bundled digits, MTCNN's O-Net with
the weights in its wheel, the bundled LFW faces as the face dataset, the notebook's own train()."""
import os
import subprocess
import sys

import numpy as np
import pytest
from support import ROOT, RUN_PY, tf

import helper
from facegen import score
from facegen.config import CELEBA, MNIST
from facegen.offline import write_bundled

NOISE = np.random.default_rng(1)


@pytest.fixture(scope='module')
def data_dir(tmp_path_factory):
    """The offline stand-ins: 5,000 bundled digits, 100 bundled faces."""
    folder = tmp_path_factory.mktemp('data')
    for spec in (MNIST, CELEBA):
        write_bundled(spec, str(folder))
    return str(folder)


@pytest.fixture(scope='module')
def digit_scorer(data_dir):
    with score.Scorer('mnist', data_dir) as scorer:
        yield scorer


@pytest.fixture(scope='module')
def face_scorer(data_dir):
    with score.Scorer('celeba', data_dir) as scorer:
        yield scorer


def repeated(images, distinct=20, times=100):
    return np.concatenate([images[:distinct]] * times)


def test_the_frechet_distance_is_fids_formula_with_scipys_matrix_root():
    """The eigenvalue shortcut against the formula as FID's code writes it, on features as singular as
    a few samples of Inception's 2,048 make them (fewer images than features)."""
    from scipy import linalg
    rng = np.random.default_rng(0)
    mixing = rng.normal(size=(300, 300)) / np.sqrt(300)
    for images in (1000, 40):
        a = np.maximum(rng.normal(size=(images, 300)) @ mixing, 0)
        b = np.maximum(rng.normal(size=(images, 300)) @ mixing + 0.1, 0)
        cov_a, cov_b = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
        formula = ((a.mean(0) - b.mean(0)) ** 2).sum() + np.trace(cov_a + cov_b - 2 * np.real(linalg.sqrtm(cov_a @ cov_b)))
        assert score.frechet_distance(a, b) == pytest.approx(formula, rel=1e-6)
    assert score.frechet_distance(a, a) == pytest.approx(0, abs=1e-6)


def test_real_digits_score_near_the_top(digit_scorer):
    real = digit_scorer.network.held_out[..., None]  # as train() writes them: N x 28 x 28 x 1
    result = digit_scorer(real)
    assert result['quality'] > 0.95
    assert result['recognizable'] > 0.8 and result['classes'] > 0.95 and result['coverage'] > 0.9


def test_noise_and_a_mean_digit_score_badly(digit_scorer):
    real = digit_scorer.references['real']
    noise = digit_scorer(NOISE.integers(0, 256, (1000, 28, 28), dtype=np.uint8))
    assert noise['quality'] < 0.05 and noise['coverage'] < 0.05 and noise['fd'] > 100 * real['fd']
    assert noise['recognizable'] <= 0.05, 'the classifier alone is sure of a third of noise: it must lie among digits too'
    gaussian = digit_scorer(np.clip(NOISE.normal(128, 60, (1000, 28, 28)), 0, 255).astype(np.uint8))
    assert gaussian['recognizable'] <= 0.05
    mean = digit_scorer.references['mean image']
    assert mean['classes'] == 0, 'one digit, always the same class'
    assert mean['coverage'] < 0.05 and mean['quality'] < 0.05


def test_twenty_digits_repeated_score_low_on_coverage(digit_scorer):
    real = digit_scorer.network.held_out
    collapsed = digit_scorer(repeated(real))
    assert collapsed['coverage'] < 0.2 < 0.9 < digit_scorer.references['real']['coverage']
    assert collapsed['distinct'] == 0 < 0.9 < digit_scorer.references['real']['distinct']
    assert collapsed['recognizable'] > 0.8, 'each one is a real digit ...'
    assert collapsed['quality'] <= 0.2, '... but a generator that draws only these has collapsed'

def test_more_samples_are_scored_as_the_mean_of_their_draws(digit_scorer):
    """A figure on 1,000 samples moves from draw to draw; on 2,000 it is the mean of the two draws'
    (each on 1,000, as the references are), and a remainder short of a draw is left out."""
    real = digit_scorer.network.held_out
    blurred = ((real.astype(np.int32) + np.roll(real, 1, axis=2)) // 2).astype(np.uint8)  # a worse draw
    first, second = digit_scorer(real), digit_scorer(blurred)
    both = digit_scorer(np.concatenate([real, blurred, NOISE.integers(0, 256, (300, 28, 28), dtype=np.uint8)]))
    assert first['fd'] < second['fd'] and both.count == 2000 and both.draws == 2
    for figure, value in both.items():
        assert value == pytest.approx((first[figure] + second[figure]) / 2), figure
    assert 'each figure the mean of 2 draws of 1,000' in both.table()
    few = digit_scorer(real[:500])
    assert few.count == 500 and few.draws == 1 and 'draws' not in few.table()



def collapsed_sets(scorer):
    """What a collapsed generator draws: the mean image, single real images (held out and among the
    references), 20 real images; each repeated to 2,000 samples."""
    held_out, references = scorer.network.held_out, scorer.network.reference_images
    mean = np.round(held_out.mean(0, keepdims=True)).astype(np.uint8)
    sets = {'mean image': mean, 'one held-out image': held_out[3:4], 'one reference image': references[:1],
            '20 held-out images': held_out[:20], '20 reference images': references[20:40]}
    return {name: repeated(images, len(images), 2000 // len(images)) for name, images in sets.items()}


def check_collapse_scores_low(scorer):
    assert scorer.references['real']['quality'] > 0.95
    assert scorer.references['noise']['quality'] == 0
    for name, samples in collapsed_sets(scorer).items():
        limit = 0.2 if name.startswith('20') else 0.05
        assert scorer(samples)['quality'] <= limit, name


def test_a_collapsed_generator_scores_near_zero_on_digits(digit_scorer):
    check_collapse_scores_low(digit_scorer)


def test_a_collapsed_generator_scores_near_zero_on_the_offline_faces(face_scorer):
    """100 faces, so only 50 real references: coverage alone gives 20 of them repeated 0.7 of real's."""
    assert len(face_scorer.network.reference_images) == 50
    check_collapse_scores_low(face_scorer)


def test_a_collapsed_generator_scores_near_zero_on_real_celeba(tmp_path):
    """On the 4,000 real CelebA images of ../shared, where they are (CI and the developers' machines)."""
    sample = os.path.join(ROOT, os.pardir, 'shared', 'data', 'celeba_sample')
    if not os.path.isdir(sample):
        pytest.skip(f'no real CelebA images at {sample}')
    os.symlink(os.path.abspath(sample), tmp_path / 'img_align_celeba')
    with score.Scorer('celeba', str(tmp_path), fid=False) as scorer:
        assert len(scorer.network.reference_images) == 1000
        check_collapse_scores_low(scorer)


def test_a_half_trained_generator_scores_between_noise_and_real(nb, digit_scorer, data_dir, tmp_path):
    samples = tmp_path / 'mnist.npz'
    dataset = helper.Dataset('mnist', data_dir=data_dir)
    with tf.Graph().as_default():
        nb['train'](100, 16, 100, 0.0005, 0.5, dataset.get_batches, dataset.shape, dataset.image_mode,
                    print_every=10 ** 9, show_every=10 ** 9,
                    run=helper.TrainingRun(max_batches=200, samples_path=str(samples)))
    half = digit_scorer(np.load(samples)['images'])
    references = digit_scorer.references
    assert references['noise']['quality'] + 0.1 < half['quality'] < references['real']['quality'] - 0.1
    assert references['noise']['coverage'] < half['coverage'] < references['real']['coverage']


def test_faces_real_noise_mean_and_collapsed(face_scorer):
    real = face_scorer(face_scorer.network.held_out)
    assert real['quality'] > 0.95 and real['faceness'] > 0.9 and real['coverage'] > 0.9
    noise = face_scorer(NOISE.integers(0, 256, (1000, 28, 28, 3), dtype=np.uint8))
    assert noise['faceness'] < 0.05 and noise['quality'] < 0.05 and noise['coverage'] < 0.05
    mean = face_scorer.references['mean image']
    assert mean['faceness'] > 0.9, 'an average face is a face to O-Net'
    assert mean['coverage'] < 0.5 * real['coverage'] and mean['fd'] > 3 * real['fd'], 'but it does not cover the faces'
    collapsed = face_scorer(repeated(face_scorer.network.held_out, distinct=5, times=200))
    assert collapsed['coverage'] < 0.5 * real['coverage']


def test_the_face_network_is_mtcnns_own(face_scorer, tmp_path):
    """Our graph of O-Net gives what mtcnn's own Keras model gives, run eagerly in another process."""
    faces = face_scorer.network.held_out[:32]
    np.save(tmp_path / 'faces.npy', faces)
    keras_onet = '''
import sys, numpy as np, tensorflow as tf
from mtcnn.network.onet import ONet
from mtcnn.utils.tensorflow import load_weights
onet = ONet(); onet.build(); onet.set_weights(load_weights('onet.lz4'))
x = (tf.image.resize(np.load(sys.argv[1]).astype('float32'), (48, 48), 'bilinear') - 127.5) / 128
for name in ('conv1 prelu1 maxpool1 conv2 prelu2 maxpool2 conv3 prelu3 maxpool3 conv4 prelu4 permute flatten '
             'fc5 prelu5').split():
    x = getattr(onet, name)(x)
np.savez(sys.argv[2], face=onet.fc6_3(x)[:, 1].numpy(), features=x.numpy())
'''
    env = {key: value for key, value in os.environ.items() if key != 'TF_USE_LEGACY_KERAS'}  # mtcnn's own Keras
    subprocess.run([sys.executable, '-c', keras_onet, str(tmp_path / 'faces.npy'), str(tmp_path / 'keras.npz')],
                   env=env, check=True, capture_output=True)
    expected = np.load(tmp_path / 'keras.npz')
    face, features = face_scorer.network(faces)
    np.testing.assert_allclose(face, expected['face'], atol=1e-5)
    np.testing.assert_allclose(features, expected['features'], atol=1e-4)


def test_run_py_score_prints_the_table_and_names_bad_input(digit_scorer, data_dir, tmp_path):
    samples = tmp_path / 'samples.npz'
    np.savez(samples, images=digit_scorer.network.held_out[..., None])
    printed = subprocess.run([sys.executable, RUN_PY, 'score', str(samples), '--data', data_dir],
                             capture_output=True, text=True, cwd=ROOT)
    assert printed.returncode == 0, printed.stderr
    assert 'quality (higher)' in printed.stdout and 'mean image' in printed.stdout and '20 repeated' in printed.stdout

    (tmp_path / 'not.npz').write_bytes(b'not an npz')
    failed = subprocess.run([sys.executable, RUN_PY, 'score', str(tmp_path / 'not.npz'), '--data', data_dir],
                            capture_output=True, text=True, cwd=ROOT)
    assert failed.returncode != 0 and 'could not be read as samples' in failed.stderr

    np.savez(samples, images=np.zeros((50, 28, 28), np.float32))
    wrong = subprocess.run([sys.executable, RUN_PY, 'score', str(samples), '--data', data_dir],
                           capture_output=True, text=True, cwd=ROOT)
    assert wrong.returncode != 0 and 'must be uint8' in wrong.stderr


def test_faces_need_the_dataset_and_say_so(tmp_path):
    with pytest.raises(ValueError, match='No celeba images were found'):
        score.Scorer('celeba', str(tmp_path))


def test_a_damaged_classifier_cache_is_trained_again(data_dir, tmp_path, capsys):
    cache = tmp_path / 'cache'
    score.DigitNetwork(str(cache))
    (cached,) = cache.glob('.digit-classifier-*.joblib')
    cached.write_bytes(b'garbage')
    network = score.DigitNetwork(str(cache))
    assert 'could not be read' in capsys.readouterr().out
    assert network(network.held_out[:10])[0].shape == (10, 10)
    assert cached.stat().st_size > 1000, 'the cache was written again, whole'
