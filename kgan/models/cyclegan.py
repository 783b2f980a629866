"""CycleGAN (Zhu et al. 2017): unpaired image-to-image translation on the engine.

Two domains, A and B, with no pairs between them (an `unpaired:SOURCE_A,SOURCE_B` source: features `image_a`
and `image`, the latter domain B's images, so everything that reads "the real data" of a run reads domain B).
- G_AB: A -> B and G_BA: B -> A (`g_ab`, `g_ba`): the ResNet translator (`kgan.nets.translator`) or pix2pix's
  U-Net without dropout (`model.options.generator`).
- D_A, D_B (`d_a`, `d_b`): unconditional PatchGANs with instance normalization (`kgan.nets.patchgan`), each
  shown real images of its domain and fakes from an `ImagePool` of `pool_size` (50) past fakes.
- Terms (seed 000, "the complete CycleGAN loss"):
  `d_adv` = the critics' loss (least squares by default: 1/2 [(D(y) - 1)^2 + D(pool(G(x)))^2] per domain, the
  paper's halved D objective); `g_adv` = E[(D_B(G_AB(a)) - 1)^2] + E[(D_A(G_BA(b)) - 1)^2] (the paper's
  generator objective, twice `kgan.losses`' LSGAN generator loss, which keeps LSGAN's 1/2);
  `cycle` = lambda (||G_BA(G_AB(a)) - a||_1 + ||G_AB(G_BA(b)) - b||_1), lambda = `cycle_weight` (10);
  `identity` = identity_weight * lambda (||G_AB(b) - b||_1 + ||G_BA(a) - a||_1), identity_weight = 0.5.
  `cycle_weight = 0` is the GAN-alone ablation (`eval.baselines = ["no_cycle"]`): no cycle and no identity
  term, so nothing ties an output to its input but the adversarial loss.
- Groups: `critics` (d_a, d_b), then `generators` (g_ab, g_ba); logged as d_loss / g_loss.
- Served: `a_to_b` (`image_a` -> an image of domain B; the first direction, so also `serving_default`) and
  `b_to_a` (`image_b` -> an image of domain A), each the other's inverse. The identity reference point of
  evaluation is the untranslated input (`identity_feature = "image_a"`): a translation must beat it.
The learning-rate schedule (constant, then linear decay to 0) is two `[[train.phases]]`, the second with
`decay = "linear"` (`kgan.phases`).
"""

from __future__ import annotations

import keras
from keras import ops

from kgan import losses
from kgan.models import surface
from kgan.models.engine import Engine
from kgan.models.image_pool import ImagePool
from kgan.models.terms import Term

#: the data features: domain A's images, and domain B's as the run's real images
A, B = "image_a", "image"


@keras.saving.register_keras_serializable(package="kgan")
class CycleGAN(Engine):
    HPARAMS = Engine.HPARAMS + ("loss", "cycle_weight", "identity_weight", "pool_size")
    GROUPS = {"critics": ("d_a", "d_b"), "generators": ("g_ab", "g_ba")}
    identity_feature = A
    input_label_feature = "label_a"  # a translated digit should still read as its class

    def __init__(self, g_ab: keras.Model, g_ba: keras.Model, d_a: keras.Model, d_b: keras.Model, *,
                 loss: str = "least_squares", cycle_weight: float = 10.0, identity_weight: float = 0.5,
                 pool_size: int = 50, **kwargs):
        super().__init__(ema_networks=("g_ab", "g_ba"), **kwargs)
        self.loss = loss
        self.cycle_weight = float(cycle_weight)
        self.identity_weight = float(identity_weight)
        self.pool_size = int(pool_size)
        self._init_networks({"g_ab": g_ab, "g_ba": g_ba, "d_a": d_a, "d_b": d_b})
        # Past fakes of each domain, in variables: checkpointed with the model, updated inside the compiled step.
        self.pool_a = ImagePool(self.pool_size, g_ba.output_shape[1:], name="pool_a")
        self.pool_b = ImagePool(self.pool_size, g_ab.output_shape[1:], name="pool_b")

    @classmethod
    def from_experiment(cls, cfg):
        from kgan.models.options import cyclegan_options
        from kgan.models.registry import resolve
        from kgan.models.translation import engine_options
        from kgan.nets.patchgan import patchgan_discriminator
        from kgan.nets.translator import resnet_translator
        from kgan.nets.unet import unet_generator

        opts = cyclegan_options(cfg)
        _, loss, _ = resolve(cfg)
        image = (cfg.data.resolution, cfg.data.resolution, cfg.data.channels)

        def generator(name, input_name):
            if opts["generator"] == "unet":
                net = unet_generator(image, image, width=cfg.model.width, dropout=0.0)
                return keras.Model(net.inputs, net.outputs, name=name)
            return resnet_translator(image, width=cfg.model.width, blocks=opts["blocks"], name=name,
                                     input_name=input_name)

        def critic(name):
            return patchgan_discriminator(None, image, width=cfg.model.width, depth=opts["patch_depth"],
                                          norm="instance", name=name)

        return cls(generator("g_ab", A), generator("g_ba", "image_b"), critic("d_a"), critic("d_b"), loss=loss,
                   cycle_weight=opts["cycle_weight"], identity_weight=opts["identity_weight"],
                   pool_size=opts["pool_size"], name="cyclegan", **engine_options(cfg))

    # ----- surface
    def required_features(self) -> tuple:
        return (A, B)

    def _spec(self, name: str, feature: str) -> surface.InputSpec:
        return surface.InputSpec(name, "image", self.g_ab.inputs[0].shape[1:], feature=feature)

    def inference_inputs(self) -> list[surface.InputSpec]:
        return [self._spec("image_a", A)]

    def inference_network(self) -> keras.Model:
        return self.shadow("g_ab")

    def served_directions(self) -> list[surface.Direction]:
        return [surface.Direction("a_to_b", tuple(self.inference_inputs()), self.inference_network(), "b_to_a"),
                surface.Direction("b_to_a", (self._spec("image_b", B),), self.shadow("g_ba"), "a_to_b")]

    # ----- step
    def forward(self, batch: dict, training: bool) -> dict:
        return {"fake_b": self.g_ab(batch[A], training=training), "fake_a": self.g_ba(batch[B], training=training)}

    def loss_log(self, group: str) -> str:
        return {"critics": "d_loss", "generators": "g_loss"}[group]

    def step_buffers(self) -> list:
        return [*super().step_buffers(), *self.pool_a.variables, *self.pool_b.variables]

    def real_critic_scores(self, batch: dict) -> dict:
        return {"d_a": self.d_a(batch[A], training=False), "d_b": self.d_b(batch[B], training=False)}

    def _pooled(self, pool: ImagePool, fakes):
        n = ops.shape(fakes)[0]
        return pool.query(fakes, self.random_uniform((n,)), self.random_uniform((n,)))

    def loss_terms(self) -> list[Term]:
        def d_adv(ctx):
            real_a, real_b = ctx.batch[A], ctx.batch[B]
            fake_a, fake_b = self._pooled(self.pool_a, ctx.out["fake_a"]), self._pooled(self.pool_b, ctx.out["fake_b"])
            r_a, f_a = self.critic_pass(self.d_a, real_a, real=True), self.critic_pass(self.d_a, fake_a)
            r_b, f_b = self.critic_pass(self.d_b, real_b, real=True), self.critic_pass(self.d_b, fake_b)
            total = losses.discriminator_loss(self.loss, r_a, f_a) + losses.discriminator_loss(self.loss, r_b, f_b)
            return total, {"d_a_real": ops.mean(r_a), "d_a_fake": ops.mean(f_a),
                           "d_b_real": ops.mean(r_b), "d_b_fake": ops.mean(f_b)}

        def g_adv(ctx):
            scale = 2.0 if self.loss == "least_squares" else 1.0  # the paper's E[(D(G(x)) - 1)^2], no 1/2
            return scale * (losses.generator_loss(self.loss, self.critic_pass(self.d_b, ctx.out["fake_b"]))
                            + losses.generator_loss(self.loss, self.critic_pass(self.d_a, ctx.out["fake_a"])))

        def cycle(ctx):
            return two_way_l1(ctx.batch[A], self.g_ba(ctx.out["fake_b"], training=True),
                              ctx.batch[B], self.g_ab(ctx.out["fake_a"], training=True))

        def identity(ctx):
            return two_way_l1(ctx.batch[A], self.g_ba(ctx.batch[A], training=True),
                              ctx.batch[B], self.g_ab(ctx.batch[B], training=True))

        terms = [Term("d_adv", "critics", d_adv, logged=False,
                      diagnostics=("d_a_real", "d_a_fake", "d_b_real", "d_b_fake")),
                 Term("g_adv", "generators", g_adv),
                 Term("cycle", "generators", cycle, weight=self.cycle_weight),
                 Term("identity", "generators", identity, weight=self.identity_weight * self.cycle_weight)]
        return [t for t in terms if t.weight]  # the ablation has no cycle or identity term at all (not even logged)


def two_way_l1(a, a_again, b, b_again):
    """||a' - a||_1 + ||b' - b||_1, each the mean absolute error over its pixels: the cycle term with a' =
    G_BA(G_AB(a)), b' = G_AB(G_BA(b)); the identity term with a' = G_BA(a), b' = G_AB(b)."""
    return ops.mean(ops.abs(a_again - a)) + ops.mean(ops.abs(b_again - b))
