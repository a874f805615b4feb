"""The flags every sub-command shares: ``--progress`` and ``--quiet``, and where the
work runs: ``--scheduler ADDRESS`` or ``--local-cluster N`` (a Dask cluster).

Progress is shown on stderr by default when stderr is a terminal; ``--progress`` shows
it anyway (e.g. into a log), ``--quiet`` writes nothing on stderr but errors. The
display is a tqdm bar when tqdm is installed, else plain lines (docs/design.md
section 7, "Progress").
"""

from __future__ import annotations

import sys
from contextlib import contextmanager

from ..errors import InputError

__all__ = ["add_progress_flags", "progress_wanted", "add_cluster_flags", "cluster_client"]


def add_progress_flags(parser):
    """Add the mutually exclusive ``--quiet`` and ``--progress`` to ``parser``."""
    g = parser.add_mutually_exclusive_group()
    g.add_argument("--quiet", action="store_true",
                   help="nothing on stderr but errors (no progress, no news)")
    g.add_argument("--progress", action="store_true",
                   help="progress on stderr even when it is not a terminal "
                        "(default: only on a terminal)")


def progress_wanted(args, stream=None):
    """Whether to show progress: ``--progress``, else not ``--quiet`` and ``stream``
    (stderr) a terminal."""
    if getattr(args, "quiet", False):
        return False
    if getattr(args, "progress", False):
        return True
    stream = sys.stderr if stream is None else stream
    return bool(getattr(stream, "isatty", lambda: False)())


def add_cluster_flags(parser):
    """Add the mutually exclusive ``--scheduler`` and ``--local-cluster``."""
    g = parser.add_mutually_exclusive_group()
    g.add_argument("--scheduler", metavar="ADDRESS", default=None,
                   help="run the exact passes on the Dask cluster whose scheduler is at "
                        "ADDRESS (e.g. tcp://host:8786; needs exactrelu[dask])")
    g.add_argument("--local-cluster", metavar="N", type=int, default=None,
                   help="start a Dask LocalCluster of N worker processes on this machine "
                        "and run the exact passes there (needs exactrelu[dask])")


@contextmanager
def cluster_client(args, say=None):
    """The Dask client the flags ask for (``None``: local work), closed on exit.

    ``say`` (a callable, optional) is told where the work runs.
    """
    from ..cluster import connect, local_cluster

    address = getattr(args, "scheduler", None)
    n = getattr(args, "local_cluster", None)
    if n is not None and n < 1:
        raise InputError(f"--local-cluster needs at least 1 worker; got {n}")
    if address is None and n is None:
        yield None
        return
    context = connect(address) if address is not None else local_cluster(n)
    with context as client:
        if say is not None:
            workers = client.nthreads()
            where = address or f"a local cluster of {n} worker processes"
            say(f"exact passes on the Dask cluster at {where}: {len(workers)} workers, "
                f"{sum(workers.values())} threads")
        yield client
