"""Small datasets for comparisons and examples.

- Synthetic 1-D and 2-D generators (:func:`make_dataset`): regression sets and
  +-1 classification sets, reproducible from a seed.
- CSV files (:func:`load_csv`): numeric columns, the last column is the target.
- scikit-learn's bundled datasets (when scikit-learn is installed): ``iris``,
  ``wine``, ``breast_cancer`` (classification, labels mapped to +-1, one class
  against the rest), ``diabetes`` and ``linnerud`` (regression).

:func:`load_dataset` resolves a name to a :class:`Dataset`; ``list_datasets()``
lists the names. Only numpy is needed at import time.
"""

from __future__ import annotations

import csv
import math
from dataclasses import dataclass

import numpy as np

from ._validation import as_data_matrix, as_target_vector
from .errors import InputError, NotSupportedError

__all__ = [
    "Dataset",
    "SYNTHETIC",
    "SKLEARN",
    "list_datasets",
    "make_dataset",
    "load_csv",
    "load_sklearn",
    "load_dataset",
    "standardize",
]


@dataclass
class Dataset:
    """A dataset ready for :func:`exactrelu.solve` / :func:`exactrelu.compare`.

    Attributes
    ----------
    X : ndarray, shape (n, d)
    y : ndarray, shape (n,)
        Real targets (regression) or labels in {-1, +1} (classification).
    name : str
    task : {"regression", "classification"}
    loss : str
        The natural loss for the task ("squared" or "hinge").
    description : str
    """

    X: np.ndarray
    y: np.ndarray
    name: str
    task: str
    description: str = ""

    @property
    def loss(self):
        return "hinge" if self.task == "classification" else "squared"

    @property
    def n(self):
        return self.X.shape[0]

    @property
    def d(self):
        return self.X.shape[1]


# --------------------------------------------------------------------------- synthetic
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
    f = np.sin(4.0 * X[:, 0]) + noise * rng.standard_normal(n)
    return X, np.where(f >= 0, 1.0, -1.0), "classification"


def _bumps2d(rng, n, noise):
    X = _unit(rng, n, 2)
    f = np.sin(2.5 * X[:, 0]) * np.cos(2.0 * X[:, 1]) + 0.5 * X[:, 1]
    return X, f + noise * rng.standard_normal(n), "regression"


def _teacher2d(rng, n, noise):
    X = _unit(rng, n, 2)
    return X, _teacher(rng, X, 4) + noise * rng.standard_normal(n), "regression"


def _xor2d(rng, n, noise):
    X = _unit(rng, n, 2)
    f = X[:, 0] * X[:, 1] + noise * rng.standard_normal(n)
    return X, np.where(f >= 0, 1.0, -1.0), "classification"


def _circle2d(rng, n, noise):
    X = _unit(rng, n, 2)
    f = 0.55 - np.sqrt(np.sum(X * X, axis=1)) + noise * rng.standard_normal(n)
    return X, np.where(f >= 0, 1.0, -1.0), "classification"


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
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 2:
        raise InputError(f"n must be an int >= 2, got {n!r}")
    noise = float(noise)
    if not (noise >= 0 and math.isfinite(noise)):
        raise InputError(f"noise must be a finite number >= 0, got {noise!r}")
    gen, desc = SYNTHETIC[name]
    rng = np.random.default_rng(seed)
    X, y, task = gen(rng, int(n), noise)
    return Dataset(X=np.ascontiguousarray(X), y=np.ascontiguousarray(y), name=name, task=task,
                   description=desc)


# --------------------------------------------------------------------------- CSV
def _is_number(s):
    try:
        float(s)
        return True
    except ValueError:
        return False


def load_csv(path, *, delimiter=None, task=None):
    """Load a numeric CSV file: every column but the last is X, the last is y.

    A first row that is not entirely numeric is taken as a header. The
    delimiter is sniffed (comma, semicolon, tab, whitespace) unless given.
    ``task`` defaults to "classification" when y takes exactly two values (then
    mapped to -1 / +1: the smaller value to -1), else "regression".
    """
    with open(path, newline="") as fh:
        text = fh.read()
    lines = [ln for ln in text.splitlines() if ln.strip() and not ln.lstrip().startswith("#")]
    if not lines:
        raise InputError(f"{path}: no data rows")
    if delimiter is None:
        first = lines[0]
        for cand in (",", ";", "\t"):
            if cand in first:
                delimiter = cand
                break
    rows = []
    for ln in lines:
        parts = ln.split() if delimiter is None else next(csv.reader([ln], delimiter=delimiter))
        rows.append([p.strip() for p in parts])
    header = None
    if not all(_is_number(v) for v in rows[0]):
        header, rows = rows[0], rows[1:]
    if not rows:
        raise InputError(f"{path}: a header but no data rows")
    width = len(rows[0])
    if width < 2:
        raise InputError(f"{path}: need at least two columns (features, then the target)")
    for i, r in enumerate(rows):
        if len(r) != width:
            raise InputError(f"{path}: row {i + 1} has {len(r)} columns, expected {width}")
        bad = [v for v in r if not _is_number(v)]
        if bad:
            raise InputError(f"{path}: row {i + 1} has a non-numeric value {bad[0]!r}")
    data = np.array([[float(v) for v in r] for r in rows])
    X = as_data_matrix(data[:, :-1])
    y = as_target_vector(data[:, -1], X.shape[0])
    vals = np.unique(y)
    if task is None:
        task = "classification" if vals.size == 2 else "regression"
    if task == "classification":
        if vals.size != 2:
            raise NotSupportedError(
                f"{path}: classification needs exactly two label values, found {vals.size}"
            )
        y = np.where(y == vals[1], 1.0, -1.0)
    name = str(path)
    desc = f"CSV {path}" + (f" (columns {', '.join(header)})" if header else "")
    return Dataset(X=X, y=y, name=name, task=task, description=desc)


# --------------------------------------------------------------------------- sklearn
#: name -> (loader name, task, positive class for one-vs-rest, description)
SKLEARN = {
    "iris": ("load_iris", "classification", 1, "iris, versicolor (+1) vs the rest"),
    "wine": ("load_wine", "classification", 0, "wine, class 0 (+1) vs the rest"),
    "breast_cancer": ("load_breast_cancer", "classification", 1, "breast cancer, benign (+1)"),
    "diabetes": ("load_diabetes", "regression", None, "diabetes progression (regression)"),
    "linnerud": ("load_linnerud", "regression", None, "linnerud exercise -> weight (regression)"),
}


def load_sklearn(name):
    """Load one of scikit-learn's bundled datasets (no download) as a Dataset.

    Classification sets become binary: the class in ``SKLEARN`` is +1, the rest
    -1. The features are returned as stored (see :func:`standardize`).
    """
    if name not in SKLEARN:
        raise InputError(f"unknown scikit-learn dataset {name!r}; choose from {sorted(SKLEARN)}")
    try:
        import sklearn.datasets as skd
    except ImportError:
        raise NotSupportedError(
            f"dataset {name!r} needs scikit-learn (pip install exactrelu[sklearn])"
        ) from None
    loader, task, pos, desc = SKLEARN[name]
    bunch = getattr(skd, loader)()
    X = np.asarray(bunch.data, dtype=float)
    target = np.asarray(bunch.target, dtype=float)
    if target.ndim == 2:  # linnerud: first physiological target (weight)
        target = target[:, 0]
    if task == "classification":
        y = np.where(target == pos, 1.0, -1.0)
    else:
        y = target
    return Dataset(X=np.ascontiguousarray(X), y=np.ascontiguousarray(y), name=name, task=task,
                   description=desc)


def standardize(X):
    """Columns to zero mean and unit standard deviation (constant columns centered only)."""
    X = np.asarray(X, dtype=float)
    sd = X.std(axis=0)
    return (X - X.mean(axis=0)) / np.where(sd > 0, sd, 1.0)


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
            rows = np.sort(np.random.default_rng(seed).choice(X.shape[0], int(n), replace=False))
            X, y = X[rows], y[rows]
    std_default = name in SKLEARN
    if standardize_X if standardize_X is not None else std_default:
        X = standardize(X)
    if ds.task == "regression" and (scale_y if scale_y is not None else std_default):
        y = standardize(y[:, None])[:, 0]
    return Dataset(X=np.ascontiguousarray(X), y=np.ascontiguousarray(y), name=ds.name,
                   task=ds.task, description=ds.description)
