"""Method ``"bracket"``: the best network column generation can find without the
arrangement, and a certified lower bound (docs/design.md section 10).

The restricted program starts from the neurons of a network trained by Adam on
the same objective (so the bracket's network is never worse than that one's).
Pricing is heuristic (random rays of the refined arrangement, then hill climbing
over adjacent rays: one hyperplane through the ray swapped for another) until it
finds nothing above ``beta``; then a MIP (:class:`~exactrelu.mip.PricingMIP`) bounds
the pricing maximum from above, with a time budget that grows each time it is asked.
Its incumbent is a new column when it prices out; its bound turns the multiplier
into a valid lower bound at any time (:func:`~exactrelu.certificate.dual_bound`),
the best of which is kept. The method stops when the bracket is closed to the
certification tolerance, when the MIP proves that nothing prices out, or when the
budget is spent; it never raises TimeLimitError once it has a network. Nothing here
enumerates or walks the arrangement.
"""

from __future__ import annotations

import time

import numpy as np

from .._progress import tracking
from ..certificate import dual_bound, project_multiplier, zero_neuron_multiplier
from ..columns import line_keys
from ..errors import NotSupportedError, TimeLimitError
from ..mip import PricingMIP
from ..pricing import PoolPricer, Priced
from ..programs import RayProgram
from .base import MethodResult, add_priced
from .colgen import PRICE_RTOL, interpolating_start

__all__ = ["solve_bracket", "BRACKET_TIME_LIMIT", "BRACKET_RTOL"]

#: Seconds a bracket may take when ``solve`` is given no ``time_limit``.
BRACKET_TIME_LIMIT = 300.0
#: The bracket stops as closed at this relative gap (half the certification
#: tolerance of :func:`exactrelu.solve`, which then calls it certified).
BRACKET_RTOL = 5e-7
#: The first MIP gets this many seconds (at most a quarter of the budget); each
#: later one twice as long as the one before, within what is left.
FIRST_MIP_SECONDS = 2.0
#: Besides when the heuristic runs dry, the MIP bound runs every this many rounds ...
MIP_EVERY = 10
#: ... and with everything that is left once this share of the budget remains.
BOUND_RESERVE = 0.3
#: The bracket starts from the neurons of one network trained by Adam for this many
#: steps (width n / 4, within 8-128), unless that is more than SGD_MAX_WORK
#: (n x width x steps).
SGD_STEPS = 2000
SGD_MAX_WORK = 2_000_000_000
#: Rounds of hill climbing (adjacent rays of the best rays found) per pricing call.
CLIMB_ROUNDS = 4
#: The heuristic pool's size: about this many entries of data times the D^2 of a
#: ray's small SVD per call.
HEURISTIC_ENTRIES = 20_000_000


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
    heuristic = HeuristicPricer(prob, deadline=t_end)
    mip = PricingMIP(prob)
    beta = prob.beta
    thresh = beta * (1.0 + PRICE_RTOL)
    found = heuristic(zero_neuron_multiplier(prob), 2 * k_add, np.zeros((0, prob.D)))
    add_priced(prob, rp, *found.above(0.0))
    seeded = _sgd_columns(prob)
    if seeded is not None:     # the master can then do at least as well as that network
        rp.add(*seeded)

    def left():
        return t_end - time.perf_counter()

    # every objective is >= 0: 0 is a valid lower bound before any MIP has run
    best_lower, best_lam, good = 0.0, None, None
    mip_seconds = min(FIRST_MIP_SECONDS, max(0.05, 0.25 * left()))
    rounds = mip_calls = 0
    proven = False
    last_master = 0.0
    total = max(left(), 1e-3)
    last_mip_round = 0
    t_start = time.perf_counter()
    history = []    # (seconds, objective, lower bound) after each bound
    while True:
        t0 = time.perf_counter()
        try:
            rp.run(max(1e-3, left()), what="the restricted ray program")
        except TimeLimitError:
            if good is None:
                raise
            # the budget ran out within the master after new columns: finish this one
            # solve (a bounded overrun) rather than lose the network
            rp.run(None, what="the restricted ray program")
            break
        last_master = time.perf_counter() - t0
        good = rp
        rounds += 1
        if report is not None:
            report("budget", int(min(total, time.perf_counter() - t_start)), int(total))
        objective = float(rp.objective)
        lam = project_multiplier(prob, rp.lam)
        if left() <= 2 * last_master + 0.05:
            break
        found = heuristic(lam, k_add, rp.dirs[rp.neuron_weights() != 0])
        ctx.log(f"bracket round {rounds}: objective {objective:.12g}, heuristic max "
                f"{found.max_abs / beta:.6g} beta, {rp.n_neuron_columns} columns, "
                f"{left():.1f} s left")
        # the bound runs when the heuristic is dry, every MIP_EVERY rounds, and once
        # the reserved share of the budget is reached (with all that is left)
        in_reserve = left() <= BOUND_RESERVE * total
        dry = found.max_abs <= thresh
        if not (dry or in_reserve or rounds - last_mip_round >= MIP_EVERY):
            _drop(prob, rp, ctx)
            add_priced(prob, rp, *found.above(thresh))
            continue
        budget = left() - 2 * last_master - 0.05 if in_reserve else mip_seconds
        budget = min(budget, max(0.05, left() - 2 * last_master - 0.05))
        res = mip.bound(lam, budget, incumbents=found.dirs[:k_add])
        mip_calls += 1
        last_mip_round = rounds
        mip_seconds = 2 * mip_seconds
        db = dual_bound(prob, lam, _KnownMax(res.upper), project=False, source="bracket")
        if db.lower > best_lower:
            best_lower, best_lam = db.lower, db.multipliers
        history.append((time.perf_counter() - t_start, objective, best_lower))
        ctx.log(f"bracket round {rounds}: lower bound {best_lower:.12g}, MIP max "
                f"{res.best / beta:.6g} <= {res.upper / beta:.6g} beta "
                f"({'proven' if res.proven else 'time limit'}, {res.seconds:.1f} s)")
        if objective - best_lower <= BRACKET_RTOL * max(1.0, abs(objective)):
            break
        if res.proven and res.upper <= thresh:
            proven = True
            break
        scores, dirs = found.above(thresh)
        if res.direction is not None and res.best > thresh:
            scores, dirs = np.r_[res.score, scores], np.vstack([res.direction, dirs])
        _drop(prob, rp, ctx)
        if add_priced(prob, rp, scores, dirs) == 0 and (in_reserve or left() <= 0.1):
            break
    ctx.record(rounds=rounds, mip_calls=mip_calls, mip_seconds=mip.seconds,
               heuristic_calls=heuristic.calls, bracket_proven=proven,
               bracket_history=history)
    return MethodResult(good, None, [], True, lower_bound=best_lower, dual=best_lam)


def _sgd_columns(prob):
    """``(directions, signs)`` of the neurons of one network trained by Adam on the
    same objective (a fixed number of steps: deterministic), or None when that would
    cost more than :data:`SGD_MAX_WORK` or does not apply (sample weights,
    interpolation)."""
    if prob.weight is not None or prob.loss == "interpolate":
        return None
    width = int(np.clip(prob.n // 4, 8, 128))
    if prob.n * width * SGD_STEPS > SGD_MAX_WORK:
        return None
    from ..sgd import train

    net, _ = train(prob.X, prob.y, width=width, loss=prob.loss, beta=prob.beta,
                   bias=prob.bias, skip=prob.skip, steps=SGD_STEPS, seed=0)
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


def _drop(prob, rp, ctx):
    if prob.loss == "squared" or rp.n_neuron_columns > 20 * prob.n:
        ctx.count("dropped", rp.drop_inactive())
