"""The training engine (`kgan.models.GAN`), the registry and the DCGAN nets, on tiny random data.

Everything runs on CPU with width 8, latent 8, 8x8 images and 1-3 steps: these tests check
behaviour (formulas, update rules, guards, serialization), not sample quality.
"""

import keras
import numpy as np
import pytest
import tensorflow as tf

import kgan.config
import kgan.losses
import kgan.models
from kgan.errors import ConfigError
from kgan.models import penalties, registry
from kgan.models.gan import ema_decay
from kgan.nets import dcgan

RES = 8
LATENT = 8
BATCH = 8


def make_cfg(name="dcgan", *, res=RES, batch=BATCH, model=None, **train):
    train.setdefault("ema", 0.0)
    return kgan.config.from_dict({
        "seed": 0,
        "model": {"name": name, "width": 8, "latent_dim": LATENT, **(model or {})},
        "data": {"resolution": res, "channels": 1, "batch_size": batch},
        "train": train,
    })


def build(cfg, jit_compile=False, steps_per_execution=1):
    keras.utils.set_random_seed(0)
    gan = kgan.models.build_gan(cfg)
    gan.compile(*kgan.models.build_optimizers(cfg), jit_compile=jit_compile,
                steps_per_execution=steps_per_execution)
    return gan


def images(n, res=RES, seed=0):
    return np.random.default_rng(seed).uniform(-1, 1, (n, res, res, 1)).astype("float32")


def dataset(cfg, steps, seed=0, poison=False):
    """`steps` batches of (float32 images in [-1, 1], int32 labels), each batch_size * n_critic big."""
    per_step = cfg.data.batch_size * cfg.train.n_critic
    x = images(per_step * steps, cfg.data.resolution, seed)
    if poison:
        x[3, 2, 2, 0] = np.nan
    y = np.zeros(per_step * steps, "int32")
    return tf.data.Dataset.from_tensor_slices((x, y)).batch(per_step, drop_remainder=True)


def values(variables):
    return [np.array(v.numpy(), copy=True) for v in variables]


def any_changed(before, variables):
    return any(not np.array_equal(b, a) for b, a in zip(before, values(variables)))


def assert_all_equal(before, variables, what):
    for b, v in zip(before, variables):
        np.testing.assert_array_equal(v.numpy(), b, err_msg=f"{what}: {v.path} changed")


# ----- 1. registry: every model trains (eager-graph, XLA, steps_per_execution) ----------------------------------

NEEDS = {"wgan": {"clip_value": 0.01}, "wgan_gp": {"gradient_penalty": 10.0}}


def test_registry_lists_the_models():
    assert {"gan", "dcgan", "lsgan", "wgan", "wgan_gp"} <= set(kgan.models.model_names())


@pytest.mark.parametrize("mode", ["graph", "xla", "steps_per_execution"])
@pytest.mark.parametrize("name", ["gan", "dcgan", "lsgan", "wgan", "wgan_gp"])
def test_every_model_trains(name, mode):
    n_critic = 2 if name == "wgan_gp" else 1  # exercises the split of a batch into critic micro-batches
    cfg = make_cfg(name, n_critic=n_critic, **NEEDS.get(name, {}))
    gan = build(cfg, jit_compile=(mode == "xla"), steps_per_execution=2 if mode == "steps_per_execution" else 1)
    g0, d0 = values(gan.generator.trainable_variables), values(gan.discriminator.trainable_variables)
    history = gan.fit(dataset(cfg, steps=2), epochs=1, verbose=0).history
    for key in ("d_loss", "g_loss", "d_real", "d_fake"):
        assert np.all(np.isfinite(history[key])), (key, history[key])
    assert history["nonfinite"][-1] == 0.0
    assert any_changed(g0, gan.generator.trainable_variables), "generator weights did not change"
    assert any_changed(d0, gan.discriminator.trainable_variables), "discriminator weights did not change"
    # exactly n_critic discriminator updates per generator update, 2 generator updates
    assert int(gan.g_optimizer.iterations.numpy()) == 2
    assert int(gan.d_optimizer.iterations.numpy()) == 2 * n_critic
    if name in ("wgan", "wgan_gp"):
        assert "w_distance" in history and np.all(np.isfinite(history["w_distance"]))
    if name == "wgan_gp":
        assert np.all(np.array(history["gp"]) >= 0.0)


def test_registry_defaults():
    assert registry.resolve(make_cfg("lsgan"))[1:] == ("least_squares", "batch")
    assert registry.resolve(make_cfg("wgan_gp", gradient_penalty=10.0))[1:] == ("wasserstein", "layer")
    assert registry.resolve(make_cfg("gan", model={"loss": "minimax"}))[1] == "minimax"
    gan = kgan.models.build_gan(make_cfg("wgan_gp", gradient_penalty=10.0))
    assert gan.loss == "wasserstein" and gan.gradient_penalty == 10.0
    assert not any(isinstance(layer, keras.layers.BatchNormalization) for layer in gan.discriminator.layers)


@pytest.mark.parametrize("name,key", [("wgan", "train.clip_value"), ("wgan_gp", "train.gradient_penalty")])
def test_required_settings_are_named(name, key):
    """A family's required train keys are refused at config load, before any stage runs (no TensorFlow)."""
    with pytest.raises(ConfigError, match=key.replace(".", r"\.")):
        make_cfg(name)


def test_batchnorm_critic_with_gradient_penalty_is_refused():
    with pytest.raises(ConfigError, match=r"model\.norm"):
        registry.resolve(make_cfg("wgan_gp", gradient_penalty=10.0, model={"norm": "batch"}))


def test_unknown_loss_is_refused_by_the_engine():
    cfg = make_cfg("dcgan")
    g = dcgan.dcgan_generator(LATENT, (RES, RES, 1), width=8)
    d = dcgan.dcgan_discriminator((RES, RES, 1), width=8)
    with pytest.raises(ValueError, match="unknown loss"):
        kgan.models.GAN(g, d, latent_dim=LATENT, image_shape=(RES, RES, 1), loss="vanilla")
    assert cfg.model.loss == "auto"


# ----- 2. gradient penalty and R1 on a linear critic -----------------------------------------------------------

def linear_pair(w):
    """A tiny generator and a critic D(x) = <w, flatten(x)> whose input gradient is w everywhere."""
    shape = (4, 4, 1)
    z = keras.Input((LATENT,))
    x = keras.layers.Dense(16, activation="tanh")(z)
    generator = keras.Model(z, keras.layers.Reshape(shape)(x))
    image = keras.Input(shape)
    flat = keras.layers.Flatten(name="features")(image)
    dense = keras.layers.Dense(1, use_bias=False, name="logits")
    critic = keras.Model(image, dense(flat))
    dense.kernel.assign(w.reshape(16, 1))
    return generator, critic, shape


W = np.linspace(-0.6, 0.9, 16).astype("float32")  # ||W|| ~ 1.78: the penalty is far from 0


def test_gradient_penalty_equals_its_definition_on_a_linear_critic():
    keras.utils.set_random_seed(0)
    generator, critic, shape = linear_pair(W)
    gan = kgan.models.GAN(generator, critic, latent_dim=LATENT, image_shape=shape, loss="wasserstein",
                          gradient_penalty=10.0)
    x = tf.constant(np.random.default_rng(1).normal(size=(5,) + shape).astype("float32"))
    grads = penalties.input_gradients(gan._critic({}), x)
    np.testing.assert_allclose(grads.numpy(), np.broadcast_to(W.reshape(shape), (5,) + shape), rtol=1e-6)
    norm = np.sqrt(np.sum(W.astype("float64") ** 2))
    want = 10.0 * (norm - 1.0) ** 2
    got = gan.gradient_penalty * float(kgan.losses.gradient_penalty_from_gradients(grads))
    assert got == pytest.approx(want, rel=1e-5)

    # The train step computes the same penalty (at interpolates, before the critic's update) and logs it.
    gan.compile(keras.optimizers.Adam(1e-3), keras.optimizers.Adam(1e-3))
    data = tf.data.Dataset.from_tensors((x, tf.zeros((5,), "int32")))
    history = gan.fit(data, epochs=1, verbose=0).history
    assert history["gp"][0] == pytest.approx(want, rel=1e-5)
    assert not np.allclose(critic.get_layer("logits").kernel.numpy().ravel(), W)  # and the critic did train


def test_r1_penalty_equals_its_definition_on_a_linear_critic():
    keras.utils.set_random_seed(0)
    gamma = 3.0
    generator, critic, shape = linear_pair(W)
    gan = kgan.models.GAN(generator, critic, latent_dim=LATENT, image_shape=shape, loss="non_saturating", r1=gamma)
    x = tf.constant(np.random.default_rng(2).normal(size=(4,) + shape).astype("float32"))
    grads = penalties.input_gradients(gan._critic({}), x)
    want = gamma * 0.5 * float(np.sum(W.astype("float64") ** 2))
    assert gamma * float(kgan.losses.r1_penalty_from_gradients(grads)) == pytest.approx(want, rel=1e-5)
    gan.compile(keras.optimizers.Adam(1e-3), keras.optimizers.Adam(1e-3))
    history = gan.fit(tf.data.Dataset.from_tensors((x, tf.zeros((4,), "int32"))), verbose=0).history
    assert history["r1"][0] == pytest.approx(want, rel=1e-5)
    assert "gp" not in history


# ----- 3. weight clipping ----------------------------------------------------------------------------------------

def test_wgan_clips_every_critic_weight():
    cfg = make_cfg("wgan", clip_value=0.01, optimizer="rmsprop", d_lr=5e-5, g_lr=5e-5)
    gan = build(cfg)
    # DCGAN's initializers put most weights well outside [-0.01, 0.01]: clipping must act.
    assert max(np.abs(v.numpy()).max() for v in gan.discriminator.trainable_variables) > 0.01
    gan.fit(dataset(cfg, steps=3), epochs=1, verbose=0)
    at_bound = 0
    for v in gan.discriminator.trainable_variables:
        w = v.numpy()
        assert w.min() >= -0.01 and w.max() <= 0.01, v.path
        at_bound += int(np.sum(np.isclose(np.abs(w), 0.01)))
    assert at_bound > 0
    # the generator is never clipped
    assert max(np.abs(v.numpy()).max() for v in gan.generator.trainable_variables) > 0.01


# ----- 4. label smoothing / noise ---------------------------------------------------------------------------------

def targets(gan, *shape):
    logits = tf.zeros(shape)
    return gan._targets(logits, logits)


def test_one_sided_label_smoothing():
    gan = kgan.models.build_gan(make_cfg("dcgan", label_smoothing=0.1))
    real_t, fake_t = targets(gan, 16, 1)
    assert tuple(real_t.shape) == (16, 1) and tuple(fake_t.shape) == (16, 1)
    np.testing.assert_allclose(real_t.numpy(), 0.9, rtol=1e-6)
    np.testing.assert_array_equal(fake_t.numpy(), 0.0)
    patch_real, patch_fake = targets(gan, 16, 3, 3, 1)  # a patch critic: targets take the logits' shape
    assert tuple(patch_real.shape) == (16, 3, 3, 1) and tuple(patch_fake.shape) == (16, 3, 3, 1)
    plain_real, plain_fake = targets(kgan.models.build_gan(make_cfg("dcgan")), 4, 1)
    np.testing.assert_array_equal(plain_real.numpy(), 1.0)
    np.testing.assert_array_equal(plain_fake.numpy(), 0.0)


def test_label_noise_jitters_targets_within_their_ranges():
    gan = kgan.models.build_gan(make_cfg("dcgan", label_smoothing=0.1, label_noise=0.2))
    real_t, fake_t = (t.numpy() for t in targets(gan, 256, 1))
    assert real_t.min() >= 0.9 - 0.2 - 1e-6 and real_t.max() <= 0.9 + 1e-6
    assert fake_t.min() >= 0.0 and fake_t.max() <= 0.2 + 1e-6
    assert real_t.std() > 0.02 and fake_t.std() > 0.02  # jittered per example, not a constant shift
    again_real, _ = targets(gan, 256, 1)
    assert not np.array_equal(again_real.numpy(), real_t)  # fresh noise each call


@pytest.mark.parametrize("name,extra", [("wgan", {"clip_value": 0.01}), ("wgan_gp", {"gradient_penalty": 10.0}),
                                        ("dcgan", {"model": {"loss": "hinge"}})])
def test_smoothing_needs_a_target_based_loss(name, extra):
    model = extra.pop("model", None)
    with pytest.raises(ValueError, match="label smoothing"):
        kgan.models.build_gan(make_cfg(name, model=model, label_smoothing=0.1, **extra))
    with pytest.raises(ValueError, match="label smoothing"):
        kgan.models.build_gan(make_cfg(name, model=model, label_noise=0.1, **extra))


# ----- 5. EMA ------------------------------------------------------------------------------------------------------

def test_ema_follows_the_update_formula():
    cfg = make_cfg("dcgan", ema=0.9)
    gan = build(cfg)
    assert gan.sampler is gan.ema_generator and gan.ema_generator is not gan.generator
    data = dataset(cfg, steps=2)
    batches = list(data)
    gan.train_on_batch(*batches[0])  # after one step the EMA and the generator differ
    trainable = {id(v) for v in gan.generator.trainable_variables}
    pairs = list(zip(gan.ema_generator.weights, gan.generator.weights))
    assert len(gan.ema_generator.weights) == len(gan.generator.weights)
    ema_old = values(e for e, _ in pairs)
    g_old = values(g for _, g in pairs)
    gan.train_on_batch(*batches[1])
    decay = min(0.9, (1 + 1) / (10 + 1))  # second update (t = 1): still in the warm-up
    assert float(ema_decay(0.9, 1.0)) == pytest.approx(decay) and float(ema_decay(0.9, 1e6)) == pytest.approx(0.9)
    checked = 0
    for (ema_var, g_var), e_old, g_prev in zip(pairs, ema_old, g_old):
        g_new = g_var.numpy()
        if id(g_var) in trainable:
            assert not np.allclose(g_new, g_prev), g_var.path  # the generator moved
            np.testing.assert_allclose(ema_var.numpy(), decay * e_old + (1 - decay) * g_new, rtol=1e-5, atol=1e-7,
                                       err_msg=g_var.path)
            checked += 1
        else:  # batchnorm moving statistics are copied, not averaged
            np.testing.assert_array_equal(ema_var.numpy(), g_new, err_msg=g_var.path)
    assert checked == len(gan.generator.trainable_variables) > 0
    assert not gan.ema_generator.trainable
    # generate() samples from the EMA generator
    z = keras.random.normal((3, LATENT), seed=1)
    np.testing.assert_allclose(np.asarray(gan.generate(z)), np.asarray(gan.ema_generator(z, training=False)))


# ----- 6. divergence guard -----------------------------------------------------------------------------------------

@pytest.mark.parametrize("name", ["gan", "dcgan"])
def test_nonfinite_batch_skips_every_update(name):
    cfg = make_cfg(name, ema=0.9)
    gan = build(cfg)
    gan.fit(dataset(cfg, steps=1, seed=1), verbose=0)  # trace and take one clean step first
    assert int(gan.nonfinite_steps.numpy()) == 0
    before = values(gan.weights)
    d_opt, g_opt = values(gan.d_optimizer.variables), values(gan.g_optimizer.variables)
    history = gan.fit(dataset(cfg, steps=1, seed=2, poison=True), verbose=0).history
    if name == "dcgan":
        assert not np.isfinite(history["d_loss"][0])
    # For the MLP the loss can even stay finite (CPU's fused MatMul+ReLU maps the NaN to 0) while the weight
    # gradients are NaN: the guard must look at the gradients too, or one bad pixel silently poisons both nets.
    assert history["nonfinite"][0] == 1.0
    assert int(gan.nonfinite_steps.numpy()) == 1
    # no weight moved: not D, not G (its step is skipped too), not the EMA, not batchnorm statistics
    for b, v in zip(before, gan.weights):
        if v is gan.batches_seen:  # the batch was consumed, even though nothing learned from it
            assert v.numpy() == b + 1
        elif v is not gan.nonfinite_steps:
            np.testing.assert_array_equal(v.numpy(), b, err_msg=f"{v.path} changed on a non-finite step")
    assert_all_equal(d_opt, gan.d_optimizer.variables, "d_optimizer")
    assert_all_equal(g_opt, gan.g_optimizer.variables, "g_optimizer")
    gan.fit(dataset(cfg, steps=1, seed=3), verbose=0)
    assert int(gan.nonfinite_steps.numpy()) == 0
    assert all(np.all(np.isfinite(v.numpy())) for v in gan.weights)


def test_the_finiteness_check_sees_every_gradient_and_no_false_alarm():
    """NaN or an infinity in any gradient (or both infinities, in different gradients) fails the check; large but
    finite gradients pass it (a sum of squares overflowed past 1e19 and skipped such steps)."""
    from kgan.models.updates import all_finite

    def check(*grads, loss=0.5):
        return bool(all_finite(tf.constant(loss), [tf.constant(g, tf.float32) for g in grads]).numpy())

    finite = np.ones((3, 2), np.float32)
    assert check(finite, finite)
    assert not check(finite, [[1.0, np.nan]])
    assert not check([np.inf], finite) and not check(finite, [-np.inf])
    assert not check([np.inf], [-np.inf])  # opposite infinities in two gradients
    assert not check(finite, loss=np.nan)
    assert check([1e20, -3e30], [5e36])
    sparse = tf.IndexedSlices(tf.constant([[np.nan, 0.0]]), tf.constant([0]), tf.constant([2, 2]))
    assert not bool(all_finite(tf.constant(0.5), [sparse]).numpy())


def test_nonfinite_counter_counts_consecutive_steps():
    cfg = make_cfg("gan")
    gan = build(cfg)
    gan.fit(dataset(cfg, steps=1, poison=True).repeat(2), verbose=0)
    assert int(gan.nonfinite_steps.numpy()) == 2


# ----- 7. save / reload --------------------------------------------------------------------------------------------

def test_save_and_reload_restores_models_and_optimizers(tmp_path):
    cfg = make_cfg("dcgan", ema=0.9)
    gan = build(cfg)
    gan.fit(dataset(cfg, steps=2), verbose=0)
    path = tmp_path / "g.keras"
    gan.save(path)
    loaded = keras.models.load_model(path)
    assert type(loaded) is type(gan)
    assert (loaded.latent_dim, loaded.image_shape, loaded.loss, loaded.ema) == (LATENT, (RES, RES, 1),
                                                                                 "non_saturating", 0.9)
    for name in ("d_optimizer", "g_optimizer"):
        old, new = getattr(gan, name), getattr(loaded, name)
        assert type(new) is type(old)
        assert int(new.iterations.numpy()) == int(old.iterations.numpy()) == 2
        assert new.learning_rate.numpy() == pytest.approx(old.learning_rate.numpy())
        assert len(new.variables) == len(old.variables)
        for a, b in zip(old.variables, new.variables):
            np.testing.assert_array_equal(b.numpy(), a.numpy(), err_msg=f"{name}: {a.path}")
    for old, new in ((gan.generator, loaded.generator), (gan.discriminator, loaded.discriminator),
                     (gan.ema_generator, loaded.ema_generator)):
        for a, b in zip(old.weights, new.weights):
            np.testing.assert_array_equal(b.numpy(), a.numpy(), err_msg=a.path)
    z = np.random.default_rng(5).normal(size=(4, LATENT)).astype("float32")
    np.testing.assert_allclose(np.asarray(loaded.generator(z, training=False)),
                               np.asarray(gan.generator(z, training=False)), rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(np.asarray(loaded.generate(z)), np.asarray(gan.generate(z)), rtol=1e-6, atol=1e-6)
    # ... and training continues from there
    g_before = values(loaded.generator.trainable_variables)
    history = loaded.fit(dataset(cfg, steps=1, seed=7), verbose=0).history
    assert np.isfinite(history["g_loss"][0]) and np.isfinite(history["d_loss"][0])
    assert int(loaded.g_optimizer.iterations.numpy()) == 3
    assert any_changed(g_before, loaded.generator.trainable_variables)


# ----- 8. feature matching -----------------------------------------------------------------------------------------

def test_feature_matching_trains_and_is_logged():
    cfg = make_cfg("dcgan", feature_matching=1.0)
    gan = build(cfg)
    g0 = values(gan.generator.trainable_variables)
    history = gan.fit(dataset(cfg, steps=2), verbose=0).history
    fm = np.array(history["feature_matching"])
    assert np.all(np.isfinite(fm)) and np.all(fm > 0.0)
    assert any_changed(g0, gan.generator.trainable_variables)
    assert "feature_matching" not in build(make_cfg("dcgan")).metric_names()


# ----- 9. data forms -----------------------------------------------------------------------------------------------

def test_train_on_batch_and_unlabelled_data():
    cfg = make_cfg("gan")
    gan = build(cfg)
    x = images(BATCH)
    logs = gan.train_on_batch(x, np.zeros(BATCH, "int32"), return_dict=True)
    assert np.isfinite(logs["d_loss"]) and np.isfinite(logs["g_loss"])
    logs = gan.train_on_batch(x, return_dict=True)  # images only
    assert np.isfinite(logs["d_loss"])
    history = gan.fit(x, batch_size=BATCH, epochs=1, verbose=0).history  # numpy images, no labels
    assert np.isfinite(history["g_loss"][0])
    assert int(gan.g_optimizer.iterations.numpy()) == 3


# ----- 10. DCGAN nets ----------------------------------------------------------------------------------------------

@pytest.mark.parametrize("resolution,plan", [(28, (7, 2)), (32, (4, 3)), (64, (4, 4)), (8, (4, 1)), (14, (7, 1))])
def test_upsampling_plan(resolution, plan):
    start, n = dcgan.upsampling_plan(resolution)
    assert (start, n) == plan and start * 2**n == resolution


@pytest.mark.parametrize("resolution", [30, 4, 7, 36 * 3, 9])
def test_upsampling_plan_rejects_impossible_resolutions(resolution):
    with pytest.raises(ValueError, match="resolution"):
        dcgan.upsampling_plan(resolution)


@pytest.mark.parametrize("resolution,channels", [(28, 1), (32, 3), (64, 1)])
def test_dcgan_nets_shapes_and_range(resolution, channels):
    shape = (resolution, resolution, channels)
    g = dcgan.dcgan_generator(LATENT, shape, width=8)
    z = 50.0 * np.random.default_rng(0).normal(size=(3, LATENT)).astype("float32")
    out = np.asarray(g(z, training=False))
    assert out.shape == (3,) + shape and out.dtype == np.float32
    assert out.min() >= -1.0 and out.max() <= 1.0 and out.std() > 0.0
    assert g.get_layer("image").activation is keras.activations.tanh
    assert np.abs(np.asarray(g(z, training=True))).max() <= 1.0
    for norm in ("batch", "layer", "none"):
        d = dcgan.dcgan_discriminator(shape, width=8, norm=norm)
        logits = np.asarray(d(out, training=False))
        assert logits.shape == (3, 1) and np.all(np.isfinite(logits))
        assert d.get_layer("features") is not None


def test_conditional_dcgan_nets_take_labels():
    shape = (RES, RES, 1)
    g = dcgan.dcgan_generator(LATENT, shape, num_classes=10, width=8)
    d = dcgan.dcgan_discriminator(shape, num_classes=10, width=8)
    z = np.zeros((2, LATENT), "float32")
    labels = np.array([1, 7], "int32")
    out = np.asarray(g([z, labels], training=False))
    assert out.shape == (2,) + shape
    assert not np.allclose(out[0], out[1])  # same z, different label -> different image
    assert np.asarray(d([out, labels], training=False)).shape == (2, 1)


# ----- 11. the step's arithmetic against a hand-written two-tape step ------------------------------------------

def _reference_step(gan, real, z, simultaneous):
    """One GAN step written out by hand on copies of the nets (non-saturating loss, plain Adam)."""
    g = keras.models.clone_model(gan.generator)
    d = keras.models.clone_model(gan.discriminator)
    g.set_weights(gan.generator.get_weights())
    d.set_weights(gan.discriminator.get_weights())
    g_opt, d_opt = kgan.models.build_optimizers(make_cfg("gan"))
    with tf.GradientTape() as g_tape, tf.GradientTape() as d_tape:
        fake = g(z, training=True)
        real_logits, fake_logits = d(real, training=True), d(fake, training=True)
        d_loss = tf.reduce_mean(tf.nn.softplus(-real_logits)) + tf.reduce_mean(tf.nn.softplus(fake_logits))
        g_loss_before_update = tf.reduce_mean(tf.nn.softplus(-fake_logits))
    d_opt.apply_gradients(zip(d_tape.gradient(d_loss, d.trainable_variables), d.trainable_variables))
    if simultaneous:
        g_grads = g_tape.gradient(g_loss_before_update, g.trainable_variables)
    else:  # alternating: the same fakes, judged by the updated critic
        with tf.GradientTape() as tape:
            g_loss = tf.reduce_mean(tf.nn.softplus(-d(g(z, training=True), training=True)))
        g_grads = tape.gradient(g_loss, g.trainable_variables)
    g_opt.apply_gradients(zip(g_grads, g.trainable_variables))
    return g, d


@pytest.mark.parametrize("update", ["alternating", "simultaneous"])
def test_one_step_matches_the_hand_written_two_tape_step(update):
    """The engine's step equals the textbook computation for the same z: D update, then G update (through the
    updated D when alternating, through D's pre-update pass when simultaneous) — one generator forward."""
    cfg = make_cfg("gan", update=update)
    gan = build(cfg)
    real = images(BATCH)
    z = np.random.default_rng(1).standard_normal((BATCH, LATENT)).astype("float32")
    g_ref, d_ref = _reference_step(gan, real, z, update == "simultaneous")
    gan.fixed_latent = z
    gan.train_on_batch(real, np.zeros(BATCH, "int32"))
    for ours, ref in ((gan.discriminator, d_ref), (gan.generator, g_ref)):
        for a, b in zip(ours.trainable_variables, ref.trainable_variables):
            np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-5, atol=1e-6, err_msg=a.path)


def test_simultaneous_updates_need_one_critic_step():
    with pytest.raises(ConfigError, match="train.update"):
        build(make_cfg("gan", update="simultaneous", n_critic=2))
