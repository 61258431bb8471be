"""A sweep's results page, drawn from its study alone: results.md and results.html, one row per
point (hyperparameters, score and its spread over seeds, time, a digit grid and a face grid), best
first and marked, and scores.png, the quality against each swept hyperparameter. A sweep with a
curve of budgets has a row per point and budget, in that order, the best at each budget marked,
and scores.png draws each point's quality against the budget: the median and the seeds' range."""
import base64
import html
import os

import matplotlib
import numpy as np
from optuna.trial import TrialState

from .sweep import time_saved_by_pruning, trial_key

matplotlib.use('Agg')  # written to a file, whatever backend the caller has
from matplotlib import pyplot  # noqa: E402

BEST = '★'
NOTEBOOKS = '-'  # a point that leaves a setting out trains with the notebook's own value


class Row:
    """A point of the sweep: its newest finished trial for each seed (a retried trial's earlier tries
    are left out), scored by the median over the seeds that ran to the end."""

    def __init__(self, point, budget, trials):
        self.point, self.budget, self.trials = point, budget, trials
        self.complete = [t for t in trials if t.state == TrialState.COMPLETE]
        values = sorted(t.value for t in self.complete)
        self.value = float(np.median(values)) if values else None
        self.spread = (values[0], values[-1]) if values else None
        # the pictures and per-dataset figures shown are those of the seed nearest the median
        self.shown = min(self.complete, key=lambda t: abs(t.value - self.value)) if values else trials[-1]
        self.params = self.shown.params

    def figure(self, name):
        """The median over the complete seeds of a figure the trials keep (a dataset's quality)."""
        values = [t.user_attrs[name] for t in self.complete if t.user_attrs.get(name) is not None]
        return float(np.median(values)) if values else self.shown.user_attrs.get(name)


def rows(study):
    """One Row per point (and budget, on a curve), best first; points with no seed run to the end
    come last. A curve's rows go by point, then budget."""
    newest = {}
    for trial in study.get_trials(deepcopy=False, states=(TrialState.COMPLETE, TrialState.PRUNED)):
        newest[trial_key(trial)] = trial
    points = {}
    for (point, budget, _), trial in sorted(newest.items()):
        points.setdefault((point, budget), []).append(trial)
    found = [Row(point, budget, trials) for (point, budget), trials in points.items()]
    if is_curve(study):
        return sorted(found, key=lambda row: (row.point, row.budget))
    return sorted(found, key=lambda row: (row.value is None, -(row.value or 0)))


def is_curve(study):
    return len(study.user_attrs.get('budgets', [])) > 1


def best_rows(finished, curve):
    """The marked rows: the best of all, or on a curve the best at each budget."""
    best = {}
    for row in finished:
        group = row.budget if curve else 0
        if row.value is not None and (group not in best or row.value > best[group].value):
            best[group] = row
    return {id(row) for row in best.values()}


def value_text(value):
    return f'{value:g}' if isinstance(value, float) else str(value)


def point_label(params, names=None):
    """A point's settings in words, 'cutout 0.25, r1_gamma 1' (those of names, or all), for tables and legends."""
    return ', '.join(f'{name} {value_text(params[name])}' for name in (params if names is None else names)
                     if name in params) or "the notebook's own"


def describe(row):
    if not row.complete:
        trial = row.trials[-1]
        then = trial.intermediate_values.get(trial.last_step)
        when = f'pruned at {trial.user_attrs.get("pruned_at", 0):.0%}'
        return when if then is None else f'{when}, quality {then:.3f} then'
    notes = []
    pruned = len(row.trials) - len(row.complete)
    if pruned:
        notes.append(f'{pruned} of {len(row.trials)} seeds pruned')
    diverged = sorted({key.split('_', 1)[1] for t in row.complete for key in t.user_attrs if key.startswith('diverged_')})
    if diverged:
        notes.append(f'diverged on {", ".join(diverged)}')
    return '; '.join(notes)


def write(study, folder):
    """Write results.md, results.html and scores.png into folder; returns the HTML's path."""
    os.makedirs(folder, exist_ok=True)
    datasets, swept = study.user_attrs.get('datasets', []), study.user_attrs.get('swept', [])
    finished, curve, budgets = rows(study), is_curve(study), study.user_attrs.get('budgets', [])
    several_seeds = any(len(row.trials) > 1 for row in finished)
    pictures = os.path.join(folder, 'pictures')
    os.makedirs(pictures, exist_ok=True)
    table, best = [], best_rows(finished, curve)
    for row in finished:
        cells = {'': BEST if id(row) in best else '', 'point': str(row.point)}
        if curve:
            cells['budget'] = budgets[row.budget]
        cells.update({name: value_text(row.params.get(name, NOTEBOOKS)) for name in swept})
        cells['quality'] = '' if row.value is None else f'{row.value:.3f}'
        if several_seeds:
            cells['seeds: lowest-highest'] = '' if row.spread is None else \
                f'{len(row.complete)}: {row.spread[0]:.3f}-{row.spread[1]:.3f}'
        for dataset in datasets:
            quality = row.figure(f'{dataset}_quality')
            cells[f'{dataset} quality'] = '' if quality is None else f'{quality:.3f}'
        cells['minutes'] = f'{np.median([t.user_attrs.get("seconds", 0) for t in row.trials]) / 60:.1f}'
        cells['note'] = describe(row)
        for dataset in datasets:
            encoded = row.shown.user_attrs.get(f'{dataset}_picture')
            budget = f'-budget-{row.budget}' if curve else ''
            path = os.path.join('pictures', f'point-{row.point:03d}{budget}-{dataset}.png')
            if encoded:
                with open(os.path.join(folder, path), 'wb') as f:
                    f.write(base64.b64decode(encoded))
            cells[dataset] = path if encoded else ''
        table.append(cells)
    ran, would_have = time_saved_by_pruning(study.get_trials(deepcopy=False))
    median_of = ' (the median over its seeds)' if several_seeds else ''
    count = len({row.point for row in finished})
    points = f'{count} point{"s" * (count != 1)}'
    order = (f'at {len(budgets)} budgets each, by point and budget, {BEST} the best at each budget' if curve
             else 'best first')
    summary = [f'{points} finished of the study {study.study_name!r}, {order}; quality{median_of}: '
               '0 is noise, 1 real images (facegen/score.py), averaged over ' + ', '.join(datasets) + '.']
    defaults = study.user_attrs.get('defaults', {})
    if any(NOTEBOOKS in (cells[name] for name in swept) for cells in table):
        known = ', '.join(f'{name} {value:g}' if isinstance(value, float) else f'{name} {value}'
                          for name, value in defaults.items())
        summary.append(f'{NOTEBOOKS}: the notebook\'s own value' + (f' ({known}).' if known else '.'))
    if several_seeds:
        summary.append('The pictures are those of the seed nearest the median.')
    if would_have:
        pruned = sum(t.state == TrialState.PRUNED for row in finished for t in row.trials)
        summary.append(f'Pruning stopped {pruned} trial{"s" * (pruned != 1)} after {ran / 60:.1f} minutes that would have '
                       f'taken about {would_have / 60:.1f}: it saved {(would_have - ran) / 60:.1f} minutes.')
    plotted = bool(swept) or curve  # a list of the notebook's own point alone has nothing to plot against
    if curve:
        plot_curves(finished, swept, budgets, study.user_attrs.get('budget_values'), os.path.join(folder, 'scores.png'))
    elif swept:
        plot_scores([t for row in finished for t in row.complete], swept, defaults, os.path.join(folder, 'scores.png'))
    plot = ('quality against the budget' if curve else 'quality against each hyperparameter') if plotted else None
    write_markdown(table, datasets, summary, os.path.join(folder, 'results.md'), plot)
    return write_html(table, datasets, summary, study.study_name, os.path.join(folder, 'results.html'), plot)


def best(study):
    """(the best row, at what): of all points, or on a curve at its longest budget; (None, '') before any
    point has run to the end."""
    curve, finished = is_curve(study), rows(study)
    marked = [row for row in finished if id(row) in best_rows(finished, curve)]
    if not marked:
        return None, ''
    row = max(marked, key=lambda row: row.budget)  # one row unless on a curve: then one a budget
    return row, f' at {study.user_attrs["budgets"][row.budget]}' if curve else ''


def write_markdown(table, datasets, summary, path, plot):
    """plot: scores.png's caption, None where there is none."""
    columns = list(table[0]) if table else []
    lines = [*summary, '', *([f'![{plot}](scores.png)', ''] if plot else [])]
    if columns:
        lines += ['| ' + ' | '.join(columns) + ' |', '|' + '---|' * len(columns)]
        for cells in table:
            lines.append('| ' + ' | '.join(f'![{name}]({value})' if name in datasets and value else value
                                           for name, value in cells.items()) + ' |')
    with open(path, 'w', encoding='utf-8') as f:
        f.write('\n'.join(lines) + '\n')


def write_html(table, datasets, summary, name, path, plot):
    columns = list(table[0]) if table else []
    head = ''.join(f'<th>{html.escape(c)}</th>' for c in columns)
    body = ''.join('<tr>' + ''.join(
        f'<td><img src="{html.escape(value)}" class="grid"></td>' if column in datasets and value
        else f'<td>{html.escape(value)}</td>' for column, value in cells.items()) + '</tr>\n' for cells in table)
    page = f'''<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>Sweep {html.escape(name)}</title>
<style>body{{font-family:sans-serif;margin:2em}} table{{border-collapse:collapse}}
td,th{{border:1px solid #ccc;padding:4px 8px;text-align:center}} img{{image-rendering:pixelated}}
img.grid{{max-width:256px}}</style></head>
<body><h1>Sweep {html.escape(name)}</h1>
{''.join(f"<p>{html.escape(line)}</p>" for line in summary)}
{f'<p><img src="scores.png" alt="{plot}" style="max-width:100%"></p>' if plot else ''}
<table><tr>{head}</tr>
{body}</table></body></html>
'''
    with open(path, 'w', encoding='utf-8') as f:
        f.write(page)
    return path


def plot_scores(complete, swept, defaults, path):
    """Each trial run to the end is a dot: a point's seeds make a column of dots; a point that leaves
    a setting out is drawn at its default, where there is one for every dataset."""
    figure, axes = pyplot.subplots(1, max(len(swept), 1), figsize=(3.2 * max(len(swept), 1), 3), squeeze=False)
    for axis, name in zip(axes[0], swept):
        # the notebook's own point (no setting of its own) stands at the defaults; others leaving
        # this setting out changed another one, and would blur the picture
        values = [t.params.get(name, defaults.get(name) if not t.params else None) for t in complete]
        known = [(v, t.value) for v, t in zip(values, complete) if v is not None]
        if known:
            labels = sorted({v for v, _ in known}, key=lambda v: (isinstance(v, str), v))
            numeric = all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in labels)
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


def plot_curves(finished, swept, budgets, values, path):
    """Each point's quality against the budget (at `values`, the first dataset's amounts, where the
    study has them): its median over the seeds, a line, and the band from its lowest seed to its
    highest."""
    figure, axis = pyplot.subplots(figsize=(6.4, 3.6))
    by_point = {}
    for row in finished:
        if row.value is not None:
            by_point.setdefault(row.point, []).append(row)
    for point, point_rows in sorted(by_point.items()):
        draw_spread(axis, [values[row.budget] if values else row.budget for row in point_rows],
                    [(row.value, *row.spread) for row in point_rows], f'{point}: {point_label(point_rows[0].params, swept)}')
    set_budget_axis(axis, budgets, values)
    axis.set_ylabel('quality (median, and range over the seeds)')
    axis.legend(fontsize='small')
    figure.tight_layout()
    figure.savefig(path, dpi=90)
    pyplot.close(figure)


def draw_spread(axis, xs, spreads, label):
    """One point's curve: its median at each budget, a line, and the band from its lowest seed to
    its highest; spreads holds (median, lowest, highest) a budget."""
    medians, lows, highs = zip(*spreads)
    line, = axis.plot(xs, medians, marker='o', label=label)
    axis.fill_between(xs, lows, highs, color=line.get_color(), alpha=0.15)


def set_budget_axis(axis, budgets, values):
    """The budgets' labels at their amounts (`values`; None: at their places), on a log scale: budgets
    grow by factors (1, 2, 5, 15 minutes), and on a linear one the shortest two overlap."""
    log = bool(values) and min(values) > 0
    if log:
        axis.set_xscale('log')
        axis.minorticks_off()
    axis.set_xticks(values or range(len(budgets)), budgets)
    axis.set_xlabel('budget (log scale)' if log else 'budget')
    axis.grid(alpha=0.3)
