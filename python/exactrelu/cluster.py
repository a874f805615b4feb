"""Exact pricing passes, counts and enumerations as Dask tasks (docs/design.md section 9).

Every long computation of the C++ core is a walk split into root tasks (one per
distinct hyperplane, :mod:`exactrelu.arrangement`); a *shard* is the set of root tasks
``t`` with ``t % S == s``. Shards are independent and their results merge
deterministically (sums for counts; the ranking of the candidates by score and then
by the global enumeration order for pricing; the first occurrence in the global
enumeration order for cells and rays), so the merged answer equals the one-machine
answer bit for bit, whatever the number of shards and wherever they ran.

With ``client=`` (a :class:`dask.distributed.Client`) on :func:`exactrelu.solve`,
:func:`~exactrelu.certify`, :func:`~exactrelu.beta_max` and the counting and
enumeration functions, each pass becomes ``S`` Dask tasks. The data and the
multipliers travel inside the task graph (a task that returns them, which the
scheduler can recompute), never as scattered data, so a lost worker loses nothing
that Dask cannot re-run; the shard tasks are pure functions of their inputs.

This module never imports Dask unless a client is used. The public names are
:class:`ShardEngine` (what the solvers use) and :func:`local_cluster` (a
:class:`~dask.distributed.LocalCluster` and its client, for the CLI and the
benchmarks).

Examples
--------
>>> import numpy as np, exactrelu
>>> from exactrelu.cluster import local_cluster
>>> X = np.random.default_rng(0).normal(size=(12, 2))
>>> with local_cluster(2) as client:                      # doctest: +SKIP
...     exactrelu.count_cells(X, client=client) == exactrelu.count_cells(X)
True
"""

from __future__ import annotations

import hashlib
import math
import time
import warnings
from contextlib import contextmanager
from dataclasses import dataclass, field

import numpy as np

from . import _core
from .errors import InputError, SizeError

__all__ = ["ShardEngine", "ClusterStats", "check_client", "connect", "local_cluster",
           "SHARD_SECONDS"]

#: A shard should take about this many seconds on a worker: long enough that the
#: scheduler's ~1 ms per task is negligible, short enough to balance the load.
SHARD_SECONDS = 0.5
#: Shards per worker thread: the first pass of a kind uses FIRST (nothing measured
#: yet), later ones aim at SHARD_SECONDS within [MIN, MAX].
FIRST_SHARDS_PER_SLOT = 4
MIN_SHARDS_PER_SLOT = 2
MAX_SHARDS_PER_SLOT = 64


def check_client(client):
    """``client`` unchanged when it is None or looks like a Dask client, else InputError.

    Checked by what it can do (``submit``, ``gather``, ``nthreads``), so that Dask is
    not imported to check it.
    """
    if client is None:
        return None
    if not all(callable(getattr(client, a, None)) for a in ("submit", "gather", "nthreads")):
        raise InputError("client must be a dask.distributed.Client or None; "
                         f"got {type(client).__name__}")
    return client


@contextmanager
def local_cluster(n_workers, threads_per_worker=1, **kwargs):
    """A :class:`~dask.distributed.LocalCluster` of ``n_workers`` worker processes on
    this machine and a client to it (both closed on exit).

    Needs the optional extra ``pip install 'exactrelu[dask]'``.
    """
    n_workers = int(n_workers)
    if n_workers < 1:
        raise InputError(f"a local cluster needs at least one worker; got {n_workers}")
    dd = _distributed()
    kwargs.setdefault("dashboard_address", None)
    kwargs.setdefault("processes", True)
    with dd.LocalCluster(n_workers=n_workers, threads_per_worker=int(threads_per_worker),
                         **kwargs) as cluster, dd.Client(cluster) as client:
        yield client


@contextmanager
def connect(scheduler):
    """A client connected to the Dask scheduler at the address ``scheduler`` (closed
    on exit), or ``None`` when ``scheduler`` is None."""
    if scheduler is None:
        yield None
        return
    if not isinstance(scheduler, str) or not scheduler:
        raise InputError(f"scheduler must be an address string or None; got {scheduler!r}")
    with _distributed().Client(scheduler) as client:
        yield client


def _distributed():
    """The ``distributed`` package (imported only here, on demand)."""
    try:
        import distributed
    except ImportError as e:  # pragma: no cover - depends on the environment
        raise ImportError("running on a Dask cluster needs the optional extra: "
                          "pip install 'exactrelu[dask]'") from e
    return distributed


# --- what runs on the workers (module level: pickled by reference) ----------------

def _hold(x):
    """A task whose result is its argument: data in the graph, recomputable."""
    return x


def _where():
    try:
        from distributed import get_worker
        return get_worker().address
    except (ImportError, ValueError):  # not on a worker (a synchronous scheduler)
        return "local"


def _run_shard(fn_name, *args):
    """``(result, seconds, worker address)`` of ``_core.<fn_name>(*args)``."""
    t0 = time.perf_counter()
    out = getattr(_core, fn_name)(*args)
    return out, time.perf_counter() - t0, _where()


# --- the client side -----------------------------------------------------------------

@dataclass
class ClusterStats:
    """What the passes of one :class:`ShardEngine` cost.

    Attributes
    ----------
    passes, tasks : int
        Passes run and shard tasks submitted.
    shard_seconds : list of float
        Each shard's compute time on its worker.
    pass_seconds, pass_work : list of float
        Each pass's wall time on the client (submission to the last result) and the
        sum of its shards' compute times.
    bytes_sent, bytes_received : int
        The arrays sent into the graph (data once, multipliers once per pass) and
        the shard results brought back (array sizes, not counting Dask's framing).
    workers : dict
        Worker address -> shard tasks it ran.
    """

    passes: int = 0
    tasks: int = 0
    shard_seconds: list = field(default_factory=list)
    pass_seconds: list = field(default_factory=list)
    pass_work: list = field(default_factory=list)
    bytes_sent: int = 0
    bytes_received: int = 0
    workers: dict = field(default_factory=dict)

    def as_dict(self):
        return {"dask_passes": self.passes, "dask_tasks": self.tasks,
                "dask_shard_seconds": float(sum(self.shard_seconds)),
                "dask_pass_seconds": float(sum(self.pass_seconds)),
                "dask_bytes_sent": self.bytes_sent, "dask_bytes_received": self.bytes_received,
                "dask_workers": dict(self.workers)}


def _nbytes(obj):
    if isinstance(obj, np.ndarray):
        return int(obj.nbytes)
    if isinstance(obj, (tuple, list)):
        return sum(_nbytes(o) for o in obj)
    return 8


def _digest(*arrays):
    h = hashlib.sha1()
    for a in arrays:
        a = np.ascontiguousarray(a)
        h.update(str((a.dtype.str, a.shape)).encode())
        h.update(a.tobytes())
    return h.hexdigest()[:20]


class ShardEngine:
    """Runs the core's passes as shard tasks on a Dask cluster.

    One engine serves one solve (or one call): it keeps the data's future alive
    between passes and adapts the number of shards to the measured cost of the
    previous pass of the same kind (about :data:`SHARD_SECONDS` each, at least
    ``MIN_SHARDS_PER_SLOT`` per worker thread).

    Parameters
    ----------
    client : dask.distributed.Client

    Each computation takes ``report``, the progress callable of its pass (or None):
    it is called as ``report("shards", done, shards)`` as shards finish.
    """

    def __init__(self, client):
        self.client = check_client(client)
        self.stats = ClusterStats()
        self._held = {}
        self._cost = {}   # kind -> (seconds of the last pass, root tasks)

    # the number of shards -------------------------------------------------------
    def slots(self):
        """Worker threads of the cluster now (at least 1)."""
        return max(1, int(sum(self.client.nthreads().values())))

    def shard_count(self, kind, n_rows):
        slots = self.slots()
        seconds, n_tasks = self._cost.get(kind, (None, n_rows))
        if seconds is None:
            S = FIRST_SHARDS_PER_SLOT * slots
        else:
            S = math.ceil(seconds / SHARD_SECONDS)
            S = min(max(S, MIN_SHARDS_PER_SLOT * slots), MAX_SHARDS_PER_SLOT * slots)
        return int(max(1, min(S, max(int(n_tasks), 1))))

    # data in the graph ----------------------------------------------------------
    def put(self, array, what):
        """A future holding ``array``: the task that returns it (sent once; the
        scheduler re-runs it if the worker holding the result is lost)."""
        key = f"exactrelu-{what}-{_digest(array)}"
        fut = self._held.get(key)
        if fut is None:
            with warnings.catch_warnings():
                # the data belongs in the graph (recoverable), large or not
                warnings.filterwarnings("ignore", message=".*[Ll]arge object.*")
                fut = self.client.submit(_hold, array, key=key, pure=False)
            self._held[key] = fut
            self.stats.bytes_sent += int(array.nbytes)
        return fut

    def release(self, what):
        """Forget the held futures whose key starts with ``exactrelu-<what>``."""
        for key in [k for k in self._held if k.startswith(f"exactrelu-{what}-")]:
            del self._held[key]

    # one pass -------------------------------------------------------------------
    def run(self, kind, fn_name, make_args, n_rows, report=None):
        """Run ``_core.<fn_name>(*make_args(s, S))`` for the shards ``s < S`` as Dask
        tasks; return the results in shard order."""
        S = self.shard_count(kind, n_rows)
        t_pass = time.perf_counter()
        token = _digest(np.frombuffer(repr((fn_name, time.time_ns(), id(self))).encode(), np.uint8))
        futs = [self.client.submit(_run_shard, fn_name, *make_args(s, S),
                                   key=f"exactrelu-{kind}-{token}-{s}-of-{S}", pure=False)
                for s in range(S)]
        results = [None] * S
        index = {f.key: s for s, f in enumerate(futs)}
        done = 0
        try:
            as_completed = _distributed().as_completed
            if report is not None:
                report("shards", 0, S)
            for fut in as_completed(futs):
                out, seconds, where = fut.result()
                results[index[fut.key]] = out
                done += 1
                self.stats.shard_seconds.append(seconds)
                self.stats.workers[where] = self.stats.workers.get(where, 0) + 1
                self.stats.bytes_received += _nbytes(out)
                if report is not None:
                    report("shards", done, S)
        finally:
            if done < S:
                self.client.cancel(futs)
        self.stats.passes += 1
        self.stats.tasks += S
        self.stats.pass_seconds.append(time.perf_counter() - t_pass)
        self.stats.pass_work.append(float(sum(self.stats.shard_seconds[-S:])))
        return results, S

    def _record(self, kind, results, n_tasks):
        took = self.stats.shard_seconds[-len(results):]
        self._cost[kind] = (float(sum(took)), n_tasks)

    # the core's computations ----------------------------------------------------
    def price_rays(self, A, n_data, lam, norm_mask, top_k, pool_size, report=None):
        """As ``_core.price_rays``: ``(scores, dirs, n_priced, pool_scores, pool_dirs,
        n_shards)``."""
        fa = self.put(A, "data")
        self.release("lam")
        fl = self.put(lam, "lam")
        results, _ = self.run(
            "price", "price_shard",
            lambda s, S: (fa, n_data, fl, norm_mask, top_k, pool_size, s, S, 1),
            A.shape[0], report)
        self._record("price", results, results[0][1])
        return _core.price_merge(A, n_data, lam, norm_mask, top_k, pool_size, results)

    def count(self, A, want_cells, report=None):
        """``(cells, rays)`` as ``_core.count_cells`` and ``_core.count_rays``."""
        fa = self.put(A, "data")
        results, _ = self.run("count", "count_shard",
                              lambda s, S: (fa, bool(want_cells), s, S, 1), A.shape[0], report)
        r = results[0][0]
        tallies = np.concatenate([t for _, t in results]) if results else np.zeros((0, 2, r + 1))
        self._record("count", results, len(tallies))
        return _core.count_merge(r, np.ascontiguousarray(tallies, dtype=np.uint64))

    def enumerate_cells(self, A, max_cells, witnesses, report=None):
        """As ``_core.enumerate_cells``: ``(packed, witnesses, witnesses_lo or None)``."""
        fa = self.put(A, "data")
        results, _ = self.run("cells", "enumerate_cells_shard",
                              lambda s, S: (fa, s, S, max_cells, bool(witnesses), 1),
                              A.shape[0], report)
        self._record("cells", results, A.shape[0])
        return merge_cells(results, A.shape[1], max_cells)

    def enumerate_rays(self, A, max_rays, report=None):
        """As ``_core.enumerate_rays``: ``(directions, indptr, indices)``."""
        fa = self.put(A, "data")
        results, _ = self.run("rays", "enumerate_rays_shard",
                              lambda s, S: (fa, s, S, max_rays, 1), A.shape[0], report)
        self._record("rays", results, A.shape[0])
        return merge_rays(results, A.shape[1], max_rays)


# --- the merges of cells and rays (counts and pricing merge in the core) ------------

def _first_in_key_order(keys):
    """Indices sorting ``keys`` (distinct per shard, shards disjoint in tasks)."""
    return np.argsort(np.asarray(keys, dtype=np.int64), kind="stable")


def merge_cells(parts, D, max_cells):
    """The cells of all shards: every pair (a cell and its negation) at its first
    occurrence in the global key order, as the one-shard enumeration lists them."""
    keys = np.concatenate([p[3] for p in parts]) if parts else np.zeros(0, np.int64)
    rows = sum(len(p[0]) for p in parts)
    g = rows // len(keys) if len(keys) else 2        # rows per key: 2, or 1 at rank 0
    nbytes = parts[0][0].shape[1] if parts else 0
    packed = np.concatenate([p[0] for p in parts]).reshape(len(keys), g, nbytes)
    has_wit = any(len(p[1]) for p in parts)
    wit = np.concatenate([p[1] for p in parts]).reshape(len(keys), g if has_wit else 0, D)
    has_lo = any(p[2] is not None for p in parts)
    if has_lo:
        lo = np.concatenate([p[2] if p[2] is not None else np.zeros_like(p[1]) for p in parts])
        lo = lo.reshape(len(keys), g, D)
    order = _first_in_key_order(keys)
    first = np.ascontiguousarray(packed[order, 0, :])
    _, idx = np.unique(first.view(np.dtype((np.void, max(nbytes, 1)))).ravel(), return_index=True)
    keep = order[np.sort(idx)]
    n_cells = g * len(keep)
    if max_cells is not None and max_cells >= 0 and n_cells > max_cells:
        raise SizeError(f"the arrangement has {n_cells} cells, more than max_cells={max_cells}")
    out_lo = lo[keep].reshape(-1, D) if has_lo else None
    return (np.ascontiguousarray(packed[keep].reshape(-1, nbytes)),
            np.ascontiguousarray(wit[keep].reshape(-1, D)), out_lo)


def merge_rays(parts, D, max_rays):
    """The rays of all shards in the global key order (two rays per key)."""
    keys = np.concatenate([p[3] for p in parts]) if parts else np.zeros(0, np.int64)
    dirs = np.concatenate([p[0] for p in parts]) if parts else np.zeros((0, D))
    g = len(dirs) // len(keys) if len(keys) else 2
    # one CSR over the concatenated rays
    lens = np.concatenate([np.diff(p[1]) for p in parts]) if parts else np.zeros(0, np.int64)
    indices = np.concatenate([p[2] for p in parts]) if parts else np.zeros(0, np.int64)
    starts = np.concatenate([[0], np.cumsum(lens)[:-1]]).astype(np.int64)
    line_order = _first_in_key_order(keys)
    ray_order = (line_order[:, None] * g + np.arange(g)[None, :]).ravel()
    if max_rays is not None and max_rays >= 0 and len(ray_order) > max_rays:
        raise SizeError(f"the arrangement has {len(ray_order)} rays, more than max_rays={max_rays}")
    new_lens = lens[ray_order]
    indptr = np.concatenate([[0], np.cumsum(new_lens)]).astype(np.int64)
    offs = np.repeat(starts[ray_order] - indptr[:-1], new_lens)
    new_indices = indices[np.arange(indptr[-1], dtype=np.int64) + offs]
    return np.ascontiguousarray(dirs[ray_order]), indptr, new_indices.astype(np.int64)
