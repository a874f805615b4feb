"""Benchmark of the bracket (method="bracket"): gap against time at any dimension.

Real datasets (scikit-learn's diabetes, wine, breast cancer; standardized; full and
projected on their first 5 and 10 principal components) at beta = beta_max / 10 and
beta_max / 100, squared loss for diabetes and hinge for the classification sets:
the bracket [lower bound, best network] within ``--seconds``, its relative gap at
each bound it proved along the way, and the best of 5 SGD seeds (Adam, width n/4)
on the same objective in the same table. Then small d = 3-5 problems with an exact
optimum (method="colgen"): the bracket must contain it; how fast it closes.

beta_max at these sizes is itself only bounded from below (exactrelu.beta_max with
its time limit warns so); beta is taken relative to that value.

    python bench/bracket.py                       # everything, 60 s per bracket
    python bench/bracket.py --seconds 300 --datasets diabetes --fractions 10
    python bench/bracket.py --no-real --out /tmp/exact.json   # the d = 3-5 rows only
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
import warnings

import numpy as np

import exactrelu
from exactrelu import datasets, sgd
from exactrelu._format import fmt_gap

HERE = os.path.dirname(os.path.abspath(__file__))
DATASETS = {"diabetes": "squared", "wine": "hinge", "breast_cancer": "hinge"}
FORMS = ("full", "pca5", "pca10")


def data(name, form):
    ds = datasets.load_sklearn(name)
    X = (ds.X - ds.X.mean(axis=0)) / ds.X.std(axis=0)
    if form != "full":
        k = int(form[3:])
        if k >= X.shape[1]:
            return None
        _, _, Vt = np.linalg.svd(X, full_matrices=False)
        X = X @ Vt[:k].T
    return np.ascontiguousarray(X), ds.y


def best_sgd(X, y, loss, beta, seeds, steps):
    best = np.inf
    width = max(4, len(X) // 4)
    for seed in range(seeds):
        net, hist = sgd.train(X, y, width=width, loss=loss, beta=beta, seed=seed, steps=steps)
        best = min(best, float(net.objective(X, y, loss=loss, beta=beta)))
    return best


def gap_at(history, t):
    """Relative gap of the bracket's history at time t (inf before the first bound)."""
    g = np.inf
    for s, f, lo in history:
        if s <= t:
            g = (f - lo) / max(1.0, abs(f))
    return g


def real_rows(args):
    rows = []
    for name in args.datasets:
        loss = DATASETS[name]
        for form in args.forms:
            d = data(name, form)
            if d is None:
                continue
            X, y = d
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)
                bmax = exactrelu.beta_max(X, y, loss=loss, time_limit=20.0)
            for frac in args.fractions:
                beta = bmax / frac
                t0 = time.perf_counter()
                sol = exactrelu.solve(X, y, loss=loss, beta=beta, method="bracket",
                                      time_limit=args.seconds)
                sec = time.perf_counter() - t0
                sg = best_sgd(X, y, loss, beta, args.sgd_seeds, args.sgd_steps)
                hist = sol.sizes.get("bracket_history", [])
                row = {"dataset": name, "form": form, "n": X.shape[0], "d": X.shape[1],
                       "loss": loss, "beta": beta, "beta_fraction": f"beta_max/{frac:g}",
                       "lower": sol.lower_bound, "best": sol.objective,
                       "rel_gap": sol.gap / max(1.0, abs(sol.objective)),
                       "certified": sol.certified, "seconds": sec, "neurons": sol.network.n_neurons,
                       "mip_calls": sol.sizes.get("mip_calls"), "sgd_best5": sg,
                       "vs_sgd": (sol.objective - sg) / max(1.0, abs(sg)),
                       "gap_at": {f"{t:g}s": gap_at(hist, t) for t in (10, 30, 60, 120, 300)
                                  if t <= args.seconds}}
                rows.append(row)
                print(f"{name}/{form} beta_max/{frac:g}: [{sol.lower_bound:.6g}, "
                      f"{sol.objective:.6g}] gap {row['rel_gap']:.3g}, sgd {sg:.6g}",
                      file=sys.stderr)
    return rows


def exact_rows(args):
    rows = []
    rng = np.random.default_rng(0)
    for n, d in ((40, 3), (60, 3), (50, 4), (80, 4), (150, 4), (60, 5)):
        X = rng.normal(size=(n, d))
        y = np.sin(X @ rng.normal(size=d)) + 0.1 * rng.normal(size=n)
        for loss in ("squared", "hinge"):
            yy = np.where(y > np.median(y), 1.0, -1.0) if loss == "hinge" else y
            beta = exactrelu.beta_max(X, yy, loss=loss) / 10
            t0 = time.perf_counter()
            ex = exactrelu.solve(X, yy, loss=loss, beta=beta, method="colgen")
            t_exact = time.perf_counter() - t0
            t0 = time.perf_counter()
            br = exactrelu.solve(X, yy, loss=loss, beta=beta, method="bracket",
                                 time_limit=min(args.seconds, 20 * max(t_exact, 1.0)))
            t_br = time.perf_counter() - t0
            tol = 1e-9 * max(1.0, abs(ex.objective))
            rows.append({"n": n, "d": d, "loss": loss, "exact": ex.objective,
                         "exact_seconds": t_exact, "lower": br.lower_bound, "best": br.objective,
                         "contains": bool(br.lower_bound <= ex.objective + tol
                                          and br.objective >= ex.objective - tol),
                         "closed": br.certified, "bracket_seconds": t_br,
                         "ratio": t_br / max(t_exact, 1e-9)})
            print(f"n={n} d={d} {loss}: exact {t_exact:.2f}s, bracket {t_br:.2f}s "
                  f"closed={br.certified}", file=sys.stderr)
    return rows


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seconds", type=float, default=60.0, help="budget per bracket (60)")
    ap.add_argument("--datasets", nargs="*", default=list(DATASETS), choices=list(DATASETS))
    ap.add_argument("--forms", nargs="*", default=list(FORMS), choices=list(FORMS))
    ap.add_argument("--fractions", nargs="*", type=float, default=[10.0, 100.0])
    ap.add_argument("--sgd-seeds", type=int, default=5)
    ap.add_argument("--sgd-steps", type=int, default=4000)
    ap.add_argument("--no-exact", action="store_true", help="skip the d = 3-5 rows")
    ap.add_argument("--no-real", action="store_true", help="skip the real datasets")
    ap.add_argument("--mip-only", action="store_true",
                    help="bound by the big-M MIP at every d (no simplicial search), to compare")
    ap.add_argument("--out", default=os.path.join(HERE, "bracket.json"))
    args = ap.parse_args(argv)
    if args.mip_only:
        from exactrelu import simplicial

        simplicial.SIMPLICIAL_MAX_D = 0
    real = [] if args.no_real else real_rows(args)
    exact = [] if args.no_exact else exact_rows(args)
    times = [k for k in (real[0]["gap_at"] if real else {})]
    print(f"\nBrackets within {args.seconds:g} s (relative gap = (best - lower) / best; "
          "vs SGD: best convex network against the best of "
          f"{args.sgd_seeds} SGD seeds, negative = better)")
    print(f"{'data':<24}{'n':>5}{'d':>4}{'beta':>14}{'lower':>13}{'best':>13}{'gap':>11}"
          + "".join(f"{'gap@' + t:>11}" for t in times) + f"{'SGD best':>13}{'vs SGD':>11}")
    for r in real:
        print(f"{r['dataset'] + '/' + r['form']:<24}{r['n']:>5}{r['d']:>4}"
              f"{r['beta_fraction']:>14}{r['lower']:>13.6g}{r['best']:>13.6g}"
              f"{fmt_gap(r['rel_gap']):>11}"
              + "".join(f"{fmt_gap(r['gap_at'][t]):>11}" for t in times)
              + f"{r['sgd_best5']:>13.6g}{fmt_gap(r['vs_sgd']):>11}")
    if exact:
        print("\nd = 3-5 with a known optimum (beta_max / 10): the bracket contains it; time "
              "to close against exact column generation")
        print(f"{'n':>5}{'d':>4}{'loss':>9}{'exact s':>9}{'bracket s':>11}{'ratio':>8}"
              f"{'closed':>8}{'contains':>10}")
        for r in exact:
            print(f"{r['n']:>5}{r['d']:>4}{r['loss']:>9}{r['exact_seconds']:>9.2f}"
                  f"{r['bracket_seconds']:>11.2f}{r['ratio']:>8.1f}{str(r['closed']):>8}"
                  f"{str(r['contains']):>10}")
    with open(args.out, "w") as fh:
        json.dump({"meta": {"platform": platform.platform(), "cpu_count": os.cpu_count(),
                            "seconds": args.seconds, "exactrelu": exactrelu.__version__},
                   "real": real, "exact": exact}, fh, indent=1, default=float)
    print(f"\nwrote {args.out}")


if __name__ == "__main__":
    main()
