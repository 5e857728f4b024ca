"""Known-wrong variants of reference layers: what a specific student mistake computes.

The grader's diagnoses (:mod:`grader.diagnose`) compare a student's answer with these to name the
mistake. Each function is built from reference pieces (layers loaded with chosen statistics,
reshaped inputs, the same index helpers), never a second copy of the layer math, and documents
the mistake it reproduces. Mistakes that are only a different constructor argument (``stride=1``,
``eps=0``, ``align_corners`` flipped, ``momentum`` swapped) need nothing here: the diagnosis builds
the reference layer with that argument.
"""
from __future__ import annotations

import numpy as np

from reference import functional as F
from reference.nn.loss import DiceLoss
from reference.nn.normalization import _BatchNorm

__all__ = [
    "batchnorm_forward_unbiased", "batchnorm_backward_constant_stats",
    "batchnorm_running_biased", "dice_loss_global", "dice_loss_per_sample",
    "upsample_nearest_backward_overwrite",
]


def _stat_axes(x: np.ndarray) -> tuple[int, ...]:
    return (0,) + tuple(range(2, x.ndim))


def _frozen_copy(layer: _BatchNorm, mean: np.ndarray, var: np.ndarray) -> _BatchNorm:
    """An eval-mode copy of ``layer`` whose running statistics are ``mean`` / ``var``: its forward
    normalizes with exactly these statistics and its backward treats them as constants."""
    frozen = type(layer)(layer.num_features, eps=layer.eps, momentum=layer.momentum,
                         affine=layer.affine, track_running_stats=True)
    state = {k: v for k, v in layer.state_dict().items() if k in ("weight", "bias")}
    state.update(running_mean=np.asarray(mean, dtype=np.float64),
                 running_var=np.asarray(var, dtype=np.float64),
                 num_batches_tracked=np.array(0, dtype=np.int64))
    frozen.load_state_dict(state)
    return frozen.eval()


def batchnorm_forward_unbiased(layer: _BatchNorm, x: np.ndarray) -> np.ndarray:
    """Training-mode batch norm that normalizes with the *unbiased* batch variance
    (``var * M / (M - 1)``, ``np.var(ddof=1)``) instead of the biased one torch normalizes with.

    ``(N, C, *) -> (N, C, *)``; ``layer`` supplies weight, bias and eps (its state is untouched).
    """
    x = np.asarray(x, dtype=np.float64)
    axes = _stat_axes(x)
    m = x.size // x.shape[1]
    return np.asarray(_frozen_copy(layer, x.mean(axis=axes), x.var(axis=axes) * m / (m - 1)).forward(x))


def batchnorm_backward_constant_stats(layer: _BatchNorm, x: np.ndarray, grad_out: np.ndarray) -> np.ndarray:
    """Training-mode input gradient computed as if the batch mean and variance were constants:
    ``dx = weight * grad_out / sqrt(var + eps)``, missing the two terms that flow through the
    statistics. ``(N, C, *) -> (N, C, *)``."""
    x = np.asarray(x, dtype=np.float64)
    axes = _stat_axes(x)
    frozen = _frozen_copy(layer, x.mean(axis=axes), x.var(axis=axes))
    frozen.forward(x)
    return np.asarray(frozen.backward(grad_out))


def batchnorm_running_biased(layer: _BatchNorm, xs: list[np.ndarray]) -> dict[str, np.ndarray]:
    """Running statistics after training forwards on ``xs`` when the running variance is updated
    with the *biased* batch variance (torch uses the unbiased one there).

    ``layer`` (in its current state) is advanced in place; returns its state dict afterwards.
    """
    for x in xs:
        x = np.asarray(x, dtype=np.float64)
        axes = _stat_axes(x)
        layer._update_running(x.mean(axis=axes), x.var(axis=axes))
    return layer.state_dict()


def dice_loss_global(p: np.ndarray, t: np.ndarray, eps: float = 1.0) -> tuple[float, np.ndarray]:
    """Dice computed once over the whole batch and all channels (one big sum) instead of per
    ``(sample, channel)`` and then averaged. Returns ``(loss, d loss / d p)``, ``dp`` of ``p``'s shape."""
    p = np.asarray(p, dtype=np.float64)
    loss = DiceLoss(eps=eps)
    value = float(loss.forward(p.reshape(1, 1, -1), np.asarray(t).reshape(1, 1, -1)))
    return value, np.asarray(loss.backward()).reshape(p.shape)


def dice_loss_per_sample(p: np.ndarray, t: np.ndarray, eps: float = 1.0) -> tuple[float, np.ndarray]:
    """Dice per sample with the channels summed together (one ratio per sample) instead of one
    ratio per ``(sample, channel)``. Returns ``(loss, d loss / d p)``."""
    p = np.asarray(p, dtype=np.float64)
    n = p.shape[0]
    loss = DiceLoss(eps=eps)
    value = float(loss.forward(p.reshape(n, 1, -1), np.asarray(t).reshape(n, 1, -1)))
    return value, np.asarray(loss.backward()).reshape(p.shape)


def upsample_nearest_backward_overwrite(grad_out: np.ndarray, in_size, scales=None) -> np.ndarray:
    """Nearest-neighbour upsampling backward written as an indexed *assignment*
    (``dx[..., iy, ix] = grad_out``) instead of an accumulation: each input pixel keeps the
    gradient of only one of the output pixels copied from it (numpy keeps the last write).

    ``(N, C, H_out, W_out) -> (N, C, H, W)``; ``scales`` as in ``reference.nn.Upsample`` (the
    user's scale factors, or None when ``size`` was given).
    """
    g = np.asarray(grad_out, dtype=np.float64)
    out_size = g.shape[2:]
    scales = tuple(scales) if scales is not None else (None, None)
    iy, ix = (F.nearest_indices(s, o, sc) for s, o, sc in zip(in_size, out_size, scales))
    dx = np.zeros(g.shape[:2] + tuple(in_size))
    dx[:, :, iy[:, None], ix[None, :]] = g
    return dx


# ---- a1_backprop: softmax / softplus without the stabilizing shift (appended) ------------------
__all__ += ["softmax_without_max_subtraction", "log_softmax_without_max_subtraction",
            "cross_entropy_without_max_subtraction", "softplus_without_threshold"]


def softmax_without_max_subtraction(x: np.ndarray, dim: int = -1) -> np.ndarray:
    """``exp(x) / sum(exp(x), dim)`` computed literally, without subtracting the maximum first.

    ``(*) -> (*)``. Mathematically the softmax, numerically not: ``exp`` overflows to ``inf`` above
    ~709.8 (float64), so rows holding a large logit come out ``inf / inf = NaN``, and rows whose
    logits are all below ~-745 come out ``0 / 0 = NaN``. Warnings are silenced: the NaNs are the point.
    """
    x = np.asarray(x, dtype=np.float64)
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        e = np.exp(x)
        return e / e.sum(axis=dim, keepdims=True)


def log_softmax_without_max_subtraction(x: np.ndarray, dim: int = -1) -> np.ndarray:
    """``x - log(sum(exp(x), dim))`` without the max shift: ``-inf``/``NaN`` where ``exp`` overflows
    or every term underflows. ``(*) -> (*)``."""
    x = np.asarray(x, dtype=np.float64)
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        return x - np.log(np.exp(x).sum(axis=dim, keepdims=True))


def cross_entropy_without_max_subtraction(x: np.ndarray, target: np.ndarray) -> tuple[float, np.ndarray]:
    """Mean cross-entropy of logits ``(N, C)`` and class indices ``(N,)`` through the unshifted
    softmax: ``mean(-log(softmax(x)[n, y_n]))`` and its gradient ``(softmax(x) - onehot(y)) / N``.
    Returns ``(loss, d loss / d x)``; both are NaN/inf wherever the naive softmax is."""
    x = np.asarray(x, dtype=np.float64)
    target = np.asarray(target)
    n = x.shape[0]
    p = softmax_without_max_subtraction(x, dim=1)
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        loss = float(-np.log(p[np.arange(n), target]).mean())
        dx = (p - (np.arange(x.shape[1]) == target[:, None])) / n
    return loss, dx


def softplus_without_threshold(x: np.ndarray, beta: float = 1.0) -> np.ndarray:
    """``log(1 + exp(beta x)) / beta`` computed literally: ``inf`` where ``beta x`` exceeds ~709.8
    (torch switches to the identity above ``threshold`` and never exponentiates a large number).
    ``(*) -> (*)``."""
    bx = np.asarray(x, dtype=np.float64) * beta
    with np.errstate(over="ignore"):
        return np.log1p(np.exp(bx)) / beta


__all__ += ["cross_entropy_log_of_softmax"]


def cross_entropy_log_of_softmax(x: np.ndarray, target: np.ndarray) -> tuple[float, np.ndarray]:
    """Mean cross-entropy computed as CS231n's textbook loss: shift by the row maximum, softmax,
    *then* the log. The shift prevents the overflow, but a probability that underflows to 0
    (a target logit ~745 below the row's maximum) has ``log 0 = -inf``: the loss is ``+inf``.
    The gradient ``(softmax(x) - onehot(y)) / N`` stays right. ``(N, C), (N,) -> (loss, d loss / d x)``."""
    x = np.asarray(x, dtype=np.float64)
    target = np.asarray(target)
    n = x.shape[0]
    p = softmax_without_max_subtraction(x - x.max(axis=1, keepdims=True), dim=1)
    with np.errstate(divide="ignore"):
        loss = float(-np.log(p[np.arange(n), target]).mean())
    dx = (p - (np.arange(x.shape[1]) == target[:, None])) / n
    return loss, dx
