"""``python -m exactrelu compare``: the certified optimum against SGD on one dataset.

Parses the arguments, loads the data (:mod:`exactrelu.datasets`), runs
:func:`exactrelu.compare` and prints its table (optionally JSON and a figure).
"""

from __future__ import annotations

import sys

import numpy as np

from .. import datasets
from ..certificate import beta_max
from ..errors import InputError
from ..plotting import plot_comparison
from ..studies.comparison import compare
from ._flags import add_cluster_flags, add_progress_flags, cluster_client, progress_wanted

__all__ = ["add_cli", "run"]


def _parse_ints(text, name):
    try:
        vals = [int(v) for v in str(text).replace(" ", "").split(",") if v]
    except ValueError:
        raise InputError(f"{name} must be comma-separated integers, got {text!r}") from None
    if not vals:
        raise InputError(f"{name} is empty")
    return vals


def _list_datasets():
    for name in datasets.list_datasets():
        if name in datasets.SYNTHETIC:
            desc = datasets.SYNTHETIC[name][1]
        else:
            desc = datasets.SKLEARN.get(name, ("",) * 4)[3]
        print(f"{name:<14} {desc}")


def _load_data(args):
    """The dataset the arguments name: ``--csv FILE`` or ``--dataset NAME``."""
    if (args.dataset is None) == (args.csv is None):
        raise InputError("give exactly one of --dataset NAME or --csv FILE "
                         "(--list-datasets shows the names)")
    features = _parse_ints(args.features, "--features") if args.features else None
    if args.csv is None:
        return datasets.load_dataset(args.dataset, n=args.n, noise=args.noise,
                                     seed=args.data_seed, features=features,
                                     standardize_X=True if args.standardize else None)
    ds = datasets.load_csv(args.csv)
    X, y = ds.X, ds.y
    if features is not None:
        bad = [i for i in features if not -X.shape[1] <= i < X.shape[1]]
        if bad:
            raise InputError(f"--features {args.features}: {bad} out of range for the "
                             f"{X.shape[1]} feature columns of {args.csv}")
        X = X[:, features]
    if args.n is not None and args.n < X.shape[0]:
        rows = datasets.subsample_rows(X.shape[0], args.n, args.data_seed)
        X, y = X[rows], y[rows]
    if args.standardize:
        X = datasets.standardize(X)
    return datasets.Dataset(X=np.ascontiguousarray(X), y=y, name=ds.name, task=ds.task,
                            description=ds.description)


def _beta(args, ds, loss, client=None):
    """``--beta``, or ``--beta-frac`` times :func:`exactrelu.beta_max` (said on stderr)."""
    if args.beta is not None:
        return args.beta
    bmax = float(beta_max(ds.X, ds.y, loss=loss, bias=not args.no_bias, skip=args.skip,
                          progress=progress_wanted(args), client=client))
    beta = args.beta_frac * bmax
    if not args.quiet:
        print(f"beta = {args.beta_frac:g} * beta_max = {args.beta_frac:g} * {bmax:.6g} "
              f"= {beta:.6g}", file=sys.stderr)
    return beta


def _sgd_options(args):
    opts = {}
    if args.steps is not None:
        opts["steps"] = args.steps
    if args.lr is not None:
        opts["lr"] = args.lr if args.lr == "search" else float(args.lr)
    if args.optimizer is not None:
        opts["optimizer"] = args.optimizer
    if args.batch_size is not None:
        opts["batch_size"] = args.batch_size
    return opts


def _solve_options(args):
    if args.time_limit is None:
        return None
    if not args.time_limit > 0:
        raise InputError(f"--time-limit must be a positive number of seconds; got "
                         f"{args.time_limit}")
    return {"time_limit": float(args.time_limit)}


def _say(args, text):
    if not args.quiet:
        print(text, file=sys.stderr)


def run(args):
    """Run ``python -m exactrelu compare`` for parsed arguments; returns the exit status."""
    if args.list_datasets:
        _list_datasets()
        return 0
    solve_options = _solve_options(args)      # checked before any work
    ds = _load_data(args)
    loss = args.loss or ds.loss
    if loss == "hinge" and ds.task != "classification":
        raise InputError(f"hinge loss needs a classification dataset; {ds.name} is regression")
    widths = _parse_ints(args.widths, "--widths") if args.widths else None
    with cluster_client(args, lambda text: _say(args, text)) as client:
        beta = _beta(args, ds, loss, client)
        _say(args, f"dataset {ds.name}: n={ds.n}, d={ds.d}, {ds.task}; {ds.description}")
        cmp = compare(ds.X, ds.y, loss=loss, beta=beta, penalty=args.penalty, widths=widths,
                      seeds=args.seeds, bias=not args.no_bias, skip=args.skip,
                      peers=False if args.no_mlp else "auto", progress=progress_wanted(args),
                      client=client, solve_options=solve_options, **_sgd_options(args))
    cmp.problem["dataset"] = ds.name
    print(cmp)
    if args.json:
        cmp.to_json(args.json)
        _say(args, f"wrote {args.json}")
    if args.plot:
        plot_comparison(cmp, path=args.plot, title=f"{ds.name}: {loss} loss, beta={beta:.3g}, "
                        f"{args.penalty} penalty")
        _say(args, f"wrote {args.plot}")
    return 0


def add_cli(subparsers):
    """Register ``python -m exactrelu compare``."""
    p = subparsers.add_parser(
        "compare",
        help="certified optimum vs SGD on the same objective",
        description="Solve a dataset exactly (certified global optimum), train networks of "
                    "several widths by Adam from several seeds on the same objective, and "
                    "report how far each lands from the optimum.",
    )
    src = p.add_argument_group("data")
    src.add_argument("--dataset", metavar="NAME",
                     help="built-in dataset: synthetic (sine1d, abs1d, teacher1d, sign1d, "
                          "bumps2d, teacher2d, xor2d, circle2d) or scikit-learn "
                          "(iris, wine, breast_cancer, diabetes, linnerud)")
    src.add_argument("--csv", metavar="FILE", help="numeric CSV file, last column the target")
    src.add_argument("--list-datasets", action="store_true", help="list dataset names and exit")
    src.add_argument("--n", type=int, default=None,
                     help="samples (synthetic; a random subsample of real data)")
    src.add_argument("--noise", type=float, default=0.1, help="synthetic noise level (0.1)")
    src.add_argument("--data-seed", type=int, default=0, help="seed of the data (0)")
    src.add_argument("--features", default=None, help="columns of X to keep, e.g. 2,3")
    src.add_argument("--standardize", action="store_true",
                     help="standardize X (always done for scikit-learn data)")
    prob = p.add_argument_group("problem")
    prob.add_argument("--loss", choices=["squared", "absolute", "hinge"], default=None,
                      help="default: squared for regression, hinge for classification")
    prob.add_argument("--beta", type=float, default=None, help="penalty weight")
    prob.add_argument("--beta-frac", type=float, default=0.02,
                      help="without --beta: beta = this * beta_max (0.02)")
    prob.add_argument("--penalty", choices=["l1", "l2"], default="l1")
    prob.add_argument("--no-bias", action="store_true", help="no neuron biases")
    prob.add_argument("--skip", action="store_true", help="free linear skip term")
    prob.add_argument("--time-limit", type=float, default=None, metavar="SECONDS",
                      help="seconds for the solve; at large d the bracket's budget "
                           "(default 300)")
    runs = p.add_argument_group("runs")
    runs.add_argument("--widths", default=None, help="comma-separated widths (n/4, n, 3n)")
    runs.add_argument("--seeds", type=int, default=5, help="seeds per width (5)")
    runs.add_argument("--steps", type=int, default=None, help="SGD steps per run (8000)")
    runs.add_argument("--lr", default=None, help="relative learning rate, or 'search'")
    runs.add_argument("--optimizer", choices=["adam", "sgd"], default=None)
    runs.add_argument("--batch-size", type=int, default=None, help="mini-batch size (full batch)")
    runs.add_argument("--no-mlp", action="store_true",
                     help="skip the scikit-learn MLPRegressor peer rows")
    out = p.add_argument_group("output")
    out.add_argument("--plot", metavar="FILE.png", default=None, help="write a figure")
    out.add_argument("--json", metavar="FILE", default=None, help="write all results as JSON")
    add_progress_flags(out)
    add_cluster_flags(out)
    p.set_defaults(func=run)
