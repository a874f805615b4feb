"""progress=: long work shown on stderr when asked for, and nothing otherwise.

docs/design.md section 7, "Progress": the C++ core reports (stage, tasks done, tasks)
from its waiting thread; the library shows a tqdm bar per pass when tqdm is installed
and plain lines when it is not; the command line shows progress on a terminal,
``--progress`` forces it and ``--quiet`` silences stderr. No timings are asserted.
"""

import subprocess
import sys
import textwrap

import numpy as np
import pytest

import exactrelu
from exactrelu import _core
from exactrelu._progress import Progress, core_progress, display_mode
from exactrelu.errors import InputError
from interrupting import run_until_interrupted


def _data(n=14, d=2, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.uniform(-1.0, 1.0, (n, d))
    return X, np.sin(3.0 * X[:, 0]) + X[:, 1]


X, Y = _data()
BETA = 0.1 * exactrelu.beta_max(X, Y)


@pytest.fixture(params=["tqdm", "no tqdm"])
def tqdm_state(request, monkeypatch):
    """Run a test with tqdm, and with tqdm made unimportable (plain lines then)."""
    if request.param == "tqdm":
        pytest.importorskip("tqdm")
    else:
        monkeypatch.setitem(sys.modules, "tqdm", None)
        monkeypatch.setitem(sys.modules, "tqdm.auto", None)
    return request.param


def _network():
    return exactrelu.solve(X, Y, beta=BETA).network


def _fit(progress):
    from exactrelu.estimators import ExactReLURegressor

    return ExactReLURegressor(beta=BETA, progress=progress).fit(X, Y).network_


#: name -> (call with progress=p, text its display contains)
CALLS = {
    "solve": (lambda p: exactrelu.solve(X, Y, beta=BETA, progress=p),
              "solve: pricing pass 1: lines"),
    "solve_full": (lambda p: exactrelu.solve(X, Y, beta=BETA, method="full", progress=p),
                   "solve: enumerate_rays: lines"),
    "solve_cells": (lambda p: exactrelu.solve(X[:8], Y[:8], loss="absolute", beta=BETA,
                                              method="cells", progress=p),
                    "solve: enumerate_cells: dedup"),
    "enumerate_cells": (lambda p: exactrelu.enumerate_cells(X, progress=p),
                        "enumerate_cells: witnesses"),
    "enumerate_rays": (lambda p: exactrelu.enumerate_rays(X, progress=p),
                       "enumerate_rays: lines"),
    "count_cells": (lambda p: exactrelu.count_cells(X, progress=p), "count_cells: lines"),
    "count_rays": (lambda p: exactrelu.count_rays(X, progress=p), "count_rays: lines"),
    "certify": (lambda p: exactrelu.certify(_network(), X, Y, beta=BETA, progress=p),
                "certify: pricing pass 1: lines"),
    "beta_max": (lambda p: exactrelu.beta_max(X, Y, loss="absolute", progress=p),
                 "beta_max: pricing pass 1: lines"),
    "estimator": (_fit, "solve: pricing pass 1: lines"),
}


def _call(name, progress):
    if name == "estimator":
        pytest.importorskip("sklearn")
    return CALLS[name][0](progress)


@pytest.mark.parametrize("name", CALLS)
def test_progress_true_writes_to_stderr(name, tqdm_state, capsys):
    _call(name, True)
    out, err = capsys.readouterr()
    assert CALLS[name][1] in err
    assert out == ""
    if tqdm_state == "no tqdm":   # the fallback: plain lines, each stage ending at total
        assert any(line.startswith(CALLS[name][1]) and " tasks (" in line
                   for line in err.splitlines())


@pytest.mark.parametrize("name", CALLS)
def test_default_is_quiet(name, capfd):
    capfd.readouterr()
    _call(name, False)
    out, err = capfd.readouterr()
    assert err == "" and out == ""


def test_results_do_not_depend_on_progress(capsys):
    a = exactrelu.solve(X, Y, beta=BETA)
    b = exactrelu.solve(X, Y, beta=BETA, progress=True)
    c = exactrelu.solve(X, Y, beta=BETA, progress="lines")
    for s in (b, c):
        assert s.objective == a.objective and s.lower_bound == a.lower_bound
        for k in ("W", "b", "a"):
            assert np.array_equal(getattr(s.network, k), getattr(a.network, k))
    ca, cb = exactrelu.enumerate_cells(X), exactrelu.enumerate_cells(X, progress=True)
    assert np.array_equal(ca.packed, cb.packed)
    assert np.array_equal(ca.witnesses, cb.witnesses)
    ra, rb = exactrelu.enumerate_rays(X), exactrelu.enumerate_rays(X, progress=True)
    assert np.array_equal(ra.directions, rb.directions)
    assert np.array_equal(ra.indices, rb.indices)
    assert exactrelu.count_cells(X) == exactrelu.count_cells(X, progress=True)
    net = a.network
    ka = exactrelu.certify(net, X, Y, beta=BETA)
    kb = exactrelu.certify(net, X, Y, beta=BETA, progress=True)
    assert ka.lower_bound == kb.lower_bound
    assert exactrelu.beta_max(X, Y) == exactrelu.beta_max(X, Y, progress=True)


# ------------------------------------------------------------- the core's reports
def _lifted(X):
    return np.ascontiguousarray(np.hstack([X, np.ones((len(X), 1))]))


def test_core_reports_each_stage_from_start_to_end():
    calls = []
    packed, _, _ = _core.enumerate_cells(_lifted(X), 2, -1, True,
                                         progress=lambda *a: calls.append(a))
    assert len(packed) == exactrelu.count_cells(X)
    stages = [c[0] for c in calls]
    # (the cells of the canonical chart's restriction are one task of their own)
    assert [s for i, s in enumerate(stages) if i == 0 or s != stages[i - 1]] == [
        "lines", "restriction", "dedup", "witnesses"]
    for stage in ("lines", "restriction", "dedup", "witnesses"):
        mine = [c for c in calls if c[0] == stage]
        total = mine[0][2]
        assert all(c[2] == total for c in mine)
        dones = [c[1] for c in mine]
        assert dones == sorted(dones) and dones[-1] == total and len(mine) >= 2


def test_callable_progress_gets_named_passes():
    seen = []
    exactrelu.count_cells(X, progress=lambda *a: seen.append(a))
    assert seen[0][0] == "count_cells: lines" and seen[-1][1] == seen[-1][2]
    seen.clear()
    exactrelu.solve(X, Y, beta=BETA, progress=lambda *a: seen.append(a[0]))
    assert "solve: pricing pass 1: lines" in seen


class Stop(Exception):
    pass


def _raise_on(k):
    calls = []

    def cb(*a):
        calls.append(a)
        if len(calls) >= k:
            raise Stop("from the progress callback")
    return cb


@pytest.mark.parametrize("call", [
    lambda cb: exactrelu.count_cells(X, progress=cb),
    lambda cb: exactrelu.enumerate_cells(X, progress=cb),
    lambda cb: exactrelu.enumerate_rays(X, progress=cb),
    lambda cb: exactrelu.solve(X, Y, beta=BETA, progress=cb),
    lambda cb: exactrelu.certify(_network(), X, Y, beta=BETA, progress=cb),
])
@pytest.mark.parametrize("k", [1, 2])
def test_a_raising_callback_propagates(call, k):
    """Raised by the first report of a pass or by its last (every stage has both)."""
    with pytest.raises(Stop, match="from the progress callback"):
        call(_raise_on(k))
    # the process is healthy afterwards
    assert exactrelu.count_cells(X) == exactrelu.count_cells(X, progress=lambda *a: None)


@pytest.mark.parametrize("k", [3, 4, 5, 6])
def test_a_raising_callback_stops_any_stage_of_the_cells(k):
    """The stages after the walk (deduplication, witnesses) stop the same way."""
    with pytest.raises(Stop):
        exactrelu.enumerate_cells(X, progress=_raise_on(k))


def test_a_raising_callback_stops_a_long_walk():
    """Raised mid-walk (the second report), the exception ends the count."""
    Xl, _ = _data(n=70, d=4, seed=1)
    with pytest.raises(Stop):
        exactrelu.count_cells(Xl, threads=2, progress=_raise_on(2))


def test_core_rejects_a_progress_that_is_not_callable():
    with pytest.raises(InputError, match="callable"):
        _core.count_cells(_lifted(X), 1, progress=3)
    with pytest.raises(InputError, match="progress"):
        exactrelu.count_cells(X, progress="yes")


def test_display_modes():
    assert display_mode(None) is None and display_mode(np.bool_(True)) == "tqdm"
    assert display_mode("tqdm") == "tqdm" and display_mode("lines") == "lines"
    with pytest.raises(InputError):
        display_mode(2)
    assert core_progress(False) is None and core_progress(None) is None


def test_progress_falls_back_to_lines_without_tqdm(monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "tqdm", None)
    p = Progress(True, total=2)
    p.step("one")
    p.step("two")
    err = capsys.readouterr().err
    assert "[1/2] one" in err and "[2/2] two" in err


def test_estimator_progress_is_a_parameter():
    sk = pytest.importorskip("sklearn")
    from sklearn.base import clone

    from exactrelu.estimators import ExactReLUClassifier, ExactReLURegressor

    reg = ExactReLURegressor(progress=True)
    assert reg.get_params()["progress"] is True
    assert clone(reg).progress is True
    assert ExactReLURegressor().progress is False and ExactReLUClassifier().progress is False
    with pytest.raises((sk.utils._param_validation.InvalidParameterError, ValueError)):
        ExactReLURegressor(progress="yes").fit(X, Y)


def test_classifier_fit_shows_progress(capsys):
    pytest.importorskip("sklearn")
    from exactrelu.estimators import ExactReLUClassifier

    labels = np.where(Y > np.median(Y), "a", "b")
    ExactReLUClassifier(beta=0.5, progress=True).fit(X, labels)
    assert "solve: pricing pass 1: lines" in capsys.readouterr().err


def test_compare_shows_runs_and_passes(tqdm_state, capsys):
    from exactrelu.studies.comparison import compare

    compare(X, Y, loss="squared", beta=BETA, widths=[3], seeds=2, steps=50, peers=False,
            progress=True)
    err = capsys.readouterr().err
    assert "solve: pricing pass 1" in err and "certify: pricing pass 1" in err
    assert ("2/2" if tqdm_state == "tqdm" else "[2/2] sgd width=3 seed=1") in err
    compare(X, Y, loss="squared", beta=BETA, widths=[3], seeds=1, steps=50, peers=False)
    assert capsys.readouterr().err == ""


def test_tqdm_is_imported_only_when_asked_for():
    script = textwrap.dedent("""
        import sys
        import numpy as np, exactrelu
        X = np.random.default_rng(0).uniform(-1, 1, (10, 2)); y = X[:, 0] ** 2
        sol = exactrelu.solve(X, y, beta=0.01)
        exactrelu.certify(sol.network, X, y, beta=0.01)
        exactrelu.count_cells(X); exactrelu.enumerate_cells(X)
        assert "tqdm" not in sys.modules, "imported without progress"
        exactrelu.count_cells(X, progress=True)
        assert "tqdm" in sys.modules
    """)
    pytest.importorskip("tqdm")
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == 0, proc.stderr


# -------------------------------------------------------------------- Ctrl-C too
@pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")
def test_ctrl_c_interrupts_with_progress():
    script = textwrap.dedent("""
        import signal, sys
        signal.signal(signal.SIGINT, signal.default_int_handler)
        import numpy as np, exactrelu
        X = np.random.default_rng(0).normal(size=(400, 5))    # hours of work
        print("ready", flush=True)
        try:
            exactrelu.count_cells(X, threads=2, max_rays=2**60, progress="lines")
        except KeyboardInterrupt:
            print("interrupted", flush=True)
            print(exactrelu.count_cells(np.eye(3), progress=True), flush=True)
            sys.exit(0)
        sys.exit(3)
    """)
    out = run_until_interrupted(script, 1.0)
    assert out.split() == ["interrupted", "8"]


# ------------------------------------------------------------------------- the CLI
def _cli(*args):
    proc = subprocess.run([sys.executable, "-m", "exactrelu", *args], capture_output=True,
                          text=True, timeout=300)
    return proc.returncode, proc.stdout, proc.stderr


DEMO = ("demo", "--n", "10", "--d", "1")
COMPARE = ("compare", "--dataset", "sine1d", "--n", "8", "--widths", "3", "--seeds", "1",
           "--steps", "50", "--no-mlp")
SIZES = ("sizes", "--ns", "8", "--ds", "1", "--sources", "gaussian", "--no-price",
         "--no-bias-off", "--max-seconds", "5")


@pytest.mark.parametrize("cmd, shown", [
    (DEMO, "count_cells: lines"),
    (COMPARE, "solve: pricing pass 1"),
    (SIZES, "1/1"),
])
def test_cli_progress_and_quiet(cmd, shown):
    rc, out, err = _cli(*cmd, "--progress")
    assert rc == 0, err
    assert shown in err and out
    rc, out, err = _cli(*cmd, "--quiet")
    assert rc == 0 and err == "" and out
    # stderr is a pipe here, not a terminal: no progress by default
    rc, _, err = _cli(*cmd)
    assert rc == 0 and shown not in err


def test_cli_progress_and_quiet_exclude_each_other():
    rc, _, err = _cli(*DEMO, "--quiet", "--progress")
    assert rc == 2 and "not allowed with" in err
