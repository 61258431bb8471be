"""Files written whole or not at all: a cache, a samples file, a results file."""
import contextlib
import os
import tempfile


@contextlib.contextmanager
def written_whole(path, mode=0o666):
    """Yields a temporary path beside `path` to write; when the block ends normally it becomes
    `path` in one rename, and however else it ends (an error, Ctrl-C) it is removed, so that
    `path` is never seen half-written and nothing half-made is left beside it."""
    folder = os.path.dirname(path) or '.'
    handle, partial = tempfile.mkstemp(dir=folder, prefix='.' + os.path.basename(path) + '.', suffix='.partial')
    os.close(handle)
    try:
        yield partial
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(partial, mode & ~umask)  # as readable as any other file there, not mkstemp's 0600
        os.replace(partial, path)
    finally:
        if os.path.exists(partial):
            os.remove(partial)
