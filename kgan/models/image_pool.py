"""The history of generated images a CycleGAN discriminator is also shown (Shrivastava et al. 2017; CycleGAN
section 4): updating D on a buffer of past fakes, not only the newest generator's, damps oscillation.

The pool is a layer whose state lives in non-trainable variables (the stored images and how many slots are
filled), so it works inside the compiled training step and is checkpointed with the model. `query(fakes, u,
slots)` follows the reference implementation's rule per image: while the pool has free slots, the fake is
stored and returned; once it is full, with probability 1/2 a random stored image is returned and the fake takes
its slot, else the fake itself is returned. Half of each discriminator batch is therefore drawn from the
history. The random numbers come from the caller (the model's seeded stream): `u` uniform in [0, 1) and
`slots` uniform in [0, 1) scaled to a slot index, one each per image.
"""

from __future__ import annotations

import keras
import tensorflow as tf


@keras.saving.register_keras_serializable(package="kgan")
class ImagePool(keras.layers.Layer):
    def __init__(self, size: int, image_shape, **kwargs):
        super().__init__(trainable=False, **kwargs)
        self.size = int(size)
        self.image_shape = tuple(int(d) for d in image_shape)
        self.images = self.add_weight(shape=(max(self.size, 1), *self.image_shape), initializer="zeros",
                                      trainable=False, name="images")
        self.filled = self.add_weight(shape=(), dtype="int32", initializer="zeros", trainable=False, name="filled")
        self.built = True

    def query(self, fakes, u, slots):
        """The images to show the discriminator for a batch of `fakes` (see the module docstring)."""
        fakes = tf.stop_gradient(tf.cast(fakes, self.images.dtype))
        if self.size == 0:
            return fakes
        n = tf.shape(fakes)[0]
        position = tf.range(n)
        free = self.size - self.filled.value
        inserting = position < free  # fills the empty slots, in order
        swapping = tf.logical_and(tf.logical_not(inserting), u < 0.5)
        random_slot = tf.minimum(tf.cast(slots * self.size, tf.int32), self.size - 1)
        slot = tf.where(inserting, tf.minimum(self.filled.value + position, self.size - 1), random_slot)
        stored = tf.gather(self.images.value, slot)
        out = tf.where(swapping[(slice(None),) + (None,) * len(self.image_shape)], stored, fakes)
        written = tf.logical_or(inserting, swapping)
        self.images.assign(tf.tensor_scatter_nd_update(self.images.value, tf.boolean_mask(slot, written)[:, None],
                                                       tf.boolean_mask(fakes, written)))
        self.filled.assign(tf.minimum(self.filled.value + n, self.size))
        return out

    def get_config(self):
        return {**super().get_config(), "size": self.size, "image_shape": list(self.image_shape)}
