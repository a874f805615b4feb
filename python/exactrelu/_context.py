"""What travels with one solve: the deadline, the size limits, timings and sizes.

Every method driver receives one :class:`SolveContext` instead of dicts passed as
out-parameters; :func:`exactrelu.solve` turns its records into ``Solution.timings``
and ``Solution.sizes``.
"""

from __future__ import annotations

import signal
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass, field

from ._validation import check_number
from .errors import TimeLimitError

__all__ = ["Deadline", "SolveContext"]

#: After the deadline's signal, it is repeated this often until the block exits.
REARM_SECONDS = 0.05


class _Expired(BaseException):
    """Raised by the deadline's timer signal (a BaseException: nothing catches it
    on the way, the C++ core passes it through like KeyboardInterrupt)."""


class Deadline:
    """A wall-clock budget; :meth:`remaining` raises TimeLimitError once it is spent,
    and :meth:`enforced` stops any work (the C++ core included) when it runs out."""

    def __init__(self, time_limit):
        if time_limit is None:
            self.end = None
        else:
            self.end = time.perf_counter() + check_number(time_limit, "time_limit (seconds)")
        self.limit = time_limit

    @contextmanager
    def enforced(self, what="solving"):
        """Within the block, the deadline interrupts whatever runs (Python code, and the
        C++ core, which polls for signals) with TimeLimitError. A timer signal does it
        (POSIX, main thread); elsewhere only :meth:`remaining` checks the deadline."""
        usable = (self.end is not None and hasattr(signal, "setitimer")
                  and threading.current_thread() is threading.main_thread())
        if not usable:
            yield
            return

        def expire(signum, frame):
            # re-armed first: raised where Python ignores exceptions (a gc callback,
            # a __del__) it would be lost, so it fires again shortly; the block's exit
            # disarms it
            signal.setitimer(signal.ITIMER_REAL, REARM_SECONDS)
            raise _Expired()

        previous = signal.signal(signal.SIGALRM, expire)
        try:
            signal.setitimer(signal.ITIMER_REAL, max(self.end - time.perf_counter(), 1e-3))
            try:
                yield
            finally:
                signal.setitimer(signal.ITIMER_REAL, 0)
        except _Expired:
            raise TimeLimitError(f"time_limit={self.limit} s reached while {what}",
                                 status="time_limit") from None
        finally:
            signal.signal(signal.SIGALRM, previous)

    def remaining(self, what="solving"):
        """Seconds left (``None``: no limit); raises TimeLimitError when none are."""
        if self.end is None:
            return None
        r = self.end - time.perf_counter()
        if r <= 0:
            raise TimeLimitError(f"time_limit={self.limit} s reached while {what}",
                                 status="time_limit")
        return r


@dataclass
class SolveContext:
    """The deadline, limits and records of one solve.

    Attributes
    ----------
    deadline : Deadline
    verbose : bool
    progress : PassProgress or None
        The display of the core's passes (:mod:`exactrelu._progress`); ``None``: quiet.
    max_rays, max_cells : int or None
        The user's size limits (``None``: each method's default).
    timings : dict
        Seconds per stage, written by :meth:`timed`.
    sizes : dict
        Program sizes and counters, written with :meth:`record`.
    """

    deadline: Deadline
    verbose: bool = False
    progress: object = None
    max_rays: int | None = None
    max_cells: int | None = None
    timings: dict = field(default_factory=dict)
    sizes: dict = field(default_factory=dict)

    def remaining(self, what="solving"):
        return self.deadline.remaining(what)

    @contextmanager
    def timed(self, stage):
        """Add the seconds spent in the ``with`` block to ``timings[stage]``."""
        t0 = time.perf_counter()
        try:
            yield
        finally:
            self.timings[stage] = self.timings.get(stage, 0.0) + time.perf_counter() - t0

    def record(self, **values):
        self.sizes.update(values)

    def count(self, name, k=1):
        self.sizes[name] = self.sizes.get(name, 0) + k

    def log(self, message):
        if self.verbose:
            print(f"[exactrelu] {message}")
