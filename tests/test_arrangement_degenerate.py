"""The core against the pure-Python reference on small degenerate inputs.

Degenerate data is the normal case: duplicated points, parallel and antiparallel
hyperplanes, collinear points, zero rows, rank-deficient matrices, decimal data
(whose float collinearity differs from the decimal one).  For each of the
generated inputs (with and without bias, d = 1..3) the cells and the rays of the
core must equal the reference's exactly (tests/reference.py).
"""

import numpy as np
import pytest

import exactrelu
from exactrelu import _core
from reference import (
    check_cells,
    check_rays,
    check_witnesses_fast,
    distinct_hyperplanes,
    exact_rank,
    lift,
    reference_cells,
    reference_lines,
)

KINDS = ["int", "dup", "collinear", "zero", "rankdef", "scaled", "decimal", "mixed"]
N_CASES = 336  # 42 per kind; half with bias


def degenerate_case(seed):
    """A small degenerate input: returns (X, bias, kind).

    Zero rows are no hyperplanes: they get pattern entry 0 and are never listed in
    a ray's incidence (``zero_rows="none"`` below).
    """
    kind = KINDS[seed % len(KINDS)]
    rng = np.random.default_rng([20240611, seed])
    bias = bool((seed // len(KINDS)) % 2)
    d = 1 + (seed // (2 * len(KINDS))) % 3
    n = int(rng.integers(1, {1: 15, 2: 13, 3: 11}[d]))

    def ints(shape, lo=-2, hi=2):
        return rng.integers(lo, hi + 1, size=shape).astype(float)

    if kind == "int":
        lo, hi = [(0, 1), (-1, 1), (0, 2), (-2, 2)][int(rng.integers(4))]
        X = ints((n, d), lo, hi)
    elif kind == "dup":
        k = int(rng.integers(1, n + 1))
        base = ints((k, d))
        X = base[rng.integers(0, k, size=n)]
    elif kind == "collinear":
        p, q = ints(d), ints(d, -1, 1)
        t = rng.integers(-3, 4, size=n)
        X = p[None, :] + t[:, None] * q[None, :]
        extra = int(rng.integers(0, 3))
        if extra and n > 2:
            X[:extra] = ints((extra, d))
    elif kind == "zero":
        X = ints((n, d), -1, 1)
        X[rng.random(n) < 0.4] = 0.0
    elif kind == "rankdef":
        k = int(rng.integers(0, d)) if d > 1 else 0
        X = ints((n, k)) @ ints((k, d), -1, 1) if k else np.zeros((n, d))
        if k == 0 and d > 1:  # a rank-one matrix with several distinct rows
            X = ints((n, 1)) * ints((1, d), -1, 1)
    elif kind == "scaled":
        base = ints((max(1, n // 2), d))
        idx = rng.integers(0, len(base), size=n)
        f = rng.choice([1.0, 2.0, -1.0, -2.0, 0.5, 3.0, -0.25], size=n)
        X = base[idx] * f[:, None]
    elif kind == "decimal":
        X = ints((n, d), 0, 3) * 0.1
    else:  # mixed: antipodes, a zero row, exact powers of two of very different sizes
        X = ints((n, d))
        if n >= 2:
            X[1] = -X[0]
        if n >= 3:
            X[2] = 0.0
        if n >= 4:
            X[3] = X[int(rng.integers(0, 3))] * 2.0**30
        if n >= 5:
            X[4] = ints(d) * 2.0**-40
    return np.ascontiguousarray(X, dtype=float), bias, kind


def _check_case(X, bias, threads=None, extra=None):
    A = lift(X, bias)
    problems = []
    ref = reference_cells(A)
    assert ref.certified  # the reference itself agrees with Whitney's formula
    cells = exactrelu.enumerate_cells(X, bias=bias, threads=threads)
    problems += ["cells: " + p for p in check_cells(A, cells.patterns, cells.witnesses, ref,
                                                   cells.witnesses_lo)]
    n_count = exactrelu.count_cells(X, bias=bias)
    if not (n_count == len(cells) == len(ref)):
        problems.append(f"count_cells {n_count}, len(enumerate_cells) {len(cells)}, "
                        f"reference {len(ref)}")
    info = exactrelu.arrangement_info(X, bias=bias)
    hp = distinct_hyperplanes(A)
    if info.rank != exact_rank(hp.rows) or info.n_hyperplanes != hp.m:
        problems.append(f"arrangement_info rank/hyperplanes {info.rank}/{info.n_hyperplanes}, "
                        f"exact {exact_rank(hp.rows)}/{hp.m}")
    if len(ref) > info.cells_bound:
        problems.append(f"cells_bound {info.cells_bound} < {len(ref)} cells")

    lref = reference_lines(A)
    rays = exactrelu.enumerate_rays(X, bias=bias, threads=threads)
    problems += ["rays: " + p for p in
                 check_rays(A, rays.directions, rays.indptr, rays.indices, lref,
                            zero_rows="none")]
    n_rays = exactrelu.count_rays(X, bias=bias)
    if not (n_rays == len(rays) == lref.n_rays):
        problems.append(f"count_rays {n_rays}, len(enumerate_rays) {len(rays)}, "
                        f"reference {lref.n_rays}")
    if lref.n_rays > info.rays_bound:
        problems.append(f"rays_bound {info.rays_bound} < {lref.n_rays} rays")

    if extra is not None:
        S = np.vstack([A, extra])
        sref = reference_lines(S)
        srays = exactrelu.enumerate_rays(X, bias=bias, extra_hyperplanes=extra, threads=threads)
        problems += ["extra rays: " + p for p in
                     check_rays(S, srays.directions, srays.indptr, srays.indices, sref,
                            zero_rows="none")]
        n_s = exactrelu.count_rays(X, bias=bias, extra_hyperplanes=extra)
        if not (n_s == len(srays) == sref.n_rays):
            problems.append(f"extra: count_rays {n_s}, len {len(srays)}, reference {sref.n_rays}")
    return problems


@pytest.mark.parametrize("seed", range(N_CASES))
def test_degenerate_matches_reference(seed):
    X, bias, kind = degenerate_case(seed)
    extra = None
    if seed % 3 == 0:  # refine by the coordinate hyperplanes of the weights (the ray LP)
        extra = np.eye(X.shape[1], X.shape[1] + bias)
    problems = _check_case(X, bias, threads=1 + seed % 2, extra=extra)
    assert not problems, f"kind={kind} bias={bias} X={X.tolist()}:\n" + "\n".join(problems)


def test_generator_covers_the_degeneracies():
    """The generated inputs really contain every kind of degeneracy (guards the generator)."""
    seen = {"duplicate": 0, "antiparallel": 0, "zero_row": 0, "rank_deficient": 0,
            "many_through_a_ray": 0, "bias": 0, "nobias": 0}
    dims = set()
    for seed in range(N_CASES):
        X, bias, kind = degenerate_case(seed)
        A = lift(X, bias)
        hp = distinct_hyperplanes(A)
        dims.add(X.shape[1])
        seen["bias" if bias else "nobias"] += 1
        nz = [c for c in hp.cls if c >= 0]
        if len(nz) > len(set(nz)):
            seen["duplicate"] += 1
        if any(hp.orient[i] != hp.orient[j] for i in range(hp.n) for j in range(i)
               if hp.cls[i] == hp.cls[j] >= 0):
            seen["antiparallel"] += 1
        if any(c < 0 for c in hp.cls):
            seen["zero_row"] += 1
        if exact_rank(hp.rows) < min(A.shape):
            seen["rank_deficient"] += 1
        r = exact_rank(hp.rows)
        if r >= 3 and any(len(ln.incidence) > r - 1 for ln in reference_lines(A).lines):
            seen["many_through_a_ray"] += 1
    assert dims == {1, 2, 3}
    assert all(v >= 10 for v in seen.values()), seen


def test_decimal_data_is_decided_on_the_doubles():
    """Collinear in decimal, not in float64: the core follows the doubles.

    (1, 1), (2, 3), (3, 5) are collinear; times 0.1 in float64 they are not.
    """
    Xi = np.array([[1.0, 1], [2, 3], [3, 5], [1, 3], [3, 7]])
    X = Xi * 0.1
    for data in (X, Xi):
        A = lift(data, True)
        ref = reference_cells(A)
        cells = exactrelu.enumerate_cells(data)
        assert not check_cells(A, cells.patterns, cells.witnesses, ref, cells.witnesses_lo)
        assert exactrelu.count_cells(data) == len(ref)
    assert exactrelu.count_cells(Xi) == 20
    assert exactrelu.count_cells(X) == 22


def test_near_degenerate_perturbation_is_not_rounded_away():
    """Points one ulp off a line are not collinear; exact signs must see it."""
    X = np.array([[0.0, 0.0], [1.0, 1.0], [2.0, np.nextafter(2.0, 3.0)], [3.0, 3.0]])
    A = lift(X, True)
    ref = reference_cells(A)
    cells = exactrelu.enumerate_cells(X)
    assert not check_cells(A, cells.patterns, cells.witnesses, ref, cells.witnesses_lo)
    lref = reference_lines(A)
    rays = exactrelu.enumerate_rays(X)
    assert not check_rays(A, rays.directions, rays.indptr, rays.indices, lref)
    # exactly collinear: 2 + 2 * 3 = 8 cells; one ulp off: more
    assert exactrelu.count_cells(np.array([[0.0, 0], [1, 1], [2, 2], [3, 3]])) == 8
    assert exactrelu.count_cells(X) == len(ref) > 8


def test_sub_ulp_cell_gets_an_exact_double_double_witness():
    """Three nearly concurrent hyperplanes (determinant ~1e-18) leave a cell narrower
    than the spacing of doubles: its witness is kept exact as hi + lo."""
    X = np.array([[0.30000000000000004, 0.0, 0.1], [0.0, 0.1, 0.2], [0.0, 0.0, 0.1],
                  [0.0, 0.2, 0.30000000000000004], [0.2, 0.30000000000000004, 0.2],
                  [0.2, 0.2, 0.0], [0.0, 0.30000000000000004, 0.0]])
    cells = exactrelu.enumerate_cells(X, bias=False)
    assert cells.witnesses_lo is not None
    thin = np.flatnonzero(np.any(cells.witnesses_lo != 0, axis=1))
    assert 0 < len(thin) < len(cells)
    assert not check_cells(X, cells.patterns, cells.witnesses, reference_cells(X),
                           cells.witnesses_lo)
    # the rounded points alone are not interior: the lo part is needed
    assert check_cells(X[:, :], cells.patterns[thin], cells.witnesses[thin])
    # ordinary data never needs it
    assert exactrelu.enumerate_cells(np.arange(6.0).reshape(3, 2)).witnesses_lo is None


try:
    from hypothesis import given, settings
    from hypothesis import strategies as st
    from hypothesis.extra.numpy import arrays
except ImportError:  # pragma: no cover
    given = None

if given is not None:

    @st.composite
    def small_int_data(draw):
        d = draw(st.integers(1, 3))
        n = draw(st.integers(1, {1: 9, 2: 8, 3: 7}[d]))
        X = draw(arrays(np.float64, (n, d), elements=st.integers(-2, 2).map(float)))
        return X, draw(st.booleans())

    @settings(max_examples=60, deadline=None)
    @given(small_int_data())
    def test_hypothesis_small_integer_data(case):
        X, bias = case
        problems = _check_case(X, bias)
        assert not problems, "\n".join(problems)

    @settings(max_examples=25, deadline=None)
    @given(small_int_data(), st.integers(1, 3))
    def test_hypothesis_random_extra_hyperplanes(case, k):
        X, bias = case
        D = X.shape[1] + bias
        E = np.random.default_rng(k).integers(-1, 2, size=(k, D)).astype(float)
        problems = _check_case(X, bias, extra=E)
        assert not problems, "\n".join(problems)


HIGH_RANK_KINDS = ["int", "dup", "collinear", "scaled", "mixed", "decimal"]
N_HIGH_RANK = 48


def high_rank_case(seed):
    """A small degenerate input of rank 4-6 (d = 3 with bias, d = 4, 5): ``(S, X, bias,
    extra, kind)`` with ``S`` the lifted rows and the extra hyperplanes."""
    kind = HIGH_RANK_KINDS[seed % len(HIGH_RANK_KINDS)]
    rng = np.random.default_rng([20261130, seed])
    d = 3 + (seed // len(HIGH_RANK_KINDS)) % 3
    bias = bool((seed // (3 * len(HIGH_RANK_KINDS))) % 2) or d == 3
    n = int(rng.integers(d + 2, {3: 12, 4: 10, 5: 9}[d]))

    def ints(shape, lo=-1, hi=1):
        return rng.integers(lo, hi + 1, size=shape).astype(float)

    if kind == "int":
        X = ints((n, d))
    elif kind == "dup":
        base = ints((max(d + 1, n // 2), d), -2, 2)
        X = base[rng.integers(0, len(base), size=n)]
    elif kind == "collinear":   # a few lines of points plus general ones
        X = np.vstack([ints(d, -2, 2) + t * ints(d) for t in range(n // 2)] +
                      [ints(d, -2, 2) for _ in range(n - n // 2)])
    elif kind == "scaled":
        base = ints((max(d + 1, n // 2), d), -2, 2)
        X = base[rng.integers(0, len(base), size=n)] * rng.choice([1.0, -2.0, 0.5], size=n)[:, None]
    elif kind == "decimal":
        X = ints((n, d), 0, 3) * 0.1
    else:
        X = ints((n, d), -2, 2)
        X[1] = -X[0]
        X[3] = X[2] * 2.0**30
    X = np.ascontiguousarray(X, dtype=float)
    extra = np.eye(d, d + bias) if seed % 2 else None
    A = lift(X, bias)
    S = A if extra is None else np.vstack([A, extra])
    return S, X, bias, extra, kind


@pytest.mark.parametrize("seed", range(N_HIGH_RANK))
def test_degenerate_rays_at_rank_four_to_six(seed):
    """At rank >= 4 the walk sweeps only a covering family of 2-flats and emits each
    line from the first family member among the 2-flats of its greedy basis, found by
    exact rank tests when more than r - 1 hyperplanes pass through it (docs/design.md
    section 8). Every line exactly once, against the reference, at ranks 4-6."""
    S, X, bias, extra, kind = high_rank_case(seed)
    ref = reference_lines(S)
    rays = exactrelu.enumerate_rays(X, bias=bias, extra_hyperplanes=extra, threads=1 + seed % 2)
    problems = check_rays(S, rays.directions, rays.indptr, rays.indices, ref, zero_rows="none")
    n_rays = exactrelu.count_rays(X, bias=bias, extra_hyperplanes=extra)
    if not (n_rays == len(rays) == ref.n_rays):
        problems.append(f"count_rays {n_rays}, enumerate_rays {len(rays)}, reference {ref.n_rays}")
    assert not problems, f"kind={kind} bias={bias} X={X.tolist()}:\n" + "\n".join(problems)


def test_high_rank_generator_has_many_hyperplanes_through_lines():
    """The rank 4-6 inputs above reach every rank, and many have lines with more than
    r - 1 hyperplanes through them (the exact greedy-basis path)."""
    many = {4: 0, 5: 0, 6: 0}
    for seed in range(N_HIGH_RANK):
        S = high_rank_case(seed)[0]
        r = exact_rank(distinct_hyperplanes(S).rows)
        if any(len(ln.incidence) > r - 1 for ln in reference_lines(S).lines):
            many[r] += 1
    assert all(v >= 4 for v in many.values()), many


@pytest.mark.parametrize("seed", range(0, N_HIGH_RANK, 2))
def test_canonical_cell_emission_at_rank_four_to_six(seed):
    """At ranks 3-7 each pair of cells is emitted only at the vertices where it is lowest
    in a chart (with both signs on edges level in the chart), plus the cells of the
    chart's restriction; lines in the chart's hyperplane at infinity and lines with more
    than r - 1 hyperplanes emit every local cell (docs/design.md section 2). Against the
    reference's cells, with exact witnesses, at ranks 4-6 on degenerate data."""
    _, X, bias, _, kind = high_rank_case(seed)
    A = lift(X, bias)
    ref = reference_cells(A)
    cells = exactrelu.enumerate_cells(X, bias=bias, threads=1 + seed % 2)
    problems = check_cells(A, cells.patterns, cells.witnesses, ref, cells.witnesses_lo)
    n_count = exactrelu.count_cells(X, bias=bias)
    if not (n_count == len(cells) == len(ref)):
        problems.append(f"count_cells {n_count}, enumerate_cells {len(cells)}, "
                        f"reference {len(ref)}")
    assert not problems, f"kind={kind} bias={bias} X={X.tolist()}:\n" + "\n".join(problems)


def test_thin_cells_get_witnesses_from_another_line():
    """Five points of a plane in R^5, rounded: the exact rank is 5 but the cells are
    thinner than the doubles near some of their lines. The canonical emission gives
    each cell one line, from which no witness could be verified here; the enumeration
    is then redone emitting every cell at every line (its first line's witness)."""
    X = np.array([
        [0.8272715865033727, -1.6656049441338214, 0.4223201605924939, 1.0034577636535815,
         -0.05620883992390749],
        [-0.08025181495258113, 2.807414770659454, 0.6922341867350975, -2.0313078596646195,
         -1.4136359672758865],
        [0.3213027318986296, -1.4180483382081777, -0.04967234861405805, 0.953397897790731,
         0.3917717021130582],
        [0.024232340288273257, -1.9496786821511929, -0.5143953882669338, 1.4188409918089246,
         1.017891151337581],
        [-1.899796383254788, 3.980731334543787, -0.9266847456772715, -2.4182352920572505,
         0.045552943019807265]])
    A = lift(X, True)
    # the core itself (the package would fall back to exact rational witnesses)
    packed, wit, lo = _core.enumerate_cells(A, 2, -1, True)
    patterns = np.unpackbits(packed, axis=1, count=len(A), bitorder="little").astype(bool)
    # distinct patterns, each realized exactly by its witness; as many as count_cells
    problems = check_cells(A, patterns, wit, None, lo)
    assert not problems and len(patterns) == exactrelu.count_cells(X) == 32, problems


def _many_through_a_line(case):
    """Inputs whose lines lie on many hyperplanes (rank 3 and 4)."""
    rng = np.random.default_rng(7)
    if case == "collinear-70":      # 70 hyperplanes through one line: above 64
        t = np.arange(-35, 35, dtype=float)
        X = np.r_[np.c_[t, 2 * t + 1], rng.integers(-3, 4, size=(5, 2))]
        return X, True
    if case == "grid-8x8":
        g = np.arange(8.0)
        return np.array([(a, b) for a in g for b in g]), True
    if case == "cube-4":
        g = np.arange(4.0)
        return np.array([(a, b, c) for a in g for b in g for c in g]), True
    if case == "int-4d":            # rank 4 without a bias
        return rng.integers(-1, 2, size=(40, 4)).astype(float), False
    if case == "coplanar":          # points on three planes, not integers
        X = rng.integers(-8, 9, size=(45, 3)) * 0.375
        X[:15, 0] = 0.75
        X[15:30, 1] = -1.25
        X[30:, 2] = X[30:, 0] - X[30:, 1]
        return X, True
    raise AssertionError(case)


@pytest.mark.parametrize("case", ["collinear-70", "grid-8x8", "cube-4", "int-4d", "coplanar"])
def test_lines_through_many_hyperplanes(case):
    """Rank 3 and 4 with lines through many hyperplanes: their local cells come from the
    angular order of the lines in each plane (docs/design.md section 2), or from the
    general enumeration above 64 hyperplanes through a line. Every cell is listed once
    with an exactly verified witness, count_cells agrees, threads 1 and 2 agree."""
    X, bias = _many_through_a_line(case)
    A = lift(X, bias)
    r = exact_rank(distinct_hyperplanes(A).rows)
    assert r in (3, 4)
    assert max(len(ln.incidence) for ln in reference_lines(A).lines) > r
    one = exactrelu.enumerate_cells(X, bias=bias, threads=1)
    two = exactrelu.enumerate_cells(X, bias=bias, threads=2)
    assert np.array_equal(one.packed, two.packed) and np.array_equal(one.witnesses, two.witnesses)
    patterns = np.unpackbits(one.packed, axis=1, count=len(X), bitorder="little").astype(bool)
    assert len(patterns) == exactrelu.count_cells(X, bias=bias)
    problems = check_cells(A, patterns, one.witnesses, witnesses_lo=one.witnesses_lo,
                           witnesses_exact=one.witnesses_exact)
    assert not problems, problems


def _planar_lines(X):
    """The exact lines through two or more of the distinct points X (n x 2 doubles), as
    the number of points on each: pairs grouped by the line through them, in integers."""
    from fractions import Fraction
    from math import gcd

    pts = sorted({(Fraction(x), Fraction(y)) for x, y in X})
    on = {}
    for i in range(len(pts)):
        for j in range(i + 1, len(pts)):
            (x1, y1), (x2, y2) = pts[i], pts[j]
            a, b = y2 - y1, x1 - x2
            c = -(a * x1 + b * y1)
            den = a.denominator * b.denominator * c.denominator
            t = [int(v * den) for v in (a, b, c)]
            g = gcd(*t)
            t = [v // g for v in t]
            if next(v for v in t if v) < 0:
                t = [-v for v in t]
            on.setdefault(tuple(t), set()).update((i, j))
    return [len(s) for s in on.values()]


@pytest.mark.parametrize("seed", [0, 1])
def test_near_tied_slopes_in_large_sweeps(seed):
    """Sweeps of 128 items or more sort by the top 32 bits of a float key (a radix sort)
    and leave the exact order to the insertion pass: a 12 x 12 grid with some points
    moved by 2^-30 has slopes tied to far more than those bits, exact ties and
    near-ties. The cells, rays and count are those of the exact lines through the
    points (planar points: 2 + 2 sum over lines (points on it - 1) cells, two rays per
    line), witnesses verified exactly, threads 1 and 2 identical."""
    rng = np.random.default_rng(seed)
    X = np.array([[i, j] for i in range(12) for j in range(12)], dtype=float)
    X += rng.integers(-1, 2, size=X.shape) * rng.integers(0, 2, size=(len(X), 1)) * 2.0**-30
    sizes = _planar_lines(X)
    assert max(sizes) >= 3 and len(sizes) > 5000
    expected = 2 + 2 * sum(m - 1 for m in sizes)
    assert exactrelu.count_cells(X) == expected
    one = exactrelu.enumerate_cells(X, threads=1)
    two = exactrelu.enumerate_cells(X, threads=2)
    assert np.array_equal(one.packed, two.packed) and np.array_equal(one.witnesses, two.witnesses)
    assert len(one.packed) == expected
    patterns = np.unpackbits(one.packed, axis=1, count=len(X), bitorder="little").astype(bool)
    assert len(np.unique(patterns, axis=0)) == expected
    A = lift(X, True)
    lo = one.witnesses_lo
    thin = np.zeros(len(patterns), bool) if lo is None else np.any(lo != 0, axis=1)
    bad, _ = check_witnesses_fast(A, patterns[~thin], one.witnesses[~thin])
    assert bad == 0
    if thin.any():   # cells thinner than doubles resolve: double-double witnesses
        problems = check_cells(A, patterns[thin], one.witnesses[thin], witnesses_lo=lo[thin])
        assert not problems, problems
    rays = exactrelu.enumerate_rays(X, threads=2)
    assert len(rays.directions) == 2 * len(sizes)
