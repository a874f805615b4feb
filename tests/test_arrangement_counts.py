"""Counts of cells and rays: Cover's formula, the planar line formula, grids.

* Gaussian data is in general position: ``count_cells == cover_count(n, rank)``
  and ``count_rays == 2 * C(n, rank - 1)``, with and without bias.
* ``len(enumerate_cells(X)) == count_cells(X)`` everywhere.
* d = 2 with bias: the number of cells is ``2 + 2 * sum over lines L through at
  least two distinct points of (|L| - 1)``, computed here independently with exact
  rational arithmetic; k x k grids give 14, 58, 174, 402, 838.
"""

from fractions import Fraction
from math import comb, gcd

import numpy as np
import pytest

import exactrelu
from exactrelu.errors import InputError
from reference import (
    check_cells,
    check_rays,
    check_witnesses_fast,
    exact_rank,
    lift,
    reference_cells,
    reference_lines,
)


def _gauss(n, d, seed=0):
    return np.random.default_rng([n, d, seed]).normal(size=(n, d))


def _unique_rows(packed):
    v = np.ascontiguousarray(packed).view(np.dtype((np.void, packed.shape[1])))
    return len(np.unique(v))


GAUSS = [(1, 1), (2, 1), (7, 1), (3, 2), (5, 2), (12, 2), (40, 2), (8, 3), (25, 3), (60, 3),
         (10, 4), (30, 4), (3, 5), (12, 6), (9, 8)]


@pytest.mark.parametrize("bias", [True, False], ids=["bias", "nobias"])
@pytest.mark.parametrize("n,d", GAUSS)
def test_gaussian_counts_equal_cover(n, d, bias):
    X = _gauss(n, d)
    r = min(n, d + bias)
    expected = exactrelu.cover_count(n, r)
    assert exactrelu.count_cells(X, bias=bias) == expected
    cells = exactrelu.enumerate_cells(X, bias=bias)
    assert len(cells) == expected
    assert cells.patterns.shape == (expected, n)
    assert _unique_rows(cells.packed) == expected
    A = lift(X, bias)
    assert check_witnesses_fast(A, cells.patterns, cells.witnesses)[0] == 0
    info = exactrelu.arrangement_info(X, bias=bias)
    m = 1 if (d == 1 and not bias) else n  # without bias all points of R^1 give u = 0
    assert (info.rank, info.n_hyperplanes, info.cells_bound) == (r, m, expected)


@pytest.mark.parametrize("bias", [True, False], ids=["bias", "nobias"])
@pytest.mark.parametrize("n,d", [(1, 1), (4, 1), (6, 2), (20, 2), (9, 3), (25, 3), (11, 4),
                                 (3, 5), (8, 6)])
def test_gaussian_rays_general_position(n, d, bias):
    X = _gauss(n, d, seed=1)
    A = lift(X, bias)
    r = min(n, d + bias)
    expected = 2 * comb(n, r - 1)
    assert exactrelu.count_rays(X, bias=bias) == expected
    rays = exactrelu.enumerate_rays(X, bias=bias)
    assert len(rays) == expected
    ref = reference_lines(A) if n <= 12 else None
    assert not check_rays(A, rays.directions, rays.indptr, rays.indices, ref)
    # each ray lies on exactly r - 1 independent hyperplanes (general position)
    sizes = np.diff(rays.indptr)
    assert np.all(sizes == r - 1)
    for k in range(0, len(rays), max(1, len(rays) // 25)):
        inc = rays.indices[rays.indptr[k]:rays.indptr[k + 1]]
        assert exact_rank([tuple(A[i]) for i in inc]) == r - 1
    inc = rays.incidence
    assert inc.shape == (expected, n) and inc.nnz == expected * (r - 1)


def test_headline_n100_d3():
    """n = 100, d = 3 with bias: 323,600 cells (the benchmark size)."""
    X = _gauss(100, 3, seed=7)
    assert exactrelu.cover_count(100, 4) == 323600
    assert exactrelu.count_cells(X) == 323600
    cells = exactrelu.enumerate_cells(X)
    assert len(cells) == 323600
    assert cells.packed.shape == (323600, 13)
    assert _unique_rows(cells.packed) == 323600
    # witnesses of a spread sample (the certified float filter with an exact fallback)
    idx = np.linspace(0, 323599, 20000).astype(int)
    A = lift(X, True)
    assert check_witnesses_fast(A, cells.patterns[idx], cells.witnesses[idx])[0] == 0
    assert exactrelu.count_rays(X) == 2 * comb(100, 3)


def test_enumerate_count_agree_on_small_data_everywhere():
    rng = np.random.default_rng(11)
    for trial in range(60):
        n, d = int(rng.integers(1, 12)), int(rng.integers(1, 4))
        X = rng.integers(-2, 3, size=(n, d)).astype(float)
        bias = bool(trial % 2)
        c = exactrelu.count_cells(X, bias=bias)
        assert len(exactrelu.enumerate_cells(X, bias=bias)) == c, X.tolist()
        assert c == len(reference_cells(lift(X, bias))), X.tolist()


# ------------------------------------------------------------ the planar line formula


def _line_formula(points):
    """2 + 2 * sum over lines through >= 2 distinct points of (points on the line - 1).

    Exact: the coordinates are taken as the rationals the doubles are.
    """
    pts = sorted({(Fraction(float(x)), Fraction(float(y))) for x, y in points})
    lines = {}
    for i in range(len(pts)):
        for j in range(i + 1, len(pts)):
            (x1, y1), (x2, y2) = pts[i], pts[j]
            a, b = y2 - y1, x1 - x2
            c = a * x1 + b * y1
            # a primitive integer triple, sign normalized: the line's exact key
            den = 1
            for f in (a, b, c):
                den = den * f.denominator // gcd(den, f.denominator)
            t = [int(f * den) for f in (a, b, c)]
            g = gcd(gcd(abs(t[0]), abs(t[1])), abs(t[2]))
            t = [v // g for v in t]
            if t[0] < 0 or (t[0] == 0 and t[1] < 0):
                t = [-v for v in t]
            lines.setdefault(tuple(t), set()).update((pts[i], pts[j]))
    return 2 + 2 * sum(len(s) - 1 for s in lines.values())


def _grid(k):
    return np.array([[i, j] for i in range(k) for j in range(k)], dtype=float)


@pytest.mark.parametrize("k,expected", [(2, 14), (3, 58), (4, 174), (5, 402), (6, 838)])
def test_grids(k, expected):
    G = _grid(k)
    assert _line_formula(G) == expected
    assert exactrelu.count_cells(G) == expected
    cells = exactrelu.enumerate_cells(G)
    assert len(cells) == expected
    A = lift(G, True)
    assert not check_cells(A, cells.patterns, cells.witnesses, None, cells.witnesses_lo)
    # shifted and scaled grids are the same arrangement combinatorially
    assert exactrelu.count_cells(G * 4.0 - 3.0) == expected
    # the transposed order of the points changes nothing
    assert exactrelu.count_cells(G[::-1].copy()) == expected


def test_grid_rays_match_reference():
    G = _grid(4)
    A = lift(G, True)
    rays = exactrelu.enumerate_rays(G)
    assert not check_rays(A, rays.directions, rays.indptr, rays.indices, reference_lines(A))
    # 16 points on 10 lines with >= 3 points: many hyperplanes through one ray
    assert np.diff(rays.indptr).max() == 4


@pytest.mark.parametrize("seed", range(40))
def test_planar_line_formula_random(seed):
    rng = np.random.default_rng([77, seed])
    n = int(rng.integers(1, 30))
    span = int(rng.integers(1, 4))
    P = rng.integers(-span, span + 1, size=(n, 2)).astype(float)
    if seed % 4 == 1:  # many duplicates
        P = P[rng.integers(0, max(1, n // 3), size=n)]
    if seed % 4 == 2:  # all on one line
        t = rng.integers(-5, 6, size=n)
        P = np.column_stack([t, 2 * t + 1]).astype(float)
    if seed % 4 == 3:  # decimal data: the doubles decide, not the decimals
        P = P * 0.1
    expected = _line_formula(P)
    assert exactrelu.count_cells(P) == expected
    assert len(exactrelu.enumerate_cells(P)) == expected


def test_planar_line_formula_hypothesis():
    hyp = pytest.importorskip("hypothesis")
    st = hyp.strategies

    @hyp.settings(max_examples=80, deadline=None)
    @hyp.given(st.lists(st.tuples(st.integers(-3, 3), st.integers(-3, 3)), min_size=1,
                        max_size=25))
    def check(points):
        P = np.array(points, dtype=float)
        expected = _line_formula(P)
        assert exactrelu.count_cells(P) == expected
        assert len(exactrelu.enumerate_cells(P)) == expected

    check()


# ------------------------------------------------------------ cover_count itself


def test_cover_count_values():
    assert exactrelu.cover_count(100, 4) == 323600
    assert exactrelu.cover_count(0, 3) == 1
    assert exactrelu.cover_count(3, 0) == 1
    for n in range(1, 9):
        for r in range(1, 9):
            expect = 2 * sum(comb(n - 1, k) for k in range(r))
            assert exactrelu.cover_count(n, r) == expect
            if r >= n:
                assert exactrelu.cover_count(n, r) == 2**n
    assert exactrelu.cover_count(np.int64(5), np.int32(2)) == 10


@pytest.mark.parametrize("args", [(-1, 2), (3, -1), (2.0, 1), (2, "1"), (True, 2), (None, 2)])
def test_cover_count_rejects(args):
    with pytest.raises(InputError):
        exactrelu.cover_count(*args)
