"""The squared-loss restricted program in its reduced (Gram) form (docs/design.md section 4).

The ray QP ``min 0.5 sum_i w_i r_i^2 + beta sum_k cost_k a_k`` subject to
``r + E z + B a = y``, ``a >= 0`` (``E``: the free output terms, ``B``: the signed
neuron columns) has ``n`` residual variables; HiGHS' active-set QP solver, started
cold on it every round, can stall for minutes once the restricted program holds
many nearly parallel columns. Eliminating ``r`` leaves a bound-constrained QP in
the ``k + f`` coefficients alone, with the Gram matrix ``M^T W M`` (``M = [B, E]``)
as its Hessian: a few hundred variables, solved in milliseconds. Its active set is
then *polished*: the coefficients of the active columns are recomputed from the
stationarity equations by a least-squares solve, so that the multipliers
``lam = w * r`` meet the stopping test of column generation (relative 1e-9) rather
than the solver's absolute tolerances. Any failure returns ``None`` and the caller
solves the full QP instead.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from .._highs import INF, HighsProgram
from ..errors import TimeLimitError

__all__ = ["GramSolution", "solve_gram", "GRAM_MAX_ENTRIES"]

#: The reduced form is used while ``n * (k + f)`` (the dense ``M``) stays below this.
GRAM_MAX_ENTRIES = 50_000_000
#: HiGHS' own tolerances for the reduced program: the polishing step gives the
#: accuracy (HiGHS' tighter project defaults make its QP solver fail here).
GRAM_OPTIONS = {"primal_feasibility_tolerance": 1e-7, "dual_feasibility_tolerance": 1e-7,
                "qp_regularization_value": 1e-9}
#: Relative violation of the optimality conditions accepted after polishing.
GRAM_KKT_RTOL = 1e-11
#: Polishing starts from the solver's coefficients above this fraction of the largest.
POLISH_START_RTOL = 1e-6
#: Active-set steps tried from a warm start before HiGHS solves the program instead.
WARM_MAX_STEPS = 200
#: Stationarity systems up to this size are solved with numpy's inverse (importing
#: scipy.linalg costs ~80 ms, a visible part of a sub-second solve); larger ones with
#: LAPACK's LU factors, reused by the refinement steps (3x faster at 126 columns).
SMALL_SYSTEM = 40


def _solver(Gs):
    """A function ``b -> Gs^-1 b`` (``Gs`` is overwritten), or ``None`` when ``Gs`` is
    exactly singular."""
    if len(Gs) <= SMALL_SYSTEM:
        try:
            inv = np.linalg.inv(Gs)
        except np.linalg.LinAlgError:
            return None
        return inv.__matmul__
    # LAPACK's LU directly (the scipy wrappers' checks cost more than a small solve)
    from scipy.linalg.lapack import dgetrf, dgetrs

    lu, piv, info = dgetrf(Gs, overwrite_a=True)
    if info != 0:
        return None

    def solve(b):
        x, info = dgetrs(lu, piv, b)
        return x if info == 0 else None

    return solve


class GramSolution:
    """Coefficients ``a`` (neuron columns), ``z`` (free terms), residuals ``r``."""

    def __init__(self, a, z, r, kkt):
        self.a, self.z, self.r, self.kkt = a, z, r, kkt


def _kkt_violation(M, w, yv, g, x, k):
    """Largest violation of the optimality conditions, relative to ``max(g)``:
    gradient 0 on free and positive coefficients, >= 0 on zero ones."""
    r = yv - M @ x
    grad = g - M.T @ (w * r)
    scale = max(float(np.abs(g).max()), 1e-300)
    viol = np.where(x[:k] > 0, np.abs(grad[:k]), np.maximum(-grad[:k], 0.0))
    free = np.abs(grad[k:])
    return float(max(viol.max(initial=0.0), free.max(initial=0.0))) / scale, r


def _stationary(G, M, w, yv, g, h, act):
    """Coefficients on the columns ``act`` that make the gradient 0 there, from the
    normal equations ``G_SS x = (M^T w yv - g)_S = -h_S``, and a function that
    applies one step of iterative refinement to such coefficients, with the gradient
    computed from ``M`` itself (products with all of ``M`` and a zero-padded x: no
    copy of the active columns); ``(None, None)`` on failure."""
    solve = _solver(G[act][:, act])     # (two gathers: 2-3x faster than np.ix_)
    if solve is None:
        return None, None
    xf = np.zeros(M.shape[1])

    def refine(xs):
        if xs is None:
            return None
        xf[act] = xs
        step = solve(g[act] - (M.T @ (w * (yv - M @ xf)))[act])
        if step is None:
            return None
        xs = xs - step
        return xs if np.all(np.isfinite(xs)) else None

    step = solve(h[act])            # (the gradient at 0)
    if step is None or not np.all(np.isfinite(step)):
        return None, None
    return -step, refine


def _polish(G, M, w, yv, g, h, x, k, max_steps=None):
    """Lawson-Hanson active-set steps from ``x`` (feasible, near optimal): make the
    gradient exactly 0 on the positive columns and the free terms, stepping back to
    the boundary when a coefficient would turn negative and adding the column whose
    gradient is most negative; ``None`` when a least-squares solve fails. ``h`` is the
    gradient at 0, ``g - M^T (w yv)``."""
    n_var = M.shape[1]
    free = np.arange(k, n_var)
    x = x.copy()
    # the solver's tiny positive coefficients (its tolerance) start at 0: each would
    # otherwise cost a step back
    xmax = float(x[:k].max(initial=0.0))
    x[:k][x[:k] <= POLISH_START_RTOL * xmax] = 0.0
    pos = set(np.flatnonzero(x[:k] > 0).tolist())
    gscale = max(float(np.abs(g).max()), 1e-300)
    # a column that joins and leaves again at once (zero-length step: its coefficient
    # came out <= 0, which exact arithmetic excludes) is numerically dependent on the
    # others: it is not offered again (else the steps cycle until max_steps)
    bounced = np.zeros(k, dtype=bool)
    last = -1
    for _ in range(max_steps or 2 * k + 10):
        act = np.r_[np.array(sorted(pos), dtype=int), free]
        xs, refine = _stationary(G, M, w, yv, g, h, act)
        if xs is None:
            return None
        na = len(pos)
        # the point is refined (two steps) where it may be taken: the signs of a
        # step back need no more than the normal equations' accuracy
        if np.all(xs[:na] > 0):
            xs = refine(refine(xs))
            if xs is None:
                return None
        if np.all(xs[:na] > 0):
            x[:] = 0.0
            x[act] = xs
            r = yv - M @ x
            grad = g - M.T @ (w * r)
            cand = np.flatnonzero((x[:k] == 0) & ~bounced &
                                  (grad[:k] < -GRAM_KKT_RTOL * gscale))
            if len(cand) == 0:
                return x
            last = int(cand[np.argmin(grad[cand])])
            pos.add(last)
            continue
        # step from x towards xs until the first positive coefficient reaches 0
        cur = x[act[:na]]
        neg = xs[:na] <= 0
        alpha = float(np.min(cur[neg] / (cur[neg] - xs[:na][neg])))
        step = x[act] + alpha * (xs - x[act])
        x[act] = step
        for j, v in zip(act[:na], step[:na]):
            if v <= 0:
                x[j] = 0.0
                pos.discard(int(j))
        if alpha <= 0.0 and last >= 0 and last not in pos:
            bounced[last] = True
        last = -1
    return x


def solve_gram(B, E, yv, w, g, *, time_limit=None, x0=None, accept_rtol=GRAM_KKT_RTOL):
    """Solve ``min 0.5 sum w (yv - B a - E z)^2 + g . a`` over ``a >= 0``, ``z`` free.

    ``x0`` (``(a, z)`` with ``a >= 0``, e.g. the previous round's optimum with the new
    columns at 0) starts the active-set steps directly; HiGHS solves the program only
    when they do not reach ``accept_rtol`` (the caller's acceptance) from there.
    Returns a :class:`GramSolution`, or ``None`` when the reduced form does not
    reach the accuracy the caller needs (the caller then solves the full QP).
    """
    n, k = B.shape
    f = E.shape[1]
    if n * (k + f) > GRAM_MAX_ENTRIES:
        return None
    M = np.hstack([B, E])
    g_all = np.r_[g, np.zeros(f)]
    G = (M.T * w) @ M
    q = g_all - M.T @ (w * yv)      # the gradient at 0
    if x0 is not None:
        xw = np.array(x0, dtype=float)
        xw[:k] = np.maximum(xw[:k], 0.0)
        xp = _polish(G, M, w, yv, g_all, q, xw, k, max_steps=WARM_MAX_STEPS)
        if xp is not None:
            kp, rp = _kkt_violation(M, w, yv, g_all, xp, k)
            if kp <= max(accept_rtol, GRAM_KKT_RTOL):
                return GramSolution(xp[:k], xp[k:], rp, kp)
    # scale the objective so that the costs are of order 1 (tolerances are absolute)
    s = 1.0
    lower = np.r_[np.zeros(k), np.full(f, -INF)]
    upper = np.full(k + f, INF)
    H = sp.csc_array(np.tril(G) * s)
    qp = HighsProgram(np.zeros(0), np.zeros(0), q * s, lower, upper,
                      sp.csc_array((0, k + f)), hessian_matrix=H, options=GRAM_OPTIONS)
    try:
        qp.run(time_limit, "the reduced squared-loss program")
        x = qp.x
    except TimeLimitError:
        raise
    except Exception:   # HiGHS failed: the active-set steps alone, from 0
        x = np.zeros(k + f)
    x[:k] = np.maximum(x[:k], 0.0)
    kkt, r = _kkt_violation(M, w, yv, g_all, x, k)
    if kkt > GRAM_KKT_RTOL:
        xp = _polish(G, M, w, yv, g_all, q, x, k)
        if xp is not None:
            kp, rp = _kkt_violation(M, w, yv, g_all, xp, k)
            if kp < kkt:
                x, kkt, r = xp, kp, rp
    return GramSolution(x[:k], x[k:], r, kkt)
