"""Ctrl-C reaches a long enumeration: the core polls for signals and stops cleanly."""

import sys
import textwrap

import pytest

from interrupting import run_until_interrupted

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")

SCRIPT = textwrap.dedent("""
    import os, signal, threading, sys
    # a child of a background job inherits SIGINT as ignored: restore Python's handler
    signal.signal(signal.SIGINT, signal.default_int_handler)
    import numpy as np, exactrelu
    X = np.random.default_rng(0).normal(size=(400, 5))     # ~10^10 cells: hours of work
    print("ready", flush=True)
    try:
        exactrelu.{call}
    except KeyboardInterrupt:
        print("interrupted", flush=True)
        # the process is still healthy afterwards
        print(exactrelu.count_cells(np.eye(3)), flush=True)
        sys.exit(0)
    sys.exit(3)
""")


@pytest.mark.parametrize("call", [
    "count_cells(X, threads=2, max_rays=2**60)",
    "enumerate_cells(X, threads=1, witnesses=False, memory_limit=2**52)",
    "enumerate_rays(X, threads=2, memory_limit=2**52)",
    # the simplicial bound (a search of ~10^12 simplices), on 2 threads
    "_core.simplex_search(np.hstack([X, np.ones((400, 1))]), np.tile([1.0, -1.0], 200), "
    "True, 5.0, 0.0, 0.0, 10**12, 1, 2)",
])
def test_ctrl_c_interrupts_the_core(call):
    out = run_until_interrupted(SCRIPT.replace("{call}", call), 1.0)
    assert out.strip().splitlines()[-1] == "8"


SOLVE_SCRIPT = textwrap.dedent("""
    import signal, sys
    signal.signal(signal.SIGINT, signal.default_int_handler)
    import numpy as np, exactrelu
    X = np.random.default_rng(0).uniform(-1, 1, (70, 2))   # the l2 cell program: minutes
    y = np.sin(3 * X[:, 0]) + X[:, 1]
    # start the solver process
    exactrelu.solve(X[:5], y[:5], beta=0.05, penalty="l2", method="cells")
    print("ready", flush=True)
    try:
        exactrelu.solve(X, y, beta=0.05, penalty="l2", method="cells")
    except KeyboardInterrupt:
        print("interrupted", flush=True)
        print(exactrelu.solve(X[:5], y[:5], beta=0.05, penalty="l2").certified, flush=True)
        sys.exit(0)
    sys.exit(3)
""")


def test_ctrl_c_interrupts_the_cone_solve():
    """Clarabel cannot be interrupted in-process: the cone program runs in a child
    that Ctrl-C stops, and the caller gets KeyboardInterrupt."""
    out = run_until_interrupted(SOLVE_SCRIPT, 2.0)
    assert out.strip().splitlines()[-1] == "True"
