"""Dual certificates for the l1 path-norm problem (DESIGN.md section 4).

Any multiplier ``lam`` with ``1 . lam = 0`` (and ``X^T lam = 0`` with skip) in the
domain of the conjugate loss becomes dual feasible after scaling by
``alpha <= beta / M``, ``M = max_t |lam . phi_t|`` over *every* ray of the refined
arrangement (computed by exact streamed pricing in C++). ``D(alpha * lam)`` is then a
lower bound on the global optimum; a network's own objective is an upper bound.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from . import _core
from ._validation import as_data_matrix, as_target_vector, resolve_threads
from .errors import CertificateError, InfeasibleError, InputError, NotSupportedError, ShapeError
from .losses import (
    best_scale,
    check_beta,
    check_loss,
    check_penalty,
    check_targets,
    dual_box,
    dual_value,
)
from .network import ReLUNetwork

__all__ = ["Certificate", "certify", "beta_max", "Pricer", "dual_bound", "zero_neuron_multiplier"]


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

    @property
    def relative_gap(self):
        """``gap / max(1, |upper_bound|)``."""
        return self.gap / max(1.0, abs(self.upper_bound))


class Pricer:
    """Exact pricing ``max_t |lam . phi_t|`` over all rays of the refined arrangement.

    Uses the streamed C++ ``_core.price_rays`` when present; otherwise (development
    fallback) lists the rays once with :func:`exactrelu.enumerate_rays` and prices
    them with numpy.
    """

    def __init__(self, prob, threads=None):
        self.prob = prob
        self.threads = resolve_threads(threads)
        self.native = hasattr(_core, "price_rays")
        self._cols = None
        self.calls = 0
        self.n_priced = 0
        self.seconds = 0.0

    def _fallback_columns(self):
        if self._cols is None:
            from .arrangement import enumerate_rays
            from .program import relu_columns

            p = self.prob
            rays = enumerate_rays(p.X, bias=p.bias, extra_hyperplanes=np.eye(p.d, p.D),
                                  threads=self.threads)
            dirs = rays.directions
            nrm = np.abs(dirs[:, p.norm_mask]).sum(axis=1)
            keep = nrm > 0
            dirs = dirs[keep] / nrm[keep, None]
            Phi = relu_columns(p.A, dirs)
            inc = rays.incidence.toarray()[keep][:, :p.n]
            Phi[inc.T] = 0.0
            self._cols = (dirs, Phi)
        return self._cols

    def __call__(self, lam, top_k=1):
        """Return ``(scores, dirs, n_priced)``: the ``top_k`` rays by ``|lam . phi|``."""
        import time

        t0 = time.perf_counter()
        lam = np.ascontiguousarray(lam, dtype=np.float64)
        top_k = int(max(1, top_k))
        p = self.prob
        if self.native:
            scores, dirs, n_priced = _core.price_rays(p.A_ref, p.n, lam, p.norm_mask, top_k,
                                                      self.threads)
            scores = np.asarray(scores, dtype=float)
            dirs = np.asarray(dirs, dtype=float).reshape(len(scores), p.D)
        else:
            all_dirs, Phi = self._fallback_columns()
            sc = Phi.T @ lam
            order = np.argsort(-np.abs(sc), kind="stable")[:top_k]
            scores, dirs, n_priced = sc[order], all_dirs[order], len(sc)
        self.calls += 1
        self.n_priced += int(n_priced)
        self.seconds += time.perf_counter() - t0
        return scores, dirs, int(n_priced)

    def max_abs(self, lam):
        scores, _, n_priced = self(lam, 1)
        return (float(abs(scores[0])) if len(scores) else 0.0), n_priced


class CandidatePricer:
    """Heuristic pricing over a small pool of rays (no certificate).

    The pool holds the rays adjacent to given anchor rays (replace one of the
    ``D - 1`` hyperplanes through an anchor by any other hyperplane of the refined
    arrangement) and a random sample of rays (``D - 1`` random hyperplanes). Column
    generation uses it to find improving columns cheaply when exact pricing of all
    rays is expensive; optimality is still decided by the exact :class:`Pricer`.
    """

    def __init__(self, prob, n_random=None, seed=0, max_entries=10_000_000):
        self.prob = prob
        self.rng = np.random.default_rng(seed)
        # pool size bounded by max_entries / n (the pool's relu matrix is n x pool)
        self.max_pool = max(1000, int(max_entries) // (2 * max(prob.n, 1)))
        self.n_random = self.max_pool // 4 if n_random is None else int(n_random)
        self.calls = 0
        self.seconds = 0.0
        self.n_priced = 0

    def _rays_of(self, subsets):
        p = self.prob
        if len(subsets) == 0:
            return np.zeros((0, p.D))
        M = p.A_ref[subsets]                              # (k, D-1, D)
        _, sv, Vt = np.linalg.svd(M)
        ok = sv[:, -1] > 1e-10 * sv[:, 0] if p.D > 2 else sv[:, 0] > 0
        v = Vt[ok, -1, :]
        nrm = np.abs(v[:, :p.d]).sum(axis=1)
        keep = nrm > 1e-12 * np.abs(v).sum(axis=1)
        v = v[keep] / nrm[keep, None]
        v[np.abs(v) < 1e-15] = 0.0
        return v

    def pool(self, anchors):
        p = self.prob
        N = p.A_ref.shape[0]
        r = p.D - 1
        subsets = []
        if self.n_random:
            k = self.n_random
            subsets.append(np.argsort(self.rng.random((k, N)), axis=1)[:, :r]
                           if N <= 64 else self.rng.integers(0, N, size=(k, r)))
        anchors = np.atleast_2d(anchors)
        if anchors.shape[0] and r >= 1:
            Z = anchors @ p.A_ref.T                        # (S, N)
            scale = np.abs(anchors) @ np.abs(p.A_ref).T
            inc = np.abs(Z) <= 1e-9 * np.maximum(scale, 1e-300)
            cnt = inc.sum(axis=1)
            good = cnt >= r
            if np.any(good):
                inc = inc[good]
                # the first r incident hyperplanes of each anchor (stable order)
                order = np.argsort(~inc, axis=1, kind="stable")[:, :r]   # (S, r)
                S = order.shape[0]
                cap = max(1, (self.max_pool - self.n_random) // max(1, r * N))
                if S > cap:
                    order = order[self.rng.choice(S, cap, replace=False)]
                    S = cap
                base = np.broadcast_to(order[:, None, None, :], (S, r, N, r)).copy()
                pos = np.arange(r)
                base[:, pos, :, pos] = np.arange(N)[None, None, :]
                subsets.append(base.reshape(-1, r))
        if not subsets:
            return np.zeros((0, p.D))
        v = self._rays_of(np.vstack(subsets))
        v = np.vstack([v, -v])
        if len(v):
            _, idx = np.unique(np.round(v, 12), axis=0, return_index=True)
            v = v[np.sort(idx)]
        return v

    def __call__(self, lam, top_k=1, anchors=None):
        import time

        from .program import relu_columns

        t0 = time.perf_counter()
        dirs = self.pool(np.zeros((0, self.prob.D)) if anchors is None else anchors)
        if len(dirs) == 0:
            return np.zeros(0), dirs, 0
        lam = np.asarray(lam, dtype=float)
        step = max(1, 4_000_000 // max(self.prob.n, 1))
        sc = np.concatenate([relu_columns(self.prob.A, dirs[i:i + step]).T @ lam
                             for i in range(0, len(dirs), step)])
        order = np.argsort(-np.abs(sc), kind="stable")[:max(1, int(top_k))]
        self.calls += 1
        self.n_priced += len(sc)
        self.seconds += time.perf_counter() - t0
        return sc[order], dirs[order], len(sc)


def _orth_basis(E):
    U, s, _ = np.linalg.svd(E, full_matrices=False)
    r = int((s > 1e-12 * max(s.max(), 1e-300)).sum()) if s.size else 0
    return U[:, :r]


def project_multiplier(prob, lam):
    """Project ``lam`` onto ``{E^T lam = 0} & dom(L*)`` (E = [1] or [1, X]).

    The orthogonal projection onto the subspace is exact linear algebra; when the
    conjugate has a box domain (absolute, hinge) and the projected point leaves it,
    the Euclidean projection onto the intersection is solved as a small QP.
    """
    lam = np.asarray(lam, dtype=float)
    E = prob.equality_matrix()
    Q = _orth_basis(E)
    mu = lam - Q @ (Q.T @ lam)
    box = dual_box(prob.y, prob.loss)
    if box is None:
        return mu
    lo, hi = box
    if np.all(mu >= lo - 1e-15) and np.all(mu <= hi + 1e-15):
        return np.clip(mu, lo, hi)
    import scipy.sparse as sp

    from ._highs import HighsProgram

    hp = HighsProgram(np.zeros(E.shape[1]), np.zeros(E.shape[1]), -lam, lo, hi,
                      sp.csc_array(E.T), hessian_dim=prob.n)
    hp.run(what="the projection of the multiplier")
    mu = np.clip(hp.x, lo, hi)
    return mu


def dual_bound(prob, lam, pricer, *, project=True):
    """Turn any multiplier into a certified lower bound.

    Returns a dict with ``lower``, ``lam`` (scaled, dual feasible), ``M`` (raw
    max |lam . phi|), ``alpha``, ``n_priced``.
    """
    lam = project_multiplier(prob, lam) if project else np.asarray(lam, dtype=float)
    M, n_priced = pricer.max_abs(lam)
    beta = prob.beta
    alpha_max = beta / M if M > 0 else np.inf
    box = dual_box(prob.y, prob.loss)
    if box is not None:
        lo, hi = box
        with np.errstate(divide="ignore", invalid="ignore"):
            lim = np.where(lam > 0, hi / lam, np.where(lam < 0, lo / lam, np.inf))
        alpha_max = min(alpha_max, float(np.min(lim)) if lim.size else np.inf)
    if not np.isfinite(alpha_max):
        # lam is orthogonal to every column: for interpolation with lam . y > 0 this is
        # a Farkas certificate of infeasibility; otherwise the bound is D(0) = 0.
        if float(lam @ prob.y) > 0 and prob.loss == "interpolate":
            return {"lower": np.inf, "lam": lam, "M": M, "alpha": np.inf, "n_priced": n_priced}
        alpha = 0.0
    else:
        alpha = best_scale(lam, prob.y, prob.loss, alpha_max)
    mu = alpha * lam
    return {"lower": dual_value(mu, prob.y, prob.loss), "lam": mu, "M": M, "alpha": alpha,
            "n_priced": n_priced}


def zero_neuron_multiplier(prob):
    """The optimal multiplier of the problem without neurons (only c0 and s)."""
    if prob.loss == "squared":
        E = prob.equality_matrix()
        coef, *_ = np.linalg.lstsq(E, prob.y, rcond=None)
        return prob.y - E @ coef
    if prob.loss == "interpolate":
        return project_multiplier(prob, prob.y)
    from .program import RayProgram

    rp = RayProgram(prob)
    rp.run(what="the program without neurons")
    return rp.lam


def _problem(X, y, loss, beta, bias, skip, threads=None):
    from .program import Problem

    loss = check_loss(loss)
    beta = check_beta(beta, loss)
    X = as_data_matrix(X)
    y = check_targets(as_target_vector(y, X.shape[0]), loss)
    return Problem(X, y, loss, beta, bool(bias), bool(skip), resolve_threads(threads))


def beta_max(X, y, *, loss="squared", bias=True, skip=False, threads=None):
    """The smallest beta at which the network without neurons is certified optimal
    (for the l1 path norm; exact for the squared loss).

    ``beta_max = max_t |lam0 . phi_t|`` with ``lam0`` the optimal multiplier of the
    problem with no neurons (for the squared loss, the residual of the best constant,
    or affine with ``skip``, fit). For ``beta >= beta_max`` every method returns zero
    neurons; tests should use ``beta <= beta_max / 2``. For absolute and hinge losses
    the multiplier of the neuron-free problem need not be unique and the value is an
    upper bound on that threshold. For the l2 (weight decay) penalty the threshold is
    at most ``sqrt(d) * beta_max``.

    Examples
    --------
    >>> import numpy as np
    >>> X = np.array([[0.0], [1.0], [2.0]]); y = np.array([0.0, 1.0, 0.0])
    >>> round(beta_max(X, y), 6)
    0.333333
    """
    if loss == "interpolate":
        raise InputError("beta plays no role for loss='interpolate'")
    prob = _problem(X, y, loss, 1.0, bias, skip, threads)
    pricer = Pricer(prob, threads)
    lam0 = zero_neuron_multiplier(prob)
    if prob.loss == "squared":
        M, _ = pricer.max_abs(lam0)
        return float(M)
    return _beta_max_lp(prob, lam0, pricer)


def _beta_max_lp(prob, lam0, pricer, max_rounds=500):
    """``min max_t |lam . phi_t|`` over the optimal multipliers of the neuron-free
    problem (absolute / hinge losses, where they are not unique), by cutting planes
    with exact pricing."""
    import scipy.sparse as sp

    from ._highs import INF, HighsProgram

    n = prob.n
    y = prob.y
    lo, hi = dual_box(y, prob.loss)
    opt0 = float(lam0 @ y)
    E = prob.equality_matrix()
    # columns: lam (n, in the box), t >= 0 (cost 1); rows: E^T lam = 0, y . lam >= opt0
    rows = sp.vstack([sp.hstack([sp.csr_array(E.T), sp.csr_array((E.shape[1], 1))]),
                      sp.csr_array(np.r_[y, 0.0][None, :])], format="csc")
    tol = 1e-10 * max(1.0, abs(opt0))
    hp = HighsProgram(np.r_[np.zeros(E.shape[1]), opt0 - tol],
                      np.r_[np.zeros(E.shape[1]), INF],
                      np.r_[np.zeros(n), 1.0], np.r_[lo, 0.0], np.r_[hi, INF], rows)
    from .program import relu_columns

    cand = CandidatePricer(prob) if _pool_first(prob) else None
    lam = lam0
    best = np.inf
    cut_dirs = np.zeros((0, prob.D))
    for _ in range(max_rounds):
        t = hp.x[n] if hp.runs else 0.0
        k = max(8, n // 4)
        exact = True
        if cand is not None:
            scores, dirs, _ = cand(lam, k, cut_dirs[-4 * k:])
            exact = not (len(scores) and np.abs(scores[0]) > t * (1 + 1e-9) + 1e-12)
        if exact:
            scores, dirs, _ = pricer(lam, k)
        M = float(np.abs(scores[0])) if len(scores) else 0.0
        if exact:
            best = min(best, M)
            if M <= t * (1 + 1e-9) + 1e-12:
                break
        sel = np.abs(scores) > t
        cut_dirs = np.vstack([cut_dirs, dirs[sel]])
        Phi = relu_columns(prob.A, dirs[sel])
        k = Phi.shape[1]
        cuts = sp.hstack([sp.csr_array(Phi.T), sp.csr_array(np.ones((k, 1)))])
        hp.add_rows(cuts, 0.0, INF)                      # phi . lam + t >= 0
        cuts = sp.hstack([sp.csr_array(Phi.T), sp.csr_array(-np.ones((k, 1)))])
        hp.add_rows(cuts, -INF, 0.0)                     # phi . lam - t <= 0
        hp.run(what="the beta_max program")
        lam = hp.x[:n]
    return float(best)


#: Pricing passes over all rays are replaced by a pool of candidate rays (final
#: checks excepted) when ``rays * n`` exceeds this.
POOL_WORK = 2_000_000_000


def _pool_first(prob):
    from .arrangement import arrangement_info

    info = arrangement_info(prob.X, bias=prob.bias, extra_hyperplanes=np.eye(prob.d, prob.D))
    return info.rays_bound * prob.n > POOL_WORK


def _network_directions(net, prob):
    """l1-normalized directions of a network's neurons and their weight norms."""
    from .program import normalize_directions

    theta = np.hstack([net.W, net.b[:, None]]) if prob.bias else net.W
    dirs, keep = normalize_directions(theta, prob.d, "l1")
    return dirs


def certify(network, X, y, *, loss="squared", beta=1.0, penalty="l1", bias=True, skip=False,
            threads=None):
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
    prob = _problem(X, y, loss, beta, bias, skip, threads)
    if network.n_features != prob.d:
        raise ShapeError(f"the network has {network.n_features} inputs, X has {prob.d} columns")
    if not prob.bias and np.any(network.b != 0):
        raise InputError("bias=False, but the network has nonzero neuron biases")
    if not prob.skip and network.s is not None and np.any(network.s != 0):
        raise InputError("skip=False, but the network has a nonzero skip connection")
    upper = network.objective(prob.X, prob.y, loss=prob.loss, beta=prob.beta, penalty="l1")
    f = network.predict(prob.X)
    pricer = Pricer(prob, threads)
    cands = []
    if prob.loss == "squared":
        cands.append(("residual", prob.y - f))
    if prob.loss == "interpolate":
        cands.append(("targets", prob.y))
    dirs = _network_directions(network, prob)
    if dirs.shape[0] or prob.loss != "interpolate":
        from .program import build_restricted

        try:
            rp = build_restricted(prob, dirs, np.ones(len(dirs)))
            rp.run(what="the program restricted to the network's neurons")
            cands.append(("restricted", rp.lam))
        except InfeasibleError:
            pass
    best = None
    for name, lam in cands:
        res = dual_bound(prob, lam, pricer)
        res["source"] = name
        if best is None or res["lower"] > best["lower"]:
            best = res
    if best is None:  # pragma: no cover - there is always a candidate
        raise CertificateError("no multiplier could be formed")
    lower = best["lower"]
    gap = upper - lower
    M = best["M"]
    return Certificate(
        lower_bound=float(lower),
        upper_bound=float(upper),
        gap=float(gap),
        multipliers=best["lam"],
        max_violation=float(max(0.0, M / prob.beta - 1.0)),
        max_dual=float(best["alpha"] * M) if np.isfinite(best["alpha"]) else float("nan"),
        scale=float(best["alpha"]),
        n_priced=int(best["n_priced"]),
        source=best["source"],
    )
