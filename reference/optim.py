"""``SGD`` with torch.optim.SGD's update rule, for reference layers (numpy parameters).

``params`` is a Module (or a list of Modules); every parameter with a gradient in its module's
``grads`` is updated **in place** (the arrays the modules hold are modified, not replaced).
"""
from __future__ import annotations

import numpy as np

from reference.nn.module import Module

__all__ = ["SGD"]


class SGD:
    """torch.optim.SGD: for each parameter ``p`` with gradient ``g``::

        g = -g if maximize
        g = g + weight_decay * p
        if momentum:
            buf = g (first step) else momentum * buf + (1 - dampening) * g
            g = g + momentum * buf if nesterov else buf
        p -= lr * g

    Momentum buffers are kept per parameter in ``self.state[(i, dotted name)]``.
    """

    def __init__(self, params, lr: float = 1e-3, momentum: float = 0.0, dampening: float = 0.0,
                 weight_decay: float = 0.0, nesterov: bool = False, maximize: bool = False):
        modules = [params] if isinstance(params, Module) else list(params)
        if not modules or not all(isinstance(m, Module) for m in modules):
            raise ValueError("params must be a Module or a non-empty list of Modules")
        if not lr >= 0.0:
            raise ValueError(f"Invalid learning rate: lr={lr}")
        if not momentum >= 0.0:
            raise ValueError(f"Invalid momentum value: momentum={momentum}")
        if not weight_decay >= 0.0:
            raise ValueError(f"Invalid weight_decay value: weight_decay={weight_decay}")
        if nesterov and (momentum <= 0 or dampening != 0):
            raise ValueError("nesterov momentum requires a momentum > 0 and zero dampening "
                             f"(got momentum={momentum}, dampening={dampening})")
        self.modules = modules
        self.lr = float(lr)
        self.momentum = float(momentum)
        self.dampening = float(dampening)
        self.weight_decay = float(weight_decay)
        self.nesterov = bool(nesterov)
        self.maximize = bool(maximize)
        self.state: dict[tuple[int, str], np.ndarray] = {}

    def _params_with_grads(self):
        """``(key, module, name)`` for every parameter that has a gradient."""
        for i, root in enumerate(self.modules):
            for prefix, module in root.named_modules():
                for name, value in module._parameters.items():
                    if value is not None and name in module.grads:
                        yield (i, f"{prefix}.{name}" if prefix else name), module, name

    def step(self) -> None:
        for key, module, name in self._params_with_grads():
            p = module._parameters[name]
            g = np.asarray(module.grads[name], dtype=p.dtype)
            if g.shape != p.shape:
                raise ValueError(f"gradient of {key[1]} has shape {g.shape}, expected {p.shape}")
            if self.maximize:
                g = -g
            if self.weight_decay != 0:
                g = g + self.weight_decay * p
            if self.momentum != 0:
                buf = self.state.get(key)
                if buf is None:
                    buf = g.copy()
                else:
                    buf = self.momentum * buf + (1 - self.dampening) * g
                self.state[key] = buf
                g = g + self.momentum * buf if self.nesterov else buf
            p -= (self.lr * g).astype(p.dtype, copy=False)

    def zero_grad(self) -> None:
        """Forget all gradients (torch's default ``set_to_none=True``)."""
        for module in self.modules:
            module.zero_grad()
