"""How much does one generator's score move from draw to draw? Many samples of one trained run, scored
a draw of 1,000 at a time (as the references are) and as the means of 2 and 4 draws: each figure's
standard deviation and range, one JSON line each.

    python3 run.py sample RUN_DIR -n 16000 --out DIR
    .venv/bin/python -m benchmarks.score_noise DIR/samples.npz --data DATA_DIR

A run's samples file holds 2,000 (facegen/runs.py), so its quality is the mean of 2 draws.
Results: docs/SWEEPS.md."""
import argparse
import json

import numpy as np

from facegen.score import SCORED_IMAGES, Scorer, dataset_of

MEANS_OF = (1, 2, 4)  # draws averaged per figure


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('samples', help='an .npz holding `images`, as run.py sample writes it (at least 8,000)')
    parser.add_argument('--data', default='data', help='the datasets\' folder (faces: the real images to score against)')
    args = parser.parse_args()
    with np.load(args.samples) as samples:
        images = samples['images']
    if len(images) < max(MEANS_OF) * 2 * SCORED_IMAGES:
        raise SystemExit(f'{args.samples} holds {len(images):,} images: give at least '
                         f'{max(MEANS_OF) * 2 * SCORED_IMAGES:,} (run.py sample RUN_DIR -n 16000).')
    with Scorer(dataset_of(images), args.data, fid=False) as scorer:
        per_draw = [scorer(draw) for draw in scorer.draws(images)]
    for means_of in MEANS_OF:
        usable = len(per_draw) // means_of * means_of
        for figure in ('quality', 'fd'):
            values = np.array([score[figure] for score in per_draw[:usable]]).reshape(-1, means_of).mean(1)
            print(json.dumps({'figure': figure, 'draws_averaged': means_of, 'values': int(len(values)),
                              'sd': round(float(values.std(ddof=1)), 4),
                              'range': [round(float(values.min()), 4), round(float(values.max()), 4)]}))


if __name__ == '__main__':
    main()
