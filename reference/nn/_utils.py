"""Argument normalization and validation shared by the reference layers.

Errors are ``ValueError`` whose message names the offending argument, as torch's do.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np


def ntuple(value, n: int, name: str) -> tuple[int, ...]:
    """``3 -> (3, 3)``; a tuple/list of length ``n`` passes through. Ints only."""
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
        return (int(value),) * n
    if isinstance(value, (tuple, list)) and len(value) == n and all(
        isinstance(v, (int, np.integer)) and not isinstance(v, bool) for v in value
    ):
        return tuple(int(v) for v in value)
    raise ValueError(f"{name} must be an int or a tuple of {n} ints, got {value!r}")


def positive(values: Sequence[int], name: str) -> None:
    if any(v <= 0 for v in values):
        raise ValueError(f"{name} must be positive, got {tuple(values)}")


def non_negative(values: Sequence[int], name: str) -> None:
    if any(v < 0 for v in values):
        raise ValueError(f"{name} must be non-negative, got {tuple(values)}")


def check_input(x, ndim: int | tuple[int, ...], layer: str, channels: int | None = None,
                channel_name: str = "in_channels") -> np.ndarray:
    """Validate rank (and channel count at axis 1) of a layer input; return it as an ndarray.

    Floating inputs keep their dtype (float32 stays float32); integer inputs become float64.
    """
    x = np.asarray(x)
    ranks = (ndim,) if isinstance(ndim, int) else tuple(ndim)
    if x.ndim not in ranks:
        want = " or ".join(f"{r}-D" for r in ranks)
        raise ValueError(f"{layer}: expected {want} input, got input of shape {x.shape}")
    if channels is not None and x.shape[1] != channels:
        raise ValueError(
            f"{layer}: expected input with {channels} channels ({channel_name}={channels}), "
            f"got input of shape {x.shape}"
        )
    if not np.issubdtype(x.dtype, np.floating):
        x = x.astype(np.float64)
    return x


def init_uniform(rng: np.random.Generator, shape: tuple[int, ...], fan_in: int,
                 dtype=np.float64) -> np.ndarray:
    """torch's default init for Linear/Conv weights and biases: U(-1/sqrt(fan_in), 1/sqrt(fan_in))."""
    bound = 1.0 / np.sqrt(fan_in) if fan_in > 0 else 0.0
    return rng.uniform(-bound, bound, size=shape).astype(dtype)


def default_rng(rng) -> np.random.Generator:
    if rng is None:
        return np.random.default_rng()
    if isinstance(rng, np.random.Generator):
        return rng
    return np.random.default_rng(rng)
