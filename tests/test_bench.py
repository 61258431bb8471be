"""The benchmark measures what the notebook trains, with the notebook's own definitions."""
import json
import os
import subprocess
import sys

import numpy as np
import pytest
from support import ROOT, RUN_PY, tf

import helper
from benchmarks import bench, measure
from facegen import ops, variants
from facegen.config import CELEBA
from facegen.notebook import training_settings
from facegen.offline import STAND_INS, write_bundled


@pytest.mark.parametrize('dataset_name, channels', [('mnist', 1), ('celeba', 3)])
def test_hyperparameters_are_read_from_the_notebooks_training_cells(dataset_name, channels):
    settings = training_settings(dataset_name)
    hyper = measure.notebook_hyperparameters(dataset_name)
    assert hyper == {name: settings[name] for name in ('batch_size', 'z_dim', 'learning_rate', 'beta1')}
    assert all(isinstance(value, (int, float)) and value > 0 for value in hyper.values())
    assert settings['epochs'] >= 1


def test_a_missing_training_cell_is_a_clear_error():
    with pytest.raises(ValueError, match="no training cell for 'cifar'"):
        training_settings('cifar')


def test_flops_per_image_are_counted_for_both_networks(nb):
    default = measure.step_flops(nb, 3, 8)
    classic = measure.step_flops(nb, 3, 8, 'classic')
    # the classic network's transposed 5x5 convolutions alone are 320 M multiply-adds per image
    assert 1.5e9 < classic < 4e9
    assert 0.1e9 < default < classic / 4


@pytest.mark.parametrize('batch', [ops.DILATED_GRADIENT_MIN_BATCH - 1, ops.DILATED_GRADIENT_MIN_BATCH])
def test_op_time_breakdown_accounts_for_every_flop_and_times_each_kind(nb, batch):
    """Below the batch where helper.conv2d_transpose's own filter gradient starts, and at it."""
    breakdown = measure.op_time_breakdown(nb, 3, batch, traced_steps=1)
    assert set(breakdown) == {measure.FILTER_GRADIENTS, measure.OTHER_GEMMS, measure.OTHER_OPS}
    total = measure.step_flops(nb, 3, batch, 'classic') * batch
    assert sum(flops for seconds, flops in breakdown.values()) == pytest.approx(total)
    # the filter gradients of G's two big 5x5 transposed convolutions: 321 MFLOP per image each
    assert breakdown[measure.FILTER_GRADIENTS][1] / batch > 2 * 321e6
    assert all(seconds > 0 for seconds, flops in breakdown.values())


def test_the_bench_can_build_the_step_with_tensorflows_own_filter_gradients(nb):
    fast = helper.conv2d_transpose
    variant = next(v for v in measure.STEP_VARIANTS if v.tensorflow_gradients)
    graph, _ = measure.build_step(nb, 3, variant)
    assert helper.conv2d_transpose is fast, 'restored after'
    stock_gradients = [op for op in graph.get_operations()
                       if op.type == 'Conv2DBackpropFilter' and 'conv2d_transpose' in op.name]
    assert len(stock_gradients) == 3, "all three of G's layers"
    assert not [op for op in graph.get_operations() if f'/{ops.FILTER_GRADIENT_SCOPE}/' in op.name]


def test_the_notebooks_step_line_builds_the_notebooks_network(nb):
    variant = next(v for v in measure.STEP_VARIANTS if v.network == 'notebook')
    graph, _ = measure.build_step(nb, 3, variant)
    kernels = {tuple(v.shape.as_list()) for v in graph.get_collection('trainable_variables') if v.op.name.endswith('/w')}
    assert (4, 4, 3, 64) in kernels and not any(shape[:2] == (5, 5) for shape in kernels)


def test_the_loop_line_times_the_notebooks_train(nb, monkeypatch):
    calls = []
    train = nb['train']
    monkeypatch.setitem(nb, 'train', lambda *args, **kwargs: calls.append(kwargs['run'].max_batches) or train(*args, **kwargs))
    assert measure.loop_rate(nb, 4, batches=3) > 0
    assert calls == [3, 3, 6, 6]


def test_peak_memory_is_the_processs_own_not_its_parents():
    """--input-memory runs in a child of the bench; getrusage would hand it the bench's peak."""
    held = np.ones(2 ** 27)  # 1 GiB, touched, in this (the parent) process
    child = subprocess.run([sys.executable, '-c', 'from benchmarks import measure; print(measure.peak_rss_mib())'],
                           capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert child.returncode == 0, child.stderr
    assert float(child.stdout.split()[-1]) < measure.peak_rss_mib() - 900
    del held


def test_the_quality_mode_prints_the_projects_score(tmp_path, nb):
    out = tmp_path / 'samples.npz'
    done = subprocess.run([sys.executable, RUN_PY, 'bench', '--quality', 'mnist', '-m', '0.05', '--z-dim', '8',
                           '--channels', '16', '--generator-channels', '8', '--out', str(out)],
                          capture_output=True, text=True, cwd=ROOT, env={**os.environ, 'FACEGEN_OFFLINE': '1'})
    assert done.returncode == 0, done.stderr[-2000:]
    assert out.exists() and 'quality (higher)' in done.stdout and 'judge: skipped' in done.stdout
    assert 'batches of 4, z of 8 (' in done.stdout  # the notebook's batch, the z asked for
    # the networks it trained are as wide as asked: D at 16 channels, G at 8, as a sweep builds them
    def network_sizes(**widths):
        with tf.Graph().as_default() as graph, variants.variant(nb, **widths):
            nb['model_loss'](*nb['model_inputs'](28, 28, 1, 8)[:2], 1)
        return measure.network_sizes(graph)
    assert f'mnist: {network_sizes(channels=16, generator_channels=8)}\n' in done.stdout
    assert network_sizes() != network_sizes(channels=16, generator_channels=8)


def test_at_64_the_bench_times_the_notebooks_dcgan_network(nb):
    variant = next(v for v in measure.STEP_VARIANTS if v.network == 'notebook')
    graph, _ = measure.build_step(nb, 3, variant, size=64)
    kernels = {v.op.name: v.shape.as_list() for v in graph.get_collection('trainable_variables') if v.op.name.endswith('/w')}
    assert kernels['discriminator/conv4/w'] == [4, 4, 256, 512] and kernels['generator/deconv4/w'] == [4, 4, 3, 64]
    # each network's forward pass is about 104 M multiply-adds an image (three layers of 33.5 M each,
    # as PyTorch's DCGAN example at 64); a step runs G once, D on two batches, and their gradients
    assert 1.5e9 < measure.step_flops(nb, 3, 8, size=64) < 3e9
    assert measure.step_flops(nb, 3, 8, size=64) > 3 * measure.step_flops(nb, 3, 8)  # 4x the 28x28 network's


def test_the_quality_mode_trains_and_scores_faces_at_64(tmp_path):
    write_bundled(CELEBA, str(tmp_path))
    out = tmp_path / 'samples.npz'
    done = subprocess.run([sys.executable, RUN_PY, 'bench', '--quality', 'celeba', '--image-size', '64', '-m', '0.05',
                           '--data', str(tmp_path), '--out', str(out)],  # the folder above the JPEGs works too
                          capture_output=True, text=True, cwd=ROOT)
    assert done.returncode == 0, done.stderr[-2000:]
    assert np.load(out)['images'].shape[1:] == (64, 64, 3) and 'quality (higher)' in done.stdout


@pytest.mark.parametrize('arguments, message', [
    (['--quality', 'mnist', '--image-size', '64'], 'mnist images are trained at 28 pixels a side. Nothing was run.'),
    (['--quality', 'celeba', '--data', '{empty}'], '--data {empty} holds no .jpg, nor does {empty}/img_align_celeba'),
    (['--quality', 'mnist', '--data', '{empty}'], '--quality mnist trains on the digits in data/'),
    (['--quality', 'mnist', '--z-dim', '0'], '--z-dim 0: z holds 1 number or more. Nothing was run.'),
    (['--quality', 'mnist', '--generator-channels', '0'], '--generator-channels 0: a layer has 1 channel or more.')])
def test_impossible_arguments_are_refused_before_anything_runs(tmp_path, monkeypatch, arguments, message):
    empty = tmp_path / 'empty'
    empty.mkdir()
    monkeypatch.setattr(sys, 'argv', ['bench', *(a.format(empty=empty) for a in arguments)])
    with pytest.raises(SystemExit) as refusal:
        bench.main()
    assert message.format(empty=empty) in str(refusal.value.code)
    assert os.listdir(empty) == [], 'nothing was written'


def test_the_score_noise_benchmark_prints_each_figures_spread_per_number_of_draws(shared_mnist_dir, tmp_path):
    """Real digits and the same digits a pixel to the side: 8,000 samples, so 8 draws of 1,000."""
    digits = STAND_INS[helper.MNIST.stand_in][0]()[..., None]
    samples = tmp_path / 'samples.npz'
    np.savez(samples, images=np.concatenate([digits, np.roll(digits[:3000], 1, axis=2)]))
    done = subprocess.run([sys.executable, '-m', 'benchmarks.score_noise', str(samples), '--data', shared_mnist_dir],
                          capture_output=True, text=True, cwd=ROOT)
    assert done.returncode == 0, done.stderr[-2000:]
    lines = [json.loads(line) for line in done.stdout.splitlines() if line.startswith('{')]
    assert [(line['figure'], line['draws_averaged'], line['values']) for line in lines] == [
        (figure, draws, 8 // draws) for draws in (1, 2, 4) for figure in ('quality', 'fd')]
    single, of_four = lines[0], lines[4]
    assert 0 < single['sd'] and single['range'][0] < of_four['range'][0] <= of_four['range'][1] < single['range'][1]
    np.savez(samples, images=digits[:4000])
    refused = subprocess.run([sys.executable, '-m', 'benchmarks.score_noise', str(samples), '--data', shared_mnist_dir],
                             capture_output=True, text=True, cwd=ROOT)
    assert refused.returncode != 0 and 'holds 4,000 images: give at least 8,000' in refused.stderr
