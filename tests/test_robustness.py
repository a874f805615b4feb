"""Inputs that were once reinterpreted silently or certified wrongly (issue 9's audit).

Each test names the finding it guards against; all of them failed before the fix.
"""

import numpy as np
import pytest

import exactrelu
from exactrelu import ReLUNetwork, solve
from exactrelu.errors import InputError

X3 = np.array([[0.0], [1.0], [2.0]])
Y3 = np.array([0.0, 1.0, 0.0])


# ------------------------------------------------------------ silent reinterpretation
@pytest.mark.parametrize("flag", ["no", "False", 0, 1, None, [True]])
def test_non_bool_flags_are_refused(flag):
    with pytest.raises(InputError, match="bias must be True or False"):
        solve(X3, Y3, bias=flag)
    with pytest.raises(InputError, match="skip must be True or False"):
        solve(X3, Y3, skip=flag)
    with pytest.raises(InputError, match="bias must be True or False"):
        exactrelu.count_cells(X3, bias=flag)
    with pytest.raises(InputError, match="bias must be True or False"):
        exactrelu.enumerate_rays(X3, bias=flag)
    with pytest.raises(InputError, match="bias must be True or False"):
        exactrelu.beta_max(X3, Y3, bias=flag)


def test_numpy_bools_are_flags():
    a = solve(X3, Y3, bias=np.True_, skip=np.False_, beta=0.01)
    b = solve(X3, Y3, bias=True, skip=False, beta=0.01)
    assert a.objective == b.objective


def test_masked_entries_are_refused_not_ignored():
    Xm = np.ma.array([[0.0], [1.0], [2.0]], mask=[[False], [True], [False]])
    with pytest.raises(InputError, match="masked array with 1 masked"):
        solve(Xm, Y3, beta=0.01)
    with pytest.raises(InputError, match="masked"):
        exactrelu.enumerate_cells(Xm)
    ym = np.ma.array(Y3, mask=[True, False, False])
    with pytest.raises(InputError, match="y is a masked array"):
        solve(X3, ym, beta=0.01)
    # a masked array without masked entries is just its data
    ok = solve(np.ma.array(X3), Y3, beta=0.01)
    assert ok.objective == solve(X3, Y3, beta=0.01).objective


def test_integers_beyond_2_53_are_refused():
    big = 2**53
    X = np.array([[big], [big + 1], [big + 2]], dtype=np.int64)   # distinct as ints
    assert len(np.unique(X.astype(float))) < 3                       # not as doubles
    with pytest.raises(InputError, match="beyond 2\\^53"):
        exactrelu.count_cells(X)
    with pytest.raises(InputError, match="beyond 2\\^53"):
        solve(X3, np.array([0, big + 1, 0], dtype=np.int64), beta=0.1)
    # up to 2^53 integers are exact and accepted
    assert exactrelu.count_cells(np.array([[big], [big - 1]], dtype=np.int64)) == 4
    assert exactrelu.count_cells(np.array([[np.iinfo(np.uint64).max // 2**12]],
                                          dtype=np.uint64)) == 2


@pytest.mark.parametrize("bad", ["0.1", b"1", True, None, [0.1], float("nan"), -1.0, 0.0])
def test_beta_must_be_a_positive_number(bad):
    with pytest.raises(InputError, match="beta"):
        solve(X3, Y3, beta=bad)


@pytest.mark.parametrize("bad", ["5", True, [1.0], float("inf"), 0, -2])
def test_time_limit_must_be_a_positive_number(bad):
    with pytest.raises(InputError, match="time_limit"):
        solve(X3, Y3, beta=0.1, time_limit=bad)


def test_numpy_scalars_are_numbers():
    a = solve(X3, Y3, beta=np.float32(0.25), time_limit=np.int64(60))
    b = solve(X3, Y3, beta=0.25)
    assert a.objective == pytest.approx(b.objective, rel=1e-12)
    assert solve(X3, Y3, beta=np.array(0.25)).objective == pytest.approx(b.objective, rel=1e-12)


# ------------------------------------------------------ errors outside the tree
@pytest.mark.parametrize("kw", [{"threads": 2**31}, {"threads": 10**6}, {"threads": 0}])
def test_thread_counts_out_of_range(kw):
    with pytest.raises(InputError, match="threads must be between"):
        solve(X3, Y3, beta=0.1, **kw)
    with pytest.raises(InputError, match="threads must be between"):
        exactrelu.count_rays(X3, **kw)


def test_limits_out_of_range():
    with pytest.raises(InputError, match="max_rays must be between"):
        solve(X3, Y3, beta=0.1, max_rays=2**70)
    with pytest.raises(InputError, match="max_cells must be between"):
        exactrelu.enumerate_cells(X3, max_cells=2**70)
    with pytest.raises(InputError, match="memory_limit"):
        exactrelu.enumerate_cells(X3, memory_limit="x")
    with pytest.raises(InputError, match="memory_limit"):
        exactrelu.enumerate_rays(X3, memory_limit=0)


# ---------------------------------------------------- the certificate when M = 0
@pytest.mark.parametrize("X", [np.ones((3, 1)), np.zeros((3, 2)), np.full((4, 2), 3.0)])
@pytest.mark.parametrize("loss", ["squared", "absolute"])
def test_every_ray_pricing_to_zero_still_certifies(X, loss):
    """All inputs equal: every neuron is a constant on the data, every ray prices to
    0, and the affine fit is optimal; the bound must be its loss, not 0."""
    y = np.arange(X.shape[0], dtype=float)
    sol = solve(X, y, beta=0.1, loss=loss)
    r = y - (y.mean() if loss == "squared" else np.median(y))
    expected = 0.5 * r @ r if loss == "squared" else np.abs(r).sum()
    assert sol.certified and sol.n_neurons == 0
    assert sol.objective == pytest.approx(expected, rel=1e-12)
    assert sol.lower_bound == pytest.approx(expected, rel=1e-9)
    cert = exactrelu.certify(ReLUNetwork(np.zeros((0, X.shape[1])), [], [], y.mean()), X, y,
                             beta=0.1)
    assert cert.lower_bound == pytest.approx(0.5 * (y - y.mean()) @ (y - y.mean()), rel=1e-9)


# ------------------------------------------------------------- scale invariance
_RNG = np.random.default_rng(0)
XS = _RNG.uniform(-1, 1, (8, 2))
YS = np.sin(3 * XS[:, 0]) + XS[:, 1]
EXPONENTS = [-60, -33, -26, -13, -7, 0, 7, 26, 41, 60]
CASES = [("squared", "colgen", "l1"), ("squared", "full", "l1"), ("squared", "cells", "l1"),
         ("absolute", "colgen", "l1"), ("absolute", "cells", "l1"), ("hinge", "colgen", "l1"),
         ("hinge", "full", "l1"), ("interpolate", "colgen", "l1"),
         ("interpolate", "full", "l1"), ("squared", "cells", "l2"), ("squared", "colgen", "l2"),
         ("hinge", "colgen", "l2"), ("interpolate", "colgen", "l2")]


def _targets(loss):
    return np.sign(YS) if loss == "hinge" else YS


@pytest.fixture(scope="module")
def reference_solutions():
    out = {}
    for loss, method, penalty in CASES:
        y = _targets(loss)
        beta = 1.0 if loss == "interpolate" else exactrelu.beta_max(XS, y, loss=loss) / 10
        out[loss, method, penalty] = (beta, solve(XS, y, loss=loss, beta=beta, method=method,
                                                  penalty=penalty))
    return out


@pytest.mark.parametrize("k", EXPONENTS)
@pytest.mark.parametrize("case", CASES, ids=["-".join(c) for c in CASES])
def test_scaling_x_by_powers_of_two(case, k, reference_solutions):
    """X -> 2^k X with beta -> 2^k beta leaves the objective unchanged; an
    interpolation's minimal path norm is divided by 2^k."""
    loss, method, penalty = case
    beta, ref = reference_solutions[case]
    s = 2.0 ** k
    sol = solve(XS * s, _targets(loss), loss=loss, beta=beta * s, method=method,
                penalty=penalty)
    assert sol.certified, (k, sol)
    expected = ref.objective / s if loss == "interpolate" else ref.objective
    assert sol.objective == pytest.approx(expected, rel=1e-6)
    assert sol.lower_bound == pytest.approx(expected, rel=1e-6)


@pytest.mark.parametrize("k", EXPONENTS)
@pytest.mark.parametrize("loss", ["squared", "absolute", "interpolate"])
def test_scaling_y_by_powers_of_two(loss, k, reference_solutions):
    """y -> 2^k y: squared loss (beta -> 2^k beta) x 4^k, absolute x 2^k (beta
    unchanged), interpolation x 2^k."""
    beta, ref = reference_solutions[loss, "colgen", "l1"]
    s = 2.0 ** k
    sol = solve(XS, YS * s, loss=loss, beta=beta * s if loss == "squared" else beta)
    factor = s * s if loss == "squared" else s
    assert sol.certified, (k, sol)
    assert sol.objective == pytest.approx(ref.objective * factor, rel=1e-6)


@pytest.mark.parametrize("k", [-60, -20, 0, 20, 60])
def test_certify_and_beta_max_scale(k):
    s = 2.0 ** k
    bm = exactrelu.beta_max(XS, YS)
    assert exactrelu.beta_max(XS * s, YS * s) == pytest.approx(bm * s * s, rel=1e-9)
    assert exactrelu.beta_max(XS * s, YS, loss="absolute") == pytest.approx(
        exactrelu.beta_max(XS, YS, loss="absolute") * s, rel=1e-9)
    sol = solve(XS, YS, beta=bm / 10)
    net = sol.network
    scaled = ReLUNetwork(net.W / s, net.b, net.a * s, net.c * s)   # f'(x') = s f(x' / s)
    cert = exactrelu.certify(scaled, XS * s, YS * s, beta=bm / 10 * s * s)
    assert cert.gap <= 1e-6 * cert.upper_bound
    assert cert.lower_bound == pytest.approx(sol.objective * s * s, rel=1e-6)


# ------------------------------------------------- nearly coincident points
def test_nearly_coincident_points_interpolate_accurately():
    """Two points 1e-10 apart: the minimal network is f = relu(x - 1) / 1e-10, whose
    pre-activation nearly cancels. With power-of-two balancing the network computes
    exactly what its direction and coefficient do, so it interpolates to rounding."""
    X = np.array([[1.0], [1.0 + 1e-10]])
    sol = solve(X, [0.0, 1.0], loss="interpolate")
    assert sol.certified
    assert sol.objective == pytest.approx(1.0 / (X[1, 0] - X[0, 0]), rel=1e-9)
    assert np.abs(sol.network.predict(X) - [0.0, 1.0]).max() <= 1e-12


@pytest.mark.parametrize("X", [[[1.0], [1.0 + 1e-15]], [[1.0, 0.0], [1.0 + 2**-52, 0.0]],
                               [[-3.0, 5.0], [-3.0 - 2**-40, 5.0], [-3.0, 5.0 + 2**-45]]])
def test_distinct_points_are_never_declared_uninterpolable(X):
    """With neuron biases any distinct points can be interpolated; points a few ulps
    apart were declared infeasible ("a Farkas certificate was found")."""
    X = np.array(X)
    y = np.arange(len(X), dtype=float)
    sol = solve(X, y, loss="interpolate")
    assert sol.certified
    assert np.isfinite(sol.objective)


# ------------------------------------------------------ refusal instead of hours
def test_every_entry_point_refuses_or_bounds_huge_arrangements():
    """5000 x 8 data: certify, beta_max, count_cells and count_rays ran for minutes.
    The counts refuse with SizeError naming the limit; certify and beta_max do not
    walk the arrangement there: a MIP bound within their time_limit, and a heuristic
    value with a warning (docs/design.md section 10)."""
    from exactrelu.errors import SizeError

    rng = np.random.default_rng(0)
    X = rng.normal(size=(5000, 8))
    y = X[:, 0]
    for call in (lambda: exactrelu.count_cells(X), lambda: exactrelu.count_rays(X)):
        with pytest.raises(SizeError, match="max_rays") as info:
            call()
        assert info.value.estimate > info.value.limit
    Xs, ys = X[:300], y[:300]
    net = ReLUNetwork(np.zeros((0, 8)), [], [], 0.0)
    cert = exactrelu.certify(net, Xs, ys, beta=1.0, time_limit=1.0)
    assert not cert.exact and 0 <= cert.lower_bound <= cert.upper_bound
    for loss, target in (("squared", ys), ("hinge", np.sign(ys))):
        with pytest.warns(RuntimeWarning, match="lower bound on beta_max"):
            value = exactrelu.beta_max(Xs, target, loss=loss, time_limit=1.0)
        assert value > 0


def test_cover_count_is_exact_and_fast_for_huge_arguments():
    from math import comb

    for n in range(0, 30):
        for r in range(0, 32):
            expected = 1 if n == 0 or r == 0 else 2 * sum(comb(n - 1, k) for k in range(r))
            assert exactrelu.cover_count(n, r) == expected
    assert exactrelu.cover_count(10**5, 10**5) == 2**(10**5)
    assert exactrelu.cover_count(10**4, 3) == 2 * (1 + (10**4 - 1) + comb(10**4 - 1, 2))


def test_certify_names_an_overflowing_network():
    net = ReLUNetwork([[1e200, 0.0], [0.0, 1e200]], [0.0, 0.0], [1e200, -1e200], 0.0)
    with pytest.raises(InputError, match="network's outputs or path norm overflow"):
        exactrelu.certify(net, XS, YS, beta=0.1)


def test_time_limit_covers_the_cone_program():
    """The l2 cell program is built and solved in a child process stopped at the
    deadline (it used to run 3x past its time limit)."""
    from exactrelu.errors import TimeLimitError

    rng = np.random.default_rng(0)
    X = rng.uniform(-1, 1, (70, 2))
    y = np.sin(3 * X[:, 0]) + X[:, 1]
    with pytest.raises(TimeLimitError):
        solve(X, y, beta=0.05, penalty="l2", method="cells", time_limit=1.0)


# ------------------------------------------------------ extreme magnitudes
def test_rows_spanning_more_than_the_double_range():
    """Entries 1e-170 and 1e170 in one row: the count was 2 and the rank 1 (exact: 4, 2)."""
    X = np.array([[1e-170, 1e170], [2e-170, 1e170]])
    assert exactrelu.count_cells(X) == 4
    assert exactrelu.arrangement_info(X).rank == 2
    assert exactrelu.count_rays(X) == 4
    cells = exactrelu.enumerate_cells(X)
    assert len(cells) == 4
    from reference import check_cells, lift
    assert check_cells(lift(X, True), cells.patterns, cells.witnesses,
                       witnesses_lo=cells.witnesses_lo) == []


def test_subnormal_opposite_rows():
    """``[[-5e-324], [5e-324]]`` without bias: witnesses contradicted their patterns."""
    X = np.array([[-5e-324], [5e-324]])
    cells = exactrelu.enumerate_cells(X, bias=False)
    assert sorted(map(tuple, cells.patterns.tolist())) == [(False, True), (True, False)]
    from reference import check_cells
    assert check_cells(X, cells.patterns, cells.witnesses) == []


@pytest.mark.parametrize("scale", [1e-300, 1e-200, 2.0**-1070, 1e300])
def test_ray_directions_are_finite_unit_vectors(scale):
    X = np.array([[1.0, 2.0], [3.0, -1.0], [1.0, 1.0], [-2.0, 0.5]]) * scale
    ref = exactrelu.enumerate_rays(X / scale)
    for bias in (True, False):
        rays = exactrelu.enumerate_rays(X, bias=bias)
        d = rays.directions
        assert np.all(np.isfinite(d))
        assert np.allclose(np.linalg.norm(d, axis=1), 1.0)
        A = X if not bias else np.hstack([X, np.ones((len(X), 1))])
        from reference import check_rays
        assert check_rays(A, d, rays.indptr, rays.indices) == []
    assert len(exactrelu.enumerate_rays(X)) == len(ref)


@pytest.mark.parametrize("seed", range(6))
def test_counts_and_cells_exact_under_power_of_two_scaling(seed):
    """Scaling rows and columns by powers of two (exact) changes no cell and no ray,
    over the whole exponent range, against the exact reference."""
    from reference import check_cells, lift, reference_cells

    rng = np.random.default_rng(seed)
    X = rng.integers(-3, 4, size=(7, 2)).astype(float)    # degenerate: a small grid
    A = lift(X, True)
    ref = reference_cells(A, whitney_max=-1)
    for _ in range(4):
        kc = rng.integers(-500, 500, size=3)
        kr = rng.integers(-500, 500, size=7)
        As = np.ldexp(np.ldexp(A, kc[None, :]), kr[:, None])
        cells = exactrelu.enumerate_cells(As, bias=False)
        assert exactrelu.count_cells(As, bias=False) == len(ref) == len(cells)
        assert check_cells(As, cells.patterns, cells.witnesses, ref, cells.witnesses_lo) == []
        assert exactrelu.count_rays(As, bias=False) == exactrelu.count_rays(A, bias=False)


@pytest.mark.parametrize("method", ["full", "colgen"])
def test_time_limit_covers_enumeration_and_pricing(method):
    """``method="full"`` with time_limit=0.5 ran 6 s: the ray enumeration (C++) did not
    look at the deadline. The deadline now interrupts the core like Ctrl-C does."""
    from exactrelu.errors import TimeLimitError

    rng = np.random.default_rng(0)
    X = rng.normal(size=(60, 4))
    with pytest.raises(TimeLimitError, match="time_limit"):
        solve(X, X[:, 0] ** 2, beta=0.01, method=method, time_limit=0.2, max_rays=10**12)
    # the process is healthy afterwards, and no timer is left behind
    import signal
    assert signal.getitimer(signal.ITIMER_REAL) == (0.0, 0.0)
    assert solve(X[:8], X[:8, 0], beta=0.01, time_limit=60).certified


# ------------------------------------------------------------ witnesses
def test_nearly_rank_deficient_data_gets_exact_witnesses():
    """A column that is the sum of two others, rounded: the lifted rows have rank 4, but
    most cells exist only through the rounding and are thinner than a double's spacing
    (double-double witnesses). Every witness is verified exactly; the count is exact.
    (docs/design.md section 8: the search for a double point in such a cell is bounded.)"""
    from reference import check_cells, lift

    X = np.random.default_rng(0).standard_normal((25, 3))
    X[:, 2] = X[:, 0] + X[:, 1]
    cells = exactrelu.enumerate_cells(X, threads=2)
    assert len(cells) == exactrelu.count_cells(X) == 4210
    assert cells.witnesses_lo is not None
    assert np.any(cells.witnesses_lo != 0, axis=1).sum() > 3000
    assert check_cells(lift(X, True), cells.patterns, cells.witnesses,
                       witnesses_lo=cells.witnesses_lo) == []
    one = exactrelu.enumerate_cells(X, threads=1)
    assert np.array_equal(one.patterns, cells.patterns)
    assert np.array_equal(one.witnesses, cells.witnesses)


def test_sub_ulp_cell_gets_an_exact_witness():
    """Three points collinear in decimal but not as doubles: one cell is thinner than
    double-double resolves; its witness comes from exact rational arithmetic."""
    from reference import check_cells, lift

    X = np.array([[-0.2, 0.7], [0.3, 0.2], [0.8, -0.3]])
    cells = exactrelu.enumerate_cells(X)
    assert len(cells) == exactrelu.count_cells(X) == 8
    assert check_cells(lift(X, True), cells.patterns, cells.witnesses,
                       witnesses_lo=cells.witnesses_lo) == []
    # the programs that only need patterns never depended on witnesses
    assert solve(X, [0.0, 1.0, 0.0], beta=0.01, penalty="l2").certified
    assert solve(X, [0.0, 1.0, 0.0], beta=0.01, method="cells").certified


@pytest.mark.parametrize("resolution", [0.1, 0.01])
def test_thousands_of_decimal_grids_enumerate_patterns(resolution):
    """The patterns (what every solver uses) are exact and never fail."""
    rng = np.random.default_rng(int(1 / resolution) + 1)
    for _ in range(300):
        X = np.round(rng.uniform(-1, 1, (20, 2)) / resolution) * resolution
        cells = exactrelu.enumerate_cells(X, witnesses=False)
        assert len(cells) == exactrelu.count_cells(X)


@pytest.mark.parametrize("resolution", [0.1, 0.01])
def test_thousands_of_decimal_grids_enumerate(resolution):
    """Witnesses included: about 1% of 0.1-grid inputs have a cell thinner than a
    double-double point (two near-coincidences at once); its witness is exact."""
    from reference import check_cells, lift
    rng = np.random.default_rng(int(1 / resolution))
    thin = 0
    for _ in range(1000):
        X = np.round(rng.uniform(-1, 1, (20, 2)) / resolution) * resolution
        cells = exactrelu.enumerate_cells(X)
        if cells.witnesses_exact:
            thin += 1
            assert check_cells(lift(X, True), cells.patterns, cells.witnesses,
                               witnesses_lo=cells.witnesses_lo,
                               witnesses_exact=cells.witnesses_exact) == []
        assert len(cells) == exactrelu.count_cells(X)
    if resolution == 0.1:
        assert thin > 0   # the case is exercised


# a 0.1-grid input (times 10) with two cells thinner than any double-double point
THIN_GRID = [[4, -2], [4, 4], [-7, 4], [-8, -1], [2, -6], [5, 3], [-2, 7], [7, 9], [8, 3],
             [-6, -9], [-9, -2], [7, 7], [6, 1], [1, 3], [-8, -1], [-9, 7], [7, -5], [1, 9],
             [-2, 5], [0, 10]]


@pytest.mark.parametrize("scale", [None, (2.0 ** -700, 1.0), (1.0, 2.0 ** 700)])
def test_exact_witness_of_cells_thinner_than_double_double(scale):
    from reference import check_cells, lift, reference_cells
    X = np.array(THIN_GRID) * 0.1
    if scale is not None:   # rescaled columns go through the core's balancing
        X = X * np.array(scale)
    cells = exactrelu.enumerate_cells(X)
    assert len(cells.witnesses_exact) == 2
    A = lift(X, True)
    assert check_cells(A, cells.patterns, cells.witnesses, reference_cells(A, exact=True),
                       cells.witnesses_lo, cells.witnesses_exact) == []
    # hi + lo alone is not a witness of those cells: the exact point is needed
    thin = sorted(cells.witnesses_exact)
    assert check_cells(A, cells.patterns[thin], cells.witnesses[thin],
                       witnesses_lo=cells.witnesses_lo[thin]) != []
