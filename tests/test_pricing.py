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
