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
    shard), number of shards)."""
