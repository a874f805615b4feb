"""Non-convex training of the same objective: the gradient-descent baseline.

:func:`train` fits a width-``m`` two-layer ReLU network

    f(x) = sum_j a_j * relu(w_j . x + b_j) + c + s . x

by first-order methods (Adam or momentum SGD) on exactly the objective that
:func:`exactrelu.solve` minimizes globally::

    L(f(X), y) + beta * sum_j |a_j| * ||w_j||_p          (p = 1 for "l1", 2 for "l2")

with the same losses (sums, not means), the same free output bias ``c``, the
same unpenalized neuron biases ``b_j`` (``bias=True``) and the same optional free
linear skip ``s``. Its objective can never be below the certified optimum of
:func:`exactrelu.solve`; :mod:`exactrelu.compare` measures how far above it lands.

By default the penalty is trained in its *balanced* form
``0.5 * sum_j (a_j**2 + ||w_j||_p**2)`` (weight decay with an l_p inner norm),
whose minimum over the rescalings ``(a, w, b) -> (a/t, t*w, t*b)`` of each neuron
is the path norm, so that both forms have the same global optimum. Everything
reported (the history, the returned network) uses the exact path-norm form.

Subgradient conventions: ``relu'(0) = 0``, ``sign(0) = 0`` (for ``|.|``, the l1
norms and the hinge kink at margin 1, where the subgradient 0 is used).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

import numpy as np

from ._validation import as_data_matrix, as_target_vector
from .errors import InputError

__all__ = ["History", "train", "objective_parts", "LOSSES", "PENALTIES"]

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


# --------------------------------------------------------------------------- math
def _loss_and_grad(f, y, loss):
    """Loss value (a sum) and its subgradient with respect to the outputs f."""
    if loss == "squared":
        r = f - y
        return 0.5 * float(r @ r), r
    if loss == "absolute":
        r = f - y
        return float(np.abs(r).sum()), np.sign(r)
    # hinge
    margin = y * f
    act = margin < 1.0
    return float(np.sum(np.maximum(0.0, 1.0 - margin))), np.where(act, -y, 0.0)


def _loss_value(f, y, loss):
    if loss == "squared":
        r = f - y
        return 0.5 * float(r @ r)
    if loss == "absolute":
        return float(np.abs(f - y).sum())
    return float(np.sum(np.maximum(0.0, 1.0 - y * f)))


def _inner_norms(W, penalty):
    if penalty == "l1":
        return np.abs(W).sum(axis=1)
    return np.sqrt(np.einsum("ij,ij->i", W, W))


def objective_parts(params, X, y, *, loss, beta, penalty):
    """Exact-form ``(objective, loss, penalty)`` of parameters on data.

    ``params`` is a dict with ``W`` (m, d), ``b`` (m,), ``a`` (m,), ``c`` (float)
    and ``s`` ((d,) or None). The penalty is the path norm
    ``sum_j |a_j| * ||w_j||_p``.
    """
    f = _forward(params, X)[0]
    lv = _loss_value(f, y, loss)
    pen = float(np.abs(params["a"]) @ _inner_norms(params["W"], penalty))
    return lv + beta * pen, lv, pen


def _forward(p, X):
    Z = X @ p["W"].T
    Z += p["b"]
    H = np.maximum(Z, 0.0)
    f = H @ p["a"] + p["c"]
    if p.get("s") is not None:
        f = f + X @ p["s"]
    return f, Z, H


def _penalty_and_grad(p, penalty, form):
    """Training-form penalty value and its subgradient (dict with 'a', 'W')."""
    W, a = p["W"], p["a"]
    nrm = _inner_norms(W, penalty)
    if form == "balanced":
        val = 0.5 * float(a @ a + nrm @ nrm)
        ga = a.copy()
        if penalty == "l1":
            gW = nrm[:, None] * np.sign(W)
        else:
            gW = W.copy()
    else:  # exact path norm
        val = float(np.abs(a) @ nrm)
        ga = np.sign(a) * nrm
        if penalty == "l1":
            gW = np.abs(a)[:, None] * np.sign(W)
        else:
            safe = np.where(nrm > 0, nrm, 1.0)
            gW = (np.abs(a) / safe)[:, None] * W
            gW[nrm == 0] = 0.0
    return val, {"a": ga, "W": gW}


def training_objective_and_grad(p, X, y, *, loss, beta, penalty, form, bias, weight=1.0):
    """The objective being trained (training form) and its subgradient.

    ``weight`` multiplies the loss (``n / batch`` for an unbiased mini-batch
    estimate). Returns ``(value, grads)`` with grads keyed like ``p``.
    """
    f, Z, H = _forward(p, X)
    lv, g = _loss_and_grad(f, y, loss)
    g = weight * g
    pv, pg = _penalty_and_grad(p, penalty, form)
    grads = {}
    grads["a"] = H.T @ g + beta * pg["a"]
    grads["c"] = np.array(g.sum())
    dZ = np.outer(g, p["a"])
    dZ *= Z > 0
    grads["W"] = dZ.T @ X + beta * pg["W"]
    grads["b"] = dZ.sum(axis=0) if bias else np.zeros_like(p["b"])
    if p.get("s") is not None:
        grads["s"] = X.T @ g
    return weight * lv + beta * pv, grads


# --------------------------------------------------------------------------- setup
def _scales(X, y, loss):
    """Natural scales of the data: input spread sx (per column) and target spread sy."""
    sx = X.std(axis=0)
    rng = X.max(axis=0) - X.min(axis=0)
    sx = np.where(sx > 0, sx, np.where(rng > 0, rng, 1.0))
    if loss == "hinge":
        sy = 1.0
    else:
        sy = float(y.std())
        if not sy > 0:
            sy = max(float(np.abs(y).max()), 1.0)
    return sx, sy


def _init_params(X, y, width, *, loss, bias, skip, rng, sx, sy):
    """Data-dependent initialization (a competent default).

    Directions w_j are random with per-coordinate scale 1/sx; with a bias, each
    neuron's kink passes through a random data point (b_j = -w_j . x_i) so the
    kinks cover the data; the output weights are small, and each neuron is then
    balanced (|a_j| = ||w_j||_2) without changing the function. The output bias
    and skip start at the best affine fit (least squares; for hinge, c = 0).
    """
    n, d = X.shape
    W = rng.standard_normal((width, d)) / sx / math.sqrt(d)
    if bias:
        idx = rng.integers(0, n, size=width)
        jitter = 0.01 * rng.standard_normal(width)
        b = -np.einsum("ij,ij->i", W, X[idx]) + jitter
    else:
        b = np.zeros(width)
    a = rng.standard_normal(width) * (sy / math.sqrt(width)) * 0.1 / max(1.0, math.sqrt(d))
    nw = np.sqrt(np.einsum("ij,ij->i", W, W))
    t = np.sqrt(np.abs(a) / np.maximum(nw, 1e-300))
    a = np.where(t > 0, a / np.where(t > 0, t, 1.0), a)
    W = W * t[:, None]
    b = b * t
    c, s = 0.0, None
    if loss != "hinge":
        B = np.hstack([np.ones((n, 1)), X]) if skip else np.ones((n, 1))
        coef = np.linalg.lstsq(B, y, rcond=None)[0]
        c = float(coef[0])
        if skip:
            s = coef[1:].copy()
    elif skip:
        s = np.zeros(d)
    if skip and s is None:
        s = np.zeros(d)
    return {"W": W, "b": b, "a": a, "c": np.array(c), "s": s}


def _group_scales(X, sx, sy, d):
    """Per-parameter-group step scales (Adam's step is lr times these).

    Equivalent to training on standardized inputs and outputs: a neuron with
    |a| = ||w|| = p has slope p**2 ~ sy/sx, so a and w live at sqrt(sy/sx) (w per
    coordinate: sqrt(sy/sx_k)/sx_k * sx_k ...); b at p * (typical |x|); c at sy;
    s at sy/sx.
    """
    sxm = float(np.exp(np.mean(np.log(sx))))
    p = math.sqrt(sy / sxm)
    xs = float(np.sqrt(np.mean(np.sum(X * X, axis=1)) / d)) if X.size else 1.0
    xs = max(xs, sxm)
    return {
        "a": p,
        "W": p * (sxm / sx)[None, :],
        "b": p * xs,
        "c": sy,
        "s": sy / sx,
    }


# --------------------------------------------------------------------------- network
def _to_network(p, bias):
    from .network import ReLUNetwork

    W, b, a = p["W"].copy(), p["b"].copy(), p["a"].copy()
    # rebalance every neuron (|a_j| = ||w_j||_2): same function, same path norm
    nw = np.sqrt(np.einsum("ij,ij->i", W, W))
    ok = (nw > 0) & (a != 0)
    t = np.ones_like(a)
    t[ok] = np.sqrt(np.abs(a[ok]) / nw[ok])
    a = a / t
    W = W * t[:, None]
    b = b * t
    if not bias:
        b = np.zeros_like(b)
    s = None if p.get("s") is None else p["s"].copy()
    return ReLUNetwork(W=W, b=b, a=a, c=float(p["c"]), s=s)


# --------------------------------------------------------------------------- train
def _check_choice(value, choices, name):
    if value not in choices:
        raise InputError(f"{name} must be one of {choices}, got {value!r}")


def _positive_int(value, name, allow_none=False):
    if value is None and allow_none:
        return None
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)) or value < 1:
        raise InputError(f"{name} must be a positive int, got {value!r}")
    return int(value)


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
    X = as_data_matrix(X)
    n, d = X.shape
    y = as_target_vector(y, n)
    _check_choice(loss, LOSSES, "loss")
    _check_choice(penalty, PENALTIES, "penalty")
    _check_choice(optimizer, _OPTIMIZERS, "optimizer")
    _check_choice(form, ("balanced", "exact"), "form")
    _check_choice(schedule, _SCHEDULES, "schedule")
    width = _positive_int(width, "width")
    steps = DEFAULT_STEPS if steps is None else _positive_int(steps, "steps")
    try:
        beta = float(beta)
    except (TypeError, ValueError):
        raise InputError(f"beta must be a positive number, got {beta!r}") from None
    if not (beta > 0 and math.isfinite(beta)):
        raise InputError(f"beta must be a positive finite number, got {beta!r}")
    if loss == "hinge" and not np.all(np.isin(y, (-1.0, 1.0))):
        raise InputError("hinge loss needs labels y in {-1, +1}")
    if batch_size is not None:
        batch_size = _positive_int(batch_size, "batch_size")
    batch = n if batch_size is None else min(batch_size, n)
    if record_every is None:
        record_every = max(1, steps // 200)
    record_every = _positive_int(record_every, "record_every")

    if isinstance(lr, str):
        if lr != "search":
            raise InputError(f"lr must be a positive number, None or 'search', got {lr!r}")
        trials = []
        trial_steps = max(50, steps // 10)
        best = None
        for rel in (0.015, 0.05, 0.15):
            _, h = train(
                X, y, width=width, loss=loss, beta=beta, penalty=penalty, bias=bias,
                skip=skip, optimizer=optimizer, lr=rel, steps=trial_steps,
                batch_size=batch_size, seed=seed, record_every=trial_steps, form=form,
                schedule=schedule, final_lr=final_lr, momentum=momentum, init=init,
            )
            trials.append((rel, h.final_objective))
            if best is None or h.final_objective < best[1]:
                best = (rel, h.final_objective)
        net, hist = train(
            X, y, width=width, loss=loss, beta=beta, penalty=penalty, bias=bias, skip=skip,
            optimizer=optimizer, lr=best[0], steps=steps, batch_size=batch_size, seed=seed,
            record_every=record_every, form=form, schedule=schedule, final_lr=final_lr,
            momentum=momentum, init=init, time_limit=time_limit,
        )
        hist.lr_search = trials
        return net, hist
    rel_lr = DEFAULT_LR[optimizer] if lr is None else float(lr)
    if not (rel_lr > 0 and math.isfinite(rel_lr)):
        raise InputError(f"lr must be a positive finite number, got {lr!r}")

    t_start = time.perf_counter()
    rng = np.random.default_rng(seed)
    sx, sy = _scales(X, y, loss)
    if init is not None:
        p = {
            "W": np.array(init["W"], dtype=float).reshape(width, d),
            "b": np.array(init["b"], dtype=float).reshape(width) if bias else np.zeros(width),
            "a": np.array(init["a"], dtype=float).reshape(width),
            "c": np.array(float(init.get("c", 0.0))),
            "s": (np.array(init["s"], dtype=float).reshape(d) if init.get("s") is not None
                  else np.zeros(d)) if skip else None,
        }
    else:
        p = _init_params(X, y, width, loss=loss, bias=bias, skip=skip, rng=rng, sx=sx, sy=sy)
    keys = [k for k in ("W", "b", "a", "c", "s") if p.get(k) is not None and (k != "b" or bias)]
    gs = _group_scales(X, sx, sy, d)
    step_scale = {k: rel_lr * np.asarray(gs[k], dtype=float) for k in keys}
    m1 = {k: np.zeros_like(p[k]) for k in keys}
    m2 = {k: np.zeros_like(p[k]) for k in keys}
    b1, b2 = 0.9, 0.999
    # SGD: the gradient is normalized by a running estimate of its overall size so
    # that the relative learning rate has the same meaning as for Adam.
    gnorm_avg = {k: 0.0 for k in keys}

    rec_steps, rec_times, rec_obj, rec_loss, rec_pen = [], [], [], [], []
    train_clock = 0.0

    def record(k):
        o, lv, pen = objective_parts(p, X, y, loss=loss, beta=beta, penalty=penalty)
        rec_steps.append(k)
        rec_times.append(train_clock)
        rec_obj.append(o)
        rec_loss.append(lv)
        rec_pen.append(pen)

    train_clock += time.perf_counter() - t_start
    record(0)
    # Adam's epsilon, relative to the size of the problem: in standardized units
    # the gradients are of the order of the objective, so this keeps the method
    # invariant to the scales of X and y (and keeps round-off-level gradients,
    # e.g. exact cancellations, from being blown up to full steps).
    eps = 1e-8 * max(abs(rec_obj[0]), 1e-300)
    perm = rng.permutation(n) if batch < n else None
    pos = 0
    weight = n / batch
    t0 = time.perf_counter()
    k = 0
    for k in range(1, steps + 1):
        if batch < n:
            if pos + batch > n:
                perm = rng.permutation(n)
                pos = 0
            idx = perm[pos:pos + batch]
            pos += batch
            Xb, yb = X[idx], y[idx]
        else:
            Xb, yb = X, y
        _, g = training_objective_and_grad(
            p, Xb, yb, loss=loss, beta=beta, penalty=penalty, form=form, bias=bias, weight=weight
        )
        if schedule == "cosine":
            frac = (k - 1) / max(1, steps - 1)
            mult = final_lr + (1.0 - final_lr) * 0.5 * (1.0 + math.cos(math.pi * frac))
        else:
            mult = 1.0
        if optimizer == "adam":
            bc1 = 1.0 - b1**k
            bc2 = 1.0 - b2**k
            for key in keys:
                gk = g[key] * np.asarray(gs[key])  # gradient in standardized units
                m1[key] *= b1
                m1[key] += (1 - b1) * gk
                m2[key] *= b2
                m2[key] += (1 - b2) * gk * gk
                upd = (m1[key] / bc1) / (np.sqrt(m2[key] / bc2) + eps)
                p[key] = p[key] - (mult * step_scale[key]) * upd
        else:
            for key in keys:
                gk = g[key] * np.asarray(gs[key])  # gradient in standardized units
                gn = float(np.sqrt(np.mean(gk * gk)))
                gnorm_avg[key] = max(gn, 0.99 * gnorm_avg[key]) if k > 1 else gn
                m1[key] *= momentum
                m1[key] += gk / max(gnorm_avg[key], 1e-300)
                p[key] = p[key] - (mult * step_scale[key] * (1 - momentum)) * m1[key]
        if k % record_every == 0 or k == steps or (k < record_every and k & (k - 1) == 0):
            train_clock += time.perf_counter() - t0
            record(k)
            if not all(np.all(np.isfinite(p[key])) for key in keys):
                break
            if time_limit is not None and train_clock >= time_limit:
                break
            t0 = time.perf_counter()

    hist = History(
        steps=np.asarray(rec_steps, dtype=np.int64),
        times=np.asarray(rec_times),
        objective=np.asarray(rec_obj),
        loss=np.asarray(rec_loss),
        penalty=np.asarray(rec_pen),
        lr=float(rel_lr),
        optimizer=optimizer,
        schedule=schedule,
        batch_size=int(batch),
        width=int(width),
        seed=int(seed),
        train_seconds=float(train_clock),
    )
    return _to_network(p, bias), hist
