"""`kgan config show CONFIG` (validated, resolved TOML) and `kgan config keys` (every key)."""

from __future__ import annotations


def register(subparsers) -> None:
    parser = subparsers.add_parser("config", help="validate and show experiment configs")
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    show = actions.add_parser("show", help="print CONFIG validated, with every default filled in")
    show.add_argument("config", help="experiment TOML file, or the name of a shipped config")
    show.set_defaults(func=run_show, uses_tensorflow=False)
    actions.add_parser("keys", help="list every key with its default and allowed values"
                       ).set_defaults(func=run_keys, uses_tensorflow=False)
    actions.add_parser("list", help="the configs that ship with kgan (usable by name)"
                       ).set_defaults(func=run_list, uses_tensorflow=False)


def run_show(args) -> int:
    from kgan.config import dump_toml, load_config

    print(dump_toml(load_config(args.config)), end="")
    return 0


def run_keys(args) -> int:
    from kgan.config import describe

    print(describe())
    return 0


def run_list(args) -> int:
    from kgan.config import SHIPPED, shipped_configs

    for name in shipped_configs():
        print(f"{name:28s} {SHIPPED / (name + '.toml')}")
    return 0
