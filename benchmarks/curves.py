"""A sweep's curves beside an outside judge's: every finished run's samples judged once, then for
each point and budget the project's quality and each of the judge's figures, median [lowest-highest]
over the seeds, printed as a markdown table and drawn in SWEEP_FOLDER/curves.png.

    .venv/bin/python -m benchmarks.curves sweeps/curves/digits.toml --judge ../shared/tools/judge.py \\
        --judge-python /path/to/python-with-torch

The study is read as `run.py sweep --results-only` reads it, with the same --runs; a run's judge
figures are kept beside its samples (judge.json) while the samples are unchanged."""
import argparse
import json
import os
import sys

import matplotlib
import numpy as np
from optuna.trial import TrialState
from scipy.stats import spearmanr

from benchmarks.measure import judge
from facegen.results import draw_spread, point_label, set_budget_axis
from facegen.score import BETTER
from facegen.sweep import SpecError, open_study, read_spec, run_folder

matplotlib.use('Agg')
from matplotlib import pyplot  # noqa: E402


def judged(args, dataset, samples):
    """The judge's figures for samples ({name: value}), from judge.json beside them when it is theirs."""
    kept = os.path.join(os.path.dirname(samples), 'judge.json')
    stamp = os.path.getmtime(samples)
    if os.path.exists(kept):
        with open(kept) as f:
            saved = json.load(f)
        if saved.get('samples_mtime') == stamp and saved.get('judge') == os.path.abspath(args.judge):
            return saved['figures']
    line = judge(args, dataset, os.path.abspath(samples)).splitlines()[-1]  # the judge runs in its own folder
    try:
        figures = {name: value for name, value in json.loads(line).items() if name != 'n'}
    except ValueError:
        sys.exit(f'The judge gave no figures for {samples}: {line}')
    with open(kept + '.partial', 'w') as f:
        json.dump({'samples_mtime': stamp, 'judge': os.path.abspath(args.judge), 'figures': figures}, f)
    os.replace(kept + '.partial', kept)
    return figures


def sign(name):
    """1 for a figure where higher is better, -1 where lower is ('mnist fd')."""
    return 1 if BETTER.get(name.split()[-1], 'higher') == 'higher' else -1


def spread(values, digits):
    values = sorted(values)
    return f'{np.median(values):.{digits}f} [{values[0]:.{digits}f}-{values[-1]:.{digits}f}]'


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('spec', help='the sweep spec (TOML) the study was run from')
    parser.add_argument('--runs', default='runs', help='the --runs the sweep was run with (default: runs/)')
    parser.add_argument('--judge', default=os.environ.get('FACEGEN_JUDGE'), metavar='FILE', required=False)
    parser.add_argument('--judge-python', default=os.environ.get('FACEGEN_JUDGE_PYTHON', sys.executable))
    args = parser.parse_args()
    if not args.judge:
        sys.exit('Give the judge: --judge FILE (or FACEGEN_JUDGE), a scorer run as JUDGE mnist|faces SAMPLES.npz.')
    try:
        spec = read_spec(args.spec)
        sweep_dir = os.path.join(args.runs, 'sweeps', spec['name'])
        study = open_study(spec, None, sweep_dir, results_only=True)
    except SpecError as err:
        sys.exit(str(err))
    labels, values = study.user_attrs.get('budgets', ['']), study.user_attrs.get('budget_values')
    runs = {}  # (point, budget) -> [(quality, {dataset figure: value})] over the seeds
    for trial in study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,)):
        point, seed, budget = (trial.user_attrs.get(key) for key in ('point', 'seed', 'budget'))
        figures = {'quality': trial.value}
        for dataset in spec['datasets']:
            samples = os.path.join(run_folder(sweep_dir, spec, point, seed, budget, dataset), 'samples.npz')
            figures.update({f'{dataset} {name}': value for name, value in judged(args, dataset, samples).items()})
        runs.setdefault((point, budget or 0, json.dumps(trial.params, sort_keys=True)), []).append(figures)
    if not runs:
        sys.exit(f'No trial of {spec["name"]} has run to its end yet.')
    names = list(next(iter(runs.values()))[0])
    print('| point | settings | budget | seeds | ' + ' | '.join(names) + ' |')
    print('|---' * (4 + len(names)) + '|')
    for (point, budget, params), seeds in sorted(runs.items()):
        settings = point_label(json.loads(params))
        cells = [str(point), settings, labels[budget], str(len(seeds))]
        cells += [spread([s[name] for s in seeds], 1 if name.endswith(' fd') and min(s[name] for s in seeds) > 10 else 3)
                  for name in names]
        print('| ' + ' | '.join(cells) + ' |')
    every = [run for seeds in runs.values() for run in seeds]
    if len(every) > 2:
        # issue 24 asks the project's quality to order runs as the judge does: its rank correlation with each
        # figure, signed so that 1 is the same order whichever way the figure is better
        agreement = [f'{name} {spearmanr([run["quality"] for run in every], [run[name] for run in every])[0] * sign(name):.2f}'
                     for name in names[1:]]
        print(f'\nRank agreement of quality with the judge over {len(every)} runs (Spearman; 1: the same order): '
              + ', '.join(agreement))
    figure, axes = pyplot.subplots(1, len(names), figsize=(3.6 * len(names), 3.2), squeeze=False)
    for axis, name in zip(axes[0], names):
        for point in sorted({key[0] for key in runs}):
            keys = sorted(key for key in runs if key[0] == point)
            series = [sorted(s[name] for s in runs[key]) for key in keys]
            draw_spread(axis, [values[key[1]] if values else key[1] for key in keys],
                        [(np.median(s), s[0], s[-1]) for s in series], point_label(json.loads(keys[0][2])))
        set_budget_axis(axis, labels, values)
        axis.tick_params(axis='x', labelrotation=30, labelsize='small')  # six plots abreast: narrow
        axis.set_title(name, fontsize='medium')
    axes[0][0].legend(fontsize='small')
    figure.tight_layout()
    path = os.path.join(sweep_dir, 'curves.png')
    figure.savefig(path, dpi=90)
    print(f'\nCurves: {path}')


if __name__ == '__main__':
    main()
