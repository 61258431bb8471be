"""Speed and time-to-quality figures for the notebook's DCGAN, printed in one run.

    python3 run.py bench                         the input pipeline (with --data), the training step
                                                 and loop, the sgemm bound, peak memory
    python3 run.py bench --investigate           also: one op at a time, TensorFlow's own filter
                                                 gradients, where the step's time goes op by op,
                                                 this CPU's FMA peak
    python3 run.py bench --quality mnist -m 5    train the notebook's train() for 5 minutes, write
                                                 2,000 samples, print their score (facegen/score.py)
                                                 and --judge's, if given; --z-dim, --channels,
                                                 --generator-channels, --latent-classes,
                                                 --class-information and --keep-share set what a
                                                 sweep's settings of those names set
    python3 run.py bench --image-size 64         the same at 64 x 64 (faces): the notebook's network
                                                 at 64 beside PyTorch's DCGAN example at 64

The measurements are in benchmarks/measure.py. This file reads and checks the arguments first, so
that a mistake is named in a moment, before TensorFlow loads (seconds) and anything runs.

Yardsticks outside the project come only through flags or environment variables:
  --torch-reference FILE ($FACEGEN_TORCH_REFERENCE)  the classic network in PyTorch, printing imgs_per_s=
                                                    (at --image-size 64: PyTorch's DCGAN example at 64)
  --torch-python PYTHON  ($FACEGEN_TORCH_PYTHON)     a Python with torch for it (default: this one)
  --judge FILE           ($FACEGEN_JUDGE)            a scorer: JUDGE mnist|faces SAMPLES.npz
  --judge-python PYTHON  ($FACEGEN_JUDGE_PYTHON)     a Python with the judge's packages
What the figures mean and a dated record of them: docs/PERFORMANCE.md.
"""
import argparse
import glob
import os
import sys

from facegen.config import CELEBA, DATASETS, IMAGE_SIZE, KEEP_SHARES, LATENT_CLASSES, is_keep_share, is_latent_classes

TRAIN_READS = 3  # the training steps are timed in this many reads, taken in turn; the best is printed


def celeba_jpeg_folder(folder):
    """The folder of aligned CelebA JPEGs that --data names: the folder itself, or its img_align_celeba/
    (the data_dir that the notebook and `run.py sweep --data` take), so either spelling works."""
    for candidate in (folder, os.path.join(folder, CELEBA.folder)):
        if glob.glob(os.path.join(candidate, '*.jpg')):
            return candidate
    sys.exit(f'--data {folder} holds no .jpg, nor does {os.path.join(folder, CELEBA.folder)}: give the folder '
             'of aligned CelebA JPEGs (or the folder above it). Nothing was run.')


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--data', help='a folder of aligned CelebA JPEGs, or the folder that holds img_align_celeba/: '
                        'the input figures; with --quality, the training images (default: data/)')
    parser.add_argument('--batch', type=int, default=None,
                        help="batch size (speed: 64, as the references; quality: the notebook's)")
    parser.add_argument('--steps', type=int, default=30, help=f'timed training steps per line, over {TRAIN_READS} reads')
    parser.add_argument('--investigate', action='store_true',
                        help="also one op at a time, TensorFlow's own filter gradients, the op-by-op breakdown, the FMA peak")
    parser.add_argument('--quality', choices=sorted(DATASETS), help='time-to-quality mode on this dataset')
    parser.add_argument('--image-size', type=int, default=IMAGE_SIZE, choices=CELEBA.sizes,
                        help=f'the side of the images (default {IMAGE_SIZE}; 64: faces only)')
    parser.add_argument('-m', '--minutes', type=float, default=5, help='training budget for --quality')
    parser.add_argument('--learning-rate', type=float, help="quality: default the notebook's")
    parser.add_argument('--z-dim', type=int, help="quality: the numbers in z (default the notebook's)")
    parser.add_argument('--channels', type=int, help="quality: the notebook's CHANNELS, both networks' width (default its own)")
    parser.add_argument('--generator-channels', type=int, help='quality: CHANNELS in the generator alone (after --channels)')
    parser.add_argument('--latent-classes', type=int, default=0, metavar='K',
                        help="quality: z's first number picks one of K classes, one-hot in the generator (default 0: none)")
    parser.add_argument('--class-information', type=float, default=0.0, metavar='W',
                        help="quality: weight in G's loss of a reader's failure to tell z's class (InfoGAN; "
                             'needs --latent-classes; default 0: none)')
    parser.add_argument('--keep-share', type=float, default=1.0, metavar='K',
                        help='quality: the samples are the 2,000 of 2,000 / K draws the discriminator rates most real '
                             '(default 1: every draw)')
    parser.add_argument('--out', help='where --quality writes its samples (.npz)')
    parser.add_argument('--torch-reference', default=os.environ.get('FACEGEN_TORCH_REFERENCE'), metavar='FILE')
    parser.add_argument('--torch-python', default=os.environ.get('FACEGEN_TORCH_PYTHON', sys.executable))
    parser.add_argument('--judge', default=os.environ.get('FACEGEN_JUDGE'), metavar='FILE')
    parser.add_argument('--judge-python', default=os.environ.get('FACEGEN_JUDGE_PYTHON', sys.executable))
    parser.add_argument('--input-memory', type=int, metavar='N',
                        help="only measure the input pipeline's peak memory on N files of --data (202599: full CelebA)")
    args = parser.parse_args()
    problems = [(args.batch is not None and args.batch < 1, f'--batch {args.batch}: a batch holds 1 image or more'),
                (args.steps < 1, f'--steps {args.steps}: time 1 step or more'),
                (not args.minutes > 0, f'-m {args.minutes:g}: give --quality a budget above 0 minutes'),
                (args.learning_rate is not None and not args.learning_rate > 0,
                 f'--learning-rate {args.learning_rate}: it must be above 0'),
                (args.z_dim is not None and args.z_dim < 1, f'--z-dim {args.z_dim}: z holds 1 number or more'),
                *((value is not None and value < 1, f'--{flag} {value}: a layer has 1 channel or more')
                  for flag, value in (('channels', args.channels), ('generator-channels', args.generator_channels))),
                (not is_latent_classes(args.latent_classes), f'--latent-classes {args.latent_classes}: give {LATENT_CLASSES}'),
                (args.latent_classes and args.z_dim is not None and args.z_dim < 2,
                 f'--z-dim {args.z_dim}: --latent-classes takes z\'s first number for the class, so z needs 2 or more'),
                (args.class_information < 0, f'--class-information {args.class_information:g}: a weight of 0 or more'),
                (args.class_information and not args.latent_classes,
                 f'--class-information {args.class_information:g}: give --latent-classes too, the classes it reads'),
                (not is_keep_share(args.keep_share), f'--keep-share {args.keep_share:g}: give a share {KEEP_SHARES}'),
                (args.input_memory is not None and args.input_memory < 1, f'--input-memory {args.input_memory}: 1 or more'),
                (args.data is not None and args.quality == 'mnist',
                 '--data names CelebA images; --quality mnist trains on the digits in data/ (downloaded, or the 5,000 '
                 'bundled ones offline): leave --data out'),
                (args.data is not None and not os.path.isdir(args.data),
                 f'--data {args.data} is not a folder: give the folder that holds the aligned CelebA JPEGs')]
    if args.quality and args.image_size not in DATASETS[args.quality].sizes:
        problems.append((True, f'--image-size {args.image_size}: {args.quality} images are trained at '
                               f'{" or ".join(map(str, DATASETS[args.quality].sizes))} pixels a side'))
    for failed, message in problems:
        if failed:
            sys.exit(f'{message}. Nothing was run.')
    if args.input_memory and not args.data:
        parser.error('--input-memory needs --data, a folder of aligned CelebA JPEGs')
    if args.data:
        args.data = celeba_jpeg_folder(args.data)

    from benchmarks import measure  # TensorFlow with it: only once the arguments are known to be good
    if args.input_memory:
        with measure.linked_data_dir(args.data) as data_dir:
            measure.input_memory(data_dir, args.input_memory, size=args.image_size)
    elif args.quality:
        measure.quality(args)
    else:
        args.batch = args.batch or 64
        measure.speed(args)


if __name__ == '__main__':
    main()
