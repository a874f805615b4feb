"""Method ``"colgen"``: column generation with exact pricing (docs/design.md section 4).

A restricted LP/QP over a few rays grows by the best-priced rays of the refined
arrangement until no ray prices out; the last (exact) pricing pass certifies the
optimum. Pricing follows :class:`~exactrelu.pricing.PoolThenExact`.
"""

from __future__ import annotations

import numpy as np

from ..certificate import project_multiplier, zero_neuron_multiplier
from ..cone_pricing import ConePricer
from ..pricing import CandidatePool, ExactPricer, PoolThenExact, check_pricing_size
from ..programs import RayProgram
from .base import MethodResult, add_priced, find_feasible_columns

__all__ = ["solve_colgen", "exact_strategy", "interpolating_start", "drop_inactive_columns",
           "PRICE_RTOL"]

#: Column generation stops when ``max |lam . phi| <= beta * (1 + PRICE_RTOL)``.
PRICE_RTOL = 1e-9
#: An LP restricted program is pruned of inactive columns only beyond this many
#: columns per data row (pruning costs warm-start quality and extra rounds).
LP_DROP_FACTOR = 20


def exact_strategy(prob, ctx, penalty="l1"):
    """The exact pricer of ``penalty`` and the strategy that asks pools first.

    l1: rays of the refined arrangement (:class:`~exactrelu.pricing.ExactPricer`);
    l2 (weight decay, d = 2, 3): angular sweeps (:class:`~exactrelu.cone_pricing.ConePricer`),
    whose candidate pool is filled with the best neurons of every anchor; for d = 1
    both norms agree and the l1 pricer is used.
    """
    if penalty == "l2" and prob.d >= 2:
        exact = ConePricer(prob, max_events=ctx.max_rays)
        return exact, PoolThenExact(exact, None, CandidatePool(prob))
    rays_bound = check_pricing_size(prob, ctx.max_rays, "method='colgen'")
    exact = ExactPricer(prob, progress=ctx.progress)
    return exact, PoolThenExact.for_problem(prob, exact, rays_bound)


def solve_colgen(prob, ctx, k_add=None, penalty="l1"):
    """Column generation for the l1 path norm, or for weight decay (``penalty="l2"``,
    d <= 3): the columns are then neurons with ``||w||_2 = 1``, of cost ``beta``."""
    exact, strategy = exact_strategy(prob, ctx, penalty)
    n = prob.n
    if k_add is None:
        k_add = int(np.clip(n // 4, 10, 100))
    k_price = 2 * k_add if prob.skip else k_add
    phase1 = prob.loss == "interpolate"
    start = interpolating_start(prob, penalty) if phase1 else None
    if start is not None:
        phase1 = False    # a feasible restricted program from the start: no phase 1
    rp = RayProgram(prob, phase1=phase1, verbose=ctx.verbose)
    if start is not None:
        rp.add_both_signs(start)

    def anchors():   # the pool searches around the active columns
        return rp.dirs[rp.neuron_weights() != 0] if rp.solved else rp.dirs

    def price(lam, k, thresh, force_exact=False):
        return strategy(lam, k, thresh, anchors, force_exact=force_exact)

    found = price(zero_neuron_multiplier(prob), 2 * k_price, 0.0)
    add_priced(prob, rp, *found.above(0.0))
    if phase1:
        find_feasible_columns(prob, rp, price, ctx, k_price, lambda lam: exact.max_abs(lam)[0])
    beta = prob.beta
    thresh = beta * (1.0 + PRICE_RTOL)
    rounds = 0
    force_exact = False
    while True:
        rp.run(ctx.remaining("column generation"), what="the restricted ray program")
        ctx.remaining("column generation")
        # the certificate projects the program's multiplier the same way: its exact
        # pass is then the last one of this loop, answered without a new walk
        found = price(project_multiplier(prob, rp.lam), k_price, thresh, force_exact)
        force_exact = False
        M = found.max_abs
        rounds += 1
        ctx.log(f"colgen round {rounds}: objective {rp.objective:.12g}, "
                f"max|lam.phi|/beta = {M / beta:.12g} ({'all rays' if found.exact else 'pool'}), "
                f"{rp.n_neuron_columns} columns")
        if found.exact and M <= thresh:
            break
        drop_inactive_columns(prob, rp, ctx)
        if add_priced(prob, rp, *found.above(thresh)) == 0:
            if not found.exact:   # the pool only re-found present columns: ask the exact pass
                force_exact = True
                continue
            break  # only columns already present price out: round-off; the bound says how much
    ctx.record(rounds=rounds, exact_pricing_passes=strategy.exact_passes,
               pool_pricing_passes=strategy.pool_passes,
               rays_priced=exact.n_priced // max(exact.calls, 1))
    return MethodResult(rp, exact, [("program", rp.lam)])


def drop_inactive_columns(prob, rp, ctx):
    """Keep the restricted program small before new columns join: a QP is re-solved
    from scratch each round (its cost grows with the columns), an LP warm-starts and
    is pruned only beyond LP_DROP_FACTOR columns per data row."""
    if prob.loss == "squared" or rp.n_neuron_columns > LP_DROP_FACTOR * prob.n:
        ctx.count("dropped", rp.drop_inactive())


def interpolating_start(prob, penalty="l1"):
    """Neurons that interpolate any targets (with neuron biases): along a direction u
    that separates the distinct points, ``c + sum_k a_k relu(u.x - t_k)`` with knots
    at the sorted projections is a triangular system. Returns the neuron directions
    (unit ``penalty`` norm of ``u``), or ``None`` when no tried direction separates the
    points."""
    if not prob.bias:
        return None
    Xu = np.unique(prob.X, axis=0)
    if Xu.shape[0] < 2:
        return np.zeros((0, prob.D))
    rng = np.random.default_rng(12345)
    span = float(np.abs(Xu).max()) or 1.0
    for trial in range(20):
        u = np.eye(prob.d)[0] if trial == 0 and prob.d == 1 else rng.normal(size=prob.d)
        u /= np.linalg.norm(u, ord=1 if penalty == "l1" else 2)
        p = np.sort(Xu @ u)
        if np.min(np.diff(p)) > 1e-7 * span:
            knots = p[:-1]
            return np.hstack([np.broadcast_to(u, (len(knots), prob.d)), -knots[:, None]])
    return None
