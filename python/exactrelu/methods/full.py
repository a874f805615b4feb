"""Method ``"full"``: every ray of the refined arrangement as a column of one LP/QP
(docs/design.md section 3). Refused with SizeError when the matrix would be too large."""

from __future__ import annotations

from ..arrangement import arrangement_info, count_rays
from ..columns import refined_ray_columns
from ..limits import FULL_MAX_ENTRIES, refuse_if_too_large, size_limit
from ..pricing import MatrixPricer
from ..programs import RayProgram
from .base import MethodResult, find_feasible_columns

__all__ = ["solve_full"]



def solve_full(prob, ctx):
    limit = size_limit(ctx.max_rays, FULL_MAX_ENTRIES, "max_rays")
    E = prob.coordinate_hyperplanes
    with ctx.timed("arrangement"):
        info = arrangement_info(prob.X, bias=prob.bias, extra_hyperplanes=E)
        refuse_if_too_large(
            info.rays_bound,
            lambda: count_rays(prob.X, bias=prob.bias, extra_hyperplanes=E, progress=ctx.progress,
                               client=prob.client),
            prob.n, limit, what="entries",
            message=lambda est: (
                f"method='full' needs the {est:,} rays of the refined arrangement as columns "
                f"({est * prob.n:,} matrix entries, limit {limit:,}); use method='colgen'"))
        dirs, Phi, n_rays = refined_ray_columns(prob, one_orientation=prob.skip,
                                                progress=ctx.progress)
    ctx.record(rays=n_rays)
    phase1 = prob.loss == "interpolate"
    rp = RayProgram(prob, phase1=phase1, verbose=ctx.verbose)
    rp.add_both_signs(dirs, Phi=Phi, dedupe=False)
    pricer = MatrixPricer(prob, dirs, Phi, prob.skip)
    if phase1:
        find_feasible_columns(prob, rp, None, ctx, 0, lambda lam: pricer.max_abs(lam)[0])
    rp.run(ctx.remaining("solving the full ray program"), what="the full ray program")
    return MethodResult(rp, pricer, [("program", rp.lam)])
