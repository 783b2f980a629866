"""CLI subcommands, one module each; `kgan.cli` discovers them. Each defines `register(subparsers)`."""
