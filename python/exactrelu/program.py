"""Builders of the convex programs: the ray LP/QP (DESIGN.md section 3) and the
cell program (section 5), with l1 or l2 group norms.

All model data is assembled with vectorized numpy / scipy.sparse (no Python loop over
columns). The ray program is held in a :class:`RayProgram`, which keeps the
directions of its neuron columns so that columns can be appended (column generation)
and a :class:`~exactrelu.network.ReLUNetwork` read off the solution.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp

from ._highs import INF, HighsProgram
from .errors import InputError, NotSupportedError, SolverError
from .network import ReLUNetwork

__all__ = [
    "Problem",
    "relu_columns",
    "normalize_directions",
    "RayProgram",
    "cell_program_highs",
    "cell_program_cvxpy",
    "line_keys",
]

#: relu entries below this multiple of the entry's rounding scale are set to exactly 0.
ZERO_RTOL = 1e-11


@dataclass
class Problem:
    """A validated training problem (data, loss, options) and its lifted arrays.

    Attributes
    ----------
    A : ndarray (n, D)
        Lifted data ``[X, 1]`` (bias) or ``X``.
    A_ref : ndarray (n + d, D)
        ``A`` followed by the coordinate hyperplanes of the weights ``np.eye(d, D)``:
        the refined arrangement whose rays carry the l1 optimum.
    norm_mask : ndarray of bool (D,)
        The weight coordinates (not the bias).
    """

    X: np.ndarray
    y: np.ndarray
    loss: str
    beta: float
    bias: bool
    skip: bool
    threads: int = 1
    A: np.ndarray = field(init=False)
    A_ref: np.ndarray = field(init=False)
    norm_mask: np.ndarray = field(init=False)

    def __post_init__(self):
        n, d = self.X.shape
        self.A = np.hstack([self.X, np.ones((n, 1))]) if self.bias else self.X
        D = self.A.shape[1]
        self.A_ref = np.ascontiguousarray(np.vstack([self.A, np.eye(d, D)]))
        self.norm_mask = np.zeros(D, dtype=bool)
        self.norm_mask[:d] = True

    @property
    def n(self):
        return int(self.X.shape[0])

    @property
    def d(self):
        return int(self.X.shape[1])

    @property
    def D(self):
        return int(self.A.shape[1])

    def equality_matrix(self):
        """Columns spanning the free output terms: ``[1]`` or ``[1, X]`` (skip)."""
        one = np.ones((self.n, 1))
        return np.hstack([one, self.X]) if self.skip else one


def row_shift(y, loss):
    """The constant ``mu`` taken out of the fit rows (``f - mu = y - mu``, absorbed by the
    free output bias): ``max|y| + 1`` puts every right-hand side at or below -1."""
    if loss == "hinge" or y.size == 0:
        return 0.0
    return float(np.abs(y).max()) + 1.0


def relu_columns(A, dirs):
    """``relu(A @ dirs.T)`` with round-off-level entries set to exactly 0.

    An entry ``a_i . theta`` whose magnitude is below ``1e-11 * (|a_i| . |theta|)``
    (the rounding scale of the dot product) lies on the hyperplane of row i.
    """
    dirs = np.atleast_2d(dirs)
    Z = A @ dirs.T
    scale = np.abs(A) @ np.abs(dirs).T
    Z[np.abs(Z) <= ZERO_RTOL * scale] = 0.0
    np.maximum(Z, 0.0, out=Z)
    return Z


def normalize_directions(dirs, d, penalty="l1"):
    """Scale each direction to unit l1 (or l2) norm of its weight part ``theta[:d]``.

    Returns ``(normalized, keep)`` where ``keep`` marks rows with a nonzero weight part
    (pure-bias directions are constants, handled by the output bias).
    """
    dirs = np.atleast_2d(np.asarray(dirs, dtype=float))
    ord_ = 1 if penalty == "l1" else 2
    nrm = np.linalg.norm(dirs[:, :d], ord=ord_, axis=1) if dirs.shape[0] else np.zeros(0)
    full = np.linalg.norm(dirs, axis=1) if dirs.shape[0] else np.zeros(0)
    keep = nrm > 1e-14 * full
    out = dirs[keep] / nrm[keep, None]
    return out, keep


def line_keys(dirs, decimals=12):
    """Keys identifying each direction up to positive scaling (rounded, hashable)."""
    dirs = np.atleast_2d(dirs)
    nrm = np.linalg.norm(dirs, axis=1, keepdims=True)
    nrm[nrm == 0] = 1.0
    r = np.round(dirs / nrm, decimals) + 0.0  # +0.0 turns -0.0 into 0.0
    return [row.tobytes() for row in r]


def canonical_orientation(dirs):
    """Flip each direction so that its first nonzero coordinate is positive."""
    dirs = np.array(dirs, dtype=float)
    if dirs.size == 0:
        return dirs
    nz = np.abs(dirs) > 0
    first = np.argmax(nz, axis=1)
    sgn = np.sign(dirs[np.arange(len(dirs)), first])
    sgn[sgn == 0] = 1.0
    return dirs * sgn[:, None]


class RayProgram:
    """The ray LP/QP over a growing set of neuron columns.

    Columns, in order: the loss block, the output bias ``c0`` (free), the skip
    weights ``s`` (free, with ``skip``), then signed neuron columns
    ``sigma_k * relu(A theta_k)`` with cost ``beta * cost_k`` and bounds ``[0, inf)``.
    Rows: ``f_i + (loss terms) = y_i`` (hinge: ``f_i + y_i xi_i`` on the side of
    ``y_i``), so the row duals are the multipliers ``lam`` of DESIGN.md section 4.

    ``phase1=True`` (interpolation only) adds residual columns ``r+ - r-`` with cost 1
    and gives the neuron columns cost 0: minimizing the l1 misfit finds a feasible
    set of columns; :meth:`to_phase2` then fixes the residuals to 0 and restores the costs.
    """

    def __init__(self, prob: Problem, *, phase1=False, verbose=False, options=None):
        self.prob = prob
        self.phase = 1 if phase1 else 2
        if phase1 and prob.loss != "interpolate":
            raise ValueError("phase 1 is only for interpolation")
        self._verbose, self._options = verbose, options
        self.dirs = np.zeros((0, prob.D))
        self.signs = np.zeros(0)
        self.costs = np.zeros(0)
        self.keys = {}
        self.solved = False
        # rows are written for f - mu with the free output bias shifted by mu: right-hand
        # sides near 0 (but not 0) can make HiGHS' QP solver fail ("excessively small
        # bounds"); the unshifted form is the fallback (see run)
        self._build(row_shift(prob.y, prob.loss))

    def _build(self, shift):
        prob = self.prob
        n = prob.n
        y = prob.y
        loss = prob.loss
        phase1 = self.phase == 1
        eye = sp.identity(n, format="csc")
        blocks, cost, lo, hi = [], [], [], []
        hessian_dim = 0
        self.shift = shift
        rlo, rhi = y - self.shift, y - self.shift
        if loss == "squared":
            blocks.append(eye)
            cost.append(np.zeros(n)); lo.append(np.full(n, -INF)); hi.append(np.full(n, INF))
            hessian_dim = n
        elif loss == "absolute" or phase1:
            blocks += [eye, -eye]
            cost.append(np.ones(2 * n)); lo.append(np.zeros(2 * n)); hi.append(np.full(2 * n, INF))
        elif loss == "hinge":
            blocks.append(sp.diags(y, format="csc"))
            cost.append(np.ones(n)); lo.append(np.zeros(n)); hi.append(np.full(n, INF))
            rlo = np.where(y > 0, y, -INF)
            rhi = np.where(y > 0, INF, y)
        self.n_loss = sum(b.shape[1] for b in blocks)
        E = prob.equality_matrix()
        blocks.append(sp.csc_array(E))
        k = E.shape[1]
        cost.append(np.zeros(k)); lo.append(np.full(k, -INF)); hi.append(np.full(k, INF))
        self.n_fixed = self.n_loss + k
        M = sp.hstack(blocks, format="csc")
        old = getattr(self, "hp", None)
        self.hp = HighsProgram(rlo, rhi, np.concatenate(cost), np.concatenate(lo),
                               np.concatenate(hi), M, hessian_dim=hessian_dim,
                               verbose=self._verbose, options=self._options)
        if old is not None:
            self.hp.seconds, self.hp.runs, self.hp.iterations = old.seconds, old.runs, old.iterations
        if len(self.signs):
            Phi = relu_columns(prob.A, self.dirs) * self.signs[None, :]
            self.hp.add_columns(sp.csc_array(Phi),
                                0.0 if self.phase == 1 else prob.beta * self.costs)

    # ------------------------------------------------------------- columns
    @property
    def n_columns(self):
        return self.hp.n_cols

    @property
    def n_neuron_columns(self):
        return len(self.signs)

    def add(self, dirs, signs, costs=1.0, Phi=None, dedupe=True):
        """Append signed neuron columns for directions ``dirs`` (normalized already).

        ``costs`` is the norm of each direction's weight part (1 for normalized rays).
        Returns the number of columns actually added (already present ones skipped).
        """
        dirs = np.atleast_2d(np.asarray(dirs, dtype=float))
        if dirs.shape[0] == 0:
            return 0
        signs = np.broadcast_to(np.asarray(signs, dtype=float), (dirs.shape[0],))
        costs = np.broadcast_to(np.asarray(costs, dtype=float), (dirs.shape[0],))
        if dedupe:
            keys = [k + (b"+" if s > 0 else b"-") for k, s in zip(line_keys(dirs), signs)]
            new = []
            for i, key in enumerate(keys):
                if key not in self.keys:
                    self.keys[key] = len(self.signs) + len(new)
                    new.append(i)
            if not new:
                return 0
            new = np.asarray(new)
            dirs, signs, costs = dirs[new], signs[new], costs[new]
            if Phi is not None:
                Phi = Phi[:, new]
        if Phi is None:
            Phi = relu_columns(self.prob.A, dirs)
        cost_now = 0.0 if self.phase == 1 else self.prob.beta * costs
        self.hp.add_columns(sp.csc_array(Phi * signs[None, :]), cost_now)
        self.dirs = np.vstack([self.dirs, dirs])
        self.signs = np.concatenate([self.signs, signs])
        self.costs = np.concatenate([self.costs, costs])
        return int(len(signs))

    def drop_inactive(self, keep_last=0):
        """Delete neuron columns at 0 with a positive reduced cost (they do not change
        the current optimum; pricing brings them back when they are needed again).
        The ``keep_last`` most recently added columns are kept."""
        k = len(self.signs)
        idx = self.hp.inactive_columns(self.n_fixed, 1e-9 * self.prob.beta)
        idx = idx[idx < self.n_fixed + k - keep_last]
        if len(idx) == 0:
            return 0
        self.hp.delete_columns(idx)
        mask = np.ones(k, dtype=bool)
        mask[idx - self.n_fixed] = False
        self.dirs, self.signs, self.costs = self.dirs[mask], self.signs[mask], self.costs[mask]
        keys = [kk + (b"+" if sg > 0 else b"-") for kk, sg in zip(line_keys(self.dirs), self.signs)]
        self.keys = {kk: i for i, kk in enumerate(keys)}
        return int(len(idx))

    def to_phase2(self):
        """Fix the phase-1 residuals at 0 and give the neuron columns their costs."""
        n = self.prob.n
        self.hp.change_bounds(np.arange(2 * n), 0.0, 0.0)
        self.hp.change_costs(np.arange(2 * n), 0.0)
        idx = np.arange(self.n_fixed, self.n_fixed + len(self.signs))
        if len(idx):
            self.hp.change_costs(idx, self.prob.beta * self.costs)
        self.phase = 2

    # ------------------------------------------------------------ solution
    def run(self, time_limit=None, what="the ray program"):
        try:
            status = self.hp.run(time_limit, what)
        except SolverError as exc:
            if not self.hp.hessian_dim or exc.status not in ("kSolveError", "kIterationLimit"):
                raise
            # HiGHS' active-set QP solver is sensitive to the row right-hand sides:
            # rebuild with the other row shift (same program) and try once more
            self._build(0.0 if self.shift else row_shift(self.prob.y, self.prob.loss))
            status = self.hp.run(time_limit, what)
        self.hp.check_finite()
        self.solved = True
        return status

    @property
    def lam(self):
        return self.hp.duals

    def neuron_weights(self):
        """Signed coefficient of each neuron column (``sigma_k * x_k``)."""
        return self.signs * self.hp.x[self.n_fixed:]

    def free_terms(self):
        """``(c0, s)`` from the solution (``s`` is ``None`` without skip)."""
        x = self.hp.x
        c0 = float(x[self.n_loss]) + self.shift
        s = x[self.n_loss + 1:self.n_fixed].copy() if self.prob.skip else None
        return c0, s

    def phase1_misfit(self):
        n = self.prob.n
        return float(self.hp.x[:2 * n].sum())

    def fit(self):
        """The fitted values ``f = Phi coef + c0 + X s`` of the current solution."""
        coef = self.neuron_weights()
        c0, s = self.free_terms()
        nz = np.flatnonzero(coef)
        f = np.full(self.prob.n, c0)
        if len(nz):
            f += relu_columns(self.prob.A, self.dirs[nz]) @ coef[nz]
        if s is not None:
            f += self.prob.X @ s
        return f

    def network(self, tol=0.0):
        """The network of the current solution (neurons merged by direction)."""
        coef = self.neuron_weights()
        c0, s = self.free_terms()
        nz = np.flatnonzero(np.abs(coef) > tol)
        d = self.prob.d
        W = self.dirs[nz, :d]
        b = self.dirs[nz, d] if self.prob.bias else np.zeros(len(nz))
        net = ReLUNetwork.from_rays(W, b, coef[nz], c0, s)
        return net.merged()


def build_restricted(prob, dirs, costs, *, verbose=False, both_signs=True):
    """A :class:`RayProgram` over the given directions (both signs of each)."""
    rp = RayProgram(prob, verbose=verbose)
    dirs = np.atleast_2d(dirs)
    if dirs.shape[0]:
        Phi = relu_columns(prob.A, dirs)
        if both_signs:
            rp.add(np.vstack([dirs, dirs]), np.r_[np.ones(len(dirs)), -np.ones(len(dirs))],
                   np.r_[costs, costs], Phi=np.hstack([Phi, Phi]))
        else:
            rp.add(dirs, 1.0, costs, Phi=Phi)
    return rp


# ---------------------------------------------------------------------------
# the cell program (Pilanci-Ergen), DESIGN.md section 5
# ---------------------------------------------------------------------------

def _cell_blocks(A, patterns, nzrows):
    """Sparse fit block ``F`` (n, P*q) and cone block ``G`` (P*n', P*q) for per-cell
    variables z_k in R^q with ``A z_k`` (``A`` already expanded to q columns)."""
    n, q = A.shape
    P = patterns.shape[0]
    Dm = patterns.astype(float)                     # (P, n)
    # fit: row i, column k*q + j, value D_ki A_ij
    vals = Dm[:, :, None] * A[None, :, :]           # (P, n, q)
    rows = np.broadcast_to(np.arange(n)[None, :, None], vals.shape)
    cols = np.arange(P)[:, None, None] * q + np.arange(q)[None, None, :]
    cols = np.broadcast_to(cols, vals.shape)
    m = vals != 0
    F = sp.csc_array((vals[m], (rows[m], cols[m])), shape=(n, P * q))
    # cones: row k*n' + i', value (2 D_ki - 1) A_ij, for the nonzero rows of A only
    S = (2.0 * Dm - 1.0)[:, nzrows]                 # (P, n')
    An = A[nzrows]
    nn = len(nzrows)
    vals = S[:, :, None] * An[None, :, :]
    rows = np.arange(P)[:, None, None] * nn + np.arange(nn)[None, :, None]
    rows = np.broadcast_to(rows, vals.shape)
    cols = np.broadcast_to(np.arange(P)[:, None, None] * q + np.arange(q)[None, None, :],
                           vals.shape)
    m = vals != 0
    G = sp.csc_array((vals[m], (rows[m], cols[m])), shape=(P * nn, P * q))
    return F, G


def cell_program_highs(prob: Problem, patterns, *, verbose=False, options=None):
    """The l1 cell program as one HiGHS LP/QP.

    Per cell k two neurons ``v_k`` (output +1) and ``u_k`` (output -1), each split
    as ``(w+, w-, b)`` so that ``||w||_1 = sum(w+ + w-)``.

    Returns ``(hp, extract)`` where ``extract()`` gives the directions
    ``(thetas, signs)`` of the solution's nonzero neurons (unnormalized).
    """
    n, d = prob.n, prob.d
    y = prob.y
    A = prob.A
    # expanded lifted data: [X, -X, (1)]
    Aq = np.hstack([prob.X, -prob.X] + ([np.ones((n, 1))] if prob.bias else []))
    q = Aq.shape[1]
    P = patterns.shape[0]
    nzrows = np.flatnonzero(np.abs(A).max(axis=1) > 0)
    F, G = _cell_blocks(Aq, patterns, nzrows)
    ncone = G.shape[0]
    loss = prob.loss
    blocks_fit, cost, lo, hi = [], [], [], []
    hessian_dim = 0
    shift = 0.0   # (the active-set QP solver cycled on shifted cell programs)
    rlo, rhi = y - shift, y - shift
    eye = sp.identity(n, format="csc")
    if loss == "squared":
        blocks_fit.append(eye)
        cost.append(np.zeros(n)); lo.append(np.full(n, -INF)); hi.append(np.full(n, INF))
        hessian_dim = n
    elif loss == "absolute":
        blocks_fit += [eye, -eye]
        cost.append(np.ones(2 * n)); lo.append(np.zeros(2 * n)); hi.append(np.full(2 * n, INF))
    elif loss == "hinge":
        blocks_fit.append(sp.diags(y, format="csc"))
        cost.append(np.ones(n)); lo.append(np.zeros(n)); hi.append(np.full(n, INF))
        rlo = np.where(y > 0, y, -INF)
        rhi = np.where(y > 0, INF, y)
    E = prob.equality_matrix()
    blocks_fit.append(sp.csc_array(E))
    k = E.shape[1]
    cost.append(np.zeros(k)); lo.append(np.full(k, -INF)); hi.append(np.full(k, INF))
    n_fixed = sum(b.shape[1] for b in blocks_fit)
    n_loss = n_fixed - k
    # per-cell variable costs and bounds: w+ and w- >= 0 with cost beta, b free
    zc = np.r_[np.full(2 * d, prob.beta), np.zeros(q - 2 * d)]
    zlo = np.r_[np.zeros(2 * d), np.full(q - 2 * d, -INF)]
    zc, zlo = np.tile(zc, P), np.tile(zlo, P)
    top = sp.hstack(blocks_fit + [F, -F], format="csc")
    Z = sp.csc_array((ncone, n_fixed))
    bottom_v = sp.hstack([Z, G, sp.csc_array((ncone, P * q))], format="csc")
    bottom_u = sp.hstack([Z, sp.csc_array((ncone, P * q)), G], format="csc")
    M = sp.vstack([top, bottom_v, bottom_u], format="csc")
    row_lo = np.r_[rlo, np.zeros(2 * ncone)]
    row_hi = np.r_[rhi, np.full(2 * ncone, INF)]
    col_cost = np.concatenate(cost + [zc, zc])
    col_lo = np.concatenate(lo + [zlo, zlo])
    col_hi = np.concatenate(hi + [np.full(2 * P * q, INF)])
    hp = HighsProgram(row_lo, row_hi, col_cost, col_lo, col_hi, M, hessian_dim=hessian_dim,
                      verbose=verbose, options=options)

    def extract():
        x = hp.x
        V = x[n_fixed:n_fixed + P * q].reshape(P, q)
        U = x[n_fixed + P * q:].reshape(P, q)
        thetas, signs = [], []
        for Z_, sgn in ((V, 1.0), (U, -1.0)):
            th = np.hstack([Z_[:, :d] - Z_[:, d:2 * d], Z_[:, 2 * d:]])
            thetas.append(th)
            signs.append(np.full(P, sgn))
        free = x[n_loss:n_fixed].copy()
        free[0] += shift
        return np.vstack(thetas), np.concatenate(signs), free

    sizes = {"rows": int(M.shape[0]), "columns": int(M.shape[1]), "nnz": int(M.nnz),
             "cells": int(P)}
    return hp, extract, sizes


def cell_program_cvxpy(prob: Problem, patterns, *, penalty="l2"):
    """The cell program with l2 (or l1) group norms as a cvxpy problem.

    Returns ``(problem, extract, sizes)``; ``extract()`` gives ``(thetas, signs, free)``
    after solving.
    """
    import cvxpy as cp

    n, d, D = prob.n, prob.d, prob.D
    A = prob.A
    P = patterns.shape[0]
    nzrows = np.flatnonzero(np.abs(A).max(axis=1) > 0)
    F, G = _cell_blocks(A, patterns, nzrows)
    v = cp.Variable(P * D)
    u = cp.Variable(P * D)
    c0 = cp.Variable()
    f = F @ v - F @ u + c0
    s = None
    if prob.skip:
        s = cp.Variable(d)
        f = f + prob.X @ s
    cons = [G @ v >= 0, G @ u >= 0]
    Vm = cp.reshape(v, (P, D), order="C")[:, :d]
    Um = cp.reshape(u, (P, D), order="C")[:, :d]
    if penalty == "l2":
        pen = cp.sum(cp.norm(Vm, 2, axis=1)) + cp.sum(cp.norm(Um, 2, axis=1))
    else:
        pen = cp.sum(cp.abs(Vm)) + cp.sum(cp.abs(Um))
    y = prob.y
    loss = prob.loss
    if loss == "interpolate":
        obj = pen
        cons.append(f == y)
    elif loss == "squared":
        obj = 0.5 * cp.sum_squares(f - y) + prob.beta * pen
    elif loss == "absolute":
        obj = cp.norm1(f - y) + prob.beta * pen
    elif loss == "hinge":
        obj = cp.sum(cp.pos(1 - cp.multiply(y, f))) + prob.beta * pen
    else:  # pragma: no cover - validated before
        raise InputError(f"unknown loss {loss!r}")
    problem = cp.Problem(cp.Minimize(obj), cons)

    def extract():
        V = np.asarray(v.value).reshape(P, D)
        U = np.asarray(u.value).reshape(P, D)
        free = np.r_[float(c0.value), (np.asarray(s.value) if s is not None else [])]
        return (np.vstack([V, U]), np.r_[np.ones(P), -np.ones(P)], free)

    sizes = {"rows": int(n + 2 * G.shape[0]), "columns": int(2 * P * D + 1 + (d if prob.skip else 0)),
             "cells": int(P)}
    return problem, extract, sizes


def check_method_penalty(method, penalty):
    if penalty == "l2" and method in ("full", "colgen"):
        raise NotSupportedError(
            f"method={method!r} prices rays, which is exact for the l1 path norm only; "
            "the weight-decay (penalty='l2') problem is solved by method='cells' (or 'auto')"
        )
