"""``Sequential``: a chain of layers, torch.nn.Sequential semantics plus an explicit backward."""
from __future__ import annotations

from collections import OrderedDict

import numpy as np

from reference.nn.module import Module

__all__ = ["Sequential"]


class Sequential(Module):
    """``Sequential(*modules)`` or ``Sequential(OrderedDict([(name, module), ...]))``.

    Children are named ``"0"``, ``"1"``, ... (or by the OrderedDict keys), so ``state_dict()``
    keys equal torch's (``"0.weight"``, ``"1.running_mean"``, ...). ``forward`` runs the children
    in order; ``backward`` runs their ``backward`` in reverse order, each child keeping its own
    ``grads`` (see ``named_grads()`` for the dotted view).
    """

    def __init__(self, *modules):
        super().__init__()
        if len(modules) == 1 and isinstance(modules[0], OrderedDict):
            items = list(modules[0].items())
        else:
            items = [(str(i), m) for i, m in enumerate(modules)]
        for name, module in items:
            if not isinstance(module, Module):
                raise ValueError(f"modules must be Module instances, got {type(module).__name__} "
                                 f"for {name!r}")
            self.add_module(str(name), module)

    def forward(self, x):
        for module in self._modules.values():
            x = module(x)
        return x

    def backward(self, grad_out):
        for module in reversed(list(self._modules.values())):
            grad_out = module.backward(grad_out)
        return grad_out

    def __len__(self) -> int:
        return len(self._modules)

    def __iter__(self):
        return iter(self._modules.values())

    def __getitem__(self, idx):
        items = list(self._modules.items())
        if isinstance(idx, slice):
            return Sequential(OrderedDict(items[idx]))
        if not isinstance(idx, (int, np.integer)) or isinstance(idx, bool):
            raise ValueError(f"idx must be an int or a slice, got {idx!r}")
        if not -len(items) <= idx < len(items):
            raise IndexError(f"index {idx} is out of range for Sequential of length {len(items)}")
        return items[idx][1]

    def append(self, module: Module) -> "Sequential":
        """Add ``module`` at the end, named ``str(len(self))``."""
        if not isinstance(module, Module):
            raise ValueError(f"module must be a Module instance, got {type(module).__name__}")
        self.add_module(str(len(self)), module)
        return self
