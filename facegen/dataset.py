"""Dataset: images decoded once into a uint8 cache, served as shuffled float32 batches."""
import glob
import hashlib
import os
import queue
import threading
import warnings
import zipfile

import numpy as np

from .config import BATCH_RANGE, IMAGE_MAX_VALUE, IMAGE_SIZE, check_image_size, dataset_spec
from .files import written_whole
from .images import decode_all

CACHE_FORMAT = 1  # bump when the decoded cache's layout or decoding changes


def cache_prefix(dataset_name, image_size):
    """The start of the names of a dataset's decoded caches at one size: each size has its own,
    side by side."""
    return f'.{dataset_name}-{image_size}px-cache-'


def cache_path(dataset_name, data_dir, data_files, mode, image_size=IMAGE_SIZE):
    """Where a dataset's decoded cache lives in data_dir: named for exactly these files (paths,
    sizes, modification times) decoded this way, so it is rebuilt when they change."""
    crop = dataset_spec(dataset_name).crop
    key = hashlib.sha1(f'{CACHE_FORMAT} {image_size} {crop} {mode}'.encode())
    for path in data_files:
        try:
            stat = os.stat(path)
            size, mtime = stat.st_size, stat.st_mtime_ns
        except OSError:  # a dangling link or a link loop: decoding skips it, the key still names it
            size = mtime = -1
        # fsencode: a file name need not be valid UTF-8
        key.update(os.fsencode(os.path.abspath(path)) + f'\0{size}\0{mtime}\n'.encode())
    return os.path.join(data_dir, f'{cache_prefix(dataset_name, image_size)}{key.hexdigest()[:16]}.npz')


class Dataset(object):
    """Images served as shuffled float32 batches of image_size x image_size in BATCH_RANGE.

    Dataset('mnist', data_dir='data') reads data/mnist/*.jpg, as download_extract left them;
    Dataset('mnist', files) reads the files given (the original helper's call);
    Dataset('celeba', data_dir='data', image_size=64) the faces at 64 x 64 (the sizes a dataset takes
    are its DatasetSpec's `sizes`). The files are
    decoded once; with a data_dir the result is cached there (rebuilt when the files change), so
    the next run starts at once. Batches are cut from memory in a background thread, so training
    never waits for JPEG decoding. Files that cannot be read are skipped and counted in one warning."""

    def __init__(self, dataset_name, data_files=None, seed=None, data_dir=None, image_size=IMAGE_SIZE):
        spec = dataset_spec(dataset_name)
        self.image_size, self._crop = check_image_size(spec, image_size), spec.crop
        if data_files is None:
            if data_dir is None:
                raise ValueError('Give Dataset the image files or the data_dir that holds '
                                 f'{spec.folder}/: Dataset({dataset_name!r}, data_dir=data_dir).')
            data_files = glob.glob(os.path.join(data_dir, spec.folder, '*.jpg'))
        if len(data_files) == 0:
            where = os.path.join(data_dir or '<data_dir>', spec.folder, '*.jpg')
            raise ValueError(
                f'No {dataset_name} images were found: {where} matched no file, relative paths '
                f'starting from {os.getcwd()}. Check that data_dir is the folder that holds '
                f'{spec.folder}/, and run helper.download_extract({dataset_name!r}, data_dir) to fetch '
                'the data there.')
        self.image_mode = spec.image_mode
        self.data_files = sorted(data_files)
        self.images = self._load_or_decode(dataset_name, data_dir)
        self.shape = self.images.shape
        self.reseed(seed)

    def reseed(self, seed):
        """Shuffle the epochs from here on as Dataset(..., seed=seed) would: a sweep's trials each
        replay their seed's order without decoding or reading the images again."""
        self._rng = np.random.default_rng(seed)

    def _load_or_decode(self, dataset_name, data_dir):
        cache = data_dir and cache_path(dataset_name, data_dir, self.data_files, self.image_mode, self.image_size)
        stored = _read_cache(cache, len(self.data_files)) if cache and os.path.exists(cache) else None
        if stored is not None:
            images, kept = stored
        else:
            images, kept, failed = decode_all(self.data_files, self.image_size, self.image_size, self.image_mode,
                                              desc=f'Decoding {dataset_name} once', crop=self._crop)
            if failed:
                examples = '; '.join(f'{printable(os.path.basename(p))}: {printable(reason)}' for p, reason in failed[:3])
                warnings.warn(f'Skipped {len(failed)} unreadable image file(s) of {len(self.data_files)} '
                              f'in {printable(os.path.dirname(failed[0][0]))} ({examples}). Training goes on with '
                              f'the other {len(images)}; delete or replace those files to silence this.',
                              stacklevel=4)
            if len(images) == 0:
                raise ValueError(f'None of the {len(self.data_files)} {dataset_name} image files could be '
                                 'read. Delete the data folder and run helper.download_extract again.')
            if cache:
                _save_cache(dataset_name, self.image_size, cache, images, kept)
        self.data_files = [self.data_files[i] for i in kept]
        return images

    def get_batches(self, batch_size):
        """One epoch in a fresh random order: the bundled digits are stored sorted by class, and
        an unshuffled epoch would train on one digit at a time. A last partial batch is dropped."""
        low, high = BATCH_RANGE
        order = self._rng.permutation(self.shape[0])
        starts = range(0, self.shape[0] - batch_size + 1, batch_size)
        batches = (self.images[order[start:start + batch_size]] for start in starts)
        for batch in _prefetch(batches):
            yield batch.astype(np.float32) / IMAGE_MAX_VALUE * (high - low) + low


def printable(text):
    """text with what is not valid UTF-8 (bytes of a file name, kept as surrogates) shown as '?'."""
    return text.encode('utf-8', 'replace').decode('utf-8')


def _read_cache(cache, file_count):
    """(images, kept) from a decoded cache, or None when it is damaged (it is then decoded again)."""
    try:
        with np.load(cache) as stored:
            images, kept = stored['images'], stored['kept']
        if images.ndim != 4 or len(images) != len(kept) or (len(kept) and not 0 <= kept.min() <= kept.max() < file_count):
            raise ValueError('its arrays do not fit the files')
        return images, kept
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile) as err:
        print(f'The decoded cache {cache} is damaged ({str(err)[:100]}): decoding the images again.')
        return None


def _save_cache(dataset_name, image_size, cache, images, kept):
    folder = os.path.dirname(cache)
    stale = (cache_prefix(dataset_name, image_size),) + (
        (f'.{dataset_name}-cache-',) if image_size == IMAGE_SIZE else ())  # the name before sizes had their own
    try:
        for old in os.listdir(folder):  # caches of earlier versions of these files, at this size
            if old.startswith(stale) and old != os.path.basename(cache):
                os.remove(os.path.join(folder, old))
        with written_whole(cache) as partial, open(partial, 'wb') as f:
            np.savez(f, images=images, kept=kept)
    except OSError as err:
        print(f'Could not write the decoded cache in {folder} ({err}): it stays in memory for this run.')


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
