"""Input validation and guard rails of the arrangement API: named errors only."""

import numpy as np
import pytest

import exactrelu
from exactrelu import errors
from exactrelu.errors import InputError, NonFiniteError, ShapeError, SizeError

FUNCS = {
    "enumerate_cells": exactrelu.enumerate_cells,
    "count_cells": exactrelu.count_cells,
    "enumerate_rays": exactrelu.enumerate_rays,
    "count_rays": exactrelu.count_rays,
    "arrangement_info": exactrelu.arrangement_info,
}

GOOD = np.array([[0.0, 1.0], [1.0, 0.0], [2.0, 2.0]])

BAD_DATA = [
    ("nan", np.array([[0.0, np.nan], [1.0, 2.0]]), NonFiniteError),
    ("inf", np.array([[0.0, 1.0], [np.inf, 2.0]]), NonFiniteError),
    ("-inf", [[-np.inf]], NonFiniteError),
    ("1-D", np.array([0.0, 1.0, 2.0]), ShapeError),
    ("0-D", np.float64(3.0), ShapeError),
    ("3-D", np.zeros((2, 2, 2)), ShapeError),
    ("no rows", np.zeros((0, 2)), ShapeError),
    ("no columns", np.zeros((3, 0)), ShapeError),
    ("empty list", [], ShapeError),
    ("complex", np.array([[1 + 1j, 0], [0, 1]]), InputError),
    ("strings", np.array([["a", "b"], ["c", "d"]]), InputError),
    ("numeric strings", [["1", "2"], ["3", "4"]], InputError),
    ("object", np.array([[1, None]], dtype=object), InputError),
    ("ragged", [[1.0, 2.0], [3.0]], InputError),
]


@pytest.mark.parametrize("fname", list(FUNCS))
@pytest.mark.parametrize("label,X,err", BAD_DATA, ids=[b[0] for b in BAD_DATA])
def test_bad_data_raises_named_error(fname, label, X, err):
    with pytest.raises(err) as info:
        FUNCS[fname](X)
    assert isinstance(info.value, errors.ExactReLUError)
    assert isinstance(info.value, ValueError)
    assert str(info.value)  # a message


@pytest.mark.parametrize("fname", list(FUNCS))
def test_bad_data_without_bias(fname):
    with pytest.raises(NonFiniteError):
        FUNCS[fname](np.array([[np.nan]]), bias=False)
    with pytest.raises(ShapeError):
        FUNCS[fname](np.zeros(3), bias=False)


def test_error_tree():
    assert issubclass(ShapeError, InputError) and issubclass(NonFiniteError, InputError)
    assert issubclass(InputError, ValueError)
    assert issubclass(SizeError, MemoryError) and issubclass(SizeError, errors.ExactReLUError)


@pytest.mark.parametrize("conv", [
    lambda X: X.tolist(),
    lambda X: X.astype(np.float32),
    lambda X: np.asfortranarray(X),
    lambda X: np.repeat(X, 2, axis=1)[:, ::2],  # non-contiguous view
    lambda X: X.astype(np.int64),
], ids=["list", "float32", "fortran", "strided", "int"])
def test_array_likes_accepted(conv):
    X = np.array([[0.0, 1.0], [1.0, 0.0], [2.0, 2.0], [1.0, 1.0]])
    ref = exactrelu.enumerate_cells(X)
    got = exactrelu.enumerate_cells(conv(X))
    assert np.array_equal(ref.packed, got.packed)
    assert exactrelu.count_cells(conv(X)) == len(ref)
    assert np.array_equal(exactrelu.enumerate_rays(conv(X)).directions,
                          exactrelu.enumerate_rays(X).directions)


def test_bool_data_accepted():
    X = np.array([[True, False], [False, True], [True, True]])
    assert exactrelu.count_cells(X) == exactrelu.count_cells(X.astype(float))


@pytest.mark.parametrize("threads", [0, -1, 1.5, "2", True, np.float64(2.0), [2]])
def test_bad_threads(threads):
    with pytest.raises(InputError):
        exactrelu.enumerate_cells(GOOD, threads=threads)
    with pytest.raises(InputError):
        exactrelu.enumerate_rays(GOOD, threads=threads)


@pytest.mark.parametrize("threads", [1, 2, np.int64(3), 64])
def test_good_threads(threads):
    assert len(exactrelu.enumerate_cells(GOOD, threads=threads)) == exactrelu.count_cells(GOOD)


@pytest.mark.parametrize("value", [-1, 1.5, "10", True, np.float64(10.0)])
def test_bad_limits(value):
    with pytest.raises(InputError):
        exactrelu.enumerate_cells(GOOD, max_cells=value)
    with pytest.raises(InputError):
        exactrelu.enumerate_rays(GOOD, max_rays=value)


@pytest.mark.parametrize("extra,err", [
    (np.ones((2, 2)), InputError),  # 2 columns; the lifted dimension is 3
    (np.array([[np.nan, 0.0, 0.0]]), NonFiniteError),
    (np.array([1.0, 0.0, 0.0]), ShapeError),  # 1-D
    (np.array([["a", "b", "c"]]), InputError),
])
def test_bad_extra_hyperplanes(extra, err):
    with pytest.raises(err):
        exactrelu.enumerate_rays(GOOD, extra_hyperplanes=extra)
    with pytest.raises(err):
        exactrelu.count_rays(GOOD, extra_hyperplanes=extra)


def test_empty_extra_hyperplanes_is_no_extra():
    a = exactrelu.enumerate_rays(GOOD, extra_hyperplanes=np.zeros((0, 3)))
    b = exactrelu.enumerate_rays(GOOD)
    assert np.array_equal(a.directions, b.directions)
    assert exactrelu.count_rays(GOOD, extra_hyperplanes=np.zeros((0, 3))) == len(b)


# ------------------------------------------------------------------ guard rails


@pytest.fixture(scope="module")
def big():
    return np.random.default_rng(0).normal(size=(2000, 8))


def test_oversized_cells_refused_by_max_cells(big):
    with pytest.raises(SizeError) as info:
        exactrelu.enumerate_cells(big, max_cells=10**6)
    e = info.value
    assert e.limit == 10**6 and e.what == "cells"
    assert e.estimate == exactrelu.cover_count(2000, 9) > 10**6
    assert "1,000,000" in str(e) or "1000000" in str(e)


def test_oversized_cells_refused_by_memory(big):
    with pytest.raises(SizeError) as info:
        exactrelu.enumerate_cells(big)  # ~1e22 cells: over the default memory budget
    assert info.value.estimate > info.value.limit
    with pytest.raises(SizeError):
        exactrelu.enumerate_cells(GOOD, memory_limit=10)


def test_oversized_rays_refused(big):
    with pytest.raises(SizeError) as info:
        exactrelu.enumerate_rays(big, max_rays=10**6)
    assert info.value.what == "rays" and info.value.estimate > 10**6
    with pytest.raises(SizeError):
        exactrelu.enumerate_rays(big)
    with pytest.raises(SizeError):
        exactrelu.enumerate_rays(big, extra_hyperplanes=np.eye(8, 9), max_rays=10**6)


def test_limits_are_on_the_bound():
    X = np.random.default_rng(1).normal(size=(10, 2))
    bound = exactrelu.arrangement_info(X).cells_bound
    assert bound == exactrelu.cover_count(10, 3)
    assert len(exactrelu.enumerate_cells(X, max_cells=bound)) == bound
    with pytest.raises(SizeError):
        exactrelu.enumerate_cells(X, max_cells=bound - 1)
    with pytest.raises(SizeError):
        exactrelu.enumerate_cells(X, max_cells=0)
    rb = exactrelu.arrangement_info(X).rays_bound
    assert len(exactrelu.enumerate_rays(X, max_rays=rb)) == rb
    with pytest.raises(SizeError):
        exactrelu.enumerate_rays(X, max_rays=rb - 1)


def test_counting_large_is_allowed():
    """Counting needs no listing: a size refused for listing can still be counted."""
    X = np.random.default_rng(2).normal(size=(200, 2))
    with pytest.raises(SizeError):
        exactrelu.enumerate_cells(X, max_cells=1000)
    assert exactrelu.count_cells(X) == exactrelu.cover_count(200, 3)
    assert exactrelu.count_rays(X) == 2 * 200 * 199 // 2
