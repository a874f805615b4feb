"""The cost model of the size study: predicted seconds of each exact computation."""

from __future__ import annotations

__all__ = ["CostModel"]


class CostModel:
    """Predicted seconds of the exact computations, calibrated on the cases already run.

    Each kind of computation has a size in work units (computed from exact, cheap
    facts before it runs) and a rate in seconds per unit: the largest rate seen on
    a run long enough to measure, or a conservative prior.
    """

    #: Conservative priors (seconds per unit, measured on 2 cores and doubled) and the
    #: fixed overhead per call.
    PRIORS = {"count": 2.5e-8, "rays": 2.5e-8, "enum": 1e-8, "coverage": 5e-9}
    OVERHEAD = 1e-3

    def __init__(self):
        self.rate = dict(self.PRIORS)
        self.seen = {k: 0 for k in self.PRIORS}

    @staticmethod
    def units(kind, *, n_hyperplanes, rank, cells_bound=None, cells=None, n_rows=None,
              gates=None):
        """Work units: counting walks the arrangement (Cover's bound times rank^2 is
        an upper estimate), listing writes every cell's pattern, coverage evaluates
        ``gates x n`` signs."""
        m, r = max(1, n_hyperplanes), max(1, rank)
        if kind in ("count", "rays"):
            return float(cells_bound) * r * r + m
        if kind == "enum":
            return float(cells) * (m + 50 * r * r)
        if kind == "coverage":
            return float(gates) * n_rows * (r + 2)
        raise ValueError(kind)

    def predict(self, kind, units):
        return self.OVERHEAD + self.rate[kind] * units

    def observe(self, kind, units, seconds):
        if units <= 0:
            return
        if seconds > 0.02:
            r = (seconds - self.OVERHEAD) / units
            # trust measurements: after the first real one, follow the data (the
            # largest of the recent rates, so a slow case is not forgotten)
            self.rate[kind] = r if self.seen[kind] == 0 else max(r, 0.5 * self.rate[kind])
            self.seen[kind] += 1
