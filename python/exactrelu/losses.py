"""The losses of the training problem, their values and their convex duals.

The regularized problem is ``min_f L(f(X), y) + beta * R(f)``; written over the
columns ``phi_t`` of the ray program (docs/design.md section 4) its dual is

    max D(lam)  s.t.  |lam . phi_t| <= beta for every ray t,  1 . lam = 0,
                      X^T lam = 0 (with a skip connection),   lam in dom(L*)

with, per loss (``y`` the targets):

=============  ==========================  ==============================
loss           L(f)                        D(lam), domain
=============  ==========================  ==============================
interpolate    0 if f = y, else +inf        lam . y, lam free
squared        0.5 * ||f - y||^2            lam . y - 0.5 ||lam||^2
absolute       ||f - y||_1                  lam . y,   -1 <= lam_i <= 1
hinge          sum max(0, 1 - y_i f_i)      sum y_i lam_i, 0 <= y_i lam_i <= 1
=============  ==========================  ==============================

For interpolation beta plays no role (it is taken as 1).
"""

from __future__ import annotations

import numpy as np

from ._validation import as_target_vector, check_number
from .errors import InputError

__all__ = [
    "LOSSES",
    "PENALTIES",
    "check_loss",
    "check_penalty",
    "check_beta",
    "check_targets",
    "loss_value",
    "dual_value",
    "dual_box",
    "best_scale",
    "interpolation_tolerance",
]

#: The supported losses.
LOSSES = ("interpolate", "squared", "absolute", "hinge")
#: The supported penalties: l1 path norm and weight decay (l2 inner norm).
PENALTIES = ("l1", "l2")


def check_loss(loss):
    """Return ``loss`` if it is one of :data:`LOSSES`, else raise :class:`InputError`."""
    if not isinstance(loss, str) or loss not in LOSSES:
        raise InputError(f"loss must be one of {', '.join(map(repr, LOSSES))}; got {loss!r}")
    return loss


def check_penalty(penalty):
    """Return ``penalty`` if it is ``"l1"`` or ``"l2"``, else raise :class:`InputError`."""
    if not isinstance(penalty, str) or penalty not in PENALTIES:
        raise InputError(
            f"penalty must be 'l1' (path norm) or 'l2' (weight decay); got {penalty!r}")
    return penalty


def check_beta(beta, loss):
    """Validate the regularization weight (ignored, and returned as 1.0, for interpolation)."""
    if loss == "interpolate":
        return 1.0
    return check_number(beta, "beta")


def check_sample_weight(weight, n, loss):
    """``None``, or the weights as a float vector of length n: finite, >= 0, not all 0;
    refused for interpolation (it has no loss to weight)."""
    if weight is None:
        return None
    if loss == "interpolate":
        raise InputError("sample_weight weights each sample's loss; loss='interpolate' has no "
                         "loss (every sample is fitted exactly): drop sample_weight")
    w = as_target_vector(weight, n, "sample_weight")
    if np.any(w < 0):
        i = int(np.flatnonzero(w < 0)[0])
        raise InputError(f"sample_weight must be >= 0; sample_weight[{i}] = {w[i]}")
    if not np.any(w > 0):
        raise InputError("sample_weight is zero for every sample: nothing to fit")
    return w


def check_targets(y, loss):
    """Hinge loss needs labels in {-1, +1}; raise :class:`InputError` otherwise."""
    if loss == "hinge":
        flat = np.asarray(y).reshape(-1)
        bad = np.flatnonzero((flat != 1.0) & (flat != -1.0))
        if bad.size:
            at = np.unravel_index(bad[0], np.shape(y))
            where = at[0] if len(at) == 1 else tuple(int(i) for i in at)
            raise InputError(
                f"the hinge loss needs targets in {{-1, +1}}; y[{where}] = {flat[bad[0]]!r} "
                f"(ExactReLUClassifier maps any two labels to -1/+1)"
            )
    return y


#: Rounding errors allowed when a network is evaluated, in units of the size of its
#: terms (see :func:`interpolation_tolerance`).
EVAL_ERROR_ULPS = 64


def interpolation_tolerance(y, rel=1e-7, scale=None):
    """Residual allowed for an interpolating network at each point.

    ``rel * max|y|`` (relative to the targets, so that scaling y scales it), or the
    rounding error of evaluating the network where that is larger: ``scale`` gives,
    per point, the size of the network's terms ``sum_j |a_j| (|w_j| . |x_i| + |b_j|)
    + |c| + |s| . |x_i|`` (:meth:`~exactrelu.network.ReLUNetwork.term_scale`), and
    the evaluation is accurate to ``EVAL_ERROR_ULPS`` units in the last place of it.
    """
    y = np.asarray(y, float)
    tol = rel * (float(np.abs(y).max()) if y.size else 0.0)
    if scale is not None:
        tol = np.maximum(tol, EVAL_ERROR_ULPS * np.finfo(float).eps * np.asarray(scale))
    return tol


def loss_value(f, y, loss, *, interp_rtol=1e-6, scale=None, weight=None):
    """The loss of predictions ``f`` against targets ``y`` (sums, not means; each
    sample's term times ``weight[i]`` when given).

    For ``"interpolate"`` the value is 0 when every residual is within
    :func:`interpolation_tolerance` (``interp_rtol``, and the network's term
    ``scale`` when given) and ``inf`` otherwise.
    """
    r = np.asarray(f, float) - np.asarray(y, float)
    w = np.ones_like(r) if weight is None else np.asarray(weight, float)
    if loss == "squared":
        return 0.5 * float((w * r) @ r)
    if loss == "absolute":
        return float(w @ np.abs(r))
    if loss == "hinge":
        return float(w @ np.maximum(0.0, 1.0 - np.asarray(y) * np.asarray(f)))
    if loss == "interpolate":
        tol = interpolation_tolerance(y, interp_rtol, scale)
        return 0.0 if (r.size == 0 or np.all(np.abs(r) <= tol)) else float("inf")
    raise InputError(f"unknown loss {loss!r}")


def dual_value(lam, y, loss, weight=None):
    """The dual objective D(lam) (without checking the constraints); with sample
    weights the squared loss's is ``lam . y - 0.5 * sum lam_i^2 / w_i``."""
    lam = np.asarray(lam, float)
    if loss == "squared":
        return float(lam @ y - 0.5 * _weighted_norm2(lam, weight))
    return float(lam @ y)


def _weighted_norm2(lam, weight):
    """``sum lam_i^2 / w_i`` (``w_i = 0`` forces ``lam_i = 0``)."""
    if weight is None:
        return float(lam @ lam)
    w = np.asarray(weight, float)
    pos = w > 0
    return float((lam[pos] ** 2 / w[pos]).sum())


def dual_box(y, loss, weight=None):
    """Bounds ``(lo, hi)`` on the multiplier from dom(L*), or ``None`` when unbounded
    (sample weights scale the box: ``|lam_i| <= w_i``)."""
    w = np.ones_like(y) if weight is None else np.asarray(weight, float)
    if loss == "absolute":
        return -w, w.copy()
    if loss == "hinge":
        lo = np.where(y > 0, 0.0, -w)
        hi = np.where(y > 0, w, 0.0)
        return lo, hi
    return None


def best_scale(lam, y, loss, alpha_max, weight=None):
    """The scale ``alpha in [0, alpha_max]`` maximizing D(alpha * lam).

    D is linear (interpolate, absolute, hinge) or a concave quadratic (squared)
    in alpha, so the maximizer is explicit.
    """
    lam = np.asarray(lam, float)
    slope = float(lam @ y)
    if slope <= 0 or alpha_max <= 0:
        return 0.0
    if loss == "squared":
        nrm2 = _weighted_norm2(lam, weight)
        return float(min(alpha_max, slope / nrm2)) if nrm2 > 0 else 0.0
    return float(alpha_max)
