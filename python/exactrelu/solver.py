"""``solve``: the globally optimal two-layer ReLU network, with a certificate.

Methods (DESIGN.md sections 3-5):

``"full"``
    Every ray of the refined arrangement (data hyperplanes plus the coordinate
    hyperplanes of the weights) as a column of one LP/QP. Refused with a
    :class:`~exactrelu.errors.SizeError` when too large.
``"colgen"``
    Column generation: a restricted LP/QP over a few rays, grown by exact pricing
    of *all* rays (streamed in C++, never stored) until no ray prices out; the last
    pricing certifies the optimum.
``"cells"``
    The Pilanci-Ergen cell program over the activation patterns (l1 group norms:
    an LP/QP with HiGHS, the cross-check; l2 group norms: the exact weight-decay
    problem as a cone program with cvxpy + Clarabel, certified by its duality gap).
    ``patterns=`` restricts it to given patterns: the result is then only an upper
    bound and is reported as not certified.
``"auto"``
    ``"cells"`` for ``penalty="l2"`` or when ``patterns`` is given, else ``"colgen"``.

Every non-optimal solver status raises a named error; a result whose certificate
misses the tolerance is flagged (``certified=False``, status ``"uncertified"``) with a
warning, never returned silently.
"""

from __future__ import annotations

import time
import warnings
from dataclasses import dataclass, field

import numpy as np

from ._validation import as_data_matrix, as_target_vector, resolve_threads
from .certificate import Pricer, dual_bound, zero_neuron_multiplier
from .errors import (
    ConflictingTargetsError,
    InfeasibleError,
    InputError,
    NumericalError,
    SizeError,
    SolverError,
    TimeLimitError,
    UnboundedError,
)
from .losses import check_beta, check_loss, check_penalty, check_targets, interpolation_tolerance
from .network import ReLUNetwork
from .program import (
    Problem,
    RayProgram,
    canonical_orientation,
    cell_program_cvxpy,
    cell_program_highs,
    check_method_penalty,
    relu_columns,
)

__all__ = ["Solution", "solve", "METHODS", "CERT_RTOL"]

METHODS = ("auto", "full", "colgen", "cells")
#: A solution is certified when ``gap <= CERT_RTOL * max(1, |objective|)``.
CERT_RTOL = 1e-6
#: Column generation stops when ``max |lam . phi| <= beta * (1 + PRICE_RTOL)``.
PRICE_RTOL = 1e-9
#: Default size limits (override with ``max_rays`` / ``max_cells``).
FULL_MAX_ENTRIES = 40_000_000      # n * columns of the dense ray matrix
COLGEN_MAX_RAYS = 2_000_000_000    # rays priced per round
CELLS_MAX_ENTRIES = 20_000_000     # n * cells (rows of the cell program)
CELLS_L2_MAX_ENTRIES = 4_000_000


@dataclass
class Solution:
    """The result of :func:`solve`.

    Attributes
    ----------
    network : ReLUNetwork
        The optimal network (at most n neurons).
    objective : float
        ``network.objective(X, y, loss=..., beta=..., penalty=...)``.
    lower_bound : float
        A certified lower bound on the global optimum (``nan`` when none is available,
        e.g. a restricted l2 cell program).
    gap : float
        ``objective - lower_bound``.
    certified : bool
        ``gap <= 1e-6 * max(1, |objective|)`` and the program was not restricted.
    status : str
        ``"optimal"``, ``"restricted"`` (``patterns=`` given) or ``"uncertified"``.
    method, loss, penalty : str
    beta : float
    timings : dict
        Seconds per stage (``total``, ``arrangement``, ``solver``, ``pricing``, ...).
    sizes : dict
        Program sizes (``rows``, ``columns``, ``rays`` / ``cells``, ``rounds``, ...).
    multipliers : ndarray or None
        The dual-feasible multipliers behind ``lower_bound`` (l1 penalty).
    """

    network: ReLUNetwork
    objective: float
    lower_bound: float
    gap: float
    certified: bool
    status: str
    method: str
    loss: str
    penalty: str
    beta: float
    timings: dict = field(default_factory=dict)
    sizes: dict = field(default_factory=dict)
    multipliers: np.ndarray = field(default=None, repr=False)

    @property
    def relative_gap(self):
        """``gap / max(1, |objective|)``."""
        return self.gap / max(1.0, abs(self.objective))

    @property
    def n_neurons(self):
        return self.network.n_neurons

    def predict(self, X):
        """``self.network.predict(X)``."""
        return self.network.predict(X)

    def __repr__(self):
        return (f"Solution(objective={self.objective:.10g}, lower_bound={self.lower_bound:.10g}, "
                f"gap={self.gap:.3g}, certified={self.certified}, status={self.status!r}, "
                f"method={self.method!r}, n_neurons={self.n_neurons})")


# ---------------------------------------------------------------------------
# validation helpers
# ---------------------------------------------------------------------------

#: Above this bound (Cover's, on rays or cells) a size refusal is issued from the bound
#: alone, without the exact count (which would itself take minutes or more).
_COUNT_FIRST_LIMIT = 50_000_000


def _check_conflicts(X, y):
    """Equal inputs with different targets cannot be interpolated."""
    _, inv = np.unique(X, axis=0, return_inverse=True)
    inv = inv.reshape(-1)
    order = np.argsort(inv, kind="stable")
    g = inv[order]
    starts = np.flatnonzero(np.r_[True, g[1:] != g[:-1]])
    ys = y[order]
    ymin = np.minimum.reduceat(ys, starts)
    ymax = np.maximum.reduceat(ys, starts)
    bad = np.flatnonzero(ymin != ymax)
    if bad.size:
        ends = np.r_[starts[1:], len(g)]
        groups = [tuple(sorted(order[starts[k]:ends[k]].tolist())) for k in bad]
        raise ConflictingTargetsError(
            f"cannot interpolate: {len(groups)} group(s) of equal inputs have different "
            f"targets, e.g. rows {groups[0]}", rows=groups)


class _Deadline:
    def __init__(self, time_limit):
        if time_limit is None:
            self.end = None
        else:
            if isinstance(time_limit, (bool, np.bool_)):
                raise InputError(f"time_limit must be a positive number of seconds, got {time_limit!r}")
            try:
                t = float(time_limit)
            except (TypeError, ValueError):
                raise InputError(f"time_limit must be a positive number of seconds, "
                                 f"got {time_limit!r}") from None
            if not t > 0:
                raise InputError(f"time_limit must be positive, got {time_limit!r}")
            self.end = time.perf_counter() + t
        self.limit = time_limit

    def remaining(self, what="solving"):
        if self.end is None:
            return None
        r = self.end - time.perf_counter()
        if r <= 0:
            raise TimeLimitError(f"time_limit={self.limit} s reached while {what}",
                                 status="time_limit")
        return r


def _size_limit(value, default, name):
    if value is None:
        return default
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)) or value < 1:
        raise InputError(f"{name} must be a positive int or None, got {value!r}")
    return int(value)


# ---------------------------------------------------------------------------
# pricing over an explicit ray matrix (method "full")
# ---------------------------------------------------------------------------

class _MatrixPricer:
    """``max |lam . phi|`` over the explicit columns of all rays (both orientations)."""

    def __init__(self, prob, dirs, Phi, one_orientation):
        self.prob, self.dirs, self.Phi = prob, dirs, Phi
        self.one_orientation = one_orientation
        self.calls = 0
        self.n_priced = 0
        self.seconds = 0.0

    def max_abs(self, lam):
        t0 = time.perf_counter()
        sc = self.Phi.T @ lam
        M = float(np.abs(sc).max()) if sc.size else 0.0
        n = len(sc)
        if self.one_orientation and sc.size:
            # relu(-z) = relu(z) - z: the opposite orientations' scores
            neg = relu_columns(self.prob.A, -self.dirs).T @ lam
            M = max(M, float(np.abs(neg).max()))
            n *= 2
        self.calls += 1
        self.n_priced += n
        self.seconds += time.perf_counter() - t0
        return M, n


# ---------------------------------------------------------------------------
# the methods
# ---------------------------------------------------------------------------

def _sparsify(prob, rp, verbose):
    """Re-solve ``min sum cost|coef| s.t. fit = f*`` on the support of a QP solution.

    Returns the (basic, at most n nonzeros) program, or ``rp`` itself when it is
    already sparse enough or the re-solve fails.
    """
    coef = rp.neuron_weights()
    nz = np.flatnonzero(coef != 0)
    if len(nz) < prob.n:
        return rp
    f = rp.fit()
    prob2 = Problem(prob.X, f, "interpolate", 1.0, prob.bias, prob.skip, prob.threads)
    dirs = rp.dirs[nz]
    rp2 = RayProgram(prob2, verbose=verbose)
    rp2.add(dirs, rp.signs[nz], rp.costs[nz], dedupe=False)
    try:
        rp2.run(what="the sparsifying LP")
    except SolverError:
        return rp
    if rp2.hp.objective > float(np.abs(coef[nz]) @ rp.costs[nz]) * (1 + 1e-9) + 1e-12:
        return rp
    return rp2


def _interp_feasibility(prob, rp, pricer, deadline, verbose, k_add, sizes):
    """Phase 1 of interpolation: grow columns until the misfit is 0, or prove infeasible."""
    tol = 1e-9 * max(1.0, float(np.abs(prob.y).max()))
    rounds = 0
    while True:
        rp.run(deadline.remaining("solving the phase-1 LP"), what="the phase-1 LP")
        misfit = rp.phase1_misfit()
        if verbose:
            print(f"[exactrelu] phase 1 round {rounds}: misfit {misfit:.3e}, "
                  f"{rp.n_neuron_columns} columns")
        if misfit <= tol:
            break
        lam = rp.lam
        eps = 1e-9 * max(1.0, float(np.abs(lam).max()))
        exact = True
        if pricer is None:
            scores = np.zeros(0)
        else:
            scores, dirs, exact = pricer(lam, k_add, eps)
        # the reduced cost of a column sigma * phi is -sigma * (lam . phi)
        sel = np.abs(scores) > eps
        added = 0
        if pricer is not None and np.any(sel):
            added = _add_priced(prob, rp, scores[sel], dirs[sel])
        if added == 0 and not exact:
            scores, dirs, exact = pricer(lam, k_add, np.inf)   # forces the exact pass
            sel = np.abs(scores) > eps
            if np.any(sel):
                added = _add_priced(prob, rp, scores[sel], dirs[sel])
        if added == 0:
            rows = np.flatnonzero(np.abs(lam) > 1e-9 * max(np.abs(lam).max(), 1e-300)).tolist()
            raise InfeasibleError(
                "no network interpolates the data (a Farkas certificate was found: the "
                f"minimum total misfit is {misfit:.3g}); offending rows: {rows}",
                status="infeasible", rows=rows)
        rounds += 1
    sizes["phase1_rounds"] = rounds
    rp.to_phase2()


def _full(prob, deadline, verbose, max_rays, timings, sizes):
    from .arrangement import arrangement_info, count_rays, enumerate_rays

    E = np.eye(prob.d, prob.D)
    t0 = time.perf_counter()
    info = arrangement_info(prob.X, bias=prob.bias, extra_hyperplanes=E)
    est = info.rays_bound
    if est * prob.n > max_rays:
        # the exact count walks every line: only worth it when the bound is not absurd
        if est <= _COUNT_FIRST_LIMIT:
            est = count_rays(prob.X, bias=prob.bias, extra_hyperplanes=E)
        if est * prob.n > max_rays:
            raise SizeError(
                f"method='full' needs the {est:,} rays of the refined arrangement as columns "
                f"({est * prob.n:,} matrix entries, limit {max_rays:,}); use method='colgen'",
                estimate=int(est * prob.n), limit=int(max_rays), what="entries")
    rays = enumerate_rays(prob.X, bias=prob.bias, extra_hyperplanes=E, threads=prob.threads)
    dirs = rays.directions
    inc = rays.incidence.tocsr()
    if prob.skip:
        dirs = dirs[0::2]
        inc = inc[0::2]
    # pure-bias rays (on every coordinate hyperplane) are constants: the output bias
    on_coord = np.asarray(inc[:, prob.n:].sum(axis=1)).reshape(-1)
    nrm = np.abs(dirs[:, :prob.d]).sum(axis=1)
    keep = (on_coord < prob.d) & (nrm > 0)
    dirs = dirs[keep] / nrm[keep, None]
    inc = inc[keep][:, :prob.n].toarray()
    Phi = relu_columns(prob.A, dirs)
    Phi[inc.T] = 0.0
    timings["arrangement"] = time.perf_counter() - t0
    sizes["rays"] = int(len(rays))
    k = dirs.shape[0]
    phase1 = prob.loss == "interpolate"
    rp = RayProgram(prob, phase1=phase1, verbose=verbose)
    rp.add(np.vstack([dirs, dirs]), np.r_[np.ones(k), -np.ones(k)],
           Phi=np.hstack([Phi, Phi]), dedupe=False)
    if phase1:
        _interp_feasibility(prob, rp, None, deadline, verbose, 0, sizes)
    rp.run(deadline.remaining("solving the full ray program"), what="the full ray program")
    pricer = _MatrixPricer(prob, dirs, Phi, prob.skip)
    return rp, pricer, [("program", rp.lam)]


#: Column generation prices a pool of nearby and random rays in numpy before paying
#: for an exact pass over all rays when ``rays * n`` exceeds this.
HEURISTIC_WORK = 2_000_000_000
#: An LP restricted program is pruned of inactive columns only beyond this many
#: columns per data row (pruning costs warm-start quality and extra rounds).
LP_DROP_FACTOR = 20


def _colgen(prob, deadline, verbose, max_rays, timings, sizes, k_add=None, heuristic=None):
    from .arrangement import arrangement_info
    from .certificate import CandidatePricer

    E = np.eye(prob.d, prob.D)
    info = arrangement_info(prob.X, bias=prob.bias, extra_hyperplanes=E)
    if info.rays_bound > max_rays:
        raise SizeError(
            f"method='colgen' prices every ray of the refined arrangement each round; "
            f"this one may have up to {info.rays_bound:,} rays (limit {max_rays:,})",
            estimate=int(info.rays_bound), limit=int(max_rays), what="rays")
    pricer = Pricer(prob, prob.threads)
    n = prob.n
    if heuristic is None:
        heuristic = info.rays_bound * n > HEURISTIC_WORK
    cand = CandidatePricer(prob) if heuristic else None
    if k_add is None:
        k_add = int(np.clip(n // 4, 10, 100))
    k_price = 2 * k_add if prob.skip else k_add
    phase1 = prob.loss == "interpolate"
    start = _interpolating_start(prob) if phase1 else None
    if start is not None:
        phase1 = False    # a feasible restricted program from the start: no phase 1
    rp = RayProgram(prob, phase1=phase1, verbose=verbose)
    if start is not None:
        k = len(start)
        rp.add(np.vstack([start, start]), np.r_[np.ones(k), -np.ones(k)])
    stats = {"exact": 0, "pool": 0}   # (and "force_exact": skip the pool once)

    def price(lam, k, thresh):
        """(scores, dirs, exact): a pool of candidate rays first (when heuristic), the
        exact pass over all rays when the pool has nothing above ``thresh``."""
        if cand is not None and not stats.pop("force_exact", False):
            anchors = rp.dirs[rp.neuron_weights() != 0] if rp.solved else rp.dirs
            sc, di, _ = cand(lam, k, anchors)
            if len(sc) and np.abs(sc[0]) > thresh:
                stats["pool"] += 1
                return sc, di, False
        stats["exact"] += 1
        sc, di, _ = pricer(lam, k)
        return sc, di, True

    lam0 = zero_neuron_multiplier(prob)
    scores, dirs, _ = price(lam0, 2 * k_price, 0.0)
    sel = np.abs(scores) > 0
    _add_priced(prob, rp, scores[sel], dirs[sel])
    if phase1:
        _interp_feasibility(prob, rp, price, deadline, verbose, k_price, sizes)
    beta = prob.beta
    thresh = beta * (1.0 + PRICE_RTOL)
    rounds = 0
    M = np.inf
    while True:
        rp.run(deadline.remaining("column generation"), what="the restricted ray program")
        lam = rp.lam
        deadline.remaining("column generation")
        scores, dirs, exact = price(lam, k_price, thresh)
        M = float(np.abs(scores[0])) if len(scores) else 0.0
        rounds += 1
        if verbose:
            print(f"[exactrelu] colgen round {rounds}: objective {rp.hp.objective:.12g}, "
                  f"max|lam.phi|/beta = {M / beta:.12g} ({'all rays' if exact else 'pool'}), "
                  f"{rp.n_neuron_columns} columns")
        if exact and M <= thresh:
            break
        # keep the restricted program small: a QP is re-solved from scratch each round
        # (its cost grows with the columns), an LP warm-starts and is pruned only when big
        if prob.loss == "squared" or rp.n_neuron_columns > LP_DROP_FACTOR * n:
            sizes["dropped"] = sizes.get("dropped", 0) + rp.drop_inactive()
        sel = np.abs(scores) > thresh
        if _add_priced(prob, rp, scores[sel], dirs[sel]) == 0:
            if not exact:   # the pool only re-found present columns: ask the exact pass
                stats["force_exact"] = True
                continue
            break  # only columns already present price out: round-off; the bound says how much
    sizes["rounds"] = rounds
    sizes["exact_pricing_passes"] = stats["exact"]
    sizes["pool_pricing_passes"] = stats["pool"]
    sizes["rays_priced"] = pricer.n_priced // max(pricer.calls, 1)
    return rp, pricer, [("program", rp.lam)]


def _interpolating_start(prob):
    """Neurons that interpolate any targets (with neuron biases): along a direction u
    that separates the distinct points, ``c + sum_k a_k relu(u.x - t_k)`` with knots
    at the sorted projections is a triangular system. Returns the normalized neuron
    directions, or ``None`` when no tried direction separates the points."""
    if not prob.bias:
        return None
    Xu = np.unique(prob.X, axis=0)
    if Xu.shape[0] < 2:
        return np.zeros((0, prob.D))
    rng = np.random.default_rng(12345)
    span = float(np.abs(Xu).max()) or 1.0
    for trial in range(20):
        u = np.eye(prob.d)[0] if trial == 0 and prob.d == 1 else rng.normal(size=prob.d)
        u /= np.abs(u).sum()
        p = np.sort(Xu @ u)
        if np.min(np.diff(p)) > 1e-7 * span:
            knots = p[:-1]
            return np.hstack([np.broadcast_to(u, (len(knots), prob.d)), -knots[:, None]])
    return None


def _add_priced(prob, rp, scores, dirs):
    if len(scores) == 0:
        return 0
    if prob.skip:
        # with skip, relu(-z) = relu(z) - z and A^T lam = 0 (the free c0 and s): the
        # opposite direction has the same score, so one orientation per line suffices
        return rp.add(canonical_orientation(dirs), np.sign(scores))
    return rp.add(dirs, np.sign(scores))


def _cells_patterns(prob, patterns, max_cells, l2):
    if patterns is not None:
        pats = np.asarray(patterns)
        if pats.ndim != 2 or pats.shape[1] != prob.n:
            raise InputError(f"patterns must have shape (n_patterns, {prob.n}), got {pats.shape}")
        if pats.dtype.kind not in "biu":
            raise InputError(f"patterns must be boolean (0/1), got dtype {pats.dtype}")
        if np.any((pats != 0) & (pats != 1)):
            raise InputError("patterns must be boolean (0/1)")
        return pats.astype(bool), False
    from .arrangement import arrangement_info, count_cells, enumerate_cells

    info = arrangement_info(prob.X, bias=prob.bias)
    est = info.cells_bound
    if est * prob.n > max_cells:
        if est <= _COUNT_FIRST_LIMIT:
            est = count_cells(prob.X, bias=prob.bias)
        if est * prob.n > max_cells:
            raise SizeError(
                f"method='cells' needs {est:,} cells x {prob.n} rows "
                f"({est * prob.n:,} constraint rows, limit {max_cells:,}"
                f"{'; the l2 penalty has no other exact method' if l2 else '; use colgen'})",
                estimate=int(est * prob.n), limit=int(max_cells), what="cell rows")
    cells = enumerate_cells(prob.X, bias=prob.bias, threads=prob.threads)
    return cells.patterns, True


def _cells_l1(prob, patterns, deadline, verbose, max_cells, timings, sizes):
    t0 = time.perf_counter()
    pats, complete = _cells_patterns(prob, patterns, max_cells, False)
    timings["arrangement"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    if prob.loss == "squared":
        # HiGHS' active-set QP solver stalls on cell programs beyond a few hundred
        # cells (measured: iteration limit at n = 20, d = 2), so the squared-loss cell
        # program goes to Clarabel; its multiplier is the residual (added in solve)
        problem, extract, sz = cell_program_cvxpy(prob, pats, penalty="l1")
        sizes.update(sz)
        value, _gap = _clarabel_solve(problem, deadline, verbose)
        sizes["cell_objective"] = value
        cands = []
    else:
        hp, extract, sz = cell_program_highs(prob, pats, verbose=verbose)
        sizes.update(sz)
        hp.run(deadline.remaining("solving the cell program"), what="the cell program")
        sizes["cell_objective"] = hp.objective
        cands = [("cells", hp.duals[:prob.n])]
    timings["cell_solver"] = time.perf_counter() - t0
    thetas, signs, free = extract()
    rp = _fixed_fit_program(prob, thetas, signs, free, "l1", deadline, verbose)
    pricer = Pricer(prob, prob.threads)
    return rp, pricer, cands, complete


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


def _fixed_fit_program(prob, thetas, signs, free, penalty, deadline, verbose):
    """A sparse network from a (dense) cell-program solution.

    The cell solution's neurons ``sign_k * relu(A theta_k)`` define a fit ``f~`` that
    its own directions represent exactly; ``min sum_k ||w_k|| |coef_k|`` subject to
    ``Phi coef + c0 + X s = f~`` over those directions is an LP whose basic solution
    has at most n nonzeros and a penalty no larger than the cell solution's
    (DESIGN.md section 5). For interpolation the targets themselves are used.
    """
    d = prob.d
    # the fit of *all* the cell solution's neurons (pure-bias ones are constants)
    f = relu_columns(prob.A, thetas) @ signs + free[0]
    thetas = tame_biases(prob, thetas)
    ord_ = 1 if penalty == "l1" else 2
    nrm = np.linalg.norm(thetas[:, :d], ord=ord_, axis=1)
    keep = nrm > 1e-12 * max(float(nrm.max(initial=0.0)), 1e-300)
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
        prob2 = Problem(prob.X, t, "interpolate", 1.0, prob.bias, prob.skip, prob.threads)
        rp = RayProgram(prob2, verbose=verbose)
        if len(dirs):
            k = len(dirs)
            rp.add(np.vstack([dirs, dirs]), np.r_[np.ones(k), -np.ones(k)],
                   Phi=np.hstack([Phi, Phi]), dedupe=True)
        # HiGHS can misjudge this (feasible by construction) LP as infeasible when the
        # cell solution has nearly parallel columns with tiny coefficients: retry
        # without presolve, then at the default tolerances. The network's objective
        # is recomputed from the network itself, so nothing is claimed from this LP.
        for presolve, tol in (("choose", None), ("off", None), ("off", 1e-8)):
            try:
                rp.hp.set_option("presolve", presolve)
                if tol is not None:
                    rp.hp.set_option("primal_feasibility_tolerance", tol)
                    rp.hp.set_option("dual_feasibility_tolerance", tol)
                rp.run(deadline.remaining("sparsifying the cell solution"),
                       what="the LP that sparsifies the cell solution")
                return rp
            except InfeasibleError as exc:
                last = exc
                rp.hp.h.clearSolver()
    raise last


def _clarabel_solve(problem, deadline, verbose):
    """Solve a cvxpy problem with Clarabel at tight tolerances; return the gap."""
    import cvxpy as cp

    opts = dict(tol_gap_abs=1e-10, tol_gap_rel=1e-10, tol_feas=1e-10, tol_infeas_abs=1e-10,
                tol_infeas_rel=1e-10, tol_ktratio=1e-8, max_iter=500)
    rem = deadline.remaining("building the cone program")
    if rem is not None:
        opts["time_limit"] = float(rem)
    data, chain, inv = problem.get_problem_data(cp.CLARABEL, solver_opts=opts)
    raw = chain.solve_via_data(problem, data, False, bool(verbose), opts)
    status = str(raw.status)
    ok = {"Solved"}
    if status not in ok:
        if status in ("PrimalInfeasible", "AlmostPrimalInfeasible"):
            raise InfeasibleError(f"Clarabel: the cone program is infeasible ({status})",
                                  status=status)
        if status in ("DualInfeasible", "AlmostDualInfeasible"):
            raise UnboundedError(f"Clarabel: the cone program is unbounded ({status})",
                                 status=status)
        if status == "MaxTime":
            raise TimeLimitError("Clarabel stopped at the time limit", status=status)
        raise SolverError(f"Clarabel did not solve the cone program to optimality: {status}",
                          status=status)
    problem.unpack_results(raw, chain, inv)
    gap = float(raw.obj_val - raw.obj_val_dual)
    return float(problem.value), gap


def _cells_l2(prob, patterns, deadline, verbose, max_cells, timings, sizes):
    t0 = time.perf_counter()
    pats, complete = _cells_patterns(prob, patterns, max_cells, True)
    timings["arrangement"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    problem, extract, sz = cell_program_cvxpy(prob, pats, penalty="l2")
    sizes.update(sz)
    value, gap = _clarabel_solve(problem, deadline, verbose)
    timings["cell_solver"] = time.perf_counter() - t0
    sizes["cell_objective"] = value
    thetas, signs, free = extract()
    rp = _fixed_fit_program(prob, thetas, signs, free, "l2", deadline, verbose)
    return rp, value - max(gap, 0.0), complete


def _interp_check(prob, net):
    if prob.loss != "interpolate":
        return
    tol = interpolation_tolerance(prob.y)
    res = float(np.abs(net.predict(prob.X) - prob.y).max())
    if res > tol:
        raise NumericalError(
            f"the interpolating network misses the targets by {res:.3g} (> {tol:.3g}); "
            "the data may be too ill-conditioned for double precision")


def solve(X, y, *, loss="squared", beta=1.0, penalty="l1", bias=True, skip=False,
          method="auto", patterns=None, time_limit=None, threads=None, verbose=False,
          max_rays=None, max_cells=None):
    """Train a two-layer ReLU network to its certified global optimum.

    Minimizes ``loss(f(X), y) + beta * R(f)`` over all networks
    ``f(x) = sum_j a_j relu(w_j . x + b_j) + c + s . x`` of any width, with
    ``R = sum_j |a_j| ||w_j||_1`` (``penalty="l1"``, the path norm) or
    ``sum_j |a_j| ||w_j||_2`` (``penalty="l2"``, weight decay).

    Parameters
    ----------
    X : array_like, shape (n, d)
    y : array_like, shape (n,)
        Targets; labels in {-1, +1} for ``loss="hinge"``.
    loss : {"squared", "interpolate", "absolute", "hinge"}
        ``0.5 * sum r_i^2``, exact fit ``f(x_i) = y_i`` (beta ignored), ``sum |r_i|``
        or ``sum max(0, 1 - y_i f_i)``.
    beta : float
        Regularization weight (> 0).
    penalty : {"l1", "l2"}
    bias : bool
        Neuron biases b_j (the output bias c is always free).
    skip : bool
        A free linear skip connection ``s . x``.
    method : {"auto", "full", "colgen", "cells"}
    patterns : array_like of bool, shape (k, n), optional
        Restrict the cell program to these activation patterns (not certified).
    time_limit : float, optional
        Seconds; :class:`~exactrelu.errors.TimeLimitError` when exceeded.
    threads : int, optional
        Threads for enumeration and pricing (default: all cores).
    verbose : bool
    max_rays, max_cells : int, optional
        Size limits: matrix entries for ``"full"``, rays per pricing pass for
        ``"colgen"``, constraint rows for ``"cells"``.

    Returns
    -------
    Solution

    Raises
    ------
    ConflictingTargetsError, InfeasibleError
        Interpolation of data no network can fit.
    SizeError
        The program for ``method`` is too large.
    SolverError, TimeLimitError
        A solver status other than optimal.

    Examples
    --------
    >>> import numpy as np
    >>> import exactrelu
    >>> X = np.array([[0.0], [1.0], [2.0]]); y = np.array([0.0, 1.0, 0.0])
    >>> sol = exactrelu.solve(X, y, loss="interpolate")
    >>> round(sol.objective, 9), sol.certified, sol.network.n_neurons
    (2.0, True, 2)
    """
    t_start = time.perf_counter()
    loss = check_loss(loss)
    beta = check_beta(beta, loss)
    penalty = check_penalty(penalty)
    if not isinstance(method, str) or method not in METHODS:
        raise InputError(f"method must be one of {', '.join(map(repr, METHODS))}; got {method!r}")
    X = as_data_matrix(X)
    y = check_targets(as_target_vector(y, X.shape[0]), loss)
    threads = resolve_threads(threads)
    deadline = _Deadline(time_limit)
    if patterns is not None and method not in ("auto", "cells"):
        raise InputError(f"patterns= restricts the cell program; it needs method='cells', "
                         f"not {method!r}")
    if method == "auto":
        method = "cells" if (penalty == "l2" or patterns is not None) else "colgen"
    check_method_penalty(method, penalty)
    if loss == "interpolate":
        _check_conflicts(X, y)
    prob = Problem(X, y, loss, beta, bool(bias), bool(skip), threads)
    timings, sizes = {}, {"n": prob.n, "d": prob.d}
    complete = True
    lower = np.nan
    multipliers = None
    if penalty == "l2":
        max_c = _size_limit(max_cells, CELLS_L2_MAX_ENTRIES, "max_cells")
        rp, lower, complete = _cells_l2(prob, patterns, deadline, verbose, max_c, timings, sizes)
        pricer, cands = None, []
    elif method == "full":
        rp, pricer, cands = _full(prob, deadline, verbose,
                                  _size_limit(max_rays, FULL_MAX_ENTRIES, "max_rays"),
                                  timings, sizes)
    elif method == "colgen":
        rp, pricer, cands = _colgen(prob, deadline, verbose,
                                    _size_limit(max_rays, COLGEN_MAX_RAYS, "max_rays"),
                                    timings, sizes)
    else:
        rp, pricer, cands, complete = _cells_l1(
            prob, patterns, deadline, verbose,
            _size_limit(max_cells, CELLS_MAX_ENTRIES, "max_cells"), timings, sizes)
    program_objective = sizes.get("cell_objective", rp.hp.objective)
    if loss == "squared" and method != "cells":
        t0 = time.perf_counter()
        rp = _sparsify(prob, rp, verbose)
        timings["sparsify"] = time.perf_counter() - t0
    net = rp.network()
    _interp_check(prob, net)
    objective = net.objective(X, y, loss=loss, beta=beta, penalty=penalty)
    # the certificate (l1): the best of the candidate multipliers, priced exactly
    t0 = time.perf_counter()
    if pricer is not None:
        if loss == "squared":
            cands = cands + [("residual", y - net.predict(X))]
        best = None
        for name, lam in cands:
            res = dual_bound(prob, lam, pricer)
            if best is None or res["lower"] > best["lower"]:
                best = res
        lower = best["lower"]
        multipliers = best["lam"]
        sizes["max_dual_ratio"] = best["M"] / beta
    timings["certificate"] = time.perf_counter() - t0
    gap = objective - lower if np.isfinite(lower) else np.nan
    tol = CERT_RTOL * max(1.0, abs(objective))
    certified = bool(complete and np.isfinite(gap) and gap <= tol)
    if np.isfinite(gap) and gap < -tol:
        raise NumericalError(
            f"inconsistent result: the network's objective {objective:.12g} is below the "
            f"certified lower bound {lower:.12g}")
    if not complete:
        status = "restricted"
    elif certified:
        status = "optimal"
    else:
        status = "uncertified"
        warnings.warn(
            f"exactrelu.solve: the solution could not be certified (gap {gap:.3g}, "
            f"objective {objective:.12g}); it is returned with certified=False",
            RuntimeWarning, stacklevel=2)
    sizes.update({
        "rows": int(rp.hp.n_rows) if "rows" not in sizes else sizes["rows"],
        "columns": int(rp.n_columns) if "columns" not in sizes else sizes["columns"],
        "neurons": net.n_neurons,
    })
    sizes.setdefault("program_objective", program_objective)
    timings["solver"] = rp.hp.seconds
    if pricer is not None:
        timings["pricing"] = pricer.seconds
    timings["total"] = time.perf_counter() - t_start
    return Solution(network=net, objective=float(objective), lower_bound=float(lower),
                    gap=float(gap), certified=certified, status=status, method=method,
                    loss=loss, penalty=penalty, beta=float(beta), timings=timings, sizes=sizes,
                    multipliers=multipliers)
