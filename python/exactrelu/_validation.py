"""Input validation shared by the public functions (never ``assert``).

Whatever cannot be represented exactly is refused with a named error rather than
reinterpreted: masked entries, integers beyond 2^53 (float64 would round them),
strings where numbers are expected, non-bool flags, out-of-range counts.
"""

from __future__ import annotations

import numbers
import os

import numpy as np

from .errors import InputError, NonFiniteError, ShapeError

#: Integers up to this magnitude are exact in float64; beyond it neighbours collide.
EXACT_INT_LIMIT = 2**53
#: Upper bound of ``threads`` (the C++ core takes a 32-bit count; more is a mistake).
MAX_THREADS = 4096
#: Upper bound of size limits such as ``max_rays`` (they are 64-bit counts in C++).
MAX_LIMIT = 2**62


def _as_array(X, name):
    """``np.asarray`` that refuses masked entries instead of silently dropping the mask."""
    if np.ma.isMaskedArray(X):
        n_masked = int(np.ma.count_masked(X))
        if n_masked:
            raise InputError(
                f"{name} is a masked array with {n_masked} masked entries; exactrelu does not "
                f"ignore masks: drop those rows or fill them ({name}.filled(value))")
        X = np.ma.getdata(X)
    try:
        return np.asarray(X)
    except Exception as exc:  # pragma: no cover - exotic inputs
        raise InputError(f"{name} must be array-like, got {type(X).__name__}: {exc}") from None


def _check_exact_ints(arr, name):
    """Integers beyond 2^53 would be rounded to equal doubles: refuse them."""
    if arr.dtype.kind not in "iu" or arr.size == 0:
        return
    big = arr > EXACT_INT_LIMIT
    if arr.dtype.kind == "i":
        big |= arr < -EXACT_INT_LIMIT
    if np.any(big):
        idx = tuple(int(i) for i in np.argwhere(big)[0])
        raise InputError(
            f"{name} holds the integer {arr[idx]} at index {idx}, beyond 2^53: float64 "
            f"cannot represent it exactly (distinct values would become equal); rescale "
            f"the data or pass floats")


def as_data_matrix(X, name="X", *, min_rows=1):
    """Return X as a C-contiguous float64 2-D array, or raise a named error.

    Accepts anything numpy can convert to a real 2-D array (lists, ints, bools,
    float32). Complex, object and string arrays are refused.
    """
    arr = _as_array(X, name)
    if arr.dtype.kind not in "biuf":
        raise InputError(
            f"{name} must hold real numbers (bool, int or float), got dtype {arr.dtype}"
        )
    _check_exact_ints(arr, name)
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
    arr = _as_array(y, name)
    if arr.dtype.kind not in "biuf":
        raise InputError(f"{name} must hold real numbers, got dtype {arr.dtype}")
    _check_exact_ints(arr, name)
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


def as_target_matrix(y, n, k=None, name="y"):
    """Return y as a float64 array of shape (n, k) (k outputs), or raise a named error.

    A 1-D y of length n is taken as one output; ``k`` (optional) is the number of
    outputs expected.
    """
    arr = _as_array(y, name)
    if arr.dtype.kind not in "biuf":
        raise InputError(f"{name} must hold real numbers, got dtype {arr.dtype}")
    _check_exact_ints(arr, name)
    if arr.ndim == 1:
        arr = arr[:, None]
    if arr.ndim != 2 or arr.shape[0] != n:
        raise ShapeError(f"{name} must have shape ({n}, k) (a row per row of X), got shape "
                         f"{arr.shape}")
    if arr.shape[1] == 0:
        raise ShapeError(f"{name} must have at least one column (output), got shape "
                         f"{arr.shape}")
    if k is not None and arr.shape[1] != k:
        raise ShapeError(f"{name} must have {k} columns (one per output), got shape "
                         f"{arr.shape}")
    arr = np.ascontiguousarray(arr, dtype=np.float64)
    if not np.all(np.isfinite(arr)):
        i, j = (int(v) for v in np.argwhere(~np.isfinite(arr))[0])
        raise NonFiniteError(f"{name} must be finite; found {arr[i, j]} at [{i}, {j}]")
    return arr


def as_targets(y, n, name="y"):
    """A 1-D target vector (one output, also from shape (n, 1)) or a 2-D target matrix
    (n, k) with k >= 2 outputs."""
    arr = _as_array(y, name)
    if arr.ndim == 2 and arr.shape[1] >= 2:
        return as_target_matrix(arr, n, name=name)
    return as_target_vector(arr, n, name)


def lift(X, bias):
    """Append the constant column when ``bias`` is true: x~ = (x, 1)."""
    if bias:
        return np.ascontiguousarray(np.hstack([X, np.ones((X.shape[0], 1))]))
    return X


def check_flag(value, name):
    """A yes/no option: ``True`` or ``False`` (numpy bools too), nothing else."""
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    raise InputError(f"{name} must be True or False, got {value!r}")


def check_int(value, name, *, low, high, none_ok=True):
    """An integer in ``[low, high]`` (``None`` passes through when ``none_ok``)."""
    if value is None and none_ok:
        return None
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
        raise InputError(f"{name} must be an int{' or None' if none_ok else ''}, got {value!r}")
    if not low <= value <= high:
        raise InputError(f"{name} must be between {low:,} and {high:,}, got {value:,}")
    return int(value)


def check_number(value, name, *, positive=True):
    """A real number (Python or numpy, or a 0-d array), finite, and > 0 when
    ``positive``; strings and bools are refused, not converted."""
    if isinstance(value, np.ndarray) and value.ndim == 0 and value.dtype.kind in "iuf":
        value = value.item()
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise InputError(f"{name} must be a {'positive ' if positive else ''}number, "
                         f"got {value!r}")
    v = float(value)
    if not np.isfinite(v) or (positive and v <= 0):
        raise InputError(f"{name} must be {'positive and ' if positive else ''}finite, "
                         f"got {value!r}")
    return v


def resolve_threads(threads):
    """Validate ``threads`` (None means all cores) and return a positive int."""
    if threads is None:
        return max(1, os.cpu_count() or 1)
    return check_int(threads, "threads", low=1, high=MAX_THREADS)


def resolve_limit(value, name):
    """Validate an optional positive integer limit (None means no explicit limit)."""
    if value is None:
        return -1
    return check_int(value, name, low=0, high=MAX_LIMIT)
