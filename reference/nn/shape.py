"""Shape-changing layers: ``Upsample``, ``ZeroPad2d``, ``ReflectionPad2d``, ``ReplicationPad2d``
(torch.nn semantics; the math is in :mod:`reference.functional`). ``Flatten`` is in flatten.py."""
from __future__ import annotations

import math

import numpy as np

from reference import functional as F
from reference.nn._utils import check_input, ntuple
from reference.nn.module import Module

__all__ = ["Upsample", "ZeroPad2d", "ReflectionPad2d", "ReplicationPad2d"]


# ---------------------------------------------------------------------------------------------
# Upsample
# ---------------------------------------------------------------------------------------------
class Upsample(Module):
    """torch.nn.Upsample for 4-D input: ``(N, C, H, W) -> (N, C, H_out, W_out)``.

    Exactly one of ``size`` (int or pair) and ``scale_factor`` (number or pair) is given; with
    ``scale_factor``, ``H_out = floor(H * scale_factor)`` and (unless ``recompute_scale_factor``)
    the index arithmetic uses ``1/scale_factor`` as torch does. ``mode``: ``"nearest"``
    (torch's legacy nearest: ``src = floor(dst * scale)``) or ``"bilinear"`` with
    ``align_corners`` False (half-pixel centres, the default) or True.
    """

    def __init__(self, size=None, scale_factor=None, mode: str = "nearest",
                 align_corners: bool | None = None, recompute_scale_factor: bool | None = None):
        super().__init__()
        if mode not in ("nearest", "bilinear"):
            raise ValueError(f"mode must be 'nearest' or 'bilinear', got {mode!r}")
        if (size is None) == (scale_factor is None):
            raise ValueError("exactly one of size and scale_factor must be given "
                             f"(size={size!r}, scale_factor={scale_factor!r})")
        if align_corners is not None and mode == "nearest":
            raise ValueError("align_corners can only be set with mode='bilinear'")
        if size is not None:
            self.size = ntuple(size, 2, "size")
            if any(s <= 0 for s in self.size):
                raise ValueError(f"size must be positive, got {size!r}")
        else:
            self.size = None
        if scale_factor is not None:
            sf = tuple(scale_factor) if isinstance(scale_factor, (tuple, list)) else \
                (scale_factor, scale_factor)
            if len(sf) != 2 or not all(isinstance(s, (int, float, np.integer, np.floating))
                                       and not isinstance(s, bool) and s > 0 for s in sf):
                raise ValueError(f"scale_factor must be a positive number or a pair of them, "
                                 f"got {scale_factor!r}")
            self.scale_factor = tuple(float(s) for s in sf)
        else:
            self.scale_factor = None
        self.mode = mode
        self.align_corners = align_corners
        self.recompute_scale_factor = recompute_scale_factor
        self.cache = None

    def _output_size(self, in_shape) -> tuple[tuple[int, int], tuple | None]:
        if self.size is not None:
            return self.size, None
        out = tuple(int(math.floor(float(s * f))) for s, f in zip(in_shape, self.scale_factor))
        if any(o <= 0 for o in out):
            raise ValueError(f"Upsample: output size {out} would be non-positive for input "
                             f"size {tuple(in_shape)} and scale_factor {self.scale_factor}")
        return out, (None if self.recompute_scale_factor else self.scale_factor)

    def forward(self, x: np.ndarray) -> np.ndarray:
        x = check_input(x, 4, "Upsample")
        out_size, scales = self._output_size(x.shape[2:])
        out, cache = F.upsample_forward(x, out_size, self.mode, bool(self.align_corners), scales)
        self.cache = (cache, out.shape)
        return out

    def backward(self, grad_out: np.ndarray) -> np.ndarray:
        """Adjoint of the interpolation: each input pixel collects the weighted gradients of
        the outputs it contributed to."""
        if self.cache is None:
            raise RuntimeError("Upsample.backward called before forward")
        cache, out_shape = self.cache
        grad_out = np.asarray(grad_out)
        if grad_out.shape != out_shape:
            raise ValueError(f"grad_out has shape {grad_out.shape}, expected {out_shape}")
        self.grads = {}
        return F.upsample_backward(grad_out, cache)

    def extra_repr(self) -> str:
        what = f"size={self.size}" if self.size is not None else \
            f"scale_factor={self.scale_factor}"
        return f"{what}, mode={self.mode!r}"


# ---------------------------------------------------------------------------------------------
# 2-d padding layers
# ---------------------------------------------------------------------------------------------
class _Pad2d(Module):
    _mode = "zeros"

    def __init__(self, padding):
        super().__init__()
        if isinstance(padding, (int, np.integer)) and not isinstance(padding, bool):
            padding = (int(padding),) * 4
        elif not (isinstance(padding, (tuple, list)) and len(padding) == 4 and all(
                isinstance(p, (int, np.integer)) and not isinstance(p, bool) for p in padding)):
            raise ValueError(f"padding must be an int or a tuple (left, right, top, bottom) of "
                             f"4 ints, got {padding!r}")
        if any(p < 0 for p in padding):
            raise ValueError(f"padding must be non-negative, got {tuple(padding)}")
        self.padding = tuple(int(p) for p in padding)     # (left, right, top, bottom), torch's
        left, right, top, bottom = self.padding
        self._pads = ((top, bottom), (left, right))
        self.cache = None

    def forward(self, x: np.ndarray) -> np.ndarray:
        """``(N, C, H, W) -> (N, C, H + top + bottom, W + left + right)`` (or unbatched 3-D)."""
        x = check_input(x, (3, 4), type(self).__name__)
        out = np.array(F.pad(x, self._pads, self._mode), copy=True, order="C")
        self.cache = (x.shape, out.shape)
        return out

    def backward(self, grad_out: np.ndarray) -> np.ndarray:
        """Border gradients fold back onto the input pixels they copied."""
        if self.cache is None:
            raise RuntimeError(f"{type(self).__name__}.backward called before forward")
        x_shape, out_shape = self.cache
        grad_out = np.asarray(grad_out)
        if grad_out.shape != out_shape:
            raise ValueError(f"grad_out has shape {grad_out.shape}, expected {out_shape}")
        self.grads = {}
        return np.array(F.pad_backward(grad_out, self._pads, self._mode), copy=True, order="C")

    def extra_repr(self) -> str:
        return f"{self.padding}"


class ZeroPad2d(_Pad2d):
    """torch.nn.ZeroPad2d(padding): pad with zeros; ``padding`` int or (left, right, top,
    bottom)."""
    _mode = "zeros"


class ReflectionPad2d(_Pad2d):
    """torch.nn.ReflectionPad2d(padding): mirror without repeating the edge (padding < size)."""
    _mode = "reflect"


class ReplicationPad2d(_Pad2d):
    """torch.nn.ReplicationPad2d(padding): repeat the edge pixel."""
    _mode = "replicate"
