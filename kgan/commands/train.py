"""`kgan train CONFIG [--steps N] [--out RUN_DIR] [--no-resume] [--set KEY=VALUE] [--history SPEC]`."""

from __future__ import annotations

from pathlib import Path

from kgan.argtypes import positive_int


def register(subparsers) -> None:
    p = subparsers.add_parser("train", help="train a GAN from an experiment config",
                              description="Train (or resume) a run. Killing it loses at most the steps since "
                                          "the last checkpoint; run the same command again to resume.")
    p.add_argument("config", help="experiment TOML file")
    p.add_argument("--steps", type=positive_int, help="override train.steps")
    p.add_argument("--out", help="run directory (default: runs/<name>)")
    p.add_argument("--no-resume", dest="resume", action="store_false",
                   help="fail instead of resuming when the run directory holds checkpoints")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                   help="override any config key, e.g. --set train.d_lr=1e-4 (value parsed as TOML)")
    p.add_argument("--history", metavar="SPEC",
                   help="record the metric history (FID/IS during training; only the chief scores) as the JSON spec "
                        "written by the pipeline for a multi-worker run's workers describes it")
    p.set_defaults(func=run, uses_tensorflow=False)  # a bad config is refused before TensorFlow loads


def parse_overrides(pairs: list[str]) -> dict:
    """KEY=VALUE pairs with TOML-typed values (`--set train.ema=0`); bare words are strings."""
    import tomllib

    from kgan.errors import ConfigError

    out = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep:
            raise ConfigError(f"--set {pair!r}: expected KEY=VALUE")
        try:
            out[key] = tomllib.loads(f"v = {value}")["v"]
        except tomllib.TOMLDecodeError:
            out[key] = value
    return out


def run(args) -> int:
    from kgan.config import load_config
    from kgan.io import check_writable_dir
    from kgan.quiet import import_tensorflow

    cfg = load_config(args.config)
    overrides = parse_overrides(args.set)
    if args.steps is not None:
        overrides["train.steps"] = args.steps
    if overrides:
        cfg = cfg.replace(**overrides)
    out = Path(args.out or Path("runs") / cfg.name)
    check_writable_dir(out, "--out")  # pre-flight: fail in seconds, not at the first checkpoint
    import_tensorflow()
    from kgan.data import check_labels_fit
    from kgan.training import current_step, train

    check_labels_fit(cfg)
    callbacks = []
    if args.history:
        from kgan.metrics.history import from_spec

        callbacks.append(from_spec(out, args.history, cfg.data))
    gan = train(cfg, out, resume=args.resume, callbacks=callbacks)
    print(f"run: {out} (step {current_step(gan)})")
    print(f"next: kgan sample {out} --out samples.png | kgan export {out} | kgan gallery {out} --out gallery "
          f"| tensorboard --logdir {out}/logs/tensorboard")
    return 0
