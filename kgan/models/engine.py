"""The training engine: one `keras.Model` whose `train_step` serves every model family.

A model declares
- its networks by name (`networks()`; e.g. generator/discriminator, g_ab/g_ba/d_a/d_b,
  encoder/decoder/latent_critic), each kept as an attribute of the same name;
- its optimizer groups in update order (`GROUPS`: group -> network names). Every group but the last is a
  critic, updated `n_critic` times per step, each time on its own slice of the real batch (WGAN's
  Algorithm 1); the last group (the generator side) is updated once per step;
- `forward(batch, training)`: what the generator side makes from a slice of the real batch (a dict);
- `loss_terms()`: `kgan.models.terms.Term`s, each belonging to a group;
- the data features it needs (`required_features()`) and its inference surface (`inference_inputs`, `inference_network`).

One step: the generator side's forward pass runs once per critic slice; the last one is recorded on the
generator side's tape, so its outputs feed both the last critic update and the generator-side update (one
generator forward per step, as PyTorch's DCGAN example does). `simultaneous=True` also reuses the critics'
pre-update passes (the TF DCGAN tutorial's scheme). Every update goes through `kgan.models.updates`
(finiteness check, replica agreement, loss scaling, clipping). A step that is not finite changes nothing
but `batches_seen` and `nonfinite_steps` (batchnorm statistics are put back); the divergence guard in
`kgan.training` restores a checkpoint after `train.nan_patience` such steps.

Phases (`train.phases`, run by `kgan.training`) set term weights with `set_phase`; the step function is
traced again for each phase, so a term switched off costs nothing. EMA can shadow any network
(`ema_networks`): the shadow is `ema_<name>`, and `shadow(name)` is what inference uses.

Augmentation (`train.augment`, `kgan.augment`): every critic pass goes through `critic_pass`, which augments the
critic's images in training (DiffAugment, or ADA whose p lives in the model's variables, moved by `end_step` inside
the compiled step and put back with `step_buffers` on a skipped step).

Randomness: `random_normal` / `random_uniform` draw from the model's seed generator, folded with the global
replica id when there are several replicas (a mirrored SeedGenerator would give every replica the same draw);
its state is checkpointed, so a resumed run continues the same random stream.
"""

from __future__ import annotations

import contextlib

import keras
import tensorflow as tf
from keras import ops

from kgan import losses
from kgan.augment import layer as augment_layer
from kgan.errors import ConfigError
from kgan.models import surface, updates
from kgan.models.terms import StepContext, Term


@keras.saving.register_keras_serializable(package="kgan")
class Engine(keras.Model):
    """Named networks trained by one shared `train_step` (see the module docstring)."""

    GROUPS: dict = {}  # group -> tuple of network names, in update order
    #: the data feature a served output should match (paired metrics); None for generators from noise
    target_feature = None
    #: what makes inference draw noise beyond the declared inputs (the same inputs give different images),
    #: "" when inference is deterministic; the gallery's output-diversity section follows it
    inference_noise = ""
    #: the data feature that is the model's input image, scored as if it were the output (the "identity"
    #: reference point of image-to-image evaluation); None when the input is no image of the output's kind
    identity_feature = None
    # constructor arguments saved in get_config
    HPARAMS: tuple = ("n_critic", "ema", "seed", "simultaneous", "augment", "ada_target", "ada_interval", "ada_images")

    def __init__(self, *, n_critic: int = 1, ema: float = 0.0, ema_networks=(), seed: int | None = None,
                 simultaneous: bool = False, augment: str = "", ada_target: float = 0.6, ada_interval: int = 4,
                 ada_images: int = 500_000, **kwargs):
        super().__init__(**kwargs)
        if simultaneous and n_critic != 1:
            raise ValueError("simultaneous updates need n_critic = 1")
        self.n_critic = int(n_critic)
        self.ema = float(ema)
        self.seed = seed
        self.simultaneous = bool(simultaneous)
        self.seed_generator = keras.random.SeedGenerator(seed, name="gan_seed")
        self.ema_names = tuple(ema_networks) if self.ema > 0 else ()
        # Consecutive steps whose losses were not finite (updates skipped); read by the divergence guard.
        self.nonfinite_steps = self._counter("nonfinite_steps")
        # Batches consumed by train_step (a step can be skipped or rewound, so this is not the step count):
        # a resumed run skips exactly these to see the same data stream as an uninterrupted one.
        self.batches_seen = self._counter("batches_seen")
        self.steps_done = self._counter("steps_done")  # finite (applied) steps: the run's step counter
        # Learning-rate factor left by divergence restores; checkpointed so that backoff compounds.
        self.lr_factor = self.add_weight(shape=(), dtype="float32", initializer="ones", trainable=False,
                                         name="lr_factor")
        # Augmentation of every critic input (`train.augment`, `kgan.augment`): None, DiffAugment or ADA.
        self.augment, self.ada_target = augment, float(ada_target)
        self.ada_interval, self.ada_images = int(ada_interval), int(ada_images)
        self.augmentation = augment_layer.build(augment, target=ada_target, interval=ada_interval, images=ada_images)
        self.phase_weights: dict = {}
        self.terms: list[Term] = []
        self._trackers = {}  # created in compile(), when subclasses have set what `loss_terms` reads

    def _counter(self, name):
        return self.add_weight(shape=(), dtype="int64", initializer="zeros", trainable=False, name=name)

    def _init_networks(self, networks: dict) -> None:
        """Attach the networks (and their EMA shadows); subclasses call this once their hparams are set."""
        for name, network in networks.items():
            setattr(self, name, network)
        self._network_names = tuple(networks)
        for name in networks:
            setattr(self, f"ema_{name}", _ema_copy(getattr(self, name), f"ema_{name}") if name in self.ema_names
                    else None)
        self.built = True  # functional networks are built; lets fit() run under a strategy

    # ----- declarations ---------------------------------------------------------------------------------
    def networks(self) -> dict:
        return {name: getattr(self, name) for name in self._network_names}

    def group_variables(self, group: str) -> list:
        return [v for name in self.GROUPS[group] for v in getattr(self, name).trainable_variables]

    def shadow(self, name: str) -> keras.Model:
        """The network used for inference: its EMA shadow when training keeps one."""
        return getattr(self, f"ema_{name}") if name in self.ema_names else getattr(self, name)

    def required_features(self) -> tuple:
        """The data features the step needs (a config whose data lacks one is refused before training)."""
        return ("image",)

    def forward(self, batch: dict, training: bool) -> dict:
        raise NotImplementedError

    def loss_terms(self) -> list[Term]:
        raise NotImplementedError

    def inference_inputs(self) -> list[surface.InputSpec]:
        raise NotImplementedError

    def inference_network(self) -> keras.Model:
        raise NotImplementedError

    def served_directions(self) -> list[surface.Direction]:
        """Every mapping the model serves (`kgan.models.surface.Direction`); one, unnamed, unless a model serves
        several (CycleGAN: a_to_b and b_to_a). The first is always `inference_inputs` -> `inference_network`."""
        return [surface.Direction("", tuple(self.inference_inputs()), self.inference_network())]

    def step_buffers(self) -> list:
        """Variables besides the networks' that a training step writes (ADA's state, CycleGAN's image pools): put
        back with the networks' state when the step is not finite, so a skipped step changes nothing but
        `batches_seen`; each replica keeps its own (they are not averaged like batchnorm statistics)."""
        return list(self.augmentation.variables) if self.augmentation is not None else []

    # ----- critics ----------------------------------------------------------------------------------------
    def critic_pass(self, network, inputs, *, real: bool = False, training: bool = True):
        """`network` (a critic) on `inputs`: the one augmentation point. Every critic pass of a model goes through
        here, on real and fake data, in the critics' and the generator side's updates; in training the images
        among `inputs` (a tensor, or a dict of named inputs whose float [B, H, W, C] entries are images, all
        transformed alike) are augmented (`train.augment`). `real`: a pass on real data, whose outputs ADA's
        heuristic reads (a critic with several outputs names its adversarial one `logits`)."""
        augmenting = training and self.augmentation is not None
        if augmenting:
            inputs = self.augmentation.augment(inputs, self)
        out = (surface.call_network(network, inputs, training=training) if isinstance(inputs, dict)
               else network(inputs, training=training))
        if augmenting and real:
            self.augmentation.observe(out["logits"] if isinstance(out, dict) else out,
                                      losses.decision_boundary(self.adversarial_loss()))
        return out

    def adversarial_loss(self) -> str:
        """The critics' adversarial loss (a `kgan.losses` name): families keep it in `self.loss`; non-saturating
        otherwise (pix2pix)."""
        return self.loss if isinstance(self.loss, str) else "non_saturating"

    def real_critic_scores(self, batch: dict) -> dict:
        """{log prefix: each critic's output on the real examples of `batch`}, in inference mode, not augmented:
        the overfitting signal compares them on training and held-out examples (`kgan.overfitting`). {} for a
        model without a critic on images."""
        return {}

    def clip_for(self, group: str) -> float:
        """Weight clipping after each update of `group` (WGAN); 0 = none."""
        return 0.0

    def infer(self, inputs: dict, training: bool = False):
        """Images float32 [B, H, W, C] in [-1, 1] for named inputs (checked eagerly: names, shapes, ranges)."""
        if _is_eager(*inputs.values()):
            inputs = surface.check_inputs(self.inference_inputs(), inputs)
        tensors = {k: ops.convert_to_tensor(v) for k, v in inputs.items()}
        return surface.call_network(self.inference_network(), tensors, training=training)

    @property
    def metrics(self):
        return list(self._trackers.values())

    # ----- phases -----------------------------------------------------------------------------------------
    def term_names(self) -> list[str]:
        return [t.name for t in (self.terms or self.loss_terms())]

    def set_phase(self, weights: dict | None) -> None:
        """Override term weights (0 switches a term off) until the next phase; the step is traced again."""
        weights = dict(weights or {})
        unknown = sorted(set(weights) - set(self.term_names()))
        if unknown:
            raise ConfigError(f"train.phases: {self.name} has no loss term {unknown[0]!r}; "
                              f"its terms are {self.term_names()}")
        if weights != self.phase_weights:
            self.phase_weights = weights
            self.train_function = None  # traced again with the new terms

    def set_resolution(self, resolution: int, fade: tuple[int, int] | None = None) -> None:
        """Called when a phase sets the data resolution; models that grow override it (`kgan.models.growing`).
        `fade`: the step range (start, end) of a fade phase, over which the newest block fades in."""
        raise ConfigError(f"train.phases: model {self.name!r} does not change resolution during training")

    def active_terms(self, group: str) -> list[tuple[Term, float]]:
        out = []
        for term in self.terms:
            weight = self.phase_weights.get(term.name, term.weight)
            if term.group == group and weight:
                out.append((term, float(weight)))
        return out

    # ----- randomness -----------------------------------------------------------------------------------
    def _replica_seed(self):
        if updates.num_replicas() == 1:
            return self.seed_generator
        seed = tf.random.experimental.stateless_fold_in(self.seed_generator.next(), updates.replica_id())
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

    # ----- compile / save -------------------------------------------------------------------------------
    def compile(self, optimizers: dict, **kwargs):
        """One optimizer per group, built here, eagerly, under the caller's strategy scope (building them
        lazily inside the first distributed step breaks: keras-team/keras#23085)."""
        super().compile(optimizer=None, **kwargs)
        missing = sorted(set(self.GROUPS) - set(optimizers))
        if missing:
            raise ValueError(f"{self.name}: no optimizer for group(s) {missing}")
        self.terms = self.loss_terms()
        names = [t.name for t in self.terms]
        if len(set(names)) != len(names) or any(t.group not in self.GROUPS for t in self.terms):
            raise ValueError(f"{self.name}: loss term names must be unique and belong to {list(self.GROUPS)}")
        for group in self.GROUPS:
            optimizer = updates.loss_scaled(keras.optimizers.get(optimizers[group]))
            optimizer.build(self.group_variables(group))
            setattr(self, f"{group}_optimizer", optimizer)  # an attribute, so Keras saving tracks it
        self._trackers = {name: keras.metrics.Mean(name=name) for name in self.metric_names()}
        self._compile_kwargs = kwargs

    @property
    def group_optimizers(self) -> dict:
        return {group: getattr(self, f"{group}_optimizer") for group in self.GROUPS}

    def metric_names(self) -> list[str]:
        names = [self.loss_log(group) for group in self.GROUPS]
        names += [d for t in self.terms for d in t.diagnostics]
        names += [t.name for t in self.terms if t.logged]
        names += self.augmentation.log_names() if self.augmentation is not None else []
        return list(dict.fromkeys(names)) + ["nonfinite"]

    def loss_log(self, group: str) -> str:
        return f"{group}_loss"

    def get_compile_config(self):
        return {"optimizers": {g: keras.optimizers.serialize(o) for g, o in self.group_optimizers.items()},
                **self._compile_kwargs}

    def compile_from_config(self, config):
        config = dict(config)
        optimizers = {g: keras.optimizers.deserialize(o) for g, o in config.pop("optimizers").items()}
        Engine.compile(self, optimizers, **config)

    def get_config(self):
        config = super().get_config()
        config["networks"] = {n: keras.saving.serialize_keras_object(m) for n, m in self.networks().items()}
        config.update({k: getattr(self, k) for k in self.HPARAMS})
        return config

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        networks = {n: keras.saving.deserialize_keras_object(m) for n, m in config.pop("networks").items()}
        return cls(**networks, **config)

    # ----- the step ---------------------------------------------------------------------------------------
    def batch_features(self, data) -> dict:
        """The named features of a batch: a dict from kgan's input pipeline, or (x,) / (x, y) tuples
        (image, label) as Keras' fit passes plain arrays. Only the `label` feature is cast (to int32)."""
        if isinstance(data, dict):
            batch = dict(data)
        else:
            image, label, _ = keras.utils.unpack_x_y_sample_weight(data)
            batch = {"image": image} if label is None else {"image": image, "label": label}
        missing = [f for f in self.required_features() if f not in batch]
        if missing:
            raise ValueError(f"{self.name} needs the data features {list(self.required_features())}; the batch has "
                             f"{sorted(batch)} (missing {missing})")
        if "label" in batch:
            batch["label"] = ops.cast(batch["label"], "int32")
        return batch

    def train_step(self, data):
        batch = self.batch_features(data)
        chunks = _split_batch(batch, self.n_critic)
        # Non-trainable state (batchnorm moving statistics) is updated by every forward pass in training
        # mode, whether or not the step is finite: keep a copy to put back when the step is skipped. A frozen
        # network (trainable = False: a perceptual loss's feature network) never changes and is left out.
        network_state = [v for network in self.networks().values() if network.trainable
                         for v in network.non_trainable_variables]
        state = network_state + list(self.step_buffers())
        saved = [tf.identity(v.value) for v in state]
        *critics, main = self.GROUPS
        finite, logs, last = tf.constant(True), {}, len(chunks) - 1
        with tf.GradientTape() as tape:
            for i, chunk in enumerate(chunks):
                with contextlib.nullcontext() if i == last else tape.stop_recording():
                    out = self.forward(chunk, training=True)
                ctx = StepContext(self, chunk, out, self.steps_done)
                with contextlib.nullcontext() if self.simultaneous else tape.stop_recording():
                    for group in critics:
                        ok, group_logs = self._critic_update(group, ctx)
                        finite = tf.logical_and(finite, ok)
                        logs.update(group_logs)
            main_loss, group_logs = self._group_loss(main, ctx if self.simultaneous else ctx.fresh())
        logs.update(group_logs)
        if main_loss is not None:
            finite = updates.guarded_update(tape, main_loss, self.group_variables(main),
                                            self.group_optimizers[main], also_ok=finite,
                                            clip_value=self.clip_for(main))
        self.batches_seen.assign_add(1)
        if self.augmentation is not None:  # ADA: p moves every ada_interval steps (put back below if skipped)
            self.augmentation.end_step(self.batches_seen)
        self.steps_done.assign_add(tf.cast(finite, "int64"))
        self.nonfinite_steps.assign(tf.where(finite, tf.zeros((), "int64"), self.nonfinite_steps + 1))
        tf.cond(finite, tf.no_op, lambda: updates.restore(state, saved))
        updates.sync_state(network_state)
        if self.ema_names:
            tf.cond(finite, self._update_ema, tf.no_op)
        logs["nonfinite"] = ops.cast(self.nonfinite_steps, "float32")
        if self.augmentation is not None:
            logs.update(self.augmentation.logs())
        for name, value in logs.items():
            self._trackers[name].update_state(value)
        return updates.reshape_logs({name: tracker.result() for name, tracker in self._trackers.items()})

    def _group_loss(self, group: str, ctx: StepContext):
        """(the group's total loss or None when all its terms are off, its logs)."""
        values, logs = [], {}
        for term, weight in self.active_terms(group):
            value, diagnostics = term.evaluate(ctx, weight)
            values.append(value)
            logs.update(diagnostics)
            if term.logged:
                logs[term.name] = value
        if not values:
            return None, {}
        total = ops.sum(ops.stack(values))
        return total, {self.loss_log(group): total, **logs}

    def _critic_update(self, group: str, ctx: StepContext):
        with tf.GradientTape() as tape:
            loss, logs = self._group_loss(group, ctx)
        if loss is None:
            return tf.constant(True), {}
        ok = updates.guarded_update(tape, loss, self.group_variables(group), self.group_optimizers[group],
                                    clip_value=self.clip_for(group))
        return ok, logs

    def _maybe_symbolic_build(self, iterator=None, data_batch=None):
        """Skip Keras' pre-fit symbolic build when every layer is built (always, for kgan's functional nets):
        it would only all-reduce a first data batch, which fails under MultiWorkerMirroredStrategy for
        (x, y) batches ("Attempt to convert a value (PerReplica...) to a Tensor")."""
        if all(layer.built for layer in self._flatten_layers()):
            with self.distribute_strategy.scope():
                self._symbolic_build(data_batch=())  # builds nothing that needs data; runs _post_build
            return
        super()._maybe_symbolic_build(iterator=iterator, data_batch=data_batch)

    # ----- EMA ----------------------------------------------------------------------------------------------
    def _update_ema(self):
        """w_ema <- d * w_ema + (1 - d) * w for weights; batchnorm statistics are copied as they are.

        d = ema_decay(ema, t) warms up from 0.1, so early samples are not dominated by the random init.
        """
        decay = ema_decay(self.ema, ops.cast(self.steps_done, "float32") - 1.0)
        for name in self.ema_names:
            network, shadow = getattr(self, name), getattr(self, f"ema_{name}")
            trainable = {id(v) for v in network.trainable_variables}
            for ema_w, w in zip(shadow.weights, network.weights):
                ema_w.assign(decay * ema_w + (1.0 - decay) * w if id(w) in trainable else w)
        return tf.no_op()


def ema_decay(ema, step):
    """The EMA decay used after update number `step` (0-based): min(ema, (1 + t) / (10 + t)).

    The warm-up is tf.train.ExponentialMovingAverage's `num_updates` rule: with a fixed 0.999 the average
    would need thousands of steps to forget the random initialization.
    """
    return ops.minimum(ema, (1.0 + step) / (10.0 + step))


def _ema_copy(network: keras.Model, name: str) -> keras.Model:
    clone = keras.models.clone_model(network)
    clone.name = name
    clone.set_weights(network.get_weights())
    clone.trainable = False
    return clone


def _split_batch(batch: dict, parts: int) -> list[dict]:
    if parts == 1:
        return [batch]
    split = {k: ops.split(v, parts, axis=0) for k, v in batch.items()}
    return [{k: v[i] for k, v in split.items()} for i in range(parts)]


def _is_eager(*tensors) -> bool:
    return tf.executing_eagerly() and not any(isinstance(t, keras.KerasTensor) for t in tensors)
