"""Command-line interface: ``python -m exactrelu {demo,compare,sizes} ...``.

Each sub-command is a module of this package with a function ``add_cli(subparsers)``
that registers it; the parser calls ``args.func(args)``, whose return value is the exit
status. The studies themselves are in :mod:`exactrelu.studies`.
"""

from __future__ import annotations

import argparse
import sys

from ..errors import ExactReLUError
from . import compare, demo, sizes

__all__ = ["build_parser", "main"]

#: the sub-command modules, in the order of the help
_COMMANDS = (demo, compare, sizes)


def build_parser():
    parser = argparse.ArgumentParser(
        prog="python -m exactrelu",
        description="Exact, certified training of two-layer ReLU networks.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for mod in _COMMANDS:
        mod.add_cli(sub)
    return parser


def main(argv=None):
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "command", None):
        parser.print_help()
        return 2
    try:
        return int(args.func(args) or 0)
    except ExactReLUError as exc:
        print(f"error: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
