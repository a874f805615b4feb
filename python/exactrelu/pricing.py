"""Pricing: the largest ``|lam . phi_t|`` over the rays of the refined arrangement.

Column generation, certificates and ``beta_max`` all ask one question of a
multiplier ``lam``: which rays ``t`` have the largest ``|lam . relu(A theta_t)|``
(with ``||theta_t[:d]||_1 = 1``)? docs/design.md sections 4 and 8. Three pricers
answer it:

:class:`ExactPricer`
    every ray, streamed through the C++ core (never stored): the answer certifies.
:class:`MatrixPricer`
    the explicit columns of every ray (method ``"full"``).
:class:`CandidatePool`
    the rays that exact passes found good (the best few of every shard of each
    pass), kept with their columns and re-priced by one matrix-vector product:
    cheap, never a certificate.
:class:`PoolPricer`
    a heuristic pool of rays near given anchors plus random ones, priced in numpy:
    cheap, never a certificate (used only when even one exact pass is very costly).

:class:`PoolThenExact` is the one strategy built from them: ask the pools first and
pay for an exact pass only when they have nothing above the threshold; each exact
pass refills the candidate pool.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from . import _core
from ._progress import tracking
from .arrangement import arrangement_info
from .columns import canonical_orientation, line_keys, relu_columns
from .limits import PRICING_MAX_RAYS, refuse_rays

__all__ = [
    "ExactPricer",
    "MatrixPricer",
    "PoolPricer",
    "CandidatePool",
    "PoolThenExact",
    "Priced",
    "POOL_WORK",
    "pool_pays_off",
    "check_pricing_size",
]

#: Exact pricing passes are preceded by the pool when ``rays * n`` (the work of one
#: exact pass, from Cover's bound on the refined arrangement) exceeds this.
POOL_WORK = 2_000_000_000
#: Where an exact pass is expensive (``POOL_WORK``) and the heuristic pool finds no ray
#: above the threshold, it climbs up to CLIMB_STEPS times: its best CLIMB_ANCHORS rays
#: become the anchors of the next neighbourhood (docs/design.md section 8).
CLIMB_STEPS = 3
CLIMB_ANCHORS = 32
#: Entries of the pool's ReLU matrix scored per numpy block (bounds its memory and
#: keeps a block in cache: 2 MB).
_POOL_BLOCK_ENTRIES = 262_144
#: The candidate pool keeps at most this many entries of ReLU columns (n per ray) ...
CANDIDATE_POOL_ENTRIES = 8_000_000
#: ... and between these many rays.
CANDIDATE_POOL_RAYS = (2_000, 50_000)


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


#: Heuristic pool rays of up to this many coordinates come from minors, not an SVD.
_MINOR_NULL_MAX_D = 8


def top_abs(scores, k):
    """Indices of the ``k`` largest ``|scores|`` in decreasing order, ties in index
    order: ``np.argsort(-abs(scores), kind="stable")[:k]`` without sorting them all."""
    a = np.abs(scores)
    k = max(1, int(k))
    if k >= len(a):
        return np.argsort(-a, kind="stable")
    kth = np.partition(a, len(a) - k)[len(a) - k]   # the k-th largest value
    idx = np.flatnonzero(a > kth)
    ties = np.flatnonzero(a == kth)[:k - len(idx)]
    idx = np.concatenate([idx, ties])
    return idx[np.argsort(-a[idx], kind="stable")]


def pool_pays_off(prob, rays_bound=None):
    """True when an exact pass costs more than :data:`POOL_WORK` (see there)."""
    if rays_bound is None:
        rays_bound = refined_rays_bound(prob)
    return rays_bound * prob.n > POOL_WORK


def _column_dtype(A):
    """Single precision for the candidate pool's columns when the data's magnitudes
    leave it room (re-scored in double precision before use), else double."""
    amax = float(np.abs(A).max(initial=0.0))
    return np.float32 if 1e-15 < amax < 1e15 else np.float64


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

    def _recall(self, lam, top_k, pool_size):
        """``(lam, top_k, pool_size, again)``: the arguments normalized, and the
        previous pass's answer ``(scores, dirs, n_priced, pool_dirs)`` when it priced
        the same ``lam`` (bit for bit) and kept at least as much, else None (such an
        answer is not counted as a pass)."""
        lam = np.ascontiguousarray(lam, dtype=np.float64)
        top_k, pool_size = int(max(1, top_k)), int(max(0, pool_size))
        last = getattr(self, "_last", None)
        if (last is not None and last[0] == lam.tobytes() and last[1] >= top_k
                and last[2] >= pool_size):
            _, _, _, scores, dirs, n_priced, pool_dirs = last
            return lam, top_k, pool_size, (scores[:top_k], dirs[:top_k], n_priced, pool_dirs)
        return lam, top_k, pool_size, None

    def _remember(self, lam, top_k, pool_size, scores, dirs, n_priced, pool_dirs):
        self._last = (lam.tobytes(), top_k, pool_size, scores, dirs, n_priced, pool_dirs)


class ExactPricer(_Counted):
    """Exact pricing ``max_t |lam . phi_t|`` over all rays of the refined arrangement,
    streamed by the C++ core (``_core.price_rays``), optionally with a candidate pool
    (:meth:`with_pool`).

    ``progress`` (a :class:`~exactrelu._progress.PassProgress` or ``None``) shows each
    pass as ``"pricing pass k"``. With ``prob.client`` each pass runs as shard tasks
    on that Dask cluster (:class:`~exactrelu.cluster.ShardEngine`, kept in
    :attr:`engine`), with the same answer.
    """

    def __init__(self, prob, threads=None, progress=None):
        super().__init__()
        self.prob = prob
        self.threads = prob.threads if threads is None else int(threads)
        self.progress = progress
        self._last = None
        self.engine = None
        if prob.client is not None:
            from .cluster import ShardEngine

            self.engine = ShardEngine(prob.client)

    def __call__(self, lam, top_k=1):
        """Return ``(scores, dirs, n_priced)``: the ``top_k`` rays by ``|lam . phi|``,
        signed scores, directions with unit l1 weight part."""
        scores, dirs, n_priced, _ = self.with_pool(lam, top_k)
        return scores, dirs, n_priced

    def with_pool(self, lam, top_k=1, pool_size=0):
        """:meth:`__call__` plus about ``pool_size`` more rays, the best few of every
        shard of the pass (``(scores, dirs, n_priced, pool_dirs)``).

        The same ``lam`` (bit for bit) as the previous call is answered from that
        call when it asked for at least as much (the certificate re-prices the last
        column generation multiplier); such an answer is not counted as a pass.
        """
        lam, top_k, pool_size, again = self._recall(lam, top_k, pool_size)
        if again is not None:
            return again
        t0 = time.perf_counter()
        p = self.prob
        if not lam.any():   # every ray scores 0: the maximum is 0 without a walk
            return np.zeros(0), np.zeros((0, p.D)), 0, np.zeros((0, p.D))
        with tracking(self.progress, f"pricing pass {self.calls + 1}") as report:
            if self.engine is not None:
                scores, dirs, n_priced, _, pool_dirs, _ = self.engine.price_rays(
                    p.A_ref, p.n, lam, p.norm_mask, top_k, pool_size, report)
            else:
                scores, dirs, n_priced, _, pool_dirs, _ = _core.price_rays(
                    p.A_ref, p.n, lam, p.norm_mask, top_k, self.threads, progress=report,
                    pool_size=pool_size)
        scores = np.asarray(scores, dtype=float)
        dirs = np.asarray(dirs, dtype=float).reshape(len(scores), p.D)
        pool_dirs = np.asarray(pool_dirs, dtype=float).reshape(-1, p.D)
        self._account(n_priced, t0)
        self._remember(lam, top_k, pool_size, scores, dirs, int(n_priced), pool_dirs)
        return scores, dirs, int(n_priced), pool_dirs


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
        if p.D == 3:   # the null vector of two rows: their cross product (no SVD)
            v = np.cross(M[:, 0], M[:, 1])
            scale = np.linalg.norm(M[:, 0], axis=1) * np.linalg.norm(M[:, 1], axis=1)
            v = v[np.linalg.norm(v, axis=1) > 1e-10 * scale]
        elif p.D <= _MINOR_NULL_MAX_D:
            # the generalized cross product: v_j = (-1)^j det(M without column j), D
            # batched determinants (an SVD of the stack cost 5-10x more); kept when its
            # norm (the rows' volume) is not negligible against the rows' norms
            cols = np.arange(p.D)
            v = np.stack([(-1) ** j * np.linalg.det(M[:, :, cols != j]) for j in range(p.D)],
                         axis=1)
            scale = np.prod(np.linalg.norm(M, axis=2), axis=1)
            v = v[np.linalg.norm(v, axis=1) > 1e-10 * scale]
        else:
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
        budget = max(1, self.max_pool - self.n_random)
        if S * r * N <= budget:   # every ray of every 2-flat through each anchor
            base = np.broadcast_to(order[:, None, None, :], (S, r, N, r)).copy()
            pos = np.arange(r)
            base[:, pos, :, pos] = np.arange(N)[None, None, :]
            return base.reshape(-1, r)
        # else on each 2-flat through an anchor, the K rays nearest to it on each side
        cap = max(1, budget // (4 * r))
        anc = anchors[good]
        if S > cap:
            sel = np.sort(self.rng.choice(S, cap, replace=False))
            order, anc, S = order[sel], anc[sel], cap
        K = max(2, budget // (2 * S * r))
        # every (anchor, dropped hyperplane) at once: the 2-flat of the other r - 1
        rest = np.stack([np.delete(order, j, axis=1) for j in range(r)], axis=1)  # S,r,r-1
        rest = rest.reshape(S * r, r - 1)
        anc = np.repeat(anc, r, axis=0)
        near = self._nearest_on_flats(anc, rest, K)                 # (S*r, 2K), -1: none
        sub = np.repeat(order, r, axis=0).reshape(S * r, r)
        j = np.tile(np.arange(r), S)
        out = np.repeat(sub, near.shape[1], axis=0)
        out[np.arange(len(out)), np.repeat(j, near.shape[1])] = near.reshape(-1)
        return out[near.reshape(-1) >= 0]

    def _nearest_on_flats(self, v, rows, K):
        """For each 2-flat ``{A[rows[i]] theta = 0}`` through ``v[i]``: the hyperplanes
        whose rays on it are nearest to ``v[i]`` in angle, ``K`` on each side
        (``-1`` where there are fewer, or the rows do not span a 2-flat)."""
        A = self.prob.A_ref
        P = len(v)
        _, sv, Vt = np.linalg.svd(A[rows])                       # (P, r-1, D)
        ok_flat = sv[:, -1] > 1e-10 * sv[:, 0] if sv.shape[1] else np.ones(P, bool)
        B = Vt[:, rows.shape[1]:, :]                              # (P, 2, D)
        vh = v / np.linalg.norm(v, axis=1, keepdims=True)
        W = B - np.einsum("pkd,pd->pk", B, vh)[:, :, None] * vh[:, None, :]
        pick = np.argmax(np.linalg.norm(W, axis=2), axis=1)
        w = W[np.arange(P), pick]
        w /= np.maximum(np.linalg.norm(w, axis=1, keepdims=True), 1e-300)
        t, u = vh @ A.T, w @ A.T                                  # (P, N)
        scale = (np.abs(vh) + np.abs(w)) @ np.abs(A).T
        ok = (np.abs(t) > 1e-9 * np.maximum(scale, 1e-300)) & ok_flat[:, None]
        phi = np.arctan2(-t, u)
        phi = np.where(phi > np.pi / 2, phi - np.pi, np.where(phi <= -np.pi / 2, phi + np.pi, phi))
        kk = min(K, A.shape[0])
        pos = np.where(ok & (phi > 0), phi, np.inf)
        neg = np.where(ok & (phi < 0), -phi, np.inf)
        out = []
        for key in (pos, neg):
            idx = np.argpartition(key, kk - 1, axis=1)[:, :kk] if kk < key.shape[1] \
                else np.argsort(key, axis=1, kind="stable")
            idx = np.where(np.isfinite(np.take_along_axis(key, idx, axis=1)), idx, -1)
            out.append(idx)
        return np.hstack(out)

    def pool(self, anchors):
        """The pool's directions: :meth:`lines` and their opposites."""
        v = self.lines(anchors)
        return np.vstack([v, -v]) if len(v) else v

    def lines(self, anchors):
        """One direction per line of the pool (first nonzero coordinate positive,
        deduplicated, in a fixed order): random rays when ``n_random`` and the rays
        adjacent to the ``anchors``."""
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
        v = canonical_orientation(self._rays_of(np.vstack(subsets)))
        if len(v):
            _, idx = np.unique(np.round(v, 12), axis=0, return_index=True)
            v = v[np.sort(idx)]
        return v

    def __call__(self, lam, top_k=1, anchors=None):
        t0 = time.perf_counter()
        lines = self.lines(np.zeros((0, self.prob.D)) if anchors is None else anchors)
        if len(lines) == 0:
            return np.zeros(0), lines, 0
        lam = np.asarray(lam, dtype=float)
        step = max(1, _POOL_BLOCK_ENTRIES // max(self.prob.n, 1))
        pos, neg = [], []
        for i in range(0, len(lines), step):
            # both rays of a line from one product: relu(-z) = relu(z) - z
            Z = lines[i:i + step] @ self.prob.A.T
            lin = lines[i:i + step] @ (self.prob.A.T @ lam)
            pos.append(np.maximum(Z, 0.0, out=Z) @ lam)
            neg.append(pos[-1] - lin)
        sc = np.concatenate(pos + neg)
        dirs = np.vstack([lines, -lines])
        order = top_abs(sc, top_k)
        self._account(len(sc), t0)
        return sc[order], dirs[order], len(sc)


class CandidatePool(_Counted):
    """Rays found good by exact passes, re-priced cheaply (no certificate).

    Each exact pass hands over the best few rays of every shard of its walk (not only
    the best overall, which crowd around one ray), see docs/design.md section 8.
    The pool stores their ReLU columns in single precision (half the memory to touch;
    first touches of fresh pages dominated adding rays), so re-pricing a multiplier
    is one product ``Phi.T @ lam``; the best few are then re-scored in double
    precision, and those scores are what it returns. It holds at most ``capacity``
    rays; when full, the rays that scored lowest at the last re-pricing make room.
    """

    def __init__(self, prob, capacity=None):
        super().__init__()
        self.prob = prob
        if capacity is None:
            lo, hi = CANDIDATE_POOL_RAYS
            capacity = int(np.clip(CANDIDATE_POOL_ENTRIES // max(prob.n, 1), lo, hi))
        self.capacity = int(capacity)
        # rows of _cols are the stored columns (filled in place: no copy of the whole
        # pool per addition), rows of _dirs their directions; the first _size are used
        self._cols = None
        self._dirs = np.zeros((self.capacity, prob.D))
        self._size = 0
        self._keys = set()
        self._last_scores = np.zeros(0)

    def __len__(self):
        return self._size

    @property
    def dirs(self):
        return self._dirs[:self._size]

    @property
    def Phi(self):
        """The ReLU columns of the pool's rays, ``(n, len(self))`` (double precision)."""
        return np.maximum(self.prob.A @ self.dirs.T, 0.0)

    def add(self, dirs):
        """Add rays (rows of ``dirs``) not in the pool yet; returns how many."""
        dirs = np.atleast_2d(np.asarray(dirs, dtype=float)).reshape(-1, self.prob.D)
        if len(dirs) == 0:
            return 0
        keys = line_keys(dirs)
        fresh = []
        for i, k in enumerate(keys):
            if k not in self._keys:
                self._keys.add(k)
                fresh.append(i)
        if not fresh:
            return 0
        new = dirs[fresh]
        if len(new) > self.capacity:   # more than fits: the first ones are kept
            for k in line_keys(new[self.capacity:]):
                self._keys.discard(k)
            new = new[:self.capacity]
        if self._cols is None:
            self._cols = np.empty((self.capacity, self.prob.n), dtype=_column_dtype(self.prob.A))
        over = len(self.dirs) + len(new) - self.capacity
        if over > 0:
            # make room: drop the lowest scorers of the last re-pricing
            old = np.zeros(len(self.dirs)) if len(self._last_scores) != len(self.dirs) \
                else np.abs(self._last_scores)
            keep = np.sort(np.argsort(-old, kind="stable")[:max(0, len(self.dirs) - over)])
            dropped = np.setdiff1d(np.arange(len(self.dirs)), keep)
            for k in line_keys(self.dirs[dropped]) if len(dropped) else []:
                self._keys.discard(k)
            m = len(keep)
            self._dirs[:m] = self._dirs[keep]
            self._cols[:m] = self._cols[keep]
            self._size = m
        k0, k1 = self._size, self._size + len(new)
        self._dirs[k0:k1] = new
        # relu(new A^T) written straight into the pool's rows (no transposed copy)
        dt = self._cols.dtype
        np.matmul(new.astype(dt), self.prob.A.T.astype(dt), out=self._cols[k0:k1])
        np.maximum(self._cols[k0:k1], 0.0, out=self._cols[k0:k1])
        if not np.all(np.isfinite(self._cols[k0:k1])):   # beyond single precision
            self._cols = self._cols.astype(float)
            np.maximum(new @ self.prob.A.T, 0.0, out=self._cols[k0:k1])
        self._size = k1
        self._last_scores = np.zeros(0)
        return len(new)

    def __call__(self, lam, top_k=1):
        """``(scores, dirs, n_priced)``: the pool's best ``top_k`` rays for ``lam``."""
        t0 = time.perf_counter()
        if len(self.dirs) == 0:
            return np.zeros(0), self.dirs, 0
        lam = np.asarray(lam, dtype=float)
        sc = self._cols[:self._size] @ lam.astype(self._cols.dtype)
        self._last_scores = sc
        k = max(1, int(top_k))
        # the best few by the single-precision scores, re-scored in double precision
        m = min(len(sc), 2 * k + 16)
        cand = top_abs(sc, m)
        exact = np.maximum(self.dirs[cand] @ self.prob.A.T, 0.0) @ lam
        order = np.argsort(-np.abs(exact), kind="stable")[:k]
        self._account(len(sc), t0)
        return exact[order], self.dirs[cand[order]], len(sc)


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
    """Candidate pool first, then the heuristic pool, then an exact pass.

    Parameters
    ----------
    exact : ExactPricer
    pool : PoolPricer or None
        The heuristic pool (``None``: none).
    candidates : CandidatePool or None
        Filled by every exact pass (about ``candidates.capacity / 2`` rays each);
        ``None``: no candidate pool.
    """

    def __init__(self, exact, pool=None, candidates=None):
        self.exact = exact
        self.pool = pool
        self.candidates = candidates
        self.exact_passes = 0
        self.pool_passes = 0

    @classmethod
    def for_problem(cls, prob, exact=None, rays_bound=None):
        """The strategy for ``prob``: a candidate pool and the rays adjacent to the
        anchors always, random rays too when :func:`pool_pays_off`."""
        exact = ExactPricer(prob) if exact is None else exact
        n_random = None if pool_pays_off(prob, rays_bound) else 0
        return cls(exact, PoolPricer(prob, n_random=n_random), CandidatePool(prob))

    def __call__(self, lam, k, thresh, anchors=None, force_exact=False):
        """The best ``k`` rays: from the candidate pool or the heuristic pool when one
        of theirs scores above ``thresh`` (``anchors``, an array or a callable
        returning one, seeds the heuristic pool), else from an exact pass."""
        if not force_exact:
            if self.candidates is not None and len(self.candidates):
                scores, dirs, _ = self.candidates(lam, k)
                if len(scores) and np.abs(scores[0]) > thresh:
                    self.pool_passes += 1
                    return Priced(scores, dirs, False)
            if self.pool is not None:
                if callable(anchors):
                    anchors = anchors()
                scores, dirs, _ = self.pool(lam, k, anchors)
                # where an exact pass is expensive, climb first: the best rays found
                # become the anchors of the next neighbourhood, a few times
                steps = CLIMB_STEPS if self.pool.n_random > 0 else 0
                for _ in range(steps):
                    if not len(scores) or np.abs(scores[0]) > thresh:
                        break
                    scores, dirs, _ = self.pool(lam, k, dirs[:CLIMB_ANCHORS])
                if len(scores) and np.abs(scores[0]) > thresh:
                    self.pool_passes += 1
                    return Priced(scores, dirs, False)
        self.exact_passes += 1
        if self.candidates is None:
            scores, dirs, _ = self.exact(lam, k)
        else:
            scores, dirs, _, extra = self.exact.with_pool(lam, k, self.candidates.capacity // 2)
            self.candidates.add(np.vstack([dirs, extra]))
        return Priced(scores, dirs, True)
