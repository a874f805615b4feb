"""The gradient-descent baseline: subgradients, objective bookkeeping, competence."""

import itertools

import numpy as np
import pytest

from exactrelu.errors import InputError
from exactrelu.sgd import objective_parts, train, training_objective_and_grad

LOSSES = ["squared", "absolute", "hinge"]


def _generic_point(loss, penalty, skip, bias, seed, n=9, d=3, m=5):
    """Random parameters and data away from every kink (so finite differences apply)."""
    rng = np.random.default_rng(seed)
    for _ in range(1000):
        X = rng.standard_normal((n, d))
        y = rng.standard_normal(n)
        if loss == "hinge":
            y = np.where(y >= 0, 1.0, -1.0)
        p = {
            "W": rng.standard_normal((m, d)),
            "b": rng.standard_normal(m) if bias else np.zeros(m),
            "a": rng.standard_normal(m),
            "c": np.array(rng.standard_normal()),
            "s": rng.standard_normal(d) if skip else None,
        }
        Z = X @ p["W"].T + p["b"]
        f = np.maximum(Z, 0) @ p["a"] + p["c"] + (X @ p["s"] if skip else 0)
        kinks = [np.abs(Z).min(), np.abs(p["W"]).min(), np.abs(p["a"]).min()]
        if loss in ("squared", "absolute"):
            kinks.append(np.abs(f - y).min())
        else:
            kinks.append(np.abs(1 - y * f).min())
        if min(kinks) > 1e-3:
            return X, y, p
    raise RuntimeError("no generic point found")  # pragma: no cover


@pytest.mark.parametrize(
    "loss,penalty,form,skip,bias",
    list(itertools.product(LOSSES, ["l1", "l2"], ["balanced", "exact"], [False, True],
                           [True, False])),
)
def test_gradient_matches_finite_differences(loss, penalty, form, skip, bias):
    X, y, p = _generic_point(loss, penalty, skip, bias, seed=hash((loss, penalty, form)) % 1000)
    beta = 0.7
    kw = dict(loss=loss, beta=beta, penalty=penalty, form=form, bias=bias, weight=1.3)
    _, g = training_objective_and_grad(p, X, y, **kw)
    h = 1e-6
    for key in ("W", "b", "a", "c", "s"):
        if p[key] is None or (key == "b" and not bias):
            continue
        flat = p[key].reshape(-1)
        num = np.empty_like(flat)
        for i in range(flat.size):
            old = flat[i]
            flat[i] = old + h
            vp, _ = training_objective_and_grad(p, X, y, **kw)
            flat[i] = old - h
            vm, _ = training_objective_and_grad(p, X, y, **kw)
            flat[i] = old
            num[i] = (vp - vm) / (2 * h)
        ana = np.asarray(g[key], dtype=float).reshape(-1)
        np.testing.assert_allclose(ana, num, rtol=1e-6, atol=1e-6 * max(1.0, np.abs(num).max()),
                                   err_msg=f"gradient of {key}")
    if not bias:
        assert np.all(g["b"] == 0)


def test_training_form_values():
    """Balanced form = 0.5*sum(a^2 + ||w||^2) >= the path norm, equal when balanced."""
    X, y, p = _generic_point("squared", "l1", False, True, seed=3)
    v_bal, _ = training_objective_and_grad(p, X, y, loss="squared", beta=1.0, penalty="l1",
                                           form="balanced", bias=True)
    v_ex, _ = training_objective_and_grad(p, X, y, loss="squared", beta=1.0, penalty="l1",
                                          form="exact", bias=True)
    obj, lv, pen = objective_parts(p, X, y, loss="squared", beta=1.0, penalty="l1")
    assert v_ex == pytest.approx(obj, rel=1e-12)
    assert v_bal >= v_ex - 1e-12
    nrm = np.abs(p["W"]).sum(axis=1)
    assert v_bal - lv == pytest.approx(0.5 * np.sum(p["a"] ** 2 + nrm ** 2), rel=1e-12)


def test_minibatch_gradient_is_unbiased():
    """The n/B-weighted batch gradients of a partition average to the full gradient."""
    X, y, p = _generic_point("squared", "l2", True, True, seed=5, n=12)
    kw = dict(loss="squared", beta=0.3, penalty="l2", form="balanced", bias=True)
    _, full = training_objective_and_grad(p, X, y, **kw)
    parts = [training_objective_and_grad(p, X[i:i + 4], y[i:i + 4], weight=3.0, **kw)[1]
             for i in (0, 4, 8)]
    for key in full:
        np.testing.assert_allclose(sum(q[key] for q in parts) / 3, full[key], rtol=1e-12,
                                   atol=1e-12)


@pytest.mark.parametrize("loss", LOSSES)
@pytest.mark.parametrize("penalty", ["l1", "l2"])
def test_history_is_the_exact_objective_of_the_network(loss, penalty):
    rng = np.random.default_rng(1)
    X = rng.uniform(-1, 1, (15, 2))
    y = np.sin(3 * X[:, 0]) + X[:, 1]
    if loss == "hinge":
        y = np.where(y >= 0, 1.0, -1.0)
    net, hist = train(X, y, width=12, loss=loss, beta=0.05, penalty=penalty, steps=300,
                      skip=True, record_every=50)
    assert list(hist.steps) == [0, 1, 2, 4, 8, 16, 32, 50, 100, 150, 200, 250, 300]
    assert np.all(np.diff(hist.times) >= 0)
    assert hist.final_objective == pytest.approx(
        net.objective(X, y, loss=loss, beta=0.05, penalty=penalty), rel=1e-10)
    assert hist.penalty[-1] == pytest.approx(net.penalty(penalty), rel=1e-10)
    assert net.s is not None and net.W.shape == (12, 2)
    # balanced on return: |a_j| = ||w_j||_2
    np.testing.assert_allclose(np.abs(net.a), np.linalg.norm(net.W, axis=1), rtol=1e-9)
    # the objective decreased
    assert hist.objective[-1] < hist.objective[0]


def test_no_bias_no_skip_network_shape():
    rng = np.random.default_rng(2)
    X = rng.standard_normal((10, 2))
    y = rng.standard_normal(10)
    net, _ = train(X, y, width=7, loss="absolute", beta=0.1, bias=False, steps=50)
    assert np.all(net.b == 0) and net.s is None


def test_reproducible_and_seed_dependent():
    X = np.linspace(-1, 1, 10)[:, None]
    y = np.sin(3 * X[:, 0])
    _, h1 = train(X, y, width=8, loss="squared", beta=0.05, steps=200, seed=4)
    _, h2 = train(X, y, width=8, loss="squared", beta=0.05, steps=200, seed=4)
    _, h3 = train(X, y, width=8, loss="squared", beta=0.05, steps=200, seed=5)
    np.testing.assert_array_equal(h1.objective, h2.objective)
    assert not np.array_equal(h1.objective, h3.objective)


@pytest.mark.parametrize("loss,power", [("squared", 2), ("absolute", 1)])
def test_default_learning_rate_is_scale_free(loss, power):
    """Rescaling x -> s*x, y -> t*y (beta adjusted so the problem is the same up to a
    factor t**power) gives the same trajectory: the defaults work across scales."""
    X = np.sort(np.random.default_rng(0).uniform(-1, 1, (10, 1)), axis=0)
    y = np.sin(3 * X[:, 0])
    _, h1 = train(X, y, width=10, loss=loss, beta=0.1, steps=300)
    t, s = 1e3, 1e-3
    _, h2 = train(X * s, y * t, width=10, loss=loss, beta=0.1 * t ** (power - 1) * s, steps=300)
    np.testing.assert_allclose(h2.objective / t**power, h1.objective, rtol=1e-6)


def test_minibatch_and_sgd_optimizer_make_progress():
    rng = np.random.default_rng(3)
    X = rng.uniform(-1, 1, (40, 1))
    y = np.abs(X[:, 0])
    for kw in (dict(batch_size=8), dict(optimizer="sgd"), dict(lr="search", steps=500)):
        opts = dict(steps=1500)
        opts.update(kw)
        _, h = train(X, y, width=20, loss="squared", beta=0.01, **opts)
        assert h.final_objective < 0.5 * h.objective[0], kw
    assert h.lr in (0.015, 0.05, 0.15) and len(h.lr_search) == 3


def test_time_to_and_history_dict():
    X = np.linspace(-1, 1, 8)[:, None]
    y = X[:, 0] ** 2
    _, h = train(X, y, width=10, loss="squared", beta=0.01, steps=100, record_every=10)
    assert h.time_to(np.inf) == h.times[0]
    assert h.time_to(-1.0) is None and h.steps_to(-1.0) is None
    d = h.to_dict()
    assert d["steps"] == [0, 1, 2, 4, 8, 10, 20, 30, 40, 50, 60, 70, 80, 90, 100]
    assert len(d["objective"]) == len(d["steps"])


@pytest.mark.parametrize(
    "kw",
    [dict(loss="interpolate"), dict(loss="hinge"), dict(width=0), dict(beta=-1.0),
     dict(penalty="l3"), dict(optimizer="lbfgs"), dict(lr="fast"), dict(lr=-0.1),
     dict(steps=0), dict(batch_size=0)],
)
def test_bad_arguments_raise_input_error(kw):
    X = np.linspace(-1, 1, 6)[:, None]
    y = np.linspace(0, 2, 6)  # not +-1: invalid for hinge
    args = dict(width=5, loss="squared", beta=0.1, steps=10)
    args.update(kw)
    with pytest.raises(InputError):
        train(X, y, **args)


# ----------------------------------------------------------------- against the exact optimum
@pytest.mark.parametrize("loss", LOSSES)
def test_best_of_five_seeds_within_one_percent(loss):
    """d = 1, n = 10, width 50: the best of 5 seeds is within 1% of the certified optimum
    (default settings), and no run is below the certified lower bound."""
    import exactrelu
    from exactrelu.certificate import beta_max

    rng = np.random.default_rng(0)
    X = np.sort(rng.uniform(-1, 1, (10, 1)), axis=0)
    y = np.sin(3 * X[:, 0]) + 0.1 * rng.standard_normal(10)
    if loss == "hinge":
        y = np.where(np.sin(4 * X[:, 0]) >= 0, 1.0, -1.0)
    beta = 0.1 * beta_max(X, y, loss=loss)
    sol = exactrelu.solve(X, y, loss=loss, beta=beta)
    assert sol.certified
    assert sol.network.n_neurons >= 2  # not a trivial problem
    finals = []
    for seed in range(5):
        _, h = train(X, y, width=50, loss=loss, beta=beta, seed=seed)
        assert np.all(h.objective >= sol.lower_bound - 1e-9 * max(1.0, sol.objective))
        finals.append(h.final_objective)
    assert min(finals) <= sol.objective * 1.01, (min(finals), sol.objective)
