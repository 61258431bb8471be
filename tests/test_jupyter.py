"""`python3 run.py lab` serves the notebook in the project's own kernel, also where the user is root."""
import json
import os
import secrets
import socket
import subprocess
import sys
import time
import urllib.request

import pytest
from support import RUN_PY


def free_port():
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


@pytest.fixture(scope='module')
def server(tmp_path_factory):
    port, token = free_port(), secrets.token_hex(16)
    home = tmp_path_factory.mktemp('home')  # the user's own Jupyter settings stay out of it
    process = subprocess.Popen([sys.executable, RUN_PY, 'lab', '--no-browser', f'--port={port}', '--ServerApp.ip=127.0.0.1',
                                f'--IdentityProvider.token={token}'],
                               env={**os.environ, 'HOME': str(home), 'JUPYTER_CONFIG_DIR': str(home / '.jupyter')},
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)

    def api(path, data=None):
        request = urllib.request.Request(f'http://127.0.0.1:{port}/api/{path}', method='POST' if data else 'GET',
                                         data=json.dumps(data).encode() if data else None,
                                         headers={'Authorization': f'token {token}', 'Content-Type': 'application/json'})
        with urllib.request.urlopen(request, timeout=30) as response:
            return json.load(response)

    deadline = time.monotonic() + 120
    while True:
        try:
            api('status')
            break
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                pytest.fail(f'JupyterLab did not start: {process.stderr.read()[-2000:]}')
            time.sleep(0.5)
    yield api
    process.terminate()
    process.wait(timeout=30)


def test_the_notebook_is_served_and_names_the_projects_kernel(server):
    notebook = server('contents/dlnd_face_generation.ipynb')
    assert notebook['type'] == 'notebook'
    assert notebook['content']['metadata']['kernelspec']['name'] == 'facegen'
    assert 'facegen' in server('kernelspecs')['kernelspecs']


def test_the_projects_kernel_starts_for_the_notebook(server):
    session = server('sessions', {'path': 'dlnd_face_generation.ipynb', 'type': 'notebook', 'name': '',
                                  'kernel': {'name': 'facegen'}})
    assert session['kernel']['name'] == 'facegen'
    kernel = server(f"kernels/{session['kernel']['id']}")
    assert kernel['execution_state'] in ('starting', 'idle', 'busy')
