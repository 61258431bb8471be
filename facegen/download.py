"""Fetching a dataset's archive from its mirrors, verified against its checksum; download_extract.

pooch writes to a temporary file and moves it into place only after the hash matches, so a broken
or truncated download never appears under its real name."""
import glob
import gzip
import os
import threading
import time
import warnings
import zipfile

import requests
from tqdm import TqdmWarning

from . import extract, offline
from .config import dataset_spec
from .env import progress

with warnings.catch_warnings():  # pooch imports tqdm.auto, which warns in Jupyter without ipywidgets;
    warnings.simplefilter('ignore', TqdmWarning)  # our downloads draw text bars of their own (env.progress)
    import pooch

pooch.get_logger().setLevel('WARNING')  # one 'Downloading...' line per mirror tried is noise offline


class DownloadError(RuntimeError):
    """Every source of a dataset answered, but none gave the right file."""


class Offline(Exception):
    """No source of a dataset could be reached at all."""


def _looks_like_web_page(path):
    with open(path, 'rb') as f:
        head = f.read(512).lstrip().lower()
    return head.startswith((b'<!doctype html', b'<html'))


def _fetch(url, output_file, pooch_instance):
    """pooch downloader: plain HTTP, or Google Drive through gdown, which answers Drive's
    virus-scan confirmation page. Either way a web page saved in place of the file is refused."""
    if 'drive.google.com' in url:
        _drive_download(url, output_file)
    else:
        _http_download(url, output_file)
    if _looks_like_web_page(output_file):
        raise DownloadError('the server sent a web page instead of the file (a quota, login or '
                            'error page)')


# A download that moves slower than SLOWEST_RATE over a window of STALL_SECONDS has stalled; none may
# take longer than DEADLINE_SECONDS (CelebA's 1.4 GB at 1 MB/s takes about 25 minutes).
STALL_SECONDS = 60
SLOWEST_RATE = 1024  # bytes per second
DEADLINE_SECONDS = 3 * 3600
CHUNK = 1 << 16


class Pace:
    """The stall and deadline rule of one download: check(bytes so far), now and then, returns why
    it should stop, or None."""

    def __init__(self):
        self.started = self.window_start = time.monotonic()
        self.window_bytes = 0

    def check(self, received):
        now = time.monotonic()
        if now - self.started > DEADLINE_SECONDS:
            return f'it did not finish within {DEADLINE_SECONDS:g} s (DEADLINE_SECONDS); nothing was kept'
        if now - self.window_start >= STALL_SECONDS:
            moved = received - self.window_bytes
            if moved < SLOWEST_RATE * (now - self.window_start):
                return f'the server stalled: {moved} bytes in {now - self.window_start:.0f} s; nothing was kept'
            self.window_start, self.window_bytes = now, received
        return None


def _http_download(url, output_file):
    """url into output_file (pooch's temporary file), with a progress bar, a stall check and a deadline.
    A stall, a deadline passed or a file that cannot be written is a DownloadError that says which."""
    import urllib3
    pace, received = Pace(), 0
    with requests.get(url, stream=True, timeout=(30, STALL_SECONDS)) as response, \
            open(output_file, 'wb', buffering=0) as f, \
            progress(total=int(response.headers.get('content-length', 0)) or None, unit='B', unit_scale=True,
                     unit_divisor=1024, delay=2,  # a source that fails at once leaves no 0% bar behind
                     desc=f'Downloading {os.path.basename(url.split("?")[0])}') as bar:
        response.raise_for_status()
        while True:
            try:
                chunk = response.raw.read1(CHUNK)  # what has arrived, so that the checks below run while it trickles
            except urllib3.exceptions.ReadTimeoutError:
                raise DownloadError(f'the server stalled: nothing came for {STALL_SECONDS} s; nothing was kept') from None
            except urllib3.exceptions.ProtocolError as err:
                raise requests.ConnectionError(f'Connection broken: {err}') from None
            if not chunk:
                return
            try:
                # unbuffered, so that a full disk fails here and not later in close(); a write that
                # stops at the limit returns short, and the next one raises
                unwritten = memoryview(chunk)
                while unwritten:
                    unwritten = unwritten[f.write(unwritten):]
            except OSError as err:
                raise DownloadError(f'the download could not be written ({err.strerror}): the disk is probably full. '
                                    'Nothing was kept; free some space and run again') from None
            bar.update(len(chunk))
            received += len(chunk)
            why = pace.check(received)
            if why:
                raise DownloadError(why)


def _drive_download(url, output_file):
    """url through gdown, which answers Drive's confirmation page, watched for the same stall and
    deadline as _http_download: a watchdog thread cancels it (gdown's cancel event)."""
    import gdown
    received, finished, cancel, why = [0], threading.Event(), threading.Event(), []

    def watch():
        pace = Pace()
        while not finished.wait(min(1.0, STALL_SECONDS / 4)):
            reason = pace.check(received[0])
            if reason:
                why.append(reason)
                cancel.set()
                return

    watchdog = threading.Thread(target=watch, daemon=True)
    watchdog.start()
    try:
        gdown.download(url, str(output_file), quiet=False, timeout=(30, STALL_SECONDS), cancel=cancel,
                       progress=lambda done, total: received.__setitem__(0, done))
    except gdown.exceptions.DownloadCancelled:
        raise DownloadError(why[0] if why else 'the download was cancelled') from None
    except gdown.exceptions.FileURLRetrievalError as err:
        raise DownloadError(f'Google Drive refused the download (its daily quota is the usual '
                            f'cause: try again tomorrow): {err}') from None
    finally:
        finished.set()
        watchdog.join()
        for partial in glob.glob(glob.escape(str(output_file)) + '*.part'):
            os.remove(partial)  # gdown's own partial file, left when it fails: nothing is kept


def download(spec, data_path):
    """Fetch spec.archive into data_path from the first source that gives the right bytes; its path.
    An archive already there is used as it is: a download only ever lands there once verified, so
    it is one the user put there, maybe repacked (then it is said, and extraction checks it)."""
    save_path = os.path.join(data_path, spec.archive)
    algorithm, digest = spec.known_hash.split(':')
    if os.path.exists(save_path):
        if pooch.file_hash(save_path, alg=algorithm) != digest:
            print(f'{save_path} is not the published file (its checksum differs from {spec.known_hash}): '
                  'using it as it is, since it was put there.')
        return save_path

    if os.environ.get('FACEGEN_OFFLINE'):
        raise Offline('FACEGEN_OFFLINE is set')
    failures, reached_any = [], False
    for url in spec.sources:
        try:
            pooch.retrieve(url, known_hash=spec.known_hash, fname=spec.archive, path=data_path,
                           downloader=_fetch)
            return save_path
        except (requests.ConnectionError, requests.Timeout) as err:
            if isinstance(err, requests.ConnectionError) and 'Connection broken' not in str(err):
                failures.append(f'{url}: unreachable ({type(err).__name__})')
                continue
            failures.append(f'{url}: the connection broke off part way; nothing was kept')
        except requests.RequestException as err:
            status = getattr(err.response, 'status_code', None)
            failures.append(f'{url}: ' + (f'HTTP {status}' if status else
                                          f'the download broke off part way ({type(err).__name__}); '
                                          'nothing was kept'))
        except DownloadError as err:
            failures.append(f'{url}: {err}')
        except ValueError as err:  # pooch's checksum mismatch
            if 'hash' not in str(err).lower():
                raise
            failures.append(f'{url}: the file did not match its checksum ({spec.known_hash}); '
                            'it was removed')
        reached_any = True
        print(f'Could not use {url}, trying the next source.')

    if not reached_any:
        raise Offline('\n  '.join(failures))
    raise DownloadError(
        f'Could not download {spec.archive} for {spec.name}; every source failed:\n  '
        + '\n  '.join(failures)
        + f'\nWhat to do: run this again later, or download {spec.archive} yourself '
          f'(checksum {spec.known_hash}) and save it as {save_path}.')


def download_extract(database_name, data_path):
    """Download, verify and extract a dataset into data_path (mnist/ or img_align_celeba/).

    With no network (or FACEGEN_OFFLINE set) it writes real images that ship inside installed
    packages instead, in the same layout, and says so; the next call with a network replaces them
    with the real data."""
    spec = dataset_spec(database_name)
    extract_path = os.path.join(data_path, spec.folder)
    os.makedirs(data_path, exist_ok=True)
    extract.remove_stale_partials(spec, data_path)
    if os.path.isdir(extract_path) and not offline.is_bundled(extract_path):
        if _holds_images(extract_path):
            print(f'Found {database_name} Data')
            return
        _check_empty(spec, extract_path)
        os.rmdir(extract_path)  # empty: as if it were not there

    users_archive = os.path.exists(os.path.join(data_path, spec.archive))
    try:
        save_path = download(spec, data_path)
    except Offline:
        reason = 'Offline (FACEGEN_OFFLINE is set)' if os.environ.get('FACEGEN_OFFLINE') else \
            f'No network (none of the {len(spec.sources)} sources of {spec.archive} could be reached)'
        if offline.is_bundled(extract_path):
            print(f'{reason}: using the bundled {database_name} stand-in in {extract_path}.')
        else:
            origin = offline.write_bundled(spec, data_path)
            print(f'{reason}: {database_name} was not downloaded, so {extract_path} holds {origin} instead.')
        return

    try:
        extract.extract_into_place(spec, save_path, data_path)
    except (ValueError, EOFError, zipfile.BadZipFile, gzip.BadGzipFile) as err:  # not an archive of the kind
        if not users_archive:
            raise
        raise ValueError(f'{save_path} could not be extracted ({err}). It was left as it is: replace it with a '
                         f'good copy of {spec.archive}, or move it away to have it downloaded.') from None
    if not users_archive:
        os.remove(save_path)  # ours, and large: everything in it is now on disk


def _holds_images(folder):
    return any(name.endswith('.jpg') for name in os.listdir(folder))


def _check_empty(spec, extract_path):
    """A ValueError that says what is wrong with a data folder that holds no images but something else."""
    nested = os.path.join(extract_path, spec.folder)
    if os.path.isdir(nested) and _holds_images(nested):
        raise ValueError(f'{extract_path} holds its images one folder too deep, in {nested}{os.sep}: move them up '
                         f'into {extract_path}{os.sep}.')
    others = sorted(os.listdir(extract_path))
    if others:
        raise ValueError(f'{extract_path} holds no .jpg images but other files ({", ".join(others[:3])}): move '
                         f'them elsewhere to have {spec.name} downloaded there, or point data_dir at the folder '
                         f'that holds {spec.folder}{os.sep} with its images.')
