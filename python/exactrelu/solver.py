"""``solve``: the globally optimal two-layer ReLU network, with a certificate.

The solve path, stage by stage (docs/design.md section 7): validate the input into
a :class:`~exactrelu.problem.Problem`; run one method driver
(:mod:`exactrelu.methods`), which returns the solved program; read the network off
it (sparsified for the squared loss); bound the optimum from below with the
candidate multipliers, priced exactly (:mod:`exactrelu.certificate`).

Methods (docs/design.md sections 3-5):

``"full"``
    Every ray of the refined arrangement (data hyperplanes plus the coordinate
    hyperplanes of the weights) as a column of one LP/QP. Refused with a
    :class:`~exactrelu.errors.SizeError` when too large.
``"colgen"``
    Column generation: a restricted LP/QP over a few rays, grown by exact pricing
    of *all* rays (streamed in C++, never stored) until no ray prices out; the last
    pricing certifies the optimum. For weight decay (``penalty="l2"``, d <= 3) the
    columns are neurons of unit ``||w||_2`` priced exactly by angular sweeps, and
    the restricted cell program over the cells they found finishes the job
    (:mod:`exactrelu.methods.cone_colgen`).
``"cells"``
    The Pilanci-Ergen cell program over the activation patterns (l1 group norms:
    an LP/QP with HiGHS, the cross-check; l2 group norms: the exact weight-decay
    problem as a cone program with cvxpy + Clarabel, certified by its duality gap).
    ``patterns=`` restricts it to given patterns: the result is then only an upper
    bound and is reported as not certified.
``"auto"``
    ``"cells"`` when ``patterns`` is given or for ``penalty="l2"`` at d >= 4;
    otherwise ``"colgen"``, or ``"bracket"`` for l1 problems whose exact pricing
    pass would be too slow.

Every non-optimal solver status raises a named error; a result whose certificate
misses the tolerance is flagged (``certified=False``, status ``"uncertified"``) with a
warning, never returned silently.
"""

from __future__ import annotations

import time
import warnings
from contextlib import nullcontext
from dataclasses import dataclass, field

import numpy as np

from ._context import Deadline, SolveContext
from ._progress import core_progress
from ._validation import check_number
from .certificate import best_dual_bound
from .cone_pricing import cone_pricing_supported
from .errors import InputError, NotSupportedError, NumericalError, SolverError
from .losses import check_beta, check_loss, check_penalty, interpolation_tolerance
from .methods import BRACKET_TIME_LIMIT, METHODS, choose_method, run_method
from .network import ReLUNetwork
from .problem import Scaling, check_conflicts, make_problem, merge_duplicates
from .programs import RayProgram
from .vector import solve_vector_colgen, vector_dual_bound

__all__ = ["Solution", "solve", "METHODS", "CERT_RTOL"]

#: A solution is certified when ``gap <= CERT_RTOL * max(1, |objective|)``.
CERT_RTOL = 1e-6


@dataclass
class Solution:
    """The result of :func:`solve`.

    Attributes
    ----------
    network : ReLUNetwork
        The optimal network (at most n neurons); for an open bracket, the best one
        found.
    objective : float
        ``network.objective(X, y, loss=..., beta=..., penalty=...)``.
    lower_bound : float
        A certified lower bound on the global optimum (``nan`` when none is available,
        e.g. a restricted l2 cell program).
    gap : float
        ``objective - lower_bound``.
    certified : bool
        ``gap <= 1e-6 * max(1, |objective|)`` and the program was not restricted.
    status : str
        ``"optimal"``, ``"restricted"`` (``patterns=`` given), ``"bracket"`` (method
        ``"bracket"``: the budget ended with ``lower_bound <= optimum <= objective``
        and a gap above the tolerance) or ``"uncertified"``.
    method : str
        The method that ran (``"auto"`` resolved to ``"colgen"``, ``"bracket"`` or
        ``"cells"``).
    loss, penalty : str
    beta : float
    timings : dict
        Seconds per stage (``total``, ``arrangement``, ``solver``, ``pricing``, ...).
    sizes : dict
        Program sizes (``rows``, ``columns``, ``rays`` / ``cells``, ``rounds``, ...).
    multipliers : ndarray or None
        The dual-feasible multipliers behind ``lower_bound`` (l1 penalty).
    """

    network: ReLUNetwork
    objective: float
    lower_bound: float
    gap: float
    certified: bool
    status: str
    method: str
    loss: str
    penalty: str
    beta: float
    timings: dict = field(default_factory=dict)
    sizes: dict = field(default_factory=dict)
    multipliers: np.ndarray = field(default=None, repr=False)

    @property
    def relative_gap(self):
        """``gap / max(1, |objective|)``."""
        return self.gap / max(1.0, abs(self.objective))

    @property
    def n_neurons(self):
        return self.network.n_neurons

    def predict(self, X):
        """``self.network.predict(X)``."""
        return self.network.predict(X)

    def __repr__(self):
        return (f"Solution(objective={self.objective:.10g}, lower_bound={self.lower_bound:.10g}, "
                f"gap={self.gap:.3g}, certified={self.certified}, status={self.status!r}, "
                f"method={self.method!r}, n_neurons={self.n_neurons})")


def _check_method(method, penalty, patterns):
    """Refuse unknown methods and combinations that are not supported (``"auto"`` is
    resolved later, from the problem's size: :func:`_auto_method`)."""
    if not isinstance(method, str) or method not in METHODS:
        raise InputError(f"method must be one of {', '.join(map(repr, METHODS))}; got {method!r}")
    if patterns is not None and method not in ("auto", "cells"):
        raise InputError(f"patterns= restricts the cell program; it needs method='cells', "
                         f"not {method!r}")
    if penalty == "l2" and method in ("full", "bracket"):
        raise NotSupportedError(
            f"method={method!r} prices the rays of an arrangement, which is exact for the "
            "l1 path norm only; the weight-decay (penalty='l2') problem is solved by "
            "method='colgen' (d <= 3), 'cells' or 'auto'"
        )
    return method


def _auto_method(prob, penalty, patterns, time_limit, max_rays):
    """``"cells"`` with ``patterns``; for l2 ``"colgen"`` when its exact sweeps apply
    (d <= 3), else ``"cells"``; for l1 by the size of an exact pricing pass."""
    if patterns is not None:
        return "cells"
    if penalty == "l2":
        return "colgen" if cone_pricing_supported(prob) else "cells"
    return choose_method(prob, time_limit, max_rays)


def _sparsify(prob, rp, verbose):
    """Re-solve ``min sum cost|coef| s.t. fit = f*`` on the support of a QP solution.

    Returns the (basic, at most n nonzeros) program, or ``rp`` itself when it is
    already sparse enough or the re-solve fails.
    """
    coef = rp.neuron_weights()
    nz = np.flatnonzero(coef != 0)
    if len(nz) < prob.n:
        return rp
    rp2 = RayProgram(prob.with_targets(rp.fit()), verbose=verbose)
    rp2.add(rp.dirs[nz], rp.signs[nz], rp.costs[nz], dedupe=False)
    try:
        rp2.run(what="the sparsifying LP")
    except SolverError:
        return rp
    if rp2.objective > float(np.abs(coef[nz]) @ rp.costs[nz]) * (1 + 1e-9) + 1e-12:
        return rp
    return rp2


def _interp_check(prob, net):
    if prob.loss != "interpolate":
        return
    tol = np.broadcast_to(interpolation_tolerance(prob.y, scale=net.term_scale(prob.X)),
                          prob.y.shape).reshape(-1)
    res = np.abs(net.predict(prob.X) - prob.y).reshape(-1)
    if np.any(res > tol):
        i = int(np.argmax(res - tol))
        raise NumericalError(
            f"the interpolating network misses y[{_index(i, prob.y.shape)}] by {res[i]:.3g} "
            f"(> {tol[i]:.3g}); "
            "the data may be too ill-conditioned for double precision")


def _index(flat, shape):
    """A flat index as the index of an array of ``shape`` (an int for 1-D)."""
    at = np.unravel_index(flat, shape)
    return int(at[0]) if len(at) == 1 else tuple(int(i) for i in at)


def _status(objective, lower, complete, bracket=False):
    """``(gap, certified, status)``; raises when the bound contradicts the objective.
    An open bracket is status ``"bracket"`` (what was asked for: no warning)."""
    gap = objective - lower if np.isfinite(lower) else np.nan
    tol = CERT_RTOL * max(1.0, abs(objective))
    certified = bool(complete and np.isfinite(gap) and gap <= tol)
    if np.isfinite(gap) and gap < -tol:
        raise NumericalError(
            f"inconsistent result: the network's objective {objective:.12g} is below the "
            f"certified lower bound {lower:.12g}")
    if not complete:
        return gap, certified, "restricted"
    if certified:
        return gap, certified, "optimal"
    if bracket:
        return gap, certified, "bracket"
    warnings.warn(
        f"exactrelu.solve: the solution could not be certified (gap {gap:.3g}, "
        f"objective {objective:.12g}); it is returned with certified=False",
        RuntimeWarning, stacklevel=3)
    return gap, certified, "uncertified"


def _solve_vector(user, penalty, method, patterns, time_limit, verbose, max_rays, progress,
                  t_start):
    """:func:`solve` for vector outputs (``y`` of shape (n, k), k >= 2): column
    generation over the rays with the group-lasso master (:mod:`exactrelu.vector`)."""
    k = user.y.shape[1]
    if penalty != "l1":
        raise NotSupportedError(
            "vector outputs (a 2-D y) are trained with the penalty sum_j ||a_j||_2 ||w_j||_1 "
            "(penalty='l1'); with ||w_j||_2 (penalty='l2') the problem is a copositive "
            "program, for which no finite exact method exists")
    if method not in ("auto", "colgen") or patterns is not None:
        given = f"method={method!r}" + (" with patterns=" if patterns is not None else "")
        raise NotSupportedError(
            f"vector outputs (a 2-D y with {k} columns) are solved by method='colgen' "
            f"(or 'auto'), not {given}")
    if user.client is not None:
        raise NotSupportedError("vector outputs run locally; client= is for one output")
    if user.loss == "interpolate" and not user.bias:
        raise NotSupportedError("interpolation with vector outputs needs neuron biases "
                                "(bias=True)")
    scaling = Scaling.for_problem(user)
    merged, expand = merge_duplicates(user)
    prob = scaling.apply(merged)
    kappa = scaling.objective_factor(user.loss)
    ctx = SolveContext(Deadline(time_limit), verbose=verbose, progress=progress,
                       max_rays=max_rays, sizes={"n": user.n, "d": prob.d, "k": k})
    # a time limit is a budget here, as for method="bracket": the best network and
    # bound at its end are returned, never TimeLimitError
    budgeted = time_limit is not None
    with (nullcontext() if budgeted else ctx.deadline.enforced("solving with vector outputs")):
        res = solve_vector_colgen(prob, ctx, budget=time_limit)
        scaled_net = res.network(prob)
        net = scaling.network_back(scaled_net)
        _interp_check(user, net)
        objective = net.objective(user.X, user.y, loss=user.loss, beta=user.beta,
                                  penalty="l1", sample_weight=user.weight)
        with ctx.timed("certificate"):
            cands = list(res.candidates)
            if user.loss == "squared" and res.exact:   # (a split bound prices one only)
                r = prob.y - scaled_net.predict(prob.X)
                cands.append(("residual", r if prob.weight is None else prob.weight[:, None] * r))
            best = None
            for _, Lam in cands:
                lower, mult, M = vector_dual_bound(prob, Lam, res.pricer)
                if best is None or lower > best[0]:
                    best = (lower, mult, M)
    lower = best[0] / kappa
    gap, certified, status = _status(objective, lower, True, bracket=budgeted)
    sizes = ctx.sizes
    sizes["neurons"] = net.n_neurons
    sizes["program_objective"] = res.value / kappa
    sizes["max_dual_ratio"] = best[2] / prob.beta
    timings = ctx.timings
    timings["total"] = time.perf_counter() - t_start
    return Solution(network=net, objective=float(objective), lower_bound=float(lower),
                    gap=float(gap), certified=certified, status=status, method="colgen",
                    loss=user.loss, penalty=penalty, beta=float(user.beta), timings=timings,
                    sizes=sizes, multipliers=expand(scaling.multipliers_back(best[1], user.loss)))


def solve(X, y, *, loss="squared", beta=1.0, penalty="l1", bias=True, skip=False,
          method="auto", patterns=None, time_limit=None, threads=None, verbose=False,
          max_rays=None, max_cells=None, sample_weight=None, progress=False, client=None):
    """Train a two-layer ReLU network to its certified global optimum.

    Minimizes ``loss(f(X), y) + beta * R(f)`` over all networks
    ``f(x) = sum_j a_j relu(w_j . x + b_j) + c + s . x`` of any width, with
    ``R = sum_j |a_j| ||w_j||_1`` (``penalty="l1"``, the path norm) or
    ``sum_j |a_j| ||w_j||_2`` (``penalty="l2"``, weight decay).

    Parameters
    ----------
    X : array_like, shape (n, d)
    y : array_like, shape (n,) or (n, k)
        Targets; labels in {-1, +1} for ``loss="hinge"``. A 2-D y with k >= 2 columns
        trains k outputs sharing one hidden layer (vector outputs: ``a`` of shape
        (m, k), ``c`` of shape (k,)), with the loss summed over all entries and the
        penalty ``sum_j ||a_j||_2 ||w_j||_1``; only ``penalty="l1"`` and method
        ``"colgen"`` (or ``"auto"``), on one machine (docs/design.md section 12).
        With ``time_limit`` it is a budget, as for ``"bracket"``: at its end the best
        network and a certified lower bound are returned (status ``"bracket"`` unless
        the bound closed).
        Multiclass hinge: one-vs-rest codes in {-1, +1}^(n x k).
    loss : {"squared", "interpolate", "absolute", "hinge"}
        ``0.5 * sum r_i^2``, exact fit ``f(x_i) = y_i`` (beta ignored), ``sum |r_i|``
        or ``sum max(0, 1 - y_i f_i)``.
    beta : float
        Regularization weight (> 0).
    penalty : {"l1", "l2"}
    bias : bool
        Neuron biases b_j (the output bias c is always free).
    skip : bool
        A free linear skip connection ``s . x``.
    method : {"auto", "full", "colgen", "cells", "bracket"}
        ``"bracket"`` works at any dimension: heuristic column generation and a MIP
        bound on the pricing maximum give the best network found and a certified lower
        bound, tightening with time (docs/design.md section 10); ``"auto"`` runs
        ``"colgen"`` (exact) when one exact pricing pass is estimated under 30 s on
        this machine (or under ``time_limit``), else ``"bracket"``; for the l2
        penalty ``"colgen"`` at d <= 3 and ``"cells"`` at d >= 4 (docs/design.md
        section 11).
    patterns : array_like of bool, shape (k, n), optional
        Restrict the cell program to these activation patterns (not certified).
    time_limit : float, optional
        Seconds; :class:`~exactrelu.errors.TimeLimitError` when exceeded. In the main
        thread on POSIX systems the limit interrupts any stage (the C++ core included)
        through a ``SIGALRM`` timer, which replaces (and then restores) the process's
        own ``SIGALRM`` handler for the duration of the solve. For ``"bracket"`` it is
        the budget instead (default 300 s): at the limit the best network and bound
        are returned (status ``"bracket"``), never TimeLimitError.
    threads : int, optional
        Threads for enumeration and pricing (default: all cores).
    verbose : bool
    max_rays, max_cells : int, optional
        Size limits: matrix entries for ``"full"``, rays per pricing pass for
        ``"colgen"``, constraint rows for ``"cells"`` (defaults in
        :mod:`exactrelu.limits`).
    sample_weight : array_like, shape (n,), optional
        Nonnegative weights of the samples' loss terms (an integer weight counts as
        repeated samples; weight 0 drops a sample). Not for ``"interpolate"``.
    progress : bool or callable, optional
        Show the C++ core's passes on stderr: each exact pricing pass (column
        generation and the certificate, ``"solve: pricing pass k"``), and the counting
        and enumeration of methods ``"full"`` and ``"cells"``; a tqdm bar per pass when
        tqdm is installed (``pip install 'exactrelu[progress]'``), else plain lines. A
        callable is called as ``progress(what, done, total)`` instead. The result does
        not depend on it. Default: quiet. See docs/design.md section 7, "Progress".
    client : dask.distributed.Client, optional
        Run the core's passes (exact pricing, counting, enumeration) as Dask tasks on
        this client's cluster: each pass is split into shards merged deterministically,
        so the solution is exactly the one computed locally; a lost worker's shards
        are re-run by Dask. ``Solution.sizes`` then reports the tasks, bytes and
        workers used (``"dask_*"``). Needs ``pip install 'exactrelu[dask]'``; see
        docs/design.md section 9.

    Returns
    -------
    Solution

    Raises
    ------
    ConflictingTargetsError, InfeasibleError
        Interpolation of data no network can fit.
    SizeError
        The program for ``method`` is too large.
    SolverError, TimeLimitError
        A solver status other than optimal.

    Examples
    --------
    >>> import numpy as np
    >>> import exactrelu
    >>> X = np.array([[0.0], [1.0], [2.0]]); y = np.array([0.0, 1.0, 0.0])
    >>> sol = exactrelu.solve(X, y, loss="interpolate")
    >>> round(sol.objective, 9), sol.certified, sol.network.n_neurons
    (2.0, True, 2)
    """
    t_start = time.perf_counter()
    loss = check_loss(loss)
    beta = check_beta(beta, loss)
    penalty = check_penalty(penalty)
    method = _check_method(method, penalty, patterns)
    if time_limit is not None:
        time_limit = check_number(time_limit, "time_limit (seconds)")
    progress = core_progress(progress, "solve")
    user = make_problem(X, y, loss, beta, bias, skip, threads, sample_weight, client,
                        outputs=True)
    if loss == "interpolate":
        check_conflicts(user.X, user.y)
    if user.y.ndim == 2:
        return _solve_vector(user, penalty, method, patterns, time_limit, verbose, max_rays,
                             progress, t_start)
    # the programs are solved for the data scaled by powers of two (exact), and the
    # network and its bounds mapped back to the user's units
    scaling = Scaling.for_problem(user)
    # equal samples are one weighted sample (patterns= are given per sample: kept)
    merged, expand = merge_duplicates(user) if patterns is None else (user, lambda lam: lam)
    prob = scaling.apply(merged)
    kappa = scaling.objective_factor(loss)
    if method == "auto":
        method = _auto_method(prob, penalty, patterns, time_limit, max_rays)
    elif method == "colgen" and penalty == "l2" and not cone_pricing_supported(prob):
        raise NotSupportedError(
            f"method='colgen' with penalty='l2' prices neurons by exact angular sweeps, "
            f"which need d <= 3 input dimensions (got d = {prob.d}); use method='cells'")
    bracket = method == "bracket"
    if bracket and time_limit is None:
        time_limit = BRACKET_TIME_LIMIT
    ctx = SolveContext(Deadline(time_limit), verbose=verbose, progress=progress,
                       max_rays=max_rays, max_cells=max_cells,
                       sizes={"n": user.n, "d": prob.d})
    # the bracket keeps its own budget (it returns what it has, never TimeLimitError)
    with (nullcontext() if bracket else ctx.deadline.enforced(f"solving with method={method!r}")):
        res = run_method(method, penalty, prob, ctx, patterns)
    rp = res.program
    program_objective = (rp.objective if res.program_objective is None
                         else res.program_objective) / kappa
    if "cell_objective" in ctx.sizes:
        ctx.sizes["cell_objective"] /= kappa
    if "bracket_history" in ctx.sizes:   # (seconds, program objective, lower bound)
        ctx.sizes["bracket_history"] = [(t, f / kappa, lo / kappa)
                                        for t, f, lo in ctx.sizes["bracket_history"]]
    if loss == "squared" and method != "cells":
        with ctx.timed("sparsify"):
            rp = _sparsify(prob, rp, verbose)
    scaled_net = rp.network()
    net = scaling.network_back(scaled_net)
    _interp_check(user, net)
    objective = net.objective(user.X, user.y, loss=loss, beta=user.beta, penalty=penalty,
                              sample_weight=user.weight)
    # the certificate (l1): the best of the candidate multipliers, priced exactly
    lower, multipliers = res.lower_bound / kappa, None
    with ctx.timed("certificate"):
        if res.pricer is not None:
            cands = list(res.multipliers)
            if loss == "squared":
                r = prob.y - scaled_net.predict(prob.X)
                cands.append(("residual", r if prob.weight is None else prob.weight * r))
            # a bound that certifies is enough: later candidates would cost a pass each
            enough = (objective - 0.5 * CERT_RTOL * max(1.0, abs(objective))) * kappa
            best = best_dual_bound(prob, cands, res.pricer, enough=enough)
            lower = best.lower / kappa
            multipliers = expand(scaling.multipliers_back(best.multipliers, loss))
            ctx.record(max_dual_ratio=best.max_score / prob.beta)
    if res.dual is not None and multipliers is None:
        multipliers = expand(scaling.multipliers_back(res.dual, loss))
    gap, certified, status = _status(objective, lower, res.complete, bracket)
    sizes = ctx.sizes
    sizes.setdefault("rows", int(rp.n_rows))
    sizes.setdefault("columns", int(rp.n_columns))
    sizes["neurons"] = net.n_neurons
    sizes.setdefault("program_objective", program_objective)
    timings = ctx.timings
    timings["solver"] = rp.solver_seconds
    if res.pricer is not None:
        timings["pricing"] = res.pricer.seconds
        engine = getattr(res.pricer, "engine", None)
        if engine is not None:
            sizes.update(engine.stats.as_dict())
    timings["total"] = time.perf_counter() - t_start
    return Solution(network=net, objective=float(objective), lower_bound=float(lower),
                    gap=float(gap), certified=certified, status=status, method=method,
                    loss=loss, penalty=penalty, beta=float(user.beta), timings=timings,
                    sizes=sizes, multipliers=multipliers)
