"""A thin wrapper around highspy: CSC model data in, named errors out.

The model is passed as CSC arrays through ``HighsLp`` + ``passModel`` (docs/design.md
section 4); an optional unit Hessian on the first ``hessian_dim`` columns makes it
a QP (HiGHS' active-set solver). Columns can be appended to a solved model with
``addCols``: the next ``run`` warm-starts from the previous basis.

Every model status other than optimal is mapped explicitly (:data:`STATUS_MAP`) to
an exception of :mod:`exactrelu.errors`: nothing non-optimal is returned silently.
"""

from __future__ import annotations

import os
import sys
import time

import numpy as np
import scipy.sparse as sp

from .errors import (
    InfeasibleError,
    NumericalError,
    SizeError,
    SolverError,
    TimeLimitError,
    UnboundedError,
)

__all__ = ["HighsProgram", "STATUS_MAP", "INF"]

INF = float("inf")

#: HiGHS model status name -> exception raised for it (``None``: optimal).
STATUS_MAP = {
    "kOptimal": None,
    "kInfeasible": InfeasibleError,
    "kUnboundedOrInfeasible": InfeasibleError,
    "kUnbounded": UnboundedError,
    "kTimeLimit": TimeLimitError,
    "kIterationLimit": SolverError,
    "kObjectiveBound": SolverError,
    "kObjectiveTarget": SolverError,
    "kSolutionLimit": SolverError,
    "kInterrupt": SolverError,
    "kHighsInterrupt": SolverError,
    "kMemoryLimit": SizeError,
    "kNotset": SolverError,
    "kLoadError": SolverError,
    "kModelError": SolverError,
    "kPresolveError": SolverError,
    "kSolveError": SolverError,
    "kPostsolveError": SolverError,
    "kModelEmpty": SolverError,
    "kUnknown": SolverError,
}

#: Options used for every model: tight tolerances (interpolation residuals must stay
#: below 1e-7 relative) and a negligible regularization of the QP Hessian (the default
#: 1e-7 biases the fit at the 1e-8 level; 0 makes the active-set solver report the
#: singular Hessian as non-convex).
DEFAULT_OPTIONS = {
    "output_flag": False,
    "primal_feasibility_tolerance": 1e-10,
    "dual_feasibility_tolerance": 1e-10,
    "qp_regularization_value": 1e-12,
    "qp_allow_hot_start": True,
}


def _csc_parts(M, n_rows):
    """(start, index, value) int32/float64 arrays of a CSC matrix (scipy or dense)."""
    if not sp.issparse(M):
        M = sp.csc_array(np.asarray(M, dtype=float).reshape(n_rows, -1))
    else:
        M = sp.csc_array(M)
    M.sort_indices()
    M.eliminate_zeros()
    if M.shape[0] != n_rows:
        raise ValueError(f"matrix has {M.shape[0]} rows, the model {n_rows}")
    return (M.indptr.astype(np.int32), M.indices.astype(np.int32),
            M.data.astype(np.float64), M.shape[1])


_banner_shown = [False]  # HiGHS prints its banner once per process, from its constructor


def _new_highs(highspy, quiet=True):
    """A ``highspy.Highs()`` whose one-time banner does not reach stdout when quiet."""
    if not quiet or _banner_shown[0]:
        _banner_shown[0] = True
        return highspy.Highs()
    try:
        sys.stdout.flush()
        saved = os.dup(1)
    except (OSError, ValueError):  # no usable fd 1: nothing to protect
        _banner_shown[0] = True
        return highspy.Highs()
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 1)
        h = highspy.Highs()
    finally:
        os.dup2(saved, 1)
        os.close(saved)
        os.close(devnull)
    _banner_shown[0] = True
    return h


class HighsProgram:
    """A linear (or unit-Hessian quadratic) program held by one ``highspy.Highs``.

    Parameters
    ----------
    row_lower, row_upper : ndarray (n_rows,)
    cost, lower, upper : ndarray (n_cols,)
    A : sparse or dense (n_rows, n_cols)
    hessian_dim : int
        Put ``0.5 * h_j * x_j^2`` into the objective for the first ``hessian_dim``
        columns (``h_j``: ``hessian_values``, default 1).
    hessian_matrix : sparse (n_cols, n_cols), optional
        Instead: ``0.5 x^T H x`` with ``H`` given by its lower triangle (CSC).
    verbose : bool
    options : dict, optional
        HiGHS options overriding :data:`DEFAULT_OPTIONS`.
    """

    def __init__(self, row_lower, row_upper, cost, lower, upper, A, *, hessian_dim=0,
                 hessian_values=None, hessian_matrix=None, verbose=False, options=None):
        import highspy  # the solver is imported when the first program is built

        self._hs = highspy
        self.h = _new_highs(highspy, quiet=not verbose)
        opts = dict(DEFAULT_OPTIONS)
        if verbose:
            opts["output_flag"] = True
        if options:
            opts.update(options)
        for k, v in opts.items():
            self.h.setOptionValue(k, v)
        n_rows = len(row_lower)
        start, index, value, n_cols = _csc_parts(A, n_rows)
        lp = highspy.HighsLp()
        lp.num_col_ = n_cols
        lp.num_row_ = n_rows
        lp.col_cost_ = np.asarray(cost, dtype=np.float64)
        lp.col_lower_ = np.asarray(lower, dtype=np.float64)
        lp.col_upper_ = np.asarray(upper, dtype=np.float64)
        lp.row_lower_ = np.asarray(row_lower, dtype=np.float64)
        lp.row_upper_ = np.asarray(row_upper, dtype=np.float64)
        lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
        lp.a_matrix_.start_ = start
        lp.a_matrix_.index_ = index
        lp.a_matrix_.value_ = value
        lp.a_matrix_.num_col_ = n_cols
        lp.a_matrix_.num_row_ = n_rows
        self.hessian_dim = int(hessian_dim if hessian_matrix is None else n_cols)
        if self.hessian_dim:
            hess = highspy.HighsHessian()
            hess.dim_ = self.hessian_dim
            hess.format_ = highspy.HessianFormat.kTriangular
            if hessian_matrix is not None:
                H = hessian_matrix.tocsc()
                hess.start_ = H.indptr.astype(np.int32)
                hess.index_ = H.indices.astype(np.int32)
                hess.value_ = H.data.astype(np.float64)
            else:
                hess.start_ = np.arange(self.hessian_dim + 1, dtype=np.int32)
                hess.index_ = np.arange(self.hessian_dim, dtype=np.int32)
                hess.value_ = (np.ones(self.hessian_dim) if hessian_values is None
                               else np.asarray(hessian_values, dtype=np.float64))
            model = highspy.HighsModel()
            model.lp_ = lp
            model.hessian_ = hess
            status = self.h.passModel(model)
        else:
            status = self.h.passModel(lp)
        if status == highspy.HighsStatus.kError:
            raise SolverError("HiGHS refused the model (passModel returned an error)",
                              status="kLoadError")
        self.n_rows = n_rows
        self.n_cols = n_cols
        self.runs = 0
        self.seconds = 0.0
        self.iterations = 0

    # ------------------------------------------------------------- changes
    def add_columns(self, M, cost, lower=0.0, upper=INF):
        """Append the columns of ``M`` (n_rows, k); returns their indices."""
        start, index, value, k = _csc_parts(M, self.n_rows)
        if k == 0:
            return np.arange(self.n_cols, self.n_cols)
        cost = np.broadcast_to(np.asarray(cost, dtype=np.float64), (k,)).copy()
        lo = np.broadcast_to(np.asarray(lower, dtype=np.float64), (k,)).copy()
        hi = np.broadcast_to(np.asarray(upper, dtype=np.float64), (k,)).copy()
        status = self.h.addCols(k, cost, lo, hi, len(value), start[:-1].copy(), index, value)
        if status == self._hs.HighsStatus.kError:
            raise SolverError("HiGHS refused the new columns", status="kModelError")
        idx = np.arange(self.n_cols, self.n_cols + k)
        self.n_cols += k
        return idx

    def add_rows(self, M, lower, upper):
        """Append the rows of ``M`` (k, n_cols) with bounds ``lower <= M x <= upper``."""
        M = sp.csr_array(M)
        M.sort_indices()
        k = M.shape[0]
        if k == 0:
            return
        lo = np.broadcast_to(np.asarray(lower, dtype=np.float64), (k,)).copy()
        hi = np.broadcast_to(np.asarray(upper, dtype=np.float64), (k,)).copy()
        status = self.h.addRows(k, lo, hi, int(M.nnz), M.indptr[:-1].astype(np.int32),
                                M.indices.astype(np.int32), M.data.astype(np.float64))
        if status == self._hs.HighsStatus.kError:
            raise SolverError("HiGHS refused the new rows", status="kModelError")
        self.n_rows += k

    def delete_columns(self, idx):
        """Delete the columns ``idx``; later columns shift down."""
        idx = np.unique(np.asarray(idx, dtype=np.int32))
        if len(idx) == 0:
            return
        status = self.h.deleteCols(len(idx), idx)
        if status == self._hs.HighsStatus.kError:
            raise SolverError("HiGHS refused to delete columns", status="kModelError")
        self.n_cols -= len(idx)

    def inactive_columns(self, start=0, tol=0.0):
        """Indices >= start of columns at value 0 with reduced cost > tol (nonbasic,
        and strictly unattractive)."""
        sol = self.h.getSolution()
        x = np.asarray(sol.col_value, dtype=float)[start:]
        rc = np.asarray(sol.col_dual, dtype=float)[start:]
        return start + np.flatnonzero((x == 0) & (rc > tol))

    def change_costs(self, idx, cost):
        idx = np.asarray(idx, dtype=np.int32)
        cost = np.broadcast_to(np.asarray(cost, dtype=np.float64), idx.shape).copy()
        self.h.changeColsCost(len(idx), idx, cost)

    def change_bounds(self, idx, lower, upper):
        idx = np.asarray(idx, dtype=np.int32)
        lo = np.broadcast_to(np.asarray(lower, dtype=np.float64), idx.shape).copy()
        hi = np.broadcast_to(np.asarray(upper, dtype=np.float64), idx.shape).copy()
        self.h.changeColsBounds(len(idx), idx, lo, hi)

    def set_option(self, name, value):
        self.h.setOptionValue(name, value)

    def set_feasibility_tolerance(self, tol):
        """Primal and dual feasibility tolerances (both)."""
        self.h.setOptionValue("primal_feasibility_tolerance", float(tol))
        self.h.setOptionValue("dual_feasibility_tolerance", float(tol))

    def clear_solver(self):
        """Forget the basis and solver state: the next :meth:`run` starts cold."""
        self.h.clearSolver()

    def carry_counters(self, other):
        """Continue the run, time and iteration counters of a program this one replaces."""
        self.seconds, self.runs, self.iterations = other.seconds, other.runs, other.iterations

    # ----------------------------------------------------------------- run
    def run(self, time_limit=None, what="the program"):
        """Solve; return ``"optimal"`` or raise the mapped error.

        ``time_limit`` is in seconds (``None``: no limit).
        """
        if time_limit is not None and time_limit <= 0:
            raise TimeLimitError(f"the time limit was reached before solving {what}",
                                 status="kTimeLimit")
        # set every time: a limit of an earlier run must not stay on the model
        self.h.setOptionValue("time_limit", INF if time_limit is None else float(time_limit))
        if self.hessian_dim:
            # the active-set QP solver can cycle on degenerate models: bound its work
            self.h.setOptionValue("qp_iteration_limit",
                                  int(max(100_000, 50 * (self.n_rows + self.n_cols))))
        name = self._run_once()
        if name == "kSolveError" and self.hessian_dim:
            # the active-set QP solver can stall on the singular Hessian: retry once with
            # a larger (still negligible) regularization
            reg = self.h.getOptionValue("qp_regularization_value")
            reg = reg[1] if isinstance(reg, tuple) else reg
            self.h.setOptionValue("qp_regularization_value", max(100 * float(reg), 1e-10))
            self.h.clearSolver()
            name = self._run_once()
        ms = self.h.getModelStatus()
        if name not in STATUS_MAP:  # pragma: no cover - a status added by a later HiGHS
            raise SolverError(f"HiGHS returned the unknown status {name} for {what}", status=name)
        exc = STATUS_MAP[name]
        if exc is None:
            return "optimal"
        text = self.h.modelStatusToString(ms)
        if exc is InfeasibleError:
            raise InfeasibleError(f"HiGHS: {what} is infeasible ({text})", status=name,
                                  rows=self.infeasible_rows())
        if exc is SizeError:
            raise SizeError(f"HiGHS ran out of memory on {what} ({text})", what="memory")
        if exc is TimeLimitError:
            raise TimeLimitError(f"HiGHS stopped at the time limit on {what} ({text})",
                                 status=name)
        raise exc(f"HiGHS did not solve {what} to optimality: {text} ({name})", status=name)

    def _run_once(self):
        t0 = time.perf_counter()
        self.h.run()
        self.seconds += time.perf_counter() - t0
        self.runs += 1
        info = self.h.getInfo()
        self.iterations += int(max(info.simplex_iteration_count, 0)
                               + max(info.qp_iteration_count, 0)
                               + max(info.ipm_iteration_count, 0))
        ms = self.h.getModelStatus()
        return ms.name if hasattr(ms, "name") else str(ms).split(".")[-1]

    def infeasible_rows(self, tol=1e-9):
        """Rows in the support of a dual (Farkas) ray, when HiGHS has one."""
        try:
            _, has, ray = self.h.getDualRay()
        except Exception:  # pragma: no cover - older highspy
            return []
        if not has:
            return []
        ray = np.asarray(ray)
        scale = max(np.abs(ray).max(), 1e-300)
        return np.flatnonzero(np.abs(ray) > tol * scale).tolist()

    # ------------------------------------------------------------ solution
    @property
    def x(self):
        return np.asarray(self.h.getSolution().col_value, dtype=float)

    @property
    def duals(self):
        """Row duals: for a minimization the reduced cost is ``cost - A^T duals``."""
        return np.asarray(self.h.getSolution().row_dual, dtype=float)

    @property
    def objective(self):
        return float(self.h.getInfo().objective_function_value)

    def check_finite(self):
        if not (np.all(np.isfinite(self.x)) and np.all(np.isfinite(self.duals))):
            raise NumericalError("HiGHS returned a non-finite solution")
