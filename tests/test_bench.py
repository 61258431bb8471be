"""The benchmark measures what the notebook trains."""
import ast
import json
import os
import subprocess
import sys

import numpy as np
import pytest

import helper
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


@pytest.mark.parametrize('batch', [helper.DILATED_GRADIENT_MIN_BATCH - 1, helper.DILATED_GRADIENT_MIN_BATCH])
def test_op_time_breakdown_accounts_for_every_flop_and_times_each_kind(nb, batch):
    """Below the batch where helper.conv2d_transpose's own filter gradient starts, and at it."""
    breakdown = bench.op_time_breakdown(nb, 3, batch, traced_steps=1)
    assert set(breakdown) == {bench.FILTER_GRADIENTS, bench.OTHER_GEMMS, bench.OTHER_OPS}
    total = bench.step_flops(nb, 3, batch, True) * batch
    assert sum(flops for seconds, flops in breakdown.values()) == pytest.approx(total)
    # the filter gradients of G's two big 5x5 transposed convolutions: 321 MFLOP per image each
    assert breakdown[bench.FILTER_GRADIENTS][1] / batch > 2 * 321e6
    assert all(seconds > 0 for seconds, flops in breakdown.values())


def test_the_bench_can_build_the_step_with_tensorflows_own_filter_gradients(nb):
    fast = helper.conv2d_transpose
    graph, _ = bench.build_step(nb, 3, canonical=True, tensorflow_gradients=True)
    assert helper.conv2d_transpose is fast, 'restored after'
    stock_gradients = [op for op in graph.get_operations()
                       if op.type == 'Conv2DBackpropFilter' and 'conv2d_transpose' in op.name]
    assert len(stock_gradients) == 3, "all three of G's layers"
    assert not [op for op in graph.get_operations() if f'/{helper.FILTER_GRADIENT_SCOPE}/' in op.name]


def test_peak_memory_is_the_processs_own_not_its_parents():
    """--input-memory runs in a child of the bench; getrusage would hand it the bench's peak."""
    held = np.ones(2 ** 27)  # 1 GiB, touched, in this (the parent) process
    child = subprocess.run([sys.executable, '-c', 'import sys; sys.path.insert(0, sys.argv[1]); import bench; '
                            'print(bench.peak_rss_mib())', os.path.dirname(bench.__file__)],
                           capture_output=True, text=True, timeout=300, cwd=os.path.dirname(run.__file__))
    assert child.returncode == 0, child.stderr
    assert float(child.stdout.split()[-1]) < bench.peak_rss_mib() - 900
    del held
