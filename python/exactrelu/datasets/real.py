"""scikit-learn's bundled datasets (no download; scikit-learn is imported lazily).

Two uses, two loaders:

- :func:`load_sklearn` (``SKLEARN``): a dataset for training, classification sets
  made binary (one class against the rest, labels +-1).
- :func:`make_real` (``REAL_SOURCES``): inputs of the size study in two *forms*:

  ``float``
      standardized columns, the first ``d`` principal components, ``n`` rows drawn
      with a fixed seed: generic floating-point data, in general position in practice.
  ``decimal``
      ``d`` raw columns kept exact: each column is multiplied by ``10**k`` for the
      smallest ``k`` that makes all its recorded values integers (its decimal
      resolution, read from the data: iris is 0.1 cm), with the same ``n`` rows.
      Scaling a column by a positive constant maps the arrangement to an isomorphic
      one, so these integer rows have exactly the cells of the decimal data, ties
      (repeated values, collinear points) included; float rounding destroys them.
"""

from __future__ import annotations

from functools import cache

import numpy as np

from ..errors import InputError, NotSupportedError
from .base import Dataset, subsample_rows

__all__ = ["SKLEARN", "load_sklearn", "REAL_SOURCES", "REAL_FORMS", "decimal_resolution",
           "real_size", "make_real"]

#: name -> (loader name, task, positive class for one-vs-rest, description)
SKLEARN = {
    "iris": ("load_iris", "classification", 1, "iris, versicolor (+1) vs the rest"),
    "wine": ("load_wine", "classification", 0, "wine, class 0 (+1) vs the rest"),
    "breast_cancer": ("load_breast_cancer", "classification", 1, "breast cancer, benign (+1)"),
    "diabetes": ("load_diabetes", "regression", None, "diabetes progression (regression)"),
    "linnerud": ("load_linnerud", "regression", None, "linnerud exercise -> weight (regression)"),
}
REAL_SOURCES = ("iris", "wine", "breast_cancer", "diabetes", "digits")
REAL_FORMS = ("float", "decimal")


def _sklearn_datasets(error, message):
    """``sklearn.datasets``, or ``error(message)`` when scikit-learn is not installed."""
    try:
        import sklearn.datasets as skd
    except ImportError:  # pragma: no cover - optional dependency
        raise error(message) from None
    return skd


def load_sklearn(name):
    """Load one of scikit-learn's bundled datasets (no download) as a Dataset.

    Classification sets become binary: the class in ``SKLEARN`` is +1, the rest
    -1. The features are returned as stored (see :func:`standardize`).
    """
    if name not in SKLEARN:
        raise InputError(f"unknown scikit-learn dataset {name!r}; choose from {sorted(SKLEARN)}")
    skd = _sklearn_datasets(
        NotSupportedError, f"dataset {name!r} needs scikit-learn (pip install exactrelu[sklearn])")
    loader, task, pos, desc = SKLEARN[name]
    bunch = getattr(skd, loader)()
    X = np.asarray(bunch.data, dtype=float)
    target = np.asarray(bunch.target, dtype=float)
    if target.ndim == 2:  # linnerud: first physiological target (weight)
        target = target[:, 0]
    y = np.where(target == pos, 1.0, -1.0) if task == "classification" else target
    return Dataset(X=np.ascontiguousarray(X), y=np.ascontiguousarray(y), name=name, task=task,
                   description=desc)


def decimal_resolution(column, max_digits=8):
    """Decimal digits of a column: the smallest ``k`` with ``column * 10**k`` all integers.

    Returns None when no ``k <= max_digits`` works (the values are not short decimals).

    Examples
    --------
    >>> decimal_resolution([5.1, 4.9, 7.0])
    1
    >>> decimal_resolution([1.0, 2.0]), decimal_resolution([0.0625]), decimal_resolution([0.1 / 3])
    (0, 4, None)
    """
    v = np.asarray(column, dtype=np.float64)
    for k in range(max_digits + 1):
        s = v * 10.0**k
        if np.all(np.abs(s - np.round(s)) <= 1e-6 * np.maximum(1.0, 1e-9 * np.abs(s))) and np.all(
            np.abs(s) < 2.0**52
        ):
            return k
    return None


@cache
def _load_real(name):
    """(X raw, y, feature names) of a scikit-learn dataset shipped with the package."""
    skd = _sklearn_datasets(
        InputError, f"the {name!r} dataset needs scikit-learn (pip install scikit-learn)")
    if name not in REAL_SOURCES:
        raise InputError(f"unknown real dataset {name!r}; known: {REAL_SOURCES}")
    if name == "diabetes":
        b = skd.load_diabetes(scaled=False)  # the recorded values, not sklearn's rescaling
    else:
        b = getattr(skd, f"load_{name}")()
    names = [str(s) for s in getattr(b, "feature_names", [f"x{j}" for j in range(b.data.shape[1])])]
    return np.asarray(b.data, np.float64), np.asarray(b.target, np.float64), tuple(names)


@cache
def _principal_components(name):
    """All principal component scores of the standardized non-constant columns."""
    X, _, _ = _load_real(name)
    sd = X.std(axis=0)
    keep = sd > 0
    Z = (X[:, keep] - X[:, keep].mean(axis=0)) / sd[keep]
    _, _, Vt = np.linalg.svd(Z, full_matrices=False)
    P = Z @ Vt.T
    P.setflags(write=False)
    return P


def real_size(name):
    """Rows and columns of a real dataset."""
    X, _, _ = _load_real(name)
    return X.shape


def _float_form(name, rows, d, seed):
    P = _principal_components(name)
    if d > P.shape[1]:
        raise InputError(f"{name} has {P.shape[1]} non-constant columns, fewer than d={d}")
    desc = f"{name}: standardized, first {d} principal components, rows drawn with seed {seed}"
    return P[rows, :d], desc, [f"PC{j + 1}" for j in range(d)]


def _decimal_form(name, rows, d, seed):
    X, _, names = _load_real(name)
    p = X.shape[1]
    res = [decimal_resolution(X[:, j]) for j in range(p)]
    ok = [j for j in range(p) if res[j] is not None and np.unique(X[:, j]).size > 1]
    if d > len(ok):
        raise InputError(f"{name} has {len(ok)} columns with a decimal resolution, "
                         f"fewer than d={d}")
    # the d columns with the most distinct values (ties: the first), in their original order
    distinct = {j: np.unique(X[:, j]).size for j in ok}
    cols = sorted(sorted(ok, key=lambda j: (-distinct[j], j))[:d])
    out = np.empty((len(rows), d))
    columns = []
    for t, j in enumerate(cols):
        out[:, t] = np.round(X[rows, j] * 10.0**res[j])
        columns.append(f"{names[j]} (x10^{res[j]})" if res[j] else names[j])
    desc = (f"{name}: raw columns {', '.join(columns)} as exact integers, rows drawn with "
            f"seed {seed}")
    return out, desc, columns


def make_real(name, n, d, *, form=None, seed=0):
    """``n`` rows and ``d`` columns of a real dataset in the given form (default ``"float"``).

    ``n`` more than the dataset's rows is refused (see :func:`real_size`).
    """
    form = "float" if form is None else form
    X, y, _ = _load_real(name)
    N = X.shape[0]
    if n > N:
        raise InputError(f"n={n} is more than the {N} rows of the dataset")
    rows = subsample_rows(N, n, seed)
    if form == "float":
        Xf, desc, columns = _float_form(name, rows, d, seed)
    elif form == "decimal":
        Xf, desc, columns = _decimal_form(name, rows, d, seed)
    else:
        raise InputError(f"form must be one of {REAL_FORMS} for real data, got {form!r}")
    return Dataset(X=np.ascontiguousarray(Xf, np.float64), y=y[rows], name=name, task=None,
                   description=desc, form=form, columns=columns)
