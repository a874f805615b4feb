"""Exact certified training vs gradient training on the same objective.

For a few (n, d), synthetic and real: the exact solve time (certified optimum)
against the time gradient training (Adam, the defaults of exactrelu.sgd.train)
needs to get within 1% of that optimum, measured in the same run, and the
distribution of the final relative gaps over widths and seeds.

    python bench/sgd_vs_exact.py [--quick] [--seeds 5] [--steps 8000] [--json out.json]

"ratio" = (SGD training seconds until its objective first came within 1% of the
optimum) / (exact solve seconds), per run, over the runs that got there; SGD
time excludes the objective recording (resolution: steps/200). Columns
"best/median/worst" are final relative gaps (objective - optimum) / optimum;
"init" is the median gap at initialization (the affine fit plus small random neurons),
to show how much there was to gain.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))


def cases(quick):
    from exactrelu import datasets

    out = [
        ("sine1d", datasets.make_dataset("sine1d", n=20, seed=0), "squared"),
        ("teacher1d", datasets.make_dataset("teacher1d", n=40, seed=1), "squared"),
        ("sign1d", datasets.make_dataset("sign1d", n=40, seed=2), "hinge"),
        ("bumps2d", datasets.make_dataset("bumps2d", n=30, seed=0), "squared"),
        ("bumps2d-abs", datasets.make_dataset("bumps2d", n=30, seed=0), "absolute"),
        ("bumps2d", datasets.make_dataset("bumps2d", n=60, seed=3), "squared"),
        ("xor2d", datasets.make_dataset("xor2d", n=60, seed=0), "hinge"),
    ]
    try:
        import sklearn  # noqa: F401
    except ImportError:
        print("scikit-learn not installed: skipping the real datasets", file=sys.stderr)
    else:
        # diabetes: bmi and s5 (the two strongest features), 100 random patients,
        # standardized; iris: petal length and width, all 150 flowers, versicolor vs rest
        out.append(("diabetes[bmi,s5]",
                    datasets.load_dataset("diabetes", features=[2, 8], n=100, seed=0),
                    "squared"))
        out.append(("iris[petal]", datasets.load_dataset("iris", features=[2, 3]), "hinge"))
    if quick:
        out = [out[0], out[3]] + [c for c in out if c[0].startswith("diabetes")]
    return out


def fmt_gap(g):
    return "-" if g is None else ("0" if abs(g) < 1e-9 else f"{100 * g:.2g}%")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="three cases, 3 seeds, 3000 steps")
    ap.add_argument("--seeds", type=int, default=None)
    ap.add_argument("--steps", type=int, default=None)
    ap.add_argument("--beta-frac", type=float, default=0.02, help="beta = this * beta_max")
    ap.add_argument("--json", default=os.path.join(HERE, "sgd_vs_exact.json"))
    args = ap.parse_args(argv)
    seeds = args.seeds or (3 if args.quick else 5)
    steps = args.steps or (3000 if args.quick else 8000)

    import exactrelu
    from exactrelu.certificate import beta_max
    from exactrelu.studies.comparison import compare

    rows = []
    head = (f"{'case':<17} {'n':>4} {'d':>2} {'loss':<8} {'nrn':>4} {'exact s':>8} {'width':>5} "
            f"{'init':>6} {'best':>7} {'median':>7} {'worst':>7} {'in 1%':>6} {'t1% med':>8} "
            f"{'ratio med':>9} {'ratio min':>9}")
    print(head)
    print("-" * len(head))
    for name, ds, loss in cases(args.quick):
        X, y = ds.X, ds.y
        n, d = X.shape
        beta = args.beta_frac * beta_max(X, y, loss=loss)
        # exact: best of 3 timings (the first includes warm-up of the solver)
        times, sol = [], None
        for _ in range(3):
            t0 = time.perf_counter()
            sol = exactrelu.solve(X, y, loss=loss, beta=beta)
            times.append(time.perf_counter() - t0)
        t_exact = min(times)
        widths = sorted({n, 3 * n})
        cmp = compare(X, y, loss=loss, beta=beta, widths=widths, seeds=seeds, steps=steps,
                      solution=sol, peers=False, certify=True)
        cmp.exact_seconds = t_exact
        for w in widths:
            runs = cmp.select("sgd", w)
            gaps = [r.rel_gap for r in runs]
            t1 = [r.time_to_tol for r in runs if r.time_to_tol is not None]
            ratios = [t / t_exact for t in t1]
            row = {
                "case": name, "n": n, "d": d, "loss": loss, "beta": beta,
                "exact_seconds": t_exact, "exact_seconds_all": times,
                "optimum": sol.objective, "exact_gap": sol.gap, "certified": sol.certified,
                "exact_neurons": sol.network.n_neurons, "width": w, "seeds": seeds,
                "steps": steps, "gaps": gaps,
                "init_gap": statistics.median(
                    (r.history.objective[0] - sol.objective) / sol.objective for r in runs),
                "best": min(gaps), "median": statistics.median(gaps), "worst": max(gaps),
                "within_1pct": sum(g <= 0.01 for g in gaps) / len(gaps),
                "time_to_1pct": [r.time_to_tol for r in runs],
                "sgd_seconds": [r.seconds for r in runs],
                "cert_lower_bounds": [r.cert_lower_bound for r in runs],
                "ratio_median": statistics.median(ratios) if ratios else None,
                "ratio_min": min(ratios) if ratios else None,
                "sgd_effective_neurons": [r.effective_neurons for r in runs],
            }
            rows.append(row)
            print(f"{name:<17} {n:>4} {d:>2} {loss:<8} {sol.network.n_neurons:>4} "
                  f"{t_exact:>8.3g} {w:>5} {fmt_gap(row['init_gap']):>6} {fmt_gap(row['best']):>7} "
                  f"{fmt_gap(row['median']):>7} {fmt_gap(row['worst']):>7} "
                  f"{100 * row['within_1pct']:>5.0f}% "
                  f"{(statistics.median(t1) if t1 else float('nan')):>8.3g} "
                  f"{(row['ratio_median'] or float('nan')):>9.3g} "
                  f"{(row['ratio_min'] or float('nan')):>9.3g}", flush=True)
    all_gaps = np.array([g for r in rows for g in r["gaps"]])
    qs = np.quantile(all_gaps, [0, 0.25, 0.5, 0.75, 0.9, 1.0])
    print(f"\nall {all_gaps.size} runs: final relative gap quantiles (0, 25, 50, 75, 90, 100%): "
          + ", ".join(fmt_gap(float(q)) for q in qs)
          + f"; within 1%: {100 * np.mean(all_gaps <= 0.01):.0f}%")
    ratios = [r["ratio_median"] for r in rows if r["ratio_median"] is not None]
    if ratios:
        print(f"median over rows of the median ratio (SGD time to 1% / exact time): "
              f"{statistics.median(ratios):.3g}")
    out = {"platform": platform.platform(), "python": sys.version.split()[0],
           "cpus": os.cpu_count(), "beta_frac": args.beta_frac, "rows": rows,
           "gap_quantiles": dict(zip(["0", "25", "50", "75", "90", "100"], map(float, qs)))}
    with open(args.json, "w") as fh:
        json.dump(out, fh, indent=1)
    print(f"wrote {args.json}")


if __name__ == "__main__":
    main()
