"""Fixtures: the notebook's definitions, a few real digits, the bundled digits in a shared folder, a
real HTTP server on 127.0.0.1."""
import http.server
import signal
import socket
import threading
import time

import pytest
from PIL import Image

import helper
from facegen.config import MNIST
from facegen.notebook import load_notebook_functions
from facegen.offline import bundled_mnist, write_bundled

# The Ctrl-C tests need SIGINT to raise KeyboardInterrupt, here and in the processes they start. A
# shell starts a command run in the background (`.ci/run &`) with SIGINT ignored, and Python then
# keeps it ignored; a handler set here is not inherited across exec, so the children get it back too.
signal.signal(signal.SIGINT, signal.default_int_handler)


@pytest.fixture(scope='session')
def nb():
    """The notebook's own imports and function definitions, executed once."""
    import matplotlib
    matplotlib.use('Agg')
    return load_notebook_functions()


class _Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        route = self.server.routes.get(self.path)
        if route is None:
            self.send_error(404)
            return
        route.hits += 1
        self.send_response(route.status)
        self.send_header('Content-Type', route.content_type)
        self.send_header('Content-Length', str(len(route.body)))
        self.end_headers()
        try:
            if route.trickle:
                for i in range(len(route.body)):  # bounded: the body's length
                    self.wfile.write(route.body[i:i + 1])
                    self.wfile.flush()
                    time.sleep(route.trickle)
            else:
                self.wfile.write(route.body if route.send is None else route.body[:route.send])
                self.wfile.flush()
                time.sleep(route.hang)
        except (BrokenPipeError, ConnectionResetError):  # the client gave up, as it should
            pass
        if route.send is not None or route.trickle:
            self.close_connection = True

    def log_message(self, *args):
        pass


@pytest.fixture(scope='session')
def shared_mnist_dir(tmp_path_factory):
    """The 5,000 bundled digits in one folder for the tests that score digits: the score's classifier,
    trained on first use and cached beside them, is then trained once a session, not once a module."""
    folder = tmp_path_factory.mktemp('shared-mnist')
    write_bundled(MNIST, str(folder))
    return str(folder)


@pytest.fixture(scope='module')
def digits(tmp_path_factory):
    """48 real digits as PNG files, in a Dataset: enough for train() to run a few batches."""
    folder = tmp_path_factory.mktemp('data') / 'mnist'
    folder.mkdir()
    for i, digit in enumerate(bundled_mnist()[:48]):
        Image.fromarray(digit).save(folder / f'image_{i}.png')
    return helper.Dataset('mnist', sorted(str(p) for p in folder.iterdir()), seed=0)


@pytest.fixture
def http_server():
    """A real HTTP server on 127.0.0.1; tests fill server.routes and build URLs with server.url()."""
    server = http.server.ThreadingHTTPServer(('127.0.0.1', 0), _Handler)
    server.routes = {}
    server.url = lambda path: f'http://127.0.0.1:{server.server_address[1]}{path}'
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture
def closed_port_url():
    """A URL on 127.0.0.1 where nothing listens: what a machine with no network sees."""
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        port = s.getsockname()[1]
    return f'http://127.0.0.1:{port}/train-images-idx3-ubyte.gz'
