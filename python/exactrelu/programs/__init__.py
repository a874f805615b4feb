"""Builders of the convex programs (docs/design.md sections 3 and 5).

:mod:`.ray` holds the ray LP/QP that column generation grows, :mod:`.cell` the
Pilanci-Ergen cell programs (l1: one HiGHS LP/QP; l2: a cvxpy cone program), and
:mod:`.loss` the loss block both share: the columns and row bounds that turn
``f(X)`` into the loss.
"""

from .cell import cell_program_cvxpy, cell_program_highs
from .loss import LossBlock, loss_block
from .ray import RayProgram, build_restricted, row_shift

__all__ = [
    "LossBlock",
    "loss_block",
    "RayProgram",
    "build_restricted",
    "row_shift",
    "cell_program_highs",
    "cell_program_cvxpy",
]
