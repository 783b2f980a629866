"""Evaluation suite: feature extractors, GAN metrics and `evaluate` reports.

One module per metric (`frechet`, `inception_score`, `kid`, `precision_recall`, `coverage`,
`ms_ssim`, `swd`, `ppl`; `paired` for output-vs-target metrics, `content_accuracy` for an unpaired
translator's outputs against its inputs' classes), each registering itself in
`registry`; shared feature statistics in `stats`, the real side (a seeded sample of a data set, streamed) in
`reference`, its features computed once in `feature_cache`, extractors in `features`, `classifier` and
`inception`, sample sources in `sources`, reference points in `baselines` and the report in
`report`. Heavy imports (TensorFlow) happen inside the functions that need them, because the
registry imports every module of this package to discover the metrics.
"""

from kgan.metrics.classifier import ClassifierExtractor, train_classifier
from kgan.metrics.coverage import class_coverage
from kgan.metrics.features import FeatureExtractor, get_extractor
from kgan.metrics.frechet import fid, frechet_distance
from kgan.metrics.inception_score import inception_score
from kgan.metrics.kid import kernel_inception_distance
from kgan.metrics.ms_ssim import ms_ssim
from kgan.metrics.ppl import perceptual_path_length
from kgan.metrics.precision_recall import precision_recall
from kgan.metrics.report import evaluate, format_table
from kgan.metrics.sources import Generator, from_gan, generator_from_path
from kgan.metrics.stats import RunningStats
from kgan.metrics.swd import swd

__all__ = [
    "ClassifierExtractor", "FeatureExtractor", "Generator", "RunningStats",
    "class_coverage", "evaluate", "fid", "format_table", "frechet_distance", "from_gan",
    "generator_from_path", "get_extractor", "inception_score", "kernel_inception_distance",
    "ms_ssim", "perceptual_path_length", "precision_recall", "swd",
    "train_classifier",
]
