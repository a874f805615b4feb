"""Exact hyperplane arrangements of a dataset: cells, rays and their counts.

Each data point x_i defines the central hyperplane {u : x~_i . u = 0} in weight
space, with x~_i = (x_i, 1) when ``bias=True`` (the bias coordinate is last) and
x~_i = x_i otherwise. The full-dimensional cells are the activation patterns of a
ReLU neuron; the rays (1-dimensional flats of the essentialized arrangement) are
the only neurons an optimal network needs.

All signs are decided exactly on the given doubles (a floating-point filter with
a certified error bound, and an exact modular-arithmetic fallback). The counting and
enumeration functions take ``progress=`` (off by default): a transient bar per stage
of the core's walk on stderr (docs/design.md section 7, "Progress").
"""

from __future__ import annotations

from dataclasses import dataclass, field
from math import comb

import numpy as np
from scipy.sparse import csr_array

from . import _core
from ._balance import equilibrate, unscale
from ._progress import core_progress, tracking
from ._validation import (
    MAX_LIMIT,
    as_data_matrix,
    check_flag,
    check_int,
    lift,
    resolve_limit,
    resolve_threads,
)
from ._witness import exact_witnesses, unscale_exact
from .errors import InputError, NumericalError, SizeError
from .limits import COUNT_MAX_RAYS, DEFAULT_MEMORY_LIMIT, refuse_rays

__all__ = [
    "Cells",
    "Rays",
    "ArrangementInfo",
    "enumerate_cells",
    "count_cells",
    "enumerate_rays",
    "count_rays",
    "cover_count",
    "arrangement_info",
    "DEFAULT_MEMORY_LIMIT",
]


def cover_count(n, rank):
    """Cover's number of cells of ``n`` central hyperplanes in general position.

    ``2 * sum_{k=0}^{rank-1} C(n-1, k)`` (Cover 1965); 1 when ``n == 0``.

    Examples
    --------
    >>> cover_count(3, 2)   # three lines through 0 in the plane: 6 sectors
    6
    >>> cover_count(100, 4)
    323600
    """
    n = check_int(n, "n", low=0, high=MAX_LIMIT, none_ok=False)
    rank = check_int(rank, "rank", low=0, high=MAX_LIMIT, none_ok=False)
    if n == 0 or rank == 0:
        return 1
    if rank >= n:
        return 2**n
    # the binomials by their ratio: one small multiplication and division each
    term, total = 1, 1
    for k in range(rank - 1):
        term = term * (n - 1 - k) // (k + 1)
        total += term
    return 2 * total


@dataclass(frozen=True)
class ArrangementInfo:
    """Exact facts about an arrangement, computed without enumerating it.

    Attributes
    ----------
    n_rows : int
        Rows of the (lifted) data.
    dim : int
        Ambient dimension (d + 1 with bias).
    rank : int
        Exact rank of the lifted data (the essential dimension).
    n_hyperplanes : int
        Distinct hyperplanes (zero rows dropped, parallel rows merged).
    cells_bound : int
        Cover's bound for ``n_hyperplanes`` and ``rank``: an upper bound on the cells.
    rays_bound : int
        ``2 * C(n_hyperplanes, rank - 1)``: an upper bound on the rays.
    """

    n_rows: int
    dim: int
    rank: int
    n_hyperplanes: int
    cells_bound: int
    rays_bound: int


def _info_from_lifted(A):
    rank, m = _core.analyze(A)
    cells_bound = cover_count(m, rank) if m else 1
    rays_bound = 2 * comb(m, rank - 1) if rank >= 1 else 0
    return ArrangementInfo(A.shape[0], A.shape[1], rank, m, cells_bound, rays_bound)


def arrangement_info(X, *, bias=True, extra_hyperplanes=None):
    """Rank, distinct hyperplanes and size bounds of the arrangement of ``X``.

    Examples
    --------
    >>> import numpy as np
    >>> info = arrangement_info(np.array([[0.0], [1.0], [1.0], [2.0]]))
    >>> info.rank, info.n_hyperplanes, info.cells_bound
    (2, 3, 6)
    """
    return _info_from_lifted(_lifted(X, bias, extra_hyperplanes)[0])


#: Beyond this many cells the exact (Python) witness fallback is not attempted.
EXACT_WITNESS_MAX_CELLS = 20_000


def _lifted(X, bias, extra_hyperplanes):
    """The lifted data (and extra rows) as the core gets them, with the column scales
    ``S`` of :func:`~exactrelu._balance.equilibrate` (``None``: unscaled)."""
    X = as_data_matrix(X)
    A = lift(X, check_flag(bias, "bias"))
    if extra_hyperplanes is not None:
        E = as_data_matrix(extra_hyperplanes, "extra_hyperplanes", min_rows=0) if np.size(
            extra_hyperplanes
        ) else np.zeros((0, A.shape[1]))
        if E.shape[1] != A.shape[1]:
            raise InputError(
                f"extra_hyperplanes must have {A.shape[1]} columns (the dimension of the "
                f"{'lifted ' if bias else ''}data), got shape {E.shape}"
            )
        A = np.ascontiguousarray(np.vstack([A, E]))
    return equilibrate(A)


def _memory_limit(value):
    if value is None:
        return DEFAULT_MEMORY_LIMIT
    return check_int(value, "memory_limit (bytes)", low=1, high=MAX_LIMIT)


def _check_size(estimate, limit, what, bytes_each, memory_limit):
    if limit >= 0 and estimate > limit:
        raise SizeError(
            f"the arrangement may have up to {estimate:,} {what} (Cover/flat bound), "
            f"more than max_{what}={limit:,}; raise the limit or reduce the data",
            estimate=estimate, limit=limit, what=what,
        )
    need = estimate * bytes_each
    if need > memory_limit:
        raise SizeError(
            f"listing up to {estimate:,} {what} needs about {need / 2**30:.2f} GiB, more than "
            f"the memory limit {memory_limit / 2**30:.2f} GiB; use the count functions instead",
            estimate=need, limit=memory_limit, what="bytes",
        )


@dataclass(frozen=True)
class Cells:
    """The full-dimensional cells of an arrangement.

    Attributes
    ----------
    packed : ndarray of uint8, shape (n_cells, ceil(n / 8))
        Activation patterns packed little-endian along each row (``np.packbits(...,
        bitorder="little")``).
    witnesses : ndarray of float64, shape (n_cells, dim)
        One strictly interior point per cell, its signs verified exactly.
    n : int
        Number of data rows (pattern length).
    witnesses_lo : ndarray of float64, shape (n_cells, dim), or None
        ``None`` in the usual case. A cell thinner than the spacing of doubles (nearly
        concurrent hyperplanes on float data) may contain no point with double
        coordinates; its interior point is then ``witnesses[k] + witnesses_lo[k]`` taken
        as an exact sum of reals (a double-double), ``witnesses[k]`` alone being that
        point rounded. Rows of cells with exact double witnesses are zero.
    witnesses_exact : dict of int to tuple of int
        Empty in the usual case. A cell thinner still (relative width below about
        2^-106, from two near-coincidences at once on decimal data) may contain no
        double-double point; ``witnesses_exact[k]`` is then a point of cell ``k`` with
        exact integer coordinates (Python ints), and ``witnesses[k] +
        witnesses_lo[k]`` is only that point rounded.
    """

    packed: np.ndarray
    witnesses: np.ndarray
    n: int
    witnesses_lo: np.ndarray | None = None
    witnesses_exact: dict = field(default_factory=dict)

    @property
    def patterns(self):
        """Bool array (n_cells, n): ``patterns[k, i] = x~_i . u > 0`` inside cell k."""
        return np.unpackbits(self.packed, axis=1, count=self.n, bitorder="little").astype(bool)

    def __len__(self):
        return int(self.packed.shape[0])

    def __repr__(self):
        return f"Cells(n_cells={len(self)}, n={self.n}, dim={self.witnesses.shape[1]})"


def enumerate_cells(X, *, bias=True, threads=None, max_cells=None, memory_limit=None,
                    witnesses=True, progress=False, client=None):
    """List the full-dimensional cells of the arrangement of ``X``.

    Parameters
    ----------
    X : array_like, shape (n, d)
        Data points, one hyperplane each.
    bias : bool
        Lift the data with a constant column (neuron biases).
    threads : int, optional
        Worker threads (default: all cores). The output does not depend on it.
    max_cells : int, optional
        Refuse (with :class:`~exactrelu.errors.SizeError`) before allocating when
        Cover's bound on the cells exceeds this.
    memory_limit : int, optional
        Bytes the output may take (default :data:`DEFAULT_MEMORY_LIMIT`).
    witnesses : bool
        Compute one exactly verified interior point per cell (default). Without them
        ``Cells.witnesses`` has zero rows and the enumeration is faster.
    progress : bool or callable, optional
        Show the progress of the enumeration's stages (the walk over the lines, the
        deduplication, the witnesses) on stderr: a tqdm bar when tqdm is installed,
        else plain lines. A callable is called as ``progress(what, done, total)`` from
        the calling thread instead (an exception it raises stops the enumeration and
        propagates). Default: quiet. See docs/design.md section 7, "Progress".
    client : dask.distributed.Client, optional
        Run the enumeration as Dask tasks on the client's cluster (shards of the
        walk, merged into exactly the same output; docs/design.md section 9).

    Returns
    -------
    Cells

    Notes
    -----
    Cells come in opposite pairs: rows ``2k`` and ``2k + 1`` are ``C`` and ``-C``.
    The order is deterministic (it does not depend on ``threads``).

    Examples
    --------
    >>> import numpy as np
    >>> cells = enumerate_cells(np.array([[0.0], [1.0], [2.0]]))
    >>> len(cells)
    6
    >>> sorted(cells.patterns.sum(axis=1).tolist())
    [0, 1, 1, 2, 2, 3]
    """
    A, S = _lifted(X, bias, None)
    threads = resolve_threads(threads)
    limit = resolve_limit(max_cells, "max_cells")
    progress = core_progress(progress)
    info = _info_from_lifted(A)
    memory_limit = _memory_limit(memory_limit)
    _check_size(info.cells_bound, limit, "cells", (A.shape[0] + 7) // 8 + 8 * A.shape[1] + 16,
                memory_limit)
    witnesses = check_flag(witnesses, "witnesses")
    engine = _engine(client)

    def cells(what, with_witnesses):
        with tracking(progress, what) as report:
            if engine is not None:
                return engine.enumerate_cells(A, limit, with_witnesses, report)
            return _core.enumerate_cells(A, threads, limit, with_witnesses, progress=report)

    try:
        packed, wit, wit_lo = cells("enumerate_cells", witnesses)
    except NumericalError:
        # a cell too thin for the core's double-double search: the patterns are exact,
        # the witnesses come from exact rational arithmetic (small outputs only)
        packed, wit, _ = cells("enumerate_cells (patterns only)", False)
        if len(packed) > EXACT_WITNESS_MAX_CELLS:
            raise
        patterns = np.unpackbits(packed, axis=1, count=A.shape[0], bitorder="little")
        rays = enumerate_rays(A, bias=False, threads=threads, progress=progress, client=client)
        wit, wit_lo, exact = exact_witnesses(A, patterns.astype(bool), rays)
    else:
        exact = {}
    if S is not None:   # back to the original coordinates (exact: powers of two)
        wit, wit_lo = unscale(wit, S, wit_lo)
        exact = {c: unscale_exact(w, S) for c, w in exact.items()}
    return Cells(packed, wit, A.shape[0], wit_lo, exact)


def _check_count_size(A, limit):
    """Counting walks every ray of the arrangement: refuse when Cover's bound on them
    exceeds ``max_rays`` (default :data:`~exactrelu.limits.COUNT_MAX_RAYS`)."""
    refuse_rays(_info_from_lifted(A).rays_bound, limit, COUNT_MAX_RAYS, "counting walks")


def count_cells(X, *, bias=True, threads=None, max_rays=None, progress=False, client=None):
    """The exact number of cells, without listing them (Zaslavsky's theorem).

    The count walks the rays of the arrangement; it is refused with SizeError when
    Cover's bound on them exceeds ``max_rays`` (default
    :data:`~exactrelu.limits.COUNT_MAX_RAYS`). ``progress`` shows the walk on stderr,
    and ``client`` runs it on a Dask cluster, as in :func:`enumerate_cells`.

    Examples
    --------
    >>> import numpy as np
    >>> g = np.array([[i, j] for i in range(3) for j in range(3)], float)
    >>> count_cells(g)       # a 3 x 3 grid
    58
    """
    A, _ = _lifted(X, bias, None)
    threads = resolve_threads(threads)
    progress = core_progress(progress)
    _check_count_size(A, max_rays)
    engine = _engine(client)
    with tracking(progress, "count_cells") as report:
        if engine is not None:
            return int(engine.count(A, True, report)[0])
        return int(_core.count_cells(A, threads, progress=report))


@dataclass(frozen=True)
class Rays:
    """The rays of an arrangement: both unit directions of each 1-dimensional flat.

    Attributes
    ----------
    directions : ndarray of float64, shape (n_rays, dim)
        Unit l2 norm; rows ``2k`` and ``2k + 1`` are opposite. In a rank-deficient
        arrangement the representative lies in the row space of the data.
    indptr, indices : ndarray of int64
        CSR incidence: ray k lies on hyperplanes ``indices[indptr[k]:indptr[k+1]]``
        (data rows ``0..n-1`` then the extra hyperplanes ``n..``).
    n_hyperplanes : int
        Number of rows (data plus extra) the incidence refers to.
    """

    directions: np.ndarray
    indptr: np.ndarray
    indices: np.ndarray
    n_hyperplanes: int

    def __len__(self):
        return int(self.directions.shape[0])

    @property
    def incidence(self):
        """The incidence as a ``scipy.sparse.csr_array`` of bools, (n_rays, n_hyperplanes)."""
        data = np.ones(len(self.indices), dtype=bool)
        return csr_array((data, self.indices, self.indptr), shape=(len(self), self.n_hyperplanes))

    def __repr__(self):
        return f"Rays(n_rays={len(self)}, dim={self.directions.shape[1]})"


def enumerate_rays(X, *, bias=True, extra_hyperplanes=None, max_rays=None, threads=None,
                   memory_limit=None, progress=False, client=None):
    """List the rays of the (essentialized) arrangement of ``X``.

    Parameters
    ----------
    X : array_like, shape (n, d)
    bias : bool
    extra_hyperplanes : array_like, shape (k, dim), optional
        Further hyperplane normals (e.g. the coordinate hyperplanes ``np.eye(d, d + 1)``),
        numbered ``n..n+k-1`` in the incidence.
    max_rays : int, optional
        Refuse before allocating when the bound on the rays exceeds this.
    threads, memory_limit : as in :func:`enumerate_cells`.
    progress : bool or callable, optional
        Show the walk over the lines on stderr, as in :func:`enumerate_cells`
        (default: quiet).
    client : dask.distributed.Client, optional
        Run on a Dask cluster, as in :func:`enumerate_cells`.

    Examples
    --------
    >>> import numpy as np
    >>> rays = enumerate_rays(np.array([[0.0], [1.0]]))
    >>> len(rays), sorted(rays.indices.tolist())
    (4, [0, 0, 1, 1])
    """
    A, S = _lifted(X, bias, extra_hyperplanes)
    threads = resolve_threads(threads)
    limit = resolve_limit(max_rays, "max_rays")
    progress = core_progress(progress)
    info = _info_from_lifted(A)
    memory_limit = _memory_limit(memory_limit)
    _check_size(info.rays_bound, limit, "rays", 8 * A.shape[1] + 8 * max(info.rank, 1) + 8,
                memory_limit)
    engine = _engine(client)
    with tracking(progress, "enumerate_rays") as report:
        if engine is not None:
            dirs, indptr, indices = engine.enumerate_rays(A, limit, report)
        else:
            dirs, indptr, indices = _core.enumerate_rays(A, threads, limit, progress=report)
    if S is not None:   # back to the original coordinates, unit length again
        dirs, _ = unscale(dirs, S)
        dirs /= np.linalg.norm(dirs, axis=1, keepdims=True)
    dirs += 0.0  # no negative zeros
    return Rays(dirs, indptr, indices, A.shape[0])


def count_rays(X, *, bias=True, extra_hyperplanes=None, threads=None, max_rays=None,
               progress=False, client=None):
    """The exact number of rays (twice the number of 1-dimensional flats).

    Refused with SizeError when Cover's bound on the rays exceeds ``max_rays``
    (default :data:`~exactrelu.limits.COUNT_MAX_RAYS`). ``progress`` shows the walk on
    stderr, and ``client`` runs it on a Dask cluster, as in :func:`enumerate_cells`.

    Examples
    --------
    >>> import numpy as np
    >>> count_rays(np.random.default_rng(0).normal(size=(5, 2)))   # 2 * C(5, 2)
    20
    """
    A, _ = _lifted(X, bias, extra_hyperplanes)
    threads = resolve_threads(threads)
    progress = core_progress(progress)
    _check_count_size(A, max_rays)
    engine = _engine(client)
    with tracking(progress, "count_rays") as report:
        if engine is not None:
            return int(engine.count(A, False, report)[1])
        return int(_core.count_rays(A, threads, progress=report))


def _engine(client):
    """The :class:`~exactrelu.cluster.ShardEngine` of ``client`` (None: local)."""
    from .cluster import ShardEngine, check_client

    return None if check_client(client) is None else ShardEngine(client)
