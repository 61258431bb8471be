"""The standard FID: the Frechet distance on the pool features of FID's own Inception v3 network.

FID (Heusel et al. 2017) is defined on one network: the Inception graph of 2015-12-05 that their
TensorFlow code downloads. pytorch-fid ported those weights to PyTorch, and its file is the one with
a published checksum, so that is the file read here (without PyTorch: read_state_dict) and run as a
TensorFlow graph of its own, as pytorch-fid runs it: images resized to 299 x 299, bilinear, scaled
to [-1, 1], and the 2,048 averages of the last block.

No package ships the weights (95 MB). They are used when they are in DATA/inception/ or where
FACEGEN_INCEPTION points; `python3 run.py score SAMPLES --fid` fetches them there once and checks
them against WEIGHTS.known_hash. A file that does not match is refused: another network's distance
is not FID."""
import collections
import io
import os
import pickle
import struct
import zipfile

import numpy as np

from .config import IMAGE_MAX_VALUE, DatasetSpec
from .env import import_tensorflow

WEIGHTS = DatasetSpec(
    name='FID Inception weights', folder='inception', archive='pt_inception-2015-12-05-6726825d.pth',
    # its name carries the start of this hash, which torch.hub checks when pytorch-fid loads it
    known_hash='sha256:6726825d0af5f729cebd5821db510b11b1cfad8faad88a03f1befd49fb9129b2',
    sources=['https://github.com/mseitzer/pytorch-fid/releases/download/fid_weights/'
             'pt_inception-2015-12-05-6726825d.pth'],
    image_mode='RGB')
ENVIRONMENT = 'FACEGEN_INCEPTION'
INPUT_SIZE = 299
BATCH_NORM_EPSILON = 0.001
# convolutions without padding; every other one keeps its input's size (stride 1, kernel // 2)
UNPADDED = {'Conv2d_1a_3x3', 'Conv2d_2a_3x3', 'Conv2d_4a_3x3', 'Mixed_6a.branch3x3', 'Mixed_6a.branch3x3dbl_3',
            'Mixed_7a.branch3x3_2', 'Mixed_7a.branch7x7x3_4'}
STRIDE_2 = UNPADDED - {'Conv2d_2a_3x3', 'Conv2d_4a_3x3'}


class WeightsError(ValueError):
    pass


# ------------------------------------------------------------------ where the weights are

def weights_path(data_dir):
    """The weights file to use: FACEGEN_INCEPTION's, else DATA/inception/'s; None when neither is there."""
    chosen = os.environ.get(ENVIRONMENT)
    if chosen:
        if not os.path.isfile(chosen):
            raise WeightsError(f'{ENVIRONMENT}={chosen} is not a file: point it at {WEIGHTS.archive}, or unset it.')
        return chosen
    path = os.path.join(data_dir, WEIGHTS.folder, WEIGHTS.archive)
    return path if os.path.isfile(path) else None


def fetch_weights(data_dir):
    """The weights, downloaded once into DATA/inception/ and checked; raises download.Offline when
    no source can be reached."""
    from .download import download
    folder = os.path.join(data_dir, WEIGHTS.folder)
    os.makedirs(folder, exist_ok=True)
    return download(WEIGHTS, folder)


def skipped_line():
    return (f'fid (Inception): skipped, no weights here; `run.py score SAMPLES --fid` fetches them once (95 MB), '
            f'or set {ENVIRONMENT}=PATH.')


def check_weights(path):
    import pooch
    algorithm, digest = WEIGHTS.known_hash.split(':')
    if pooch.file_hash(path, alg=algorithm) != digest:
        raise WeightsError(f'{path} is not FID\'s Inception weights file (its {algorithm} differs from {digest}): '
                           f'the standard FID needs exactly that file. Remove it, or point {ENVIRONMENT} at '
                           f'{WEIGHTS.archive}.')


# ------------------------------------------------------------------ reading a PyTorch state dict without PyTorch

TORCH_STORAGES = {'FloatStorage': '<f4', 'DoubleStorage': '<f8', 'HalfStorage': '<f2', 'LongStorage': '<i8',
                  'IntStorage': '<i4', 'ShortStorage': '<i2', 'CharStorage': 'i1', 'ByteStorage': 'u1',
                  'BoolStorage': '?'}
LEGACY_MAGIC = 0x1950a86a20f9469cfc6c  # the first pickle of torch.save's format before PyTorch 1.6


class _Storage:
    def __init__(self, dtype):
        self.dtype, self.data = np.dtype(dtype), None


class _TensorView:
    """A tensor as its pickle describes it; its storage's bytes may come after the pickle."""

    def __init__(self, storage, offset, size, stride, *_):
        self.storage, self.offset, self.size, self.stride = storage, offset, tuple(size), tuple(stride)

    def array(self):
        data = self.storage.data[self.offset:]
        itemsize = data.dtype.itemsize
        return np.lib.stride_tricks.as_strided(data, self.size, [s * itemsize for s in self.stride]).copy()


class _StateDictUnpickler(pickle.Unpickler):
    """Unpickles what torch.save writes for a state dict, and nothing else: no code is run."""

    def __init__(self, file, storage_of):
        super().__init__(file)
        self.storage_of = storage_of

    def find_class(self, module, name):
        if (module, name) == ('collections', 'OrderedDict'):
            return collections.OrderedDict
        if module == 'torch._utils' and name == '_rebuild_tensor_v2':
            return _TensorView
        if module == 'torch._utils' and name == '_rebuild_parameter':
            return lambda data, requires_grad, hooks: data
        if module == 'torch' and name in TORCH_STORAGES:
            return TORCH_STORAGES[name]
        raise pickle.UnpicklingError(f'{module}.{name} is not part of a state dict of tensors')

    def persistent_load(self, pid):
        kind, dtype, key = pid[:3]  # ('storage', its type, its key, location, size[, view])
        if kind != 'storage' or (len(pid) > 5 and pid[5] is not None):  # views: PyTorch before 1.0
            raise pickle.UnpicklingError(f'unknown persistent id {pid[:1] + pid[2:]!r}')
        return self.storage_of(str(key), dtype)


def read_state_dict(path):
    """{name: numpy array} from a file torch.save wrote (its zip format, or the one before it)."""
    storages = {}

    def storage_of(key, dtype):
        return storages.setdefault(key, _Storage(dtype))

    try:
        if zipfile.is_zipfile(path):
            with zipfile.ZipFile(path) as archive:
                pickled = next(n for n in archive.namelist() if n.endswith('data.pkl'))
                root = pickled[:-len('data.pkl')]
                state = _StateDictUnpickler(io.BytesIO(archive.read(pickled)), storage_of).load()
                for key, storage in storages.items():
                    storage.data = np.frombuffer(archive.read(f'{root}data/{key}'), storage.dtype)
        else:
            with open(path, 'rb') as f:
                if pickle.load(f) != LEGACY_MAGIC:
                    raise pickle.UnpicklingError('it does not start as torch.save files do')
                pickle.load(f), pickle.load(f)  # protocol version, system info
                state = _StateDictUnpickler(f, storage_of).load()
                for key in pickle.load(f):  # then each storage: its element count and its bytes
                    storage = storages[str(key)]
                    count, = struct.unpack('<q', f.read(8))
                    storage.data = np.frombuffer(f.read(count * storage.dtype.itemsize), storage.dtype)
        if not isinstance(state, dict):
            raise ValueError(f'it holds a {type(state).__name__}, not a dict of tensors')
    except (OSError, EOFError, StopIteration, KeyError, ValueError, struct.error, pickle.UnpicklingError,
            zipfile.BadZipFile) as err:
        raise WeightsError(f'{path} could not be read as a PyTorch state dict ({type(err).__name__}: {err}).') from None
    return {name: value.array() if isinstance(value, _TensorView) else value for name, value in state.items()}


# ------------------------------------------------------------------ the network

class InceptionNetwork:
    """FID's Inception v3 as a TensorFlow graph of constants; call it on uint8 N x 28 x 28 (x C) images
    for their N x 2048 pool features."""

    def __init__(self, weights):
        """weights: the path of the weights file (checked against its hash), or {name: array}."""
        if not isinstance(weights, dict):
            check_weights(weights)
            weights = read_state_dict(weights)
        tf = import_tensorflow()
        self._graph = tf.Graph()
        with self._graph.as_default():
            self._images = tf.placeholder(tf.uint8, [None, None, None, 3])
            x = tf.cast(self._images, tf.float32) / IMAGE_MAX_VALUE
            x = tf.compat.v2.image.resize(x, [INPUT_SIZE, INPUT_SIZE], 'bilinear')  # torch's align_corners=False
            try:
                self._features = inception_v3(2 * x - 1, weights)
            except KeyError as err:
                raise WeightsError(f'The weights lack the tensor {err}: they are not FID\'s Inception network.') from None
        self._session = tf.Session(graph=self._graph)

    def __call__(self, images, batch=50):
        images = np.asarray(images)
        if images.ndim == 3 or images.shape[-1] == 1:  # digits: the same gray in each colour
            images = np.repeat(images.reshape(images.shape[:3] + (1,)), 3, axis=-1)
        return np.concatenate([self._session.run(self._features, {self._images: images[i:i + batch]})
                               for i in range(0, len(images), batch)])

    def close(self):
        self._session.close()


def inception_v3(x, w):
    """pytorch-fid's FID Inception v3, from its input in [-1, 1] to the 2,048 pool features."""
    tf = import_tensorflow()
    for name in ('Conv2d_1a_3x3', 'Conv2d_2a_3x3', 'Conv2d_2b_3x3'):
        x = conv(x, w, name)
    x = tf.nn.max_pool2d(x, 3, 2, 'VALID')
    x = conv(conv(x, w, 'Conv2d_3b_1x1'), w, 'Conv2d_4a_3x3')
    x = tf.nn.max_pool2d(x, 3, 2, 'VALID')
    for name in ('Mixed_5b', 'Mixed_5c', 'Mixed_5d'):
        x = block_a(x, w, name)
    x = block_b(x, w, 'Mixed_6a')
    for name in ('Mixed_6b', 'Mixed_6c', 'Mixed_6d', 'Mixed_6e'):
        x = block_c(x, w, name)
    x = block_d(x, w, 'Mixed_7a')
    x = block_e(x, w, 'Mixed_7b', pool='avg')
    x = block_e(x, w, 'Mixed_7c', pool='max')  # FID's network differs from torchvision's here
    return tf.reduce_mean(x, [1, 2])


def conv(x, w, name):
    """A BasicConv2d: convolution without bias, batch norm (inference), ReLU."""
    tf = import_tensorflow()
    kernel = w[f'{name}.conv.weight'].transpose(2, 3, 1, 0)  # out, in, h, w -> h, w, in, out
    if name not in UNPADDED:
        rows, columns = kernel.shape[0] // 2, kernel.shape[1] // 2
        x = tf.pad(x, [[0, 0], [rows, rows], [columns, columns], [0, 0]])
    x = tf.nn.conv2d(x, kernel, 2 if name in STRIDE_2 else 1, 'VALID')
    scale = w[f'{name}.bn.weight'] / np.sqrt(w[f'{name}.bn.running_var'] + BATCH_NORM_EPSILON)
    return tf.nn.relu(x * scale + (w[f'{name}.bn.bias'] - w[f'{name}.bn.running_mean'] * scale))


def chain(x, w, block, *names):
    for name in names:
        x = conv(x, w, f'{block}.{name}')
    return x


def average_pool(x):
    # TensorFlow's SAME average leaves the padding out of the count, as FID's count_include_pad=False
    return import_tensorflow().nn.avg_pool2d(x, 3, 1, 'SAME')


def block_a(x, w, b):
    return import_tensorflow().concat([
        chain(x, w, b, 'branch1x1'),
        chain(x, w, b, 'branch5x5_1', 'branch5x5_2'),
        chain(x, w, b, 'branch3x3dbl_1', 'branch3x3dbl_2', 'branch3x3dbl_3'),
        chain(average_pool(x), w, b, 'branch_pool')], -1)


def block_b(x, w, b):
    tf = import_tensorflow()
    return tf.concat([
        chain(x, w, b, 'branch3x3'),
        chain(x, w, b, 'branch3x3dbl_1', 'branch3x3dbl_2', 'branch3x3dbl_3'),
        tf.nn.max_pool2d(x, 3, 2, 'VALID')], -1)


def block_c(x, w, b):
    return import_tensorflow().concat([
        chain(x, w, b, 'branch1x1'),
        chain(x, w, b, 'branch7x7_1', 'branch7x7_2', 'branch7x7_3'),
        chain(x, w, b, 'branch7x7dbl_1', 'branch7x7dbl_2', 'branch7x7dbl_3', 'branch7x7dbl_4', 'branch7x7dbl_5'),
        chain(average_pool(x), w, b, 'branch_pool')], -1)


def block_d(x, w, b):
    tf = import_tensorflow()
    return tf.concat([
        chain(x, w, b, 'branch3x3_1', 'branch3x3_2'),
        chain(x, w, b, 'branch7x7x3_1', 'branch7x7x3_2', 'branch7x7x3_3', 'branch7x7x3_4'),
        tf.nn.max_pool2d(x, 3, 2, 'VALID')], -1)


def block_e(x, w, b, pool):
    tf = import_tensorflow()
    three = chain(x, w, b, 'branch3x3_1')
    double = chain(x, w, b, 'branch3x3dbl_1', 'branch3x3dbl_2')
    pooled = average_pool(x) if pool == 'avg' else tf.nn.max_pool2d(x, 3, 1, 'SAME')
    return tf.concat([
        chain(x, w, b, 'branch1x1'),
        chain(three, w, b, 'branch3x3_2a'), chain(three, w, b, 'branch3x3_2b'),
        chain(double, w, b, 'branch3x3dbl_3a'), chain(double, w, b, 'branch3x3dbl_3b'),
        chain(pooled, w, b, 'branch_pool')], -1)
