"""PyTorch export and import of :class:`~exactrelu.network.ReLUNetwork` (optional).

``to_torch`` gives a module of :func:`module_class` (``hidden``: Linear d -> m with
bias, ReLU, ``output``: Linear m -> 1 with bias, optional ``skip``: Linear d -> 1
without bias; ``forward`` returns shape (n,)); ``from_torch`` reads that class or a
plain ``nn.Sequential(Linear, ReLU, Linear)``. torch is imported only here, and only
when one of them is called.
"""

from __future__ import annotations

from functools import cache

import numpy as np

from .errors import InputError, NotSupportedError

__all__ = ["module_class", "to_torch", "from_torch"]


def _torch():
    try:
        import torch
    except ImportError:
        raise NotSupportedError(
            "PyTorch export needs torch: pip install 'exactrelu[torch]'") from None
    return torch


@cache
def module_class():
    """The ``torch.nn.Module`` class of exported networks (built on first use)."""
    torch = _torch()

    class ReLUNetworkModule(torch.nn.Module):
        """``f(x) = output(relu(hidden(x))) + skip(x)``, shape (n,)."""

        def __init__(self, d, m, skip=False, dtype=torch.float64):
            super().__init__()
            self.hidden = torch.nn.Linear(d, m, bias=True, dtype=dtype)
            self.output = torch.nn.Linear(m, 1, bias=True, dtype=dtype)
            self.skip = torch.nn.Linear(d, 1, bias=False, dtype=dtype) if skip else None

        def forward(self, x):
            out = self.output(torch.relu(self.hidden(x))).squeeze(-1)
            if self.skip is not None:
                out = out + self.skip(x).squeeze(-1)
            return out

    return ReLUNetworkModule


def to_torch(net, dtype=None):
    """``net`` as a module of :func:`module_class` (float64 unless ``dtype``)."""
    torch = _torch()
    dtype = torch.float64 if dtype is None else dtype
    mod = module_class()(net.n_features, net.n_neurons, skip=net.s is not None, dtype=dtype)
    with torch.no_grad():
        mod.hidden.weight.copy_(torch.as_tensor(net.W, dtype=dtype))
        mod.hidden.bias.copy_(torch.as_tensor(net.b, dtype=dtype))
        mod.output.weight.copy_(torch.as_tensor(net.a, dtype=dtype).reshape(1, -1))
        mod.output.bias.fill_(float(net.c))
        if net.s is not None:
            mod.skip.weight.copy_(torch.as_tensor(net.s, dtype=dtype).reshape(1, -1))
    return mod


def _array(t):
    return t.detach().cpu().to(dtype=_torch().float64).numpy().copy()


def from_torch(cls, module):
    """A ``cls`` (ReLUNetwork) from a module of :func:`module_class` or an
    ``nn.Sequential(Linear(d, m), ReLU(), Linear(m, 1))``."""
    torch = _torch()
    if isinstance(module, module_class()):
        hidden, output, skip = module.hidden, module.output, module.skip
    elif (isinstance(module, torch.nn.Sequential) and len(module) == 3
          and isinstance(module[0], torch.nn.Linear) and isinstance(module[1], torch.nn.ReLU)
          and isinstance(module[2], torch.nn.Linear)):
        hidden, output, skip = module[0], module[2], None
    else:
        raise InputError("from_torch takes the module of ReLUNetwork.to_torch or "
                         "nn.Sequential(Linear(d, m), ReLU(), Linear(m, 1)); got "
                         f"{type(module).__name__}")
    if output.out_features != 1:
        raise InputError(f"the output layer has {output.out_features} outputs; one is needed")
    m = hidden.out_features
    b = _array(hidden.bias) if hidden.bias is not None else np.zeros(m)
    c = float(_array(output.bias)[0]) if output.bias is not None else 0.0
    s = _array(skip.weight).reshape(-1) if skip is not None else None
    return cls(_array(hidden.weight), b, _array(output.weight).reshape(-1), c, s)
