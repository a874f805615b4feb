"""One driver per method, each returning a :class:`MethodResult`.

``full``  every ray of the refined arrangement in one LP/QP (:mod:`.full`);
``colgen``  column generation with exact pricing (:mod:`.colgen`; weight decay at
d = 2 by cell generation, :mod:`.cone_colgen`);
``cells``  the cell program, l1 or l2 (:mod:`.cells`);
``bracket``  heuristic column generation and a MIP lower bound, at any dimension
(:mod:`.bracket`).
:func:`exactrelu.solve` validates, runs one driver, then builds the network and
its certificate from the result.
"""

from __future__ import annotations

from .base import MethodResult
from .bracket import BRACKET_TIME_LIMIT, solve_bracket
from .cells import solve_cells_l1, solve_cells_l2
from .colgen import solve_colgen
from .cone_colgen import solve_colgen_l2
from .full import solve_full

__all__ = ["MethodResult", "METHODS", "run_method", "choose_method", "BRACKET_TIME_LIMIT"]

#: The values of ``solve(method=...)``.
METHODS = ("auto", "full", "colgen", "cells", "bracket")


def run_method(method, penalty, prob, ctx, patterns=None):
    """Run the driver of ``method`` (already resolved from ``"auto"``)."""
    if penalty == "l2":
        if method == "colgen":   # d = 1: both norms agree, the l1 rays are exact
            return (solve_colgen(prob, ctx, penalty="l2") if prob.d == 1
                    else solve_colgen_l2(prob, ctx))
        return solve_cells_l2(prob, ctx, patterns)
    if method == "full":
        return solve_full(prob, ctx)
    if method == "colgen":
        return solve_colgen(prob, ctx)
    if method == "bracket":
        return solve_bracket(prob, ctx)
    return solve_cells_l1(prob, ctx, patterns)


def choose_method(prob, time_limit, max_rays=None):
    """``"colgen"`` when one exact pricing pass fits (estimated under
    :data:`~exactrelu.limits.AUTO_EXACT_SECONDS` on this machine's threads, or under
    ``time_limit``, and within ``max_rays``), else ``"bracket"``."""
    from ..errors import SizeError
    from ..limits import AUTO_EXACT_SECONDS, PRICING_MAX_RAYS, exact_pass_seconds
    from ..pricing import refined_rays_bound

    try:
        rays = refined_rays_bound(prob)
    except SizeError:   # more columns than the exact core takes at all
        return "bracket"
    limit = PRICING_MAX_RAYS if max_rays is None else max_rays
    seconds = exact_pass_seconds(rays, prob.threads, len(prob.A_ref), prob.D)
    fits = seconds <= max(AUTO_EXACT_SECONDS, time_limit or 0.0)
    return "colgen" if (fits and rays <= limit) else "bracket"
