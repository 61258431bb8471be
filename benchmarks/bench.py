"""Speed and time-to-quality figures for the notebook's DCGAN, printed in one run.

    python3 run.py bench                       input pipeline, training step, sgemm bound, peak memory
    python3 run.py bench --quality mnist -m 5  train the notebook's network for 5 minutes, write
                                               2,000 samples, score them with the judge if present

The networks and the training step are the notebook's own (run.load_notebook_functions); the
canonical network of the classic solutions (5x5 kernels, G 512-256-128, D 64-128-256) is built
here from the notebook's layer helpers, for comparison.

Yardsticks outside the project, used when present (CI and users simply get fewer lines):
  ../shared/bench/torch_dcgan.py   the same canonical network in PyTorch; needs a Python with torch:
                                   this one, or the one in $FACEGEN_TORCH_PYTHON
  ../shared/tools/judge.py         scores samples; needs torch and faceie: $FACEGEN_JUDGE_PYTHON
"""
import argparse
import contextlib
import functools
import glob
import json
import os
import platform
import resource
import shutil
import subprocess
import sys
import tempfile
import time

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SHARED = os.path.join(os.path.dirname(ROOT), 'shared')
sys.path.insert(0, ROOT)

import helper  # noqa: E402  (first: it sets TensorFlow's environment)
import run  # noqa: E402

with helper.native_stderr_silenced():
    import tensorflow.compat.v1 as tf  # noqa: E402

tf.get_logger().setLevel('ERROR')  # the FLOP profiler warns about its own deprecated internals
Z_DIM = 100
# The notebook's hyperparameters per dataset (tests/test_bench.py checks them against its cells)
NOTEBOOK_HYPERPARAMETERS = {'mnist': dict(batch_size=4, learning_rate=0.0005, beta1=0.5),
                            'celeba': dict(batch_size=16, learning_rate=0.0005, beta1=0.5)}


def load_notebook():
    import matplotlib
    matplotlib.use('Agg')  # show_generator_output draws nowhere
    return run.load_notebook_functions()


def canonical_networks(nb):
    """The classic solution's network, on the notebook's helpers (and its batch norm)."""
    lrelu, conv, deconv, dense, batch_norm = (nb[name] for name in ('lrelu', 'conv', 'deconv', 'dense', 'batch_norm'))

    def discriminator(images, reuse=False):
        with tf.variable_scope('discriminator', reuse=reuse):
            h = lrelu(conv(images, 64, 'conv1', kernel=5))
            h = lrelu(batch_norm(conv(h, 128, 'conv2', kernel=5), True, 'bn2'))
            h = lrelu(batch_norm(conv(h, 256, 'conv3', kernel=5), True, 'bn3'))
            logits = dense(tf.reshape(h, [-1, 4 * 4 * 256]), 1, 'logits')
            return tf.sigmoid(logits), logits

    def generator(z, out_channel_dim, is_train=True):
        with tf.variable_scope('generator', reuse=not is_train):
            h = lrelu(batch_norm(tf.reshape(dense(z, 7 * 7 * 512, 'project'), [-1, 7, 7, 512]), is_train, 'bn0'))
            h = lrelu(batch_norm(deconv(h, 256, 'deconv1', kernel=5), is_train, 'bn1'))
            h = lrelu(batch_norm(deconv(h, 128, 'deconv2', kernel=5), is_train, 'bn2'))
            return tf.tanh(deconv(h, out_channel_dim, 'deconv3', kernel=5, stride=1))

    return discriminator, generator


def seed_model_opt(d_loss, g_loss, learning_rate, beta1):
    """The classic solutions' optimizers, run one after the other: G's forward pass runs twice."""
    t_vars = tf.trainable_variables()
    with tf.control_dependencies(tf.get_collection(tf.GraphKeys.UPDATE_OPS)):
        d_opt = tf.train.AdamOptimizer(learning_rate, beta1=beta1).minimize(
            d_loss, var_list=[v for v in t_vars if v.name.startswith('discriminator/')])
        g_opt = tf.train.AdamOptimizer(learning_rate, beta1=beta1).minimize(
            g_loss, var_list=[v for v in t_vars if v.name.startswith('generator/')])
    return d_opt, g_opt


@contextlib.contextmanager
def with_networks(nb, canonical):
    """A context in which the notebook's model_loss builds the canonical or the default network."""
    saved = nb['discriminator'], nb['generator']
    if canonical:
        nb['discriminator'], nb['generator'] = canonical_networks(nb)
    try:
        yield
    finally:
        nb['discriminator'], nb['generator'] = saved


@contextlib.contextmanager
def tensorflow_filter_gradients():
    """A context in which the notebook's deconv builds its layers with TensorFlow's own gradient."""
    fast = helper.conv2d_transpose
    helper.conv2d_transpose = helper.tensorflow_conv2d_transpose
    try:
        yield
    finally:
        helper.conv2d_transpose = fast


def build_step(nb, channels, canonical=False, seed_style=False, tensorflow_gradients=False):
    """A graph holding one training step; returns (graph, run_step)."""
    graph = tf.Graph()
    with graph.as_default(), with_networks(nb, canonical), \
            tensorflow_filter_gradients() if tensorflow_gradients else contextlib.nullcontext():
        input_real, input_z, lr = nb['model_inputs'](28, 28, channels, Z_DIM)
        d_loss, g_loss = nb['model_loss'](input_real, input_z, channels)
        d_opt, g_opt = (seed_model_opt if seed_style else nb['model_opt'])(d_loss, g_loss, lr, 0.5)

    def run_step(sess, real, z):
        feed = {input_real: real, input_z: z, lr: 0.0002}
        if seed_style:
            sess.run(d_opt, feed)
            sess.run(g_opt, feed)
        else:
            sess.run([d_opt, g_opt], feed)
    return graph, run_step


def static_step(nb, channels, batch_size, canonical=False):
    """A one-run training step on placeholders with a static batch size, so that TensorFlow can
    count each op's FLOPs; returns (graph, feed, train ops)."""
    graph = tf.Graph()
    with graph.as_default(), with_networks(nb, canonical):
        input_real = tf.placeholder(tf.float32, [batch_size, 28, 28, channels])
        input_z = tf.placeholder(tf.float32, [batch_size, Z_DIM])
        d_loss, g_loss = nb['model_loss'](input_real, input_z, channels)
        train = nb['model_opt'](d_loss, g_loss, 0.0002, 0.5)
    rng = np.random.default_rng(0)
    feed = {input_real: rng.uniform(-1, 1, (batch_size, 28, 28, channels)),
            input_z: rng.uniform(-1, 1, (batch_size, Z_DIM))}
    return graph, feed, train


def step_flops(nb, channels, batch_size, canonical=False):
    """Floating-point operations per image of one one-run training step, counted by TensorFlow's
    profiler (every op once: a seed-style step runs G twice), on TensorFlow's own gradients: the
    network's cost, whichever way a gradient is computed."""
    with tensorflow_filter_gradients():
        graph = static_step(nb, channels, batch_size, canonical)[0]
    options = tf.profiler.ProfileOptionBuilder.float_operation()
    options['output'] = 'none'
    with helper.native_stderr_silenced():
        return tf.profiler.profile(graph, options=options).total_float_ops / batch_size


# TensorFlow runs independent ops side by side, each on all cores; with 2 cores, two big convolutions
# then share them. One op at a time needs the session's own thread pools: the process-wide ones keep
# the settings of the first session that made them.
ONE_OP_AT_A_TIME = tf.ConfigProto(inter_op_parallelism_threads=1, use_per_session_threads=True)
GEMM_OPS = {'Conv2D', 'Conv2DBackpropInput', 'Conv2DBackpropFilter', 'MatMul'}
FILTER_GRADIENTS, OTHER_GEMMS, OTHER_OPS = ("G's transposed-conv filter gradients",
                                             'other convolutions and matmuls', 'everything else')


def op_kind(op):
    # helper.conv2d_transpose's own gradient (with its transposes), or TensorFlow's
    if f'/{helper.FILTER_GRADIENT_SCOPE}/' in op.name or (op.type == 'Conv2DBackpropFilter' and 'conv2d_transpose_grad' in op.name):
        return FILTER_GRADIENTS
    # grappler fuses a convolution with its bias into one kernel that keeps the BiasAdd's name
    if op.type in GEMM_OPS or (op.type == 'BiasAdd' and op.inputs[0].op.type in GEMM_OPS):
        return OTHER_GEMMS
    return OTHER_OPS


def op_time_breakdown(nb, channels, batch_size, traced_steps=5):
    """Where the canonical one-run step's time goes: ops run one at a time (so each op's time is its
    own) and are traced; returns {kind: (seconds, FLOPs)} per step."""
    from tensorflow.python.framework import ops as tf_ops
    graph, feed, train = static_step(nb, channels, batch_size, canonical=True)
    ops_by_name = {op.name: op for op in graph.get_operations()}
    seconds = dict.fromkeys((FILTER_GRADIENTS, OTHER_GEMMS, OTHER_OPS), 0.0)
    flops = dict.fromkeys(seconds, 0)
    for op in ops_by_name.values():
        flops[op_kind(op)] += tf_ops.get_stats_for_node_def(graph, op.node_def, 'flops').value or 0
    with graph.as_default(), tf.Session(config=ONE_OP_AT_A_TIME) as sess:
        sess.run(tf.global_variables_initializer())
        for _ in range(5):
            sess.run(train, feed)
        for _ in range(traced_steps):
            trace = tf.RunMetadata()
            sess.run(train, feed, tf.RunOptions(trace_level=tf.RunOptions.FULL_TRACE), trace)
            for node in (n for device in trace.step_stats.dev_stats for n in device.node_stats):
                op = ops_by_name.get(node.node_name.split(':')[0])
                # grappler's own new nodes (constant folding and the like) are not in our graph
                seconds[op_kind(op) if op else OTHER_OPS] += node.all_end_rel_micros / 1e6 / traced_steps
    return {kind: (seconds[kind], flops[kind]) for kind in seconds}


def print_op_time_breakdown(nb, batch_size, gflops):
    """Print where the canonical step's time goes, and the most that faster convolution kernels
    could buy: their FLOPs at the sgemm rate, every other op as measured."""
    breakdown = op_time_breakdown(nb, 3, batch_size)
    print('canonical one-run step, op by op (one at a time): ' + '; '.join(
        f'{kind} {seconds * 1000:.0f} ms' + (f' at {flops / seconds / 1e9:.0f} GFLOP/s' if flops > 1e9 else '')
        for kind, (seconds, flops) in breakdown.items()))
    measured = {kind: seconds for kind, (seconds, flops) in breakdown.items()}
    at_sgemm = {kind: flops / (gflops * 1e9) for kind, (seconds, flops) in breakdown.items()}
    bound = sum(at_sgemm.values())
    filters_fast = {**measured, FILTER_GRADIENTS: at_sgemm[FILTER_GRADIENTS]}
    convolutions_fast = {**at_sgemm, OTHER_OPS: measured[OTHER_OPS]}
    fractions = {'ops as measured': bound / sum(measured.values()),
                 'filter gradients at the sgemm rate': bound / sum(filters_fast.values()),
                 'all convolutions at the sgemm rate': bound / sum(convolutions_fast.values())}
    print('  fraction of the sgemm bound: ' + '; '.join(f'{name} {value:.0%}' for name, value in fractions.items()))
    return {f'bound fraction, {name}': float(value) for name, value in fractions.items()}


TRAIN_READS = 3


def best_step_rates(steps_to_time, channels, batch_size, steps, reference=None, reads=TRAIN_READS):
    """img/s of each (graph, run_step, config), and of `reference()` when given: the best of `reads`
    reads of `steps` steps each, as sgemm's rate is the best of its reads. The reads go round in
    turn, so that a neighbour's busy minute on this shared machine slows one read of each line
    rather than every read of one."""
    rng = np.random.default_rng(0)
    real = rng.uniform(-1, 1, (batch_size, 28, 28, channels)).astype(np.float32)
    best = [0.0] * (len(steps_to_time) + (reference is not None))
    with contextlib.ExitStack() as sessions:
        runs = []
        for graph, run_step, config in steps_to_time:
            sess = sessions.enter_context(tf.Session(graph=graph, config=config))
            with graph.as_default():
                sess.run(tf.global_variables_initializer())
            for _ in range(5):  # warm-up: oneDNN picks and caches its kernels on first use
                run_step(sess, real, rng.uniform(-1, 1, (batch_size, Z_DIM)))
            runs.append(functools.partial(run_step, sess, real))
        for _ in range(reads):
            for i, run_one in enumerate(runs):
                start = time.perf_counter()
                for _ in range(steps):
                    run_one(rng.uniform(-1, 1, (batch_size, Z_DIM)))
                best[i] = max(best[i], steps * batch_size / (time.perf_counter() - start))
            if reference is not None:
                best[-1] = max(best[-1], reference() or 0.0)
    return best


SGEMM_READS = 5


def sgemm_gflops(n=2048, repeats=10, reads=SGEMM_READS):
    """numpy's float32 GEMM rate, the best of a few reads: on a shared machine one read can come in
    far low (159 next to 177), and a low rate would flatter every fraction of the bound."""
    a, b = np.ones((n, n), np.float32), np.ones((n, n), np.float32)
    a @ b
    best = 0.0
    for _ in range(reads):
        start = time.perf_counter()
        for _ in range(repeats):
            a @ b
        best = max(best, 2 * n ** 3 * repeats / (time.perf_counter() - start) / 1e9)
    return best


def input_figures(files, batch_size=64):
    """Images per second: the original helper's per-batch JPEG decode, and the cached Dataset."""
    n = min(len(files), 1024)
    start = time.perf_counter()
    for i in range(0, n - batch_size + 1, batch_size):
        helper.get_batch(files[i:i + batch_size], 28, 28, 'RGB') / 255 - 0.5
    per_batch = (n // batch_size * batch_size) / (time.perf_counter() - start)

    start = time.perf_counter()
    dataset = helper.Dataset('celeba', files)
    first_use = time.perf_counter() - start
    start, served = time.perf_counter(), 0
    for _ in range(3):
        for batch in dataset.get_batches(batch_size):
            served += len(batch)
    cached = served / (time.perf_counter() - start)
    return per_batch, first_use, cached


def torch_reference(channels, batch_size, steps):
    script = os.path.join(SHARED, 'bench', 'torch_dcgan.py')
    python = os.environ.get('FACEGEN_TORCH_PYTHON', sys.executable)
    if not os.path.exists(script):
        return None, f'{script} not found'
    result = subprocess.run([python, script, '--channels', str(channels), '--batch', str(batch_size),
                             '--steps', str(steps)], capture_output=True, text=True)
    for line in result.stdout.splitlines():
        if line.startswith('imgs_per_s='):
            return float(line.split('=')[1]), None
    return None, f'needs torch in {python} (set FACEGEN_TORCH_PYTHON)'


def input_memory(files, count, batch_size=64):
    """Peak memory of the input pipeline alone on `count` files (the sample's files repeated up to
    full CelebA's 202,599): decode once, then serve an epoch. Measures this whole process: run it
    in a fresh one (--input-memory) so that nothing else counts."""
    listed = [files[i % len(files)] for i in range(count)]
    start = time.perf_counter()
    dataset = helper.Dataset('celeba', listed)
    built = time.perf_counter() - start
    start, served = time.perf_counter(), 0
    for batch in dataset.get_batches(batch_size):
        served += len(batch)
    print(f'input memory: {count:,} files decoded in {built:.0f} s, one epoch served at '
          f'{served / (time.perf_counter() - start):,.0f} img/s; peak RSS {peak_rss_mib():,.0f} MiB '
          f'(the uint8 images alone: {dataset.images.nbytes / 2 ** 20:,.0f} MiB)')


@contextlib.contextmanager
def linked_image_files(folder):
    """The JPEGs of `folder`, seen through a temporary data_dir whose img_align_celeba/ links to it,
    so that the decoded cache is written there and never beside images we only read (such as
    ../shared's sample). The temporary folder, cache included (456 MiB at full CelebA size), is
    removed afterwards; rmtree unlinks the link and leaves the images it points at alone."""
    data_dir = tempfile.mkdtemp(prefix='facegen-bench-')
    try:
        os.symlink(os.path.abspath(folder), os.path.join(data_dir, 'img_align_celeba'))
        yield sorted(glob.glob(os.path.join(data_dir, 'img_align_celeba', '*.jpg')))
    finally:
        shutil.rmtree(data_dir)


def peak_rss_mib():
    """This process's peak resident memory. On Linux from /proc (VmHWM): getrusage's ru_maxrss
    carries a parent's peak into a child across fork and exec, so --input-memory, run from the
    bench, read the bench's own peak (1,190-1,656 MiB) whenever that was higher than its own."""
    try:
        with open('/proc/self/status') as status:
            return next(int(line.split()[1]) for line in status if line.startswith('VmHWM:')) / 1024
    except (OSError, StopIteration):
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def speed(args):
    from tensorflow.python.util import _pywrap_util_port  # whether helper's TF_ENABLE_ONEDNN_OPTS took
    print(f'# machine: {platform.machine()}, {os.cpu_count()} cores, {platform.python_version()}, '
          f'TensorFlow {tf.__version__} (oneDNN kernels: {_pywrap_util_port.IsMklEnabled()}), '
          f'GPU: {bool(tf.config.list_physical_devices("GPU"))}')
    print(f'# date: {time.strftime("%Y-%m-%d")}')
    figures = {}
    if args.data:
        with linked_image_files(args.data) as files:
            per_batch, first_use, cached = input_figures(files)
        figures.update(input_helper_img_s=per_batch, input_cache_build_s=first_use, input_cached_img_s=cached)
        print(f'input: helper-style per-batch decode {per_batch:,.0f} img/s; cached {cached:,.0f} img/s '
              f'({cached / per_batch:.0f}x); decoding {len(files):,} files once took {first_use:.1f} s')

    nb = load_notebook()
    gflops = sgemm_gflops()
    figures['sgemm_gflop_s'] = gflops
    print(f'sgemm: {gflops:.1f} GFLOP/s (numpy {np.__version__}, 2048x2048 float32, all cores, '
          f'best of {SGEMM_READS} reads)')
    flops_per_image = {canonical: step_flops(nb, 3, args.batch, canonical) for canonical in (True, False)}
    lines = (('canonical, seed-style (2 runs)', True, True, None, False),
             ('canonical, one run', True, False, None, False),
             ('canonical, one run, one op at a time', True, False, ONE_OP_AT_A_TIME, False),
             ("canonical, one run, TensorFlow's own filter gradients", True, False, None, True),
             ('default (notebook), one run', False, False, None, False))
    steps_to_time = [build_step(nb, 3, canonical, seed_style, tensorflow_gradients) + (config,)
                     for name, canonical, seed_style, config, tensorflow_gradients in lines]
    read_steps = max(1, args.steps // TRAIN_READS)
    reference_reads = []

    def reference():
        img_s, why_not = torch_reference(3, args.batch, read_steps)
        reference_reads.append(why_not)
        return img_s

    rates = best_step_rates(steps_to_time, 3, args.batch, read_steps, reference)
    print(f'train steps: best of {TRAIN_READS} reads of {read_steps} steps each, taken in turn')
    for (name, canonical, seed_style, config, tensorflow_gradients), img_s in zip(lines, rates):
        figures[f'train {name} img/s'] = img_s
        line = f'train step, {name}: {img_s:.1f} img/s at batch {args.batch}'
        if not seed_style:
            flops = flops_per_image[canonical]
            bound = gflops * 1e9 / flops
            figures[f'train {name} bound fraction'] = img_s / bound
            line += (f'; {flops / 1e9:.2f} GFLOP/img, so the sgemm rate bounds it at {bound:.1f} img/s: '
                     f'{img_s / bound:.0%} of that')
        print(line)
    figures.update(print_op_time_breakdown(nb, args.batch, gflops))
    if rates[-1]:
        canonical = figures['train canonical, one run img/s']
        figures['torch_reference_img_s'] = rates[-1]
        one_at_a_time = figures['train canonical, one run, one op at a time img/s']
        print(f'PyTorch reference (canonical network, read in the same turns): {rates[-1]:.1f} img/s; one-run '
              f'canonical step is {canonical / rates[-1]:.2f}x that ({one_at_a_time / rates[-1]:.2f}x one op at a '
              f'time, as PyTorch runs)')
    else:
        print(f'PyTorch reference: skipped ({reference_reads[-1]})')
    figures['peak_rss_mib'] = peak_rss_mib()
    print(f'peak RSS of this benchmark (TensorFlow, 5 training steps open at once, numpy): {figures["peak_rss_mib"]:.0f} MiB')
    if args.data:  # the input pipeline alone, on as many files as full CelebA, in a fresh process
        subprocess.run([sys.executable, __file__, '--input-memory', '202599', '--data', args.data])
    print(json.dumps({k: round(v, 2) for k, v in figures.items()}))


def quality(args):
    """Train the notebook's network and hyperparameters for a wall-clock budget, then sample."""
    nb = load_notebook()
    name = args.quality
    if args.data:
        with linked_image_files(args.data) as files:
            dataset = helper.Dataset(name, files)  # decoded into memory: the folder isn't needed after
    else:
        folder = os.path.join(ROOT, 'data', helper.DATASETS[name].folder)
        dataset = helper.Dataset(name, sorted(glob.glob(os.path.join(folder, '*.jpg'))))
    channels = dataset.shape[3]
    hyper = NOTEBOOK_HYPERPARAMETERS[name]
    batch_size, learning_rate = args.batch or hyper['batch_size'], args.learning_rate or hyper['learning_rate']
    with tf.Graph().as_default():
        input_real, input_z, lr = nb['model_inputs'](28, 28, channels, Z_DIM)
        d_loss, g_loss = nb['model_loss'](input_real, input_z, channels)
        d_opt, g_opt = nb['model_opt'](d_loss, g_loss, lr, hyper['beta1'])
        samples = nb['generator'](input_z, channels, False)
        with tf.Session() as sess:
            sess.run(tf.global_variables_initializer())
            start, steps, budget = time.perf_counter(), 0, args.minutes * 60
            while time.perf_counter() - start < budget:
                for batch in dataset.get_batches(batch_size):
                    # the notebook's schedule, over as many batches as the pace so far fits in the budget
                    elapsed = time.perf_counter() - start
                    expected_batches = steps * budget / elapsed if steps else float('inf')
                    rate = nb['scheduled_learning_rate'](learning_rate, steps, expected_batches)
                    sess.run([d_opt, g_opt], {input_real: batch * 2, lr: rate,
                                              input_z: np.random.uniform(-1, 1, (batch_size, Z_DIM))})
                    steps += 1
                    if time.perf_counter() - start >= budget:
                        break
            elapsed = time.perf_counter() - start
            images = helper.generated_to_uint8(
                sess.run(samples, {input_z: np.random.uniform(-1, 1, (2000, Z_DIM))}))
    out = os.path.abspath(args.out or os.path.join(ROOT, 'samples', f'bench_{name}_{args.minutes:g}min.npz'))
    os.makedirs(os.path.dirname(out), exist_ok=True)
    np.savez_compressed(out, images=images)
    print(f'{name}: {steps} batches of {batch_size} ({steps * batch_size / dataset.shape[0]:.1f} epochs of '
          f'{dataset.shape[0]:,} images) in {elapsed / 60:.1f} min; 2,000 inference-mode samples in {out}')

    judge = os.path.join(SHARED, 'tools', 'judge.py')
    python = os.environ.get('FACEGEN_JUDGE_PYTHON', sys.executable)
    if os.path.exists(judge):
        kind = 'mnist' if name == 'mnist' else 'faces'
        result = subprocess.run([python, judge, kind, out], capture_output=True, text=True, cwd=os.path.dirname(judge))
        print(f'judge: {result.stdout.strip()}' if result.returncode == 0 else
              f'judge: skipped (needs torch and faceie in {python}; set FACEGEN_JUDGE_PYTHON)')


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--data', help='a folder of aligned CelebA JPEGs for the input figures '
                        '(default ../shared/data/celeba_sample if present); with --quality, the training images')
    parser.add_argument('--batch', type=int, default=None,
                        help="batch size (speed: 64, as the references; quality: the notebook's)")
    parser.add_argument('--steps', type=int, default=30, help=f'timed training steps per network, over {TRAIN_READS} reads')
    parser.add_argument('--quality', choices=sorted(helper.DATASETS), help='time-to-quality mode on this dataset')
    parser.add_argument('-m', '--minutes', type=float, default=5, help='training budget for --quality')
    parser.add_argument('--learning-rate', type=float, help="quality: default the notebook's")
    parser.add_argument('--out', help='where --quality writes its samples (.npz)')
    parser.add_argument('--input-memory', type=int, metavar='N',
                        help="only measure the input pipeline's peak memory on N files (202599: full CelebA)")
    args = parser.parse_args()
    if args.input_memory:
        sample = os.path.join(SHARED, 'data', 'celeba_sample')
        with linked_image_files(args.data or sample) as files:
            input_memory(files, args.input_memory)
    elif args.quality:
        quality(args)
    else:
        args.batch = args.batch or 64
        sample = os.path.join(SHARED, 'data', 'celeba_sample')
        args.data = args.data or (sample if os.path.isdir(sample) else None)
        speed(args)


if __name__ == '__main__':
    main()
