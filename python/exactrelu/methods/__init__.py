"""One driver per method, each returning a :class:`MethodResult`.

``full``  every ray of the refined arrangement in one LP/QP (:mod:`.full`);
``colgen``  column generation with exact pricing (:mod:`.colgen`);
``cells``  the cell program, l1 or l2 (:mod:`.cells`).
:func:`exactrelu.solve` validates, runs one driver, then builds the network and
its certificate from the result.
"""

from __future__ import annotations

from .base import MethodResult
from .cells import solve_cells_l1, solve_cells_l2
from .colgen import solve_colgen
from .full import solve_full

__all__ = ["MethodResult", "METHODS", "run_method"]

#: The values of ``solve(method=...)``.
METHODS = ("auto", "full", "colgen", "cells")


def run_method(method, penalty, prob, ctx, patterns=None):
    """Run the driver of ``method`` (already resolved from ``"auto"``)."""
    if penalty == "l2":
        return solve_cells_l2(prob, ctx, patterns)
    if method == "full":
        return solve_full(prob, ctx)
    if method == "colgen":
        return solve_colgen(prob, ctx)
    return solve_cells_l1(prob, ctx, patterns)
