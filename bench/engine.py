"""Benchmark of the pricing engine (column generation), before and after, side by side.

Each row of the suite is solved with ``method="colgen"`` by the exactrelu installed
in this interpreter and, with ``--baseline PYTHON``, by the one installed in another
interpreter (e.g. a virtual environment holding an older main), each in its own
child process on the same data and the same beta. Prints one table per version
(seconds, objective, certified, exact and pool pricing passes, rays per pass, exact
rays per second, time per stage) and the ratios baseline / current with the
relative difference of the objectives, and writes every row to a JSON file.

    python bench/engine.py                                   # current only
    python bench/engine.py --baseline /tmp/vbase/bin/python  # side by side
    python bench/engine.py --rows iris diabetes4 --threads 2

Rows (docs/design.md section 8): random data as in bench/solve.py, the squared loss
at beta_max / 10 unless stated; iris (standardized, versicolor vs the rest, hinge,
beta = 2); diabetes4 (the first 100 rows of scikit-learn's diabetes data, columns
age, sex, bmi, bp: a binary column among decimal ones, ties in every column).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

#: name -> (builder, loss, beta: a number or "beta_max/k"); the suite's order
ROWS = {
    "d2-n1000-b0.05": ("random:1000:2", "squared", 0.05),
    "d2-n1000": ("random:1000:2", "squared", "beta_max/10"),
    "d4-n100": ("random:100:4", "squared", "beta_max/10"),
    "d5-n60": ("random:60:5", "squared", "beta_max/10"),
    "iris": ("iris", "hinge", 2.0),
    "diabetes4": ("diabetes4", "squared", "beta_max/10"),
    "d2-n10000": ("random:10000:2", "squared", "beta_max/20"),
    "d3-n1000": ("random:1000:3", "squared", "beta_max/10"),
}
#: rows run when --rows is not given (the last two are the absolute targets only)
DEFAULT_ROWS = ["d2-n1000-b0.05", "d2-n1000", "d4-n100", "d5-n60", "iris", "diabetes4"]


def build(spec, loss):
    """The data (X, y) of a row."""
    if spec.startswith("random:"):
        from solve import random_problem
        _, n, d = spec.split(":")
        return random_problem(int(n), int(d), loss)
    if spec == "iris":
        from solve import iris_problem
        return iris_problem()
    if spec == "diabetes4":
        from sklearn.datasets import load_diabetes
        X, y = load_diabetes(return_X_y=True)
        X, y = X[:100, :4], y[:100]
        return (X - X.mean(axis=0)) / X.std(axis=0), (y - y.mean()) / y.std()
    raise ValueError(spec)


def child(path, out, threads, time_limit):
    """Solve the row stored in ``path`` with this interpreter's exactrelu."""
    import exactrelu
    from exactrelu.errors import ExactReLUError
    data = np.load(path)
    X, y, loss, beta = data["X"], data["y"], str(data["loss"]), float(data["beta"])
    res = {"version": exactrelu.__version__, "file": exactrelu.__file__}
    t0 = time.perf_counter()
    try:
        sol = exactrelu.solve(X, y, loss=loss, beta=beta, method="colgen", threads=threads,
                              time_limit=time_limit)
    except ExactReLUError as exc:
        res.update(status=f"{type(exc).__name__}: {str(exc)[:120]}",
                   seconds=time.perf_counter() - t0)
    else:
        res.update(status=sol.status, seconds=time.perf_counter() - t0,
                   objective=sol.objective, lower_bound=sol.lower_bound, gap=sol.gap,
                   certified=bool(sol.certified), neurons=int(sol.network.n_neurons),
                   sizes={k: (v if isinstance(v, (int, float, str)) else str(v))
                          for k, v in sol.sizes.items()},
                   timings={k: float(v) for k, v in sol.timings.items()})
    with open(out, "w") as fh:
        json.dump(res, fh, default=float)


def run_row(python, path, threads, time_limit):
    with tempfile.NamedTemporaryFile(suffix=".json", delete=False) as fh:
        out = fh.name
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1")
    cmd = [python, os.path.abspath(__file__), "--child", path, out,
           "--threads", str(threads), "--time-limit", str(time_limit)]
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=tempfile.gettempdir())
    if proc.returncode != 0:
        return {"status": f"crashed: {proc.stderr.strip().splitlines()[-1:]}",
                "seconds": time.perf_counter() - t0}
    with open(out) as fh:
        res = json.load(fh)
    os.unlink(out)
    return res


def derived(r):
    """Exact passes, pool passes, rays per pass, exact rays/s, stage times of a result."""
    s, t = r.get("sizes", {}), r.get("timings", {})
    passes = s.get("exact_pricing_passes")
    rays = s.get("rays_priced")
    pricing = t.get("pricing")
    rate = passes * rays / pricing if passes and rays and pricing else None
    other = None
    if "total" in t:
        other = t["total"] - (pricing or 0) - (t.get("solver") or 0)
    return {"exact": passes, "pool": s.get("pool_pricing_passes"), "rays": rays,
            "rate": rate, "pricing": pricing, "master": t.get("solver"), "other": other}


def fmt(v, spec):
    return "-" if v is None else format(v, spec)


def print_table(title, rows):
    print(f"\n{title}")
    head = (f"{'row':<16}{'seconds':>9}{'objective':>19}{'cert':>6}{'exact':>6}{'pool':>6}"
            f"{'rays/pass':>13}{'Mrays/s':>9}{'pricing':>9}{'master':>8}{'other':>8}  status")
    print(head)
    print("-" * len(head))
    for name, r in rows:
        d = derived(r)
        print(f"{name:<16}{fmt(r.get('seconds'), '.2f'):>9}{fmt(r.get('objective'), '.12g'):>19}"
              f"{str(r.get('certified', '-')):>6}{fmt(d['exact'], 'd'):>6}{fmt(d['pool'], 'd'):>6}"
              f"{fmt(d['rays'], ',d'):>13}{fmt(d['rate'] and d['rate'] / 1e6, '.2f'):>9}"
              f"{fmt(d['pricing'], '.2f'):>9}{fmt(d['master'], '.2f'):>8}"
              f"{fmt(d['other'], '.2f'):>8}"
              f"  {r.get('status')}")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--baseline", help="a Python interpreter with the baseline exactrelu")
    ap.add_argument("--rows", nargs="*", default=None, choices=list(ROWS))
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--time-limit", type=float, default=1800.0)
    ap.add_argument("--out", default=os.path.join(HERE, "engine.json"))
    ap.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.child:
        return child(*args.child, args.threads, args.time_limit)

    import exactrelu
    names = args.rows or DEFAULT_ROWS
    versions = [("current", sys.executable)]
    if args.baseline:
        versions.append(("baseline", args.baseline))
    results = {v: [] for v, _ in versions}
    with tempfile.TemporaryDirectory() as tmp:
        for name in names:
            spec, loss, beta = ROWS[name]
            X, y = build(spec, loss)
            if isinstance(beta, str):
                beta = exactrelu.beta_max(X, y, loss=loss) / float(beta.split("/")[1][:])
            path = os.path.join(tmp, f"{name}.npz")
            np.savez(path, X=X, y=y, loss=loss, beta=beta)
            for v, py in versions:
                r = run_row(py, path, args.threads, args.time_limit)
                r.update(row=name, n=int(X.shape[0]), d=int(X.shape[1]), loss=loss, beta=beta)
                results[v].append((name, r))
                print(f"  {name} {v}: {r.get('status')} {r['seconds']:.2f} s", file=sys.stderr,
                      flush=True)
    for v, _ in versions:
        print_table(f"{v} ({dict(versions)[v]})", results[v])
    if args.baseline:
        print("\nbaseline / current (seconds; relative objective difference; exact passes)")
        for (name, c), (_, b) in zip(results["current"], results["baseline"]):
            ratio = b["seconds"] / c["seconds"]
            if "objective" in c and "objective" in b:
                rel = abs(c["objective"] - b["objective"]) / max(1.0, abs(b["objective"]))
                agree = f"obj diff {rel:.1e}"
            else:
                agree = f"baseline {b.get('status')}"
            more = "" if b.get("certified", False) else " (baseline not certified)"
            print(f"  {name:<16}{ratio:8.1f}x   {agree}   passes {derived(b)['exact']} -> "
                  f"{derived(c)['exact']}{more}")
    meta = {"python": sys.version.split()[0], "platform": platform.platform(),
            "cpus": os.cpu_count(), "threads": args.threads, "versions": dict(versions)}
    with open(args.out, "w") as fh:
        json.dump({"meta": meta, "results": {v: [r for _, r in rs] for v, rs in results.items()}},
                  fh, indent=1, default=float)
    print(f"\nwrote {args.out}")


if __name__ == "__main__":
    main()
