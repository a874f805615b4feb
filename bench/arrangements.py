"""Benchmark of the arrangement core (not part of the test run).

Prints a table of (n, d, kind, cells, seconds, cells/s/thread, threads) for
enumerate_cells on Gaussian (general position) and degenerate data (integer grids,
duplicated points, coplanar points), the timings of count_cells and enumerate_rays,
and the speed-up over the pure-Python reference (tests/reference.py) at small sizes
in the same run.  Writes everything as JSON.

Seconds are warm: one untimed call, then the best of ``--repeat`` timed calls.

Usage::

    python bench/arrangements.py                   # writes bench/arrangements.json
    python bench/arrangements.py --quick --json /tmp/a.json
    python bench/arrangements.py --baseline /path/to/other/python   # side by side
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
from _baseline import run_baseline

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "tests"))


def best_of(fn, repeat):
    fn()  # warm-up (untimed)
    best = float("inf")
    out = None
    for _ in range(repeat):
        t = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t)
    return best, out


def repeats_for(seconds_once, repeat):
    """Fewer repetitions for slow cases (keeps the whole run to a few minutes)."""
    if seconds_once > 2.0:
        return 1
    if seconds_once > 0.5:
        return max(1, min(repeat, 2))
    return repeat


def print_header(header):
    print(header)
    print("-" * len(header))


def best_of_adaptive(fn, repeat):
    """``best_of`` after one timed trial run that decides the number of repetitions."""
    t0 = time.perf_counter()
    fn()
    return best_of(fn, repeats_for(time.perf_counter() - t0, repeat))


# ----------------------------------------------------------------- data sets


def gaussian(n, d, seed=0):
    return np.random.default_rng([n, d, seed]).normal(size=(n, d))


def grid2(k):
    return np.array([[i, j] for i in range(k) for j in range(k)], dtype=float)


def grid3(k):
    return np.array([[i, j, l] for i in range(k) for j in range(k) for l in range(k)],
                    dtype=float)


def duplicated(n, d, seed=0):
    """n points, each of n/2 Gaussian points twice (exact duplicates)."""
    base = gaussian((n + 1) // 2, d, seed)
    return np.vstack([base, base])[:n]


def coplanar(n, planes=4, seed=0):
    """n integer points in R^3 on a few planes (many coplanar and collinear points)."""
    rng = np.random.default_rng(seed)
    pts = []
    for p in range(planes):
        while True:
            u, v = rng.integers(-2, 3, size=(2, 3))
            if np.any(np.cross(u, v)):
                break
        p0 = rng.integers(-3, 4, size=3)
        for _ in range(p, n, planes):
            s, t = rng.integers(-4, 5, size=2)
            pts.append(p0 + s * u + t * v)
    return np.array(pts, dtype=float)


def integer_box(n, d, span, seed=0):
    return np.random.default_rng(seed).integers(-span, span + 1, size=(n, d)).astype(float)


def cases(quick):
    """(name, kind, X, bias) of the enumeration benchmark."""
    out = [
        ("gauss", "general", gaussian(100, 3), True),   # the headline: 323,600 cells
        ("gauss", "general", gaussian(200, 2), True),   # 39,802 cells, target < 10 ms
        ("gauss", "general", gaussian(50, 4), True),
        ("gauss", "general", gaussian(40, 3), False),
        ("grid 14x14", "degenerate", grid2(14), True),
        ("cube 5^3", "degenerate", grid3(5), True),
        ("duplicated", "degenerate", duplicated(200, 3), True),
        ("coplanar", "degenerate", coplanar(100), True),
        ("int box", "degenerate", integer_box(100, 3, 3), True),
        ("int box", "degenerate", integer_box(200, 2, 4), True),
    ]
    if not quick:
        out += [
            ("gauss", "general", gaussian(150, 3), True),
            ("gauss", "general", gaussian(1000, 2), True),
            ("grid 30x30", "degenerate", grid2(30), True),
            ("cube 7^3", "degenerate", grid3(7), True),
        ]
    return out


def reference_cases():
    return [
        ("gauss", gaussian(8, 2), True),
        ("gauss", gaussian(12, 3), True),
        ("gauss", gaussian(20, 3), True),
        ("grid 4x4", grid2(4), True),
        ("grid 5x5", grid2(5), True),
        ("int box", integer_box(12, 3, 1, seed=3), True),
    ]


# ----------------------------------------------------------------- runs


def run(args):
    nthreads = os.cpu_count() or 1
    thread_list = sorted({1, nthreads}) if args.threads is None else args.threads
    rows = []
    print(f"exactrelu {exactrelu.__version__}, {platform.processor() or platform.machine()}, "
          f"{nthreads} cores, best of {args.repeat} warm runs\n")

    hdr = (f"{'data':<12}{'n':>6}{'d':>3}{'bias':>5} {'kind':<11}{'cells':>11}{'threads':>8}"
           f"{'seconds':>11}{'cells/s/thread':>16}")
    print("enumerate_cells")
    print_header(hdr)
    for name, kind, X, bias in cases(args.quick):
        n, d = X.shape
        for th in thread_list:
            sec, cells = best_of_adaptive(
                lambda X=X, bias=bias, th=th: exactrelu.enumerate_cells(X, bias=bias, threads=th),
                args.repeat)
            nc = len(cells)
            rate = nc / sec / th
            rows.append(dict(op="enumerate_cells", data=name, kind=kind, n=n, d=d, bias=bias,
                             cells=nc, threads=th, seconds=sec, cells_per_s_per_thread=rate,
                             bits_per_s_per_thread=rate * n))
            print(f"{name:<12}{n:>6}{d:>3}{'yes' if bias else 'no':>5} {kind:<11}{nc:>11,}{th:>8}"
                  f"{sec:>11.4f}{rate:>16,.0f}")

    print("\ncount_cells and enumerate_rays (threads = all)")
    hdr2 = (f"{'data':<12}{'n':>6}{'d':>3} {'count_cells':>12}{'seconds':>10}"
            f"{'rays':>12}{'seconds':>10}{'rays/s':>14}")
    print_header(hdr2)
    for name, kind, X, bias in cases(args.quick):
        n, d = X.shape
        sc, c = best_of(lambda X=X, bias=bias: exactrelu.count_cells(X, bias=bias), args.repeat)
        sr, rays = best_of_adaptive(lambda X=X, bias=bias: exactrelu.enumerate_rays(X, bias=bias),
                                    args.repeat)
        rows.append(dict(op="count_cells", data=name, kind=kind, n=n, d=d, bias=bias, cells=c,
                         seconds=sc))
        rows.append(dict(op="enumerate_rays", data=name, kind=kind, n=n, d=d, bias=bias,
                         rays=len(rays), threads=nthreads, seconds=sr,
                         rays_per_s=len(rays) / sr))
        print(f"{name:<12}{n:>6}{d:>3} {c:>12,}{sc:>10.4f}{len(rays):>12,}{sr:>10.4f}"
              f"{len(rays) / sr:>14,.0f}")

    print("\nagainst the pure-Python reference (tests/reference.py, LP insertion), threads = 1")
    hdr3 = (f"{'data':<12}{'n':>6}{'d':>3}{'cells':>8}{'reference s':>13}{'core s':>11}"
            f"{'ratio':>11}")
    print_header(hdr3)
    from reference import lift, reference_cells

    for name, X, bias in reference_cases():
        n, d = X.shape
        A = lift(X, bias)
        t0 = time.perf_counter()
        ref = reference_cells(A, whitney_max=-1)
        sref = time.perf_counter() - t0
        score, cells = best_of(
            lambda X=X, bias=bias: exactrelu.enumerate_cells(X, bias=bias, threads=1), args.repeat)
        same = set(map(tuple, cells.patterns.tolist())) == ref.patterns
        rows.append(dict(op="reference_ratio", data=name, n=n, d=d, bias=bias, cells=len(cells),
                         reference_seconds=sref, core_seconds=score, ratio=sref / score,
                         same_cells=same))
        print(f"{name:<12}{n:>6}{d:>3}{len(cells):>8}{sref:>13.3f}{score:>11.6f}"
              f"{sref / score:>10,.0f}x{'' if same else '  (DIFFERENT CELLS)'}")

    # summary against the targets of issue 2
    def find(op, n, d, th, name="gauss"):
        for r in rows:
            if (r["op"], r.get("data"), r["n"], r["d"], r.get("threads")) == (op, name, n, d, th):
                return r
        return None

    print("\ntargets")
    h = find("enumerate_cells", 100, 3, 1)
    if h:
        print(f"  n=100, d=3 (323,600 cells), 1 thread: {h['cells_per_s_per_thread'] / 1e6:.2f} M "
              f"cells/s (target 10 M/s per core)")
    for th in thread_list:
        h = find("enumerate_cells", 200, 2, th)
        if h:
            print(f"  n=200, d=2, {th} thread(s): {h['seconds'] * 1e3:.2f} ms (target < 10 ms)")
    # degenerate vs general position: pair each degenerate case with the Gaussian case of
    # the same d and bias closest in n (the output has n bits a cell, so compare like with like)
    gauss_rows = [r for r in rows if r["op"] == "enumerate_cells" and r["kind"] == "general"]
    for th in thread_list:
        worst = None
        for r in rows:
            if r["op"] != "enumerate_cells" or r["kind"] != "degenerate" or r["threads"] != th:
                continue
            peers = [g for g in gauss_rows if (g["d"], g["bias"], g["threads"]) ==
                     (r["d"], r["bias"], th)]
            if not peers:
                continue
            g = min(peers, key=lambda g: abs(np.log(g["n"] / r["n"])))
            slow = g["cells_per_s_per_thread"] / r["cells_per_s_per_thread"]
            r["slowdown_vs_general"] = slow
            r["general_peer"] = dict(n=g["n"], d=g["d"])
            if worst is None or slow > worst[0]:
                worst = (slow, r, g)
        if worst:
            slow, r, g = worst
            print(f"  degenerate, {th} thread(s): slowest {r['data']} (n={r['n']}, d={r['d']}) is "
                  f"{slow:.2f}x slower per cell than Gaussian n={g['n']}, d={g['d']} "
                  f"(target within 3x)")

    meta = dict(version=exactrelu.__version__, cores=nthreads, repeat=args.repeat,
                machine=platform.machine(), processor=platform.processor(),
                python=platform.python_version(), numpy=np.__version__,
                time=time.strftime("%Y-%m-%d %H:%M:%S"))
    os.makedirs(os.path.dirname(os.path.abspath(args.json)), exist_ok=True)
    with open(args.json, "w") as f:
        json.dump(dict(meta=meta, rows=rows), f, indent=1)
    print(f"\nwrote {args.json}")


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--json", default=os.path.join(HERE, "arrangements.json"),
                   help="where to write the results (default: bench/arrangements.json)")
    p.add_argument("--repeat", type=int, default=5, help="timed runs per case (best is kept)")
    p.add_argument("--threads", type=int, nargs="+", default=None,
                   help="thread counts to time (default: 1 and all cores)")
    p.add_argument("--quick", action="store_true", help="skip the largest cases")
    p.add_argument("--baseline", help="another Python interpreter with the exactrelu to compare "
                                      "against: it runs the same cases first, then a table of "
                                      "both timings and their ratios")
    args = p.parse_args(argv)
    if args.baseline:
        base_json = os.path.splitext(args.json)[0] + ".baseline.json"
        extra = ["--repeat", str(args.repeat)]
        if args.threads:
            extra += ["--threads"] + [str(t) for t in args.threads]
        if args.quick:
            extra.append("--quick")
        run_baseline(args.baseline, __file__, base_json, extra)
    run(args)
    if args.baseline:
        compare(base_json, args.json)


def compare(base_json, new_json):
    """Print the timings of both runs side by side (same cases, same machine)."""
    with open(base_json) as f:
        base = json.load(f)
    with open(new_json) as f:
        new = json.load(f)

    def key(r):
        return (r["op"], r.get("data"), r["n"], r["d"], r.get("bias"), r.get("threads"))

    old = {key(r): r for r in base["rows"]}
    print(f"\nside by side: baseline {base['meta']['version']} ({base_json}) against this run")
    hdr = (f"{'operation':<16}{'data':<12}{'n':>6}{'d':>3}{'threads':>8}{'before s':>11}"
           f"{'now s':>11}{'ratio':>8}")
    print_header(hdr)
    for r in new["rows"]:
        b = old.get(key(r))
        if b is None or "seconds" not in r or "seconds" not in b:
            continue
        th = r.get("threads") or "-"
        print(f"{r['op']:<16}{r['data']:<12}{r['n']:>6}{r['d']:>3}{th:>8}{b['seconds']:>11.4f}"
              f"{r['seconds']:>11.4f}{b['seconds'] / r['seconds']:>7.1f}x")


if __name__ == "__main__":
    main()
