"""The augmentation a model applies to its critics' inputs: DiffAugment, or ADA with its adaptive probability.

`augment(inputs, rng)` draws one set of parameters per example from `rng` (the engine: `random_uniform`,
`random_normal`, its seeded and checkpointed stream) and applies them to every image of the input (a tensor, or a
dict whose float [B, H, W, C] entries are images; labels and codes pass through). Translations are whole pixels of
the largest image.

ADA (Karras et al. 2020) keeps its state in non-trainable variables, updated inside the compiled step and
checkpointed with the model: `p`, the probability with which each op is applied to an example, and the sums of
the current interval. Every critic pass on real data reports sign(D(x) - boundary) (`observe`); every
`interval` steps `end_step` sets r_t = E[sign] over the interval and moves p by sign(r_t - target) times the
real images seen over `images`, clipped to [0, 1]: p can go from 0 to 1 in `images` real images, as in the
paper (500k). The engine puts the variables back when a step is skipped as non-finite (`Engine.step_buffers`).
"""

from __future__ import annotations

import keras
import tensorflow as tf

from kgan.augment import ops
from kgan.augment.policy import parse
from kgan.models import updates

DIFFAUGMENT = {"translation": 0.125, "cutout": 0.5}  # fractions of the image size (the reference code's ratios)
ADA = {"translation": 0.125, "scale_std": 0.2, "brightness_std": 0.2, "contrast_std": 0.5, "saturation_std": 1.0}


def build(spec: str, *, target: float = 0.6, interval: int = 4, images: int = 500_000):
    """The augmentation `train.augment` names (None for "")."""
    policy = parse(spec)
    if policy is None:
        return None
    if policy.kind == "ada":
        return AdaptiveAugment(policy.ops, target=target, interval=interval, images=images, name="ada")
    return DiffAugment(policy.ops, name="diffaugment")


def images_of(inputs) -> list[str] | None:
    """The keys of a dict input's images (None for a plain tensor)."""
    if not isinstance(inputs, dict):
        return None
    return [k for k, v in inputs.items() if len(v.shape) == 4 and v.dtype.is_floating]


class DiffAugment(keras.layers.Layer):
    """Zhao et al. 2020: every op on every example (translation up to 1/8 of the size, a cutout square of half
    the size, brightness in [-0.5, 0.5], saturation in [0, 2], contrast in [0.5, 1.5])."""

    def __init__(self, names: tuple, **kwargs):
        super().__init__(trainable=False, **kwargs)
        self.names = tuple(names)
        self.built = True

    def augment(self, inputs, rng):
        keys = images_of(inputs)
        images = [inputs[k] for k in keys] if keys is not None else [inputs]
        if not images:
            return inputs
        size = max(int(x.shape[1]) for x in images)
        params = self.draw(rng, tf.shape(images[0])[0], size)
        out = [self.apply(x, params) for x in images]
        return out[0] if keys is None else {**inputs, **dict(zip(keys, out))}

    def apply(self, images, params: dict):
        dtype = images.dtype
        x = tf.cast(images, "float32")
        x = ops.colour(x, params.get("brightness"), params.get("saturation"), params.get("contrast"))
        geometric = {k: params[k] for k in ("flip", "quarter_turns", "translation", "scale") if k in params}
        if geometric:
            x = ops.resample(x, ops.geometry(batch=tf.shape(x)[0], **geometric))
        if "cutout" in params:
            x = ops.cutout(x, params["cutout"], params["cutout_half"])
        return tf.cast(x, dtype)

    def draw(self, rng, n, size: int) -> dict:
        params = {}
        if "color" in self.names:
            params["brightness"] = rng.random_uniform((n,), -0.5, 0.5)
            params["saturation"] = rng.random_uniform((n,), 0.0, 2.0)
            params["contrast"] = rng.random_uniform((n,), 0.5, 1.5)
        if "translation" in self.names:
            shift = int(size * DIFFAUGMENT["translation"] + 0.5)
            pixels = tf.floor(rng.random_uniform((n, 2), 0.0, 2 * shift + 1.0)) - shift
            params["translation"] = tf.minimum(pixels, shift) * 2.0 / size
        if "cutout" in self.names:
            params["cutout"] = rng.random_uniform((n, 2), -1.0, 1.0)
            params["cutout_half"] = int(size * DIFFAUGMENT["cutout"] + 0.5) / size
        return params

    def observe(self, logits, boundary: float) -> None:
        """What the critic said about real data (ADA's heuristic); DiffAugment needs nothing."""

    def end_step(self, step) -> None:
        """Called once per training step after the updates, with the batches seen so far."""

    def logs(self) -> dict:
        return {}

    def log_names(self) -> list[str]:
        return []

    def get_config(self):
        return {**super().get_config(), "names": list(self.names)}


class AdaptiveAugment(DiffAugment):
    """ADA: each op applied to an example with probability p (see the module docstring)."""

    LOGS = ("ada_p", "ada_rt")

    def __init__(self, names: tuple, *, target: float = 0.6, interval: int = 4, images: int = 500_000, **kwargs):
        super().__init__(names, **kwargs)
        self.target, self.interval, self.images = float(target), int(interval), int(images)
        scalar = dict(shape=(), dtype="float32", initializer="zeros", trainable=False)
        self.p = self.add_weight(name="p", **scalar)
        self.rt = self.add_weight(name="rt", **scalar)  # r_t of the last finished interval
        self.sign_sum = self.add_weight(name="sign_sum", **scalar)  # this interval: sum of per-example mean signs
        self.seen = self.add_weight(name="seen", **scalar)  # this interval: real examples observed

    def draw(self, rng, n, size: int) -> dict:
        p = self.p.value

        def on():  # 1 where an op applies to an example, else 0
            return tf.cast(rng.random_uniform((n,)) < p, "float32")

        def lognormal(std):  # 2^(N(0, std^2)), applied with probability p
            return tf.pow(2.0, on() * rng.random_normal((n,)) * std)

        params = {}
        if "color" in self.names:
            params["brightness"] = on() * rng.random_normal((n,)) * ADA["brightness_std"]
            params["saturation"] = lognormal(ADA["saturation_std"])
            params["contrast"] = lognormal(ADA["contrast_std"])
        if "xflip" in self.names:
            params["flip"] = on() * tf.cast(rng.random_uniform((n,)) < 0.5, "float32")
        if "rotate90" in self.names:
            params["quarter_turns"] = tf.cast(on() * tf.floor(rng.random_uniform((n,), 0.0, 4.0)), "int32")
        if "translation" in self.names:
            pixels = tf.round(rng.random_uniform((n, 2), -1.0, 1.0) * ADA["translation"] * size)
            params["translation"] = on()[:, None] * pixels * 2.0 / size
        if "scale" in self.names:
            params["scale"] = lognormal(ADA["scale_std"])
        return params

    def observe(self, logits, boundary: float) -> None:
        logits = tf.cast(logits, "float32")
        n = tf.shape(logits)[0]
        signs = tf.reduce_mean(tf.reshape(tf.sign(logits - boundary), (n, -1)), axis=1)
        total, count = updates.sum_over_replicas([tf.reduce_sum(signs), tf.cast(n, "float32")])
        self.sign_sum.assign_add(total)
        self.seen.assign_add(count)

    def end_step(self, step) -> None:
        def adjust():
            seen = self.seen.value
            rt = self.sign_sum.value / tf.maximum(seen, 1.0)
            move = tf.where(seen > 0, tf.sign(rt - self.target) * seen / self.images, 0.0)
            self.p.assign(tf.clip_by_value(self.p.value + move, 0.0, 1.0))
            self.rt.assign(tf.where(seen > 0, rt, self.rt.value))
            self.sign_sum.assign(0.0)
            self.seen.assign(0.0)
            return tf.no_op()

        tf.cond(tf.equal(tf.math.floormod(step, self.interval), 0), adjust, tf.no_op)

    def logs(self) -> dict:
        return {"ada_p": self.p.value, "ada_rt": self.rt.value}

    def log_names(self) -> list[str]:
        return list(self.LOGS)

    def get_config(self):
        return {**super().get_config(), "target": self.target, "interval": self.interval, "images": self.images}
