"""Export a trained generator as a TF Serving SavedModel, and sample from an export.

Layout written by `export_run(run_or_checkpoint, name, base)`:
```
BASE/
  models.config                        TF Serving model_config_list, one entry per model dir
  NAME/
    1/ 2/ ...                          versions; each published by one atomic rename
      saved_model.pb, variables/       signatures serving_default, sample, metadata
      fingerprint.pb
      assets/kgan_metadata.json        what the metadata signature returns, as JSON
      assets.extra/tf_serving_warmup_requests   PredictionLog TFRecord replayed by TF Serving
      assets.extra/generator.keras     the same sampler network, Keras-native (Python / fine-tuning)
    .kgan-export-tmp-*/                only while an export is being built (ignored by TF Serving)
```
TF Serving reads only `saved_model.pb`, `variables/`, `assets/` and the warm-up file in
`assets.extra/`; it ignores anything else, so the Keras-native copy of the network travels with its
version (same weights, published by the same rename) without disturbing the server.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np

import kgan
from kgan.errors import CheckpointError, ExportError
from kgan.export import serving, versions
from kgan.export.versions import check_name, existing_versions, resolve_version_dir

__all__ = ["export_run", "sample_from_export", "read_metadata", "existing_versions", "resolve_version_dir",
           "write_models_config"]

KERAS_FILE = "generator.keras"
write_models_config = serving.write_models_config


def _run_and_checkpoint(run_or_checkpoint) -> tuple[Path, str | None]:
    from kgan.sampling import _split_checkpoint

    path = Path(run_or_checkpoint)
    run_dir, checkpoint = _split_checkpoint(path)
    if not run_dir.is_dir():
        raise CheckpointError(f"{run_or_checkpoint}: no such run directory or checkpoint")
    if checkpoint is not None and not Path(checkpoint + ".index").is_file():
        raise CheckpointError(f"{checkpoint}: no such checkpoint (no {Path(checkpoint).name}.index)")
    return run_dir, checkpoint


def build_metadata(cfg, gan, step: int, name: str, source: str) -> dict:
    height, width, channels = gan.image_shape
    return {
        "name": name,
        "model": cfg.model.name,
        "latent_dim": int(gan.latent_dim),
        "resolution": int(height),
        "height": int(height),
        "width": int(width),
        "channels": int(channels),
        "num_classes": int(gan.num_classes),
        "kgan_version": kgan.__version__,
        "training_steps": int(step),
        "ema": gan.ema_generator is not None,
        "signatures": list(_signatures()),
        **({"code_categories": int(gan.categorical), "code_continuous": int(gan.continuous)}
           if hasattr(gan, "code_specs") else {}),  # InfoGAN's latent codes (serving inputs code_cat, code_cont)
        "source": source,
        "exported_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }


def _signatures():
    from kgan.export.signatures import SIGNATURES

    return SIGNATURES


def export_run(run_or_checkpoint, name: str | None = None, base: str | Path | None = None, *,
               serving_base: str | None = None, warmup_requests: int | None = None,
               write_config: bool = True) -> Path:
    """Export a run's sampler (latest checkpoint, or `RUN/checkpoints/ckpt-N`) to `BASE/NAME/<v>/`.

    `name` defaults to the config's `export.name`, else the experiment name; `base` to
    `export.base`. Returns the published version directory. Raises `CheckpointError` for a missing
    or unreadable checkpoint and `ExportError` for a bad name or an unwritable base; in every failure
    no version directory is left behind and older versions are untouched.
    """
    if name is not None:
        check_name(name)
    run_dir, checkpoint = _run_and_checkpoint(run_or_checkpoint)
    if base is not None:
        versions.check_base_writable(Path(base))
    if serving_base is not None and not str(serving_base).startswith("/"):
        raise ExportError(f"--serving-base {serving_base!r}: must be an absolute path as the server sees it")

    from kgan.training import load_run

    try:
        cfg, gan, step = load_run(run_dir, checkpoint)
    except IndexError as e:  # a truncated checkpoint file: TF's reader raises IndexError, not an OpError
        raise CheckpointError(f"{checkpoint or run_dir}: checkpoint is unreadable ({e})") from None
    name = check_name(name if name is not None else (cfg.export.name or cfg.name))
    base = Path(base if base is not None else cfg.export.base)
    versions.check_base_writable(base)
    count = cfg.export.warmup_requests if warmup_requests is None else int(warmup_requests)
    source = str(Path(checkpoint).resolve() if checkpoint else run_dir.resolve())
    metadata = build_metadata(cfg, gan, step, name, source)

    model_dir = base / name
    versions.make_model_dir(model_dir)
    with versions.temp_build_dir(model_dir) as tmp:
        built = _build(gan, metadata, tmp, count)
        target = versions.publish(built, model_dir)
    if write_config:
        try:
            serving.write_models_config(base, serving_base)
        except OSError as e:
            raise ExportError(f"{base / serving.CONFIG_FILE}: exported {target} but could not write the "
                              f"TF Serving config ({e.strerror or e})") from None
    return target


def _build(gan, metadata: dict, tmp: Path, warmup_count: int) -> Path:
    """Write the complete version directory at `tmp/version` (nothing outside `tmp`)."""
    import tensorflow as tf

    from kgan.export import signatures

    staging = tmp / "staging"
    staging.mkdir()
    metadata_file = staging / signatures.METADATA_ASSET
    metadata_file.write_text(json.dumps(metadata, indent=2, sort_keys=True) + "\n")
    built = tmp / "version"
    module = signatures.GeneratorModule(gan, metadata, str(metadata_file))
    try:
        signatures.save(module, built)
        extra = built / "assets.extra"
        extra.mkdir(exist_ok=True)
        serving.write_warmup(extra / serving.WARMUP_FILE, metadata["name"], metadata["latent_dim"],
                             metadata["num_classes"], warmup_count,
                             codes=gan.code_specs() if hasattr(gan, "code_specs") else None)
        gan.sampler.save(str(extra / KERAS_FILE))
    except (OSError, tf.errors.OpError) as e:
        raise ExportError(f"{tmp.parent}: writing the SavedModel failed ({getattr(e, 'strerror', None) or e})") \
            from None
    return built


def serving_inputs(spec: dict, metadata: dict, z, labels=None, rng=None) -> dict:
    """Tensors for an export's serving_default: `z`, `label` when the model takes one, and InfoGAN codes drawn
    as `GAN.generate` draws them (categorical code cycling 0..K-1, continuous codes ~ U(-1, 1))."""
    import tensorflow as tf

    n = len(z)
    feed = {"z": tf.constant(np.asarray(z), tf.float32)}
    if "label" in spec:
        feed["label"] = tf.constant(np.asarray(labels), tf.int32)
    if "code_cat" in spec:
        feed["code_cat"] = tf.constant(np.arange(n) % metadata["code_categories"], tf.int32)
    if "code_cont" in spec:
        rng = rng or np.random.default_rng(0)
        feed["code_cont"] = tf.constant(rng.uniform(-1, 1, (n, metadata["code_continuous"])), tf.float32)
    return feed


def read_metadata(path: str | Path, version: int | None = None) -> dict:
    """The export's `assets/kgan_metadata.json` (no TensorFlow needed)."""
    target = resolve_version_dir(path, version)
    meta = target / "assets" / "kgan_metadata.json"
    if not meta.is_file():
        raise ExportError(f"{target}: no assets/kgan_metadata.json (not a kgan export?)")
    return json.loads(meta.read_text())


def sample_from_export(path: str | Path, n: int, seed: int = 0, version: int | None = None,
                       truncation: float = 1.0) -> np.ndarray:
    """n uint8 NHWC images from an export's `sample` signature (needs only TensorFlow and the export).

    `path` is `BASE/NAME` (latest version, or `version`) or a version directory.
    """
    import tensorflow as tf

    if n < 1:
        raise ExportError(f"--n {n}: need at least one sample")
    if not -2**31 <= seed < 2**31:
        raise ExportError(f"--seed {seed}: must fit in int32")
    target = resolve_version_dir(path, version)
    try:
        loaded = tf.saved_model.load(str(target))
    except (OSError, ValueError, tf.errors.OpError) as e:
        raise ExportError(f"{target}: cannot load the SavedModel ({e})") from None
    if "sample" not in loaded.signatures:
        raise ExportError(f"{target}: has no 'sample' signature (not a kgan export?)")
    out = loaded.signatures["sample"](num_samples=tf.constant(n, tf.int32), seed=tf.constant(seed, tf.int32),
                                      truncation=tf.constant(truncation, tf.float32))
    return out["images"].numpy()
