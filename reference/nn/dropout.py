"""Inverted dropout, torch.nn semantics: ``Dropout`` (elementwise), ``Dropout2d`` (whole channels).

Training: each element (``Dropout``) or each ``(n, c)`` channel (``Dropout2d``) is kept with
probability ``1 - p`` and the kept ones are scaled by ``1 / (1 - p)``, so ``E[output] = input``;
``p = 1`` gives zeros. Eval: the identity, and backward passes the gradient through unchanged.

``self.mask`` is the last mask drawn, **with the scaling folded in**: its entries are ``0`` or
``1 / (1 - p)`` in the input's dtype, so ``output = input * mask`` and
``grad_in = grad_out * mask``. ``Dropout``'s mask has the input's shape, ``Dropout2d``'s is
``(N, C, 1, 1)``. ``self.rng`` is a ``numpy.random.Generator`` (``rng`` may be given as a seed), so
the same seed gives the same masks.
"""
from __future__ import annotations

import numbers

import numpy as np

from reference.nn._utils import default_rng
from reference.nn.module import Module

__all__ = ["Dropout", "Dropout2d"]


class _DropoutNd(Module):
    def __init__(self, p: float = 0.5, rng=None):
        super().__init__()
        if not isinstance(p, numbers.Real) or isinstance(p, bool) or not 0.0 <= p <= 1.0:
            raise ValueError(f"dropout probability has to be between 0 and 1, but got p={p!r}")
        self.p = float(p)
        self.rng = default_rng(rng)
        self.mask = None
        self.cache = None

    def _mask_shape(self, x: np.ndarray) -> tuple[int, ...]:
        raise NotImplementedError

    def _check(self, x) -> np.ndarray:
        x = np.asarray(x)
        return x if np.issubdtype(x.dtype, np.floating) else x.astype(np.float64)

    def forward(self, x: np.ndarray) -> np.ndarray:
        """``(*) -> (*)``: ``x * mask`` in training, ``x`` in eval."""
        x = self._check(x)
        if not self.training:
            self.cache = (x.shape, x.dtype, None)
            return x.copy()
        keep = self.rng.random(self._mask_shape(x)) < 1.0 - self.p     # Bernoulli(1 - p)
        scale = 0.0 if self.p == 1.0 else 1.0 / (1.0 - self.p)
        self.mask = (keep * scale).astype(x.dtype)
        self.cache = (x.shape, x.dtype, self.mask)
        return x * self.mask

    def backward(self, grad_out: np.ndarray) -> np.ndarray:
        """``(*) -> (*)``: the same mask as forward (identity in eval)."""
        if self.cache is None:
            raise RuntimeError(f"{type(self).__name__}.backward called before forward")
        shape, dtype, mask = self.cache
        g = np.asarray(grad_out, dtype=dtype)
        if g.shape != shape:
            raise ValueError(f"grad_out has shape {g.shape}, expected {shape}")
        self.grads = {}
        return g.copy() if mask is None else g * mask

    def extra_repr(self) -> str:
        return f"p={self.p}"


class Dropout(_DropoutNd):
    """torch.nn.Dropout: ``(*) -> (*)``, each element zeroed independently with probability p."""

    def _mask_shape(self, x: np.ndarray) -> tuple[int, ...]:
        return x.shape


class Dropout2d(_DropoutNd):
    """torch.nn.Dropout2d: ``(N, C, H, W) -> (N, C, H, W)``, each channel ``(n, c)`` zeroed as a
    whole with probability p; mask ``(N, C, 1, 1)``. A 3-D input is read as ``(N, C, L)`` (mask
    ``(N, C, 1)``), which is what torch does (with a warning)."""

    def _check(self, x) -> np.ndarray:
        x = super()._check(x)
        if x.ndim not in (3, 4):
            raise ValueError(f"Dropout2d: expected 3D (N, C, L) or 4D (N, C, H, W) input, got "
                             f"input of shape {x.shape}")
        return x

    def _mask_shape(self, x: np.ndarray) -> tuple[int, ...]:
        return x.shape[:2] + (1,) * (x.ndim - 2)
