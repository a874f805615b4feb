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

Without neuron biases there is one sweep, of the rows of ``X`` themselves. For
``d = 1`` both norms agree and the l1 ray pricer is used. Anchors are processed in
blocks (numpy, memory ``O(block * n)``); the work of a pass is ``O(n^2 log n)``.
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


def cone_pricing_supported(prob):
    """Whether :class:`ConePricer` prices ``prob`` exactly (``d <= 2``)."""
    return prob.d <= 2


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
    """Exact l2 pricing for ``d <= 2`` (see the module docstring).

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
                f"exact l2 pricing by angular sweeps needs d <= 2 input dimensions, got "
                f"d = {prob.d}; the weight-decay problem at d >= 3 is solved by "
                "method='cells'")
        self.prob = prob
        n = prob.n
        self.anchors = n if prob.bias else 1
        events = self.anchors * 2 * n
        limit = CONE_MAX_EVENTS if max_events is None else int(max_events)
        if events > limit:
            raise SizeError(f"exact l2 pricing sweeps {events:,} anchor events per pass "
                            f"(limit {limit:,})", estimate=events, limit=limit,
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
        about ``pool_size`` more: the best few of each anchor."""
        lam = np.ascontiguousarray(lam, dtype=np.float64)
        top_k, pool_size = int(max(1, top_k)), int(max(0, pool_size))
        key = lam.tobytes()
        last = self._last
        if last is not None and last[0] == key and last[1] >= top_k and last[2] >= pool_size:
            _, _, _, scores, dirs, n_priced, pool_dirs = last
            return scores[:top_k], dirs[:top_k], n_priced, pool_dirs
        t0 = time.perf_counter()
        p = self.prob
        empty = np.zeros((0, p.D))
        if not lam.any() or p.n == 0:
            return np.zeros(0), empty, 0, empty
        per_anchor = 0 if pool_size == 0 else max(1, -(-pool_size // self.anchors))
        keep = max(4 * top_k, 16)
        best_s, best_u, pool = np.zeros(0), empty, []
        n = p.n
        block = max(1, _BLOCK_EVENTS // (2 * n))
        for j0 in range(0, self.anchors, block):
            j1 = min(self.anchors, j0 + block)
            s, u, pu = self._block(lam, j0, j1, keep, per_anchor)
            best_s, best_u = _top(np.r_[best_s, s], np.vstack([best_u, u]), keep)
            if per_anchor:
                pool.append(pu)
        scores, dirs = _distinct_top(best_s, best_u, top_k)
        pool_dirs = np.vstack(pool) if pool else empty
        n_priced = 4 * n * self.anchors
        self._account(n_priced, t0)
        self._last = (key, top_k, pool_size, scores, dirs, n_priced, pool_dirs)
        return scores, dirs, n_priced, pool_dirs

    def _block(self, lam, j0, j1, keep, per_anchor):
        """Sweep anchors ``j0:j1``: their ``keep`` best candidates ``(scores, dirs)``
        and each anchor's ``per_anchor`` best directions."""
        p = self.prob
        X = p.X
        if p.bias:
            Z = X[None, :, :] - X[j0:j1, None, :]          # (B, n, 2)
        else:
            Z = X[None, :, :]
        B = Z.shape[0]
        phi = np.arctan2(Z[..., 1], Z[..., 0])
        on = (Z[..., 0] != 0) | (Z[..., 1] != 0)
        enter = _wrap(phi - 0.5 * np.pi)     # z . w > 0 on the open arc (enter, exit)
        leave = _wrap(phi + 0.5 * np.pi)
        lz = lam[None, :, None] * Z
        # active at angle -pi: the arcs that wrap around it (exit listed before enter)
        g0 = np.einsum("bnk,bn->bk", lz, (on & (leave < enter)).astype(float))
        ang = np.concatenate([enter, leave], axis=1)                  # (B, 2n)
        delta = np.concatenate([lz, -lz], axis=1)                     # (B, 2n, 2)
        order = np.argsort(ang, axis=1, kind="stable")
        ang = np.take_along_axis(ang, order, axis=1)
        delta = np.take_along_axis(delta, order[..., None], axis=1)
        G = g0[:, None, :] + np.cumsum(delta, axis=1)   # g on the arc after each event
        c, s = np.cos(ang), np.sin(ang)
        vert = G[..., 0] * c + G[..., 1] * s            # F at each event angle
        width = np.diff(ang, axis=1, append=ang[:, :1] + _TWO_PI)
        gn = np.hypot(G[..., 0], G[..., 1])
        gamma = np.arctan2(G[..., 1], G[..., 0])
        into = (gamma - ang) % _TWO_PI                  # +g's angle past the arc's start
        pos = (into <= width + ARC_TOL) | (into >= _TWO_PI - ARC_TOL)
        into_neg = (into + np.pi) % _TWO_PI
        neg = (into_neg <= width + ARC_TOL) | (into_neg >= _TWO_PI - ARC_TOL)
        # candidates per anchor: event ends (signed F), arc maxima of +F and of -F
        sc = np.concatenate([vert, np.where(pos, gn, 0.0), np.where(neg, -gn, 0.0)], axis=1)
        safe = np.where(gn > 0, gn, 1.0)
        wx = np.concatenate([c, G[..., 0] / safe, -G[..., 0] / safe], axis=1)
        wy = np.concatenate([s, G[..., 1] / safe, -G[..., 1] / safe], axis=1)
        absc = np.abs(sc)
        # the block's best `keep` overall, and each anchor's best `per_anchor`
        flat = absc.reshape(-1)
        k = min(keep, flat.size)
        idx = np.argpartition(-flat, k - 1)[:k]
        rows, cols = np.divmod(idx, sc.shape[1])
        u_best = self._neurons(wx[rows, cols], wy[rows, cols], rows + j0)
        pool_u = np.zeros((0, p.D))
        if per_anchor:
            kk = min(per_anchor, sc.shape[1])
            part = np.argpartition(-absc, kk - 1, axis=1)[:, :kk]
            rr = np.repeat(np.arange(B), kk)
            cc = part.reshape(-1)
            good = absc[rr, cc] > 0
            pool_u = self._neurons(wx[rr, cc][good], wy[rr, cc][good], rr[good] + j0)
        return sc[rows, cols], u_best, pool_u

    def _neurons(self, wx, wy, anchors):
        """Directions ``(w, -x_j . w)`` (or ``w`` without bias) for unit ``w``."""
        W = np.stack([wx, wy], axis=1)
        if not self.prob.bias:
            return W
        b = -np.einsum("ij,ij->i", self.prob.X[anchors], W)
        return np.hstack([W, b[:, None]])


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
