"""Exact training (issue 3): the three methods agree, are certified and sparse.

Every check here can fail: the cross-method agreement would catch a missing
coordinate hyperplane (the ray LP optimum would be strictly larger), a missing
constant column, a wrong pricing sign or a wrong loss block; beta is at most half of
``beta_max`` so that the optimum is never the affine fit (asserted too).
"""

import itertools
import math
import warnings

import numpy as np
import pytest

import exactrelu
from exactrelu import beta_max, solve
from exactrelu.errors import (
    ConflictingTargetsError,
    InfeasibleError,
    InputError,
    NotSupportedError,
    SizeError,
    TimeLimitError,
)

LOSSES = ["interpolate", "squared", "absolute", "hinge"]
METHODS = ["full", "colgen", "cells"]


def _targets(X, seed):
    rng = np.random.default_rng(seed)
    v = rng.normal(size=X.shape[1])
    # a deterministic function of x: duplicated points get equal targets
    return np.cos(1.7 * X @ v) + 0.5 * (X[:, 0] > X[:, 0].mean())


def _dataset(name):
    rng = np.random.default_rng(sum(map(ord, name)))
    if name == "rand1":
        X = rng.normal(size=(8, 1))
    elif name == "rand2":
        X = rng.normal(size=(8, 2))
    elif name == "rand3":
        X = rng.normal(size=(7, 3))
    elif name == "grid1":      # integers with a duplicated point
        X = np.array([[0.0], [1.0], [2.0], [2.0], [3.0], [5.0]])
    elif name == "grid2":      # 3 x 3 integer grid (collinear triples) plus a duplicate
        X = np.array(list(itertools.product(range(3), range(3))) + [(1, 1)], float)
    elif name == "grid3":      # cube corners plus a duplicate
        X = np.array(list(itertools.product(range(2), repeat=3)) + [(1, 0, 1)], float)
    else:  # pragma: no cover
        raise ValueError(name)
    return X


DATASETS = ["rand1", "rand2", "rand3", "grid1", "grid2", "grid3"]


def _targets_for(X, loss):
    if loss == "hinge":
        # labels that are not linearly separable (else beta_max = 0): the parity of
        # integer points (checkerboard / XOR), inner against outer points otherwise
        if np.all(X == np.round(X)):
            return np.where(np.round(X).sum(axis=1) % 2 == 0, 1.0, -1.0)
        r = np.linalg.norm(X - X.mean(axis=0), axis=1)
        return np.where(r < np.median(r), 1.0, -1.0)
    return _targets(X, 7)


def _problem(name, loss, skip, bias=True, X=None):
    X = _dataset(name) if X is None else X
    y = _targets_for(X, loss)
    if loss == "interpolate":
        return X, y, 1.0
    bm = beta_max(X, y, loss=loss, bias=bias, skip=skip)
    assert bm > 0
    return X, y, bm / 2


def _rel(a, b):
    return abs(a - b) / max(1.0, abs(a), abs(b))


def _check_solution(sol, X, y, loss, beta, penalty="l1"):
    n = X.shape[0]
    net = sol.network
    # the network's own objective is the reported objective
    assert net.objective(X, y, loss=loss, beta=beta, penalty=penalty) == pytest.approx(
        sol.objective, rel=1e-12, abs=1e-12)
    assert sol.certified, sol
    assert sol.status == "optimal"
    assert sol.gap <= 1e-6 * max(1.0, abs(sol.objective))
    assert sol.gap >= -1e-6 * max(1.0, abs(sol.objective))
    assert net.n_neurons <= n
    if loss == "interpolate":
        tol = 1e-7 * max(1.0, np.abs(y).max())
        assert np.abs(net.predict(X) - y).max() <= tol


@pytest.mark.parametrize("skip", [False, True])
@pytest.mark.parametrize("loss", LOSSES)
@pytest.mark.parametrize("name", DATASETS)
def test_methods_agree_certified(name, loss, skip):
    X, y, beta = _problem(name, loss, skip)
    sols = {}
    for method in METHODS:
        sol = solve(X, y, loss=loss, beta=beta, skip=skip, method=method)
        _check_solution(sol, X, y, loss, beta)
        assert sol.method == method
        sols[method] = sol
    ref = sols["full"].objective
    for method in ("colgen", "cells"):
        assert _rel(sols[method].objective, ref) <= 1e-7, (method, sols[method].objective, ref)
    if loss != "interpolate":
        # beta <= beta_max / 2: the optimum uses neurons, i.e. it is not the affine fit
        assert sols["full"].network.n_neurons >= 1


@pytest.mark.parametrize("loss", ["squared", "absolute", "hinge"])
@pytest.mark.parametrize("skip", [False, True])
def test_beta_max_is_the_threshold(loss, skip):
    X, y, beta = _problem("rand2", loss, skip)
    bm = 2 * beta
    above = solve(X, y, loss=loss, beta=bm * (1 + 1e-6), skip=skip)
    assert above.network.n_neurons == 0
    below = solve(X, y, loss=loss, beta=bm * 0.9, skip=skip)
    assert below.network.n_neurons >= 1
    assert below.objective < above.objective


@pytest.mark.parametrize("loss", LOSSES)
@pytest.mark.parametrize("name", ["rand2", "grid2"])
def test_no_bias(name, loss):
    X = _dataset(name) + (np.array([0.5, 0.25]) if name == "grid2" else 0.0)  # origin off the grid
    X, y, beta = _problem(name, loss, True, bias=False, X=X)
    objs = []
    for method in METHODS:
        sol = solve(X, y, loss=loss, beta=beta, bias=False, skip=True, method=method)
        _check_solution(sol, X, y, loss, beta)
        assert np.all(sol.network.b == 0)
        objs.append(sol.objective)
    assert max(objs) - min(objs) <= 1e-7 * max(1.0, abs(objs[0]))


@pytest.mark.parametrize("loss", LOSSES)
@pytest.mark.parametrize("name", ["rand1", "grid1", "rand2", "grid2", "rand3"])
def test_l2_between_l1_bounds(name, loss):
    X, y, beta = _problem(name, loss, False)
    d = X.shape[1]
    l1 = solve(X, y, loss=loss, beta=beta, penalty="l1")
    l2 = solve(X, y, loss=loss, beta=beta, penalty="l2")
    _check_solution(l2, X, y, loss, beta, penalty="l2")
    assert l2.method == ("cells" if d >= 4 else "colgen")
    tol = 1e-7 * max(1.0, l1.objective)
    assert l2.objective <= l1.objective + tol
    assert l1.objective <= math.sqrt(d) * l2.objective + tol
    if d == 1:
        assert _rel(l1.objective, l2.objective) <= 1e-7
    # the cone program's own optimum agrees with the sparsified network
    if "cell_objective" in l2.sizes:
        assert _rel(l2.sizes["cell_objective"], l2.objective) <= 1e-7
    if d <= 3:   # weight decay by column generation equals the cell program
        cells = solve(X, y, loss=loss, beta=beta, penalty="l2", method="cells")
        assert _rel(cells.objective, l2.objective) <= 1e-6


def test_l2_strictly_below_l1_in_2d():
    X, y, _ = _problem("rand2", "interpolate", False)
    l1 = solve(X, y, loss="interpolate")
    l2 = solve(X, y, loss="interpolate", penalty="l2")
    assert l2.objective < l1.objective * (1 - 1e-3)


@pytest.mark.parametrize("loss", ["interpolate", "squared", "hinge"])
@pytest.mark.parametrize("penalty", ["l1", "l2"])
def test_patterns_all_and_subset(loss, penalty):
    X, y, beta = _problem("rand2", loss, False)
    opt = solve(X, y, loss=loss, beta=beta, penalty=penalty, method="cells").objective
    pats = exactrelu.enumerate_cells(X).patterns
    full = solve(X, y, loss=loss, beta=beta, penalty=penalty, patterns=pats)
    assert full.status == "restricted" and not full.certified
    assert _rel(full.objective, opt) <= 1e-7
    rng = np.random.default_rng(3)
    for frac in (0.3, 0.6):
        sub = pats[rng.random(len(pats)) < frac]
        try:
            s = solve(X, y, loss=loss, beta=beta, penalty=penalty, patterns=sub)
        except InfeasibleError:
            assert loss == "interpolate"   # too few patterns to interpolate: named error
            continue
        assert not s.certified and s.status == "restricted"
        assert s.objective >= opt - 1e-7 * max(1.0, opt)
        _check_net_objective(s, X, y, loss, beta, penalty)


def _check_net_objective(sol, X, y, loss, beta, penalty):
    assert sol.network.objective(X, y, loss=loss, beta=beta, penalty=penalty) == pytest.approx(
        sol.objective, rel=1e-12)


def test_small_pattern_subset_is_strictly_worse():
    X, y, beta = _problem("rand2", "squared", False)
    opt = solve(X, y, beta=beta).objective
    pats = exactrelu.enumerate_cells(X).patterns
    s = solve(X, y, beta=beta, patterns=pats[:3])
    assert s.objective > opt * (1 + 1e-6)
    assert s.lower_bound <= opt + 1e-9     # the l1 bound from pricing is still valid


def test_auto_and_example():
    X = np.array([[0.0], [1.0], [2.0]])
    y = np.array([0.0, 1.0, 0.0])
    sol = solve(X, y, loss="interpolate")
    assert sol.method == "colgen"
    assert sol.objective == pytest.approx(2.0, rel=1e-12)   # 1 - relu(x - 1) - relu(1 - x)
    assert sol.network.predict(X) == pytest.approx(y, abs=1e-12)
    assert solve(X, y, penalty="l2", beta=0.1).method == "colgen"
    X4 = np.random.default_rng(0).normal(size=(5, 4))
    assert solve(X4, [0.0, 1.0, 0.0, 1.0, 0.0], penalty="l2", beta=0.1).method == "cells"


def test_larger_colgen_matches_full():
    rng = np.random.default_rng(5)
    X = rng.normal(size=(40, 2))
    y = np.sin(2 * X[:, 0]) + X[:, 1] ** 2 + 0.1 * rng.normal(size=40)
    beta = beta_max(X, y) / 10
    a = solve(X, y, beta=beta, method="colgen")
    b = solve(X, y, beta=beta, method="full")
    assert a.certified and b.certified
    assert _rel(a.objective, b.objective) <= 1e-7
    assert a.sizes["columns"] < b.sizes["columns"]
    assert a.network.n_neurons <= 40 and b.network.n_neurons <= 40


# ----------------------------------------------------------------------------- errors

def test_conflicting_targets():
    X = np.array([[0.0], [1.0], [1.0], [2.0]])
    y = np.array([0.0, 1.0, 2.0, 0.0])
    with pytest.raises(ConflictingTargetsError) as info:
        solve(X, y, loss="interpolate")
    assert info.value.rows == [(1, 2)]
    # the regularized problems are fine with it
    assert solve(X, y, beta=0.1).certified


@pytest.mark.parametrize("method", METHODS)
def test_infeasible_interpolation_without_bias(method):
    # f(t x) = t f(x) - (t - 1) c on a ray from the origin: three points on it with
    # non-collinear targets cannot be interpolated without neuron biases
    X = np.array([[1.0, 1.0], [2.0, 2.0], [3.0, 3.0], [1.0, -1.0]])
    y = np.array([0.0, 1.0, 0.0, 0.0])
    with pytest.raises(InfeasibleError) as info:
        solve(X, y, loss="interpolate", bias=False, method=method)
    if method != "cells":
        assert set(info.value.rows) >= {0, 1, 2}
        assert 3 not in info.value.rows
    # with biases it is feasible
    assert solve(X, y, loss="interpolate", method=method).certified


def test_size_errors():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(30, 2))
    y = rng.normal(size=30)
    with pytest.raises(SizeError) as info:
        solve(X, y, method="full", max_rays=1000)
    assert info.value.estimate > 1000
    with pytest.raises(SizeError) as info:
        solve(X, y, method="colgen", max_rays=100)
    assert info.value.estimate > 100
    with pytest.raises(SizeError) as info:
        solve(X, y, method="cells", max_cells=1000)
    assert info.value.estimate > 1000
    X10 = rng.normal(size=(40, 10))
    with pytest.raises(SizeError):
        solve(X10, rng.normal(size=40), method="colgen")


def test_time_limit():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(30, 2))
    with pytest.raises(TimeLimitError):
        solve(X, rng.normal(size=30), time_limit=1e-9)


@pytest.mark.parametrize("kwargs", [
    {"loss": "logistic"}, {"beta": 0.0}, {"beta": -1.0}, {"beta": float("nan")},
    {"penalty": "l3"}, {"method": "simplex"}, {"time_limit": 0}, {"threads": 0},
    {"patterns": np.ones((2, 5), bool), "method": "colgen"},
    {"patterns": np.ones((2, 4), bool)},
])
def test_bad_arguments(kwargs):
    X = np.array([[0.0], [1.0], [2.0], [3.0], [4.0]])
    y = np.array([0.0, 1.0, 0.0, 1.0, 0.0])
    with pytest.raises(InputError):
        solve(X, y, **kwargs)


def test_hinge_needs_pm1_and_l2_needs_cells():
    X = np.array([[0.0], [1.0], [2.0]])
    with pytest.raises(InputError):
        solve(X, [0.0, 1.0, 0.0], loss="hinge")
    with pytest.raises(NotSupportedError, match="d <= 3"):
        solve(np.eye(4), [0.0, 1.0, 0.0, 1.0], penalty="l2", method="colgen")
    for method in ("full", "bracket"):
        with pytest.raises(NotSupportedError, match="l1 path norm only"):
            solve(X, [0.0, 1.0, 0.0], penalty="l2", method=method)


def test_status_map_covers_highs():
    import highspy

    from exactrelu._highs import STATUS_MAP

    names = set(highspy.HighsModelStatus.__members__)
    assert names <= set(STATUS_MAP)
    assert STATUS_MAP["kOptimal"] is None
    assert all(v is not None for k, v in STATUS_MAP.items() if k != "kOptimal")


def test_no_warning_on_certified_solution():
    X, y, beta = _problem("rand2", "squared", False)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        solve(X, y, beta=beta)


@pytest.mark.parametrize("loss", LOSSES)
def test_pool_pricing_path_agrees(loss, monkeypatch):
    """Column generation that prices a pool of nearby/random rays before the exact
    pass (the large-arrangement path) reaches the same certified optimum."""
    import exactrelu.pricing as pricing

    monkeypatch.setattr(pricing, "POOL_WORK", 0)
    X, y, beta = _problem("rand3", loss, False)
    a = solve(X, y, loss=loss, beta=beta, method="colgen")
    _check_solution(a, X, y, loss, beta)
    assert a.sizes["pool_pricing_passes"] >= 1
    b = solve(X, y, loss=loss, beta=beta, method="full")
    assert _rel(a.objective, b.objective) <= 1e-7
    if loss != "interpolate":
        assert beta_max(X, y, loss=loss) == pytest.approx(2 * beta, rel=1e-9)


def test_ray_program_rebuild_with_other_shift():
    """The QP fallback (rebuilding the rows without the shift) solves the same program."""
    from exactrelu.pricing import ExactPricer
    from exactrelu.problem import Problem
    from exactrelu.programs import RayProgram

    X, y, beta = _problem("rand2", "squared", False)
    prob = Problem(X, y, "squared", beta, True, False)
    scores, dirs, _ = ExactPricer(prob)(y - y.mean(), 30)
    rp = RayProgram(prob)
    rp.add(dirs, np.sign(scores))
    rp.run()
    obj, lam, fit = rp.objective, rp.lam, rp.fit()
    assert rp.shift > 0
    rp._build(0.0)
    rp.run()
    assert rp.objective == pytest.approx(obj, rel=1e-9)
    assert rp.lam == pytest.approx(lam, abs=1e-9)
    assert rp.fit() == pytest.approx(fit, abs=1e-9)


def test_restricted_squared_loss_is_never_infeasible():
    """A squared-loss program restricted to any patterns is feasible (no neurons is a
    solution): two sampled gates, one active on every point, gave a cell solution with a
    1e-10 coefficient on which HiGHS misjudged the sparsifying LP as infeasible."""
    from exactrelu import sampling, sizes

    cfg = sizes.SweepConfig()
    ds = sizes.make_data("gaussian", 30, 2, seed=cfg.seed)
    y = np.random.default_rng([cfg.seed, 7, 30]).standard_normal(30)
    y = (y - y.mean()) / y.std()
    beta = cfg.price_beta_fraction * beta_max(ds.X, y)
    stream = sampling.sample_patterns(ds.X, 50, seed=cfg.seed, unique=False,
                                      standardize=cfg.standardize_gates)
    opt = solve(ds.X, y, loss="squared", beta=beta).objective
    for m in (1, 2, 5):
        sol = solve(ds.X, y, loss="squared", beta=beta, method="cells", patterns=stream[:m])
        assert not sol.certified
        assert sol.objective >= opt * (1 - 1e-9)
        assert sol.network.objective(ds.X, y, loss="squared", beta=beta) == pytest.approx(
            sol.objective, rel=1e-12)


@pytest.mark.parametrize("method", [m for m in METHODS if m not in ("auto", "bracket")])
def test_huge_problem_is_refused_from_the_bound(method):
    """No exact count is attempted when Cover's bound is astronomically large: the
    refusal names the estimate at once (the count itself would run for hours)."""
    X = np.random.default_rng(0).normal(size=(3000, 6))
    with pytest.raises(SizeError) as info:
        solve(X, np.zeros(3000), method=method)
    assert info.value.estimate > info.value.limit
