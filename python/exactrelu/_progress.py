"""Progress on stderr: quiet unless asked for (docs/design.md section 7, "Progress").

Two helpers share one notion of a ``progress=`` argument:

:class:`Progress`
    messages and counted steps of a long study (compare runs, sizes sweeps).
:class:`PassProgress`
    the passes of the C++ core (counting, enumeration, exact pricing): the core's
    waiting thread reports ``(stage, tasks done, tasks)`` a few times a second, and
    each stage of each pass gets its own transient bar.

``progress`` is ``False`` or ``None`` (quiet, the library's default), ``True`` (a
`tqdm <https://tqdm.github.io>`_ bar when tqdm is installed, ``pip install
exactrelu[progress]``; plain lines on stderr when it is not) or ``"lines"`` (plain lines
always); ``"tqdm"`` means the same as ``True``. The core's passes also accept a
callable, called as ``progress(what, done, total)``. tqdm is imported only when a
display is asked for, and a missing tqdm is not an error: progress is a convenience,
so it falls back to plain lines rather than refusing the computation.
"""

from __future__ import annotations

import sys
import time
from contextlib import contextmanager

import numpy as np

from .errors import InputError

__all__ = ["Progress", "PassProgress", "core_progress", "display_mode", "tracking"]

#: In the plain-lines display on a stream that is not a terminal, a pass that runs this
#: long writes a line every this many seconds (and always one when it ends).
LINES_EVERY = 5.0


def display_mode(progress, name="progress"):
    """``None`` (quiet), ``"tqdm"`` or ``"lines"`` for a ``progress=`` flag.

    Examples
    --------
    >>> display_mode(False), display_mode(True), display_mode("lines")
    (None, 'tqdm', 'lines')
    """
    if progress is None:
        return None
    if isinstance(progress, str):
        if progress in ("tqdm", "lines"):
            return progress
        raise InputError(f"{name} must be a bool, 'lines' or a callable; got {progress!r}")
    if isinstance(progress, (bool, np.bool_)):
        return "tqdm" if progress else None
    raise InputError(f"{name} must be a bool, 'lines' or a callable; got {progress!r}")


def _tqdm_class():
    """tqdm's bar class, or None when tqdm is not installed (plain lines then).

    ``import tqdm`` first: a package blocked with ``sys.modules["tqdm"] = None`` (how
    tests simulate its absence) then counts as missing even when ``tqdm.auto`` was
    imported before.
    """
    try:
        import tqdm  # noqa: F401
        from tqdm.auto import tqdm as bar
    except ImportError:
        return None
    return bar


class Progress:
    """Messages and counted steps of a run, written to ``stream`` (stderr).

    Parameters
    ----------
    enabled : bool, "tqdm" or "lines"
        Whether anything is written: ``True`` (or ``"tqdm"``) draws a tqdm bar over the
        steps when tqdm is installed and writes plain lines when it is not; ``"lines"``
        always writes plain lines.
    total : int, optional
        Number of :meth:`step` calls expected (shown as ``[k/total]``); may be set
        later, before the first step.
    label : str, optional
        With a label, every message starts with ``[label  elapsed s]``.
    desc : str, optional
        The name on the bar (default: ``label``).
    stream : file, optional
        Default: ``sys.stderr`` at the time of the call.

    Examples
    --------
    >>> import io
    >>> out = io.StringIO()
    >>> p = Progress("lines", total=2, stream=out)
    >>> p.message("start"); p.step("one"); p.step("two")
    >>> out.getvalue().splitlines()[0]
    'start'
    >>> Progress(False).step("nothing")  # quiet: writes nothing
    """

    def __init__(self, enabled=False, *, total=None, label=None, desc=None, stream=None):
        mode = display_mode(enabled)
        self.enabled = mode is not None
        self.total = total
        self.label = label
        self.desc = label if desc is None else desc
        self.stream = stream or sys.stderr
        self.done = 0
        self.tty = bool(getattr(self.stream, "isatty", lambda: False)())
        self.t0 = time.perf_counter()
        self._tqdm = _tqdm_class() if mode == "tqdm" else None
        self.bar = None

    def elapsed(self):
        """Seconds since the progress started."""
        return time.perf_counter() - self.t0

    def message(self, text):
        """One line of news (prefixed with the label and the elapsed time, if labelled)."""
        if not self.enabled:
            return
        if self.label is not None:
            text = f"[{self.label} {self.elapsed():7.1f}s] {text}"
        self._write(text, final=True)

    def __call__(self, text):
        self.message(text)

    def step(self, text):
        """Count one step of ``total`` and show it with ``text``."""
        self.done += 1
        if not self.enabled:
            return
        if self._tqdm is not None:
            if self.bar is None:
                self.bar = self._tqdm(total=self.total, file=self.stream, leave=True,
                                      desc=self.desc, initial=self.done - 1)
            self.bar.set_postfix_str(text, refresh=False)
            self.bar.update(1)
            if self.done == self.total:
                self.close()
            return
        total = "?" if self.total is None else self.total
        self._write(f"[{self.done}/{total}] {text}  ({self.elapsed():.1f} s)",
                    final=self.done == self.total)

    def close(self):
        """Close the bar (if one is drawn); further messages are plain lines."""
        if self.bar is not None:
            self.bar.close()
            self.bar = None

    def _write(self, text, final=False):
        if self._tqdm is not None:   # above any bar that is drawn, ours or the core's
            self._tqdm.write(text, file=self.stream)
            return
        if self.tty:
            self.stream.write("\r\x1b[K" + text + ("\n" if final else ""))
        else:
            self.stream.write(text + "\n")
        self.stream.flush()


class PassProgress:
    """The display of the C++ core's passes: one transient bar per stage of a pass.

    The core reports ``(stage, done, total)`` from its waiting thread (never from a
    worker) when a stage starts, at most about ten times a second while it runs, and
    when it ends; ``done`` counts finished tasks of the stage (the walk of the lines
    under one hyperplane, a shard of the deduplication, a chunk of witnesses).

    Parameters
    ----------
    enabled : True, "tqdm" or "lines"
        As for :class:`Progress`. Plain lines are rewritten in place on a terminal;
        elsewhere a stage writes one line when it ends (and one every
        :data:`LINES_EVERY` seconds while it runs).
    callback : callable, optional
        Instead of a display: ``callback(what, done, total)`` with ``what`` naming the
        pass and the stage (e.g. ``"solve: pricing pass 3: lines"``).
    prefix : str, optional
        Put before the name of every pass (``"solve"``, ``"certify"``...).
    stream : file, optional
        Default: ``sys.stderr`` at the time of each pass.
    """

    def __init__(self, enabled=True, *, callback=None, prefix=None, stream=None):
        self.callback = callback
        self.mode = None if callback is not None else display_mode(enabled)
        if callback is None and self.mode is None:
            raise InputError("PassProgress needs enabled=True, 'tqdm' or 'lines', or a callback")
        self.prefix = prefix
        self.stream = stream
        self._tqdm = _tqdm_class() if self.mode == "tqdm" else None

    def with_prefix(self, prefix):
        """The same display, naming its passes ``"<prefix>: ..."``."""
        new = object.__new__(PassProgress)
        new.__dict__.update(self.__dict__)
        new.prefix = prefix if self.prefix is None else f"{self.prefix}: {prefix}"
        return new

    @contextmanager
    def track(self, what):
        """Within the block, the callable to hand to the core for the pass ``what``."""
        what = what if self.prefix is None else f"{self.prefix}: {what}"
        if self.callback is not None:
            cb = self.callback
            yield lambda stage, done, total: cb(f"{what}: {stage}", done, total)
            return
        stream = self.stream or sys.stderr
        show = (_BarStages if self._tqdm is not None else _LineStages)(what, stream, self._tqdm)
        try:
            yield show.report
        finally:
            show.close()


class _BarStages:
    """A tqdm bar per stage of one pass (transient: ``leave=False``)."""

    def __init__(self, what, stream, tqdm):
        self.what, self.stream, self.tqdm = what, stream, tqdm
        self.stage, self.bar, self.shown = None, None, 0

    def report(self, stage, done, total):
        if stage != self.stage or self.bar is None:
            self.close()
            self.stage, self.shown = stage, 0
            self.bar = self.tqdm(total=total, desc=f"{self.what}: {stage}", unit="task",
                                 file=self.stream, leave=False, dynamic_ncols=True)
        if done > self.shown:
            self.bar.update(done - self.shown)
            self.shown = done

    def close(self):
        if self.bar is not None:
            self.bar.close()
            self.bar = None


class _LineStages:
    """Plain lines for the stages of one pass (tqdm not installed, or asked for)."""

    def __init__(self, what, stream, _tqdm=None):
        self.what, self.stream = what, stream
        self.tty = bool(getattr(stream, "isatty", lambda: False)())
        self.stage, self.t0, self.last, self.ended = None, 0.0, 0.0, False

    def report(self, stage, done, total):
        now = time.perf_counter()
        if stage != self.stage:
            self.stage, self.t0, self.last, self.ended = stage, now, now, False
        if self.ended:   # the end of the stage was written already
            return
        text = f"{self.what}: {stage} {done}/{total} tasks ({now - self.t0:.1f} s)"
        if self.tty:
            self.stream.write("\r\x1b[K" + text)
        elif done >= total or now - self.last >= LINES_EVERY:
            self.stream.write(text + "\n")
            self.last = now
        else:
            return
        self.ended = done >= total
        self.stream.flush()

    def close(self):
        if self.tty and self.stage is not None:   # transient, like the bars
            self.stream.write("\r\x1b[K")
            self.stream.flush()


def core_progress(progress, prefix=None):
    """The :class:`PassProgress` for a ``progress=`` argument, or ``None`` (quiet).

    ``progress`` is a bool, ``"tqdm"``, ``"lines"``, a callable ``(what, done, total)``
    or a :class:`PassProgress` (used as it is, with ``prefix`` added).

    Examples
    --------
    >>> core_progress(False) is None
    True
    >>> seen = []
    >>> with core_progress(lambda *a: seen.append(a), "demo").track("count") as report:
    ...     report("lines", 3, 4)
    >>> seen
    [('demo: count: lines', 3, 4)]
    """
    if isinstance(progress, PassProgress):
        return progress if prefix is None else progress.with_prefix(prefix)
    if callable(progress):
        return PassProgress(callback=progress, prefix=prefix)
    mode = display_mode(progress)
    return None if mode is None else PassProgress(mode, prefix=prefix)


@contextmanager
def tracking(progress, what):
    """The callable for the core's ``progress=`` argument for one pass (``None`` when
    ``progress`` is ``None``: then the core reports nothing and costs nothing)."""
    if progress is None:
        yield None
        return
    with progress.track(what) as report:
        yield report
