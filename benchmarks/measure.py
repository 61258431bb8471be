"""What `python3 run.py bench` measures and prints (benchmarks/bench.py reads the command's arguments and
says what each mode does): the input pipeline, the training step and loop beside the sgemm bound and
PyTorch's, peak memory, and time-to-quality with the project's score and a judge's.

The step and the loop are the notebook's own (model_inputs, model_loss, model_opt and train(),
loaded by facegen.notebook), and so are its hyperparameters, read from its training cells. The other
network measured is the classic solution (5x5 kernels, G 512-256-128, D 64-128-256, one
minimize() per network, run one after the other), built on the notebook's layer helpers
(facegen/variants.py), for comparison with the reference implementations.
What the figures mean and a dated record of them: docs/PERFORMANCE.md.
"""
import contextlib
import dataclasses
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

import matplotlib
import numpy as np

import helper
from benchmarks.bench import TRAIN_READS
from facegen import ops, variants
from facegen.config import DISCRIMINATOR_SCOPE, GENERATOR_SCOPE, IMAGE_SIZE
from facegen.env import import_tensorflow, native_stderr_silenced
from facegen.notebook import ROOT, load_notebook_functions, training_settings
from facegen.runs import EXPORTED_SAMPLES

matplotlib.use('Agg')  # train() and show_generator_output draw nowhere
tf = import_tensorflow()
FMA_PEAK_SOURCE = os.path.join(ROOT, 'benchmarks', 'fma_peak.c')

# TensorFlow runs independent ops side by side, each on all cores, so that two big convolutions
# share them. One op at a time needs the session's own thread pools: the process-wide ones keep
# the settings of the first session that made them.
ONE_OP_AT_A_TIME = tf.ConfigProto(inter_op_parallelism_threads=1, use_per_session_threads=True)


@dataclasses.dataclass(frozen=True)
class StepVariant:
    """One line of the training-step table."""
    name: str
    network: str = 'notebook'          # or 'classic'
    two_runs: bool = False             # the classic loop: D's update, then G's, in two sess.run calls
    config: tf.ConfigProto = None      # the session's settings (None: TensorFlow's defaults)
    tensorflow_gradients: bool = False  # the deconv layers with TensorFlow's own filter gradient
    investigation: bool = False        # printed with --investigate only


STEP_VARIANTS = (
    StepVariant('classic network, classic loop (two runs per batch)', 'classic', two_runs=True),
    StepVariant("classic network, the notebook's step (one run)", 'classic'),
    StepVariant("classic network, the notebook's step, one op at a time", 'classic', config=ONE_OP_AT_A_TIME,
                investigation=True),
    StepVariant("classic network, the notebook's step, TensorFlow's own filter gradients", 'classic',
                tensorflow_gradients=True, investigation=True),
    StepVariant("the notebook's network and step"),
)


def notebook_hyperparameters(dataset_name):
    settings = training_settings(dataset_name)
    return {name: settings[name] for name in ('batch_size', 'z_dim', 'learning_rate', 'beta1')}


# ---------------------------------------------------------------- the classic solution

def classic_model_opt(d_loss, g_loss, learning_rate, beta1):
    """The classic solution's optimizers: one minimize() each, so each of its two runs per batch
    computes G's forward pass again."""
    t_vars = tf.trainable_variables()
    with tf.control_dependencies(tf.get_collection(tf.GraphKeys.UPDATE_OPS)):
        d_opt = tf.train.AdamOptimizer(learning_rate, beta1=beta1).minimize(
            d_loss, var_list=[v for v in t_vars if v.name.startswith('discriminator/')])
        g_opt = tf.train.AdamOptimizer(learning_rate, beta1=beta1).minimize(
            g_loss, var_list=[v for v in t_vars if v.name.startswith('generator/')])
    return d_opt, g_opt


@contextlib.contextmanager
def tensorflow_filter_gradients(active=True):
    """A context in which the notebook's deconv builds its layers with TensorFlow's own gradient."""
    fast = helper.conv2d_transpose
    if active:
        helper.conv2d_transpose = ops.tensorflow_conv2d_transpose
    try:
        yield
    finally:
        helper.conv2d_transpose = fast


# ---------------------------------------------------------------- the step

def build_step(nb, channels, step, size=IMAGE_SIZE):
    """A graph holding one training step of `step`, a StepVariant, on size x size images; returns
    (graph, run_step)."""
    graph = tf.Graph()
    with graph.as_default(), variants.variant(nb, step.network), tensorflow_filter_gradients(step.tensorflow_gradients):
        input_real, input_z, lr = nb['model_inputs'](size, size, channels, 100)
        d_loss, g_loss = nb['model_loss'](input_real, input_z, channels)
        d_opt, g_opt = (classic_model_opt if step.two_runs else nb['model_opt'])(d_loss, g_loss, lr, 0.5)

    def run_step(sess, real, z):
        feed = {input_real: real, input_z: z, lr: 0.0002}
        if step.two_runs:
            sess.run(d_opt, feed)
            sess.run(g_opt, feed)
        else:
            sess.run([d_opt, g_opt], feed)  # as train() does
    return graph, run_step


def static_step(nb, channels, batch_size, network_name='notebook', size=IMAGE_SIZE):
    """The notebook's step on placeholders with a static batch size, so that TensorFlow can count
    each op's FLOPs; returns (graph, feed, train ops)."""
    graph = tf.Graph()
    with graph.as_default(), variants.variant(nb, network_name):
        input_real = tf.placeholder(tf.float32, [batch_size, size, size, channels])
        input_z = tf.placeholder(tf.float32, [batch_size, 100])
        d_loss, g_loss = nb['model_loss'](input_real, input_z, channels)
        train = nb['model_opt'](d_loss, g_loss, 0.0002, 0.5)
    rng = np.random.default_rng(0)
    feed = {input_real: rng.uniform(-1, 1, (batch_size, size, size, channels)),
            input_z: rng.uniform(-1, 1, (batch_size, 100))}
    return graph, feed, train


def step_flops(nb, channels, batch_size, network_name='notebook', size=IMAGE_SIZE):
    """Floating-point operations per image of the notebook's one-run step, counted by TensorFlow's
    profiler on TensorFlow's own gradients: the network's cost, whichever way a gradient is computed."""
    with tensorflow_filter_gradients():
        graph = static_step(nb, channels, batch_size, network_name, size)[0]
    options = tf.profiler.ProfileOptionBuilder.float_operation()
    options['output'] = 'none'
    with native_stderr_silenced():
        return tf.profiler.profile(graph, options=options).total_float_ops / batch_size


GEMM_OPS = {'Conv2D', 'Conv2DBackpropInput', 'Conv2DBackpropFilter', 'MatMul'}
FILTER_GRADIENTS, OTHER_GEMMS, OTHER_OPS = ("G's transposed-conv filter gradients",
                                             'other convolutions and matmuls', 'everything else')


def op_kind(op):
    # helper.conv2d_transpose's own gradient (with its transposes), or TensorFlow's
    if f'/{ops.FILTER_GRADIENT_SCOPE}/' in op.name or (
            op.type == 'Conv2DBackpropFilter' and 'conv2d_transpose_grad' in op.name):
        return FILTER_GRADIENTS
    # grappler fuses a convolution with its bias into one kernel that keeps the BiasAdd's name
    if op.type in GEMM_OPS or (op.type == 'BiasAdd' and op.inputs[0].op.type in GEMM_OPS):
        return OTHER_GEMMS
    return OTHER_OPS


def op_time_breakdown(nb, channels, batch_size, traced_steps=5):
    """Where the classic network's one-run step spends its time: ops run one at a time (so each
    op's time is its own) and are traced; returns {kind: (seconds, FLOPs)} per step."""
    from tensorflow.python.framework import ops as tf_ops
    graph, feed, train = static_step(nb, channels, batch_size, 'classic')
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
    """Print where the classic step's time goes, and the most that faster convolution kernels
    could buy: their FLOPs at the sgemm rate, every other op as measured."""
    breakdown = op_time_breakdown(nb, 3, batch_size)
    print('classic network, one-run step, op by op (one at a time): ' + '; '.join(
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



def best_step_rates(steps_to_time, channels, batch_size, steps, reference=None, reads=TRAIN_READS, size=IMAGE_SIZE):
    """img/s of each (graph, run_step, config), and of `reference()` when given: the best of `reads`
    reads of `steps` steps each. The reads go round in turn, so that a neighbour's busy minute on a
    shared machine slows one read of each line rather than every read of one."""
    rng = np.random.default_rng(0)
    real = rng.uniform(-1, 1, (batch_size, size, size, channels)).astype(np.float32)
    best = [0.0] * (len(steps_to_time) + (reference is not None))
    with contextlib.ExitStack() as sessions:
        runs = []
        for graph, run_step, config in steps_to_time:
            sess = sessions.enter_context(tf.Session(graph=graph, config=config))
            with graph.as_default():
                sess.run(tf.global_variables_initializer())
            for _ in range(5):  # warm-up: oneDNN picks and caches its kernels on first use
                run_step(sess, real, rng.uniform(-1, 1, (batch_size, 100)))
            runs.append(functools.partial(run_step, sess, real))
        for _ in range(reads):
            for i, run_one in enumerate(runs):
                start = time.perf_counter()
                for _ in range(steps):
                    run_one(rng.uniform(-1, 1, (batch_size, 100)))
                best[i] = max(best[i], steps * batch_size / (time.perf_counter() - start))
            if reference is not None:
                best[-1] = max(best[-1], reference() or 0.0)
    return best


# ---------------------------------------------------------------- the loop

def train_seconds(nb, batches, batch_size, channels=3, size=IMAGE_SIZE):
    """Wall-clock seconds of the notebook's train() for `batches` batches of random images,
    graph building and session start included."""
    rng = np.random.default_rng(0)
    shape = (batch_size * batches, size, size, channels)

    def get_batches(size):
        for _ in range(batches):
            yield rng.uniform(-0.5, 0.5, (size,) + shape[1:]).astype(np.float32)

    start = time.perf_counter()
    with tf.Graph().as_default(), open(os.devnull, 'w') as quiet, contextlib.redirect_stdout(quiet):
        nb['train'](1, batch_size, 100, 0.0002, 0.5, get_batches, shape, 'RGB', print_every=10 ** 9,
                    show_every=10 ** 9, run=helper.TrainingRun(max_batches=batches))
    return time.perf_counter() - start


def loop_rate(nb, batch_size, batches=40, size=IMAGE_SIZE):
    """img/s of the notebook's train() loop in its steady state: two runs of different lengths,
    whose difference leaves out building the graph and warming up."""
    short, long = (min(train_seconds(nb, n, batch_size, size=size) for _ in range(2)) for n in (batches, 2 * batches))
    return batches * batch_size / max(long - short, 1e-9)


# ---------------------------------------------------------------- the machine

SGEMM_READS = 5


def sgemm_gflops(n=2048, repeats=10, reads=SGEMM_READS):
    """numpy's float32 GEMM rate, the best of a few reads: on a shared machine one read can come in
    far low, and a low rate would flatter every fraction of the bound."""
    a, b = np.ones((n, n), np.float32), np.ones((n, n), np.float32)
    a @ b
    best = 0.0
    for _ in range(reads):
        start = time.perf_counter()
        for _ in range(repeats):
            a @ b
        best = max(best, 2 * n ** 3 * repeats / (time.perf_counter() - start) / 1e9)
    return best


def fma_peak_gflops():
    """This CPU's float32 FMA peak from benchmarks/fma_peak.c, or None where it can't be built."""
    if not shutil.which('gcc') or platform.machine() not in ('x86_64', 'AMD64'):
        return None
    with tempfile.TemporaryDirectory() as folder:
        binary = os.path.join(folder, 'fma_peak')
        built = subprocess.run(['gcc', '-O2', '-mavx2', '-mfma', '-fopenmp', FMA_PEAK_SOURCE, '-o', binary],
                               capture_output=True)
        result = subprocess.run([binary], capture_output=True, text=True) if built.returncode == 0 else None
    if result is None or result.returncode != 0:
        return None
    # its last line: 'peak float32 FMA rate: 204.8 GFLOP/s on 2 threads (best of 5 reads)'
    peak = [line for line in result.stdout.splitlines() if line.startswith('peak')]
    return float(peak[0].split(':')[1].split()[0]) if peak else None


def peak_rss_mib():
    """This process's peak resident memory. On Linux from /proc (VmHWM): getrusage's ru_maxrss
    carries a parent's peak into a child across fork and exec."""
    try:
        with open('/proc/self/status') as status:
            return next(int(line.split()[1]) for line in status if line.startswith('VmHWM:')) / 1024
    except (OSError, StopIteration):
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


# ---------------------------------------------------------------- the input pipeline

@contextlib.contextmanager
def linked_data_dir(folder):
    """A temporary data_dir whose img_align_celeba/ links to `folder`, so that the decoded cache is
    written there and never beside images we only read. The temporary folder, cache included, is
    removed afterwards; rmtree unlinks the link and leaves the images it points at alone."""
    data_dir = tempfile.mkdtemp(prefix='facegen-bench-')
    try:
        os.symlink(os.path.abspath(folder), os.path.join(data_dir, helper.CELEBA.folder))
        yield data_dir
    finally:
        shutil.rmtree(data_dir)


def image_files(data_dir):
    return sorted(glob.glob(os.path.join(data_dir, helper.CELEBA.folder, '*.jpg')))


def input_figures(data_dir, batch_size=64, size=IMAGE_SIZE):
    """Images per second: the original helper's per-batch JPEG decode, and the cached Dataset."""
    files = image_files(data_dir)
    n = min(len(files), 1024)
    start = time.perf_counter()
    for i in range(0, n - batch_size + 1, batch_size):
        helper.get_batch(files[i:i + batch_size], size, size, 'RGB') / 255 - 0.5
    per_batch = (n // batch_size * batch_size) / (time.perf_counter() - start)

    start = time.perf_counter()
    dataset = helper.Dataset('celeba', data_dir=data_dir, image_size=size)
    first_use = time.perf_counter() - start
    start, served = time.perf_counter(), 0
    for _ in range(3):
        for batch in dataset.get_batches(batch_size):
            served += len(batch)
    return per_batch, first_use, served / (time.perf_counter() - start), len(files)


def input_memory(data_dir, count, batch_size=64, size=IMAGE_SIZE):
    """Peak memory of the input pipeline alone on `count` files (the folder's files repeated up to
    `count`): decode once, then serve an epoch. Measures this whole process: run it in a fresh one
    (--input-memory) so that nothing else counts."""
    files = image_files(data_dir)
    listed = [files[i % len(files)] for i in range(count)]
    start = time.perf_counter()
    dataset = helper.Dataset('celeba', listed, data_dir=data_dir, image_size=size)
    built = time.perf_counter() - start
    start, served = time.perf_counter(), 0
    for batch in dataset.get_batches(batch_size):
        served += len(batch)
    print(f'input memory: {count:,} files decoded at {size} x {size} in {built:.0f} s, one epoch served at '
          f'{served / (time.perf_counter() - start):,.0f} img/s; peak RSS {peak_rss_mib():,.0f} MiB '
          f'(the uint8 images alone: {dataset.images.nbytes / 2 ** 20:,.0f} MiB)')


# ---------------------------------------------------------------- yardsticks outside the project

def torch_reference(args, channels, batch_size, steps):
    """(img/s, None) from the PyTorch reference, or (None, why not)."""
    if not args.torch_reference:
        return None, 'no --torch-reference (or FACEGEN_TORCH_REFERENCE) given'
    result = subprocess.run([args.torch_python, args.torch_reference, '--channels', str(channels),
                             '--batch', str(batch_size), '--steps', str(steps)], capture_output=True, text=True)
    for line in result.stdout.splitlines():
        if line.startswith('imgs_per_s='):
            return float(line.split('=')[1]), None
    return None, f'{args.torch_reference} printed no imgs_per_s= (torch missing in {args.torch_python}?)'


def judge(args, dataset_name, samples):
    if not args.judge:
        return 'skipped (no --judge or FACEGEN_JUDGE given)'
    kind = 'mnist' if dataset_name == 'mnist' else 'faces'
    judge_file = os.path.abspath(args.judge)  # it runs in its own folder, where it finds its data
    result = subprocess.run([args.judge_python, judge_file, kind, samples], capture_output=True, text=True,
                            cwd=os.path.dirname(judge_file))
    return result.stdout.strip() if result.returncode == 0 else f'failed in {args.judge_python}: {result.stderr[-300:]}'


# ---------------------------------------------------------------- the two modes

def speed(args):
    from tensorflow.python.util import _pywrap_util_port  # whether TF_ENABLE_ONEDNN_OPTS took
    print(f'# machine: {platform.machine()}, {os.cpu_count()} cores, {platform.python_version()}, '
          f'TensorFlow {tf.__version__} (oneDNN kernels: {_pywrap_util_port.IsMklEnabled()}), '
          f'GPU: {bool(tf.config.list_physical_devices("GPU"))}')
    print(f'# date: {time.strftime("%Y-%m-%d")}')
    figures, size = {}, args.image_size
    print(f'# image size: {size} x {size}')
    if args.data:
        with linked_data_dir(args.data) as data_dir:
            per_batch, first_use, cached, count = input_figures(data_dir, size=size)
        figures.update(input_helper_img_s=per_batch, input_cache_build_s=first_use, input_cached_img_s=cached)
        print(f'input: helper-style per-batch decode {per_batch:,.0f} img/s; cached {cached:,.0f} img/s '
              f'({cached / per_batch:.0f}x); decoding {count:,} files once took {first_use:.1f} s')

    nb = load_notebook_functions()
    gflops = sgemm_gflops()
    figures['sgemm_gflop_s'] = gflops
    print(f'sgemm: {gflops:.1f} GFLOP/s (numpy {np.__version__}, 2048x2048 float32, all cores, '
          f'best of {SGEMM_READS} reads)')
    if os.environ.get('OPENBLAS_CORETYPE'):
        print(f"  note: OPENBLAS_CORETYPE={os.environ['OPENBLAS_CORETYPE']} holds numpy to that CPU's kernel, which may "
              'be slower than this CPU allows; for a fair bound run with OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE unset')
    if args.investigate:
        peak = fma_peak_gflops()
        print(f'FMA peak: {peak:.1f} GFLOP/s (sgemm is {gflops / peak:.0%} of it)' if peak else
              'FMA peak: skipped (needs gcc on x86-64 with AVX2)')
    # the classic network is written for 28 alone: at another size the notebook's is measured by itself
    variants = [variant for variant in STEP_VARIANTS if (args.investigate or not variant.investigation)
                and (size == IMAGE_SIZE or variant.network == 'notebook')]
    flops_per_image = {name: step_flops(nb, 3, args.batch, name, size) for name in {v.network for v in variants}}
    steps_to_time = [build_step(nb, 3, variant, size) + (variant.config,) for variant in variants]
    read_steps = max(1, args.steps // TRAIN_READS)
    why_no_reference = []

    def reference():
        img_s, why_not = torch_reference(args, 3, args.batch, read_steps)
        why_no_reference.append(why_not)
        return img_s

    rates = best_step_rates(steps_to_time, 3, args.batch, read_steps, reference, size=size)
    print(f'train steps: best of {TRAIN_READS} reads of {read_steps} steps each, taken in turn')
    for variant, img_s in zip(variants, rates):
        figures[f'train {variant.name} img/s'] = img_s
        line = f'train step, {variant.name}: {img_s:.1f} img/s at batch {args.batch}'
        if not variant.two_runs:
            flops = flops_per_image[variant.network]
            bound = gflops * 1e9 / flops
            figures[f'train {variant.name} bound fraction'] = img_s / bound
            line += (f'; {flops / 1e9:.2f} GFLOP/img, so the sgemm rate bounds it at {bound:.1f} img/s: '
                     f'{img_s / bound:.0%} of that')
        print(line)
    celeba = notebook_hyperparameters('celeba')
    for batch_size in sorted({args.batch, celeba['batch_size']}):
        loop = loop_rate(nb, batch_size, size=size)
        figures[f'train() loop batch {batch_size} img/s'] = loop
        print(f"the notebook's train() loop, its network, batch {batch_size}: {loop:.1f} img/s "
              '(progress bar, losses and NaN check included)')
    if args.investigate and size == IMAGE_SIZE:
        figures.update(print_op_time_breakdown(nb, args.batch, gflops))
    if rates[-1] and size == IMAGE_SIZE:
        classic = figures[f'train {STEP_VARIANTS[1].name} img/s']
        figures['torch_reference_img_s'] = rates[-1]
        print(f'PyTorch reference (classic network, read in the same turns): {rates[-1]:.1f} img/s; the notebook\'s '
              f'step on the classic network is {classic / rates[-1]:.2f}x that')
    elif rates[-1]:
        own = figures[f'train {STEP_VARIANTS[-1].name} img/s']
        figures['torch_reference_img_s'] = rates[-1]
        print(f'PyTorch reference (its DCGAN example at {size}, read in the same turns): {rates[-1]:.1f} img/s; the '
              f'notebook\'s network and step at {size} is {own / rates[-1]:.2f}x that')
    else:
        print(f'PyTorch reference: skipped ({why_no_reference[-1]})')
    figures['peak_rss_mib'] = peak_rss_mib()
    print(f'peak RSS of this benchmark (TensorFlow, {len(variants)} training steps open at once, numpy): '
          f'{figures["peak_rss_mib"]:.0f} MiB')
    if args.data:  # the input pipeline alone, on as many files as full CelebA, in a fresh process
        subprocess.run([sys.executable, '-m', 'benchmarks.bench', '--input-memory', '202599', '--data', args.data,
                        '--image-size', str(size)], cwd=ROOT)
    print(json.dumps({k: round(v, 2) for k, v in figures.items()}))


def network_sizes(graph):
    """Each network's trainable weights in graph, as a line: what --channels and --generator-channels changed."""
    counts = {scope: sum(v.shape.num_elements() for v in graph.get_collection('trainable_variables', scope))
              for scope in (DISCRIMINATOR_SCOPE, GENERATOR_SCOPE)}
    return ', '.join(f'{scope} {count:,} weights' for scope, count in counts.items())


def quality(args):
    """The notebook's train() with its hyperparameters for a wall-clock budget, then its exported samples."""
    nb = load_notebook_functions()
    name = args.quality
    hyper = notebook_hyperparameters(name)
    batch_size, learning_rate = args.batch or hyper['batch_size'], args.learning_rate or hyper['learning_rate']
    z_dim = args.z_dim or hyper['z_dim']
    sized = '' if args.image_size == IMAGE_SIZE else f'_{args.image_size}px'
    out = os.path.abspath(args.out or os.path.join(ROOT, 'samples', f'bench_{name}{sized}_{args.minutes:g}min.npz'))
    with contextlib.ExitStack() as stack:
        try:
            stack.enter_context(variants.variant(nb, channels=args.channels,
                                                 generator_channels=args.generator_channels,
                                                 latent_classes=args.latent_classes,
                                                 class_information=args.class_information))
        except variants.SettingHadNoEffect as err:  # a learner's notebook whose networks have no CHANNELS
            sys.exit(f'{err} Nothing was run.')
        if args.data:
            data_dir = stack.enter_context(linked_data_dir(args.data))
        else:
            data_dir = os.path.join(ROOT, 'data')
            helper.download_extract(name, data_dir)  # as the notebook does: offline, the bundled stand-in
        try:
            dataset = helper.Dataset(name, data_dir=data_dir, image_size=args.image_size)
        except ValueError as err:  # no images there: the one line the Dataset gives, not its traceback
            sys.exit(str(err))
        run = helper.TrainingRun(minutes=args.minutes, samples_path=out, keep_share=args.keep_share)
        start = time.perf_counter()
        with tf.Graph().as_default() as graph:
            nb['train'](10 ** 6, batch_size, z_dim, learning_rate, hyper['beta1'], dataset.get_batches,
                        dataset.shape, dataset.image_mode, print_every=10 ** 9, show_every=10 ** 9, run=run)
        print(f'{name}: {network_sizes(graph)}')
        print(f'{name}: {run.done} batches of {batch_size}, z of {z_dim} '
              f'({run.done * batch_size / dataset.shape[0]:.1f} epochs of {dataset.shape[0]:,} images) '
              f'in {(time.perf_counter() - start) / 60:.1f} min; '
              f'{EXPORTED_SAMPLES:,} inference-mode samples in {out}'
              + (f', the best of {EXPORTED_SAMPLES / args.keep_share:,.0f} draws by D' if args.keep_share < 1 else ''))
        with np.load(out) as samples:  # the project's own score; the face references need the data folder
            print(helper.score_samples(samples['images'], name, data_dir))
    print(f'judge: {judge(args, name, out)}')
