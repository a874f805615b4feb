"""Size limits: one set of named constants, and the refusal that applies them.

Every entry point that can run long estimates its work first (Cover's bound on the
cells or rays of the arrangement, cheap to compute) and refuses with
:class:`~exactrelu.errors.SizeError` (the estimate, the limit and what to change)
instead of running for hours. Each limit can be raised per call (``max_rays=``,
``max_cells=``, ``memory_limit=``). The defaults were chosen so that work at the
limit takes at most minutes on a 2-core machine (docs/design.md section 8).
"""

from __future__ import annotations

from ._validation import MAX_LIMIT, check_int
from .errors import SizeError

__all__ = [
    "FULL_MAX_ENTRIES",
    "PRICING_MAX_RAYS",
    "COUNT_MAX_RAYS",
    "CELLS_MAX_ENTRIES",
    "CELLS_L2_MAX_ENTRIES",
    "ESTIMATOR_MAX_RAYS",
    "DEFAULT_MEMORY_LIMIT",
    "COUNT_FIRST_LIMIT",
    "EXACT_RAYS_PER_SECOND",
    "AUTO_EXACT_SECONDS",
    "exact_pass_seconds",
    "size_limit",
    "refuse_if_too_large",
    "refuse_rays",
]

#: ``method="full"``: entries ``n * columns`` of the dense matrix of all rays.
FULL_MAX_ENTRIES = 40_000_000
#: Exact pricing (``method="colgen"``, ``certify``, ``beta_max``): rays per pass.
PRICING_MAX_RAYS = 2_000_000_000
#: ``count_cells`` / ``count_rays``: rays of the arrangement the count walks.
COUNT_MAX_RAYS = 500_000_000
#: ``method="cells"``: constraint rows ``n * cells`` of the cell program.
CELLS_MAX_ENTRIES = 20_000_000
#: The same for the weight-decay (l2) cone program.
CELLS_L2_MAX_ENTRIES = 4_000_000
#: The estimators' default ``max_rays`` (smaller than solve's: ``fit`` inside a
#: cross-validation loop should refuse rather than take minutes).
ESTIMATOR_MAX_RAYS = 5_000_000
#: Bytes that listing cells or rays may take.
DEFAULT_MEMORY_LIMIT = 4 * 1024**3
#: Above this bound a size refusal is issued from the bound alone, without the exact
#: count (which would itself take minutes or more).
COUNT_FIRST_LIMIT = 50_000_000
#: Rays per second and thread of an exact pricing pass, conservatively (measured
#: 3-8 M on 2-core machines: docs/design.md section 8).
EXACT_RAYS_PER_SECOND = 3_000_000
#: ``method="auto"`` runs exact column generation when one exact pass is estimated
#: under this many seconds (or under the time limit), the bracket otherwise.
AUTO_EXACT_SECONDS = 30.0


def exact_pass_seconds(rays, threads, m=0, r=0):
    """Estimated seconds of one exact pricing pass over ``rays`` rays of ``m``
    hyperplanes in rank ``r``: the rays, and the walk over every flat above them,
    whose cost per flat grows with the rank (measured at n = 5-100, d = 4-10:
    within a factor 3; docs/design.md section 10)."""
    from math import comb

    flats = sum(comb(int(m), k) for k in range(1, max(1, int(r) - 1)))
    work = float(rays) / EXACT_RAYS_PER_SECOND + flats * 2e-6 * 2.0 ** (int(r) / 2)
    return work / max(1, int(threads))


def size_limit(value, default, name):
    """A user's size limit (a positive int) or ``default`` when ``None``."""
    if value is None:
        return default
    return check_int(value, name, low=1, high=MAX_LIMIT)


def refuse_if_too_large(bound, count, per_item, limit, message, what):
    """Raise SizeError when ``size * per_item > limit``.

    ``size`` is the (cheap) upper ``bound``; when that is over the limit the exact
    ``count()`` decides, unless the bound is absurd (over :data:`COUNT_FIRST_LIMIT`:
    the count itself would take minutes). ``message(size)`` words the refusal.
    """
    est = bound
    if est * per_item > limit:
        if est <= COUNT_FIRST_LIMIT:
            est = count()
        if est * per_item > limit:
            raise SizeError(message(est), estimate=int(est * per_item), limit=int(limit),
                            what=what)
    return est


def refuse_rays(bound, max_rays, default, doing):
    """SizeError when Cover's ``bound`` on the rays exceeds ``max_rays`` (``None``:
    ``default``); ``doing`` says what walks them. Returns the bound."""
    limit = size_limit(max_rays, default, "max_rays")
    if bound > limit:
        raise SizeError(
            f"{doing} every ray of the arrangement; this one may have up to {bound:,} rays "
            f"(Cover's bound), more than max_rays={limit:,}; pass a larger max_rays to "
            f"wait for it, or reduce the data", estimate=int(bound), limit=int(limit),
            what="rays")
    return bound
