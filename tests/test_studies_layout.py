"""The layout of the studies: public names, one Dataset type, the progress helper, the CLI."""

import importlib
import io
import types

import numpy as np
import pytest

import exactrelu
from exactrelu import datasets
from exactrelu._progress import Progress


def test_public_names_resolve_to_the_studies():
    import exactrelu.studies.comparison  # importing the module must not hide the function

    assert isinstance(exactrelu.compare, types.FunctionType)
    assert exactrelu.compare is exactrelu.studies.comparison.compare
    assert exactrelu.Comparison is exactrelu.studies.results.Comparison
    assert exactrelu.sizes is importlib.import_module("exactrelu.studies.sizes")
    assert exactrelu.sampling is importlib.import_module("exactrelu.studies.sampling")
    for name in ("sgd", "datasets", "plotting"):
        assert isinstance(getattr(exactrelu, name), types.ModuleType)
    assert set(exactrelu.sizes.__all__) <= set(dir(exactrelu.sizes))
    assert set(exactrelu.sampling.__all__) <= set(dir(exactrelu.sampling))


def test_one_dataset_type():
    small = datasets.make_dataset("sine1d", n=6)
    swept = exactrelu.sizes.make_data("grid", 9, 2)
    real_form = datasets.make_data("gaussian", 5, 3)
    assert type(small) is type(swept) is type(real_form) is datasets.Dataset
    assert exactrelu.sizes.Dataset is datasets.Dataset
    assert swept.source == swept.name == "grid" and swept.y is None and swept.task is None
    assert (small.n, small.d, swept.n, swept.d) == (6, 1, 9, 2)
    assert small.form == "float" and small.loss == "squared"


def test_subsample_rows_is_sorted_and_reproducible():
    rows = datasets.subsample_rows(20, 5, seed=3)
    assert np.array_equal(rows, np.sort(rows)) and len(set(rows)) == 5
    assert np.array_equal(rows, datasets.subsample_rows(20, 5, seed=3))
    assert np.array_equal(datasets.subsample_rows(4, 9, seed=0), np.arange(4))


def test_progress_is_quiet_by_default():
    out = io.StringIO()
    p = Progress(stream=out, total=2)
    p.message("hello")
    p.step("one")
    assert out.getvalue() == "" and p.done == 1


def test_progress_lines_and_label():
    out = io.StringIO()
    p = Progress("lines", total=2, stream=out)
    p.message("start")
    p.step("one")
    p.step("two")
    lines = out.getvalue().splitlines()
    assert lines[0] == "start"
    assert lines[1].startswith("[1/2] one  (") and lines[2].startswith("[2/2] two  (")
    out = io.StringIO()
    Progress("lines", label="sizes", stream=out)("news")
    assert out.getvalue().startswith("[sizes ") and out.getvalue().endswith("s] news\n")


def test_progress_tqdm_bar():
    pytest.importorskip("tqdm")
    out = io.StringIO()
    p = Progress("tqdm", total=2, stream=out)
    p.message("start")
    p.step("one")
    p.step("two")
    assert "start" in out.getvalue() and "2/2" in out.getvalue()


def test_cli_is_a_package_with_main():
    from exactrelu.cli import build_parser, main

    assert callable(main)
    sub = next(a for a in build_parser()._actions if a.dest == "command")
    assert list(sub.choices) == ["demo", "compare", "sizes"]
