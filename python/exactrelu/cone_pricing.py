"""Exact pricing for weight decay: ``max |lam . relu(A u)|`` over ``||w||_2 <= 1``.

With the l2 penalty a neuron ``u = (w, b)`` costs ``||w||_2``, and the optimal
neurons no longer lie on the rays of an arrangement: pricing is a small cone program
per cell (docs/design.md section 11). For up to two input dimensions it has an exact
sweep:

* **Anchors** (neuron biases). For fixed ``w`` the function
  ``b -> lam . relu(X w + b)`` is piecewise linear with breakpoints ``b = -x_j . w``;
  it is 0 for ``b`` below all of them and constant (``lam . X w``, since
  ``1 . lam = 0``) above all of them, so its supremum is attained at a breakpoint.
  Hence the pricing maximum is ``max_j max_{||w||_2 <= 1} F_j(w)`` with
  ``F_j(w) = sum_i lam_i relu((x_i - x_j) . w)``, a problem without bias for each
  anchor row ``j``; the neuron is ``u = (w, -x_j . w)``.
* **Sweep** (d = 2). ``F_j`` is positively homogeneous, so its maximum over the disc
  is over the unit circle (or 0). The circle is cut into arcs by the directions
  orthogonal to the ``z_i = x_i - x_j``; on each arc ``F_j(w) = g . w`` for one
  vector ``g`` (a prefix sum of ``+-lam_i z_i`` along the sorted angles), whose
  maximum over the arc is ``||g||`` when ``g`` points into the arc, else at an end.
  Ends and arc maxima of ``+F_j`` and ``-F_j`` are the candidates: the largest is the
  pricing maximum, exactly (up to the rounding bounded in :func:`sweep_error_bound`).

* **Circles and regions** (d = 3). On the sphere the maximum lies inside a vertex,
  an arc of a great circle ``z_k^perp`` or a region. Every vertex and arc lies on
  a circle: each circle is swept as above in its own plane (the circle's normal and
  those parallel to it never switch on it), giving ends and arc maxima. Every
  region borders an arc, and the sweep knows the region on each side of it
  (``g`` and ``g`` plus the normals parallel to ``z_k`` on that side); a region's
  candidate ``||g||`` counts only when ``F(g / ||g||)`` confirms it (else the region's
  maximum is on its boundary, already priced), and candidates are verified best
  first, only while they beat the best value found.

Without neuron biases there is one sweep (d = 2) or one per circle (d = 3) of the
rows of ``X`` themselves. For ``d = 1`` both norms agree and the l1 ray pricer is
used. Sweeps are processed in
blocks (numpy, memory ``O(block * n)``); the work of a pass is ``O(n^2 log n)`` at
d = 2 and ``O(n^3 log n)`` at d = 3 (with biases).
"""

from __future__ import annotations

import time

import numpy as np

from .columns import line_keys
from .errors import NotSupportedError, SizeError
from .pricing import _Counted

__all__ = ["ConePricer", "sweep_error_bound", "cone_pricing_supported", "CONE_MAX_EVENTS",
           "ARC_TOL"]

#: Entries of the (anchors x 2n) event arrays processed per numpy block.
_BLOCK_EVENTS = 2_000_000
#: A pass over more anchor-events than this is refused (SizeError).
CONE_MAX_EVENTS = 2_000_000_000
#: An arc's maximizer ``g / ||g||`` counts as inside the arc within this angle
#: (radians): counting it when it is just outside over-estimates the arc's maximum
#: by at most ``||g|| * ARC_TOL^2 / 2``, which keeps the maximum an upper bound.
ARC_TOL = 1e-9
_TWO_PI = 2.0 * np.pi
#: A normal whose component in a circle's plane is below this fraction of its length
#: is parallel to the circle's own normal (d = 3).
_PARALLEL_RTOL = 1e-12
#: A region's maximizer g / ||g|| is accepted when F there is within this fraction of
#: ||g|| (then ||g||, the larger, is counted).
_REGION_RTOL = 1e-9
#: Region candidates verified per numpy block.
_VERIFY_BLOCK = 4096


def cone_pricing_supported(prob):
    """Whether :class:`ConePricer` prices ``prob`` exactly (``2 <= d <= 3``; d = 1 is
    the l1 problem)."""
    return prob.d <= 3


def _plane_basis(z):
    """Orthonormal ``(e1, e2)`` spanning the plane orthogonal to each row of ``z``."""
    u = z / np.linalg.norm(z, axis=1, keepdims=True)
    a = np.zeros_like(u)
    a[np.arange(len(u)), np.argmin(np.abs(u), axis=1)] = 1.0
    e1 = np.cross(u, a)
    e1 /= np.linalg.norm(e1, axis=1, keepdims=True)
    return e1, np.cross(u, e1)


def _wrap(a):
    """Angles into ``[-pi, pi)``."""
    return (a + np.pi) % _TWO_PI - np.pi


def sweep_error_bound(prob, lam):
    """An upper bound on the rounding error of the sweep's values.

    Every value is ``g . w`` with ``g`` a sum of at most ``2n + 1`` terms
    ``+-lam_i z_i`` and ``|w| = 1``; each is off by at most
    ``(2n + 4) * eps * sum_i |lam_i| ||z_i||`` (cumulative sums, ``atan2`` and
    ``cos``/``sin`` of the ends included with a factor 2 margin), and
    ``||z_i|| <= ||x_i|| + max_j ||x_j||`` bounds every anchor at once.
    """
    X = prob.X
    nx = np.linalg.norm(X, axis=1) if X.size else np.zeros(len(X))
    reach = nx + (float(nx.max(initial=0.0)) if prob.bias else 0.0)
    s = float(np.abs(lam) @ reach)
    return 2.0 * (2 * prob.n + 4) * np.finfo(float).eps * s


class ConePricer(_Counted):
    """Exact l2 pricing for ``d <= 3`` (see the module docstring).

    Calls return ``(scores, dirs, n_priced)`` like
    :class:`~exactrelu.pricing.ExactPricer`, with directions normalized to
    ``||w||_2 = 1`` (a column ``relu(A u)`` of cost 1); :meth:`with_pool` also
    returns the best candidates of every anchor (for the candidate pool), and
    :meth:`max_abs` the maximum plus :func:`sweep_error_bound`, an upper bound on
    the exact maximum as a certificate needs.
    """

    def __init__(self, prob, max_events=None):
        super().__init__()
        if not cone_pricing_supported(prob):
            raise NotSupportedError(
                f"exact l2 pricing by angular sweeps needs d <= 3 input dimensions, got "
                f"d = {prob.d}; the weight-decay problem at d >= 4 is solved by "
                "method='cells'")
        self.prob = prob
        n = prob.n
        self.anchors = n if prob.bias else 1
        sweeps = self.anchors * (n if prob.d == 3 else 1)
        events = sweeps * 2 * n
        limit = CONE_MAX_EVENTS if max_events is None else int(max_events)
        if events > limit:
            raise SizeError(f"exact l2 pricing sweeps {events:,} events per pass "
                            f"(limit {limit:,}; raise max_rays= to allow more)",
                            estimate=events, limit=limit,
                            what="anchor events")
        self._last = None

    def __call__(self, lam, top_k=1):
        scores, dirs, n_priced, _ = self.with_pool(lam, top_k)
        return scores, dirs, n_priced

    def max_abs(self, lam):
        """``(M, n_priced)`` with ``M`` at least the exact pricing maximum."""
        scores, _, n_priced = self(lam, 1)
        M = float(abs(scores[0])) if len(scores) else 0.0
        return M + sweep_error_bound(self.prob, lam), n_priced

    def with_pool(self, lam, top_k=1, pool_size=0):
        """The best ``top_k`` neurons (distinct directions, descending ``|score|``) and
        about ``pool_size`` more: the best of each sweep (anchor, or anchor and
        circle)."""
        lam, top_k, pool_size, again = self._recall(lam, top_k, pool_size)
        if again is not None:
            return again
        t0 = time.perf_counter()
        p = self.prob
        empty = np.zeros((0, p.D))
        if not lam.any() or p.n == 0:
            return np.zeros(0), empty, 0, empty
        keep = max(4 * top_k, 16)
        best_s, best_u = np.zeros(0), empty
        pool_s, pool_u = np.zeros(0), empty
        err = sweep_error_bound(p, lam)
        J, K = self._sweep_list()
        block = max(1, _BLOCK_EVENTS // (2 * p.n))
        floor = 0.0
        for s0 in range(0, len(J), block):
            s1 = min(len(J), s0 + block)
            s, u, ps, pu, regions = self._block(lam, J[s0:s1], None if K is None else K[s0:s1],
                                                keep, floor)
            best_s, best_u = _top(np.r_[best_s, s], np.vstack([best_u, u]), keep)
            floor = max(floor, float(np.abs(best_s).max(initial=0.0)))
            if regions is not None:
                rs, ru = self._verify(lam, regions, floor, err)
                best_s, best_u = _top(np.r_[best_s, rs], np.vstack([best_u, ru]), keep)
                floor = max(floor, float(np.abs(best_s).max(initial=0.0)))
            if pool_size:
                pool_s, pool_u = _top(np.r_[pool_s, ps], np.vstack([pool_u, pu]), pool_size)
        scores, dirs = _distinct_top(best_s, best_u, top_k)
        n_priced = 4 * p.n * len(J)
        self._account(n_priced, t0)
        self._remember(lam, top_k, pool_size, scores, dirs, n_priced, pool_u)
        return scores, dirs, n_priced, pool_u

    def _sweep_list(self):
        """The sweeps of a pass, ``(J, K)``: the anchor row of each (``J``; 0 without
        biases) and, at d = 3, the great circle ``z_k^perp`` it runs along (``K``;
        ``None`` at d = 2, where the one sweep per anchor is the unit circle)."""
        p = self.prob
        n = p.n
        if p.d == 2:
            return np.arange(self.anchors), None
        if not p.bias:
            K = np.flatnonzero(np.abs(p.X).max(axis=1) > 0)
            return np.zeros(len(K), dtype=int), K
        # the 2-flat of hyperplanes j and k is the same circle seen from anchor j or k:
        # one sweep (j < k) prices it and the regions beside it on both hyperplanes
        J, K = np.divmod(np.arange(n * n), n)
        keep = (J < K) & np.any(p.X[J] != p.X[K], axis=1)   # z_k = x_k - x_j must not vanish
        return J[keep], K[keep]

    def _block(self, lam, J, K, keep, floor):
        """Sweep ``(J, K)``: the block's ``keep`` best candidates of the circle (ends and
        arc maxima) ``(scores, dirs)``, each sweep's best direction (for the pool),
        and at d = 3 the regions adjacent to every arc whose ``||g||`` exceeds
        ``floor``, as ``(values, unit w, anchors)`` to verify."""
        p = self.prob
        X = p.X
        B = len(J)
        Z = X[None, :, :] - X[J][:, None, :] if p.bias else np.broadcast_to(X, (B,) + X.shape)
        if K is None:
            P = Z
            e1 = e2 = None
        else:
            e1, e2 = _plane_basis(Z[np.arange(B), K])
            P = np.stack([np.einsum("bnk,bk->bn", Z, e1), np.einsum("bnk,bk->bn", Z, e2)],
                         axis=2)
        phi = np.arctan2(P[..., 1], P[..., 0])
        on = (P[..., 0] != 0) | (P[..., 1] != 0)
        if K is not None:
            # normals parallel to z_k (repeated points, collinear ones) are 0 on the
            # whole circle: they switch only across it (round-off left in P ignored)
            zn = np.linalg.norm(Z, axis=2)
            on &= np.hypot(P[..., 0], P[..., 1]) > _PARALLEL_RTOL * zn
        enter = _wrap(phi - 0.5 * np.pi)     # z . w > 0 on the open arc (enter, exit)
        leave = _wrap(phi + 0.5 * np.pi)
        V = lam[None, :, None] * Z
        # active at angle -pi: the arcs that wrap around it (exit listed before enter)
        act0 = (on & (leave < enter)).astype(float)
        g0 = np.einsum("bnk,bn->bk", V, act0)
        ang = np.concatenate([enter, leave], axis=1)                  # (B, 2n)
        order = np.argsort(ang, axis=1, kind="stable")
        ang = np.take_along_axis(ang, order, axis=1)
        delta = np.take_along_axis(np.concatenate([V, -V], axis=1), order[..., None], axis=1)
        if K is not None:   # a circle's own normal (and parallel ones) never switch on it
            delta *= np.take_along_axis(np.concatenate([on, on], axis=1), order,
                                        axis=1)[..., None]
        G = g0[:, None, :] + np.cumsum(delta, axis=1)   # g on the arc after each event
        if K is not None and p.bias:    # sum of lam_i over the active rows, per arc
            dl = np.take_along_axis(np.concatenate([lam[None, :] * on, -lam[None, :] * on],
                                                   axis=1), order, axis=1)
            S = act0 @ lam
            S = S[:, None] + np.cumsum(dl, axis=1)
        if K is None:
            G2 = G
        else:
            G2 = np.stack([np.einsum("bek,bk->be", G, e1), np.einsum("bek,bk->be", G, e2)],
                          axis=2)
        c, s = np.cos(ang), np.sin(ang)
        vert = G2[..., 0] * c + G2[..., 1] * s          # F at each event angle
        width = np.diff(ang, axis=1, append=ang[:, :1] + _TWO_PI)
        gn = np.hypot(G2[..., 0], G2[..., 1])
        gamma = np.arctan2(G2[..., 1], G2[..., 0])
        into = (gamma - ang) % _TWO_PI                  # +g's angle past the arc's start
        pos = (into <= width + ARC_TOL) | (into >= _TWO_PI - ARC_TOL)
        into_neg = (into + np.pi) % _TWO_PI
        neg = (into_neg <= width + ARC_TOL) | (into_neg >= _TWO_PI - ARC_TOL)
        # candidates per sweep: event ends (signed F), arc maxima of +F and of -F
        sc = np.concatenate([vert, np.where(pos, gn, 0.0), np.where(neg, -gn, 0.0)], axis=1)
        safe = np.where(gn > 0, gn, 1.0)
        wx = np.concatenate([c, G2[..., 0] / safe, -G2[..., 0] / safe], axis=1)
        wy = np.concatenate([s, G2[..., 1] / safe, -G2[..., 1] / safe], axis=1)
        absc = np.abs(sc)
        flat = absc.reshape(-1)
        k = min(keep, flat.size)
        idx = np.argpartition(-flat, k - 1)[:k]
        rows, cols = np.divmod(idx, sc.shape[1])
        u_best = self._neurons(self._lift(wx[rows, cols], wy[rows, cols], e1, e2, rows), J[rows])
        top = np.argmax(absc, axis=1)
        rr = np.arange(B)
        good = absc[rr, top] > 0
        pool_s = sc[rr, top][good]
        pool_u = self._neurons(self._lift(wx[rr, top], wy[rr, top], e1, e2, rr)[good], J[good])
        regions = None
        floor = max(floor, float(absc.max(initial=0.0)))   # regions must beat the circles
        if K is not None:
            # the two regions beside each arc: z_k . w < 0 and > 0; the normals parallel
            # to z_k switch with the side (those pointing like z_k on its positive side)
            zk = Z[np.arange(B), K]
            par = ~on & (zn > 0)
            along = np.einsum("bnk,bk->bn", Z, zk) > 0
            plus = np.einsum("bnk,bn->bk", V, (par & along).astype(float))
            minus = np.einsum("bnk,bn->bk", V, (par & ~along).astype(float))
            sides = [(G + minus[:, None, :], J, -1.0), (G + plus[:, None, :], J, 1.0)]
            n = X.shape[0]
            nxt = np.roll(order, -1, axis=1)
            if p.bias:
                # from anchor k (normal x_j - x_k = -z_k): rows active on the arc give
                # lam_i (x_i - x_k) = lam_i z_i - lam_i z_k; a parallel row x_i - x_j =
                # c_i z_k gives lam_i (c_i - 1) z_k, active where (c_i - 1) z_k . w > 0;
                # row j itself (-z_k) is active where z_k . w < 0
                base = G - S[..., None] * zk[:, None, :]
                ci = np.einsum("bnk,bk->bn", Z, zk) / np.einsum("bk,bk->b", zk, zk)[:, None]
                wpar = lam[None, :] * (ci - 1.0) * par
                low = (wpar * (ci < 1.0)).sum(axis=1) - lam[J]       # z_k . w < 0 side
                high = (wpar * (ci > 1.0)).sum(axis=1)               # z_k . w > 0 side
                sides += [(base + (low[:, None] * zk)[:, None, :], K, -1.0),
                          (base + (high[:, None] * zk)[:, None, :], K, 1.0)]
            vals, dirs, anchors = [], [], []
            for g, owner, side in sides:
                nrm = np.linalg.norm(g, axis=2)
                # the region lies on one side of the circle's plane (it is open): its
                # maximizer of +F is g / ||g|| when that is on the side, of -F it is
                # -g / ||g|| otherwise; only that one is verified
                sgn = np.sign(side * np.einsum("bek,bk->be", g, zk))
                b, e = np.nonzero((nrm > floor) & (sgn != 0))
                if len(b):
                    # the hyperplanes crossing the circle at the arc's two ends bound the
                    # regions beside it too: the maximizer lies on the arc's side of both
                    # (the same signs from anchor k, whose rows x_a - x_k = z_a - z_k
                    # agree with z_a on the circle)
                    ge = g[b, e] * sgn[b, e][:, None]
                    mid = ang[b, e] + 0.5 * width[b, e]
                    wm = np.cos(mid)[:, None] * e1[b] + np.sin(mid)[:, None] * e2[b]
                    agree = np.ones(len(b), dtype=bool)
                    for idx in (order[b, e] % n, nxt[b, e] % n):
                        za = Z[b, idx]
                        dm = np.einsum("ck,ck->c", za, wm)
                        firm = np.abs(dm) > 1e-9 * np.linalg.norm(za, axis=1)
                        if owner is K:
                            za = za - zk[b]
                        da = np.einsum("ck,ck->c", za, ge)
                        agree &= ~firm | (np.sign(da) == np.sign(dm))
                    b, e = b[agree], e[agree]
                if len(b):
                    w = g[b, e] * (sgn[b, e] / nrm[b, e])[:, None]
                    vals.append(sgn[b, e] * nrm[b, e])
                    dirs.append(w)
                    anchors.append(owner[b])
            if vals:
                regions = (np.concatenate(vals), np.vstack(dirs), np.concatenate(anchors))
        return sc[rows, cols], u_best, pool_s, pool_u, regions

    @staticmethod
    def _lift(wx, wy, e1, e2, rows):
        """Unit directions from circle coordinates (the plane's basis at d = 3)."""
        if e1 is None:
            return np.stack([wx, wy], axis=1)
        return wx[:, None] * e1[rows] + wy[:, None] * e2[rows]

    def _neurons(self, W, anchors):
        """Directions ``(w, -x_j . w)`` (or ``w`` without bias) for unit ``w``."""
        if not self.prob.bias:
            return W
        b = -np.einsum("ij,ij->i", self.prob.X[anchors], W)
        return np.hstack([W, b[:, None]])

    def _verify(self, lam, regions, floor, err):
        """The regions whose maximizer ``g / ||g||`` really lies in them (``F`` there is
        ``||g||``; else the region's maximum is on its boundary, priced by the
        circles): ``(scores, dirs)`` for +F and -F, those above ``floor`` only, best
        first."""
        vals, W, anchors = regions          # vals: +-||g|| for +F / -F at the unit W
        # best first; a region reached from several arcs is verified once per arc (the
        # loop stops at the floor, which the best verified values raise)
        order = np.argsort(-np.abs(vals), kind="stable")
        vals, W, anchors = vals[order], W[order], anchors[order]
        X = self.prob.X
        out_s, out_w, out_a = [], [], []
        for t0 in range(0, len(vals), _VERIFY_BLOCK):
            sv = vals[t0:t0 + _VERIFY_BLOCK]
            sign, v = np.sign(sv), np.abs(sv)
            if v[0] <= floor:
                break
            if out_s:
                floor = max(floor, float(np.abs(np.concatenate(out_s)).max()))
            w = W[t0:t0 + _VERIFY_BLOCK]
            a = anchors[t0:t0 + _VERIFY_BLOCK]
            Z = X @ w.T                                         # (n, c)
            if self.prob.bias:
                Z = Z - np.einsum("ij,ij->i", X[a], w)[None, :]
            val = sign * (lam @ np.maximum(Z, 0.0))             # +F or -F at w
            ok = (val >= v * (1.0 - _REGION_RTOL) - err) & (v > floor)
            if ok.any():
                # F there (it may exceed ||g||: then w lies in another region, whose
                # own candidate covers it), never below ||g|| (the upper side)
                out_s.append(sign[ok] * np.maximum(v[ok], val[ok]))
                out_w.append(w[ok])
                out_a.append(a[ok])
        if not out_s:
            return np.zeros(0), np.zeros((0, self.prob.D))
        return np.concatenate(out_s), self._neurons(np.vstack(out_w), np.concatenate(out_a))


def _top(scores, dirs, k):
    """The ``k`` largest ``|scores|`` (any order) and their directions."""
    if len(scores) <= k:
        return scores, dirs
    idx = np.argpartition(-np.abs(scores), k - 1)[:k]
    return scores[idx], dirs[idx]


def _distinct_top(scores, dirs, k):
    """The ``k`` best distinct (signed) directions, in descending ``|score|``."""
    order = np.lexsort((np.arange(len(scores)), -np.abs(scores)))
    out, seen = [], set()
    for i, key in zip(order, line_keys(dirs[order])):
        sk = key + (b"+" if scores[i] >= 0 else b"-")
        if sk in seen or scores[i] == 0:
            continue
        seen.add(sk)
        out.append(i)
        if len(out) == k:
            break
    out = np.asarray(out, dtype=int)
    return scores[out], dirs[out]
