"""GAN models: the shared engine (`GAN`) and the registry of named families.

The registry imports no Keras/TensorFlow, so validating a config (which checks `model.name`) stays
cheap and fork-safe for Luigi's `--workers N`; `GAN` is imported on first use.
"""

from kgan.models.registry import build_gan, build_optimizers, describe_models, model_names

__all__ = ["GAN", "build_gan", "build_optimizers", "describe_models", "model_names"]


def __getattr__(name):
    if name == "GAN":
        from kgan.models.gan import GAN

        return GAN
    raise AttributeError(f"module 'kgan.models' has no attribute {name!r}")
