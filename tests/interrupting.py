"""Shared by the tests that press Ctrl-C in a child process (POSIX signals)."""

import signal
import subprocess
import sys
import time


def run_until_interrupted(script, wait):
    """Run ``script`` in a child, send SIGINT ``wait`` s after it prints "ready", and
    check that it reported the interruption and exited 0; returns its output."""
    proc = subprocess.Popen([sys.executable, "-c", script],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline().strip() == "ready"
        time.sleep(wait)
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, (out, err)
    assert "interrupted" in out
    return out
