"""What fits: seconds to a certified optimum by n, d and loss (the README's table).

    python bench/fits.py              # the table in the README (a few minutes on 2 cores)
    python bench/fits.py --limit 60   # per-problem time limit of the solve, in seconds

Each row is ``exactrelu.solve`` with the default method (column generation with exact
pricing) on random Gaussian data, beta = beta_max / 10 (hinge: +-1 labels from the
same targets). A row that exceeds the limit is reported as such; a row whose size
estimate is refused reports the refusal. Writes ``bench/fits.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time

import exactrelu
from exactrelu.errors import SizeError, TimeLimitError

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from solve import random_problem  # noqa: E402  (the same problems as bench/solve.py)

ROWS = [(1, 1000), (2, 100), (2, 1000), (3, 100), (3, 200), (4, 50), (5, 30)]


def run(n, d, loss, limit):
    X, y = random_problem(n, d, loss)
    row = {"n": n, "d": d, "loss": loss}
    t0 = time.perf_counter()
    try:
        beta = exactrelu.beta_max(X, y, loss=loss) / 10
        sol = exactrelu.solve(X, y, loss=loss, beta=beta, time_limit=limit)
    except TimeLimitError:
        row.update(status=f"> {limit:g} s", seconds=None)
        return row
    except SizeError as exc:
        row.update(status=f"refused ({exc.what} estimate {exc.estimate:.2g})", seconds=None)
        return row
    row.update(status="certified" if sol.certified else "not certified",
               seconds=time.perf_counter() - t0, neurons=sol.network.n_neurons,
               objective=sol.objective, passes=sol.sizes.get("exact_pricing_passes"))
    return row


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--limit", type=float, default=20.0, help="seconds per problem")
    ap.add_argument("--out", default=os.path.join(os.path.dirname(__file__), "fits.json"))
    args = ap.parse_args(argv)
    rows = []
    print("| n | d | loss | seconds (beta_max + solve) | neurons | status |")
    print("|---:|---:|---|---:|---:|---|")
    for d, n in ROWS:
        for loss in ("squared", "hinge"):
            r = run(n, d, loss, args.limit)
            rows.append(r)
            secs = "-" if r["seconds"] is None else f"{r['seconds']:.2f}"
            print(f"| {n:,} | {d} | {loss} | {secs} | {r.get('neurons', '-')} | {r['status']} |",
                  flush=True)
    meta = {"python": sys.version.split()[0], "cpus": os.cpu_count(),
            "exactrelu": exactrelu.__version__, "limit": args.limit}
    with open(args.out, "w") as fh:
        json.dump({"meta": meta, "rows": rows}, fh, indent=1, default=float)
    print(f"\nwrote {args.out}")


if __name__ == "__main__":
    main()
