"""The cone-program adapter: cvxpy problems solved by Clarabel, statuses mapped.

Clarabel's defaults give 1e-8 relative accuracy; certified l2 results need the
tight tolerances below. Every status other than solved raises a named error of
:mod:`exactrelu.errors` (docs/design.md section 5).
"""

from __future__ import annotations

from .errors import InfeasibleError, SolverError, TimeLimitError, UnboundedError

__all__ = ["solve_clarabel", "CLARABEL_OPTIONS", "STATUS_MAP"]

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


def solve_clarabel(problem, time_limit=None, verbose=False):
    """Solve a cvxpy problem with Clarabel at tight tolerances.

    Returns ``(value, gap)``: the optimal value and Clarabel's primal-dual gap.
    """
    import cvxpy as cp  # an optional solver stack: imported only when a cone program is solved

    opts = dict(CLARABEL_OPTIONS)
    if time_limit is not None:
        opts["time_limit"] = float(time_limit)
    data, chain, inv = problem.get_problem_data(cp.CLARABEL, solver_opts=opts)
    raw = chain.solve_via_data(problem, data, False, bool(verbose), opts)
    status = str(raw.status)
    if status != "Solved":
        exc = STATUS_MAP.get(status, SolverError)
        raise exc(_MESSAGES[exc].format(status=status), status=status)
    problem.unpack_results(raw, chain, inv)
    return float(problem.value), float(raw.obj_val - raw.obj_val_dual)
