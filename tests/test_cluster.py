"""Dask: ``client=`` gives exactly the local answers, the work runs on every worker,
and a worker killed in the middle of a solve changes nothing but the time
(docs/design.md section 9). A LocalCluster of 2 worker processes on localhost."""

import os
import pickle
import signal
import subprocess
import sys
import threading
import time

import numpy as np
import pytest

import exactrelu
from exactrelu.errors import InputError

distributed = pytest.importorskip("distributed")

from exactrelu.cluster import ShardEngine, local_cluster  # noqa: E402


@pytest.fixture(scope="module")
def client():
    with local_cluster(2) as c:
        yield c


def _data():
    rng = np.random.default_rng(3)
    X = rng.standard_normal((50, 2))
    y = np.sin(2 * X[:, 0]) + 0.5 * X[:, 1] ** 2 + 0.1 * rng.standard_normal(50)
    grid = np.array([[i, j] for i in range(4) for j in range(4)], float)
    ygrid = (grid[:, 0] - 1.5) * (grid[:, 1] - 1.5)
    dup = np.repeat(X[:10], 3, axis=0)
    return {"random": (X, y), "grid": (grid, ygrid), "duplicates": (dup, np.repeat(y[:10], 3))}


DATA = _data()


def _same_network(a, b):
    return all(np.array_equal(getattr(a, k), getattr(b, k)) for k in ("W", "b", "a")) \
        and a.c == b.c


@pytest.mark.parametrize("name", sorted(DATA))
def test_counts_and_enumerations_equal_local(client, name):
    X, _ = DATA[name]
    X3 = np.c_[X, np.cos(X[:, 0])] if name == "random" else X
    for Z in (X, X3):
        assert exactrelu.count_cells(Z, client=client) == exactrelu.count_cells(Z)
        assert exactrelu.count_rays(Z, client=client) == exactrelu.count_rays(Z)
        a, b = exactrelu.enumerate_cells(Z, client=client), exactrelu.enumerate_cells(Z)
        assert np.array_equal(a.packed, b.packed) and np.array_equal(a.witnesses, b.witnesses)
        a, b = exactrelu.enumerate_rays(Z, client=client), exactrelu.enumerate_rays(Z)
        assert np.array_equal(a.directions, b.directions)
        assert np.array_equal(a.indptr, b.indptr) and np.array_equal(a.indices, b.indices)


@pytest.mark.parametrize("name", sorted(DATA))
@pytest.mark.parametrize("loss", ["squared", "absolute", "hinge", "interpolate"])
def test_solve_certify_beta_max_equal_local(client, name, loss):
    X, y = DATA[name]
    if loss == "hinge":
        y = np.where(y > np.median(y), 1.0, -1.0)
    if loss == "interpolate":
        if name == "duplicates":
            pytest.skip("interpolation of duplicates is the same conflict either way")
        beta = 1.0
    else:
        bm = exactrelu.beta_max(X, y, loss=loss)
        assert exactrelu.beta_max(X, y, loss=loss, client=client) == bm
        beta = bm / 10
    local = exactrelu.solve(X, y, loss=loss, beta=beta)
    remote = exactrelu.solve(X, y, loss=loss, beta=beta, client=client)
    assert remote.objective == local.objective and remote.lower_bound == local.lower_bound
    assert remote.certified and local.certified
    assert _same_network(remote.network, local.network)
    assert remote.sizes["dask_tasks"] >= 2 * 2           # at least two shards per worker
    if loss != "interpolate":
        c1 = exactrelu.certify(local.network, X, y, loss=loss, beta=beta)
        c2 = exactrelu.certify(local.network, X, y, loss=loss, beta=beta, client=client)
        assert (c1.lower_bound, c1.gap, c1.n_priced) == (c2.lower_bound, c2.gap, c2.n_priced)


def test_work_runs_on_every_worker(client):
    X, y = DATA["random"]
    workers = set(client.nthreads())
    assert len(workers) == 2
    with distributed.get_task_stream(client) as ts:
        sol = exactrelu.solve(X, y, beta=0.05, client=client)
    ours = [t for t in ts.data if str(t["key"]).startswith("exactrelu-price")
            or "exactrelu-price" in str(t["key"])]
    assert ours and {t["worker"] for t in ours} == workers
    assert set(sol.sizes["dask_workers"]) == workers


@pytest.mark.filterwarnings("ignore:Port .* is already in use")   # the restarted worker
def test_a_killed_worker_changes_nothing_but_the_time():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((70, 3))
    y = np.sin(X @ [1.0, -2.0, 0.5])
    local = exactrelu.solve(X, y, beta=exactrelu.beta_max(X, y) / 20)
    with local_cluster(2) as c:
        pids = c.run(os.getpid)
        victim = sorted(pids)[0]
        killed = {}

        def kill_when_busy():
            # wait until a shard of ours runs on the victim, then kill its process
            end = time.time() + 60
            while time.time() < end and not killed:
                busy = c.processing().get(victim, ())
                if any("exactrelu-price" in str(k) for k in busy):
                    os.kill(pids[victim], signal.SIGKILL)
                    killed["at"] = time.time()
                time.sleep(0.005)

        th = threading.Thread(target=kill_when_busy, daemon=True)
        th.start()
        remote = exactrelu.solve(X, y, beta=local.beta, client=c)
        done = time.time()
        th.join(1)
    assert "at" in killed and killed["at"] < done, "the worker was not killed during the solve"
    assert remote.objective == local.objective and remote.certified
    assert _same_network(remote.network, local.network)


def test_estimator_scheduler_parameter(client):
    from sklearn.base import clone

    X, y = DATA["random"]
    address = client.scheduler.address
    reg = exactrelu.ExactReLURegressor(beta=0.1, scheduler=address)
    assert clone(reg).get_params()["scheduler"] == address
    reg = pickle.loads(pickle.dumps(reg)).fit(X, y)
    local = exactrelu.ExactReLURegressor(beta=0.1).fit(X, y)
    assert reg.objective_ == local.objective_ and reg.certified_
    assert np.array_equal(reg.predict(X), local.predict(X))
    assert reg.solution_.sizes["dask_tasks"] > 0
    pickle.loads(pickle.dumps(reg))                      # a fitted one pickles too


def test_bad_client_and_scheduler():
    X, y = DATA["grid"]
    with pytest.raises(InputError, match="client must be a dask.distributed.Client"):
        exactrelu.solve(X, y, beta=0.1, client="tcp://localhost:8786")
    with pytest.raises(InputError, match="client"):
        exactrelu.count_cells(X, client=object())
    with pytest.raises(InputError, match="scheduler must be an address"):
        exactrelu.ExactReLURegressor(scheduler="").fit(X, y)


def test_shard_count_adapts(client):
    eng = ShardEngine(client)
    first = eng.shard_count("price", 1000)
    assert first == 4 * 2
    eng._cost["price"] = (0.01, 1000)              # a cheap pass: the minimum, 2 per worker
    assert eng.shard_count("price", 1000) == 2 * 2
    eng._cost["price"] = (10.0, 1000)              # 10 s of work: ~0.5 s per shard
    assert eng.shard_count("price", 1000) == 20
    eng._cost["price"] = (1e6, 50)                 # never more shards than root tasks
    assert eng.shard_count("price", 1000) == 50


def test_dask_is_imported_only_with_a_client():
    code = ("import sys, numpy as np, exactrelu\n"
            "X = np.random.default_rng(0).normal(size=(20, 2)); y = X[:, 0]\n"
            "exactrelu.solve(X, y, beta=0.1); exactrelu.count_cells(X)\n"
            "import exactrelu.estimators, exactrelu.cli\n"
            "bad = [m for m in ('dask', 'distributed') if m in sys.modules]\n"
            "assert not bad, bad\n")
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)


def test_cli_local_cluster_matches_local_demo():
    args = [sys.executable, "-m", "exactrelu", "demo", "--n", "16", "--quiet"]
    local = subprocess.run(args, capture_output=True, text=True, timeout=300, check=True)
    remote = subprocess.run(args + ["--local-cluster", "2"], capture_output=True, text=True,
                            timeout=300, check=True)
    lines = remote.stdout.splitlines()
    assert lines[0].startswith("exact passes on the Dask cluster")

    def results(text):   # the table without the seconds column
        return [ln.rsplit(None, 1)[0] for ln in text.splitlines()
                if ln.split()[:1] and ln.split()[0] in ("squared", "absolute", "hinge")]

    assert results(remote.stdout) == results(local.stdout) and results(local.stdout)
    bad = subprocess.run(args + ["--local-cluster", "0"], capture_output=True, text=True,
                         timeout=60)
    assert bad.returncode == 2 and "--local-cluster" in bad.stderr


def test_cli_scheduler_address_and_progress(client):
    address = client.scheduler.address
    out = subprocess.run([sys.executable, "-m", "exactrelu", "demo", "--n", "12", "--d", "1",
                          "--quiet", "--scheduler", address],
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    assert address in out.stdout.splitlines()[0]
    seen = []
    X, y = DATA["grid"]
    exactrelu.solve(X, y, beta=0.1, client=client, progress=lambda *a: seen.append(a))
    assert seen and all(": shards" in what for what, _, _ in seen)
    assert any(done == total for _, done, total in seen)
