"""How well an autoencoder reconstructs held-out images: pixel error and whether the digit survives.

- `reconstruction_mse`: mean squared error per image between the input and its reconstruction (decode(encode(x)))
  on [0, 1] pixels, both quantized to uint8 like every scored image;
- `reconstruction_accuracy`: the evaluation classifier's accuracy on the reconstructions against the examples'
  labels, beside its accuracy on the inputs themselves (what a perfect reconstruction reaches).
"""

from __future__ import annotations

import numpy as np

from kgan.imageio import to_uint8
from kgan.metrics import codes
from kgan.metrics.output_accuracy import accuracy
from kgan.metrics.registry import Headline, Metric, register


def reconstruction_mse(inputs) -> dict:
    made = to_uint8(codes.reconstructions(inputs)).astype(np.float64) / 255.0
    given = to_uint8(np.asarray(inputs.held_out["image"], np.float32)).astype(np.float64) / 255.0
    per_image = np.square(made - given).reshape(len(made), -1).mean(axis=1)
    return {"mean": float(per_image.mean()), "std": float(per_image.std()), "num_images": int(len(made)),
            "units": "[0, 1]"}


def reconstruction_accuracy(inputs) -> dict:
    _, labels = codes.labelled(inputs)
    made = accuracy(inputs.extractor.probs(to_uint8(codes.reconstructions(inputs))), labels)
    given = accuracy(inputs.extractor.probs(to_uint8(np.asarray(inputs.held_out["image"], np.float32))), labels)
    return {**made, "input_accuracy": given["accuracy"]}


register(Metric("reconstruction_mse", {"encoder"}, reconstruction_mse, [Headline("mean", "recon MSE")], "lower",
                "mean squared error of held-out images' reconstructions, [0, 1] pixels"))
register(Metric("reconstruction_accuracy", {"encoder", "probs"}, reconstruction_accuracy,
                [Headline("accuracy", "recon accuracy")], "higher",
                "evaluation classifier's accuracy on reconstructions of held-out images against their labels"))
