"""How large are the arrangements of real data, and what does sampling miss?

A study (and the ``python -m exactrelu sizes`` command) over a grid of (n, d):

- **sizes**: for Gaussian data, degenerate data (integer grids, duplicated points,
  points on a low-dimensional affine subspace) and scikit-learn's real datasets (iris,
  wine, breast_cancer, diabetes, digits, when scikit-learn is installed), with and
  without bias: the exact rank, distinct hyperplanes, exact number of cells
  (:func:`exactrelu.count_cells`), Cover's bound for those hyperplanes and that rank
  (:func:`exactrelu.arrangement_info`), their ratio, the rays
  (:func:`exactrelu.count_rays`) and, where affordable, the time to enumerate the cells;
- **coverage**: the fraction of the enumerated cells that ``m`` random gates find
  (:mod:`exactrelu.sampling`), Gaussian biases and zero biases;
- **the price of sampling**: restricted cell programs over sampled patterns against
  the certified optimum, for a few small problems.

Real datasets come in two **forms**, always named in the output:

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

Synthetic sources have the forms ``float`` (Gaussian, duplicated) and ``integer``
(grid, subspace: exactly representable, so their degeneracy is exact).

Everything is sized before it runs: counts and enumerations are predicted from
Cover's bound and a cost model calibrated on the cases already run; a case whose
prediction exceeds its share of the time budget is counted only (or not at all), and
no enumeration can exceed the memory limit.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import sys
import time
from dataclasses import asdict, dataclass, field
from functools import lru_cache

import numpy as np

from .arrangement import arrangement_info, count_cells, count_rays, cover_count, enumerate_cells
from .errors import ExactReLUError, InputError, SizeError

__all__ = [
    "SYNTHETIC_SOURCES",
    "REAL_SOURCES",
    "Dataset",
    "SizeRow",
    "SweepConfig",
    "SweepResult",
    "make_data",
    "decimal_resolution",
    "measure",
    "sweep",
    "load",
    "format_table",
    "plot",
    "add_cli",
    "main",
]

SYNTHETIC_SOURCES = ("gaussian", "grid", "duplicated", "subspace")
REAL_SOURCES = ("iris", "wine", "breast_cancer", "diabetes", "digits")
_SYNTH_FORM = {"gaussian": "float", "grid": "integer", "duplicated": "float", "subspace": "integer"}
REAL_FORMS = ("float", "decimal")


# ------------------------------------------------------------------------ data


@dataclass
class Dataset:
    """One dataset of the sweep.

    Attributes
    ----------
    X : ndarray, shape (n, d)
    y : ndarray, shape (n,), or None
        The dataset's target where it has one (real data), else None.
    source, form : str
    description : str
        How the rows were made (columns and resolutions for the decimal form).
    """

    X: np.ndarray
    y: np.ndarray | None
    source: str
    form: str
    description: str = ""
    columns: list = field(default_factory=list)

    @property
    def n(self):
        return int(self.X.shape[0])

    @property
    def d(self):
        return int(self.X.shape[1])


def _min_int_dim(n, d):
    k = 1
    while k**d < n:
        k += 1
    return k


def _gaussian(n, d, rng):
    return rng.standard_normal((n, d))


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


@lru_cache(maxsize=None)
def _load_real(name):
    """(X raw, y, feature names) of a scikit-learn dataset shipped with the package."""
    try:
        from sklearn import datasets as skd
    except ImportError as exc:  # pragma: no cover - optional dependency
        raise InputError(f"the {name!r} dataset needs scikit-learn (pip install scikit-learn)"
                         ) from exc
    if name not in REAL_SOURCES:
        raise InputError(f"unknown real dataset {name!r}; known: {REAL_SOURCES}")
    if name == "diabetes":
        b = skd.load_diabetes(scaled=False)  # the recorded values, not sklearn's rescaling
    else:
        b = getattr(skd, f"load_{name}")()
    names = [str(s) for s in getattr(b, "feature_names", [f"x{j}" for j in range(b.data.shape[1])])]
    return np.asarray(b.data, np.float64), np.asarray(b.target, np.float64), tuple(names)


@lru_cache(maxsize=None)
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


def _subsample(N, n, seed):
    if n > N:
        raise InputError(f"n={n} is more than the {N} rows of the dataset")
    if n == N:
        return np.arange(N)
    return np.sort(np.random.default_rng(seed).choice(N, size=n, replace=False))


def _real(name, n, d, form, seed):
    X, y, names = _load_real(name)
    N, p = X.shape
    rows = _subsample(N, n, seed)
    if form == "float":
        P = _principal_components(name)
        if d > P.shape[1]:
            raise InputError(f"{name} has {P.shape[1]} non-constant columns, fewer than d={d}")
        P = P[:, :d]
        desc = f"{name}: standardized, first {d} principal components, rows drawn with seed {seed}"
        return P[rows], y[rows], desc, [f"PC{j + 1}" for j in range(d)]
    if form == "decimal":
        res = [decimal_resolution(X[:, j]) for j in range(p)]
        ok = [j for j in range(p) if res[j] is not None and np.unique(X[:, j]).size > 1]
        if d > len(ok):
            raise InputError(f"{name} has {len(ok)} columns with a decimal resolution, fewer than d={d}")
        # the d columns with the most distinct values (ties: the first), in their original order
        distinct = {j: np.unique(X[:, j]).size for j in ok}
        cols = sorted(sorted(ok, key=lambda j: (-distinct[j], j))[:d])
        out = np.empty((n, d))
        columns = []
        for t, j in enumerate(cols):
            out[:, t] = np.round(X[rows, j] * 10.0**res[j])
            columns.append(f"{names[j]} (x10^{res[j]})" if res[j] else names[j])
        desc = (f"{name}: raw columns {', '.join(columns)} as exact integers, rows drawn with "
                f"seed {seed}")
        return out, y[rows], desc, columns
    raise InputError(f"form must be one of {REAL_FORMS} for real data, got {form!r}")


def make_data(source, n, d, *, form=None, seed=0):
    """Build one dataset of the sweep.

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
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
        raise InputError(f"n must be a positive int, got {n!r}")
    if isinstance(d, bool) or not isinstance(d, (int, np.integer)) or d < 1:
        raise InputError(f"d must be a positive int, got {d!r}")
    n, d = int(n), int(d)
    if source in SYNTHETIC_SOURCES:
        want = _SYNTH_FORM[source]
        if form not in (None, want):
            raise InputError(f"the {source} source has form {want!r}, not {form!r}")
        rng = np.random.default_rng([seed, n, d])
        if source == "gaussian":
            X, desc = _gaussian(n, d, rng), f"{n} standard Gaussian points in R^{d}"
        else:
            X, desc = {"grid": _grid, "duplicated": _duplicated, "subspace": _subspace}[source](
                n, d, rng)
        return Dataset(np.ascontiguousarray(X, np.float64), None, source, want, desc)
    if source in REAL_SOURCES:
        form = "float" if form is None else form
        X, y, desc, cols = _real(source, n, d, form, seed)
        return Dataset(np.ascontiguousarray(X, np.float64), y, source, form, desc, cols)
    raise InputError(f"unknown source {source!r}; known: {SYNTHETIC_SOURCES + REAL_SOURCES}")


# ------------------------------------------------------------------ cost model


class CostModel:
    """Predicted seconds of the exact computations, calibrated on the cases already run.

    Each kind of computation has a size in work units (computed from exact, cheap
    facts before it runs) and a rate in seconds per unit: the largest rate seen on
    a run long enough to measure, or a conservative prior.
    """

    #: Conservative priors (seconds per unit, measured on 2 cores and doubled) and the
    #: fixed overhead per call.
    PRIORS = {"count": 2.5e-8, "rays": 2.5e-8, "enum": 1e-8, "coverage": 5e-9}
    OVERHEAD = 1e-3

    def __init__(self):
        self.rate = dict(self.PRIORS)
        self.seen = {k: 0 for k in self.PRIORS}

    @staticmethod
    def units(kind, *, n_hyperplanes, rank, cells_bound=None, cells=None, n_rows=None,
              gates=None):
        """Work units: counting walks the arrangement (Cover's bound times rank^2 is
        an upper estimate), listing writes every cell's pattern, coverage evaluates
        ``gates x n`` signs."""
        m, r = max(1, n_hyperplanes), max(1, rank)
        if kind in ("count", "rays"):
            return float(cells_bound) * r * r + m
        if kind == "enum":
            return float(cells) * (m + 50 * r * r)
        if kind == "coverage":
            return float(gates) * n_rows * (r + 2)
        raise ValueError(kind)

    def predict(self, kind, units):
        return self.OVERHEAD + self.rate[kind] * units

    def observe(self, kind, units, seconds):
        if units <= 0:
            return
        if seconds > 0.02:
            r = (seconds - self.OVERHEAD) / units
            # trust measurements: after the first real one, follow the data (the
            # largest of the recent rates, so a slow case is not forgotten)
            self.rate[kind] = r if self.seen[kind] == 0 else max(r, 0.5 * self.rate[kind])
            self.seen[kind] += 1


# ------------------------------------------------------------------------ rows


@dataclass
class SizeRow:
    """One row of the size table (see the module docstring for the columns)."""

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

    def to_dict(self):
        return asdict(self)


def _fmt_int(v):
    if v is None:
        return "-"
    return f"{v:,}" if v < 10**12 else f"{v:.3e}"


def measure(ds, *, bias=True, model=None, seconds=10.0, memory_limit=512 * 1024**2,
            coverage_gates=0, coverage_max_cells=None, coverage_seconds=None, seed=0,
            threads=None, standardize_gates=True):
    """Measure one dataset: rank, counts, bound, rays, enumeration time, coverage.

    Every exact computation is predicted first (:class:`CostModel`) and run only when
    the prediction fits ``seconds``; enumeration also needs the listed cells to fit
    ``memory_limit`` bytes. What was skipped is said in :attr:`SizeRow.note`.

    Parameters
    ----------
    ds : Dataset
    bias : bool
    model : CostModel, optional
        Shared between calls so that it learns the machine.
    seconds : float
        Time allowed for each of count, rays and enumeration.
    coverage_gates : int
        Most gates drawn for the coverage study (0: none) when the cells were
        enumerated (and are at most ``coverage_max_cells``); fewer when that many
        are predicted to take more than ``coverage_seconds`` (per gate distribution).
    standardize_gates : bool
        Draw the gates for the standardized data (:mod:`exactrelu.sampling`), as a
        solver that standardizes its inputs would; the cells do not change.

    Examples
    --------
    >>> row = measure(make_data("gaussian", 20, 2))
    >>> row.cells == row.cover == cover_count(20, 3), row.enumerated
    (True, True)
    """
    from . import sampling

    model = model or CostModel()
    X = ds.X
    info = arrangement_info(X, bias=bias)
    notes = []
    m, r = info.n_hyperplanes, info.rank
    row = SizeRow(ds.source, ds.form, ds.n, ds.d, bool(bias), r, m, None, info.cells_bound, None,
                  cover_count(ds.n, ds.d + int(bool(bias))), None, info.rays_bound, False, None,
                  None, description=ds.description)
    # exact count of cells
    u = model.units("count", n_hyperplanes=m, rank=r, cells_bound=info.cells_bound)
    pred = model.predict("count", u)
    if pred <= seconds:
        t0 = time.perf_counter()
        row.cells = count_cells(X, bias=bias)
        row.count_seconds = time.perf_counter() - t0
        model.observe("count", u, row.count_seconds)
        row.ratio = row.cells / row.cover
    else:
        notes.append(f"not counted (~{pred:.0f} s predicted)")
    # rays
    u = model.units("rays", n_hyperplanes=m, rank=r, cells_bound=info.rays_bound)
    pred = model.predict("rays", u)
    if pred <= seconds:
        t0 = time.perf_counter()
        row.rays = count_rays(X, bias=bias)
        model.observe("rays", u, time.perf_counter() - t0)
    else:
        notes.append(f"rays not counted (~{pred:.0f} s)")
    # enumeration, sized from the exact count
    cells = None
    if row.cells is not None:
        per_cell = (ds.n + 7) // 8 + 16  # packed pattern (no witnesses) and bookkeeping
        need = row.cells * per_cell
        u = model.units("enum", n_hyperplanes=m, rank=r, cells=row.cells)
        pred = model.predict("enum", u)
        if need > memory_limit:
            notes.append(f"count only (listing needs {need / 2**20:.0f} MiB)")
        elif pred > seconds:
            notes.append(f"count only (enumeration ~{pred:.0f} s predicted)")
        else:
            t0 = time.perf_counter()
            try:
                # the exact count fits the memory limit; the core's own check uses the
                # (larger) bound, so give it that bound
                wit_bytes = 8 * (ds.d + int(bool(bias)))
                cells = enumerate_cells(X, bias=bias, threads=threads, witnesses=False,
                                        memory_limit=max(memory_limit, info.cells_bound
                                                         * (per_cell + wit_bytes) + 1))
            except SizeError as exc:  # pragma: no cover - the core refused
                notes.append(f"count only (enumeration refused: {exc})")
            else:
                row.enum_seconds = time.perf_counter() - t0
                model.observe("enum", u, row.enum_seconds)
                row.enumerated = True
                if len(cells) != row.cells:  # pragma: no cover - would be a bug in the core
                    notes.append(f"MISMATCH: enumerated {len(cells)} != counted {row.cells}")
    # coverage by random gates
    if cells is not None and coverage_gates > 0 and (coverage_max_cells is None
                                                     or len(cells) <= coverage_max_cells):
        budget = seconds if coverage_seconds is None else coverage_seconds
        gates = int(coverage_gates)
        while gates > 100 and model.predict("coverage", model.units(
                "coverage", n_hyperplanes=m, rank=r, n_rows=ds.n, gates=gates)) > budget:
            gates //= 2
        u = model.units("coverage", n_hyperplanes=m, rank=r, n_rows=ds.n, gates=gates)
        cov = sampling.coverage(X, cells, gates, bias=bias, gate_bias="gaussian", seed=seed,
                                standardize=standardize_gates)
        model.observe("coverage", u * cov.stopped_at / max(1, gates), cov.seconds)
        row.coverage = dict(cov.to_dict(), standardized=bool(standardize_gates))
        if bias:
            row.zero_bias_cells = sampling.zero_bias_reachable(X, standardize=standardize_gates)[0]
            zc = sampling.coverage(X, cells, gates, bias=True, gate_bias="zero", seed=seed,
                                   stop_at=row.zero_bias_cells, standardize=standardize_gates)
            row.coverage_zero_bias = dict(zc.to_dict(), standardized=bool(standardize_gates))
            if zc.found > row.zero_bias_cells:  # pragma: no cover - would be a bug
                notes.append("MISMATCH: zero-bias gates found more cells than reachable")
    row.note = "; ".join(notes)
    return row


# ------------------------------------------------------------------------ sweep


@dataclass
class SweepConfig:
    """What the sweep runs (see :func:`sweep`)."""

    ns: tuple = (10, 20, 50, 100, 200, 500, 1000, 2000)
    ds: tuple = (1, 2, 3, 4, 5)
    sources: tuple = SYNTHETIC_SOURCES + REAL_SOURCES
    biases: tuple = (True, False)
    max_seconds: float = 1800.0
    case_seconds: float = 60.0
    memory_limit: int = 512 * 1024**2
    coverage_gates: int = 1_000_000
    coverage_max_n: int = 200
    coverage_max_d: int = 3
    coverage_max_cells: int = 500_000
    coverage_seconds: float = 3.0
    standardize_gates: bool = True
    price: bool = True
    price_share: float = 0.2
    price_max_patterns: int = 1000
    price_beta_fraction: float = 0.1
    price_cases: tuple = (("gaussian", 20, 2), ("grid", 16, 2), ("iris", 24, 2, "float"),
                          ("iris", 24, 2, "decimal"), ("diabetes", 20, 2, "float"),
                          ("gaussian", 12, 3), ("gaussian", 30, 2))
    price_ms: tuple = (1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 5000)
    seed: int = 0
    threads: int | None = None

    @classmethod
    def quick(cls):
        return cls(ns=(10, 20, 50, 100), ds=(1, 2, 3), sources=SYNTHETIC_SOURCES + ("iris",),
                   max_seconds=40.0, case_seconds=3.0, coverage_gates=20_000,
                   coverage_max_n=100, coverage_max_cells=50_000, coverage_seconds=0.5,
                   price_share=0.3,
                   price_max_patterns=300, price_cases=(("gaussian", 10, 2), ("iris", 12, 2, "float")),
                   price_ms=(1, 2, 5, 10, 20, 50, 100, 1000))


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


def load(path):
    """Read a sweep written with ``--json`` back into a :class:`SweepResult`."""
    with open(path) as fh:
        data = json.load(fh)
    rows = [SizeRow(**r) for r in data["rows"]]
    return SweepResult(rows, data.get("price", []), data.get("config", {}), data.get("meta", {}))


class _Progress:
    def __init__(self, enabled, start):
        self.enabled = enabled
        self.start = start

    def __call__(self, msg):
        if self.enabled:
            print(f"[sizes {time.perf_counter() - self.start:7.1f}s] {msg}", file=sys.stderr,
                  flush=True)


def _cases(cfg):
    """(source, form, n, d) of every dataset in the sweep, real sizes capped at the data."""
    out = []
    for src in cfg.sources:
        if src in SYNTHETIC_SOURCES:
            for d in cfg.ds:
                if src == "subspace" and d < 2:
                    continue
                for n in cfg.ns:
                    out.append((src, _SYNTH_FORM[src], n, d))
        elif src in REAL_SOURCES:
            try:
                N, p = real_size(src)
            except InputError:
                continue  # scikit-learn not installed
            ns = sorted({n for n in cfg.ns if n < N} | {N})
            for form in REAL_FORMS:
                for d in cfg.ds:
                    if d > p:
                        continue
                    for n in ns:
                        out.append((src, form, n, d))
        else:
            raise InputError(f"unknown source {src!r}")
    return out


def sweep(cfg=None, *, progress=None):
    """Run the size study (and the price of sampling) within ``cfg.max_seconds``.

    Cases run from the cheapest (by Cover's bound) to the most expensive, so that an
    exhausted budget drops the largest ones; each is sized before it runs
    (:func:`measure`). A case skipped for lack of time is still listed with its rank
    and bound and the note ``"skipped: time budget"``.

    Returns
    -------
    SweepResult
    """
    cfg = cfg or SweepConfig()
    start = time.perf_counter()
    say = progress if callable(progress) else _Progress(bool(progress), start)
    price_reserve = cfg.max_seconds * cfg.price_share if cfg.price else 0.0
    deadline = start + cfg.max_seconds - price_reserve
    model = CostModel()
    jobs = []
    for src, form, n, d in _cases(cfg):
        try:
            ds = make_data(src, n, d, form=form, seed=cfg.seed)
        except (InputError, SizeError) as exc:
            say(f"skip {src}/{form} n={n} d={d}: {exc}")
            continue
        for bias in cfg.biases:
            info = arrangement_info(ds.X, bias=bias)
            jobs.append((info.cells_bound, len(jobs), ds, bias, info))
    jobs.sort(key=lambda j: (j[0], j[1]))
    rows = []
    for k, (_, _, ds, bias, info) in enumerate(jobs):
        now = time.perf_counter()
        left = deadline - now
        tag = f"{ds.source}/{ds.form} n={ds.n} d={ds.d} bias={int(bias)}"
        if left <= 0:
            rows.append(SizeRow(ds.source, ds.form, ds.n, ds.d, bool(bias), info.rank,
                                info.n_hyperplanes, None, info.cells_bound, None,
                                cover_count(ds.n, ds.d + int(bias)), None, info.rays_bound, False,
                                None, None, note="skipped: time budget",
                                description=ds.description))
            continue
        # each computation may take the case allowance, but never more than a fair share
        # of what is left for the remaining cases
        allow = min(cfg.case_seconds, max(0.05, left / 4))
        cov = cfg.coverage_gates if (bias and ds.n <= cfg.coverage_max_n
                                     and ds.d <= cfg.coverage_max_d) else 0
        row = measure(ds, bias=bias, model=model, seconds=allow, memory_limit=cfg.memory_limit,
                      coverage_gates=cov, coverage_max_cells=cfg.coverage_max_cells,
                      coverage_seconds=min(allow / 2, cfg.coverage_seconds), seed=cfg.seed,
                      threads=cfg.threads, standardize_gates=cfg.standardize_gates)
        rows.append(row)
        say(f"{k + 1}/{len(jobs)} {tag}: cells {_fmt_int(row.cells)} / Cover {_fmt_int(row.cover)}"
            + (f", enumerated in {row.enum_seconds:.3f}s" if row.enumerated else "")
            + (f" ({row.note})" if row.note else ""))
    rows.sort(key=_row_key)
    price = []
    if cfg.price:
        price = price_of_sampling(cfg, deadline=start + cfg.max_seconds, say=say)
    meta = {
        "seconds": time.perf_counter() - start,
        "cpu_count": os.cpu_count(),
        "threads": cfg.threads,
        "platform": platform.platform(),
        "python": platform.python_version(),
        "numpy": np.__version__,
        "cost_model_rates": model.rate,
    }
    cfg_d = asdict(cfg)
    return SweepResult(rows, price, cfg_d, meta)


def _row_key(r):
    order = {s: i for i, s in enumerate(SYNTHETIC_SOURCES + REAL_SOURCES)}
    return (order.get(r.source, 99), r.form, r.d, not r.bias, r.n)


# ----------------------------------------------------------- price of sampling


def beta_max_squared(X, y, *, bias=True):
    """Smallest beta at which the squared-loss optimum is the constant fit (no neurons).

    ``max_t |r0 . relu(X~ theta_t)|`` over the rays of the arrangement refined by the
    coordinate hyperplanes, ``||theta_t[:d]||_1 = 1``, ``r0 = y - mean(y)``
    (DESIGN.md section 4; the output bias is free, no skip).
    """
    from ._validation import as_data_matrix, as_target_vector, lift
    from .arrangement import enumerate_rays

    X = as_data_matrix(X)
    y = as_target_vector(y, X.shape[0])
    d = X.shape[1]
    A = lift(X, bias)
    rays = enumerate_rays(X, bias=bias, extra_hyperplanes=np.eye(d, A.shape[1]))
    T = rays.directions
    w1 = np.abs(T[:, :d]).sum(axis=1)
    T = T[w1 > 1e-12] / w1[w1 > 1e-12, None]
    r0 = y - y.mean()
    return float(np.max(np.abs(np.maximum(A @ T.T, 0.0).T @ r0))) if len(T) else 0.0


def price_of_sampling(cfg, *, deadline=None, say=None):
    """The price-of-sampling rows of the sweep (a list of dicts).

    For each case ``(source, n, d[, form])`` of ``cfg.price_cases`` and each loss
    (interpolation; squared loss with ``beta = cfg.price_beta_fraction * beta_max``;
    targets: the dataset's own, or standard normal for synthetic data, standardized),
    the certified optimum and the restricted optimum
    over the patterns of the first ``m`` Gaussian gates, for ``m`` in
    ``cfg.price_ms``, and over all cells. Needs :func:`exactrelu.solve`; without it
    the rows say so.
    """
    from . import sampling

    say = say or (lambda msg: None)
    out = []
    if sampling._solve_fn() is None:
        return [{"status": "exactrelu.solve is not available: price of sampling not measured"}]
    for case in cfg.price_cases:
        src, n, d = case[:3]
        form = case[3] if len(case) > 3 else None
        try:
            ds = make_data(src, n, d, form=form, seed=cfg.seed)
        except (InputError, SizeError) as exc:
            say(f"price: skip {src} n={n} d={d}: {exc}")
            continue
        y = ds.y if ds.y is not None else np.random.default_rng([cfg.seed, 7, n]).standard_normal(n)
        y = (y - y.mean()) / (y.std() or 1.0)
        for loss in ("interpolate", "squared"):
            if deadline is not None and time.perf_counter() > deadline:
                out.append({"source": src, "form": ds.form, "n": n, "d": d, "loss": loss,
                            "status": "skipped: time budget"})
                continue
            beta = None
            try:
                if loss == "squared":
                    beta = cfg.price_beta_fraction * beta_max_squared(ds.X, y)
                opt, rows = sampling.sampling_price(
                    ds.X, y, cfg.price_ms, loss=loss, beta=beta if beta else 1.0, bias=True,
                    seed=cfg.seed, max_patterns=cfg.price_max_patterns,
                    standardize=cfg.standardize_gates)
            except ExactReLUError as exc:
                out.append({"source": src, "form": ds.form, "n": n, "d": d, "loss": loss,
                            "beta": beta, "status": f"optimum failed: {type(exc).__name__}: {exc}"})
                say(f"price {src} n={n} d={d} {loss}: {type(exc).__name__}")
                continue
            for r in rows:
                dct = r.to_dict()
                dct.update(source=src, form=ds.form, n=n, d=d, loss=loss, beta=beta)
                out.append(dct)
            gaps = [f"{r.m}:{'inf' if r.rel_gap is None else f'{r.rel_gap:.2g}'}" for r in rows]
            say(f"price {src} n={n} d={d} {loss}: optimum {opt:.6g}; gaps {' '.join(gaps)}")
    return out


# ------------------------------------------------------------------- summary


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


# --------------------------------------------------------------------- output


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
                      str(r.rank), str(r.n_hyperplanes), _fmt_int(r.cells), _fmt_int(r.cover),
                      "-" if r.ratio is None else f"{r.ratio:.4f}", _fmt_int(r.rays), enum,
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


def plot(result, path):
    """Draw the study: cells vs n (log-log, per d, with Cover's curve), cells / Cover
    for real data, coverage vs m, and the price of sampling. Needs matplotlib."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError as exc:  # pragma: no cover - optional dependency
        raise InputError("--plot needs matplotlib (pip install matplotlib)") from exc
    rows = [r for r in result.rows if r.bias]
    ds = sorted({r.d for r in rows})
    n_panels = len(ds) + 3
    ncols = min(4, n_panels)
    nrows = math.ceil(n_panels / ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(4.6 * ncols, 4.0 * nrows), squeeze=False)
    axes = axes.ravel()
    style = {
        "gaussian": dict(color="k", marker="o"),
        "grid": dict(color="tab:red", marker="s"),
        "duplicated": dict(color="tab:orange", marker="D"),
        "subspace": dict(color="tab:brown", marker="v"),
        "iris": dict(color="tab:blue", marker="^"),
        "wine": dict(color="tab:purple", marker="<"),
        "breast_cancer": dict(color="tab:green", marker=">"),
        "diabetes": dict(color="tab:cyan", marker="P"),
        "digits": dict(color="tab:olive", marker="X"),
    }
    for ax, d in zip(axes, ds):
        sel = [r for r in rows if r.d == d and r.cells]
        if sel:
            ns = np.unique(np.geomspace(max(2, min(r.n for r in sel)), max(r.n for r in sel), 60)
                           .astype(int))
            ax.plot(ns, [cover_count(int(v), d + 1) for v in ns], "-", color="0.6", lw=2,
                    label="Cover (general position)", zorder=0)
        for src in SYNTHETIC_SOURCES + REAL_SOURCES:
            for form in ("float", "integer", "decimal"):
                pts = sorted((r.n, r.cells) for r in sel if r.source == src and r.form == form)
                if not pts:
                    continue
                st = style[src]
                hollow = form == "decimal"
                ax.plot(*zip(*pts), ls="--" if hollow else "-", lw=0.8, ms=5,
                        marker=st["marker"], color=st["color"],
                        mfc="white" if hollow else st["color"],
                        label=f"{src} ({form})")
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_title(f"cells vs n, d = {d} (with bias)")
        ax.set_xlabel("n")
        ax.set_ylabel("cells")
        ax.grid(True, which="major", alpha=0.3)
    if ds:
        handles, labels = [], []
        for ax in axes[: len(ds)]:
            for h, l in zip(*ax.get_legend_handles_labels()):
                if l not in labels:
                    handles.append(h)
                    labels.append(l)
        axes[0].legend(handles, labels, fontsize=6.5, loc="upper left", ncol=1)
    # ratio panel: cells / Cover's bound for n points in general position, one d
    ax = axes[len(ds)]
    d_ratio = 2 if 2 in ds else (ds[0] if ds else 2)
    for src in REAL_SOURCES + ("grid", "duplicated"):
        for form in ("float", "decimal", "integer"):
            pts = sorted((r.n, r.cells / r.cover_general) for r in rows
                         if r.source == src and r.form == form and r.cells and r.d == d_ratio)
            if pts:
                st = style[src]
                hollow = form == "decimal"
                ax.plot(*zip(*pts), ls="--" if hollow else "-", lw=0.8, marker=st["marker"],
                        ms=4, color=st["color"], mfc="white" if hollow else st["color"],
                        label=f"{src} ({form})")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_title(f"cells / Cover(n, d+1), d = {d_ratio}, with bias\n(hollow, dashed: exact decimal)")
    ax.set_xlabel("n")
    ax.grid(True, which="both", alpha=0.3)
    # coverage panel
    ax = axes[len(ds) + 1]
    cands = [r for r in rows if r.coverage and r.cells]
    cands.sort(key=lambda r: r.cells)
    picked = _pick_coverage_rows(cands)
    colors = plt.cm.viridis(np.linspace(0, 0.9, max(1, len(picked))))
    for c, r in zip(colors, picked):
        lab = f"{r.source}/{r.form} n={r.n} d={r.d} ({_fmt_int(r.cells)} cells)"
        ax.plot(r.coverage["m"], r.coverage["fraction"], "-", color=c, label=lab)
        if r.coverage_zero_bias:
            ax.plot(r.coverage_zero_bias["m"], r.coverage_zero_bias["fraction"], ":", color=c)
    ax.axhline(0.99, color="0.5", lw=0.8)
    ax.set_xscale("log")
    ax.set_ylim(0, 1.02)
    ax.set_title("coverage of the cells by m gates\n(solid: Gaussian bias, dotted: zero bias)")
    ax.set_xlabel("m (gates)")
    ax.set_ylabel("fraction of cells found")
    ax.grid(True, alpha=0.3)
    if picked:
        ax.legend(fontsize=6.5, loc="upper left")
    # price panel
    ax = axes[len(ds) + 2]
    groups = {}
    for p in result.price:
        if "optimum" in p and p.get("m") is not None:
            groups.setdefault((p["source"], p["form"], p["n"], p["d"]), {}).setdefault(
                p["loss"], []).append(p)
    floor = 1e-6
    colors = plt.cm.tab10(np.arange(10))
    for i, ((src, form, n, d), by_loss) in enumerate(groups.items()):
        c = colors[i % 10]
        for loss, ps in by_loss.items():
            ps.sort(key=lambda p: p["m"])
            ok = [(p["m"], max(p["rel_gap"], floor)) for p in ps if p["rel_gap"] is not None]
            ls = "-" if loss == "interpolate" else "--"
            if ok:
                ax.plot(*zip(*ok), ls=ls, marker="o" if loss == "interpolate" else "s", ms=3.5,
                        color=c, label=f"{src}/{form} n={n} d={d} {loss}")
            inf = [p["m"] for p in ps if p["status"] == "infeasible"]
            if inf:
                ax.plot(inf, [30.0] * len(inf), "x", color=c, ms=6)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_ylim(floor / 2, 100)
    ax.set_title("price of sampling: restricted / optimum - 1\n"
                 f"(x at top: infeasible; {floor:g}: optimal)")
    ax.set_xlabel("m (gates)")
    ax.grid(True, alpha=0.3)
    if groups:
        ax.legend(fontsize=5.5, loc="upper right", framealpha=0.6)
    for ax in axes[len(ds) + 3:]:
        ax.axis("off")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def _pick_coverage_rows(cands, k=6):
    """A few coverage curves to draw: different sources and sizes."""
    if len(cands) <= k:
        return cands
    picked, seen = [], set()
    pref = [("gaussian", "float"), ("iris", "decimal"), ("iris", "float"), ("grid", "integer"),
            ("digits", "decimal"), ("diabetes", "decimal"), ("wine", "float")]
    for src, form in pref:
        sel = [r for r in cands if r.source == src and r.form == form and r.d == 2]
        if sel:
            r = max(sel, key=lambda r: r.cells)
            picked.append(r)
            seen.add(id(r))
        if len(picked) >= k - 1:
            break
    rest = [r for r in cands if id(r) not in seen]
    if rest and len(picked) < k:
        picked.append(max(rest, key=lambda r: r.cells))
    return sorted(picked, key=lambda r: r.cells)


# ------------------------------------------------------------------------ CLI


def _int_list(s):
    try:
        return tuple(int(v) for v in s.split(",") if v.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated integers, got {s!r}") from None


def add_cli(subparsers):
    """Register ``python -m exactrelu sizes``."""
    p = subparsers.add_parser(
        "sizes",
        help="arrangement sizes of synthetic and real data vs Cover's bound; sampling coverage",
        description=(
            "Exact cells of the hyperplane arrangements of Gaussian, degenerate and real data "
            "(float and exact-decimal forms) against Cover's bound, the coverage of random "
            "gates, and the objective gap of solving with sampled patterns."
        ),
    )
    p.add_argument("--quick", action="store_true", help="a small sweep (under a minute)")
    p.add_argument("--from-json", metavar="FILE",
                   help="do not run: print (and --plot) a sweep saved with --json")
    p.add_argument("--json", metavar="FILE", help="write the rows and summary as JSON")
    p.add_argument("--plot", metavar="FILE.png", help="draw the figure (needs matplotlib)")
    p.add_argument("--max-seconds", type=float, default=None,
                   help="time budget of the sweep (default 40 with --quick, 1800 otherwise)")
    p.add_argument("--case-seconds", type=float, default=None,
                   help="most seconds any single count or enumeration may be predicted to take")
    p.add_argument("--ns", type=_int_list, default=None, help="comma-separated n values")
    p.add_argument("--ds", type=_int_list, default=None, help="comma-separated d values")
    p.add_argument("--sources", default=None,
                   help=f"comma-separated sources among {','.join(SYNTHETIC_SOURCES + REAL_SOURCES)}")
    p.add_argument("--no-bias-off", action="store_true", help="only the rows with bias")
    p.add_argument("--no-price", action="store_true", help="skip the price of sampling")
    p.add_argument("--gates", type=int, default=None, help="most gates for the coverage study")
    p.add_argument("--memory-mib", type=int, default=None,
                   help="memory an enumeration may use (MiB; default 512)")
    p.add_argument("--threads", type=int, default=None, help="threads for enumeration")
    p.add_argument("--raw-gates", action="store_true",
                   help="draw gates for the data as given (default: for standardized data)")
    p.add_argument("--seed", type=int, default=0)
    g = p.add_mutually_exclusive_group()
    g.add_argument("--quiet", action="store_true", help="no progress on stderr")
    g.add_argument("--progress", action="store_true",
                   help="progress on stderr (default: only when stderr is a terminal)")
    p.set_defaults(func=main)


def config_from_args(args):
    cfg = SweepConfig.quick() if args.quick else SweepConfig()
    upd = {}
    if args.max_seconds is not None:
        if args.max_seconds <= 0:
            raise InputError("--max-seconds must be positive")
        upd["max_seconds"] = float(args.max_seconds)
    if args.case_seconds is not None:
        upd["case_seconds"] = float(args.case_seconds)
    if args.ns:
        upd["ns"] = args.ns
    if args.ds:
        upd["ds"] = args.ds
    if args.sources:
        srcs = tuple(s.strip() for s in args.sources.split(",") if s.strip())
        bad = [s for s in srcs if s not in SYNTHETIC_SOURCES + REAL_SOURCES]
        if bad:
            raise InputError(f"unknown sources {bad}; known: {SYNTHETIC_SOURCES + REAL_SOURCES}")
        upd["sources"] = srcs
    if args.no_bias_off:
        upd["biases"] = (True,)
    if args.no_price:
        upd["price"] = False
    if args.gates is not None:
        upd["coverage_gates"] = int(args.gates)
    if args.memory_mib is not None:
        upd["memory_limit"] = int(args.memory_mib) * 1024**2
    if args.threads is not None:
        upd["threads"] = int(args.threads)
    if args.raw_gates:
        upd["standardize_gates"] = False
    upd["seed"] = int(args.seed)
    for k, v in upd.items():
        setattr(cfg, k, v)
    return cfg


def main(args):
    """Run the sweep for the CLI and print the tables."""
    if args.from_json:
        res = load(args.from_json)
    else:
        cfg = config_from_args(args)
        progress = False if args.quiet else (args.progress or sys.stderr.isatty())
        res = sweep(cfg, progress=progress)
    kind = "saved" if args.from_json else ("quick" if args.quick else "full")
    print(f"Arrangement sizes ({kind} sweep, {res.meta.get('seconds', 0.0):.1f} s, "
          f"{res.meta.get('cpu_count')} cores). cells: exact count; Cover: "
          "bound for the distinct hyperplanes and exact rank; enum s: enumeration seconds "
          "('count': too large to enumerate within the budget); cov@1e3: fraction of cells "
          "found by 1000 Gaussian gates; m99: gates for 99%; b=0 max: the most zero-bias gates "
          "can find.")
    print(format_table(res.rows))
    if res.price:
        print()
        print("Price of sampling (restricted cell program over the patterns of m gates vs the "
              "certified optimum):")
        print(format_price(res.price))
    summ = summarize(res)
    print()
    print("Summary: " + json.dumps(summ, indent=1, default=str))
    if args.json and not args.from_json:
        with open(args.json, "w") as fh:
            json.dump(res.to_dict(), fh, indent=1, default=_json_default)
    if args.plot:
        plot(res, args.plot)
    return 0


def _json_default(o):
    if isinstance(o, (np.integer,)):
        return int(o)
    if isinstance(o, (np.floating,)):
        return float(o)
    if isinstance(o, np.ndarray):
        return o.tolist()
    return str(o)
