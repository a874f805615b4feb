"""scikit-learn estimators around :func:`exactrelu.solve`.

``ExactReLURegressor`` (squared, absolute or interpolation loss; a 2-D y trains
one hidden layer shared by the outputs) and ``ExactReLUClassifier`` (hinge loss:
two labels are mapped to -1/+1; k >= 3 labels to one-vs-rest codes in {-1, +1}^k
summed over the classes, with one shared hidden layer) follow the scikit-learn
estimator contract. scikit-learn is an optional dependency:
this module needs it, the rest of exactrelu does not.
"""

from __future__ import annotations

from numbers import Integral, Real

import numpy as np

try:
    from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin, _fit_context
    from sklearn.utils._param_validation import Interval, StrOptions
    from sklearn.utils.multiclass import check_classification_targets
    from sklearn.utils.validation import check_is_fitted
except ImportError as exc:  # pragma: no cover - exercised without scikit-learn only
    raise ImportError(
        "exactrelu's estimators need scikit-learn: pip install 'exactrelu[sklearn]'"
    ) from exc

from .cluster import connect
from .errors import InputError, NotSupportedError
from .limits import ESTIMATOR_MAX_RAYS
from .losses import PENALTIES
from .methods import METHODS
from .solver import solve

__all__ = ["ExactReLURegressor", "ExactReLUClassifier"]



_NO_Y = object()


def _validate(est, X, y=_NO_Y, reset=True, **kw):
    """``validate_data`` across scikit-learn versions (>= 1.6 has the function).

    ``y`` is passed on whenever given, even as ``None`` (scikit-learn then raises its
    own "requires y to be passed" error).
    """
    try:
        from sklearn.utils.validation import validate_data
    except ImportError:  # scikit-learn < 1.6
        if y is _NO_Y:
            return est._validate_data(X, reset=reset, **kw)
        return est._validate_data(X, y, reset=reset, **kw)
    if y is _NO_Y:
        return validate_data(est, X, reset=reset, **kw)
    return validate_data(est, X, y, reset=reset, **kw)


class _ExactReLUBase(BaseEstimator):
    """The parameters and the solve shared by both estimators."""

    _parameter_constraints: dict = {
        "beta": [Interval(Real, 0, None, closed="neither")],
        "penalty": [StrOptions(set(PENALTIES))],
        "bias": ["boolean"],
        "skip": ["boolean"],
        "method": [StrOptions(set(METHODS))],
        "time_limit": [Interval(Real, 0, None, closed="neither"), None],
        "threads": [Interval(Integral, 1, None, closed="left"), None],
        "max_rays": [Interval(Integral, 1, None, closed="left"), None],
        "max_cells": [Interval(Integral, 1, None, closed="left"), None],
        "progress": ["boolean", callable],
        "scheduler": [str, None],
    }

    def __init__(self, beta=1.0, penalty="l1", bias=True, skip=False, method="auto",
                 time_limit=None, threads=None, max_rays=None, max_cells=None, progress=False,
                 scheduler=None):
        self.beta = beta
        self.penalty = penalty
        self.bias = bias
        self.skip = skip
        self.method = method
        self.time_limit = time_limit
        self.threads = threads
        self.max_rays = max_rays
        self.max_cells = max_cells
        self.progress = progress
        self.scheduler = scheduler

    def _solve(self, X, y, loss, sample_weight=None):
        max_rays = ESTIMATOR_MAX_RAYS if self.max_rays is None else self.max_rays
        with connect(self.scheduler) as client:
            sol = solve(X, y, loss=loss, beta=self.beta, penalty=self.penalty, bias=self.bias,
                        skip=self.skip, method=self.method, time_limit=self.time_limit,
                        threads=self.threads, max_rays=max_rays, max_cells=self.max_cells,
                        sample_weight=sample_weight, progress=self.progress, client=client)
        self.solution_ = sol
        self.network_ = sol.network
        self.objective_ = sol.objective
        self.lower_bound_ = sol.lower_bound
        self.certified_ = sol.certified
        self.n_neurons_ = sol.network.n_neurons
        return self

    def _decision(self, X):
        check_is_fitted(self, "network_")
        X = _validate(self, X, reset=False, dtype=np.float64)
        return self.network_.predict(X)


class ExactReLURegressor(RegressorMixin, _ExactReLUBase):
    """The globally optimal two-layer ReLU regressor.

    Parameters
    ----------
    loss : {"squared", "absolute", "interpolate"}
    beta : float
        Weight of the penalty (ignored for ``"interpolate"``).
    penalty : {"l1", "l2"}
        Path norm or weight decay.
    bias, skip, method, time_limit, threads, max_cells : see :func:`exactrelu.solve`.
    max_rays : int, optional
        Size limit passed to :func:`exactrelu.solve` (default
        :data:`ESTIMATOR_MAX_RAYS`): larger problems raise
        :class:`~exactrelu.errors.SizeError` at once.
    progress : bool or callable, default=False
        Show the solver's exact pricing passes (and enumerations) on stderr during
        ``fit``: a tqdm bar when tqdm is installed, else plain lines; see
        :func:`exactrelu.solve` and docs/design.md section 7, "Progress".
    scheduler : str, optional
        The address of a Dask scheduler (``"tcp://host:8786"``): ``fit`` connects a
        client to it and runs the solver's passes there (``client=`` of
        :func:`exactrelu.solve`); the fitted model is the same as a local fit.
        ``None`` (default): local work. An address, not a client, so that the
        estimator can be cloned and pickled. Needs ``pip install 'exactrelu[dask]'``.

    Attributes
    ----------
    network_ : ReLUNetwork
    solution_ : Solution
    objective_, lower_bound_ : float
    certified_ : bool
    n_neurons_ : int

    Examples
    --------
    >>> import numpy as np
    >>> X = np.array([[0.0], [1.0], [2.0], [3.0]]); y = np.array([0.0, 1.0, 0.0, 1.0])
    >>> reg = ExactReLURegressor(loss="interpolate").fit(X, y)
    >>> bool(np.abs(reg.predict(X) - y).max() < 1e-9), reg.certified_
    (True, True)
    """

    _parameter_constraints: dict = {
        **_ExactReLUBase._parameter_constraints,
        "loss": [StrOptions({"squared", "absolute", "interpolate", "hinge"})],
    }

    def __init__(self, loss="squared", beta=1.0, penalty="l1", bias=True, skip=False,
                 method="auto", time_limit=None, threads=None, max_rays=None, max_cells=None,
                 progress=False, scheduler=None):
        self.loss = loss
        super().__init__(beta=beta, penalty=penalty, bias=bias, skip=skip, method=method,
                         time_limit=time_limit, threads=threads, max_rays=max_rays,
                         max_cells=max_cells, progress=progress, scheduler=scheduler)

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y, sample_weight=None):
        """Solve the training problem exactly (``sample_weight``: weights of the
        samples' losses); returns ``self``."""
        if self.loss not in ("squared", "absolute", "interpolate"):
            raise InputError(f"ExactReLURegressor supports loss 'squared', 'absolute' or "
                             f"'interpolate'; got {self.loss!r} (use ExactReLUClassifier "
                             f"for the hinge loss)")
        X, y = _validate(self, X, y, y_numeric=True, dtype=np.float64, multi_output=True)
        if y.ndim == 2 and y.shape[1] == 1:
            y = y[:, 0]
        return self._solve(X, y, self.loss, sample_weight)

    def predict(self, X):
        """The network's output on ``X`` (shape (n, k) when fitted to a 2-D y)."""
        return self._decision(X)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        return tags


class ExactReLUClassifier(ClassifierMixin, _ExactReLUBase):
    """The globally optimal two-layer ReLU classifier (hinge loss).

    Two classes (sorted, ``classes_``) are mapped to -1 and +1. With k >= 3 classes
    the targets are the one-vs-rest codes ``Y[i, c] = +1`` for the class of sample i
    and -1 otherwise; the loss is the sum over classes of the hinge losses, the
    penalty ``beta * sum_j ||a_j||_2 ||w_j||_1`` of one hidden layer shared by the k
    outputs (docs/design.md section 12), and ``predict`` is the class of the largest
    output. Multiclass needs ``penalty="l1"``.

    Parameters
    ----------
    beta, penalty, bias, skip, method, time_limit, threads, max_rays, max_cells, progress,
    scheduler :
        as for :class:`ExactReLURegressor`.

    Examples
    --------
    >>> import numpy as np
    >>> X = np.array([[0.0], [1.0], [2.0], [3.0]]); y = np.array(["a", "b", "b", "a"])
    >>> clf = ExactReLUClassifier(beta=0.1).fit(X, y)
    >>> clf.predict(X).tolist(), clf.certified_
    (['a', 'b', 'b', 'a'], True)
    >>> y3 = np.array(["a", "b", "c", "a"])
    >>> clf3 = ExactReLUClassifier(beta=0.1).fit(X, y3)
    >>> clf3.predict(X).tolist(), clf3.certified_, clf3.network_.n_outputs
    (['a', 'b', 'c', 'a'], True, 3)
    """

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y, sample_weight=None):
        """Solve the hinge-loss problem exactly (``sample_weight``: weights of the
        samples' losses); returns ``self``."""
        X, y = _validate(self, X, y, dtype=np.float64)
        check_classification_targets(y)
        classes, yi = np.unique(y, return_inverse=True)
        yi = yi.reshape(-1)
        if len(classes) < 2:
            raise InputError(f"ExactReLUClassifier needs samples of 2 classes in the data, "
                             f"but the data contains only one class: {classes[0]!r}")
        if len(classes) > 2 and self.penalty != "l1":
            raise NotSupportedError(
                f"multiclass training ({len(classes)} classes) shares one hidden layer "
                f"with the penalty sum_j ||a_j||_2 ||w_j||_1, i.e. penalty='l1'; got "
                f"penalty={self.penalty!r} (with ||w_j||_2 the problem has no finite exact "
                f"method)")
        self.classes_ = classes
        if len(classes) == 2:
            codes = np.where(yi == 1, 1.0, -1.0)
        else:       # one-vs-rest codes in {-1, +1}^k
            codes = np.where(yi[:, None] == np.arange(len(classes))[None, :], 1.0, -1.0)
        return self._solve(X, codes, "hinge", sample_weight)

    def decision_function(self, X):
        """The network's output: positive for ``classes_[1]`` (two classes), or one
        column per class (k >= 3 classes)."""
        return self._decision(X)

    def predict(self, X):
        """Two classes: ``classes_[1]`` where the decision function is positive, else
        ``classes_[0]``; more: the class of the largest output."""
        dec = self.decision_function(X)
        if dec.ndim == 2:
            return self.classes_[np.argmax(dec, axis=1)]
        return self.classes_[(dec > 0).astype(int)]
