"""The ray LP/QP over a growing set of neuron columns (docs/design.md section 3).

All model data is assembled with vectorized numpy / scipy.sparse (no Python loop
over columns). A :class:`RayProgram` keeps the directions of its neuron columns so
that columns can be appended (column generation) or dropped, and a
:class:`~exactrelu.network.ReLUNetwork` read off the solution.
"""

from __future__ import annotations

import time

import numpy as np
import scipy.sparse as sp

from .._highs import HighsProgram
from ..columns import line_keys, relu_columns
from ..errors import SolverError
from ..network import ReLUNetwork
from .gram import solve_gram
from .loss import loss_block

__all__ = ["RayProgram", "build_restricted", "row_shift"]

#: HiGHS statuses of the active-set QP solver after which the program is rebuilt with
#: the other row shift and solved once more.
_QP_RETRY_STATUSES = ("kSolveError", "kIterationLimit")
#: A reduced (Gram) solution of the squared-loss program is used when its optimality
#: conditions hold to this relative accuracy (half the 1e-9 stopping test of column
#: generation).
GRAM_ACCEPT_RTOL = 5e-10


def row_shift(y, loss):
    """The constant ``mu`` taken out of the fit rows (``f - mu = y - mu``, absorbed by the
    free output bias): ``max|y| + 1`` puts every right-hand side at or below -1."""
    if loss == "hinge" or y.size == 0:
        return 0.0
    return float(np.abs(y).max()) + 1.0


def _signed_keys(dirs, signs):
    return [k + (b"+" if s > 0 else b"-") for k, s in zip(line_keys(dirs), signs)]


class RayProgram:
    """The ray LP/QP over a growing set of neuron columns.

    Columns, in order: the loss block, the output bias ``c0`` (free), the skip
    weights ``s`` (free, with ``skip``), then signed neuron columns
    ``sigma_k * relu(A theta_k)`` with cost ``beta * cost_k`` and bounds ``[0, inf)``.
    Rows: ``f_i + (loss terms) = y_i`` (see :mod:`exactrelu.programs.loss`), so the
    row duals are the multipliers ``lam`` of docs/design.md section 4.

    ``phase1=True`` (interpolation only) adds residual columns ``r+ - r-`` with cost 1
    and gives the neuron columns cost 0: minimizing the l1 misfit finds a feasible
    set of columns; :meth:`to_phase2` then fixes the residuals to 0 and restores the costs.
    """

    def __init__(self, prob, *, phase1=False, verbose=False, options=None):
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
        self._sol = None   # (x, lam, objective) of a reduced (Gram) solve, else None
        # the last reduced solve: (shift, {column key: positive coefficient}, free terms),
        # the next round's starting point (new columns start at 0)
        self._warm = None
        # after a reduced solve the HiGHS model is left behind (columns are not copied
        # into it while reduced solves succeed: 5-10% of a fast solve); it is rebuilt
        # with every column when it is needed again (see hp)
        self._hp_stale = False
        # rows are written for f - mu with the free output bias shifted by mu: right-hand
        # sides near 0 (but not 0) can make HiGHS' QP solver fail ("excessively small
        # bounds"); the unshifted form is the fallback (see run)
        self._build(row_shift(prob.y, prob.loss))

    def _build(self, shift):
        prob = self.prob
        self.shift = shift
        blk = loss_block(prob, shift, phase1=self.phase == 1)
        self.n_loss, self.n_fixed = blk.n_loss, blk.n_fixed
        old = getattr(self, "_hp", None)
        self._hp_stale = False
        self._hp = HighsProgram(blk.row_lower, blk.row_upper, blk.cost, blk.lower, blk.upper,
                                blk.matrix, hessian_dim=blk.hessian_dim,
                                hessian_values=blk.hessian_values,
                                verbose=self._verbose, options=self._options)
        if old is not None:
            self._hp.carry_counters(old)
        if len(self.signs):
            Phi = relu_columns(prob.A, self.dirs) * self.signs[None, :]
            self._hp.add_columns(sp.csc_array(Phi),
                                 0.0 if self.phase == 1 else prob.beta * self.costs)

    @property
    def hp(self):
        """The :class:`~exactrelu._highs.HighsProgram` of the program, with every column
        (rebuilt here when reduced solves left it behind)."""
        if self._hp_stale:
            self._build(self.shift)
        return self._hp

    @property
    def n_rows(self):
        return self._hp.n_rows

    @property
    def solver_seconds(self):
        """Seconds spent in HiGHS and in reduced solves."""
        return self._hp.seconds

    # ------------------------------------------------------------- columns
    @property
    def n_columns(self):
        return self.n_fixed + len(self.signs)

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
            new = []
            for i, key in enumerate(_signed_keys(dirs, signs)):
                if key not in self.keys:
                    self.keys[key] = len(self.signs) + len(new)
                    new.append(i)
            if not new:
                return 0
            new = np.asarray(new)
            dirs, signs, costs = dirs[new], signs[new], costs[new]
            if Phi is not None:
                Phi = Phi[:, new]
        self._sol = None
        if not self._hp_stale:
            if Phi is None:
                Phi = relu_columns(self.prob.A, dirs)
            cost_now = 0.0 if self.phase == 1 else self.prob.beta * costs
            self._hp.add_columns(sp.csc_array(Phi * signs[None, :]), cost_now)
        self.dirs = np.vstack([self.dirs, dirs])
        self.signs = np.concatenate([self.signs, signs])
        self.costs = np.concatenate([self.costs, costs])
        return int(len(signs))

    def add_both_signs(self, dirs, costs=1.0, Phi=None, dedupe=True):
        """Append ``+relu(A theta)`` and ``-relu(A theta)`` for each direction."""
        dirs = np.atleast_2d(np.asarray(dirs, dtype=float))
        k = dirs.shape[0]
        if k == 0:
            return 0
        costs = np.broadcast_to(np.asarray(costs, dtype=float), (k,))
        return self.add(np.vstack([dirs, dirs]), np.r_[np.ones(k), -np.ones(k)],
                        np.r_[costs, costs], Phi=None if Phi is None else np.hstack([Phi, Phi]),
                        dedupe=dedupe)

    def drop_inactive(self, keep_last=0):
        """Delete neuron columns at 0 with a positive reduced cost (they do not change
        the current optimum; pricing brings them back when they are needed again).
        The ``keep_last`` most recently added columns are kept."""
        k = len(self.signs)
        if self._sol is not None:
            idx = self._sol[3](1e-9 * self.prob.beta) + self.n_fixed
        else:
            idx = self.hp.inactive_columns(self.n_fixed, 1e-9 * self.prob.beta)
        idx = idx[idx < self.n_fixed + k - keep_last]
        if len(idx) == 0:
            return 0
        if not self._hp_stale:
            self._hp.delete_columns(idx)
        self._sol = None
        mask = np.ones(k, dtype=bool)
        mask[idx - self.n_fixed] = False
        self.dirs, self.signs, self.costs = self.dirs[mask], self.signs[mask], self.costs[mask]
        self.keys = {kk: i for i, kk in enumerate(_signed_keys(self.dirs, self.signs))}
        return int(len(idx))

    def to_phase2(self):
        """Fix the phase-1 residuals at 0 and give the neuron columns their costs."""
        n = self.prob.n
        self._sol = None
        self.hp.change_bounds(np.arange(2 * n), 0.0, 0.0)
        self.hp.change_costs(np.arange(2 * n), 0.0)
        idx = np.arange(self.n_fixed, self.n_fixed + len(self.signs))
        if len(idx):
            self.hp.change_costs(idx, self.prob.beta * self.costs)
        self.phase = 2

    # ------------------------------------------------------------ solution
    def run(self, time_limit=None, what="the ray program"):
        if self.prob.loss == "squared" and self.phase == 2 and self._run_gram(time_limit):
            self.solved = True
            self._hp_stale = True
            return "optimal"
        self._sol = None
        try:
            status = self.hp.run(time_limit, what)
        except SolverError as exc:
            if not self.hp.hessian_dim or exc.status not in _QP_RETRY_STATUSES:
                raise
            # HiGHS' active-set QP solver is sensitive to the row right-hand sides:
            # rebuild with the other row shift (same program) and try once more
            self._build(0.0 if self.shift else row_shift(self.prob.y, self.prob.loss))
            status = self.hp.run(time_limit, what)
        self.hp.check_finite()
        self.solved = True
        return status

    def _run_gram(self, time_limit):
        """Solve the squared-loss program in its reduced form (:mod:`.gram`); False
        when that does not reach :data:`GRAM_ACCEPT_RTOL` (the full QP is solved)."""
        prob = self.prob
        t0 = time.perf_counter()
        B = relu_columns(prob.A, self.dirs) * self.signs[None, :]
        E = np.asarray(prob.equality_matrix(), dtype=float)
        w = np.ones(prob.n) if prob.weight is None else prob.weight
        yv = prob.y - self.shift
        g = prob.beta * self.costs
        x0 = None
        if self._warm is not None and self._warm[0] == self.shift:
            coef = self._warm[1]
            x0 = np.zeros(len(self.signs) + E.shape[1])
            for key, i in self.keys.items():
                x0[i] = coef.get(key, 0.0)
            x0[len(self.signs):] = self._warm[2]
        sol = solve_gram(B, E, yv, w, g, time_limit=time_limit, x0=x0,
                         accept_rtol=GRAM_ACCEPT_RTOL)
        self._hp.seconds += time.perf_counter() - t0
        if sol is None or sol.kkt > GRAM_ACCEPT_RTOL:
            self._warm = None
            return False
        self._warm = (self.shift, {key: float(sol.a[i]) for key, i in self.keys.items()
                                   if sol.a[i] > 0}, sol.z.copy())
        x = np.concatenate([sol.r, sol.z, sol.a])
        lam = w * sol.r
        objective = 0.5 * float(np.sum(w * sol.r ** 2)) + float(g @ sol.a)

        def inactive(tol):   # zero coefficients with a positive reduced cost
            rc = g - B.T @ lam
            return np.flatnonzero((sol.a == 0) & (rc > tol))

        self._sol = (x, lam, objective, inactive)
        return True

    @property
    def _x(self):
        return self.hp.x if self._sol is None else self._sol[0]

    @property
    def objective(self):
        return self.hp.objective if self._sol is None else self._sol[2]

    @property
    def lam(self):
        return self.hp.duals if self._sol is None else self._sol[1]

    def neuron_weights(self):
        """Signed coefficient of each neuron column (``sigma_k * x_k``)."""
        return self.signs * self._x[self.n_fixed:]

    def free_terms(self):
        """``(c0, s)`` from the solution (``s`` is ``None`` without skip)."""
        x = self._x
        c0 = float(x[self.n_loss]) + self.shift
        s = x[self.n_loss + 1:self.n_fixed].copy() if self.prob.skip else None
        return c0, s

    def phase1_misfit(self):
        n = self.prob.n
        return float(self._x[:2 * n].sum())

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


def build_restricted(prob, dirs, costs, *, verbose=False):
    """A :class:`RayProgram` over the given directions (both signs of each)."""
    rp = RayProgram(prob, verbose=verbose)
    dirs = np.atleast_2d(dirs)
    if dirs.shape[0]:
        rp.add_both_signs(dirs, costs, Phi=relu_columns(prob.A, dirs))
    return rp
