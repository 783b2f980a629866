"""What a gallery is rendered from: a training run directory or a SavedModel export.

Both are wrapped in one small interface (`latent_dim`, `num_classes`, `image_shape`, `generate`,
`truncated`) so the section builders never special-case the source. Runs go through
`kgan.training.load_run`; exports are loaded with plain `tf.saved_model.load` and used through
their signatures only (`serving_default`: `z` [+ `label`] -> `images` uint8 / `images_float`;
`sample`: `num_samples`, `seed`, `truncation`), so any export that honours that contract works.
"""

from __future__ import annotations

import abc

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from kgan.errors import CheckpointError, ExportError
from kgan.export.versions import is_export, resolve_version_dir

METADATA_ASSET = Path("assets") / "kgan_metadata.json"


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
    latent_dim: int = 0
    num_classes: int = 0
    image_shape: tuple = ()
    step: int | None = None
    name: str = ""
    info: dict = field(default_factory=dict)
    #: why no model could be loaded (then only history sections render)
    unavailable: str = ""

    @property
    def available(self) -> bool:
        return not self.unavailable

    @abc.abstractmethod
    def generate(self, z: np.ndarray, labels: np.ndarray | None = None) -> np.ndarray:
        """uint8 NHWC samples for latents `z` (and class labels)."""

    def truncated(self, n: int, seed: int, psi: float, labels=None) -> np.ndarray:
        """n samples with truncation psi; the same (n, seed) gives the same underlying z."""
        from kgan.latent import truncate

        return self.generate(truncate(self.latents(n, seed), psi), labels)

    def latents(self, n: int, seed: int) -> np.ndarray:
        return np.random.default_rng(seed).standard_normal((n, self.latent_dim)).astype(np.float32)

    def cycle_labels(self, n: int) -> np.ndarray | None:
        return (np.arange(n) % self.num_classes).astype(np.int32) if self.num_classes else None


class RunSource(ModelSource):
    def __init__(self, run_dir: Path):
        super().__init__(kind="run", path=run_dir)
        from kgan.config import load_config

        self.cfg = load_config(run_dir / "config.toml")
        self.name = self.cfg.name
        run_json = run_dir / "run.json"
        self.info = json.loads(run_json.read_text()) if run_json.is_file() else {}
        self.gan = None
        try:
            from kgan.training import load_run

            _, self.gan, self.step = load_run(run_dir)
        except CheckpointError as e:
            self.unavailable = str(e)
            self.latent_dim = self.cfg.model.latent_dim
            self.num_classes = self.cfg.model.num_classes
            self.image_shape = (self.cfg.data.resolution,) * 2 + (self.cfg.data.channels,)
            self.step = self.info.get("step")
            return
        self.latent_dim = int(self.gan.latent_dim)
        self.num_classes = int(self.gan.num_classes or 0)
        self.image_shape = tuple(int(d) for d in self.gan.image_shape)

    def generate(self, z, labels=None):
        from kgan.imageio import to_uint8

        if labels is None and self.num_classes:
            labels = self.cycle_labels(len(z))
        out = []
        for i in range(0, len(z), 256):
            lab = None if labels is None else np.asarray(labels[i:i + 256], np.int32)
            out.append(to_uint8(self.gan.generate(np.asarray(z[i:i + 256], np.float32), lab)))
        return np.concatenate(out)


class ExportSource(ModelSource):
    def __init__(self, path: Path, version: int | None = None):
        super().__init__(kind="export", path=path)
        import tensorflow as tf

        try:
            version_dir = resolve_version_dir(path, version)
        except ExportError as e:
            raise CheckpointError(str(e)) from None
        self.version_dir = version_dir
        self.name = (version_dir.parent.name if version_dir.name.isdigit() else version_dir.name)
        try:
            self.model = tf.saved_model.load(str(version_dir))
        except Exception as e:  # noqa: BLE001 - any load failure is a user-facing unreadable export
            raise CheckpointError(f"{version_dir}: SavedModel could not be loaded ({e})") from None
        self.serving = self.model.signatures.get("serving_default")
        if self.serving is None:
            raise CheckpointError(f"{version_dir}: SavedModel has no 'serving_default' signature")
        self.sample_sig = self.model.signatures.get("sample")
        spec = self.serving.structured_input_signature[1]
        if "z" not in spec:
            raise CheckpointError(f"{version_dir}: serving_default has no 'z' input "
                                  f"(inputs: {sorted(spec)})")
        self._spec = spec
        meta_path = version_dir / METADATA_ASSET
        self.info = json.loads(meta_path.read_text()) if meta_path.is_file() else {}
        self.latent_dim = int(self.info.get("latent_dim") or spec["z"].shape[-1])
        self.num_classes = int(self.info.get("num_classes") or 0)
        if not self.num_classes and "label" in spec:
            raise CheckpointError(f"{version_dir}: conditional export without num_classes in "
                                  f"{METADATA_ASSET}")
        self.step = self.info.get("training_steps", self.info.get("step"))
        height = self.info.get("height") or self.info.get("resolution")
        width = self.info.get("width") or self.info.get("resolution")
        if height and width and self.info.get("channels"):
            self.image_shape = (int(height), int(width), int(self.info["channels"]))
        else:
            self.image_shape = tuple(self.generate(self.latents(1, 0), self.cycle_labels(1)).shape[1:])

    @staticmethod
    def _images(outputs: dict) -> np.ndarray:
        if "images" in outputs:
            return np.asarray(outputs["images"].numpy(), np.uint8)
        from kgan.imageio import to_uint8

        return to_uint8(outputs["images_float"].numpy())

    def generate(self, z, labels=None):
        from kgan.export import serving_inputs

        if "label" in self._spec and labels is None:
            labels = self.cycle_labels(len(z))
        return self._images(self.serving(**serving_inputs(self._spec, self.info, z, labels)))

    def truncated(self, n, seed, psi, labels=None):
        """Through the export's own `sample` signature when it has one (truncation in-graph)."""
        if self.sample_sig is None or labels is not None:
            return super().truncated(n, seed, psi, labels)
        import tensorflow as tf

        spec = self.sample_sig.structured_input_signature[1]
        values = {"num_samples": n, "seed": seed, "truncation": psi}
        kwargs = {k: tf.constant(v, spec[k].dtype) for k, v in values.items() if k in spec}
        return self._images(self.sample_sig(**kwargs))[:n]


def open_source(path: str | Path, version: int | None = None) -> ModelSource:
    path = Path(path)
    if classify(path) == "export":
        return ExportSource(path, version)
    return RunSource(path)
