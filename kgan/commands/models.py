"""`kgan models`: the model registry, one line per model."""

from __future__ import annotations


def register(subparsers) -> None:
    parser = subparsers.add_parser("models", help="list the registered GAN models")
    parser.set_defaults(func=run, uses_tensorflow=False)


def run(args) -> int:
    from kgan.models.registry import describe_models

    models = describe_models()
    width = max(len(name) for name, _ in models)
    for name, description in models:
        print(f"{name:<{width}}  {description}")
    return 0
