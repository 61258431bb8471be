#!/usr/bin/env python3
"""The project's one entry point. Each command first sets up .venv from requirements.txt
(once, and again whenever requirements.txt changes), then runs inside it:

    python3 run.py notebook [--quick]   execute dlnd_face_generation.ipynb headless; writes the
                                        executed notebook and its HTML export into submission/
    python3 run.py test [PYTEST ARGS]   run the linter (ruff) and the test suite
    python3 run.py bench [ARGS]         speed and time-to-quality figures (benchmarks/bench.py --help)
    python3 run.py sample RUN_DIR [-n N] [--out DIR]
                                        draw N images from the newest checkpoint in RUN_DIR (its
                                        meta graph alone, no notebook): DIR/samples.png, a grid,
                                        and DIR/samples.npz, uint8 N x 28 x 28 x C
"""
import argparse
import hashlib
import os
import shutil
import subprocess
import sys
import venv

from facegen.notebook import NOTEBOOK  # the standard library only: usable before .venv exists

ROOT = os.path.dirname(os.path.abspath(__file__))
VENV = os.path.join(ROOT, '.venv')
VENV_PYTHON = os.path.join(VENV, 'Scripts' if os.name == 'nt' else 'bin',
                           'python.exe' if os.name == 'nt' else 'python')
REQUIREMENTS = os.path.join(ROOT, 'requirements.txt')
KERNEL_NAME = 'facegen'  # a kernel of our own, so a user-wide "python3" kernel can't run it elsewhere


def ensure_venv():
    """Create .venv and install the pinned requirements, then re-run this command inside it."""
    if os.path.realpath(sys.prefix) == os.path.realpath(VENV):
        return
    with open(REQUIREMENTS, 'rb') as f:
        wanted = hashlib.sha256(f.read()).hexdigest()
    stamp = os.path.join(VENV, 'requirements.sha256')
    installed = open(stamp).read().strip() if os.path.exists(stamp) else None
    if installed != wanted:
        if not os.path.exists(VENV_PYTHON):
            print(f'Creating {VENV} ...', flush=True)
            venv.create(VENV, with_pip=True)
        print('Installing requirements.txt into .venv (the first time takes a few minutes) ...', flush=True)
        subprocess.check_call([VENV_PYTHON, '-m', 'pip', 'install', '--quiet', '--disable-pip-version-check',
                               '-r', REQUIREMENTS])
        subprocess.check_call([VENV_PYTHON, '-m', 'ipykernel', 'install', '--sys-prefix',
                               '--name', KERNEL_NAME, '--display-name', 'Python (face generation)'],
                              stdout=subprocess.DEVNULL)
        with open(stamp, 'w') as f:
            f.write(wanted)
    os.execv(VENV_PYTHON, [VENV_PYTHON, os.path.abspath(__file__)] + sys.argv[1:])


def run_notebook(quick, output_dir, resume=False, data_dir=None):
    import nbconvert
    import nbformat
    import papermill
    from nbconvert.preprocessors import CoalesceStreamsPreprocessor

    os.makedirs(output_dir, exist_ok=True)
    runs_dir = os.path.join(output_dir, 'runs')
    if not resume and os.path.isdir(runs_dir):
        shutil.rmtree(runs_dir)  # a fresh run trains from scratch; --resume continues these instead
    executed = os.path.join(output_dir, os.path.basename(NOTEBOOK))
    html = os.path.splitext(executed)[0] + '.html'
    print(f'Executing {os.path.basename(NOTEBOOK)}{" (quick check)" if quick else ""} ...', flush=True)
    try:
        papermill.execute_notebook(NOTEBOOK, executed,
                                   parameters={'quick_run': quick, 'samples_dir': os.path.join(output_dir, 'samples'),
                                               'runs_dir': runs_dir, **({'data_dir': data_dir} if data_dir else {})},
                                   kernel_name=KERNEL_NAME, cwd=ROOT, progress_bar=True)
    except papermill.PapermillExecutionError as err:
        sys.exit(f'A notebook cell failed ({err.ename}: {err.evalue}). The executed notebook, '
                 f'with the error in place, is in {executed}.')
    # A progress bar arrives as many small stream outputs: merge each run of them and keep only
    # what a live notebook would finally show (the last state of each bar).
    notebook, _ = CoalesceStreamsPreprocessor().preprocess(nbformat.read(executed, as_version=4), {})
    nbformat.write(notebook, executed)
    body, _ = nbconvert.HTMLExporter().from_notebook_node(notebook)
    with open(html, 'w', encoding='utf-8') as f:
        f.write(body)
    print(f'Wrote {executed}\nWrote {html}')


def sample(run_dir, n_images, output_dir):
    import numpy as np

    import helper
    from facegen.env import import_tensorflow
    tf = import_tensorflow()

    latest = tf.train.latest_checkpoint(run_dir) if os.path.isdir(run_dir) else None
    if latest is None:
        sys.exit(f'No checkpoint in {run_dir}. Train with train(..., run=helper.TrainingRun({run_dir!r})) first; '
                 'the notebook keeps its runs in runs/ (submission/runs/ after `run.py notebook`).')
    with tf.Graph().as_default(), tf.Session() as sess:
        tf.train.import_meta_graph(latest + '.meta').restore(sess, latest)
        input_z, samples = tf.get_collection('input_z')[0], tf.get_collection('samples')[0]
        z = np.random.uniform(-1, 1, size=(n_images, input_z.shape[-1]))
        images = helper.generated_to_uint8(sess.run(samples, {input_z: z}))

    os.makedirs(output_dir, exist_ok=True)
    np.savez_compressed(os.path.join(output_dir, 'samples.npz'), images=images)
    helper.images_square_grid(images, 'L' if images.shape[-1] == 1 else 'RGB').save(
        os.path.join(output_dir, 'samples.png'))
    print(f'{n_images} samples from {latest} written to {output_dir}/samples.png and samples.npz')


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest='command', required=True)
    nb = commands.add_parser('notebook', help='execute the notebook and export it to HTML')
    nb.add_argument('--quick', action='store_true', help='train only a few batches: checks that every cell runs')
    nb.add_argument('--output', default=os.path.join(ROOT, 'submission'), help='folder for the results')
    nb.add_argument('--data', help="the datasets' folder (default: the notebook's data/)")
    nb.add_argument('--resume', action='store_true',
                    help='continue the training runs in OUTPUT/runs (after a stop) instead of starting over')
    commands.add_parser('test', help='run the test suite', add_help=False)
    commands.add_parser('bench', help='print speed and quality figures', add_help=False)
    draw = commands.add_parser('sample', help='draw images from a saved run, without the notebook')
    draw.add_argument('run_dir', help='a run folder holding checkpoints, such as runs/mnist_batch4_lr0.0005_beta0.5')
    draw.add_argument('-n', type=int, default=64, help='how many images (default 64)')
    draw.add_argument('--out', default='.', help='folder for samples.png and samples.npz (default: here)')
    args, rest = parser.parse_known_args()
    if rest and args.command not in ('test', 'bench'):
        parser.error(f'unrecognized arguments: {" ".join(rest)}')

    ensure_venv()
    if args.command == 'notebook':
        run_notebook(args.quick, args.output, args.resume, args.data)
    elif args.command == 'test':
        # the linter first: its findings are quick to read, and a failing one fails the run too
        lint = subprocess.call([os.path.join(os.path.dirname(sys.executable), 'ruff'), 'check', ROOT])
        sys.exit(subprocess.call([sys.executable, '-m', 'pytest'] + rest, cwd=ROOT) or lint)
    elif args.command == 'bench':
        sys.exit(subprocess.call([sys.executable, '-m', 'benchmarks.bench'] + rest, cwd=ROOT))
    elif args.command == 'sample':
        sample(args.run_dir, args.n, args.out)


if __name__ == '__main__':
    main()
