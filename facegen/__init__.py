"""The project's library, one job a module; helper.py is the face the notebook sees.

    env       TensorFlow's environment (set here, before TensorFlow loads), quiet native stderr,
              progress bars
    config    the facts every module shares: image size, pixel range, scopes, and each dataset
              described whole in a DatasetSpec (download, extraction, crop, stand-in, score, sizes)
    download  fetching an archive from its mirrors, verified; download_extract
    extract   unpacking an archive into place, whole or not at all
    offline   the real images that ship inside installed packages, for machines with no network
    images    reading, cropping and drawing images
    dataset   Dataset: decoded once into a cache, served as shuffled batches
    ops       the generator's transposed convolution, with a faster CPU gradient
    runs      TrainingRun: a run folder's checkpoints, resume, TensorBoard, pictures, samples; draw, which
              can keep the draws the discriminator rates most real
    average   the generator's weights averaged over training, which every picture is drawn with
    files     writing a file whole or not at all (caches, samples)
    score     the quality score of generated digits and faces, with reference figures
    inception the standard FID's network, from its checksum-verified weights
    variants  the networks and settings a sweep trains besides the notebook's own
    sweep     hyperparameter sweeps on Optuna, checked specs, their journal
    results   a sweep's results page
    notebook  the notebook's own definitions, loaded for the tests and the benchmark

Every module that loads TensorFlow does it through env.import_tensorflow, after env has set
TensorFlow's environment; importing helper (or facegen.ops, facegen.runs) does the same.
"""
