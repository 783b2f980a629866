"""StyleGAN (Karras et al. 2019) and StyleGAN2's modulated convolutions (Karras et al. 2020) on the GAN family.

Networks (`kgan.nets.style`): `generator` = mapping (z -> w) + `Truncation` (holds w_avg) + synthesis
(per-layer styles and noise -> image), `discriminator`. Groups, the adversarial terms (non-saturating) and R1
(`r1_every`: lazy, the engine's Term `every`) are the GAN family's; generator EMA is the engine's (the shadow copies
w_avg, a non-trainable weight of the generator, at every step).
Training (`forward`): two latents per batch; with probability `style_mixing` (0.9) the styles of the layers from a
random crossover on come from the second one (style-mixing regularization, per batch as in the paper); w_avg
follows the batch mean of w by EMA (`w_avg_decay`, 0.995); noise seeds are drawn from the model's seed stream.
Optional path-length regularization (`path_length` weight, lazy every `path_length_every` steps): the Jacobian of
the image w.r.t. the styles, projected on a random image, should have a steady length (its EMA is `pl_mean`).
`model.options.progressive`: the same model grown 4x4 -> data.resolution by `train.phases` (ProGAN's fade-in,
`kgan.models.growing`), with ProGAN's growing discriminator (`ProgressiveStyleGAN`).
Served surface: `z`, `psi` (the model truncates itself, in W: w_avg + psi (w - w_avg), optionally only the
first `truncation_cutoff` layers) and `noise_seed` (the per-layer noise); a `mix` direction (`z_a`, `z_b`,
`crossover`, psi, noise seed), declared as its style mixing; W as its intermediate latent (mapping / synthesis, for
PPL in W); w_avg as a served constant.
"""

from __future__ import annotations

import keras
import tensorflow as tf
from keras import ops

from kgan.models import surface
from kgan.models.gan import GAN
from kgan.models.growing import Growing
from kgan.models.terms import Term
from kgan.nets import style


@keras.saving.register_keras_serializable(package="kgan")
class StyleGAN(GAN):
    HPARAMS = GAN.HPARAMS + ("mixing_probability", "path_length", "path_length_every")

    def __init__(self, generator: keras.Model, discriminator: keras.Model, *, mixing_probability: float = 0.9,
                 path_length: float = 0.0, path_length_every: int = 4, **kwargs):
        super().__init__(generator, discriminator, **kwargs)
        self.mixing_probability = float(mixing_probability)
        self.path_length = float(path_length)
        self.path_length_every = int(path_length_every)
        self.pl_mean = self.add_weight(shape=(), dtype="float32", initializer="zeros", trainable=False,
                                       name="pl_mean")
        self._served = {}

    @classmethod
    def from_experiment(cls, cfg):
        from kgan.models.registry import resolve
        from kgan.models.stylegan_options import r1_gamma, stylegan_options

        opts = stylegan_options(cfg)
        _, loss, _ = resolve(cfg)
        r, channels = cfg.data.resolution, cfg.data.channels
        w_dim = opts["w_dim"] or cfg.model.latent_dim
        if opts["progressive"]:
            from kgan.nets.progressive import ProganDiscriminator

            cls = ProgressiveStyleGAN
            generator = style.GrowingStyleGenerator(
                cfg.model.latent_dim, r, channels, cfg.model.width, w_dim, opts["styles"], opts["max_channels"],
                opts["mapping_layers"], opts["mapping_lr_multiplier"], opts["truncation_cutoff"], opts["w_avg_decay"],
                name="generator")
            discriminator = ProganDiscriminator(r, channels, cfg.model.width, opts["max_channels"], name="discriminator")
        else:
            mapping = style.mapping_network(cfg.model.latent_dim, w_dim, opts["mapping_layers"],
                                            opts["mapping_lr_multiplier"])
            synthesis = style.synthesis_network(r, channels, w_dim, cfg.model.width, opts["styles"],
                                                opts["max_channels"])
            generator = style.style_generator(mapping, synthesis, opts["truncation_cutoff"], opts["w_avg_decay"])
            discriminator = style.style_discriminator((r, r, channels), cfg.model.width, opts["max_channels"])
        t = cfg.train
        return cls(generator, discriminator, latent_dim=cfg.model.latent_dim, image_shape=(r, r, channels),
                   loss=loss, n_critic=t.n_critic, gradient_penalty=t.gradient_penalty, r1=r1_gamma(cfg, opts),
                   r1_every=opts["r1_every"], label_smoothing=t.label_smoothing, label_noise=t.label_noise,
                   ema=t.ema, seed=cfg.seed, simultaneous=t.update == "simultaneous", mixing_probability=opts["style_mixing"],
                   path_length=opts["path_length"], path_length_every=opts["path_length_every"], name="stylegan")

    # ----- parts of the generator
    def part(self, name: str, network: keras.Model | None = None):
        """`mapping` or `truncation` of the generator (of `network`, e.g. its EMA shadow)."""
        return (network or self.generator).get_layer(name)

    def synthesize(self, ws, seeds, network: keras.Model | None = None, training: bool = False):
        """Per-layer styles and noise seeds -> images, through the generator's synthesis part (a growing generator's
        `synthesize` at its current resolution)."""
        network = network or self.generator
        grown = getattr(network, "synthesize", None)
        return grown(ws, seeds) if grown is not None else network.get_layer("synthesis")([ws, seeds], training=training)

    @property
    def num_layers(self) -> int:
        return self.part("truncation").num_layers

    def noise_seeds(self, n):
        """Training's noise seeds, from the model's seed stream (below 2^30: exact as float32 draws go)."""
        return ops.cast(self.random_uniform((n,), 0.0, float(2 ** 30)), "int32")

    # ----- served surface
    def inference_inputs(self) -> list[surface.InputSpec]:
        return [surface.InputSpec("z", "normal", (self.latent_dim,)), surface.InputSpec("psi", "truncation"),
                surface.InputSpec("noise_seed", "seed")]

    def condition_inputs(self, z, labels) -> dict:
        n = ops.shape(z)[0]
        return {"psi": ops.ones((n,)), "noise_seed": self.noise_seeds(n)}

    def served_directions(self) -> list[surface.Direction]:
        specs = [surface.InputSpec("z_a", "normal", (self.latent_dim,)),
                 surface.InputSpec("z_b", "normal", (self.latent_dim,)),
                 surface.InputSpec("crossover", "categorical", classes=self.num_layers + 1),
                 *self.inference_inputs()[1:]]
        return [*super().served_directions(), surface.Direction("mix", tuple(specs), self._mix_network())]

    def style_mixing(self) -> surface.StyleMixing:
        return surface.StyleMixing("mix", ("z_a", "z_b"), "crossover", tuple(style.layer_resolutions(self.image_shape[0])))

    def intermediate_latent(self) -> surface.IntermediateLatent:
        mapping = self.part("mapping", self.sampler)
        return surface.IntermediateLatent("w", tuple(mapping.output_shape[1:]), "z", (self.inference_inputs()[2],),
                                          mapping, self._synthesis_from_w())

    def served_constants(self) -> dict:
        return {"w_avg": [float(v) for v in ops.convert_to_numpy(self.part("truncation", self.sampler).w_avg)]}

    def _cached(self, key, build):
        """Served networks built once per inference network (the EMA shadow's parts, shared weights)."""
        network, resolution = self.sampler, getattr(self.sampler, "resolution", None)
        if self._served.get(key, (None,))[:2] != (network, resolution):
            self._served[key] = (network, resolution, build(network))
        return self._served[key][2]

    def _mix_network(self) -> keras.Model:
        def build(network):
            mapping, truncation = self.part("mapping", network), self.part("truncation", network)
            z_a = keras.Input((self.latent_dim,), name="z_a")
            z_b = keras.Input((self.latent_dim,), name="z_b")
            crossover = keras.Input((), dtype="int32", name="crossover")
            psi = keras.Input((), name="psi")
            seeds = keras.Input((), dtype="int32", name="noise_seed")
            ws = style.StyleMix(name="style_mix")([truncation([mapping(z_a), psi]), truncation([mapping(z_b), psi]),
                                                   crossover])
            return keras.Model([z_a, z_b, crossover, psi, seeds], self.synthesize(ws, seeds, network), name="mix")
        return self._cached("mix", build)

    def _synthesis_from_w(self) -> keras.Model:
        def build(network):
            w_dim = int(self.part("mapping", network).output_shape[-1])
            w = keras.Input((w_dim,), name="w")
            seeds = keras.Input((), dtype="int32", name="noise_seed")
            ws = style.RepeatStyle(self.num_layers, name="broadcast")(w)
            return keras.Model([w, seeds], self.synthesize(ws, seeds, network), name="synthesis_from_w")
        return self._cached("synthesis_from_w", build)

    # ----- training
    def step_buffers(self) -> list:
        return [self.pl_mean]

    def forward(self, batch: dict, training: bool) -> dict:
        n = ops.shape(batch["image"])[0]
        mapping, truncation = self.part("mapping"), self.part("truncation")
        z = self.sample_latent(n)
        w = mapping(z, training=training)
        w_other = mapping(self.random_normal((n, self.latent_dim)), training=training)
        if training:
            truncation.track(w)
        ones = ops.ones((n,))
        ws = truncation([w, ones])
        mixing = self.random_uniform(()) < self.mixing_probability
        crossover = ops.where(mixing, ops.cast(self.random_uniform((), 1.0, float(self.num_layers)), "int32"),
                              self.num_layers)
        ws = style.StyleMix()([ws, truncation([w_other, ones]), ops.full((n,), crossover)])
        seeds = self.noise_seeds(n)
        image = self.synthesize(ws, seeds, training=training)
        return {"image": image, "z": z, "ws": ws, "noise_seed": seeds}

    def extra_terms(self) -> list[Term]:
        if not self.path_length:
            return []
        return [Term("path_length", "generator", self._path_length_penalty, weight=self.path_length,
                     every=self.path_length_every)]

    def _path_length_penalty(self, ctx):
        """(|J_w^T y| - a)^2, y ~ N(0, I) / sqrt(H W) an image, a the EMA (0.01) of the lengths (StyleGAN2)."""
        ws = ctx.out["ws"]
        with tf.GradientTape() as tape:
            tape.watch(ws)
            images = self.synthesize(ws, ctx.out["noise_seed"], training=True)
            height, width = images.shape[1], images.shape[2]
            projection = self.random_normal(ops.shape(images)) / float(height * width) ** 0.5
            inner = ops.sum(images * projection)
        grads = tape.gradient(inner, ws)
        lengths = ops.sqrt(ops.mean(ops.sum(ops.square(grads), axis=2), axis=1))
        target = self.pl_mean + 0.01 * (ops.mean(ops.stop_gradient(lengths)) - self.pl_mean)
        self.pl_mean.assign(target)
        return ops.mean(ops.square(lengths - target))


@keras.saving.register_keras_serializable(package="kgan")
class ProgressiveStyleGAN(Growing, StyleGAN):
    """StyleGAN grown progressively (`model.options.progressive`): `kgan.nets.style.GrowingStyleGenerator` and
    ProGAN's growing discriminator, grown by the run's `train.phases` (resolution, fade) through
    `kgan.models.growing.Growing`, served at the target resolution."""

    def inference_network(self) -> keras.Model:
        return self.served(self.sampler)
