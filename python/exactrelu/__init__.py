"""exactrelu: shallow ReLU networks trained to their certified global optimum.

The core (:mod:`exactrelu.arrangement`) enumerates the hyperplane arrangement of a
dataset exactly; :func:`solve` turns it into a linear (or quadratic / cone)
program whose optimum is the globally optimal two-layer ReLU network, with a
certificate.

Names are imported lazily so that optional parts never slow down or break the
import of the core.
"""

from importlib import import_module
from importlib.metadata import PackageNotFoundError, version

from . import errors
from .arrangement import (
    ArrangementInfo,
    Cells,
    Rays,
    arrangement_info,
    count_cells,
    count_rays,
    cover_count,
    enumerate_cells,
    enumerate_rays,
)

try:
    __version__ = version("exactrelu")
except PackageNotFoundError:  # pragma: no cover - running from a source tree that is not installed
    __version__ = "0+unknown"

# public name -> module that defines it (imported on first use)
_LAZY = {
    "ReLUNetwork": "network",
    "Solution": "solver",
    "solve": "solver",
    "Certificate": "certificate",
    "certify": "certificate",
    "beta_max": "certificate",
    "ExactReLURegressor": "estimators",
    "ExactReLUClassifier": "estimators",
    "compare": "studies",
    "Comparison": "studies",
    "sgd": None,
    "sizes": "studies",
    "sampling": "studies",
    "datasets": None,
    "plotting": None,
}

__all__ = [
    "errors",
    "ArrangementInfo",
    "Cells",
    "Rays",
    "arrangement_info",
    "count_cells",
    "count_rays",
    "cover_count",
    "enumerate_cells",
    "enumerate_rays",
    *[k for k in _LAZY],
]


def __getattr__(name):
    if name in _LAZY:
        mod = _LAZY[name]
        if mod is None:
            return import_module(f".{name}", __name__)
        return getattr(import_module(f".{mod}", __name__), name)
    raise AttributeError(f"module 'exactrelu' has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(_LAZY))
