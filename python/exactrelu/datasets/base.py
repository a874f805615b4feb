"""The one dataset type of the package, and the checks its loaders share."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..errors import InputError

__all__ = ["Dataset", "standardize", "subsample_rows"]


@dataclass
class Dataset:
    """A dataset ready for :func:`exactrelu.solve`, :func:`exactrelu.compare` or the
    size study (:mod:`exactrelu.studies.sizes`).

    Attributes
    ----------
    X : ndarray, shape (n, d)
    y : ndarray, shape (n,), or None
        Real targets (regression) or labels in {-1, +1} (classification); None
        for the synthetic inputs of the size study, which have no target.
    name : str
        The dataset's name (a built-in name, a scikit-learn name or a CSV path);
        the size study calls it the *source*.
    task : {"regression", "classification"} or None
        None for the datasets of the size study (they are only inputs).
    description : str
        How the rows were made (columns and resolutions for the decimal form).
    form : str
        How the values were made, for the size study: ``"float"``, ``"integer"`` or
        ``"decimal"`` (see :func:`exactrelu.datasets.make_data`).
    columns : list of str
        Names of the columns, where known.
    """

    X: np.ndarray
    y: np.ndarray | None
    name: str
    task: str | None = "regression"
    description: str = ""
    form: str = "float"
    columns: list = field(default_factory=list)

    @property
    def source(self):
        """The name, as the size study calls it."""
        return self.name

    @property
    def loss(self):
        """The natural loss for the task ("squared" or "hinge")."""
        return "hinge" if self.task == "classification" else "squared"

    @property
    def n(self):
        """Number of rows (samples)."""
        return self.X.shape[0]

    @property
    def d(self):
        """Number of columns (features)."""
        return self.X.shape[1]


def standardize(X):
    """Columns to zero mean and unit standard deviation (constant columns centered only)."""
    X = np.asarray(X, dtype=float)
    sd = X.std(axis=0)
    return (X - X.mean(axis=0)) / np.where(sd > 0, sd, 1.0)


def subsample_rows(N, n, seed):
    """Indices of ``n`` of ``N`` rows drawn without replacement with ``seed``, sorted
    (all rows when ``n >= N``)."""
    if n >= N:
        return np.arange(N)
    return np.sort(np.random.default_rng(seed).choice(N, size=n, replace=False))


def check_count(v, name, minimum=1):
    """``v`` as an int if it is an int (not a bool) of at least ``minimum``."""
    if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < minimum:
        kind = "a positive int" if minimum == 1 else f"an int >= {minimum}"
        raise InputError(f"{name} must be {kind}, got {v!r}")
    return int(v)
