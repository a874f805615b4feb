"""Datasets: the one :class:`Dataset` type and every loader of the package.

- Synthetic 1-D and 2-D generators (:func:`make_dataset`): regression sets and
  +-1 classification sets, reproducible from a seed.
- CSV files (:func:`load_csv`): numeric columns, the last column is the target.
- scikit-learn's bundled datasets (when scikit-learn is installed): ``iris``,
  ``wine``, ``breast_cancer`` (classification, labels mapped to +-1, one class
  against the rest), ``diabetes`` and ``linnerud`` (regression).
- The inputs of the size study (:func:`make_data`): synthetic sources (Gaussian and
  degenerate, :mod:`~exactrelu.datasets.synthetic`) and real data in its ``float``
  and exact ``decimal`` forms (:mod:`~exactrelu.datasets.real`).

:func:`load_dataset` resolves a name to a :class:`Dataset`; ``list_datasets()``
lists the names. Only numpy is needed at import time.
"""

from __future__ import annotations

import numpy as np

from ..errors import InputError
from .base import Dataset, check_count, standardize, subsample_rows
from .files import load_csv
from .real import (
    REAL_FORMS,
    REAL_SOURCES,
    SKLEARN,
    decimal_resolution,
    load_sklearn,
    make_real,
    real_size,
)
from .synthetic import SYNTHETIC, SYNTHETIC_FORM, SYNTHETIC_SOURCES, make_dataset, make_synthetic

__all__ = [
    "Dataset",
    "SYNTHETIC",
    "SKLEARN",
    "SYNTHETIC_SOURCES",
    "SYNTHETIC_FORM",
    "REAL_SOURCES",
    "REAL_FORMS",
    "list_datasets",
    "make_dataset",
    "load_csv",
    "load_sklearn",
    "load_dataset",
    "standardize",
    "subsample_rows",
    "make_data",
    "decimal_resolution",
    "real_size",
]


def list_datasets():
    """Names accepted by :func:`load_dataset` (scikit-learn ones only when installed)."""
    names = sorted(SYNTHETIC)
    try:
        import sklearn  # noqa: F401
    except ImportError:
        return names
    return names + sorted(SKLEARN)


def load_dataset(name, *, n=None, noise=0.1, seed=0, features=None, standardize_X=None,
                 scale_y=None):
    """Resolve a dataset by name: synthetic, a scikit-learn set, or a CSV path.

    Parameters
    ----------
    name : str
        A ``SYNTHETIC`` or ``SKLEARN`` name, or a path ending in ``.csv``
        (also ``.txt``/``.tsv``).
    n : int, optional
        Synthetic: the sample count (default 20). Real data: a random subsample
        of this size (default: all rows).
    noise, seed : float, int
        Synthetic noise level; the seed for generation and subsampling.
    features : sequence of int, optional
        Keep only these columns of X (real data).
    standardize_X : bool, optional
        Standardize the columns of X; default True for scikit-learn data,
        False otherwise.
    scale_y : bool, optional
        For regression, standardize y too; default True for scikit-learn data.
    """
    if name in SYNTHETIC:
        ds = make_dataset(name, n=20 if n is None else n, noise=noise, seed=seed)
        real = False
    elif name in SKLEARN:
        ds = load_sklearn(name)
        real = True
    elif str(name).lower().endswith((".csv", ".txt", ".tsv")):
        ds = load_csv(name)
        real = True
    else:
        raise InputError(
            f"unknown dataset {name!r}: use one of {list_datasets()} or a .csv path"
        )
    X, y = ds.X, ds.y
    if real and features is not None:
        idx = [int(i) for i in features]
        if any(i < -X.shape[1] or i >= X.shape[1] for i in idx):
            raise InputError(f"features {idx} out of range for {X.shape[1]} columns")
        X = X[:, idx]
    if real and n is not None:
        if isinstance(n, bool) or int(n) < 2:
            raise InputError(f"n must be an int >= 2, got {n!r}")
        if int(n) < X.shape[0]:
            rows = subsample_rows(X.shape[0], int(n), seed)
            X, y = X[rows], y[rows]
    std_default = name in SKLEARN
    if standardize_X if standardize_X is not None else std_default:
        X = standardize(X)
    if ds.task == "regression" and (scale_y if scale_y is not None else std_default):
        y = standardize(y[:, None])[:, 0]
    return Dataset(X=np.ascontiguousarray(X), y=np.ascontiguousarray(y), name=ds.name,
                   task=ds.task, description=ds.description)


def make_data(source, n, d, *, form=None, seed=0):
    """Build one dataset of the size study (:mod:`exactrelu.studies.sizes`).

    Parameters
    ----------
    source : str
        One of :data:`SYNTHETIC_SOURCES` or :data:`REAL_SOURCES`.
    n, d : int
        Rows and columns. Real datasets have at most their own rows (``n`` larger
        than that is refused: see :func:`real_size`).
    form : str, optional
        ``"float"`` or ``"decimal"`` for real data (default ``"float"``); fixed for
        the synthetic sources.
    seed : int

    Returns
    -------
    Dataset

    Examples
    --------
    >>> ds = make_data("grid", 9, 2)
    >>> ds.form, ds.X.tolist()[:3]
    ('integer', [[0.0, 0.0], [0.0, 1.0], [0.0, 2.0]])
    """
    n, d = check_count(n, "n"), check_count(d, "d")
    if source in SYNTHETIC_SOURCES:
        return make_synthetic(source, n, d, form=form, seed=seed)
    if source in REAL_SOURCES:
        return make_real(source, n, d, form=form, seed=seed)
    raise InputError(f"unknown source {source!r}; known: {SYNTHETIC_SOURCES + REAL_SOURCES}")
