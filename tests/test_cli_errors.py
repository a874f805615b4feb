"""The command line reports user mistakes and refusals in one line, before any work."""

import subprocess
import sys

import pytest


def _run(*args, timeout=120):
    proc = subprocess.run([sys.executable, "-m", "exactrelu", *args], capture_output=True,
                          text=True, timeout=timeout)
    return proc.returncode, proc.stderr


@pytest.mark.parametrize("args, code, message", [
    (["compare", "--csv", "/nonexistent/data.csv"], 2, "No such file"),
    (["compare", "--dataset", "sine1d", "--plot", "/nonexistent/x.png"], 2,
     "does not exist"),
    (["compare", "--dataset", "sine1d", "--json", "/proc/x.json"], 2, "cannot be written"),
    (["compare", "--dataset", "nosuch"], 2, "unknown dataset"),
    (["demo", "--n", "300", "--d", "4"], 1, "SizeError"),
])
def test_mistakes_and_refusals_are_one_line(args, code, message):
    rc, err = _run(*args)
    assert rc == code, err
    assert "Traceback" not in err
    assert message in err.strip().splitlines()[-1]


def test_features_out_of_range(tmp_path):
    csv = tmp_path / "t.csv"
    csv.write_text("1,2,3\n4,5,6\n7,8,9\n")
    rc, err = _run("compare", "--csv", str(csv), "--features", "5")
    assert rc == 2 and "out of range" in err and "Traceback" not in err


def test_debug_shows_the_traceback():
    rc, err = _run("--debug", "compare", "--dataset", "nosuch")
    assert rc != 0 and "Traceback" in err
