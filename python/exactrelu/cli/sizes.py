"""``python -m exactrelu sizes``: the arrangement-size study (:mod:`exactrelu.studies.sizes`).

Parses the arguments into a :class:`~exactrelu.studies.sizes.SweepConfig`, runs the
sweep (or reads a saved one) and prints the tables and the summary.
"""

from __future__ import annotations

import argparse
import json
import sys

from ..datasets import REAL_SOURCES, SYNTHETIC_SOURCES
from ..errors import InputError
from ..plotting import plot_sizes
from ..studies.report import format_price, format_table, load, summarize
from ..studies.sizes import SweepConfig, sweep
from ._flags import add_cluster_flags, add_progress_flags, cluster_client, progress_wanted

__all__ = ["add_cli", "config_from_args", "run"]


def _int_list(s):
    try:
        return tuple(int(v) for v in s.split(",") if v.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated integers, got {s!r}") from None


def add_cli(subparsers):
    """Register ``python -m exactrelu sizes``."""
    p = subparsers.add_parser(
        "sizes",
        help="arrangement sizes of synthetic and real data vs Cover's bound; sampling coverage",
        description=(
            "Exact cells of the hyperplane arrangements of Gaussian, degenerate and real data "
            "(float and exact-decimal forms) against Cover's bound, the coverage of random "
            "gates, and the objective gap of solving with sampled patterns."
        ),
    )
    p.add_argument("--quick", action="store_true", help="a small sweep (under a minute)")
    p.add_argument("--from-json", metavar="FILE",
                   help="do not run: print (and --plot) a sweep saved with --json")
    p.add_argument("--json", metavar="FILE", help="write the rows and summary as JSON")
    p.add_argument("--plot", metavar="FILE.png", help="draw the figure (needs matplotlib)")
    p.add_argument("--max-seconds", type=float, default=None,
                   help="time budget of the sweep (default 40 with --quick, 1800 otherwise)")
    p.add_argument("--case-seconds", type=float, default=None,
                   help="most seconds any single count or enumeration may be predicted to take")
    p.add_argument("--ns", type=_int_list, default=None, help="comma-separated n values")
    p.add_argument("--ds", type=_int_list, default=None, help="comma-separated d values")
    p.add_argument("--sources", default=None, help="comma-separated sources among "
                   f"{','.join(SYNTHETIC_SOURCES + REAL_SOURCES)}")
    p.add_argument("--no-bias-off", action="store_true", help="only the rows with bias")
    p.add_argument("--no-price", action="store_true", help="skip the price of sampling")
    p.add_argument("--gates", type=int, default=None, help="most gates for the coverage study")
    p.add_argument("--memory-mib", type=int, default=None,
                   help="memory an enumeration may use (MiB; default 512)")
    p.add_argument("--threads", type=int, default=None, help="threads for enumeration")
    p.add_argument("--raw-gates", action="store_true",
                   help="draw gates for the data as given (default: for standardized data)")
    p.add_argument("--seed", type=int, default=0)
    add_progress_flags(p)
    add_cluster_flags(p)
    p.set_defaults(func=run)


def config_from_args(args):
    """The :class:`~exactrelu.studies.sizes.SweepConfig` of the parsed arguments."""
    cfg = SweepConfig.quick() if args.quick else SweepConfig()
    upd = {}
    if args.max_seconds is not None:
        if args.max_seconds <= 0:
            raise InputError("--max-seconds must be positive")
        upd["max_seconds"] = float(args.max_seconds)
    if args.case_seconds is not None:
        upd["case_seconds"] = float(args.case_seconds)
    if args.ns:
        upd["ns"] = args.ns
    if args.ds:
        upd["ds"] = args.ds
    if args.sources:
        srcs = tuple(s.strip() for s in args.sources.split(",") if s.strip())
        bad = [s for s in srcs if s not in SYNTHETIC_SOURCES + REAL_SOURCES]
        if bad:
            raise InputError(f"unknown sources {bad}; known: {SYNTHETIC_SOURCES + REAL_SOURCES}")
        upd["sources"] = srcs
    if args.no_bias_off:
        upd["biases"] = (True,)
    if args.no_price:
        upd["price"] = False
    if args.gates is not None:
        upd["coverage_gates"] = int(args.gates)
    if args.memory_mib is not None:
        upd["memory_limit"] = int(args.memory_mib) * 1024**2
    if args.threads is not None:
        upd["threads"] = int(args.threads)
    if args.raw_gates:
        upd["standardize_gates"] = False
    upd["seed"] = int(args.seed)
    for k, v in upd.items():
        setattr(cfg, k, v)
    return cfg


def run(args):
    """Run the sweep for the CLI and print the tables; returns the exit status."""
    if args.from_json:
        res = load(args.from_json)
    else:
        cfg = config_from_args(args)
        say = None if args.quiet else (lambda text: print(text, file=sys.stderr))
        with cluster_client(args, say) as client:
            res = sweep(cfg, progress=progress_wanted(args), client=client)
    kind = "saved" if args.from_json else ("quick" if args.quick else "full")
    print(f"Arrangement sizes ({kind} sweep, {res.meta.get('seconds', 0.0):.1f} s, "
          f"{res.meta.get('cpu_count')} cores). cells: exact count; Cover: "
          "bound for the distinct hyperplanes and exact rank; enum s: enumeration seconds "
          "('count': too large to enumerate within the budget); cov@1e3: fraction of cells "
          "found by 1000 Gaussian gates; m99: gates for 99%; b=0 max: the most zero-bias gates "
          "can find.")
    print(format_table(res.rows))
    if res.price:
        print()
        print("Price of sampling (restricted cell program over the patterns of m gates vs the "
              "certified optimum):")
        print(format_price(res.price))
    summ = summarize(res)
    print()
    print("Summary: " + json.dumps(summ, indent=1, default=str))
    if args.json and not args.from_json:
        res.save(args.json)
    if args.plot:
        plot_sizes(res, args.plot)
    return 0
