"""The benchmark measures what the notebook trains."""
import ast
import json
import os
import sys

import numpy as np
import pytest
import tensorflow.compat.v1 as tf

import run

sys.path.insert(0, os.path.join(os.path.dirname(run.__file__), 'benchmarks'))
import bench  # noqa: E402


def training_cell_values(dataset_name):
    cells = json.load(open(run.NOTEBOOK))['cells']
    source = next(''.join(c['source']) for c in cells
                  if c['cell_type'] == 'code' and f"helper.Dataset('{dataset_name}'" in ''.join(c['source']))
    values = {}
    for node in ast.parse(source).body:
        if isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant):
            values[node.targets[0].id] = node.value.value
    return values


@pytest.mark.parametrize('dataset_name', ['mnist', 'celeba'])
def test_bench_trains_with_the_notebooks_hyperparameters(dataset_name):
    cell = training_cell_values(dataset_name)
    for name, value in bench.NOTEBOOK_HYPERPARAMETERS[dataset_name].items():
        assert cell[name] == value, name


def test_flops_per_image_are_counted_for_both_networks(nb):
    default = bench.step_flops(nb, 3, 8)
    canonical = bench.step_flops(nb, 3, 8, canonical=True)
    # the canonical network's transposed 5x5 convolutions alone are 320 M multiply-adds per image
    assert 1.5e9 < canonical < 4e9
    assert 0.1e9 < default < canonical / 4


def test_op_time_breakdown_accounts_for_every_flop_and_times_each_kind(nb):
    breakdown = bench.op_time_breakdown(nb, 3, 8, traced_steps=1)
    assert set(breakdown) == {bench.FILTER_GRADIENTS, bench.OTHER_GEMMS, bench.OTHER_OPS}
    assert sum(flops for seconds, flops in breakdown.values()) == pytest.approx(bench.step_flops(nb, 3, 8, True) * 8)
    # the filter gradients of G's two big 5x5 transposed convolutions: 321 MFLOP per image each
    assert breakdown[bench.FILTER_GRADIENTS][1] / 8 > 2 * 321e6
    assert all(seconds > 0 for seconds, flops in breakdown.values())


@pytest.mark.parametrize('kernel, stride, size', [(5, 2, 7), (5, 1, 28), (4, 2, 7)])
def test_dilated_filter_gradient_equals_tensorflows(kernel, stride, size):
    channels = bench.MIN_DILATED_CHANNELS  # fewer take TensorFlow's own gradient
    rng = np.random.default_rng(kernel * stride)
    x = rng.standard_normal((3, size, size, 6)).astype(np.float32)
    w = rng.standard_normal((kernel, kernel, channels, 6)).astype(np.float32)
    with tf.Graph().as_default() as graph, tf.Session() as sess:
        results = []
        for transposed_conv in (tf.nn.conv2d_transpose, bench.conv2d_transpose_dilated_filter_gradient):
            xt, wt = tf.constant(x), tf.constant(w)
            y = transposed_conv(xt, wt, [3, size * stride, size * stride, channels],
                                strides=[1, stride, stride, 1], padding='SAME')
            results.append(sess.run([y] + tf.gradients(tf.reduce_sum(y * y), [xt, wt])))
        filter_gradient_ops = [op for op in graph.get_operations() if op.type == 'Conv2DBackpropFilter']
    assert len(filter_gradient_ops) == 1  # the stock layer's: the dilated one made none
    for stock, dilated in zip(*results):
        np.testing.assert_allclose(dilated, stock, rtol=1e-4, atol=1e-4 * np.abs(stock).max())


def test_dilated_filter_gradients_reach_the_notebooks_deconv_and_leave_it_after(nb):
    with bench.dilated_filter_gradients():
        graph, _ = bench.build_step(nb, 3, canonical=True)
    assert tf.nn.conv2d_transpose is bench.STOCK_CONV2D_TRANSPOSE
    # the filter gradients are dilated convolutions now, not Conv2DBackpropFilter, but for the
    # last layer's, whose 3 output channels would make the dilated convolution's batch
    stock_gradients = [op for op in graph.get_operations()
                       if op.type == 'Conv2DBackpropFilter' and 'conv2d_transpose' in op.name]
    assert [op.outputs[0].shape[2] for op in stock_gradients] == [3]
    assert [op for op in graph.get_operations() if op.type == 'Conv2D' and op.get_attr('dilations')[1] == 2]
