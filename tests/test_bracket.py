"""The bracket (docs/design.md section 10): a MIP bound on the pricing maximum that
is never below the exact maximum, lower bounds never above the exact optimum, and a
budget that returns instead of raising."""

import warnings

import numpy as np
import pytest

import exactrelu
from degenerate_data import random_data, random_pricing_case
from exactrelu.certificate import project_multiplier
from exactrelu.methods import choose_method
from exactrelu.mip import PricingMIP
from exactrelu.problem import make_problem

KINDS = ("gaussian", "grid", "duplicates", "rank-deficient")


def test_mip_bound_is_never_below_the_exact_maximum():
    """2000 small problems, random multipliers, time limits from generous to cut off
    at the root: the returned bound is at least the maximum over every ray, and its
    incumbent's score is what the data give."""
    rng = np.random.default_rng(2026)
    for case in range(2000):
        kind = KINDS[case % len(KINDS)]
        n, d = int(rng.integers(2, 12)), int(rng.integers(1, 4))
        prob, lam, M = random_pricing_case(rng, kind, n, d, bool(case % 5))
        limits = {"time_limit": float(rng.choice([1e-3, 0.05, 5.0]))}
        if case % 4 == 3:
            limits["node_limit"] = int(rng.integers(1, 20))     # stopped by work
        res = PricingMIP(prob).bound(lam, **limits)
        assert res.upper >= M * (1 - 1e-12) - 1e-300, (case, kind, res.upper, M)
        roundoff = 1e-12 * np.abs(lam).sum() * (1 + np.abs(prob.X).max(initial=0))
        assert res.best <= M * (1 + 1e-9) + roundoff
        if res.proven:     # tight, up to the solver's tolerances (relative to the data)
            slack = 1e-6 * np.abs(lam).sum() * (1 + 2 * np.abs(prob.X).max(initial=0))
            assert res.upper <= M + slack


@pytest.mark.parametrize("seed", range(24))
def test_bracket_contains_the_exact_optimum(seed):
    rng = np.random.default_rng(seed)
    kind = KINDS[seed % len(KINDS)]
    loss = ("squared", "absolute", "hinge")[seed % 3]
    n, d = int(rng.integers(6, 16)), int(rng.integers(1, 4))
    X = random_data(rng, kind, n, d)
    y = np.sin(X @ rng.normal(size=d)) + 0.1 * rng.normal(size=n)
    if loss == "hinge":
        y = np.where(y > np.median(y), 1.0, -1.0)
        if len(set(y)) < 2:
            y[0] = -y[0]
    bm = exactrelu.beta_max(X, y, loss=loss)
    beta = bm / 5 if bm > 0 else 1.0
    exact = exactrelu.solve(X, y, loss=loss, beta=beta, method="colgen")
    br = exactrelu.solve(X, y, loss=loss, beta=beta, method="bracket", time_limit=3.0)
    tol = 1e-9 * max(1.0, abs(exact.objective))
    assert br.lower_bound <= exact.objective + tol
    assert br.objective >= exact.objective - tol
    assert br.objective == br.network.objective(X, y, loss=loss, beta=beta)
    assert br.certified == (br.gap <= 1e-6 * max(1.0, abs(br.objective)))
    assert br.status == ("optimal" if br.certified else "bracket")
    assert br.method == "bracket"


def test_bracket_returns_at_the_budget_with_a_valid_interval():
    rng = np.random.default_rng(5)
    X = rng.normal(size=(120, 8))
    y = np.sin(X[:, 0]) + X[:, 1] * X[:, 2]
    with warnings.catch_warnings():
        warnings.simplefilter("error")      # an open bracket is not a warning
        sol = exactrelu.solve(X, y, beta=1.0, time_limit=2.0)
    assert sol.method == "bracket" and sol.status in ("bracket", "optimal")
    assert sol.timings["total"] < 2.0 + 5.0
    assert 0.0 <= sol.lower_bound <= sol.objective
    assert sol.multipliers is not None or sol.lower_bound == 0.0
    assert sol.objective == sol.network.objective(X, y, beta=1.0)


def test_auto_picks_exact_where_a_pass_fits():
    rng = np.random.default_rng(0)
    small = make_problem(rng.normal(size=(40, 2)), rng.normal(size=40), "squared", 1.0,
                         True, False)
    large = make_problem(rng.normal(size=(400, 10)), rng.normal(size=400), "squared", 1.0,
                         True, False)
    wide = make_problem(rng.normal(size=(30, 30)), rng.normal(size=30), "squared", 1.0,
                        True, False)
    assert choose_method(small, None) == "colgen"
    assert choose_method(large, None) == "bracket"
    assert choose_method(wide, None) == "bracket"       # more columns than the core takes
    assert choose_method(small, None, max_rays=10) == "bracket"
    sol = exactrelu.solve(rng.normal(size=(20, 2)), rng.normal(size=20), beta=0.1)
    assert sol.method == "colgen" and sol.certified


def test_certify_with_the_mip_bound_is_valid():
    """Where exact pricing does not fit, certify bounds the pricing maximum by the
    MIP: the bound is below the exact one's optimum and never above the network."""
    rng = np.random.default_rng(1)
    X = rng.normal(size=(14, 2))
    y = np.abs(X[:, 0]) + 0.1 * rng.normal(size=14)
    sol = exactrelu.solve(X, y, beta=0.05)
    exact = exactrelu.certify(sol.network, X, y, beta=0.05)
    mip = exactrelu.certify(sol.network, X, y, beta=0.05, max_rays=1, time_limit=5.0)
    assert exact.exact and not mip.exact
    assert mip.lower_bound <= sol.objective + 1e-9
    assert mip.lower_bound == pytest.approx(exact.lower_bound, rel=1e-6)


def test_beta_max_above_the_budget_is_a_lower_bound_with_a_warning():
    rng = np.random.default_rng(2)
    X = rng.normal(size=(30, 2))
    y = np.sin(2 * X[:, 0])
    true = exactrelu.beta_max(X, y)
    with pytest.warns(RuntimeWarning, match="lower bound"):
        low = exactrelu.beta_max(X, y, max_rays=1, time_limit=2.0)
    assert 0 < low <= true * (1 + 1e-9)


def test_mip_search_starts_from_the_given_incumbent():
    """The best ray handed to the MIP is HiGHS' first incumbent: after a single node
    its incumbent scores at least as well (a start that is not taken leaves the search
    to find one, which one node rarely does)."""
    from exactrelu.columns import relu_columns

    rng = np.random.default_rng(7)
    for case in range(6):
        X = rng.normal(size=(40, 3))
        prob = make_problem(X, rng.normal(size=40), "squared", 1.0, True, False)
        lam = project_multiplier(prob, rng.normal(size=40))
        rays = exactrelu.enumerate_rays(prob.X).directions
        scores = relu_columns(prob.A, rays).T @ lam / np.abs(rays[:, :-1]).sum(axis=1)
        best = rays[int(np.argmax(scores))]
        best = best / np.abs(best[:-1]).sum()
        unit = float(np.abs(lam).max())
        _, theta, _, _ = PricingMIP(prob)._one_sign(lam / unit, 10.0, start=best, node_limit=1)
        assert theta is not None, case
        got = float((relu_columns(prob.A, theta[None, :]).T @ lam)[0])
        assert got >= scores.max() * (1 - 1e-7), (case, got, scores.max())


def test_bracket_budget_does_not_depend_on_time_spent_before_it(monkeypatch):
    """The budget is the time limit, not what the clock says is left of it when the
    bracket starts: the seconds spent before it (first imports, the size estimate)
    vary from call to call and would make the same input stop at different points."""
    import time

    from exactrelu._context import Deadline, SolveContext
    from exactrelu.methods import bracket

    budgets = []
    real_work = bracket._Work

    def recording_work(prob, seconds):
        budgets.append(seconds)
        return real_work(prob, seconds)

    monkeypatch.setattr(bracket, "_Work", recording_work)
    rng = np.random.default_rng(5)
    X = rng.normal(size=(12, 3))
    prob = make_problem(X, np.sin(X[:, 0]), "squared", 0.5, True, False)
    for delay in (0.0, 0.3):
        ctx = SolveContext(Deadline(1.0))
        time.sleep(delay)
        bracket.solve_bracket(prob, ctx)
    assert budgets == [1.0, 1.0]
