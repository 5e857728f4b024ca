"""Convolution layers: ``Conv1d/2d/3d`` and ``ConvTranspose1d/2d/3d``, one N-d implementation each.

Constructor arguments, parameter names and shapes are ``torch.nn``'s, so a torch state dict
(converted to numpy) loads directly and outputs match torch. The math is in
:mod:`reference.functional` (``conv_forward``/``conv_backward``, ``conv_transpose_*``).

Computation happens in the dtype of the input (float32 stays float32); gradients in
``self.grads`` have the dtype of the parameters.
"""
from __future__ import annotations

import math

import numpy as np

from reference import functional as F
from reference.nn._utils import batched, batched_grad_out, channels_and_groups, init_rng, float_dtype, \
    init_uniform, non_negative, ntuple, positive
from reference.nn.module import Module

__all__ = ["Conv1d", "Conv2d", "Conv3d", "ConvTranspose1d", "ConvTranspose2d", "ConvTranspose3d"]


class _ConvNd(Module):
    _dims = 2

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, dilation=1,
                 groups=1, bias=True, padding_mode="zeros", dtype=None, rng=None):
        super().__init__()
        d, name = self._dims, type(self).__name__
        self.in_channels, self.out_channels, self.groups = \
            channels_and_groups(in_channels, out_channels, groups)
        self.kernel_size = ntuple(kernel_size, d, "kernel_size")
        positive(self.kernel_size, "kernel_size")
        self.stride = ntuple(stride, d, "stride")
        positive(self.stride, "stride")
        self.dilation = ntuple(dilation, d, "dilation")
        positive(self.dilation, "dilation")
        if padding_mode not in F.PADDING_MODES:
            raise ValueError(f"padding_mode must be one of {F.PADDING_MODES}, got {padding_mode!r}")
        self.padding_mode = padding_mode

        if isinstance(padding, str):
            if padding == "valid":
                self._pads = ((0, 0),) * d
            elif padding == "same":
                if any(s != 1 for s in self.stride):
                    raise ValueError(f"{name}: padding='same' is not supported for strided "
                                     f"convolutions (stride={self.stride})")
                # torch: total = dilation*(k-1), left = total // 2, the extra one on the right
                totals = [dl * (k - 1) for dl, k in zip(self.dilation, self.kernel_size)]
                self._pads = tuple((t // 2, t - t // 2) for t in totals)
            else:
                raise ValueError(f"padding must be 'same', 'valid', an int or a tuple of {d} "
                                 f"ints, got {padding!r}")
            self.padding = padding
        else:
            self.padding = ntuple(padding, d, "padding")
            non_negative(self.padding, "padding")
            self._pads = tuple((p, p) for p in self.padding)

        dt = float_dtype(dtype)
        rng = init_rng(rng)
        fan_in = (self.in_channels // self.groups) * math.prod(self.kernel_size)
        w_shape = (self.out_channels, self.in_channels // self.groups) + self.kernel_size
        self.register_parameter("weight", init_uniform(rng, w_shape, fan_in, dt))
        self.register_parameter(
            "bias", init_uniform(rng, (self.out_channels,), fan_in, dt) if bias else None)
        self.cache = None

    def forward(self, x: np.ndarray) -> np.ndarray:
        """``(N, C_in, *S) -> (N, C_out, *O)`` (or unbatched ``(C_in, *S) -> (C_out, *O)``),
        ``O = floor((S + pad_lo + pad_hi - dilation*(K-1) - 1) / stride) + 1``."""
        name = type(self).__name__
        x, unbatched = batched(x, self._dims, name, self.in_channels)
        # the column buffers live in the layer and are reused by the next call of the same shape
        out, cache = F.conv_forward(x, self.weight, self.bias, self.stride, self._pads,
                                    self.dilation, self.groups, self.padding_mode, layer=name,
                                    workspace=self.__dict__.setdefault("_workspace", {}))
        self.cache = (cache, unbatched, out.shape)
        return out[0] if unbatched else out

    def backward(self, grad_out: np.ndarray) -> np.ndarray:
        """``grad_out`` of the output's shape -> gradient w.r.t. the input; fills ``self.grads``
        with ``weight`` (and ``bias``) gradients."""
        if self.cache is None:
            raise RuntimeError(f"{type(self).__name__}.backward called before forward")
        cache, unbatched, out_shape = self.cache
        grad_out = batched_grad_out(grad_out, unbatched, out_shape)
        dx, dw, db = F.conv_backward(grad_out, cache)
        self.grads = {"weight": dw.astype(self.weight.dtype, copy=False)}
        if db is not None:
            self.grads["bias"] = db.astype(self.bias.dtype, copy=False)
        return dx[0] if unbatched else dx

    def extra_repr(self) -> str:
        s = (f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
             f"stride={self.stride}")
        if self.padding != (0,) * self._dims:
            s += f", padding={self.padding}"
        if self.dilation != (1,) * self._dims:
            s += f", dilation={self.dilation}"
        if self.groups != 1:
            s += f", groups={self.groups}"
        if self.bias is None:
            s += ", bias=False"
        if self.padding_mode != "zeros":
            s += f", padding_mode={self.padding_mode}"
        return s


class Conv1d(_ConvNd):
    """1-d convolution (cross-correlation), torch.nn.Conv1d: ``(N, C_in, L) -> (N, C_out, L_out)``.

    weight ``(C_out, C_in/groups, K)``, bias ``(C_out,)``."""
    _dims = 1


class Conv2d(_ConvNd):
    """2-d convolution, torch.nn.Conv2d: ``(N, C_in, H, W) -> (N, C_out, H_out, W_out)``.

    weight ``(C_out, C_in/groups, kH, kW)``, bias ``(C_out,)``."""
    _dims = 2


class Conv3d(_ConvNd):
    """3-d convolution, torch.nn.Conv3d: ``(N, C_in, D, H, W) -> (N, C_out, D_out, H_out, W_out)``.

    weight ``(C_out, C_in/groups, kD, kH, kW)``, bias ``(C_out,)``."""
    _dims = 3


class _ConvTransposeNd(Module):
    _dims = 2

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0,
                 output_padding=0, groups=1, bias=True, dilation=1, padding_mode="zeros",
                 dtype=None, rng=None):
        super().__init__()
        d = self._dims
        self.in_channels, self.out_channels, self.groups = \
            channels_and_groups(in_channels, out_channels, groups)
        self.kernel_size = ntuple(kernel_size, d, "kernel_size")
        positive(self.kernel_size, "kernel_size")
        self.stride = ntuple(stride, d, "stride")
        positive(self.stride, "stride")
        self.dilation = ntuple(dilation, d, "dilation")
        positive(self.dilation, "dilation")
        if isinstance(padding, str):
            raise ValueError(f"padding must be an int or a tuple of {d} ints for "
                             f"{type(self).__name__}, got {padding!r}")
        self.padding = ntuple(padding, d, "padding")
        non_negative(self.padding, "padding")
        self.output_padding = ntuple(output_padding, d, "output_padding")
        non_negative(self.output_padding, "output_padding")
        for op, s, dl in zip(self.output_padding, self.stride, self.dilation):
            if not (op < s or op < dl):
                raise ValueError(
                    f"output_padding {self.output_padding} must be smaller than either stride "
                    f"{self.stride} or dilation {self.dilation}")
        if padding_mode != "zeros":
            raise ValueError(f"padding_mode must be 'zeros' for {type(self).__name__}, "
                             f"got {padding_mode!r}")
        self.padding_mode = padding_mode

        dt = float_dtype(dtype)
        rng = init_rng(rng)
        # torch computes fan_in from weight.size(1) * prod(kernel_size)
        fan_in = (self.out_channels // self.groups) * math.prod(self.kernel_size)
        w_shape = (self.in_channels, self.out_channels // self.groups) + self.kernel_size
        self.register_parameter("weight", init_uniform(rng, w_shape, fan_in, dt))
        self.register_parameter(
            "bias", init_uniform(rng, (self.out_channels,), fan_in, dt) if bias else None)
        self.cache = None

    def forward(self, x: np.ndarray) -> np.ndarray:
        """``(N, C_in, *S) -> (N, C_out, *O)`` (or unbatched),
        ``O = (S-1)*stride - 2*padding + dilation*(K-1) + output_padding + 1``."""
        name = type(self).__name__
        x, unbatched = batched(x, self._dims, name, self.in_channels)
        out, cache = F.conv_transpose_forward(x, self.weight, self.bias, self.stride,
                                              self.padding, self.output_padding, self.dilation,
                                              self.groups, layer=name,
                                              workspace=self.__dict__.setdefault("_workspace", {}))
        self.cache = (cache, unbatched, out.shape)
        return out[0] if unbatched else out

    def backward(self, grad_out: np.ndarray) -> np.ndarray:
        """Gradient w.r.t. the input; fills ``self.grads`` (``weight``, ``bias``)."""
        if self.cache is None:
            raise RuntimeError(f"{type(self).__name__}.backward called before forward")
        cache, unbatched, out_shape = self.cache
        grad_out = batched_grad_out(grad_out, unbatched, out_shape)
        dx, dw, db = F.conv_transpose_backward(grad_out, cache)
        self.grads = {"weight": dw.astype(self.weight.dtype, copy=False)}
        if db is not None:
            self.grads["bias"] = db.astype(self.bias.dtype, copy=False)
        return dx[0] if unbatched else dx

    def extra_repr(self) -> str:
        s = (f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
             f"stride={self.stride}")
        if self.padding != (0,) * self._dims:
            s += f", padding={self.padding}"
        if self.output_padding != (0,) * self._dims:
            s += f", output_padding={self.output_padding}"
        if self.dilation != (1,) * self._dims:
            s += f", dilation={self.dilation}"
        if self.groups != 1:
            s += f", groups={self.groups}"
        if self.bias is None:
            s += ", bias=False"
        return s


class ConvTranspose1d(_ConvTransposeNd):
    """torch.nn.ConvTranspose1d: ``(N, C_in, L) -> (N, C_out, L_out)``;
    weight ``(C_in, C_out/groups, K)``."""
    _dims = 1


class ConvTranspose2d(_ConvTransposeNd):
    """torch.nn.ConvTranspose2d: ``(N, C_in, H, W) -> (N, C_out, H_out, W_out)``;
    weight ``(C_in, C_out/groups, kH, kW)``."""
    _dims = 2


class ConvTranspose3d(_ConvTransposeNd):
    """torch.nn.ConvTranspose3d: ``(N, C_in, D, H, W) -> (N, C_out, D_out, H_out, W_out)``;
    weight ``(C_in, C_out/groups, kD, kH, kW)``."""
    _dims = 3
