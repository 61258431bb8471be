"""Reading images (aligned CelebA images cropped to the face), writing them, and drawing grids."""
import math
import os
from concurrent.futures import ThreadPoolExecutor
from itertools import repeat

import numpy as np
from PIL import Image

from .config import CELEBA_FACE_CROP, CHANNELS, IMAGE_MAX_VALUE
from .env import progress


def get_image(image_path, width, height, mode, crop=CELEBA_FACE_CROP):
    """Read an image as a uint8 array; one of another size (an aligned CelebA image) is cropped to
    its centre `crop` square (the face) and resized; crop=None resizes the whole image."""
    with Image.open(image_path) as image:
        if image.size != (width, height):
            if crop:
                j = (image.size[0] - crop) // 2
                i = (image.size[1] - crop) // 2
                image = image.crop([j, i, j + crop, i + crop])
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
    return np.round((np.clip(images, -1, 1) + 1) * IMAGE_MAX_VALUE / 2).astype(np.uint8)


def images_square_grid(images, mode):
    """Arrange the first n*n images (N x H x W x C, any value range) into one PIL image."""
    save_size = math.floor(np.sqrt(images.shape[0]))

    # Stretch to 0-255; a constant batch (say, all black) stays constant instead of dividing by 0
    images = np.asarray(images, dtype=np.float32)  # uint8 input would wrap around in the arithmetic
    span = max(float(images.max() - images.min()), 1e-8)
    images = ((images - images.min()) * IMAGE_MAX_VALUE / span).astype(np.uint8)

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


def write_images(images, folder, desc):
    """uint8 images as folder/image_N.jpg, the layout the notebook reads."""
    os.makedirs(folder, exist_ok=True)
    for i, image in enumerate(progress(images, unit='image', desc=desc)):
        Image.fromarray(image).save(os.path.join(folder, f'image_{i}.jpg'), quality=95)


def _decode_chunk(files, width, height, mode, crop):
    """Decode files into uint8 arrays; unreadable files are reported, not raised."""
    images, failed = [], []
    for path in files:
        try:
            images.append(get_image(path, width, height, mode, crop))
        # what PIL raises for corrupt, cut-off or absurdly large files; OSError also for a dangling
        # link or a link loop
        except (OSError, ValueError, SyntaxError, Image.DecompressionBombError) as err:
            failed.append((path, str(err)))
    return images, failed


def decode_all(data_files, width, height, mode, desc='Decoding', crop=CELEBA_FACE_CROP):
    """Decode every file once, on every core, with a progress bar. Returns (uint8 images,
    indices of the files kept, [(path, reason)] for the files that could not be read)."""
    chunk = 256
    chunks = [data_files[i:i + chunk] for i in range(0, len(data_files), chunk)]
    channels = CHANNELS[mode]
    images = np.empty((len(data_files), height, width, channels), np.uint8)
    kept, failed, count = [], [], 0
    with ThreadPoolExecutor(os.cpu_count() or 1) as pool, \
            progress(total=len(data_files), unit='image', desc=desc) as bar:
        # PIL releases the GIL while it decodes and resizes, so threads use every core
        for start, (decoded, bad) in zip(range(0, len(data_files), chunk),
                                         pool.map(_decode_chunk, chunks, repeat(width), repeat(height),
                                                  repeat(mode), repeat(crop))):
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
