"""What every method driver returns, and the steps the ray-program drivers share."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..columns import canonical_orientation
from ..errors import InfeasibleError, NumericalError

__all__ = ["MethodResult", "add_priced", "find_feasible_columns"]


@dataclass
class MethodResult:
    """The outcome of one method driver.

    Attributes
    ----------
    program : RayProgram
        The solved ray program the network is read from (for the cell methods: the
        LP that sparsifies the cell solution).
    pricer : ExactPricer or MatrixPricer or None
        Exact pricing for the certificate (``None``: the l2 penalty, certified by the
        cone program's own duality gap).
    multipliers : list of (str, ndarray)
        Candidate multipliers for the certificate, with where they came from.
    complete : bool
        False when the program was restricted (``patterns=``): no certificate.
    lower_bound : float
        A lower bound known from the method itself (the l2 cone program), else nan.
    program_objective : float or None
        The optimum of the program the method solved (``None``: ``program``'s own).
    dual : ndarray or None
        The multiplier that proves ``lower_bound`` (the bracket), when known.
    """

    program: object
    pricer: object = None
    multipliers: list = field(default_factory=list)
    complete: bool = True
    lower_bound: float = float("nan")
    program_objective: float | None = None
    dual: np.ndarray | None = None


def add_priced(prob, rp, scores, dirs):
    """Add priced rays as columns with the sign of their score; returns how many."""
    if len(scores) == 0:
        return 0
    if prob.skip:
        # with skip, relu(-z) = relu(z) - z and A^T lam = 0 (the free c0 and s): the
        # opposite direction has the same score, so one orientation per line suffices
        return rp.add(canonical_orientation(dirs), np.sign(scores))
    return rp.add(dirs, np.sign(scores))


#: A Farkas multiplier is accepted when its largest score over every ray is below
#: this fraction of ``lam . y`` (per unit of the data's magnitude).
FARKAS_RTOL = 1e-9


def _refuse_interpolation(prob, lam, misfit, verify):
    """Raise InfeasibleError only for a checked Farkas certificate, else NumericalError.

    With neuron biases distinct inputs can always be interpolated (and equal inputs
    with different targets were refused before): a failed phase 1 is then numerical.
    Without biases ``lam`` must be orthogonal to the free terms and, by exact pricing
    (``verify(lam) -> max_t |lam . phi_t|``), to every ray's column, with ``lam . y > 0``.
    """
    E = prob.equality_matrix()
    lam = lam - E @ np.linalg.lstsq(E, lam, rcond=None)[0]
    gain = float(lam @ prob.y)
    scale = float(np.abs(lam).sum()) * max(float(np.abs(prob.A).max()), 1e-300)
    if not prob.bias and gain > 0 and verify(lam) <= FARKAS_RTOL * gain / max(
            float(np.abs(prob.y).max()), 1e-300) * scale:
        rows = np.flatnonzero(np.abs(lam) > 1e-9 * max(np.abs(lam).max(), 1e-300)).tolist()
        raise InfeasibleError(
            "no network interpolates the data (a Farkas certificate was found and checked "
            f"against every ray: the minimum total misfit is {misfit:.3g}); offending rows: "
            f"{rows}", status="infeasible", rows=rows)
    why = ("distinct inputs can always be interpolated with neuron biases" if prob.bias
           else "no Farkas certificate of infeasibility was confirmed")
    raise NumericalError(
        f"interpolation failed numerically (the restricted program kept a misfit of "
        f"{misfit:.3g}), although {why}; the data may be too ill-conditioned for double "
        f"precision")


def find_feasible_columns(prob, rp, price, ctx, k_add, verify):
    """Phase 1 of interpolation: grow columns until the misfit is 0, or prove infeasible.

    ``price(lam, k, thresh, force_exact=False)`` returns a
    :class:`~exactrelu.pricing.Priced`; ``None`` means ``rp`` holds every column.
    ``verify(lam)`` is ``max_t |lam . phi_t|`` over every ray, by exact pricing.
    """
    tol = 1e-9 * max(1.0, float(np.abs(prob.y).max()))
    rounds = 0
    while True:
        rp.run(ctx.remaining("solving the phase-1 LP"), what="the phase-1 LP")
        misfit = rp.phase1_misfit()
        ctx.log(f"phase 1 round {rounds}: misfit {misfit:.3e}, {rp.n_neuron_columns} columns")
        if misfit <= tol:
            break
        lam = rp.lam
        eps = 1e-9 * max(1.0, float(np.abs(lam).max()))
        added = 0
        if price is not None:
            # the reduced cost of a column sigma * phi is -sigma * (lam . phi)
            found = price(lam, k_add, eps)
            added = add_priced(prob, rp, *found.above(eps))
            if added == 0 and not found.exact:
                found = price(lam, k_add, eps, force_exact=True)
                added = add_priced(prob, rp, *found.above(eps))
        if added == 0:
            _refuse_interpolation(prob, lam, misfit, verify)
        rounds += 1
    ctx.record(phase1_rounds=rounds)
    rp.to_phase2()
