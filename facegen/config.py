"""The facts every module shares, each stated once."""
from collections import namedtuple

IMAGE_SIZE = 28          # every image the GAN sees is IMAGE_SIZE x IMAGE_SIZE
IMAGE_MAX_VALUE = 255    # uint8 pixels on disk and in the decoded cache
BATCH_RANGE = (-0.5, 0.5)  # what Dataset.get_batches serves (the original helper's range)
CELEBA_FACE_CROP = 108   # the centre square of an aligned 178x218 CelebA image that holds the face
CELEBA_FRAME = (178, 218)  # width, height of an aligned CelebA image
DISCRIMINATOR_SCOPE, GENERATOR_SCOPE = 'discriminator', 'generator'
CHANNELS = {'L': 1, 'RGB': 3}  # colour channels of each image mode

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


def dataset_spec(name):
    """The DatasetSpec called `name`, or a ValueError that lists the ones there are."""
    if name not in DATASETS:
        raise ValueError(f'Unknown dataset {name!r}: use one of {sorted(DATASETS)}.')
    return DATASETS[name]
