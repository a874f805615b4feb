"""Type stubs of the private C++ module ``exactrelu._core`` (see cpp/bindings.cpp).

Every function takes the lifted data matrix ``A`` (n x D, float64, C order), releases
the GIL while it works, polls for Ctrl-C, and raises ``exactrelu.errors`` exceptions:
a KeyboardInterrupt (or an exception raised by a signal handler) passes through as is;
size limits and running out of memory raise SizeError; failed exact computations
NumericalError; any other C++ failure ExactReLUError.

``progress`` (default None: nothing is called) is called as ``progress(stage, done,
total)`` with the GIL held, from the calling thread only: when each stage of the work
starts, at most about ten times a second while it runs, and when it ends (``done ==
total``; stages: ``"lines"`` the walk, ``"dedup"`` and ``"witnesses"`` for cells). An
exception it raises stops the work and propagates unchanged.
"""

from collections.abc import Callable

import numpy as np
from numpy.typing import NDArray

Report = Callable[[str, int, int], object] | None

def analyze(A: NDArray[np.float64]) -> tuple[int, int]:
    """(exact rank, number of distinct nonzero hyperplanes) of the rows of A."""

def enumerate_cells(
    A: NDArray[np.float64],
    threads: int = 1,
    max_cells: int = -1,
    witnesses: bool = True,
    progress: Report = None,
) -> tuple[NDArray[np.uint8], NDArray[np.float64], NDArray[np.float64] | None]:
    """(packed patterns (n_cells, ceil(n/8)), witnesses (n_cells or 0, D),
    double-double corrections of the witnesses or None)."""

def enumerate_rays(
    A: NDArray[np.float64], threads: int = 1, max_rays: int = -1, progress: Report = None
) -> tuple[NDArray[np.float64], NDArray[np.int64], NDArray[np.int64]]:
    """(unit directions (n_rays, D), CSR indptr, CSR indices of incident rows)."""

def count_cells(A: NDArray[np.float64], threads: int = 1, progress: Report = None) -> int: ...
def count_rays(A: NDArray[np.float64], threads: int = 1, progress: Report = None) -> int: ...
def price_rays(
    A: NDArray[np.float64],
    n_data: int,
    lam: NDArray[np.float64],
    norm_mask: NDArray[np.bool_],
    top_k: int = 1,
    threads: int = 1,
    progress: Report = None,
    pool_size: int = 0,
) -> tuple[NDArray[np.float64], NDArray[np.float64], int, NDArray[np.float64],
           NDArray[np.float64], int]:
    """(signed scores, directions normalized to ||theta[mask]||_1 = 1, rays priced,
    pool scores, pool directions (about pool_size more rays, the best of every
    shard; their scores are the walk's float scores, not re-evaluated), number of
    shards)."""

# --- shards (docs/design.md section 9): shard s of S runs the root tasks t with
# t % S == s; merging the results of every shard gives exactly the one-shard answer.

PriceShard = tuple[int, int, int, int, int, int, NDArray[np.float64], NDArray[np.int64],
                   NDArray[np.float64], NDArray[np.float64], NDArray[np.int64],
                   NDArray[np.int32]]

def price_shard(
    A: NDArray[np.float64],
    n_data: int,
    lam: NDArray[np.float64],
    norm_mask: NDArray[np.bool_],
    top_k: int,
    pool_size: int,
    shard_index: int,
    shard_count: int,
    threads: int = 1,
) -> PriceShard:
    """(rank, tasks of the pass, rays priced, skipped, rescored, n_top, scores, orders,
    norms, directions (essential coordinates), inc_ptr, inc): the shard's top
    candidates (the first n_top) and its pool."""

def price_merge(
    A: NDArray[np.float64],
    n_data: int,
    lam: NDArray[np.float64],
    norm_mask: NDArray[np.bool_],
    top_k: int,
    pool_size: int,
    shards: list[PriceShard],
) -> tuple[NDArray[np.float64], NDArray[np.float64], int, NDArray[np.float64],
           NDArray[np.float64], int]:
    """What price_rays returns, from the results of price_shard for every shard."""

def enumerate_cells_shard(
    A: NDArray[np.float64],
    shard_index: int,
    shard_count: int,
    max_cells: int = -1,
    witnesses: bool = True,
    threads: int = 1,
) -> tuple[NDArray[np.uint8], NDArray[np.float64], NDArray[np.float64] | None,
           NDArray[np.int64]]:
    """The cells the shard finds, as enumerate_cells, and one key per pair of opposite
    cells (task << 32 | emission): the merge keeps each cell's smallest key."""

def enumerate_rays_shard(
    A: NDArray[np.float64],
    shard_index: int,
    shard_count: int,
    max_rays: int = -1,
    threads: int = 1,
) -> tuple[NDArray[np.float64], NDArray[np.int64], NDArray[np.int64], NDArray[np.int64]]:
    """The shard's rays, as enumerate_rays, and one key per line (pair of rays)."""

def count_shard(
    A: NDArray[np.float64], want_cells: bool, shard_index: int, shard_count: int,
    threads: int = 1,
) -> tuple[int, NDArray[np.uint64]]:
    """(rank r, tallies (tasks, 2, r + 1)): flats and |mu| per codimension of each of
    the shard's tasks."""

def count_merge(r: int, tallies: NDArray[np.uint64]) -> tuple[int, int]:
    """(cells, rays) from the stacked tallies of every shard."""

def simplex_search(
    A: NDArray[np.float64],
    lam: NDArray[np.float64],
    bias: bool,
    R: float,
    prune_below: float,
    gap_tol: float,
    max_nodes: int,
    top_k: int = 1,
    threads: int = 1,
    max_vertex_bytes: int = 2**28,
) -> tuple[float, bool, int, int, int, NDArray[np.float64], NDArray[np.float64]]:
    """(upper, proven, nodes, max_depth, open, scores, dirs): a valid upper bound on
    max lam . relu(A theta) over ||w||_1 <= 1, |b| <= R by simplicial branch and
    bound (simplices at most prune_below + gap_tol are not split), and the best
    top_k vertices found (dirs with ||w||_1 = 1)."""
