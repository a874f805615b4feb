"""A finite two-layer ReLU network: the object every solver returns.

``f(x) = sum_j a_j * relu(w_j . x + b_j) + c + s . x``
"""

from __future__ import annotations

import json

import numpy as np

from . import _torch
from ._validation import as_data_matrix, as_target_vector
from .errors import InputError, ShapeError
from .losses import (
    check_beta,
    check_loss,
    check_penalty,
    check_sample_weight,
    check_targets,
    loss_value,
)

__all__ = ["ReLUNetwork"]


class ReLUNetwork:
    """A two-layer ReLU network with output bias and optional linear skip.

    Parameters
    ----------
    W : array_like, shape (m, d)
        Input weights, one row per neuron.
    b : array_like, shape (m,)
        Neuron biases (zeros for a network without neuron biases).
    a : array_like, shape (m,)
        Output weights.
    c : float
        Output bias.
    s : array_like, shape (d,), optional
        Linear skip weights (``None``: no skip connection, the same as zeros).

    Examples
    --------
    >>> import numpy as np
    >>> net = ReLUNetwork(W=[[1.0]], b=[-1.0], a=[2.0], c=0.5)
    >>> net.predict(np.array([[0.0], [2.0]])).tolist()
    [0.5, 2.5]
    >>> net.penalty("l1"), net.n_neurons
    (2.0, 1)
    """

    def __init__(self, W, b, a, c=0.0, s=None):
        W = np.array(W, dtype=float, ndmin=2)
        if W.ndim != 2:
            raise ShapeError(f"W must be 2-D (m, d), got shape {W.shape}")
        m, d = W.shape
        b = np.array(b, dtype=float).reshape(-1)
        a = np.array(a, dtype=float).reshape(-1)
        if b.shape != (m,) or a.shape != (m,):
            raise ShapeError(f"b and a must have shape ({m},) to match W {W.shape}; "
                             f"got {b.shape} and {a.shape}")
        if s is not None:
            s = np.array(s, dtype=float).reshape(-1)
            if s.shape != (d,):
                raise ShapeError(f"s must have shape ({d},), got {s.shape}")
        c = float(c)
        for name, arr in (("W", W), ("b", b), ("a", a), ("c", np.array([c]))) + (
                (("s", s),) if s is not None else ()):
            if not np.all(np.isfinite(arr)):
                raise InputError(f"{name} must be finite")
        self.W, self.b, self.a, self.c, self.s = W, b, a, c, s

    # ------------------------------------------------------------------ basics
    @property
    def n_neurons(self):
        """Number of neurons m."""
        return int(self.W.shape[0])

    @property
    def n_features(self):
        """Input dimension d."""
        return int(self.W.shape[1])

    def hidden(self, X):
        """The hidden activations ``relu(X W^T + b)``, shape (n, m)."""
        X = self._check_X(X)
        return np.maximum(X @ self.W.T + self.b, 0.0)

    def predict(self, X):
        """The network's output on the rows of ``X``, shape (n,)."""
        X = self._check_X(X)
        out = np.maximum(X @ self.W.T + self.b, 0.0) @ self.a + self.c
        if self.s is not None:
            out = out + X @ self.s
        return out

    def term_scale(self, X):
        """Per row of ``X``, the size of the terms the output sums:
        ``sum_j |a_j| (|w_j| . |x| + |b_j|) + |c| + |s| . |x|``. Evaluating the
        network is accurate to a few units in the last place of it."""
        X = self._check_X(X)
        aX = np.abs(X)
        out = (aX @ np.abs(self.W).T + np.abs(self.b)) @ np.abs(self.a) + abs(self.c)
        if self.s is not None:
            out = out + aX @ np.abs(self.s)
        return out

    def __call__(self, X):
        return self.predict(X)

    def _check_X(self, X):
        X = as_data_matrix(X)
        if X.shape[1] != self.n_features:
            raise ShapeError(f"X has {X.shape[1]} features, the network expects {self.n_features}")
        return X

    def penalty(self, kind="l1"):
        """``sum_j |a_j| * ||w_j||`` with the l1 (path norm) or l2 (weight decay) norm."""
        kind = check_penalty(kind)
        ord_ = 1 if kind == "l1" else 2
        if self.n_neurons == 0:
            return 0.0
        return float(np.abs(self.a) @ np.linalg.norm(self.W, ord=ord_, axis=1))

    def objective(self, X, y, *, loss="squared", beta=1.0, penalty="l1", sample_weight=None):
        """The training objective ``loss(f(X), y) + beta * penalty``.

        For ``loss="interpolate"`` it is the penalty when the network fits ``y``
        to within its tolerance (:func:`exactrelu.losses.interpolation_tolerance`),
        and ``inf`` otherwise. ``sample_weight`` multiplies each sample's loss term.
        """
        loss = check_loss(loss)
        beta = check_beta(beta, loss)
        X = self._check_X(X)
        y = check_targets(as_target_vector(y, X.shape[0]), loss)
        w = check_sample_weight(sample_weight, X.shape[0], loss)
        scale = self.term_scale(X) if loss == "interpolate" else None
        return (loss_value(self.predict(X), y, loss, scale=scale, weight=w)
                + beta * self.penalty(penalty))

    # ------------------------------------------------------------ transforms
    def merged(self, *, decimals=11):
        """An equivalent network whose neurons have pairwise distinct directions.

        Neurons ``(w, b)`` that are positive multiples of each other are combined
        (the penalty can only go down, by the triangle inequality); neurons with
        ``w = 0`` are constants and are folded into ``c``; neurons with ``a = 0``
        are dropped. The result is balanced (``|a_j|`` and ``||w_j||_1`` within a
        factor of 2, see :meth:`from_rays`).
        """
        W, b, a = self.W, self.b, self.a
        c = self.c
        wn = np.abs(W).sum(axis=1)
        const = wn == 0
        if np.any(const):
            c += float(a[const] @ np.maximum(b[const], 0.0))
        keep = (~const) & (a != 0)
        W, b, a, wn = W[keep], b[keep], a[keep], wn[keep]
        if W.shape[0] == 0:
            return ReLUNetwork(np.zeros((0, self.n_features)), [], [], c, self.s)
        # direction normalized by ||w||_1; coefficient kappa = a * ||w||_1
        theta = np.hstack([W, b[:, None]]) / wn[:, None]
        kappa = a * wn
        keys = np.round(theta, decimals)
        _, first, inv = np.unique(keys, axis=0, return_index=True, return_inverse=True)
        inv = inv.reshape(-1)
        kap = np.zeros(len(first))
        np.add.at(kap, inv, kappa)
        theta = theta[first]
        nz = kap != 0
        return ReLUNetwork.from_rays(theta[nz, :-1], theta[nz, -1], kap[nz], c, self.s)

    def balanced(self):
        """The same function with ``|a_j|`` and ``||w_j||_1`` within a factor of
        2 for every neuron (each rescaled exactly by a power of two ``t``:
        ``(a / t, t w, t b)``, see :meth:`from_rays`); the penalty is unchanged."""
        return ReLUNetwork.from_rays(self.W, self.b, self.a, self.c, self.s)

    @classmethod
    def from_rays(cls, W, b, coef, c=0.0, s=None):
        """Build a balanced network from directions and signed coefficients.

        Neuron j computes ``coef_j * relu(W_j . x + b_j)``, rescaled (ReLU is
        positively homogeneous) by the power of two ``t_j`` nearest to
        ``sqrt(|coef_j| / ||W_j||_1)``: then ``|a_j|`` and ``||w_j||_1`` agree within a
        factor of 2, and since the rescaling is exact the network computes
        exactly what the directions and coefficients do (a square-root factor would
        round ``w_j`` and ``b_j`` separately and spoil nearly cancelling
        pre-activations). Its path norm is ``|coef_j| * ||W_j||_1``.
        """
        W = np.array(W, dtype=float, ndmin=2)
        b = np.asarray(b, dtype=float).reshape(-1)
        coef = np.asarray(coef, dtype=float).reshape(-1)
        if W.shape[0] == 0:
            return cls(W.reshape(0, W.shape[1] if W.ndim == 2 else 0), [], [], c, s)
        wn = np.abs(W).sum(axis=1)
        ok = (wn > 0) & (coef != 0)
        # w = t W, a = coef / t; balanced when |a| = t ||W||_1, i.e. t^2 = |coef| / ||W||_1
        e = np.zeros(len(coef), dtype=int)
        e[ok] = np.rint(0.5 * (np.log2(np.abs(coef[ok])) - np.log2(wn[ok]))).astype(int)
        t = np.ldexp(1.0, e)
        a = coef / t
        return cls(W * t[:, None], b * t, a, c, s)

    # ---------------------------------------------------------------- export
    def to_dict(self):
        """A JSON-serializable dict (lists of floats); inverse of :meth:`from_dict`."""
        return {
            "W": self.W.tolist(),
            "b": self.b.tolist(),
            "a": self.a.tolist(),
            "c": float(self.c),
            "s": None if self.s is None else self.s.tolist(),
            "n_features": self.n_features,
        }

    def to_torch(self, dtype=None):
        """The network as a ``torch.nn.Module`` (float64 unless ``dtype``): ``hidden``
        (Linear d -> m), ReLU, ``output`` (Linear m -> 1) and an optional ``skip``
        (Linear d -> 1, no bias); ``forward`` returns shape (n,). Needs torch."""
        return _torch.to_torch(self, dtype)

    @classmethod
    def from_torch(cls, module):
        """A network from :meth:`to_torch`'s module or a plain
        ``nn.Sequential(Linear(d, m), ReLU(), Linear(m, 1))`` (e.g. trained in
        PyTorch, to be certified with :func:`exactrelu.certify`). Needs torch."""
        return _torch.from_torch(cls, module)

    @classmethod
    def from_dict(cls, d):
        """Rebuild a network from :meth:`to_dict` output (or its JSON)."""
        if isinstance(d, str):
            d = json.loads(d)
        try:
            W = np.array(d["W"], dtype=float)
            if W.size == 0:
                W = W.reshape(0, int(d.get("n_features", 0)))
            return cls(W, d["b"], d["a"], d.get("c", 0.0), d.get("s"))
        except KeyError as exc:
            raise InputError(f"network dict lacks the key {exc}") from None

    def __repr__(self):
        return (f"ReLUNetwork(n_neurons={self.n_neurons}, n_features={self.n_features}, "
                f"c={self.c:.6g}, skip={self.s is not None})")

    def __eq__(self, other):
        if not isinstance(other, ReLUNetwork):
            return NotImplemented
        return (self.W.shape == other.W.shape and np.array_equal(self.W, other.W)
                and np.array_equal(self.b, other.b) and np.array_equal(self.a, other.a)
                and self.c == other.c
                and ((self.s is None and other.s is None)
                     or (self.s is not None and other.s is not None
                         and np.array_equal(self.s, other.s))))

    __hash__ = None
