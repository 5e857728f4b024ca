"""Fully connected layers: ``Linear`` (torch.nn.Linear) and ``Maxout`` (Goodfellow et al., 2013).

Constructor arguments, parameter names and shapes are ``torch.nn.Linear``'s, so a torch state dict
loads directly. Computation happens in the dtype of the input (float32 stays float32); gradients
in ``self.grads`` have the dtype of the parameters.
"""
from __future__ import annotations

import numpy as np

from reference.nn._utils import init_rng, float_dtype, init_uniform, positive_int
from reference.nn.module import Module

__all__ = ["Linear", "Maxout"]


def _features_input(x, in_features: int, layer: str) -> np.ndarray:
    """Check ``x`` is ``(*, in_features)``; return it as a floating ndarray."""
    x = np.asarray(x)
    if x.ndim < 1:
        raise ValueError(f"{layer}: expected input of shape (*, in_features), got a 0-D input")
    if x.shape[-1] != in_features:
        raise ValueError(f"{layer}: expected input with last dimension in_features={in_features}, "
                         f"got input of shape {x.shape}")
    if not np.issubdtype(x.dtype, np.floating):
        x = x.astype(np.float64)
    return x


def _grad_out(grad_out, out_shape, dtype) -> np.ndarray:
    grad_out = np.asarray(grad_out, dtype=dtype)
    if grad_out.shape != out_shape:
        raise ValueError(f"grad_out has shape {grad_out.shape}, expected {out_shape}")
    return grad_out


class Linear(Module):
    """torch.nn.Linear: ``(*, in_features) -> (*, out_features)``, ``y = x W^T + b``.

    weight ``(out_features, in_features)``, bias ``(out_features,)``, both initialised from
    ``U(-1/sqrt(in_features), 1/sqrt(in_features))`` drawn with ``rng`` (a numpy Generator or
    a seed).
    """

    def __init__(self, in_features, out_features, bias=True, dtype=None, rng=None):
        super().__init__()
        self.in_features = positive_int(in_features, "in_features")
        self.out_features = positive_int(out_features, "out_features")
        dt = float_dtype(dtype)
        rng = init_rng(rng)
        w_shape = (self.out_features, self.in_features)
        self.register_parameter("weight", init_uniform(rng, w_shape, self.in_features, dt))
        self.register_parameter(
            "bias", init_uniform(rng, (self.out_features,), self.in_features, dt) if bias else None)
        self.cache = None

    def forward(self, x: np.ndarray) -> np.ndarray:
        """``(*, in_features) -> (*, out_features)``."""
        x = _features_input(x, self.in_features, "Linear")
        w = self.weight.astype(x.dtype, copy=False)
        out = x @ w.T
        if self.bias is not None:
            out = out + self.bias.astype(x.dtype, copy=False)
        self.cache = (x, w)
        return out

    def backward(self, grad_out: np.ndarray) -> np.ndarray:
        """``(*, out_features) -> (*, in_features)``; fills ``grads["weight"]`` ``= g^T x`` and
        ``grads["bias"]`` ``= sum of g`` over all leading dimensions."""
        if self.cache is None:
            raise RuntimeError("Linear.backward called before forward")
        x, w = self.cache
        g = _grad_out(grad_out, x.shape[:-1] + (self.out_features,), x.dtype)
        g2, x2 = g.reshape(-1, self.out_features), x.reshape(-1, self.in_features)
        dx = g @ w
        self.grads = {"weight": (g2.T @ x2).astype(self.weight.dtype, copy=False)}
        if self.bias is not None:
            self.grads["bias"] = g2.sum(axis=0).astype(self.bias.dtype, copy=False)
        return dx

    def extra_repr(self) -> str:
        return (f"in_features={self.in_features}, out_features={self.out_features}, "
                f"bias={self.bias is not None}")


class Maxout(Module):
    """Maxout unit: ``(*, in_features) -> (*, out_features)``.

    A linear map to ``out_features * pieces`` values, then the maximum over each consecutive
    group of ``pieces``: ``y_j = max_{k < pieces} (x W^T + b)_{j*pieces + k}``.
    weight ``(out_features*pieces, in_features)``, bias ``(out_features*pieces,)``, initialised as
    ``Linear(in_features, out_features*pieces)``.

    Backward: the gradient of ``y_j`` flows only to the piece that attained the maximum; on a
    tie it goes to the *first* maximal piece (lowest index), like ``argmax``.
    """

    def __init__(self, in_features, out_features, pieces, bias=True, dtype=None, rng=None):
        super().__init__()
        self.in_features = positive_int(in_features, "in_features")
        self.out_features = positive_int(out_features, "out_features")
        self.pieces = positive_int(pieces, "pieces")
        dt = float_dtype(dtype)
        rng = init_rng(rng)
        rows = self.out_features * self.pieces
        self.register_parameter(
            "weight", init_uniform(rng, (rows, self.in_features), self.in_features, dt))
        self.register_parameter(
            "bias", init_uniform(rng, (rows,), self.in_features, dt) if bias else None)
        self.cache = None

    def forward(self, x: np.ndarray) -> np.ndarray:
        """``(*, in_features) -> (*, out_features)``."""
        x = _features_input(x, self.in_features, "Maxout")
        w = self.weight.astype(x.dtype, copy=False)
        z = x @ w.T                                               # (*, out*pieces)
        if self.bias is not None:
            z = z + self.bias.astype(x.dtype, copy=False)
        z = z.reshape(x.shape[:-1] + (self.out_features, self.pieces))
        idx = np.argmax(z, axis=-1)                               # first maximum on ties
        out = np.take_along_axis(z, idx[..., None], axis=-1)[..., 0]
        self.cache = (x, w, idx)
        return out

    def backward(self, grad_out: np.ndarray) -> np.ndarray:
        """``(*, out_features) -> (*, in_features)``; fills ``grads`` for weight and bias."""
        if self.cache is None:
            raise RuntimeError("Maxout.backward called before forward")
        x, w, idx = self.cache
        g = _grad_out(grad_out, x.shape[:-1] + (self.out_features,), x.dtype)
        # route each output gradient to its winning piece: dz has the shape of z
        dz = (np.arange(self.pieces) == idx[..., None]) * g[..., None]
        dz = dz.reshape(-1, self.out_features * self.pieces)
        dx = (dz @ w).reshape(x.shape)
        self.grads = {"weight": (dz.T @ x.reshape(-1, self.in_features)).astype(
            self.weight.dtype, copy=False)}
        if self.bias is not None:
            self.grads["bias"] = dz.sum(axis=0).astype(self.bias.dtype, copy=False)
        return dx

    def extra_repr(self) -> str:
        return (f"in_features={self.in_features}, out_features={self.out_features}, "
                f"pieces={self.pieces}, bias={self.bias is not None}")
