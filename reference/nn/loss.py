"""Losses: ``CrossEntropyLoss``, ``MSELoss`` (torch.nn semantics) and ``DiceLoss`` (segmentation).

``forward(input, target)`` returns the loss (a numpy scalar of the input's dtype, or an array for
``reduction="none"``) and caches what ``backward`` needs; ``backward(grad_out=1.0)`` returns
``d loss / d input`` (the target gets no gradient). Losses have no parameters.
"""
from __future__ import annotations

import numpy as np

from reference.nn.module import Module

__all__ = ["CrossEntropyLoss", "MSELoss", "DiceLoss"]

REDUCTIONS = ("mean", "sum", "none")


def _as_float(x) -> np.ndarray:
    x = np.asarray(x)
    return x if np.issubdtype(x.dtype, np.floating) else x.astype(np.float64)


def _check_reduction(reduction: str) -> str:
    if reduction not in REDUCTIONS:
        raise ValueError(f"reduction must be one of {REDUCTIONS}, got {reduction!r}")
    return reduction


class _Loss(Module):
    def __init__(self, reduction: str = "mean") -> None:
        super().__init__()
        self.reduction = _check_reduction(reduction)
        self.cache = None

    def _cached(self):
        if self.cache is None:
            raise RuntimeError(f"{type(self).__name__}.backward called before forward")
        return self.cache

    def _upstream(self, grad_out, loss_shape, dtype) -> np.ndarray:
        """``grad_out`` as an array: a scalar for mean/sum, the per-element shape for none."""
        grad_out = np.asarray(grad_out, dtype=dtype)
        want = loss_shape if self.reduction == "none" else ()
        if grad_out.shape != want:
            raise ValueError(f"grad_out has shape {grad_out.shape}, expected {want}")
        self.grads = {}
        return grad_out

    def _reduce(self, losses: np.ndarray, denominator=None):
        if self.reduction == "none":
            return losses
        total = losses.sum(dtype=losses.dtype)
        if self.reduction == "sum":
            return total[()]
        return (total / (losses.size if denominator is None else denominator))[()]

    def __call__(self, input, target):
        return self.forward(input, target)

    def extra_repr(self) -> str:
        return f"reduction={self.reduction!r}"


class CrossEntropyLoss(_Loss):
    """torch.nn.CrossEntropyLoss with class-index targets.

    ``input`` logits ``(N, C)`` (or ``(N, C, d1, ...)``, or unbatched ``(C,)``), ``target`` integer
    class indices ``(N,)`` (``(N, d1, ...)``, or ``()``) in ``[0, C)`` or ``ignore_index``.
    Per element ``l = -w[y] * log_softmax(x)[y]`` (class axis 1), with ``label_smoothing`` ``e``:
    ``l = (1 - e) * l + (e / C) * sum_c -w[c] * log_softmax(x)[c]``; ignored elements give 0.
    ``reduction="mean"`` divides the sum by ``sum of w[y]`` over non-ignored elements (their
    count when ``weight`` is None), as torch does.

    Backward per element: ``(1 - e) w[y] (p - onehot(y)) + (e / C) (p sum(w) - w)``,
    ``p = softmax(x)``, times the reduction's factor.
    """

    def __init__(self, weight=None, ignore_index: int = -100, reduction: str = "mean",
                 label_smoothing: float = 0.0):
        super().__init__(reduction)
        if weight is not None:
            weight = _as_float(weight)
            if weight.ndim != 1:
                raise ValueError(f"weight must be a 1-D array of class weights, got shape "
                                 f"{weight.shape}")
        self.weight = weight
        if not isinstance(ignore_index, (int, np.integer)) or isinstance(ignore_index, bool):
            raise ValueError(f"ignore_index must be an int, got {ignore_index!r}")
        self.ignore_index = int(ignore_index)
        if not 0.0 <= label_smoothing <= 1.0:
            raise ValueError(f"label_smoothing must be between 0.0 and 1.0, got {label_smoothing}")
        self.label_smoothing = float(label_smoothing)

    def forward(self, input, target):
        """Logits ``(N, C, *d)``, targets ``(N, *d)`` -> scalar (``(N, *d)`` for ``"none"``)."""
        x = _as_float(input)
        target = np.asarray(target)
        if x.ndim == 0:
            raise ValueError("CrossEntropyLoss: input must have at least 1 dimension (C,), "
                             "got a 0-D input")
        unbatched = x.ndim == 1
        if unbatched:
            x, target = x[None], target[None]
        n_classes = x.shape[1]
        expected = x.shape[:1] + x.shape[2:]
        if target.shape != expected:
            raise ValueError(f"CrossEntropyLoss: target must have shape {expected} for input of "
                             f"shape {np.shape(input)}, got target of shape {target.shape}")
        if target.dtype.kind not in "iu":
            raise ValueError(f"CrossEntropyLoss: target must hold integer class indices, got "
                             f"dtype {target.dtype}")
        ignored = target == self.ignore_index
        if np.any(((target < 0) | (target >= n_classes)) & ~ignored):
            raise ValueError(f"CrossEntropyLoss: target values must be in [0, {n_classes}) or "
                             f"ignore_index={self.ignore_index}, got min {target.min()} "
                             f"max {target.max()}")
        w = np.ones(n_classes, x.dtype) if self.weight is None else self.weight.astype(x.dtype)
        if w.shape != (n_classes,):
            raise ValueError(f"CrossEntropyLoss: weight has shape {w.shape}, expected "
                             f"({n_classes},) for input with C={n_classes}")

        z = np.moveaxis(x, 1, -1)                             # (N, *d, C)
        shifted = z - z.max(axis=-1, keepdims=True)
        logp = shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))
        y = np.where(ignored, 0, target)                      # safe index for ignored elements
        w_y = np.where(ignored, 0, w[y]).astype(x.dtype)      # (N, *d)
        nll = -np.take_along_axis(logp, y[..., None], axis=-1)[..., 0]
        eps = self.label_smoothing
        losses = (1 - eps) * w_y * nll
        if eps > 0:
            smooth = -(logp * w).sum(axis=-1)
            losses = losses + np.where(ignored, 0, (eps / n_classes) * smooth)
        losses = losses.astype(x.dtype, copy=False)
        # torch normalizes "mean" by sum of w[y] (it uses the same denominator for the smoothing)
        denominator = w_y.sum() if self.weight is not None else (~ignored).sum()
        with np.errstate(invalid="ignore", divide="ignore"):   # all ignored -> nan, as torch
            out = self._reduce(losses, x.dtype.type(denominator))
        self.cache = (logp, y, ignored, w, w_y, denominator, unbatched, np.shape(input))
        if unbatched and self.reduction == "none":
            return out[0]
        return out

    def backward(self, grad_out=1.0) -> np.ndarray:
        """-> ``d loss / d input``, the shape of ``input``."""
        logp, y, ignored, w, w_y, denominator, unbatched, in_shape = self._cached()
        g = self._upstream(grad_out, () if unbatched else y.shape, logp.dtype)
        if unbatched:
            g = g[None] if self.reduction == "none" else g
        n_classes = logp.shape[-1]
        p = np.exp(logp)                                      # softmax, (N, *d, C)
        onehot = np.arange(n_classes) == y[..., None]
        eps = self.label_smoothing
        dz = (1 - eps) * w_y[..., None] * (p - onehot)
        if eps > 0:
            dz = dz + (eps / n_classes) * (p * w.sum() - w)
        dz = np.where(ignored[..., None], 0, dz)
        if self.reduction == "none":
            dz = dz * g[..., None]
        elif self.reduction == "sum":
            dz = dz * g
        else:
            with np.errstate(invalid="ignore", divide="ignore"):
                dz = dz * (g / logp.dtype.type(denominator))
        dx = np.moveaxis(dz, -1, 1).astype(logp.dtype, copy=False)
        return dx.reshape(in_shape)

    def extra_repr(self) -> str:
        return (f"ignore_index={self.ignore_index}, reduction={self.reduction!r}, "
                f"label_smoothing={self.label_smoothing}")


class MSELoss(_Loss):
    """torch.nn.MSELoss: ``(x - t)^2`` per element, ``(*)`` and ``(*)`` (same shape) -> scalar.

    Backward: ``2 (x - t) / n`` for ``"mean"`` (``n`` elements), ``2 (x - t)`` for ``"sum"``.
    """

    def forward(self, input, target):
        x = _as_float(input)
        t = np.asarray(target)
        if t.shape != x.shape:
            raise ValueError(f"MSELoss: target must have the input's shape {x.shape}, got "
                             f"target of shape {t.shape}")
        diff = x - t.astype(x.dtype, copy=False)
        self.cache = diff
        return self._reduce(diff * diff)

    def backward(self, grad_out=1.0) -> np.ndarray:
        diff = self._cached()
        g = self._upstream(grad_out, diff.shape, diff.dtype)
        dx = 2 * diff * g
        if self.reduction == "mean":
            dx = dx / diff.size
        return dx.astype(diff.dtype, copy=False)


class DiceLoss(_Loss):
    """Soft Dice loss for segmentation: probabilities ``(N, C, *S)`` (e.g. ``(N, C, H, W)``) and a
    (binary) target of the same shape -> scalar

    ``L = mean over (n, c) of 1 - (2 sum_S p t + eps) / (sum_S p + sum_S t + eps)``.

    There is no torch.nn.DiceLoss. With ``I = sum p t`` and ``U = sum p + sum t + eps`` per
    ``(n, c)``, ``dL/dp = -(2 t U - (2 I + eps)) / (U^2 N C)``.
    """

    def __init__(self, eps: float = 1.0):
        super().__init__("mean")
        if not eps >= 0:
            raise ValueError(f"eps must be non-negative, got {eps}")
        self.eps = float(eps)

    def forward(self, input, target):
        p = _as_float(input)
        if p.ndim < 3:
            raise ValueError(f"DiceLoss: expected input of shape (N, C, *spatial) with at least "
                             f"3 dimensions, got input of shape {p.shape}")
        t = np.asarray(target)
        if t.shape != p.shape:
            raise ValueError(f"DiceLoss: target must have the input's shape {p.shape}, got "
                             f"target of shape {t.shape}")
        t = t.astype(p.dtype, copy=False)
        axes = tuple(range(2, p.ndim))
        inter = (p * t).sum(axis=axes)                        # (N, C)
        union = p.sum(axis=axes) + t.sum(axis=axes) + self.eps
        dice = (2 * inter + self.eps) / union
        self.cache = (t, inter, union, p.ndim)
        return (1 - dice).mean(dtype=p.dtype)[()]

    def backward(self, grad_out=1.0) -> np.ndarray:
        t, inter, union, ndim = self._cached()
        g = self._upstream(grad_out, (), t.dtype)
        expand = (...,) + (None,) * (ndim - 2)                 # (N, C) -> (N, C, 1, 1, ...)
        u, i = union[expand], inter[expand]
        dp = -(2 * t * u - (2 * i + self.eps)) / (u * u) / inter.size
        return (dp * g).astype(t.dtype, copy=False)

    def extra_repr(self) -> str:
        return f"eps={self.eps}"
