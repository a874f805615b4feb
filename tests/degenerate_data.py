"""Random data of the kinds the bound tests run on (shared by test_bracket and
test_simplicial): general position and the degenerate cases that are the normal case."""

import numpy as np


def random_data(rng, kind, n, d):
    """An (n, d) array of the given kind."""
    if kind == "gaussian":
        return rng.normal(size=(n, d))
    if kind == "grid":       # integer grid: parallel and concurrent hyperplanes
        return rng.integers(-2, 3, size=(n, d)).astype(float)
    if kind == "duplicates":
        base = rng.normal(size=(max(2, n // 3), d))
        return base[rng.integers(0, len(base), size=n)]
    if kind == "rank-deficient":
        X = rng.normal(size=(n, d))
        X[:, -1] = X[:, 0] if d > 1 else 0.0
        return X
    if kind == "scaled":     # columns of very different scales
        return rng.normal(size=(n, d)) * np.logspace(-3, 3, d)
    raise AssertionError(kind)


def random_pricing_case(rng, kind, n, d, bias):
    """``(prob, lam, M)``: a squared-loss problem on random data of ``kind``, a random
    projected multiplier of random scale (1e-3 to 1e3) and its exact pricing maximum."""
    from exactrelu.certificate import project_multiplier
    from exactrelu.pricing import ExactPricer
    from exactrelu.problem import make_problem

    X = random_data(rng, kind, n, d)
    prob = make_problem(X, rng.normal(size=n), "squared", 1.0, bias, False)
    lam = project_multiplier(prob, rng.normal(size=n) * rng.choice([1e-3, 1.0, 1e3]))
    M, _ = ExactPricer(prob).max_abs(lam)
    return prob, lam, M
