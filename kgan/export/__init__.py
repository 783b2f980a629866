"""Export a trained model as a TF Serving SavedModel, and sample from an export.

Layout written by `export_run(run_or_checkpoint, name, base)`:
```
BASE/
  models.config                        TF Serving model_config_list, one entry per model dir
  NAME/
    1/ 2/ ...                          versions; each published by one atomic rename
      saved_model.pb, variables/       signatures serving_default, [serving_float,] [sample,] metadata
      fingerprint.pb
      assets/kgan_metadata.json        what the metadata signature returns, as JSON
      assets.extra/tf_serving_warmup_requests   PredictionLog TFRecord replayed by TF Serving
      assets.extra/generator.keras     the same inference network, Keras-native (Python / fine-tuning)
    .kgan-export-tmp-*/                only while an export is being built (ignored by TF Serving)
```
TF Serving reads only `saved_model.pb`, `variables/`, `assets/` and the warm-up file in
`assets.extra/`; it ignores anything else, so the Keras-native copy of the network travels with its
version (same weights, published by the same rename) without disturbing the server.
"""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path

import numpy as np

import kgan
from kgan.errors import CheckpointError, DataError, ExportError
from kgan.export import serving, versions
from kgan.export.versions import check_name, existing_versions, resolve_version_dir
from kgan.models import surface
from kgan.runs import split_checkpoint

__all__ = ["build_version", "export_run", "sample_from_export", "read_metadata", "existing_versions",
           "resolve_version_dir", "surface_metadata", "write_models_config"]

KERAS_FILE = "generator.keras"
write_models_config = serving.write_models_config


def _run_and_checkpoint(run_or_checkpoint) -> tuple[Path, str | None]:
    run_dir, checkpoint = split_checkpoint(run_or_checkpoint)
    if not run_dir.is_dir():
        raise CheckpointError(f"{run_or_checkpoint}: no such run directory or checkpoint")
    if checkpoint is not None and not Path(checkpoint + ".index").is_file():
        raise CheckpointError(f"{checkpoint}: no such checkpoint (no {Path(checkpoint).name}.index)")
    return run_dir, checkpoint


def surface_metadata(model) -> dict:
    """What an export says about the model's declared surface: its inputs, the image it makes, the data
    feature its output should match, what makes its inference draw noise ("" when deterministic), the named
    directions it serves (each with its inputs, inverse and output kind; empty for a model with one direction),
    what `serving_default` is (`default_signature`: "" for the first direction, "sample" for the seeded sampler),
    its latent space (`surface.latent_space`: the input the latent tools move in, whether it is an intermediate
    latent the export maps z into with `mapping`, the inputs of the network that renders it; None without one), its
    style mixing and intermediate latent (None when it declares none) and its served constants (StyleGAN's w_avg).
    `latent_dim` and `num_classes` (0 when absent) stay for readers written before `inputs` existed."""
    from kgan.export.signatures import signature_names

    specs = model.inference_inputs()
    directions = surface.directions(model)
    default = surface.default_signature(model)
    latent = surface.latent_space(model)
    intermediate = surface.intermediate_latent(model)
    mixing = surface.style_mixing(model)
    height, width, channels = (int(d) for d in model.inference_network().output_shape[1:])
    return {
        "inputs": surface.specs_to_json(specs),
        "target_feature": model.target_feature,
        "inference_noise": surface.inference_noise(model),
        "identity_feature": surface.identity_feature(model),
        "input_label_feature": surface.input_label_feature(model),
        "signatures": signature_names(specs, directions, default, intermediate),
        "default_signature": default,
        "directions": [d.to_json() for d in directions if d.name],
        "latent": None if latent is None else {"input": latent.input.to_json(), "mapped": latent.mapping is not None,
                                               "network_inputs": [t.name for t in latent.network.inputs]},
        "style_mixing": mixing.to_json() if mixing is not None else None,
        "intermediate_latent": intermediate.to_json() if intermediate is not None else None,
        "constants": surface.served_constants(model),
        "latent_dim": surface.latent_dim(specs),
        "num_classes": surface.num_classes(specs),
        "resolution": height,
        "height": height,
        "width": width,
        "channels": channels,
    }


def build_metadata(cfg, gan, step: int, name: str, source: str) -> dict:
    return {
        "name": name,
        "model": cfg.model.name,
        **surface_metadata(gan),
        "kgan_version": kgan.__version__,
        "training_steps": int(step),
        "ema": bool(gan.ema_names),  # the served network is an EMA shadow
        "source": source,
        "exported_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }


def export_run(run_or_checkpoint, name: str | None = None, base: str | Path | None = None, *,
               serving_base: str | None = None, warmup_requests: int | None = None,
               write_config: bool = True) -> Path:
    """Export a run's inference network (latest checkpoint, or `RUN/checkpoints/ckpt-N`) to `BASE/NAME/<v>/`.

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
    serving.check_serving_base(serving_base)  # before the slow part

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
    data = warmup_data(cfg, gan.inference_inputs(), count)

    model_dir = base / name
    versions.make_model_dir(model_dir)
    with versions.temp_build_dir(model_dir) as tmp:
        built = build_version(gan, metadata, tmp / "version", count, data)
        target = versions.publish(built, model_dir)
    if write_config:
        try:
            serving.write_models_config(base, serving_base)
        except OSError as e:
            raise ExportError(f"{base / serving.CONFIG_FILE}: exported {target} but could not write the "
                              f"TF Serving config ({e.strerror or e})") from None
    return target


def warmup_data(cfg, specs, count: int) -> dict | None:
    """Data features for the warm-up requests of inputs that come from data: the first `count` examples of
    the run's evaluation split (held out when there is one), made by its transform. None when no input
    needs data."""
    needs = [s.name for s in specs if not s.drawable]
    if count <= 0 or not needs:
        return None
    from kgan.data.features import feature_arrays

    try:
        return feature_arrays(cfg.data, count, seed=cfg.seed, split="evaluation")
    except DataError as e:
        raise DataError(f"{e} (the warm-up requests of inputs {needs} are examples of the run's data; "
                        "--warmup-requests 0 exports without them)") from None


def build_version(model, metadata: dict, path: Path, warmup_count: int, warmup_data: dict | None = None) -> Path:
    """Write a complete version directory for `model` (anything with the declared inference surface) at
    `path`, which must not exist yet; `export_run` builds into a temporary directory and publishes it.
    `warmup_data`: data features the warm-up requests of image/text inputs are taken from."""
    import tensorflow as tf

    from kgan.export import signatures

    path = Path(path)
    staging = path.parent / f"{path.name}.staging"
    staging.mkdir()
    try:
        metadata_file = staging / signatures.METADATA_ASSET
        metadata_file.write_text(json.dumps(metadata, indent=2, sort_keys=True) + "\n")
        signatures.save(signatures.GeneratorModule(model, metadata, str(metadata_file)), path)
        extra = path / "assets.extra"
        extra.mkdir(exist_ok=True)
        serving.write_warmup(extra / serving.WARMUP_FILE, metadata["name"], model.inference_inputs(), warmup_count,
                             warmup_data, signatures.inference_signature(metadata))
        model.inference_network().save(str(extra / KERAS_FILE))
    except (OSError, tf.errors.OpError) as e:
        raise ExportError(f"{path.parent}: writing the SavedModel failed ({getattr(e, 'strerror', None) or e})") \
            from None
    finally:
        shutil.rmtree(staging, ignore_errors=True)  # the metadata file was copied into assets/
    return path


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
    from kgan.export.served import ServedModel

    return ServedModel(path, version).sample(n, seed, truncation)
