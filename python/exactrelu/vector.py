"""Vector outputs: k outputs sharing one hidden layer (docs/design.md section 12).

The network ``f(x) = sum_j a_j relu(w_j . x + b_j) + c + S^T x`` with ``a_j, c`` in
R^k is trained with the penalty ``beta * sum_j ||a_j||_2 ||w_j||_1`` and the loss
summed over all n x k entries. With the l1 norm on the input weights the rays of the
refined arrangement remain an exact set of neuron directions (within a cell
``||Lam^T relu(A u)||_2`` is convex in ``u``, so its maximum over the cell's section
``||w||_1 = 1`` is at a vertex: a ray), and the problem is a group lasso over them:

    min_{A, c, S}  L(Phi A + 1 c^T + X S, Y) + beta * sum_j ||A_j||_2

Its dual: ``max D(Lam)`` subject to ``||Lam^T phi_t||_2 <= beta`` for every ray,
``1^T Lam = 0`` (and ``X^T Lam = 0`` with skip), ``Lam`` in dom(L*) entrywise.

* :class:`VectorPricer` enumerates the refined rays once (the C++ core) and scores
  ``||Lam^T phi_t||_2`` in blocks (exact: every ray, with a rounding bound).
* :func:`group_lasso_program` is the restricted master (cvxpy + Clarabel, in a child
  process like every cone program).
* :func:`vector_dual_bound` turns any multiplier into a certified lower bound.
* :func:`solve_vector_colgen` grows the columns until the bound meets the objective.

``penalty="l2"`` is refused for vector outputs: with ``||w_j||_2`` the problem is a
copositive program, with no finite exact method.
"""

from __future__ import annotations

import time

import numpy as np

from ._cone import solve_in_child
from .arrangement import arrangement_info, count_rays, enumerate_rays
from .certificate import max_scale, project_multiplier, zero_neuron_multiplier
from .columns import line_keys, relu_columns, weight_norms
from .errors import SizeError, TimeLimitError
from .limits import refuse_if_too_large, size_limit
from .losses import best_scale, dual_value
from .pricing import _Counted
from .problem import Problem

__all__ = ["VectorPricer", "group_lasso_program", "vector_dual_bound", "project_columns",
           "solve_vector_colgen", "VECTOR_MAX_RAYS", "VectorResult"]

#: Rays (of the refined arrangement) the vector pricer stores at most by default.
VECTOR_MAX_RAYS = 5_000_000
#: Entries of the ReLU block scored at once.
_BLOCK_ENTRIES = 4_000_000
#: Column generation stops when the largest score is within this fraction of beta.
VECTOR_STOP_RTOL = 1e-8
#: Output-weight rows below this fraction of the largest are dropped from the network.
_TINY_ROW_RTOL = 1e-10
#: The final master is re-solved on the columns above this fraction of the largest.
_POLISH_RTOL = 1e-6
#: A multiplier below this fraction of the targets is round-off (see vector_dual_bound).
_NOISE_RTOL = 1e-12
#: Modeled seconds per (row x output x column x output) of a master solve: Clarabel,
#: general form and the squared loss's reduced form (measured on 2 cores).
MASTER_UNIT = 2.5e-6
MASTER_UNIT_SQUARED = 6e-7
#: Modeled seconds per (ray x row x output) of a stored-ray pricing pass.
PRICE_UNIT = 4e-9
#: Share of a budget the stored rays' enumeration may take for exact pricing.
WORK_SHARE = 0.3
#: Modeled seconds of one output's heuristic pricing (random rays and climbing).
HEURISTIC_SECONDS = 0.1
#: MIP nodes per output for the split bound (a deterministic stop) ...
MIP_NODES = 400
#: ... or simplices, where the bound is the simplicial search (d <= 6; about as long).
SIMPLICIAL_NODES = 400_000
#: Rounds after which column generation gives up (the certificate then tells).
_MAX_ROUNDS = 200


def column_problem(prob, j):
    """The one-output problem of output ``j`` (same data and options)."""
    return Problem(prob.X, prob.y[:, j], prob.loss, prob.beta, prob.bias, prob.skip,
                   prob.threads, prob.weight)


def project_columns(prob, Lam):
    """Each column of ``Lam`` projected onto its dual constraints (1^T lam = 0, X^T lam
    = 0 with skip, the loss's box): :func:`~exactrelu.certificate.project_multiplier`."""
    Lam = np.asarray(Lam, dtype=float)
    return np.stack([project_multiplier(column_problem(prob, j), Lam[:, j])
                     for j in range(Lam.shape[1])], axis=1)


def zero_neuron_multipliers(prob):
    """The multipliers of the problem without neurons, output by output."""
    return np.stack([zero_neuron_multiplier(column_problem(prob, j))
                     for j in range(prob.y.shape[1])], axis=1)


class VectorPricer(_Counted):
    """``max_t ||Lam^T phi_t||_2`` over every ray of the refined arrangement.

    The rays are enumerated once (unit l1 weight part; one orientation per line with
    skip, where ``relu(-z) = relu(z) - z`` and ``Lam^T A = 0`` make the other equal;
    pure-bias rays are constants and left out); each call scores them in blocks.
    Entries of a ray's column on its incident hyperplanes are exactly 0.
    """

    def __init__(self, prob, max_rays=None, progress=None):
        super().__init__()
        self.prob = prob
        limit = size_limit(max_rays, VECTOR_MAX_RAYS, "max_rays")
        E = prob.coordinate_hyperplanes
        info = arrangement_info(prob.X, bias=prob.bias, extra_hyperplanes=E)
        refuse_if_too_large(
            info.rays_bound,
            lambda: count_rays(prob.X, bias=prob.bias, extra_hyperplanes=E),
            1, limit, what="rays",
            message=lambda est: (
                f"vector outputs price the {est:,} rays of the refined arrangement, stored "
                f"(limit {limit:,}; raise max_rays= to allow more)"))
        rays = enumerate_rays(prob.X, bias=prob.bias, extra_hyperplanes=E,
                              threads=prob.threads, progress=progress)
        dirs = rays.directions
        inc = rays.incidence.tocsr()
        if prob.skip:
            dirs, inc = dirs[0::2], inc[0::2]
        on_coord = np.asarray(inc[:, prob.n:].sum(axis=1)).reshape(-1)
        nrm = weight_norms(dirs, prob.d)
        keep = (on_coord < prob.d) & (nrm > 0)
        self.dirs = np.ascontiguousarray(dirs[keep] / nrm[keep, None])
        self.incidence = inc[keep][:, :prob.n].tocsr()
        self._last = None

    @property
    def n_rays(self):
        return len(self.dirs)

    def columns(self, idx):
        """The ReLU columns ``(n, len(idx))`` of rays ``idx``, exact zeros on incident
        hyperplanes."""
        Phi = np.maximum(self.prob.A @ self.dirs[idx].T, 0.0)
        inc = self.incidence[idx].tocoo()
        Phi[inc.col, inc.row] = 0.0
        return Phi

    def scores(self, Lam):
        """``||Lam^T phi_t||_2`` of every ray."""
        n = self.prob.n
        out = np.empty(self.n_rays)
        block = max(1, _BLOCK_ENTRIES // max(n, 1))
        A, LT = self.prob.A, np.ascontiguousarray(Lam.T)
        for t0 in range(0, self.n_rays, block):
            t1 = min(self.n_rays, t0 + block)
            # entries on incident hyperplanes are round-off here (within error_bound)
            Z = A @ self.dirs[t0:t1].T
            np.maximum(Z, 0.0, out=Z)
            out[t0:t1] = np.linalg.norm(LT @ Z, axis=0)
        return out

    def __call__(self, Lam, top_k=1):
        """``(scores, dirs, n_priced)``: the ``top_k`` best rays, descending."""
        Lam = np.ascontiguousarray(Lam, dtype=float)
        key = Lam.tobytes()
        if self._last is not None and self._last[0] == key and self._last[1] >= top_k:
            _, _, sc, dirs = self._last
            return sc[:top_k], dirs[:top_k], self.n_rays
        t0 = time.perf_counter()
        sc = self.scores(Lam) if self.n_rays else np.zeros(0)
        k = min(int(top_k), len(sc))
        idx = np.argpartition(-sc, k - 1)[:k] if k else np.zeros(0, dtype=int)
        idx = idx[np.argsort(-sc[idx], kind="stable")]
        self._account(self.n_rays, t0)
        self._last = (key, k, sc[idx], self.dirs[idx])
        self._all = (key, sc)
        return sc[idx], self.dirs[idx], self.n_rays

    def all_scores(self, Lam):
        """The scores of every ray for ``Lam`` (from the last call when it was this
        ``Lam``)."""
        Lam = np.ascontiguousarray(Lam, dtype=float)
        if getattr(self, "_all", (None,))[0] != Lam.tobytes():
            self(Lam, 1)
        return self._all[1]

    def spread(self, Lam, k, thresh):
        """Up to ``k`` good rays that are not all alike: the best ray on each data
        hyperplane, those scoring above ``thresh``, best first (the scores of the
        last call for this ``Lam``)."""
        sc = self.all_scores(Lam)
        inc = self.incidence.tocoo()
        order = np.lexsort((-sc[inc.row], inc.col))
        col, ray = inc.col[order], inc.row[order]
        first = np.r_[True, col[1:] != col[:-1]]
        best = np.unique(ray[first])
        best = best[sc[best] > thresh]
        best = best[np.argsort(-sc[best], kind="stable")][:k]
        return sc[best], self.dirs[best]

    def error_bound(self, Lam):
        """A bound on the rounding error of any score: each entry of ``Lam^T phi`` sums
        n products of ``|phi_i| <= (|a_i| . |u|)`` (off by ``(D + 1)`` roundings) and
        the norm adds k more."""
        p = self.prob
        if self.n_rays == 0:
            return 0.0
        reach = float(np.abs(p.A).max(initial=0.0)) * float(np.abs(self.dirs).sum(axis=1).max())
        # (a column entry on an incident hyperplane is itself a rounding of at most
        # (D + 1) eps |a_i| . |u|, counted by the same bound)
        lam1 = float(np.linalg.norm(np.abs(Lam).sum(axis=0)))
        k = Lam.shape[1]
        return 2.0 * (p.n + p.D + k + 2) * np.finfo(float).eps * reach * lam1

    def max_abs(self, Lam):
        """``(M, n_priced)``: at least the largest score of every ray."""
        sc, _, n_priced = self(Lam, 1)
        M = float(sc[0]) if len(sc) else 0.0
        return M + self.error_bound(np.asarray(Lam, dtype=float)), n_priced


def vector_dual_bound(prob, Lam, pricer, project=True):
    """``(lower, scaled multiplier, M)``: ``Lam`` projected, priced, scaled by
    ``alpha <= beta / M`` and the loss's box, at the best such alpha; ``D(alpha Lam)``
    bounds the optimum from below."""
    if project:
        Lam = project_columns(prob, Lam)
    if np.abs(Lam).max(initial=0.0) <= _NOISE_RTOL * max(1.0, float(np.abs(prob.y).max())):
        # a multiplier at round-off level (e.g. a perfect fit): scaled up by beta / M it
        # would magnify the rounding of 1^T lam = 0 into a bound; it bounds nothing
        Lam = np.zeros_like(Lam)
    M, _ = pricer.max_abs(Lam)
    k = Lam.shape[1]
    lv, yv = Lam.reshape(-1), prob.y.reshape(-1)
    wv = None if prob.weight is None else np.repeat(prob.weight, k)
    alpha_max = max_scale(lv, M, prob.beta, yv, prob.loss, wv)
    alpha = best_scale(lv, yv, prob.loss, alpha_max, wv)
    if not np.isfinite(alpha):
        alpha = 0.0
    return dual_value(alpha * lv, yv, prob.loss, wv), alpha * Lam, M


def group_lasso_program(X, Y, weight, loss, beta, skip, Phi):
    """The restricted master: ``min L(Phi A + 1 c^T + X S, Y) + beta sum_j ||A_j||_2``
    as a cvxpy problem. Returns ``(problem, extract, sizes)``; ``extract()`` gives
    ``(A, c, S, Lam)`` with ``Lam`` the multipliers of the fit rows."""
    import cvxpy as cp  # an optional solver stack: imported only when a cone program is built

    n, k = Y.shape
    m = Phi.shape[1]
    if loss == "squared" and m:
        return _group_lasso_gram(X, Y, weight, beta, skip, Phi)
    c = cp.Variable(k)
    f = np.ones((n, 1)) @ cp.reshape(c, (1, k), order="C")
    A = S = None
    pen = 0.0
    if m:
        A = cp.Variable((m, k))
        f = f + Phi @ A
        pen = cp.sum(cp.norm(A, 2, axis=1))
    if skip:
        S = cp.Variable((X.shape[1], k))
        f = f + X @ S
    F = cp.Variable((n, k))
    fit = F == f
    cons = [fit]
    w = (np.ones(n) if weight is None else np.asarray(weight, float))[:, None]
    if loss == "interpolate":
        cons.append(F == Y)
        obj = pen
    elif loss == "squared":
        obj = 0.5 * cp.sum(cp.multiply(w, cp.square(F - Y))) + beta * pen
    elif loss == "absolute":
        obj = cp.sum(cp.multiply(w, cp.abs(F - Y))) + beta * pen
    else:   # hinge
        obj = cp.sum(cp.multiply(w, cp.pos(1 - cp.multiply(Y, F)))) + beta * pen
    problem = cp.Problem(cp.Minimize(obj), cons)

    def extract():
        Av = np.asarray(A.value, dtype=float).reshape(m, k) if m else np.zeros((0, k))
        Sv = None if S is None else np.asarray(S.value, dtype=float).reshape(-1, k)
        return (Av, np.asarray(c.value, dtype=float).reshape(k), Sv,
                np.asarray(fit.dual_value, dtype=float).reshape(n, k))

    sizes = {"rows": int(n * k), "columns": int((m + 1 + (X.shape[1] if skip else 0)) * k)}
    return problem, extract, sizes


def _free_terms(X, skip):
    """The columns of the free output terms: ``[1]`` or ``[1, X]``."""
    one = np.ones((X.shape[0], 1))
    return np.hstack([one, X]) if skip else one


def _group_lasso_gram(X, Y, weight, beta, skip, Phi):
    """The squared-loss master in reduced form: the free terms ``[c; S]`` are the
    weighted least-squares fit of ``Y - Phi A``, so with ``P`` the weighted projection
    off them the program is ``min 0.5 ||W^(1/2) P (Phi A - Y)||^2 + beta sum ||A_j||``,
    a QP in ``A`` alone whose Hessian is the m x m Gram matrix (the cone solver's
    systems no longer grow with n). The multipliers are the weighted residuals."""
    import cvxpy as cp  # an optional solver stack: imported only when a cone program is built

    n, k = Y.shape
    m = Phi.shape[1]
    w = np.ones(n) if weight is None else np.asarray(weight, float)
    sw = np.sqrt(w)[:, None]
    E = _free_terms(X, skip) * sw
    Q, _ = np.linalg.qr(E)

    def off(Z):       # W^(1/2) Z, projected off the free terms
        Z = Z * sw
        return Z - Q @ (Q.T @ Z)

    Pt, Yt = off(Phi), off(Y)
    G = Pt.T @ Pt
    G = 0.5 * (G + G.T)
    B = Pt.T @ Yt
    A = cp.Variable((m, k))
    quad = sum(cp.quad_form(A[:, j], cp.psd_wrap(G)) for j in range(k))
    obj = (0.5 * quad - cp.sum(cp.multiply(B, A)) + 0.5 * float(np.sum(Yt * Yt))
           + beta * cp.sum(cp.norm(A, 2, axis=1)))
    problem = cp.Problem(cp.Minimize(obj))

    def extract():
        Av = np.asarray(A.value, dtype=float).reshape(m, k)
        R = Y - Phi @ Av                       # the free terms fit R (weighted)
        E0 = _free_terms(X, skip)
        coef, *_ = np.linalg.lstsq(E0 * sw, R * sw, rcond=None)
        Lam = w[:, None] * (R - E0 @ coef)
        S = coef[1:] if skip else None
        return Av, coef[0], S, Lam

    sizes = {"rows": int(n * k), "columns": int((m + 1 + (X.shape[1] if skip else 0)) * k)}
    return problem, extract, sizes


class VectorResult:
    """What :func:`solve_vector_colgen` found: neuron directions ``dirs`` (unit l1
    weight part) with output-weight rows ``A``, the free terms ``c`` and ``S``, the
    master's value and the candidate multipliers for the certificate."""

    def __init__(self, dirs, A, c, S, value, candidates, pricer):
        self.dirs, self.A, self.c, self.S = dirs, A, c, S
        self.value = value
        self.candidates = candidates
        self.pricer = pricer
        self.exact = True      # False: the bound is the split one (no stored rays)

    def network(self, prob):
        """The network (scaled problem's units), tiny rows dropped, directions merged."""
        from .network import ReLUNetwork

        nrm = np.linalg.norm(self.A, axis=1)
        keep = nrm > _TINY_ROW_RTOL * max(float(nrm.max(initial=0.0)), 1e-300)
        d = prob.d
        dirs = self.dirs[keep]
        b = dirs[:, d] if prob.bias else np.zeros(len(dirs))
        return ReLUNetwork.from_rays(dirs[:, :d], b, self.A[keep], self.c, self.S).merged()


class _Budget:
    """A deterministic budget: the modeled seconds of the work done (master rounds,
    pricing passes, MIP nodes) are charged, so that two runs on the same input stop
    at the same point; the wall clock is only a cap (``hard_end``)."""

    def __init__(self, seconds):
        self.left = float(seconds)
        self.hard_end = time.perf_counter() + 2.0 * float(seconds) + 2.0

    def charge(self, seconds):
        self.left -= float(seconds)

    def allows(self, seconds):
        return self.left >= seconds and time.perf_counter() + seconds < self.hard_end

    def wall_left(self):
        return max(0.05, self.hard_end - time.perf_counter())


def _master_seconds(prob, m):
    """Modeled seconds of one master solve with m columns (measured: Clarabel on 2
    cores, the squared loss's reduced form 4x cheaper than the others)."""
    k = prob.y.shape[1]
    unit = MASTER_UNIT_SQUARED if prob.loss == "squared" else MASTER_UNIT
    return 0.15 + unit * prob.n * k * max(m, 1) * k


def _pass_seconds(prob, rays):
    """Modeled seconds of one stored-ray pricing pass."""
    return PRICE_UNIT * rays * prob.n * prob.y.shape[1]


def exact_vector_fits(prob, seconds, max_rays=None):
    """Whether the stored-ray exact pricer fits: the refined rays within ``max_rays``
    (default :data:`VECTOR_MAX_RAYS`) and their enumeration modeled under
    ``seconds``."""
    from .limits import exact_pass_seconds
    from .pricing import refined_rays_bound

    limit = VECTOR_MAX_RAYS if max_rays is None else int(max_rays)
    try:
        rays = refined_rays_bound(prob)
    except SizeError:   # more columns than the exact core takes at all
        return False
    return rays <= limit and exact_pass_seconds(rays, prob.threads, len(prob.A_ref),
                                                prob.D) <= seconds


class _SplitPricer:
    """Heuristic columns and a split bound, where the rays are too many to store.

    Candidates: for each output, heuristic scalar pricing of its multiplier column
    (random rays and hill climbing, :class:`~exactrelu.methods.bracket.HeuristicPricer`),
    ranked by their vector scores. Bound: ``||Lam^T phi||_2^2 = sum_c (lam_c . phi)^2
    <= sum_c M_c^2`` with ``M_c`` the scalar pricing maximum of output c, exact when
    a scalar pass fits, else a valid upper bound on it
    (:func:`~exactrelu.simplicial.pricing_bound`: the simplicial search at small d, else
    a MIP): valid, looser by at most sqrt(k).
    """

    def __init__(self, prob):
        from .methods.bracket import HeuristicPricer

        self.prob = prob
        self.columns_of = [column_problem(prob, j) for j in range(prob.y.shape[1])]
        self.heuristic = [HeuristicPricer(p, seed=j) for j, p in enumerate(self.columns_of)]
        self.calls = 0

    def candidates(self, Lam, k, anchors):
        """``(scores, dirs)``: the best candidates by vector score, descending."""
        found = [h(Lam[:, j], k, anchors).dirs for j, h in enumerate(self.heuristic)]
        dirs = _unique(np.vstack(found)) if found else np.zeros((0, self.prob.D))
        if len(dirs) == 0:
            return np.zeros(0), dirs
        sc = np.linalg.norm(Lam.T @ relu_columns(self.prob.A, dirs), axis=0)
        order = np.argsort(-sc, kind="stable")[:k]
        return sc[order], dirs[order]

    def bound(self, Lam, seconds, budget):
        """An upper bound on ``max_t ||Lam^T phi_t||_2`` within about ``seconds``."""
        from .methods import choose_method
        from .pricing import ExactPricer
        from .simplicial import SimplicialBound, pricing_bound

        k = Lam.shape[1]
        total = 0.0
        # the choice of each output's bound depends on the modeled share only, and the
        # MIP stops at a node limit (the wall clock is a cap): the same input gives the
        # same bound
        exact = choose_method(self.columns_of[0], seconds / k) == "colgen"
        for j, p in enumerate(self.columns_of):
            if exact:
                M, _ = ExactPricer(p).max_abs(Lam[:, j])
            else:
                bounder = pricing_bound(p, threads=p.threads)
                nodes = SIMPLICIAL_NODES if isinstance(bounder, SimplicialBound) else MIP_NODES
                M = bounder.bound(Lam[:, j], budget.wall_left() / (k - j),
                                  node_limit=nodes).upper
            total += M * M
        budget.charge(seconds)
        self.calls += 1
        return float(np.sqrt(total))


def solve_vector_colgen(prob, ctx, k_add=None, budget=None):
    """Column generation for vector outputs: the group-lasso master over the columns
    found so far, priced exactly over the stored rays (certified when it closes).

    ``budget`` (seconds, optional) makes it a bracket: the work is charged as modeled
    seconds and the loop stops when the next round would not fit; where the rays are
    too many to store in the budget the columns come from heuristic pricing and the
    bound from per-output scalar maxima (:class:`_SplitPricer`). The result then
    holds the best network and bound found (``VectorResult.exact`` False when the
    bound is the split one).
    """
    bud = None if budget is None else _Budget(budget)
    exact = bud is None or exact_vector_fits(prob, WORK_SHARE * bud.left, ctx.max_rays)
    with ctx.timed("arrangement"):
        if exact:
            pricer = VectorPricer(prob, ctx.max_rays, ctx.progress)
            ctx.record(rays=pricer.n_rays)
            if bud is not None:
                from .limits import exact_pass_seconds

                bud.charge(exact_pass_seconds(pricer.n_rays, prob.threads, len(prob.A_ref),
                                              prob.D))
        else:
            pricer = _SplitPricer(prob)
    if k_add is None:
        k_add = int(np.clip(prob.n // 10, 10, 50))
    beta = prob.beta
    thresh = beta * (1.0 + VECTOR_STOP_RTOL)
    Lam0 = zero_neuron_multipliers(prob)
    cols = _first_columns(prob, pricer, Lam0, 2 * k_add, beta)
    best, rounds, value = None, 0, None
    while True:
        m_next = len(cols)
        if bud is not None and value is not None:
            cost = _master_seconds(prob, m_next) + (
                _pass_seconds(prob, pricer.n_rays) if exact else 0.0)
            if not bud.allows(cost + (0 if exact else 0.3 * budget)):
                break
        rounds += 1
        Phi = relu_columns(prob.A, cols) if len(cols) else np.zeros((prob.n, 0))
        with ctx.timed("master"):
            try:
                res = solve_in_child(
                    group_lasso_program,
                    (prob.X, prob.y, prob.weight, prob.loss, beta, prob.skip, Phi), {},
                    ctx.remaining("solving the group-lasso master") if bud is None
                    else bud.wall_left(), ctx.verbose,
                    inaccurate_ok=True)    # the exact pricing of its multiplier judges it
            except TimeLimitError:
                if bud is None or value is None:
                    raise
                break       # the budget's wall-clock cap: keep the last round's result
        value, _, (A, c, S, raw), sizes = res
        kept_cols = cols
        if bud is not None:
            bud.charge(_master_seconds(prob, len(cols)))
        Lam = project_columns(prob, raw)
        with ctx.timed("pricing"):
            if exact:
                sc, dirs, _ = pricer(Lam, k_add)
                lower, _, M = vector_dual_bound(prob, Lam, pricer, project=False)
                if bud is not None:
                    bud.charge(_pass_seconds(prob, pricer.n_rays))
                if best is None or lower > best[0]:
                    # raw: the certificate projects it again, bit for bit the same, and
                    # the pricer answers from this pass
                    best = (lower, raw)
            else:
                sc, dirs = pricer.candidates(Lam, k_add, cols)
                bud.charge(HEURISTIC_SECONDS * prob.y.shape[1])
                best = (-np.inf, Lam)
        if exact:
            ctx.log(f"vector colgen round {rounds}: master {value:.12g}, max score/beta "
                    f"{M / beta:.12g}, bound {lower:.12g}, {len(cols)} columns")
            if M <= thresh or value - best[0] <= 0.25e-6 * max(1.0, abs(value)):
                break
        else:
            ctx.log(f"vector colgen round {rounds} (heuristic): master {value:.12g}, best "
                    f"candidate/beta {(sc[0] if len(sc) else 0.0) / beta:.12g}")
        if rounds >= _MAX_ROUNDS:
            break
        new = dirs[sc > thresh]
        if exact:    # also the best ray on each data hyperplane (not all alike)
            _, sdirs = pricer.spread(Lam, k_add, thresh)
            new = np.vstack([new, sdirs])
        new = _unique(new, exclude=cols)
        if len(new) == 0:
            break
        nrm = np.linalg.norm(A, axis=1)
        used = nrm > 1e-9 * max(float(nrm.max(initial=0.0)), 1e-300)
        # unused columns leave (the master's cost grows fast with its columns); the
        # interpolating start always stays
        if prob.loss != "interpolate" and not used.all():
            ctx.count("dropped", int((~used).sum()))
            cols = cols[used]
        cols = np.vstack([cols, new])
    cols = kept_cols      # the columns of the last master solved
    if not exact:
        with ctx.timed("pricing"):
            M = pricer.bound(Lam, max(0.05, bud.left), bud)
        lower, _, _ = vector_dual_bound(prob, Lam, _Fixed(M), project=False)
        best = (lower, Lam)
    # interior-point solutions spread tiny weights over many columns: re-solve on the
    # columns that matter, kept when it still meets the bound (the certificate checks)
    nrm = np.linalg.norm(A, axis=1)
    keep = nrm > _POLISH_RTOL * max(float(nrm.max(initial=0.0)), 1e-300)
    polish_ok = bud is None or bud.allows(_master_seconds(prob, int(keep.sum())))
    if prob.loss != "interpolate" and 0 < keep.sum() < len(keep) and polish_ok:
        with ctx.timed("master"):
            try:
                v2, _, (A2, c2, S2, _), _ = solve_in_child(
                    group_lasso_program,
                    (prob.X, prob.y, prob.weight, prob.loss, beta, prob.skip,
                     relu_columns(prob.A, cols[keep])), {},
                    ctx.remaining("polishing the group-lasso master") if bud is None
                    else bud.wall_left(), ctx.verbose, inaccurate_ok=True)
            except TimeLimitError:
                if bud is None:
                    raise
                v2 = np.inf
        if v2 - best[0] <= 0.25e-6 * max(1.0, abs(v2)) or (not exact and v2 <= value):
            cols, A, c, S, value = cols[keep], A2, c2, S2, v2
            ctx.record(polished=True)
    ctx.record(rounds=rounds, exact_pricing_passes=pricer.calls, columns=len(cols),
               **{k: v for k, v in sizes.items() if k == "rows"})
    if exact:
        ctx.record(rays_priced=pricer.n_rays)
    result = VectorResult(cols, A, c, S, value, [("program", best[1])],
                          pricer if exact else _Fixed(M))
    result.exact = exact
    return result


class _Fixed:
    """A pricer that answers one known upper bound (the split bound of the last
    multiplier) for that multiplier."""

    def __init__(self, M):
        self.M = float(M)

    def max_abs(self, Lam):
        return self.M, 0


def _first_columns(prob, pricer, Lam0, k, beta):
    """The first master's columns: the best rays for the neuron-free multipliers
    (none that score nothing: constant targets need no neuron) and, for
    interpolation, neurons that interpolate anything."""
    if isinstance(pricer, VectorPricer):
        sc, dirs, _ = pricer(Lam0, k)
        cols = dirs[sc > max(pricer.error_bound(Lam0), 1e-9 * beta)]
    else:
        sc, dirs = pricer.candidates(Lam0, k, np.zeros((0, prob.D)))
        cols = dirs[sc > 1e-9 * beta]
    if prob.loss == "interpolate":
        from .methods.colgen import interpolating_start

        start = interpolating_start(prob)
        if start is not None:
            cols = np.vstack([cols, start])
    return _unique(cols)


def _unique(dirs, exclude=None):
    """The rows of ``dirs`` with distinct line keys (first kept), not in ``exclude``."""
    seen = set() if exclude is None or len(exclude) == 0 else set(line_keys(exclude))
    keep = []
    for i, key in enumerate(line_keys(dirs) if len(dirs) else []):
        if key not in seen:
            seen.add(key)
            keep.append(i)
    return dirs[np.asarray(keep, dtype=int)] if len(dirs) else dirs
