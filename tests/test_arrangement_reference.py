"""Tests of the pure-Python reference itself (tests/reference.py), and of the checkers.

These do not need the C++ core: they make sure that the yardstick the core is
measured with is right (known counts, three independent methods agree), and that
the checkers used against the core really detect wrong outputs.
"""

from math import comb

import numpy as np
import pytest

from reference import (
    brute_force_cells,
    check_cells,
    check_rays,
    check_witnesses_fast,
    distinct_hyperplanes,
    exact_rank,
    lift,
    reference_cells,
    reference_count,
    reference_lines,
    whitney_count,
)


def _cover(n, r):
    return 2 * sum(comb(n - 1, k) for k in range(r)) if n and r else 1


def _grid(k):
    return np.array([[i, j] for i in range(k) for j in range(k)], dtype=float)


@pytest.mark.parametrize("k,expected", [(2, 14), (3, 58), (4, 174)])
def test_reference_grid_counts(k, expected):
    A = lift(_grid(k), True)
    assert len(reference_cells(A, whitney_max=-1)) == expected
    if k <= 3:
        assert whitney_count(distinct_hyperplanes(A).reps, 3) == expected


@pytest.mark.parametrize("n,d,bias", [(1, 1, True), (6, 1, True), (7, 2, True), (9, 3, True),
                                      (6, 2, False), (8, 3, False), (3, 4, True)])
def test_reference_general_position(n, d, bias):
    X = np.random.default_rng(n * 10 + d).normal(size=(n, d))
    A = lift(X, bias)
    r = min(n, d + bias)
    res = reference_cells(A)
    assert res.certified and len(res) == _cover(n, r)
    lines = reference_lines(A)
    assert lines.rank == r
    assert lines.n_rays == 2 * comb(n, r - 1)
    for ln in lines.lines:
        assert len(ln.incidence) == r - 1


def test_reference_exact_rank_and_hyperplanes():
    A = np.array([[1.0, 2, 3], [2, 4, 6], [-0.5, -1, -1.5], [0, 0, 0], [1, 0, 0], [0.1, 0.2, 0.3]])
    hp = distinct_hyperplanes(A)
    # rows 0, 1, 2 are one hyperplane; 0.1*(1,2,3) in floats is not parallel to (1,2,3)
    assert hp.cls[:3] == [0, 0, 0] and hp.orient[:3] == [1, 1, -1]
    assert hp.cls[3] == -1
    assert hp.m == 3
    assert exact_rank(hp.rows) == 3
    assert exact_rank([(1, 2), (2, 4)]) == 1
    assert exact_rank([(0.1, 0.3), (0.2, 0.6)]) == 1  # 0.2 = 2*0.1 and 0.6 = 2*0.3 in binary


def test_reference_three_methods_agree():
    """LP insertion, exact ray-sum insertion and LP brute force give the same cells."""
    rng = np.random.default_rng(5)
    for trial in range(40):
        n, d = int(rng.integers(1, 7)), int(rng.integers(1, 4))
        X = rng.integers(-1, 2, size=(n, d)).astype(float)
        A = lift(X, bool(trial % 2))
        lp = reference_cells(A, exact=False, whitney_max=-1)
        ex = reference_cells(A, exact=True, whitney_max=-1)
        bf = brute_force_cells(A)
        assert lp.patterns == ex.patterns == bf, X.tolist()
        assert len(lp) == reference_count(A)


def test_reference_thin_cells_need_the_exact_fallback():
    """A cell 1e-12 wide is invisible to the LP tolerance; the exact path finds it."""
    X = np.array([[2.0], [-2.0], [0.0], [-(2.0**-39)], [-1.0], [1.0]])
    A = lift(X, True)
    assert len(reference_cells(A)) == 12 == _cover(6, 2)
    assert len(reference_cells(A, exact=False, whitney_max=-1)) < 12


def test_reference_zero_rows_and_rank_zero():
    A = np.zeros((3, 2))
    res = reference_cells(A)
    assert res.patterns == {(False, False, False)}
    assert len(reference_lines(A)) == 0
    A = np.array([[0.0, 0.0], [1.0, 1.0], [0.0, 0.0], [-2.0, -2.0]])  # rank 1
    res = reference_cells(A)
    assert res.patterns == {(False, True, False, False), (False, False, False, True)}
    lines = reference_lines(A)
    assert lines.rank == 1 and len(lines) == 1
    (ln,) = lines.lines
    assert ln.direction == (1, 1) and ln.incidence == frozenset({0, 2})


def test_reference_lines_rank_deficient_are_in_row_space():
    # rank 2 in R^3: rows span {(1,0,1), (0,1,1)}
    A = np.array([[1.0, 0, 1], [0, 1, 1], [1, 1, 2], [1, -1, 0]])
    lines = reference_lines(A)
    assert lines.rank == 2
    assert len(lines) == 4  # each of the 4 distinct hyperplanes meets the plane in a line
    for ln in lines.lines:
        v = np.array(ln.direction, dtype=float)
        # orthogonal to the kernel (1, 1, -1)
        assert v @ np.array([1.0, 1, -1]) == 0


# ---------------------------------------------------------------- the checkers can fail


@pytest.fixture(scope="module")
def sample():
    X = np.array([[0.0, 0], [1, 0], [0, 1], [1, 1], [2, 2], [0, 0]])
    A = lift(X, True)
    ref = reference_cells(A)
    pats = np.array(sorted(ref.patterns), dtype=bool)
    wits = np.array([ref.witnesses[tuple(p)] for p in pats])
    return A, ref, pats, wits


def test_check_cells_accepts_the_reference(sample):
    A, ref, pats, wits = sample
    assert check_cells(A, pats, wits, ref) == []
    assert check_witnesses_fast(A, pats, wits)[0] == 0


def test_check_cells_detects_errors(sample):
    A, ref, pats, wits = sample
    assert check_cells(A, pats[1:], wits[1:], ref)  # a missing cell
    dup = np.vstack([pats, pats[:1]])
    assert check_cells(A, dup, np.vstack([wits, wits[:1]]), ref)  # a duplicated cell
    bad = wits.copy()
    bad[3] = -bad[3]  # a witness in the wrong cell
    assert check_cells(A, pats, bad, ref)
    assert check_witnesses_fast(A, pats, bad)[0] >= 1
    onface = wits.copy()
    onface[0] = 0.0  # a witness on the hyperplanes (not strict)
    assert check_cells(A, pats, onface)
    assert check_witnesses_fast(A, pats, onface)[0] >= 1
    flipped = pats.copy()
    flipped[2, 0] = ~flipped[2, 0]
    assert check_cells(A, flipped, wits, ref)


def _rays_from_reference(lines):
    dirs, ip, ix = [], [0], []
    for ln in sorted(lines.lines, key=lambda ln: sorted(ln.incidence)):
        v = ln.unit
        for s in (1, -1):
            dirs.append(s * v)
            ix += sorted(ln.incidence)
            ip.append(len(ix))
    return np.array(dirs), np.array(ip), np.array(ix)


def test_check_rays_accepts_and_detects():
    A = lift(np.array([[0.0, 0], [1, 0], [0, 1], [1, 1], [2, 2]]), True)
    lines = reference_lines(A)
    dirs, ip, ix = _rays_from_reference(lines)
    assert check_rays(A, dirs, ip, ix, lines) == []
    # a missing line
    assert check_rays(A, dirs[2:], ip[2:] - ip[2], ix[ip[2]:], lines)
    # a wrong direction (still unit)
    bad = dirs.copy()
    bad[0], bad[1] = dirs[2], -dirs[2]
    assert check_rays(A, bad, ip, ix, lines)
    # not opposite
    bad = dirs.copy()
    bad[1] = dirs[0]
    assert check_rays(A, bad, ip, ix, lines)
    # not unit
    assert check_rays(A, 2 * dirs, ip, ix, lines)
    # an incidence dropped
    assert check_rays(A, dirs[:, :], ip - np.r_[0, np.ones(len(ip) - 1, int)],
                      ix[1:], lines)
