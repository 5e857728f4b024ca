"""Pooling layers: ``MaxPool1d/2d``, ``AvgPool1d/2d``, ``AdaptiveAvgPool2d`` (torch.nn semantics).

Constructor arguments are torch's. Inputs may be batched ``(N, C, *S)`` or unbatched
``(C, *S)`` as in torch. The math is in :mod:`reference.functional`.
"""
from __future__ import annotations

import numpy as np

from reference import functional as F
from reference.nn._utils import batched, batched_grad_out, non_negative, ntuple, positive
from reference.nn.module import Module

__all__ = ["MaxPool1d", "MaxPool2d", "AvgPool1d", "AvgPool2d", "AdaptiveAvgPool2d"]


class _PoolNd(Module):
    _dims = 2

    def _init_geometry(self, kernel_size, stride, padding, dilation) -> None:
        d = self._dims
        self.kernel_size = ntuple(kernel_size, d, "kernel_size")
        positive(self.kernel_size, "kernel_size")
        self.stride = self.kernel_size if stride is None else ntuple(stride, d, "stride")
        positive(self.stride, "stride")
        self.dilation = ntuple(dilation, d, "dilation")
        positive(self.dilation, "dilation")
        self.padding = ntuple(padding, d, "padding")
        non_negative(self.padding, "padding")
        if any(p > k // 2 for p, k in zip(self.padding, self.kernel_size)):
            raise ValueError(f"padding {self.padding} should be at most half of kernel_size "
                             f"{self.kernel_size}")
        self.cache = None

    def _grad(self, grad_out):
        if self.cache is None:
            raise RuntimeError(f"{type(self).__name__}.backward called before forward")
        cache, unbatched, out_shape = self.cache
        grad_out = batched_grad_out(grad_out, unbatched, out_shape)
        return cache, unbatched, grad_out


class _MaxPoolNd(_PoolNd):
    def __init__(self, kernel_size, stride=None, padding=0, dilation=1, return_indices=False,
                 ceil_mode=False):
        super().__init__()
        self._init_geometry(kernel_size, stride, padding, dilation)
        self.return_indices = bool(return_indices)
        self.ceil_mode = bool(ceil_mode)

    def forward(self, x: np.ndarray):
        """``(N, C, *S) -> (N, C, *O)``; with ``return_indices`` also the int64 flat argmax
        indices into each input plane (torch's)."""
        name = type(self).__name__
        x, unbatched = batched(x, self._dims, name)
        out, indices, cache = F.max_pool_forward(x, self.kernel_size, self.stride, self.padding,
                                                 self.dilation, self.ceil_mode, layer=name)
        self.cache = (cache, unbatched, out.shape)
        if unbatched:
            out, indices = out[0], indices[0]
        return (out, indices) if self.return_indices else out

    def backward(self, grad_out: np.ndarray) -> np.ndarray:
        """Gradient goes to the argmax of each window (overlapping windows add up)."""
        cache, unbatched, grad_out = self._grad(grad_out)
        dx = F.max_pool_backward(grad_out, cache)
        self.grads = {}
        return dx[0] if unbatched else dx

    def extra_repr(self) -> str:
        return (f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}, "
                f"dilation={self.dilation}, ceil_mode={self.ceil_mode}")


class MaxPool1d(_MaxPoolNd):
    """torch.nn.MaxPool1d: ``(N, C, L) -> (N, C, L_out)``."""
    _dims = 1


class MaxPool2d(_MaxPoolNd):
    """torch.nn.MaxPool2d: ``(N, C, H, W) -> (N, C, H_out, W_out)``,
    ``H_out = floor-or-ceil((H + 2p - dilation*(k-1) - 1)/stride) + 1``."""
    _dims = 2


class _AvgPoolNd(_PoolNd):
    def __init__(self, kernel_size, stride=None, padding=0, ceil_mode=False,
                 count_include_pad=True):
        super().__init__()
        self._init_geometry(kernel_size, stride, padding, 1)
        self.ceil_mode = bool(ceil_mode)
        self.count_include_pad = bool(count_include_pad)

    def forward(self, x: np.ndarray) -> np.ndarray:
        """``(N, C, *S) -> (N, C, *O)``: mean of each window (zero padding counted when
        ``count_include_pad``)."""
        name = type(self).__name__
        x, unbatched = batched(x, self._dims, name)
        out, cache = F.avg_pool_forward(x, self.kernel_size, self.stride, self.padding,
                                        self.ceil_mode, self.count_include_pad, layer=name)
        self.cache = (cache, unbatched, out.shape)
        return out[0] if unbatched else out

    def backward(self, grad_out: np.ndarray) -> np.ndarray:
        """Each window's input positions get ``grad / divisor``."""
        cache, unbatched, grad_out = self._grad(grad_out)
        dx = F.avg_pool_backward(grad_out, cache)
        self.grads = {}
        return dx[0] if unbatched else dx

    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


class AvgPool1d(_AvgPoolNd):
    """torch.nn.AvgPool1d: ``(N, C, L) -> (N, C, L_out)``."""
    _dims = 1


class AvgPool2d(_AvgPoolNd):
    """torch.nn.AvgPool2d: ``(N, C, H, W) -> (N, C, H_out, W_out)``."""
    _dims = 2


class AdaptiveAvgPool2d(Module):
    """torch.nn.AdaptiveAvgPool2d: ``(N, C, H, W) -> (N, C, *output_size)``.

    Output ``(i, j)`` averages rows ``floor(i*H/out_h) .. ceil((i+1)*H/out_h)-1`` and the same
    for columns; ``output_size`` is an int, or a pair whose ``None`` entries keep the input size.
    """

    def __init__(self, output_size):
        super().__init__()
        if output_size is None or isinstance(output_size, (int, np.integer)):
            sizes = (output_size, output_size)
        elif isinstance(output_size, (tuple, list)) and len(output_size) == 2:
            sizes = tuple(output_size)
        else:
            raise ValueError(f"output_size must be an int or a tuple of 2 ints/None, "
                             f"got {output_size!r}")
        for s in sizes:
            if s is not None and (not isinstance(s, (int, np.integer)) or isinstance(s, bool)
                                  or s <= 0):
                raise ValueError(f"output_size entries must be positive ints or None, "
                                 f"got {output_size!r}")
        self.output_size = tuple(None if s is None else int(s) for s in sizes)
        self.cache = None

    def forward(self, x: np.ndarray) -> np.ndarray:
        x, unbatched = batched(x, 2, type(self).__name__)
        size = tuple(s if o is None else o for s, o in zip(x.shape[2:], self.output_size))
        out, cache = F.adaptive_avg_pool_forward(x, size)
        self.cache = (cache, unbatched, out.shape)
        return out[0] if unbatched else out

    def backward(self, grad_out: np.ndarray) -> np.ndarray:
        if self.cache is None:
            raise RuntimeError("AdaptiveAvgPool2d.backward called before forward")
        cache, unbatched, out_shape = self.cache
        grad_out = batched_grad_out(grad_out, unbatched, out_shape)
        dx = F.adaptive_avg_pool_backward(grad_out, cache)
        self.grads = {}
        return dx[0] if unbatched else dx

    def extra_repr(self) -> str:
        return f"output_size={self.output_size}"
