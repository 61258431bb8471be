#!/usr/bin/env python3
"""The project's one entry point. Each command first sets up .venv from requirements.txt
(once, and again whenever requirements.txt changes), then runs inside it:

    python3 run.py notebook [--quick]   execute dlnd_face_generation.ipynb headless; writes the
                                        executed notebook, its HTML and the sources it imports into
                                        submission/ and submission/submission.zip; training runs
                                        in runs/, samples in samples/ (--quick: all in quick_check/);
                                        --image-size 64: the faces at 64 x 64 (the digits stay 28)
    python3 run.py lab                  open the notebook in JupyterLab, in the project's kernel
    python3 run.py test [PYTEST ARGS]   run the linter (ruff) and the test suite
    python3 run.py bench [ARGS]         speed and time-to-quality figures (benchmarks/bench.py --help)
    python3 run.py sample RUN_DIR [-n N] [--out DIR] [--keep-share K]
                                        draw N images from the newest checkpoint in RUN_DIR (its
                                        meta graph alone, no notebook): DIR/samples.png, a grid,
                                        and DIR/samples.npz, uint8 N x SIZE x SIZE x C at the run's size;
                                        --keep-share K: of N / K draws, the N its discriminator rates most real
    python3 run.py score SAMPLES.npz [--dataset mnist|celeba] [--data DIR] [--fid]
                                        the quality score of generated images (facegen/score.py),
                                        with real images, noise and a mean image scored beside them;
                                        --fid: the standard FID too, its weights fetched once
    python3 run.py sweep SPEC [--storage postgresql://...]
                                        train and score a grid or search of hyperparameters (Optuna;
                                        facegen/sweep.py says how to write SPEC); results page in
                                        runs/sweeps/NAME/results.html. Ctrl-C, then the same
                                        command, continues it; run it on several machines with one
                                        --storage and they share the work
"""
import argparse
import glob
import hashlib
import os
import shutil
import subprocess
import sys
import time
import venv

from facegen.config import CELEBA, DATASETS, IMAGE_SIZE  # these: the standard library only, usable before .venv exists
from facegen.notebook import NOTEBOOK

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


SUBMITTED_SOURCES = ['helper.py', 'problem_unittests.py', 'facegen']  # what the notebook imports from the project


def earlier_runs(runs_dir):
    """Run folders under runs_dir that hold a checkpoint."""
    return sorted(os.path.dirname(path) for path in glob.glob(os.path.join(runs_dir, '*', 'checkpoint')))


def set_aside(runs):
    """Move run folders into runs/earlier-TIMESTAMP/, where they stay (and TensorBoard still shows them)."""
    aside = os.path.join(os.path.dirname(runs[0]), time.strftime('earlier-%Y%m%d-%H%M%S'))
    os.makedirs(aside)
    for run in runs:
        os.rename(run, os.path.join(aside, os.path.basename(run)))
    return aside


def as_parameter(path):
    # relative to the notebook's folder where it lies inside it: the parameters cell is in the HTML
    relative = os.path.relpath(os.path.abspath(path), ROOT)
    return path if relative.startswith(os.pardir) else relative


def run_notebook(quick, output_dir, runs_dir, samples_dir, resume=False, fresh=False, data_dir=None, image_size=None):
    import nbconvert
    import nbformat
    import papermill
    from nbconvert.preprocessors import CoalesceStreamsPreprocessor, TagRemovePreprocessor

    runs = earlier_runs(runs_dir)
    if runs and fresh:
        print(f'Earlier runs moved to {set_aside(runs)}; training starts over.')
    elif runs and not resume:
        sys.exit(f'{runs_dir} holds earlier runs: {", ".join(os.path.basename(run) for run in runs)}. Run again with '
                 '--resume to continue them, or with --fresh to move them into an earlier-* folder beside them and '
                 'start over. Nothing was changed.')
    os.makedirs(output_dir, exist_ok=True)
    executed = os.path.join(output_dir, os.path.basename(NOTEBOOK))
    html = os.path.splitext(executed)[0] + '.html'
    print(f'Executing {os.path.basename(NOTEBOOK)}{" (quick check)" if quick else ""} ...', flush=True)
    parameters = {'quick_run': quick, 'samples_dir': as_parameter(samples_dir), 'runs_dir': as_parameter(runs_dir),
                  **({'data_dir': as_parameter(data_dir)} if data_dir else {}),
                  **({'image_size': image_size} if image_size else {})}
    try:
        # the kernel's own log (a warning that it talks TCP on this machine) would cut into the progress bar
        papermill.execute_notebook(NOTEBOOK, executed, parameters=parameters, kernel_name=KERNEL_NAME, cwd=ROOT,
                                   progress_bar=True, extra_arguments=['--IPKernelApp.log_level=ERROR'])
    except papermill.PapermillExecutionError as err:
        sys.exit(f'A notebook cell failed ({err.ename}: {err.evalue}). The executed notebook, '
                 f'with the error in place, is in {executed}.')
    # A progress bar arrives as many small stream outputs: merge each run of them and keep only
    # what a live notebook would finally show (the last state of each bar).
    notebook, _ = CoalesceStreamsPreprocessor().preprocess(nbformat.read(executed, as_version=4), {})
    nbformat.write(notebook, executed)
    # The HTML is for a reader: it leaves out the cell papermill adds with this run's own settings
    # (the folders it was given), which the executed notebook keeps.
    exporter = nbconvert.HTMLExporter()
    exporter.register_preprocessor(TagRemovePreprocessor(remove_cell_tags={'injected-parameters'}), enabled=True)
    body, _ = exporter.from_notebook_node(notebook)
    with open(html, 'w', encoding='utf-8') as f:
        f.write(body)
    archive = package_submission(output_dir, [executed, html])
    print(f'Wrote {executed}\nWrote {html}\nWrote {archive} ({os.path.getsize(archive) / 2 ** 20:.1f} MiB): '
          f'the notebook, its HTML and {", ".join(SUBMITTED_SOURCES)}')


def package_submission(output_dir, exported):
    """Copy the sources the notebook imports beside its exports, and zip them all."""
    import zipfile
    names = [os.path.basename(path) for path in exported]
    for source in SUBMITTED_SOURCES:
        target = os.path.join(output_dir, source)
        if os.path.isdir(os.path.join(ROOT, source)):
            shutil.rmtree(target, ignore_errors=True)
            shutil.copytree(os.path.join(ROOT, source), target, ignore=shutil.ignore_patterns('__pycache__'))
            names += [os.path.join(source, name) for name in sorted(os.listdir(target))]
        else:
            shutil.copy2(os.path.join(ROOT, source), target)
            names.append(source)
    archive = os.path.join(output_dir, 'submission.zip')
    with zipfile.ZipFile(archive + '.partial', 'w', zipfile.ZIP_DEFLATED) as zf:
        for name in names:
            zf.write(os.path.join(output_dir, name), name)
    os.replace(archive + '.partial', archive)
    return archive


SAMPLE_BATCH = 1000  # images generated per sess.run: a huge -n is drawn and written in pieces
EXAMPLE_RUN_DIR = 'runs/mnist_batch4_z16_lr0.0005_beta0.5'  # the notebook's digits run, named in help and errors
GRID_IMAGES = 1024  # at most this many in samples.png (a 32 x 32 grid)


def sample(run_dir, n_images, output_dir, keep_share=1.0):
    import numpy as np

    import helper
    from facegen.config import KEEP_SHARES, is_keep_share
    from facegen.env import import_tensorflow
    from facegen.files import written_whole
    from facegen.runs import REALNESS, checkpoints, draw

    if n_images < 1:
        sys.exit(f'-n {n_images}: ask for at least 1 image.')
    if not is_keep_share(keep_share):
        sys.exit(f'--keep-share {keep_share:g}: give a share {KEEP_SHARES}.')
    if os.path.exists(output_dir) and not os.path.isdir(output_dir):
        sys.exit(f'--out {output_dir} is a file: give a folder, where samples.png and samples.npz will be written.')
    if not os.path.isdir(run_dir):
        sys.exit(f'{run_dir} is not a folder: give a run folder, such as {EXAMPLE_RUN_DIR}.')
    if not checkpoints(run_dir):
        sys.exit(f'No checkpoint in {run_dir}. Train with train(..., run=helper.TrainingRun({run_dir!r})) first; '
                 'the notebook keeps its runs in runs/.')
    tf = import_tensorflow()
    made_folder = not os.path.exists(output_dir)
    written = []  # scratch files, removed however the command ends
    try:
        checkpoint, sess, input_z, samples = restore_for_sampling(tf, run_dir)
        realness = (sess.graph.get_collection(REALNESS) or [None])[0]
        if keep_share < 1 and realness is None:
            sys.exit(f'--keep-share {keep_share:g}: {checkpoint} keeps no rating of its samples by the discriminator '
                     '(its train() passed none to run.attach, or it predates them). Sample it with --keep-share 1.')
        with sess:
            shape = (n_images,) + tuple(samples.shape.as_list()[1:])
            os.makedirs(output_dir, exist_ok=True)
            partial = os.path.join(output_dir, '.samples.npy.partial')
            written.append(partial)
            images = np.lib.format.open_memmap(partial, mode='w+', dtype=np.uint8, shape=shape)  # on disk, not in memory
            for start in generation_progress(range(0, n_images, SAMPLE_BATCH), n_images):
                count = min(SAMPLE_BATCH, n_images - start)
                images[start:start + count] = helper.generated_to_uint8(
                    draw(sess, samples, input_z, count, keep_share, realness))
        with written_whole(os.path.join(output_dir, 'samples.npz')) as partial, open(partial, 'wb') as f:
            np.savez_compressed(f, images=images)
        with written_whole(os.path.join(output_dir, 'samples.png')) as partial:
            helper.images_square_grid(np.asarray(images[:GRID_IMAGES]), 'L' if shape[-1] == 1 else 'RGB').save(
                partial, format='PNG')
        del images
    except OSError as err:
        sys.exit(f'Could not write the samples in {output_dir} ({err.strerror or err}): pass a writable folder with '
                 '--out, or free some disk space. Nothing was written.')
    except KeyboardInterrupt:
        sys.exit('Stopped: no samples were written.')
    finally:
        for path in written:
            if os.path.exists(path):
                os.remove(path)
        if made_folder and os.path.isdir(output_dir) and not os.listdir(output_dir):
            os.rmdir(output_dir)
    print(f'{n_images} samples from {checkpoint} written to {output_dir}/samples.png and samples.npz')


def restore_for_sampling(tf, run_dir):
    """(its path, a session, input_z, samples) of the newest checkpoint in run_dir that can be read, each tried
    in a graph of its own, with the generator's averaged weights where the run kept them; one line
    and exit where none can be read, or where they are not train()'s."""
    from facegen.average import use_saved_average
    from facegen.runs import checkpoints

    found, why = checkpoints(run_dir), None
    for i, checkpoint in enumerate(found):
        if why:
            print(f'{why}: trying the one before it.')
        if not os.path.exists(checkpoint + '.meta'):
            why = f'{checkpoint} has no meta graph ({os.path.basename(checkpoint)}.meta), which sampling needs'
            continue
        graph = tf.Graph()
        with graph.as_default():
            try:
                saver = tf.train.import_meta_graph(checkpoint + '.meta')
            except (tf.errors.OpError, ValueError, OSError) as err:  # google.protobuf's DecodeError is a ValueError
                why = f'Could not read the meta graph of {checkpoint} ({first_line(err)})'
                continue
            if not (tf.get_collection('input_z') and tf.get_collection('samples')):
                sys.exit(f'{checkpoint} was not written by train() with a helper.TrainingRun: its meta graph has no '
                         'generator to draw from (no input_z and samples collections). Give a run folder of the '
                         'notebook\'s.')
            sess = tf.Session(graph=graph)
            try:
                saver.restore(sess, checkpoint)
            except (tf.errors.NotFoundError, tf.errors.InvalidArgumentError) as err:
                sys.exit(f'{checkpoint} holds another network than its meta graph describes ({first_line(err)}): its '
                         'files come from different runs. Give the run folder they came from.')
            except (tf.errors.OpError, ValueError) as err:  # cut short, damaged bytes
                sess.close()
                why = f'Could not read the checkpoint {checkpoint} ({first_line(err)})'
                continue
            if i:
                print(f'Sampling from {checkpoint}, the newest checkpoint that could be read.')
            use_saved_average(sess)  # the generator's weights averaged over training, where the run kept them
            return checkpoint, sess, tf.get_collection('input_z')[0], tf.get_collection('samples')[0]
    sys.exit(f'{why}; it was the {"last" if len(found) > 1 else "only"} checkpoint in {run_dir}, so there is nothing '
             'to sample from. Train on in that folder to write a new one.')


def first_line(err):
    return (getattr(err, 'message', None) or str(err)).strip().splitlines()[0][:200]


def generation_progress(starts, n_images):
    from facegen.env import progress
    return progress(starts, desc='Generating', unit='batch', disable=n_images <= SAMPLE_BATCH)


def score(samples_path, dataset, data_dir, fetch_fid):
    from facegen import inception
    from facegen.download import DownloadError, Offline
    from facegen.score import score_samples

    images = read_samples(samples_path)
    weights = None
    try:
        weights = inception.weights_path(data_dir)
        if fetch_fid and not weights:
            weights = inception.fetch_weights(data_dir)
    except Offline:
        print('fid (Inception): skipped, its weights could not be fetched (no network).')
        weights = False
    except (DownloadError, inception.WeightsError) as err:
        sys.exit(str(err))
    try:
        print(score_samples(images, dataset, data_dir, fid=weights))
    except ValueError as err:
        sys.exit(str(err))
    except KeyboardInterrupt:
        sys.exit('Stopped: nothing half-made was kept (a cache is written only once it is whole); run again to score.')


def read_samples(path):
    """The `images` array of a samples file, or one line saying why it is not one."""
    import zipfile
    import zlib

    import numpy as np
    wanted = ('give an .npz holding `images`, uint8 N x 28 x 28 (x 3), as train() and run.py sample write them '
              '(np.savez(path, images=...))')
    if os.path.isdir(path) or not os.path.exists(path):
        sys.exit(f'{path} is {"a folder" if os.path.isdir(path) else "not there"}: {wanted}.')
    damaged = (OSError, ValueError, EOFError, zipfile.BadZipFile, zlib.error)
    try:
        loaded = np.load(path, allow_pickle=False)
        if not isinstance(loaded, np.lib.npyio.NpzFile):
            sys.exit(f'{path} holds one array (np.save\'s .npy format), not an .npz of named arrays: {wanted}.')
        with loaded:
            if 'images' not in loaded.files:
                sys.exit(f'{path} holds {", ".join(loaded.files) or "no arrays"}, not `images`: {wanted}.')
            return loaded['images']
    except damaged as err:
        # np.load takes what is not a NumPy file for a pickle, which it refuses: say what it is instead
        detail = 'not a NumPy file' if 'pickled' in str(err) else f'{type(err).__name__}: {str(err).splitlines()[0]}'
        sys.exit(f'{path} could not be read as samples: it is damaged, cut short or not an .npz ({detail}). '
                 f'Write it again: {wanted}.')


def sweep(spec_path, storage, data_dir, runs_dir, heartbeat, results_only, recover):
    from facegen import results
    from facegen.sweep import SpecError, Worker, interrupted_cleanly, open_study, read_spec
    from facegen.variants import SettingHadNoEffect

    try:
        spec = read_spec(spec_path)
        sweep_dir = os.path.join(runs_dir, 'sweeps', spec['name'])
        study = open_study(spec, storage, sweep_dir, heartbeat, results_only, recover)
    except SpecError as err:
        sys.exit(str(err))
    if not results_only:
        with interrupted_cleanly(spec):
            try:
                Worker(spec, study, sweep_dir, data_dir).run()
            except SettingHadNoEffect as err:
                sys.exit(f'{err} The trial was marked failed: the same command runs it again once that is fixed.')
            except Exception as err:  # Optuna has logged the trial's traceback above
                sys.exit(f'The sweep stopped: a trial failed with {type(err).__name__}: {err}\nIt was marked failed. '
                         'Fix its cause and run the same command: it runs that trial again and goes on.')
    page = results.write(study, sweep_dir)
    best, at = results.best(study)
    if best:
        settings = ", ".join(f"{k}={v}" for k, v in best.params.items()) or "the notebook's settings"
        print(f'Best{at}: point {best.point} ({settings}), quality {best.value:.3f}'
              + (f' (the median of {len(best.complete)} seeds)' if len(best.trials) > 1 else ''))
    print(f'Results: {page} (and results.md beside it)')


def lab(arguments):
    # JupyterLab refuses to start as root (as in a container) unless told that it may
    as_root = ['--allow-root'] if hasattr(os, 'geteuid') and os.geteuid() == 0 else []
    jupyter = os.path.join(os.path.dirname(sys.executable), 'jupyter')
    os.chdir(ROOT)
    os.execv(jupyter, [jupyter, 'lab', os.path.basename(NOTEBOOK), f'--ServerApp.root_dir={ROOT}'] + as_root + arguments)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest='command', required=True)
    nb = commands.add_parser('notebook', help='execute the notebook and export it to HTML')
    nb.add_argument('--quick', action='store_true',
                    help='train only a few batches, to check that every cell runs; writes into quick_check/ only, '
                         'its earlier quick runs moved aside')
    nb.add_argument('--output', help='folder for the submission (default: submission/; quick_check/ with --quick)')
    nb.add_argument('--data', help="the datasets' folder (default: the notebook's data/)")
    nb.add_argument('--runs', help='folder for the training runs (default: runs/; OUTPUT/runs with --quick)')
    nb.add_argument('--image-size', type=int, choices=CELEBA.sizes,
                    help=f'the side of the faces in pixels (default {IMAGE_SIZE}); the digits stay at {IMAGE_SIZE}')
    again = nb.add_mutually_exclusive_group()
    again.add_argument('--resume', action='store_true', help='continue the earlier training runs (after a stop)')
    again.add_argument('--fresh', action='store_true',
                       help='move the earlier training runs into runs/earlier-TIMESTAMP/ and start over')
    commands.add_parser('lab', help='open the notebook in JupyterLab (extra arguments go to jupyter lab)', add_help=False)
    commands.add_parser('test', help='run the test suite', add_help=False)
    commands.add_parser('bench', help='print speed and quality figures', add_help=False)
    draw = commands.add_parser('sample', help='draw images from a saved run, without the notebook')
    draw.add_argument('run_dir', help=f'a run folder holding checkpoints, such as {EXAMPLE_RUN_DIR}')
    draw.add_argument('-n', type=int, default=64, help='how many images (default 64)')
    draw.add_argument('--out', default='.', help='folder for samples.png and samples.npz (default: here)')
    draw.add_argument('--keep-share', type=float, default=1.0, metavar='K',
                      help='keep the N of N / K draws the run\'s discriminator rates most real (default 1: every draw)')
    rate = commands.add_parser('score', help='the quality score of generated images, with reference figures')
    rate.add_argument('samples', help='an .npz holding `images`, uint8 N x 28 x 28 (x 3) or N x 64 x 64 x 3: '
                      'samples/mnist.npz, or what run.py sample wrote')
    rate.add_argument('--dataset', choices=sorted(DATASETS), help='default: celeba for colour images, else mnist')
    rate.add_argument('--data', default=os.path.join(ROOT, 'data'),
                      help='the datasets\' folder: CelebA for the face references, the digit classifier\'s cache '
                           '(default: data/)')
    rate.add_argument('--fid', action='store_true', help='the standard FID too: fetch FID\'s Inception weights into '
                      'DATA/inception/ when they are not there (95 MB, once, checksum-verified)')
    tune = commands.add_parser('sweep', help='train and score a grid or search of hyperparameters (Optuna)')
    tune.add_argument('spec', help='a sweep spec (TOML), such as sweeps/example.toml')
    tune.add_argument('--storage', help='a database URL shared by workers on several machines, such as '
                      'postgresql://user:password@host/db (default: a journal file in the sweep\'s folder)')
    tune.add_argument('--data', default=os.path.join(ROOT, 'data'), help="the datasets' folder (default: data/)")
    tune.add_argument('--runs', default=os.path.join(ROOT, 'runs'),
                      help='the sweep keeps its trials\' run folders and results in RUNS/sweeps/NAME (default: runs/)')
    tune.add_argument('--heartbeat', type=int, default=60,
                      help='with --storage: seconds between a trial\'s heartbeats; a trial silent for twice that '
                           'is given to another worker (default 60)')
    tune.add_argument('--results-only', action='store_true', help='write the results page and train nothing')
    tune.add_argument('--recover-journal', action='store_true',
                      help='where the sweep\'s study.log has a damaged line: keep it as study.log.damaged-TIME and go '
                           'on from the lines before that one')
    args, rest = parser.parse_known_args()
    if rest and args.command not in ('lab', 'test', 'bench'):
        parser.error(f'unrecognized arguments: {" ".join(rest)}')

    ensure_venv()
    if args.command == 'notebook':
        # a quick check keeps everything it writes in its own folder, apart from a full run's
        output = args.output or os.path.join(ROOT, 'quick_check' if args.quick else 'submission')
        work = output if args.quick else ROOT
        run_notebook(args.quick, output, args.runs or os.path.join(work, 'runs'), os.path.join(work, 'samples'),
                     args.resume, args.fresh or (args.quick and not args.resume), args.data, args.image_size)
    elif args.command == 'lab':
        lab(rest)
    elif args.command == 'test':
        # the linter first: its findings are quick to read, and a failing one fails the run too
        lint = subprocess.call([os.path.join(os.path.dirname(sys.executable), 'ruff'), 'check', ROOT])
        sys.exit(subprocess.call([sys.executable, '-m', 'pytest'] + rest, cwd=ROOT) or lint)
    elif args.command == 'bench':
        sys.exit(subprocess.call([sys.executable, '-m', 'benchmarks.bench'] + rest, cwd=ROOT))
    elif args.command == 'sample':
        sample(args.run_dir, args.n, args.out, args.keep_share)
    elif args.command == 'score':
        score(args.samples, args.dataset, args.data, args.fid)
    elif args.command == 'sweep':
        sweep(args.spec, args.storage, args.data, args.runs, args.heartbeat, args.results_only, args.recover_journal)


if __name__ == '__main__':
    main()
