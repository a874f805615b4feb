"""Command-line interface: ``python -m exactrelu {demo,compare,sizes} ...``.

Each sub-command lives in the module that holds its feature and registers itself
through a function ``add_cli(subparsers)`` returning nothing; the parser calls
``args.func(args)``.
"""

from __future__ import annotations

import argparse
import sys
from importlib import import_module

# module -> the sub-commands it provides (modules are imported lazily)
_COMMAND_MODULES = ["exactrelu.demo", "exactrelu.compare", "exactrelu.sizes"]


def build_parser():
    parser = argparse.ArgumentParser(
        prog="python -m exactrelu",
        description="Exact, certified training of two-layer ReLU networks.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for modname in _COMMAND_MODULES:
        try:
            mod = import_module(modname)
        except ImportError:  # a feature module that is not available
            continue
        add = getattr(mod, "add_cli", None)
        if add is not None:
            add(sub)
    return parser


def main(argv=None):
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "command", None):
        parser.print_help()
        return 2
    from .errors import ExactReLUError

    try:
        return int(args.func(args) or 0)
    except ExactReLUError as exc:
        print(f"error: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
