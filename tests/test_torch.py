"""PyTorch export and import (optional: skipped without torch)."""

import numpy as np
import pytest

import exactrelu
from exactrelu import ReLUNetwork
from exactrelu.errors import InputError

torch = pytest.importorskip("torch")


def _data():
    rng = np.random.default_rng(0)
    X = rng.uniform(-1, 1, (15, 2))
    return X, np.sin(3 * X[:, 0]) + X[:, 1]


@pytest.mark.parametrize("skip", [False, True])
def test_to_torch_matches_predict(skip):
    X, y = _data()
    sol = exactrelu.solve(X, y, beta=0.05, skip=skip)
    net = sol.network
    mod = net.to_torch()
    out = mod(torch.as_tensor(X)).detach().numpy()
    f = net.predict(X)
    assert out.shape == (15,)
    assert np.all(np.abs(out - f) <= 1e-12 * np.maximum(1.0, np.abs(f)))
    back = ReLUNetwork.from_torch(mod)
    assert back.predict(X) == pytest.approx(f, rel=1e-14, abs=1e-14)
    assert (back.s is None) == (not skip)


def test_from_sequential_and_certify_a_torch_trained_network():
    X, y = _data()
    torch.manual_seed(0)
    seq = torch.nn.Sequential(torch.nn.Linear(2, 8), torch.nn.ReLU(),
                              torch.nn.Linear(8, 1)).double()
    opt = torch.optim.Adam(seq.parameters(), lr=0.01)
    Xt, yt = torch.as_tensor(X), torch.as_tensor(y)
    for _ in range(200):
        opt.zero_grad()
        loss = 0.5 * ((seq(Xt).squeeze(-1) - yt) ** 2).sum()
        loss.backward()
        opt.step()
    net = ReLUNetwork.from_torch(seq)
    assert net.predict(X) == pytest.approx(seq(Xt).squeeze(-1).detach().numpy(), abs=1e-12)
    beta = 0.05
    cert = exactrelu.certify(net, X, y, beta=beta)
    opt_sol = exactrelu.solve(X, y, beta=beta)
    assert cert.lower_bound <= opt_sol.objective * (1 + 1e-9) + 1e-12
    assert cert.upper_bound >= opt_sol.objective * (1 - 1e-9)


def test_from_torch_refuses_other_modules():
    with pytest.raises(InputError, match="from_torch takes"):
        ReLUNetwork.from_torch(torch.nn.Linear(2, 1))
    # a plain Sequential with 2 outputs is a network with vector outputs
    seq = torch.nn.Sequential(torch.nn.Linear(2, 3, dtype=torch.float64), torch.nn.ReLU(),
                              torch.nn.Linear(3, 2, dtype=torch.float64))
    net = ReLUNetwork.from_torch(seq)
    assert net.multi_output and net.n_outputs == 2
    X = np.random.default_rng(0).normal(size=(4, 2))
    assert net.predict(X) == pytest.approx(seq(torch.as_tensor(X)).detach().numpy())
