"""Benchmark of one exact pricing pass (not part of the test run).

Times the exact pass column generation runs over every ray of the arrangement
(``exactrelu._core.price_rays``: Gaussian data with a bias, random multipliers, the
top 5 rays and a pool of 50) on one thread, and prints the rays priced per second:
the per-core rate of the walk and the float scoring (docs/design.md section 8).
Seconds are warm: one untimed call, then the best of ``--repeat`` timed calls. With
``--baseline PYTHON`` the same cases run first under another interpreter (another
installed exactrelu), then both timings and their ratios are printed side by side.

Usage::

    python bench/pricing.py                        # writes bench/pricing.json
    python bench/pricing.py --baseline /path/to/other/python
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time

import numpy as np

from _baseline import run_baseline

HERE = os.path.dirname(os.path.abspath(__file__))

# (n, d): about 1 M, 5 M, 1 M and 11 M rays per pass
CASES = [(1000, 2), (250, 3), (60, 4), (60, 5)]


def one_case(n, d, threads, repeat):
    from exactrelu import _core

    rng = np.random.default_rng([n, d])
    X = rng.standard_normal((n, d))
    A = np.ascontiguousarray(np.hstack([X, np.ones((n, 1))]))
    lam = rng.standard_normal(n)
    mask = np.ones(d + 1, bool)
    mask[-1] = False

    def call():
        return _core.price_rays(A, n, lam, mask, top_k=5, threads=threads, pool_size=50)

    call()
    best, out = float("inf"), None
    for _ in range(repeat):
        t = time.perf_counter()
        out = call()
        best = min(best, time.perf_counter() - t)
    rays = int(out[2])
    return {"n": n, "d": d, "threads": threads, "seconds": best, "rays": rays,
            "rays_per_s": rays / best, "top_score": float(out[0][0])}


def run(args):
    import exactrelu

    rows = [one_case(n, d, args.threads, args.repeat) for n, d in CASES]
    print(f"exactrelu {exactrelu.__version__}, {platform.machine()}, {os.cpu_count()} cores, "
          f"{args.threads} thread(s), best of {args.repeat} warm runs")
    print(f"{'n':>6}{'d':>3}{'rays':>13}{'seconds':>10}{'M rays/s':>10}{'per thread':>12}")
    for r in rows:
        rate = r["rays_per_s"] / 1e6
        print(f"{r['n']:>6}{r['d']:>3}{r['rays']:>13,}{r['seconds']:>10.4f}{rate:>10.2f}"
              f"{rate / r['threads']:>12.2f}")
    meta = {"version": exactrelu.__version__, "file": exactrelu.__file__,
            "machine": platform.machine(), "cores": os.cpu_count()}
    with open(args.json, "w") as f:
        json.dump({"meta": meta, "rows": rows}, f, indent=1)
    print(f"wrote {args.json}")


def compare(base_json, new_json):
    with open(base_json) as f:
        base = json.load(f)
    with open(new_json) as f:
        new = json.load(f)
    print(f"\nside by side: baseline {base['meta']['file']} against this run")
    print(f"{'n':>6}{'d':>3}{'before s':>11}{'now s':>11}{'ratio':>8}  same top score")
    for b, r in zip(base["rows"], new["rows"]):
        same = abs(b["top_score"] - r["top_score"]) <= 1e-12 * abs(r["top_score"])
        print(f"{r['n']:>6}{r['d']:>3}{b['seconds']:>11.4f}{r['seconds']:>11.4f}"
              f"{b['seconds'] / r['seconds']:>7.2f}x  {'yes' if same else 'NO'}")


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--json", default=os.path.join(HERE, "pricing.json"),
                   help="where to write the results (default: bench/pricing.json)")
    p.add_argument("--repeat", type=int, default=5, help="timed runs per case (best is kept)")
    p.add_argument("--threads", type=int, default=1, help="threads of the pass (default 1)")
    p.add_argument("--baseline", help="another Python interpreter with the exactrelu to compare "
                                      "against (it runs the same cases first)")
    args = p.parse_args(argv)
    if args.baseline:
        base_json = os.path.splitext(args.json)[0] + ".baseline.json"
        run_baseline(args.baseline, __file__, base_json,
                     ["--repeat", str(args.repeat), "--threads", str(args.threads)])
    run(args)
    if args.baseline:
        compare(base_json, args.json)


if __name__ == "__main__":
    sys.exit(main())
