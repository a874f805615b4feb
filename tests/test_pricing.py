"""The streamed exact pricer (``_core.price_rays``) against Python pricing over
``enumerate_rays``: on near-degenerate float data (standardized decimals, where many
minors are tiny but nonzero) the returned scores must be the true scores of the
returned directions, and the maximum must be the true maximum over all rays."""

import numpy as np
import pytest

import exactrelu
from exactrelu import _core
from exactrelu.columns import relu_columns


def _decimal_standardized(n, d, seed):
    rng = np.random.default_rng(seed)
    X = rng.integers(40, 80, size=(n, d)) / 10.0          # 0.1 resolution, like iris
    return (X - X.mean(axis=0)) / X.std(axis=0)


def _python_scores(X, lam):
    n, d = X.shape
    D = d + 1
    A = np.hstack([X, np.ones((n, 1))])
    rays = exactrelu.enumerate_rays(X, extra_hyperplanes=np.eye(d, D))
    dirs = rays.directions
    nrm = np.abs(dirs[:, :d]).sum(axis=1)
    keep = nrm > 0
    Phi = relu_columns(A, dirs[keep] / nrm[keep, None])
    inc = rays.incidence.toarray()[keep][:, :n]
    Phi[inc.T] = 0.0
    return Phi.T @ lam


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("n,d", [(25, 2), (18, 3), (14, 4)])
def test_price_rays_matches_python(n, d, seed):
    X = _decimal_standardized(n, d, seed)
    rng = np.random.default_rng(seed + 100)
    lam = rng.normal(size=n)
    lam -= lam.mean()
    D = d + 1
    A = np.hstack([X, np.ones((n, 1))])
    Aref = np.vstack([A, np.eye(d, D)])
    mask = np.zeros(D, bool)
    mask[:d] = True
    scores, dirs, n_priced, _, _, _ = _core.price_rays(Aref, n, lam, mask, 5, 2)
    # each returned score is the score of its returned direction
    np.testing.assert_allclose(np.abs(dirs[:, :d]).sum(axis=1), 1.0, rtol=1e-12)
    own = relu_columns(A, dirs).T @ lam
    np.testing.assert_allclose(scores, own, rtol=1e-9, atol=1e-9)
    # the best is the best over every ray
    ref = _python_scores(X, lam)
    assert abs(scores[0]) == pytest.approx(np.abs(ref).max(), rel=1e-9, abs=1e-12)
    assert np.all(np.diff(np.abs(scores)) <= 1e-12)


def _lifted(X):
    n, d = X.shape
    D = d + 1
    A = np.hstack([X, np.ones((n, 1))])
    mask = np.zeros(D, bool)
    mask[:d] = True
    return A, np.vstack([A, np.eye(d, D)]), mask


def _binary_column_data(n, seed):
    """Decimals with a binary column, standardized (ties everywhere: many hyperplanes
    through one line, the case the exact minors are memoized for)."""
    rng = np.random.default_rng(seed)
    X = np.column_stack([rng.integers(20, 30, n) / 10.0, rng.integers(0, 2, n),
                         rng.integers(40, 46, n) / 10.0])
    return (X - X.mean(axis=0)) / X.std(axis=0)


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("data", ["decimal", "binary"])
def test_candidate_pool_of_a_pass(seed, data):
    """pool_size: the top rays are unchanged; the pool holds other rays, each with its
    true score and none better than the top; 1 and 2 threads agree. (Rays of rounded
    standardized data can be distinct yet 1e-16 apart: no test of distinctness here.)"""
    n, d = (16, 3)
    X = _decimal_standardized(n, d, seed) if data == "decimal" else _binary_column_data(n, seed)
    A, Aref, mask = _lifted(X)
    lam = np.random.default_rng(seed + 7).normal(size=n)
    lam -= lam.mean()
    s0, d0, n0, p0s, p0d, _ = _core.price_rays(Aref, n, lam, mask, 5, 2)
    assert len(p0s) == 0 and len(p0d) == 0
    out1 = _core.price_rays(Aref, n, lam, mask, 5, 1, pool_size=200)
    out2 = _core.price_rays(Aref, n, lam, mask, 5, 2, pool_size=200)
    for a, b in zip(out1, out2):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
    s1, d1, n1, ps, pd, shards = out1
    np.testing.assert_array_equal(s1, s0)
    np.testing.assert_array_equal(d1, d0)
    assert n1 == n0 and shards >= 1
    assert 0 < len(ps) <= 200 + shards * 2 * 5 + 8
    # the pool's scores are the scores of its directions
    np.testing.assert_allclose(ps, relu_columns(A, pd).T @ lam, rtol=1e-9, atol=1e-9)
    # no pool ray beats the overall top
    assert np.abs(ps).max() <= np.abs(s1).min() + 1e-12


@pytest.mark.parametrize("seed", range(6))
def test_price_rays_on_many_hyperplanes_through_one_line(seed):
    """A binary column among decimals: every exact minor of a group goes through the
    memo and the class cofactors; the maximum must still be the brute-force one."""
    X = _binary_column_data(14, seed)
    n = X.shape[0]
    A, Aref, mask = _lifted(X)
    lam = np.random.default_rng(seed).normal(size=n)
    lam -= lam.mean()
    ref = _python_scores(X, lam)
    for threads in (1, 2):
        scores, dirs, _, _, _, _ = _core.price_rays(Aref, n, lam, mask, 3, threads)
        assert abs(scores[0]) == pytest.approx(np.abs(ref).max(), rel=1e-9, abs=1e-12)
        np.testing.assert_allclose(scores, relu_columns(A, dirs).T @ lam, rtol=1e-9, atol=1e-9)
    assert exactrelu.count_rays(X, extra_hyperplanes=np.eye(3, 4)) == len(
        exactrelu.enumerate_rays(X, extra_hyperplanes=np.eye(3, 4)))


def test_candidate_pool_prices_and_deduplicates():
    from exactrelu.pricing import CandidatePool
    from exactrelu.problem import make_problem
    X = _decimal_standardized(30, 2, 0)
    y = np.sin(X[:, 0])
    prob = make_problem(X, y, "squared", 1.0, True, False)
    rng = np.random.default_rng(1)
    dirs = rng.normal(size=(50, prob.D))
    dirs /= np.abs(dirs[:, :2]).sum(axis=1, keepdims=True)
    pool = CandidatePool(prob, capacity=40)
    assert pool.add(dirs[:30]) == 30
    assert pool.add(dirs[:30]) == 0          # already there
    assert pool.add(dirs[30:]) == 20         # the lowest scorers make room
    assert len(pool) == 40
    lam = rng.normal(size=30)
    scores, top, n_priced = pool(lam, 5)
    assert n_priced == 40
    np.testing.assert_allclose(scores, relu_columns(prob.A, top).T @ lam, rtol=1e-12)
    assert np.all(np.diff(np.abs(scores)) <= 0)


@pytest.mark.parametrize("scale", [1.0, 1e200, 1e-200])
def test_candidate_pool_scores_at_any_magnitude(scale):
    # single-precision columns only where the data's magnitudes allow them; the scores
    # it answers are double precision, and its best are the best of the pool
    from types import SimpleNamespace

    from exactrelu.pricing import CandidatePool
    rng = np.random.default_rng(2)
    A = np.hstack([rng.normal(size=(40, 2)), np.ones((40, 1))]) * scale
    prob = SimpleNamespace(A=A, n=40, D=3)
    dirs = rng.normal(size=(60, 3))
    pool = CandidatePool(prob, capacity=100)
    assert pool.add(dirs) == 60
    lam = rng.normal(size=40)
    scores, top, _ = pool(lam, 5)
    np.testing.assert_allclose(scores, np.maximum(A @ top.T, 0.0).T @ lam, rtol=1e-12)
    ref = np.abs(np.maximum(A @ dirs.T, 0.0).T @ lam)
    np.testing.assert_allclose(np.abs(scores), np.sort(ref)[::-1][:5], rtol=1e-6)


def test_certificate_reuses_the_last_exact_pass(monkeypatch):
    """The certificate prices the projected multiplier of the last round again: the
    answer comes from that round's pass (no extra walk over the arrangement)."""
    calls = []
    real = _core.price_rays

    def counting(*args, **kwargs):
        calls.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(_core, "price_rays", counting)
    X = _decimal_standardized(40, 2, 3)
    y = np.sin(2 * X[:, 0]) + X[:, 1] ** 2
    for loss in ("squared", "hinge"):
        yy = y if loss == "squared" else np.where(y > np.median(y), 1.0, -1.0)
        calls.clear()
        sol = exactrelu.solve(X, yy, loss=loss, beta=0.5, method="colgen")
        assert sol.certified
        assert len(calls) == sol.sizes["exact_pricing_passes"]


def test_candidate_pool_more_than_its_capacity_at_once():
    from exactrelu.pricing import CandidatePool
    from exactrelu.problem import make_problem
    X = _decimal_standardized(20, 2, 1)
    prob = make_problem(X, np.cos(X[:, 0]), "squared", 1.0, True, False)
    dirs = np.random.default_rng(2).normal(size=(30, prob.D))
    pool = CandidatePool(prob, capacity=10)
    assert pool.add(dirs) == 10 and len(pool) == 10
    assert pool.add(dirs[10:]) == 10        # the ones that did not fit are not "known"
    np.testing.assert_allclose(pool.Phi, relu_columns(prob.A, pool.dirs), atol=1e-12)


# Rows of standardized iris where, at the 2-flat of a line, both float coordinates of
# the class's first hyperplane cancel to exactly 0.0 while the exact ones are not 0:
# the float direction of that line is 0, and an earlier pricer dropped it.
IRIS_CANCELLING_ROWS = [1, 3, 4, 7, 14, 17, 19, 21, 22, 23, 26, 27, 28, 31, 34, 35, 36, 37, 39,
                        40, 47, 101, 103, 116, 122, 124, 128, 137, 141, 144, 148]


@pytest.mark.parametrize("seed", range(3))
def test_price_rays_prices_lines_whose_float_direction_cancels(seed):
    from sklearn.datasets import load_iris
    X = load_iris().data
    X = ((X - X.mean(axis=0)) / X.std(axis=0))[IRIS_CANCELLING_ROWS]
    n, d = X.shape
    A = np.hstack([X, np.ones((n, 1))])
    lam = np.random.default_rng(seed).normal(size=n)
    lam -= lam.mean()
    mask = np.zeros(d + 1, bool)
    mask[:d] = True
    scores, dirs, n_priced, _, _, _ = _core.price_rays(A, n, lam, mask, 3, 2)
    assert n_priced == _core.count_rays(A, 1)        # every ray of every line is priced
    rays = exactrelu.enumerate_rays(X)
    nrm = np.abs(rays.directions[:, :d]).sum(axis=1)
    Phi = relu_columns(A, rays.directions / nrm[:, None])
    Phi[rays.incidence.toarray()[:, :n].T] = 0.0
    assert abs(scores[0]) == pytest.approx(np.abs(Phi.T @ lam).max(), rel=1e-9)


@pytest.mark.parametrize("d", [3, 4, 5, 8])
def test_pool_rays_from_minors_are_the_null_vectors(d):
    # the heuristic pool's ray through D - 1 hyperplanes: D batched determinants (the
    # generalized cross product) up to D = 8, an SVD beyond; either way the null vector
    from exactrelu.pricing import PoolPricer
    from exactrelu.problem import make_problem

    rng = np.random.default_rng(d)
    X = rng.normal(size=(40, d))
    prob = make_problem(X, rng.normal(size=40), "squared", 0.1, True, False)
    N = prob.A_ref.shape[0]
    subsets = np.array([rng.choice(N, prob.D - 1, replace=False) for _ in range(50)])
    v = PoolPricer(prob, n_random=0)._rays_of(subsets)
    assert v.shape == (50, prob.D)
    M = prob.A_ref[subsets]
    np.testing.assert_allclose(np.abs(v[:, :d]).sum(axis=1), 1.0)
    resid = np.abs(np.einsum("kij,kj->ki", M, v)).max(axis=1)
    assert np.all(resid <= 1e-12 * np.abs(M).max(axis=(1, 2)) * np.abs(v).max(axis=1))
    null = np.linalg.svd(M)[2][:, -1, :]
    cos = np.abs(np.einsum("kj,kj->k", null, v)) / np.linalg.norm(v, axis=1)
    np.testing.assert_allclose(cos, 1.0, atol=1e-12)
