"""Progress lines on stderr for the long studies: quiet unless asked for.

``Progress(enabled)`` writes nothing when ``enabled`` is false. When it is true it
writes plain lines (rewritten in place on a terminal); ``enabled="tqdm"`` draws a
`tqdm <https://tqdm.github.io>`_ bar instead when tqdm is installed (``pip install
exactrelu[progress]``) and falls back to plain lines when it is not.
"""

from __future__ import annotations

import sys
import time

__all__ = ["Progress"]


class Progress:
    """Messages and counted steps of a run, written to ``stream`` (stderr).

    Parameters
    ----------
    enabled : bool or "tqdm"
        Whether anything is written; ``"tqdm"`` asks for a tqdm bar.
    total : int, optional
        Number of :meth:`step` calls expected (shown as ``[k/total]``).
    label : str, optional
        With a label, every message starts with ``[label  elapsed s]``.
    stream : file, optional
        Default: ``sys.stderr`` at the time of the call.

    Examples
    --------
    >>> import io
    >>> out = io.StringIO()
    >>> p = Progress(True, total=2, stream=out)
    >>> p.message("start"); p.step("one"); p.step("two")
    >>> out.getvalue().splitlines()[0]
    'start'
    >>> Progress(False).step("nothing")  # quiet: writes nothing
    """

    def __init__(self, enabled=False, *, total=None, label=None, stream=None):
        self.enabled = bool(enabled)
        self.total = total
        self.label = label
        self.stream = stream or sys.stderr
        self.done = 0
        self.tty = bool(getattr(self.stream, "isatty", lambda: False)())
        self.t0 = time.perf_counter()
        self.bar = _tqdm_bar(total, self.stream) if enabled == "tqdm" else None

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
        if self.bar is not None:
            self.bar.set_postfix_str(text, refresh=False)
            self.bar.update(1)
            if self.done == self.total:
                self.bar.close()
            return
        self._write(f"[{self.done}/{self.total}] {text}  ({self.elapsed():.1f} s)",
                    final=self.done == self.total)

    def _write(self, text, final=False):
        if self.bar is not None:
            self.bar.write(text, file=self.stream)
            return
        if self.tty:
            self.stream.write("\r\x1b[K" + text + ("\n" if final else ""))
        else:
            self.stream.write(text + "\n")
        self.stream.flush()


def _tqdm_bar(total, stream):
    """A tqdm bar, or None when tqdm is not installed (plain lines are written then)."""
    try:
        from tqdm.auto import tqdm
    except ImportError:
        return None
    return tqdm(total=total, file=stream, leave=True)
