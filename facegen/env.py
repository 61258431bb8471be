"""What this process shows and hides: TensorFlow's environment, native stderr, progress bars.

TensorFlow reads its environment variables once, when it loads. Every module of the package that
needs TensorFlow loads it through import_tensorflow below, so this is the one place they are set."""
import contextlib
import os
import sys
import warnings

from tqdm import tqdm  # text bars: tqdm.auto would need ipywidgets and warns without it

TENSORFLOW_ENVIRONMENT = {
    # Its C++ start-up chatter (CUDA probing, CPU features) would bury the losses and pictures.
    'TF_CPP_MIN_LOG_LEVEL': '3',
    # TensorFlow turns its oneDNN kernels on by itself only for CPUs with AVX-512-class features;
    # elsewhere its fallback kernel for transposed convolutions, the generator's main cost, is
    # several times slower (docs/PERFORMANCE.md).
    'TF_ENABLE_ONEDNN_OPTS': '1',
    # tf.layers, which most solutions of this project use, is built on Keras 2: with Keras 3 (the
    # default since TensorFlow 2.16) it raises. This makes tf.keras the tf_keras package.
    'TF_USE_LEGACY_KERAS': '1',
}
for _name, _value in TENSORFLOW_ENVIRONMENT.items():
    os.environ.setdefault(_name, _value)  # a value the user set wins


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


def import_tensorflow():
    """tensorflow.compat.v1, loaded quietly the first time."""
    if 'tensorflow' not in sys.modules:
        with native_stderr_silenced():
            import tensorflow  # noqa: F401
        # Every tf.layers call and some tf.train internals warn that TF1's API is deprecated: in the
        # notebook that would bury the losses under lines a learner can do nothing about.
        warnings.filterwarnings('ignore', message=r'`tf\.layers\.\w+` is deprecated', category=UserWarning)
        tensorflow.get_logger().setLevel('ERROR')
    import tensorflow.compat.v1 as tf
    return tf


def progress(iterable=None, **kwargs):
    """A progress bar on stdout, where the notebook shows ordinary output (stderr reads as a warning)."""
    return tqdm(iterable, **{'mininterval': 1.0, 'file': sys.stdout, **kwargs})
