"""Weight decay (penalty="l2") by column generation: exact sweep pricing and the cell
master, against brute force and the full cell program."""

import math

import numpy as np
import pytest

import exactrelu
from exactrelu.columns import relu_columns
from exactrelu.cone_pricing import ConePricer, sweep_error_bound
from exactrelu.errors import NotSupportedError, SizeError
from exactrelu.methods.cone_colgen import neuron_patterns
from exactrelu.problem import make_problem
from exactrelu.programs.facets import cell_facets

RNG = np.random.default_rng(20261130)


def _data(kind, n, rng):
    if kind == "random":
        return rng.normal(size=(n, 2))
    if kind == "grid":          # integer grid: many points on a line, ties everywhere
        return rng.integers(-2, 3, size=(n, 2)).astype(float)
    if kind == "duplicates":
        X = rng.normal(size=(n // 2 + 1, 2))
        return X[rng.integers(0, len(X), n)]
    if kind == "collinear":     # rank-deficient: all points on one line
        t = rng.normal(size=n)
        return np.c_[t, 2.0 * t + 1.0]
    if kind == "one-point":
        return np.repeat(rng.normal(size=(1, 2)), n, axis=0)
    raise ValueError(kind)


def _brute(prob, lam, m=100_000):
    """max |lam . relu(A u)| over a fine grid of unit w plus the kinks (w orthogonal
    to some z_i), every anchor (or none)."""
    grid = np.linspace(-np.pi, np.pi, m, endpoint=False)
    best = 0.0
    for j in (range(prob.n) if prob.bias else [None]):
        Z = prob.X - (0.0 if j is None else prob.X[j])
        phi = np.arctan2(Z[:, 1], Z[:, 0])
        th = np.r_[grid, phi + np.pi / 2, phi - np.pi / 2]
        W = np.stack([np.cos(th), np.sin(th)], axis=1)
        F = np.maximum(W @ Z.T, 0.0) @ lam
        best = max(best, float(np.abs(F).max()))
    return best


@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("kind", ["random", "grid", "duplicates", "collinear", "one-point"])
def test_cone_pricer_matches_brute_force(kind, bias):
    rng = np.random.default_rng(hash((kind, bias)) % 2**32)
    for _ in range(4):
        n = int(rng.integers(2, 14))
        _check_against_brute(_data(kind, n, rng), bias, rng, _brute, rtol=1e-8)


def _check_against_brute(X, bias, rng, brute_max, rtol):
    """The pricer's maximum bounds the brute-force one from above and is attained
    (within the brute force's resolution ``rtol``); its neurons have unit ||w||_2 and
    the scores they report."""
    n, d = X.shape
    prob = make_problem(X, rng.normal(size=n), "squared", 1.0, bias, False)
    lam = rng.normal(size=n)
    if bias:
        lam -= lam.mean()
    pricer = ConePricer(prob)
    scores, dirs, _ = pricer(lam, 6)
    M, _ = pricer.max_abs(lam)
    brute = brute_max(prob, lam)
    assert M >= brute - 1e-12 * max(1.0, brute)            # an upper bound ...
    top = float(abs(scores[0])) if len(scores) else 0.0
    assert top <= brute * (1 + rtol) + 1e-12                 # ... attained
    assert M - top == pytest.approx(sweep_error_bound(prob, lam))
    if len(scores):
        assert np.linalg.norm(dirs[:, :d], axis=1) == pytest.approx(1.0, rel=1e-12)
        true = relu_columns(prob.A, dirs).T @ lam
        assert true == pytest.approx(scores, rel=1e-9, abs=1e-12)
        assert np.all(np.diff(np.abs(scores)) <= 1e-15)


def test_cone_pricer_threads_nothing_and_zero():
    X = RNG.normal(size=(9, 2))
    prob = make_problem(X, RNG.normal(size=9), "squared", 1.0, True, False)
    pricer = ConePricer(prob)
    assert pricer.max_abs(np.zeros(9))[0] == 0.0
    lam = RNG.normal(size=9)
    lam -= lam.mean()
    a = pricer.with_pool(lam, 3, pool_size=40)
    b = ConePricer(prob).with_pool(lam, 3, pool_size=40)
    for u, v in zip(a, b):
        assert np.array_equal(np.asarray(u), np.asarray(v))     # deterministic
    assert len(a[3]) >= 9       # the best of every anchor go to the pool


def _fibonacci_sphere(m):
    i = np.arange(m) + 0.5
    phi, th = np.arccos(1 - 2 * i / m), np.pi * (1 + 5**0.5) * i
    return np.c_[np.cos(th) * np.sin(phi), np.sin(th) * np.sin(phi), np.cos(phi)]


def _brute3(prob, lam, m=40_000, mc=1_000):
    """d = 3: max |F| over a sphere lattice, every vertex (z_a x z_b) and a fine
    sampling of every great circle z_a^perp (where F is not smooth)."""
    best = 0.0
    for j in (range(prob.n) if prob.bias else [None]):
        Z = prob.X - (0.0 if j is None else prob.X[j])
        nz = Z[np.linalg.norm(Z, axis=1) > 1e-12]
        pts = [_fibonacci_sphere(m)]
        th = np.linspace(0, 2 * np.pi, mc, endpoint=False)
        for a in range(len(nz)):
            c = np.cross(nz[a], nz[a + 1:])
            c = c[np.linalg.norm(c, axis=1) > 1e-12]
            c /= np.linalg.norm(c, axis=1, keepdims=True)
            pts += [c, -c]
            u = nz[a] / np.linalg.norm(nz[a])
            t = np.zeros(3)
            t[np.argmin(np.abs(u))] = 1
            e1 = np.cross(u, t)
            e1 /= np.linalg.norm(e1)
            pts.append(np.cos(th)[:, None] * e1 + np.sin(th)[:, None] * np.cross(u, e1))
        W = np.vstack(pts)
        best = max(best, float(np.abs(np.maximum(W @ Z.T, 0.0) @ lam).max()))
    return best


@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("kind", ["random", "grid", "duplicates", "coplanar"])
def test_cone_pricer_d3_matches_brute_force(kind, bias):
    rng = np.random.default_rng(hash((kind, bias, 3)) % 2**32)
    for _ in range(3):
        n = int(rng.integers(3, 9))
        X = rng.normal(size=(n, 3))
        if kind == "grid":
            X = np.round(X)
        elif kind == "duplicates":
            X = X[rng.integers(0, n, n)]
        elif kind == "coplanar":       # rank-deficient: every point on one plane
            X[:, 2] = X[:, 0] - 2 * X[:, 1]
        _check_against_brute(X, bias, rng, _brute3, rtol=1e-4)    # the lattice's resolution


def test_cone_pricer_refuses_d4_and_too_large():
    with pytest.raises(NotSupportedError, match="d <= 3"):
        ConePricer(make_problem(np.eye(4), np.zeros(4), "squared", 1.0, True, False))
    prob = make_problem(RNG.normal(size=(50, 2)), np.zeros(50), "squared", 1.0, True, False)
    with pytest.raises(SizeError, match="limit 1,000"):
        ConePricer(prob, max_events=1000)


@pytest.mark.parametrize("kind", ["random", "grid", "duplicates"])
def test_cell_facets_define_the_cell(kind):
    """The facet rows alone cut out the same cell: every other row is implied (LP)."""
    from scipy.optimize import linprog

    rng = np.random.default_rng(7)
    X = _data(kind, 12, rng)
    A = np.hstack([X, np.ones((len(X), 1))])
    pats = exactrelu.enumerate_cells(X).patterns
    rows = cell_facets(A, pats)
    for k in range(0, len(pats), 3):
        B = np.where(pats[k], 1.0, -1.0)[:, None] * A
        for i in np.setdiff1d(np.arange(len(A)), rows[k]):
            r = linprog(B[i], A_ub=-B[rows[k]], b_ub=np.zeros(len(rows[k])),
                        bounds=[(-1, 1)] * 3, method="highs")
            assert r.fun >= -1e-9


def test_neuron_patterns_contain_the_neuron():
    X = np.array([[0.0, 0.0], [1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
    A = np.hstack([X, np.ones((4, 1))])
    u = np.array([1.0, 0.0, -1.0])          # on the hyperplanes of rows 1 and 3
    pats, pts = neuron_patterns(A, u[None, :])
    assert pats.shape == (2, 4) and np.array_equal(pts, [u, u])
    z = A @ u
    for p in pats:
        assert np.all(np.where(p, z >= 0, z <= 0))


LOSSES = ["squared", "absolute", "hinge", "interpolate"]


def _targets(X, loss, rng):
    y = np.sin(2.5 * X[:, 0]) + X[:, -1] ** 2 + 0.1 * rng.normal(size=len(X))
    return np.where(y > np.median(y), 1.0, -1.0) if loss == "hinge" else y


@pytest.mark.parametrize("loss", LOSSES)
@pytest.mark.parametrize("bias,skip,d", [(True, False, 2), (False, False, 2), (True, True, 2),
                                         (True, False, 3), (False, False, 3)])
def test_colgen_l2_equals_cell_program(loss, bias, skip, d):
    rng = np.random.default_rng(11)
    X = rng.normal(size=(14 if d == 2 else 10, d))
    y = _targets(X, loss, rng)
    if loss == "interpolate" and not bias:
        X[:, 0] += 3.0                      # without biases: distinct directions
    beta = 1.0 if loss == "interpolate" else 0.2 * exactrelu.beta_max(
        X, y, loss=loss, bias=bias, skip=skip)
    kw = dict(loss=loss, beta=beta, penalty="l2", bias=bias, skip=skip)
    a = exactrelu.solve(X, y, method="colgen", **kw)
    b = exactrelu.solve(X, y, method="cells", **kw)
    assert a.certified and a.status == "optimal" and a.method == "colgen"
    assert abs(a.objective - b.objective) <= 1e-6 * max(1.0, abs(b.objective))
    assert a.lower_bound <= b.objective + 1e-6 * max(1.0, b.objective)
    assert a.network.objective(X, y, loss=loss, beta=beta, penalty="l2") == pytest.approx(
        a.objective, rel=1e-12)
    assert a.network.n_neurons <= len(X)


@pytest.mark.parametrize("kind", ["grid", "duplicates", "collinear"])
def test_colgen_l2_degenerate_data(kind):
    rng = np.random.default_rng(5)
    X = _data(kind, 16, rng)
    y = X[:, 0] ** 2 - X[:, 1] + 0.05 * rng.normal(size=16)
    if kind == "duplicates":     # equal inputs: equal targets for interpolation
        _, inv = np.unique(X, axis=0, return_inverse=True)
        y = y[np.unique(inv.reshape(-1), return_index=True)[1]][inv.reshape(-1)]
    beta = 0.1 * exactrelu.beta_max(X, y)
    a = exactrelu.solve(X, y, beta=beta, penalty="l2")
    b = exactrelu.solve(X, y, beta=beta, penalty="l2", method="cells")
    assert a.method == "colgen" and a.certified
    assert abs(a.objective - b.objective) <= 1e-6 * max(1.0, b.objective)


def test_colgen_l2_between_l1_bounds_and_d1():
    rng = np.random.default_rng(3)
    X = rng.normal(size=(40, 2))
    y = np.sin(2 * X[:, 0]) * X[:, 1]
    beta = 0.1 * exactrelu.beta_max(X, y)
    l1 = exactrelu.solve(X, y, beta=beta)
    l2 = exactrelu.solve(X, y, beta=beta, penalty="l2")
    assert l2.certified and l1.certified
    assert l2.objective <= l1.objective * (1 + 1e-9)
    assert l1.objective <= math.sqrt(2) * l2.objective * (1 + 1e-9)
    # d = 1: the two penalties are the same problem
    x = X[:, :1]
    a = exactrelu.solve(x, y, beta=beta, penalty="l2")
    b = exactrelu.solve(x, y, beta=beta, penalty="l1")
    assert a.method == "colgen" and a.certified
    assert a.objective == pytest.approx(b.objective, rel=1e-9)


def test_colgen_l2_sample_weights_equal_repeats():
    rng = np.random.default_rng(8)
    X = rng.normal(size=(10, 2))
    y = np.cos(2 * X[:, 0]) + X[:, 1]
    w = rng.integers(1, 4, size=10)
    beta = 0.1 * exactrelu.beta_max(X, y)
    a = exactrelu.solve(X, y, beta=beta, penalty="l2", sample_weight=w)
    b = exactrelu.solve(np.repeat(X, w, axis=0), np.repeat(y, w), beta=beta, penalty="l2")
    assert a.certified and b.certified
    assert a.objective == pytest.approx(b.objective, rel=1e-6)


def test_script_without_main_guard(tmp_path):
    """The cone programs run in a child process; a plain script (no
    ``if __name__ == "__main__"``) must not be re-run there (it used to fail with
    multiprocessing's "bootstrapping phase" error and an EOFError)."""
    import subprocess
    import sys
    import textwrap

    script = tmp_path / "plain.py"
    script.write_text(textwrap.dedent("""
        import numpy as np, exactrelu
        X = np.random.default_rng(0).normal(size=(12, 2))
        y = np.sin(2 * X[:, 0]) + X[:, 1]
        print("run", flush=True)
        a = exactrelu.solve(X, y, beta=0.1, penalty="l2")
        b = exactrelu.solve(X, np.c_[y, -y], beta=0.1)
        print(a.certified, b.certified)
    """))
    out = subprocess.run([sys.executable, str(script)], capture_output=True, text=True,
                         timeout=300)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split("\n")[:2] == ["run", "True True"]     # run once, not again
