"""A valid upper bound on the pricing maximum at any dimension: a MIP (docs/design.md
section 10).

``M = max_t |lam . relu(A theta_t)|`` over the rays ``theta = (w, b)`` with
``||w||_1 = 1`` equals the maximum of ``+-lam . relu(A theta)`` over the compact set
``||w||_1 <= 1, |b| <= R`` with ``R = max_i ||x_i||_inf`` (beyond ``|b| = R`` every
neuron is all-on or all-off, and ``lam`` is orthogonal to the constant column, so
the score does not change; the score is positively homogeneous, so the smaller
``||w||_1`` never helps). For one sign, with ``z_i = x_i . w + b`` (``|z_i| <= M_i =
||x_i||_inf + R``)::

    max  sum_i lam_i h_i
    s.t. h_i >= z_i, h_i >= 0                       (every i)
         h_i <= z_i + M_i (1 - s_i), h_i <= M_i s_i  (lam_i > 0, s_i binary)
         sum (w+ + w-) <= 1,  |b| <= R

(the terms with ``lam_i < 0`` are concave, so maximization keeps ``h_i = relu(z_i)``
without a binary). HiGHS' branch and bound proves a *dual bound* at any time limit;
:class:`PricingMIP` inflates it by the solver's feasibility tolerances (a relaxation
solved to tolerance ``delta`` can overstate the maximum by about
``delta * sum_i |lam_i| (1 + M_i)``), so the returned bound is valid, not nearly
valid. The incumbent of the search is a ray: a column for column generation.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from ._highs import _csc_parts, _new_highs
from .columns import relu_columns

__all__ = ["PricingMIP", "MipBound", "MipPricer", "MIP_TOLERANCE"]

#: Model statuses after which HiGHS' MIP dual bound is a bound of the search (any
#: other status, e.g. an error before the search, falls back to the trivial bound).
_BOUNDED_STATUSES = {"kOptimal", "kTimeLimit", "kIterationLimit", "kSolutionLimit",
                     "kInterrupt", "kHighsInterrupt", "kObjectiveBound", "kObjectiveTarget"}

#: Primal and dual feasibility tolerance of the MIP's relaxations; the bound is
#: inflated by ``MIP_INFLATION`` times it (see the module docstring).
MIP_TOLERANCE = 1e-9
MIP_INFLATION = 2.0
#: Relative gap at which HiGHS stops a sign's search (the bound stays valid).
MIP_REL_GAP = 1e-9


@dataclass
class MipBound:
    """The outcome of :meth:`PricingMIP.bound`.

    Attributes
    ----------
    upper : float
        A valid upper bound on ``max_t |lam . phi_t|`` (inflated by the tolerances).
    best : float
        The largest ``|lam . phi|`` of a ray found (recomputed from the data).
    direction : ndarray (D,) or None
        That ray, with unit l1 weight part (``None``: none found).
    score : float
        Its signed score.
    proven : bool
        Both signs searched to the relative gap :data:`MIP_REL_GAP`.
    seconds : float
    nodes : int
        Branch-and-bound nodes of both searches.
    rays, ray_scores : ndarray (k, D) and (k,) or None
        More good rays found (the simplicial search's best vertices of both signs) and
        their signed scores, ``|score|`` descending; ``None`` from the MIP.
    """

    upper: float
    best: float
    direction: np.ndarray | None
    score: float
    proven: bool
    seconds: float
    nodes: int = 0
    rays: np.ndarray | None = None
    ray_scores: np.ndarray | None = None


class PricingMIP:
    """The big-M MIP of the module docstring for one problem's data.

    Parameters
    ----------
    prob : Problem
    """

    def __init__(self, prob):
        self.prob = prob
        X = prob.X
        self.R = float(np.abs(X).max()) if (prob.bias and X.size) else 0.0
        self.Mi = np.abs(X).max(axis=1) + self.R if X.size else np.zeros(prob.n)
        self.calls = 0
        self.seconds = 0.0

    def bound(self, lam, time_limit, incumbents=None, node_limit=None):
        """A :class:`MipBound` for ``lam`` within ``time_limit`` seconds (split
        between the two signs; ``incumbents``: rays whose scores start the search).
        ``node_limit`` (split between the signs) stops the searches by work instead:
        then the result does not depend on the machine's speed, unless the time limit
        comes first."""
        t0 = time.perf_counter()
        lam = np.asarray(lam, dtype=float)
        best, best_dir, best_score = 0.0, None, 0.0
        if incumbents is not None and len(incumbents):
            sc = relu_columns(self.prob.A, incumbents).T @ lam
            k = int(np.argmax(np.abs(sc)))
            best, best_dir, best_score = float(abs(sc[k])), incumbents[k], float(sc[k])
        upper, proven = 0.0, True
        # HiGHS' gaps and tolerances are partly absolute: search with max |lam| = 1
        unit = float(np.abs(lam).max()) if lam.size else 0.0
        unit = unit if unit > 0 else 1.0
        starts = {}
        if incumbents is not None and len(incumbents):
            # each sign's search starts from the incumbent scoring best for that sign
            starts = {1.0: incumbents[int(np.argmax(sc))], -1.0: incumbents[int(np.argmin(sc))]}
        nodes = 0
        for sign, share in ((1.0, 0.5), (-1.0, 1.0)):
            left = max(1e-3, (time_limit - (time.perf_counter() - t0)) * share)
            limit = None if node_limit is None else max(1, int(node_limit * share) - nodes)
            ub, theta, ok, used = self._one_sign(sign * lam / unit, left, starts.get(sign), limit)
            nodes += used
            upper = max(upper, ub * unit)
            proven &= ok
            if theta is not None:
                sc = float((relu_columns(self.prob.A, theta[None, :]).T @ lam)[0])
                if abs(sc) > best:
                    best, best_dir, best_score = abs(sc), theta, sc
        inflate = MIP_INFLATION * MIP_TOLERANCE * float(np.abs(lam) @ (1.0 + self.Mi))
        upper = max(upper * (1.0 + 10 * MIP_REL_GAP), best) + inflate
        seconds = time.perf_counter() - t0
        self.calls += 1
        self.seconds += seconds
        return MipBound(upper, best, best_dir, best_score, proven, seconds, nodes)

    def _one_sign(self, lam, time_limit, start=None, node_limit=None):
        """``(dual bound, best ray or None, proven, nodes)`` of ``max lam . relu(A
        theta)``; ``start`` (a ray, optional) is handed to HiGHS as a first incumbent."""
        import highspy

        prob = self.prob
        X = prob.X
        keep = np.flatnonzero(lam != 0)
        if keep.size == 0:
            return 0.0, None, True, 0
        lam_k, Xk, Mk = lam[keep], X[keep], self.Mi[keep]
        pos = np.flatnonzero(lam_k > 0)
        d, m, p = prob.d, len(keep), len(pos)
        nb = 1 if prob.bias else 0
        # columns: w+ (d), w- (d), b (nb), h (m), s (p)
        cw, cb, ch, cs = 0, 2 * d, 2 * d + nb, 2 * d + nb + m
        n_cols = cs + p
        rows, lo, hi = [], [], []
        # sum (w+ + w-) <= 1
        rows.append(sp.csr_array((np.ones(2 * d), (np.zeros(2 * d, int), np.arange(2 * d))),
                                 shape=(1, n_cols)))
        lo.append([-np.inf])
        hi.append([1.0])

        def zpart(idx):
            """The block -z (rows idx): -x.w+ + x.w- - b."""
            k = len(idx)
            blocks = [sp.csr_array(-Xk[idx]), sp.csr_array(Xk[idx])]
            if nb:
                blocks.append(sp.csr_array(-np.ones((k, 1))))
            return sp.hstack(blocks)

        all_i = np.arange(m)
        eye_h = sp.csr_array((np.ones(m), (all_i, all_i)), shape=(m, m))
        zero_s = sp.csr_array((m, p))
        # h_i - z_i >= 0
        rows.append(sp.hstack([zpart(all_i), eye_h, zero_s]))
        lo.append(np.zeros(m))
        hi.append(np.full(m, np.inf))
        if p:
            eye_hp = eye_h[pos]
            S = sp.csr_array((Mk[pos], (np.arange(p), np.arange(p))), shape=(p, p))
            # h_i - z_i + M_i s_i <= M_i
            rows.append(sp.hstack([zpart(pos), eye_hp, S]))
            lo.append(np.full(p, -np.inf))
            hi.append(Mk[pos])
            # h_i - M_i s_i <= 0
            rows.append(sp.hstack([sp.csr_array((p, 2 * d + nb)), eye_hp, -S]))
            lo.append(np.full(p, -np.inf))
            hi.append(np.zeros(p))
        A = sp.vstack(rows, format="csc")
        row_lo, row_hi = np.concatenate(lo), np.concatenate(hi)
        col_lo = np.zeros(n_cols)
        col_hi = np.concatenate([np.ones(2 * d), np.full(nb, self.R), Mk, np.ones(p)])
        if nb:
            col_lo[cb] = -self.R
        cost = np.zeros(n_cols)
        cost[ch:ch + m] = lam_k
        h = _new_highs(highspy)
        for k, v in {"output_flag": False, "primal_feasibility_tolerance": MIP_TOLERANCE,
                     "dual_feasibility_tolerance": MIP_TOLERANCE, "mip_rel_gap": MIP_REL_GAP,
                     "mip_abs_gap": 0.0, "time_limit": float(max(time_limit, 1e-3)),
                     **({} if node_limit is None else {"mip_max_nodes": int(node_limit)})
                     }.items():
            h.setOptionValue(k, v)
        col_start, index, value, _ = _csc_parts(A, A.shape[0])
        lp = highspy.HighsLp()
        lp.num_col_, lp.num_row_ = n_cols, A.shape[0]
        lp.col_cost_, lp.col_lower_, lp.col_upper_ = cost, col_lo, col_hi
        lp.row_lower_, lp.row_upper_ = row_lo, row_hi
        lp.sense_ = highspy.ObjSense.kMaximize
        lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
        lp.a_matrix_.start_, lp.a_matrix_.index_, lp.a_matrix_.value_ = col_start, index, value
        lp.a_matrix_.num_col_, lp.a_matrix_.num_row_ = n_cols, A.shape[0]
        integ = [highspy.HighsVarType.kContinuous] * n_cols
        for j in range(cs, n_cols):
            integ[j] = highspy.HighsVarType.kInteger
        lp.integrality_ = integ
        trivial = float(np.clip(lam_k, 0, None) @ Mk)     # every h_i <= M_i
        if h.passModel(lp) == highspy.HighsStatus.kError:
            return trivial, None, False, 0
        if start is not None:
            self._set_start(h, highspy, start, keep, pos, n_cols, cw, cb, ch, cs, d, nb)
        run_status = h.run()
        info = h.getInfo()
        status = h.getModelStatus()
        name = status.name if hasattr(status, "name") else str(status).split(".")[-1]
        bound = float(info.mip_dual_bound)
        if (run_status == highspy.HighsStatus.kError or name not in _BOUNDED_STATUSES
                or not np.isfinite(bound)):
            # no search ran, or it reported no bound: only the trivial bound is valid
            return trivial, None, False, 0
        theta = None
        if info.primal_solution_status == 2 or name == "kOptimal":
            x = np.asarray(h.getSolution().col_value)
            w = x[cw:cw + d] - x[cw + d:cw + 2 * d]
            nrm = float(np.abs(w).sum())
            if nrm > 1e-12:
                theta = np.concatenate([w, x[cb:cb + nb]]) / nrm
        proven = name == "kOptimal"
        return bound, theta, proven, max(0, int(info.mip_node_count))


    def _set_start(self, h, highspy, theta, keep, pos, n_cols, cw, cb, ch, cs, d, nb):
        """Give HiGHS the point of the model that the ray ``theta`` is (an incumbent
        from which it can prune); a start HiGHS rejects is simply not used."""
        theta = np.asarray(theta, dtype=float)
        w = theta[:d]
        nrm = float(np.abs(w).sum())
        if not nrm > 0 or not np.all(np.isfinite(theta)):
            return
        w = w / nrm
        b = float(np.clip(theta[d] / nrm, -self.R, self.R)) if nb else 0.0
        z = self.prob.X[keep] @ w + b
        x = np.zeros(n_cols)
        x[cw:cw + d], x[cw + d:cw + 2 * d] = np.maximum(w, 0), np.maximum(-w, 0)
        if nb:
            x[cb] = b
        x[ch:ch + len(keep)] = np.maximum(z, 0)
        x[cs:] = (z[pos] > 0).astype(float)
        sol = highspy.HighsSolution()
        sol.col_value = x.tolist()
        sol.value_valid = True
        try:
            h.setSolution(sol)
        except Exception:  # pragma: no cover - a start is an optional help
            pass


class MipPricer:
    """The pricer interface of certificates (``max_abs(lam) -> (M, rays priced)``)
    answered with a valid upper bound (the simplicial search at small d, else the MIP:
    :func:`~exactrelu.simplicial.pricing_bound`), within ``time_limit`` seconds shared
    by about ``n_calls`` calls (each call gets its share of what is left)."""

    def __init__(self, prob, time_limit, n_calls=1):
        from .simplicial import pricing_bound

        self.mip = pricing_bound(prob, threads=prob.threads)
        self.end = time.perf_counter() + float(time_limit)
        self.left_calls = max(1, int(n_calls))
        self.calls = 0
        self.n_priced = 0
        self.seconds = 0.0

    def max_abs(self, lam):
        share = max(0.05, (self.end - time.perf_counter()) / self.left_calls)
        self.left_calls = max(1, self.left_calls - 1)
        res = self.mip.bound(lam, share)
        self.calls += 1
        self.seconds += res.seconds
        return res.upper, 0
