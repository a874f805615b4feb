"""Shared pytest configuration.

* Makes ``tests/`` importable (``import reference``) whatever the import mode.
* Registers a hypothesis profile without deadlines (timings on shared CI machines
  vary) and with a derandomized, reproducible example stream; select another one
  with ``--hypothesis-profile``.
"""

import os
import sys

_HERE = os.path.dirname(os.path.abspath(__file__))
if _HERE not in sys.path:
    sys.path.insert(0, _HERE)

try:
    from hypothesis import HealthCheck, settings
except ImportError:  # hypothesis is a test extra; tests that need it import it themselves
    pass
else:
    settings.register_profile(
        "exactrelu",
        deadline=None,
        derandomize=True,
        suppress_health_check=[HealthCheck.too_slow],
    )
    settings.load_profile("exactrelu")
