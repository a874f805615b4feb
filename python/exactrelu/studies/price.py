"""The price of sampling: restricted cell programs over sampled patterns vs the optimum.

A restricted program (``exactrelu.solve(..., method="cells", patterns=...)``) is a
relaxation's opposite: it can only be *worse* than the certified optimum, and an
interpolation problem restricted to too few patterns can be infeasible; both are
reported, never hidden (see :mod:`exactrelu.studies.sampling`).
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from .._validation import as_data_matrix, as_target_vector
from ..arrangement import enumerate_cells
from ..certificate import beta_max
from ..datasets import make_data
from ..errors import ExactReLUError, InfeasibleError, InputError, SizeError, SolverError
from ..solver import solve
from .gates import nonneg_int, pattern_coverage, pattern_keys, sample_patterns

__all__ = ["PriceRow", "restricted_objective", "certified_optimum", "sampling_price",
           "price_of_sampling"]


@dataclass
class PriceRow:
    """One restricted solve against the certified optimum.

    Attributes
    ----------
    m : int or None
        Gates drawn (None when the patterns were given, e.g. all cells).
    n_patterns : int
        Distinct patterns given to the restricted program.
    coverage : float or None
        Fraction of the cells among them (when the cells are known).
    objective : float or None
        Restricted optimum (None when it failed: see ``status``).
    optimum : float or None
        Certified global optimum.
    rel_gap : float or None
        ``(objective - optimum) / max(|optimum|, 1e-12)``.
    status : str
        ``"optimal"``, ``"infeasible"`` (no network with these patterns fits the data),
        or a solver status / error description.
    seconds : float
    """

    m: int | None
    n_patterns: int
    coverage: float | None
    objective: float | None
    optimum: float | None
    rel_gap: float | None
    status: str
    seconds: float

    def to_dict(self):
        return dict(self.__dict__)


def restricted_objective(X, y, patterns, *, loss="interpolate", beta=1.0, bias=True,
                         optimum=None, cells=None, m=None, time_limit=None, solve_kwargs=None):
    """Solve the cell program restricted to ``patterns`` and compare with ``optimum``.

    Never raises for an infeasible or failing restricted program: the outcome is in
    :attr:`PriceRow.status`.
    """
    P = np.asarray(patterns, dtype=bool)
    cov = pattern_coverage(P, cells)[0] if cells is not None else None
    kw = dict(loss=loss, bias=bias, method="cells", patterns=P, time_limit=time_limit)
    if loss != "interpolate":
        kw["beta"] = beta
    kw.update(solve_kwargs or {})
    t0 = time.perf_counter()
    obj, status = None, "optimal"
    try:
        sol = solve(X, y, **kw)
        obj = float(sol.objective)  # the restricted program's optimum (not certified)
    except InfeasibleError:
        status = "infeasible"
    except SolverError as exc:
        status = f"solver: {getattr(exc, 'status', None) or type(exc).__name__}"
    except SizeError as exc:
        status = f"too large: {exc}"
    except ExactReLUError as exc:
        status = f"{type(exc).__name__}: {exc}"
    secs = time.perf_counter() - t0
    gap = None
    if obj is not None and optimum is not None:
        gap = (obj - optimum) / max(abs(optimum), 1e-12)
    return PriceRow(m, int(len(P)), cov, obj, optimum, gap, status, secs)


def certified_optimum(X, y, *, loss="interpolate", beta=1.0, bias=True, time_limit=None):
    """The certified global optimum (``exactrelu.solve`` with its default method)."""
    kw = dict(loss=loss, bias=bias, time_limit=time_limit)
    if loss != "interpolate":
        kw["beta"] = beta
    sol = solve(X, y, **kw)
    return sol


def sampling_price(X, y, ms, *, loss="interpolate", beta=1.0, bias=True, gate_bias="gaussian",
                   seed=0, include_all_cells=True, time_limit=None, max_patterns=None,
                   standardize=False):
    """The price of sampling: restricted objectives for ``m`` random gates vs the optimum.

    For each ``m`` in ``ms`` the first ``m`` gates of one stream (so the pattern sets
    are nested and the restricted objective can only fall as ``m`` grows) give the
    patterns of a restricted cell program; with ``include_all_cells`` a last row uses
    every cell of the arrangement (``m=None``), whose objective must equal the optimum.

    Parameters
    ----------
    X, y : array_like
    ms : iterable of int
    loss, beta, bias
        As in :func:`exactrelu.solve` (``beta`` is ignored for interpolation).
    gate_bias, seed, standardize
        See :func:`sample_gates` and the module docstring.
    max_patterns : int, optional
        Skip (status ``"skipped: ..."``) restricted programs with more patterns.

    Returns
    -------
    optimum : float
    rows : list of PriceRow
    """
    X = as_data_matrix(X)
    y = as_target_vector(y, X.shape[0])
    sol = certified_optimum(X, y, loss=loss, beta=beta, bias=bias, time_limit=time_limit)
    opt = float(sol.objective)
    cells = enumerate_cells(X, bias=bias)
    ms = sorted(nonneg_int(m, "m") for m in ms)
    stream = sample_patterns(X, max(ms) if ms else 0, bias=bias, gate_bias=gate_bias, seed=seed,
                             unique=False, standardize=standardize)
    keys = pattern_keys(stream) if len(stream) else np.zeros(0, np.dtype((np.void, 1)))
    rows = []
    jobs = []
    for m in ms:
        sub = stream[:m]
        if len(sub):
            _, first = np.unique(keys[:m], return_index=True)
            sub = sub[np.sort(first)]
        jobs.append((m, sub))
    if include_all_cells:
        jobs.append((None, cells.patterns))
    for m, P in jobs:
        if max_patterns is not None and len(P) > max_patterns:
            rows.append(PriceRow(m, int(len(P)), pattern_coverage(P, cells)[0], None, opt, None,
                                 f"skipped: {len(P)} patterns > {max_patterns}", 0.0))
            continue
        rows.append(restricted_objective(X, y, P, loss=loss, beta=beta, bias=bias, optimum=opt,
                                         cells=cells, m=m, time_limit=time_limit))
    return opt, rows


def price_of_sampling(cfg, *, deadline=None, say=None):
    """The price-of-sampling rows of the size study (a list of dicts).

    For each case ``(source, n, d[, form])`` of ``cfg.price_cases``
    (:class:`~exactrelu.studies.sizes.SweepConfig`) and each loss (interpolation;
    squared loss with ``beta = cfg.price_beta_fraction * beta_max``; targets: the
    dataset's own, or standard normal for synthetic data, standardized), the
    certified optimum and the restricted optimum over the patterns of the first ``m``
    Gaussian gates, for ``m`` in ``cfg.price_ms``, and over all cells.
    """
    say = say or (lambda msg: None)
    out = []
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
        tag = {"source": src, "form": ds.form, "n": n, "d": d}
        for loss in ("interpolate", "squared"):
            if deadline is not None and time.perf_counter() > deadline:
                out.append({**tag, "loss": loss, "status": "skipped: time budget"})
                continue
            beta = None
            try:
                if loss == "squared":
                    beta = cfg.price_beta_fraction * beta_max(ds.X, y, loss="squared")
                opt, rows = sampling_price(
                    ds.X, y, cfg.price_ms, loss=loss, beta=beta if beta else 1.0, bias=True,
                    seed=cfg.seed, max_patterns=cfg.price_max_patterns,
                    standardize=cfg.standardize_gates)
            except ExactReLUError as exc:
                out.append({**tag, "loss": loss, "beta": beta,
                            "status": f"optimum failed: {type(exc).__name__}: {exc}"})
                say(f"price {src} n={n} d={d} {loss}: {type(exc).__name__}")
                continue
            for r in rows:
                out.append({**r.to_dict(), **tag, "loss": loss, "beta": beta})
            gaps = [f"{r.m}:{'inf' if r.rel_gap is None else f'{r.rel_gap:.2g}'}" for r in rows]
            say(f"price {src} n={n} d={d} {loss}: optimum {opt:.6g}; gaps {' '.join(gaps)}")
    return out
