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

from ._validation import as_data_matrix, as_target_vector, check_flag, resolve_threads
from .errors import ConflictingTargetsError
from .losses import check_beta, check_loss, check_targets

__all__ = ["Problem", "make_problem", "check_conflicts"]


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
    """

    X: np.ndarray
    y: np.ndarray
    loss: str
    beta: float
    bias: bool
    skip: bool
    threads: int = 1
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
        return Problem(self.X, y, "interpolate", 1.0, self.bias, self.skip, self.threads)


def make_problem(X, y, loss, beta, bias, skip, threads=None):
    """Validate user input into a :class:`Problem` (raises :mod:`exactrelu.errors`)."""
    loss = check_loss(loss)
    beta = check_beta(beta, loss)
    X = as_data_matrix(X)
    y = check_targets(as_target_vector(y, X.shape[0]), loss)
    return Problem(X, y, loss, beta, check_flag(bias, "bias"), check_flag(skip, "skip"),
                   resolve_threads(threads))


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
    bad = np.flatnonzero(ymin != ymax)
    if bad.size:
        ends = np.r_[starts[1:], len(g)]
        groups = [tuple(sorted(order[starts[k]:ends[k]].tolist())) for k in bad]
        raise ConflictingTargetsError(
            f"cannot interpolate: {len(groups)} group(s) of equal inputs have different "
            f"targets, e.g. rows {groups[0]}", rows=groups)
