"""TF Serving side files: `BASE/models.config` and the warm-up requests of a version.

- `models.config`: text-format `ModelServerConfig` with one `config { name base_path
  model_platform }` per model directory under BASE, for `tensorflow_model_server
  --model_config_file=BASE/models.config`. `base_path` is the absolute local path by default, or
  `SERVING_BASE/NAME` when the server sees BASE elsewhere (Docker: `--serving-base /models`).
- `assets.extra/tf_serving_warmup_requests`: a TFRecord of `PredictionLog`s that TF Serving replays
  before it marks the version available, so the first real request does not pay for graph
  initialization.

Both are written with the `tensorflow-serving-api` protos (a dependency of kgan), imported lazily so that
commands that never export do not pay for them.
"""

from __future__ import annotations

from pathlib import Path

from kgan import io
from kgan.errors import ExportError
from kgan.export.versions import existing_versions
from kgan.imageio import to_uint8
from kgan.models import surface

CONFIG_FILE = "models.config"
WARMUP_FILE = "tf_serving_warmup_requests"


def model_names(base: Path) -> list[str]:
    """Model directories under BASE that hold at least one version: what is on disk, never what an earlier
    models.config said, so a rewrite repairs a config that an export killed before it wrote it left stale."""
    if not base.is_dir():
        return []
    return sorted(p.name for p in base.iterdir()
                  if p.is_dir() and not p.name.startswith(".") and existing_versions(p))


def check_serving_base(serving_base: str | None) -> None:
    if serving_base is not None and not str(serving_base).startswith("/"):
        raise ExportError(f"--serving-base {serving_base!r}: must be an absolute path as the server sees it")


def _quote(s: str) -> str:
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


def models_config_text(base: Path, serving_base: str | None = None) -> str:
    base = Path(base).resolve()
    root = serving_base.rstrip("/") if serving_base else str(base)
    entries = []
    for name in model_names(base):
        entries.append(f"  config {{\n    name: {_quote(name)}\n    base_path: {_quote(root + '/' + name)}\n"
                       f"    model_platform: \"tensorflow\"\n  }}\n")
    text = "model_config_list {\n" + "".join(entries) + "}\n"
    from google.protobuf import text_format
    from tensorflow_serving.config import model_server_config_pb2

    text_format.Parse(text, model_server_config_pb2.ModelServerConfig())  # validate against the real proto
    return text


def write_models_config(base: str | Path, serving_base: str | None = None) -> Path:
    """(Re)write BASE/models.config atomically, listing every model under BASE."""
    check_serving_base(serving_base)
    path = Path(base) / CONFIG_FILE
    io.write_text(path, models_config_text(Path(base), serving_base))
    return path


def warmup_inputs(specs, count: int, seed: int = 0, data: dict | None = None):
    """`count` single-example input dicts for serving_default, one entry per declared input (fixed seed:
    a reproducible file). Drawable inputs are seeded draws (categorical ones cycle over the requests);
    image and text inputs are the first rows of `data` (data features): real examples, so that warm-up
    runs the graph on what it will serve. Images are uint8, as serving_default takes them."""
    drawn = surface.fixed_inputs(specs, count, seed, data=data)
    for s in specs:
        if s.draw == "image":
            drawn[s.name] = to_uint8(drawn[s.name])
    for i in range(count):
        yield {s.name: drawn[s.name][i:i + 1] for s in specs}


def write_warmup(path: Path, model_name: str, specs, count: int, data: dict | None = None,
                 signature: str = "serving_default") -> bool:
    """Write the warm-up TFRecord of PredictionLog records for `signature`, the one that takes `specs` (`data`:
    see `warmup_inputs`); False when `count` is 0."""
    if count <= 0:
        return False
    import tensorflow as tf
    from tensorflow_serving.apis import model_pb2, predict_pb2, prediction_log_pb2

    path.parent.mkdir(parents=True, exist_ok=True)
    with tf.io.TFRecordWriter(str(path)) as writer:
        for inputs in warmup_inputs(specs, count, data=data):
            request = predict_pb2.PredictRequest(
                model_spec=model_pb2.ModelSpec(name=model_name, signature_name=signature))
            for key, value in inputs.items():
                request.inputs[key].CopyFrom(tf.make_tensor_proto(value))
            log = prediction_log_pb2.PredictionLog(predict_log=prediction_log_pb2.PredictLog(request=request))
            writer.write(log.SerializeToString())
    return True
