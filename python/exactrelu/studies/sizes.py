"""How large are the arrangements of real data, and what does sampling miss?

A study over a grid of (n, d) (the command ``python -m exactrelu sizes`` is in
:mod:`exactrelu.cli.sizes`):

- **sizes**: for Gaussian data, degenerate data (integer grids, duplicated points,
  points on a low-dimensional affine subspace) and scikit-learn's real datasets (iris,
  wine, breast_cancer, diabetes, digits, when scikit-learn is installed), with and
  without bias: the exact rank, distinct hyperplanes, exact number of cells
  (:func:`exactrelu.count_cells`), Cover's bound for those hyperplanes and that rank
  (:func:`exactrelu.arrangement_info`), their ratio, the rays
  (:func:`exactrelu.count_rays`) and, where affordable, the time to enumerate the cells;
- **coverage**: the fraction of the enumerated cells that ``m`` random gates find
  (:mod:`exactrelu.studies.sampling`), Gaussian biases and zero biases;
- **the price of sampling**: restricted cell programs over sampled patterns against
  the certified optimum, for a few small problems (:mod:`exactrelu.studies.price`).

The data come from :func:`exactrelu.datasets.make_data`. Real datasets come in two
**forms**, always named in the output: ``float`` (standardized principal components:
generic floating-point data) and ``decimal`` (raw columns scaled to exact integers, ties
and collinearities of the recorded decimals kept; see :mod:`exactrelu.datasets.real`).

Synthetic sources have the forms ``float`` (Gaussian, duplicated) and ``integer``
(grid, subspace: exactly representable, so their degeneracy is exact).

Everything is sized before it runs: counts and enumerations are predicted from
Cover's bound and a cost model calibrated on the cases already run; a case whose
prediction exceeds its share of the time budget is counted only (or not at all), and
no enumeration can exceed the memory limit. Tables and summaries are in
:mod:`exactrelu.studies.report`, the figure in :func:`exactrelu.plotting.plot_sizes`.
"""


from __future__ import annotations

import os
import platform
import time
from dataclasses import asdict, dataclass

import numpy as np

from .._format import fmt_int
from .._progress import Progress
from .._validation import MAX_LIMIT
from ..arrangement import arrangement_info, count_cells, count_rays, enumerate_cells
from ..datasets import (
    REAL_FORMS,
    REAL_SOURCES,
    SYNTHETIC_FORM,
    SYNTHETIC_SOURCES,
    Dataset,
    decimal_resolution,
    make_data,
    real_size,
)
from ..errors import InputError, SizeError
from ..plotting import plot_sizes as plot
from .cost import CostModel
from .price import price_of_sampling
from .report import SizeRow, SweepResult, format_price, format_table, load, summarize
from .sampling import coverage, zero_bias_reachable

__all__ = [
    "SYNTHETIC_SOURCES",
    "REAL_SOURCES",
    "REAL_FORMS",
    "Dataset",
    "SizeRow",
    "CostModel",
    "SweepConfig",
    "SweepResult",
    "make_data",
    "decimal_resolution",
    "real_size",
    "measure",
    "sweep",
    "price_of_sampling",
    "summarize",
    "load",
    "format_table",
    "format_price",
    "plot",
]


def measure(ds, *, bias=True, model=None, seconds=10.0, memory_limit=512 * 1024**2,
            coverage_gates=0, coverage_max_cells=None, coverage_seconds=None, seed=0,
            threads=None, standardize_gates=True, client=None):
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
        Draw the gates for the standardized data (:mod:`exactrelu.studies.sampling`), as a
        solver that standardizes its inputs would; the cells do not change.
    client : dask.distributed.Client, optional
        Count and enumerate on a Dask cluster (same answers; the cost model then
        learns the cluster's speed).

    Examples
    --------
    >>> from exactrelu import cover_count
    >>> row = measure(make_data("gaussian", 20, 2))
    >>> row.cells == row.cover == cover_count(20, 3), row.enumerated
    (True, True)
    """
    model = model or CostModel()
    info = arrangement_info(ds.X, bias=bias)
    job = _Measurement(ds, bias, info, model, seconds, client)
    job.count()
    job.count_rays()
    cells = job.enumerate(memory_limit, threads) if job.row.cells is not None else None
    if cells is not None and coverage_gates > 0 and (coverage_max_cells is None
                                                     or len(cells) <= coverage_max_cells):
        budget = seconds if coverage_seconds is None else coverage_seconds
        job.coverage(cells, coverage_gates, budget, seed, standardize_gates)
    job.row.note = "; ".join(job.notes)
    return job.row


class _Measurement:
    """The steps of :func:`measure` on one dataset: each predicted, then run or noted."""

    def __init__(self, ds, bias, info, model, seconds, client=None):
        self.ds, self.bias, self.info, self.model, self.seconds = ds, bias, info, model, seconds
        self.client = client
        self.row = SizeRow.unmeasured(ds, bias, info)
        self.notes = []

    def units(self, kind, **kw):
        return self.model.units(kind, n_hyperplanes=self.info.n_hyperplanes, rank=self.info.rank,
                                **kw)

    def count(self):
        """The exact count of cells."""
        u = self.units("count", cells_bound=self.info.cells_bound)
        pred = self.model.predict("count", u)
        if pred > self.seconds:
            self.notes.append(f"not counted (~{pred:.0f} s predicted)")
            return
        row = self.row
        t0 = time.perf_counter()
        # the study's own cost model decides what to count (not the default size limit)
        row.cells = count_cells(self.ds.X, bias=self.bias, max_rays=MAX_LIMIT, client=self.client)
        row.count_seconds = time.perf_counter() - t0
        self.model.observe("count", u, row.count_seconds)
        row.ratio = row.cells / row.cover

    def count_rays(self):
        u = self.units("rays", cells_bound=self.info.rays_bound)
        pred = self.model.predict("rays", u)
        if pred > self.seconds:
            self.notes.append(f"rays not counted (~{pred:.0f} s)")
            return
        t0 = time.perf_counter()
        self.row.rays = count_rays(self.ds.X, bias=self.bias, max_rays=MAX_LIMIT,
                                   client=self.client)
        self.model.observe("rays", u, time.perf_counter() - t0)

    def enumerate(self, memory_limit, threads):
        """The cells (without witnesses), sized from the exact count; None if skipped."""
        ds, row = self.ds, self.row
        per_cell = (ds.n + 7) // 8 + 16  # packed pattern (no witnesses) and bookkeeping
        need = row.cells * per_cell
        u = self.units("enum", cells=row.cells)
        pred = self.model.predict("enum", u)
        if need > memory_limit:
            self.notes.append(f"count only (listing needs {need / 2**20:.0f} MiB)")
            return None
        if pred > self.seconds:
            self.notes.append(f"count only (enumeration ~{pred:.0f} s predicted)")
            return None
        t0 = time.perf_counter()
        try:
            # the exact count fits the memory limit; the core's own check uses the
            # (larger) bound, so give it that bound
            wit_bytes = 8 * (ds.d + int(bool(self.bias)))
            cells = enumerate_cells(ds.X, bias=self.bias, threads=threads, witnesses=False,
                                    memory_limit=max(memory_limit, self.info.cells_bound
                                                     * (per_cell + wit_bytes) + 1),
                                    client=self.client)
        except SizeError as exc:  # pragma: no cover - the core refused
            self.notes.append(f"count only (enumeration refused: {exc})")
            return None
        row.enum_seconds = time.perf_counter() - t0
        self.model.observe("enum", u, row.enum_seconds)
        row.enumerated = True
        if len(cells) != row.cells:  # pragma: no cover - would be a bug in the core
            self.notes.append(f"MISMATCH: enumerated {len(cells)} != counted {row.cells}")
        return cells

    def coverage(self, cells, gates, budget, seed, standardize):
        """Coverage by Gaussian gates (halving their number until predicted to fit the
        budget) and, with bias, by zero-bias gates."""
        ds, row, model = self.ds, self.row, self.model
        gates = int(gates)
        while gates > 100 and model.predict("coverage", self.units(
                "coverage", n_rows=ds.n, gates=gates)) > budget:
            gates //= 2
        u = self.units("coverage", n_rows=ds.n, gates=gates)
        cov = coverage(ds.X, cells, gates, bias=self.bias, gate_bias="gaussian", seed=seed,
                       standardize=standardize)
        model.observe("coverage", u * cov.stopped_at / max(1, gates), cov.seconds)
        row.coverage = dict(cov.to_dict(), standardized=bool(standardize))
        if not self.bias:
            return
        row.zero_bias_cells = zero_bias_reachable(ds.X, standardize=standardize)[0]
        zc = coverage(ds.X, cells, gates, bias=True, gate_bias="zero", seed=seed,
                      stop_at=row.zero_bias_cells, standardize=standardize)
        row.coverage_zero_bias = dict(zc.to_dict(), standardized=bool(standardize))
        if zc.found > row.zero_bias_cells:  # pragma: no cover - would be a bug
            self.notes.append("MISMATCH: zero-bias gates found more cells than reachable")


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
                   price_share=0.3, price_max_patterns=300,
                   price_cases=(("gaussian", 10, 2), ("iris", 12, 2, "float")),
                   price_ms=(1, 2, 5, 10, 20, 50, 100, 1000))


def _cases(cfg):
    """(source, form, n, d) of every dataset in the sweep, real sizes capped at the data."""
    out = []
    for src in cfg.sources:
        if src in SYNTHETIC_SOURCES:
            for d in cfg.ds:
                if src == "subspace" and d < 2:
                    continue
                for n in cfg.ns:
                    out.append((src, SYNTHETIC_FORM[src], n, d))
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


def sweep(cfg=None, *, progress=None, client=None):
    """Run the size study (and the price of sampling) within ``cfg.max_seconds``.

    Cases run from the cheapest (by Cover's bound) to the most expensive, so that an
    exhausted budget drops the largest ones; each is sized before it runs
    (:func:`measure`). A case skipped for lack of time is still listed with its rank
    and bound and the note ``"skipped: time budget"``.

    Parameters
    ----------
    cfg : SweepConfig, optional
    progress : bool, "lines" or callable, optional
        ``True``: a tqdm bar over the cases on stderr, with the news of the sweep
        written above it (plain lines when tqdm is not installed, or with
        ``"lines"``; see :class:`exactrelu._progress.Progress` and docs/design.md
        section 7, "Progress"); a callable receives each line instead. Default: quiet.
    client : dask.distributed.Client, optional
        Count and enumerate on a Dask cluster (:func:`measure`).

    Returns
    -------
    SweepResult
    """
    cfg = cfg or SweepConfig()
    start = time.perf_counter()
    prog = None if callable(progress) else Progress(progress, label="sizes")
    say = progress if prog is None else prog
    price_reserve = cfg.max_seconds * cfg.price_share if cfg.price else 0.0
    deadline = start + cfg.max_seconds - price_reserve
    model = CostModel()
    jobs = _jobs(cfg, say)
    if prog is not None:
        prog.total = len(jobs)

    def step(k, text):   # one step per case: the bar's, or a line for the callable
        if prog is None:
            say(f"{k + 1}/{len(jobs)} {text}")
        else:
            prog.step(text)

    rows = []
    for k, (ds, bias, info) in enumerate(jobs):
        left = deadline - time.perf_counter()
        if left <= 0:
            rows.append(SizeRow.unmeasured(ds, bias, info, note="skipped: time budget"))
            step(k, f"{ds.source}/{ds.form} n={ds.n} d={ds.d} bias={int(bias)}: "
                    "skipped: time budget")
            continue
        # each computation may take the case allowance, but never more than a fair share
        # of what is left for the remaining cases
        allow = min(cfg.case_seconds, max(0.05, left / 4))
        cov = cfg.coverage_gates if (bias and ds.n <= cfg.coverage_max_n
                                     and ds.d <= cfg.coverage_max_d) else 0
        row = measure(ds, bias=bias, model=model, seconds=allow, memory_limit=cfg.memory_limit,
                      coverage_gates=cov, coverage_max_cells=cfg.coverage_max_cells,
                      coverage_seconds=min(allow / 2, cfg.coverage_seconds), seed=cfg.seed,
                      threads=cfg.threads, standardize_gates=cfg.standardize_gates,
                      client=client)
        rows.append(row)
        step(k, f"{ds.source}/{ds.form} n={ds.n} d={ds.d} bias={int(bias)}: "
                f"cells {fmt_int(row.cells)} / Cover {fmt_int(row.cover)}"
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
    return SweepResult(rows, price, asdict(cfg), meta)


def _jobs(cfg, say):
    """``(dataset, bias, arrangement info)`` of every case, cheapest (by Cover's bound)
    first; datasets that cannot be made are skipped (and said)."""
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
    return [j[2:] for j in jobs]


def _row_key(r):
    order = {s: i for i, s in enumerate(SYNTHETIC_SOURCES + REAL_SOURCES)}
    return (order.get(r.source, 99), r.form, r.d, not r.bias, r.n)
