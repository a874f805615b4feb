"""The loss block shared by the ray and cell programs (docs/design.md section 4).

Both programs have one row per data point, ``f_i + (loss terms) = y_i``, where ``f``
is the network's output written in the program's own variables; the loss terms and
the free output terms (``c0``, and ``s`` with a skip connection) come first, in the
same layout, so that the row duals are the multipliers ``lam`` of the dual problem.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from .._highs import INF

__all__ = ["LossBlock", "loss_block"]


@dataclass
class LossBlock:
    """The columns of the loss terms and of the free output terms, and the row bounds.

    Attributes
    ----------
    matrix : sparse (n, n_fixed)
        Loss columns, then the equality columns ``[1]`` or ``[1, X]``.
    cost, lower, upper : ndarray (n_fixed,)
        Their costs and bounds.
    row_lower, row_upper : ndarray (n,)
        Bounds of the fit rows.
    hessian_dim : int
        ``n`` for the squared loss (``0.5 * r_i^2`` on the first n columns), else 0.
    n_loss : int
        Number of loss columns (the output bias ``c0`` is column ``n_loss``).
    """

    matrix: sp.csc_array
    cost: np.ndarray
    lower: np.ndarray
    upper: np.ndarray
    row_lower: np.ndarray
    row_upper: np.ndarray
    hessian_dim: int
    n_loss: int
    hessian_values: np.ndarray | None = None

    @property
    def n_fixed(self):
        return int(self.matrix.shape[1])


def loss_block(prob, shift=0.0, phase1=False):
    """The :class:`LossBlock` of ``prob``'s loss.

    Rows are written for ``f - shift = y - shift`` (the free output bias absorbs the
    shift). ``phase1`` (interpolation only) gives residual columns ``r+ - r-`` with
    cost 1, as for the absolute loss: minimizing the misfit finds feasible columns.
    Hinge rows are one-sided: ``f_i + y_i xi_i`` on the side of ``y_i``. Sample
    weights multiply each sample's loss term (its Hessian entry or its costs).
    """
    n = prob.n
    y = prob.y
    eye = sp.identity(n, format="csc")
    blocks, cost, lo, hi = [], [], [], []
    hessian_dim = 0
    rlo, rhi = y - shift, y - shift

    w = prob.weight

    def add(cols, c, lower, upper=INF):
        k = cols.shape[1]
        blocks.append(cols)
        cost.append(np.broadcast_to(np.asarray(c, dtype=float), (k,)).copy())
        lo.append(np.full(k, lower, dtype=float))
        hi.append(np.full(k, upper, dtype=float))

    ones = np.ones(n) if (w is None or phase1) else w
    if prob.loss == "squared":
        add(eye, 0.0, -INF)
        hessian_dim = n
    elif prob.loss == "absolute" or phase1:
        add(sp.hstack([eye, -eye], format="csc"), np.r_[ones, ones], 0.0)
    elif prob.loss == "hinge":
        add(sp.diags(y, format="csc"), ones, 0.0)
        rlo = np.where(y > 0, y, -INF)
        rhi = np.where(y > 0, INF, y)
    n_loss = sum(b.shape[1] for b in blocks)
    add(sp.csc_array(prob.equality_matrix()), 0.0, -INF)
    hess = w if (hessian_dim and w is not None) else None
    return LossBlock(sp.hstack(blocks, format="csc"), np.concatenate(cost), np.concatenate(lo),
                     np.concatenate(hi), rlo, rhi, hessian_dim, n_loss, hess)
