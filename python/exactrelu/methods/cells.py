"""Method ``"cells"``: the Pilanci-Ergen cell program (docs/design.md section 5).

l1 group norms give an LP/QP equal to the ray program (the cross-check); l2 group
norms give the exact weight-decay problem, a cone program. Interior-point solutions
are dense: :func:`sparse_refit` re-solves an LP over the solution's own neuron
directions for a network of at most n neurons with no larger penalty.
``patterns=`` restricts the program to given activation patterns (not certified).
"""

from __future__ import annotations

import numpy as np

from .._cone import solve_in_child
from ..arrangement import arrangement_info, count_cells, enumerate_cells
from ..columns import relu_columns, weight_norms
from ..errors import InfeasibleError, InputError, SolverError
from ..limits import (
    CELLS_L2_MAX_ENTRIES,
    CELLS_MAX_ENTRIES,
    refuse_if_too_large,
    size_limit,
)
from ..pricing import ExactPricer
from ..programs import RayProgram, cell_program_cvxpy, cell_program_highs
from .base import MethodResult

__all__ = ["solve_cells_l1", "solve_cells_l2", "sparse_refit", "tame_biases"]

#: A neuron of the cell solution whose weight norm is below this fraction of the
#: largest is dropped by the refit (its output is carried by the fit targets).
_TINY_NEURON_RTOL = 1e-12
#: (presolve, feasibility tolerance) tried in turn by the refit LP; see sparse_refit.
_REFIT_ATTEMPTS = (("choose", None), ("off", None), ("off", 1e-8))


def _check_patterns(patterns, n):
    pats = np.asarray(patterns)
    if pats.ndim != 2 or pats.shape[1] != n:
        raise InputError(f"patterns must have shape (n_patterns, {n}), got {pats.shape}")
    if pats.dtype.kind not in "biu":
        raise InputError(f"patterns must be boolean (0/1), got dtype {pats.dtype}")
    if np.any((pats != 0) & (pats != 1)):
        raise InputError("patterns must be boolean (0/1)")
    return pats.astype(bool)


def _patterns(prob, ctx, patterns, l2):
    """``(patterns, complete)``: the given ones, or every cell of the arrangement."""
    limit = size_limit(ctx.max_cells, CELLS_L2_MAX_ENTRIES if l2 else CELLS_MAX_ENTRIES,
                       "max_cells")
    if patterns is not None:
        return _check_patterns(patterns, prob.n), False
    info = arrangement_info(prob.X, bias=prob.bias)
    refuse_if_too_large(
        info.cells_bound, lambda: count_cells(prob.X, bias=prob.bias, progress=ctx.progress,
                                   client=prob.client),
        prob.n, limit,
        what="cell rows",
        message=lambda est: (
            f"method='cells' needs {est:,} cells x {prob.n} rows "
            f"({est * prob.n:,} constraint rows, limit {limit:,}"
            f"{'; the l2 penalty has no other exact method' if l2 else '; use colgen'})"))
    cells = enumerate_cells(prob.X, bias=prob.bias, threads=prob.threads, witnesses=False,
                            progress=ctx.progress, client=prob.client)
    return cells.patterns, True


def solve_cells_l1(prob, ctx, patterns=None):
    with ctx.timed("arrangement"):
        pats, complete = _patterns(prob, ctx, patterns, False)
    with ctx.timed("cell_solver"):
        if prob.loss == "squared":
            # HiGHS' active-set QP solver stalls on cell programs beyond a few hundred
            # cells (measured: iteration limit at n = 20, d = 2), so the squared-loss cell
            # program goes to Clarabel; its multiplier is the residual (added in solve)
            value, _, solution, sizes = solve_in_child(
                cell_program_cvxpy, (prob, pats), {"penalty": "l1"},
                ctx.remaining("building the cone program"), ctx.verbose)
            ctx.record(**sizes)
            cands = []
        else:
            hp, extract, sizes = cell_program_highs(prob, pats, verbose=ctx.verbose)
            ctx.record(**sizes)
            hp.run(ctx.remaining("solving the cell program"), what="the cell program")
            value = hp.objective
            solution = extract()
            cands = [("cells", hp.duals[:prob.n])]
    ctx.record(cell_objective=value)
    rp = sparse_refit(prob, *solution, "l1", ctx)
    return MethodResult(rp, ExactPricer(prob, progress=ctx.progress), cands, complete,
                        program_objective=value)


def solve_cells_l2(prob, ctx, patterns=None):
    with ctx.timed("arrangement"):
        pats, complete = _patterns(prob, ctx, patterns, True)
    with ctx.timed("cell_solver"):
        value, gap, solution, sizes = solve_in_child(
            cell_program_cvxpy, (prob, pats), {"penalty": "l2"},
            ctx.remaining("building the cone program"), ctx.verbose)
        ctx.record(**sizes)
    ctx.record(cell_objective=value)
    rp = sparse_refit(prob, *solution, "l2", ctx)
    return MethodResult(rp, None, [], complete, lower_bound=value - max(gap, 0.0),
                        program_objective=value)


def tame_biases(prob, thetas):
    """Clip each neuron bias into ``[-max_i w.x_i, -min_i w.x_i]``.

    On the data this changes ``relu(w.x + b)`` by a constant at most (when every point
    is active) and leaves it 0 when none is, so the fit changes only by a constant
    (absorbed by the free output bias). Interior-point solutions have neurons with a
    tiny ``w`` and a large ``b``; normalized by ``||w||`` they would give columns with
    entries of 1e12 and break the simplex solver.
    """
    if not prob.bias or thetas.shape[0] == 0:
        return thetas
    d = prob.d
    z = thetas[:, :d] @ prob.X.T                  # (k, n)
    out = thetas.copy()
    out[:, d] = np.clip(thetas[:, d], -z.max(axis=1), -z.min(axis=1))
    return out


def sparse_refit(prob, thetas, signs, free, penalty, ctx):
    """A sparse network from a (dense) cell-program solution.

    The cell solution's neurons ``sign_k * relu(A theta_k)`` define a fit ``f~`` that
    its own directions represent exactly; ``min sum_k ||w_k|| |coef_k|`` subject to
    ``Phi coef + c0 + X s = f~`` over those directions is an LP whose basic solution
    has at most n nonzeros and a penalty no larger than the cell solution's
    (docs/design.md section 5). For interpolation the targets themselves are used.
    """
    # the fit of *all* the cell solution's neurons (pure-bias ones are constants)
    f = relu_columns(prob.A, thetas) @ signs + free[0]
    thetas = tame_biases(prob, thetas)
    nrm = weight_norms(thetas, prob.d, penalty)
    keep = nrm > _TINY_NEURON_RTOL * max(float(nrm.max(initial=0.0)), 1e-300)
    dirs = thetas[keep] / nrm[keep, None]
    signs = signs[keep]
    Phi = relu_columns(prob.A, dirs) if len(dirs) else np.zeros((prob.n, 0))
    if prob.skip:
        f = f + prob.X @ free[1:]
    targets = [prob.y, f] if prob.loss == "interpolate" else [f]
    if len(dirs):
        # the same fit as represented by the normalized columns themselves: feasible by
        # construction (a fallback when rounding in f leaves the equalities infeasible)
        f_rep = Phi @ (signs * nrm[keep]) + free[0]
        if prob.skip:
            f_rep = f_rep + prob.X @ free[1:]
        targets.append(f_rep)
    last = None
    for t in targets:
        rp = RayProgram(prob.with_targets(t), verbose=ctx.verbose)
        if len(dirs):
            rp.add_both_signs(dirs, Phi=Phi, dedupe=True)
        # HiGHS can misjudge this (feasible by construction) LP as infeasible, or stop
        # with a solve error, when the cell solution has nearly parallel columns with
        # tiny coefficients: retry without presolve, then at the default tolerances.
        # The network's objective is recomputed from the network itself, so nothing
        # is claimed from this LP.
        for presolve, tol in _REFIT_ATTEMPTS:
            try:
                rp.hp.set_option("presolve", presolve)
                if tol is not None:
                    rp.hp.set_feasibility_tolerance(tol)
                rp.run(ctx.remaining("sparsifying the cell solution"),
                       what="the LP that sparsifies the cell solution")
                return rp
            except (InfeasibleError, SolverError) as exc:
                last = exc
                rp.hp.clear_solver()
    raise last
