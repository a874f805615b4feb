"""Every figure of exactrelu.plotting, drawn from small synthetic results, checked for the
problems a reader sees: legends over the data, empty panels, two quantities on one axis,
unreadable fonts."""

import numpy as np
import pytest

pytest.importorskip("matplotlib")
import matplotlib  # noqa: E402

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.collections import Collection  # noqa: E402
from matplotlib.lines import Line2D  # noqa: E402

from exactrelu import plotting  # noqa: E402
from exactrelu.arrangement import cover_count  # noqa: E402
from exactrelu.network import ReLUNetwork  # noqa: E402
from exactrelu.sgd import History  # noqa: E402
from exactrelu.studies.report import SizeRow, SweepResult  # noqa: E402
from exactrelu.studies.results import Comparison, Run  # noqa: E402

MIN_FONT = 8.0


# ------------------------------------------------------------------ figure checks
def _figures(fig):
    out = [fig]
    for sf in getattr(fig, "subfigs", []):
        out += _figures(sf)
    return out


def _axes(fig):
    seen, out = set(), []
    for f in _figures(fig):
        for ax in f.axes:
            for a in [ax, *ax.child_axes]:
                if id(a) not in seen:
                    seen.add(id(a))
                    out.append(a)
    return out


def _legends(fig):
    legs = [ax.get_legend() for ax in _axes(fig)]
    for f in _figures(fig):
        legs += list(f.legends)
    return [g for g in legs if g is not None]


def _display_points(artist):
    if isinstance(artist, Line2D):
        return artist.get_transform().transform(np.asarray(artist.get_xydata(), float))
    assert isinstance(artist, Collection)
    return artist.get_offset_transform().transform(np.asarray(artist.get_offsets(), float))


def _overlap(a, b, tol=0.5):
    return (min(a.x1, b.x1) - max(a.x0, b.x0) > tol) and (min(a.y1, b.y1) - max(a.y0, b.y0) > tol)


def check_figure(fig, n_panels=None):
    """No empty panel, no legend over any panel's data area, readable legend fonts."""
    fig.canvas.draw()
    r = fig.canvas.get_renderer()
    axes = _axes(fig)
    if n_panels is not None:
        assert len([a for a in axes if a not in {c for ax in axes for c in ax.child_axes}]) \
            == n_panels
    for ax in axes:
        assert ax.get_visible() and ax.axison, "a panel without axes (empty or text only)"
        data = [a for a in ax.lines + ax.collections
                if len(_display_points(a)) and (a.get_transform() == ax.transData
                                                or isinstance(a, Collection))]
        assert data, f"empty panel: {ax.get_title()!r}"
    for leg in _legends(fig):
        box = leg.get_window_extent(r)
        for ax in axes:
            assert not _overlap(box, ax.get_window_extent(r)), \
                f"a legend covers the panel {ax.get_title()!r}"
        for t in leg.get_texts():
            assert t.get_fontsize() >= MIN_FONT
    return r


# ------------------------------------------------------------------ comparisons
def _history(width, seed, opt):
    steps = np.array([0, 1, 3, 7, 15, 100, 400])
    obj = opt * (1.0 + np.geomspace(5.0, 1e-3 * (1 + seed), steps.size) / np.sqrt(width))
    return History(steps=steps, times=steps * 1e-3, objective=obj, loss=0.5 * obj,
                   penalty=obj, width=width, seed=seed)


def _comparison(d=1, widths=(3, 10), exact_neurons=4, histories=True, mlp=True):
    rng = np.random.default_rng(0)
    n = 12
    X = rng.uniform(-1, 1, (n, d))
    y = np.sin(3 * X[:, 0])
    opt = 0.9

    def net(m):
        return ReLUNetwork(W=rng.standard_normal((m, d)), b=rng.standard_normal(m),
                           a=rng.standard_normal(m), c=0.1)

    runs = []
    for method in ("sgd", "mlp") if mlp else ("sgd",):
        for w in widths:
            for seed in range(3):
                gap = 10.0 ** -(1 + seed + w / 5)
                runs.append(Run(method, w, seed, opt * (1 + gap), opt, 0.0, gap, None, None, w,
                                0.1, None, network=net(w),
                                history=_history(w, seed, opt)
                                if histories and method == "sgd" else None))
    return Comparison(problem={"n": n, "d": d, "loss": "squared", "beta": 0.1, "tol": 0.01},
                      optimum=opt, lower_bound=opt, exact_gap=0.0, certified=True,
                      exact_seconds=0.01, exact_neurons=exact_neurons,
                      exact_network=net(exact_neurons), runs=runs, X=X, y=y)


@pytest.mark.parametrize("d, histories, panels", [(1, True, 4), (2, True, 3), (1, False, 2),
                                                  (2, False, 1)])
def test_comparison_panels_have_data_and_legends_stay_outside(d, histories, panels):
    cmp = _comparison(d=d, histories=histories)
    fig = plotting.plot_comparison(cmp, title="synthetic")
    try:
        check_figure(fig, n_panels=panels)
        text = fig._suptitle.get_text()
        assert "synthetic" in text and "4 neurons" in text
    finally:
        plt.close(fig)


@pytest.mark.parametrize("draw", [plotting.plot_traces, plotting.plot_gap_traces,
                                  plotting.plot_fits, plotting.plot_gap_vs_width])
def test_each_comparison_panel_alone(draw):
    ax = draw(_comparison())
    try:
        check_figure(ax.figure, n_panels=1)
    finally:
        plt.close(ax.figure)


def test_gap_vs_width_axis_shows_only_widths():
    """The x axis is the trained networks' width: the exact network's neuron count (4,
    no width here) is stated in the title, never drawn at x = 4."""
    cmp = _comparison(widths=(3, 10), exact_neurons=4)
    ax = plotting.plot_gap_vs_width(cmp)
    try:
        r = check_figure(ax.figure)
        box = ax.get_window_extent(r)
        inv = ax.transData.inverted()
        for art in ax.lines + ax.collections:
            for px, py in _display_points(art):
                if abs(px - box.x0) < 1 or abs(px - box.x1) < 1:
                    continue  # a horizontal reference line across the whole axes
                x = inv.transform((px, py))[0]
                assert min(abs(x / w - 1) for w in cmp.widths) < 0.1, \
                    f"an artist at x = {x:g} on the width axis (widths {cmp.widths})"
        assert all("exact" not in t.get_text() for t in ax.texts)
        assert all("exact" not in (lab or "") for lab in ax.get_legend_handles_labels()[1])
        assert "4 neurons" in ax.get_title()
        assert "width" in ax.get_xlabel()
        assert [t.get_text() for t in ax.get_xticklabels()] == ["3", "10"]
    finally:
        plt.close(ax.figure)


def test_plot_comparison_writes_file(tmp_path):
    out = tmp_path / "c.png"
    assert plotting.plot_comparison(_comparison(), path=out) is not None
    assert out.stat().st_size > 20000


# ------------------------------------------------------------------ sizes
def _row(source, form, n, d, cells, *, bias=True, coverage=False):
    cov = cover_count(n, d + 1)
    ratio = None if cells is None else cells / cov
    row = SizeRow(source, form, n, d, bias, d + 1, n, cells, cov, ratio, cov, None,
                  0, True, 0.01, 0.01)
    if coverage:
        m = [1, 10, 100, 1000]
        row.coverage = {"m": m, "fraction": [0.01, 0.1, 0.5, 0.9]}
        row.coverage_zero_bias = {"m": m, "fraction": [0.0, 0.01, 0.02, 0.02]}
    return row


def _sweep(ds=(1, 2), *, sources=("gaussian", "grid", "iris"), coverage=True, price=True):
    rows = []
    for d in ds:
        for n in (10, 20, 50):
            c = cover_count(n, d + 1)
            for src, form, cells in (("gaussian", "float", c), ("grid", "integer", int(0.8 * c)),
                                     ("iris", "float", c), ("iris", "decimal", int(0.6 * c))):
                if src in sources:
                    rows.append(_row(src, form, n, d, cells, coverage=coverage and n == 50))
                    rows.append(_row(src, form, n, d, cells // 2, bias=False))
    pr = []
    if price:
        for loss in ("interpolate", "squared"):
            for m, gap, status in ((1, None, "infeasible"), (10, 0.5, "optimal"),
                                   (100, 0.0, "optimal"), (None, 0.0, "optimal")):
                pr.append({"m": m, "rel_gap": gap, "status": status, "optimum": 1.0,
                           "source": "gaussian", "form": "float", "n": 10, "d": 2,
                           "loss": loss})
    return SweepResult(rows, pr, {}, {})


@pytest.mark.parametrize("kw, panels", [
    ({}, 2 + 1 + 2),                                      # cells per d, ratio, coverage, price
    ({"coverage": False, "price": False}, 3),             # a quick sweep without extras
    ({"ds": (1, 2, 3)}, 3 + 1 + 2),
    ({"ds": (1, 2, 3, 4)}, 4 + 1 + 2),                    # a 2 x 3 grid with one slot unused
    ({"ds": (1, 2, 3, 4, 5)}, 5 + 1 + 2),
    ({"sources": ("gaussian",)}, 2 + 2),                  # nothing for the ratio panel
    ({"sources": ("gaussian",), "coverage": False}, 2 + 1),
    ({"price": False}, 2 + 1 + 1),
])
def test_sizes_panels_have_data_and_legends_stay_outside(kw, panels):
    fig = plotting.sizes_figure(_sweep(**kw))
    try:
        check_figure(fig, n_panels=panels)
    finally:
        plt.close(fig)


def test_sizes_source_legend_is_shared_and_short():
    fig = plotting.sizes_figure(_sweep(ds=(1, 2, 3)))
    try:
        fig.canvas.draw()
        for ax in _axes(fig):
            if ax.get_title().startswith("cells"):
                assert ax.get_legend() is None  # the sources' legend is shared, outside
        shared = [g for f in _figures(fig) for g in f.legends]
        assert len(shared) == 1
        labels = [t.get_text() for t in shared[0].get_texts()]
        # one entry per source, two for the forms, one for Cover's curve
        assert len(labels) == 3 + 2 + 1
    finally:
        plt.close(fig)


def test_sizes_infeasible_marks_are_not_on_the_gap_axis():
    fig = plotting.sizes_figure(_sweep())
    try:
        fig.canvas.draw()
        (price,) = [ax for ax in _axes(fig) if "optimum - 1" in ax.get_ylabel()]
        # every point on the gap axis is a gap (the floor 1e-6 or more), at most the largest
        ys = np.concatenate([ln.get_ydata() for ln in price.lines
                             if ln.get_transform() == price.transData])
        assert ys.min() >= 1e-6 and ys.max() <= 0.5
        assert price.get_ylim()[1] < 10  # no room kept for marks at a made-up gap
        (strip,) = price.child_axes
        assert len(strip.collections[0].get_offsets()) == 2  # m = 1, two losses
    finally:
        plt.close(fig)


def test_plot_sizes_nothing_counted(tmp_path):
    res = SweepResult([_row("gaussian", "float", 10, 2, None)], [], {}, {})
    out = tmp_path / "s.png"
    assert plotting.plot_sizes(res, out) == out
    assert out.stat().st_size > 1000
    fig = plotting.sizes_figure(res)
    try:
        assert _axes(fig) == []
    finally:
        plt.close(fig)
