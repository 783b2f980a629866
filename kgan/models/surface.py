"""The declared inference surface: the named inputs a model serves, and how each one is drawn.

Every consumer of a trained model (export signatures and warm-up requests, evaluation, the gallery,
training snapshots, `kgan sample`) reads a model through this declaration instead of asking what
kind of model it is. A model lists its inputs as `InputSpec`s; the output of its first direction is an image
batch float32 [B, H, W, C] in [-1, 1] (further `Direction`s may output codes: an autoencoder's `encode`).

Draws:
- `normal`: N(0, I) (truncation scales it toward 0); `uniform`: U(low, high);
- `categorical`: ints in [0, classes); fixed rows (snapshots, galleries, the `sample` signature)
  cycle 0, 1, ..., classes-1, 0, ... so that every class shows up in any grid of `classes` columns;
- `image`: a float32 image from the data feature `feature` (an image-to-image model's source);
- `string`: a text from the data feature `feature`.
`image` and `string` inputs cannot be drawn from a seed: they come from data.
- `truncation`: a model that truncates itself (StyleGAN: w_avg + psi (w - w_avg), in W) serves its psi as an
  input [B]; every draw sets it to the consumer's truncation (1 = none) and then leaves the normal inputs
  unscaled, so truncation consumers need not know where a model truncates;
- `seed`: an int32 per example from which the model draws its own noise (StyleGAN's per-layer noise): random
  draws give independent noise, equal seeds the same noise.

Optional declarations beside the inputs (read through the functions of the same name here, each with a
neutral default): `style_mixing()` (a served direction that mixes the styles of two latents), `intermediate_latent()`
(a latent space the model maps its normal input into, with the networks both ways: PPL in W),
`served_constants()` (named arrays an export records in its metadata: StyleGAN's w_avg).

This module imports no TensorFlow at load time (the registry and config validation use it).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from kgan.errors import DataError

DRAWS = ("normal", "uniform", "categorical", "image", "string", "truncation", "seed")
_DTYPES = {"normal": "float32", "uniform": "float32", "categorical": "int32", "image": "float32",
           "string": "string", "truncation": "float32", "seed": "int32"}
SEED_HIGH = 2**31 - 1  # seed inputs are ints in [0, SEED_HIGH)


@dataclass(frozen=True)
class InputSpec:
    """One named serving input: per-example `shape` (the batch dimension is implied) and its draw."""

    name: str
    draw: str
    shape: tuple = ()
    classes: int = 0  # categorical
    low: float = -1.0  # uniform
    high: float = 1.0
    feature: str = ""  # image / string: the data feature that supplies it

    def __post_init__(self):
        if self.draw not in DRAWS:
            raise ValueError(f"input {self.name!r}: unknown draw {self.draw!r}; choose from {DRAWS}")
        object.__setattr__(self, "shape", tuple(int(d) for d in self.shape))
        if self.draw == "categorical" and self.classes < 1:
            raise ValueError(f"input {self.name!r}: a categorical input needs classes >= 1")
        if self.draw in ("image", "string") and not self.feature:
            raise ValueError(f"input {self.name!r}: an {self.draw} input names the data feature it comes from")

    @property
    def dtype(self) -> str:
        return _DTYPES[self.draw]

    @property
    def drawable(self) -> bool:
        """Whether a seed alone can produce this input (else it comes from data)."""
        return self.draw in ("normal", "uniform", "categorical", "truncation", "seed")

    def to_json(self) -> dict:
        return {k: (list(v) if isinstance(v, tuple) else v) for k, v in asdict(self).items()}

    @classmethod
    def from_json(cls, d: dict) -> "InputSpec":
        return cls(**{**d, "shape": tuple(d.get("shape", ()))})

    def tensor_spec(self):
        import tensorflow as tf

        return tf.TensorSpec([None, *self.shape], tf.dtypes.as_dtype(self.dtype), name=self.name)


#: what a direction's network outputs: images float32 [B, H, W, C] in [-1, 1], or codes float32 [B, d] (an
#: autoencoder's `encode`)
OUTPUTS = ("image", "code")


@dataclass(frozen=True)
class Direction:
    """One mapping a model serves: its signature `name`, its `inputs`, the `network` that makes its outputs, the
    direction that maps its outputs back (`inverse`, "" when none) and what it outputs (`output`: "image" or
    "code"). A model's first direction is its `inference_inputs()` / `inference_network()` and makes images; it is
    exported as `serving_default` (unless the model declares `default_signature = "sample"`) and, when named, also
    under its name; every further one is exported under its name only."""

    name: str
    inputs: tuple
    network: object  # a keras.Model whose inputs are named like `inputs`
    inverse: str = ""
    output: str = "image"

    def __post_init__(self):
        if self.output not in OUTPUTS:
            raise ValueError(f"direction {self.name!r}: unknown output {self.output!r}; choose from {OUTPUTS}")

    def to_json(self) -> dict:
        return {"name": self.name, "inputs": specs_to_json(self.inputs), "inverse": self.inverse,
                "output": self.output}


@dataclass(frozen=True)
class StyleMixing:
    """A served direction (`direction`) that mixes two latents' styles: layers below the int input `crossover`
    take the styles of `sources[0]`, the others those of `sources[1]`; `layer_resolutions`: the resolution each
    style layer works at (coarse to fine). The gallery's style-mixing grid reads it."""

    direction: str
    sources: tuple
    crossover: str
    layer_resolutions: tuple

    def to_json(self) -> dict:
        return {"direction": self.direction, "sources": list(self.sources), "crossover": self.crossover,
                "layer_resolutions": list(self.layer_resolutions)}

    @classmethod
    def from_json(cls, d: dict) -> "StyleMixing":
        return cls(d["direction"], tuple(d["sources"]), d["crossover"], tuple(d["layer_resolutions"]))


@dataclass(frozen=True)
class IntermediateLatent:
    """A latent space the model maps its normal input `source` into (StyleGAN's W): `mapping` (a network `source`
    -> `name` [B, *shape]) and `synthesis` (a network taking `name` and the `inputs` specs, e.g. the noise seed,
    -> images, untruncated). Exported as the `mapping` and `synthesis` signatures; PPL in W walks it."""

    name: str
    shape: tuple
    source: str
    inputs: tuple  # the synthesis network's other inputs (InputSpec)
    mapping: object = None
    synthesis: object = None

    def to_json(self) -> dict:
        return {"name": self.name, "shape": list(self.shape), "source": self.source,
                "inputs": specs_to_json(self.inputs)}

    @classmethod
    def from_json(cls, d: dict) -> "IntermediateLatent":
        return cls(d["name"], tuple(d["shape"]), d["source"], tuple(specs_from_json(d["inputs"])))


def style_mixing(model) -> StyleMixing | None:
    """`model.style_mixing()` (optional): the direction that mixes styles, None for a model without one."""
    declared = getattr(model, "style_mixing", None)
    return declared() if callable(declared) else None


def intermediate_latent(model) -> IntermediateLatent | None:
    """`model.intermediate_latent()` (optional): None for a model without an intermediate latent space."""
    declared = getattr(model, "intermediate_latent", None)
    return declared() if callable(declared) else None


def served_constants(model) -> dict:
    """`model.served_constants()` (optional): {name: list of floats} an export records in its metadata."""
    declared = getattr(model, "served_constants", None)
    return dict(declared()) if callable(declared) else {}


def truncation_spec(specs) -> InputSpec | None:
    """The input through which a model truncates itself, if it declares one."""
    return next((s for s in specs if s.draw == "truncation"), None)


def directions(model) -> list[Direction]:
    """The directions `model` serves (`served_directions()`, optional): one unnamed direction, its
    `inference_inputs()` -> `inference_network()`, for a model that declares none."""
    declared = getattr(model, "served_directions", None)
    if declared is not None:
        return list(declared())
    return [Direction("", tuple(model.inference_inputs()), model.inference_network())]


def named_directions(model) -> list[Direction]:
    """The named directions `model` declares (`served_directions()`), [] for a model with one unnamed direction:
    read without building the inference network (consumers that look for an encode/decode pair)."""
    declared = getattr(model, "served_directions", None)
    return [d for d in declared() if d.name] if declared is not None else []


def default_signature(model) -> str:
    """What TF Serving's `serving_default` of `model`'s export is: "" (the first direction's inputs, the default)
    or "sample" (seed -> images, for a model best served from its prior: the autoencoders). Optional."""
    value = str(getattr(model, "default_signature", "") or "")
    if value not in ("", "sample"):
        raise ValueError(f"default_signature: expected '' or 'sample', got {value!r}")
    return value


def codec(directions_: list[dict]) -> tuple[dict, dict] | None:
    """(encode, decode) among directions as JSON (`Direction.to_json`, an export's metadata): the first direction
    that maps one image input to a code and its inverse, which maps a code back to an image; None when the model
    serves no such pair (every model but the autoencoders)."""
    by_name = {d["name"]: d for d in directions_}
    for d in directions_:
        back, inputs = by_name.get(d.get("inverse", "")), d["inputs"]
        if (d.get("output") == "code" and back is not None and back.get("output", "image") == "image"
                and len(inputs) == 1 and inputs[0]["draw"] == "image"):
            return d, back
    return None


@dataclass(frozen=True)
class LatentSpace:
    """The space the latent tools (`kgan.latent_tools`: projection, morphing, arithmetic, steering) move in.

    `input`: the vector they optimise and interpolate (a `normal` spec; StyleGAN's w, a DCGAN's z); `network`: a
    keras.Model whose inputs are `input` and some of the model's inference inputs, named like them, and whose
    output is the images; `mapping`: a keras.Model from the inference input `source` to `input` (StyleGAN's
    z -> w), None when `input` is itself an inference input (then `network` is the inference network)."""

    input: InputSpec
    network: object
    mapping: object = None
    source: str = ""


def latent_space(model) -> LatentSpace | None:
    """The space the latent tools move in, derived from the model's declarations: its intermediate latent when it
    declares one (`intermediate_latent()`: StyleGAN's w, rendered by the synthesis network), else its first normal
    inference input and its inference network; None when it has neither (nothing to project into)."""
    intermediate = intermediate_latent(model)
    if intermediate is not None:
        return LatentSpace(InputSpec(intermediate.name, "normal", intermediate.shape), intermediate.synthesis,
                           intermediate.mapping, intermediate.source)
    spec = latent_spec(model.inference_inputs())
    return None if spec is None else LatentSpace(spec, model.inference_network())


#: A direction named INTERPOLATE (optional) serves interpolations between two values of each string input of the
#: first direction: it takes those inputs, `<name>_to` for each string input (`interpolation_target`) and MIX
#: (uniform in [0, 1]), and makes the image of (1 - mix) e(value) + mix e(value_to) (text_gan: the text embedding).
INTERPOLATE = "interpolate"
MIX = "mix"


def interpolation_target(name: str) -> str:
    return f"{name}_to"


def interpolation(directions_) -> Direction | None:
    """The interpolating direction among `directions_` (see INTERPOLATE), or None."""
    return next((d for d in directions_ if d.name == INTERPOLATE), None)


def interpolation_inputs(specs, drawn: dict, start: list, end: list, steps: int) -> dict:
    """Inputs of the interpolating direction (inputs `specs`) for len(start) walks of `steps` mixes 0..1 each: walk
    i from the strings start[i] to end[i] (every string input alike), its other inputs row i of `drawn`."""
    rows = len(start)
    out = {k: np.repeat(np.asarray(v)[:rows], steps, axis=0) for k, v in drawn.items()}
    out[MIX] = np.tile(np.linspace(0.0, 1.0, steps, dtype=np.float32), rows)
    names = {s.name for s in specs}
    for s in specs:
        if s.draw == "string" and interpolation_target(s.name) in names:
            out[s.name] = np.repeat(np.array(start, object), steps)
            out[interpolation_target(s.name)] = np.repeat(np.array(end, object), steps)
    return out


def direction_inputs(directions_) -> list[InputSpec]:
    """Every input of the directions, once per name (the fixed examples snapshots render hold all of them)."""
    specs = {}
    for direction in directions_:
        for spec in direction.inputs:
            specs.setdefault(spec.name, spec)
    return list(specs.values())


def specs_to_json(specs) -> list[dict]:
    return [s.to_json() for s in specs]


def specs_from_json(items) -> list[InputSpec]:
    return [InputSpec.from_json(d) for d in items]


def latent_spec(specs) -> InputSpec | None:
    """The first `normal` input (the latent vector walks, truncation and PPL act on), if any."""
    return next((s for s in specs if s.draw == "normal"), None)


def categorical_spec(specs, name: str | None = None) -> InputSpec | None:
    return next((s for s in specs if s.draw == "categorical" and (name is None or s.name == name)), None)


def latent_dim(specs) -> int:
    """Size of the latent vector (0 when the model has none)."""
    spec = latent_spec(specs)
    return int(spec.shape[-1]) if spec and spec.shape else 0


def num_classes(specs) -> int:
    """Classes of the class-label input `label` (0 when the model takes none)."""
    spec = categorical_spec(specs, "label")
    return spec.classes if spec else 0


def inference_noise(model) -> str:
    """What makes `model`'s inference draw noise beyond its inputs (the same inputs give different images);
    "" for a deterministic model, and for one that declares nothing (the declaration is optional)."""
    return str(getattr(model, "inference_noise", "") or "")


def identity_feature(model) -> str | None:
    """The data feature that is `model`'s input image, scored as if it were the output (the "identity"
    reference point); None for a model fed no such image, and for one that declares nothing (optional)."""
    return getattr(model, "identity_feature", None) or None


def input_label_feature(model) -> str | None:
    """The data feature holding the class of an unpaired translator's input (CycleGAN: `label_a`): its outputs
    should still read as that class (`kgan.metrics.content_accuracy`); None when the model declares none (optional;
    paired models are scored against their targets' labels instead)."""
    return getattr(model, "input_label_feature", None) or None


def data_features(specs) -> list[str]:
    """The data features an inference batch needs (image/string inputs)."""
    return [s.feature for s in specs if not s.drawable]


# ----- drawing -------------------------------------------------------------------------------------------------
def draw_numpy(specs, n: int, rng: np.random.Generator, *, truncation: float = 1.0, cycle: bool = False,
               data: dict | None = None) -> dict:
    """Inputs for `n` examples; categorical inputs cycle when `cycle`, else are uniform random. Image and
    string inputs are taken from `data` (a dict of data features, at least `n` rows). `truncation` scales the
    normal inputs, or is the value of a `truncation` input when the model declares one."""
    out = {}
    scale = 1.0 if truncation_spec(specs) is not None else truncation
    for s in specs:
        if s.draw == "normal":
            out[s.name] = (scale * rng.standard_normal((n, *s.shape))).astype(np.float32)
        elif s.draw == "truncation":
            out[s.name] = np.full((n, *s.shape), truncation, np.float32)
        elif s.draw == "seed":
            out[s.name] = rng.integers(0, SEED_HIGH, (n, *s.shape)).astype(np.int32)
        elif s.draw == "uniform":
            out[s.name] = rng.uniform(s.low, s.high, (n, *s.shape)).astype(np.float32)
        elif s.draw == "categorical":
            values = np.arange(n) % s.classes if cycle else rng.integers(0, s.classes, n)
            out[s.name] = np.broadcast_to(values.reshape((n,) + (1,) * len(s.shape)), (n, *s.shape)).astype(np.int32)
        else:
            if data is None or s.feature not in data:
                raise DataError(f"input {s.name!r}: comes from the data feature {s.feature!r}; "
                                "pass data that has it")
            values = np.asarray(data[s.feature])[:n]
            if len(values) < n:
                raise DataError(f"input {s.name!r}: need {n} rows of {s.feature!r}, got {len(values)}")
            out[s.name] = values if s.draw == "string" else values.astype(np.float32)
    return out


def fixed_inputs(specs, n: int, seed: int, data: dict | None = None, truncation: float = 1.0) -> dict:
    """The reproducible rows shown in snapshots and galleries: seeded draws, categorical inputs cycling."""
    return draw_numpy(specs, n, np.random.default_rng(seed), cycle=True, data=data, truncation=truncation)


def draw_graph(specs, n, seed, truncation):
    """In-graph stateless draws for a TF Serving `sample` signature: input i uses the Philox seed [seed, i],
    so the same seed gives the same inputs on every run, process and device. Categorical inputs cycle."""
    import tensorflow as tf

    out = {}
    scale = 1.0 if truncation_spec(specs) is not None else truncation
    for i, s in enumerate(specs):
        shape = tf.concat([[n], tf.constant(s.shape, tf.int32)], axis=0)
        key = tf.stack([seed, i])
        if s.draw == "normal":
            out[s.name] = scale * tf.random.stateless_normal(shape, seed=key, dtype=tf.float32, alg="philox")
        elif s.draw == "truncation":
            out[s.name] = tf.fill(shape, tf.cast(truncation, tf.float32))
        elif s.draw == "seed":
            out[s.name] = tf.random.stateless_uniform(shape, seed=key, minval=0, maxval=SEED_HIGH, dtype=tf.int32,
                                                      alg="philox")
        elif s.draw == "uniform":
            out[s.name] = tf.random.stateless_uniform(shape, seed=key, minval=s.low, maxval=s.high,
                                                      dtype=tf.float32, alg="philox")
        elif s.draw == "categorical":
            values = tf.math.floormod(tf.range(n, dtype=tf.int32), s.classes)
            out[s.name] = tf.broadcast_to(tf.reshape(values, tf.concat([[n], tf.ones([len(s.shape)], tf.int32)], 0)),
                                          shape)
        else:
            raise ValueError(f"input {s.name!r} ({s.draw}) cannot be drawn from a seed")
    return out


def zeros(specs, n: int = 1) -> dict:
    """Neutral inputs (warm-up requests): zeros, class 0, empty strings."""
    out = {}
    for s in specs:
        if s.draw == "string":
            out[s.name] = np.array([b""] * n, dtype=object)
        else:
            out[s.name] = np.zeros((n, *s.shape), dtype=s.dtype)
    return out


def check_inputs(specs, inputs: dict) -> dict:
    """Validate user-supplied inputs eagerly (names, shapes, integer ranges); one error line naming the input."""
    missing = [s.name for s in specs if s.name not in inputs]
    unknown = sorted(set(inputs) - {s.name for s in specs})
    if missing or unknown:
        raise DataError(f"inputs: expected {[s.name for s in specs]}, "
                        + (f"missing {missing}" if missing else f"unknown {unknown}"))
    out, batch = {}, None
    for s in specs:
        value = inputs[s.name]
        arr = np.asarray(value) if s.draw != "string" else np.asarray(value, dtype=object)
        if tuple(arr.shape[1:]) != s.shape or arr.ndim != 1 + len(s.shape):
            raise DataError(f"{s.name}: expected shape [B, {', '.join(map(str, s.shape))}]".replace(", ]", "]")
                            + f", got {list(arr.shape)}")
        if s.draw == "string" and len(arr) == 0:
            raise DataError(f"{s.name}: expected a batch of at least one string; got an empty batch")
        batch = len(arr) if batch is None else batch
        if len(arr) != batch:
            raise DataError(f"{s.name}: {len(arr)} rows, but the other inputs have {batch}")
        if s.draw in ("categorical", "seed"):
            high = s.classes if s.draw == "categorical" else SEED_HIGH
            if arr.size and not np.issubdtype(arr.dtype, np.integer):
                if not np.all(np.isfinite(arr)) or not np.all(np.equal(np.mod(arr, 1), 0)):
                    raise DataError(f"{s.name}: expected integers in [0, {high}), got {arr.dtype}")
            if arr.size and (arr.min() < 0 or arr.max() >= high):
                bad = arr[(arr < 0) | (arr >= high)].flat[0]
                raise DataError(f"{s.name}: {bad} is out of range; expected integers in [0, {high})")
            arr = arr.astype(np.int32)
        elif s.draw != "string":
            arr = arr.astype(np.float32)
        out[s.name] = arr
    return out


def call_network(network, inputs: dict, training: bool = False):
    """Call a functional network whose `keras.Input`s are named like the specs, with a dict of inputs."""
    if len(network.inputs) == 1:
        (value,) = [inputs[network.inputs[0].name]] if network.inputs[0].name in inputs else list(inputs.values())
        return network(value, training=training)
    return network({t.name: inputs[t.name] for t in network.inputs}, training=training)
