"""Activations with torch.nn semantics: ``ReLU``, ``LeakyReLU``, ``ELU``, ``Sigmoid``, ``Tanh``,
``Softplus``, ``Softsign``, ``Softmax``, ``LogSoftmax``.

Every layer maps ``(*) -> (*)`` (same shape), caches what its backward needs and has no
parameters (``self.grads`` stays ``{}``). Computation happens in the input's dtype. Derivatives
at the kinks follow torch: ReLU'(0) = 0, LeakyReLU'(0) = negative_slope, ELU'(0) = alpha.
Softmax/LogSoftmax subtract the maximum along ``dim`` first, so logits in the hundreds (or
``-1e4``) stay finite.
"""
from __future__ import annotations

import numpy as np

from reference.nn.module import Module

__all__ = ["ReLU", "LeakyReLU", "ELU", "Sigmoid", "Tanh", "Softplus", "Softsign", "Softmax",
           "LogSoftmax"]


def _as_float(x) -> np.ndarray:
    x = np.asarray(x)
    return x if np.issubdtype(x.dtype, np.floating) else x.astype(np.float64)


class _Activation(Module):
    """Shared plumbing: ``self.cache`` holds arrays of the input's shape."""

    def __init__(self) -> None:
        super().__init__()
        self.cache = None

    def _grad_out(self, grad_out, like: np.ndarray) -> np.ndarray:
        if self.cache is None:
            raise RuntimeError(f"{type(self).__name__}.backward called before forward")
        grad_out = np.asarray(grad_out, dtype=like.dtype)
        if grad_out.shape != like.shape:
            raise ValueError(f"grad_out has shape {grad_out.shape}, expected {like.shape}")
        self.grads = {}
        return grad_out


def _sigmoid(x: np.ndarray) -> np.ndarray:
    """``1 / (1 + exp(-x))`` without overflow: ``exp`` only of ``-|x|``."""
    e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1.0 / (1.0 + e), e / (1.0 + e)).astype(x.dtype, copy=False)


class ReLU(_Activation):
    """``max(x, 0)``; derivative ``1[x > 0]`` (0 at ``x = 0``, as torch)."""

    def forward(self, x):
        x = _as_float(x)
        self.cache = x
        return np.maximum(x, 0)

    def backward(self, grad_out):
        x = self.cache
        g = self._grad_out(grad_out, x)
        return g * (x > 0)


class LeakyReLU(_Activation):
    """``x`` if ``x > 0`` else ``negative_slope * x``; derivative ``negative_slope`` at
    ``x <= 0``."""

    def __init__(self, negative_slope: float = 0.01):
        super().__init__()
        self.negative_slope = float(negative_slope)

    def forward(self, x):
        x = _as_float(x)
        self.cache = x
        return np.where(x > 0, x, x * self.negative_slope).astype(x.dtype, copy=False)

    def backward(self, grad_out):
        x = self.cache
        g = self._grad_out(grad_out, x)
        return np.where(x > 0, g, g * self.negative_slope).astype(x.dtype, copy=False)

    def extra_repr(self) -> str:
        return f"negative_slope={self.negative_slope}"


class ELU(_Activation):
    """``x`` if ``x > 0`` else ``alpha * (exp(x) - 1)``; derivative ``alpha * exp(x)`` at
    ``x <= 0``."""

    def __init__(self, alpha: float = 1.0):
        super().__init__()
        self.alpha = float(alpha)

    def forward(self, x):
        x = _as_float(x)
        self.cache = x
        neg = self.alpha * np.expm1(np.minimum(x, 0))      # min(): no overflow for large x
        return np.where(x > 0, x, neg).astype(x.dtype, copy=False)

    def backward(self, grad_out):
        x = self.cache
        g = self._grad_out(grad_out, x)
        return np.where(x > 0, g, g * self.alpha * np.exp(np.minimum(x, 0))).astype(
            x.dtype, copy=False)

    def extra_repr(self) -> str:
        return f"alpha={self.alpha}"


class Sigmoid(_Activation):
    """``s = 1 / (1 + exp(-x))``; derivative ``s (1 - s)``."""

    def forward(self, x):
        out = _sigmoid(_as_float(x))
        self.cache = out
        return out

    def backward(self, grad_out):
        s = self.cache
        g = self._grad_out(grad_out, s)
        return g * s * (1 - s)


class Tanh(_Activation):
    """``t = tanh(x)``; derivative ``1 - t^2``."""

    def forward(self, x):
        out = np.tanh(_as_float(x))
        self.cache = out
        return out

    def backward(self, grad_out):
        t = self.cache
        g = self._grad_out(grad_out, t)
        return g * (1 - t * t)


class Softplus(_Activation):
    """``log(1 + exp(beta x)) / beta``, and ``x`` itself where ``beta x > threshold`` (torch's
    linear regime); derivative ``sigmoid(beta x)`` (1 in the linear regime)."""

    def __init__(self, beta: float = 1.0, threshold: float = 20.0):
        super().__init__()
        self.beta = float(beta)
        self.threshold = float(threshold)

    def forward(self, x):
        x = _as_float(x)
        bx = x * self.beta
        self.cache = (x, bx)
        soft = np.logaddexp(0, bx) / self.beta          # stable log1p(exp(bx))
        return np.where(bx > self.threshold, x, soft).astype(x.dtype, copy=False)

    def backward(self, grad_out):
        x, bx = self.cache
        g = self._grad_out(grad_out, x)
        return np.where(bx > self.threshold, g, g * _sigmoid(bx)).astype(x.dtype, copy=False)

    def extra_repr(self) -> str:
        return f"beta={self.beta}, threshold={self.threshold}"


class Softsign(_Activation):
    """``x / (1 + |x|)``; derivative ``1 / (1 + |x|)^2``."""

    def forward(self, x):
        x = _as_float(x)
        self.cache = x
        return x / (1 + np.abs(x))

    def backward(self, grad_out):
        x = self.cache
        g = self._grad_out(grad_out, x)
        return g / (1 + np.abs(x)) ** 2


def _softmax_dim(dim, ndim: int, layer: str) -> int:
    """Validate ``dim``; ``None`` is torch's legacy implicit choice: 0 for 1-/3-D input, else 1."""
    if ndim == 0:
        raise ValueError(f"{layer}: expected an input with at least 1 dimension, got a 0-D input")
    if dim is None:
        dim = 0 if ndim in (1, 3) else 1
    if not isinstance(dim, (int, np.integer)) or isinstance(dim, bool):
        raise ValueError(f"{layer}: dim must be an int or None, got {dim!r}")
    if not -ndim <= dim < ndim:
        raise ValueError(f"{layer}: dim={dim} is out of range for a {ndim}-D input")
    return int(dim) % ndim


class Softmax(_Activation):
    """``s_i = exp(x_i) / sum_j exp(x_j)`` along ``dim``: ``(*) -> (*)``.

    Derivative (vector-Jacobian product): ``dx = s * (g - sum(g * s, dim))``.
    """

    def __init__(self, dim: int | None = None):
        super().__init__()
        self.dim = dim

    def forward(self, x):
        x = _as_float(x)
        d = _softmax_dim(self.dim, x.ndim, "Softmax")
        e = np.exp(x - x.max(axis=d, keepdims=True))
        s = e / e.sum(axis=d, keepdims=True)
        self.cache = (s, d)
        return s

    def backward(self, grad_out):
        s, d = self.cache
        g = self._grad_out(grad_out, s)
        return s * (g - (g * s).sum(axis=d, keepdims=True))

    def extra_repr(self) -> str:
        return f"dim={self.dim}"


class LogSoftmax(_Activation):
    """``x_i - max - log(sum_j exp(x_j - max))`` along ``dim``: ``(*) -> (*)``.

    Derivative: ``dx = g - softmax(x) * sum(g, dim)``.
    """

    def __init__(self, dim: int | None = None):
        super().__init__()
        self.dim = dim

    def forward(self, x):
        x = _as_float(x)
        d = _softmax_dim(self.dim, x.ndim, "LogSoftmax")
        shifted = x - x.max(axis=d, keepdims=True)
        out = shifted - np.log(np.exp(shifted).sum(axis=d, keepdims=True))
        self.cache = (out, d)
        return out

    def backward(self, grad_out):
        out, d = self.cache
        g = self._grad_out(grad_out, out)
        return g - np.exp(out) * g.sum(axis=d, keepdims=True)

    def extra_repr(self) -> str:
        return f"dim={self.dim}"
