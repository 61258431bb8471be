"""Unpacking a dataset's archive into its folder, whole or not at all.

Everything is written into a hidden staging folder next to the target and renamed into place at
the end, so an interrupted or failed extraction never leaves a half-filled data folder behind."""
import gzip
import os
import shutil
import tempfile
import zipfile

import numpy as np

from .env import progress
from .images import write_images

MNIST_IMAGES_MAGIC = 2051  # the first four bytes of an idx3 image file


class UnsafeArchiveError(RuntimeError):
    """An archive entry would be written outside the folder it is extracted into."""


def _read32(bytestream):
    return np.frombuffer(bytestream.read(4), dtype=np.dtype(np.uint32).newbyteorder('>'))[0]


def ungzip_mnist(save_path, extract_path):
    with gzip.open(save_path, 'rb') as bytestream:
        magic = _read32(bytestream)
        if magic != MNIST_IMAGES_MAGIC:
            raise ValueError(f'Invalid magic number {magic} in file: {save_path}')
        num_images, rows, cols = (_read32(bytestream) for _ in range(3))
        data = np.frombuffer(bytestream.read(rows * cols * num_images), dtype=np.uint8)
    if data.size != rows * cols * num_images:
        raise ValueError(f'{save_path} ends early: it holds {data.size} of '
                         f'{rows * cols * num_images} pixels. Delete it and run again.')
    write_images(data.reshape(num_images, rows, cols), extract_path, 'Extracting mnist')


def unzip(save_path, extract_path):
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
        for member in progress(members, unit='file', desc=f'Extracting {os.path.basename(save_path)}'):
            zf.extract(member, root)
    if not os.path.isdir(extract_path):
        raise ValueError(f'{save_path} has no {top}/ folder inside: it is not the expected archive. '
                         'Delete it and download it again.')


def staging_folder(spec, data_path):
    """A fresh hidden folder beside spec's data folder, for writing it before it is renamed into place."""
    return tempfile.mkdtemp(prefix=f'.{spec.folder}-partial-', dir=data_path)


EXTRACTORS = {'idx': ungzip_mnist, 'zip': unzip}  # a DatasetSpec's `extract`: how its archive is unpacked


def extract_into_place(spec, save_path, data_path):
    extract_fn = EXTRACTORS[spec.extract]
    extract_path = os.path.join(data_path, spec.folder)
    staging = staging_folder(spec, data_path)
    try:
        extract_fn(save_path, os.path.join(staging, spec.folder))
        if os.path.exists(extract_path):  # the bundled stand-in, replaced by the real data
            shutil.rmtree(extract_path)
        os.rename(os.path.join(staging, spec.folder), extract_path)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def remove_stale_partials(spec, data_path):
    # left behind only when a process was killed part way through an extraction
    for name in os.listdir(data_path):
        if name.startswith(f'.{spec.folder}-partial-'):
            shutil.rmtree(os.path.join(data_path, name), ignore_errors=True)
