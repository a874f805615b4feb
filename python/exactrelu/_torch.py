"""PyTorch export and import of :class:`~exactrelu.network.ReLUNetwork` (optional).

``to_torch`` gives a module of :func:`module_class` (``hidden``: Linear d -> m with
bias, ReLU, ``output``: Linear m -> k with bias, optional ``skip``: Linear d -> k
without bias; ``forward`` returns shape (n,) for a network with one output, (n, k)
for vector outputs); ``from_torch`` reads that class or a plain
``nn.Sequential(Linear, ReLU, Linear)``. torch is imported only here, and only
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
        """``f(x) = output(relu(hidden(x))) + skip(x)``, shape (n,) (``outputs=None``)
        or (n, k) (``outputs=k``)."""

        def __init__(self, d, m, skip=False, dtype=torch.float64, outputs=None):
            super().__init__()
            k = 1 if outputs is None else int(outputs)
            self.outputs = outputs
            self.hidden = torch.nn.Linear(d, m, bias=True, dtype=dtype)
            self.output = torch.nn.Linear(m, k, bias=True, dtype=dtype)
            self.skip = torch.nn.Linear(d, k, bias=False, dtype=dtype) if skip else None

        def forward(self, x):
            out = self.output(torch.relu(self.hidden(x)))
            if self.skip is not None:
                out = out + self.skip(x)
            return out.squeeze(-1) if self.outputs is None else out

    return ReLUNetworkModule


def to_torch(net, dtype=None):
    """``net`` as a module of :func:`module_class` (float64 unless ``dtype``)."""
    torch = _torch()
    dtype = torch.float64 if dtype is None else dtype
    outputs = net.n_outputs if net.multi_output else None
    mod = module_class()(net.n_features, net.n_neurons, skip=net.s is not None, dtype=dtype,
                         outputs=outputs)
    k = net.n_outputs
    with torch.no_grad():
        mod.hidden.weight.copy_(torch.as_tensor(net.W, dtype=dtype))
        mod.hidden.bias.copy_(torch.as_tensor(net.b, dtype=dtype))
        mod.output.weight.copy_(torch.as_tensor(net.a.reshape(net.n_neurons, k).T, dtype=dtype))
        mod.output.bias.copy_(torch.as_tensor(np.reshape(net.c, k), dtype=dtype))
        if net.s is not None:
            mod.skip.weight.copy_(torch.as_tensor(net.s.reshape(net.n_features, k).T,
                                                  dtype=dtype))
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
    k = output.out_features
    # one output is a scalar network unless the module says it has vector outputs
    vector = k > 1 or getattr(module, "outputs", None) is not None
    m = hidden.out_features
    b = _array(hidden.bias) if hidden.bias is not None else np.zeros(m)
    c = _array(output.bias) if output.bias is not None else np.zeros(k)
    a = _array(output.weight).T                       # (m, k)
    s = _array(skip.weight).T if skip is not None else None
    if not vector:
        return cls(_array(hidden.weight), b, a.reshape(-1), float(c[0]),
                   None if s is None else s.reshape(-1))
    return cls(_array(hidden.weight), b, a, c, s)
