"""The facets of a cell: the few constraints that define it.

A cell ``{u : s_i a_i . u >= 0 for all i}`` of an arrangement of n hyperplanes in
R^D is cut out by its facets alone, usually a handful against n rows. The cell
program (docs/design.md section 5) needs only those rows per cell, which makes a
restricted cell program (the master of weight-decay column generation) n / facets
times smaller. Facets by polarity: with ``c`` inside the cell and the section
``{u = c + E p}`` by a hyperplane through ``c`` transverse to the cell (``E`` a basis
orthogonal to the sum of the unit constraint normals, which lies inside the dual
cone), the constraints read ``1 + q_i . p >= 0``; the section is bounded and the
irredundant ``i`` are the vertices of the convex hull of the ``q_i``.

Anything unusual (a cell that is not full-dimensional or not pointed, a hull that
Qhull refuses) keeps all rows: always valid, only larger.
"""

from __future__ import annotations

import numpy as np

__all__ = ["cell_facets", "interior_point"]

#: An interior point must satisfy every constraint with at least this margin,
#: relative to the constraint normal's length and the point's.
_INTERIOR_RTOL = 1e-9


#: Points of the polar set within this fraction of its extent from the hull's
#: boundary count as facets.
_HULL_RTOL = 1e-9


def interior_point(B, hint=None):
    """A point ``c`` with ``B c > 0`` (rows scaled to unit length), or ``None``.

    ``hint`` (a point of the closed cell, e.g. a neuron on its boundary) is pushed
    inside along the sum of the normals it is tight on; failing that, an LP (HiGHS)
    maximizes the smallest margin.
    """
    Bn = B / np.linalg.norm(B, axis=1, keepdims=True)
    if hint is not None:
        z = Bn @ hint
        scale = float(np.linalg.norm(hint)) or 1.0
        tight = z <= _INTERIOR_RTOL * scale
        if not tight.any():
            return hint
        push = Bn[tight].sum(axis=0)
        loose = z[~tight]
        room = float(loose.min()) if loose.size else scale
        nrm = float(np.linalg.norm(push))
        if nrm > 0:
            c = hint + 0.25 * room * push / nrm
            if np.all(Bn @ c > _INTERIOR_RTOL * float(np.linalg.norm(c))):
                return c
    return _interior_lp(Bn)


def _interior_lp(Bn):
    """``max t`` subject to ``Bn u >= t``, ``-1 <= u <= 1``, ``t <= 1`` (HiGHS)."""
    import scipy.sparse as sp

    from .._highs import INF, HighsProgram

    n, D = Bn.shape
    M = sp.csc_array(np.hstack([Bn, -np.ones((n, 1))]))
    hp = HighsProgram(np.zeros(n), np.full(n, INF), np.r_[np.zeros(D), -1.0],
                      np.r_[-np.ones(D), -INF], np.r_[np.ones(D), 1.0], M)
    try:
        hp.run(what="the interior point of a cell")
    except Exception:   # noqa: BLE001 - any failure: the caller keeps every row
        return None
    x = hp.x
    if x[D] <= _INTERIOR_RTOL:
        return None
    return x[:D]


def cell_facets(A, patterns, hints=None):
    """For each pattern (a row of ``patterns``), the rows of ``A`` that define its
    cell: an index array per cell (all nonzero rows when the facets are not found).

    ``hints`` (one point of each closed cell, optional) saves the LP that finds an
    interior point.
    """
    from scipy.spatial import ConvexHull, QhullError

    A = np.asarray(A, dtype=float)
    nz = np.flatnonzero(np.abs(A).max(axis=1) > 0)
    An = A[nz]
    out = []
    for k, pat in enumerate(np.atleast_2d(patterns)):
        B = np.where(pat[nz], 1.0, -1.0)[:, None] * An
        c = interior_point(B, None if hints is None else hints[k])
        rows = None
        if c is not None:
            rows = _facets_from(B, c, ConvexHull, QhullError)
        out.append(nz if rows is None else nz[rows])
    return out


def _facets_from(B, c, ConvexHull, QhullError):
    """Irredundant rows of ``B u >= 0`` around the interior point ``c``, or None."""
    D = B.shape[1]
    Bn = B / np.linalg.norm(B, axis=1, keepdims=True)
    normal = Bn.sum(axis=0)
    if np.linalg.norm(normal) <= 1e-12 * len(B):
        return None               # the normals balance out: the cell is not pointed
    if D == 1:
        return np.arange(len(B))
    # orthonormal basis of normal^perp: the section's coordinates
    Q, _ = np.linalg.qr(np.c_[normal, np.eye(D)])
    E = Q[:, 1:D]
    alpha = B @ c
    if np.any(alpha <= 0):
        return None
    q = -(B @ E) / alpha[:, None]
    if D == 2:
        return np.unique([int(np.argmin(q[:, 0])), int(np.argmax(q[:, 0]))])
    try:
        hull = ConvexHull(q)
    except (QhullError, ValueError):
        return None
    # also the points within round-off of the hull's boundary: a constraint that is
    # a facet by a hair must not be dropped (keeping a redundant one costs nothing)
    eq = hull.equations
    slack = q @ eq[:, :-1].T + eq[:, -1]          # <= 0 inside, 0 on a facet
    span = float(np.abs(q).max(initial=0.0)) or 1.0
    near = np.flatnonzero(slack.max(axis=1) >= -_HULL_RTOL * span)
    return np.union1d(hull.vertices, near)
