"""What a gallery is rendered from: a training run directory or a SavedModel export.

Both are wrapped in one small interface (`specs`, the model's declared inputs; `image_shape`;
`generate(inputs)` -> uint8; `draw`, `truncated`) so the section builders never special-case a
source or a model. Runs go through `kgan.training.load_run` and `gan.infer`; exports through their
signatures only (`kgan.export.served.ServedModel`: inputs from the export's metadata, or from
`serving_default` for a foreign SavedModel), so any export that honours that contract works.
"""

from __future__ import annotations

import abc
import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from kgan.errors import CheckpointError, ConfigError, DataError
from kgan.export.versions import is_export
from kgan.models import surface


def classify(path: str | Path) -> str:
    """'run' or 'export'; a clear `CheckpointError` for anything else."""
    path = Path(path)
    if not path.exists():
        raise CheckpointError(f"{path}: no such run directory or SavedModel export")
    if is_export(path):
        return "export"
    if (path / "config.toml").is_file():
        return "run"
    raise CheckpointError(f"{path}: neither a kgan run directory (no config.toml) nor a SavedModel "
                          "export (no saved_model.pb or numbered version directories)")


@dataclass
class ModelSource(abc.ABC):
    """Common surface; `generate` returns uint8 NHWC."""

    kind: str
    path: Path
    specs: list = field(default_factory=list)
    image_shape: tuple = ()
    step: int | None = None
    name: str = ""
    info: dict = field(default_factory=dict)
    #: the data feature an output should match (image-to-image models), else None
    target_feature: str | None = None
    #: what makes the model's inference draw noise (the same inputs give different images), "" if none
    inference_noise: str = ""
    #: why no model could be loaded (then only history sections render)
    unavailable: str = ""
    #: the named directions the model serves, as JSON (`Direction.to_json`: name, inputs, inverse, output)
    directions: list = field(default_factory=list)
    #: the model's style-mixing declaration (`surface.StyleMixing`), None when it has none
    style_mixing: surface.StyleMixing | None = None

    @property
    def available(self) -> bool:
        return not self.unavailable

    @abc.abstractmethod
    def generate(self, inputs: dict) -> np.ndarray:
        """uint8 NHWC images for named inputs (one array per declared input)."""

    @abc.abstractmethod
    def call_direction(self, name: str, inputs: dict) -> np.ndarray:
        """The float outputs (images in [-1, 1], or codes) of the named direction `name` for named inputs."""

    def draw(self, n: int, seed: int, truncation: float = 1.0, data: dict | None = None) -> dict:
        """Reproducible inputs: the same (n, seed) gives the same draws; categorical inputs cycle 0..K-1."""
        return surface.draw_numpy(self.specs, n, np.random.default_rng(seed), truncation=truncation, cycle=True,
                                  data=data)

    @abc.abstractmethod
    def direction(self, name: str):
        """(declared inputs, inputs -> uint8 NHWC images) of the named served direction (`surface.Direction`), None
        when the model does not serve it."""

    @abc.abstractmethod
    def call_direction(self, name: str, inputs: dict) -> np.ndarray:
        """float32 outputs (images in [-1, 1], or codes) of the named served direction for its named inputs."""

    @property
    def truncation_method(self) -> str:
        """How `truncated` applies psi (shown in the gallery)."""
        if surface.truncation_spec(self.specs) is not None:
            return "the model's own truncation (its psi input: w_avg + psi (w - w_avg) in its intermediate latent)"
        return "scaling the normal inputs by psi"

    def truncated(self, n: int, seed: int, psi: float) -> np.ndarray:
        """n samples with normal inputs scaled by psi; the same (n, seed) gives the same underlying draws."""
        return self.generate(self.draw(n, seed, truncation=psi))

    def direction(self, name: str):
        """(inputs, inputs -> uint8 images) of the named direction the model serves, or None when it serves none
        of that name."""
        return None


def _batched(fn, inputs: dict, size: int = 256) -> np.ndarray:
    n = len(next(iter(inputs.values())))
    return np.concatenate([fn({k: v[i:i + size] for k, v in inputs.items()}) for i in range(0, n, size)])


class RunSource(ModelSource):
    def __init__(self, run_dir: Path):
        super().__init__(kind="run", path=run_dir)
        from kgan.config import load_config
        from kgan.runs import RunLayout

        self.layout = RunLayout(run_dir)
        self.cfg = load_config(self.layout.config)
        self.name = self.cfg.name
        self.info = json.loads(self.layout.run_info.read_text()) if self.layout.run_info.is_file() else {}
        self.gan = None
        try:
            from kgan.training import load_run

            _, self.gan, self.step = load_run(run_dir)
        except CheckpointError as e:
            self.unavailable = str(e)
            self.image_shape = (self.cfg.data.resolution,) * 2 + (self.cfg.data.channels,)
            self.step = self.info.get("step")
            return
        self.specs = list(self.gan.inference_inputs())
        self.style_mixing = surface.style_mixing(self.gan)
        self.target_feature = self.gan.target_feature
        self.inference_noise = surface.inference_noise(self.gan)
        self.image_shape = tuple(int(d) for d in self.gan.inference_network().output_shape[1:])
        self._directions = {d.name: d for d in surface.directions(self.gan) if d.name}
        self.directions = [d.to_json() for d in self._directions.values()]

    def generate(self, inputs):
        from kgan.imageio import to_uint8

        return _batched(lambda batch: to_uint8(self.gan.infer(batch)), inputs)

    def call_direction(self, name, inputs):
        network = self._directions[name].network
        return _batched(lambda batch: np.asarray(surface.call_network(network, batch), np.float32), inputs)

    def direction(self, name):
        from kgan.imageio import to_uint8

        found = next((d for d in surface.directions(self.gan) if d.name == name), None)
        if found is None:
            return None
        call = lambda batch: to_uint8(surface.call_network(  # noqa: E731
            found.network, surface.check_inputs(found.inputs, batch)))
        return list(found.inputs), lambda inputs: _batched(call, inputs)


class ExportSource(ModelSource):
    def __init__(self, path: Path, version: int | None = None):
        super().__init__(kind="export", path=path)
        from kgan.export.served import ServedModel

        self.served = ServedModel(path, version)
        version_dir = self.served.version_dir
        self.version_dir = version_dir
        self.name = (version_dir.parent.name if version_dir.name.isdigit() else version_dir.name)
        self.info = self.served.metadata
        self.specs = self.served.specs
        self.style_mixing = self.served.style_mixing
        self.target_feature = self.info.get("target_feature")
        self.inference_noise = self.info.get("inference_noise") or ""
        self.step = self.info.get("training_steps", self.info.get("step"))
        self.directions = list(self.info.get("directions", []))
        height = self.info.get("height") or self.info.get("resolution")
        width = self.info.get("width") or self.info.get("resolution")
        if height and width and self.info.get("channels"):
            self.image_shape = (int(height), int(width), int(self.info["channels"]))
        else:
            self.image_shape = tuple(self.generate(surface.zeros(self.specs, 1)).shape[1:])

    @property
    def truncation_method(self) -> str:
        if self.served.sample_signature is None:
            return super().truncation_method
        return f"the export's `sample` signature ({super().truncation_method}, in the graph)"

    def generate(self, inputs):
        return _batched(self.served.images, inputs)

    def call_direction(self, name, inputs):
        return _batched(self.served.direction(name).infer, inputs)

    def direction(self, name):
        from kgan.export.served import ServedModel

        if name not in [d["name"] for d in self.info.get("directions", [])]:
            return None
        served = ServedModel(self.version_dir, direction=name)
        return served.specs, lambda inputs: _batched(served.images, inputs)

    def truncated(self, n, seed, psi):
        """Through the export's own `sample` signature when it has one (truncation in-graph)."""
        if self.served.sample_signature is None:
            return super().truncated(n, seed, psi)
        return self.served.sample(n, seed, psi)[:n]


def open_source(path: str | Path, version: int | None = None) -> ModelSource:
    path = Path(path)
    if classify(path) == "export":
        return ExportSource(path, version)
    return RunSource(path)


def _origin_config(src):
    """The config of the run an export was made from, when its metadata names one that exists."""
    origin = src.info.get("source")
    if not origin:
        return None
    path = Path(origin)
    path = path.parent.parent if path.parent.name == "checkpoints" else path
    if not (path / "config.toml").is_file():
        return None
    from kgan.config import load_config

    try:
        return load_config(path / "config.toml")
    except ConfigError:
        return None


def data_source(src) -> tuple[str, str, str | None] | None:
    """(data source, where it was named, data_dir) of what the model was trained on, or None when neither
    the run's config, the export's metadata nor the exported run's config names it."""
    if src.kind == "run":
        return src.cfg.data.source, "the run's config.toml", src.cfg.data.data_dir or None
    if src.info.get("data_source"):
        return src.info["data_source"], "export metadata", None
    cfg = _origin_config(src)
    if cfg is not None:
        return cfg.data.source, f"{src.info['source']}/config.toml (the exported run)", cfg.data.data_dir or None
    return None


def real_images(src, data: str | None, data_dir: str | None, limit: int = 0):
    """(the real images in the model's shape as a streamed `kgan.metrics.reference.Reference`, or None; a note when
    None): `data` when given, else the model's own data set; `limit` > 0 keeps a seeded sample of that many. Nothing
    is read here: each section reads only the images it shows, the neighbour search streams them."""
    from kgan.imageio import match_shape
    from kgan.metrics.reference import from_source

    named = data_source(src)
    if data:
        source, where = data, "--data"
    elif named is not None:
        source, where, own_dir = named
        data_dir = data_dir or own_dir
    else:
        return None, ("Missing: no real data (the export does not name its data and its run "
                      "directory is gone; pass --data SOURCE).")
    try:
        real = from_source(source, data_dir or None, n=limit, digest=source)
    except DataError as e:
        return None, f"Missing: real data {source!r} from {where} could not be loaded ({e})."
    if not src.image_shape or tuple(real.shape) == tuple(src.image_shape):
        return real, ""
    return real.map_images(lambda images: match_shape(images, src.image_shape), src.image_shape,
                           f"as {src.image_shape}"), ""
