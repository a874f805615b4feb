"""ReLUNetwork: evaluation, penalties, merging, export."""

import json

import numpy as np
import pytest

from exactrelu import ReLUNetwork, solve
from exactrelu.errors import InputError, ShapeError


def _net(seed=0, m=5, d=2, skip=True):
    rng = np.random.default_rng(seed)
    return ReLUNetwork(rng.normal(size=(m, d)), rng.normal(size=m), rng.normal(size=m),
                       rng.normal(), rng.normal(size=d) if skip else None)


def test_predict_matches_formula():
    net = _net()
    X = np.random.default_rng(1).normal(size=(7, 2))
    f = np.maximum(X @ net.W.T + net.b, 0) @ net.a + net.c + X @ net.s
    assert net.predict(X) == pytest.approx(f, rel=1e-14)
    assert net(X) == pytest.approx(f, rel=1e-14)
    assert net.hidden(X).shape == (7, 5)


def test_penalties_and_objective():
    net = ReLUNetwork([[3.0, -4.0]], [1.0], [-2.0], 0.5)
    assert net.penalty("l1") == pytest.approx(14.0)
    assert net.penalty("l2") == pytest.approx(10.0)
    X = np.array([[0.0, 0.0], [1.0, 1.0]])
    y = np.array([0.0, 0.0])
    f = net.predict(X)
    assert net.objective(X, y, loss="squared", beta=0.5) == pytest.approx(
        0.5 * (f @ f) + 7.0)
    assert net.objective(X, y, loss="absolute", beta=1.0, penalty="l2") == pytest.approx(
        np.abs(f).sum() + 10.0)
    assert net.objective(X, np.array([1.0, -1.0]), loss="hinge", beta=1.0) == pytest.approx(
        max(0, 1 - f[0]) + max(0, 1 + f[1]) + 14.0)
    assert net.objective(X, y, loss="interpolate") == np.inf
    assert net.objective(X, f, loss="interpolate") == pytest.approx(14.0)
    with pytest.raises(InputError):
        net.penalty("l3")
    with pytest.raises(InputError):
        net.objective(X, y, loss="hinge")        # labels not in {-1, +1}


def test_merge_same_direction():
    # three neurons on one direction (positive multiples) and a constant neuron
    W = [[1.0, 2.0], [2.0, 4.0], [-1.0, 0.5], [0.0, 0.0]]
    b = [1.0, 2.0, 0.3, 2.0]
    a = [1.0, -0.25, 2.0, 3.0]
    net = ReLUNetwork(W, b, a, 0.1)
    m = net.merged()
    X = np.random.default_rng(0).normal(size=(20, 2)) * 3
    assert m.predict(X) == pytest.approx(net.predict(X), rel=1e-12, abs=1e-12)
    assert m.n_neurons == 2
    assert m.c == pytest.approx(0.1 + 3.0 * 2.0)
    assert m.penalty("l1") <= net.penalty("l1") + 1e-12
    # balanced by powers of two: |a| and ||w||_1 within a factor 2
    ratio = np.abs(m.a) / np.abs(m.W).sum(axis=1)
    assert np.all((ratio >= 0.5 - 1e-12) & (ratio <= 2 + 1e-12))


def test_merge_cancelling_neurons():
    net = ReLUNetwork([[1.0], [2.0]], [0.5, 1.0], [1.0, -0.5])
    m = net.merged()
    assert m.n_neurons == 0
    assert m.predict(np.array([[1.0], [-3.0]])) == pytest.approx([0.0, 0.0])


@pytest.mark.parametrize("skip", [False, True])
def test_dict_roundtrip(skip):
    net = _net(skip=skip)
    d = json.loads(json.dumps(net.to_dict()))
    back = ReLUNetwork.from_dict(d)
    assert back == net
    assert ReLUNetwork.from_dict(json.dumps(net.to_dict())) == net
    empty = ReLUNetwork(np.zeros((0, 3)), [], [], 1.5)
    back = ReLUNetwork.from_dict(empty.to_dict())
    assert back.n_features == 3 and back.n_neurons == 0
    assert back.predict(np.zeros((2, 3))) == pytest.approx([1.5, 1.5])
    with pytest.raises(InputError):
        ReLUNetwork.from_dict({"W": [[1.0]]})


def test_shape_errors():
    with pytest.raises(ShapeError):
        ReLUNetwork([[1.0, 2.0]], [0.0, 1.0], [1.0])
    with pytest.raises(ShapeError):
        ReLUNetwork([[1.0, 2.0]], [0.0], [1.0], 0.0, [1.0])
    with pytest.raises(InputError):
        ReLUNetwork([[np.nan]], [0.0], [1.0])
    with pytest.raises(ShapeError):
        _net().predict(np.zeros((3, 5)))


def test_solution_network_is_balanced_and_exported():
    X = np.array([[0.0], [1.0], [2.0], [3.0]])
    y = np.array([0.0, 1.0, 0.0, 2.0])
    sol = solve(X, y, loss="interpolate")
    net = sol.network
    # balanced by powers of two (exact): |a_j| and ||w_j||_1 agree within a factor 2
    ratio = np.abs(net.a) / np.abs(net.W).sum(axis=1)
    assert np.all((ratio >= 0.5 - 1e-12) & (ratio <= 2 + 1e-12))
    back = ReLUNetwork.from_dict(net.to_dict())
    assert back.objective(X, y, loss="interpolate") == pytest.approx(sol.objective, rel=1e-12)
    # neuron directions are pairwise distinct
    theta = np.hstack([net.W, net.b[:, None]]) / np.abs(net.W).sum(axis=1, keepdims=True)
    assert len(np.unique(np.round(theta, 9), axis=0)) == net.n_neurons


def test_to_torch_without_torch_is_a_clear_error(monkeypatch):
    import sys

    from exactrelu.errors import NotSupportedError

    monkeypatch.setitem(sys.modules, "torch", None)     # import torch -> ImportError
    net = ReLUNetwork(W=[[1.0]], b=[0.0], a=[1.0])
    with pytest.raises(NotSupportedError, match="pip install 'exactrelu\\[torch\\]'"):
        net.to_torch()
