"""How far does ordinary training land from the certified optimum?

:func:`compare` solves a problem exactly with :func:`exactrelu.solve` (the
certified global optimum), then trains width-m networks on the same objective
with :func:`exactrelu.sgd.train` for every (width, seed), and reports for each
run: the final objective, its relative gap to the optimum, the lower bound and
gap that :func:`exactrelu.certify` proves for the SGD network on its own, the
number of effective neurons, the wall time and the time to get within 1% of the
optimum. Optionally, scikit-learn's ``MLPRegressor`` is added as a peer on the
weight-decay problem (see :func:`mlp_peer`).

The command line ``python -m exactrelu compare`` is defined here (:func:`add_cli`).
"""

from __future__ import annotations

import json
import math
import statistics
import sys
import time
from dataclasses import dataclass, field

import numpy as np

from ._validation import as_data_matrix, as_target_vector
from .errors import ExactReLUError, InputError, NotSupportedError

__all__ = [
    "Run",
    "Comparison",
    "compare",
    "effective_neurons",
    "canonical_network",
    "mlp_alpha",
    "mlp_network",
    "mlp_objective",
    "mlp_peer",
    "add_cli",
]

_TINY = 1e-12


# --------------------------------------------------------------------------- helpers
def _rel_gap(value, optimum):
    return (value - optimum) / max(abs(optimum), _TINY)


def effective_neurons(network, *, penalty="l1", rtol=1e-3, merge_tol=1e-3):
    """Number of neurons that matter in a network.

    A neuron counts when its share ``|a_j| * ||w_j||_p`` of the path norm is at
    least ``rtol`` times the largest share; neurons whose directions
    ``(w_j, b_j) / ||(w_j, b_j)||_2`` agree to ``merge_tol`` (same kink, same side)
    are one neuron (they could be merged without changing the function or the
    penalty).
    """
    W = np.asarray(network.W, dtype=float)
    a = np.asarray(network.a, dtype=float)
    b = np.asarray(network.b, dtype=float) if network.b is not None else np.zeros(len(a))
    if a.size == 0:
        return 0
    nw = np.abs(W).sum(axis=1) if penalty == "l1" else np.linalg.norm(W, axis=1)
    share = np.abs(a) * nw
    top = share.max()
    if not top > 0:
        return 0
    keep = np.nonzero(share >= rtol * top)[0]
    theta = np.hstack([W[keep], b[keep, None]])
    theta /= np.maximum(np.linalg.norm(theta, axis=1, keepdims=True), 1e-300)
    reps = []
    for t in theta:
        if not any(np.linalg.norm(t - r) <= merge_tol for r in reps):
            reps.append(t)
    return len(reps)


def canonical_network(network, X):
    """An equivalent network on the data ``X``, better conditioned for certificates.

    Neurons inactive on every row of ``X`` are dropped (the outputs on ``X`` are
    unchanged; the penalty can only go down). A neuron active on every row computes an
    affine function there; its bias is lowered until its kink touches the data
    (``b' = b - min_i z_i``) and the difference ``a * (b - b')`` goes into the
    output bias: outputs on ``X`` and path norm are unchanged. (Gradient training
    leaves such neurons, e.g. with kinks thousands of data widths away, whose
    nearly collinear columns make the restricted program ill-conditioned.)
    """
    from .network import ReLUNetwork

    X = np.asarray(X, dtype=float)
    W, b, a, c = network.W.copy(), network.b.copy(), network.a.copy(), float(network.c)
    if W.shape[0] == 0:
        return network
    Z = X @ W.T + b
    all_on = np.all(Z > 0, axis=0) & np.any(W != 0, axis=1)
    off = np.all(Z <= 0, axis=0)
    if np.any(all_on):
        shift = Z[:, all_on].min(axis=0)
        c += float(a[all_on] @ shift)
        b[all_on] -= shift
    keep = ~off
    return ReLUNetwork(W=W[keep], b=b[keep], a=a[keep], c=c, s=network.s)


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


def _fmt(v, spec=".6g", none="-"):
    if v is None:
        return none
    if isinstance(v, float) and math.isnan(v):
        return "nan"
    return format(v, spec)


def _fmt_gap(g):
    if g is None:
        return "-"
    if abs(g) < 1e-9:
        return "0"
    return f"{100 * g:.3g}%"


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
            "best": min(gaps),
            "median": statistics.median(gaps),
            "worst": max(gaps),
            "within_tol": sum(g <= self.tol for g in gaps) / len(gaps),
            "tol": self.tol,
            "median_time_to_tol": statistics.median(times) if times else None,
            "below_lower_bound": sum(r.below_lower_bound for r in runs),
        }

    def by_width(self, method="sgd"):
        """{width: {"best", "median", "worst", "within_tol"}} of the relative gaps."""
        out = {}
        for w in self.widths:
            g = [r.rel_gap for r in self.select(method, w)]
            if g:
                out[w] = {"best": min(g), "median": statistics.median(g), "worst": max(g),
                          "within_tol": sum(x <= self.tol for x in g) / len(g)}
        return out

    def table(self):
        """The runs as a text table (one line per run) with a header."""
        p = self.problem
        lines = [
            f"problem: n={p['n']} d={p['d']} loss={p['loss']} beta={p['beta']:.6g} "
            f"penalty={p['penalty']} bias={p['bias']} skip={p['skip']}",
            f"exact:   objective {self.optimum:.10g}  lower bound {self.lower_bound:.10g}  "
            f"({'certified' if self.certified else 'NOT certified'}, "
            f"{self.exact_neurons} neurons, {self.exact_seconds:.3g} s)",
        ]
        head = (f"{'method':<6} {'width':>5} {'seed':>4} {'objective':>12} {'rel.gap':>9} "
                f"{'cert.LB':>12} {'cert.gap':>10} {'neurons':>7} {'seconds':>8} "
                f"{'t(' + format(100 * self.tol, 'g') + '%)':>8}")
        lines += [head, "-" * len(head)]
        for r in self.runs:
            lines.append(
                f"{r.method:<6} {r.width:>5} {r.seed:>4} {r.objective:>12.6g} "
                f"{_fmt_gap(r.rel_gap):>9} {_fmt(r.cert_lower_bound, '12.6g'):>12} "
                f"{_fmt(r.cert_gap, '10.3g'):>10} {r.effective_neurons:>7} "
                f"{r.seconds:>8.3g} {_fmt(r.time_to_tol, '8.3g', 'never'):>8}"
                + ("  BELOW LOWER BOUND" if r.below_lower_bound else "")
                + (f"  {r.note}" if r.note else "")
            )
        return "\n".join(lines)

    def summary_text(self):
        lines = []
        for m in self.methods:
            s = self.summary(m)
            lines.append(
                f"{m}: {s['runs']} runs; rel. gap best {_fmt_gap(s['best'])}, median "
                f"{_fmt_gap(s['median'])}, worst {_fmt_gap(s['worst'])}; within "
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


# --------------------------------------------------------------------------- MLP peer
def mlp_alpha(beta, n, *, solver="lbfgs", batch_size="auto"):
    """scikit-learn's ``alpha`` for our weight-decay problem with weight ``beta``.

    ``MLPRegressor`` minimizes, per batch of B samples,
    ``(1/B) * [0.5*sum_batch r_i**2 + 0.5*alpha*(||W||_F**2 + ||a||**2)]`` (its
    squared loss is a mean over the batch with a factor 1/2, and its L2 term is
    divided by the batch size; biases are not penalized). With ``lbfgs`` the
    batch is all n samples, so ``n * loss_ = 0.5*||r||**2 + 0.5*alpha*||theta||**2``,
    which is our balanced weight-decay objective for ``alpha = beta``. Its
    adam/sgd solvers take one step per batch, so one epoch sums n/B batch
    objectives, i.e. ``(1/B)*[0.5*||r||**2 + (n/B)*0.5*alpha*||theta||**2]``:
    ``alpha = beta * B / n``. (``batch_size="auto"`` means B = min(200, n).)
    """
    if solver == "lbfgs":
        return float(beta)
    B = min(200, n) if batch_size == "auto" else min(int(batch_size), n)
    return float(beta) * B / n


def mlp_network(mlp):
    """The fitted ``MLPRegressor`` (one hidden ReLU layer) as a ReLUNetwork."""
    from .network import ReLUNetwork

    if len(mlp.coefs_) != 2 or mlp.activation != "relu":
        raise NotSupportedError("only one-hidden-layer ReLU MLPRegressor models convert")
    W = np.asarray(mlp.coefs_[0], dtype=float).T
    b = np.asarray(mlp.intercepts_[0], dtype=float)
    a = np.asarray(mlp.coefs_[1], dtype=float)[:, 0]
    c = float(np.asarray(mlp.intercepts_[1])[0])
    return ReLUNetwork(W=W, b=b, a=a, c=c, s=None)


def mlp_objective(mlp, X, y, *, beta):
    """Our objectives of a fitted ``MLPRegressor``, and its own one converted.

    Returns ``(exact, balanced)``: ``exact = 0.5*||r||**2 + beta*sum_j |a_j|*||w_j||_2``
    (the path-norm form that :func:`exactrelu.solve` with ``penalty="l2"``
    minimizes) and ``balanced = 0.5*||r||**2 + 0.5*beta*(||W||_F**2 + ||a||**2)``,
    which equals ``n * mlp.loss_`` for an lbfgs fit with ``alpha = beta`` (see
    :func:`mlp_alpha`). Always ``exact <= balanced`` (AM-GM per neuron).
    """
    X = np.asarray(X, dtype=float)
    y = np.asarray(y, dtype=float)
    net = mlp_network(mlp)
    r = net.predict(X) - y
    fit = 0.5 * float(r @ r)
    W, a = net.W, net.a
    exact = fit + beta * float(np.abs(a) @ np.linalg.norm(W, axis=1))
    balanced = fit + 0.5 * beta * float(np.sum(W * W) + a @ a)
    return exact, balanced


def mlp_peer(X, y, *, width, beta, seed=0, max_iter=20000, tol=1e-12):
    """Fit scikit-learn's ``MLPRegressor`` on the weight-decay problem.

    ReLU, one hidden layer of ``width``, ``solver="lbfgs"`` (full batch), and
    ``alpha = beta`` (the conversion of :func:`mlp_alpha`), so that it minimizes
    ``(1/n) * [0.5*||r||**2 + 0.5*beta*(||W||**2 + ||a||**2)]``: our squared loss
    with the balanced l2 penalty, divided by n. Returns ``(mlp, seconds)``.
    """
    import warnings

    try:
        from sklearn.exceptions import ConvergenceWarning
        from sklearn.neural_network import MLPRegressor
    except ImportError:
        raise NotSupportedError("the MLPRegressor peer needs scikit-learn") from None
    X = np.asarray(X, dtype=float)
    y = np.asarray(y, dtype=float)
    mlp = MLPRegressor(
        hidden_layer_sizes=(int(width),), activation="relu", solver="lbfgs",
        alpha=mlp_alpha(beta, X.shape[0], solver="lbfgs"), max_iter=max_iter, max_fun=10 * max_iter,
        tol=tol, random_state=seed,
    )
    t0 = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        mlp.fit(X, y)
    return mlp, time.perf_counter() - t0


# --------------------------------------------------------------------------- progress
class _Progress:
    def __init__(self, total, enabled, stream=None):
        self.total = total
        self.enabled = enabled
        self.stream = stream or sys.stderr
        self.done = 0
        self.tty = bool(getattr(self.stream, "isatty", lambda: False)())
        self.t0 = time.perf_counter()

    def message(self, text):
        if self.enabled:
            self._write(text, final=True)

    def _write(self, text, final=False):
        if self.tty:
            self.stream.write("\r\x1b[K" + text + ("\n" if final else ""))
        else:
            self.stream.write(text + "\n")
        self.stream.flush()

    def step(self, text):
        self.done += 1
        if self.enabled:
            el = time.perf_counter() - self.t0
            self._write(f"[{self.done}/{self.total}] {text}  ({el:.1f} s)",
                        final=self.done == self.total)


# --------------------------------------------------------------------------- compare
def _as_seeds(seeds):
    if isinstance(seeds, (bool, np.bool_)):
        raise InputError(f"seeds must be a positive int or a sequence of ints, got {seeds!r}")
    if isinstance(seeds, (int, np.integer)):
        if seeds < 1:
            raise InputError(f"seeds must be >= 1, got {seeds}")
        return list(range(int(seeds)))
    try:
        out = [int(s) for s in seeds]
    except (TypeError, ValueError):
        raise InputError(f"seeds must be a positive int or a sequence of ints, got {seeds!r}") from None
    if not out:
        raise InputError("seeds is empty")
    return out


def _as_widths(widths, n):
    if widths is None:
        return sorted({max(2, n // 4), n, 3 * n})
    if isinstance(widths, (int, np.integer)) and not isinstance(widths, bool):
        widths = [widths]
    out = []
    for w in widths:
        if isinstance(w, bool) or not isinstance(w, (int, np.integer)) or w < 1:
            raise InputError(f"widths must be positive ints, got {w!r}")
        out.append(int(w))
    if not out:
        raise InputError("widths is empty")
    return out


def compare(
    X,
    y,
    *,
    loss,
    beta,
    penalty="l1",
    widths=None,
    seeds=5,
    bias=True,
    skip=False,
    tol=0.01,
    certify=True,
    peers="auto",
    solution=None,
    solve_options=None,
    progress=False,
    **sgd_options,
):
    """Certified optimum versus gradient training on the same objective.

    Parameters
    ----------
    X, y : array-like
        Data; for ``loss="hinge"`` labels in {-1, +1}.
    loss : {"squared", "absolute", "hinge"}
    beta : float
        Penalty weight (pick it below ``exactrelu.certificate.beta_max``).
    penalty : {"l1", "l2"}
    widths : sequence of int, optional
        Network widths for the gradient runs (default ``(n//4, n, 3n)``).
    seeds : int or sequence of int
        Seeds per width (an int k means ``range(k)``).
    bias, skip : bool
        As in :func:`exactrelu.solve`.
    tol : float
        Relative tolerance for "within tol of the optimum" (default 1%).
    certify : bool
        Also run :func:`exactrelu.certify` on every trained network (l1 penalty
        only: ray pricing does not bound the weight-decay problem).
    peers : "auto", bool or sequence of str
        ``"mlp"``: scikit-learn's ``MLPRegressor`` (see :func:`mlp_peer`) for
        every (width, seed). "auto" adds it when scikit-learn is installed and
        the problem is its problem: squared loss, bias, no skip, and the l2
        penalty (or d = 1, where l1 and l2 coincide).
    solution : Solution, optional
        A precomputed ``exactrelu.solve`` result for this problem (skips the solve).
    solve_options : dict, optional
        Extra keyword arguments for :func:`exactrelu.solve`.
    progress : bool or callable
        Print one line per run to stderr (a callable receives each Run).
    **sgd_options
        Passed to :func:`exactrelu.sgd.train` (``steps``, ``lr``, ``optimizer``,
        ``batch_size``, ``record_every``, ...).

    Returns
    -------
    Comparison
    """
    from . import sgd as _sgd

    X = as_data_matrix(X)
    n, d = X.shape
    y = as_target_vector(y, n)
    if loss not in _sgd.LOSSES:
        raise InputError(
            f"compare needs a loss SGD can train ({_sgd.LOSSES}); got {loss!r}"
            + (" (interpolation has no gradient-descent counterpart)" if loss == "interpolate" else "")
        )
    if penalty not in _sgd.PENALTIES:
        raise InputError(f"penalty must be one of {_sgd.PENALTIES}, got {penalty!r}")
    widths = _as_widths(widths, n)
    seeds = _as_seeds(seeds)
    tol = float(tol)
    if not tol > 0:
        raise InputError(f"tol must be > 0, got {tol}")
    bad = set(sgd_options) - {
        "optimizer", "lr", "steps", "batch_size", "record_every", "form", "schedule",
        "final_lr", "momentum", "time_limit",
    }
    if bad:
        raise InputError(f"unknown options for exactrelu.sgd.train: {sorted(bad)}")

    if peers == "auto":
        peer_list = []
        if loss == "squared" and bias and not skip and (penalty == "l2" or d == 1):
            try:
                import sklearn  # noqa: F401

                peer_list = ["mlp"]
            except ImportError:
                pass
    elif peers is True:
        peer_list = ["mlp"]
    elif not peers:
        peer_list = []
    else:
        peer_list = [peers] if isinstance(peers, str) else list(peers)
    for pname in peer_list:
        if pname != "mlp":
            raise InputError(f"unknown peer {pname!r} (known: 'mlp')")
        if loss != "squared" or skip or not bias:
            raise NotSupportedError(
                "the MLPRegressor peer solves the squared-loss problem with biases and no skip"
            )

    show = bool(progress) and not callable(progress)
    total = len(widths) * len(seeds) * (1 + len(peer_list))
    prog = _Progress(total, show)

    # ---- the certified optimum
    if solution is None:
        from .solver import solve

        prog.message(f"exact solve (n={n}, d={d}, loss={loss}, penalty={penalty}) ...")
        t0 = time.perf_counter()
        solution = solve(X, y, loss=loss, beta=beta, penalty=penalty, bias=bias, skip=skip,
                         **(solve_options or {}))
        exact_seconds = time.perf_counter() - t0
    else:
        exact_seconds = float(getattr(solution, "seconds", float("nan")) or float("nan"))
    opt = float(solution.objective)
    lb = float(solution.lower_bound)
    net0 = solution.network
    prog.message(f"optimum {opt:.8g} (lower bound {lb:.8g}), {net0.n_neurons} neurons, "
                 f"{exact_seconds:.3g} s")
    problem = {"n": n, "d": d, "loss": loss, "beta": float(beta), "penalty": penalty,
               "bias": bool(bias), "skip": bool(skip), "tol": tol, "widths": widths,
               "seeds": seeds, "sgd_options": {k: v for k, v in sgd_options.items()}}
    # slack for "below the lower bound": the bound is certified to solver precision
    slack = 1e-9 * max(1.0, abs(opt))
    cmp = Comparison(
        problem=problem, optimum=opt, lower_bound=lb, exact_gap=float(solution.gap),
        certified=bool(solution.certified), exact_seconds=exact_seconds,
        exact_neurons=int(net0.n_neurons), exact_network=net0, runs=[], X=X, y=y,
    )

    def _certify(net, objective):
        # The lower bound holds for the problem whatever network produced it; the
        # canonical network (same outputs on X, penalty no larger) conditions better.
        if not certify or penalty != "l1":  # ray pricing bounds the l1 problem only
            return None, None, ""
        try:
            from .certificate import certify as _cert

            c = _cert(canonical_network(net, X), X, y, loss=loss, beta=beta, penalty=penalty,
                      bias=bias, skip=skip)
            return float(c.lower_bound), float(objective - c.lower_bound), ""
        except ExactReLUError as exc:
            return None, None, f"certify: {type(exc).__name__}"

    def _emit(run):
        cmp.runs.append(run)
        if callable(progress):
            progress(run)
        prog.step(f"{run.method} width={run.width} seed={run.seed}: objective "
                  f"{run.objective:.6g}, gap {_fmt_gap(run.rel_gap)}")

    target = opt + tol * max(abs(opt), _TINY)
    for width in widths:
        for seed in seeds:
            net, hist = _sgd.train(X, y, width=width, loss=loss, beta=beta, penalty=penalty,
                                   bias=bias, skip=skip, seed=seed, **sgd_options)
            obj = hist.final_objective
            clb, cgap, note = _certify(net, obj)
            _emit(Run(
                method="sgd", width=width, seed=seed, objective=obj,
                loss=float(hist.loss[-1]), penalty=float(hist.penalty[-1]),
                rel_gap=_rel_gap(obj, opt), cert_lower_bound=clb, cert_gap=cgap,
                effective_neurons=effective_neurons(net, penalty=penalty),
                seconds=hist.train_seconds, time_to_tol=hist.time_to(target),
                steps_to_tol=hist.steps_to(target), below_lower_bound=obj < lb - slack,
                note=note, network=net, history=hist,
            ))
        for pname in peer_list:
            for seed in seeds:
                mlp, secs = mlp_peer(X, y, width=width, beta=beta, seed=seed)
                net = mlp_network(mlp)
                exact_l2, _ = mlp_objective(mlp, X, y, beta=beta)
                # our objective in the requested penalty (l1 = l2 when d = 1)
                obj = float(net.objective(X, y, loss=loss, beta=beta, penalty=penalty))
                r = net.predict(X) - y
                lv = 0.5 * float(r @ r)
                clb, cgap, note = _certify(net, obj)
                _emit(Run(
                    method=pname, width=width, seed=seed, objective=obj, loss=lv,
                    penalty=(obj - lv) / beta, rel_gap=_rel_gap(obj, opt),
                    cert_lower_bound=clb, cert_gap=cgap,
                    effective_neurons=effective_neurons(net, penalty=penalty), seconds=secs,
                    time_to_tol=secs if obj <= target else None,
                    below_lower_bound=obj < lb - slack, note=note, network=net,
                ))
    return cmp


# --------------------------------------------------------------------------- CLI
def _parse_ints(text, name):
    try:
        vals = [int(v) for v in str(text).replace(" ", "").split(",") if v]
    except ValueError:
        raise InputError(f"{name} must be comma-separated integers, got {text!r}") from None
    if not vals:
        raise InputError(f"{name} is empty")
    return vals


def _run_cli(args):
    from . import datasets

    if args.list_datasets:
        for name in datasets.list_datasets():
            desc = (datasets.SYNTHETIC.get(name) or (None, datasets.SKLEARN.get(name, ("",) * 4)[3]))[1]
            print(f"{name:<14} {desc}")
        return 0
    if (args.dataset is None) == (args.csv is None):
        raise InputError("give exactly one of --dataset NAME or --csv FILE "
                         "(--list-datasets shows the names)")
    features = _parse_ints(args.features, "--features") if args.features else None
    if args.csv is not None:
        ds = datasets.load_csv(args.csv)
        X, y = ds.X, ds.y
        if features is not None:
            X = X[:, features]
        if args.n is not None and args.n < X.shape[0]:
            rows = np.sort(np.random.default_rng(args.data_seed).choice(X.shape[0], args.n,
                                                                         replace=False))
            X, y = X[rows], y[rows]
        if args.standardize:
            X = datasets.standardize(X)
        ds = datasets.Dataset(X=np.ascontiguousarray(X), y=y, name=ds.name, task=ds.task,
                              description=ds.description)
    else:
        ds = datasets.load_dataset(args.dataset, n=args.n, noise=args.noise,
                                   seed=args.data_seed, features=features,
                                   standardize_X=True if args.standardize else None)
    loss = args.loss or ds.loss
    if loss == "hinge" and ds.task != "classification":
        raise InputError(f"hinge loss needs a classification dataset; {ds.name} is regression")
    quiet = args.quiet
    if args.beta is not None:
        beta = args.beta
    else:
        from .certificate import beta_max

        bmax = float(beta_max(ds.X, ds.y, loss=loss, bias=not args.no_bias, skip=args.skip))
        beta = args.beta_frac * bmax
        if not quiet:
            print(f"beta = {args.beta_frac:g} * beta_max = {args.beta_frac:g} * {bmax:.6g} "
                  f"= {beta:.6g}", file=sys.stderr)
    widths = _parse_ints(args.widths, "--widths") if args.widths else None
    sgd_opts = {}
    if args.steps is not None:
        sgd_opts["steps"] = args.steps
    if args.lr is not None:
        sgd_opts["lr"] = args.lr if args.lr == "search" else float(args.lr)
    if args.optimizer is not None:
        sgd_opts["optimizer"] = args.optimizer
    if args.batch_size is not None:
        sgd_opts["batch_size"] = args.batch_size
    peers = False if args.no_mlp else "auto"
    if not quiet:
        print(f"dataset {ds.name}: n={ds.n}, d={ds.d}, {ds.task}; {ds.description}",
              file=sys.stderr)
    cmp = compare(ds.X, ds.y, loss=loss, beta=beta, penalty=args.penalty, widths=widths,
                  seeds=args.seeds, bias=not args.no_bias, skip=args.skip, peers=peers,
                  progress=not quiet, **sgd_opts)
    cmp.problem["dataset"] = ds.name
    print(cmp)
    if args.json:
        cmp.to_json(args.json)
        if not quiet:
            print(f"wrote {args.json}", file=sys.stderr)
    if args.plot:
        from .plotting import plot_comparison

        plot_comparison(cmp, path=args.plot, title=f"{ds.name}: {loss} loss, beta={beta:.3g}, "
                        f"{args.penalty} penalty")
        if not quiet:
            print(f"wrote {args.plot}", file=sys.stderr)
    return 0


def add_cli(subparsers):
    """Register ``python -m exactrelu compare``."""
    p = subparsers.add_parser(
        "compare",
        help="certified optimum vs SGD on the same objective",
        description="Solve a dataset exactly (certified global optimum), train networks of "
                    "several widths by Adam from several seeds on the same objective, and "
                    "report how far each lands from the optimum.",
    )
    src = p.add_argument_group("data")
    src.add_argument("--dataset", metavar="NAME",
                     help="built-in dataset: synthetic (sine1d, abs1d, teacher1d, sign1d, "
                          "bumps2d, teacher2d, xor2d, circle2d) or scikit-learn "
                          "(iris, wine, breast_cancer, diabetes, linnerud)")
    src.add_argument("--csv", metavar="FILE", help="numeric CSV file, last column the target")
    src.add_argument("--list-datasets", action="store_true", help="list dataset names and exit")
    src.add_argument("--n", type=int, default=None,
                     help="samples (synthetic; a random subsample of real data)")
    src.add_argument("--noise", type=float, default=0.1, help="synthetic noise level (0.1)")
    src.add_argument("--data-seed", type=int, default=0, help="seed of the data (0)")
    src.add_argument("--features", default=None, help="columns of X to keep, e.g. 2,3")
    src.add_argument("--standardize", action="store_true",
                     help="standardize X (always done for scikit-learn data)")
    prob = p.add_argument_group("problem")
    prob.add_argument("--loss", choices=["squared", "absolute", "hinge"], default=None,
                      help="default: squared for regression, hinge for classification")
    prob.add_argument("--beta", type=float, default=None, help="penalty weight")
    prob.add_argument("--beta-frac", type=float, default=0.02,
                      help="without --beta: beta = this * beta_max (0.02)")
    prob.add_argument("--penalty", choices=["l1", "l2"], default="l1")
    prob.add_argument("--no-bias", action="store_true", help="no neuron biases")
    prob.add_argument("--skip", action="store_true", help="free linear skip term")
    run = p.add_argument_group("runs")
    run.add_argument("--widths", default=None, help="comma-separated widths (n/4, n, 3n)")
    run.add_argument("--seeds", type=int, default=5, help="seeds per width (5)")
    run.add_argument("--steps", type=int, default=None, help="SGD steps per run (8000)")
    run.add_argument("--lr", default=None, help="relative learning rate, or 'search'")
    run.add_argument("--optimizer", choices=["adam", "sgd"], default=None)
    run.add_argument("--batch-size", type=int, default=None, help="mini-batch size (full batch)")
    run.add_argument("--no-mlp", action="store_true",
                     help="skip the scikit-learn MLPRegressor peer rows")
    out = p.add_argument_group("output")
    out.add_argument("--plot", metavar="FILE.png", default=None, help="write a figure")
    out.add_argument("--json", metavar="FILE", default=None, help="write all results as JSON")
    out.add_argument("--quiet", action="store_true", help="no progress display")
    p.set_defaults(func=_run_cli)


# --------------------------------------------------------------------------- callable module
# ``exactrelu.compare`` is both this module and the function :func:`compare`: once
# the submodule is imported, Python binds the package attribute ``compare`` to the
# module, which would hide the lazily exported function. Making the module
# callable keeps ``exactrelu.compare(X, y, ...)`` working either way.
class _CallableModule(type(sys)):
    def __call__(self, *args, **kwargs):
        return compare(*args, **kwargs)


sys.modules[__name__].__class__ = _CallableModule
