"""Does the generator's weight average draw better than its last weights? Paired runs: each run of
the notebook's train() is scored, at a quarter, half and all of its batches, with its own weights
and with averages of several ramp-ups (facegen/average.py), on the same z; one JSON line a point.

    .venv/bin/python -m benchmarks.ema_pairs mnist DATA_DIR --batch 4 --batches 2500 --seeds 0,1,2
    .venv/bin/python -m benchmarks.ema_pairs celeba DATA_DIR --batch 16 --batches 3200 --ramps 0.05,0.1

Budgets are batches, not minutes, so that a busy machine cannot skew a comparison; the average
costs no measurable time (it moves once per 64 images). Results: docs/EXPERIMENTS.md."""
import argparse
import json

import numpy as np

import helper
from facegen import average
from facegen.env import import_tensorflow
from facegen.images import generated_to_uint8
from facegen.notebook import load_notebook_functions, training_settings
from facegen.score import Scorer

tf = import_tensorflow()
SCORED = 2000


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('dataset', choices=sorted(helper.DATASETS))
    parser.add_argument('data_dir', help='the folder that holds mnist/ or img_align_celeba/')
    parser.add_argument('--batch', type=int, help="default: the notebook's")
    parser.add_argument('--batches', type=int, required=True)
    parser.add_argument('--seeds', default='0,1,2')
    parser.add_argument('--ramps', default=str(average.RAMP_UP), help='ramp-ups of the averages, comma-separated')
    args = parser.parse_args()
    nb = load_notebook_functions()
    hyper = training_settings(args.dataset)
    batch_size = args.batch or hyper['batch_size']
    dataset = helper.Dataset(args.dataset, data_dir=args.data_dir)
    scorer = Scorer(args.dataset, args.data_dir, fid=False)
    for seed in map(int, args.seeds.split(',')):
        paired_run(nb, hyper, batch_size, dataset, scorer, args, seed)


def paired_run(nb, hyper, batch_size, dataset, scorer, args, seed):
    averages = []
    points = {args.batches // 4, args.batches // 2, args.batches}

    def score_both(run):
        if run.done in points:
            z = np.random.RandomState(123).uniform(-1, 1, (SCORED, int(run.input_z.shape[-1])))
            draw = lambda: scorer(generated_to_uint8(run.sess.run(run.samples, {run.input_z: z})))['quality']
            line = {'seed': seed, 'batches': run.done, 'last weights': draw()}
            for kept in averages:
                with kept.in_place(run.sess):
                    line[f'average, ramp {kept.ramp_up:g}'] = draw()
            print(json.dumps(line), flush=True)
        for kept in averages:
            kept.after_batch(run.sess, run.done, batch_size)

    class PairedRun(helper.TrainingRun):
        def attach(self, input_z, samples):
            averages.extend(average.GeneratorAverage(ramp_up=float(r)) for r in args.ramps.split(','))
            super().attach(input_z, samples)

        def _training(self, sess, *rest):
            for kept in averages:
                kept.start(sess)  # each average begins as the initial weights
            return super()._training(sess, *rest)

    dataset.reseed(seed)
    with tf.Graph().as_default():
        tf.set_random_seed(seed)
        np.random.seed(seed)
        nb['train'](10 ** 6, batch_size, hyper['z_dim'], hyper['learning_rate'], hyper['beta1'], dataset.get_batches,
                    dataset.shape, dataset.image_mode, print_every=10 ** 9, show_every=10 ** 9,
                    run=PairedRun(max_batches=args.batches, after_batch=score_both, ema_half_life=0))


if __name__ == '__main__':
    main()
