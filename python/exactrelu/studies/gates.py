"""Random gates and the activation patterns they give, looked up among the cells.

The building blocks of :mod:`exactrelu.studies.sampling` (see its docstring for the
gate distributions and ``standardize``).
"""

from __future__ import annotations

import numpy as np

from .._validation import MAX_LIMIT, as_data_matrix, check_int, lift
from ..errors import InputError

__all__ = [
    "GATE_BIASES",
    "sample_gates",
    "gate_patterns",
    "sample_patterns",
    "pattern_keys",
    "pattern_coverage",
]

GATE_BIASES = ("gaussian", "zero")

def check_gate_bias(gate_bias):
    if gate_bias not in GATE_BIASES:
        raise InputError(f"gate_bias must be one of {GATE_BIASES}, got {gate_bias!r}")


def nonneg_int(v, name):
    return check_int(v, name, low=0, high=MAX_LIMIT, none_ok=False)


def as_rng(seed):
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
    check_gate_bias(gate_bias)
    dim = nonneg_int(dim, "dim")
    m = nonneg_int(m, "m")
    G = as_rng(seed).standard_normal((m, dim))
    if bias and gate_bias == "zero" and dim:
        G[:, -1] = 0.0
    return G


def lifted(X, bias):
    X = as_data_matrix(X)
    return lift(X, bool(bias))


def standardizer(X, bias):
    """``(mu, sigma)`` of the columns (mu = 0 without bias: centering is not linear)."""
    X = as_data_matrix(X)
    sigma = X.std(axis=0)
    sigma[sigma == 0] = 1.0
    mu = X.mean(axis=0) if bias else np.zeros(X.shape[1])
    return mu, sigma


def to_raw_gates(G, mu, sigma, bias):
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
    A = lifted(X, bias)
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


class CellIndex:
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
    index = CellIndex(cells)
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
    A = lifted(X, bias)
    m = nonneg_int(m, "m")
    G = sample_gates(A.shape[1], m, bias=bias, gate_bias=gate_bias, seed=seed)
    if standardize:
        G = to_raw_gates(G, *standardizer(X, bias), bias)
    P = (G @ A.T) > 0
    if unique and len(P):
        keys = pattern_keys(P)
        _, first = np.unique(keys, return_index=True)
        P = P[np.sort(first)]
    return P
