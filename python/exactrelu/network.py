"""A finite two-layer ReLU network: the object every solver returns.

``f(x) = sum_j a_j * relu(w_j . x + b_j) + c + s . x``, with scalar output weights
``a_j`` or, for k outputs sharing the hidden layer, vectors ``a_j`` in R^k (then
``c`` in R^k and ``s`` of shape (d, k)).
"""

from __future__ import annotations

import json

import numpy as np

from . import _torch
from ._validation import as_data_matrix, as_target_matrix, as_target_vector
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
    a : array_like, shape (m,) or (m, k)
        Output weights; a 2-D ``a`` makes a network with k outputs sharing the hidden
        layer (:attr:`n_outputs`), whose ``predict`` returns shape (n, k).
    c : float or array_like, shape (k,)
        Output bias.
    s : array_like, shape (d,) or (d, k), optional
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
        a = np.array(a, dtype=float)
        if a.ndim != 2:
            a = a.reshape(-1)
        if b.shape != (m,) or a.shape[0] != m:
            raise ShapeError(f"b must have shape ({m},) and a ({m},) or ({m}, k) to match "
                             f"W {W.shape}; got {b.shape} and {a.shape}")
        tail = a.shape[1:]
        if s is not None:
            s = np.array(s, dtype=float)
            if s.shape != (d,) + tail:
                s = s.reshape(-1) if not tail else s
            if s.shape != (d,) + tail:
                raise ShapeError(f"s must have shape {(d,) + tail}, got {s.shape}")
        c = np.array(c, dtype=float)
        if tail:
            c = np.full(tail, float(c)) if c.ndim == 0 else c.reshape(-1)
            if c.shape != tail:
                raise ShapeError(f"c must have shape {tail} (one bias per output), got "
                                 f"{c.shape}")
        else:
            if c.size != 1:
                raise ShapeError(f"c must be a number for a network with one output, got "
                                 f"shape {c.shape}")
            c = float(c.reshape(-1)[0])
        for name, arr in (("W", W), ("b", b), ("a", a), ("c", np.atleast_1d(c))) + (
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

    @property
    def n_outputs(self):
        """Number of outputs k (1 for a scalar network, whose ``a`` is 1-D)."""
        return int(self.a.shape[1]) if self.a.ndim == 2 else 1

    @property
    def multi_output(self):
        """Whether ``a`` is 2-D (outputs of shape (n, k), even for k = 1)."""
        return self.a.ndim == 2

    def output_norms(self):
        """``|a_j|``, or ``||a_j||_2`` for vector outputs."""
        return np.linalg.norm(self.a, axis=1) if self.a.ndim == 2 else np.abs(self.a)

    def hidden(self, X):
        """The hidden activations ``relu(X W^T + b)``, shape (n, m)."""
        X = self._check_X(X)
        return np.maximum(X @ self.W.T + self.b, 0.0)

    def predict(self, X):
        """The network's output on the rows of ``X``, shape (n,) (or (n, k))."""
        X = self._check_X(X)
        out = np.maximum(X @ self.W.T + self.b, 0.0) @ self.a + self.c
        if self.s is not None:
            out = out + X @ self.s
        return out

    def term_scale(self, X):
        """Per row of ``X``, the size of the terms the output sums:
        ``sum_j |a_j| (|w_j| . |x| + |b_j|) + |c| + |s| . |x|`` (per output for
        vector outputs). Evaluating the network is accurate to a few units in the
        last place of it."""
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
        """``sum_j |a_j| * ||w_j||`` with the l1 (path norm) or l2 (weight decay) norm
        (``||a_j||_2`` for vector outputs)."""
        kind = check_penalty(kind)
        ord_ = 1 if kind == "l1" else 2
        if self.n_neurons == 0:
            return 0.0
        return float(self.output_norms() @ np.linalg.norm(self.W, ord=ord_, axis=1))

    def objective(self, X, y, *, loss="squared", beta=1.0, penalty="l1", sample_weight=None):
        """The training objective ``loss(f(X), y) + beta * penalty``.

        For ``loss="interpolate"`` it is the penalty when the network fits ``y``
        to within its tolerance (:func:`exactrelu.losses.interpolation_tolerance`),
        and ``inf`` otherwise. ``sample_weight`` multiplies each sample's loss term.
        """
        loss = check_loss(loss)
        beta = check_beta(beta, loss)
        X = self._check_X(X)
        n = X.shape[0]
        if self.multi_output:      # the loss summed over every output
            y = check_targets(as_target_matrix(y, n, self.n_outputs), loss)
        else:
            y = check_targets(as_target_vector(y, n), loss)
        w = check_sample_weight(sample_weight, n, loss)
        scale = self.term_scale(X) if loss == "interpolate" else None
        f = self.predict(X)
        if self.multi_output:
            k = self.n_outputs
            f, y = f.reshape(-1), y.reshape(-1)
            w = None if w is None else np.repeat(w, k)
            scale = None if scale is None else scale.reshape(-1)
        return (loss_value(f, y, loss, scale=scale, weight=w)
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
        c = np.copy(self.c) if self.multi_output else self.c
        wn = np.abs(W).sum(axis=1)
        const = wn == 0
        if np.any(const):
            c = c + np.maximum(b[const], 0.0) @ a[const]
        keep = (~const) & (self.output_norms() != 0)
        W, b, a, wn = W[keep], b[keep], a[keep], wn[keep]
        if W.shape[0] == 0:
            return ReLUNetwork(np.zeros((0, self.n_features)), [], a[:0], c, self.s)
        # direction normalized by ||w||_1; coefficient kappa = a * ||w||_1
        theta = np.hstack([W, b[:, None]]) / wn[:, None]
        kappa = a * (wn[:, None] if a.ndim == 2 else wn)
        keys = np.round(theta, decimals)
        _, first, inv = np.unique(keys, axis=0, return_index=True, return_inverse=True)
        inv = inv.reshape(-1)
        kap = np.zeros((len(first),) + a.shape[1:])
        np.add.at(kap, inv, kappa)
        theta = theta[first]
        nz = (np.abs(kap).max(axis=1) if kap.ndim == 2 else np.abs(kap)) != 0
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
        coef = np.asarray(coef, dtype=float)
        if coef.ndim != 2:
            coef = coef.reshape(-1)
        if W.shape[0] == 0:
            return cls(W.reshape(0, W.shape[1] if W.ndim == 2 else 0), [], coef, c, s)
        wn = np.abs(W).sum(axis=1)
        mag = np.linalg.norm(coef, axis=1) if coef.ndim == 2 else np.abs(coef)
        ok = (wn > 0) & (mag != 0)
        # w = t W, a = coef / t; balanced when |a| = t ||W||_1, i.e. t^2 = |coef| / ||W||_1
        e = np.zeros(len(coef), dtype=int)
        e[ok] = np.rint(0.5 * (np.log2(mag[ok]) - np.log2(wn[ok]))).astype(int)
        t = np.ldexp(1.0, e)
        a = coef / (t[:, None] if coef.ndim == 2 else t)
        return cls(W * t[:, None], b * t, a, c, s)

    # ---------------------------------------------------------------- export
    def to_dict(self):
        """A JSON-serializable dict (lists of floats); inverse of :meth:`from_dict`."""
        return {
            "W": self.W.tolist(),
            "b": self.b.tolist(),
            "a": self.a.tolist(),
            "c": self.c.tolist() if self.multi_output else float(self.c),
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
            a = np.array(d["a"], dtype=float)
            c = d.get("c", 0.0)
            if a.size == 0 and np.ndim(c) == 1:      # no neurons, k outputs
                a = a.reshape(0, len(c))
            return cls(W, d["b"], a, c, d.get("s"))
        except KeyError as exc:
            raise InputError(f"network dict lacks the key {exc}") from None

    def __repr__(self):
        c = (np.array2string(self.c, precision=6) if self.multi_output
             else f"{self.c:.6g}")
        out = f", n_outputs={self.n_outputs}" if self.multi_output else ""
        return (f"ReLUNetwork(n_neurons={self.n_neurons}, n_features={self.n_features}{out}, "
                f"c={c}, skip={self.s is not None})")

    def __eq__(self, other):
        if not isinstance(other, ReLUNetwork):
            return NotImplemented
        return (self.W.shape == other.W.shape and np.array_equal(self.W, other.W)
                and np.array_equal(self.b, other.b) and self.a.shape == other.a.shape
                and np.array_equal(self.a, other.a) and np.array_equal(self.c, other.c)
                and ((self.s is None and other.s is None)
                     or (self.s is not None and other.s is not None
                         and np.array_equal(self.s, other.s))))

    __hash__ = None
