"""Shards of the core's passes (docs/design.md section 9), without Dask: every shard
split of a count, an enumeration and a pricing pass merges into exactly the answer
of the one-shard call, on random and degenerate arrangements."""

import numpy as np
import pytest

from exactrelu import _core
from exactrelu.cluster import merge_cells, merge_rays
from exactrelu.errors import InputError, ShapeError


def _lift(X):
    X = np.asarray(X, float)
    return np.ascontiguousarray(np.hstack([X, np.ones((len(X), 1))]))


def _arrangements():
    rng = np.random.default_rng(7)
    base = rng.standard_normal((8, 2))
    t = np.linspace(-1, 1, 7)
    return {
        "gaussian-d3": _lift(rng.standard_normal((30, 3))),
        "grid": _lift([[i, j] for i in range(4) for j in range(4)]),
        "grid-d3": _lift([[i, j, k] for i in range(3) for j in range(3) for k in range(2)]),
        "duplicates": _lift(np.repeat(base, 3, axis=0)),
        # many points on one line: many hyperplanes through one ray
        "collinear": _lift(np.vstack([np.c_[t, 2 * t + 1], rng.standard_normal((5, 2))])),
        "rank-deficient": _lift(np.c_[rng.standard_normal(12), np.zeros(12),
                                      rng.standard_normal(12)]),
        "rounded": _lift(np.round(rng.standard_normal((25, 2)), 1)),
        "d1": _lift(np.array([[0.0], [1.0], [1.0], [3.0]])),
        "no-bias-zero": np.zeros((3, 2)),
    }


ARRANGEMENTS = _arrangements()
SPLITS = (1, 2, 3, 5, 64)


@pytest.mark.parametrize("name", sorted(ARRANGEMENTS))
@pytest.mark.parametrize("S", SPLITS)
def test_counts_merge_exactly(name, S):
    A = ARRANGEMENTS[name]
    parts = [_core.count_shard(A, True, s, S) for s in range(S)]
    r = parts[0][0]
    tallies = np.concatenate([t for _, t in parts])
    assert _core.count_merge(r, tallies) == (_core.count_cells(A), _core.count_rays(A))


@pytest.mark.parametrize("name", sorted(ARRANGEMENTS))
@pytest.mark.parametrize("S", SPLITS)
def test_cells_and_rays_merge_exactly(name, S):
    A = ARRANGEMENTS[name]
    packed, wit, lo = _core.enumerate_cells(A)
    got = merge_cells([_core.enumerate_cells_shard(A, s, S) for s in range(S)], A.shape[1], -1)
    assert np.array_equal(got[0], packed) and np.array_equal(got[1], wit)
    assert (got[2] is None) == (lo is None)
    dirs, indptr, indices = _core.enumerate_rays(A)
    got = merge_rays([_core.enumerate_rays_shard(A, s, S) for s in range(S)], A.shape[1], -1)
    assert np.array_equal(got[0], dirs)
    assert np.array_equal(got[1], indptr) and np.array_equal(got[2], indices)


@pytest.mark.parametrize("name", sorted(set(ARRANGEMENTS) - {"no-bias-zero"}))
@pytest.mark.parametrize("S", SPLITS)
@pytest.mark.parametrize("pool", [0, 40])
def test_pricing_merges_exactly(name, S, pool):
    A = ARRANGEMENTS[name]
    n, D = A.shape
    rng = np.random.default_rng(S)
    lam = rng.standard_normal(n)
    lam -= lam.mean()
    mask = np.ones(D, bool)
    mask[-1] = False
    want = _core.price_rays(A, n, lam, mask, 3, 1, None, pool)
    shards = [_core.price_shard(A, n, lam, mask, 3, pool, s, S) for s in reversed(range(S))]
    got = _core.price_merge(A, n, lam, mask, 3, pool, shards)
    for a, b in zip(want, got):
        assert np.array_equal(np.asarray(a), np.asarray(b))


def test_ties_merge_by_global_order():
    """Equal scores everywhere (lam = 0): the ranking falls back on the global
    enumeration order, the same for every split."""
    A = ARRANGEMENTS["grid"]
    n, D = A.shape
    lam = np.zeros(n)
    mask = np.array([True, True, False])
    want = _core.price_rays(A, n, lam, mask, 5, 1, None, 10)
    for S in (2, 7):
        shards = [_core.price_shard(A, n, lam, mask, 5, 10, s, S) for s in range(S)]
        got = _core.price_merge(A, n, lam, mask, 5, 10, shards)
        assert all(np.array_equal(np.asarray(a), np.asarray(b)) for a, b in zip(want, got))


def test_shard_arguments_are_checked():
    A = ARRANGEMENTS["grid"]
    for s, S in ((0, 0), (2, 2), (-1, 3)):
        with pytest.raises(InputError, match="shard_index"):
            _core.count_shard(A, True, s, S)
        with pytest.raises(InputError, match="shard_index"):
            _core.enumerate_rays_shard(A, s, S)
    with pytest.raises(ShapeError):
        _core.count_merge(3, np.zeros((2, 3, 4), np.uint64))
    n, D = A.shape
    lam, mask = np.zeros(n), np.array([True, True, False])
    sh = list(_core.price_shard(A, n, lam, mask, 1, 0, 0, 1))
    sh[7] = sh[7][:-1]      # orders shorter than scores
    with pytest.raises(ShapeError):
        _core.price_merge(A, n, lam, mask, 1, 0, [tuple(sh)])


def test_cell_limit_applies_to_the_merge():
    A = ARRANGEMENTS["grid"]
    parts = [_core.enumerate_cells_shard(A, s, 3) for s in range(3)]
    n_cells = len(_core.enumerate_cells(A)[0])
    from exactrelu.errors import SizeError

    with pytest.raises(SizeError, match="max_cells"):
        merge_cells(parts, A.shape[1], n_cells - 1)
    assert len(merge_cells(parts, A.shape[1], n_cells)[0]) == n_cells
