"""``python -m exactrelu demo``: the whole pipeline on a small dataset in a few seconds.

It draws a small 2-D regression problem, shows the size of its hyperplane arrangement
(exact counts against Cover's bound), solves it to the certified global optimum for
each loss, and certifies a perturbed copy of the optimal network to show what the
certificate says about a network that is not optimal.
"""

from __future__ import annotations

import time

import numpy as np

from ..arrangement import arrangement_info, count_cells, count_rays, cover_count
from ..certificate import beta_max, certify
from ..errors import SizeError
from ..solver import solve
from ._flags import add_cluster_flags, add_progress_flags, cluster_client, progress_wanted

__all__ = ["run_demo", "add_cli"]


def run_demo(n=40, d=2, seed=0, beta_fraction=0.1, out=print, progress=False, client=None):
    """Run the demo and return a dict of its results.

    Parameters
    ----------
    n, d : int
        Size of the random dataset (points uniform in [-1, 1]^d).
    seed : int
        Random seed.
    beta_fraction : float
        The penalty weight as a fraction of :func:`exactrelu.beta_max` (above which the
        optimal network has no neurons).
    out : callable
        Where lines are written (``print`` by default).
    progress : bool
        Show the counts, the exact pricing passes and the enumerations on stderr
        (see :func:`exactrelu.solve`); default: quiet.
    client : dask.distributed.Client, optional
        Run the counts, the exact pricing passes and the enumerations on this Dask
        cluster (see :func:`exactrelu.solve`); the results are the same.

    Returns
    -------
    dict
        ``{"cells", "cover", "rays", "solutions": {loss: Solution}, "perturbed": Certificate}``.

    Examples
    --------
    >>> res = run_demo(n=12, d=1, out=lambda *a: None)
    >>> all(s.certified for s in res["solutions"].values())
    True
    """
    rng = np.random.default_rng(seed)
    X = rng.uniform(-1.0, 1.0, size=(n, d))
    y = np.sin(3.0 * X[:, 0]) + (X[:, 1] if d > 1 else 0.0) + 0.1 * rng.normal(size=n)
    labels = np.where(y > np.median(y), 1.0, -1.0)
    info = arrangement_info(X)
    cells = count_cells(X, progress=progress, client=client)
    rays = count_rays(X, progress=progress, client=client)
    out(f"data: n={n} points in d={d} (uniform in [-1, 1]^{d}), seed={seed}")
    out(f"arrangement (with neuron biases): rank {info.rank}, {cells:,} cells "
        f"(Cover's bound {cover_count(info.n_hyperplanes, info.rank):,}), {rays:,} rays")
    out("")
    out(f"{'loss':<12}{'beta':>10}{'objective':>16}{'lower bound':>16}{'gap':>11}"
        f"{'neurons':>9}{'certified':>11}{'seconds':>9}")
    sols = {}
    for loss in ("squared", "absolute", "hinge", "interpolate"):
        target = labels if loss == "hinge" else y
        beta = 0.0 if loss == "interpolate" else beta_fraction * beta_max(
            X, target, loss=loss, progress=progress, client=client)
        t0 = time.perf_counter()
        sol = solve(X, target, loss=loss, beta=beta if loss != "interpolate" else 1.0,
                    progress=progress, client=client)
        dt = time.perf_counter() - t0
        sols[loss] = sol
        out(f"{loss:<12}{beta:>10.4g}{sol.objective:>16.10g}{sol.lower_bound:>16.10g}"
            f"{sol.gap:>11.2e}{sol.network.n_neurons:>9d}{str(sol.certified):>11}{dt:>9.3f}")
    # certify a network that is not optimal: the perturbed optimum of the squared loss
    beta = beta_fraction * beta_max(X, y, progress=progress, client=client)
    net = sols["squared"].network
    bad = type(net)(net.W * (1 + 0.05 * rng.normal(size=net.W.shape)), net.b, net.a, net.c, net.s)
    cert = certify(bad, X, y, loss="squared", beta=beta, progress=progress, client=client)
    out("")
    out("a perturbed copy of the squared-loss optimum (weights off by ~5%), certified:")
    out(f"  its objective {cert.upper_bound:.10g} >= optimum >= lower bound "
        f"{cert.lower_bound:.10g} (relative gap {cert.gap:.2e})")
    w = net
    out("")
    out(f"the optimal squared-loss network: {w.n_neurons} ReLU neurons, output bias c={w.c:.6g};"
        " first neurons (w, b, a):")
    for j in range(min(3, w.n_neurons)):
        out(f"  w={np.array2string(w.W[j], precision=4)}  b={w.b[j]:.4f}  a={w.a[j]:.4f}")
    return {"cells": cells, "cover": cover_count(info.n_hyperplanes, info.rank), "rays": rays,
            "solutions": sols, "perturbed": cert}


def _main(args):
    try:
        with cluster_client(args, print) as client:
            run_demo(n=args.n, d=args.d, seed=args.seed, beta_fraction=args.beta_fraction,
                     progress=progress_wanted(args), client=client)
    except SizeError as exc:
        raise SizeError(f"the demo with --n {args.n} --d {args.d} is too large to solve exactly "
                        f"({exc.estimate:,} {exc.what} against a limit of {exc.limit:,}); try a "
                        f"smaller --n or --d", estimate=exc.estimate, limit=exc.limit,
                        what=exc.what) from None
    return 0


def add_cli(subparsers):
    """Register ``python -m exactrelu demo``."""
    p = subparsers.add_parser(
        "demo", help="solve a small problem exactly for every loss and show the certificates",
        description="Solve a small random problem exactly for every loss, certify a perturbed "
                    "network, and print the results.")
    p.add_argument("--n", type=int, default=40, help="number of points (default 40)")
    p.add_argument("--d", type=int, default=2, help="input dimension (default 2)")
    p.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    p.add_argument("--beta-fraction", type=float, default=0.1,
                   help="beta as a fraction of beta_max (default 0.1)")
    add_progress_flags(p)
    add_cluster_flags(p)
    p.set_defaults(func=_main)
