"""Every figure of the package (matplotlib is imported inside the functions only).

Comparisons (:func:`exactrelu.compare`):

- :func:`plot_traces`: the objective of every run against training steps, with
  the certified optimum as a line.
- :func:`plot_gap_traces`: the relative gap of every run against training steps.
- :func:`plot_fits`: for d = 1, the data, the exact network and the SGD networks.
- :func:`plot_gap_vs_width`: final relative gap of every run against the width.
- :func:`plot_comparison`: those of them that the result has data for, in one
  figure, optionally saved to a file.

The size study (:mod:`exactrelu.studies.sizes`):

- :func:`plot_sizes`: cells against n with Cover's curve, cells / Cover for real
  data, the coverage of random gates and the price of sampling, in one figure
  (the panels the sweep has data for), saved to a file; :func:`sizes_figure`
  returns that figure instead.

Conventions: every legend is drawn outside the data area of its axes (to the right
of a panel, or of a group of panels that share it), so no legend covers data; a
figure has one panel per thing it has data for (no empty panels); every axis
carries one quantity (e.g. the exact network's neuron count is written in a
title, not drawn on the axis of the trained networks' widths).

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
           "plot_sizes", "sizes_figure"]

_GAP_FLOOR = 1e-7
_LEGEND_FONT = 9.5
_TITLE_FONT = 11.5
_LABEL_FONT = 10.5


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
    """``ax``, or the axes of a new figure whose layout leaves room for an outside legend."""
    if ax is None:
        plt = _plt()
        _, ax = plt.subplots(figsize=(8.5, 4.5), layout="constrained")
    return ax


def _legend_outside(ax, handles=None, labels=None, **kw):
    """The legend of ``ax`` to the right of its data area (it never covers the data)."""
    if handles is None:
        handles, labels = ax.get_legend_handles_labels()
    if not handles:
        return None
    kw.setdefault("fontsize", _LEGEND_FONT)
    return ax.legend(handles, labels, loc="upper left", bbox_to_anchor=(1.02, 1.0),
                     borderaxespad=0.0, **kw)


def _key(label, *, color="0.35", ls="-", marker=None, mfc=None, lw=1.2, ms=6):
    """A legend entry that explains a style (not tied to one drawn line)."""
    from matplotlib.lines import Line2D

    return Line2D([], [], color=color, ls=ls, marker=marker, lw=lw, ms=ms,
                  mfc=color if mfc is None else mfc, label=label)


def _titles(ax, *, title, xlabel, ylabel=None):
    ax.set_title(title, fontsize=_TITLE_FONT)
    ax.set_xlabel(xlabel, fontsize=_LABEL_FONT)
    if ylabel is not None:
        ax.set_ylabel(ylabel, fontsize=_LABEL_FONT)


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
    _titles(ax, title=title, xlabel=xlabel, ylabel=ylabel)
    ax.grid(True, which=grid, alpha=0.3)


def _has_histories(cmp, method="sgd"):
    return any(r.history is not None for r in cmp.select(method))


def plot_traces(cmp, ax=None, *, method="sgd"):
    """Objective of every ``method`` run against steps (log y), optimum as a line."""
    ax = _new_ax(ax)
    _per_run_lines(ax, cmp, method, lambda h: h.objective)
    ax.axhline(cmp.optimum, color="k", ls="--", lw=1.5,
               label=f"certified optimum\n{cmp.optimum:.4g}")
    _log_axes(ax, title=f"{method.upper()} objective traces", xlabel="step + 1",
              ylabel="objective (loss + beta * penalty)")
    _legend_outside(ax)
    return ax


def plot_gap_traces(cmp, ax=None, *, method="sgd"):
    """Relative gap (objective - optimum) / optimum of every run, log-log."""
    ax = _new_ax(ax)
    opt = cmp.optimum
    den = max(abs(opt), 1e-12)
    _per_run_lines(ax, cmp, method, lambda h: np.maximum((h.objective - opt) / den, _GAP_FLOOR))
    ax.axhline(cmp.tol, color="r", ls=":", lw=1.2, label=f"{100 * cmp.tol:g}% of the optimum")
    _log_axes(ax, title=f"{method.upper()} gap traces (floored at {_GAP_FLOOR:g})",
              xlabel="step + 1", ylabel="relative gap to the optimum")
    _legend_outside(ax)
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
            label=f"exact optimum\n({cmp.exact_neurons} neurons)")
    ax.scatter(x, cmp.y, s=28, color="tab:red", zorder=5, label="data", edgecolor="white", lw=0.5)
    _titles(ax, title="fitted functions", xlabel="x", ylabel="f(x)")
    _legend_outside(ax)
    ax.grid(True, alpha=0.3)
    return ax


def plot_gap_vs_width(cmp, ax=None):
    """Final relative gap of every run against the width (medians joined), log y.

    The x axis is the width of the trained networks only; the exact network's
    neuron count is stated in the title.
    """
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
    ax.axhline(cmp.tol, color="r", ls=":", lw=1.2, label=f"{100 * cmp.tol:g}% of the optimum")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xticks(widths)
    ax.set_xticklabels([str(w) for w in widths])
    ax.minorticks_off()
    if widths:
        ax.set_xlim(min(widths) / 1.35, max(widths) * 1.35)
    _titles(ax, title="final gap versus width\n"
            f"(the certified optimum's network has {cmp.exact_neurons} neurons)",
            xlabel="width of the trained network (hidden neurons)",
            ylabel=f"final relative gap (floored at {_GAP_FLOOR:g})")
    _legend_outside(ax)
    ax.grid(True, which="major", alpha=0.3)
    return ax


def _comparison_caption(cmp):
    """One line: the certified optimum and each method's runs."""
    parts = [f"certified optimum {cmp.optimum:.6g} ({cmp.exact_neurons} neurons, "
             f"{cmp.exact_seconds:.3g} s)"]
    for m in cmp.methods:
        s = cmp.summary(m)
        if s["runs"]:
            parts.append(f"{m}: {s['runs']} runs, median gap {100 * s['median']:.3g}%, "
                         f"{100 * s['within_tol']:.0f}% within {100 * cmp.tol:g}%")
    return "; ".join(parts)


def plot_comparison(cmp, path=None, *, title=None, dpi=120):
    """One figure with a panel for each thing the result has data for: traces and gap
    traces (when the SGD runs have histories), fitted functions (d = 1) and gap vs
    width (when there are runs); the title says the optimum and each method's gaps.

    Returns the matplotlib Figure; saved to ``path`` when given.
    """
    plt = _plt()
    panels = []
    if _has_histories(cmp):
        panels += [plot_traces, plot_gap_traces]
    if cmp.X is not None and cmp.X.shape[1] == 1 and cmp.exact_network is not None:
        panels.append(plot_fits)
    if cmp.runs:
        panels.append(plot_gap_vs_width)
    k = len(panels)
    nrows, ncols = (2, 2) if k == 4 else (1, max(1, k))
    fig = plt.figure(figsize=(7.0 * ncols, 4.6 * nrows + (0.6 if nrows > 1 else 1.2)),
                     layout="constrained")
    if k:
        axes = fig.subplots(nrows, ncols, squeeze=False).ravel()
        for ax, draw in zip(axes, panels):
            draw(cmp, ax)
    fig.suptitle("\n".join(t for t in (title, _comparison_caption(cmp)) if t),
                 fontsize=_TITLE_FONT + 0.5)
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
_FORMS = ("float", "integer", "decimal")
_PRICE_FLOOR = 1e-6
_LOSS_STYLE = {"interpolate": ("-", "o")}
_OTHER_LOSS_STYLES = [("--", "s"), (":", "^"), ("-.", "D")]


def plot_sizes(result, path):
    """Draw the size study (a :class:`~exactrelu.studies.report.SweepResult`) to ``path``:
    cells vs n (log-log, one panel per d, with Cover's curve) and cells / Cover for
    real data, sharing one legend of the data sources; the coverage of random gates
    and the price of sampling, each with its own legend. Only the panels the sweep
    has data for are drawn. Needs matplotlib."""
    plt = _plt(agg=True)
    fig = sizes_figure(result)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def sizes_figure(result):
    """The matplotlib Figure that :func:`plot_sizes` saves (the caller closes it)."""
    plt = _plt(agg=True)
    rows = [r for r in result.rows if r.bias]
    ds = sorted({r.d for r in rows if r.cells})
    d_ratio = _ratio_d(rows, ds)
    picked = _pick_coverage_rows(sorted((r for r in rows if r.coverage and r.cells),
                                        key=lambda r: r.cells))
    groups = _price_groups(result.price)

    n_top = len(ds) + (d_ratio is not None)
    n_bottom = bool(picked) + bool(groups)
    top_cols = 0 if not n_top else (2 if n_top == 4 else min(3, n_top))
    top_rows = math.ceil(n_top / top_cols) if n_top else 0
    width = max(4.6 * top_cols + 2.6, 7.0 * n_bottom, 7.0)
    fig = plt.figure(figsize=(width, 3.9 * top_rows + 4.1 * bool(n_bottom) + 0.3),
                     layout="constrained")
    if not n_top and not n_bottom:
        fig.text(0.5, 0.5, "nothing to draw: no row of the sweep was counted", ha="center",
                 va="center", fontsize=_TITLE_FONT)
    elif n_top and n_bottom:
        top, bottom = fig.subfigures(2, 1, height_ratios=[3.9 * top_rows, 4.1])
    else:
        top = bottom = fig

    if n_top:
        axes = top.subplots(top_rows, top_cols, squeeze=False).ravel()
        drawn = {}
        for ax, d in zip(axes, ds):
            drawn.update(_cells_panel(ax, rows, d))
        if d_ratio is not None:
            drawn.update(_ratio_panel(axes[len(ds)], rows, d_ratio))
        for ax in axes[n_top:]:
            ax.remove()  # a grid slot without data: no axes at all
        handles = _source_legend(drawn)
        top.legend(handles=handles, loc="outside right upper", fontsize=_LEGEND_FONT,
                   title="data", title_fontsize=_LEGEND_FONT)
    if n_bottom:
        axes = list(bottom.subplots(1, n_bottom, squeeze=False).ravel())
        if picked:
            _coverage_panel(plt, axes.pop(0), picked)
        if groups:
            _price_panel(plt, axes.pop(0), groups)
    return fig


def _source_line(ax, pts, src, form, ms):
    """One source and form: solid and filled, or dashed and hollow for exact decimals."""
    st = _SOURCE_STYLE[src]
    hollow = form == "decimal"
    ax.plot(*zip(*pts), ls="--" if hollow else "-", lw=0.8, ms=ms, marker=st["marker"],
            color=st["color"], mfc="white" if hollow else st["color"], label=f"{src} ({form})")


def _source_legend(drawn):
    """Legend entries for the sources drawn (color and marker), the forms (line and
    fill) and Cover's curve; ``drawn`` maps (source, form) -> True and "cover" -> True."""
    pairs = [k for k in drawn if k != "cover"]
    handles = []
    for src in SYNTHETIC_SOURCES + REAL_SOURCES:
        forms = [f for s, f in pairs if s == src]
        if forms:
            st = _SOURCE_STYLE[src]
            handles.append(_key(src if len(forms) > 1 else f"{src} ({forms[0]})",
                                color=st["color"], marker=st["marker"], lw=0.8))
    if any(f == "decimal" for _, f in pairs):
        handles.append(_key("float or integer data:\nsolid, filled", marker="o", lw=0.8))
        handles.append(_key("exact decimal data:\ndashed, hollow", marker="o", mfc="white",
                            ls="--", lw=0.8))
    if drawn.get("cover"):
        handles.append(_key("Cover's bound\n(general position)", color="0.6", lw=2.5))
    return handles


def _cells_panel(ax, rows, d):
    """Cells against n for one d, with Cover's curve for points in general position."""
    sel = [r for r in rows if r.d == d and r.cells]
    drawn = {}
    if sel:
        ns = np.unique(np.geomspace(max(2, min(r.n for r in sel)), max(r.n for r in sel), 60)
                       .astype(int))
        ax.plot(ns, [cover_count(int(v), d + 1) for v in ns], "-", color="0.6", lw=2.5,
                label="Cover (general position)", zorder=0)
        drawn["cover"] = True
    for src in SYNTHETIC_SOURCES + REAL_SOURCES:
        for form in _FORMS:
            pts = sorted((r.n, r.cells) for r in sel if r.source == src and r.form == form)
            if pts:
                _source_line(ax, pts, src, form, ms=5)
                drawn[(src, form)] = True
    _log_axes(ax, title=f"cells vs n, d = {d} (with bias)", xlabel="n (points)", ylabel="cells")
    return drawn


_RATIO_SOURCES = REAL_SOURCES + ("grid", "duplicated")


def _ratio_rows(rows, d):
    return [r for r in rows if r.source in _RATIO_SOURCES and r.cells and r.d == d]


def _ratio_d(rows, ds):
    """The d of the ratio panel: 2 if it has rows, else the smallest d that has; None if
    no d has."""
    for d in sorted(ds, key=lambda d: (d != 2, d)):
        if _ratio_rows(rows, d):
            return d
    return None


def _ratio_panel(ax, rows, d):
    """Cells / Cover's bound for n points in general position, one d."""
    sel = _ratio_rows(rows, d)
    drawn = {}
    for src in _RATIO_SOURCES:
        for form in _FORMS:
            pts = sorted((r.n, r.cells / r.cover_general) for r in sel
                         if r.source == src and r.form == form)
            if pts:
                _source_line(ax, pts, src, form, ms=4)
                drawn[(src, form)] = True
    _log_axes(ax, title=f"cells / Cover's bound for n points, d = {d} (with bias)",
              xlabel="n (points)",
              ylabel="cells / Cover(n, d + 1)", grid="both")
    return drawn


def _coverage_panel(plt, ax, picked):
    """Fraction of the cells that m random gates find, a few datasets."""
    colors = plt.cm.tab10(np.arange(10))
    zero = False
    for i, r in enumerate(picked):
        c = colors[i % 10]
        lab = f"{r.source}/{r.form} n={r.n} d={r.d}\n({fmt_int(r.cells)} cells)"
        ax.plot(r.coverage["m"], r.coverage["fraction"], "-", color=c, lw=1.5, label=lab)
        if r.coverage_zero_bias:
            zero = True
            ax.plot(r.coverage_zero_bias["m"], r.coverage_zero_bias["fraction"], ":", color=c,
                    lw=1.5)
    ax.axhline(0.99, color="0.5", lw=0.8, ls="-.")
    ax.set_ylim(0, 1.02)
    _log_axes(ax, title="coverage of the cells by m random gates", xlabel="m (gates)",
              ylabel="fraction of the cells found", logy=False)
    handles, labels = ax.get_legend_handles_labels()
    keys = [_key("gates with Gaussian bias")]
    if zero:
        keys.append(_key("gates with zero bias", ls=":"))
    keys.append(_key("99% of the cells", color="0.5", ls="-.", lw=0.8))
    _legend_outside(ax, handles + keys, labels + [k.get_label() for k in keys])


def _price_groups(price):
    """{(source, form, n, d): {loss: [rows with m]}} of the price rows with an optimum."""
    groups = {}
    for p in price:
        if "optimum" in p and p.get("m") is not None:
            groups.setdefault((p["source"], p["form"], p["n"], p["d"]), {}).setdefault(
                p["loss"], []).append(p)
    return groups


def _loss_styles(groups):
    losses = []
    for by_loss in groups.values():
        losses += [loss for loss in by_loss if loss not in losses]
    losses.sort(key=lambda loss: loss != "interpolate")
    others = iter(_OTHER_LOSS_STYLES * len(losses))
    return {loss: _LOSS_STYLE.get(loss) or next(others) for loss in losses}


def _price_panel(plt, ax, groups):
    """Restricted objective over the patterns of m gates / optimum - 1, per problem.

    Gaps at or below the floor (optimal) are drawn at the floor; an infeasible
    restricted program has no gap: it is marked with an x in a strip above the axes
    (same m axis), not at a made-up gap."""
    from matplotlib.lines import Line2D

    styles = _loss_styles(groups)
    colors = plt.cm.tab10(np.arange(10))
    handles, infeasible = [], []
    for i, ((src, form, n, d), by_loss) in enumerate(groups.items()):
        c = colors[i % 10]
        handles.append(Line2D([], [], color=c, lw=2, label=f"{src}/{form} n={n} d={d}"))
        for loss, ps in by_loss.items():
            ps.sort(key=lambda p: p["m"])
            ok = [(p["m"], max(p["rel_gap"], _PRICE_FLOOR)) for p in ps
                  if p["rel_gap"] is not None]
            ls, mk = styles[loss]
            if ok:
                ax.plot(*zip(*ok), ls=ls, marker=mk, ms=3.5, color=c)
            infeasible += [(p["m"], c) for p in ps if p["status"] == "infeasible"]
    _log_axes(ax, title="price of sampling the patterns", xlabel="m (gates)",
              ylabel=f"restricted optimum / optimum - 1\n(optimal: drawn at {_PRICE_FLOOR:g})")
    ax.set_ylim(bottom=_PRICE_FLOOR / 2)
    if infeasible:
        strip = ax.inset_axes([0.0, 1.015, 1.0, 0.07], sharex=ax)
        strip.scatter([m for m, _ in infeasible], [0.0] * len(infeasible), marker="x", s=40,
                      c=[c for _, c in infeasible], linewidths=1.5)
        strip.set_ylim(-1, 1)
        strip.set_yticks([])
        strip.tick_params(axis="x", which="both", bottom=False, labelbottom=False)
        strip.set_ylabel("infeasible", rotation=0, ha="right", va="center",
                         fontsize=_LEGEND_FONT)
        strip.grid(True, axis="x", alpha=0.3)
        ax.set_title("")
        strip.set_title("price of sampling the patterns", fontsize=_TITLE_FONT)
    for loss, (ls, mk) in styles.items():
        handles.append(_key(f"loss: {loss}", ls=ls, marker=mk, ms=4))
    if infeasible:
        handles.append(_key("infeasible (no gap)", ls="none", marker="x", ms=7))
    _legend_outside(ax, handles, [h.get_label() for h in handles])


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
