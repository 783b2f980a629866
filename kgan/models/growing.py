"""Progressive growing for any engine model whose networks are `kgan.nets.progressive.GrowingNetwork`s.

`Growing` is a mixin (before the family's class: `class ProGAN(Growing, GAN)`) that any family reuses (ProGAN; a
style-based generator trained progressively):
- `set_resolution(r, fade)`: the training loop calls it at every phase with a resolution (and when a run is
  restored, for the phase of its step); every growing network and its EMA shadow runs at r, fading its newest block
  in when `fade` is the fade phase's step range. The step is traced again when the resolution or the fading state
  changes (the range is a variable the step reads).
- alpha is a function of the step counter, computed inside the step (`fade_alpha`): (steps_done - start) /
  (end - start), clipped to [0, 1], the same as `kgan.phases.Phase.alpha`. A run resumed in the middle of a fade
  continues it from the checkpointed step; no schedule state is kept anywhere else. The networks' `alpha` weight
  holds the value of the last step (what inference between steps uses).
- real images are faded like the fakes: the input pipeline downscales them to the phase's resolution (box filter,
  `kgan.data.features`), and the step lerps the 2x average-pooled-then-upsampled image with the full one at the
  same alpha (`fade_images`), so at alpha = 0 D sees exactly the previous resolution's data, upsampled.
- the served network is always at `data.resolution`: the current resolution's output nearest-upsampled and clipped
  to [-1, 1], so snapshots, metrics and exports keep one image shape while the model grows.
"""

from __future__ import annotations

import keras
import tensorflow as tf
from keras import ops

from kgan.nets.progressive import downsample, lerp, upsample


def fade_images(images, alpha):
    """Images at resolution r faded like a growing generator's output: lerp(up2(avgpool2(x)), x, alpha)."""
    return lerp(upsample(downsample(images, 2), 2), images, alpha)


def fade_alpha(step, start, end):
    """alpha of the step after `step` steps in a fade phase [start, end): 0 at its first step, rising linearly."""
    start, end = ops.cast(start, "float32"), ops.cast(end, "float32")
    return ops.clip((ops.cast(step, "float32") - start) / (end - start), 0.0, 1.0)


class Growing:
    """Mixin for an `Engine` whose `GROWING` networks grow (see the module docstring)."""

    GROWING: tuple = ("generator", "discriminator")
    fade_range = None  # (start, end) steps of the current fade phase; None when not fading

    def growing_networks(self) -> list:
        """Every growing network and its EMA shadow."""
        return [getattr(self, name) for name in self.GROWING] + [
            self.shadow(name) for name in self.GROWING if name in self.ema_names]

    @property
    def resolution(self) -> int:
        return getattr(self, self.GROWING[0]).resolution

    def set_resolution(self, resolution: int, fade: tuple[int, int] | None = None) -> None:
        networks, fading = self.growing_networks(), fade is not None
        if any((n.resolution, n.fading) != (resolution, fading) for n in networks):
            self.train_function = None  # traced again for the new graph (a new fade range alone is not)
        self.fade_range = tuple(fade) if fading else None
        for network in networks:
            network.set_resolution(resolution, fading=fading)
        if fading:
            self._fade_bounds().assign([float(fade[0]), float(fade[1])])
            for network in networks:
                network.alpha.assign(fade_alpha(self.steps_done, *fade))

    def _fade_bounds(self):
        """The fade range as a variable the step reads (so changing only the range does not retrace it); kept out of
        the model's tracked state: it is set from the phase at every `set_resolution`, never restored."""
        if "_fade_variable" not in self.__dict__:
            self.__dict__["_fade_variable"] = tf.Variable([0.0, 1.0], trainable=False, name="fade_range")
        return self.__dict__["_fade_variable"]

    def batch_features(self, data) -> dict:
        """The real batch at the phase's resolution, faded at this step's alpha (which the networks get too)."""
        batch = super().batch_features(data)
        if self.fade_range is None:
            return batch
        bounds = self._fade_bounds()
        alpha = fade_alpha(self.steps_done, bounds[0], bounds[1])
        for network in self.growing_networks():
            network.alpha.assign(alpha)
        return {**batch, "image": fade_images(batch["image"], alpha)}

    def served(self, network: keras.Model) -> keras.Model:
        """`network` (inputs named like `inference_inputs`) as served: its output nearest-upsampled to the target
        resolution and clipped to [-1, 1]. Built per resolution and fading state (a functional model over the
        growing one, sharing its weights)."""
        key = (id(network), network.resolution, network.fading)
        cache = self.__dict__.setdefault("_served_cache", {})
        if key not in cache:
            inputs = {s.name: keras.Input(s.shape, name=s.name, dtype=s.dtype)
                      for s in self.inference_inputs()}
            args = list(inputs.values())
            image = network(args[0] if len(args) == 1 else inputs)
            image = upsample(image, network.target_resolution // network.resolution)
            image = keras.layers.Activation("hard_tanh", dtype="float32", name="image")(image)
            cache[key] = keras.Model(args[0] if len(args) == 1 else inputs, image, name=f"{network.name}_served")
        return cache[key]
