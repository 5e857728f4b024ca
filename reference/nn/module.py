"""The base class of every reference layer: parameters, buffers, gradients, state dicts.

Mirrors ``torch.nn.Module`` where the course needs it, with numpy arrays in place of tensors
and an explicit ``backward``:

* ``self._parameters`` / ``self._buffers`` / ``self._modules`` are ordered dicts, filled by
  ``register_parameter``, ``register_buffer`` and ``add_module`` (or by plain attribute assignment
  of a ``Module``), so ``state_dict()`` keys and order are torch's (``weight``, ``bias``,
  ``running_mean``, ``running_var``, ``num_batches_tracked``, and dotted names for children).
* ``forward(x)`` caches what ``backward`` needs; ``backward(grad_out)`` returns the gradient with
  respect to the input and fills ``self.grads`` (parameter name -> gradient, same shape as the
  parameter).
* ``train()`` / ``eval()`` set ``training`` recursively.
"""
from __future__ import annotations

from collections import OrderedDict
from typing import Iterator

import numpy as np

__all__ = ["Module"]


class Module:
    """Base class: subclasses implement ``forward`` and ``backward``."""

    def __init__(self) -> None:
        object.__setattr__(self, "_parameters", OrderedDict())
        object.__setattr__(self, "_buffers", OrderedDict())
        object.__setattr__(self, "_modules", OrderedDict())
        object.__setattr__(self, "grads", {})
        object.__setattr__(self, "training", True)

    # -- registration ---------------------------------------------------------------------
    def __setattr__(self, name: str, value) -> None:
        if isinstance(value, Module):
            if "_modules" not in self.__dict__:
                raise AttributeError("call Module.__init__() before assigning submodules")
            self._modules[name] = value
        elif "_parameters" in self.__dict__ and name in self._parameters:
            self._parameters[name] = value
        elif "_buffers" in self.__dict__ and name in self._buffers:
            self._buffers[name] = value
        object.__setattr__(self, name, value)

    def register_parameter(self, name: str, value: np.ndarray | None) -> None:
        self._parameters[name] = value
        object.__setattr__(self, name, value)

    def register_buffer(self, name: str, value: np.ndarray | None) -> None:
        self._buffers[name] = value
        object.__setattr__(self, name, value)

    def add_module(self, name: str, module: "Module") -> None:
        setattr(self, name, module)

    # -- traversal ------------------------------------------------------------------------
    def children(self) -> Iterator["Module"]:
        yield from self._modules.values()

    def named_modules(self, prefix: str = "") -> Iterator[tuple[str, "Module"]]:
        yield prefix, self
        for name, child in self._modules.items():
            yield from child.named_modules(f"{prefix}.{name}" if prefix else name)

    def named_parameters(self) -> Iterator[tuple[str, np.ndarray]]:
        """``(dotted name, array)`` for every parameter that is not ``None``, torch's order."""
        for prefix, module in self.named_modules():
            for name, value in module._parameters.items():
                if value is not None:
                    yield (f"{prefix}.{name}" if prefix else name), value

    def parameters(self) -> list[np.ndarray]:
        return [p for _, p in self.named_parameters()]

    def named_grads(self) -> Iterator[tuple[str, np.ndarray]]:
        """``(dotted name, gradient)`` for every parameter whose gradient has been computed."""
        for prefix, module in self.named_modules():
            for name, value in module._parameters.items():
                if value is not None and name in module.grads:
                    yield (f"{prefix}.{name}" if prefix else name), module.grads[name]

    def zero_grad(self) -> None:
        for _, module in self.named_modules():
            module.grads = {}

    # -- state dicts ----------------------------------------------------------------------
    def state_dict(self) -> "OrderedDict[str, np.ndarray]":
        """Copies of all parameters and buffers, keyed and ordered as ``torch.nn`` does."""
        out: OrderedDict[str, np.ndarray] = OrderedDict()
        for prefix, module in self.named_modules():
            for table in (module._parameters, module._buffers):
                for name, value in table.items():
                    if value is not None:
                        out[f"{prefix}.{name}" if prefix else name] = np.array(value, copy=True)
        return out

    def load_state_dict(self, state_dict, strict: bool = True) -> None:
        """Copy arrays into parameters and buffers; shapes must match, keys too when ``strict``.

        Values are converted with ``np.asarray`` (torch tensors are accepted via
        ``.detach().cpu().numpy()``) and copied in the dtype the parameter already has.
        """
        own = {}
        for prefix, module in self.named_modules():
            for table in (module._parameters, module._buffers):
                for name, value in table.items():
                    if value is not None:
                        own[f"{prefix}.{name}" if prefix else name] = (module, table, name)
        missing = [k for k in own if k not in state_dict]
        unexpected = [k for k in state_dict if k not in own]
        if strict and (missing or unexpected):
            raise ValueError(
                f"load_state_dict: missing keys {missing}, unexpected keys {unexpected}"
            )
        for key, (module, table, name) in own.items():
            if key not in state_dict:
                continue
            value = _to_numpy(state_dict[key])
            current = table[name]
            if value.shape != current.shape:
                raise ValueError(
                    f"load_state_dict: {key} has shape {value.shape}, expected {current.shape}"
                )
            value = value.astype(current.dtype, copy=True)
            table[name] = value
            object.__setattr__(module, name, value)

    # -- modes ----------------------------------------------------------------------------
    def train(self, mode: bool = True) -> "Module":
        for _, module in self.named_modules():
            object.__setattr__(module, "training", bool(mode))
        return self

    def eval(self) -> "Module":
        return self.train(False)

    def to(self, dtype) -> "Module":
        """Cast floating parameters and buffers to ``dtype`` (e.g. ``np.float32``)."""
        for _, module in self.named_modules():
            for table in (module._parameters, module._buffers):
                for name, value in table.items():
                    if value is not None and np.issubdtype(value.dtype, np.floating):
                        table[name] = value.astype(dtype)
                        object.__setattr__(module, name, table[name])
        return self

    # -- computation ----------------------------------------------------------------------
    def forward(self, *args, **kwargs):
        raise NotImplementedError(f"{type(self).__name__}.forward")

    def backward(self, grad_out):
        raise NotImplementedError(f"{type(self).__name__}.backward")

    def __call__(self, *args, **kwargs):
        return self.forward(*args, **kwargs)

    def extra_repr(self) -> str:
        return ""

    def __repr__(self) -> str:
        lines = [f"{type(self).__name__}({self.extra_repr()}"]
        for name, child in self._modules.items():
            child_repr = repr(child).replace("\n", "\n  ")
            lines.append(f"  ({name}): {child_repr}")
        return lines[0] + (")" if len(lines) == 1 else "\n" + "\n".join(lines[1:]) + "\n)")


def _to_numpy(value) -> np.ndarray:
    if hasattr(value, "detach") and hasattr(value, "cpu"):  # a torch tensor
        value = value.detach().cpu().numpy()
    return np.asarray(value)
