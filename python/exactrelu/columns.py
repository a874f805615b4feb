"""Neuron directions and their columns ``relu(A theta)`` (docs/design.md section 3).

One place for what every program builder and pricer needs: the ReLU columns of
directions with round-off-level entries zeroed, normalization of directions by the
norm of their weight part, keys that identify a line, a canonical orientation, and
the columns of every ray of the refined arrangement (method ``"full"``).
"""

from __future__ import annotations

import numpy as np

from .arrangement import enumerate_rays

__all__ = [
    "ZERO_RTOL",
    "relu_columns",
    "normalize_directions",
    "network_directions",
    "line_keys",
    "canonical_orientation",
    "refined_ray_columns",
]

#: relu entries below this multiple of the entry's rounding scale are set to exactly 0.
ZERO_RTOL = 1e-11
#: A direction whose weight part is below this fraction of its whole length is a pure
#: bias direction (a constant on the data), not a neuron.
PURE_BIAS_RTOL = 1e-14


def relu_columns(A, dirs):
    """``relu(A @ dirs.T)`` with round-off-level entries set to exactly 0.

    An entry ``a_i . theta`` whose magnitude is below ``1e-11 * (|a_i| . |theta|)``
    (the rounding scale of the dot product) lies on the hyperplane of row i.
    """
    dirs = np.atleast_2d(dirs)
    Z = A @ dirs.T
    scale = np.abs(A) @ np.abs(dirs).T
    Z[np.abs(Z) <= ZERO_RTOL * scale] = 0.0
    np.maximum(Z, 0.0, out=Z)
    return Z


def weight_norms(dirs, d, penalty="l1"):
    """The l1 (or l2) norm of the weight part ``theta[:d]`` of each direction."""
    dirs = np.atleast_2d(np.asarray(dirs, dtype=float))
    if dirs.shape[0] == 0:
        return np.zeros(0)
    return np.linalg.norm(dirs[:, :d], ord=1 if penalty == "l1" else 2, axis=1)


def normalize_directions(dirs, d, penalty="l1", *, rtol=PURE_BIAS_RTOL):
    """Scale each direction to unit l1 (or l2) norm of its weight part ``theta[:d]``.

    Returns ``(normalized, keep)`` where ``keep`` marks rows whose weight part exceeds
    ``rtol`` times the direction's length (pure-bias directions are constants, handled
    by the output bias).
    """
    dirs = np.atleast_2d(np.asarray(dirs, dtype=float))
    nrm = weight_norms(dirs, d, penalty)
    full = np.linalg.norm(dirs, axis=1) if dirs.shape[0] else np.zeros(0)
    keep = nrm > rtol * full
    return dirs[keep] / nrm[keep, None], keep


def network_directions(net, prob):
    """l1-normalized directions ``(w, b)`` of a network's neurons (pure-bias ones dropped)."""
    theta = np.hstack([net.W, net.b[:, None]]) if prob.bias else net.W
    dirs, _ = normalize_directions(theta, prob.d, "l1")
    return dirs


def line_keys(dirs, decimals=12):
    """Keys identifying each direction up to positive scaling (rounded, hashable)."""
    dirs = np.atleast_2d(dirs)
    nrm = np.linalg.norm(dirs, axis=1, keepdims=True)
    nrm[nrm == 0] = 1.0
    r = np.round(dirs / nrm, decimals) + 0.0  # +0.0 turns -0.0 into 0.0
    return [row.tobytes() for row in r]


def canonical_orientation(dirs):
    """Flip each direction so that its first nonzero coordinate is positive."""
    dirs = np.array(dirs, dtype=float)
    if dirs.size == 0:
        return dirs
    nz = np.abs(dirs) > 0
    first = np.argmax(nz, axis=1)
    sgn = np.sign(dirs[np.arange(len(dirs)), first])
    sgn[sgn == 0] = 1.0
    return dirs * sgn[:, None]


def refined_ray_columns(prob, *, one_orientation=False, progress=None):
    """Every ray of the refined arrangement as an l1-normalized column.

    Returns ``(dirs, Phi, n_rays)``: the directions (k, D) with unit l1 weight part,
    their ReLU columns (n, k) with the entries on incident hyperplanes exactly 0, and
    the number of rays listed. Pure-bias rays (on every coordinate hyperplane) are
    constants, carried by the free output bias, and are left out. With
    ``one_orientation`` only the first ray of each line is kept (with a skip
    connection ``relu(-z) = relu(z) - z`` makes the other redundant). ``progress``
    shows the enumeration (see :func:`~exactrelu.arrangement.enumerate_rays`).
    """
    rays = enumerate_rays(prob.X, bias=prob.bias, extra_hyperplanes=prob.coordinate_hyperplanes,
                          threads=prob.threads, progress=progress, client=prob.client)
    dirs = rays.directions
    inc = rays.incidence.tocsr()
    if one_orientation:
        dirs = dirs[0::2]
        inc = inc[0::2]
    on_coord = np.asarray(inc[:, prob.n:].sum(axis=1)).reshape(-1)
    nrm = weight_norms(dirs, prob.d)
    keep = (on_coord < prob.d) & (nrm > 0)
    dirs = dirs[keep] / nrm[keep, None]
    inc = inc[keep][:, :prob.n].toarray()
    Phi = relu_columns(prob.A, dirs)
    Phi[inc.T] = 0.0
    return dirs, Phi, int(len(rays))
