"""compare(): certified optimum vs SGD, certificates of SGD networks, MLP peer, CLI, plots."""

import json

import numpy as np
import pytest

import exactrelu
from exactrelu import datasets
from exactrelu.certificate import beta_max
from exactrelu.errors import InputError, NotSupportedError
from exactrelu.network import ReLUNetwork
from exactrelu.studies.comparison import Comparison, compare, effective_neurons
from exactrelu.studies.mlp import mlp_alpha, mlp_network, mlp_objective

STEPS = 1500  # enough for these tiny problems; the soundness checks hold for any run


def _data(loss, n, d, seed):
    rng = np.random.default_rng(seed)
    X = rng.uniform(-1, 1, (n, d))
    f = np.sin(3 * X[:, 0]) + (X[:, 1] if d > 1 else 0.0)
    if loss == "hinge":
        return X, np.where(f + 0.3 * rng.standard_normal(n) >= 0, 1.0, -1.0)
    return X, f + 0.1 * rng.standard_normal(n)


CASES = [
    # loss, n, d, bias, skip, fraction of beta_max
    ("squared", 10, 1, True, False, 0.5),
    ("squared", 12, 2, True, True, 0.1),
    ("absolute", 10, 1, True, False, 0.5),
    ("absolute", 12, 2, True, False, 0.1),
    ("hinge", 12, 1, True, False, 0.5),
    ("hinge", 12, 2, True, True, 0.1),
    ("squared", 10, 2, False, False, 0.2),
]


@pytest.mark.parametrize("loss,n,d,bias,skip,frac", CASES)
def test_sgd_never_beats_the_certified_optimum(loss, n, d, bias, skip, frac):
    """No SGD objective (at any record) is below the exact lower bound, and for every SGD
    network certify() gives lower_bound <= exact optimum <= its objective."""
    X, y = _data(loss, n, d, seed=n + d)
    bmax = beta_max(X, y, loss=loss, bias=bias, skip=skip)
    beta = frac * bmax  # <= beta_max / 2
    cmp = compare(X, y, loss=loss, beta=beta, widths=(3, 2 * n), seeds=2, bias=bias, skip=skip,
                  steps=STEPS, peers=False)
    assert cmp.certified
    tol = 1e-7 * max(1.0, abs(cmp.optimum))
    assert cmp.lower_bound <= cmp.optimum + tol
    assert len(cmp.runs) == 4
    for r in cmp.runs:
        assert not r.below_lower_bound
        assert np.all(r.history.objective >= cmp.lower_bound - tol)
        assert r.objective >= cmp.lower_bound - tol
        assert r.cert_lower_bound is not None
        assert r.cert_lower_bound <= cmp.optimum + tol
        assert cmp.optimum <= r.objective + tol
        assert r.cert_gap == pytest.approx(r.objective - r.cert_lower_bound, abs=1e-9)
        assert r.rel_gap == pytest.approx((r.objective - cmp.optimum) / cmp.optimum)
        # the network is the objective's network
        assert r.network.objective(X, y, loss=loss, beta=beta) == pytest.approx(r.objective,
                                                                                 rel=1e-10)


def test_certify_lower_bound_is_tight_for_a_converged_run():
    """A wide, converged SGD network certifies a lower bound close to the optimum."""
    X, y = _data("squared", 10, 1, seed=1)
    beta = 0.1 * beta_max(X, y, loss="squared")
    cmp = compare(X, y, loss="squared", beta=beta, widths=(40,), seeds=[0, 1, 2], peers=False,
                  steps=4000)
    best = min(cmp.runs, key=lambda r: r.objective)
    assert best.rel_gap < 1e-3
    assert best.cert_lower_bound >= cmp.optimum - 1e-2 * cmp.optimum
    assert best.time_to_tol is not None and best.time_to_tol <= best.seconds
    assert best.steps_to_tol is not None


def test_comparison_outputs():
    X, y = _data("squared", 10, 1, seed=2)
    beta = 0.2 * beta_max(X, y, loss="squared")
    cmp = exactrelu.compare(X, y, loss="squared", beta=beta, widths=[4, 20], seeds=2,
                            steps=600, peers=False)
    assert isinstance(cmp, Comparison)
    s = cmp.summary()
    gaps = [r.rel_gap for r in cmp.runs]
    assert s["runs"] == 4
    assert s["best"] == min(gaps) and s["worst"] == max(gaps)
    assert s["median"] == pytest.approx(np.median(gaps))
    assert s["within_tol"] == pytest.approx(np.mean(np.array(gaps) <= 0.01))
    bw = cmp.by_width()
    assert set(bw) == {4, 20}
    text = str(cmp)
    assert "exact:" in text and "rel.gap" in text and "within 1%" in text
    assert len(cmp.table().splitlines()) == 4 + 4
    d = json.loads(cmp.to_json())
    assert d["exact"]["objective"] == cmp.optimum
    assert len(d["runs"]) == 4 and "history" in d["runs"][0]
    assert d["summary"]["sgd"]["runs"] == 4
    d2 = json.loads(cmp.to_json(histories=False, networks=True))
    assert "history" not in d2["runs"][0]
    net = ReLUNetwork.from_dict(d2["runs"][0]["network"])
    assert net.objective(X, y, loss="squared", beta=beta) == pytest.approx(cmp.runs[0].objective)


def test_compare_accepts_a_precomputed_solution_and_validates():
    X, y = _data("squared", 8, 1, seed=3)
    beta = 0.3 * beta_max(X, y, loss="squared")
    sol = exactrelu.solve(X, y, loss="squared", beta=beta)
    cmp = compare(X, y, loss="squared", beta=beta, widths=5, seeds=[7], steps=100, peers=False,
                  solution=sol, certify=False)
    assert cmp.optimum == sol.objective and cmp.runs[0].seed == 7
    assert cmp.runs[0].cert_lower_bound is None
    with pytest.raises(InputError):
        compare(X, y, loss="interpolate", beta=beta)
    with pytest.raises(InputError):
        compare(X, y, loss="squared", beta=beta, widths=[0])
    with pytest.raises(InputError):
        compare(X, y, loss="squared", beta=beta, stepz=10)
    with pytest.raises(NotSupportedError):
        compare(X, y, loss="absolute", beta=beta, peers="mlp")


def test_effective_neurons_merges_and_ignores_tiny():
    net = ReLUNetwork(
        W=[[1.0], [2.0], [1.0], [1.0], [-1.0]],
        b=[-0.5, -1.0, 0.5, 0.3, 0.0],
        a=[1.0, 0.5, 1e-9, 2.0, 1.0],
        c=0.0,
    )
    # neurons 0 and 1 share the kink x = 0.5 (same side); neuron 2 is negligible
    assert effective_neurons(net) == 3
    assert effective_neurons(ReLUNetwork(W=np.zeros((0, 1)), b=[], a=[], c=1.0)) == 0


# ----------------------------------------------------------------- scikit-learn peer
def test_mlp_objective_conversion_lbfgs():
    """With alpha = beta and lbfgs, n * MLPRegressor.loss_ is our balanced objective,
    and our (path-norm) objective of its network is no larger and no smaller than the
    certified optimum (d = 1: l1 and l2 coincide)."""
    pytest.importorskip("sklearn")
    from exactrelu.studies.mlp import mlp_peer

    X, y = _data("squared", 12, 1, seed=4)
    beta = 0.1 * beta_max(X, y, loss="squared")
    mlp, _ = mlp_peer(X, y, width=20, beta=beta, seed=0, max_iter=3000)
    assert mlp.alpha == beta
    exact, balanced = mlp_objective(mlp, X, y, beta=beta)
    assert len(y) * mlp.loss_ == pytest.approx(balanced, rel=1e-9)
    assert exact <= balanced + 1e-12
    net = mlp_network(mlp)
    np.testing.assert_allclose(net.predict(X), mlp.predict(X), rtol=1e-12, atol=1e-12)
    assert exact == pytest.approx(net.objective(X, y, loss="squared", beta=beta, penalty="l2"))
    sol = exactrelu.solve(X, y, loss="squared", beta=beta)
    assert exact >= sol.lower_bound - 1e-9


def test_mlp_alpha_conversion_minibatch():
    """adam with batch B: alpha = beta * B / n makes an epoch's loss_ our objective / n."""
    pytest.importorskip("sklearn")
    import warnings

    from sklearn.neural_network import MLPRegressor

    X, y = _data("squared", 24, 2, seed=5)
    beta, B = 0.3, 6
    alpha = mlp_alpha(beta, len(y), solver="adam", batch_size=B)
    assert alpha == pytest.approx(beta * B / len(y))
    assert mlp_alpha(beta, 500, solver="sgd") == pytest.approx(beta * 200 / 500)
    # a vanishing learning rate: the parameters stay put during the epoch
    mlp = MLPRegressor(hidden_layer_sizes=(7,), solver="adam", alpha=alpha, batch_size=B,
                       learning_rate_init=1e-14, max_iter=1, shuffle=True, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        mlp.fit(X, y)
    _, balanced = mlp_objective(mlp, X, y, beta=beta)
    assert len(y) * mlp.loss_ == pytest.approx(balanced, rel=1e-8)


def test_mlp_peer_rows_in_compare():
    pytest.importorskip("sklearn")
    X, y = _data("squared", 8, 1, seed=6)
    beta = 0.2 * beta_max(X, y, loss="squared")
    cmp = compare(X, y, loss="squared", beta=beta, widths=[10], seeds=1, steps=300)
    assert cmp.methods == ["sgd", "mlp"]
    (m,) = cmp.select("mlp")
    assert m.objective >= cmp.lower_bound - 1e-9
    assert m.cert_lower_bound <= cmp.optimum + 1e-9
    assert cmp.summary("mlp")["runs"] == 1


def test_weight_decay_problem_with_mlp_peer():
    """penalty="l2" (d = 2): SGD and MLPRegressor runs never beat the exact l2 optimum."""
    pytest.importorskip("sklearn")
    X, y = _data("squared", 10, 2, seed=8)
    beta = 0.1 * beta_max(X, y, loss="squared")
    cmp = compare(X, y, loss="squared", beta=beta, penalty="l2", widths=[10], seeds=2,
                  steps=800)
    assert cmp.certified and cmp.methods == ["sgd", "mlp"]
    for r in cmp.runs:
        assert r.objective >= cmp.lower_bound - 1e-7 * max(1.0, cmp.optimum)
        assert r.network.objective(X, y, loss="squared", beta=beta, penalty="l2") == \
            pytest.approx(r.objective, rel=1e-10)
        assert r.cert_lower_bound is None


# ----------------------------------------------------------------- datasets
@pytest.mark.parametrize("name", sorted(datasets.SYNTHETIC))
def test_synthetic_datasets(name):
    ds = datasets.load_dataset(name, n=15, seed=1)
    assert ds.X.shape[0] == 15 and ds.y.shape == (15,)
    assert ds.X.shape[1] == (1 if name.endswith("1d") else 2)
    if ds.task == "classification":
        assert set(np.unique(ds.y)) <= {-1.0, 1.0} and ds.loss == "hinge"
    again = datasets.load_dataset(name, n=15, seed=1)
    np.testing.assert_array_equal(ds.X, again.X)


def test_csv_loading(tmp_path):
    p = tmp_path / "d.csv"
    p.write_text("x1,x2,target\n0,1,0.5\n1,2,1.5\n2,0,-1\n")
    ds = datasets.load_csv(p)
    np.testing.assert_array_equal(ds.X, [[0, 1], [1, 2], [2, 0]])
    np.testing.assert_array_equal(ds.y, [0.5, 1.5, -1])
    assert ds.task == "regression"
    q = tmp_path / "c.csv"
    q.write_text("0.5 3\n1.5 7\n2.5 3\n")
    ds = datasets.load_csv(q)
    np.testing.assert_array_equal(ds.y, [-1, 1, -1])
    assert ds.task == "classification"
    bad = tmp_path / "bad.csv"
    bad.write_text("1,2\n3,x\n")
    with pytest.raises(InputError):
        datasets.load_csv(bad)


def test_sklearn_datasets():
    pytest.importorskip("sklearn")
    ds = datasets.load_dataset("iris", features=[2, 3], n=40, seed=0)
    assert ds.X.shape == (40, 2) and set(np.unique(ds.y)) == {-1.0, 1.0}
    np.testing.assert_allclose(ds.X.mean(axis=0), 0, atol=1e-12)
    ds = datasets.load_dataset("diabetes", features=[2])
    assert ds.X.shape == (442, 1) and ds.task == "regression"
    assert abs(ds.y.std() - 1) < 1e-12
    assert "iris" in datasets.list_datasets()
    with pytest.raises(InputError):
        datasets.load_dataset("no-such-set")


# ----------------------------------------------------------------- CLI and plots
def test_cli_compare_json_and_plot(tmp_path, capsys):
    pytest.importorskip("matplotlib")
    from exactrelu.cli import main

    js, png = tmp_path / "out.json", tmp_path / "out.png"
    rc = main(["compare", "--dataset", "sine1d", "--n", "10", "--widths", "4,12", "--seeds", "2",
               "--steps", "300", "--beta-frac", "0.1", "--json", str(js), "--plot", str(png),
               "--no-mlp", "--quiet"])
    assert rc == 0
    out, err = capsys.readouterr()
    assert "rel.gap" in out and "sgd: 4 runs" in out
    assert "[1/4]" not in err  # quiet: no progress display
    d = json.loads(js.read_text())
    assert d["problem"]["dataset"] == "sine1d" and len(d["runs"]) == 4
    assert png.stat().st_size > 20000


def test_cli_progress_and_errors(tmp_path, capsys):
    from exactrelu.cli import main

    csv = tmp_path / "d.csv"
    rng = np.random.default_rng(0)
    x = rng.uniform(-1, 1, 8)
    csv.write_text("\n".join(f"{a},{abs(a)}" for a in x) + "\n")
    rc = main(["compare", "--csv", str(csv), "--widths", "6", "--seeds", "1", "--steps", "100",
               "--beta", "0.05", "--no-mlp", "--progress"])
    assert rc == 0
    _, err = capsys.readouterr()
    assert "1/1" in err
    # mistakes in the arguments exit 2 (argparse's convention), refusals 1
    assert main(["compare", "--dataset", "sine1d", "--csv", str(csv)]) == 2
    assert main(["compare", "--dataset", "bogus"]) == 2


def test_plot_functions_d2(tmp_path):
    pytest.importorskip("matplotlib")
    from exactrelu import plotting

    X, y = _data("squared", 10, 2, seed=7)
    beta = 0.2 * beta_max(X, y, loss="squared")
    cmp = compare(X, y, loss="squared", beta=beta, widths=[3, 10], seeds=1, steps=200,
                  peers=False)
    fig = plotting.plot_comparison(cmp, path=tmp_path / "c.png", title="t")
    assert (tmp_path / "c.png").stat().st_size > 20000
    assert fig is not None
    with pytest.raises(NotSupportedError):
        plotting.plot_fits(cmp)


def test_canonical_network_keeps_outputs_and_penalty():
    from exactrelu.studies.comparison import canonical_network

    X = np.linspace(-1, 1, 7)[:, None]
    net = ReLUNetwork(W=[[1.0], [1.0], [-2.0], [1.0]], b=[0.2, 1883.0, -5.0, 1.5],
                      a=[1.0, 1e-4, 3.0, -0.5], c=0.1)
    can = canonical_network(net, X)
    np.testing.assert_allclose(can.predict(X), net.predict(X), atol=1e-12)
    assert can.n_neurons == 3  # the neuron off on every row is dropped
    assert can.penalty() == pytest.approx(net.penalty() - 3.0 * 2.0)
    Z = X @ can.W.T + can.b
    assert np.all(Z.min(axis=0) <= 1e-12)  # every kink touches the data


def test_certify_survives_far_away_kinks():
    """Regression: an SGD network with a kink ~1900 data widths away (active on all rows)."""
    X = np.array([[-0.94262198], [-0.85915885], [-0.74285959], [-0.7404521], [-0.70414783],
                  [-0.00144428], [0.20299672], [0.24376719], [0.85642205], [0.89665691]])
    y = np.sin(3 * X[:, 0])
    beta = 0.5 * beta_max(X, y, loss="squared")
    net = ReLUNetwork(W=[[1.0], [-1.0], [1e-3]], b=[-0.2, -0.1, 1.883], a=[0.5, -0.4, 1e-3],
                      c=0.0)
    sol = exactrelu.solve(X, y, loss="squared", beta=beta)
    cmp = compare(X, y, loss="squared", beta=beta, widths=[3], seeds=1, steps=5, peers=False,
                  solution=sol)
    r = cmp.runs[0]
    assert r.cert_lower_bound <= sol.objective + 1e-9 <= r.objective + 2e-9
    from exactrelu.studies.comparison import canonical_network

    c = exactrelu.certify(canonical_network(net, X), X, y, loss="squared", beta=beta)
    assert c.lower_bound <= sol.objective + 1e-9
