"""The simplicial branch and bound (docs/design.md section 10): its bound is never
below the exact pricing maximum, it is tight when the search is proven, its best ray
scores what the data give, and the result does not depend on the threads."""

import numpy as np
import pytest

from degenerate_data import random_data, random_pricing_case
from exactrelu import _core
from exactrelu.certificate import project_multiplier
from exactrelu.columns import relu_columns
from exactrelu.errors import InputError, NonFiniteError, ShapeError, SizeError
from exactrelu.pricing import ExactPricer
from exactrelu.problem import make_problem
from exactrelu.simplicial import SimplicialBound

KINDS = ("gaussian", "grid", "duplicates", "rank-deficient", "scaled")


def test_bound_is_never_below_the_exact_maximum():
    """1500 small problems (with and without neuron biases), multipliers of every
    scale, node limits from a handful to enough: the bound is at least the exact
    maximum over every ray; proven searches are tight; the best ray scores what the
    data give and never more than the maximum."""
    rng = np.random.default_rng(7)
    n_proven = 0
    for case in range(1500):
        kind = KINDS[case % len(KINDS)]
        n, d = int(rng.integers(2, 14)), int(rng.integers(1, 5))
        prob, lam, M = random_pricing_case(rng, kind, n, d, bool(case % 3))
        node_limit = int(rng.choice([2, 50, 200_000]))
        res = SimplicialBound(prob).bound(lam, node_limit=node_limit)
        scale = np.abs(lam).sum() * (1 + np.abs(prob.X).max(initial=0))
        assert res.upper >= M * (1 - 1e-13) - 1e-300, (case, kind, res.upper, M)
        assert res.best <= M * (1 + 1e-12) + 1e-13 * scale
        if res.direction is not None:
            sc = float((relu_columns(prob.A, res.direction[None, :]).T @ lam)[0])
            assert abs(sc - res.score) <= 1e-13 * scale and abs(res.score) == res.best
        if node_limit == 200_000:    # enough for every one of these sizes
            assert res.proven, (case, kind, res.nodes)
        if res.proven:
            n_proven += 1
            assert res.upper <= M * (1 + 1e-9) + 1e-12 * scale, (case, kind, res.upper, M)
    assert n_proven > 500


@pytest.mark.parametrize("kind", KINDS)
def test_pruning_level_bounds_the_search_from_below(kind):
    """With a target above the maximum the search proves upper <= about the target,
    with one below it the exact maximum (both valid)."""
    rng = np.random.default_rng(len(kind))
    X = random_data(rng, kind, 40, 3)
    prob = make_problem(X, rng.normal(size=40), "squared", 1.0, True, False)
    lam = project_multiplier(prob, rng.normal(size=40))
    M, _ = ExactPricer(prob).max_abs(lam)
    sb = SimplicialBound(prob)
    hi = sb.bound(lam, target=2 * M)
    assert hi.proven and M <= hi.upper <= 2 * M * (1 + 1e-9)
    lo = sb.bound(lam, target=0.5 * M)
    assert lo.proven and M <= lo.upper <= M * (1 + 1e-9)
    assert abs(lo.best - M) <= 1e-9 * M


def test_threads_do_not_change_the_result():
    rng = np.random.default_rng(3)
    X = rng.normal(size=(300, 3))
    A = np.hstack([X, np.ones((300, 1))])
    lam = rng.normal(size=300)
    lam -= lam.mean()
    R = float(np.abs(X).max())
    one = _core.simplex_search(A, lam, True, R, 0.0, 0.0, 20_000, 5, 1)
    two = _core.simplex_search(A, lam, True, R, 0.0, 0.0, 20_000, 5, 2)
    assert one[:5] == two[:5]
    np.testing.assert_array_equal(one[5], two[5])
    np.testing.assert_array_equal(one[6], two[6])


def test_bad_input_is_refused_with_named_errors():
    A = np.ones((3, 2))
    lam = np.zeros(3)
    with pytest.raises(ShapeError):
        _core.simplex_search(A, np.zeros(2), True, 1.0, 0.0, 0.0, 10)
    with pytest.raises(NonFiniteError):
        _core.simplex_search(A, np.array([0.0, np.nan, 0.0]), True, 1.0, 0.0, 0.0, 10)
    with pytest.raises(NonFiniteError):
        _core.simplex_search(np.full((3, 2), np.inf), lam, True, 1.0, 0.0, 0.0, 10)
    with pytest.raises(InputError):
        _core.simplex_search(A, lam, True, -1.0, 0.0, 0.0, 10)
    with pytest.raises(InputError):
        _core.simplex_search(A, lam, True, 1.0, 0.0, 0.0, 0)
    with pytest.raises(SizeError):
        _core.simplex_search(np.ones((3, 20)), lam, True, 1.0, 0.0, 0.0, 10)
    with pytest.raises(ShapeError):
        _core.simplex_search(np.ones((3, 1)), lam, True, 1.0, 0.0, 0.0, 10)
