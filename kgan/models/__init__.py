"""GAN models: the shared engine (`GAN`) and the registry of named families."""

from kgan.models.gan import GAN
from kgan.models.registry import build_gan, build_optimizers, describe_models, model_names

__all__ = ["GAN", "build_gan", "build_optimizers", "describe_models", "model_names"]
