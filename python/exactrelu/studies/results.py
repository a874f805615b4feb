"""The results of :func:`exactrelu.compare`: one :class:`Run` per training run and the
:class:`Comparison` that holds them with the certified optimum (tables, summaries, JSON).
"""

from __future__ import annotations

import json
import statistics
from dataclasses import dataclass, field

import numpy as np

from .._format import fmt_gap, fmt_num

__all__ = ["Run", "Comparison"]


@dataclass
class Run:
    """One training run (an SGD run or a peer such as MLPRegressor).

    Attributes
    ----------
    method : str
        "sgd" (:func:`exactrelu.sgd.train`) or "mlp" (scikit-learn).
    width, seed : int
    objective, loss, penalty : float
        The final network's exact objective, loss and path norm.
    rel_gap : float
        ``(objective - optimum) / |optimum|``.
    cert_lower_bound, cert_gap : float or None
        What :func:`exactrelu.certify` proves from this network alone (a lower
        bound on the optimum, computed from :func:`canonical_network`, and
        ``objective - lower bound``); None if not available (e.g. the l2 penalty,
        which ``certify`` does not bound).
    effective_neurons : int
        See :func:`effective_neurons`.
    seconds : float
        Wall time of the run (training only, not the objective records).
    time_to_tol : float or None
        Training seconds until the objective first came within ``tol`` (default
        1%) of the optimum; None if never (or not recorded, for peers).
    below_lower_bound : bool
        True if the objective is below the exact solve's certified lower bound
        (impossible for a correct solver and a correct objective: a red flag).
    """

    method: str
    width: int
    seed: int
    objective: float
    loss: float
    penalty: float
    rel_gap: float
    cert_lower_bound: float | None
    cert_gap: float | None
    effective_neurons: int
    seconds: float
    time_to_tol: float | None
    steps_to_tol: int | None = None
    below_lower_bound: bool = False
    note: str = ""
    network: object = field(default=None, repr=False)
    history: object = field(default=None, repr=False)

    def to_dict(self, *, history=True, network=False):
        out = {
            "method": self.method,
            "width": self.width,
            "seed": self.seed,
            "objective": self.objective,
            "loss": self.loss,
            "penalty": self.penalty,
            "rel_gap": self.rel_gap,
            "cert_lower_bound": self.cert_lower_bound,
            "cert_gap": self.cert_gap,
            "effective_neurons": self.effective_neurons,
            "seconds": self.seconds,
            "time_to_tol": self.time_to_tol,
            "steps_to_tol": self.steps_to_tol,
            "below_lower_bound": self.below_lower_bound,
            "note": self.note,
        }
        if history and self.history is not None:
            out["history"] = self.history.to_dict()
        if network and self.network is not None and hasattr(self.network, "to_dict"):
            out["network"] = _jsonable(self.network.to_dict())
        return out


def _jsonable(obj):
    if isinstance(obj, dict):
        return {k: _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, (np.floating, np.integer, np.bool_)):
        return obj.item()
    return obj


@dataclass
class Comparison:
    """The result of :func:`compare`: the certified optimum and every run.

    Attributes
    ----------
    problem : dict
        n, d, loss, beta, penalty, bias, skip, tol (and beta_max when known).
    optimum, lower_bound, exact_gap : float
        The exact solve's objective, certified lower bound and gap.
    certified : bool
    exact_seconds : float
        Wall time of :func:`exactrelu.solve`.
    exact_neurons : int
    exact_network : ReLUNetwork
    runs : list of Run
        The SGD runs (and peers, ``method != "sgd"``), in the order run.
    X, y : ndarray
        The data (for plots).
    """

    problem: dict
    optimum: float
    lower_bound: float
    exact_gap: float
    certified: bool
    exact_seconds: float
    exact_neurons: int
    exact_network: object = field(repr=False)
    runs: list = field(default_factory=list)
    X: np.ndarray = field(default=None, repr=False)
    y: np.ndarray = field(default=None, repr=False)

    @property
    def tol(self):
        return float(self.problem.get("tol", 0.01))

    def select(self, method="sgd", width=None):
        """Runs of one method (and optionally one width)."""
        return [r for r in self.runs if r.method == method and (width is None or r.width == width)]

    @property
    def methods(self):
        seen = []
        for r in self.runs:
            if r.method not in seen:
                seen.append(r.method)
        return seen

    @property
    def widths(self):
        return sorted({r.width for r in self.runs})

    def summary(self, method="sgd"):
        """Best / median / worst relative gap and the fraction within ``tol``.

        Returns a dict (None values when there are no runs of ``method``).
        """
        runs = self.select(method)
        gaps = [r.rel_gap for r in runs]
        if not gaps:
            return {"method": method, "runs": 0, "best": None, "median": None, "worst": None,
                    "within_tol": None, "tol": self.tol, "below_lower_bound": 0}
        times = [r.time_to_tol for r in runs if r.time_to_tol is not None]
        return {
            "method": method,
            "runs": len(gaps),
            **self._gap_stats(gaps),
            "tol": self.tol,
            "median_time_to_tol": statistics.median(times) if times else None,
            "below_lower_bound": sum(r.below_lower_bound for r in runs),
        }

    def _gap_stats(self, gaps):
        return {"best": min(gaps), "median": statistics.median(gaps), "worst": max(gaps),
                "within_tol": sum(g <= self.tol for g in gaps) / len(gaps)}

    def by_width(self, method="sgd"):
        """{width: {"best", "median", "worst", "within_tol"}} of the relative gaps."""
        out = {}
        for w in self.widths:
            g = [r.rel_gap for r in self.select(method, w)]
            if g:
                out[w] = self._gap_stats(g)
        return out

    def table(self):
        """The runs as a text table (one line per run) with a header."""
        p = self.problem
        bracket = p.get("method") == "bracket" and not self.certified
        lines = [
            f"problem: n={p['n']} d={p['d']} loss={p['loss']} beta={p['beta']:.6g} "
            f"penalty={p['penalty']} bias={p['bias']} skip={p['skip']}",
        ]
        if bracket:   # too large to certify: the optimum lies in [lower bound, best network]
            lines.append(
                f"bracket: optimum in [{self.lower_bound:.10g}, {self.optimum:.10g}] "
                f"(relative gap {fmt_gap(self.exact_gap / max(1.0, abs(self.optimum)))}; "
                f"best convex network {self.exact_neurons} neurons, {self.exact_seconds:.3g} s)")
        else:
            lines.append(
                f"exact:   objective {self.optimum:.10g}  lower bound {self.lower_bound:.10g}  "
                f"({'certified' if self.certified else 'NOT certified'}, "
                f"{self.exact_neurons} neurons, {self.exact_seconds:.3g} s)")
        # rel.gap: above the best convex network (the optimum when certified); with a
        # bracket also above its lower bound
        head = (f"{'method':<6} {'width':>5} {'seed':>4} {'objective':>12} {'rel.gap':>9} "
                + (f"{'vs.LB':>9} " if bracket else "")
                + f"{'cert.LB':>12} {'cert.gap':>10} {'neurons':>7} {'seconds':>8} "
                f"{'t(' + format(100 * self.tol, 'g') + '%)':>8}")
        lines += [head, "-" * len(head)]
        scale = max(1.0, abs(self.lower_bound)) if np.isfinite(self.lower_bound) else 1.0
        for r in self.runs:
            vs_lb = (f"{fmt_gap((r.objective - self.lower_bound) / scale):>9} "
                     if bracket else "")
            lines.append(
                f"{r.method:<6} {r.width:>5} {r.seed:>4} {r.objective:>12.6g} "
                f"{fmt_gap(r.rel_gap):>9} {vs_lb}{fmt_num(r.cert_lower_bound, '12.6g'):>12} "
                f"{fmt_num(r.cert_gap, '10.3g'):>10} {r.effective_neurons:>7} "
                f"{r.seconds:>8.3g} {fmt_num(r.time_to_tol, '8.3g', 'never'):>8}"
                + ("  BELOW LOWER BOUND" if r.below_lower_bound else "")
                + (f"  {r.note}" if r.note else "")
            )
        return "\n".join(lines)

    def summary_text(self):
        lines = []
        for m in self.methods:
            s = self.summary(m)
            lines.append(
                f"{m}: {s['runs']} runs; rel. gap best {fmt_gap(s['best'])}, median "
                f"{fmt_gap(s['median'])}, worst {fmt_gap(s['worst'])}; within "
                f"{100 * self.tol:g}%: {100 * s['within_tol']:.0f}% of runs"
                + (f"; {s['below_lower_bound']} below the lower bound (BUG)"
                   if s["below_lower_bound"] else "")
            )
        return "\n".join(lines)

    def __str__(self):
        return self.table() + "\n" + self.summary_text()

    def to_dict(self, *, histories=True, networks=False):
        return _jsonable({
            "problem": self.problem,
            "exact": {
                "objective": self.optimum,
                "lower_bound": self.lower_bound,
                "gap": self.exact_gap,
                "certified": self.certified,
                "seconds": self.exact_seconds,
                "neurons": self.exact_neurons,
                **({"network": self.exact_network.to_dict()}
                   if networks and hasattr(self.exact_network, "to_dict") else {}),
            },
            "summary": {m: self.summary(m) for m in self.methods},
            "by_width": {m: {str(k): v for k, v in self.by_width(m).items()}
                         for m in self.methods},
            "runs": [r.to_dict(history=histories, network=networks) for r in self.runs],
        })

    def to_json(self, path=None, *, histories=True, networks=False, indent=1):
        """JSON text of :meth:`to_dict`; also written to ``path`` when given."""
        text = json.dumps(self.to_dict(histories=histories, networks=networks), indent=indent)
        if path is not None:
            with open(path, "w") as fh:
                fh.write(text + "\n")
        return text
