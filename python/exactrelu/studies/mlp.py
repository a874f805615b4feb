"""scikit-learn's ``MLPRegressor`` as a peer of :func:`exactrelu.compare` on the
weight-decay problem (scikit-learn is imported lazily, inside :func:`mlp_peer`).
"""

from __future__ import annotations

import time
import warnings

import numpy as np

from ..errors import NotSupportedError
from ..losses import loss_value
from ..network import ReLUNetwork

__all__ = ["mlp_alpha", "mlp_network", "mlp_objective", "mlp_peer"]


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
    fit = loss_value(net.predict(X), y, "squared")
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
