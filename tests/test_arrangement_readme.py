"""The README's arrangement example is real output: run it as a doctest."""

import doctest
import os

import pytest

README = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "README.md")


def test_readme_arrangement_example():
    if not os.path.exists(README):
        pytest.skip("no README.md next to tests/ (installed tests)")
    text = open(README, encoding="utf-8").read()
    a = text.index("<!-- BEGIN arrangement -->")
    b = text.index("<!-- END arrangement -->")
    section = text[a:b]
    start = section.index("```python") + len("```python")
    code = section[start:section.index("```", start)]
    test = doctest.DocTestParser().get_doctest(code, {}, "README arrangement", README, 0)
    runner = doctest.DocTestRunner(optionflags=doctest.NORMALIZE_WHITESPACE)
    runner.run(test)
    result = runner.summarize(verbose=False)
    assert result.attempted >= 8 and result.failed == 0
