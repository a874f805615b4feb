"""Method ``"bracket"``: the best network column generation can find without the
arrangement, and a certified lower bound (docs/design.md section 10).

The restricted program starts from the neurons of a network trained by Adam on
the same objective (so the bracket's network is never worse than that one's).
Pricing is heuristic (random rays of the refined arrangement, then hill climbing
over adjacent rays: one hyperplane through the ray swapped for another) until it
finds nothing above ``beta`` (and every MIP_EVERY rounds, and in the last part of
the budget); then a valid upper bound on the pricing maximum, with a node limit that
doubles each time it is asked: the simplicial branch and bound
(:class:`~exactrelu.simplicial.SimplicialBound`) at ``d <= SIMPLICIAL_MAX_D``, else a
MIP (:class:`~exactrelu.mip.PricingMIP`); both are called "the MIP" below.
Its incumbents are new columns when they price out; its bound turns the multiplier
into a valid lower bound at any time (:func:`~exactrelu.certificate.dual_bound`),
the best of which is kept. The method stops when the bracket is closed to the
certification tolerance, when the MIP proves that nothing prices out, or when the
budget is spent; it never raises TimeLimitError. The budget is spent by estimated
seconds computed from counts (columns, rays priced, MIP nodes), so the same input and
time_limit give the same network on any machine; the wall clock at time_limit is a
cap (a MIP it stops, and so the bound, can then differ between runs). Nothing here
enumerates or walks the arrangement.
"""

from __future__ import annotations

import time

import numpy as np

from .._progress import tracking
from ..certificate import dual_bound, project_multiplier, zero_neuron_multiplier
from ..columns import line_keys
from ..errors import NotSupportedError, TimeLimitError
from ..pricing import PoolPricer, Priced
from ..programs import RayProgram
from ..simplicial import SimplicialBound, pricing_bound
from .base import MethodResult, add_priced
from .colgen import PRICE_RTOL, drop_inactive_columns, interpolating_start

__all__ = ["solve_bracket", "BRACKET_TIME_LIMIT", "BRACKET_RTOL"]

#: Seconds a bracket may take when ``solve`` is given no ``time_limit``.
BRACKET_TIME_LIMIT = 300.0
#: The bracket stops as closed at this relative gap (half the certification
#: tolerance of :func:`exactrelu.solve`, which then calls it certified).
BRACKET_RTOL = 5e-7
#: The first MIP may search this many branch-and-bound nodes (both signs together);
#: each later one twice as many, within what is left of the budget.
MIP_FIRST_NODES = 200
#: The same for the simplicial search (d <= SIMPLICIAL_MAX_D), in simplices.
SIMPLICIAL_FIRST_NODES = 20_000
#: The budget is spent by *estimated* seconds of each step, computed from counts
#: (columns, rays priced, MIP nodes), not from the clock, so that the same input and
#: time_limit stop at the same point on any machine; this share of time_limit is
#: budgeted, and the wall clock at time_limit is only a cap. Seconds per step
#: (measured on 2-core machines): the master per data row and column, the heuristic
#: per ray and (n + D^2), a MIP node per (n + d)^2 (a node's LPs have n rows and
#: about n columns: 17 ms at diabetes, 442 x 10) but at least MIP_NODE_FLOOR (a
#: node's fixed cost, strong branching and cuts: 2-10 ms measured at n = 15-80, where
#: the first term is a tenth of a millisecond), and a MIP's root as MIP_ROOT_NODES
#: nodes.
WORK_SHARE = 0.7
MASTER_SECONDS = 2e-7
HEURISTIC_SECONDS = 2.5e-7
MIP_NODE_SECONDS = 8e-8
MIP_NODE_FLOOR = 3e-3
MIP_ROOT_NODES = 50
#: Besides when the heuristic runs dry, the MIP bound runs every this many rounds ...
MIP_EVERY = 10
#: ... and with everything that is left once this share of the budget remains.
BOUND_RESERVE = 0.3
#: The bracket starts from the neurons of one network trained by Adam (width n / 4
#: within 8-64) for at most SGD_STEPS steps and at most SGD_SHARE of the budget;
#: not at all when fewer than SGD_MIN_STEPS fit.
SGD_STEPS = 2000
SGD_MIN_STEPS = 200
SGD_SHARE = 0.35
#: Integer sample weights (counts of merged equal samples) are trained as repeated
#: samples when they total at most this many times the distinct samples.
SGD_MAX_REPEAT = 8
#: Estimated seconds of Adam per sample, neuron and step.
SGD_SECONDS = 3e-7
#: Rounds of hill climbing (adjacent rays of the best rays found) per pricing call.
CLIMB_ROUNDS = 4
#: The heuristic pool's size: about this many entries of data times the D^2 of a
#: ray's small SVD per call.
HEURISTIC_ENTRIES = 5_000_000


class _Work:
    """The bracket's budget in estimated seconds, from counts (see WORK_SHARE)."""

    def __init__(self, prob, seconds):
        self.n, self.d, self.D = prob.n, prob.d, prob.D
        self.budget = WORK_SHARE * max(float(seconds), 0.0)
        self.used = 0.0
        self.simplicial = None     # the bound's engine when it is the simplicial search

    def master(self, columns):
        self.used += MASTER_SECONDS * self.n * max(int(columns), 1)

    def heuristic(self, rays):
        self.used += HEURISTIC_SECONDS * int(rays) * (self.n + self.D * self.D)

    def node_seconds(self):
        if self.simplicial is not None:
            return self.simplicial.node_seconds()
        return max(MIP_NODE_SECONDS * (self.n + self.d) ** 2, MIP_NODE_FLOOR)

    def root_nodes(self):
        return 0 if self.simplicial is not None else 2 * MIP_ROOT_NODES

    def mip(self, nodes):
        self.used += self.node_seconds() * (int(nodes) + self.root_nodes())

    def mip_nodes_left(self):
        return max(0, int(self.left() / self.node_seconds()) - self.root_nodes())

    def left(self):
        return self.budget - self.used


class _KnownMax:
    """A "pricer" that answers with a known upper bound on the pricing maximum."""

    def __init__(self, value):
        self.value = float(value)

    def max_abs(self, lam):
        return self.value, 0


class HeuristicPricer:
    """Random rays of the refined arrangement, then hill climbing over adjacent rays
    from the best of them and from the anchors; never a certificate.

    The pool is sized so that one call costs about ``HEURISTIC_ENTRIES`` matrix
    entries; climbing stops at ``deadline`` (a ``time.perf_counter()`` value).
    """

    def __init__(self, prob, seed=0, deadline=None):
        self.prob = prob
        self.pool = PoolPricer(prob, seed=seed, max_entries=HEURISTIC_ENTRIES)
        self.pool.max_pool = max(200, HEURISTIC_ENTRIES // (prob.n * prob.D ** 2))
        self.pool.n_random = self.pool.max_pool // 4
        self.deadline = deadline
        self.calls = 0

    def __call__(self, lam, k, anchors):
        self.calls += 1
        scores, dirs, _ = self.pool(lam, k, anchors)
        best = float(np.abs(scores[0])) if len(scores) else 0.0
        for _ in range(CLIMB_ROUNDS):
            if self.deadline is not None and time.perf_counter() > self.deadline:
                break
            # climb from the best few found so far, without the random part
            n_random, self.pool.n_random = self.pool.n_random, 0
            try:
                s2, d2, _ = self.pool(lam, k, dirs[:max(1, min(8, len(dirs)))])
            finally:
                self.pool.n_random = n_random
            if not len(s2) or float(np.abs(s2[0])) <= best * (1 + 1e-12):
                break
            scores, dirs = _merge(scores, dirs, s2, d2, k)
            best = float(np.abs(scores[0]))
        return Priced(scores, dirs, False)


def _merge(s1, d1, s2, d2, k):
    s = np.concatenate([s1, s2])
    d = np.vstack([d1, d2])
    _, first = np.unique(line_keys(d) if len(d) else np.zeros(0), return_index=True)
    first = np.sort(first)
    s, d = s[first], d[first]
    order = np.argsort(-np.abs(s), kind="stable")[:k]
    return s[order], d[order]


def solve_bracket(prob, ctx, k_add=None):
    """The bracket's driver (see the module docstring); progress shows the seconds of
    the budget spent (``"solve: bracket: budget"``)."""
    with tracking(ctx.progress, "bracket") as report:
        return _bracket(prob, ctx, k_add, report)


def _bracket(prob, ctx, k_add, report):
    t_end = ctx.deadline.end
    if t_end is None:   # solve() gives the bracket a budget; a direct call gets the default
        t_end = time.perf_counter() + BRACKET_TIME_LIMIT
    n = prob.n
    k_add = int(np.clip(n // 4, 10, 100)) if k_add is None else k_add
    rp_start = None
    if prob.loss == "interpolate":
        rp_start = interpolating_start(prob)
        if rp_start is None:
            raise NotSupportedError(
                "method='bracket' interpolates with neuron biases only (bias=True); without "
                "them use method='colgen' (exact)")
    rp = RayProgram(prob, verbose=ctx.verbose)
    if rp_start is not None:
        rp.add_both_signs(rp_start)
    heuristic = HeuristicPricer(prob)
    # the budget is the time limit itself, not what the clock says is left of it: the
    # seconds spent before this point (first imports, the size estimate) vary from call
    # to call, and would make the same input stop at different points
    limit = ctx.deadline.limit
    work = _Work(prob, BRACKET_TIME_LIMIT if limit is None else float(limit))
    mip = pricing_bound(prob, threads=prob.threads)
    extra = {}      # what only the simplicial search takes
    if isinstance(mip, SimplicialBound):
        work.simplicial = mip
        mip_nodes = SIMPLICIAL_FIRST_NODES
    else:
        mip_nodes = MIP_FIRST_NODES
    beta = prob.beta
    thresh = beta * (1.0 + PRICE_RTOL)
    # the simplicial search need not split below this: M_up = beta (1 + BRACKET_RTOL / 4)
    # already leaves a gap within BRACKET_RTOL (the dual value moves by about that
    # fraction of the objective), and the last decades of tolerance cost the most
    if work.simplicial is not None:
        extra = {"target": beta * (1.0 + BRACKET_RTOL / 4), "top_k": k_add}
    found = heuristic(zero_neuron_multiplier(prob), 2 * k_add, np.zeros((0, prob.D)))
    work.heuristic(heuristic.pool.n_priced)
    add_priced(prob, rp, *found.above(0.0))
    seeded = _sgd_columns(prob, work)
    if seeded is not None:     # the master can then do at least as well as that network
        rp.add(*seeded)

    def wall_left():
        return t_end - time.perf_counter()

    # every objective is >= 0: 0 is a valid lower bound before any MIP has run
    best_lower, best_lam, good = 0.0, None, None
    rounds = mip_calls = 0
    proven = stalled = False
    last_mip_round = 0
    t_start = time.perf_counter()
    history = []    # (seconds, objective, lower bound) after each bound
    while True:
        try:
            rp.run(max(1e-3, wall_left()), what="the restricted ray program")
        except TimeLimitError:
            # the wall clock ran out within the master: finish this one solve (a
            # bounded overrun) rather than return no network
            rp.run(None, what="the restricted ray program")
            good = rp
            break
        work.master(rp.n_neuron_columns)
        good = rp
        rounds += 1
        if report is not None:
            report("budget", int(min(work.budget, work.used) * 1000),
                   int(work.budget * 1000))
        objective = float(rp.objective)
        lam = project_multiplier(prob, rp.lam)
        if work.left() <= 0 or wall_left() <= 0.05:
            break
        before = heuristic.pool.n_priced
        found = heuristic(lam, k_add, rp.dirs[rp.neuron_weights() != 0])
        work.heuristic(heuristic.pool.n_priced - before)
        ctx.log(f"bracket round {rounds}: objective {objective:.12g}, heuristic max "
                f"{found.max_abs / beta:.6g} beta, {rp.n_neuron_columns} columns, "
                f"{work.left():.1f} s of work left")
        # the bound runs when the heuristic is dry, every MIP_EVERY rounds, and with
        # everything left once the reserved share of the budget is reached
        in_reserve = work.left() <= BOUND_RESERVE * work.budget
        dry = found.max_abs <= thresh
        if not (dry or in_reserve or rounds - last_mip_round >= MIP_EVERY):
            drop_inactive_columns(prob, rp, ctx)
            if add_priced(prob, rp, *found.above(thresh)):
                stalled = False
            continue
        # a bound that found no new column leaves the same multiplier: the next search
        # would start over on it, so it gets everything left instead of twice as much
        nodes = (work.mip_nodes_left() if in_reserve or stalled
                 else min(mip_nodes, work.mip_nodes_left()))
        # the program's own neurons start the search too: at the master's optimum they
        # score beta exactly, the incumbent that lets the search prune near-optimal nodes
        active = rp.dirs[rp.neuron_weights() != 0]
        res = mip.bound(lam, max(0.05, wall_left()),
                        incumbents=np.vstack([found.dirs[:k_add], active]),
                        node_limit=max(2, nodes), **extra)
        work.mip(res.nodes)
        mip_calls += 1
        last_mip_round = rounds
        mip_nodes *= 2
        db = dual_bound(prob, lam, _KnownMax(res.upper), project=False, source="bracket")
        if db.lower > best_lower:
            best_lower, best_lam = db.lower, db.multipliers
        history.append((time.perf_counter() - t_start, objective, best_lower))
        ctx.log(f"bracket round {rounds}: lower bound {best_lower:.12g}, MIP max "
                f"{res.best / beta:.6g} <= {res.upper / beta:.6g} beta "
                f"({'proven' if res.proven else 'stopped'}, {res.nodes} nodes, "
                f"{res.seconds:.1f} s)")
        if objective - best_lower <= BRACKET_RTOL * max(1.0, abs(objective)):
            break
        if res.proven and res.upper <= thresh:
            proven = True
            break
        scores, dirs = found.above(thresh)
        if res.direction is not None and res.best > thresh:
            scores, dirs = np.r_[res.score, scores], np.vstack([res.direction, dirs])
        if res.rays is not None:    # the simplicial search's other good rays
            good_rays = np.abs(res.ray_scores) > thresh
            scores = np.r_[scores, res.ray_scores[good_rays]]
            dirs = np.vstack([dirs, res.rays[good_rays]])
        drop_inactive_columns(prob, rp, ctx)
        stalled = add_priced(prob, rp, scores, dirs) == 0
        if stalled and (in_reserve or work.left() <= 0):
            break
    ctx.record(rounds=rounds, mip_calls=mip_calls, mip_seconds=mip.seconds,
               heuristic_calls=heuristic.calls, bracket_proven=proven,
               bracket_history=history)
    return MethodResult(good, None, [], True, lower_bound=best_lower, dual=best_lam)


def _sgd_columns(prob, work):
    """``(directions, signs)`` of the neurons of one network trained by Adam on the
    same objective, or None when it does not apply (interpolation; sample weights
    other than counts of repeated samples) or even SGD_MIN_STEPS would cost more than
    SGD_SHARE of the budget. The steps (at most SGD_STEPS) are set from the budget and
    the sizes, not the clock."""
    if prob.loss == "interpolate":
        return None
    X, y = prob.X, prob.y
    if prob.weight is not None:     # counts (merged equal samples): train on the repeats
        w = prob.weight
        if np.any(w != np.round(w)) or w.sum() > SGD_MAX_REPEAT * prob.n:
            return None
        X, y = np.repeat(X, w.astype(int), axis=0), np.repeat(y, w.astype(int), axis=0)
    n = X.shape[0]
    width = int(np.clip(n // 4, 8, 64))
    per_step = SGD_SECONDS * n * width
    steps = int(min(SGD_STEPS, SGD_SHARE * work.budget / per_step))
    if steps < SGD_MIN_STEPS:
        return None
    work.used += per_step * steps
    from ..sgd import train

    net, _ = train(X, y, width=width, loss=prob.loss, beta=prob.beta,
                   bias=prob.bias, skip=prob.skip, steps=steps, seed=0)
    dirs = np.hstack([net.W, net.b[:, None]]) if prob.bias else np.asarray(net.W)
    nrm = np.abs(net.W).sum(axis=1)
    with np.errstate(invalid="ignore", over="ignore"):
        keep = (nrm > 0) & (net.a != 0) & np.all(np.isfinite(dirs), axis=1) & np.isfinite(nrm)
    if not keep.any():
        return None
    dirs = dirs[keep] / nrm[keep, None]
    if prob.bias:
        # beyond |b| = max |x_ij| a neuron is constant or affine on the data: the same
        # column as at |b| = R up to the free output bias (and far better conditioned)
        R = float(np.abs(prob.X).max(initial=0.0))
        dirs[:, -1] = np.clip(dirs[:, -1], -R, R)
    return dirs, np.sign(net.a[keep])

