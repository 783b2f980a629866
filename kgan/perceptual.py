"""Perceptual losses: distances between feature maps of a frozen network instead of between pixels.

A pixel loss (L1/MSE) is minimized by the blurry average of every plausible output; a distance between the
feature maps of a fixed deep network rewards outputs whose textures and edges match the target's (Johnson et
al. 2016; SRGAN's "VGG loss"; DeblurGAN's conv3.3 content loss). The feature network is pluggable
(`model.options.perceptual`):

| spec | network |
|---|---|
| `random:DEPTH` | a fixed, randomly initialised CNN of DEPTH 3x3 conv + ReLU layers, seeded by the experiment seed; every layer is tapped. Needs no file: random deep features are a useful perceptual loss without pretrained weights (Ulyanov et al. 2018; Liu et al. 2021, "Generic Perceptual Loss") |
| `classifier:PATH` | a kgan classifier (`.keras`, `kgan.metrics.train_classifier`): its conv layers and its `features` layer |
| `vgg19:PATH` | `keras.applications.VGG19` without its top, ImageNet weights read from PATH (never downloaded at run time): block1_conv2, block2_conv2, block3_conv3 (DeblurGAN's conv3.3 is the deepest) |

Images in [-1, 1] are mapped to what each network expects inside the network itself (a classifier: [0, 255];
VGG19: grayscale repeated to RGB, resized up to 32 px when smaller, then its own `preprocess_input`), so the
loss is `perceptual_distance(features, output, target)` on the model's images.

Evaluation must not score with the network the loss optimized (the loss would grade itself): use a classifier
trained with another seed as `classifier:PATH` (the pipeline refuses its evaluation classifier as the
loss's network: `kgan.models.registry.check_evaluation_network`).

`parse` is TensorFlow-free (config validation); the builders import Keras when called.
"""

from __future__ import annotations

from pathlib import Path

from kgan.errors import ConfigError

KEY = "model.options.perceptual"
SPECS = ("random:DEPTH", "classifier:PATH", "vgg19:PATH")
MAX_DEPTH = 8
VGG_LAYERS = ("block1_conv2", "block2_conv2", "block3_conv3")
VGG_MIN_SIZE = 32  # keras.applications.VGG19 refuses smaller inputs
VGG_HOWTO = ("save them once on a machine with internet access: python -c \"import keras; "
             "keras.applications.VGG19(include_top=False, weights='imagenet').save_weights("
             "'vgg19_notop.weights.h5')\" and copy the file here (kgan never downloads weights)")


def parse(spec) -> tuple[str, str]:
    """(kind, argument) of a perceptual spec; a one-line ConfigError naming the key otherwise. A PATH must be a
    file (checked here, at config load, not after hours of training)."""
    if not isinstance(spec, str):
        raise ConfigError(f"{KEY}: expected a string, one of {list(SPECS)}, got {spec!r}")
    kind, _, arg = spec.partition(":")
    if kind == "random":
        if not (arg.isdigit() and 1 <= int(arg) <= MAX_DEPTH):
            raise ConfigError(f"{KEY}: {spec!r}: random:DEPTH needs DEPTH an integer in 1..{MAX_DEPTH}")
        return kind, arg
    if kind in ("classifier", "vgg19"):
        if not arg:
            raise ConfigError(f"{KEY}: {spec!r}: {kind}:PATH needs the path of a file")
        if not Path(arg).is_file():
            what = ("VGG19 ImageNet weights file (include_top=False)" if kind == "vgg19"
                    else "kgan classifier (.keras)")
            howto = VGG_HOWTO if kind == "vgg19" else ("train one with kgan.metrics.train_classifier(images, labels, "
                                                       "epochs, PATH, seed=...)")
            raise ConfigError(f"{KEY}: {arg} does not exist; expected a {what}; {howto}")
        return kind, arg
    raise ConfigError(f"{KEY}: {spec!r} is not allowed; choose from {list(SPECS)}")


def feature_network(spec: str, image_shape, seed: int = 0):
    """A frozen `keras.Model` (input `image`, [-1, 1]) returning a list of feature maps."""
    kind, arg = parse(spec)
    image_shape = tuple(int(d) for d in image_shape)
    build = {"random": _random_network, "classifier": _classifier_network, "vgg19": _vgg19_network}[kind]
    network = build(arg, image_shape, seed)
    network.trainable = False
    return network


def perceptual_distance(features, a, b):
    """Mean over the tapped layers of the mean squared difference of the feature maps of `a` and `b`."""
    from keras import ops

    return ops.mean(perceptual_distances(features, a, b))


def perceptual_distances(features, a, b):
    """`perceptual_distance` of each example: [B] (latent projection ranks its starts by it)."""
    from keras import ops

    fa, fb = features(a, training=False), features(b, training=False)
    fa, fb = (fa if isinstance(fa, (list, tuple)) else [fa]), (fb if isinstance(fb, (list, tuple)) else [fb])
    per_layer = [ops.mean(ops.reshape(ops.square(ops.cast(x, "float32") - ops.cast(y, "float32")),
                                      (ops.shape(x)[0], -1)), axis=1) for x, y in zip(fa, fb)]
    return ops.mean(ops.stack(per_layer, axis=0), axis=0)


def _random_network(depth: str, image_shape, seed: int):
    """DEPTH 3x3 conv + ReLU layers (32, 32, 64, 64, 128, ... filters; stride 2 every second layer), He-normal
    weights from `seed`: the activations keep their scale through the depth, so every tap carries signal."""
    import keras
    from keras import layers

    image = keras.Input(image_shape, name="image")
    x, taps = image, []
    for i in range(int(depth)):
        x = layers.Conv2D(min(32 * 2 ** (i // 2), 256), 3, strides=2 if i % 2 else 1, padding="same",
                          kernel_initializer=keras.initializers.HeNormal(seed=seed * 101 + i),
                          name=f"random_conv_{i}")(x)
        x = layers.ReLU(name=f"random_relu_{i}")(x)
        taps.append(x)
    return keras.Model(image, taps, name="perceptual_random")


def _classifier_network(path: str, image_shape, seed: int):
    import keras
    from keras import layers

    try:
        classifier = keras.models.load_model(path, compile=False)
    except Exception as e:  # Keras raises many types for a file that is not its format
        raise ConfigError(f"{KEY}: {path} is not a Keras model ({type(e).__name__}: "
                          f"{str(e).splitlines()[0] if str(e) else ''})") from None
    if tuple(classifier.input_shape[1:]) != image_shape:
        raise ConfigError(f"{KEY}: classifier {path} takes images {tuple(classifier.input_shape[1:])}, the model "
                          f"makes {image_shape}")
    taps = [layer.output for layer in classifier.layers
            if isinstance(layer, layers.Conv2D) or layer.name == "features"]
    if not taps:
        raise ConfigError(f"{KEY}: classifier {path} has no conv or 'features' layer to take features from")
    inner = keras.Model(classifier.inputs, taps, name="classifier_taps")
    image = keras.Input(image_shape, name="image")
    pixels = layers.Rescaling(127.5, offset=127.5, name="to_pixels")(image)  # kgan classifiers take [0, 255]
    return keras.Model(image, inner(pixels), name="perceptual_classifier")


def _vgg19_network(path: str, image_shape, seed: int):
    import keras
    from keras import layers

    height, width, channels = image_shape
    size = (max(VGG_MIN_SIZE, height), max(VGG_MIN_SIZE, width))
    vgg = keras.applications.VGG19(include_top=False, weights=None, input_shape=(*size, 3))
    try:
        vgg.load_weights(path)
    except Exception as e:
        raise ConfigError(f"{KEY}: {path} does not hold VGG19 weights without the top ({type(e).__name__}: "
                          f"{str(e).splitlines()[0] if str(e) else ''}); {VGG_HOWTO}") from None
    inner = keras.Model(vgg.input, [vgg.get_layer(name).output for name in VGG_LAYERS], name="vgg19_taps")
    image = keras.Input(image_shape, name="image")
    x = image
    if channels == 1:
        x = layers.Concatenate(name="gray_to_rgb")([x, x, x])
    if size != (height, width):
        x = layers.Resizing(*size, interpolation="bilinear", name="vgg_size")(x)
    x = layers.Rescaling(127.5, offset=127.5, name="to_pixels")(x)
    x = keras.applications.vgg19.preprocess_input(x)  # RGB -> BGR, ImageNet means subtracted
    return keras.Model(image, inner(x), name="perceptual_vgg19")
