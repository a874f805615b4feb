"""Method ``"colgen"`` for weight decay (``penalty="l2"``, d = 2, 3), in two phases.

With ``||w||_2`` the optimal neurons lie inside cells, not on rays. Pricing is exact
(:class:`~exactrelu.cone_pricing.ConePricer`), but column generation over neurons
converges only linearly and its restricted QP degenerates on near-parallel columns.
So (docs/design.md section 11):

1. the **column phase** runs the ray LP/QP with unit-``||w||_2`` neuron columns while
   it converges fast (pricing maximum within :data:`COLUMN_PHASE_RTOL` of beta);
2. the **cell phase** solves the cell program (section 5) restricted to the cells of
   the active and best priced neurons, each cell by its facet rows only
   (:mod:`exactrelu.programs.facets`), with cvxpy + Clarabel; its fit multipliers are
   priced exactly, the cells of the neurons that price out join, unused cells leave,
   until the certificate closes.

The network is read from the last master by
:func:`~exactrelu.methods.cells.sparse_refit`.
"""

from __future__ import annotations

import time

import numpy as np

from .._cone import solve_in_child
from ..arrangement import enumerate_cells
from ..certificate import dual_bound, project_multiplier, zero_neuron_multiplier
from ..errors import SolverError
from ..programs import RayProgram, cell_program_cvxpy
from ..programs.facets import cell_facets
from .base import MethodResult, add_priced
from .cells import sparse_refit
from .colgen import PRICE_RTOL, drop_inactive_columns, exact_strategy, interpolating_start

__all__ = ["solve_colgen_l2", "neuron_patterns", "L2_STOP_RTOL"]

#: Pricing stops when ``max |lam . relu(A u)| <= beta * (1 + L2_STOP_RTOL)`` (the cone
#: master is accurate to about 1e-10; the certificate's own tolerance is 1e-6).
L2_STOP_RTOL = 1e-8
#: An entry ``a_i . u`` within this multiple of ``|a_i| . |u|`` of 0 is on hyperplane i.
_TIE_RTOL = 1e-11
#: Cells whose two neurons are below this fraction of the largest neuron are dropped
#: from the master before new ones join.
_DROP_RTOL = 1e-9
#: Rounds after which cell generation gives up (the certificate then tells).
_MAX_ROUNDS = 200
#: The column phase hands over to the cell master once the pricing maximum is
#: within this fraction of beta (it converges linearly from there) ...
COLUMN_PHASE_RTOL = 1e-3
#: ... or after this many rounds.
_COLUMN_PHASE_ROUNDS = 100


def neuron_patterns(A, dirs):
    """Activation patterns whose closed cells contain each neuron ``u``: ties (rows
    with ``a_i . u = 0``) inactive and, when there are ties, also all active.
    Returns ``(patterns, points)``: boolean rows and the neuron each came from."""
    dirs = np.atleast_2d(dirs)
    if dirs.shape[0] == 0:
        return np.zeros((0, A.shape[0]), dtype=bool), dirs
    Z = A @ dirs.T
    tie = np.abs(Z) <= _TIE_RTOL * (np.abs(A) @ np.abs(dirs).T)
    on = (Z > 0) & ~tie
    two = tie.any(axis=0)
    return np.vstack([on.T, (on | tie).T[two]]), np.vstack([dirs, dirs[two]])


class _Cells:
    """The master's cells (unique patterns, in the order they joined) and the rows
    that define each (:func:`~exactrelu.programs.facets.cell_facets`)."""

    def __init__(self, A):
        self.A = A
        self.patterns = np.zeros((0, A.shape[0]), dtype=bool)
        self.rows = []
        self._keys = set()
        self.seconds = 0.0

    def __len__(self):
        return len(self.rows)

    def add(self, pats, points=None):
        """Add the new patterns (``points``: a point of each closed cell); returns
        how many joined."""
        t0 = time.perf_counter()
        new = []
        for k, p in enumerate(pats):
            key = np.packbits(p).tobytes()
            if key not in self._keys:
                self._keys.add(key)
                new.append(k)
        if new:
            pats = np.asarray(pats)[new]
            hints = None if points is None else np.asarray(points)[new]
            self.rows += cell_facets(self.A, pats, hints)
            self.seconds += time.perf_counter() - t0
            self.patterns = np.vstack([self.patterns, pats])
        return len(new)

    def keep(self, mask):
        self.patterns = self.patterns[mask]
        self.rows = [r for r, m in zip(self.rows, mask) if m]
        self._keys = {np.packbits(p).tobytes() for p in self.patterns}

    @property
    def n_rows(self):
        return int(sum(len(r) for r in self.rows))


def solve_colgen_l2(prob, ctx, k_add=None):
    """Weight decay at ``d = 2, 3``: neuron columns first, then cell generation (see
    the module docstring)."""
    pricer, strategy = exact_strategy(prob, ctx, "l2")
    if k_add is None:
        k_add = int(np.clip(prob.n // 4, 10, 100))
    beta = prob.beta
    thresh = beta * (1.0 + L2_STOP_RTOL)
    rp, seeds = _column_phase(prob, ctx, strategy, k_add)
    if rp is not None:      # the neuron columns alone certified the optimum
        return MethodResult(rp, pricer, [("program", rp.lam)])
    cells = _Cells(prob.A)
    cells.add(*neuron_patterns(prob.A, seeds))
    if prob.loss == "interpolate":
        # a feasible master from the start: with neuron biases the cells of neurons
        # that interpolate anything; without, every cell (2n of them at d = 2, about
        # n^2 at d = 3)
        if prob.bias:
            cells.add(*neuron_patterns(prob.A, _step_neurons(prob)))
        else:
            cells.add(enumerate_cells(prob.X, bias=False, witnesses=False).patterns)
    rounds, best = 0, None
    while True:
        rounds += 1
        with ctx.timed("master"):
            value, gap, solution, sizes = solve_in_child(
                cell_program_cvxpy, (prob, cells.patterns),
                {"penalty": "l2", "duals": True, "rows": cells.rows},
                ctx.remaining("solving the restricted cell program"), ctx.verbose,
                inaccurate_ok=True)     # the exact pricing of its multiplier judges it
        thetas, signs, free, raw = solution
        lam = project_multiplier(prob, raw)
        scores, dirs, _ = pricer(lam, k_add)
        M = float(np.abs(scores[0])) if len(scores) else 0.0
        bound = dual_bound(prob, lam, pricer, project=False, source="cells").lower
        if best is None or bound > best[0]:
            # the raw multiplier: the certificate projects it again, bit for bit the
            # same, and the pricer answers from this pass
            best = (bound, raw)
        ctx.log(f"l2 colgen cell round {rounds}: cell program {value:.12g}, max score/beta "
                f"{M / beta:.12g}, bound {bound:.12g}, {len(cells)} cells")
        if M <= thresh or value - best[0] <= 0.25e-6 * max(1.0, abs(value)):
            break
        if rounds >= _MAX_ROUNDS:
            break
        # drop cells the master does not use, then add the cells of the best neurons
        P = len(cells)
        nrm = np.linalg.norm(thetas[:, :prob.d], axis=1)
        floor = _DROP_RTOL * max(float(nrm.max(initial=0.0)), 1e-300)
        used = (nrm[:P] > floor) | (nrm[P:] > floor)
        added = cells.add(*neuron_patterns(prob.A, dirs[np.abs(scores) > thresh]))
        if added == 0:
            break        # only cells already present price out: round-off of the master
        if not used.all():
            cells.keep(np.r_[used, np.ones(len(cells) - P, dtype=bool)])
            ctx.count("dropped_cells", int((~used).sum()))
    ctx.record(**sizes)     # rows, columns and cells of the last master
    ctx.record(cell_rows=cells.n_rows, cell_rounds=rounds, cell_objective=value,
               exact_pricing_passes=strategy.exact_passes + rounds,
               rays_priced=pricer.n_priced // max(pricer.calls, 1))
    ctx.timings["facets"] = cells.seconds
    rp = sparse_refit(prob, thetas, signs, free, "l2", ctx)
    return MethodResult(rp, pricer, [("cells", best[1])], program_objective=value)


def _column_phase(prob, ctx, strategy, k_add):
    """Column generation over neurons of unit ``||w||_2`` (the ray program with l2
    columns) while it converges fast: until the pricing maximum is within
    :data:`COLUMN_PHASE_RTOL` of beta, the restricted QP fails, or nothing new prices
    out. Returns ``(rp, None)`` when it certified the optimum by itself, else
    ``(None, seeds)``: the active and the best priced neurons, whose cells start the
    cell master."""
    empty = np.zeros((0, prob.D))
    if prob.loss == "interpolate" and not prob.bias:
        return None, empty        # every cell is cheap here (2n), and phase 1 is not
    beta = prob.beta
    thresh = beta * (1.0 + PRICE_RTOL)
    rp = RayProgram(prob)
    if prob.loss == "interpolate":
        rp.add_both_signs(_step_neurons(prob))
    found = strategy(zero_neuron_multiplier(prob), 2 * k_add, 0.0)
    add_priced(prob, rp, *found.above(0.0))
    seeds = found.dirs
    rounds = 0
    while rounds < _COLUMN_PHASE_ROUNDS:
        rounds += 1
        try:
            rp.run(ctx.remaining("column generation"), what="the restricted l2 program")
        except SolverError:
            break       # degenerate near-parallel columns: the cell master takes over
        active = rp.dirs[rp.neuron_weights() != 0]
        found = strategy(project_multiplier(prob, rp.lam), k_add, thresh, active)
        seeds = np.vstack([active, found.dirs])
        ctx.log(f"l2 colgen column round {rounds}: objective {rp.objective:.12g}, "
                f"max score/beta {found.max_abs / beta:.12g} "
                f"({'exact' if found.exact else 'pool'}), {rp.n_neuron_columns} columns")
        if found.exact and found.max_abs <= thresh:
            ctx.record(column_rounds=rounds, rounds=rounds)
            return rp, None
        if found.exact and found.max_abs <= beta * (1.0 + COLUMN_PHASE_RTOL):
            break
        drop_inactive_columns(prob, rp, ctx)
        if add_priced(prob, rp, *found.above(thresh)) == 0 and found.exact:
            break
    ctx.record(column_rounds=rounds)
    return None, seeds


def _step_neurons(prob):
    """``relu(u . x - t)`` neurons with knots at every point along a direction that
    separates them (unit ``||w||_2``): an interpolating set of cells."""
    start = interpolating_start(prob, "l2")
    return np.zeros((0, prob.D)) if start is None else start
