"""Figures for comparisons (matplotlib is imported inside the functions only).

- :func:`plot_traces`: the objective of every run against training steps, with
  the certified optimum as a line (and the relative gap on a log scale).
- :func:`plot_fits`: for d = 1, the data, the exact network and the SGD networks.
- :func:`plot_gap_vs_width`: final relative gap of every run against the width.
- :func:`plot_comparison`: all of them in one figure, optionally saved to a file.

Install the extra with ``pip install exactrelu[plot]``.
"""

from __future__ import annotations

import numpy as np

from .errors import NotSupportedError

__all__ = ["plot_traces", "plot_gap_traces", "plot_fits", "plot_gap_vs_width", "plot_comparison"]

_GAP_FLOOR = 1e-7


def _plt():
    try:
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


def plot_traces(cmp, ax=None, *, method="sgd"):
    """Objective of every ``method`` run against steps (log y), optimum as a line."""
    ax = _new_ax(ax)
    colors = _width_colors(cmp.widths)
    seen = set()
    for r in cmp.select(method):
        h = r.history
        if h is None:
            continue
        lab = f"width {r.width}" if r.width not in seen else None
        seen.add(r.width)
        ax.plot(h.steps + 1, h.objective, color=colors[r.width], lw=1.0, alpha=0.8,
                label=lab)
    ax.axhline(cmp.optimum, color="k", ls="--", lw=1.5,
               label=f"certified optimum {cmp.optimum:.4g}")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("step + 1")
    ax.set_ylabel("objective (loss + beta * penalty)")
    ax.set_title("SGD objective traces")
    ax.legend(fontsize=8)
    ax.grid(True, which="major", alpha=0.3)
    return ax


def plot_gap_traces(cmp, ax=None, *, method="sgd"):
    """Relative gap (objective - optimum) / optimum of every run, log-log."""
    ax = _new_ax(ax)
    colors = _width_colors(cmp.widths)
    opt = cmp.optimum
    den = max(abs(opt), 1e-12)
    seen = set()
    for r in cmp.select(method):
        h = r.history
        if h is None:
            continue
        lab = f"width {r.width}" if r.width not in seen else None
        seen.add(r.width)
        gap = np.maximum((h.objective - opt) / den, _GAP_FLOOR)
        ax.plot(h.steps + 1, gap, color=colors[r.width], lw=1.0, alpha=0.8, label=lab)
    ax.axhline(cmp.tol, color="r", ls=":", lw=1.2, label=f"{100 * cmp.tol:g}% of the optimum")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("step + 1")
    ax.set_ylabel("relative gap to the optimum")
    ax.set_title(f"gap traces (floored at {_GAP_FLOOR:g})")
    ax.legend(fontsize=8)
    ax.grid(True, which="major", alpha=0.3)
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
