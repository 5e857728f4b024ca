"""Batch normalization: ``BatchNorm1d`` and ``BatchNorm2d`` (torch.nn semantics).

Statistics are per channel (axis 1) over every other axis: ``M = N`` (or ``N*L``, ``N*H*W``)
values per channel.

* training (or ``track_running_stats=False``): normalize with the batch mean and the *biased*
  batch variance; with running stats tracked, ``num_batches_tracked += 1`` and
  ``running = (1 - f) * running + f * batch`` where ``batch`` is the mean and the *unbiased*
  variance (``var * M / (M - 1)``) and ``f = momentum`` (``1 / num_batches_tracked``, a
  cumulative average, when ``momentum is None``);
* eval with running stats: normalize with ``running_mean`` / ``running_var`` (a fixed affine map).

Computation happens in the input's dtype; buffers and ``self.grads`` keep the parameters' dtype.
"""
from __future__ import annotations

import numpy as np

from reference.nn._utils import float_dtype, positive_int
from reference.nn.module import Module

__all__ = ["BatchNorm1d", "BatchNorm2d"]


class _BatchNorm(Module):
    _ranks: tuple[int, ...] = ()

    def __init__(self, num_features, eps: float = 1e-5, momentum: float | None = 0.1,
                 affine: bool = True, track_running_stats: bool = True, dtype=None):
        super().__init__()
        num_features = positive_int(num_features, "num_features")
        if not eps >= 0:
            raise ValueError(f"eps must be non-negative, got {eps!r}")
        if momentum is not None and not 0 <= momentum <= 1:
            raise ValueError(f"momentum must be None or in [0, 1], got {momentum!r}")
        dt = float_dtype(dtype)
        self.num_features = num_features
        self.eps = float(eps)
        self.momentum = momentum
        self.affine = bool(affine)
        self.track_running_stats = bool(track_running_stats)
        c = self.num_features
        self.register_parameter("weight", np.ones(c, dt) if affine else None)
        self.register_parameter("bias", np.zeros(c, dt) if affine else None)
        if track_running_stats:
            self.register_buffer("running_mean", np.zeros(c, dt))
            self.register_buffer("running_var", np.ones(c, dt))
            self.register_buffer("num_batches_tracked", np.array(0, dtype=np.int64))
        else:
            self.register_buffer("running_mean", None)
            self.register_buffer("running_var", None)
            self.register_buffer("num_batches_tracked", None)
        self.cache = None

    def _check(self, x) -> np.ndarray:
        name = type(self).__name__
        x = np.asarray(x)
        if x.ndim not in self._ranks:
            want = " or ".join(f"{r}D" for r in self._ranks)
            raise ValueError(f"{name}: expected {want} input, got {x.ndim}D input of shape "
                             f"{x.shape}")
        if x.shape[1] != self.num_features:
            raise ValueError(f"{name}: expected input with num_features={self.num_features} "
                             f"channels (axis 1), got input of shape {x.shape}")
        if not np.issubdtype(x.dtype, np.floating):
            x = x.astype(np.float64)
        return x

    def forward(self, x: np.ndarray) -> np.ndarray:
        """``(N, C, *) -> (N, C, *)``: ``y = (x - mean) / sqrt(var + eps) * weight + bias``."""
        x = self._check(x)
        axes = (0,) + tuple(range(2, x.ndim))
        shape = (1, -1) + (1,) * (x.ndim - 2)                 # broadcast a (C,) vector
        m = x.size // x.shape[1]                               # values per channel
        use_batch = self.training or not self.track_running_stats
        if use_batch:
            if m <= 1:
                raise ValueError(f"{type(self).__name__}: expected more than 1 value per channel "
                                 f"when training, got input of shape {x.shape}")
            mean = x.mean(axis=axes)
            var = x.var(axis=axes)                             # biased: used to normalize
            if self.training and self.track_running_stats:
                self._update_running(mean, var * (m / (m - 1)))
        else:
            mean = self.running_mean.astype(x.dtype, copy=False)
            var = self.running_var.astype(x.dtype, copy=False)
        inv_std = 1.0 / np.sqrt(var + x.dtype.type(self.eps))
        xhat = (x - mean.reshape(shape)) * inv_std.reshape(shape)
        out = xhat
        if self.affine:
            out = xhat * self.weight.astype(x.dtype).reshape(shape) + \
                self.bias.astype(x.dtype).reshape(shape)
        self.cache = (xhat, inv_std, use_batch, axes, shape)
        return out

    def _update_running(self, mean: np.ndarray, unbiased_var: np.ndarray) -> None:
        self.num_batches_tracked = np.array(self.num_batches_tracked + 1, dtype=np.int64)
        f = 1.0 / float(self.num_batches_tracked) if self.momentum is None else self.momentum
        dt = self.running_mean.dtype
        self.running_mean = ((1 - f) * self.running_mean + f * mean).astype(dt)
        self.running_var = ((1 - f) * self.running_var + f * unbiased_var).astype(dt)

    def backward(self, grad_out: np.ndarray) -> np.ndarray:
        """``(N, C, *) -> (N, C, *)``; fills ``grads["weight"] = sum(g * xhat)`` and
        ``grads["bias"] = sum(g)`` (sums over all axes but 1).

        With batch statistics ``dx = weight * inv_std / M * (M g - sum(g) - xhat sum(g xhat))``
        (mean and variance depend on x); with running statistics ``dx = weight * inv_std * g``.
        """
        if self.cache is None:
            raise RuntimeError(f"{type(self).__name__}.backward called before forward")
        xhat, inv_std, use_batch, axes, shape = self.cache
        g = np.asarray(grad_out, dtype=xhat.dtype)
        if g.shape != xhat.shape:
            raise ValueError(f"grad_out has shape {g.shape}, expected {xhat.shape}")
        sum_g = g.sum(axis=axes)
        sum_g_xhat = (g * xhat).sum(axis=axes)
        scale = inv_std
        if self.affine:
            scale = scale * self.weight.astype(xhat.dtype)
            self.grads = {"weight": sum_g_xhat.astype(self.weight.dtype),
                          "bias": sum_g.astype(self.bias.dtype)}
        else:
            self.grads = {}
        if use_batch:
            m = xhat.size // xhat.shape[1]
            dx = (scale / m).reshape(shape) * (
                m * g - sum_g.reshape(shape) - xhat * sum_g_xhat.reshape(shape))
        else:
            dx = scale.reshape(shape) * g
        return dx.astype(xhat.dtype, copy=False)

    def extra_repr(self) -> str:
        return (f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, "
                f"affine={self.affine}, track_running_stats={self.track_running_stats}")


class BatchNorm1d(_BatchNorm):
    """torch.nn.BatchNorm1d: ``(N, C) -> (N, C)`` or ``(N, C, L) -> (N, C, L)``.

    weight/bias/running_mean/running_var ``(C,)``, num_batches_tracked int64 ``()``."""
    _ranks = (2, 3)


class BatchNorm2d(_BatchNorm):
    """torch.nn.BatchNorm2d: ``(N, C, H, W) -> (N, C, H, W)``, statistics over ``N, H, W``.

    weight/bias/running_mean/running_var ``(C,)``, num_batches_tracked int64 ``()``."""
    _ranks = (4,)
