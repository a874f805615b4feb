"""Certificates (docs/design.md section 4): lower bounds from any network, checked here
independently by Python pricing over ``exactrelu.enumerate_rays``."""

import numpy as np
import pytest

import exactrelu
from exactrelu import ReLUNetwork, beta_max, certify, solve
from exactrelu.errors import InputError, NotSupportedError, ShapeError

LOSSES = ["interpolate", "squared", "absolute", "hinge"]


def _data(d, loss, n=9, seed=0):
    rng = np.random.default_rng(seed + 10 * d)
    X = rng.normal(size=(n, d))
    if loss == "hinge":
        r = np.linalg.norm(X - X.mean(axis=0), axis=1)
        y = np.where(r < np.median(r), 1.0, -1.0)
    else:
        y = np.sin(2 * X[:, 0]) + 0.3 * rng.normal(size=n)
    return X, y


def _python_lower_bound(lam, X, y, loss, beta, bias, skip):
    """Recompute D(lam) and check dual feasibility against every ray, in Python."""
    n, d = X.shape
    A = np.hstack([X, np.ones((n, 1))]) if bias else X
    D = A.shape[1]
    rays = exactrelu.enumerate_rays(X, bias=bias, extra_hyperplanes=np.eye(d, D))
    dirs = rays.directions
    inc = rays.incidence.toarray()[:, :n]
    nrm = np.abs(dirs[:, :d]).sum(axis=1)
    keep = nrm > 0
    theta = dirs[keep] / nrm[keep, None]
    Z = A @ theta.T
    Z[inc[keep].T] = 0.0
    Phi = np.maximum(Z, 0.0)
    M = np.abs(Phi.T @ lam).max()
    scale = max(1.0, np.abs(lam).max())
    assert M <= beta * (1 + 1e-9) + 1e-12, (M, beta)
    assert abs(lam.sum()) <= 1e-9 * scale * n
    if skip:
        assert np.abs(X.T @ lam).max() <= 1e-9 * scale * n * max(1.0, np.abs(X).max())
    if loss == "absolute":
        assert np.all(np.abs(lam) <= 1 + 1e-12)
    if loss == "hinge":
        assert np.all(y * lam >= -1e-12) and np.all(y * lam <= 1 + 1e-12)
    if loss == "squared":
        return lam @ y - 0.5 * lam @ lam
    return lam @ y


@pytest.mark.parametrize("skip", [False, True])
@pytest.mark.parametrize("loss", LOSSES)
@pytest.mark.parametrize("d", [1, 2])
def test_certify_optimal_network(d, loss, skip):
    X, y = _data(d, loss)
    beta = 1.0 if loss == "interpolate" else beta_max(X, y, loss=loss, skip=skip) / 2
    sol = solve(X, y, loss=loss, beta=beta, skip=skip)
    cert = certify(sol.network, X, y, loss=loss, beta=beta, skip=skip)
    opt = sol.objective
    assert cert.upper_bound == pytest.approx(opt, rel=1e-12)
    assert cert.gap <= 1e-6 * max(1.0, abs(opt))
    assert cert.lower_bound <= opt + 1e-9 * max(1.0, abs(opt))
    lb = _python_lower_bound(cert.multipliers, X, y, loss, beta, True, skip)
    assert lb == pytest.approx(cert.lower_bound, rel=1e-9, abs=1e-9)
    # the solver's own multipliers pass the same independent check
    lb2 = _python_lower_bound(sol.multipliers, X, y, loss, beta, True, skip)
    assert lb2 == pytest.approx(sol.lower_bound, rel=1e-9, abs=1e-9)


@pytest.mark.parametrize("loss", ["squared", "absolute", "hinge", "interpolate"])
def test_lower_bound_approaches_optimum(loss):
    X, y = _data(2, loss, n=10, seed=1)
    beta = 1.0 if loss == "interpolate" else beta_max(X, y, loss=loss) / 3
    sol = solve(X, y, loss=loss, beta=beta)
    opt = sol.objective
    net = sol.network
    rng = np.random.default_rng(4)
    dW, db, da = (rng.normal(size=net.W.shape), rng.normal(size=net.b.shape),
                  rng.normal(size=net.a.shape))
    errs = []
    for eps in [1e-1, 1e-2, 1e-3, 1e-4, 1e-6, 1e-8]:
        pert = ReLUNetwork(net.W + eps * dW, net.b + eps * db, net.a + eps * da, net.c)
        cert = certify(pert, X, y, loss=loss, beta=beta)
        # always a valid bound
        assert cert.lower_bound <= opt + 1e-9 * max(1.0, opt)
        lb = _python_lower_bound(cert.multipliers, X, y, loss, beta, True, False)
        assert lb == pytest.approx(cert.lower_bound, rel=1e-9, abs=1e-9)
        errs.append(opt - cert.lower_bound)
    # the bound converges to the optimum (linearly in eps: the perturbed multiplier
    # violates the dual constraints by O(eps))
    assert errs[-1] <= 1e-5 * max(1.0, opt)
    assert errs[-2] <= 1e-3 * max(1.0, opt)
    assert errs[-1] <= 0.1 * errs[-2] + 1e-10
    assert errs[-2] <= errs[2] + 1e-12


def test_sgd_like_network_bound_is_valid():
    X, y = _data(2, "squared", n=12, seed=3)
    beta = beta_max(X, y) / 4
    opt = solve(X, y, beta=beta).objective
    rng = np.random.default_rng(0)
    for _ in range(5):
        m = 20
        net = ReLUNetwork(rng.normal(size=(m, 2)), rng.normal(size=m),
                          0.1 * rng.normal(size=m), rng.normal())
        cert = certify(net, X, y, beta=beta)
        assert cert.lower_bound <= opt + 1e-9
        assert cert.upper_bound >= opt - 1e-9
        assert cert.gap >= 0
        lb = _python_lower_bound(cert.multipliers, X, y, "squared", beta, True, False)
        assert lb == pytest.approx(cert.lower_bound, rel=1e-9, abs=1e-9)


def test_non_interpolating_network_has_no_upper_bound():
    X, y = _data(1, "interpolate")
    net = ReLUNetwork(np.ones((1, 1)), [0.0], [1.0])
    cert = certify(net, X, y, loss="interpolate")
    assert cert.upper_bound == np.inf
    assert np.isfinite(cert.lower_bound) and cert.lower_bound > 0
    assert cert.lower_bound <= solve(X, y, loss="interpolate").objective + 1e-9


def test_no_bias_certificate():
    X, y = _data(2, "squared")
    beta = beta_max(X, y, bias=False) / 2
    sol = solve(X, y, beta=beta, bias=False)
    cert = certify(sol.network, X, y, beta=beta, bias=False)
    assert cert.gap <= 1e-6 * max(1.0, sol.objective)
    lb = _python_lower_bound(cert.multipliers, X, y, "squared", beta, False, False)
    assert lb == pytest.approx(cert.lower_bound, rel=1e-9, abs=1e-9)


def test_certify_errors():
    X, y = _data(2, "squared")
    net = solve(X, y, beta=0.1).network
    with pytest.raises(NotSupportedError):
        certify(net, X, y, beta=0.1, penalty="l2")
    with pytest.raises(InputError):
        certify("not a network", X, y)
    with pytest.raises(ShapeError):
        certify(net, X[:, :1], y)
    with pytest.raises(InputError):            # neuron biases in a bias-free problem
        certify(ReLUNetwork([[1.0, 0.0]], [1.0], [1.0]), X, y, bias=False)
    with pytest.raises(InputError):            # skip weights without skip
        certify(ReLUNetwork(np.zeros((0, 2)), [], [], 0.0, [1.0, 0.0]), X, y)


def test_beta_max_examples():
    X = np.array([[0.0], [1.0], [2.0]])
    y = np.array([0.0, 1.0, 0.0])
    assert beta_max(X, y) == pytest.approx(1 / 3)
    with pytest.raises(InputError):
        beta_max(X, y, loss="interpolate")


def test_projection_onto_box_and_subspace_matches_a_cone_solver():
    """The multiplier projection (Newton on the dual, exact line search) against
    Clarabel, on random boxes and subspaces E = [1, X] (HiGHS' QP solver once failed
    on such a projection with 'Solve error')."""
    import cvxpy as cp

    from exactrelu.certificate import _project_box_subspace

    rng = np.random.default_rng(0)
    for _ in range(120):
        n, k = int(rng.integers(3, 30)), int(rng.integers(1, 4))
        E = np.hstack([np.ones((n, 1)), np.round(rng.standard_normal((n, k - 1)), 1)])
        lam = rng.standard_normal(n) * rng.choice([0.5, 1.0, 3.0])
        hi = rng.choice([1.0, 0.5], n)
        lo = np.where(rng.random(n) < 0.5, -hi, 0.0)
        x = _project_box_subspace(lam, E, lo, hi)
        assert x is not None
        assert np.all(x >= lo) and np.all(x <= hi) and np.abs(E.T @ x).max() < 1e-10
        z = cp.Variable(n)
        cp.Problem(cp.Minimize(cp.sum_squares(z - lam)),
                   [E.T @ z == 0, z >= lo, z <= hi]).solve(solver="CLARABEL")
        assert np.linalg.norm(x - lam) <= np.linalg.norm(z.value - lam) + 1e-6
