"""`kgan pipeline CONFIG`: run the whole Luigi DAG for an experiment and print where everything is."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from kgan.argtypes import positive_int


def register(subparsers) -> None:
    p = subparsers.add_parser("pipeline", help="prepare, train, export, evaluate and render one experiment",
                              description="Runs tasks.Pipeline with luigi.build; finished stages are skipped.")
    p.add_argument("config", help="experiment TOML file, or the name of a shipped config (kgan config list)")
    p.add_argument("--root", default="runs", help="directory for pipeline outputs")
    p.add_argument("--workers", type=positive_int, default=1, help="Luigi worker processes (stages run in parallel)")
    p.add_argument("--scheduler-url", help="central luigid scheduler, e.g. http://127.0.0.1:8082 "
                                           "(default: a local scheduler)")
    p.set_defaults(func=run, uses_tensorflow=False)  # a bad config is refused before TensorFlow loads


def run(args) -> int:
    from kgan.config import load_config, resolve_config_path
    from kgan.quiet import import_tensorflow

    cfg = load_config(args.config)  # fail on a bad config before Luigi (or TensorFlow) starts anything
    import_tensorflow()  # kgan.data imports it: quietly, before check_source
    check_source(cfg.data.source, args.config)
    from kgan import tasks  # also loads the shipped luigi.cfg (retcodes, resources, check_complete_on_run)

    # Absolute paths everywhere: the summary and markers must work from any working directory.
    top = tasks.Pipeline(config=str(resolve_config_path(args.config).resolve()), root=str(Path(args.root).resolve()),
                         announce=False)
    failed = build([top], args.workers, args.scheduler_url)
    if failed:
        print(f"kgan pipeline: failed ({failed}); the failing stage's error is above", file=sys.stderr)
        return 1
    summary = json.loads(Path(top.output().path).read_text())
    print("\n".join(tasks.where_lines(summary)))
    from kgan.metrics import format_table

    print("\n" + format_table(json.loads(Path(summary["metrics_report"]).read_text())))
    return 0


def build(roots: list, workers: int = 1, scheduler_url: str | None = None) -> str | None:
    """Run Luigi tasks with one line per stage on stderr; None when they succeeded, else Luigi's status name.

    A stage that failed on a user error (KganError) is raised again as one line naming the stage (exit 2).
    """
    import luigi
    from luigi.execution_summary import LuigiStatusCode

    from kgan import stage_lines
    from kgan.errors import KganError

    scheduler = {"scheduler_url": scheduler_url} if scheduler_url else {"local_scheduler": True}
    stage_lines.start()
    result = luigi.build(roots, workers=workers, detailed_summary=True, log_level="CRITICAL", **scheduler)
    # luigi.build returns True even when tasks failed: the detailed status is what tells.
    if result.status in (LuigiStatusCode.SUCCESS, LuigiStatusCode.SUCCESS_WITH_RETRY):
        return None
    if stage_lines.failures and all(isinstance(e, KganError) for _, e in stage_lines.failures):
        stage, error = stage_lines.failures[0]
        raise type(error)(f"{stage}: {error}")  # a user error: one line, exit 2 (kgan.cli)
    return result.status.name


def check_source(source: str, config) -> None:
    """Reject a `data.source` that cannot work before Luigi starts (PrepareDataset would fail only later).

    Checks the source string and that its paths exist, nothing more: opening the source creates TensorFlow
    tensors, which would start the TensorFlow runtime in this process before `--workers N` forks it.
    A malformed file is still reported by PrepareDataset.
    """
    from kgan.data.sources import parse_source
    from kgan.errors import ConfigError, DataError

    try:
        scheme, where = parse_source(source)
    except DataError as e:
        raise ConfigError(f"{config}: data.source: {e}") from None
    if scheme == "tfds":
        return  # TFDS availability needs tensorflow_datasets; PrepareDataset reports it
    if scheme == "unpaired":  # each domain's own source
        from kgan.data import unpaired

        for side, _ in unpaired.parse(source):
            check_source(side, config)
        return
    for path in where if isinstance(where, tuple) else (where,):
        if not path.exists():
            raise ConfigError(f"{config}: data.source: {path} does not exist")
