"""What sampling-based convex solvers see of the arrangement, and what it costs them.

Sampling-based convex reformulations of two-layer ReLU training (the Pilanci–Ergen
program with "gates") do not enumerate the activation patterns of the data; they draw
``m`` random gate vectors ``g`` and keep the distinct patterns ``1[X~ g > 0]``. This
module (:mod:`exactrelu.studies.sampling`) measures, against the exact arrangement from
:mod:`exactrelu.arrangement`:

- **coverage**: the fraction of the arrangement's cells that ``m`` random gates find,
  for every ``m`` up to a maximum in one pass (:func:`coverage`), and the ``m`` needed
  to reach a given fraction (e.g. 99%);
- **the price of sampling**: the objective of the cell program restricted to the
  sampled patterns (``exactrelu.solve(..., method="cells", patterns=...)``) against
  the certified optimum (:func:`sampling_price`). A restricted program is a
  relaxation's opposite: it can only be *worse* than the optimum, and an
  interpolation problem restricted to too few patterns can be infeasible; both are
  reported, never hidden.

Gate distributions (``gate_bias``):

``"gaussian"``
    ``g ~ N(0, I)`` on the lifted data ``x~ = (x, 1)``: weights and bias i.i.d.
    standard normal, the way sampling-based solvers draw gates.
``"zero"``
    the same weights with bias 0. With ``bias=True`` such gates only reach the cells
    that meet the hyperplane ``{b = 0}``: exactly ``count_cells(X, bias=False)`` of the
    ``count_cells(X, bias=True)`` cells (:func:`zero_bias_reachable`).

With ``bias=False`` there is no bias coordinate and both distributions coincide.

``standardize=True`` draws the gates for the standardized data ``z = (x - mu) / sigma``
(column means and standard deviations; without bias only the scaling), the way a
solver that standardizes its inputs draws them, and maps each gate back to the
data as given (in float64): ``w' = w / sigma``, ``b' = b - w' . mu``. With bias the cells of the
two are the same (an affine change of each column maps the arrangement onto an
isomorphic one), so the coverage of raw integer data (e.g. exact decimals scaled by
10) is then not distorted by its scale.
"""


from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

import numpy as np

from .._validation import as_data_matrix
from ..arrangement import count_cells, enumerate_cells
from ..errors import InputError
from .gates import (
    GATE_BIASES,
    CellIndex,
    as_rng,
    check_gate_bias,
    gate_patterns,
    lifted,
    nonneg_int,
    pattern_coverage,
    pattern_keys,
    sample_gates,
    sample_patterns,
    standardizer,
    to_raw_gates,
)
from .price import PriceRow, certified_optimum, restricted_objective, sampling_price

__all__ = [
    "GATE_BIASES",
    "Coverage",
    "sample_gates",
    "gate_patterns",
    "sample_patterns",
    "pattern_keys",
    "pattern_coverage",
    "coverage",
    "m_grid",
    "zero_bias_reachable",
    "PriceRow",
    "restricted_objective",
    "certified_optimum",
    "sampling_price",
]

#: Bytes one chunk of gate evaluations may take (the float64 block ``A @ G.T``).
_CHUNK_BYTES = 32 * 1024**2


def zero_bias_reachable(X, *, standardize=False):
    """Cells of the biased arrangement that zero-bias gates can reach, and all cells.

    A gate ``(w, 0)`` lies on the hyperplane ``{b = 0}``, which meets exactly the cells
    of the arrangement restricted to it: the arrangement of the data without bias.
    With ``standardize`` the zero-bias gates are those of the centered data, so the
    reachable cells are those of ``X - mean`` without bias (computed exactly as
    ``n * X - column sums`` when that is exact in float64, e.g. integer data).

    Returns
    -------
    (reachable, total) : tuple of int
        ``(count_cells(X or centered X, bias=False), count_cells(X, bias=True))``.

    Examples
    --------
    >>> import numpy as np
    >>> zero_bias_reachable(np.array([[0.0], [1.0], [2.0]]))
    (2, 6)
    """
    X = as_data_matrix(X)
    Xc = X
    if standardize:
        n = X.shape[0]
        ints = np.all(X == np.round(X)) and float(np.abs(X).max(initial=0)) * n * 2 < 2.0**52
        Xc = n * X - X.sum(axis=0) if ints else X - X.mean(axis=0)
    return count_cells(Xc, bias=False), count_cells(X, bias=True)


@dataclass
class Coverage:
    """Coverage of the cells by ``m`` random gates, for every ``m <= m_max``.

    Attributes
    ----------
    n_cells : int
        Cells of the arrangement.
    m_max : int
        Gates drawn (fewer if every cell was found earlier: see ``stopped_at``).
    first_hit : ndarray of int64, shape (n_cells,)
        For each cell, the number of gates after which it is first found (1-based);
        ``m_max + 1`` where it was never found.
    stopped_at : int
        Gates actually drawn (the run stops once every cell is found).
    n_outside : int
        Sampled patterns that were no cell's pattern (0 unless a gate hit a face
        exactly, which has probability zero).
    gate_bias : str
    seconds : float
    """

    n_cells: int
    m_max: int
    first_hit: np.ndarray = field(repr=False)
    stopped_at: int
    n_outside: int
    gate_bias: str
    seconds: float

    def fraction(self, m):
        """Fraction of the cells found by the first ``m`` gates (array in, array out)."""
        m_arr = np.asarray(m)
        if np.any(m_arr > self.m_max):
            raise InputError(f"coverage is known up to m_max={self.m_max} gates")
        hits = np.sort(self.first_hit)
        found = np.searchsorted(hits, m_arr, side="right")
        frac = found / self.n_cells if self.n_cells else np.ones_like(m_arr, float)
        return float(frac) if np.ndim(frac) == 0 else frac

    @property
    def found(self):
        """Cells found by all ``m_max`` gates."""
        return int(np.sum(self.first_hit <= self.m_max))

    def gates_needed(self, q=0.99):
        """Smallest ``m`` whose gates find at least a fraction ``q`` of the cells, or None
        when ``m_max`` gates do not."""
        if not 0 < q <= 1:
            raise InputError(f"q must be in (0, 1], got {q}")
        if self.n_cells == 0:
            return 0
        need = math.ceil(q * self.n_cells - 1e-9)
        hits = np.sort(self.first_hit)
        m = int(hits[need - 1])
        return m if m <= self.m_max else None

    def curve(self, ms=None):
        """``(ms, fractions)`` at the given ``m`` (default: a 1-2-5 grid up to m_max)."""
        if ms is None:
            ms = m_grid(self.m_max)
        ms = np.asarray([m for m in ms if m <= self.m_max], dtype=np.int64)
        return ms, np.asarray(self.fraction(ms), dtype=float).reshape(-1)

    def to_dict(self, ms=None):
        ms_, fr = self.curve(ms)
        return {
            "n_cells": self.n_cells,
            "m_max": self.m_max,
            "gate_bias": self.gate_bias,
            "found": self.found,
            "m": ms_.tolist(),
            "fraction": fr.tolist(),
            "m90": self.gates_needed(0.9),
            "m99": self.gates_needed(0.99),
            "m100": self.gates_needed(1.0),
            "n_outside": self.n_outside,
            "seconds": self.seconds,
        }


def m_grid(m_max, start=1):
    """A 1-2-5 grid of gate counts from ``start`` up to and including ``m_max``."""
    out, k = [], 0
    while True:
        for f in (1, 2, 5):
            v = f * 10**k
            if v > m_max:
                if not out or out[-1] != m_max:
                    out.append(int(m_max))
                return [v for v in out if v >= start]
            out.append(v)
        k += 1


def coverage(X, cells=None, m_max=10_000, *, bias=True, gate_bias="gaussian", seed=0,
             stop_at=None, standardize=False, chunk_bytes=_CHUNK_BYTES):
    """Fraction of the arrangement's cells found by ``m`` random gates, all ``m <= m_max``.

    Gates are drawn in chunks (memory bounded by ``chunk_bytes``), each pattern is
    looked up exactly among the cells, and every cell records the first gate that
    finds it; the run stops early once every cell is found.

    Parameters
    ----------
    X : array_like, shape (n, d)
    cells : exactrelu.Cells, optional
        The enumerated cells (default: :func:`exactrelu.enumerate_cells`).
    m_max : int
        Most gates drawn.
    bias, gate_bias, seed
        See :func:`sample_gates`. Chunking does not change the gates drawn.
    stop_at : int, optional
        Stop once this many cells are found (default: all of them), e.g. the cells
        zero-bias gates can reach (:func:`zero_bias_reachable`). Fractions for larger
        ``m`` are then those at the stop.
    standardize : bool
        Draw the gates for the standardized data (see the module docstring).

    Returns
    -------
    Coverage

    Examples
    --------
    >>> import numpy as np
    >>> cov = coverage(np.array([[0.0], [1.0], [2.0]]), m_max=1000)
    >>> cov.n_cells, cov.fraction(1000), cov.gates_needed(0.99) <= 1000
    (6, 1.0, True)
    >>> zero = coverage(np.array([[0.0], [1.0], [2.0]]), m_max=1000, gate_bias="zero")
    >>> zero.found   # only 2 cells meet b = 0: count_cells(X, bias=False)
    2
    """
    check_gate_bias(gate_bias)
    m_max = nonneg_int(m_max, "m_max")
    A = lifted(X, bias)
    if cells is None:
        cells = enumerate_cells(X, bias=bias)
    if cells.n != A.shape[0]:
        raise InputError(f"cells are for {cells.n} points, X has {A.shape[0]}")
    t0 = time.perf_counter()
    index = CellIndex(cells)
    sentinel = m_max + 1
    first = np.full(index.n_cells, sentinel, dtype=np.int64)
    rng = as_rng(seed)
    n, dim = A.shape
    chunk = int(max(1, min(m_max, chunk_bytes // max(1, 9 * n))))
    done, n_found, n_outside = 0, 0, 0
    mu, sigma = standardizer(X, bias) if standardize else (None, None)
    target = index.n_cells
    if stop_at is not None:
        target = min(index.n_cells, nonneg_int(stop_at, "stop_at"))
    while done < m_max and n_found < target:
        k = min(chunk, m_max - done)
        G = sample_gates(dim, k, bias=bias, gate_bias=gate_bias, seed=rng)
        if standardize:
            G = to_raw_gates(G, mu, sigma, bias)
        keys = pattern_keys(packed=np.packbits((G @ A.T) > 0, axis=1, bitorder="little"))
        idx = index.lookup(keys)
        n_outside += int(np.sum(idx < 0))
        ok = idx >= 0
        cell_ids, pos = np.unique(idx[ok], return_index=True)
        gate_no = np.flatnonzero(ok)[pos] + done + 1
        new = first[cell_ids] == sentinel
        first[cell_ids[new]] = gate_no[new]
        n_found += int(new.sum())
        done += k
    return Coverage(index.n_cells, m_max, first, done, n_outside, gate_bias,
                    time.perf_counter() - t0)


