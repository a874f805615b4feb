"""Pricing: the largest ``|lam . phi_t|`` over the rays of the refined arrangement.

Column generation, certificates and ``beta_max`` all ask one question of a
multiplier ``lam``: which rays ``t`` have the largest ``|lam . relu(A theta_t)|``
(with ``||theta_t[:d]||_1 = 1``)? docs/design.md sections 4 and 8. Three pricers
answer it:

:class:`ExactPricer`
    every ray, streamed through the C++ core (never stored): the answer certifies.
:class:`MatrixPricer`
    the explicit columns of every ray (method ``"full"``).
:class:`PoolPricer`
    a heuristic pool of rays near given anchors plus random ones, priced in numpy:
    cheap, never a certificate.

:class:`PoolThenExact` is the one strategy built from them: ask the pool first
(when exact passes are expensive) and pay for an exact pass only when the pool has
nothing above the threshold.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from . import _core
from ._progress import tracking
from .arrangement import arrangement_info
from .columns import relu_columns
from .limits import PRICING_MAX_RAYS, refuse_rays

__all__ = [
    "ExactPricer",
    "MatrixPricer",
    "PoolPricer",
    "PoolThenExact",
    "Priced",
    "POOL_WORK",
    "pool_pays_off",
    "check_pricing_size",
]

#: Exact pricing passes are preceded by the pool when ``rays * n`` (the work of one
#: exact pass, from Cover's bound on the refined arrangement) exceeds this.
POOL_WORK = 2_000_000_000
#: Columns of the pool's ReLU matrix scored per numpy block (bounds its memory).
_POOL_BLOCK_ENTRIES = 4_000_000


def refined_rays_bound(prob):
    """Cover's bound on the rays of the refined arrangement (data and coordinate
    hyperplanes): the work of one exact pricing pass."""
    return arrangement_info(prob.X, bias=prob.bias,
                            extra_hyperplanes=prob.coordinate_hyperplanes).rays_bound


def check_pricing_size(prob, max_rays, who):
    """Refuse (SizeError) exact pricing whose rays may exceed ``max_rays`` (default
    :data:`~exactrelu.limits.PRICING_MAX_RAYS`); returns the bound."""
    return refuse_rays(refined_rays_bound(prob), max_rays, PRICING_MAX_RAYS,
                       f"{who} prices")


def pool_pays_off(prob, rays_bound=None):
    """True when an exact pass costs more than :data:`POOL_WORK` (see there)."""
    if rays_bound is None:
        rays_bound = refined_rays_bound(prob)
    return rays_bound * prob.n > POOL_WORK


class _Counted:
    """Calls, oriented rays priced and seconds spent, accumulated over calls."""

    def __init__(self):
        self.calls = 0
        self.n_priced = 0
        self.seconds = 0.0

    def _account(self, n_priced, t0):
        self.calls += 1
        self.n_priced += int(n_priced)
        self.seconds += time.perf_counter() - t0

    def max_abs(self, lam):
        """``(max_t |lam . phi_t|, number of rays priced)``."""
        scores, _, n_priced = self(lam, 1)
        return (float(abs(scores[0])) if len(scores) else 0.0), n_priced


class ExactPricer(_Counted):
    """Exact pricing ``max_t |lam . phi_t|`` over all rays of the refined arrangement,
    streamed by the C++ core (``_core.price_rays``).

    ``progress`` (a :class:`~exactrelu._progress.PassProgress` or ``None``) shows each
    pass as ``"pricing pass k"``.
    """

    def __init__(self, prob, threads=None, progress=None):
        super().__init__()
        self.prob = prob
        self.threads = prob.threads if threads is None else int(threads)
        self.progress = progress

    def __call__(self, lam, top_k=1):
        """Return ``(scores, dirs, n_priced)``: the ``top_k`` rays by ``|lam . phi|``,
        signed scores, directions with unit l1 weight part."""
        t0 = time.perf_counter()
        lam = np.ascontiguousarray(lam, dtype=np.float64)
        p = self.prob
        with tracking(self.progress, f"pricing pass {self.calls + 1}") as report:
            scores, dirs, n_priced = _core.price_rays(p.A_ref, p.n, lam, p.norm_mask,
                                                      int(max(1, top_k)), self.threads,
                                                      progress=report)
        scores = np.asarray(scores, dtype=float)
        dirs = np.asarray(dirs, dtype=float).reshape(len(scores), p.D)
        self._account(n_priced, t0)
        return scores, dirs, int(n_priced)


class MatrixPricer(_Counted):
    """``max |lam . phi|`` over the explicit columns of all rays (both orientations).

    With ``one_orientation`` the matrix holds one ray per line; the opposite ray's
    column is ``relu(-z) = relu(z) - z`` and is priced too.
    """

    def __init__(self, prob, dirs, Phi, one_orientation):
        super().__init__()
        self.prob, self.dirs, self.Phi = prob, dirs, Phi
        self.one_orientation = one_orientation

    def max_abs(self, lam):
        t0 = time.perf_counter()
        sc = self.Phi.T @ lam
        M = float(np.abs(sc).max()) if sc.size else 0.0
        n = len(sc)
        if self.one_orientation and sc.size:
            neg = relu_columns(self.prob.A, -self.dirs).T @ lam
            M = max(M, float(np.abs(neg).max()))
            n *= 2
        self._account(n, t0)
        return M, n


class PoolPricer(_Counted):
    """Heuristic pricing over a small pool of rays (no certificate).

    The pool holds the rays adjacent to given anchor rays (replace one of the
    ``D - 1`` hyperplanes through an anchor by any other hyperplane of the refined
    arrangement) and a random sample of rays (``D - 1`` random hyperplanes).
    """

    def __init__(self, prob, n_random=None, seed=0, max_entries=10_000_000):
        super().__init__()
        self.prob = prob
        self.rng = np.random.default_rng(seed)
        # pool size bounded by max_entries / n (the pool's relu matrix is n x pool)
        self.max_pool = max(1000, int(max_entries) // (2 * max(prob.n, 1)))
        self.n_random = self.max_pool // 4 if n_random is None else int(n_random)

    def _rays_of(self, subsets):
        p = self.prob
        if len(subsets) == 0:
            return np.zeros((0, p.D))
        M = p.A_ref[subsets]                              # (k, D-1, D)
        _, sv, Vt = np.linalg.svd(M)
        ok = sv[:, -1] > 1e-10 * sv[:, 0] if p.D > 2 else sv[:, 0] > 0
        v = Vt[ok, -1, :]
        nrm = np.abs(v[:, :p.d]).sum(axis=1)
        keep = nrm > 1e-12 * np.abs(v).sum(axis=1)
        v = v[keep] / nrm[keep, None]
        v[np.abs(v) < 1e-15] = 0.0
        return v

    def _neighbour_subsets(self, anchors, r):
        """Index sets of the rays adjacent to each anchor (one hyperplane swapped)."""
        p = self.prob
        N = p.A_ref.shape[0]
        Z = anchors @ p.A_ref.T                            # (S, N)
        scale = np.abs(anchors) @ np.abs(p.A_ref).T
        inc = np.abs(Z) <= 1e-9 * np.maximum(scale, 1e-300)
        good = inc.sum(axis=1) >= r
        if not np.any(good):
            return None
        # the first r incident hyperplanes of each anchor (stable order)
        order = np.argsort(~inc[good], axis=1, kind="stable")[:, :r]   # (S, r)
        S = order.shape[0]
        cap = max(1, (self.max_pool - self.n_random) // max(1, r * N))
        if S > cap:
            order = order[self.rng.choice(S, cap, replace=False)]
            S = cap
        base = np.broadcast_to(order[:, None, None, :], (S, r, N, r)).copy()
        pos = np.arange(r)
        base[:, pos, :, pos] = np.arange(N)[None, None, :]
        return base.reshape(-1, r)

    def pool(self, anchors):
        """The pool's directions (both orientations, deduplicated, in a fixed order)."""
        p = self.prob
        N = p.A_ref.shape[0]
        r = p.D - 1
        subsets = []
        if self.n_random:
            k = self.n_random
            subsets.append(np.argsort(self.rng.random((k, N)), axis=1)[:, :r]
                           if N <= 64 else self.rng.integers(0, N, size=(k, r)))
        anchors = np.atleast_2d(anchors)
        if anchors.shape[0] and r >= 1:
            nb = self._neighbour_subsets(anchors, r)
            if nb is not None:
                subsets.append(nb)
        if not subsets:
            return np.zeros((0, p.D))
        v = self._rays_of(np.vstack(subsets))
        v = np.vstack([v, -v])
        if len(v):
            _, idx = np.unique(np.round(v, 12), axis=0, return_index=True)
            v = v[np.sort(idx)]
        return v

    def __call__(self, lam, top_k=1, anchors=None):
        t0 = time.perf_counter()
        dirs = self.pool(np.zeros((0, self.prob.D)) if anchors is None else anchors)
        if len(dirs) == 0:
            return np.zeros(0), dirs, 0
        lam = np.asarray(lam, dtype=float)
        step = max(1, _POOL_BLOCK_ENTRIES // max(self.prob.n, 1))
        sc = np.concatenate([relu_columns(self.prob.A, dirs[i:i + step]).T @ lam
                             for i in range(0, len(dirs), step)])
        order = np.argsort(-np.abs(sc), kind="stable")[:max(1, int(top_k))]
        self._account(len(sc), t0)
        return sc[order], dirs[order], len(sc)


@dataclass
class Priced:
    """The best rays of one pricing call: signed ``scores`` (descending ``|score|``),
    their ``dirs``, and whether they come from an ``exact`` pass over every ray."""

    scores: np.ndarray
    dirs: np.ndarray
    exact: bool

    @property
    def max_abs(self):
        return float(np.abs(self.scores[0])) if len(self.scores) else 0.0

    def above(self, thresh):
        """The rays whose ``|score|`` exceeds ``thresh``, as ``(scores, dirs)``."""
        sel = np.abs(self.scores) > thresh
        return self.scores[sel], self.dirs[sel]


class PoolThenExact:
    """Pool first, exact pass when the pool has nothing above the threshold.

    Parameters
    ----------
    exact : ExactPricer
    pool : PoolPricer or None
        ``None``: every call is an exact pass.
    """

    def __init__(self, exact, pool=None):
        self.exact = exact
        self.pool = pool
        self.exact_passes = 0
        self.pool_passes = 0

    @classmethod
    def for_problem(cls, prob, exact=None, rays_bound=None):
        """The strategy for ``prob``: with a pool when :func:`pool_pays_off`."""
        exact = ExactPricer(prob) if exact is None else exact
        return cls(exact, PoolPricer(prob) if pool_pays_off(prob, rays_bound) else None)

    def __call__(self, lam, k, thresh, anchors=None, force_exact=False):
        """The best ``k`` rays: from the pool when one of them scores above
        ``thresh`` (``anchors``, an array or a callable returning one, seeds the
        pool), else from an exact pass."""
        if self.pool is not None and not force_exact:
            if callable(anchors):
                anchors = anchors()
            scores, dirs, _ = self.pool(lam, k, anchors)
            if len(scores) and np.abs(scores[0]) > thresh:
                self.pool_passes += 1
                return Priced(scores, dirs, False)
        self.exact_passes += 1
        scores, dirs, _ = self.exact(lam, k)
        return Priced(scores, dirs, True)
