"""Synthetic datasets: small regression / classification sets, and the inputs of the size study.

- :func:`make_dataset` (``SYNTHETIC``): 1-D and 2-D regression sets and +-1
  classification sets for comparisons and examples, reproducible from a seed.
- :func:`make_synthetic` (``SYNTHETIC_SOURCES``): the inputs of the size study,
  Gaussian (``float``) and degenerate ones: an integer grid, duplicated points and
  points on a low-dimensional affine subspace (``integer``: exact in float64, so
  their degeneracy is exact).
"""

from __future__ import annotations

import math

import numpy as np

from ..errors import InputError, SizeError
from .base import Dataset, check_count

__all__ = ["SYNTHETIC", "make_dataset", "SYNTHETIC_SOURCES", "SYNTHETIC_FORM", "make_synthetic"]


# ------------------------------------------------------------- comparison sets
def _unit(rng, n, d):
    return rng.uniform(-1.0, 1.0, size=(n, d))


def _teacher(rng, X, k):
    """A random k-neuron ReLU network evaluated on X (kinks inside the data)."""
    n, d = X.shape
    W = rng.standard_normal((k, d))
    W /= np.linalg.norm(W, axis=1, keepdims=True)
    idx = rng.integers(0, n, size=k)
    b = -np.einsum("ij,ij->i", W, X[idx])
    a = rng.standard_normal(k)
    return np.maximum(X @ W.T + b, 0.0) @ a


def _labels(f):
    return np.where(f >= 0, 1.0, -1.0)


def _sine1d(rng, n, noise):
    X = np.sort(_unit(rng, n, 1), axis=0)
    return X, np.sin(3.0 * X[:, 0]) + noise * rng.standard_normal(n), "regression"


def _abs1d(rng, n, noise):
    X = np.sort(_unit(rng, n, 1), axis=0)
    return X, np.abs(X[:, 0]) - 0.5 + noise * rng.standard_normal(n), "regression"


def _teacher1d(rng, n, noise):
    X = np.sort(_unit(rng, n, 1), axis=0)
    return X, _teacher(rng, X, 3) + noise * rng.standard_normal(n), "regression"


def _sign1d(rng, n, noise):
    X = np.sort(_unit(rng, n, 1), axis=0)
    return X, _labels(np.sin(4.0 * X[:, 0]) + noise * rng.standard_normal(n)), "classification"


def _bumps2d(rng, n, noise):
    X = _unit(rng, n, 2)
    f = np.sin(2.5 * X[:, 0]) * np.cos(2.0 * X[:, 1]) + 0.5 * X[:, 1]
    return X, f + noise * rng.standard_normal(n), "regression"


def _teacher2d(rng, n, noise):
    X = _unit(rng, n, 2)
    return X, _teacher(rng, X, 4) + noise * rng.standard_normal(n), "regression"


def _xor2d(rng, n, noise):
    X = _unit(rng, n, 2)
    return X, _labels(X[:, 0] * X[:, 1] + noise * rng.standard_normal(n)), "classification"


def _circle2d(rng, n, noise):
    X = _unit(rng, n, 2)
    f = 0.55 - np.sqrt(np.sum(X * X, axis=1)) + noise * rng.standard_normal(n)
    return X, _labels(f), "classification"


#: name -> (generator(rng, n, noise) -> (X, y, task), description)
SYNTHETIC = {
    "sine1d": (_sine1d, "y = sin(3x) + noise, x ~ U[-1, 1]"),
    "abs1d": (_abs1d, "y = |x| - 0.5 + noise (one kink)"),
    "teacher1d": (_teacher1d, "a random 3-neuron ReLU network + noise"),
    "sign1d": (_sign1d, "labels sign(sin(4x) + noise) in {-1, +1}"),
    "bumps2d": (_bumps2d, "y = sin(2.5 x1) cos(2 x2) + 0.5 x2 + noise on [-1, 1]^2"),
    "teacher2d": (_teacher2d, "a random 4-neuron ReLU network on [-1, 1]^2 + noise"),
    "xor2d": (_xor2d, "labels sign(x1 * x2 + noise) in {-1, +1}"),
    "circle2d": (_circle2d, "labels +1 inside the circle of radius 0.55, -1 outside"),
}


def make_dataset(name, *, n=20, noise=0.1, seed=0):
    """Generate a synthetic dataset by name (see ``SYNTHETIC``).

    Parameters
    ----------
    name : str
        One of ``SYNTHETIC`` (e.g. "sine1d", "bumps2d", "xor2d").
    n : int
        Number of samples.
    noise : float
        Standard deviation of the Gaussian noise on the target (or on the
        decision function for classification sets).
    seed : int

    Examples
    --------
    >>> ds = make_dataset("sine1d", n=10)
    >>> ds.X.shape, ds.y.shape, ds.task
    ((10, 1), (10,), 'regression')
    """
    if name not in SYNTHETIC:
        raise InputError(f"unknown synthetic dataset {name!r}; choose from {sorted(SYNTHETIC)}")
    n = check_count(n, "n", minimum=2)
    noise = float(noise)
    if not (noise >= 0 and math.isfinite(noise)):
        raise InputError(f"noise must be a finite number >= 0, got {noise!r}")
    gen, desc = SYNTHETIC[name]
    rng = np.random.default_rng(seed)
    X, y, task = gen(rng, n, noise)
    return Dataset(X=np.ascontiguousarray(X), y=np.ascontiguousarray(y), name=name, task=task,
                   description=desc)


# ------------------------------------------------------------ size-study inputs
SYNTHETIC_SOURCES = ("gaussian", "grid", "duplicated", "subspace")
#: source -> its fixed form
SYNTHETIC_FORM = {"gaussian": "float", "grid": "integer", "duplicated": "float",
                  "subspace": "integer"}


def _min_int_dim(n, d):
    k = 1
    while k**d < n:
        k += 1
    return k


def _gaussian(n, d, rng):
    return rng.standard_normal((n, d)), f"{n} standard Gaussian points in R^{d}"


def _grid(n, d, rng):
    k = _min_int_dim(n, d)
    if k**d > 10_000_000:
        raise SizeError(f"a {k}^{d} grid is too large to sample from", estimate=k**d,
                        limit=10_000_000, what="grid points")
    pick = np.sort(rng.choice(k**d, size=n, replace=False))
    coords = np.stack(np.unravel_index(pick, (k,) * d), axis=1)
    return coords.astype(np.float64), f"{n} distinct points of the integer grid {{0..{k - 1}}}^{d}"


def _duplicated(n, d, rng):
    m = (n + 1) // 2
    Z = rng.standard_normal((m, d))
    X = np.vstack([Z, Z])[:n]
    return X[rng.permutation(n)], f"{m} Gaussian points, each repeated (up to) twice"


def _subspace(n, d, rng):
    k = max(1, d // 2)
    if k >= d:
        raise InputError("the subspace source needs d >= 2")
    for _ in range(100):
        B = rng.integers(-3, 4, size=(k, d)).astype(np.float64)
        off = rng.integers(-5, 6, size=d).astype(np.float64)
        if np.linalg.matrix_rank(np.vstack([B, off])) == k + 1:
            break
    Z = np.round(rng.standard_normal((n, k)) * 100.0)
    X = Z @ B + off  # small integers: exact in float64
    return X, f"integer points on a {k}-dimensional affine subspace of R^{d}"


_SOURCES = {"gaussian": _gaussian, "grid": _grid, "duplicated": _duplicated,
            "subspace": _subspace}


def make_synthetic(source, n, d, *, form=None, seed=0):
    """One synthetic input of the size study (``y`` is None).

    Examples
    --------
    >>> ds = make_synthetic("duplicated", 5, 1)
    >>> ds.form, ds.y is None, len(set(ds.X[:, 0]))
    ('float', True, 3)
    """
    want = SYNTHETIC_FORM[source]
    if form not in (None, want):
        raise InputError(f"the {source} source has form {want!r}, not {form!r}")
    X, desc = _SOURCES[source](n, d, np.random.default_rng([seed, n, d]))
    return Dataset(X=np.ascontiguousarray(X, np.float64), y=None, name=source, task=None,
                   description=desc, form=want)
