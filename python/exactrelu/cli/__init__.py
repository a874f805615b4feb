"""Command-line interface: ``python -m exactrelu {demo,compare,sizes} ...``.

Each sub-command is a module of this package with a function ``add_cli(subparsers)``
that registers it; the parser calls ``args.func(args)``, whose return value is the exit
status. The studies themselves are in :mod:`exactrelu.studies`.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import sys

from ..errors import ExactReLUError, InputError
from . import compare, demo, sizes

__all__ = ["build_parser", "check_outputs", "main"]

#: the sub-command modules, in the order of the help
_COMMANDS = (demo, compare, sizes)


def build_parser():
    parser = argparse.ArgumentParser(
        prog="python -m exactrelu",
        description="Exact, certified training of two-layer ReLU networks.",
    )
    parser.add_argument("--debug", action="store_true",
                        help="show the full traceback of an error")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for mod in _COMMANDS:
        mod.add_cli(sub)
    return parser


def check_outputs(args):
    """Before any work: output files (``--json``, ``--plot``) can be written and the
    figure's optional dependency is installed."""
    for opt in ("json", "plot"):
        path = getattr(args, opt, None)
        if not path:
            continue
        folder = os.path.dirname(os.path.abspath(path))
        if os.path.isdir(path):
            raise InputError(f"--{opt} {path}: is a folder, not a file")
        if not os.path.isdir(folder):
            raise InputError(f"--{opt} {path}: the folder {folder} does not exist")
        existed = os.path.exists(path)
        try:
            with open(path, "a"):
                pass
        except OSError as exc:
            raise InputError(f"--{opt} {path}: cannot be written ({exc.strerror})") from None
        if not existed:
            os.remove(path)
    if getattr(args, "plot", None) and importlib.util.find_spec("matplotlib") is None:
        raise InputError("--plot needs matplotlib: pip install 'exactrelu[plot]'")


def main(argv=None):
    """Run the command line; returns the exit status: 0 done, 2 a mistake in the
    arguments or files (argparse's convention), 1 a refusal or a solver failure,
    130 interrupted (Ctrl-C). Errors are one line on stderr unless ``--debug``."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "command", None):
        parser.print_help()
        return 2
    try:
        check_outputs(args)
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        if args.debug:
            raise
        print("interrupted", file=sys.stderr)
        return 130
    except (InputError, OSError) as exc:
        if args.debug:
            raise
        print(f"error: {_describe(exc)}", file=sys.stderr)
        return 2
    except ExactReLUError as exc:
        if args.debug:
            raise
        print(f"error: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1


def _describe(exc):
    if isinstance(exc, OSError) and exc.filename is not None:
        return f"{exc.filename}: {exc.strerror or exc}"
    return f"{type(exc).__name__}: {exc}"


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
