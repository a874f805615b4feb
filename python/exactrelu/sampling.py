"""What sampling-based convex solvers see of the arrangement, and what it costs them.

Sampling-based convex reformulations of two-layer ReLU training (the Pilanci–Ergen
program with "gates") do not enumerate the activation patterns of the data; they draw
``m`` random gate vectors ``g`` and keep the distinct patterns ``1[X~ g > 0]``. This
module measures, against the exact arrangement from :mod:`exactrelu.arrangement`:

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

from ._validation import as_data_matrix, as_target_vector, lift
from .errors import InputError, SizeError

__all__ = [
    "GATE_BIASES",
    "Coverage",
    "sample_gates",
    "gate_patterns",
    "sample_patterns",
    "pattern_keys",
    "pattern_coverage",
    "coverage",
    "zero_bias_reachable",
    "PriceRow",
    "restricted_objective",
    "sampling_price",
]

GATE_BIASES = ("gaussian", "zero")

#: Bytes one chunk of gate evaluations may take (the float64 block ``A @ G.T``).
_CHUNK_BYTES = 32 * 1024**2


def _check_gate_bias(gate_bias):
    if gate_bias not in GATE_BIASES:
        raise InputError(f"gate_bias must be one of {GATE_BIASES}, got {gate_bias!r}")


def _nonneg_int(v, name):
    if isinstance(v, (bool, np.bool_)) or not isinstance(v, (int, np.integer)) or v < 0:
        raise InputError(f"{name} must be a non-negative int, got {v!r}")
    return int(v)


def _rng(seed):
    return seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)


def sample_gates(dim, m, *, bias=True, gate_bias="gaussian", seed=0):
    """Draw ``m`` gate vectors in the lifted space of dimension ``dim``.

    Parameters
    ----------
    dim : int
        Dimension of the lifted data (``d + 1`` with bias, ``d`` without).
    m : int
        Number of gates.
    bias : bool
        Whether the last coordinate is the bias coordinate.
    gate_bias : {"gaussian", "zero"}
        Bias distribution (see the module docstring); the weights are always
        standard normal, so both choices with the same seed share their weights.
    seed : int or numpy.random.Generator

    Returns
    -------
    ndarray, shape (m, dim)

    Examples
    --------
    >>> G = sample_gates(3, 4, gate_bias="zero")
    >>> G.shape, bool((G[:, -1] == 0).all())
    ((4, 3), True)
    """
    _check_gate_bias(gate_bias)
    dim = _nonneg_int(dim, "dim")
    m = _nonneg_int(m, "m")
    G = _rng(seed).standard_normal((m, dim))
    if bias and gate_bias == "zero" and dim:
        G[:, -1] = 0.0
    return G


def _lifted(X, bias):
    X = as_data_matrix(X)
    return lift(X, bool(bias))


def _standardizer(X, bias):
    """``(mu, sigma)`` of the columns (mu = 0 without bias: centering is not linear)."""
    X = as_data_matrix(X)
    sigma = X.std(axis=0)
    sigma[sigma == 0] = 1.0
    mu = X.mean(axis=0) if bias else np.zeros(X.shape[1])
    return mu, sigma


def _to_raw_gates(G, mu, sigma, bias):
    """Gates drawn for standardized data, as gates on the data as given."""
    d = len(sigma)
    out = np.empty_like(G)
    out[:, :d] = G[:, :d] / sigma
    if bias:
        out[:, d] = G[:, d] - out[:, :d] @ mu
    return out


def gate_patterns(X, gates, *, bias=True):
    """Activation patterns ``1[X~ g > 0]`` of the given gates, one row per gate.

    Examples
    --------
    >>> import numpy as np
    >>> gate_patterns(np.array([[0.0], [1.0], [2.0]]), np.array([[1.0, -0.5]])).astype(int)
    array([[0, 1, 1]])
    """
    A = _lifted(X, bias)
    G = np.asarray(gates, dtype=np.float64)
    if G.ndim != 2 or G.shape[1] != A.shape[1]:
        raise InputError(f"gates must have shape (m, {A.shape[1]}), got {G.shape}")
    return (G @ A.T) > 0


def pattern_keys(patterns=None, *, packed=None):
    """Hashable, sortable keys of activation patterns: one ``numpy.void`` per row.

    Give either bool ``patterns`` (k, n) or little-endian ``packed`` rows (as in
    :attr:`exactrelu.Cells.packed`); equal patterns have equal keys.
    """
    if packed is None:
        if patterns is None:
            raise InputError("give patterns or packed")
        P = np.asarray(patterns, dtype=bool)
        if P.ndim != 2:
            raise InputError(f"patterns must be 2-D (k, n), got shape {P.shape}")
        packed = np.packbits(P, axis=1, bitorder="little")
    packed = np.ascontiguousarray(packed, dtype=np.uint8)
    width = max(1, packed.shape[1])
    if packed.shape[1] == 0:
        packed = np.zeros((packed.shape[0], 1), np.uint8)
    return packed.view(np.dtype((np.void, width))).ravel()


class _CellIndex:
    """Exact lookup of patterns among the cells of an arrangement (sorted keys)."""

    def __init__(self, cells):
        keys = pattern_keys(packed=cells.packed)
        self.order = np.argsort(keys, kind="stable")
        self.sorted = keys[self.order]
        self.n_cells = len(keys)
        if self.n_cells and np.any(self.sorted[1:] == self.sorted[:-1]):
            raise InputError("the cells contain repeated patterns")

    def lookup(self, keys):
        """Cell index of each key, or -1 where the pattern is not a cell."""
        if self.n_cells == 0:
            return np.full(len(keys), -1, np.int64)
        pos = np.searchsorted(self.sorted, keys)
        pos = np.minimum(pos, self.n_cells - 1)
        hit = self.sorted[pos] == keys
        out = np.where(hit, self.order[pos], -1)
        return out.astype(np.int64)


def pattern_coverage(patterns, cells):
    """Fraction of the cells whose pattern appears among ``patterns``.

    Parameters
    ----------
    patterns : array_like of bool, shape (k, n)
    cells : exactrelu.Cells

    Returns
    -------
    fraction : float
    n_outside : int
        Given patterns that are no cell's pattern (faces, or another dataset's).

    Examples
    --------
    >>> import numpy as np, exactrelu
    >>> cells = exactrelu.enumerate_cells(np.array([[0.0], [1.0], [2.0]]))
    >>> pattern_coverage(cells.patterns, cells)
    (1.0, 0)
    >>> pattern_coverage(cells.patterns[:3], cells)
    (0.5, 0)
    """
    index = _CellIndex(cells)
    P = np.asarray(patterns, dtype=bool)
    if P.ndim != 2 or (P.shape[0] and P.shape[1] != cells.n):
        raise InputError(f"patterns must have shape (k, {cells.n}), got {P.shape}")
    idx = index.lookup(pattern_keys(P))
    found = np.unique(idx[idx >= 0])
    frac = len(found) / index.n_cells if index.n_cells else 1.0
    return float(frac), int(np.sum(idx < 0))


def sample_patterns(X, m, *, bias=True, gate_bias="gaussian", seed=0, unique=True,
                    standardize=False):
    """The activation patterns of ``m`` random gates, as a sampling-based solver gets them.

    Parameters
    ----------
    X : array_like, shape (n, d)
    m : int
        Number of gates drawn.
    bias, gate_bias, seed
        See :func:`sample_gates`.
    unique : bool
        Drop repeated patterns, keeping the first occurrence (gate order).
    standardize : bool
        Draw the gates for the standardized data (see the module docstring).

    Returns
    -------
    ndarray of bool, shape (k, n), k <= m

    Examples
    --------
    >>> import numpy as np
    >>> P = sample_patterns(np.array([[0.0], [1.0], [2.0]]), 50, seed=1)
    >>> P.shape[1], P.shape[0] <= 6
    (3, True)
    """
    A = _lifted(X, bias)
    m = _nonneg_int(m, "m")
    G = sample_gates(A.shape[1], m, bias=bias, gate_bias=gate_bias, seed=seed)
    if standardize:
        G = _to_raw_gates(G, *_standardizer(X, bias), bias)
    P = (G @ A.T) > 0
    if unique and len(P):
        keys = pattern_keys(P)
        _, first = np.unique(keys, return_index=True)
        P = P[np.sort(first)]
    return P


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
    from .arrangement import count_cells

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
    _check_gate_bias(gate_bias)
    m_max = _nonneg_int(m_max, "m_max")
    A = _lifted(X, bias)
    if cells is None:
        from .arrangement import enumerate_cells

        cells = enumerate_cells(X, bias=bias)
    if cells.n != A.shape[0]:
        raise InputError(f"cells are for {cells.n} points, X has {A.shape[0]}")
    t0 = time.perf_counter()
    index = _CellIndex(cells)
    sentinel = m_max + 1
    first = np.full(index.n_cells, sentinel, dtype=np.int64)
    rng = _rng(seed)
    n, dim = A.shape
    chunk = int(max(1, min(m_max, chunk_bytes // max(1, 9 * n))))
    done, n_found, n_outside = 0, 0, 0
    mu, sigma = _standardizer(X, bias) if standardize else (None, None)
    target = index.n_cells if stop_at is None else min(index.n_cells, _nonneg_int(stop_at, "stop_at"))
    while done < m_max and n_found < target:
        k = min(chunk, m_max - done)
        G = rng.standard_normal((k, dim))
        if bias and gate_bias == "zero":
            G[:, -1] = 0.0
        if standardize:
            G = _to_raw_gates(G, mu, sigma, bias)
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


# --------------------------------------------------------------------------- price


@dataclass
class PriceRow:
    """One restricted solve against the certified optimum.

    Attributes
    ----------
    m : int or None
        Gates drawn (None when the patterns were given, e.g. all cells).
    n_patterns : int
        Distinct patterns given to the restricted program.
    coverage : float or None
        Fraction of the cells among them (when the cells are known).
    objective : float or None
        Restricted optimum (None when it failed: see ``status``).
    optimum : float or None
        Certified global optimum.
    rel_gap : float or None
        ``(objective - optimum) / max(|optimum|, 1e-12)``.
    status : str
        ``"optimal"``, ``"infeasible"`` (no network with these patterns fits the data),
        or a solver status / error description.
    seconds : float
    """

    m: int | None
    n_patterns: int
    coverage: float | None
    objective: float | None
    optimum: float | None
    rel_gap: float | None
    status: str
    seconds: float

    def to_dict(self):
        return dict(self.__dict__)


def _solve_fn():
    try:
        from .solver import solve
    except ImportError:
        return None
    return solve


def restricted_objective(X, y, patterns, *, loss="interpolate", beta=1.0, bias=True,
                         optimum=None, cells=None, m=None, time_limit=None, solve_kwargs=None):
    """Solve the cell program restricted to ``patterns`` and compare with ``optimum``.

    Never raises for an infeasible or failing restricted program: the outcome is in
    :attr:`PriceRow.status`. Raises :class:`~exactrelu.errors.NotSupportedError` when
    ``exactrelu.solve`` is not available.
    """
    from .errors import ExactReLUError, InfeasibleError, NotSupportedError, SolverError

    solve = _solve_fn()
    if solve is None:
        raise NotSupportedError("exactrelu.solve is not available in this installation")
    P = np.asarray(patterns, dtype=bool)
    cov = pattern_coverage(P, cells)[0] if cells is not None else None
    kw = dict(loss=loss, bias=bias, method="cells", patterns=P, time_limit=time_limit)
    if loss != "interpolate":
        kw["beta"] = beta
    kw.update(solve_kwargs or {})
    t0 = time.perf_counter()
    obj, status = None, "optimal"
    try:
        sol = solve(X, y, **kw)
        obj = float(sol.objective)  # the restricted program's optimum (not certified)
    except InfeasibleError:
        status = "infeasible"
    except SolverError as exc:
        status = f"solver: {getattr(exc, 'status', None) or type(exc).__name__}"
    except SizeError as exc:
        status = f"too large: {exc}"
    except ExactReLUError as exc:
        status = f"{type(exc).__name__}: {exc}"
    secs = time.perf_counter() - t0
    gap = None
    if obj is not None and optimum is not None:
        gap = (obj - optimum) / max(abs(optimum), 1e-12)
    return PriceRow(m, int(len(P)), cov, obj, optimum, gap, status, secs)


def certified_optimum(X, y, *, loss="interpolate", beta=1.0, bias=True, time_limit=None):
    """The certified global optimum (``exactrelu.solve`` with its default method)."""
    from .errors import NotSupportedError

    solve = _solve_fn()
    if solve is None:
        raise NotSupportedError("exactrelu.solve is not available in this installation")
    kw = dict(loss=loss, bias=bias, time_limit=time_limit)
    if loss != "interpolate":
        kw["beta"] = beta
    sol = solve(X, y, **kw)
    return sol


def sampling_price(X, y, ms, *, loss="interpolate", beta=1.0, bias=True, gate_bias="gaussian",
                   seed=0, include_all_cells=True, time_limit=None, max_patterns=None,
                   standardize=False):
    """The price of sampling: restricted objectives for ``m`` random gates vs the optimum.

    For each ``m`` in ``ms`` the first ``m`` gates of one stream (so the pattern sets
    are nested and the restricted objective can only fall as ``m`` grows) give the
    patterns of a restricted cell program; with ``include_all_cells`` a last row uses
    every cell of the arrangement (``m=None``), whose objective must equal the optimum.

    Parameters
    ----------
    X, y : array_like
    ms : iterable of int
    loss, beta, bias
        As in :func:`exactrelu.solve` (``beta`` is ignored for interpolation).
    gate_bias, seed, standardize
        See :func:`sample_gates` and the module docstring.
    max_patterns : int, optional
        Skip (status ``"skipped: ..."``) restricted programs with more patterns.

    Returns
    -------
    optimum : float
    rows : list of PriceRow
    """
    from .arrangement import enumerate_cells

    X = as_data_matrix(X)
    y = as_target_vector(y, X.shape[0])
    sol = certified_optimum(X, y, loss=loss, beta=beta, bias=bias, time_limit=time_limit)
    opt = float(sol.objective)
    cells = enumerate_cells(X, bias=bias)
    ms = sorted(_nonneg_int(m, "m") for m in ms)
    stream = sample_patterns(X, max(ms) if ms else 0, bias=bias, gate_bias=gate_bias, seed=seed,
                             unique=False, standardize=standardize)
    keys = pattern_keys(stream) if len(stream) else np.zeros(0, np.dtype((np.void, 1)))
    rows = []
    jobs = []
    for m in ms:
        sub = stream[:m]
        if len(sub):
            _, first = np.unique(keys[:m], return_index=True)
            sub = sub[np.sort(first)]
        jobs.append((m, sub))
    if include_all_cells:
        jobs.append((None, cells.patterns))
    for m, P in jobs:
        if max_patterns is not None and len(P) > max_patterns:
            rows.append(PriceRow(m, int(len(P)), pattern_coverage(P, cells)[0], None, opt, None,
                                 f"skipped: {len(P)} patterns > {max_patterns}", 0.0))
            continue
        rows.append(restricted_objective(X, y, P, loss=loss, beta=beta, bias=bias, optimum=opt,
                                         cells=cells, m=m, time_limit=time_limit))
    return opt, rows
