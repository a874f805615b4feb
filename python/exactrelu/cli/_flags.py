"""The flags every sub-command shares: ``--progress`` and ``--quiet``.

Progress is shown on stderr by default when stderr is a terminal; ``--progress`` shows
it anyway (e.g. into a log), ``--quiet`` writes nothing on stderr but errors. The
display is a tqdm bar when tqdm is installed, else plain lines (docs/design.md
section 7, "Progress").
"""

from __future__ import annotations

import sys

__all__ = ["add_progress_flags", "progress_wanted"]


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
