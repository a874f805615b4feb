"""The squared-loss restricted program in reduced (Gram) form against the full QP."""

import numpy as np
import pytest

from exactrelu.columns import relu_columns
from exactrelu.problem import make_problem
from exactrelu.programs import ray
from exactrelu.programs.gram import solve_gram


def _program(seed, skip, weighted, near_duplicates):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(60, 2))
    y = np.sin(2 * X[:, 0]) + X[:, 1] ** 2
    w = rng.integers(0, 4, size=60).astype(float) if weighted else None
    prob = make_problem(X, y, "squared", 0.05, True, skip, sample_weight=w)
    dirs = rng.normal(size=(40, 3))
    if near_duplicates:   # nearly parallel columns: what stalled the full QP solver
        dirs = np.vstack([dirs, dirs[:20] + 1e-9 * rng.normal(size=(20, 3))])
    dirs /= np.abs(dirs[:, :2]).sum(axis=1, keepdims=True)
    return prob, dirs


@pytest.mark.parametrize("skip", [False, True])
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("near_duplicates", [False, True])
def test_gram_form_matches_full_qp(skip, weighted, near_duplicates, monkeypatch):
    prob, dirs = _program(1, skip, weighted, near_duplicates)
    rp = ray.RayProgram(prob)
    rp.add_both_signs(dirs)
    rp.run()
    if not near_duplicates:   # else the reduced form may fall back to the full QP
        assert rp._sol is not None
    monkeypatch.setattr(ray, "solve_gram", lambda *a, **k: None)
    full = ray.RayProgram(prob)
    full.add_both_signs(dirs)
    full.run()
    assert full._sol is None
    assert abs(rp.objective - full.objective) <= 1e-9 * max(1.0, abs(full.objective))
    if rp._sol is not None:   # its multipliers are dual feasible on every present column
        Phi = relu_columns(prob.A, rp.dirs) * rp.signs[None, :]
        assert np.max(Phi.T @ rp.lam) <= prob.beta * (1 + 1e-9)
    np.testing.assert_allclose(rp.fit(), full.fit(), atol=1e-6 * np.abs(prob.y).max())


def test_gram_solution_meets_optimality_conditions():
    prob, dirs = _program(2, False, False, False)
    B = relu_columns(prob.A, dirs)
    E = np.asarray(prob.equality_matrix(), dtype=float)
    sol = solve_gram(B, E, prob.y, np.ones(prob.n), prob.beta * np.ones(len(dirs)))
    assert sol is not None and sol.kkt <= 5e-10
    assert np.all(sol.a >= 0)
    grad = prob.beta - B.T @ sol.r
    assert np.all(grad >= -1e-9 * prob.beta)
    assert np.all(np.abs(grad[sol.a > 0]) <= 1e-9 * prob.beta)
    assert np.abs(E.T @ sol.r).max() <= 1e-9 * np.abs(prob.y).sum()


@pytest.mark.parametrize("skip", [False, True])
def test_warm_started_rounds_match_a_cold_solve(skip, monkeypatch):
    # columns join in rounds, as in column generation: each round starts the active-set
    # steps from the previous optimum (new columns at 0); HiGHS is not needed, and the
    # result is the optimum of a cold solve of the same columns
    prob, dirs = _program(3, skip, False, False)
    rp = ray.RayProgram(prob)
    calls = {"warm": 0}
    real = ray.solve_gram

    def counting(*a, **k):
        calls["warm"] += k.get("x0") is not None
        return real(*a, **k)

    monkeypatch.setattr(ray, "solve_gram", counting)
    for part in np.array_split(dirs, 4):
        rp.add_both_signs(part)
        rp.run()
        assert rp._sol is not None
        cold = ray.RayProgram(prob)
        monkeypatch.setattr(ray, "solve_gram", real)
        cold.add_both_signs(rp.dirs[rp.signs > 0])
        cold.run()
        monkeypatch.setattr(ray, "solve_gram", counting)
        assert abs(rp.objective - cold.objective) <= 1e-9 * max(1.0, abs(cold.objective))
        Phi = relu_columns(prob.A, rp.dirs) * rp.signs[None, :]
        assert np.max(Phi.T @ rp.lam) <= prob.beta * (1 + 1e-9)
    assert calls["warm"] == 3


@pytest.mark.parametrize("small_system", [0, 10_000])
def test_stationarity_solves_by_inverse_and_by_lu_agree(small_system, monkeypatch):
    # small systems go through numpy's inverse, larger ones through LAPACK's LU: forcing
    # every system down one path or the other gives the same optimum
    from exactrelu.programs import gram

    prob, dirs = _program(4, True, True, False)
    B = relu_columns(prob.A, dirs)
    E = np.asarray(prob.equality_matrix(), dtype=float)
    w = np.ones(prob.n) if prob.weight is None else prob.weight
    g = prob.beta * np.ones(len(dirs))
    ref = solve_gram(B, E, prob.y, w, g)
    monkeypatch.setattr(gram, "SMALL_SYSTEM", small_system)
    sol = solve_gram(B, E, prob.y, w, g)
    assert ref is not None and sol is not None and sol.kkt <= 5e-10
    obj = lambda s: 0.5 * np.sum(w * s.r ** 2) + g @ s.a   # noqa: E731
    assert abs(obj(sol) - obj(ref)) <= 1e-10 * abs(obj(ref))


def test_stationarity_solver_reports_singular_systems():
    from exactrelu.programs.gram import _solver

    for k in (3, 60):   # the inverse path and the LU path
        assert _solver(np.zeros((k, k))) is None
        x = np.arange(1.0, k + 1)
        M = np.random.default_rng(k).normal(size=(2 * k, k))
        solve = _solver(M.T @ M)
        np.testing.assert_allclose((M.T @ M) @ solve(x.copy()), x, rtol=1e-8)


def test_highs_model_rebuilt_with_every_column_after_reduced_solves():
    # reduced solves leave the HiGHS model behind (columns are not copied into it); when
    # it is needed again it holds every column and solves the same program
    prob, dirs = _program(5, True, False, False)
    rp = ray.RayProgram(prob)
    for part in np.array_split(dirs, 3):
        rp.add_both_signs(part)
        rp.run()
        assert rp._sol is not None
    reduced = rp.objective
    rp.drop_inactive()
    assert rp.n_columns == rp.n_fixed + len(rp.signs)
    assert rp.hp.n_cols == rp.n_columns
    rp._sol = None
    rp.hp.run()
    assert abs(rp.hp.objective - reduced) <= 1e-9 * max(1.0, abs(reduced))
