"""Dual certificates for the l1 path-norm problem (docs/design.md section 4).

Any multiplier ``lam`` with ``1 . lam = 0`` (and ``X^T lam = 0`` with skip) in the
domain of the conjugate loss becomes dual feasible after scaling by
``alpha <= beta / M``, ``M = max_t |lam . phi_t|`` over *every* ray of the refined
arrangement (exact streamed pricing, :mod:`exactrelu.pricing`). ``D(alpha * lam)``
is then a lower bound on the global optimum; a network's own objective is an upper
bound. :func:`certify` bounds the optimum for any network; :func:`beta_max` is the
smallest beta at which the network without neurons is optimal.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp

from ._highs import INF, HighsProgram
from ._progress import core_progress
from ._validation import check_number
from .columns import network_directions, relu_columns
from .errors import CertificateError, InfeasibleError, InputError, NotSupportedError, ShapeError
from .losses import best_scale, check_penalty, dual_box, dual_value
from .network import ReLUNetwork
from .pricing import ExactPricer, PoolThenExact
from .problem import Scaling, make_problem
from .programs import RayProgram, build_restricted

__all__ = ["Certificate", "DualBound", "certify", "beta_max", "dual_bound", "max_scale",
           "project_multiplier", "zero_neuron_multiplier"]

#: Seconds ``certify`` gives the MIP bound when exact pricing does not fit and no
#: ``time_limit`` is given.
CERTIFY_MIP_SECONDS = 60.0


@dataclass
class Certificate:
    """A certified interval ``[lower_bound, upper_bound]`` for the global optimum.

    Attributes
    ----------
    lower_bound : float
        ``D(multipliers)``, a lower bound on the optimum over *all* networks.
    upper_bound : float
        The certified network's own objective (``inf`` for a network that does not
        interpolate when ``loss="interpolate"``).
    gap : float
        ``upper_bound - lower_bound`` (>= 0 up to round-off).
    multipliers : ndarray (n,)
        The dual-feasible multipliers (already scaled): ``|lam . phi_t| <= beta`` for
        every ray, ``1 . lam = 0`` (and ``X^T lam = 0`` with skip), lam in dom(L*).
    max_violation : float
        Relative violation ``max(0, M / beta - 1)`` of the dual constraints by the
        multiplier *before* scaling (0: it was dual feasible as it came).
    max_dual : float
        ``M / alpha``-free: ``max_t |lam . phi_t|`` of the scaled multipliers (<= beta).
    scale : float
        The factor alpha applied to the raw multiplier.
    n_priced : int
        Oriented rays priced.
    source : str
        Where the multiplier came from (``"residual"``, ``"restricted"``, ``"program"``...).
    exact : bool
        The pricing maximum was computed over every ray (``False``: bounded from
        above by a MIP within ``time_limit``, at dimensions where exact pricing does
        not fit; the bound is valid either way, only looser).
    """

    lower_bound: float
    upper_bound: float
    gap: float
    multipliers: np.ndarray = field(repr=False)
    max_violation: float
    max_dual: float = float("nan")
    scale: float = 1.0
    n_priced: int = 0
    source: str = ""
    exact: bool = True

    @property
    def relative_gap(self):
        """``gap / max(1, |upper_bound|)``."""
        return self.gap / max(1.0, abs(self.upper_bound))


@dataclass
class DualBound:
    """A multiplier made dual feasible, and the lower bound it certifies.

    Attributes
    ----------
    lower : float
        ``D(alpha * lam)``: a lower bound on the optimum (``inf``: a Farkas
        certificate that interpolation is infeasible).
    multipliers : ndarray (n,)
        ``alpha * lam``, dual feasible.
    max_score : float
        ``M = max_t |lam . phi_t|`` of the unscaled (projected) multiplier.
    scale : float
        ``alpha``.
    n_priced : int
        Oriented rays priced.
    source : str
        Where ``lam`` came from.
    """

    lower: float
    multipliers: np.ndarray = field(repr=False)
    max_score: float
    scale: float
    n_priced: int
    source: str = ""


def _orth_basis(E):
    U, s, _ = np.linalg.svd(E, full_matrices=False)
    r = int((s > 1e-12 * max(s.max(), 1e-300)).sum()) if s.size else 0
    return U[:, :r]


def project_multiplier(prob, lam):
    """Project ``lam`` onto ``{E^T lam = 0} & dom(L*)`` (E = [1] or [1, X]).

    The orthogonal projection onto the subspace is exact linear algebra; when the
    conjugate has a box domain (absolute, hinge) and the projected point leaves it,
    the Euclidean projection onto the intersection is found by Newton's method on its
    dual (:func:`_project_box_subspace`), and by HiGHS' QP solver only if that fails.
    """
    lam = np.asarray(lam, dtype=float)
    E = prob.equality_matrix()
    Q = _orth_basis(E)
    mu = lam - Q @ (Q.T @ lam)
    box = dual_box(prob.y, prob.loss, prob.weight)
    if box is None:
        return mu
    lo, hi = box
    if np.all(mu >= lo - 1e-15) and np.all(mu <= hi + 1e-15):
        return np.clip(mu, lo, hi)
    x = _project_box_subspace(lam, E, lo, hi)
    if x is not None:
        return x
    hp = HighsProgram(np.zeros(E.shape[1]), np.zeros(E.shape[1]), -lam, lo, hi,
                      sp.csc_array(E.T), hessian_dim=prob.n)
    hp.run(what="the projection of the multiplier")
    return np.clip(hp.x, lo, hi)


def _project_box_subspace(lam, E, lo, hi, max_iter=200):
    """``argmin ||x - lam||`` over ``lo <= x <= hi, E^T x = 0`` (finite bounds, 0
    inside), or None.

    The minimizer is ``x(nu) = clip(lam - E nu, lo, hi)`` for the ``nu`` that
    maximizes the concave, piecewise quadratic dual, whose gradient is ``E^T x(nu)``:
    ascent along the regularized Newton direction (the Hessian of the unclipped
    coordinates) with an exact line search (:func:`_line_max`). One step when E is a
    single column. ``None`` when ``E^T x`` is not below 1e-13 (relative) within
    ``max_iter`` steps.
    """
    k = E.shape[1]
    tol = 1e-13 * max(1.0, float(np.abs(lam).max())) * max(1.0, float(np.abs(E).sum(axis=0).max()))
    nu = np.zeros(k)
    x = np.clip(lam, lo, hi)
    for _ in range(max_iter):
        z = lam - E @ nu
        x = np.clip(z, lo, hi)
        g = E.T @ x
        if np.abs(g).max() <= tol:
            return x
        free = (z > lo) & (z < hi)
        H = E[free].T @ E[free]
        H += (1e-6 * max(1.0, float(np.trace(H)) / k)) * np.eye(k)
        step = np.linalg.solve(H, g)
        t = _line_max(z, E @ step, lo, hi)
        if t is None or t <= 0 or not np.all(np.isfinite(nu + t * step)):
            break
        nu = nu + t * step
    # nearly there (the dual's maximizers need not be unique, and far-away ones lose
    # digits): remove the residual E^T x from the coordinates strictly inside the box
    inside = (x > lo) & (x < hi)
    if inside.any():
        g = E.T @ x
        x = x.copy()
        x[inside] -= E[inside] @ np.linalg.lstsq(E[inside].T @ E[inside], g, rcond=None)[0]
    if np.all(x >= lo) and np.all(x <= hi) and np.abs(E.T @ x).max() <= tol:
        return x
    return None


def _line_max(z, w, lo, hi):
    """The ``t >= 0`` where ``h(t) = w . clip(z - t w, lo, hi)`` (nonincreasing,
    piecewise linear: the dual's slope along the step) reaches 0, or None."""
    def h(t):
        return float(w @ np.clip(z - t * w, lo, hi))

    h0 = h(0.0)
    if h0 <= 0:
        return 0.0
    nz = w != 0
    bps = np.concatenate([(z[nz] - lo[nz]) / w[nz], (z[nz] - hi[nz]) / w[nz]])
    bps = np.unique(bps[np.isfinite(bps) & (bps > 0)])
    # the first breakpoint where h <= 0 (binary search: h is monotone)
    a, b = 0, len(bps)
    while a < b:
        mid = (a + b) // 2
        if h(bps[mid]) <= 0:
            b = mid
        else:
            a = mid + 1
    if a == len(bps):
        # beyond the last breakpoint every coordinate is clipped and h is constant: 0 up
        # to rounding, the dual is flat there (its maximum reached at that breakpoint;
        # e.g. a box [0, hi] whose only point with E^T x = 0 is 0); positive, unbounded
        t_end = float(bps[-1]) if len(bps) else 0.0
        scale = float(np.abs(w) @ np.maximum(np.abs(lo), np.abs(hi)))
        return t_end if h(t_end) <= 1e-12 * scale else None
    t0 = bps[a - 1] if a > 0 else 0.0
    ht0 = h(t0) if a > 0 else h0
    t1, ht1 = bps[a], h(bps[a])
    return t0 + ht0 * (t1 - t0) / (ht0 - ht1)   # h is linear on [t0, t1]


def max_scale(lam, M, beta, y, loss, weight=None):
    """The largest alpha with ``alpha * lam`` dual feasible (``inf``: no limit): at
    most ``beta / M`` (``M`` the pricing maximum of ``lam``) and inside the loss's box
    (entrywise, so ``lam``, ``y`` and ``weight`` may be flattened vector outputs)."""
    alpha_max = beta / M if M > 0 else np.inf
    box = dual_box(y, loss, weight)
    if box is not None:
        lo, hi = box
        with np.errstate(divide="ignore", invalid="ignore"):
            lim = np.where(lam > 0, hi / lam, np.where(lam < 0, lo / lam, np.inf))
        alpha_max = min(alpha_max, float(np.min(lim)) if lim.size else np.inf)
    return alpha_max


def dual_bound(prob, lam, pricer, *, project=True, source=""):
    """Turn any multiplier into a certified lower bound (a :class:`DualBound`).

    ``pricer`` is exact (:class:`~exactrelu.pricing.ExactPricer` or
    :class:`~exactrelu.pricing.MatrixPricer`): the bound is only as valid as its
    maximum.
    """
    lam = project_multiplier(prob, lam) if project else np.asarray(lam, dtype=float)
    M, n_priced = pricer.max_abs(lam)
    alpha_max = max_scale(lam, M, prob.beta, prob.y, prob.loss, prob.weight)
    if not np.isfinite(alpha_max) and prob.loss == "interpolate" and float(lam @ prob.y) > 0:
        # lam is orthogonal to every column and to the free terms, yet lam . y > 0:
        # a Farkas certificate that no network interpolates
        return DualBound(np.inf, lam, M, np.inf, n_priced, source)
    # M = 0 (every ray prices to 0) leaves the scale free: the best one is finite for
    # the squared loss (the bound is then the best affine fit's loss), else 0
    alpha = best_scale(lam, prob.y, prob.loss, alpha_max, prob.weight)
    if not np.isfinite(alpha):
        alpha = 0.0
    mu = alpha * lam
    return DualBound(dual_value(mu, prob.y, prob.loss, prob.weight), mu, M, alpha, n_priced,
                     source)


def best_dual_bound(prob, candidates, pricer, enough=np.inf):
    """The best :class:`DualBound` of ``(source, lam)`` candidates (the first wins ties).

    Candidates after one whose bound reaches ``enough`` are not priced (each costs an
    exact pass): the caller needs no better bound than that.
    """
    best = None
    for source, lam in candidates:
        res = dual_bound(prob, lam, pricer, source=source)
        if best is None or res.lower > best.lower:
            best = res
        if best.lower >= enough:
            break
    if best is None:  # pragma: no cover - callers always pass a candidate
        raise CertificateError("no multiplier could be formed")
    return best


def zero_neuron_multiplier(prob):
    """The optimal multiplier of the problem without neurons (only c0 and s)."""
    if prob.loss == "squared":
        # the weighted least-squares residual times the weights: E^T lam = 0
        E = prob.equality_matrix()
        w = np.ones(prob.n) if prob.weight is None else prob.weight
        sw = np.sqrt(w)
        coef, *_ = np.linalg.lstsq(E * sw[:, None], prob.y * sw, rcond=None)
        return w * (prob.y - E @ coef)
    if prob.loss == "interpolate":
        return project_multiplier(prob, prob.y)
    rp = RayProgram(prob)
    rp.run(what="the program without neurons")
    return rp.lam


def beta_max(X, y, *, loss="squared", bias=True, skip=False, threads=None, max_rays=None,
             sample_weight=None, progress=False, client=None, time_limit=20.0):
    """The smallest beta at which the network without neurons is certified optimal
    (for the l1 path norm; exact for the squared loss).

    ``beta_max = max_t |lam0 . phi_t|`` with ``lam0`` the optimal multiplier of the
    problem with no neurons (for the squared loss, the residual of the best constant,
    or affine with ``skip``, fit). For ``beta >= beta_max`` every method returns zero
    neurons; tests should use ``beta <= beta_max / 2``. For absolute and hinge losses
    the multiplier of the neuron-free problem need not be unique and the value is an
    upper bound on that threshold. For the l2 (weight decay) penalty the threshold is
    at most ``sqrt(d) * beta_max``. Exact pricing of every ray is refused with
    SizeError when the rays may exceed ``max_rays`` (default
    :data:`~exactrelu.limits.PRICING_MAX_RAYS`). ``progress`` (bool or callable,
    default quiet) shows each exact pricing pass on stderr, and ``client`` (a
    ``dask.distributed.Client``) runs the passes on a Dask cluster, as in
    :func:`exactrelu.solve`.

    When one exact pricing pass is estimated to take longer than ``time_limit``
    seconds (default 20; or the rays exceed ``max_rays``), no pass is run: the value
    returned is then the largest score that heuristic pricing (and a MIP's incumbent)
    finds within that time, a *lower bound* on the true value, and a RuntimeWarning
    says so (docs/design.md section 10).

    Examples
    --------
    >>> import numpy as np
    >>> X = np.array([[0.0], [1.0], [2.0]]); y = np.array([0.0, 1.0, 0.0])
    >>> round(beta_max(X, y), 6)
    0.333333
    """
    if loss == "interpolate":
        raise InputError("beta plays no role for loss='interpolate'")
    if time_limit is not None:
        time_limit = check_number(time_limit, "time_limit (seconds)")
    progress = core_progress(progress, "beta_max")
    user = make_problem(X, y, loss, 1.0, bias, skip, threads, sample_weight, client)
    scaling = Scaling.for_problem(user)      # exact: the value is mapped back below
    prob = scaling.apply(user)
    if not _exact_fits(prob, time_limit, max_rays):
        return _beta_max_heuristic(prob, scaling, time_limit)
    pricer = ExactPricer(prob, progress=progress)
    lam0 = zero_neuron_multiplier(prob)
    if prob.loss == "squared":
        M, _ = pricer.max_abs(lam0)
    else:
        M = _beta_max_lp(prob, lam0, PoolThenExact.for_problem(prob, pricer))
    return float(M / scaling.beta_factor(prob.loss))


def _exact_fits(prob, time_limit, max_rays):
    """Whether exact pricing runs: one pass estimated within ``time_limit`` (at least
    :data:`~exactrelu.limits.AUTO_EXACT_SECONDS`) and within ``max_rays`` (default
    :data:`~exactrelu.limits.PRICING_MAX_RAYS`)."""
    from .methods import choose_method

    return choose_method(prob, time_limit, max_rays) == "colgen"


def _beta_max_heuristic(prob, scaling, time_limit):
    """beta_max from below where exact pricing does not fit (see :func:`beta_max`)."""
    import time
    import warnings

    from .methods.bracket import HeuristicPricer
    from .simplicial import pricing_bound

    t_end = time.perf_counter() + (20.0 if time_limit is None else float(time_limit))
    lam0 = zero_neuron_multiplier(prob)
    heuristic = HeuristicPricer(prob, deadline=t_end)
    found = heuristic(lam0, 16, np.zeros((0, prob.D)))
    M = found.max_abs
    left = t_end - time.perf_counter()
    if left > 0.05:
        res = pricing_bound(prob, threads=prob.threads).bound(lam0, left, incumbents=found.dirs)
        M = max(M, res.best)
    warnings.warn(
        "beta_max: exact pricing does not fit the time limit at this size; the value is "
        "the largest score found by heuristic pricing, a lower bound on beta_max (for "
        "the absolute and hinge losses, of the bound's value at the neuron-free "
        "multiplier)", RuntimeWarning, stacklevel=3)
    return float(M / scaling.beta_factor(prob.loss))


def _beta_max_lp(prob, lam0, price, max_rounds=500):
    """``min max_t |lam . phi_t|`` over the optimal multipliers of the neuron-free
    problem (absolute / hinge losses, where they are not unique), by cutting planes
    with exact pricing."""
    n = prob.n
    y = prob.y
    lo, hi = dual_box(y, prob.loss, prob.weight)
    opt0 = float(lam0 @ y)
    E = prob.equality_matrix()
    # columns: lam (n, in the box), t >= 0 (cost 1); rows: E^T lam = 0, y . lam >= opt0
    rows = sp.vstack([sp.hstack([sp.csr_array(E.T), sp.csr_array((E.shape[1], 1))]),
                      sp.csr_array(np.r_[y, 0.0][None, :])], format="csc")
    tol = 1e-10 * max(1.0, abs(opt0))
    hp = HighsProgram(np.r_[np.zeros(E.shape[1]), opt0 - tol],
                      np.r_[np.zeros(E.shape[1]), INF],
                      np.r_[np.zeros(n), 1.0], np.r_[lo, 0.0], np.r_[hi, INF], rows)
    lam = lam0
    best = np.inf
    cut_dirs = np.zeros((0, prob.D))
    for _ in range(max_rounds):
        t = hp.x[n] if hp.runs else 0.0
        k = max(8, n // 4)
        found = price(lam, k, t * (1 + 1e-9) + 1e-12, anchors=cut_dirs[-4 * k:])
        M = found.max_abs
        if found.exact:
            best = min(best, M)
            if M <= t * (1 + 1e-9) + 1e-12:
                break
        _, dirs = found.above(t)
        cut_dirs = np.vstack([cut_dirs, dirs])
        Phi = relu_columns(prob.A, dirs)
        k = Phi.shape[1]
        cuts = sp.hstack([sp.csr_array(Phi.T), sp.csr_array(np.ones((k, 1)))])
        hp.add_rows(cuts, 0.0, INF)                      # phi . lam + t >= 0
        cuts = sp.hstack([sp.csr_array(Phi.T), sp.csr_array(-np.ones((k, 1)))])
        hp.add_rows(cuts, -INF, 0.0)                     # phi . lam - t <= 0
        hp.run(what="the beta_max program")
        lam = hp.x[:n]
    return float(best)


def certify(network, X, y, *, loss="squared", beta=1.0, penalty="l1", bias=True, skip=False,
            threads=None, max_rays=None, sample_weight=None, progress=False, client=None,
            time_limit=None):
    """A certified lower bound on the global optimum, and the gap of ``network``.

    The lower bound holds for every network with the same options, whatever
    ``network`` is (e.g. one trained by SGD). Candidate multipliers: the network's
    residual (squared loss) and the duals of the program restricted to the network's
    own neuron directions; each is projected onto the dual constraints, priced against
    every ray of the refined arrangement and scaled to dual feasibility; the best
    bound is kept.

    Parameters
    ----------
    network : ReLUNetwork
    X, y : array_like
    loss, beta, bias, skip : as in :func:`exactrelu.solve`
    penalty : {"l1"}
        Only the l1 path norm can be certified by ray pricing.
    threads : int, optional
    max_rays : int, optional
        Refuse (SizeError) when the rays to price may exceed this (default
        :data:`~exactrelu.limits.PRICING_MAX_RAYS`).
    sample_weight : array_like, optional
        Weights of the samples' loss terms, as in :func:`exactrelu.solve`.
    progress : bool or callable, optional
        Show each exact pricing pass on stderr (``"certify: pricing pass k"``), as in
        :func:`exactrelu.solve`. Default: quiet.
    client : dask.distributed.Client, optional
        Run the exact pricing passes on a Dask cluster, as in :func:`exactrelu.solve`.
    time_limit : float, optional
        Seconds for the bound. Exact pricing runs when one pass is estimated under
        30 s (or under ``time_limit``) and within ``max_rays``; otherwise the pricing
        maximum is bounded from above by a MIP within ``time_limit`` (default 60 s),
        which gives a valid but looser lower bound (``Certificate.exact`` is then
        False; docs/design.md section 10).

    Returns
    -------
    Certificate

    Examples
    --------
    >>> import numpy as np
    >>> from exactrelu import ReLUNetwork
    >>> X = np.array([[0.0], [1.0], [2.0]]); y = np.array([0.0, 1.0, 0.0])
    >>> net = ReLUNetwork(W=[[1.0], [-1.0]], b=[-1.0, 1.0], a=[-1.0, -1.0], c=1.0)
    >>> cert = certify(net, X, y, loss="interpolate")      # f(x) = 1 - |x - 1|
    >>> round(cert.upper_bound, 9), round(cert.lower_bound, 9), cert.gap < 1e-9
    (2.0, 2.0, True)
    >>> worse = ReLUNetwork(W=[[1.0], [1.0]], b=[0.0, -1.0], a=[1.0, -2.0])
    >>> cert = certify(worse, X, y, loss="interpolate")    # relu(x) - 2 relu(x - 1)
    >>> round(cert.upper_bound, 9), round(cert.lower_bound, 9)
    (3.0, 2.0)
    """
    penalty = check_penalty(penalty)
    if penalty != "l1":
        raise NotSupportedError(
            "certify prices rays, which bounds the l1 path-norm problem only; the "
            "weight-decay (l2) optimum is certified by solve(..., penalty='l2') through "
            "the cone program's duality gap"
        )
    if not isinstance(network, ReLUNetwork):
        raise InputError(f"network must be a ReLUNetwork, got {type(network).__name__}")
    if time_limit is not None:
        time_limit = check_number(time_limit, "time_limit (seconds)")
    progress = core_progress(progress, "certify")
    user = make_problem(X, y, loss, beta, bias, skip, threads, sample_weight, client)
    if network.n_features != user.d:
        raise ShapeError(f"the network has {network.n_features} inputs, X has {user.d} columns")
    if not user.bias and np.any(network.b != 0):
        raise InputError("bias=False, but the network has nonzero neuron biases")
    if not user.skip and network.s is not None and np.any(network.s != 0):
        raise InputError("skip=False, but the network has a nonzero skip connection")
    with np.errstate(over="ignore", invalid="ignore"):
        finite = (np.all(np.isfinite(network.predict(user.X)))
                  and np.isfinite(network.penalty("l1")))
    if not finite:
        raise InputError(
            "the network's outputs or path norm overflow float64 on this X (weights up to "
            f"{max(np.abs(network.W).max(initial=0), np.abs(network.a).max(initial=0)):.3g}); "
            "rescale the network (e.g. network.balanced()) or the data")
    upper = network.objective(user.X, user.y, loss=user.loss, beta=user.beta, penalty="l1",
                              sample_weight=user.weight)
    # bounds are computed for the data scaled by powers of two (exact), then mapped back
    scaling = Scaling.for_problem(user)
    prob = scaling.apply(user)
    scaled_net = scaling.network_to(network)
    cands = []
    if prob.loss == "squared":
        r = prob.y - scaled_net.predict(prob.X)
        cands.append(("residual", r if prob.weight is None else prob.weight * r))
    if prob.loss == "interpolate":
        cands.append(("targets", prob.y))
    dirs = network_directions(scaled_net, prob)
    if dirs.shape[0] or prob.loss != "interpolate":
        try:
            rp = build_restricted(prob, dirs, np.ones(len(dirs)))
            rp.run(what="the program restricted to the network's neurons")
            cands.append(("restricted", rp.lam))
        except InfeasibleError:
            pass
    exact = _exact_fits(prob, time_limit, max_rays)
    if exact:
        pricer = ExactPricer(prob, progress=progress)
    else:
        from .mip import MipPricer

        pricer = MipPricer(prob, CERTIFY_MIP_SECONDS if time_limit is None else time_limit,
                           n_calls=len(cands))
    best = best_dual_bound(prob, cands, pricer)
    lower = best.lower / scaling.objective_factor(user.loss)
    M = best.max_score
    return Certificate(
        lower_bound=float(lower),
        upper_bound=float(upper),
        gap=float(upper - lower),
        multipliers=scaling.multipliers_back(best.multipliers, user.loss),
        max_violation=float(max(0.0, M / prob.beta - 1.0)),
        max_dual=(float(best.scale * M / scaling.beta_factor(user.loss))
                  if np.isfinite(best.scale) else float("nan")),
        scale=float(best.scale),
        n_priced=int(best.n_priced),
        source=best.source,
        exact=exact,
    )
