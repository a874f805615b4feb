"""Vector outputs (a 2-D Y): one hidden layer shared by k outputs, penalty
beta * sum_j ||a_j||_2 ||w_j||_1, against a group lasso over every ray, closed forms,
and the one-output solver."""

import numpy as np
import pytest

import exactrelu
from exactrelu import ReLUNetwork
from exactrelu._cone import solve_clarabel
from exactrelu.errors import (
    ConflictingTargetsError,
    InputError,
    NonFiniteError,
    NotSupportedError,
    ShapeError,
)
from exactrelu.problem import make_problem
from exactrelu.vector import VectorPricer, group_lasso_program

LOSSES = ["squared", "absolute", "hinge", "interpolate"]


def _data(n, k, loss, seed=0, d=2):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d))
    Y = np.stack([np.sin(2 * X[:, 0] + j) + X[:, -1] ** 2 * (j - 1) for j in range(k)], axis=1)
    Y = Y + 0.1 * rng.normal(size=Y.shape)
    if loss == "hinge":
        Y = np.where(Y > np.median(Y, axis=0), 1.0, -1.0)
    return X, Y


def _all_rays_optimum(X, Y, loss, beta, bias, skip):
    """The group lasso over every ray of the refined arrangement (Clarabel)."""
    prob = make_problem(X, Y, loss, beta, bias, skip, outputs=True)
    pricer = VectorPricer(prob)
    Phi = pricer.columns(np.arange(pricer.n_rays))
    problem, _, _ = group_lasso_program(X, Y, None, loss, prob.beta, skip, Phi)
    value, _ = solve_clarabel(problem, inaccurate_ok=True)
    return value


@pytest.mark.parametrize("loss,bias,skip", [
    (loss, bias, skip) for loss in LOSSES
    for bias, skip in [(True, False), (True, True), (False, False)]
    if bias or loss != "interpolate"])      # (refused: needs neuron biases)
def test_equals_group_lasso_over_all_rays(loss, bias, skip):
    X, Y = _data(9, 3, loss, seed=1)
    beta = 0.3
    sol = exactrelu.solve(X, Y, loss=loss, beta=beta, bias=bias, skip=skip)
    assert sol.certified and sol.status == "optimal" and sol.method == "colgen"
    ref = _all_rays_optimum(X, Y, loss, beta, bias, skip)
    assert abs(sol.objective - ref) <= 1e-6 * max(1.0, abs(ref))
    net = sol.network
    assert net.multi_output and net.n_outputs == 3
    assert net.a.shape == (net.n_neurons, 3) and np.shape(net.c) == (3,)
    assert net.predict(X).shape == (9, 3)
    assert net.objective(X, Y, loss=loss, beta=beta) == pytest.approx(sol.objective, rel=1e-12)
    if not bias:
        assert np.all(net.b == 0)
    if loss == "interpolate":
        assert np.abs(net.predict(X) - Y).max() <= 1e-6 * np.abs(Y).max()
    assert sol.multipliers.shape == (9, 3)


def test_identical_outputs_closed_form():
    """Y = [y, y]: ||(a, a)||_2 = sqrt(2) |a|, so OPT = 2 * OPT_scalar(beta / sqrt 2)."""
    X, Y = _data(15, 1, "squared", seed=4)
    y = Y[:, 0]
    beta = 0.4
    two = exactrelu.solve(X, np.c_[y, y], beta=beta)
    one = exactrelu.solve(X, y, beta=beta / np.sqrt(2))
    assert two.certified and one.certified
    assert two.objective == pytest.approx(2 * one.objective, rel=1e-6)


def test_one_column_is_the_scalar_problem():
    X, Y = _data(12, 1, "squared", seed=2)
    a = exactrelu.solve(X, Y, beta=0.2)             # shape (n, 1): one output
    b = exactrelu.solve(X, Y[:, 0], beta=0.2)
    assert not a.network.multi_output
    assert a.objective == b.objective


def test_sample_weights_equal_repeats():
    X, Y = _data(10, 2, "absolute", seed=3)
    w = np.random.default_rng(0).integers(1, 4, size=10)
    a = exactrelu.solve(X, Y, loss="absolute", beta=0.2, sample_weight=w)
    b = exactrelu.solve(np.repeat(X, w, axis=0), np.repeat(Y, w, axis=0), loss="absolute",
                        beta=0.2)
    assert a.certified and b.certified
    assert a.objective == pytest.approx(b.objective, rel=1e-6)


def test_rescaled_data_same_optimum():
    X, Y = _data(10, 2, "squared", seed=5)
    a = exactrelu.solve(X, Y, beta=0.3)
    # X * 2^20 with beta * 2^20 ... and Y * 2^-30 with beta * 2^-30: objective * 2^-60
    b = exactrelu.solve(X * 2.0**20, Y * 2.0**-30, beta=0.3 * 2.0**-10)
    assert b.certified
    assert b.objective == pytest.approx(a.objective * 2.0**-60, rel=1e-6)


def test_bad_input():
    X, Y = _data(6, 3, "squared")
    with pytest.raises(NotSupportedError, match="copositive"):
        exactrelu.solve(X, Y, penalty="l2")
    for method in ("full", "cells", "bracket"):
        with pytest.raises(NotSupportedError, match="method='colgen'"):
            exactrelu.solve(X, Y, method=method)
    with pytest.raises(ShapeError):
        exactrelu.solve(X, Y[:5])
    with pytest.raises(ShapeError):
        exactrelu.solve(X, np.zeros((6, 2, 2)))
    bad = Y.copy()
    bad[2, 1] = np.nan
    with pytest.raises(NonFiniteError, match=r"\[2, 1\]"):
        exactrelu.solve(X, bad)
    with pytest.raises(InputError, match="hinge"):
        exactrelu.solve(X, Y, loss="hinge")
    Xd = np.vstack([X, X[:1]])
    Yd = np.vstack([Y, Y[:1] + [[0.0, 1.0, 0.0]]])
    with pytest.raises(ConflictingTargetsError):
        exactrelu.solve(Xd, Yd, loss="interpolate")
    with pytest.raises(NotSupportedError, match="bias=True"):
        exactrelu.solve(X, Y, loss="interpolate", bias=False)


def test_constant_targets_need_no_neurons():
    X, _ = _data(8, 2, "squared")
    Y = np.tile([1.0, -2.0], (8, 1))
    sol = exactrelu.solve(X, Y, beta=0.1)
    assert sol.certified and sol.network.n_neurons == 0
    assert sol.network.predict(X) == pytest.approx(Y)


def test_vector_network_object():
    net = ReLUNetwork(W=[[1.0, 0.0], [0.5, -1.0]], b=[0.0, 1.0], a=[[1.0, -2.0], [0.5, 0.5]],
                      c=[0.1, 0.2], s=[[1.0, 0.0], [0.0, 1.0]])
    X = np.random.default_rng(0).normal(size=(5, 2))
    f = net.predict(X)
    H = np.maximum(X @ net.W.T + net.b, 0)
    assert f == pytest.approx(H @ net.a + net.c + X @ net.s)
    assert net.penalty("l1") == pytest.approx(np.linalg.norm([1, -2]) * 1 + np.linalg.norm(
        [0.5, 0.5]) * 1.5)
    assert ReLUNetwork.from_dict(net.to_dict()) == net
    assert net.merged().predict(X) == pytest.approx(f)
    assert net.balanced().penalty() == pytest.approx(net.penalty())
    with pytest.raises(ShapeError):
        ReLUNetwork(W=[[1.0]], b=[0.0], a=[[1.0, 2.0]], c=[0.0, 0.0, 0.0])
    with pytest.raises(ShapeError):
        ReLUNetwork(W=[[1.0]], b=[0.0], a=[1.0], c=[0.0, 1.0])
    empty = ReLUNetwork(np.zeros((0, 2)), [], np.zeros((0, 3)), [1.0, 2.0, 3.0])
    assert ReLUNetwork.from_dict(empty.to_dict()) == empty
    assert "n_outputs=3" in repr(empty)


def test_vector_network_torch_roundtrip():
    torch = pytest.importorskip("torch")
    net = ReLUNetwork(W=[[1.0, 0.0], [0.5, -1.0]], b=[0.0, 1.0], a=[[1.0, -2.0], [0.5, 0.5]],
                      c=[0.1, 0.2])
    X = np.random.default_rng(0).normal(size=(5, 2))
    mod = net.to_torch()
    out = mod(torch.as_tensor(X)).detach().numpy()
    assert out.shape == (5, 2) and out == pytest.approx(net.predict(X))
    assert ReLUNetwork.from_torch(mod) == net


def test_estimators_multioutput_and_multiclass():
    pytest.importorskip("sklearn")
    from exactrelu.estimators import ExactReLUClassifier, ExactReLURegressor

    X, Y = _data(12, 2, "squared", seed=6)
    reg = ExactReLURegressor(beta=0.2).fit(X, Y)
    assert reg.certified_ and reg.predict(X).shape == (12, 2)
    rng = np.random.default_rng(1)
    X = rng.normal(size=(18, 2))
    labels = np.array(["x", "y", "z"])[np.argmax(X @ rng.normal(size=(2, 3)), axis=1)]
    clf = ExactReLUClassifier(beta=0.05).fit(X, labels)
    assert clf.certified_ and list(clf.classes_) == ["x", "y", "z"]
    dec = clf.decision_function(X)
    assert dec.shape == (18, 3)
    assert np.array_equal(clf.predict(X), clf.classes_[np.argmax(dec, axis=1)])
    codes = np.where(labels[:, None] == clf.classes_[None, :], 1.0, -1.0)
    direct = exactrelu.solve(X, codes, loss="hinge", beta=0.05)
    assert clf.objective_ == pytest.approx(direct.objective, rel=1e-9)
    assert np.mean(clf.predict(X) == labels) >= 0.9
    with pytest.raises(NotSupportedError, match="penalty='l1'"):
        ExactReLUClassifier(beta=0.05, penalty="l2").fit(X, labels)


def test_time_limit_is_a_budget_with_a_valid_bracket():
    """With time_limit the vector solve brackets the optimum instead of raising; where
    the rays are not stored (max_rays tiny) the columns are heuristic and the bound is
    the split one, sqrt(sum_c M_c^2): still a valid bracket."""
    X, Y = _data(12, 3, "squared", seed=7)
    exact = exactrelu.solve(X, Y, beta=0.3)
    closed = exactrelu.solve(X, Y, beta=0.3, time_limit=60)
    assert closed.certified and closed.status == "optimal"
    assert closed.objective == pytest.approx(exact.objective, rel=1e-6)
    a = exactrelu.solve(X, Y, beta=0.3, time_limit=2.0, max_rays=10)
    b = exactrelu.solve(X, Y, beta=0.3, time_limit=2.0, max_rays=10)
    assert a.status in ("bracket", "optimal")
    tol = 1e-7 * max(1.0, exact.objective)
    assert a.lower_bound <= exact.objective + tol <= a.objective + 2 * tol
    assert a.network == b.network        # the budget is charged by modeled work


def test_budget_on_data_too_large_for_exact_pricing():
    """10 features: the refined rays are far too many to store in a 2 s budget."""
    rng = np.random.default_rng(0)
    X = rng.normal(size=(11, 10))
    Y = X[:, :3] ** 2 + 0.1 * rng.normal(size=(11, 3))
    sol = exactrelu.solve(X, Y, beta=1.0, time_limit=2.0)
    assert sol.status in ("bracket", "optimal")
    assert 0 <= sol.lower_bound <= sol.objective
    assert sol.network.predict(X).shape == (11, 3)
