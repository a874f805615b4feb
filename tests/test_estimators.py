"""scikit-learn estimators (optional dependency): the estimator contract."""


import numpy as np
import pytest

sklearn = pytest.importorskip("sklearn")

from sklearn.utils.estimator_checks import parametrize_with_checks  # noqa: E402

from exactrelu import ExactReLUClassifier, ExactReLURegressor, solve  # noqa: E402
from exactrelu.errors import InputError, NotSupportedError, SizeError  # noqa: E402

# Some checks use datasets with 10 to 30 features, whose arrangements have 1e11 - 1e17
# rays: far too many to price exactly. There the estimators fit a bracket (method
# "auto" -> "bracket") within their time_limit, a few seconds here; its budget is
# spent by counted work, so two fits of the same data give the same network. Integer
# sample weights and repeated samples are merged into the same input (equal samples
# are one weighted sample), so their brackets agree too.


def _expected_failures(estimator):
    return {}


try:
    _checks = parametrize_with_checks(
        [ExactReLURegressor(time_limit=3.0), ExactReLUClassifier(time_limit=3.0)],
        expected_failed_checks=_expected_failures)
except TypeError:  # scikit-learn < 1.6 has no expected_failed_checks
    _checks = pytest.mark.skip(reason="scikit-learn >= 1.6 needed for expected_failed_checks")(
        pytest.mark.parametrize("estimator, check", [(None, None)]))


@_checks
def test_sklearn_contract(estimator, check):
    check(estimator)


def test_regressor_matches_solve():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(15, 2))
    y = np.sin(X[:, 0]) + X[:, 1]
    reg = ExactReLURegressor(beta=0.05).fit(X, y)
    sol = solve(X, y, beta=0.05)
    assert reg.objective_ == pytest.approx(sol.objective, rel=1e-9)
    assert reg.certified_ and reg.n_features_in_ == 2
    assert reg.predict(X) == pytest.approx(reg.network_.predict(X))
    assert reg.score(X, y) > 0.5


def test_classifier_labels_and_multiclass():
    X = np.array([[0.0], [1.0], [2.0], [3.0], [4.0]])
    y = np.array(["x", "y", "y", "x", "x"])
    clf = ExactReLUClassifier(beta=0.01).fit(X, y)
    assert list(clf.classes_) == ["x", "y"]
    assert clf.predict(X).tolist() == y.tolist()
    dec = clf.decision_function(X)
    assert np.all((dec > 0) == (y == "y"))
    sol = solve(X, np.where(y == "y", 1.0, -1.0), loss="hinge", beta=0.01)
    assert clf.objective_ == pytest.approx(sol.objective, rel=1e-9)
    # three classes: one shared hidden layer, certified, argmax prediction
    three = ExactReLUClassifier(beta=0.01).fit(X, [0, 1, 2, 0, 1])
    assert three.certified_ and three.decision_function(X).shape == (5, 3)
    assert three.predict(X).tolist() == [0, 1, 2, 0, 1]
    with pytest.raises(NotSupportedError, match="penalty='l1'"):
        ExactReLUClassifier(penalty="l2").fit(X, [0, 1, 2, 0, 1])
    with pytest.raises(InputError):
        ExactReLURegressor(loss="hinge").fit(X, [1.0, -1.0, 1.0, 1.0, -1.0])


def test_large_data_fits_a_bracket_within_the_budget():
    """10 features: too many rays for exact pricing; the estimator fits a bracket
    (a network and a certified lower bound) within its time_limit."""
    rng = np.random.default_rng(0)
    X = rng.normal(size=(100, 10))
    y = np.sin(X[:, 0]) + X[:, 1] ** 2
    reg = ExactReLURegressor(beta=1.0, time_limit=2.0).fit(X, y)
    sol = reg.solution_
    assert sol.method == "bracket" and sol.status in ("bracket", "optimal")
    assert 0 <= reg.lower_bound_ <= reg.objective_
    assert reg.objective_ == pytest.approx(reg.network_.objective(X, y, beta=1.0), rel=1e-12)
    assert reg.certified_ == (sol.gap <= 1e-6 * max(1.0, abs(sol.objective)))
    with pytest.raises(SizeError):     # exact column generation still refuses at once
        ExactReLURegressor(method="colgen").fit(X, y)


@pytest.mark.parametrize("est", [ExactReLURegressor, ExactReLUClassifier])
def test_parameter_constraints_are_declared_and_checked(est):
    """Parameters are declared the way scikit-learn's own estimators declare them
    (``_parameter_constraints``) and checked by ``fit`` before any work."""
    from sklearn.utils._param_validation import InvalidParameterError

    X = np.array([[0.0], [1.0], [2.0], [3.0]])
    y = np.array([1.0, -1.0, 1.0, -1.0])
    assert set(est._parameter_constraints) == set(est().get_params())
    for bad in ({"beta": -1.0}, {"beta": "0.1"}, {"method": "fastest"}, {"threads": 0},
                {"penalty": "l3"}, {"bias": "no"}, {"time_limit": 0}):
        with pytest.raises(InvalidParameterError, match=next(iter(bad))):
            est(**bad).fit(X, y)
    if est is ExactReLURegressor:
        with pytest.raises(InvalidParameterError, match="loss"):
            est(loss="huber").fit(X, y)


def test_parameter_validation_check():
    from sklearn.utils.estimator_checks import check_param_validation

    for est in (ExactReLURegressor(), ExactReLUClassifier()):
        check_param_validation(type(est).__name__, est)
