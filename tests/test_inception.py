"""The standard FID: FID's Inception network as pytorch-fid runs it, its weights read without PyTorch,
fetched once from a real HTTP server on 127.0.0.1 and checked, and skipped in one line without them.

The real weights cannot be fetched here. fixtures/inception/ holds what the real pytorch-fid and
PyTorch computed (make_reference.py): the network's features for made-up weights drawn by name, and
small state dicts in both of torch.save's formats."""
import hashlib
import json
import os
import pickle
import sys

import numpy as np
import pytest
from support import Route

from facegen import inception, score
from facegen.download import DownloadError

FIXTURES = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'fixtures', 'inception')
sys.path.insert(0, FIXTURES)
from keyed import keyed_weights  # noqa: E402


@pytest.fixture(scope='module')
def reference():
    with np.load(os.path.join(FIXTURES, 'reference.npz')) as stored:
        return {'images': stored['images'], 'features': stored['features'],
                'weights': keyed_weights(json.loads(str(stored['shapes'])))}


@pytest.fixture(scope='module')
def network(reference):
    network = inception.InceptionNetwork(reference['weights'])
    yield network
    network.close()


def test_the_network_computes_pytorch_fids_features(network, reference):
    features = network(reference['images'])
    assert features.shape == (4, 2048)
    scale = np.abs(reference['features']).max()
    assert np.abs(features - reference['features']).max() < 1e-5 * scale * 10, 'every block, padding and pooling as pytorch-fid'
    gray = network(reference['images'][3:, :, :, :1])  # a digit: one channel, given to all three
    assert np.abs(gray - reference['features'][3:]).max() < 1e-4 * scale


@pytest.mark.parametrize('saved_as', ['zip', 'legacy'])
def test_a_state_dict_is_read_without_pytorch(saved_as):
    read = inception.read_state_dict(os.path.join(FIXTURES, f'state_dict_{saved_as}.pth'))
    with np.load(os.path.join(FIXTURES, 'expected.npz')) as expected:
        assert sorted(read) == sorted(expected.files)
        for name in expected.files:
            assert read[name].dtype == expected[name].dtype and np.array_equal(read[name], expected[name]), name


def test_a_file_that_is_not_a_state_dict_is_refused_and_runs_nothing(tmp_path):
    class Payload:
        def __reduce__(self):
            return (os.system, (f'touch {tmp_path / "ran"}',))
    hostile = tmp_path / 'hostile.pth'
    with open(hostile, 'wb') as f:
        for part in (inception.LEGACY_MAGIC, 1001, {}):
            pickle.dump(part, f)
        pickle.dump(Payload(), f)
    (tmp_path / 'junk.pth').write_bytes(b'\x00' * 100)
    for path in (hostile, tmp_path / 'junk.pth'):
        with pytest.raises(inception.WeightsError, match='could not be read as a PyTorch state dict'):
            inception.read_state_dict(str(path))
    assert not (tmp_path / 'ran').exists()


def test_weights_that_are_not_fids_are_refused(tmp_path, monkeypatch):
    other = tmp_path / inception.WEIGHTS.archive
    other.write_bytes(b'not the weights')
    with pytest.raises(inception.WeightsError, match='is not FID\'s Inception weights file'):
        inception.InceptionNetwork(str(other))
    monkeypatch.setenv(inception.ENVIRONMENT, str(tmp_path / 'missing.pth'))
    with pytest.raises(inception.WeightsError, match='is not a file'):
        inception.weights_path(str(tmp_path))


def test_the_weights_are_fetched_once_and_checked(http_server, monkeypatch, tmp_path):
    weights = os.urandom(4096)
    http_server.routes['/fid.pth'] = Route(weights)
    http_server.routes['/tampered.pth'] = Route(weights[::-1])
    published = f'sha256:{hashlib.sha256(weights).hexdigest()}'
    monkeypatch.delenv(inception.ENVIRONMENT, raising=False)

    monkeypatch.setattr(inception, 'WEIGHTS', inception.WEIGHTS._replace(
        sources=[http_server.url('/tampered.pth')], known_hash=published))
    with pytest.raises(DownloadError, match='did not match its checksum'):
        inception.fetch_weights(str(tmp_path))
    assert os.listdir(tmp_path / 'inception') == [] and inception.weights_path(str(tmp_path)) is None

    monkeypatch.setattr(inception, 'WEIGHTS', inception.WEIGHTS._replace(sources=[http_server.url('/fid.pth')]))
    path = inception.fetch_weights(str(tmp_path))
    assert open(path, 'rb').read() == weights and inception.weights_path(str(tmp_path)) == path
    inception.fetch_weights(str(tmp_path))
    assert http_server.routes['/fid.pth'].hits == 1, 'fetched once'


def test_without_weights_the_score_says_fid_was_skipped_in_one_line(shared_mnist_dir, monkeypatch):
    monkeypatch.delenv(inception.ENVIRONMENT, raising=False)
    with score.Scorer('mnist', shared_mnist_dir) as scorer:
        table = scorer(scorer.network.held_out).table()
    assert table.splitlines()[-1].startswith('fid (Inception): skipped') and table.count('fid (Inception)') == 1
    assert 'fid' not in scorer.references['real']


def test_with_weights_the_score_has_the_standard_fid(reference, shared_mnist_dir, monkeypatch):
    """Made-up weights, 40 images a set: what is checked is the plumbing, the references and their cache."""
    monkeypatch.setattr(score, 'SCORED_IMAGES', 40)
    with score.Scorer('mnist', shared_mnist_dir, fid=reference['weights']) as scorer:
        result = scorer(scorer.network.held_out)
    cached = [name for name in os.listdir(shared_mnist_dir) if name.startswith('.inception-features-mnist-')]
    assert len(cached) == 1, 'the reference features are kept for the next score'
    real, noise = scorer.references['real']['fid'], scorer.references['noise']['fid']
    assert result['fid'] == pytest.approx(real, rel=1e-4) and noise > 2 * real
    assert 'fid (lower)' in result.table() and 'skipped' not in result.table()
    with score.Scorer('mnist', shared_mnist_dir, fid=reference['weights']) as again:
        assert again.references['noise']['fid'] == pytest.approx(noise, rel=1e-6)
