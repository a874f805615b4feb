"""Every figure of the package (matplotlib is imported inside the functions only).

Comparisons (:func:`exactrelu.compare`):

- :func:`plot_traces`: the objective of every run against training steps, with
  the certified optimum as a line (and the relative gap on a log scale).
- :func:`plot_fits`: for d = 1, the data, the exact network and the SGD networks.
- :func:`plot_gap_vs_width`: final relative gap of every run against the width.
- :func:`plot_comparison`: all of them in one figure, optionally saved to a file.

The size study (:mod:`exactrelu.studies.sizes`):

- :func:`plot_sizes`: cells against n with Cover's curve, cells / Cover for real
  data, the coverage of random gates and the price of sampling, in one figure.

Install the extra with ``pip install exactrelu[plot]``.
"""

from __future__ import annotations

import math

import numpy as np

from ._format import fmt_int
from .arrangement import cover_count
from .datasets import REAL_SOURCES, SYNTHETIC_SOURCES
from .errors import NotSupportedError

__all__ = ["plot_traces", "plot_gap_traces", "plot_fits", "plot_gap_vs_width", "plot_comparison",
           "plot_sizes"]

_GAP_FLOOR = 1e-7


def _plt(agg=False):
    """``matplotlib.pyplot`` (with the Agg backend when ``agg``: drawing to files only)."""
    try:
        import matplotlib

        if agg:
            matplotlib.use("Agg")
        import matplotlib.pyplot as plt  # falls back to Agg when there is no display
    except ImportError:
        raise NotSupportedError("plotting needs matplotlib (pip install exactrelu[plot])") from None
    return plt


def _width_colors(widths):
    plt = _plt()
    cmap = plt.get_cmap("viridis")
    k = len(widths)
    return {w: cmap(0.1 + 0.75 * (i / max(1, k - 1))) for i, w in enumerate(widths)}


def _new_ax(ax):
    if ax is None:
        plt = _plt()
        _, ax = plt.subplots(figsize=(6, 4))
    return ax


def _per_run_lines(ax, cmp, method, values):
    """One line per ``method`` run against steps + 1 (``values(history)``), one label per
    width."""
    colors = _width_colors(cmp.widths)
    seen = set()
    for r in cmp.select(method):
        h = r.history
        if h is None:
            continue
        lab = f"width {r.width}" if r.width not in seen else None
        seen.add(r.width)
        ax.plot(h.steps + 1, values(h), color=colors[r.width], lw=1.0, alpha=0.8, label=lab)


def _log_axes(ax, *, title, xlabel, ylabel=None, logy=True, grid="major"):
    """Log x (and y) axes with their title, labels and a light grid."""
    ax.set_xscale("log")
    if logy:
        ax.set_yscale("log")
    ax.set_title(title)
    ax.set_xlabel(xlabel)
    if ylabel is not None:
        ax.set_ylabel(ylabel)
    ax.grid(True, which=grid, alpha=0.3)


def _log_log(ax, ylabel, title):
    _log_axes(ax, title=title, xlabel="step + 1", ylabel=ylabel)
    ax.legend(fontsize=8)


def plot_traces(cmp, ax=None, *, method="sgd"):
    """Objective of every ``method`` run against steps (log y), optimum as a line."""
    ax = _new_ax(ax)
    _per_run_lines(ax, cmp, method, lambda h: h.objective)
    ax.axhline(cmp.optimum, color="k", ls="--", lw=1.5,
               label=f"certified optimum {cmp.optimum:.4g}")
    _log_log(ax, "objective (loss + beta * penalty)", "SGD objective traces")
    return ax


def plot_gap_traces(cmp, ax=None, *, method="sgd"):
    """Relative gap (objective - optimum) / optimum of every run, log-log."""
    ax = _new_ax(ax)
    opt = cmp.optimum
    den = max(abs(opt), 1e-12)
    _per_run_lines(ax, cmp, method, lambda h: np.maximum((h.objective - opt) / den, _GAP_FLOOR))
    ax.axhline(cmp.tol, color="r", ls=":", lw=1.2, label=f"{100 * cmp.tol:g}% of the optimum")
    _log_log(ax, "relative gap to the optimum", f"gap traces (floored at {_GAP_FLOOR:g})")
    return ax


def plot_fits(cmp, ax=None, *, method="sgd", max_runs=None, grid=400):
    """For d = 1: the data, the exact network and the final ``method`` networks."""
    if cmp.X is None or cmp.X.shape[1] != 1:
        raise NotSupportedError("plot_fits needs one-dimensional inputs (d = 1)")
    ax = _new_ax(ax)
    colors = _width_colors(cmp.widths)
    x = cmp.X[:, 0]
    lo, hi = float(x.min()), float(x.max())
    pad = 0.08 * (hi - lo if hi > lo else 1.0)
    t = np.linspace(lo - pad, hi + pad, grid)[:, None]
    runs = [r for r in cmp.select(method) if r.network is not None]
    if max_runs is not None:
        runs = runs[:max_runs]
    seen = set()
    for r in runs:
        lab = f"{method} width {r.width}" if r.width not in seen else None
        seen.add(r.width)
        ax.plot(t[:, 0], r.network.predict(t), color=colors[r.width], lw=1.0, alpha=0.7,
                label=lab)
    ax.plot(t[:, 0], cmp.exact_network.predict(t), color="k", lw=2.2, ls="--",
            label=f"exact optimum ({cmp.exact_neurons} neurons)")
    ax.scatter(x, cmp.y, s=28, color="tab:red", zorder=5, label="data", edgecolor="white", lw=0.5)
    ax.set_xlabel("x")
    ax.set_ylabel("f(x)")
    ax.set_title("fitted functions")
    ax.legend(fontsize=8)
    ax.grid(True, alpha=0.3)
    return ax


def plot_gap_vs_width(cmp, ax=None):
    """Final relative gap of every run against the width (medians joined), log y."""
    ax = _new_ax(ax)
    markers = {"sgd": "o", "mlp": "s"}
    widths = cmp.widths
    for k, m in enumerate(cmp.methods):
        runs = cmp.select(m)
        jitter = 1.0 + 0.04 * (k - 0.5 * (len(cmp.methods) - 1))
        xs = np.array([r.width for r in runs], dtype=float) * jitter
        gs = np.maximum([r.rel_gap for r in runs], _GAP_FLOOR)
        ax.scatter(xs, gs, marker=markers.get(m, "^"), alpha=0.6, label=f"{m} runs")
        med = cmp.by_width(m)
        ws = [w for w in widths if w in med]
        ax.plot(np.array(ws, dtype=float) * jitter,
                np.maximum([med[w]["median"] for w in ws], _GAP_FLOOR), lw=1.2,
                label=f"{m} median")
    ax.axhline(cmp.tol, color="r", ls=":", lw=1.2, label=f"{100 * cmp.tol:g}%")
    ax.axvline(cmp.exact_neurons, color="k", ls="--", lw=1.0,
               label=f"exact network: {cmp.exact_neurons} neurons")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xticks(widths)
    ax.set_xticklabels([str(w) for w in widths])
    ax.minorticks_off()
    ax.set_xlabel("width (hidden neurons)")
    ax.set_ylabel(f"final relative gap (floored at {_GAP_FLOOR:g})")
    ax.set_title("gap versus width")
    ax.legend(fontsize=8)
    ax.grid(True, which="major", alpha=0.3)
    return ax


def plot_comparison(cmp, path=None, *, title=None, dpi=120):
    """One figure: traces, gap traces, fitted functions (d = 1) and gap vs width.

    Returns the matplotlib Figure; saved to ``path`` when given.
    """
    plt = _plt()
    fig, axes = plt.subplots(2, 2, figsize=(12, 8.5))
    plot_traces(cmp, axes[0, 0])
    plot_gap_traces(cmp, axes[0, 1])
    if cmp.X is not None and cmp.X.shape[1] == 1:
        plot_fits(cmp, axes[1, 0])
    else:
        ax = axes[1, 0]
        s = cmp.summary("sgd")
        lines = [
            f"n = {cmp.problem['n']}, d = {cmp.problem['d']}",
            f"certified optimum: {cmp.optimum:.6g}",
            f"exact network: {cmp.exact_neurons} neurons, {cmp.exact_seconds:.3g} s",
            f"SGD runs: {s['runs']}",
        ]
        if s["runs"]:
            lines += [
                f"best / median / worst gap: {100 * s['best']:.3g}% / "
                f"{100 * s['median']:.3g}% / {100 * s['worst']:.3g}%",
                f"within {100 * cmp.tol:g}%: {100 * s['within_tol']:.0f}% of runs",
            ]
        ax.text(0.05, 0.95, "\n".join(lines), va="top", ha="left", transform=ax.transAxes,
                fontsize=11, family="monospace")
        ax.set_axis_off()
        ax.set_title("summary (fitted functions are drawn for d = 1 only)")
    plot_gap_vs_width(cmp, axes[1, 1])
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    if path is not None:
        fig.savefig(path, dpi=dpi)
        plt.close(fig)
    return fig


# --------------------------------------------------------------------------- sizes
_SOURCE_STYLE = {
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


def plot_sizes(result, path):
    """Draw the size study (a :class:`~exactrelu.studies.report.SweepResult`) to ``path``:
    cells vs n (log-log, per d, with Cover's curve), cells / Cover for real data,
    coverage vs m, and the price of sampling. Needs matplotlib."""
    plt = _plt(agg=True)
    rows = [r for r in result.rows if r.bias]
    ds = sorted({r.d for r in rows})
    n_panels = len(ds) + 3
    ncols = min(4, n_panels)
    nrows = math.ceil(n_panels / ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(4.6 * ncols, 4.0 * nrows), squeeze=False)
    axes = axes.ravel()
    for ax, d in zip(axes, ds):
        _cells_panel(ax, rows, d)
    if ds:
        handles, labels = [], []
        for ax in axes[: len(ds)]:
            for h, l in zip(*ax.get_legend_handles_labels()):
                if l not in labels:
                    handles.append(h)
                    labels.append(l)
        axes[0].legend(handles, labels, fontsize=6.5, loc="upper left", ncol=1)
    _ratio_panel(axes[len(ds)], rows, 2 if 2 in ds else (ds[0] if ds else 2))
    _coverage_panel(plt, axes[len(ds) + 1], rows)
    _price_panel(plt, axes[len(ds) + 2], result.price)
    for ax in axes[len(ds) + 3:]:
        ax.axis("off")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def _source_line(ax, pts, src, form, ms):
    """One source and form: solid and filled, or dashed and hollow for exact decimals."""
    st = _SOURCE_STYLE[src]
    hollow = form == "decimal"
    ax.plot(*zip(*pts), ls="--" if hollow else "-", lw=0.8, ms=ms, marker=st["marker"],
            color=st["color"], mfc="white" if hollow else st["color"], label=f"{src} ({form})")


def _cells_panel(ax, rows, d):
    """Cells against n for one d, with Cover's curve for points in general position."""
    sel = [r for r in rows if r.d == d and r.cells]
    if sel:
        ns = np.unique(np.geomspace(max(2, min(r.n for r in sel)), max(r.n for r in sel), 60)
                       .astype(int))
        ax.plot(ns, [cover_count(int(v), d + 1) for v in ns], "-", color="0.6", lw=2,
                label="Cover (general position)", zorder=0)
    for src in SYNTHETIC_SOURCES + REAL_SOURCES:
        for form in ("float", "integer", "decimal"):
            pts = sorted((r.n, r.cells) for r in sel if r.source == src and r.form == form)
            if pts:
                _source_line(ax, pts, src, form, ms=5)
    _log_axes(ax, title=f"cells vs n, d = {d} (with bias)", xlabel="n", ylabel="cells")


def _ratio_panel(ax, rows, d):
    """Cells / Cover's bound for n points in general position, one d."""
    for src in REAL_SOURCES + ("grid", "duplicated"):
        for form in ("float", "decimal", "integer"):
            pts = sorted((r.n, r.cells / r.cover_general) for r in rows
                         if r.source == src and r.form == form and r.cells and r.d == d)
            if pts:
                _source_line(ax, pts, src, form, ms=4)
    _log_axes(ax, title=f"cells / Cover(n, d+1), d = {d}, with bias\n"
              "(hollow, dashed: exact decimal)", xlabel="n", grid="both")


def _coverage_panel(plt, ax, rows):
    cands = [r for r in rows if r.coverage and r.cells]
    cands.sort(key=lambda r: r.cells)
    picked = _pick_coverage_rows(cands)
    colors = plt.cm.viridis(np.linspace(0, 0.9, max(1, len(picked))))
    for c, r in zip(colors, picked):
        lab = f"{r.source}/{r.form} n={r.n} d={r.d} ({fmt_int(r.cells)} cells)"
        ax.plot(r.coverage["m"], r.coverage["fraction"], "-", color=c, label=lab)
        if r.coverage_zero_bias:
            ax.plot(r.coverage_zero_bias["m"], r.coverage_zero_bias["fraction"], ":", color=c)
    ax.axhline(0.99, color="0.5", lw=0.8)
    ax.set_ylim(0, 1.02)
    _log_axes(ax, title="coverage of the cells by m gates\n(solid: Gaussian bias, dotted: zero "
              "bias)", xlabel="m (gates)", ylabel="fraction of cells found", logy=False)
    if picked:
        ax.legend(fontsize=6.5, loc="upper left")


def _price_panel(plt, ax, price):
    groups = {}
    for p in price:
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
    _log_axes(ax, title="price of sampling: restricted / optimum - 1\n"
              f"(x at top: infeasible; {floor:g}: optimal)", xlabel="m (gates)")
    ax.set_ylim(floor / 2, 100)
    if groups:
        ax.legend(fontsize=5.5, loc="upper right", framealpha=0.6)


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
