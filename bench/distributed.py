"""Benchmark of the Dask engine: the same problems locally and on 1 and 2 workers.

Each problem is run in this process with ``threads`` local threads, then with
``client=`` on a LocalCluster of 1 and of 2 single-threaded worker processes on this
machine. Prints, per problem and configuration: seconds, the ratio to local, passes,
shard tasks, the shards' compute seconds, the bytes sent into the graph and brought
back, and whether the answer equals the local one. Writes every row to a JSON file.

From the 2-worker run it then *projects* the time on 8-64 workers (a model, not a
measurement): per pass, the shards' total compute spread over W workers, never less
than its longest shard when split as the engine would split it for W workers
(``S_W`` shards: about 0.5 s each, 2-64 per worker, at most one per data row), with
the imbalance (longest shard / mean shard) measured on 2 workers; plus the per-pass
overhead measured on 2 workers (scheduling, transfers, the merge); plus the client's
own work (the master program, pool pricing, rescoring), which does not shrink.

    python bench/distributed.py
    python bench/distributed.py --problems d4-n100 --workers 1 2

Needs ``pip install 'exactrelu[dask]'``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
# this file's name would shadow Dask's `distributed` package: keep bench/ off the path
sys.path[:] = [p for p in sys.path if os.path.abspath(p or ".") != HERE]

import exactrelu  # noqa: E402
from exactrelu.cluster import local_cluster  # noqa: E402

#: name -> (kind, n, d): solves at beta_max / 10 (squared loss), counts, enumerations
PROBLEMS = {
    "d4-n100": ("solve", 100, 4),
    "d5-n60": ("solve", 60, 5),
    "d3-n300": ("solve", 300, 3),
    "count-d3-n400": ("count_cells", 400, 3),
    "cells-d3-n100": ("enumerate_cells", 100, 3),
}
DEFAULT = ["d4-n100", "d3-n300", "count-d3-n400", "cells-d3-n100"]
PROJECT_WORKERS = (8, 16, 32, 64)


def data(n, d, seed=0):
    """The random problems of bench/solve.py (loaded by path, see above)."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("bench_solve", os.path.join(HERE, "solve.py"))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod.random_problem(n, d, "squared", seed)


def run_one(name, client, threads, beta_cache):
    """(seconds, answer, stats dict) of one problem."""
    kind, n, d = PROBLEMS[name]
    X, y = data(n, d)
    t0 = time.perf_counter()
    stats = {}
    if kind == "solve":
        if name not in beta_cache:
            beta_cache[name] = exactrelu.beta_max(X, y, threads=threads) / 10
        sol = exactrelu.solve(X, y, beta=beta_cache[name], threads=threads, client=client,
                              method="colgen")
        answer = (sol.objective, sol.network.W.tobytes(), sol.network.a.tobytes())
        stats["certified"] = bool(sol.certified)
        stats["objective"] = float(sol.objective)
    elif kind == "count_cells":
        answer = exactrelu.count_cells(X, threads=threads, client=client)
        stats["cells"] = answer
    else:
        cells = exactrelu.enumerate_cells(X, threads=threads, client=client)
        answer = (cells.packed.tobytes(), cells.witnesses.tobytes())
        stats["cells"] = len(cells)
    return time.perf_counter() - t0, answer, stats


def projection(row, other_seconds, overhead_per_pass, n_rows):
    """Projected seconds on W workers (see the module docstring)."""
    from exactrelu.cluster import MAX_SHARDS_PER_SLOT, MIN_SHARDS_PER_SLOT, SHARD_SECONDS

    out = {}
    for W in PROJECT_WORKERS:
        t = other_seconds
        for work, longest, S in zip(row["pass_work"], row["pass_max_shard"], row["pass_shards"]):
            imbalance = longest / (work / S) if work > 0 else 1.0
            S_W = int(np.clip(np.ceil(work / SHARD_SECONDS), MIN_SHARDS_PER_SLOT * W,
                              MAX_SHARDS_PER_SLOT * W))
            S_W = max(1, min(S_W, n_rows))
            t += max(work / W, imbalance * work / S_W) + overhead_per_pass
        out[W] = t
    return out


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--problems", nargs="*", default=DEFAULT, choices=sorted(PROBLEMS))
    ap.add_argument("--workers", nargs="*", type=int, default=[1, 2])
    ap.add_argument("--threads", type=int, default=2, help="local threads (default 2)")
    ap.add_argument("--out", default=os.path.join(HERE, "distributed.json"))
    args = ap.parse_args(argv)
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    beta_cache = {}
    rows = []
    local = {}
    for name in args.problems:
        sec, ans, st = run_one(name, None, args.threads, beta_cache)
        local[name] = (sec, ans)
        rows.append({"problem": name, "config": f"local ({args.threads} threads)",
                     "workers": 0, "seconds": sec, "equal": True, **st})
        print(f"{name}: local {sec:.2f} s", file=sys.stderr)
    for W in args.workers:
        with local_cluster(W) as client:
            for name in args.problems:
                from exactrelu import cluster as cl

                # the solver's engine is reachable through the Solution's sizes; for
                # the passes' detail (per pass work and longest shard) hook the class
                seen = []
                orig = cl.ShardEngine.run

                def spy(self, *a, _orig=orig, _seen=seen, **k):
                    out = _orig(self, *a, **k)
                    S = out[1]
                    _seen.append((self.stats.pass_work[-1], max(self.stats.shard_seconds[-S:]),
                                  self.stats.pass_seconds[-1], S,
                                  self.stats.bytes_sent, self.stats.bytes_received))
                    return out

                cl.ShardEngine.run = spy
                try:
                    sec, ans, st = run_one(name, client, args.threads, beta_cache)
                finally:
                    cl.ShardEngine.run = orig
                row = {"problem": name, "config": f"{W} worker{'s' * (W > 1)}", "workers": W,
                       "seconds": sec, "equal": ans == local[name][1], **st,
                       "passes": len(seen), "tasks": sum(s[3] for s in seen),
                       "pass_work": [s[0] for s in seen],
                       "pass_max_shard": [s[1] for s in seen],
                       "pass_shards": [s[3] for s in seen],
                       "pass_wall": [s[2] for s in seen],
                       "bytes_sent": sum(s[4] for s in seen[-1:]) if seen else 0,
                       "bytes_received": sum(s[5] for s in seen[-1:]) if seen else 0}
                rows.append(row)
                print(f"{name}: {W} workers {sec:.2f} s, equal={row['equal']}", file=sys.stderr)
    print_table(rows, local)
    proj = project(rows)
    with open(args.out, "w") as fh:
        json.dump({"meta": {"platform": platform.platform(), "cpu_count": os.cpu_count(),
                            "python": platform.python_version(),
                            "exactrelu": exactrelu.__version__},
                   "rows": rows, "projection": proj}, fh, indent=1, default=str)
    print(f"\nwrote {args.out}")


def print_table(rows, local):
    print()
    print(f"{'problem':<16}{'config':<18}{'seconds':>9}{'vs local':>9}{'passes':>7}"
          f"{'tasks':>7}{'shard s':>9}{'sent KB':>9}{'recv KB':>9}{'equal':>7}")
    for r in rows:
        base = local[r["problem"]][0]
        work = sum(r.get("pass_work", [])) if r["workers"] else float("nan")
        print(f"{r['problem']:<16}{r['config']:<18}{r['seconds']:>9.2f}"
              f"{base / r['seconds']:>8.2f}x{r.get('passes', 0):>7}{r.get('tasks', 0):>7}"
              f"{work:>9.2f}{r.get('bytes_sent', 0) / 1e3:>9.1f}"
              f"{r.get('bytes_received', 0) / 1e3:>9.1f}{str(r['equal']):>7}")


def project(rows):
    """The projection for 8-64 workers from each problem's 2-worker row (or the
    largest measured)."""
    out = {}
    print()
    print("PROJECTION (a model from the measured shard costs, not a measurement): seconds on W "
          "workers = client work + per pass max(work / W, imbalance * work / shards for W) "
          "+ per-pass overhead")
    print(f"{'problem':<16}{'client s':>9}{'work s':>9}{'overhead/pass':>14}"
          + "".join(f"{f'W={W}':>9}" for W in PROJECT_WORKERS))
    by = {}
    for r in rows:
        if r["workers"] and r["workers"] >= by.get(r["problem"], {"workers": 0})["workers"]:
            by[r["problem"]] = r
    for name, r in by.items():
        W0 = r["workers"]
        walls, works = np.array(r["pass_wall"]), np.array(r["pass_work"])
        longest = np.array(r["pass_max_shard"])
        ideal = np.maximum(works / W0, longest)
        overhead = float(np.mean(np.maximum(walls - ideal, 0.0))) if len(walls) else 0.0
        client = max(0.0, r["seconds"] - float(walls.sum()))
        p = projection(r, client, overhead, PROBLEMS[name][1])
        out[name] = {"from_workers": W0, "client_seconds": client, "overhead_per_pass": overhead,
                     "work_seconds": float(works.sum()), "projected_seconds": p}
        print(f"{name:<16}{client:>9.2f}{works.sum():>9.2f}{overhead:>14.3f}"
              + "".join(f"{p[W]:>9.2f}" for W in PROJECT_WORKERS))
    return out


if __name__ == "__main__":
    main()
