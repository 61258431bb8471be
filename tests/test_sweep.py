"""run.py sweep: real trials of the notebook's train() on the bundled digits, a real Optuna study in a
journal file, and a real PostgreSQL server (Debian's package) started here on 127.0.0.1."""
import glob
import os
import pathlib
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

import numpy as np
import optuna
import pytest
from optuna.trial import TrialState
from scipy.stats import spearmanr
from support import ROOT, RUN_PY

from facegen.sweep import SpecError, read_spec


@pytest.fixture(scope='module')
def data_dir(shared_mnist_dir):
    return shared_mnist_dir


def write_spec(folder, text, name='grid'):
    path = os.path.join(folder, f'{name}.toml')
    with open(path, 'w') as f:
        f.write(text)
    return path


def sweep_command(spec, data_dir, runs, *extra):
    return [sys.executable, RUN_PY, 'sweep', spec, '--data', data_dir, '--runs', str(runs), *extra]


def table_rows(results_md):
    """The rows of the results table, without its header and separator lines."""
    return [line for line in results_md.read_text().splitlines() if line.startswith('|')][2:]


def load(spec_name, storage):
    return optuna.load_study(study_name=spec_name, storage=storage)


def journal(runs, name):
    return optuna.storages.JournalStorage(optuna.storages.journal.JournalFileBackend(
        os.path.join(runs, 'sweeps', name, 'study.log')))


def run_sweep(data_dir, tmp_path, text, name):
    """Run the sweep of spec `text` to its end; (its stdout, its complete trials, its folder)."""
    spec = write_spec(tmp_path, text, name)
    done = subprocess.run(sweep_command(spec, data_dir, tmp_path / 'runs'), capture_output=True, text=True, cwd=ROOT)
    assert done.returncode == 0, done.stderr[-3000:]
    complete = load(name, journal(tmp_path / 'runs', name)).get_trials(states=(TrialState.COMPLETE,))
    return done.stdout, complete, tmp_path / 'runs' / 'sweeps' / name


def test_a_grid_runs_each_point_once_and_writes_its_results_page(data_dir, tmp_path):
    spec = write_spec(tmp_path, 'datasets = ["mnist"]\nbudget_batches = 150\nprune = false\nreports = 0\n'
                                '[grid]\nlearning_rate = [0.0005, 0.002]\nalpha = [0.1, 0.2]\n')
    done = subprocess.run(sweep_command(spec, data_dir, tmp_path / 'runs'), capture_output=True, text=True, cwd=ROOT)
    assert done.returncode == 0, done.stderr[-3000:]
    study = load('grid', journal(tmp_path / 'runs', 'grid'))
    complete = study.get_trials(states=(TrialState.COMPLETE,))
    assert sorted(t.user_attrs['point'] for t in complete) == [0, 1, 2, 3] and len(study.trials) == 4
    assert {(t.params['learning_rate'], t.params['alpha']) for t in complete} == {
        (0.0005, 0.1), (0.0005, 0.2), (0.002, 0.1), (0.002, 0.2)}
    assert all(0 < t.value < 1 for t in complete) and len({t.value for t in complete}) == 4, "scored, each its own"
    folder = tmp_path / 'runs' / 'sweeps' / 'grid'
    for point in range(4):
        run = folder / f'point-{point:03d}' / 'mnist'
        assert (run / 'model.ckpt-150.index').exists() and (run / 'samples.png').exists(), 'each run folder is kept'
    rows = table_rows(folder / 'results.md')
    assert len(rows) == 4 and rows[0].startswith('| ★') and '★' not in ''.join(rows[1:])
    qualities = [float(row.split(' | ')[4]) for row in rows]
    assert qualities == sorted(qualities, reverse=True), 'best first'
    assert (folder / 'scores.png').stat().st_size > 1000 and 'pictures/point-' in (folder / 'results.html').read_text()

    again = subprocess.run(sweep_command(spec, data_dir, tmp_path / 'runs'), capture_output=True, text=True, cwd=ROOT)
    assert again.returncode == 0 and len(load('grid', journal(tmp_path / 'runs', 'grid')).trials) == 4, \
        'a finished sweep run again trains nothing'


def test_each_point_is_trained_with_each_seed_and_scored_by_their_median(data_dir, tmp_path):
    _, complete, folder = run_sweep(data_dir, tmp_path, 'datasets = ["mnist"]\nbudget_batches = 60\nprune = false\nreports = 0\n'
                                    'seeds = 2\n[[points]]\n[[points]]\nlearning_rate = 0.002\n[[points]]\n', 'seeds')
    by_key = {(t.user_attrs['point'], t.user_attrs['seed']): t.value for t in complete}
    assert sorted(by_key) == [(p, s) for p in range(3) for s in range(2)] and len(complete) == 6
    assert by_key[0, 0] == by_key[2, 0] and by_key[0, 1] == by_key[2, 1], 'a seed trains the same run again'
    assert by_key[0, 0] != by_key[0, 1], 'two seeds are two different runs'
    assert all((folder / f'point-{p:03d}' / f'seed-{s}' / 'mnist' / 'samples.png').exists() for p, s in by_key)
    rows = table_rows(folder / 'results.md')
    assert len(rows) == 3, 'one row per point, not per seed'
    for row in rows:
        cells = row.split(' | ')
        point, quality, spread = int(cells[1]), float(cells[3]), cells[4]
        low, high = sorted([by_key[point, 0], by_key[point, 1]])
        assert abs(quality - (low + high) / 2) < 1e-3 and spread == f'2: {low:.3f}-{high:.3f}'
    assert '| - |' in rows[0] + rows[1] + rows[2], "a point that leaves learning_rate out shows the notebook's"
    assert "-: the notebook's own value (learning_rate 0.0005)." in (folder / 'results.md').read_text()


def test_ctrl_c_or_sigterm_stops_the_sweep_and_the_same_command_continues_it(data_dir, tmp_path):
    """SIGTERM, what a batch scheduler sends a job it preempts, raises the KeyboardInterrupt that Ctrl-C does."""
    spec = write_spec(tmp_path, 'datasets = ["mnist"]\nbudget_batches = 200\nprune = false\nreports = 0\n'
                                '[grid]\nbeta1 = [0.5, 0.3]\n')
    runs = tmp_path / 'runs'
    first = runs / 'sweeps' / 'grid' / 'point-000' / 'mnist'
    worker = subprocess.Popen(sweep_command(spec, data_dir, runs), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                              text=True, cwd=ROOT)
    deadline = time.monotonic() + 240
    while not (first / 'progress' / '00000100.png').exists():  # a picture every 100 batches
        assert worker.poll() is None and time.monotonic() < deadline, 'the first trial never reached batch 100'
        time.sleep(0.2)
    worker.send_signal(signal.SIGTERM)
    output = worker.communicate(timeout=120)[0]
    assert worker.returncode == 130, output[-3000:]
    assert 'Run the same command to continue' in output
    stopped_at = sorted(int(p.split('-')[-1].split('.')[0]) for p in glob.glob(str(first / 'model.ckpt-*.index')))
    assert stopped_at and 100 <= stopped_at[-1] < 200, 'Ctrl-C saved a checkpoint part way'

    done = subprocess.run(sweep_command(spec, data_dir, runs), capture_output=True, text=True, cwd=ROOT)
    assert done.returncode == 0, done.stderr[-3000:]
    assert f'Resuming from {first} at batch {stopped_at[-1]}' in done.stdout
    study = load('grid', journal(runs, 'grid'))
    assert sorted(t.user_attrs['point'] for t in study.get_trials(states=(TrialState.COMPLETE,))) == [0, 1]
    assert (first / 'model.ckpt-200.index').exists()


def test_a_killed_local_worker_leaves_its_trial_to_the_next_one(data_dir, tmp_path):
    """A journal file has no heartbeats: the next worker on the machine sees the process is gone.
    The only test here that keeps a trial's reports: the retry resumes from a report's checkpoint (batch 90)."""
    spec = write_spec(tmp_path, 'datasets = ["mnist"]\nbudget_batches = 150\nprune = false\n'
                                '[grid]\nbeta1 = [0.5, 0.3]\n')
    runs = tmp_path / 'runs'
    worker = subprocess.Popen(sweep_command(spec, data_dir, runs), stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL, cwd=ROOT)
    deadline = time.monotonic() + 240
    while not (runs / 'sweeps' / 'grid' / 'point-000' / 'mnist' / 'progress' / '00000100.png').exists():
        assert worker.poll() is None and time.monotonic() < deadline, 'the first trial never reached batch 100'
        time.sleep(0.2)
    worker.send_signal(signal.SIGKILL)
    worker.wait()
    killed = load('grid', journal(runs, 'grid')).get_trials(states=(TrialState.RUNNING,))
    assert [t.user_attrs['point'] for t in killed] == [0], 'left running, as a killed process leaves it'

    done = subprocess.run(sweep_command(spec, data_dir, runs), capture_output=True, text=True, cwd=ROOT)
    assert done.returncode == 0, done.stderr[-3000:]
    study = load('grid', journal(runs, 'grid'))
    assert study.trials[killed[0].number].state == TrialState.FAIL
    assert sorted(t.user_attrs['point'] for t in study.get_trials(states=(TrialState.COMPLETE,))) == [0, 1]
    assert 'Resuming from' in done.stdout, 'the retry continues from the killed run\'s checkpoint'


def test_a_trial_stopped_by_an_error_runs_again_once_its_cause_is_fixed(data_dir, tmp_path):
    spec = write_spec(tmp_path, 'datasets = ["mnist"]\nbudget_batches = 20\nprune = false\nreports = 0\n'
                                '[grid]\nbeta1 = [0.5, 0.3]\n')
    runs = tmp_path / 'runs'
    blocked = runs / 'sweeps' / 'grid' / 'point-000' / 'mnist'
    blocked.parent.mkdir(parents=True)
    blocked.write_text('a file where the run folder goes')  # a folder the trial cannot train in

    stopped = subprocess.run(sweep_command(spec, data_dir, runs), capture_output=True, text=True, cwd=ROOT)
    assert stopped.returncode == 1, stopped.stderr[-3000:]
    last_line = stopped.stderr.strip().splitlines()[-1]
    assert last_line.endswith('Fix its cause and run the same command: it runs that trial again and goes on.')
    assert f'a trial failed with RuntimeError: Could not write a checkpoint or picture in {blocked}' in stopped.stderr
    assert 'nothing had been saved there yet' in stopped.stderr, 'no checkpoint is named where there is none'
    study = load('grid', journal(runs, 'grid'))
    assert [t.state for t in study.trials] == [TrialState.FAIL, TrialState.WAITING], 'it stopped at the failed trial'

    blocked.unlink()
    done = subprocess.run(sweep_command(spec, data_dir, runs), capture_output=True, text=True, cwd=ROOT)
    assert done.returncode == 0, done.stderr[-3000:]
    assert 'Trial 0 stopped with an error in an earlier run: it runs again.' in done.stdout
    study = load('grid', journal(runs, 'grid'))
    complete = study.get_trials(states=(TrialState.COMPLETE,))
    assert sorted(t.user_attrs['point'] for t in complete) == [0, 1] and len(study.trials) == 3
    assert (blocked / 'model.ckpt-20.index').exists()


def test_a_spec_with_a_mistake_is_named(tmp_path):
    cases = {
        'datasets = ["mnist"]\n[grid]\nbeta1 = [0.5]\n': 'budget_batches = N or budget_minutes = M',
        'budget_batches = 5\n[grid]\nlearning_rat = [0.1]\n': "'learning_rat' is not a hyperparameter",
        'budget_batches = 5\n[grid]\nnetwork = ["big"]\n': "network = 'big'",
        'budget_batches = 5\n': 'say what to sweep',
        'budget_batches = 5\n[search]\nbeta1 = {low = 0.1, high = 0.9}\n': 'trials = N',
        'budget_batches = [': 'could not be read',
        'budget_batches = 5\nseeds = 0\n[grid]\nbeta1 = [0.5]\n': 'seeds = 0',
        'budget_batches = 5\nseeds = [1, 1]\n[grid]\nbeta1 = [0.5]\n': 'seeds = [1, 1]',
        'budget_batches = 5\nseeds = 2\ntrials = 3\n[search]\nbeta1 = {low = 0.1, high = 0.9}\n': 'draws new points',
        'datasets = ["mnist", "celeba"]\nbudget_batches = {mnist = 5}\n[grid]\nbeta1 = [0.5]\n': 'names each of',
        # misspelt keys anywhere, with a guess
        'budget_batches = 5\nseed = 3\n[grid]\nbeta1 = [0.5]\n': "'seed' is not a key of a sweep spec: did you mean 'seeds'",
        'budget_batches = 5\n[grid]\nbeta1 = [0.5]\n[fixed]\nalph = 0.1\n': "'alph' .* did you mean 'alpha'",
        'budget_batches = 5\ntrials = 2\n[search]\nbeta1 = {low = 0.1, hi = 0.9}\n': "'hi' .* did you mean 'high'",
        # values train() would refuse, found before any trial
        'budget_batches = 5\n[grid]\nlearning_rate = [0.001, -0.001]\n': 'learning_rate = -0.001: it takes above 0',
        'budget_batches = 5\n[[points]]\nbatch_size = 0\n': 'batch_size = 0: it takes a whole number of at least 1',
        'budget_batches = 5\n[grid]\nbatch_size = [4.5]\n': 'batch_size = 4.5',
        'budget_batches = 5\n[grid]\nbeta1 = [1.0]\n': 'beta1 = 1.0',
        'budget_batches = 5\ntrials = 2\n[search]\nlearning_rate = {low = 0.01, high = 0.001}\n': 'is above high',
        'budget_batches = 0\n[grid]\nbeta1 = [0.5]\n': 'budget_batches = 0',
        # a setting that needs another
        'budget_batches = 5\n[grid]\nlatent_classes = [0, 10]\nclass_information = [0.2]\n':
            'class_information = 0.2 with latent_classes 0',
        'budget_batches = 5\n[[points]]\nlatent_classes = 10\n[[points]]\nclass_information = 1.0\n':
            'class_information = 1 with latent_classes 0',
        'budget_minutes = -1\n[grid]\nbeta1 = [0.5]\n': 'budget_minutes = -1',
        # nothing to do is a mistake too, not an empty results page
        'budget_batches = 5\n[grid]\n': r'\[grid\] is empty',
        'budget_batches = 5\n[grid]\nbeta1 = []\n': 'one or more values',
        'budget_batches = 5\n[grid]\nbeta1 = 0.5\n': 'give a list',
        'budget_batches = 5\ntrials = 0\n[search]\nbeta1 = {low = 0.1, high = 0.9}\n': r'trials = N.*not 0',
        'budget_batches = 5\ntrials = 3\n[search]\n': r'\[search\] is empty',
        # a curve of budgets
        'budget_batches = [20, 5]\n[grid]\nbeta1 = [0.5]\n': "a curve's budgets rise",
        'budget_batches = []\n[grid]\nbeta1 = [0.5]\n': "a curve's budgets rise",
        'datasets = ["mnist", "celeba"]\nbudget_batches = {mnist = [5, 10], celeba = [5]}\n[grid]\nbeta1 = [0.5]\n':
            'every dataset has as many',
        'budget_minutes = [1, "2"]\n[grid]\nbeta1 = [0.5]\n': 'minutes above 0',
        'budget_batches = [5, 10]\nprune = true\n[grid]\nbeta1 = [0.5]\n': 'a short run would be compared',
        'budget_batches = [5, 10]\ntrials = 2\n[search]\nbeta1 = {low = 0.1, high = 0.9}\n': 'give a \\[search\\] one budget',
    }
    for text, message in cases.items():
        with pytest.raises(SpecError, match=message if '\\' in message or '.*' in message else message.replace('[', r'\[')):
            read_spec(write_spec(tmp_path, text, 'bad'))


def test_a_spec_that_fails_its_check_leaves_nothing_behind(data_dir, tmp_path):
    spec = write_spec(tmp_path, 'datasets = ["mnist"]\nbudget_batches = 5\n[grid]\nbatch_size = [0]\n', 'zero')
    failed = subprocess.run(sweep_command(spec, data_dir, tmp_path / 'runs'), capture_output=True, text=True, cwd=ROOT)
    assert failed.returncode != 0 and 'Traceback' not in failed.stderr
    assert failed.stderr.strip().count('\n') == 0 and 'batch_size = 0' in failed.stderr, 'one line'
    assert not (tmp_path / 'runs').exists(), 'no study, no folder'


def test_a_database_that_cannot_be_reached_is_named_without_its_password(data_dir, tmp_path):
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        port = s.getsockname()[1]  # nothing listens there once the socket is closed
    spec = write_spec(tmp_path, 'budget_batches = 5\n[grid]\nbeta1 = [0.5]\n')
    failed = subprocess.run(sweep_command(spec, data_dir, tmp_path / 'runs', '--storage',
                                          f'postgresql://me:secret@127.0.0.1:{port}/sweeps'),
                            capture_output=True, text=True, cwd=ROOT)
    assert failed.returncode != 0
    assert f"database postgresql://me:***@127.0.0.1:{port}/sweeps could not be opened" in failed.stderr
    assert 'secret' not in failed.stderr and 'Traceback' not in failed.stderr


def test_the_2017_table_reads_as_39_points():
    spec = read_spec(os.path.join(ROOT, 'sweeps', 'student_2017.toml'))
    assert spec['mode'] == 'points' and len(spec['points']) == 39
    assert spec['points'][0] == {'generator_dropout': 0.0, 'discriminator_dropout': 0.0, 'label_smoothing': 0.0,
                                 'alpha': 0.2, 'batch_size': 128, 'z_dim': 100, 'learning_rate': 0.0005, 'beta1': 0.5}


# ------------------------------------------------------------------ several workers on PostgreSQL

def postgres_binaries():
    found = sorted(glob.glob('/usr/lib/postgresql/*/bin/initdb'))
    return os.path.dirname(found[-1]) if found else None


@pytest.fixture
def postgres():
    """A PostgreSQL server of its own on 127.0.0.1, stopped and removed at the end; its URL."""
    binaries = postgres_binaries()
    if binaries is None:
        pytest.skip('PostgreSQL is not installed here (apt-get install postgresql): the multi-worker test needs it')
    # outside pytest's own temporary folders, which the server's user may not enter
    folder = pathlib.Path(tempfile.mkdtemp(prefix='facegen-postgres-'))
    as_server = []
    if os.geteuid() == 0:  # the server refuses to run as root
        shutil.chown(folder, 'postgres')
        as_server = ['runuser', '-u', 'postgres', '--']
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        port = s.getsockname()[1]
    subprocess.run(as_server + [f'{binaries}/initdb', '-D', str(folder / 'db'), '--auth=trust', '-U', 'sweeper'],
                   check=True, capture_output=True)
    subprocess.run(as_server + [f'{binaries}/pg_ctl', '-D', str(folder / 'db'), '-w', '-l', str(folder / 'log'),
                                '-o', f'-p {port} -k {folder} -c listen_addresses=127.0.0.1', 'start'],
                   check=True, capture_output=True)
    try:
        yield f'postgresql://sweeper@127.0.0.1:{port}/postgres'
    finally:
        subprocess.run(as_server + [f'{binaries}/pg_ctl', '-D', str(folder / 'db'), '-m', 'immediate', 'stop'],
                       capture_output=True)
        shutil.rmtree(folder, ignore_errors=True)


def test_two_workers_share_a_grid_and_a_killed_workers_trial_is_retried(data_dir, tmp_path, postgres):
    spec = write_spec(tmp_path, 'datasets = ["mnist"]\nbudget_batches = 100\nprune = false\nreports = 0\n'
                                '[grid]\nlearning_rate = [0.0005, 0.001]\nbeta1 = [0.3, 0.5]\n')
    # each worker in a folder of its own, as on two machines
    workers = [subprocess.Popen(sweep_command(spec, data_dir, tmp_path / name, '--storage', postgres, '--heartbeat', '2'),
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd=ROOT)
               for name in ('a', 'b')]
    victim = f':{workers[1].pid}'
    deadline = time.monotonic() + 300

    def trials_of_victim(state):
        try:
            trials = load('grid', postgres).get_trials(deepcopy=False, states=(state,))
        except KeyError:  # no study yet: the workers are starting
            return []
        return [t for t in trials if t.user_attrs.get('worker', '').endswith(victim)]

    while not (trials_of_victim(TrialState.COMPLETE) and trials_of_victim(TrialState.RUNNING)):
        assert workers[1].poll() is None and time.monotonic() < deadline, 'worker b never finished a trial and began another'
        time.sleep(0.5)
    killed = trials_of_victim(TrialState.RUNNING)[0]
    workers[1].send_signal(signal.SIGKILL)
    output = workers[0].communicate(timeout=300)[0]
    workers[1].wait()
    assert workers[0].returncode == 0, output[-3000:]

    study = load('grid', postgres)  # the results outlive both workers
    complete = study.get_trials(states=(TrialState.COMPLETE,))
    assert sorted(t.user_attrs['point'] for t in complete) == list(range(4)), 'every point once, none twice'
    assert study.trials[killed.number].state == TrialState.FAIL
    retry = [t for t in complete if t.system_attrs.get('failed_trial') == killed.number]
    assert len(retry) == 1 and retry[0].user_attrs['point'] == killed.user_attrs['point']
    assert not retry[0].user_attrs['worker'].endswith(victim), 'the surviving worker ran it'
    trained = [t for t in study.trials if 'seconds' in t.user_attrs or t.number == killed.number]
    assert len(trained) == 5, 'four points and the one killed part way: nothing ran twice'

    page = subprocess.run(sweep_command(spec, data_dir, tmp_path / 'c', '--storage', postgres, '--results-only'),
                          capture_output=True, text=True, cwd=ROOT)
    assert page.returncode == 0, page.stderr[-3000:]
    rows = table_rows(tmp_path / 'c' / 'sweeps' / 'grid' / 'results.md')
    assert len(rows) == 4, 'a third machine draws the page from the database alone, pictures included'
    assert len(list((tmp_path / 'c' / 'sweeps' / 'grid' / 'pictures').glob('*.png'))) == 4


def test_a_search_runs_its_number_of_trials_within_its_ranges(data_dir, tmp_path):
    spec = write_spec(tmp_path, 'datasets = ["mnist"]\nbudget_batches = 20\nprune = false\nreports = 0\ntrials = 3\n'
                                '[search]\nlearning_rate = {low = 0.0001, high = 0.002, log = true}\nbatch_size = [4, 8]\n',
                      'search')
    done = subprocess.run(sweep_command(spec, data_dir, tmp_path / 'runs'), capture_output=True, text=True, cwd=ROOT)
    assert done.returncode == 0, done.stderr[-3000:]
    complete = load('search', journal(tmp_path / 'runs', 'search')).get_trials(states=(TrialState.COMPLETE,))
    assert len(complete) == 3 and sorted(t.user_attrs['point'] for t in complete) == [0, 1, 2]
    assert all(0.0001 <= t.params['learning_rate'] <= 0.002 and t.params['batch_size'] in (4, 8) for t in complete)


def test_a_sweep_of_the_notebooks_own_point_has_no_empty_plot(data_dir, tmp_path):
    _, _, folder = run_sweep(data_dir, tmp_path, 'datasets = ["mnist"]\nbudget_batches = 5\nprune = false\nreports = 0\n'
                             '[[points]]\n', 'own')
    assert not (folder / 'scores.png').exists(), 'nothing was swept, so nothing is plotted'
    page = (folder / 'results.html').read_text()
    assert 'scores.png' not in page and '1 point finished' in page and 'pictures/point-000-mnist.png' in page


def test_a_curve_trains_each_point_and_seed_at_each_budget_in_runs_of_their_own(data_dir, tmp_path):
    stdout, complete, folder = run_sweep(data_dir, tmp_path, 'datasets = ["mnist"]\nbudget_batches = [5, 60]\nseeds = [1]\n'
                                         'reports = 0\n[[points]]\n[[points]]\nlearning_rate = 0.002\n', 'curve')
    keys = sorted((t.user_attrs['point'], t.user_attrs['budget'], t.user_attrs['seed']) for t in complete)
    assert keys == [(p, b, 1) for p in range(2) for b in range(2)], 'no pruning, every run once'
    for point, budget, seed in keys:
        run = folder / f'point-{point:03d}' / f'seed-{seed}' / f'budget-{budget}' / 'mnist'
        batches = (5, 60)[budget]
        assert (run / f'model.ckpt-{batches}.index').exists(), 'each budget is a run of its own, not a resumed one'
        assert len(np.load(run / 'losses.npy')) == batches
    rows = table_rows(folder / 'results.md')
    cells = [row.split(' | ') for row in rows]
    assert [(int(c[1]), c[2]) for c in cells] == [(0, '5 batches'), (0, '60 batches'), (1, '5 batches'), (1, '60 batches')]
    for budget in ('5 batches', '60 batches'):
        at_budget = [c for c in cells if c[2] == budget]
        marked = [c for c in at_budget if c[0] == '| ★']
        assert len(marked) == 1 and float(marked[0][4]) == max(float(c[4]) for c in at_budget), 'the best at each budget'
    page = (folder / 'results.html').read_text()
    assert 'at 2 budgets each' in page and 'pictures/point-001-budget-1-mnist.png' in page
    best = max((c for c in cells if c[2] == '60 batches'), key=lambda c: float(c[4]))
    assert f'Best at 60 batches: point {int(best[1])} ' in stdout, 'the best of the longest runs'

    # benchmarks/curves.py: an outside judge (here a script of a few lines) run once on each run's samples
    judge, calls = tmp_path / 'judge.py', tmp_path / 'calls.txt'
    judge.write_text('import json, sys\nimport numpy as np\n'
                     f'open({str(calls)!r}, "a").write(sys.argv[2] + "\\n")\n'
                     'images = np.load(sys.argv[2])["images"]\n'
                     'print(json.dumps({"brightness": float(images.mean()) / 255, "n": len(images)}))\n')
    command = [sys.executable, '-m', 'benchmarks.curves', str(tmp_path / 'curve.toml'), '--runs', str(tmp_path / 'runs'),
               '--judge', str(judge)]
    for _ in range(2):
        curves = subprocess.run(command, capture_output=True, text=True, cwd=ROOT)
        assert curves.returncode == 0, curves.stderr[-3000:]
    assert len(calls.read_text().splitlines()) == 4, 'each run judged once, its figures kept beside its samples'
    lines = [line for line in curves.stdout.splitlines() if line.startswith('| 1 |')]
    samples = folder / 'point-001' / 'seed-1' / 'budget-1' / 'mnist' / 'samples.npz'
    assert len(lines) == 2 and lines[1].split(' | ')[5].startswith(f'{np.load(samples)["images"].mean() / 255:.3f} [')
    brightness = [np.load(folder / f'point-{t.user_attrs["point"]:03d}' / f'seed-{t.user_attrs["seed"]}'
                          / f'budget-{t.user_attrs["budget"]}' / 'mnist' / 'samples.npz')['images'].mean() for t in complete]
    agreement = spearmanr([t.value for t in complete], brightness)[0]
    assert f'over 4 runs (Spearman; 1: the same order): mnist brightness {agreement:.2f}' in curves.stdout
    assert (folder / 'curves.png').stat().st_size > 1000
    assert (folder / 'scores.png').stat().st_size > 1000 and (folder / 'pictures' / 'point-000-budget-0-mnist.png').exists()
