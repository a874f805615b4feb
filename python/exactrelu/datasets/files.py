"""Numeric CSV files as datasets: every column but the last is X, the last is y."""

from __future__ import annotations

import csv

import numpy as np

from .._validation import as_data_matrix, as_target_vector
from ..errors import InputError, NotSupportedError
from .base import Dataset

__all__ = ["load_csv"]


def _is_number(s):
    try:
        float(s)
        return True
    except ValueError:
        return False


def _read_rows(path, delimiter):
    """The non-empty, non-comment rows of the file, split into stripped fields."""
    with open(path, newline="") as fh:
        text = fh.read()
    lines = [ln for ln in text.splitlines() if ln.strip() and not ln.lstrip().startswith("#")]
    if not lines:
        raise InputError(f"{path}: no data rows")
    if delimiter is None:
        delimiter = next((c for c in (",", ";", "\t") if c in lines[0]), None)
    rows = []
    for ln in lines:
        parts = ln.split() if delimiter is None else next(csv.reader([ln], delimiter=delimiter))
        rows.append([p.strip() for p in parts])
    return rows


def _numeric_table(path, rows):
    """``(header or None, float array)``; the header is a first row not all numeric."""
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
    return header, np.array([[float(v) for v in r] for r in rows])


def load_csv(path, *, delimiter=None, task=None):
    """Load a numeric CSV file: every column but the last is X, the last is y.

    A first row that is not entirely numeric is taken as a header. The
    delimiter is sniffed (comma, semicolon, tab, whitespace) unless given.
    ``task`` defaults to "classification" when y takes exactly two values (then
    mapped to -1 / +1: the smaller value to -1), else "regression".
    """
    header, data = _numeric_table(path, _read_rows(path, delimiter))
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
    desc = f"CSV {path}" + (f" (columns {', '.join(header)})" if header else "")
    return Dataset(X=X, y=y, name=str(path), task=task, description=desc)
