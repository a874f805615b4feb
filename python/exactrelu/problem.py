"""The validated training problem: data, loss, options and the lifted arrays.

Every solver stage starts from a :class:`Problem`: the lifted data ``A = [X, 1]``
(or ``X`` without neuron biases), the refined arrangement ``A_ref`` (``A`` followed
by the coordinate hyperplanes of the weights, on whose rays the l1 optimum lies:
docs/design.md section 3) and the equality constraints of the free output terms.
:func:`make_problem` validates user input into one; :func:`check_conflicts` refuses
interpolation of equal inputs with different targets.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ._validation import (
    as_data_matrix,
    as_target_vector,
    as_targets,
    check_flag,
    resolve_threads,
)
from .cluster import check_client
from .errors import ConflictingTargetsError
from .losses import check_beta, check_loss, check_sample_weight, check_targets

__all__ = ["Problem", "make_problem", "check_conflicts", "merge_duplicates"]


@dataclass
class Problem:
    """A validated training problem (data, loss, options) and its lifted arrays.

    Attributes
    ----------
    A : ndarray (n, D)
        Lifted data ``[X, 1]`` (bias) or ``X``.
    A_ref : ndarray (n + d, D)
        ``A`` followed by the coordinate hyperplanes of the weights ``np.eye(d, D)``:
        the refined arrangement whose rays carry the l1 optimum.
    norm_mask : ndarray of bool (D,)
        The weight coordinates (not the bias).
    weight : ndarray (n,) or None
        Positive sample weights of the loss terms (``None``: all 1).
    client : dask.distributed.Client or None
        Where the core's passes run (``None``: in this process, on ``threads``
        threads; :mod:`exactrelu.cluster`).
    """

    X: np.ndarray
    y: np.ndarray
    loss: str
    beta: float
    bias: bool
    skip: bool
    threads: int = 1
    weight: np.ndarray | None = None
    client: object = None
    A: np.ndarray = field(init=False)
    A_ref: np.ndarray = field(init=False)
    norm_mask: np.ndarray = field(init=False)

    def __post_init__(self):
        n, d = self.X.shape
        self.A = np.hstack([self.X, np.ones((n, 1))]) if self.bias else self.X
        D = self.A.shape[1]
        self.A_ref = np.ascontiguousarray(np.vstack([self.A, self.coordinate_hyperplanes]))
        self.norm_mask = np.zeros(D, dtype=bool)
        self.norm_mask[:d] = True

    @property
    def n(self):
        return int(self.X.shape[0])

    @property
    def d(self):
        return int(self.X.shape[1])

    @property
    def D(self):
        return int(self.A.shape[1])

    @property
    def coordinate_hyperplanes(self):
        """``np.eye(d, D)``: the hyperplanes ``theta_j = 0`` of the weight coordinates."""
        return np.eye(self.d, self.A.shape[1])

    def equality_matrix(self):
        """Columns spanning the free output terms: ``[1]`` or ``[1, X]`` (skip)."""
        one = np.ones((self.n, 1))
        return np.hstack([one, self.X]) if self.skip else one

    def with_targets(self, y):
        """The interpolation problem of the same data and options with targets ``y``."""
        return Problem(self.X, y, "interpolate", 1.0, self.bias, self.skip, self.threads,
                       client=self.client)


def make_problem(X, y, loss, beta, bias, skip, threads=None, sample_weight=None, client=None,
                 outputs=False):
    """Validate user input into a :class:`Problem` (raises :mod:`exactrelu.errors`).

    Samples of weight 0 contribute nothing to the objective and are dropped. With
    ``outputs`` a 2-D y of shape (n, k >= 2) is accepted (vector outputs).
    """
    loss = check_loss(loss)
    beta = check_beta(beta, loss)
    X = as_data_matrix(X)
    y = check_targets((as_targets if outputs else as_target_vector)(y, X.shape[0]), loss)
    w = check_sample_weight(sample_weight, X.shape[0], loss)
    if w is not None:
        keep = w > 0
        X, y, w = np.ascontiguousarray(X[keep]), y[keep], w[keep]
    return Problem(X, y, loss, beta, check_flag(bias, "bias"), check_flag(skip, "skip"),
                   resolve_threads(threads), w, check_client(client))


def merge_duplicates(prob):
    """The same problem with equal samples merged: ``(merged, expand)``.

    Samples with equal inputs and equal targets contribute one loss term each, so
    they are one sample whose weight is the sum of theirs (an integer weight is a
    count of repeated samples). The merged problem lists the distinct samples in
    lexicographic order of ``(x, y)``: a weighted dataset and the same dataset with
    its samples repeated (in any order) become the same input, so every method, the
    bracket's budgeted search included, returns the same network for both
    (docs/design.md section 4). ``expand(lam)`` maps a dual multiplier of the merged
    problem back to the samples of ``prob``: a group's multiplier is shared in
    proportion to the weights (it is ``-W_g loss'`` at the group's common output).
    Interpolation (no weights: every sample is fitted exactly) is left as it is.
    """
    if prob.loss == "interpolate" or prob.n < 2:
        return prob, lambda lam: lam
    y2 = prob.y.reshape(prob.n, -1)
    keys = np.ascontiguousarray(np.hstack([prob.X, y2]))
    _, first, inv = np.unique(keys, axis=0, return_index=True, return_inverse=True)
    inv = inv.reshape(-1)
    w = np.ones(prob.n) if prob.weight is None else prob.weight
    W = np.bincount(inv, weights=w, minlength=len(first))
    merged_w = None if prob.weight is None and len(first) == prob.n else W
    merged = Problem(np.ascontiguousarray(prob.X[first]), prob.y[first], prob.loss, prob.beta,
                     prob.bias, prob.skip, prob.threads, merged_w, prob.client)
    share = w / W[inv]

    def expand(lam):
        if lam is None:
            return None
        lam = np.asarray(lam)
        return lam[inv] * (share if lam.ndim == 1 else share[:, None])

    return merged, expand


def check_conflicts(X, y):
    """Equal inputs with different targets cannot be interpolated: raise
    :class:`~exactrelu.errors.ConflictingTargetsError` naming the groups of rows."""
    _, inv = np.unique(X, axis=0, return_inverse=True)
    inv = inv.reshape(-1)
    order = np.argsort(inv, kind="stable")
    g = inv[order]
    starts = np.flatnonzero(np.r_[True, g[1:] != g[:-1]])
    ys = y[order]
    ymin = np.minimum.reduceat(ys, starts)
    ymax = np.maximum.reduceat(ys, starts)
    differ = ymin != ymax
    bad = np.flatnonzero(differ.any(axis=1) if differ.ndim == 2 else differ)
    if bad.size:
        ends = np.r_[starts[1:], len(g)]
        groups = [tuple(sorted(order[starts[k]:ends[k]].tolist())) for k in bad]
        raise ConflictingTargetsError(
            f"cannot interpolate: {len(groups)} group(s) of equal inputs have different "
            f"targets, e.g. rows {groups[0]}", rows=groups)


#: The scaled data stays below 2^MAX_SCALED_EXPONENT in magnitude (sums of products
#: in the programs must not overflow).
MAX_SCALED_EXPONENT = 100


def _pow2_exponent(values, spread):
    """The exponent k such that ``2^k * spread`` lies in [1, 2), limited so that
    scaling by 2^k is exact (no entry leaves the normal range) and keeps every entry
    below 2^100. 0 for all-zero input."""
    a = np.abs(values[np.isfinite(values)])
    a = a[a > 0]
    if a.size == 0:
        return 0
    e_max = int(np.frexp(a.max())[1])
    e_min = int(np.frexp(a.min())[1])
    # (a spread that overflows, e.g. entries near +-1e308, falls back to the magnitude)
    target = 1 - int(np.frexp(spread)[1]) if 0 < spread < np.inf else 1 - e_max
    return max(min(target, MAX_SCALED_EXPONENT - e_max), -1021 - e_min)


#: A column (or y) is shifted when its spread is below this fraction of its magnitude.
SHIFT_BELOW_SPREAD = 2.0**-8


def _exact_shift(v):
    """A shift m with ``v - m`` exact for every entry, for values whose spread is tiny
    against their magnitude (all of one sign, within a factor 2 of m: Sterbenz's
    lemma); 0 otherwise."""
    if v.size < 2:
        return 0.0
    lo, hi = float(v.min()), float(v.max())
    if lo > 0 and hi - lo <= SHIFT_BELOW_SPREAD * hi:
        return lo
    if hi < 0 and hi - lo <= SHIFT_BELOW_SPREAD * -lo:
        return hi
    return 0.0


def _spread(v):
    """Largest range of a column (the magnitude for a single row or when it overflows)."""
    mag = float(np.abs(v).max(initial=0.0))
    if v.shape[0] < 2:
        return mag
    r = float(np.max(v.max(axis=0) - v.min(axis=0)))
    return r if np.isfinite(r) else mag


@dataclass(frozen=True)
class Scaling:
    """An exact change of units: ``X' = sx (X - mx)``, ``y' = sy (y - my)``.

    ``sx`` and ``sy`` are powers of two and the shifts ``mx`` (with neuron biases
    only) and ``my`` are applied only where the subtraction is exact, so the scaled
    problem is exactly equivalent: the programs are built and solved for data whose
    spread is of order 1, and the answer is mapped back (docs/design.md section 4).
    A network ``f`` corresponds to ``f'(x') = sy (f(x' / sx + mx) - my)``, with
    neurons ``(sy a, w / sx, b + w . mx)``, whose penalty is ``sy / sx`` times as
    large; with ``beta' = beta * sx * sy`` (squared loss) or ``beta * sx`` (absolute,
    hinge) the scaled objective is :meth:`objective_factor` times the original one.
    """

    sx: float = 1.0
    sy: float = 1.0
    mx: np.ndarray = None
    my: float = 0.0

    @classmethod
    def for_problem(cls, prob):
        """The scaling that brings the spread of the data to order 1: the range of
        the columns of X (with neuron biases a shift of X is absorbed by the biases;
        without, the magnitude counts) and the range of y (a shift is absorbed by the
        output bias). Hinge labels stay +-1."""
        X, y = prob.X, prob.y
        mx = None
        if prob.bias:
            mx = np.array([_exact_shift(X[:, j]) for j in range(X.shape[1])])
            if not np.any(mx):
                mx = None
            else:
                X = X - mx
        sx = 2.0 ** _pow2_exponent(X, _spread(X) if prob.bias else float(np.abs(X).max()))
        if prob.loss == "hinge":
            return cls(sx, 1.0, mx, 0.0)
        my = _exact_shift(y)
        y = y - my
        return cls(sx, 2.0 ** _pow2_exponent(y, _spread(y)), mx, my)

    @property
    def identity(self):
        return self.sx == 1.0 and self.sy == 1.0 and self.mx is None and self.my == 0.0

    def beta_factor(self, loss):
        """``beta' / beta``."""
        if loss == "squared":
            return self.sx * self.sy
        if loss == "interpolate":
            return 1.0
        return self.sx

    def objective_factor(self, loss):
        """``objective' / objective``."""
        if loss == "squared":
            return self.sy * self.sy
        if loss == "interpolate":
            return self.sy / self.sx
        return self.sy

    def apply(self, prob):
        """The scaled problem."""
        if self.identity:
            return prob
        X = prob.X if self.mx is None else prob.X - self.mx
        return Problem(X * self.sx, (prob.y - self.my) * self.sy, prob.loss,
                       prob.beta * self.beta_factor(prob.loss), prob.bias, prob.skip,
                       prob.threads, prob.weight, prob.client)

    def _offsets(self, W, s):
        """``(W . mx, s . mx)``: what the shift of X adds to the biases and to c (per
        output for vector outputs, ``s`` of shape (d, k))."""
        if self.mx is None:
            return 0.0, 0.0
        return W @ self.mx, (0.0 if s is None else self.mx @ s)

    def network_back(self, net):
        """The original problem's network from the scaled problem's one."""
        if self.identity:
            return net
        W = net.W * self.sx
        s = None if net.s is None else net.s * (self.sx / self.sy)
        wm, sm = self._offsets(W, s)
        return type(net)(W, net.b - wm, net.a / self.sy, net.c / self.sy - sm + self.my,
                         s).balanced()

    def network_to(self, net):
        """The scaled problem's network from the original problem's one."""
        if self.identity:
            return net
        wm, sm = self._offsets(net.W, net.s)
        s = None if net.s is None else net.s * (self.sy / self.sx)
        return type(net)(net.W / self.sx, net.b + wm, net.a * self.sy,
                         (net.c + sm - self.my) * self.sy, s)

    def multipliers_back(self, lam, loss):
        """The original problem's dual multipliers from the scaled problem's ones
        (shifts do not change them: ``1 . lam = 0``)."""
        if lam is None or self.identity:
            return lam
        if loss == "squared":
            return lam / self.sy
        if loss == "interpolate":
            return lam * self.sx
        return lam
