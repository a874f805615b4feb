"""The studies: how exact training compares with what is usually done.

- :mod:`~exactrelu.studies.comparison`: :func:`compare`, the certified optimum against
  gradient training (:mod:`exactrelu.sgd`) and scikit-learn's MLP
  (:mod:`~exactrelu.studies.mlp`) on the same objective; results in
  :mod:`~exactrelu.studies.results`.
- :mod:`~exactrelu.studies.sampling`: what random gates (sampling-based convex
  solvers) find of the arrangement (:mod:`~exactrelu.studies.gates`), and what it costs
  them (:mod:`~exactrelu.studies.price`).
- :mod:`~exactrelu.studies.sizes`: how large the arrangements of synthetic and real data
  are against Cover's bound (cost model in :mod:`~exactrelu.studies.cost`, tables in
  :mod:`~exactrelu.studies.report`).

The command line (``python -m exactrelu compare|sizes``) is in :mod:`exactrelu.cli`.
"""

from . import comparison, mlp, sampling, sizes
from .comparison import compare
from .results import Comparison, Run

__all__ = ["comparison", "mlp", "sampling", "sizes", "compare", "Comparison", "Run"]
