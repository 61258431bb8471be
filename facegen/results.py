"""A sweep's results page, drawn from its study alone: results.md and results.html, one row per
point (hyperparameters, score, time, a digit grid and a face grid), best first and marked, and
scores.png, the quality against each swept hyperparameter."""
import base64
import html
import os

import matplotlib
from optuna.trial import TrialState

from .sweep import time_saved_by_pruning

matplotlib.use('Agg')  # written to a file, whatever backend the caller has
from matplotlib import pyplot  # noqa: E402

BEST = '★'


def rows(study):
    """One row per point: its newest finished trial (a retried point's earlier tries are not rows)."""
    newest = {}
    for trial in study.get_trials(deepcopy=False, states=(TrialState.COMPLETE, TrialState.PRUNED)):
        newest[trial.user_attrs.get('point', trial.number)] = trial
    finished = sorted(newest.values(), key=lambda t: (t.state != TrialState.COMPLETE, -(t.value or 0)))
    return finished


def describe(trial):
    if trial.state == TrialState.PRUNED:
        then = trial.intermediate_values.get(trial.last_step)
        when = f'pruned at {trial.user_attrs.get("pruned_at", 0):.0%}'
        return when if then is None else f'{when}, quality {then:.3f} then'
    diverged = [key.split('_', 1)[1] for key in trial.user_attrs if key.startswith('diverged_')]
    return f'diverged on {", ".join(diverged)}' if diverged else ''


def write(study, folder):
    """Write results.md, results.html and scores.png into folder; returns the HTML's path."""
    os.makedirs(folder, exist_ok=True)
    datasets, swept = study.user_attrs.get('datasets', []), study.user_attrs.get('swept', [])
    finished = rows(study)
    pictures = os.path.join(folder, 'pictures')
    os.makedirs(pictures, exist_ok=True)
    table = []
    for rank, trial in enumerate(finished):
        point = trial.user_attrs.get('point', trial.number)
        cells = {'': BEST if rank == 0 and trial.state == TrialState.COMPLETE else '', 'point': str(point)}
        cells.update({name: f'{trial.params[name]:g}' if isinstance(trial.params.get(name), float)
                      else str(trial.params.get(name, '')) for name in swept})
        cells['quality'] = f'{trial.value:.3f}' if trial.state == TrialState.COMPLETE else ''
        for dataset in datasets:
            quality = trial.user_attrs.get(f'{dataset}_quality')
            cells[f'{dataset} quality'] = '' if quality is None else f'{quality:.3f}'
        cells['minutes'] = f'{trial.user_attrs.get("seconds", 0) / 60:.1f}'
        cells['note'] = describe(trial)
        for dataset in datasets:
            encoded = trial.user_attrs.get(f'{dataset}_picture')
            path = os.path.join('pictures', f'point-{point:03d}-{dataset}.png')
            if encoded:
                with open(os.path.join(folder, path), 'wb') as f:
                    f.write(base64.b64decode(encoded))
            cells[dataset] = path if encoded else ''
        table.append(cells)
    ran, would_have = time_saved_by_pruning(study.get_trials(deepcopy=False))
    summary = [f'{len(finished)} points finished of the study {study.study_name!r}, best first; quality: 0 is '
               'noise, 1 real images (facegen/score.py), averaged over ' + ', '.join(datasets) + '.']
    if would_have:
        summary.append(f'Pruning stopped {sum(t.state == TrialState.PRUNED for t in finished)} trials after '
                       f'{ran / 60:.1f} minutes that would have taken about {would_have / 60:.1f}: it saved '
                       f'{(would_have - ran) / 60:.1f} minutes.')
    plot_scores(finished, swept, os.path.join(folder, 'scores.png'))
    write_markdown(table, datasets, summary, os.path.join(folder, 'results.md'))
    return write_html(table, datasets, summary, study.study_name, os.path.join(folder, 'results.html'))


def write_markdown(table, datasets, summary, path):
    columns = list(table[0]) if table else []
    lines = [*summary, '', '![quality against each hyperparameter](scores.png)', '']
    if columns:
        lines += ['| ' + ' | '.join(columns) + ' |', '|' + '---|' * len(columns)]
        for cells in table:
            lines.append('| ' + ' | '.join(f'![{name}]({value})' if name in datasets and value else value
                                           for name, value in cells.items()) + ' |')
    with open(path, 'w', encoding='utf-8') as f:
        f.write('\n'.join(lines) + '\n')


def write_html(table, datasets, summary, name, path):
    columns = list(table[0]) if table else []
    head = ''.join(f'<th>{html.escape(c)}</th>' for c in columns)
    body = ''.join('<tr>' + ''.join(
        f'<td><img src="{html.escape(value)}" width="84"></td>' if column in datasets and value
        else f'<td>{html.escape(value)}</td>' for column, value in cells.items()) + '</tr>\n' for cells in table)
    page = f'''<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>Sweep {html.escape(name)}</title>
<style>body{{font-family:sans-serif;margin:2em}} table{{border-collapse:collapse}}
td,th{{border:1px solid #ccc;padding:4px 8px;text-align:center}} img{{image-rendering:pixelated}}</style></head>
<body><h1>Sweep {html.escape(name)}</h1>
{''.join(f"<p>{html.escape(line)}</p>" for line in summary)}
<p><img src="scores.png" alt="quality against each hyperparameter" style="max-width:100%"></p>
<table><tr>{head}</tr>
{body}</table></body></html>
'''
    with open(path, 'w', encoding='utf-8') as f:
        f.write(page)
    return path


def plot_scores(finished, swept, path):
    complete = [t for t in finished if t.state == TrialState.COMPLETE]
    figure, axes = pyplot.subplots(1, max(len(swept), 1), figsize=(3.2 * max(len(swept), 1), 3), squeeze=False)
    for axis, name in zip(axes[0], swept):
        values = [t.params.get(name) for t in complete]
        known = [(v, t.value) for v, t in zip(values, complete) if v is not None]
        if known:
            labels = sorted({v for v, _ in known}, key=lambda v: (isinstance(v, str), v))
            numeric = all(isinstance(v, (int, float)) for v in labels)
            xs = [v if numeric else labels.index(v) for v, _ in known]
            axis.scatter(xs, [q for _, q in known], s=18)
            if not numeric:
                axis.set_xticks(range(len(labels)), labels)
            elif len(labels) > 2 and min(labels) > 0 and max(labels) / min(labels) > 20:
                axis.set_xscale('log')
        axis.set_xlabel(name)
        axis.set_ylabel('quality')
        axis.grid(alpha=0.3)
    figure.tight_layout()
    figure.savefig(path, dpi=90)
    pyplot.close(figure)
