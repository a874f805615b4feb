"""Benchmark of exactrelu.solve: "cells" vs "full" vs "colgen", side by side.

Prints one table (n, d, loss, method, rows, columns, seconds, objective, gap, ...)
and the ratios of each method's time to column generation's, and writes every row
to a JSON file.

    python bench/solve.py                 # the default suite (a few minutes)
    python bench/solve.py --quick         # a smoke run (seconds)
    python bench/solve.py --cells-n 50 --cells-limit 600   # the cells-vs-colgen ratio
    python bench/solve.py --weight-decay  # penalty="l2" and vector outputs (issue rows)

Problems (regularized ones at beta = beta_max / 10, docs/design.md section 4):
  random d=2 squared loss at several n (targets: n=100 certified in < 0.2 s,
  n=1000 in < 20 s with column generation); random d=2 hinge / absolute losses;
  iris (scikit-learn's 150 x 4, standardized, versicolor vs the rest, hinge loss;
  target < 5 minutes) when scikit-learn is installed.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time

import numpy as np

import exactrelu
from exactrelu.errors import ExactReLUError, SizeError, TimeLimitError


def random_problem(n, d, loss, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d))
    y = np.sin(3 * X[:, 0]) + (X[:, 1] ** 2 if d > 1 else 0) + 0.1 * rng.normal(size=n)
    if loss == "hinge":
        y = np.where(y > np.median(y), 1.0, -1.0)
    return X, y


def iris_problem():
    try:
        from sklearn.datasets import load_iris
    except ImportError:
        return None
    X, t = load_iris(return_X_y=True)
    X = (X - X.mean(axis=0)) / X.std(axis=0)
    return X, np.where(t == 1, 1.0, -1.0)


def vector_problem(n, d, k, seed=0):
    """k targets of random d-dimensional data (vector outputs)."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d))
    Y = np.stack([np.sin(2 * X[:, 0] + j) + X[:, -1] ** 2 * (j - 1) for j in range(k)], axis=1)
    return X, Y + 0.1 * rng.normal(size=Y.shape)


def run_one(name, X, y, loss, beta, method, time_limit, threads, penalty="l1"):
    row = {"problem": name, "n": int(X.shape[0]), "d": int(X.shape[1]), "loss": loss,
           "beta": beta, "method": method, "penalty": penalty,
           "k": int(y.shape[1]) if np.ndim(y) == 2 else 1}
    t0 = time.perf_counter()
    try:
        sol = exactrelu.solve(X, y, loss=loss, beta=beta, method=method, penalty=penalty,
                              time_limit=time_limit, threads=threads)
    except TimeLimitError:
        row.update(status="time_limit", seconds=time.perf_counter() - t0)
        return row
    except SizeError as exc:
        row.update(status="size_error", seconds=time.perf_counter() - t0,
                   estimate=getattr(exc, "estimate", None))
        return row
    except ExactReLUError as exc:  # pragma: no cover - reported, not hidden
        row.update(status=f"error: {type(exc).__name__}: {exc}",
                   seconds=time.perf_counter() - t0)
        return row
    row.update(
        status=sol.status, seconds=time.perf_counter() - t0,
        rows=sol.sizes.get("rows"), columns=sol.sizes.get("columns"),
        cells=sol.sizes.get("cells"), rounds=sol.sizes.get("rounds"),
        exact_pricing_passes=sol.sizes.get("exact_pricing_passes"),
        objective=sol.objective, lower_bound=sol.lower_bound, gap=sol.gap,
        certified=sol.certified, neurons=sol.network.n_neurons,
        timings={k: round(v, 6) for k, v in sol.timings.items()},
    )
    return row


def fmt(v, spec):
    if v is None:
        return "-"
    try:
        return format(v, spec)
    except (TypeError, ValueError):
        return str(v)


def print_rows(rows):
    head = (f"{'problem':<14}{'n':>6}{'d':>3} {'loss':<10}{'pen':<4}{'method':<8}{'rows':>9}"
            f"{'columns':>9}{'seconds':>10}{'objective':>20}{'gap':>10}{'cert':>6}{'neur':>6}"
            "  status")
    print(head)
    print("-" * len(head))
    for r in rows:
        print(f"{r['problem']:<14}{r['n']:>6}{r['d']:>3} {r['loss']:<10}"
              f"{r.get('penalty', 'l1'):<4}{r['method']:<8}"
              f"{fmt(r.get('rows'), 'd'):>9}{fmt(r.get('columns'), 'd'):>9}"
              f"{fmt(r['seconds'], '.4f'):>10}{fmt(r.get('objective'), '.12g'):>20}"
              f"{fmt(r.get('gap'), '.1e'):>10}{str(r.get('certified', '-')):>6}"
              f"{fmt(r.get('neurons'), 'd'):>6}  {r['status']}")


def weight_decay_suite(bench, lim):
    """The rows of the weight-decay issue: l2 by column generation against the cell
    program and against l1 (l2 <= l1 <= sqrt(d) l2), and vector outputs."""
    for n in (30, 50, 70):
        X, y = random_problem(n, 2, "squared")
        bench("wd", X, y, "squared", ["cells", "colgen"], penalty="l2")
    for n in (100, 300, 1000):
        X, y = random_problem(n, 2, "squared")
        bench("wd", X, y, "squared", ["colgen"], penalty="l2")
    X, y = random_problem(200, 3, "squared")
    bench("wd", X, y, "squared", ["cells", "colgen"], penalty="l2")
    for n in (100, 500):
        X, Y = vector_problem(n, 2, 3)
        beta = max(exactrelu.beta_max(X, Y[:, j]) for j in range(3)) / 10
        bench("vector-k3", X, Y, "squared", ["colgen"], beta=beta)


def print_penalty_check(rows):
    """l2 <= l1 <= sqrt(d) l2 on every weight-decay row with both penalties solved."""
    by = {}
    for r in rows:
        if r["problem"] == "wd" and "objective" in r:
            by.setdefault((r["n"], r["d"]), {}).setdefault(r["penalty"], r["objective"])
    if not by:
        return
    print("\nl2 <= l1 <= sqrt(d) l2 (weight decay vs path norm, same beta)")
    for (n, d), g in sorted(by.items()):
        if "l1" in g and "l2" in g:
            ok = g["l2"] <= g["l1"] * (1 + 1e-9) and g["l1"] <= np.sqrt(d) * g["l2"] * (1 + 1e-9)
            print(f"  n={n:<5} d={d}: l2 {g['l2']:.10g}  l1 {g['l1']:.10g}  "
                  f"l1/l2 {g['l1'] / g['l2']:.4f}  {'holds' if ok else 'VIOLATED'}")


def print_ratios(rows):
    print("\nratios to colgen (seconds; relative objective difference)")
    groups = {}
    for r in rows:
        key = (r["problem"], r["n"], r["loss"], r.get("penalty", "l1"))
        groups.setdefault(key, {})[r["method"]] = r
    for key, g in groups.items():
        cg = g.get("colgen")
        if cg is None or "objective" not in cg:
            continue
        parts = []
        for m in ("cells", "full"):
            r = g.get(m)
            if r is None:
                continue
            if "objective" in r:
                rel = abs(r["objective"] - cg["objective"]) / max(1.0, abs(cg["objective"]))
                ratio = r["seconds"] / cg["seconds"]
                parts.append(f"{m}/colgen = {ratio:.1f}x (obj diff {rel:.1e})")
            else:
                parts.append(f"{m}: {r['status']} after {r['seconds']:.1f} s "
                             f"(>= {r['seconds'] / cg['seconds']:.0f}x)")
        if parts:
            print(f"  {key[0]:<14} n={key[1]:<5} {key[2]:<9} {key[3]} colgen "
                  f"{cg['seconds']:.4f} s: " + "; ".join(parts))


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="a small smoke run")
    ap.add_argument("--cells-n", type=int, nargs="*", default=None,
                    help="n values (d=2, hinge loss) for the cells-vs-colgen comparison")
    ap.add_argument("--cells-limit", type=float, default=600.0,
                    help="time limit (s) of the cell program and the full LP")
    ap.add_argument("--no-iris", action="store_true")
    ap.add_argument("--only-iris", action="store_true")
    ap.add_argument("--iris-beta", type=float, default=2.0)
    ap.add_argument("--threads", type=int, default=None)
    ap.add_argument("--weight-decay", action="store_true",
                    help="penalty='l2' (colgen vs cells, vs l1) and vector outputs")
    ap.add_argument("--out", default=os.path.join(os.path.dirname(__file__), "solve.json"))
    args = ap.parse_args(argv)

    rows = []
    lim = args.cells_limit

    def bench(name, X, y, loss, methods, beta=None, penalty="l1"):
        if beta is None:
            beta = 1.0 if loss == "interpolate" else exactrelu.beta_max(X, y, loss=loss) / 10
        for m in methods:
            r = run_one(name, X, y, loss, beta, m, lim, args.threads, penalty)
            rows.append(r)
            print(f"  {name} n={X.shape[0]} {loss} {penalty} {m}: {r['status']} "
                  f"{r['seconds']:.3f} s", file=sys.stderr, flush=True)
        if penalty == "l2":     # the same problem with the path norm, for the check
            rows.append(run_one(name, X, y, loss, beta, "auto", lim, args.threads, "l1"))

    if args.weight_decay:
        weight_decay_suite(bench, lim)
    elif args.only_iris:
        iris = iris_problem()
        if iris is not None:
            bench("iris-versicolor", *iris, "hinge", ["colgen"], beta=args.iris_beta)
    elif args.quick:
        for n in (20, 100):
            X, y = random_problem(n, 2, "squared")
            bench("random", X, y, "squared",
                  ["cells", "full", "colgen"] if n <= 20 else ["full", "colgen"])
    else:
        for n, methods in ((20, ["cells", "full", "colgen"]), (30, ["cells", "full", "colgen"]),
                           (100, ["full", "colgen"]), (200, ["full", "colgen"]),
                           (400, ["colgen"]), (1000, ["colgen"])):
            X, y = random_problem(n, 2, "squared")
            bench("random", X, y, "squared", methods)
        for loss in ("hinge", "absolute"):
            for n in (30, 100):
                X, y = random_problem(n, 2, loss)
                bench("random", X, y, loss,
                      ["cells", "full", "colgen"] if n <= 30 else ["full", "colgen"])
        for n in (args.cells_n or []):
            X, y = random_problem(n, 2, "hinge", seed=1)
            bench("cells-ratio", X, y, "hinge", ["cells", "full", "colgen"])
        if not args.no_iris:
            iris = iris_problem()
            if iris is not None:
                # beta_max of this problem is about 20-23 (its cutting-plane computation
                # needs several exact pricing passes, minutes each): beta = 2 ~ beta_max / 10
                bench("iris-versicolor", *iris, "hinge", ["colgen"], beta=args.iris_beta)

    print_rows(rows)
    print_ratios(rows)
    print_penalty_check(rows)
    meta = {"python": sys.version.split()[0], "platform": platform.platform(),
            "cpus": os.cpu_count(), "exactrelu": exactrelu.__version__,
            "threads": args.threads}
    with open(args.out, "w") as fh:
        json.dump({"meta": meta, "rows": rows}, fh, indent=1, default=float)
    print(f"\nwrote {args.out}")


if __name__ == "__main__":
    main()
