"""Input validation shared by the public functions (never ``assert``)."""

from __future__ import annotations

import os

import numpy as np

from .errors import InputError, NonFiniteError, ShapeError


def as_data_matrix(X, name="X", *, min_rows=1):
    """Return X as a C-contiguous float64 2-D array, or raise a named error.

    Accepts anything numpy can convert to a real 2-D array (lists, ints, bools,
    float32). Complex, object and string arrays are refused.
    """
    try:
        arr = np.asarray(X)
    except Exception as exc:  # pragma: no cover - exotic inputs
        raise InputError(f"{name} must be array-like, got {type(X).__name__}: {exc}") from None
    if arr.dtype.kind not in "biuf":
        raise InputError(
            f"{name} must hold real numbers (bool, int or float), got dtype {arr.dtype}"
        )
    if arr.ndim != 2:
        raise ShapeError(f"{name} must be 2-D (n_samples, n_features), got shape {arr.shape}")
    if arr.shape[0] < min_rows:
        raise ShapeError(f"{name} must have at least {min_rows} row(s), got shape {arr.shape}")
    if arr.shape[1] < 1:
        raise ShapeError(f"{name} must have at least one column, got shape {arr.shape}")
    arr = np.ascontiguousarray(arr, dtype=np.float64)
    if not np.all(np.isfinite(arr)):
        bad = np.argwhere(~np.isfinite(arr))[0]
        raise NonFiniteError(
            f"{name} must be finite; found {arr[tuple(bad)]} at row {bad[0]}, column {bad[1]}"
        )
    return arr


def as_target_vector(y, n, name="y"):
    """Return y as a float64 vector of length n, or raise a named error."""
    arr = np.asarray(y)
    if arr.dtype.kind not in "biuf":
        raise InputError(f"{name} must hold real numbers, got dtype {arr.dtype}")
    if arr.ndim == 2 and arr.shape[1] == 1:
        arr = arr[:, 0]
    if arr.ndim != 1:
        raise ShapeError(f"{name} must be 1-D of length {n}, got shape {arr.shape}")
    if arr.shape[0] != n:
        raise ShapeError(f"{name} must have length {n} (the rows of X), got {arr.shape[0]}")
    arr = np.ascontiguousarray(arr, dtype=np.float64)
    if not np.all(np.isfinite(arr)):
        i = int(np.argwhere(~np.isfinite(arr))[0][0])
        raise NonFiniteError(f"{name} must be finite; found {arr[i]} at index {i}")
    return arr


def lift(X, bias):
    """Append the constant column when ``bias`` is true: x~ = (x, 1)."""
    if bias:
        return np.ascontiguousarray(np.hstack([X, np.ones((X.shape[0], 1))]))
    return X


def resolve_threads(threads):
    """Validate ``threads`` (None means all cores) and return a positive int."""
    if threads is None:
        return max(1, os.cpu_count() or 1)
    if isinstance(threads, (bool, np.bool_)) or not isinstance(threads, (int, np.integer)):
        raise InputError(f"threads must be a positive int or None, got {threads!r}")
    if threads < 1:
        raise InputError(f"threads must be >= 1, got {threads}")
    return int(threads)


def resolve_limit(value, name):
    """Validate an optional positive integer limit (None means no explicit limit)."""
    if value is None:
        return -1
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
        raise InputError(f"{name} must be a positive int or None, got {value!r}")
    if value < 0:
        raise InputError(f"{name} must be >= 0, got {value}")
    return int(value)
