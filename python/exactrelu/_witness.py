"""Exact interior points of cells, for when the core's double-double search fails.

The core finds a witness of every cell in floating point and verifies it exactly;
for a cell thinner than double-double can resolve it gives up. This fallback is
exact rational arithmetic (docs/design.md section 2): each line of the arrangement
is the null vector of its incident rows within the row space, computed in integers;
a ray lies in the closure of a cell exactly when its signs agree with the cell's
pattern wherever they are not 0; and a positive combination of the rays in a cell's
closure lies in the cell's interior (the cell, cut with the row space, is a pointed
cone spanned by them). Such a point is rounded to a double-double ``hi + lo`` and
checked exactly; a few combinations are tried, since a thin cell can be missed by
the rounding of one of them. A cell thinner still (relative width below about
2^-106, which a product of two near-coincidences on decimal data can reach) may
contain no double-double point at all; its witness is then the exact integer point.
"""

from __future__ import annotations

from fractions import Fraction
from math import gcd

import numpy as np

from .errors import NumericalError

__all__ = ["exact_witnesses", "unscale_exact"]


def _independent_rows(rows):
    """Indices of a maximal independent subset of ``rows`` (lists of Fractions)."""
    basis, chosen = [], []
    for idx, row in enumerate(rows):
        v = list(row)
        for b, piv in basis:
            if v[piv]:
                f = v[piv] / b[piv]
                v = [x - f * y for x, y in zip(v, b)]
        piv = next((j for j, x in enumerate(v) if x), None)
        if piv is not None:
            basis.append((v, piv))
            chosen.append(idx)
    return chosen


def _kernel_vector(M):
    """A nonzero vector of the kernel of ``M`` (k x r Fractions, rank r - 1)."""
    M = [list(r) for r in M]
    r = len(M[0])
    pivots, row = [], 0
    for col in range(r):
        p = next((i for i in range(row, len(M)) if M[i][col]), None)
        if p is None:
            continue
        M[row], M[p] = M[p], M[row]
        pv = M[row][col]
        M[row] = [x / pv for x in M[row]]
        for i in range(len(M)):
            if i != row and M[i][col]:
                f = M[i][col]
                M[i] = [x - f * y for x, y in zip(M[i], M[row])]
        pivots.append(col)
        row += 1
    free = next(c for c in range(r) if c not in pivots)
    v = [Fraction(0)] * r
    v[free] = Fraction(1)
    for i, col in enumerate(pivots):
        v[col] = -M[i][free]
    return v


def _integer(v):
    """``v`` (Fractions or ints) scaled to a primitive integer vector."""
    v = [Fraction(x) for x in v]
    den = 1
    for x in v:
        den = den * x.denominator // gcd(den, x.denominator)
    ints = [int(x * den) for x in v]
    g = 0
    for x in ints:
        g = gcd(g, abs(x))
    return [x // g for x in ints] if g else ints


def _sign(x):
    return (x > 0) - (x < 0)


def _to_double_double(w):
    """Integer vector ``w`` scaled by a power of two to magnitude ~1, as ``(hi, lo)``."""
    e = max(abs(x) for x in w).bit_length()
    q = [Fraction(x, 1 << e) for x in w]
    hi = [float(x) for x in q]
    lo = [float(x - Fraction(h)) for x, h in zip(q, hi)]
    return hi, lo


def _inside(point, rows, pattern, nonzero):
    """Whether ``point`` (exact numbers) lies in the open cell of ``pattern``."""
    for i, r in enumerate(rows):
        val = sum(a * b for a, b in zip(r, point))
        if (val > 0) != bool(pattern[i]) or (nonzero[i] and val == 0):
            return False
    return True


def _fitting_point(w, rows, pattern, nonzero):
    """``(hi, lo)`` of the exact point ``w`` if that double-double point still lies in
    the cell of ``pattern`` (checked exactly), else None."""
    if not any(w):
        return None
    h, low = _to_double_double(_integer(w))
    point = [Fraction(a) + Fraction(b) for a, b in zip(h, low)]
    return (h, low) if _inside(point, rows, pattern, nonzero) else None


def _line_vectors(rows, rays):
    """One exact (primitive integer) direction per line of ``rays``."""
    space = [rows[i] for i in _independent_rows(rows)]
    lines = []
    for k in range(0, len(rays), 2):
        incident = [rows[i] for i in rays.indices[rays.indptr[k]:rays.indptr[k + 1]]]
        sub = [incident[i] for i in _independent_rows(incident)]
        # v = sum_j c_j space_j with sub . v = 0: c spans the kernel of sub . space^T
        if sub:
            c = _kernel_vector([[sum(a * b for a, b in zip(s, t)) for t in space]
                                for s in sub])
        else:
            c = [Fraction(1)] + [Fraction(0)] * (len(space) - 1)
        v = [sum(cj * t[j] for cj, t in zip(c, space)) for j in range(len(rows[0]))]
        lines.append(_integer(v))
    return lines


def exact_witnesses(A, patterns, rays):
    """Witnesses ``(hi, lo, exact)`` of the cells ``patterns`` of the rows of ``A``.

    ``hi`` and ``lo`` are (n_cells, D) arrays whose exact sum ``hi + lo`` lies in
    each cell; ``exact`` maps the index of each cell that contains no such
    double-double point to a tuple of Python ints lying in it exactly (``hi + lo`` is
    then that point rounded). ``rays``: :class:`~exactrelu.arrangement.Rays` of the
    same rows (their incidences are exact; their directions are not used).
    """
    rows = [[Fraction(x) for x in r] for r in A]
    lines = _line_vectors(rows, rays)
    if not lines:
        raise NumericalError("no rays to build exact witnesses from")
    V = np.array(lines, dtype=object)                               # (lines, D) ints
    A_int = [_integer(r) for r in rows]
    sig = np.array([[_sign(sum(a * b for a, b in zip(ar, v))) for ar in A_int]
                    for v in lines], dtype=np.int64)                 # (lines, n)
    pos, neg = (sig > 0).astype(np.int64), (sig < 0).astype(np.int64)
    P = np.asarray(patterns, dtype=bool)
    nonzero = np.array([any(r) for r in rows])
    s_pos = P.astype(np.int64)
    s_neg = ((~P) & nonzero[None, :]).astype(np.int64)               # zero rows: no constraint
    plus = (pos @ s_neg.T + neg @ s_pos.T) == 0                      # +v in the closure
    minus = (pos @ s_pos.T + neg @ s_neg.T) == 0                     # -v in the closure
    signs = plus.astype(object).T - minus.astype(object).T           # (cells, lines)
    # candidates: the rays scaled to the same magnitude (max entry 1), and the plain
    # sum of the primitive integer rays (a thin cell can be missed by one rounding)
    scale = np.array([Fraction(1, max(abs(int(x)) for x in v)) for v in V], dtype=object)
    candidates = [(signs * scale[None, :]).dot(V), signs.dot(V)]
    hi = np.zeros((len(P), len(rows[0])))
    lo = np.zeros_like(hi)
    exact = {}
    for c in range(len(P)):
        for W in candidates:
            point = _fitting_point(list(W[c]), rows, P[c], nonzero)
            if point is not None:
                hi[c], lo[c] = point
                break
        else:
            w = _integer(list(W[c]))
            if not _inside(w, rows, P[c], nonzero):
                raise NumericalError(
                    f"cell {c} (active rows {np.flatnonzero(P[c]).tolist()}): the exact "
                    "combination of its rays is not interior; the rows' arrangement is "
                    "inconsistent with its patterns (please report this input)")
            exact[c] = tuple(w)
            hi[c], lo[c] = _to_double_double(w)
    return hi, lo, exact


def unscale_exact(w, k):
    """The integer point ``w`` of a column-rescaled arrangement (see
    :func:`~exactrelu._balance.equilibrate`) as a primitive integer point
    ``2^k * w`` (up to a positive factor) of the original one."""
    k = [int(x) for x in k]
    m = min(k)
    return tuple(_integer([int(x) << (kj - m) for x, kj in zip(w, k)]))
