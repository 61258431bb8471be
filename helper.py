"""Data for the Face Generation project: download, verify, extract, batch and show MNIST digits
and CelebA faces; and what the notebook's train() uses beyond the step itself.

The original Udacity helper's public interface, unchanged:
    download_extract(database_name, data_path)
    get_image(image_path, width, height, mode)
    get_batch(image_files, width, height, mode)
    images_square_grid(images, mode)
    Dataset(dataset_name, data_files) with .shape, .image_mode, .get_batches(batch_size)

and this edition's additions: Dataset(dataset_name, data_dir=...) with a decoded cache,
is_bundled (the offline stand-in), TrainingRun (checkpoints, resume, TensorBoard, pictures, the
generator's weight average), averaged_generator (draw with that average),
check_train_arguments, score_samples and Scorer (the quality score),
conv2d_transpose (the notebook's deconv), native_stderr_silenced (TensorFlow's quiet start),
size_keyword (how train() asks a generator for images of another size than 28).
Each lives in a module of the facegen package, one job a module (facegen/__init__.py lists them);
importing any of them first sets TensorFlow's environment.
"""
from facegen.average import drawing as averaged_generator
from facegen.config import CELEBA, DATASETS, IMAGE_SIZE, MNIST, size_keyword
from facegen.dataset import Dataset
from facegen.download import DownloadError, download_extract
from facegen.env import native_stderr_silenced
from facegen.extract import UnsafeArchiveError
from facegen.images import generated_to_uint8, get_batch, get_image, images_square_grid
from facegen.offline import is_bundled
from facegen.ops import conv2d_transpose
from facegen.runs import TrainingRun, check_train_arguments
from facegen.score import Scorer, score_samples

__all__ = ['averaged_generator', 'CELEBA', 'DATASETS', 'IMAGE_SIZE', 'MNIST', 'size_keyword', 'Dataset', 'DownloadError',
           'download_extract',
           'native_stderr_silenced', 'UnsafeArchiveError', 'generated_to_uint8', 'get_batch', 'get_image',
           'images_square_grid', 'is_bundled', 'conv2d_transpose', 'TrainingRun', 'check_train_arguments',
           'Scorer', 'score_samples']
