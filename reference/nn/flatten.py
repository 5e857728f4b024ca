"""``Flatten`` (torch.nn.Flatten): merge dimensions ``start_dim..end_dim`` into one."""
from __future__ import annotations

import math

import numpy as np

from reference.nn.module import Module

__all__ = ["Flatten"]


class Flatten(Module):
    """torch.nn.Flatten: ``(N, *dims) -> (N, prod(dims))`` with the defaults; in general
    ``(*before, d_start, ..., d_end, *after) -> (*before, d_start*...*d_end, *after)``.

    ``start_dim`` / ``end_dim`` may be negative (counted from the end). Backward reshapes the
    gradient back to the input's shape.
    """

    def __init__(self, start_dim: int = 1, end_dim: int = -1):
        super().__init__()
        for name, value in (("start_dim", start_dim), ("end_dim", end_dim)):
            if not isinstance(value, (int, np.integer)) or isinstance(value, bool):
                raise ValueError(f"{name} must be an int, got {value!r}")
        self.start_dim = int(start_dim)
        self.end_dim = int(end_dim)
        self.cache = None

    def _dims(self, ndim: int) -> tuple[int, int]:
        rank = max(ndim, 1)                  # torch treats a 0-D tensor as 1-D here
        for name, value in (("start_dim", self.start_dim), ("end_dim", self.end_dim)):
            if not -rank <= value < rank:
                raise ValueError(f"Flatten: {name}={value} is out of range for a {ndim}-D input")
        start, end = self.start_dim % rank, self.end_dim % rank
        if start > end:
            raise ValueError(f"Flatten: start_dim={self.start_dim} cannot come after "
                             f"end_dim={self.end_dim} for a {ndim}-D input")
        return start, end

    def forward(self, x: np.ndarray) -> np.ndarray:
        x = np.asarray(x)
        start, end = self._dims(x.ndim)
        self.cache = x.shape
        if x.ndim == 0:
            return x.reshape(1)
        shape = x.shape[:start] + (math.prod(x.shape[start:end + 1]),) + x.shape[end + 1:]
        return x.reshape(shape)

    def backward(self, grad_out: np.ndarray) -> np.ndarray:
        if self.cache is None:
            raise RuntimeError("Flatten.backward called before forward")
        in_shape = self.cache
        g = np.asarray(grad_out)
        if g.size != math.prod(in_shape):
            raise ValueError(f"grad_out has shape {g.shape}, which does not match the flattened "
                             f"input of shape {in_shape}")
        self.grads = {}
        return g.reshape(in_shape)

    def extra_repr(self) -> str:
        return f"start_dim={self.start_dim}, end_dim={self.end_dim}"
