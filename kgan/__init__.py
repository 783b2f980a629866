"""kgan: GANs as Keras 3 models with one shared training engine, Luigi pipelines and TF Serving export."""

__version__ = "0.1.0"
