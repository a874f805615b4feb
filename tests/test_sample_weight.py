"""Sample weights: an integer weight is a repeated sample, weight 0 drops a sample, and
the certificate uses the weighted dual (|lam_i| <= w_i; -0.5 sum lam_i^2 / w_i)."""

import numpy as np
import pytest

import exactrelu
from exactrelu import solve
from exactrelu.errors import InputError

RNG = np.random.default_rng(3)
X = RNG.uniform(-1, 1, (10, 2))
Y = np.sin(3 * X[:, 0]) + X[:, 1]
W = np.array([1, 2, 3, 1, 1, 2, 1, 4, 1, 1])


def _targets(loss):
    return np.where(Y > np.median(Y), 1.0, -1.0) if loss == "hinge" else Y


@pytest.mark.parametrize("method", ["colgen", "full", "cells"])
@pytest.mark.parametrize("loss", ["squared", "absolute", "hinge"])
def test_integer_weights_equal_repeated_rows(loss, method):
    y = _targets(loss)
    Xr, yr = np.repeat(X, W, axis=0), np.repeat(y, W)
    beta = exactrelu.beta_max(Xr, yr, loss=loss) / 5
    a = solve(X, y, loss=loss, beta=beta, sample_weight=W, method=method)
    b = solve(Xr, yr, loss=loss, beta=beta, method=method)
    assert a.certified and b.certified
    assert a.objective == pytest.approx(b.objective, rel=1e-7)
    assert exactrelu.beta_max(X, y, loss=loss, sample_weight=W) == pytest.approx(
        exactrelu.beta_max(Xr, yr, loss=loss), rel=1e-9)
    # the network's weighted objective is the reported one; certify agrees
    assert a.network.objective(X, y, loss=loss, beta=beta, sample_weight=W) == pytest.approx(
        a.objective, rel=1e-12)
    cert = exactrelu.certify(a.network, X, y, loss=loss, beta=beta, sample_weight=W)
    assert cert.upper_bound == pytest.approx(a.objective, rel=1e-12)
    assert cert.lower_bound <= a.objective * (1 + 1e-9)
    if loss == "squared":   # the weighted residual is the optimal multiplier
        assert cert.gap <= 1e-6 * max(1.0, cert.upper_bound)


def test_zero_weights_drop_samples():
    w = np.ones(10)
    w[[2, 5]] = 0.0
    beta = 0.05
    a = solve(X, Y, beta=beta, sample_weight=w)
    keep = w > 0
    b = solve(X[keep], Y[keep], beta=beta)
    assert a.certified and a.objective == pytest.approx(b.objective, rel=1e-9)


def test_l2_weights():
    beta = 0.05
    a = solve(X, Y, beta=beta, sample_weight=W, penalty="l2")
    b = solve(np.repeat(X, W, axis=0), np.repeat(Y, W), beta=beta, penalty="l2")
    assert a.objective == pytest.approx(b.objective, rel=1e-6)


@pytest.mark.parametrize("bad, match", [
    (-np.ones(10), ">= 0"), (np.r_[np.nan, np.ones(9)], "finite"), (np.ones(9), "length"),
    (np.zeros(10), "every sample"), (["a"] * 10, "real numbers")])
def test_bad_weights(bad, match):
    with pytest.raises(InputError, match=match):
        solve(X, Y, beta=0.1, sample_weight=bad)


def test_interpolation_rejects_weights():
    with pytest.raises(InputError, match="interpolate"):
        solve(X, Y, loss="interpolate", sample_weight=W)


def test_estimators_take_sample_weight():
    pytest.importorskip("sklearn")
    from exactrelu import ExactReLUClassifier, ExactReLURegressor

    reg = ExactReLURegressor(beta=0.05).fit(X, Y, sample_weight=W)
    ref = solve(X, Y, beta=0.05, sample_weight=W)
    assert reg.objective_ == pytest.approx(ref.objective, rel=1e-9) and reg.certified_
    labels = np.where(Y > np.median(Y), "a", "b")
    clf = ExactReLUClassifier(beta=0.05).fit(X, labels, sample_weight=W)
    assert clf.certified_


def test_merge_duplicates_groups_equal_samples():
    from exactrelu.problem import make_problem, merge_duplicates

    Xd = np.array([[1.0, 2.0], [0.0, 1.0], [1.0, 2.0], [1.0, 2.0], [0.0, 1.0]])
    yd = np.array([1.0, 0.0, 1.0, 3.0, 0.0])     # rows 0 and 2 equal; row 3 another target
    user = make_problem(Xd, yd, "squared", 0.1, True, False, sample_weight=[1, 2, 3, 4, 5])
    merged, expand = merge_duplicates(user)
    assert merged.X.tolist() == [[0.0, 1.0], [1.0, 2.0], [1.0, 2.0]]   # lexicographic
    assert merged.y.tolist() == [0.0, 1.0, 3.0]
    assert merged.weight.tolist() == [7.0, 4.0, 4.0]
    lam = np.array([0.7, 0.4, -0.8])
    back = expand(lam)      # shared in proportion to the weights, summing to the group's
    assert back == pytest.approx([0.1, 0.2, 0.3, -0.8, 0.5])
    plain, _ = merge_duplicates(make_problem(X, Y, "squared", 0.1, True, False))
    assert plain.weight is None and sorted(map(tuple, plain.X)) == sorted(map(tuple, X))
    interp = make_problem(Xd[:2], yd[:2], "interpolate", 1.0, True, False)
    assert merge_duplicates(interp)[0] is interp


@pytest.mark.parametrize("method, y2", [("colgen", False), ("bracket", False),
                                        ("colgen", True)])
def test_weights_and_repeats_are_the_same_input(method, y2):
    """A weighted dataset and the same samples repeated, in another order, are merged
    into one input: the same network (the bracket's budgeted search included), and
    multipliers for the user's rows that sum over each group to the weighted ones."""
    y = np.c_[Y, -Y] if y2 else Y
    Xr, yr = np.repeat(X, W, axis=0), np.repeat(y, W, axis=0)
    perm = np.random.default_rng(0).permutation(len(X))
    kw = dict(beta=0.05, method=method, time_limit=2.0 if method == "bracket" else None)
    a = solve(X[perm], y[perm], sample_weight=W[perm], **kw)
    b = solve(Xr, yr, **kw)
    grid = np.random.default_rng(1).uniform(-1, 1, (50, 2))
    assert np.array_equal(a.network.predict(grid), b.network.predict(grid))
    assert a.objective == pytest.approx(b.objective, rel=1e-12)
    assert a.lower_bound == pytest.approx(b.lower_bound, rel=1e-12, abs=1e-12)
    assert b.multipliers.shape[0] == len(Xr) and a.multipliers.shape[0] == len(X)
    group = np.repeat(np.arange(len(X)), W)
    summed = np.zeros_like(a.multipliers)
    np.add.at(summed, group, b.multipliers)
    assert summed == pytest.approx(a.multipliers[np.argsort(perm)], abs=1e-12)
