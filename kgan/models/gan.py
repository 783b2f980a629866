"""The training engine: one `keras.Model` whose `train_step` serves the whole GAN family.

A step = `n_critic` discriminator updates (each on its own slice of the real batch, as in WGAN's
Algorithm 1) followed by one generator update, which reuses the last critic update's fakes (one
generator forward pass per step, as PyTorch's DCGAN example does). Adversarial loss and regularizers are plug-ins
chosen by constructor arguments; variants override small hooks and never copy the loop:

- conditional models (CGAN): `num_classes > 0`; `generator_inputs` / `discriminate` pass labels,
  `sample_labels` draws them for fakes.
- auxiliary heads (ACGAN, InfoGAN): `discriminate` returns extra outputs; `extra_d_losses` /
  `extra_g_losses` add the classification or mutual-information terms, `sample_latent` adds codes.
- StyleGAN: the generator is a functional model of mapping + synthesis; style mixing is a
  `generator_inputs` override that feeds two w's and a crossover point.
- progressive growing: a callback raises a non-trainable `alpha` variable inside the nets and swaps
  in grown nets between `fit` calls (optimizer state is rebuilt for the new variables).
- pix2pix / super-resolution / DeblurGAN: the real batch is a (source, target) pair;
  `generator_inputs` returns the source image, `discriminate` sees (source, image) pairs and
  `extra_g_losses` adds the L1 / perceptual term.
- CycleGAN: a subclass holding two generator/discriminator pairs overrides `generate_fakes` (both
  directions) and `generator_loss` to sum both adversarial losses and the cycle-consistency loss; the
  discriminator step runs per pair.
- AAE / WAE: the "generator" is the encoder, the discriminator judges codes instead of images and
  `extra_g_losses` adds the reconstruction loss.

Losses are averaged over the local batch and divided by the number of replicas, because
`tf.distribute` sums gradients across replicas: the result is the mean over the global batch.

Distribution (docs/distributed.md):
- the NaN guard's decision is all-reduced (SUM of the failures) so that every replica skips or applies together, and
  the conditional update runs as Keras' `LossScaleOptimizer` does it: in replica context when the
  strategy needs no `merge_call`, else a `cond` in cross-replica context around `call_for_each_replica`;
- noise (`sample_latent`, GP mixing, label noise) is drawn from the seed generator's next seed folded
  with the global replica id (which under MultiWorkerMirroredStrategy also encodes the worker), so no
  two replicas see the same z in a step; `fixed_latent` is a test hook that pins the global z batch;
- under MultiWorkerMirroredStrategy the step returns its metrics with shape [1] (Keras' `fit` reduces
  scalar results with `axis=0` there and fails, tensorflow/tensorflow#72388; see `_reshape_logs`);
- mixed precision: `compile` wraps both optimizers in `LossScaleOptimizer` under a float16 policy and
  each loss is scaled by its own optimizer; the engine's guard then looks at the loss only and leaves
  overflowing gradients to the loss-scale optimizer (which skips them and lowers the scale).
"""

from __future__ import annotations

import contextlib
import os

import keras
import tensorflow as tf
from keras import ops

from kgan import distribute, losses
from kgan.models import surface

_SAVEABLE_HPARAMS = ("latent_dim", "image_shape", "num_classes", "loss", "n_critic", "gradient_penalty", "r1",
                     "clip_value", "label_smoothing", "label_noise", "feature_matching", "ema", "seed",
                     "simultaneous")


@keras.saving.register_keras_serializable(package="kgan")
class GAN(keras.Model):
    """Generator + discriminator trained adversarially by one shared `train_step`."""

    def __init__(self, generator: keras.Model, discriminator: keras.Model, *, latent_dim: int,
                 image_shape, num_classes: int = 0, loss: str = "non_saturating", n_critic: int = 1,
                 gradient_penalty: float = 0.0, r1: float = 0.0, clip_value: float = 0.0,
                 label_smoothing: float = 0.0, label_noise: float = 0.0, feature_matching: float = 0.0,
                 ema: float = 0.0, seed: int | None = None, simultaneous: bool = False, **kwargs):
        super().__init__(**kwargs)
        if loss not in losses.LOSSES:
            raise ValueError(f"unknown loss {loss!r}; choose from {losses.LOSSES}")
        if simultaneous and n_critic != 1:
            raise ValueError("simultaneous updates need n_critic = 1")
        if (label_smoothing or label_noise) and loss not in losses.TARGET_LOSSES:
            raise ValueError(f"label smoothing/noise need a target-based loss {losses.TARGET_LOSSES}, not {loss!r}")
        self.generator = generator
        self.discriminator = discriminator
        self.latent_dim = int(latent_dim)
        self.image_shape = tuple(int(d) for d in image_shape)
        self.num_classes = int(num_classes)
        self.loss = loss
        self.n_critic = int(n_critic)
        self.gradient_penalty = float(gradient_penalty)
        self.r1 = float(r1)
        self.clip_value = float(clip_value)
        self.label_smoothing = float(label_smoothing)
        self.label_noise = float(label_noise)
        self.feature_matching = float(feature_matching)
        self.ema = float(ema)
        self.seed = seed
        self.simultaneous = bool(simultaneous)
        self.seed_generator = keras.random.SeedGenerator(seed, name="gan_seed")
        self.ema_generator = self._make_ema_generator() if self.ema > 0 else None
        self.feature_model = (keras.Model(discriminator.inputs, discriminator.get_layer("features").output,
                                          name="discriminator_features") if self.feature_matching else None)
        # Consecutive steps whose losses were not finite (updates skipped); read by the divergence guard.
        self.nonfinite_steps = self.add_weight(shape=(), dtype="int64", initializer="zeros", trainable=False,
                                               name="nonfinite_steps")
        # Batches consumed by train_step (a step can be skipped or rewound, so this is not the step count):
        # a resumed run skips exactly these to see the same data stream as an uninterrupted one.
        self.batches_seen = self.add_weight(shape=(), dtype="int64", initializer="zeros", trainable=False,
                                            name="batches_seen")
        self._trackers = {}  # created in compile(), when subclasses have set what `metric_names` reads
        self.built = True  # both nets are functional models, already built; lets fit() run under a strategy

    # ----- public surface -------------------------------------------------------------------------------
    @property
    def sampler(self) -> keras.Model:
        """The network used for sampling and export: the EMA generator when training kept one."""
        return self.ema_generator if self.ema_generator is not None else self.generator

    def generate(self, z, labels=None, training: bool = False):
        # Keras refuses a call mixing numpy arrays and tensors (numpy z, tensor codes): make them all tensors.
        inputs = keras.tree.map_structure(ops.convert_to_tensor, self.generator_inputs(z, labels))
        return self.sampler(inputs, training=training)

    # ----- the declared inference surface (kgan.models.surface) --------------------------------------
    #: the data feature a served output should match (paired metrics); None for generators from noise
    target_feature = None

    def inference_inputs(self) -> list[surface.InputSpec]:
        """z ~ N(0, I) (+ the class label for conditional models)."""
        specs = [surface.InputSpec("z", "normal", (self.latent_dim,))]
        if self.num_classes:
            specs.append(surface.InputSpec("label", "categorical", classes=self.num_classes))
        return specs

    def inference_network(self) -> keras.Model:
        """The functional network that serves: its `keras.Input`s are named like `inference_inputs()`."""
        return self.sampler

    def infer(self, inputs: dict, training: bool = False):
        """Images float32 [B, H, W, C] in [-1, 1] for named inputs (checked eagerly: names, shapes, ranges)."""
        specs = self.inference_inputs()
        if _is_eager(*inputs.values()):
            inputs = surface.check_inputs(specs, inputs)
        tensors = {k: ops.convert_to_tensor(v) for k, v in inputs.items()}
        return surface.call_network(self.inference_network(), tensors, training=training)

    def call(self, inputs, training=False):
        z, labels = (inputs if isinstance(inputs, (list, tuple)) else (inputs, None))
        return self.generate(z, labels, training=training)

    def metric_names(self) -> list[str]:
        names = ["d_loss", "g_loss", "d_real", "d_fake"]
        if self.loss == "wasserstein":
            names.append("w_distance")
        names += [n for n, on in (("gp", self.gradient_penalty), ("r1", self.r1),
                                  ("feature_matching", self.feature_matching)) if on]
        return names + self.extra_metric_names() + ["nonfinite"]

    def extra_metric_names(self) -> list[str]:
        """Variants' own loss terms, logged as `d_<term>` / `g_<term>` (from `extra_d_losses` / `extra_g_losses`)."""
        return []

    # Test hook: a float32 [global_batch, latent_dim] array; when set, `sample_latent` returns the
    # calling replica's slice of it (replica r gets rows r*b .. (r+1)*b-1, matching how a global batch is split).
    fixed_latent = None

    @property
    def metrics(self):
        return list(self._trackers.values())

    # ----- hooks for variants ---------------------------------------------------------------------------
    def sample_latent(self, batch_size):
        if self.fixed_latent is not None:
            start = _replica_id() * batch_size
            return tf.slice(tf.constant(self.fixed_latent, "float32"), [start, 0], [batch_size, self.latent_dim])
        return self.random_normal((batch_size, self.latent_dim))

    # ----- replica-aware randomness -------------------------------------------------------------------------
    def _replica_seed(self):
        """The seed generator's next seed, folded with the global replica id when there are several replicas
        (the same SeedGenerator state is mirrored on every replica and would give every replica the same draw)."""
        if _num_replicas() == 1:
            return self.seed_generator
        seed = tf.random.experimental.stateless_fold_in(self.seed_generator.next(), _replica_id())
        return tf.cast(tf.math.floormod(seed, tf.int32.max - 1), "int32")

    def random_normal(self, shape):
        seed = self._replica_seed()
        if isinstance(seed, keras.random.SeedGenerator):
            return keras.random.normal(shape, seed=seed)
        return tf.random.stateless_normal(shape, seed=seed, dtype="float32")

    def random_uniform(self, shape, minval=0.0, maxval=1.0):
        seed = self._replica_seed()
        if isinstance(seed, keras.random.SeedGenerator):
            return keras.random.uniform(shape, minval, maxval, seed=seed)
        return tf.random.stateless_uniform(shape, seed=seed, minval=minval, maxval=maxval, dtype="float32")

    def sample_labels(self, batch_size, real_labels):
        """Labels for fakes: the real batch's labels keep the class balance of the data."""
        return real_labels

    def generator_inputs(self, z, labels):
        return [z, labels] if self.num_classes else z

    def discriminate(self, images, labels, training=True) -> dict:
        inputs = [images, labels] if self.num_classes else images
        return {"logits": self.discriminator(inputs, training=training)}

    def extra_d_losses(self, real_out: dict, fake_out: dict, labels) -> dict:
        return {}

    def extra_g_losses(self, real_images, fake_images, fake_out: dict, labels) -> dict:
        return {}

    # ----- compile / save -------------------------------------------------------------------------------
    def compile(self, d_optimizer, g_optimizer, **kwargs):
        """Two optimizers; both are built here, eagerly, under the caller's strategy scope.

        Building them lazily inside the first distributed step breaks (keras-team/keras#23085).
        """
        super().compile(optimizer=None, **kwargs)
        self._trackers = {name: keras.metrics.Mean(name=name) for name in self.metric_names()}
        self.d_optimizer = _loss_scaled(keras.optimizers.get(d_optimizer))
        self.g_optimizer = _loss_scaled(keras.optimizers.get(g_optimizer))
        self.d_optimizer.build(self.discriminator.trainable_variables)
        self.g_optimizer.build(self.generator.trainable_variables)
        self._compile_kwargs = kwargs

    def get_compile_config(self):
        return {"d_optimizer": keras.optimizers.serialize(self.d_optimizer),
                "g_optimizer": keras.optimizers.serialize(self.g_optimizer), **self._compile_kwargs}

    def compile_from_config(self, config):
        config = dict(config)
        self.compile(keras.optimizers.deserialize(config.pop("d_optimizer")),
                     keras.optimizers.deserialize(config.pop("g_optimizer")), **config)

    def get_config(self):
        config = super().get_config()
        config.update({"generator": keras.saving.serialize_keras_object(self.generator),
                       "discriminator": keras.saving.serialize_keras_object(self.discriminator)})
        config.update({k: getattr(self, k) for k in _SAVEABLE_HPARAMS})
        return config

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        generator = keras.saving.deserialize_keras_object(config.pop("generator"))
        discriminator = keras.saving.deserialize_keras_object(config.pop("discriminator"))
        return cls(generator, discriminator, **config)

    # ----- the step ---------------------------------------------------------------------------------------
    def train_step(self, data):
        real, labels, _ = keras.utils.unpack_x_y_sample_weight(data)  # (x,), (x, y) or (x, y, None)
        labels = ops.cast(labels, "int32") if labels is not None else None
        real_chunks = ops.split(real, self.n_critic, axis=0)
        label_chunks = ops.split(labels, self.n_critic, axis=0) if labels is not None else [None] * self.n_critic
        # Non-trainable state (batchnorm moving statistics) is updated by every forward pass in training
        # mode, whether or not the step is finite: keep a copy to put back when the step is skipped.
        state = self.discriminator.non_trainable_variables + self.generator.non_trainable_variables
        saved = [tf.identity(v.value) for v in state]
        finite = tf.constant(True)
        last = self.n_critic - 1
        # One generator forward pass per step: the last critic update's fakes also feed the generator update
        # (the tape records them; the critic's own work is kept off it). Alternating (default): the generator
        # loss goes through the updated critic. Simultaneous (the TF DCGAN tutorial's scheme): it reuses the
        # critic's forward pass on the fakes, computed before the critic update.
        with tf.GradientTape() as g_tape:
            for i, (real_chunk, label_chunk) in enumerate(zip(real_chunks, label_chunks)):
                with contextlib.nullcontext() if i == last else g_tape.stop_recording():
                    fake, fake_labels = self.generate_fakes(ops.shape(real_chunk)[0], label_chunk)
                with contextlib.nullcontext() if self.simultaneous else g_tape.stop_recording():
                    d_logs, d_ok, fake_out = self.discriminator_step(real_chunk, label_chunk, fake, fake_labels)
                finite = tf.logical_and(finite, d_ok)
            g_loss, g_logs = self.generator_loss(real_chunks[-1], label_chunks[-1], fake, fake_labels,
                                                 fake_out if self.simultaneous else None)
        g_ok = self.generator_update(g_tape, g_loss, d_ok=finite)
        finite = tf.logical_and(finite, g_ok)
        self.batches_seen.assign_add(1)
        self.nonfinite_steps.assign(tf.where(finite, tf.zeros((), "int64"), self.nonfinite_steps + 1))
        tf.cond(finite, tf.no_op, lambda: self._restore(state, saved))
        self._sync_state(state)
        if self.ema_generator is not None:
            tf.cond(finite, self._update_ema, tf.no_op)
        logs = {**d_logs, **g_logs, "nonfinite": ops.cast(self.nonfinite_steps, "float32")}
        for name, value in logs.items():
            self._trackers[name].update_state(value)
        return self._reshape_logs({name: tracker.result() for name, tracker in self._trackers.items()})

    def _maybe_symbolic_build(self, iterator=None, data_batch=None):
        """Skip Keras' pre-fit symbolic build when every layer is built (always, for kgan's functional nets):
        it would only all-reduce a first data batch, which fails under MultiWorkerMirroredStrategy for
        (x, y) batches ("Attempt to convert a value (PerReplica...) to a Tensor")."""
        if all(layer.built for layer in self._flatten_layers()):
            with self.distribute_strategy.scope():
                self._symbolic_build(data_batch=())  # builds nothing that needs data; runs _post_build
            return
        super()._maybe_symbolic_build(iterator=iterator, data_batch=data_batch)

    @staticmethod
    def _reshape_logs(logs):
        """Work around tensorflow/tensorflow#72388: under MultiWorkerMirroredStrategy Keras' `fit` reduces the
        step's results with `strategy.reduce("MEAN", v, axis=0)`, which fails on scalars ("Invalid reduction
        dimension 0 for input with 0 dimensions"). Shape [1] reduces to the scalar mean over all replicas.
        KGAN_MWMS_METRICS_WORKAROUND=0 disables it (the test proves the bug is still there without it)."""
        if os.environ.get("KGAN_MWMS_METRICS_WORKAROUND", "1") == "0" or not tf.distribute.has_strategy():
            return logs
        if not distribute.is_multi_worker(tf.distribute.get_strategy()):
            return logs
        return {name: ops.reshape(value, (1,)) for name, value in logs.items()}

    @staticmethod
    def _sync_state(variables):
        """Average non-trainable state (batchnorm moving statistics) over the replicas after each step, so that
        every replica and worker holds the same weights. The batch statistics used in the step stay per replica
        (plain BatchNormalization); the moving mean then equals the global-batch one exactly, the moving
        variance approximately. A no-op without several replicas."""
        if not variables or _num_replicas() == 1 or not tf.distribute.has_strategy():
            return
        ctx = tf.distribute.get_replica_context()
        if ctx is None:
            return
        means = ctx.all_reduce(tf.distribute.ReduceOp.MEAN, [tf.identity(v.value) for v in variables])
        for v, mean in zip(variables, means):
            v.assign(mean)

    @staticmethod
    def _restore(variables, values):
        for v, value in zip(variables, values):
            v.assign(value)
        return tf.no_op()

    def _targets(self, batch_size):
        """(real, fake) targets: one-sided smoothing lowers only the real target; noise jitters both."""
        real_t = tf.fill((batch_size, 1), 1.0 - self.label_smoothing)
        fake_t = tf.zeros((batch_size, 1))
        if self.label_noise:
            real_t -= self.random_uniform((batch_size, 1), 0.0, self.label_noise)
            fake_t += self.random_uniform((batch_size, 1), 0.0, self.label_noise)
        return real_t, fake_t

    def _input_gradients(self, images, labels):
        with tf.GradientTape() as tape:
            tape.watch(images)
            logits = self.discriminate(images, labels, training=True)["logits"]
        return tape.gradient(logits, images)

    def generate_fakes(self, batch_size, real_labels):
        """(fake images, their labels/codes) for one critic update, from fresh noise."""
        z = self.sample_latent(batch_size)
        fake_labels = self.sample_labels(batch_size, real_labels)
        return self.generator(self.generator_inputs(z, fake_labels), training=True), fake_labels

    def discriminator_step(self, real, labels, fake, fake_labels):
        """One critic update on a real slice and fakes; skipped (on every replica) when not finite.

        Returns (logs, ok, the critic's outputs on the fakes)."""
        batch_size = ops.shape(real)[0]
        real_t, fake_t = self._targets(batch_size)
        with tf.GradientTape() as tape:
            real_out = self.discriminate(real, labels, training=True)
            fake_out = self.discriminate(fake, fake_labels, training=True)
            terms = {"adv": losses.discriminator_loss(self.loss, real_out["logits"], fake_out["logits"], real_t, fake_t)}
            if self.gradient_penalty:
                eps = self.random_uniform((batch_size, 1, 1, 1))
                mixed = eps * real + (1.0 - eps) * fake
                terms["gp"] = self.gradient_penalty * losses.gradient_penalty_from_gradients(
                    self._input_gradients(mixed, labels))
            if self.r1:
                terms["r1"] = self.r1 * losses.r1_penalty_from_gradients(self._input_gradients(real, labels))
            terms.update(self.extra_d_losses(real_out, fake_out, labels))
            d_loss = ops.sum(ops.stack(list(terms.values())))
            scaled_loss = _scale_loss(self.d_optimizer, d_loss / _num_replicas())
        grads = tape.gradient(scaled_loss, self.discriminator.trainable_variables)
        ok = self._all_finite(d_loss, grads, self.d_optimizer)
        ok = self._apply_if(ok, self.d_optimizer, grads, self.discriminator)
        if self.clip_value:
            for w in self.discriminator.trainable_variables:
                w.assign(ops.clip(w, -self.clip_value, self.clip_value))
        logs = {"d_loss": d_loss, **self._d_output_logs(real_out["logits"], fake_out["logits"])}
        logs.update({k: v for k, v in terms.items() if k in ("gp", "r1")})
        logs.update({f"d_{k}": v for k, v in terms.items() if f"d_{k}" in self._trackers})
        return logs, ok, fake_out

    def _d_output_logs(self, real_logits, fake_logits):
        """D(x), D(G(z)) as probabilities for sigmoid losses, raw scores otherwise; W-distance estimate."""
        squash = ops.sigmoid if self.loss in ("minimax", "non_saturating") else (lambda t: t)
        logs = {"d_real": ops.mean(squash(real_logits)), "d_fake": ops.mean(squash(fake_logits))}
        if self.loss == "wasserstein":
            logs["w_distance"] = ops.mean(real_logits) - ops.mean(fake_logits)
        return logs

    def generator_loss(self, real, labels, fake, fake_labels, fake_out=None):
        """(G's total loss, its logs) for fakes produced under the caller's gradient tape; `fake_out` reuses
        a critic pass already taken on them (simultaneous updates)."""
        if fake_out is None:
            fake_out = self.discriminate(fake, fake_labels, training=True)
        terms = {"adv": losses.generator_loss(self.loss, fake_out["logits"])}
        if self.feature_matching:
            real_features = self.feature_model(self._d_inputs(real, labels), training=True)
            fake_features = self.feature_model(self._d_inputs(fake, fake_labels), training=True)
            terms["feature_matching"] = self.feature_matching * losses.feature_matching_loss(real_features, fake_features)
        terms.update(self.extra_g_losses(real, fake, fake_out, fake_labels))
        g_loss = ops.sum(ops.stack(list(terms.values())))
        logs = {"g_loss": g_loss}
        if "feature_matching" in terms:
            logs["feature_matching"] = terms["feature_matching"]
        logs.update({f"g_{k}": v for k, v in terms.items() if f"g_{k}" in self._trackers})
        return g_loss, logs

    def generator_update(self, tape, g_loss, d_ok=True):
        """One G update from `tape`; skipped when its loss/gradients or the critic steps (`d_ok`) were not finite."""
        with tape:  # resume recording: the (loss-scaled) loss must be on the tape
            scaled_loss = _scale_loss(self.g_optimizer, g_loss / _num_replicas())
        grads = tape.gradient(scaled_loss, self.generator.trainable_variables)
        ok = tf.logical_and(self._all_finite(g_loss, grads, self.g_optimizer), d_ok)
        return self._apply_if(ok, self.g_optimizer, grads, self.generator)

    def _d_inputs(self, images, labels):
        return [images, labels] if self.num_classes else images

    @staticmethod
    def _all_finite(loss, grads, optimizer=None):
        """The loss and every gradient are finite. A finite loss alone is not enough: a NaN input can vanish
        in the forward pass (fused MatMul+ReLU on CPU maps NaN to 0) yet still poison the weight gradients.
        With a LossScaleOptimizer only the loss is checked: overflowing (scaled) gradients are its job.
        One fused pass: the loss plus every gradient's sum of squares is finite iff all of them are (a finite
        total that overflows only flags a step with gradients beyond 1e19, which is diverging anyway)."""
        total = [tf.cast(loss, "float32")]
        for g in ([] if isinstance(optimizer, keras.optimizers.LossScaleOptimizer) else grads):
            if g is not None:
                values = g.values if isinstance(g, tf.IndexedSlices) else g
                total.append(tf.reduce_sum(tf.square(tf.cast(values, "float32"))))
        return tf.math.is_finite(tf.add_n(total))

    @staticmethod
    def _apply(optimizer, grads, network):
        optimizer.apply_gradients(zip(grads, network.trainable_variables))
        return tf.no_op()

    def _apply_if(self, ok, optimizer, grads, network):
        """Apply `grads` when `ok`, consistently on every replica; returns the replica-consistent `ok`.

        `optimizer.apply_gradients` calls `merge_call` under MirroredStrategy, which is not allowed inside a
        `tf.cond` in replica context ("merge_call called while defining a new graph"), so this follows
        keras' `LossScaleOptimizer._tf_apply`: all-reduce `ok` (SUM of the failures) so that all replicas agree, then the
        `cond` runs in replica context when the strategy needs no merge_call, else in cross-replica context.
        A LossScaleOptimizer is always called (when the loss is finite): it skips non-finite gradients
        itself and must see them to lower its scale."""
        if isinstance(optimizer, keras.optimizers.LossScaleOptimizer):
            ok_all = self._replicas_agree(ok)
            self._apply(optimizer, grads, network)  # skips (and lowers the scale) on non-finite gradients
            return ok_all
        if not tf.distribute.has_strategy():
            tf.cond(ok, lambda: self._apply(optimizer, grads, network), tf.no_op)
            return ok
        ok = self._replicas_agree(ok)
        if tf.__internal__.distribute.strategy_supports_no_merge_call():
            tf.cond(ok, lambda: self._apply(optimizer, grads, network), tf.no_op)
            return ok

        def cross_replica(distribution, ok, grads):
            ok = distribution.experimental_local_results(ok)[0]  # the same on every replica (all-reduced)

            def apply_fn():
                distribution.extended.call_for_each_replica(lambda g: self._apply(optimizer, g, network),
                                                            args=(grads,))
                return tf.no_op()

            tf.cond(ok, apply_fn, tf.no_op)

        tf.distribute.get_replica_context().merge_call(cross_replica, args=(ok, grads))
        return ok

    @staticmethod
    def _replicas_agree(ok):
        if not tf.distribute.has_strategy():
            return ok
        ctx = tf.distribute.get_replica_context()
        # ReduceOp has no MIN: sum the "not ok" flags instead (all agree iff no replica failed).
        failed = ctx.all_reduce(tf.distribute.ReduceOp.SUM, 1.0 - tf.cast(ok, "float32"))
        return tf.equal(failed, 0.0)

    # ----- EMA ----------------------------------------------------------------------------------------------
    def _make_ema_generator(self) -> keras.Model:
        clone = keras.models.clone_model(self.generator)
        clone.name = "ema_generator"
        clone.set_weights(self.generator.get_weights())
        clone.trainable = False
        return clone

    def _update_ema(self):
        """w_ema <- d * w_ema + (1 - d) * w for weights; batchnorm statistics are copied as they are.

        d = ema_decay(ema, t) warms up from 0.1, so early samples are not dominated by the random init.
        """
        decay = ema_decay(self.ema, ops.cast(self.g_optimizer.iterations, "float32") - 1.0)
        trainable = {id(v) for v in self.generator.trainable_variables}
        for ema_w, w in zip(self.ema_generator.weights, self.generator.weights):
            if id(w) in trainable:
                ema_w.assign(decay * ema_w + (1.0 - decay) * w)
            else:
                ema_w.assign(w)
        return tf.no_op()


def ema_decay(ema, step):
    """The EMA decay used after generator update number `step` (0-based): min(ema, (1 + t) / (10 + t)).

    The warm-up is tf.train.ExponentialMovingAverage's `num_updates` rule: with a fixed 0.999 the
    average would need thousands of steps to forget the random initialization.
    """
    return ops.minimum(ema, (1.0 + step) / (10.0 + step))


def _is_eager(*tensors) -> bool:
    return tf.executing_eagerly() and not any(isinstance(t, keras.KerasTensor) for t in tensors)


def _replica_id():
    ctx = tf.distribute.get_replica_context()
    return 0 if ctx is None else ctx.replica_id_in_sync_group


def _num_replicas():
    return tf.distribute.get_strategy().num_replicas_in_sync


def _loss_scaled(optimizer):
    """Under a float16 global policy, wrap an optimizer in a LossScaleOptimizer (Keras only does that for
    `self.optimizer`, and a GAN has two)."""
    if (keras.mixed_precision.global_policy().compute_dtype == "float16"
            and not isinstance(optimizer, keras.optimizers.LossScaleOptimizer)):
        return keras.optimizers.LossScaleOptimizer(optimizer)
    return optimizer


def _scale_loss(optimizer, loss):
    if isinstance(optimizer, keras.optimizers.LossScaleOptimizer):
        return optimizer.scale_loss(loss)
    return loss
