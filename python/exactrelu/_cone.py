"""The cone-program adapter: cvxpy problems solved by Clarabel, statuses mapped.

Clarabel's defaults give 1e-8 relative accuracy; certified l2 results need the
tight tolerances below. Every status other than solved raises a named error of
:mod:`exactrelu.errors` (docs/design.md section 5).

Neither cvxpy's compilation nor Clarabel's solve can be interrupted from Python,
so :func:`solve_in_child` builds and solves the program in a child process that the
caller stops at the deadline or on Ctrl-C.
"""

from __future__ import annotations

import multiprocessing
import sys
import time
import warnings
from contextlib import contextmanager

from .errors import InfeasibleError, SolverError, TimeLimitError, UnboundedError

__all__ = ["solve_clarabel", "solve_in_child", "CLARABEL_OPTIONS", "STATUS_MAP"]

#: How often (seconds) the parent checks the deadline and Ctrl-C while the child works.
_POLL_SECONDS = 0.05

#: Tolerances for certified cone programs.
CLARABEL_OPTIONS = dict(tol_gap_abs=1e-10, tol_gap_rel=1e-10, tol_feas=1e-10,
                        tol_infeas_abs=1e-10, tol_infeas_rel=1e-10, tol_ktratio=1e-8,
                        max_iter=500)

#: Clarabel status -> exception raised for it (``None``: solved).
STATUS_MAP = {
    "Solved": None,
    "PrimalInfeasible": InfeasibleError,
    "AlmostPrimalInfeasible": InfeasibleError,
    "DualInfeasible": UnboundedError,
    "AlmostDualInfeasible": UnboundedError,
    "MaxTime": TimeLimitError,
}

_MESSAGES = {
    InfeasibleError: "Clarabel: the cone program is infeasible ({status})",
    UnboundedError: "Clarabel: the cone program is unbounded ({status})",
    TimeLimitError: "Clarabel stopped at the time limit",
    SolverError: "Clarabel did not solve the cone program to optimality: {status}",
}


def solve_clarabel(problem, time_limit=None, verbose=False, inaccurate_ok=False):
    """Solve a cvxpy problem with Clarabel at tight tolerances.

    Returns ``(value, gap)``: the optimal value and Clarabel's primal-dual gap.
    ``inaccurate_ok`` also accepts ``"AlmostSolved"`` (for a program whose answer is
    checked independently, e.g. by a certificate).
    """
    import cvxpy as cp  # an optional solver stack: imported only when a cone program is solved

    opts = dict(CLARABEL_OPTIONS)
    if time_limit is not None:
        opts["time_limit"] = float(time_limit)
    data, chain, inv = problem.get_problem_data(cp.CLARABEL, solver_opts=opts)
    raw = chain.solve_via_data(problem, data, False, bool(verbose), opts)
    status = str(raw.status)
    if status != "Solved" and not (inaccurate_ok and status == "AlmostSolved"):
        exc = STATUS_MAP.get(status, SolverError)
        raise exc(_MESSAGES[exc].format(status=status), status=status)
    with warnings.catch_warnings():   # cvxpy's "may be inaccurate": accepted above
        warnings.simplefilter("ignore", UserWarning)
        problem.unpack_results(raw, chain, inv)
    return float(problem.value), float(raw.obj_val - raw.obj_val_dual)


def _child(conn, build, args, kwargs, time_limit, verbose, inaccurate_ok):
    try:
        problem, extract, sizes = build(*args, **kwargs)
        value, gap = solve_clarabel(problem, time_limit, verbose, inaccurate_ok)
        conn.send(("ok", (value, gap, extract(), sizes)))
    except BaseException as exc:  # sent to the parent, which raises it
        conn.send(("error", exc))
    finally:
        conn.close()


def _context():
    methods = multiprocessing.get_all_start_methods()
    if "forkserver" in methods:
        ctx = multiprocessing.get_context("forkserver")
        # the server imports the solver stack once; each solve forks from it
        ctx.set_forkserver_preload(["exactrelu.programs.cell", "cvxpy", "clarabel"])
        return ctx
    return multiprocessing.get_context("spawn")


@contextmanager
def _main_module_hidden():
    """Start children without re-running the caller's script in them.

    A spawned or forkserver child first re-imports ``__main__`` from its file (unless
    guarded by ``if __name__ == "__main__"``, a script's ``solve`` call would run again
    there and fail with "An attempt has been made to start a new process before the
    current process has finished its bootstrapping phase"). The child needs nothing
    from the caller's module (it runs exactrelu's functions on numpy arrays), so the
    main module's file and spec are hidden while the child is started.
    """
    main = sys.modules.get("__main__")
    saved = {}
    if main is not None:
        for name in ("__file__", "__spec__"):
            if name in vars(main):
                saved[name] = vars(main)[name]
        main.__spec__ = None
        if "__file__" in saved:
            del main.__file__
    try:
        yield
    finally:
        if main is not None:
            for name, value in saved.items():
                setattr(main, name, value)


def solve_in_child(build, args, kwargs=None, time_limit=None, verbose=False,
                   inaccurate_ok=False):
    """``build(*args, **kwargs) -> (problem, extract, sizes)``, solved by Clarabel in a
    child process; returns ``(value, gap, extract(), sizes)`` (``inaccurate_ok`` as
    in :func:`solve_clarabel`).

    The child is stopped when ``time_limit`` seconds have passed (TimeLimitError) or
    on Ctrl-C (KeyboardInterrupt, re-raised), within :data:`_POLL_SECONDS`.
    """
    ctx = _context()
    recv, send = ctx.Pipe(duplex=False)
    proc = ctx.Process(target=_child, args=(send, build, args, kwargs or {}, time_limit,
                                            verbose, inaccurate_ok), daemon=True)
    start = time.perf_counter()
    with _main_module_hidden():
        proc.start()
    send.close()
    try:
        while not recv.poll(_POLL_SECONDS):
            if not proc.is_alive() and not recv.poll(0):
                raise SolverError(f"the cone solver's process ended without an answer "
                                  f"(exit code {proc.exitcode})", status="crashed")
            if time_limit is not None and time.perf_counter() - start > time_limit:
                raise TimeLimitError(f"the time limit ({time_limit:.3g} s left) was reached "
                                     "while building or solving the cone program",
                                     status="time_limit")
        status, payload = recv.recv()
    finally:
        if proc.is_alive():
            proc.terminate()
            proc.join(2)
            if proc.is_alive():  # pragma: no cover - a child that ignores SIGTERM
                proc.kill()
        proc.join()
        recv.close()
    if status == "error":
        raise payload
    return payload
