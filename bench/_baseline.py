"""Running a benchmark script first under another interpreter (``--baseline PYTHON``),
for the side-by-side tables of bench/arrangements.py and bench/pricing.py."""

from __future__ import annotations

import os
import subprocess
import tempfile


def run_baseline(python, script, json_path, args):
    """Run ``script`` under ``python`` (another installed exactrelu) writing ``json_path``,
    from a neutral directory so that the checkout's package is not imported."""
    cmd = [python, os.path.abspath(script), "--json", json_path] + list(args)
    print(f"baseline: {' '.join(cmd)}")
    subprocess.run(cmd, check=True, cwd=tempfile.gettempdir())
    print("\nthis version:")
