"""Hyperparameter sweeps over the notebook's train(), on Optuna: a grid, a list of points, or a search.

    python3 run.py sweep sweeps/example.toml                       the study in runs/sweeps/NAME/study.log
    python3 run.py sweep SPEC --storage postgresql://HOST/DB        one study shared by workers anywhere

A SPEC (TOML) names the datasets each trial trains, its budget, what is swept and what is fixed:

    datasets = ["mnist", "celeba"]     # each trial trains each, in turn, and is scored on each
    budget_batches = 300               # per dataset per trial (or budget_minutes = 1.5), or one for each:
                                       #   budget_batches = {mnist = 2500, celeba = 1500}; or a curve:
                                       #   budget_batches = [4000, 8000, 20000] trains every point and
                                       #   seed once at each budget (each run its own, learning-rate
                                       #   schedule and all), and the page draws quality against it
    reports = 4                        # scored (and checkpointed) this often while it trains, for pruning
    prune = true                       # stop a trial whose score trails the median of the others
    seeds = 3                          # train each point this often, seeds 0, 1, 2 (default 1): GAN
                                       #   scores move a lot from run to run; the page shows the median.
                                       #   Or the seeds themselves: seeds = [3, 4] adds to seeds 0-2
    [grid]                             # every combination; or [[points]] tables, or points_csv = "FILE";
    learning_rate = [0.0002, 0.0005]   #   or [search] with {low=, high=, log=} ranges and `trials = N`
    beta1 = [0.3, 0.5]
    [fixed]
    alpha = 0.2

The hyperparameters (HYPERPARAMETERS, one table: each one's kind, the values it takes and where it
goes) default to the notebook's: its training cells' batch_size, z_dim, learning_rate and beta1 for
each dataset, its network with its own slope and smoothing, TrainingRun's weight average and its
keep_share of 1 (every draw; below 1, the draws D rates most real: facegen/runs.draw). A spec is
checked whole before anything is created: a misspelt key or an impossible value is one line.

A trial's value is its quality (facegen/score.py: 0 noise, 1 real images), averaged over the
datasets; a trial that diverges scores 0 on that dataset. Grid and list points are enqueued once,
by the worker that creates the study, and each worker takes the next waiting one, so no point runs
twice however many workers share the study. Ctrl-C (or SIGTERM) puts the running trial back in the
queue, with its checkpoint: the same command continues the sweep. On PostgreSQL each running trial sends a
heartbeat; one that stops (its worker was killed, its machine went down) is put back in the queue
for another worker, up to MAX_RETRIES times. With the journal file, the next worker started on the
same machine does that for a trial whose process is gone. A trial that stops with an error (a run
folder it cannot use, a download that fails) is marked failed and stops its worker with that error;
once its cause is fixed, the same command runs it again."""
import base64
import contextlib
import csv
import difflib
import hashlib
import io
import itertools
import json
import os
import signal
import socket
import time
import tomllib
import warnings
from collections import namedtuple

import numpy as np
import optuna
from optuna.storages import fail_stale_trials
from optuna.trial import TrialState

from . import average
from .config import (
    DATASETS,
    IMAGE_SIZE,
    IMAGE_SIZES,
    KEEP_SHARES,
    LATENT_CLASSES,
    check_image_size,
    is_keep_share,
    is_latent_classes,
)
from .dataset import Dataset
from .download import download_extract
from .env import import_tensorflow, progress
from .images import images_square_grid
from .notebook import load_notebook_functions, training_settings
from .runs import TrainingRun
from .score import SCORED_IMAGES, Scorer
from .variants import LOSSES, NETWORKS, notebook_values, variant

tf = import_tensorflow()

# Each setting a sweep can set: its kind, its default (None: the notebook's own, for each dataset), the
# values it takes, and where it goes. The one table of them: read_spec checks against it, the
# trials pass each where it says.
Setting = namedtuple('Setting', 'kind default allowed valid goes')
HYPERPARAMETERS = {
    'network': Setting(str, 'notebook', f'one of {", ".join(NETWORKS)}', lambda v: v in NETWORKS,
                       'variants.variant: which discriminator and generator train() builds'),
    'generator_dropout': Setting(float, 0.0, 'at least 0 and below 1', lambda v: 0 <= v < 1,
                                 "variants.variant: dropout after each of the generator's activations"),
    'discriminator_dropout': Setting(float, 0.0, 'at least 0 and below 1', lambda v: 0 <= v < 1,
                                     "variants.variant: dropout after each of the discriminator's activations"),
    'label_smoothing': Setting(float, None, 'at least 0 and below 1', lambda v: 0 <= v < 1,
                               "variants.variant: model_loss's smooth, the real images' label, is 1 - this"),
    'alpha': Setting(float, None, 'at least 0 and below 1', lambda v: 0 <= v < 1,
                     "variants.variant: the slope of the notebook's lrelu"),
    'batch_size': Setting(int, None, 'a whole number of at least 1', lambda v: v >= 1, 'train()'),
    'z_dim': Setting(int, None, 'a whole number of at least 1', lambda v: v >= 1, 'train()'),
    'learning_rate': Setting(float, None, 'above 0', lambda v: v > 0, 'train()'),
    'beta1': Setting(float, None, 'at least 0 and below 1', lambda v: 0 <= v < 1, 'train()'),
    'augment_color': Setting(bool, False, 'true or false', lambda v: True,
                             "variants.variant: the notebook's random_color before its random_shift in D"),
    'cutout': Setting(float, 0.0, 'at least 0 (none) and below 1, the square\'s side over the image\'s',
                      lambda v: 0 <= v < 1, "variants.variant: the notebook's random_cutout after its random_shift in D"),
    'ema_half_life': Setting(int, average.HALF_LIFE_IMAGES, 'a whole number of images, at least 0 (0: no average)',
                             lambda v: v >= 0, "TrainingRun: the half-life of the generator's weight average"),
    'keep_share': Setting(float, 1.0, KEEP_SHARES, is_keep_share,
                          "TrainingRun: the share of the generator's draws its samples keep, those D finds most real"),
    'loss': Setting(str, 'notebook', f'one of {", ".join(LOSSES)}', lambda v: v in LOSSES,
                    "variants.variant: model_loss's, or the hinge loss on the same networks"),
    'spectral_norm': Setting(bool, False, 'true or false', lambda v: True,
                             "variants.variant: each of D's weight matrices over its largest singular value"),
    'd_rate_ratio': Setting(float, None, 'above 0', lambda v: v > 0,
                            "variants.variant: the notebook's D_RATE_RATIO, D's learning rate over G's (TTUR)"),
    'r1_gamma': Setting(float, None, 'at least 0 (0: none)', lambda v: v >= 0,
                        "variants.variant: the notebook's R1_GAMMA, the weight of the lazy R1 penalty in D's loss"),
    'channels': Setting(int, None, 'a whole number of at least 1', lambda v: v >= 1,
                        "variants.variant: the notebook's CHANNELS, D's first layer's and G's last hidden layer's"),
    'generator_channels': Setting(int, None, 'a whole number of at least 1', lambda v: v >= 1,
                                  "variants.variant: the notebook's CHANNELS in the generator alone (after channels)"),
    'latent_classes': Setting(int, 0, LATENT_CLASSES, is_latent_classes,
                              "variants.variant: z's first number picks one of this many classes, one-hot in G"),
    'class_information': Setting(float, 0.0, 'at least 0 (0: none)', lambda v: v >= 0,
                                 "variants.variant: weight in G's loss of a reader's failure to tell z's class"),
    'image_size': Setting(int, IMAGE_SIZE, f'a side the datasets take ({", ".join(str(s) for s in IMAGE_SIZES)})',
                          lambda v: v in IMAGE_SIZES, "Dataset and Scorer: the side of the images trained and scored"),
}
CHOICES_ONLY = ('image_size',)  # whole numbers a [search] draws from a list, never from a range
# the settings variants.variant puts in place, by name
VARIANT_SETTINGS = tuple(name for name, setting in HYPERPARAMETERS.items() if setting.goes.startswith('variants.'))
TRAIN_SETTINGS = ('batch_size', 'z_dim', 'learning_rate', 'beta1')  # train()'s own arguments
GRID_PICTURE = 16          # samples in each trial's picture of each dataset
MAX_RETRIES = 3            # a trial whose worker died is run again at most this often
DEFAULT_HEARTBEAT = 60     # seconds between a running trial's heartbeats on PostgreSQL


class SpecError(ValueError):
    pass


class QueueWasEmpty(Exception):
    """A worker asked for the next point after another took the last one."""


# ------------------------------------------------------------------ the spec

SPEC_KEYS = ('name', 'datasets', 'budget_batches', 'budget_minutes', 'reports', 'prune', 'seeds', 'grid', 'points',
             'points_csv', 'search', 'trials', 'fixed')
RANGE_KEYS = ('low', 'high', 'log')


def read_spec(path):
    """The spec at path, checked whole before anything is created: a SpecError names the first
    problem and what to write instead."""
    try:
        with open(path, 'rb') as f:
            spec = tomllib.load(f)
    except (OSError, tomllib.TOMLDecodeError, UnicodeDecodeError) as err:
        raise SpecError(f'The sweep spec {path} could not be read: {err}.') from None

    def fail(message):
        raise SpecError(f'{path}: {message}{"" if message.endswith("?") else "."} Nothing was created.')

    for key in spec:
        if key not in SPEC_KEYS:
            fail(f'{key!r} is not a key of a sweep spec{did_you_mean(key, SPEC_KEYS)}')
    spec.setdefault('name', os.path.splitext(os.path.basename(path))[0])
    spec.setdefault('datasets', ['mnist'])
    spec.setdefault('reports', 4)
    spec.setdefault('fixed', {})
    spec.setdefault('seeds', 1)
    if not isinstance(spec['name'], str) or not spec['name'] or os.sep in spec['name'] or spec['name'] in ('.', '..'):
        fail(f'name = {spec["name"]!r}: give the sweep a name that can be a folder\'s (no {os.sep})')
    datasets = spec['datasets']
    if not isinstance(datasets, list) or not datasets or any(d not in DATASETS for d in datasets):
        fail(f'datasets = {datasets!r}: list one or more of {sorted(DATASETS)}')
    if ('budget_batches' in spec) == ('budget_minutes' in spec):
        fail('give a trial its budget per dataset: budget_batches = N or budget_minutes = M (one of the two)')
    budget_key = 'budget_batches' if 'budget_batches' in spec else 'budget_minutes'
    budget = spec[budget_key]
    if isinstance(budget, dict) and sorted(budget) != sorted(datasets):
        fail(f'a budget for each dataset names each of {datasets}: it names {sorted(budget)}')
    curves = [amounts for amounts in (budget.values() if isinstance(budget, dict) else [budget])
              if isinstance(amounts, list)]
    for amounts in (budget.values() if isinstance(budget, dict) else [budget]):
        for amount in (amounts if isinstance(amounts, list) else [amounts]):
            if not (is_whole(amount) if budget_key == 'budget_batches' else is_number(amount)) or amount <= 0:
                fail(f'{budget_key} = {budget!r}: ' + ('a whole number of batches, at least 1'
                                                       if budget_key == 'budget_batches' else 'minutes above 0'))
    if any(not amounts or amounts != sorted(set(amounts)) or len(amounts) != len(curves[0]) for amounts in curves):
        fail(f'{budget_key} = {budget!r}: a curve\'s budgets rise, each once, and every dataset has as many')
    spec.setdefault('prune', not curves)
    if curves and spec['prune'] is True:
        fail('prune = true with a curve of budgets: a short run would be compared with a long one. Leave prune out')
    if not is_whole(spec['reports']) or spec['reports'] < 0:
        fail(f'reports = {spec["reports"]!r}: how often a trial is scored while it trains, 0 or more')
    if not isinstance(spec['prune'], bool):
        fail(f'prune = {spec["prune"]!r}: true or false')
    if 'points_csv' in spec:
        spec['points'] = read_points_csv(os.path.join(os.path.dirname(path), spec.pop('points_csv')))
    modes = [mode for mode in ('grid', 'points', 'search') if mode in spec]
    if len(modes) != 1:
        fail(f'say what to sweep with one of [grid], [[points]] (or points_csv) and [search]; it has {modes or "none"}')
    spec['mode'] = modes[0]
    if spec['mode'] == 'search' and (not is_whole(spec.get('trials')) or spec['trials'] < 1):
        given = f', not {spec["trials"]!r}' if 'trials' in spec else ''
        fail(f'a [search] needs trials = N, the number of trials to run (1 or more){given}')
    if spec['mode'] == 'search' and curves:
        fail(f'{budget_key} = {budget!r}: a curve is for the points of a [grid] or a list; give a [search] one budget')
    if spec['mode'] != 'search' and 'trials' in spec:
        fail(f'trials = {spec["trials"]!r} is for a [search]: a [{spec["mode"]}] trains each of its points')
    seeds = spec['seeds']
    spec['seed_list'] = list(range(seeds)) if is_whole(seeds) else seeds
    if not (isinstance(spec['seed_list'], list) and spec['seed_list']
            and all(is_whole(seed) and seed >= 0 for seed in spec['seed_list'])
            and len(set(spec['seed_list'])) == len(spec['seed_list'])) \
            or (spec['mode'] == 'search' and spec['seed_list'] != [0]):
        fail(f'seeds = {seeds!r}: give the times each point of a [grid] or a list of points is '
             'trained (a whole number of at least 1), or a list of different seeds such as [3, 4]; '
             'a [search] draws new points instead')
    if not isinstance(spec['fixed'], dict):
        fail('[fixed] is a table of settings, such as alpha = 0.2')
    for name, value in spec['fixed'].items():
        check_setting(fail, '[fixed]', name, value)
    if spec['mode'] == 'grid':
        if not isinstance(spec['grid'], dict) or not spec['grid']:
            fail('[grid] is empty: give each setting to sweep a list of values, such as learning_rate = [0.0002, 0.0005]')
        for name, values in spec['grid'].items():
            if not isinstance(values, list) or not values:
                fail(f'[grid] {name} = {values!r}: give a list of one or more values, such as {name} = [{values!r}]'
                     if not isinstance(values, list) else f'[grid] {name} = []: give it one or more values')
            for value in values:
                check_setting(fail, '[grid]', name, value)
    elif spec['mode'] == 'points':
        if not isinstance(spec['points'], list) or not spec['points'] or not all(isinstance(p, dict) for p in spec['points']):
            fail('[[points]] holds no point: give one or more tables of settings (an empty one is the notebook\'s own)')
        for number, point in enumerate(spec['points']):
            for name, value in point.items():
                check_setting(fail, f'point {number}', name, value)
    else:
        if not isinstance(spec['search'], dict) or not spec['search']:
            fail('[search] is empty: give each setting a range, such as learning_rate = {low = 0.0001, high = 0.001, '
                 'log = true}, or a list of choices')
        for name, space in spec['search'].items():
            check_space(fail, name, space)
    for information, classes in information_and_classes(spec):
        if information and not classes:
            fail(f'class_information = {information:g} with latent_classes 0: the reader needs the classes it reads; '
                 'give that point latent_classes = 10 (or 2 or more), or leave class_information out')
    for image_size in setting_values(spec, 'image_size'):
        for dataset in datasets:
            try:
                check_image_size(DATASETS[dataset], image_size)
            except ValueError as err:
                fail(f'image_size = {image_size}: {err} Sweep it on the datasets that take it')
    return spec


def information_and_classes(spec):
    """The (class_information, latent_classes) pairs a checked spec's trials can train with."""
    if spec['mode'] == 'points':
        names = ('class_information', 'latent_classes')
        unswept = {name: spec['fixed'].get(name, HYPERPARAMETERS[name].default) for name in names}
        return [tuple(point.get(name, unswept[name]) for name in names) for point in spec['points']]
    return list(itertools.product(setting_values(spec, 'class_information'), setting_values(spec, 'latent_classes')))


def setting_values(spec, name):
    """Every value of setting `name` that a checked spec's trials can train with."""
    if spec['mode'] == 'grid':
        swept = spec['grid'].get(name, [])
    elif spec['mode'] == 'points':
        swept = [point[name] for point in spec['points'] if name in point]
    else:
        space = spec['search'].get(name, [])
        swept = space if isinstance(space, list) else [space['low'], space['high']]
    unswept = [spec['fixed'].get(name, HYPERPARAMETERS[name].default)]
    if spec['mode'] == 'points':
        return set(swept) | (set(unswept) if any(name not in point for point in spec['points']) else set())
    return set(swept) or set(unswept)


def budgets(spec):
    """A checked spec's budgets, each {dataset: amount} in TrainingRun's unit (its kind, budget_kind):
    one, or a curve's several."""
    amount = spec['budget_batches' if 'budget_batches' in spec else 'budget_minutes']
    per_dataset = amount if isinstance(amount, dict) else {dataset: amount for dataset in spec['datasets']}
    count = max(len(a) if isinstance(a, list) else 1 for a in per_dataset.values())
    return [{dataset: a[i] if isinstance(a, list) else a for dataset, a in per_dataset.items()} for i in range(count)]


def budget_kind(spec):
    return 'max_batches' if 'budget_batches' in spec else 'minutes'


def budget_label(spec, index):
    """'4000 batches', or 'mnist 4000, celeba 1800 batches' where the datasets' differ."""
    amounts, unit = budgets(spec)[index], 'batches' if budget_kind(spec) == 'max_batches' else 'min'
    if len(set(amounts.values())) == 1:
        return f'{next(iter(amounts.values())):g} {unit}'
    return ', '.join(f'{dataset} {amount:g}' for dataset, amount in amounts.items()) + f' {unit}'


def did_you_mean(word, choices):
    close = difflib.get_close_matches(str(word), choices, n=1, cutoff=0.6)
    return f': did you mean {close[0]!r}?' if close else f': use one of {", ".join(choices)}'


def is_whole(value):
    return isinstance(value, int) and not isinstance(value, bool)


def is_number(value):
    return isinstance(value, (int, float)) and not isinstance(value, bool) and np.isfinite(value)


def check_setting(fail, where, name, value):
    """fail(...) unless name is a setting and value one it takes."""
    if name not in HYPERPARAMETERS:
        fail(f'{where}: {name!r} is not a hyperparameter a sweep can set{did_you_mean(name, list(HYPERPARAMETERS))}')
    setting = HYPERPARAMETERS[name]
    kind_ok = {str: isinstance(value, str), bool: isinstance(value, bool), int: is_whole(value),
               float: is_number(value)}[setting.kind]
    if not kind_ok or not setting.valid(value):
        fail(f'{where}: {name} = {value!r}: it takes {setting.allowed}')


def check_space(fail, name, space):
    """A [search] range {low, high, log} or a list of choices, each end or choice a value name takes."""
    if isinstance(space, list):
        if not space:
            fail(f'[search] {name} = []: give it one or more choices')
        for value in space:
            check_setting(fail, '[search]', name, value)
        return
    if not isinstance(space, dict):
        fail(f'[search] {name} = {space!r}: give a range {{low = ..., high = ...}} or a list of choices')
    if HYPERPARAMETERS[name].kind in (str, bool) or name in CHOICES_ONLY:
        fail(f'[search] {name}: a setting of words, of true and false, or of sizes takes a list of choices, not a range')
    for key in space:
        if key not in RANGE_KEYS:
            fail(f'[search] {name}: {key!r} is not a key of a range{did_you_mean(key, RANGE_KEYS)}')
    if 'low' not in space or 'high' not in space:
        fail(f'[search] {name}: a range needs both low and high')
    for end in ('low', 'high'):
        check_setting(fail, '[search]', name, space[end])
    if space['low'] > space['high']:
        fail(f'[search] {name}: low = {space["low"]!r} is above high = {space["high"]!r}')
    if not isinstance(space.get('log', False), bool) or (space.get('log') and space['low'] <= 0):
        fail(f'[search] {name}: log = true or false, and a log range needs low above 0')


def read_points_csv(path):
    """One point per row; columns that are not hyperparameters (a row number, a note) are left out."""
    try:
        with open(path, newline='') as f:
            rows = list(csv.DictReader(f))
    except (OSError, UnicodeDecodeError, csv.Error) as err:
        raise SpecError(f'points_csv {path} could not be read: {err}. Nothing was created.') from None
    points = []
    for number, row in enumerate(rows, start=2):  # line 1 is the header
        point = {}
        for name, text in row.items():
            if name not in HYPERPARAMETERS or text in ('', None):
                continue
            kind = HYPERPARAMETERS[name].kind
            try:
                if kind is bool:
                    point[name] = {'true': True, 'false': False}[text.strip().lower()]
                else:
                    point[name] = text if kind is str else kind(float(text)) if kind is int else float(text)
            except (ValueError, KeyError):
                raise SpecError(f'{path}, line {number}: {name} = {text!r} is not a {kind.__name__}. '
                                'Nothing was created.') from None
        points.append(point)
    return points


def swept_names(spec):
    if spec['mode'] == 'grid':
        return list(spec['grid'])
    if spec['mode'] == 'points':
        return sorted({name for point in spec['points'] for name in point})
    return list(spec['search'])


def grid_points(spec):
    """The points of a grid or a list, in order."""
    if spec['mode'] == 'grid':
        names = list(spec['grid'])
        return [dict(zip(names, values)) for values in itertools.product(*(spec['grid'][n] for n in names))]
    return [dict(point) for point in spec['points']]


def spec_fingerprint(spec):
    return hashlib.sha1(json.dumps({k: v for k, v in spec.items() if k != 'name'}, sort_keys=True,
                                   default=str).encode()).hexdigest()[:12]


def settings_for(dataset, params, spec):
    """Every hyperparameter of a trial on one dataset: the notebook's, then [fixed], then the point's."""
    notebook = training_settings(dataset)
    settings = {name: notebook.get(name, setting.default) for name, setting in HYPERPARAMETERS.items()}
    settings.update(spec['fixed'])
    settings.update(params)
    return settings


# ------------------------------------------------------------------ the study

def open_study(spec, storage_url, sweep_dir, heartbeat=DEFAULT_HEARTBEAT, results_only=False, recover=False):
    """The spec's study: created (with its points queued) by the first worker, loaded by the rest.
    A journal file with a damaged line is never written to (check_journal)."""
    optuna.logging.set_verbosity(optuna.logging.WARNING)  # the sweep prints its own lines
    # heartbeats and their retry are marked experimental since Optuna 2.8, and are what multi-machine sweeps need
    warnings.filterwarnings('ignore', category=optuna.exceptions.ExperimentalWarning)
    if storage_url:
        import sqlalchemy
        try:
            storage = optuna.storages.RDBStorage(
                storage_url, heartbeat_interval=heartbeat, grace_period=2 * heartbeat,
                heartbeat_stale_trial_callback=optuna.storages.RetryHeartbeatStaleTrialCallback(max_retry=MAX_RETRIES))
        except (sqlalchemy.exc.SQLAlchemyError, ImportError, ValueError) as err:
            shown = sqlalchemy.engine.make_url(storage_url).render_as_string(hide_password=True) \
                if '://' in storage_url else storage_url
            reason = str(getattr(err, 'orig', None) or err).strip().splitlines()[0]
            raise SpecError(f'The study\'s database {shown} could not be opened ({reason}). Check that the server '
                            'runs and that this machine may reach it, and the URL: '
                            'postgresql://USER:PASSWORD@HOST:PORT/DATABASE.') from None
    else:
        path = os.path.join(sweep_dir, JOURNAL)
        readable = check_journal(path, results_only, recover)
        if readable is None:
            os.makedirs(sweep_dir, exist_ok=True)
        else:
            path = readable
        storage = optuna.storages.JournalStorage(optuna.storages.journal.JournalFileBackend(path))
        if results_only and readable is not None:
            try:
                return optuna.load_study(study_name=spec['name'], storage=storage)
            except KeyError:
                raise SpecError(f'{os.path.join(sweep_dir, JOURNAL)} holds no study before its damaged line: '
                                'there are no finished trials to show.') from None
    # GAN scores are noisy early on: no trial is stopped before half of its first dataset's reports
    pruner = (optuna.pruners.MedianPruner(n_startup_trials=3, n_warmup_steps=max(1, spec['reports'] // 2))
              if spec['prune'] else optuna.pruners.NopPruner())
    sampler = optuna.samplers.TPESampler(seed=0)
    try:
        study = optuna.create_study(study_name=spec['name'], storage=storage, direction='maximize',
                                    pruner=pruner, sampler=sampler)
    except optuna.exceptions.DuplicatedStudyError:
        study = optuna.load_study(study_name=spec['name'], storage=storage, pruner=pruner, sampler=sampler)
        wait_for_queue(study)
        if study.user_attrs.get('spec') != spec_fingerprint(spec):
            raise SpecError(f'The study {spec["name"]!r} was made from another version of this spec. Restore the spec, '
                            'or give the sweep a new name (name = "..." in the spec) to start another study.') from None
        return study
    if spec['mode'] != 'search':
        count = len(budgets(spec))
        for point_number, point in enumerate(grid_points(spec)):
            for budget in range(count):
                for seed in spec['seed_list']:
                    study.enqueue_trial(point, user_attrs={'point': point_number, 'seed': seed,
                                                           **({'budget': budget} if count > 1 else {})})
    study.set_user_attr('spec', spec_fingerprint(spec))
    study.set_user_attr('datasets', spec['datasets'])
    study.set_user_attr('swept', swept_names(spec))
    spec_budgets = budgets(spec)
    study.set_user_attr('budgets', [budget_label(spec, i) for i in range(len(spec_budgets))])
    study.set_user_attr('budget_values', [budget[spec['datasets'][0]] for budget in spec_budgets])  # the curves' x
    study.set_user_attr('defaults', shared_defaults(spec, load_notebook_functions()))
    return study


JOURNAL = 'study.log'  # a sweep's study, in its folder, when it has no --storage


def journal_damage(path):
    """(line number, what is wrong, the bytes before that line) for the first damaged line of a
    journal file, or None when every line is whole. Optuna skips a last line with no end (it takes
    it for one being written) and then appends after it, which leaves the file unreadable in the
    middle: so a line cut short counts as damage too."""
    good = 0
    with open(path, 'rb') as f:
        for number, line in enumerate(f, start=1):
            if not line.endswith(b'\n'):
                return number, 'cut short (a full disk or a killed write leaves a line so)', good
            try:
                json.loads(line)
            except ValueError as err:  # JSONDecodeError and UnicodeDecodeError both are
                return number, f'garbled ({str(err).splitlines()[0][:80]})', good
            good += len(line)
    return None


def check_journal(path, results_only, recover):
    """None where the journal at path is whole or absent. Where a line is damaged: with results_only,
    the path of a copy of the lines before it, to read the finished trials from; with recover, the
    damaged file is kept beside as study.log.damaged-TIME and the lines before it become the journal
    (None); otherwise a SpecError says where the damage is and both ways on. The file is never
    written after a damaged line."""
    if not os.path.exists(path):
        return None
    try:
        damage = journal_damage(path)
        if damage and damage[1].startswith('cut short'):
            time.sleep(1)  # another worker's line may be half-written this instant: it is whole within a second
            damage = journal_damage(path)
    except OSError as err:
        raise SpecError(f'The sweep\'s journal {path} could not be read ({err}).') from None
    if damage is None:
        return None
    line, what, good = damage
    with open(path, 'rb') as f:
        readable = f.read(good)
    if results_only:
        import atexit
        import shutil
        import tempfile
        folder = tempfile.mkdtemp(prefix='facegen-journal-')
        atexit.register(shutil.rmtree, folder, ignore_errors=True)  # read until the page is written, then gone
        copy = os.path.join(folder, JOURNAL)
        with open(copy, 'wb') as f:
            f.write(readable)
        print(f'{path}: line {line} is {what}; the results page shows the trials finished before it.')
        return copy
    if recover:
        kept = f'{path}.damaged-{time.strftime("%Y%m%d-%H%M%S")}'
        os.replace(path, kept)
        with open(path + '.partial', 'wb') as f:
            f.write(readable)
        os.replace(path + '.partial', path)
        print(f'{path}: line {line} was {what}. The lines before it are the journal now, and the sweep goes on from '
              f'them (a trial that was running then runs again); the damaged file is kept as {kept}.')
        return None
    raise SpecError(f'{path}: line {line} is {what}, so the sweep will not write to it (the file is untouched). '
                    '--results-only shows the trials finished before that line; --recover-journal goes on from them, '
                    'keeping the damaged file beside.')


def shared_defaults(spec, nb):
    """{name: value} of each swept setting that a point leaving it out trains with, where that is the
    same on every dataset (the results page shows it, and plots the notebook's own point there)."""
    defaults, own = {}, notebook_values(nb)
    for name in swept_names(spec):
        seen = set()
        for dataset in spec['datasets']:
            value = settings_for(dataset, {}, spec)[name]
            seen.add(json.dumps(own.get(name) if value is None else value))
        if len(seen) == 1 and seen != {'null'}:
            defaults[name] = json.loads(seen.pop())
    return defaults


def wait_for_queue(study, seconds=120):
    """A worker that loads a study just created waits until its creator has queued the points."""
    deadline = time.monotonic() + seconds
    while 'spec' not in study.user_attrs:
        if time.monotonic() > deadline:
            raise SpecError(f'The study {study.study_name!r} exists but its points were never queued (the worker that '
                            'created it stopped first). Give the sweep a new name to start again.')
        time.sleep(1)


def planned_trials(spec):
    if spec['mode'] == 'search':
        return spec['trials']
    return len(grid_points(spec)) * len(budgets(spec)) * len(spec['seed_list'])


def trial_key(trial):
    """(point, budget, seed): what a trial trains; a retried trial has the key of the one it retries."""
    attrs = trial.user_attrs
    return attrs.get('point', trial.number), attrs.get('budget', 0), attrs.get('seed', 0)


# ------------------------------------------------------------------ a worker

class Worker:
    """Runs trials of a study until none is left: one process, one trial at a time."""

    def __init__(self, spec, study, sweep_dir, data_dir):
        self.spec, self.study, self.sweep_dir, self.data_dir = spec, study, sweep_dir, data_dir
        self.nb = load_notebook_functions()
        self.scorers, self.datasets = {}, {}
        self.name = f'{socket.gethostname()}:{os.getpid()}'

    def run(self):
        """Trials until the queue is empty and no other worker's trial may still come back to it.
        Returns the number of trials this worker finished; KeyboardInterrupt puts its trial back."""
        finished = 0
        total = planned_trials(self.spec)
        with progress(total=total, desc=f'Sweep {self.spec["name"]}', unit='trial', position=0) as self.bar:
            for number in requeue_failed_trials(self.study):
                self.bar.write(f'Trial {number} stopped with an error in an earlier run: it runs again.')
            while True:
                fail_stale_trials(self.study)  # PostgreSQL: a dead worker's trial goes back in the queue
                requeue_dead_local_trials(self.study)  # a journal file has no heartbeats
                trials = self.study.get_trials(deepcopy=False)
                done = {trial_key(t) for t in trials if t.state in (TrialState.COMPLETE, TrialState.PRUNED)}
                self.bar.n = len(done)
                self.bar.refresh()
                waiting = any(t.state == TrialState.WAITING for t in trials)
                running = sum(t.state == TrialState.RUNNING for t in trials)
                if self.spec['mode'] == 'search' and not waiting:
                    if len(done) + running >= total:
                        break
                elif not waiting:
                    if running and heartbeat_interval(self.study):
                        time.sleep(heartbeat_interval(self.study))  # another worker's trial may come back
                        continue
                    break
                self.study.optimize(self.objective, n_trials=1, catch=(QueueWasEmpty,))
                finished += 1
        return finished

    def objective(self, trial):
        trial.set_user_attr('worker', self.name)
        point = trial.user_attrs.get('point')
        if point is None:
            if self.spec['mode'] != 'search':
                trial.set_user_attr('queue_was_empty', True)
                raise QueueWasEmpty
            point = trial.number
            trial.set_user_attr('point', point)
        seed, budget = trial.user_attrs.get('seed', 0), trial.user_attrs.get('budget')
        params = suggest(trial, self.spec, point)
        label = ', '.join(f'{k}={v}' for k, v in params.items())
        seed_label = f', seed {seed}' if self.spec['seed_list'] != [0] else ''
        seed_label += '' if budget is None else f', {budget_label(self.spec, budget)}'
        self.bar.write(f'Trial {trial.number} (point {point}{seed_label}): {label}')
        started, qualities = time.perf_counter(), []
        try:
            for index, dataset in enumerate(self.spec['datasets']):
                qualities.append(self.train_one(trial, point, seed, budget, index, dataset, params, qualities))
        except optuna.TrialPruned:
            trial.set_user_attr('seconds', time.perf_counter() - started)
            self.bar.write(f'Trial {trial.number} pruned: its score trailed the median of the others.')
            raise
        except KeyboardInterrupt:
            self.study.enqueue_trial(params, user_attrs={  # the same command continues it
                'point': point, 'seed': seed, **({} if budget is None else {'budget': budget})})
            raise
        value = float(np.mean(qualities))
        trial.set_user_attr('seconds', time.perf_counter() - started)
        self.bar.write(f'Trial {trial.number}: quality {value:.3f} '
                       f'({", ".join(f"{d} {q:.3f}" for d, q in zip(self.spec["datasets"], qualities))})')
        return value

    def scorer(self, dataset, image_size):
        if (dataset, image_size) not in self.scorers:  # FID's Inception: minutes a score on a CPU
            self.scorers[dataset, image_size] = Scorer(dataset, self.data_dir, fid=False, image_size=image_size)
        return self.scorers[dataset, image_size]

    def dataset(self, name, seed, image_size):
        """The dataset at image_size, fetched and decoded once per worker (offline: the bundled
        stand-in, as in the notebook), its batches shuffled by seed."""
        if (name, image_size) not in self.datasets:
            download_extract(name, self.data_dir)
            self.datasets[name, image_size] = Dataset(name, data_dir=self.data_dir, image_size=image_size)
        self.datasets[name, image_size].reseed(seed)
        return self.datasets[name, image_size]

    def train_one(self, trial, point, seed, budget, index, dataset, params, earlier_qualities):
        """Train one dataset for the trial's budget (a curve's budget-th, or the one) in its own run
        folder; returns its quality."""
        settings = settings_for(dataset, params, self.spec)
        folder = run_folder(self.sweep_dir, self.spec, point, seed, budget, dataset)
        data = self.dataset(dataset, seed, settings['image_size'])
        scorer, reports = self.scorer(dataset, settings['image_size']), self.spec['reports']
        next_report = [1]

        def report(run):
            """At each 1/(reports + 1) of the budget: score, report, checkpoint (a killed worker's trial
            resumes from there), and stop the trial if it trails."""
            if next_report[0] > reports or run.done < next_report[0] * run.total_batches / (reports + 1):
                return
            next_report[0] += 1
            quality = scorer(run.generate(SCORED_IMAGES))['quality']  # one draw: reports are only weighed against each other
            step = index * reports + next_report[0] - 1
            trial.report((sum(earlier_qualities) + quality) / (index + 1), step)
            run.save_checkpoint()
            if trial.should_prune():
                share = (index + run.done / run.total_batches) / len(self.spec['datasets'])
                trial.set_user_attr('pruned_at', share)  # of the trial's whole budget
                self.save_picture(trial, dataset, run.generate(GRID_PICTURE), folder)
                raise optuna.TrialPruned()

        amount = budgets(self.spec)[budget or 0][dataset]
        run = TrainingRun(folder, samples_path=os.path.join(folder, 'samples.npz'), after_batch=report,
                          **{budget_kind(self.spec): amount})
        try:
            train_with(self.nb, settings, data, run, seed)
        except FloatingPointError as err:
            trial.set_user_attr(f'diverged_{dataset}', str(err).split(':')[0])
            self.bar.write(f'Trial {trial.number} diverged on {dataset} at batch {run.done + 1}: it scores 0 there.')
            return 0.0
        if run.interrupted:
            raise KeyboardInterrupt
        images = np.load(run.samples_path)['images']
        score = scorer(images)
        for figure, value in score.items():
            trial.set_user_attr(f'{dataset}_{figure}', value)
        trial.set_user_attr(f'{dataset}_batches', run.done)
        self.save_picture(trial, dataset, images[:GRID_PICTURE], folder)
        return score['quality']

    @staticmethod
    def save_picture(trial, dataset, images, folder):
        """A grid of the trial's samples, in its folder and in the study (a worker on another machine
        writes its folder there; the results page is drawn from the study alone)."""
        grid = images_square_grid(images, 'L' if images.shape[-1] == 1 else 'RGB')
        grid.save(os.path.join(folder, 'samples.png'))
        png = io.BytesIO()
        grid.save(png, format='PNG')
        trial.set_user_attr(f'{dataset}_picture', base64.b64encode(png.getvalue()).decode('ascii'))


def run_folder(sweep_dir, spec, point, seed, budget, dataset):
    """Where a trial trains one dataset: point-P[/seed-S][/budget-B]/DATASET (a seed's folder where
    the spec has seeds, a budget's on a curve)."""
    seed_folder = f'seed-{seed}' if spec['seed_list'] != [0] else ''
    budget_folder = '' if budget is None else f'budget-{budget}'
    return os.path.join(sweep_dir, f'point-{point:03d}', seed_folder, budget_folder, dataset)


def train_with(nb, settings, data, run, seed):
    """The notebook's train() on data with every setting in its place (HYPERPARAMETERS' `goes`), in
    a graph of its own, seeded; returns the graph."""
    run.ema_half_life, run.keep_share = settings['ema_half_life'], settings['keep_share']
    with tf.Graph().as_default() as graph, variant(nb, **{name: settings[name] for name in VARIANT_SETTINGS}):
        tf.set_random_seed(seed)  # the weights' draws; train() draws its z with NumPy
        np.random.seed(seed)
        nb['train'](10 ** 6, *(settings[name] for name in TRAIN_SETTINGS), data.get_batches, data.shape,
                    data.image_mode, print_every=10 ** 9, show_every=10 ** 9, run=run)
    return graph


def suggest(trial, spec, point):
    """The trial's hyperparameters: a grid's or list's point number `point`, or a search's sample
    (a retried search trial was queued with its values, which come back as they were)."""
    if spec['mode'] == 'search':
        params = {}
        for name, space in spec['search'].items():
            if isinstance(space, list):
                params[name] = trial.suggest_categorical(name, space)
            elif HYPERPARAMETERS[name].kind is int:
                params[name] = trial.suggest_int(name, space['low'], space['high'], log=space.get('log', False))
            else:
                params[name] = trial.suggest_float(name, space['low'], space['high'], log=space.get('log', False))
        return params
    points = grid_points(spec)
    choices = {name: list(dict.fromkeys(p[name] for p in points if name in p)) for name in swept_names(spec)}
    return {name: trial.suggest_categorical(name, choices[name]) for name in points[point]}


def requeue_failed_trials(study):
    """Queue again each trial that failed (an error stopped its worker, or its worker died more
    than MAX_RETRIES times) and that no other trial finished or retries; returns their numbers. Run
    as a worker starts: the same command that stopped on the error runs the trial once it is fixed."""
    trials = study.get_trials(deepcopy=False)
    settled = {trial_key(t) for t in trials if t.state != TrialState.FAIL}
    newest_failed = {trial_key(t): t for t in trials if t.state == TrialState.FAIL
                     and not t.user_attrs.get('queue_was_empty') and trial_key(t) not in settled}
    for trial in newest_failed.values():
        optuna.storages.RetryHeartbeatStaleTrialCallback()(study, trial)  # a copy of it, waiting
    return sorted(trial.number for trial in newest_failed.values())


def requeue_dead_local_trials(study):
    """Without heartbeats (a journal file), a running trial whose worker was a process of this
    machine that is gone (killed, or its machine restarted) is failed and queued again, as a
    heartbeat would have it."""
    if heartbeat_interval(study):
        return
    for trial in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
        host, _, pid = trial.user_attrs.get('worker', '').rpartition(':')
        if host == socket.gethostname() and pid.isdigit() and not process_alive(int(pid)):
            study.tell(trial.number, state=TrialState.FAIL, skip_if_finished=True)
            optuna.storages.RetryHeartbeatStaleTrialCallback(max_retry=MAX_RETRIES)(study, trial)


def process_alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process
        return True
    return True


def heartbeat_interval(study):
    """Seconds between heartbeats where the study's storage has them (PostgreSQL), else None."""
    return getattr(study._storage, 'get_heartbeat_interval', lambda: None)()


@contextlib.contextmanager
def interrupted_cleanly(spec):
    """Ctrl-C ends the sweep with one line saying how to continue it, and so does SIGTERM: what a
    batch scheduler sends a job it preempts or cancels, and `kill`'s default."""
    previous = signal.signal(signal.SIGTERM, signal.default_int_handler)  # raises KeyboardInterrupt
    try:
        yield
    except KeyboardInterrupt:
        print(f'\nSweep {spec["name"]} stopped: the running trial goes back in the queue, its checkpoint kept. '
              'Run the same command to continue.')
        raise SystemExit(130) from None
    finally:
        signal.signal(signal.SIGTERM, previous)


def time_saved_by_pruning(trials):
    """(seconds the pruned trials ran, seconds they would have run to the end), estimated from the
    share of each one's budget it had trained."""
    ran = would_have = 0.0
    for trial in trials:
        if 'pruned_at' in trial.user_attrs and 'seconds' in trial.user_attrs:
            ran += trial.user_attrs['seconds']
            would_have += trial.user_attrs['seconds'] / max(trial.user_attrs['pruned_at'], 1e-3)
    return ran, would_have
