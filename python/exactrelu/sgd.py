"""Non-convex training of the same objective: the gradient-descent baseline.

:func:`train` fits a width-``m`` two-layer ReLU network

    f(x) = sum_j a_j * relu(w_j . x + b_j) + c + s . x

by first-order methods (Adam or momentum SGD) on exactly the objective that
:func:`exactrelu.solve` minimizes globally::

    L(f(X), y) + beta * sum_j |a_j| * ||w_j||_p          (p = 1 for "l1", 2 for "l2")

with the same losses (sums, not means), the same free output bias ``c``, the
same unpenalized neuron biases ``b_j`` (``bias=True``) and the same optional free
linear skip ``s``. Its objective can never be below the certified optimum of
:func:`exactrelu.solve`; :func:`exactrelu.compare` measures how far above it lands.

By default the penalty is trained in its *balanced* form
``0.5 * sum_j (a_j**2 + ||w_j||_p**2)`` (weight decay with an l_p inner norm),
whose minimum over the rescalings ``(a, w, b) -> (a/t, t*w, t*b)`` of each neuron
is the path norm, so that both forms have the same global optimum. Everything
reported (the history, the returned network) uses the exact path-norm form.

Subgradient conventions: ``relu'(0) = 0``, ``sign(0) = 0`` (for ``|.|``, the l1
norms and the hinge kink at margin 1, where the subgradient 0 is used). The
gradient math and the optimizers live in :mod:`exactrelu._sgd_math`.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

import numpy as np

from ._sgd_math import (
    Adam,
    MomentumSGD,
    data_scales,
    group_scales,
    init_params,
    lr_multiplier,
    minibatches,
    objective_parts,
    params_from_init,
    to_network,
    training_objective_and_grad,
)
from ._validation import MAX_LIMIT, as_data_matrix, as_target_vector, check_int
from .errors import InputError

__all__ = ["History", "train", "objective_parts", "training_objective_and_grad", "LOSSES",
           "PENALTIES"]

LOSSES = ("squared", "absolute", "hinge")
PENALTIES = ("l1", "l2")
_OPTIMIZERS = ("adam", "sgd")
_SCHEDULES = ("cosine", "constant")

#: Default number of parameter updates (enough for small problems to converge).
DEFAULT_STEPS = 8000
#: Default relative learning rate (see :func:`train`, ``lr``).
DEFAULT_LR = {"adam": 0.05, "sgd": 0.05}


# --------------------------------------------------------------------------- history
@dataclass
class History:
    """What happened during one :func:`train` run.

    Attributes
    ----------
    steps : ndarray of int
        Step counts at which the objective was recorded (0 = initialization).
    times : ndarray of float
        Seconds of training (initialization and updates, not the recording
        itself) elapsed at each record.
    objective, loss, penalty : ndarray of float
        The exact objective ``loss + beta * penalty`` on the full data, its loss
        and its path-norm penalty, at each record.
    lr : float
        The relative base learning rate used (after the search, if any).
    optimizer, schedule : str
    batch_size : int
    width, seed : int
    train_seconds : float
        Total training time (same clock as ``times``).
    lr_search : list of (float, float)
        ``(relative lr, objective reached)`` of the trial runs, when ``lr="search"``.
    """

    steps: np.ndarray
    times: np.ndarray
    objective: np.ndarray
    loss: np.ndarray
    penalty: np.ndarray
    lr: float = float("nan")
    optimizer: str = "adam"
    schedule: str = "cosine"
    batch_size: int = 0
    width: int = 0
    seed: int = 0
    train_seconds: float = 0.0
    lr_search: list = field(default_factory=list)

    @property
    def final_objective(self):
        """The objective at the last record (the returned network's)."""
        return float(self.objective[-1])

    def time_to(self, target):
        """Training seconds until the recorded objective first got ``<= target``.

        Returns ``None`` if it never did. The resolution is that of the records
        (``record_every`` steps).
        """
        hit = np.nonzero(self.objective <= target)[0]
        return float(self.times[hit[0]]) if hit.size else None

    def steps_to(self, target):
        """Steps until the recorded objective first got ``<= target`` (or ``None``)."""
        hit = np.nonzero(self.objective <= target)[0]
        return int(self.steps[hit[0]]) if hit.size else None

    def to_dict(self):
        """A JSON-serializable dict."""
        return {
            "steps": self.steps.tolist(),
            "times": self.times.tolist(),
            "objective": self.objective.tolist(),
            "loss": self.loss.tolist(),
            "penalty": self.penalty.tolist(),
            "lr": self.lr,
            "optimizer": self.optimizer,
            "schedule": self.schedule,
            "batch_size": self.batch_size,
            "width": self.width,
            "seed": self.seed,
            "train_seconds": self.train_seconds,
            "lr_search": [list(t) for t in self.lr_search],
        }


# --------------------------------------------------------------------------- checks
def _check_choice(value, choices, name):
    if value not in choices:
        raise InputError(f"{name} must be one of {choices}, got {value!r}")


def _positive_int(value, name):
    return check_int(value, name, low=1, high=MAX_LIMIT, none_ok=False)


def _positive_float(value, name, shown=None):
    """``value`` as a positive finite float (``shown`` is what the error message quotes)."""
    shown = value if shown is None else shown
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise InputError(f"{name} must be a positive number, got {shown!r}") from None
    if not (v > 0 and math.isfinite(v)):
        raise InputError(f"{name} must be a positive finite number, got {shown!r}")
    return v


def _check_problem(X, y, loss, beta, penalty, optimizer, form, schedule):
    """The data as arrays and beta as a float, or an InputError."""
    X = as_data_matrix(X)
    y = as_target_vector(y, X.shape[0])
    _check_choice(loss, LOSSES, "loss")
    _check_choice(penalty, PENALTIES, "penalty")
    _check_choice(optimizer, _OPTIMIZERS, "optimizer")
    _check_choice(form, ("balanced", "exact"), "form")
    _check_choice(schedule, _SCHEDULES, "schedule")
    beta = _positive_float(beta, "beta")
    if loss == "hinge" and not np.all(np.isin(y, (-1.0, 1.0))):
        raise InputError("hinge loss needs labels y in {-1, +1}")
    return X, y, beta


# --------------------------------------------------------------------------- train
def train(
    X,
    y,
    *,
    width,
    loss,
    beta,
    penalty="l1",
    bias=True,
    skip=False,
    optimizer="adam",
    lr=None,
    steps=None,
    batch_size=None,
    seed=0,
    record_every=None,
    form="balanced",
    schedule="cosine",
    final_lr=1e-3,
    momentum=0.9,
    init=None,
    time_limit=None,
):
    """Train a width-``width`` ReLU network by Adam / SGD on the exact objective.

    Parameters
    ----------
    X : array-like, shape (n, d)
    y : array-like, shape (n,)
        Targets; for ``loss="hinge"`` labels in {-1, +1}.
    width : int
        Number of hidden neurons m.
    loss : {"squared", "absolute", "hinge"}
        ``0.5*sum r_i**2``, ``sum |r_i|`` or ``sum max(0, 1 - y_i f_i)``
        (interpolation has no gradient-descent counterpart).
    beta : float
        Penalty weight (> 0).
    penalty : {"l1", "l2"}
        Inner norm of the path norm ``sum_j |a_j| * ||w_j||``.
    bias, skip : bool
        Neuron biases; free linear skip term ``s . x``. The output bias is always free.
    optimizer : {"adam", "sgd"}
        Adam, or SGD with (heavy-ball) ``momentum``.
    lr : float, None or "search"
        *Relative* learning rate: each parameter group moves by about ``lr``
        times its natural scale per step (scales from the data: the target
        spread, the input spread, see ``_group_scales``), which makes one value
        work across data scales. ``None`` uses 0.05. ``"search"`` runs short
        trials (a tenth of the steps) at 0.015, 0.05 and 0.15 and keeps the best.
    steps : int, optional
        Number of parameter updates (default 8000).
    batch_size : int, optional
        ``None`` (or >= n) is full-batch. Mini-batches are drawn without
        replacement, epoch by epoch; the loss of a batch is scaled by
        ``n / batch_size`` (an unbiased estimate of the full sum).
    seed : int
        Seed of the initialization and the batches.
    record_every : int, optional
        Record the exact full-data objective every this many steps (default:
        about 200 records per run), and also at steps 1, 2, 4, 8, ... below it
        (so that early progress is resolved on a log scale).
    form : {"balanced", "exact"}
        Train the penalty as ``0.5*sum(a_j**2 + ||w_j||**2)`` (default) or
        as the path norm itself. The reported objective is always the path norm.
    schedule : {"cosine", "constant"}
        Learning-rate schedule; cosine decays to ``final_lr`` times the base rate.
    init : dict, optional
        Starting parameters ``{"W", "b", "a", "c", "s"}`` (overrides the
        data-dependent initialization).
    time_limit : float, optional
        Stop after this many seconds of training.

    Returns
    -------
    network : ReLUNetwork
        The final network (each neuron rebalanced, which changes neither the
        function nor the path norm).
    history : History

    Examples
    --------
    >>> import numpy as np
    >>> from exactrelu.sgd import train
    >>> X = np.linspace(-1, 1, 10)[:, None]; y = np.abs(X[:, 0])
    >>> net, hist = train(X, y, width=20, loss="squared", beta=0.01, steps=2000)
    >>> hist.final_objective < 0.05
    True
    """
    X, y, beta = _check_problem(X, y, loss, beta, penalty, optimizer, form, schedule)
    n = X.shape[0]
    width = _positive_int(width, "width")
    steps = DEFAULT_STEPS if steps is None else _positive_int(steps, "steps")
    if batch_size is not None:
        batch_size = _positive_int(batch_size, "batch_size")
    record_every = _positive_int(max(1, steps // 200) if record_every is None else record_every,
                                 "record_every")
    opts = dict(width=width, loss=loss, beta=beta, penalty=penalty, bias=bias, skip=skip,
                optimizer=optimizer, seed=seed, form=form, schedule=schedule,
                final_lr=final_lr, momentum=momentum, init=init)
    if isinstance(lr, str):
        if lr != "search":
            raise InputError(f"lr must be a positive number, None or 'search', got {lr!r}")
        return _train_lr_search(X, y, steps=steps, batch_size=batch_size,
                                record_every=record_every, time_limit=time_limit, **opts)
    rel_lr = DEFAULT_LR[optimizer] if lr is None else _positive_float(lr, "lr", shown=lr)
    batch = n if batch_size is None else min(batch_size, n)
    return _run(X, y, rel_lr=rel_lr, steps=steps, batch=batch, record_every=record_every,
                time_limit=time_limit, **opts)


def _train_lr_search(X, y, *, steps, batch_size, record_every, time_limit, **opts):
    """Short trials (a tenth of the steps) at three relative learning rates, then the
    full run at the best one; the trials are kept in ``History.lr_search``."""
    trials = []
    trial_steps = max(50, steps // 10)
    best = None
    for rel in (0.015, 0.05, 0.15):
        _, h = train(X, y, lr=rel, steps=trial_steps, batch_size=batch_size,
                     record_every=trial_steps, **opts)
        trials.append((rel, h.final_objective))
        if best is None or h.final_objective < best[1]:
            best = (rel, h.final_objective)
    net, hist = train(X, y, lr=best[0], steps=steps, batch_size=batch_size,
                      record_every=record_every, time_limit=time_limit, **opts)
    hist.lr_search = trials
    return net, hist


class _Recorder:
    """The exact full-data objective at chosen steps, on the training clock."""

    def __init__(self, X, y, *, loss, beta, penalty):
        self.X, self.y = X, y
        self.kw = dict(loss=loss, beta=beta, penalty=penalty)
        self.clock = 0.0
        self.steps, self.times, self.objective, self.loss, self.penalty = [], [], [], [], []

    def record(self, p, k):
        o, lv, pen = objective_parts(p, self.X, self.y, **self.kw)
        self.steps.append(k)
        self.times.append(self.clock)
        self.objective.append(o)
        self.loss.append(lv)
        self.penalty.append(pen)

    @staticmethod
    def due(k, steps, every):
        """Record at every ``every`` steps, the last step, and 1, 2, 4, ... below ``every``."""
        return k % every == 0 or k == steps or (k < every and k & (k - 1) == 0)

    def history(self, **facts):
        return History(steps=np.asarray(self.steps, dtype=np.int64), times=np.asarray(self.times),
                       objective=np.asarray(self.objective), loss=np.asarray(self.loss),
                       penalty=np.asarray(self.penalty), train_seconds=float(self.clock),
                       **facts)


def _run(X, y, *, width, loss, beta, penalty, bias, skip, optimizer, rel_lr, steps, batch, seed,
         record_every, form, schedule, final_lr, momentum, init, time_limit):
    """One training run with checked arguments (see :func:`train`)."""
    t_start = time.perf_counter()
    n, d = X.shape
    rng = np.random.default_rng(seed)
    sx, sy = data_scales(X, y, loss)
    if init is not None:
        p = params_from_init(init, width, d, bias=bias, skip=skip)
    else:
        p = init_params(X, y, width, loss=loss, bias=bias, skip=skip, rng=rng, sx=sx, sy=sy)
    keys = [k for k in ("W", "b", "a", "c", "s") if p.get(k) is not None and (k != "b" or bias)]
    gs = group_scales(X, sx, sy, d)
    step_scale = {k: rel_lr * np.asarray(gs[k], dtype=float) for k in keys}
    rec = _Recorder(X, y, loss=loss, beta=beta, penalty=penalty)
    rec.clock += time.perf_counter() - t_start
    rec.record(p, 0)
    if optimizer == "adam":
        # Adam's epsilon, relative to the size of the problem: in standardized units
        # the gradients are of the order of the objective, so this keeps the method
        # invariant to the scales of X and y (and keeps round-off-level gradients,
        # e.g. exact cancellations, from being blown up to full steps).
        opt = Adam(p, keys, gs, step_scale, eps=1e-8 * max(abs(rec.objective[0]), 1e-300))
    else:
        opt = MomentumSGD(p, keys, gs, step_scale, momentum=momentum)
    batches = minibatches(rng, n, batch)
    weight = n / batch
    t0 = time.perf_counter()
    for k in range(1, steps + 1):
        idx = next(batches)
        Xb, yb = (X, y) if idx is None else (X[idx], y[idx])
        _, g = training_objective_and_grad(
            p, Xb, yb, loss=loss, beta=beta, penalty=penalty, form=form, bias=bias, weight=weight
        )
        opt.step(p, g, k, lr_multiplier(k, steps, schedule, final_lr))
        if rec.due(k, steps, record_every):
            rec.clock += time.perf_counter() - t0
            rec.record(p, k)
            if not all(np.all(np.isfinite(p[key])) for key in keys):
                break
            if time_limit is not None and rec.clock >= time_limit:
                break
            t0 = time.perf_counter()
    hist = rec.history(lr=float(rel_lr), optimizer=optimizer, schedule=schedule,
                       batch_size=int(batch), width=int(width), seed=int(seed))
    return to_network(p, bias), hist
