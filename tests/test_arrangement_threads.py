"""Determinism: the same arrays, bit for bit, for any number of threads."""

import numpy as np
import pytest

import exactrelu
from test_arrangement_degenerate import degenerate_case


def _inputs():
    rng = np.random.default_rng(3)
    grid = np.array([[i, j] for i in range(7) for j in range(7)], dtype=float)
    yield "gauss-60x3", rng.normal(size=(60, 3)), True
    yield "gauss-30x4-nobias", rng.normal(size=(30, 4)), False
    yield "gauss-150x2", rng.normal(size=(150, 2)), True
    yield "grid-7x7", grid, True
    yield "grid-dup", np.vstack([grid, grid[::3]]), True
    yield "cube-4", np.array([[i, j, k] for i in range(4) for j in range(4) for k in range(4)],
                             dtype=float), True
    yield "int-3d", rng.integers(-2, 3, size=(40, 3)).astype(float), False
    for seed in (5, 17, 42, 99, 150, 201, 333):
        X, bias, kind = degenerate_case(seed)
        yield f"degenerate-{seed}-{kind}", X, bias


CASES = list(_inputs())


def _same(a, b):
    return a.dtype == b.dtype and a.shape == b.shape and np.array_equal(a, b) and (
        a.dtype.kind != "f" or np.array_equal(a.view(np.uint64), b.view(np.uint64)))


@pytest.mark.parametrize("name,X,bias", CASES, ids=[c[0] for c in CASES])
def test_threads_identical_cells(name, X, bias):
    c1 = exactrelu.enumerate_cells(X, bias=bias, threads=1)
    for t in (2, 3):
        ct = exactrelu.enumerate_cells(X, bias=bias, threads=t)
        assert _same(c1.packed, ct.packed), f"patterns differ with threads={t}"
        assert _same(c1.witnesses, ct.witnesses), f"witnesses differ with threads={t}"
    cd = exactrelu.enumerate_cells(X, bias=bias)
    assert _same(c1.packed, cd.packed) and _same(c1.witnesses, cd.witnesses)


@pytest.mark.parametrize("name,X,bias", CASES, ids=[c[0] for c in CASES])
def test_threads_identical_rays(name, X, bias):
    D = X.shape[1] + bias
    for extra in (None, np.eye(X.shape[1], D)):
        r1 = exactrelu.enumerate_rays(X, bias=bias, extra_hyperplanes=extra, threads=1)
        for t in (2, 3):
            rt = exactrelu.enumerate_rays(X, bias=bias, extra_hyperplanes=extra, threads=t)
            assert _same(r1.directions, rt.directions), f"directions differ with threads={t}"
            assert _same(r1.indptr, rt.indptr) and _same(r1.indices, rt.indices)


def test_repeated_calls_identical():
    X = np.random.default_rng(8).normal(size=(50, 3))
    a = exactrelu.enumerate_cells(X, threads=2)
    b = exactrelu.enumerate_cells(X, threads=2)
    assert _same(a.packed, b.packed) and _same(a.witnesses, b.witnesses)
