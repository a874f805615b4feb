"""Tests of the size study (exactrelu.studies.sizes, exported as exactrelu.sizes) and of
sampling coverage (exactrelu.studies.sampling, exported as exactrelu.sampling)."""

import json
import math

import numpy as np
import pytest

import exactrelu
from exactrelu import sampling, sizes
from exactrelu.arrangement import (
    arrangement_info,
    count_cells,
    cover_count,
    enumerate_cells,
)


def _has_sklearn():
    try:
        import sklearn  # noqa: F401
    except ImportError:
        return False
    return True


needs_sklearn = pytest.mark.skipif(not _has_sklearn(), reason="scikit-learn not installed")


def _exact_rank(X, bias):
    """Rank of the lifted data by exact rational elimination (small integer-valued data)."""
    from fractions import Fraction

    A = np.hstack([X, np.ones((len(X), 1))]) if bias else X
    M = [[Fraction(float(v)) for v in row] for row in A]  # exact: doubles are rationals
    rank, cols = 0, len(M[0]) if M else 0
    for c in range(cols):
        piv = next((i for i in range(rank, len(M)) if M[i][c] != 0), None)
        if piv is None:
            continue
        M[rank], M[piv] = M[piv], M[rank]
        for i in range(len(M)):
            if i != rank and M[i][c] != 0:
                f = M[i][c] / M[rank][c]
                M[i] = [a - f * b for a, b in zip(M[i], M[rank])]
        rank += 1
    return rank


# ------------------------------------------------------------------ data


def test_decimal_resolution_reads_the_data():
    assert sizes.decimal_resolution([5.1, 4.9, 7.0]) == 1
    assert sizes.decimal_resolution([1.0, 2.0, -3.0]) == 0
    assert sizes.decimal_resolution([0.25, 0.5]) == 2
    assert sizes.decimal_resolution([4.8598, 3.8918]) == 4
    assert sizes.decimal_resolution([1 / 3]) is None


@needs_sklearn
def test_iris_decimal_form_is_integers_at_resolution_tenth():
    from sklearn.datasets import load_iris

    raw = load_iris().data
    ds = sizes.make_data("iris", 150, 4, form="decimal")
    assert ds.form == "decimal"
    assert np.array_equal(ds.X, np.round(ds.X))
    assert np.array_equal(ds.X, np.round(raw * 10))  # all four columns at 0.1 cm
    assert all("x10^1" in c for c in ds.columns)


@needs_sklearn
def test_float_form_is_standardized_principal_components():
    ds = sizes.make_data("wine", 178, 3, form="float")
    assert ds.X.shape == (178, 3)
    assert np.allclose(ds.X.mean(axis=0), 0, atol=1e-9)
    var = ds.X.var(axis=0)
    assert np.all(np.diff(var) <= 1e-9)  # decreasing variance: principal components
    sub = sizes.make_data("wine", 50, 3, form="float")
    assert sub.X.shape == (50, 3)
    # the fixed seed draws the same rows every time
    assert np.array_equal(sub.X, sizes.make_data("wine", 50, 3, form="float").X)


def test_synthetic_sources_have_their_degeneracy():
    g = sizes.make_data("grid", 16, 2)
    assert g.form == "integer" and np.array_equal(g.X, np.round(g.X))
    assert len(np.unique(g.X, axis=0)) == 16
    dup = sizes.make_data("duplicated", 11, 3)
    assert len(np.unique(dup.X, axis=0)) == 6
    sub = sizes.make_data("subspace", 30, 4)
    assert _exact_rank(sub.X, True) == 3  # a 2-dimensional affine subspace of R^4
    with pytest.raises(exactrelu.errors.InputError):
        sizes.make_data("subspace", 10, 1)
    with pytest.raises(exactrelu.errors.InputError):
        sizes.make_data("nope", 10, 1)


# ------------------------------------------------------------ counts vs Cover


@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("n,d", [(5, 1), (12, 1), (9, 2), (25, 2), (12, 3), (20, 3), (10, 4)])
def test_gaussian_count_equals_cover(n, d, bias):
    ds = sizes.make_data("gaussian", n, d, seed=3)
    info = arrangement_info(ds.X, bias=bias)
    assert info.rank == d + int(bias)
    cells = count_cells(ds.X, bias=bias)
    assert cells == info.cells_bound
    if d + int(bias) >= 2:  # (in d = 1 without bias every point gives the hyperplane w = 0)
        assert info.n_hyperplanes == n
        assert cells == cover_count(n, d + int(bias))
    row = sizes.measure(ds, bias=bias)
    assert row.cells == row.cover and row.ratio == 1.0


def _degenerate_cases():
    cases = []
    for src in ("grid", "duplicated", "subspace"):
        for n, d in [(9, 2), (16, 2), (20, 2), (12, 3), (27, 3), (14, 4)]:
            cases.append((src, n, d, None))
    return cases


@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("src,n,d,form", _degenerate_cases())
def test_degenerate_count_at_most_cover_for_distinct_hyperplanes_and_exact_rank(
        src, n, d, form, bias):
    ds = sizes.make_data(src, n, d, form=form)
    info = arrangement_info(ds.X, bias=bias)
    assert info.rank == _exact_rank(ds.X, bias)
    cells = count_cells(ds.X, bias=bias)
    assert 1 <= cells <= info.cells_bound == cover_count(info.n_hyperplanes, info.rank)
    assert cells <= cover_count(n, d + int(bias))


def test_grid_falls_strictly_below_cover():
    ds = sizes.make_data("grid", 9, 2)  # the full 3 x 3 grid
    assert count_cells(ds.X) == 58 < arrangement_info(ds.X).cells_bound == 74


@needs_sklearn
@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("name,n,d", [("iris", 40, 2), ("iris", 150, 1), ("diabetes", 30, 3),
                                      ("digits", 30, 2), ("wine", 25, 3),
                                      ("breast_cancer", 30, 2)])
@pytest.mark.parametrize("form", ["float", "decimal"])
def test_real_count_at_most_cover(name, n, d, form, bias):
    ds = sizes.make_data(name, n, d, form=form)
    info = arrangement_info(ds.X, bias=bias)
    if form == "decimal":
        assert info.rank == _exact_rank(ds.X, bias)
    cells = count_cells(ds.X, bias=bias)
    assert cells <= info.cells_bound


@needs_sklearn
def test_exact_decimal_iris_has_fewer_cells_than_float():
    # two raw iris columns at 0.1 cm resolution: points collinear in decimal are (mostly)
    # not collinear as the doubles nearest to those decimals (docs/design.md section 2)
    dec = sizes.make_data("iris", 150, 2, form="decimal")
    as_float = dec.X / 10.0  # the doubles scikit-learn parsed, e.g. 5.1
    assert len(np.unique(as_float, axis=0)) == len(np.unique(dec.X, axis=0))
    c_dec, c_float = count_cells(dec.X), count_cells(as_float)
    assert c_dec < c_float <= arrangement_info(as_float).cells_bound


# ------------------------------------------------------- enumerated == counted


@pytest.mark.parametrize("src,n,d", [("gaussian", 15, 2), ("grid", 16, 2), ("grid", 12, 3),
                                     ("duplicated", 14, 2), ("subspace", 20, 3)])
@pytest.mark.parametrize("bias", [True, False])
def test_enumerated_equals_counted(src, n, d, bias):
    ds = sizes.make_data(src, n, d)
    cells = enumerate_cells(ds.X, bias=bias)
    assert len(cells) == count_cells(ds.X, bias=bias)
    assert len(np.unique(cells.packed, axis=0)) == len(cells)
    row = sizes.measure(ds, bias=bias)
    assert row.enumerated and row.cells == len(cells) and "MISMATCH" not in row.note


@needs_sklearn
def test_enumerated_equals_counted_on_decimal_iris():
    ds = sizes.make_data("iris", 60, 2, form="decimal")
    assert len(enumerate_cells(ds.X)) == count_cells(ds.X)


# ------------------------------------------------------------------ sizing


def test_measure_sizes_before_running():
    ds = sizes.make_data("gaussian", 30, 2)
    row = sizes.measure(ds, seconds=0.0)  # nothing is affordable
    assert row.cells is None and row.rays is None and not row.enumerated
    assert "not counted" in row.note and row.cover == cover_count(30, 3)
    row = sizes.measure(ds, memory_limit=1000)  # counting fits, listing does not
    assert row.cells == cover_count(30, 3) and not row.enumerated
    assert "count only" in row.note


def test_sweep_respects_its_budget_and_marks_skipped_rows():
    cfg = sizes.SweepConfig(ns=(8, 12), ds=(1, 2), sources=("gaussian", "grid"),
                            max_seconds=0.0, price=False)
    res = sizes.sweep(cfg)
    assert len(res.rows) == 2 * 2 * 2 * 2
    assert all(r.note == "skipped: time budget" and r.cells is None for r in res.rows)


# ------------------------------------------------------------------ coverage


def test_coverage_with_all_cells_is_one():
    ds = sizes.make_data("grid", 16, 2)
    cells = enumerate_cells(ds.X)
    assert sampling.pattern_coverage(cells.patterns, cells) == (1.0, 0)
    # the cells' own witnesses as gates find every cell
    P = sampling.gate_patterns(ds.X, cells.witnesses)
    assert sampling.pattern_coverage(P, cells) == (1.0, 0)
    half = cells.patterns[: len(cells) // 2]
    frac = sampling.pattern_coverage(half, cells)[0]
    assert frac == pytest.approx((len(cells) // 2) / len(cells))


@pytest.mark.parametrize("src,n,d", [("gaussian", 12, 2), ("grid", 9, 2), ("duplicated", 10, 3)])
def test_random_gates_coverage_curve(src, n, d):
    ds = sizes.make_data(src, n, d)
    cells = enumerate_cells(ds.X)
    cov = sampling.coverage(ds.X, cells, 20_000, seed=1)
    assert cov.n_outside == 0  # every sampled pattern is a cell
    ms, fr = cov.curve()
    assert np.all(np.diff(fr) >= 0) and fr[-1] <= 1.0
    assert cov.found == int(np.sum(cov.first_hit <= cov.m_max))
    m99 = cov.gates_needed(0.99)
    if m99 is not None:
        assert cov.fraction(m99) >= 0.99 and (m99 == 1 or cov.fraction(m99 - 1) < 0.99)
    # the same stream, drawn in other chunks, finds the same cells at the same gates
    other = sampling.coverage(ds.X, cells, 20_000, seed=1, chunk_bytes=5000)
    assert np.array_equal(cov.first_hit, other.first_hit)
    # and agrees with a direct evaluation of the first gates
    G = sampling.sample_gates(ds.X.shape[1] + 1, 500, seed=1)
    direct = sampling.pattern_coverage(sampling.gate_patterns(ds.X, G), cells)[0]
    assert cov.fraction(500) == pytest.approx(direct)


def test_zero_bias_gates_reach_exactly_the_cells_without_bias():
    ds = sizes.make_data("gaussian", 6, 2, seed=2)
    cells = enumerate_cells(ds.X)
    reach, total = sampling.zero_bias_reachable(ds.X)
    assert total == len(cells) == cover_count(6, 3) and reach == cover_count(6, 2) < total
    cov = sampling.coverage(ds.X, cells, 200_000, gate_bias="zero", seed=0)
    assert cov.found == reach and cov.n_outside == 0
    assert cov.fraction(cov.m_max) == pytest.approx(reach / total)
    assert cov.gates_needed(0.99) is None


def test_sample_patterns_are_unique_cells():
    ds = sizes.make_data("gaussian", 10, 2)
    P = sampling.sample_patterns(ds.X, 300, seed=4)
    assert len(np.unique(P, axis=0)) == len(P) <= 300
    cells = enumerate_cells(ds.X)
    frac, outside = sampling.pattern_coverage(P, cells)
    assert outside == 0 and frac == len(P) / len(cells)


def test_measure_records_coverage_and_zero_bias_cap():
    ds = sizes.make_data("gaussian", 10, 2)
    row = sizes.measure(ds, coverage_gates=5000)
    assert row.coverage["n_cells"] == row.cells
    assert row.zero_bias_cells == cover_count(10, 2)
    assert row.coverage_zero_bias["found"] <= row.zero_bias_cells


# ------------------------------------------------------- the price of sampling


def _targets(n, seed=0):
    return np.random.default_rng(seed).standard_normal(n)


@pytest.mark.parametrize("loss", ["interpolate", "squared"])
@pytest.mark.parametrize("src,n,d", [("gaussian", 8, 2), ("grid", 9, 2)])
def test_restricted_objective_all_cells_equals_optimum_and_subsets_never_below(src, n, d, loss):
    ds = sizes.make_data(src, n, d)
    y = _targets(n)
    beta = 0.5 * exactrelu.beta_max(ds.X, y) if loss == "squared" else 1.0
    opt = sampling.certified_optimum(ds.X, y, loss=loss, beta=beta).objective
    cells = enumerate_cells(ds.X)
    tol = 1e-6 * max(1.0, abs(opt))
    full = sampling.restricted_objective(ds.X, y, cells.patterns, loss=loss, beta=beta,
                                         optimum=opt, cells=cells)
    assert full.status == "optimal" and full.coverage == 1.0
    assert abs(full.objective - opt) <= tol
    rng = np.random.default_rng(5)
    order = rng.permutation(len(cells))
    prev = math.inf
    for k in (1, 3, 8, len(cells) // 4, len(cells) // 2):
        sub = cells.patterns[np.sort(order[:k])]  # nested subsets
        r = sampling.restricted_objective(ds.X, y, sub, loss=loss, beta=beta, optimum=opt)
        if r.status == "infeasible":
            assert loss == "interpolate"
            continue
        assert r.status == "optimal"
        assert r.objective >= opt - tol  # never below the optimum
        assert r.objective <= prev + tol  # more patterns never hurt
        prev = r.objective


def _beta_max_by_rays(X, y):
    """The squared-loss beta_max the size study used to compute itself: ``max_t |r0 .
    relu(X~ theta_t)|`` over the rays of the arrangement refined by the coordinate
    hyperplanes, ``||theta_t[:d]||_1 = 1``, ``r0 = y - mean(y)`` (docs/design.md section 4)."""
    d = X.shape[1]
    A = np.hstack([X, np.ones((len(X), 1))])
    T = exactrelu.enumerate_rays(X, extra_hyperplanes=np.eye(d, d + 1)).directions
    w1 = np.abs(T[:, :d]).sum(axis=1)
    T = T[w1 > 1e-12] / w1[w1 > 1e-12, None]
    return float(np.max(np.abs(np.maximum(A @ T.T, 0.0).T @ (y - y.mean()))))


@pytest.mark.parametrize("src,n,d", [("gaussian", 10, 2), ("grid", 16, 2), ("gaussian", 12, 3),
                                     ("gaussian", 20, 2), ("gaussian", 30, 2)])
def test_price_of_sampling_beta_max_is_the_public_one(src, n, d):
    # the price of sampling now takes beta from exactrelu.beta_max: same numbers
    ds = sizes.make_data(src, n, d)
    y = _targets(n)
    y = (y - y.mean()) / y.std()
    assert exactrelu.beta_max(ds.X, y) == pytest.approx(_beta_max_by_rays(ds.X, y), rel=1e-12)


def test_infeasible_restricted_problem_is_reported():
    ds = sizes.make_data("gaussian", 7, 2)
    y = _targets(7)
    only_off = np.zeros((1, 7), dtype=bool)  # the all-zero pattern: only the constant fits
    r = sampling.restricted_objective(ds.X, y, only_off, loss="interpolate", optimum=1.0)
    assert r.status == "infeasible" and r.objective is None and r.rel_gap is None


def test_sampling_price_rows():
    ds = sizes.make_data("gaussian", 8, 2)
    y = _targets(8)
    opt, rows = sampling.sampling_price(ds.X, y, [1, 5, 50, 2000], loss="interpolate", seed=0)
    assert [r.m for r in rows] == [1, 5, 50, 2000, None]
    ok = [r for r in rows if r.status == "optimal"]
    assert all(r.rel_gap >= -1e-6 for r in ok)
    assert rows[-1].coverage == 1.0 and abs(rows[-1].rel_gap) <= 1e-6
    assert all(r.status in ("optimal", "infeasible") for r in rows)


# ----------------------------------------------------------------------- CLI


def test_cli_sizes_writes_json_and_plot(tmp_path, capsys):
    pytest.importorskip("matplotlib")
    from exactrelu.cli import main

    out_json, out_png = tmp_path / "s.json", tmp_path / "s.png"
    rc = main(["sizes", "--quick", "--ns", "8,12", "--ds", "1,2", "--sources", "gaussian,grid",
               "--no-price", "--quiet", "--max-seconds", "30", "--json", str(out_json),
               "--plot", str(out_png)])
    assert rc == 0
    text = capsys.readouterr().out
    assert "gaussian" in text and "Cover" in text
    data = json.loads(out_json.read_text())
    assert len(data["rows"]) == 2 * 2 * 2 * 2  # sources x n x d x bias
    for r in data["rows"]:
        if r["cells"] is not None:
            assert r["cells"] <= r["cover"]
            if r["source"] == "gaussian":
                assert r["cells"] == r["cover"]
    assert out_png.stat().st_size > 10_000
    # a saved sweep is printed again without running
    rc = main(["sizes", "--from-json", str(out_json)])
    assert rc == 0 and "gaussian" in capsys.readouterr().out
