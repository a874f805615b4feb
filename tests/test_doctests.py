"""The docstring examples of the public modules run and print what they show."""

import doctest
import importlib

import pytest

MODULES = ["arrangement", "network", "solver", "certificate", "estimators", "sgd",
           "studies.sizes", "studies.sampling", "studies.gates", "datasets",
           "datasets.synthetic", "datasets.real", "_progress", "cli.demo"]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    if name == "estimators":
        pytest.importorskip("sklearn")
    mod = importlib.import_module(f"exactrelu.{name}")
    res = doctest.testmod(mod, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert res.failed == 0
    assert res.attempted > 0
