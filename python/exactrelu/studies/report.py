"""The results of the size study: rows, the sweep's result, its summary and its tables."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass

import numpy as np

from .._format import fmt_int
from ..arrangement import cover_count
from ..datasets import REAL_FORMS, REAL_SOURCES, SYNTHETIC_SOURCES

__all__ = ["SizeRow", "SweepResult", "load", "summarize", "format_table", "format_price"]


@dataclass
class SizeRow:
    """One row of the size table (see :mod:`exactrelu.studies.sizes` for the columns)."""

    source: str
    form: str
    n: int
    d: int
    bias: bool
    rank: int
    n_hyperplanes: int
    cells: int | None
    cover: int
    ratio: float | None
    cover_general: int
    rays: int | None
    rays_bound: int
    enumerated: bool
    enum_seconds: float | None
    count_seconds: float | None
    note: str = ""
    description: str = ""
    zero_bias_cells: int | None = None
    coverage: dict | None = None
    coverage_zero_bias: dict | None = None

    @classmethod
    def unmeasured(cls, ds, bias, info, note=""):
        """The row of a dataset before any count: rank, hyperplanes and bounds only."""
        return cls(ds.source, ds.form, ds.n, ds.d, bool(bias), info.rank, info.n_hyperplanes,
                   None, info.cells_bound, None, cover_count(ds.n, ds.d + int(bool(bias))), None,
                   info.rays_bound, False, None, None, note=note, description=ds.description)

    def to_dict(self):
        return asdict(self)


@dataclass
class SweepResult:
    """Rows of the size table, the price-of-sampling rows and the run's facts."""

    rows: list
    price: list
    config: dict
    meta: dict

    def to_dict(self):
        return {"meta": self.meta, "config": self.config,
                "rows": [r.to_dict() for r in self.rows], "price": self.price,
                "summary": summarize(self)}

    def save(self, path):
        """Write :meth:`to_dict` as JSON (read it back with :func:`load`)."""
        with open(path, "w") as fh:
            json.dump(self.to_dict(), fh, indent=1, default=_json_default)


def load(path):
    """Read a sweep written with ``--json`` back into a :class:`SweepResult`."""
    with open(path) as fh:
        data = json.load(fh)
    rows = [SizeRow(**r) for r in data["rows"]]
    return SweepResult(rows, data.get("price", []), data.get("config", {}), data.get("meta", {}))


def summarize(result):
    """Headline numbers of a sweep (a dict; see the README section)."""
    rows = result.rows
    s = {}
    for form in ("float", "decimal", "integer"):
        rs = [r for r in rows if r.ratio is not None and r.form == form
              and r.source in REAL_SOURCES + ("grid", "subspace", "duplicated")]
        for src_kind, pick in (("real", REAL_SOURCES), ("synthetic", SYNTHETIC_SOURCES)):
            sel = [r for r in rs if r.source in pick]
            if sel:
                ratios = np.array([r.ratio for r in sel])
                nominal = np.array([r.cells / r.cover_general for r in sel])
                s[f"{src_kind}/{form}"] = {
                    "rows": len(sel),
                    "ratio_to_cover_median": float(np.median(ratios)),
                    "ratio_to_cover_min": float(ratios.min()),
                    "ratio_to_nominal_cover_median": float(np.median(nominal)),
                    "ratio_to_nominal_cover_min": float(nominal.min()),
                }
    g = [r for r in rows if r.source == "gaussian" and r.ratio is not None]
    s["gaussian_rows_equal_to_cover"] = f"{sum(r.cells == r.cover for r in g)}/{len(g)}"
    # pairs float/decimal of the same real dataset and shape
    key = {(r.source, r.form, r.n, r.d, r.bias): r for r in rows}
    pairs = []
    for (src, form, n, d, b), r in key.items():
        if form == "decimal" and r.cells:
            f = key.get((src, "float", n, d, b))
            if f is not None and f.cells:
                pairs.append(r.cells / f.cells)
    if pairs:
        s["decimal_over_float_cells_median"] = float(np.median(pairs))
        s["decimal_over_float_cells_min"] = float(np.min(pairs))
    cov = [r for r in rows if r.coverage]
    if cov:
        reached = [r for r in cov if r.coverage["m99"] is not None]
        s["coverage_rows"] = len(cov)
        s["coverage_m99_reached"] = len(reached)
        if reached:
            ratio = [r.coverage["m99"] / r.cells for r in reached]
            s["m99_over_cells_median"] = float(np.median(ratio))
            s["m99_over_cells_max"] = float(np.max(ratio))
        zb = [r for r in cov if r.zero_bias_cells is not None and r.cells]
        if zb:
            caps = [r.zero_bias_cells / r.cells for r in zb]
            s["zero_bias_cap_median"] = float(np.median(caps))
            s["zero_bias_cap_max"] = float(np.max(caps))
    # per real dataset, with bias, d = 2: the largest counted n in each form
    per = {}
    for src in REAL_SOURCES:
        for form in REAL_FORMS:
            sel = [r for r in rows if r.source == src and r.form == form and r.d == 2 and r.bias
                   and r.cells]
            if sel:
                r = max(sel, key=lambda r: r.n)
                per[f"{src}/{form}"] = {"n": r.n, "distinct": r.n_hyperplanes, "cells": r.cells,
                                        "bound": r.cover, "cover_n": r.cover_general,
                                        "ratio": r.ratio, "ratio_n": r.cells / r.cover_general}
    if per:
        s["real_d2_largest_n"] = per
    # coverage after all gates, with bias, d = 2, n = 100 (or the largest n with coverage)
    cov2 = {}
    for r in rows:
        if r.coverage and r.d == 2 and r.bias:
            k = f"{r.source}/{r.form}"
            if k not in cov2 or r.n > cov2[k]["n"]:
                cov2[k] = {"n": r.n, "cells": r.cells, "gates": r.coverage["m_max"],
                           "found": r.coverage["found"] / r.cells,
                           "m90": r.coverage["m90"], "m99": r.coverage["m99"],
                           "zero_bias_cap": (r.zero_bias_cells / r.cells
                                             if r.zero_bias_cells is not None else None)}
    if cov2:
        s["coverage_d2_largest_n"] = cov2
    pr = [p for p in result.price if "rel_gap" in p]
    if pr:
        by = {}
        for p in pr:
            if p.get("m") is None:
                continue
            by.setdefault(p["m"], []).append(p)
        s["price"] = {
            str(m): {
                "infeasible": sum(p["status"] == "infeasible" for p in ps),
                "median_rel_gap": (float(np.median([p["rel_gap"] for p in ps
                                                    if p["rel_gap"] is not None]))
                                   if any(p["rel_gap"] is not None for p in ps) else None),
                "max_rel_gap": (float(np.max([p["rel_gap"] for p in ps
                                              if p["rel_gap"] is not None]))
                                if any(p["rel_gap"] is not None for p in ps) else None),
                "runs": len(ps),
            }
            for m, ps in sorted(by.items())
        }
        allc = [p for p in pr if p.get("m") is None and p["rel_gap"] is not None]
        if allc:
            s["all_cells_max_abs_rel_gap"] = float(np.max(np.abs([p["rel_gap"] for p in allc])))
    return s


def format_table(rows):
    """The size table as fixed-width text."""
    head = ["source", "form", "n", "d", "bias", "rank", "hyp", "cells", "Cover", "ratio",
            "rays", "enum s", "cov@1e3", "m99", "b=0 max"]
    lines = []
    for r in rows:
        cov = r.coverage
        c1e3, m99 = "-", "-"
        if cov:
            ms, fr = cov["m"], cov["fraction"]
            if 1000 in ms:
                c1e3 = f"{fr[ms.index(1000)]:.3f}"
            elif ms and ms[-1] < 1000:
                c1e3 = f"{fr[-1]:.3f}"
            m99 = f"{cov['m99']:,}" if cov["m99"] is not None else f">{cov['m_max']:,}"
        cap = "-"
        if r.zero_bias_cells is not None and r.cells:
            cap = f"{r.zero_bias_cells / r.cells:.3f}"
        if r.cells is None:
            enum = "-"
        elif r.enumerated:
            enum = f"{r.enum_seconds:.3f}"
        else:
            enum = "count"
        lines.append([r.source, r.form, str(r.n), str(r.d), "yes" if r.bias else "no",
                      str(r.rank), str(r.n_hyperplanes), fmt_int(r.cells), fmt_int(r.cover),
                      "-" if r.ratio is None else f"{r.ratio:.4f}", fmt_int(r.rays), enum,
                      c1e3, m99, cap])
    widths = [max(len(h), *(len(l[i]) for l in lines)) if lines else len(h)
              for i, h in enumerate(head)]
    left = {0, 1}
    def fmt(cols):
        return "  ".join(c.ljust(w) if i in left else c.rjust(w)
                         for i, (c, w) in enumerate(zip(cols, widths)))
    out = [fmt(head), fmt(["-" * w for w in widths])]
    out += [fmt(l) for l in lines]
    return "\n".join(out)


def format_price(price):
    """The price-of-sampling rows as text."""
    if not price:
        return ""
    lines = ["source      form     n  d  loss         m      patterns  coverage  objective     "
             "optimum       rel.gap     status"]
    for p in price:
        if "optimum" not in p:
            lines.append(f"{p.get('source', '')} {p.get('n', '')} {p.get('d', '')} "
                         f"{p.get('loss', '')}: {p['status']}")
            continue
        obj = "-" if p["objective"] is None else f"{p['objective']:.6g}"
        gap = "-" if p["rel_gap"] is None else f"{p['rel_gap']:.3e}"
        cov = "-" if p["coverage"] is None else f"{p['coverage']:.3f}"
        m = "all cells" if p["m"] is None else str(p["m"])
        lines.append(f"{p['source']:<11} {p['form']:<7} {p['n']:>3} {p['d']:>2}  {p['loss']:<11} "
                     f"{m:>9}  {p['n_patterns']:>8}  {cov:>8}  {obj:<12}  {p['optimum']:<12.6g}  "
                     f"{gap:>10}  {p['status']}")
    return "\n".join(lines)


def _json_default(o):
    if isinstance(o, (np.integer,)):
        return int(o)
    if isinstance(o, (np.floating,)):
        return float(o)
    if isinstance(o, np.ndarray):
        return o.tolist()
    return str(o)
