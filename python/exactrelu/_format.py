"""Number formatting shared by the text tables of the studies."""

from __future__ import annotations

import math

__all__ = ["fmt_num", "fmt_gap", "fmt_int"]


def fmt_num(v, spec=".6g", none="-"):
    """``v`` formatted with ``spec``; ``none`` for None and "nan" for NaN."""
    if v is None:
        return none
    if isinstance(v, float) and math.isnan(v):
        return "nan"
    return format(v, spec)


def fmt_gap(g):
    """A relative gap as a percentage ("0" below 1e-9, "-" for None)."""
    if g is None:
        return "-"
    if abs(g) < 1e-9:
        return "0"
    return f"{100 * g:.3g}%"


def fmt_int(v):
    """An exact count with thousands separators ("-" for None; scientific from 1e12)."""
    if v is None:
        return "-"
    return f"{v:,}" if v < 10**12 else f"{v:.3e}"
