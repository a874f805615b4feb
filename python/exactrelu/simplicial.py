"""A valid upper bound on the pricing maximum by simplicial branch and bound
(docs/design.md section 10); the bracket's bound at small d.

The rays ``theta = (w, b)`` with ``||w||_1 <= 1, |b| <= R`` form a polytope ``P`` (the
domain of :class:`~exactrelu.mip.PricingMIP`, for the same reasons), and ``P`` is the
union of the simplices ``conv(0, v_1, ..., v_D)`` over a triangulation of its boundary.
On one simplex every term ``lam_i relu(z_i)`` with ``lam_i > 0`` lies below its chord and
every term with ``lam_i < 0`` below ``lam_i alpha_i z_i`` (``relu(z) >= alpha z``), so the
largest vertex value of that linear function bounds the simplex. The C++ core
(``_core.simplex_search``) splits the simplex with the largest bound where the loosest
hyperplane crosses an edge, so the pieces come to line up with the arrangement and the
bound becomes exact near the maximum; it prunes the simplices whose bound is below the
score that matters, and inflates the result by a bound on its rounding. The best
vertices found are rays (columns) too.

Unlike the MIP the search needs nothing but the data, and at small d it is far
tighter (n = 80, d = 4: 2.8e5-3.3e5 simplices for both signs, 0.5-0.8 s, prove the
exact maximum where the big-M MIP is still 4x above it); it starts from
``2^d (d + 2)`` simplices, so it is used at ``d <= SIMPLICIAL_MAX_D``.
"""

from __future__ import annotations

import time

import numpy as np

from . import _core
from .columns import relu_columns
from .mip import MipBound

__all__ = ["SimplicialBound", "pricing_bound", "SIMPLICIAL_MAX_D", "SIMPLICIAL_NODE_SECONDS"]

#: The search is used at this dimension and below (it starts from 2^d (d + 2)
#: simplices).
SIMPLICIAL_MAX_D = 6
#: Estimated seconds per simplex and entry of the data (n * D), and per simplex.
SIMPLICIAL_NODE_SECONDS = (1e-9, 6e-7)
#: Simplices whose bound is within this relative tolerance of the score that matters
#: are not split further (their bound still counts).
GAP_RTOL = 1e-12


class SimplicialBound:
    """The search of the module docstring for one problem's data.

    Parameters
    ----------
    prob : Problem
    threads : int
    """

    def __init__(self, prob, threads=1):
        self.prob = prob
        self.A = np.ascontiguousarray(prob.A)     # the data rows, the bias column last
        self.R = float(np.abs(prob.X).max()) if (prob.bias and prob.X.size) else 0.0
        self.threads = max(1, int(threads))
        self.calls = 0
        self.seconds = 0.0

    def node_seconds(self):
        """Estimated seconds of one simplex."""
        a, b = SIMPLICIAL_NODE_SECONDS
        return a * self.A.shape[0] * self.A.shape[1] + b

    def bound(self, lam, time_limit=None, incumbents=None, node_limit=None, target=0.0,
              top_k=1):
        """A :class:`~exactrelu.mip.MipBound` for ``lam``: a valid upper bound on
        ``max_t |lam . relu(A theta_t)|`` over rays with unit l1 weight part, and the best
        ray found. Simplices whose bound is at most ``target`` (or the best score found)
        are not split: ``upper`` is then at most about ``max(target, best)`` when the
        search is ``proven``. ``node_limit`` is shared by the two signs (default:
        what ``time_limit`` seconds allow by :meth:`node_seconds`, 1e6 without it; the
        search stops by its node count, so its result does not depend on the
        machine); ``incumbents`` (rays) raise the pruning level from the start;
        ``top_k``: the best vertices of each sign returned as ``rays``."""
        if node_limit is None:
            node_limit = (1_000_000 if time_limit is None
                          else float(time_limit) / self.node_seconds())
        t0 = time.perf_counter()
        lam = np.asarray(lam, dtype=float)
        best, best_dir, best_score = 0.0, None, 0.0
        inc_best = {1.0: 0.0, -1.0: 0.0}
        if incumbents is not None and len(incumbents):
            sc = relu_columns(self.A, incumbents).T @ lam
            k = int(np.argmax(np.abs(sc)))
            best, best_dir, best_score = float(abs(sc[k])), incumbents[k], float(sc[k])
            inc_best = {1.0: float(max(sc.max(), 0.0)), -1.0: float(max(-sc.min(), 0.0))}
        target = float(max(target, 0.0))
        upper, proven, nodes = 0.0, True, 0
        found = []
        node_limit = max(2, int(min(node_limit, 1e15)))
        for sign, share in ((1.0, 0.5), (-1.0, 1.0)):
            limit = max(1, int(node_limit * share) - nodes)
            floor = max(target, inc_best[sign])
            ub, ok, used, _, _, scores, dirs = _core.simplex_search(
                self.A, sign * lam, bool(self.prob.bias), self.R, floor,
                GAP_RTOL * max(floor, 1e-300), limit, max(1, int(top_k)), self.threads)
            nodes += int(used)
            upper = max(upper, float(ub))
            proven &= bool(ok)
            if len(dirs):
                found.append(dirs)
        rays = ray_scores = None
        if found:
            rays = np.vstack(found)
            ray_scores = relu_columns(self.A, rays).T @ lam
            order = np.argsort(-np.abs(ray_scores), kind="stable")
            rays, ray_scores = rays[order], ray_scores[order]
            if abs(ray_scores[0]) > best:
                best_score, best_dir = float(ray_scores[0]), rays[0]
                best = abs(best_score)
        upper = max(upper, best)
        seconds = time.perf_counter() - t0
        self.calls += 1
        self.seconds += seconds
        return MipBound(upper, best, best_dir, best_score, proven, seconds, nodes, rays,
                        ray_scores)


def pricing_bound(prob, threads=1):
    """The valid upper bound on the pricing maximum for ``prob``: this module's search
    at ``d <= SIMPLICIAL_MAX_D``, else the MIP (:class:`~exactrelu.mip.PricingMIP`);
    both answer ``bound(lam, time_limit, incumbents=None, node_limit=None)``."""
    if prob.d <= SIMPLICIAL_MAX_D:
        return SimplicialBound(prob, threads=threads)
    from .mip import PricingMIP

    return PricingMIP(prob)
