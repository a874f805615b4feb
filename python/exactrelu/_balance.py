"""Exact power-of-two balancing of an arrangement's rows and columns.

Scaling a row of the lifted data by a power of two changes no hyperplane; scaling a
column (a coordinate of neuron space) maps cells to cells and rays to rays and keeps
coordinate hyperplanes coordinate hyperplanes. Both are exact, so data whose entries
span more than the double range, or are subnormal, reaches the core as well-scaled
doubles with the same combinatorics (docs/design.md section 2).
"""

from __future__ import annotations

import numpy as np

__all__ = ["equilibrate", "unscale", "SAFE_EXPONENT"]

#: Data whose nonzero entries all lie within 2^-SAFE_EXPONENT .. 2^SAFE_EXPONENT goes to
#: the core as it is; other data is first rescaled by powers of two (see equilibrate).
SAFE_EXPONENT = 500
#: Rounds of alternating column / row normalization in equilibrate.
EQUILIBRATION_ROUNDS = 8


def _balancing_exponents(A, nz, axis):
    """Per column (axis 0) or row (axis 1): the power of two that centres the binary
    exponents of the nonzero entries on 0 (a geometric-mean balance), limited so that
    no entry overflows or leaves the normal range."""
    big = 1 << 40
    e = np.frexp(np.abs(A))[1]
    cnt = nz.sum(axis=axis)
    mean = np.where(nz, e, 0).sum(axis=axis) / np.maximum(cnt, 1)
    hi = np.where(nz, e, -big).max(axis=axis)
    lo = np.where(nz, e, big).min(axis=axis)
    k = np.clip(-np.rint(mean), -1021 - lo, 1023 - hi)
    return np.where(cnt > 0, k, 0).astype(np.int64)


def equilibrate(A):
    """Rescale the columns and rows of ``A`` by powers of two: exact, and it changes
    neither the cells (patterns), nor the rays (incidences), nor which rows are
    coordinate hyperplanes. Returns ``(A', k)`` with ``A' = R A diag(2^k)``; a point
    ``u'`` of the rescaled arrangement is ``2^k * u'`` in the original one (see
    :func:`unscale`). ``k`` is ``None`` when the data needs no rescaling (all within
    :data:`SAFE_EXPONENT`)."""
    nz = A != 0
    if not np.any(nz):
        return A, None
    e = np.frexp(np.abs(A[nz]))[1]
    if e.min() >= -SAFE_EXPONENT and e.max() <= SAFE_EXPONENT:
        return A, None
    kc_total = np.zeros(A.shape[1], dtype=np.int64)
    # alternate column and row balancing: data that is a scaled copy of tame data
    # (log2|a_ij| = t_ij + r_i + c_j) comes back close to the tame copy
    for _ in range(EQUILIBRATION_ROUNDS):
        kc = _balancing_exponents(A, nz, 0)
        A = np.ldexp(A, kc[None, :])
        kc_total += kc
        kr = _balancing_exponents(A, nz, 1)
        A = np.ldexp(A, kr[:, None])
        if not np.any(kc) and not np.any(kr):
            break
    return np.ascontiguousarray(A), kc_total


def unscale(V, k, lo=None):
    """Rows ``u'`` of the rescaled arrangement as points ``2^k * u'`` of the original
    one, each row further multiplied by a power of two (cells and rays are cones) so
    that its largest entry is about 1, or smaller when its smallest entry would
    otherwise underflow. ``lo`` (double-double low parts) gets the same
    factors, so that ``hi + lo`` stays exact."""
    big = np.iinfo(np.int64).max
    e = np.frexp(V)[1] + k[None, :]
    e_max = np.where(V != 0, e, -big).max(axis=1, keepdims=True)
    e_min = np.where(V != 0, e, big).min(axis=1, keepdims=True)
    # the largest entry near 1, unless the smallest would leave the normal range
    shift = np.maximum(e_max - 1023, np.minimum(e_max, e_min + 1021))
    shift[e_max == -big] = 0
    f = k[None, :] - shift
    return np.ldexp(V, f), (None if lo is None else np.ldexp(lo, f))
