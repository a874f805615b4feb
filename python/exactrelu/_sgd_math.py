"""The gradient math of :mod:`exactrelu.sgd`: objective, subgradients, initialization,
step scales, batches and learning-rate schedule, and the two optimizers.

Parameters are a dict with ``W`` (m, d), ``b`` (m,), ``a`` (m,), ``c`` (0-d array)
and ``s`` ((d,) or None). Subgradient conventions: ``relu'(0) = 0``, ``sign(0) = 0``.
"""

from __future__ import annotations

import math

import numpy as np

from .losses import loss_value
from .network import ReLUNetwork

__all__ = ["objective_parts", "training_objective_and_grad"]


def _loss_grad(f, y, loss):
    """A subgradient of the loss (a sum) with respect to the outputs f."""
    if loss == "squared":
        return f - y
    if loss == "absolute":
        return np.sign(f - y)
    return np.where(y * f < 1.0, -y, 0.0)  # hinge


def inner_norms(W, penalty):
    """``||w_j||_1`` (penalty "l1") or ``||w_j||_2`` of every row of W."""
    if penalty == "l1":
        return np.abs(W).sum(axis=1)
    return np.sqrt(np.einsum("ij,ij->i", W, W))


def forward(p, X):
    """Outputs, pre-activations and activations of the network ``p`` on X."""
    Z = X @ p["W"].T
    Z += p["b"]
    H = np.maximum(Z, 0.0)
    f = H @ p["a"] + p["c"]
    if p.get("s") is not None:
        f = f + X @ p["s"]
    return f, Z, H


def objective_parts(params, X, y, *, loss, beta, penalty):
    """Exact-form ``(objective, loss, penalty)`` of parameters on data.

    ``params`` is a dict with ``W`` (m, d), ``b`` (m,), ``a`` (m,), ``c`` (float)
    and ``s`` ((d,) or None). The penalty is the path norm
    ``sum_j |a_j| * ||w_j||_p``.
    """
    f = forward(params, X)[0]
    lv = loss_value(f, y, loss)
    pen = float(np.abs(params["a"]) @ inner_norms(params["W"], penalty))
    return lv + beta * pen, lv, pen


def _penalty_and_grad(p, penalty, form):
    """Training-form penalty value and its subgradient (dict with 'a', 'W')."""
    W, a = p["W"], p["a"]
    nrm = inner_norms(W, penalty)
    if form == "balanced":
        val = 0.5 * float(a @ a + nrm @ nrm)
        ga = a.copy()
        gW = nrm[:, None] * np.sign(W) if penalty == "l1" else W.copy()
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
    f, Z, H = forward(p, X)
    lv = loss_value(f, y, loss)
    g = weight * _loss_grad(f, y, loss)
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
def data_scales(X, y, loss):
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


def init_params(X, y, width, *, loss, bias, skip, rng, sx, sy):
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
    c, s = 0.0, (np.zeros(d) if skip else None)
    if loss != "hinge":
        B = np.hstack([np.ones((n, 1)), X]) if skip else np.ones((n, 1))
        coef = np.linalg.lstsq(B, y, rcond=None)[0]
        c = float(coef[0])
        if skip:
            s = coef[1:].copy()
    return {"W": W, "b": b, "a": a, "c": np.array(c), "s": s}


def params_from_init(init, width, d, *, bias, skip):
    """Starting parameters given by the caller, shaped and typed."""
    s = init.get("s")
    return {
        "W": np.array(init["W"], dtype=float).reshape(width, d),
        "b": np.array(init["b"], dtype=float).reshape(width) if bias else np.zeros(width),
        "a": np.array(init["a"], dtype=float).reshape(width),
        "c": np.array(float(init.get("c", 0.0))),
        "s": (np.array(s, dtype=float).reshape(d) if s is not None else np.zeros(d))
        if skip else None,
    }


def group_scales(X, sx, sy, d):
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
    return {"a": p, "W": p * (sxm / sx)[None, :], "b": p * xs, "c": sy, "s": sy / sx}


def to_network(p, bias):
    """The parameters as a ReLUNetwork, every neuron rebalanced (|a_j| = ||w_j||_2):
    same function, same path norm."""
    W, b, a = p["W"].copy(), p["b"].copy(), p["a"].copy()
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


# ------------------------------------------------------------------------- schedule
def minibatches(rng, n, batch):
    """Row indices of every step: None (full batch), or mini-batches drawn without
    replacement, epoch by epoch."""
    perm = rng.permutation(n) if batch < n else None
    pos = 0
    while True:
        if batch >= n:
            yield None
            continue
        if pos + batch > n:
            perm = rng.permutation(n)
            pos = 0
        yield perm[pos:pos + batch]
        pos += batch


def lr_multiplier(k, steps, schedule, final_lr):
    """The schedule's factor on the base learning rate at step ``k`` (1-based)."""
    if schedule != "cosine":
        return 1.0
    frac = (k - 1) / max(1, steps - 1)
    return final_lr + (1.0 - final_lr) * 0.5 * (1.0 + math.cos(math.pi * frac))


# ----------------------------------------------------------------------- optimizers
class _Optimizer:
    """One update rule over the parameter groups ``keys``, in standardized units."""

    def __init__(self, p, keys, scales, step_scale):
        self.keys = keys
        self.scales = scales
        self.step_scale = step_scale
        self.m1 = {k: np.zeros_like(p[k]) for k in keys}

    def scaled(self, g, key):
        """The gradient of one group in standardized units."""
        return g[key] * np.asarray(self.scales[key])


class Adam(_Optimizer):
    """Adam with bias correction; ``eps`` is relative to the problem's size."""

    b1, b2 = 0.9, 0.999

    def __init__(self, p, keys, scales, step_scale, eps):
        super().__init__(p, keys, scales, step_scale)
        self.m2 = {k: np.zeros_like(p[k]) for k in keys}
        self.eps = eps

    def step(self, p, g, k, mult):
        b1, b2, m1, m2 = self.b1, self.b2, self.m1, self.m2
        bc1 = 1.0 - b1**k
        bc2 = 1.0 - b2**k
        for key in self.keys:
            gk = self.scaled(g, key)
            m1[key] *= b1
            m1[key] += (1 - b1) * gk
            m2[key] *= b2
            m2[key] += (1 - b2) * gk * gk
            upd = (m1[key] / bc1) / (np.sqrt(m2[key] / bc2) + self.eps)
            p[key] = p[key] - (mult * self.step_scale[key]) * upd


class MomentumSGD(_Optimizer):
    """Heavy-ball SGD; the gradient is normalized by a running estimate of its size
    so that the relative learning rate means the same as for Adam."""

    def __init__(self, p, keys, scales, step_scale, momentum):
        super().__init__(p, keys, scales, step_scale)
        self.momentum = momentum
        self.gnorm_avg = {k: 0.0 for k in keys}

    def step(self, p, g, k, mult):
        momentum, m1, avg = self.momentum, self.m1, self.gnorm_avg
        for key in self.keys:
            gk = self.scaled(g, key)
            gn = float(np.sqrt(np.mean(gk * gk)))
            avg[key] = max(gn, 0.99 * avg[key]) if k > 1 else gn
            m1[key] *= momentum
            m1[key] += gk / max(avg[key], 1e-300)
            p[key] = p[key] - (mult * self.step_scale[key] * (1 - momentum)) * m1[key]
