"""The cell program of Pilanci and Ergen (docs/design.md section 5).

For every activation pattern ``D_k`` two neurons ``v_k`` (output +1) and ``u_k``
(output -1) constrained to the cell, ``(2 D_k - I) A v_k >= 0``. With l1 group
norms it is an LP/QP equal to the ray program (the cross-check,
:func:`cell_program_highs`); with l2 group norms it is the exact weight-decay
problem, a cone program for cvxpy + Clarabel (:func:`cell_program_cvxpy`).
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from .._highs import INF, HighsProgram
from ..errors import InputError
from .loss import loss_block

__all__ = ["cell_program_highs", "cell_program_cvxpy"]


def _per_cell(P, q, shape):
    """Column index ``k*q + j`` of cell k's variable j, broadcast to ``shape``."""
    return np.broadcast_to(np.arange(P)[:, None, None] * q + np.arange(q)[None, None, :], shape)


def _cell_blocks(A, patterns, nzrows, rows=None):
    """Sparse fit block ``F`` (n, P*q) and cone block ``G`` (R, P*q) for per-cell
    variables z_k in R^q with ``A z_k`` (``A`` already expanded to q columns).

    ``G`` holds the sign constraints of cell k on the rows ``rows[k]`` (its facets,
    :func:`~exactrelu.programs.facets.cell_facets`), or on every nonzero row of A.
    """
    n, q = A.shape
    P = patterns.shape[0]
    Dm = patterns.astype(float)                     # (P, n)
    # fit: row i, column k*q + j, value D_ki A_ij
    vals = Dm[:, :, None] * A[None, :, :]           # (P, n, q)
    rws = np.broadcast_to(np.arange(n)[None, :, None], vals.shape)
    cols = _per_cell(P, q, vals.shape)
    m = vals != 0
    F = sp.csc_array((vals[m], (rws[m], cols[m])), shape=(n, P * q))
    # cones: one row per (cell k, constraint row i), value (2 D_ki - 1) A_ij
    if rows is None:
        rows = [nzrows] * P
    cell = np.repeat(np.arange(P), [len(r) for r in rows])
    row = np.concatenate([np.asarray(r, dtype=int) for r in rows]) if P else np.zeros(0, int)
    vals = (2.0 * Dm[cell, row] - 1.0)[:, None] * A[row]          # (R, q)
    R = len(row)
    rr = np.broadcast_to(np.arange(R)[:, None], vals.shape)
    cc = cell[:, None] * q + np.arange(q)[None, :]
    m = vals != 0
    G = sp.csc_array((vals[m], (rr[m], cc[m])), shape=(R, P * q))
    return F, G


def _nonzero_rows(A):
    return np.flatnonzero(np.abs(A).max(axis=1) > 0)


def cell_program_highs(prob, patterns, *, verbose=False, options=None):
    """The l1 cell program as one HiGHS LP/QP.

    Per cell k two neurons ``v_k`` (output +1) and ``u_k`` (output -1), each split
    as ``(w+, w-, b)`` so that ``||w||_1 = sum(w+ + w-)``.

    Returns ``(hp, extract, sizes)`` where ``extract()`` gives the solution's neurons
    ``(thetas, signs, free)`` (unnormalized directions, output signs, and the free
    output terms ``[c0, s...]``).
    """
    n, d = prob.n, prob.d
    # expanded lifted data: [X, -X, (1)]
    Aq = np.hstack([prob.X, -prob.X] + ([np.ones((n, 1))] if prob.bias else []))
    q = Aq.shape[1]
    P = patterns.shape[0]
    F, G = _cell_blocks(Aq, patterns, _nonzero_rows(prob.A))
    ncone = G.shape[0]
    # no row shift: the active-set QP solver cycled on shifted cell programs
    blk = loss_block(prob)
    n_fixed = blk.n_fixed
    # per-cell variable costs and bounds: w+ and w- >= 0 with cost beta, b free
    zc = np.tile(np.r_[np.full(2 * d, prob.beta), np.zeros(q - 2 * d)], P)
    zlo = np.tile(np.r_[np.zeros(2 * d), np.full(q - 2 * d, -INF)], P)
    top = sp.hstack([blk.matrix, F, -F], format="csc")
    Z = sp.csc_array((ncone, n_fixed))
    empty = sp.csc_array((ncone, P * q))
    M = sp.vstack([top, sp.hstack([Z, G, empty], format="csc"),
                   sp.hstack([Z, empty, G], format="csc")], format="csc")
    hp = HighsProgram(np.r_[blk.row_lower, np.zeros(2 * ncone)],
                      np.r_[blk.row_upper, np.full(2 * ncone, INF)],
                      np.concatenate([blk.cost, zc, zc]),
                      np.concatenate([blk.lower, zlo, zlo]),
                      np.concatenate([blk.upper, np.full(2 * P * q, INF)]),
                      M, hessian_dim=blk.hessian_dim, hessian_values=blk.hessian_values,
                      verbose=verbose, options=options)

    def extract():
        x = hp.x
        V = x[n_fixed:n_fixed + P * q].reshape(P, q)
        U = x[n_fixed + P * q:].reshape(P, q)
        thetas = [np.hstack([Z_[:, :d] - Z_[:, d:2 * d], Z_[:, 2 * d:]]) for Z_ in (V, U)]
        free = x[blk.n_loss:n_fixed].copy()
        return np.vstack(thetas), np.r_[np.ones(P), -np.ones(P)], free

    sizes = {"rows": int(M.shape[0]), "columns": int(M.shape[1]), "nnz": int(M.nnz),
             "cells": int(P)}
    return hp, extract, sizes


def cell_program_cvxpy(prob, patterns, *, penalty="l2", duals=False, rows=None):
    """The cell program with l2 (or l1) group norms as a cvxpy problem.

    Returns ``(problem, extract, sizes)``; ``extract()`` gives ``(thetas, signs, free)``
    after solving, and with ``duals`` also the multipliers ``lam`` of the fit rows
    ``f = F v - F u + c0 (+ X s)`` (the residual ``w * (y - f)`` for the squared loss:
    docs/design.md section 4's convention). ``rows`` (an index array per cell)
    restricts each cell's sign constraints to those rows (its facets).
    """
    import cvxpy as cp  # an optional solver stack: imported only when a cone program is built

    n, d, D = prob.n, prob.d, prob.D
    P = patterns.shape[0]
    F, G = _cell_blocks(prob.A, patterns, _nonzero_rows(prob.A), rows)
    v = cp.Variable(P * D)
    u = cp.Variable(P * D)
    c0 = cp.Variable()
    f = F @ v - F @ u + c0
    s = None
    if prob.skip:
        s = cp.Variable(d)
        f = f + prob.X @ s
    cons = [G @ v >= 0, G @ u >= 0]
    fit = None
    if duals:       # the fit as a variable: its equality rows carry the multipliers
        fv = cp.Variable(n)
        fit = fv == f
        cons.append(fit)
        f = fv
    Vm = cp.reshape(v, (P, D), order="C")[:, :d]
    Um = cp.reshape(u, (P, D), order="C")[:, :d]
    if penalty == "l2":
        pen = cp.sum(cp.norm(Vm, 2, axis=1)) + cp.sum(cp.norm(Um, 2, axis=1))
    else:
        pen = cp.sum(cp.abs(Vm)) + cp.sum(cp.abs(Um))
    y = prob.y
    w = np.ones(n) if prob.weight is None else prob.weight
    loss = prob.loss
    if loss == "interpolate":
        obj = pen
        cons.append(f == y)
    elif loss == "squared":
        obj = 0.5 * cp.sum(cp.multiply(w, cp.square(f - y))) + prob.beta * pen
    elif loss == "absolute":
        obj = cp.sum(cp.multiply(w, cp.abs(f - y))) + prob.beta * pen
    elif loss == "hinge":
        obj = cp.sum(cp.multiply(w, cp.pos(1 - cp.multiply(y, f)))) + prob.beta * pen
    else:  # pragma: no cover - validated before
        raise InputError(f"unknown loss {loss!r}")
    problem = cp.Problem(cp.Minimize(obj), cons)

    def extract():
        V = np.asarray(v.value).reshape(P, D)
        U = np.asarray(u.value).reshape(P, D)
        free = np.r_[float(c0.value), (np.asarray(s.value) if s is not None else [])]
        out = (np.vstack([V, U]), np.r_[np.ones(P), -np.ones(P)], free)
        if duals:
            out = out + (np.asarray(fit.dual_value, dtype=float).reshape(n),)
        return out

    sizes = {"rows": int(n + 2 * G.shape[0]),
             "columns": int(2 * P * D + 1 + (d if prob.skip else 0)), "cells": int(P)}
    return problem, extract, sizes
