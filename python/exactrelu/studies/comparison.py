"""How far does ordinary training land from the certified optimum?

:func:`compare` solves a problem exactly with :func:`exactrelu.solve` (the
certified global optimum), then trains width-m networks on the same objective
with :func:`exactrelu.sgd.train` for every (width, seed), and reports for each
run: the final objective, its relative gap to the optimum, the lower bound and
gap that :func:`exactrelu.certify` proves for the SGD network on its own, the
number of effective neurons, the wall time and the time to get within 1% of the
optimum. Optionally, scikit-learn's ``MLPRegressor`` is added as a peer on the
weight-decay problem (see :mod:`exactrelu.studies.mlp`).

The results are a :class:`~exactrelu.studies.results.Comparison`; the command line
``python -m exactrelu compare`` is in :mod:`exactrelu.cli.compare`.
"""

from __future__ import annotations

import time

import numpy as np

from .._format import fmt_gap
from .._progress import Progress, core_progress
from .._validation import as_data_matrix, as_target_vector
from ..certificate import certify as certify_network
from ..errors import ExactReLUError, InputError, NotSupportedError
from ..losses import loss_value
from ..network import ReLUNetwork
from ..sgd import LOSSES as SGD_LOSSES
from ..sgd import PENALTIES as SGD_PENALTIES
from ..sgd import train
from ..solver import solve
from .mlp import mlp_network, mlp_peer
from .results import Comparison, Run

__all__ = ["compare", "Comparison", "Run", "effective_neurons", "canonical_network"]

_TINY = 1e-12
#: keyword arguments of :func:`exactrelu.sgd.train` that :func:`compare` passes on
_SGD_OPTIONS = {"optimizer", "lr", "steps", "batch_size", "record_every", "form", "schedule",
                "final_lr", "momentum", "time_limit"}


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
        raise InputError(
            f"seeds must be a positive int or a sequence of ints, got {seeds!r}") from None
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




def _check_problem(loss, penalty, tol, sgd_options):
    if loss not in SGD_LOSSES:
        why = (" (interpolation has no gradient-descent counterpart)"
               if loss == "interpolate" else "")
        raise InputError(f"compare needs a loss SGD can train ({SGD_LOSSES}); got {loss!r}" + why)
    if penalty not in SGD_PENALTIES:
        raise InputError(f"penalty must be one of {SGD_PENALTIES}, got {penalty!r}")
    tol = float(tol)
    if not tol > 0:
        raise InputError(f"tol must be > 0, got {tol}")
    bad = set(sgd_options) - _SGD_OPTIONS
    if bad:
        raise InputError(f"unknown options for exactrelu.sgd.train: {sorted(bad)}")
    return tol


def _sklearn_installed():
    try:
        import sklearn  # noqa: F401
    except ImportError:
        return False
    return True


def _peer_list(peers, *, loss, penalty, bias, skip, d):
    """The peers to run: "auto" adds the MLP when it solves this very problem."""
    if peers == "auto":
        auto = loss == "squared" and bias and not skip and (penalty == "l2" or d == 1)
        peer_list = ["mlp"] if auto and _sklearn_installed() else []
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
    return peer_list


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
    client=None,
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
        only: ray pricing does not bound the weight-decay problem; not when the
        solve is a bracket, whose lower bound already holds for every network).
    peers : "auto", bool or sequence of str
        ``"mlp"``: scikit-learn's ``MLPRegressor`` (see
        :func:`exactrelu.studies.mlp.mlp_peer`) for
        every (width, seed). "auto" adds it when scikit-learn is installed and
        the problem is its problem: squared loss, bias, no skip, and the l2
        penalty (or d = 1, where l1 and l2 coincide).
    solution : Solution, optional
        A precomputed ``exactrelu.solve`` result for this problem (skips the solve).
    solve_options : dict, optional
        Extra keyword arguments for :func:`exactrelu.solve`.
    progress : bool, "lines" or callable
        ``True``: a tqdm bar over the runs on stderr (plain lines, one per run, when
        tqdm is not installed or with ``"lines"``), with the exact pricing passes of the
        solve and of each certificate shown as in :func:`exactrelu.solve`. A callable
        receives each Run instead (and nothing is written). Default: quiet. See
        docs/design.md section 7, "Progress".
    client : dask.distributed.Client, optional
        Run the exact solve's and the certificates' pricing passes on a Dask cluster
        (as in :func:`exactrelu.solve`; the answers are the same).
    **sgd_options
        Passed to :func:`exactrelu.sgd.train` (``steps``, ``lr``, ``optimizer``,
        ``batch_size``, ``record_every``, ...).

    Returns
    -------
    Comparison
    """
    X = as_data_matrix(X)
    n, d = X.shape
    y = as_target_vector(y, n)
    tol = _check_problem(loss, penalty, tol, sgd_options)
    widths = _as_widths(widths, n)
    seeds = _as_seeds(seeds)
    peer_list = _peer_list(peers, loss=loss, penalty=penalty, bias=bias, skip=skip, d=d)
    prog = Progress(False if callable(progress) else progress,
                    total=len(widths) * len(seeds) * (1 + len(peer_list)), desc="compare runs")
    passes = None if callable(progress) else core_progress(progress)
    spec = dict(loss=loss, beta=beta, penalty=penalty, bias=bias, skip=skip)

    # ---- the certified optimum
    if solution is None:
        prog.message(f"exact solve (n={n}, d={d}, loss={loss}, penalty={penalty}) ...")
        t0 = time.perf_counter()
        solution = solve(X, y, **spec, **{"progress": passes, "client": client,
                                          **(solve_options or {})})
        exact_seconds = time.perf_counter() - t0
    else:
        exact_seconds = float(getattr(solution, "seconds", float("nan")) or float("nan"))
    net0 = solution.network
    if getattr(solution, "method", None) == "bracket":
        # no exact pricing at this size: a certificate per run would be a MIP bound per
        # run (minutes each), and the bracket's own lower bound already holds for all
        certify = False
    prog.message(f"optimum {float(solution.objective):.8g} (lower bound "
                 f"{float(solution.lower_bound):.8g}), {net0.n_neurons} neurons, "
                 f"{exact_seconds:.3g} s")
    problem = {"n": n, "d": d, "loss": loss, "beta": float(beta), "penalty": penalty,
               "bias": bool(bias), "skip": bool(skip), "tol": tol, "widths": widths,
               "seeds": seeds, "sgd_options": {k: v for k, v in sgd_options.items()},
               "method": getattr(solution, "method", None)}
    cmp = Comparison(
        problem=problem, optimum=float(solution.objective),
        lower_bound=float(solution.lower_bound), exact_gap=float(solution.gap),
        certified=bool(solution.certified), exact_seconds=exact_seconds,
        exact_neurons=int(net0.n_neurons), exact_network=net0, runs=[], X=X, y=y,
    )
    runner = _Runner(cmp, X, y, spec, certify=certify, prog=prog,
                     callback=progress if callable(progress) else None, passes=passes,
                     client=client)
    for width in widths:
        for seed in seeds:
            runner.sgd(width, seed, sgd_options)
        for _ in peer_list:  # only "mlp" so far
            for seed in seeds:
                runner.mlp(width, seed)
    return cmp


class _Runner:
    """Runs of one comparison: trains, scores against the optimum, certifies, records."""

    def __init__(self, cmp, X, y, spec, *, certify, prog, callback, passes=None, client=None):
        self.cmp, self.X, self.y, self.spec = cmp, X, y, spec
        self.client = client
        self.certify_runs = certify
        self.prog, self.callback, self.passes = prog, callback, passes
        opt = cmp.optimum
        self.target = opt + cmp.tol * max(abs(opt), _TINY)
        # slack for "below the lower bound": the bound is certified to solver precision
        self.floor = cmp.lower_bound - 1e-9 * max(1.0, abs(opt))

    def certify(self, net, objective):
        """``(lower bound, gap, note)`` that :func:`exactrelu.certify` proves for ``net``.

        The lower bound holds for the problem whatever network produced it; the
        canonical network (same outputs on X, penalty no larger) conditions better.
        """
        if not self.certify_runs or self.spec["penalty"] != "l1":
            return None, None, ""  # ray pricing bounds the l1 problem only
        try:
            c = certify_network(canonical_network(net, self.X), self.X, self.y, **self.spec,
                                progress=self.passes, client=self.client)
            return float(c.lower_bound), float(objective - c.lower_bound), ""
        except ExactReLUError as exc:
            return None, None, f"certify: {type(exc).__name__}"

    def emit(self, method, width, seed, net, objective, **facts):
        clb, cgap, note = self.certify(net, objective)
        run = Run(method=method, width=width, seed=seed, objective=objective,
                  rel_gap=_rel_gap(objective, self.cmp.optimum), cert_lower_bound=clb,
                  cert_gap=cgap, effective_neurons=effective_neurons(
                      net, penalty=self.spec["penalty"]),
                  below_lower_bound=objective < self.floor, note=note, network=net, **facts)
        self.cmp.runs.append(run)
        if self.callback is not None:
            self.callback(run)
        self.prog.step(f"{run.method} width={run.width} seed={run.seed}: objective "
                       f"{run.objective:.6g}, gap {fmt_gap(run.rel_gap)}")

    def sgd(self, width, seed, sgd_options):
        net, hist = train(self.X, self.y, width=width, seed=seed, **self.spec, **sgd_options)
        self.emit("sgd", width, seed, net, hist.final_objective, loss=float(hist.loss[-1]),
                  penalty=float(hist.penalty[-1]), seconds=hist.train_seconds,
                  time_to_tol=hist.time_to(self.target), steps_to_tol=hist.steps_to(self.target),
                  history=hist)

    def mlp(self, width, seed):
        spec = self.spec
        mlp, secs = mlp_peer(self.X, self.y, width=width, beta=spec["beta"], seed=seed)
        net = mlp_network(mlp)
        # our objective in the requested penalty (l1 = l2 when d = 1)
        obj = float(net.objective(self.X, self.y, loss=spec["loss"], beta=spec["beta"],
                                  penalty=spec["penalty"]))
        lv = loss_value(net.predict(self.X), self.y, "squared")
        self.emit("mlp", width, seed, net, obj, loss=lv, penalty=(obj - lv) / spec["beta"],
                  seconds=secs, time_to_tol=secs if obj <= self.target else None)
