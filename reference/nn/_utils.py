"""Argument normalization and validation shared by the reference layers.

Errors are ``ValueError`` whose message names the offending argument, as torch's do.
"""
from __future__ import annotations

import os
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


_INIT_RNG: list[np.random.Generator] = []


def _forget_init_rng() -> None:
    _INIT_RNG.clear()


os.register_at_fork(after_in_child=_forget_init_rng)   # a forked process draws its own initial weights


def init_rng(rng) -> np.random.Generator:
    """The generator a layer's *initial* weights are drawn with: ``rng`` as :func:`default_rng`
    reads it, and for ``None`` one process-wide generator seeded from the OS (as torch's global
    generator; a fresh OS-seeded generator per layer costs more than drawing the weights)."""
    if rng is not None:
        return default_rng(rng)
    if not _INIT_RNG:
        _INIT_RNG.append(np.random.default_rng())
    return _INIT_RNG[0]


def positive_int(value, name: str) -> int:
    """``value`` as an int; ValueError naming ``name`` unless it is a positive int (not a bool)."""
    if not isinstance(value, (int, np.integer)) or isinstance(value, bool) or value <= 0:
        raise ValueError(f"{name} must be a positive int, got {value!r}")
    return int(value)


def float_dtype(dtype) -> np.dtype:
    """``None`` -> float64; any other floating dtype passes; ValueError naming ``dtype`` otherwise."""
    dt = np.dtype(np.float64 if dtype is None else dtype)
    if not np.issubdtype(dt, np.floating):
        raise ValueError(f"dtype must be a floating dtype, got {dtype!r}")
    return dt


def channels_and_groups(in_channels, out_channels, groups) -> tuple[int, int, int]:
    """Validate a (transposed) convolution's channel counts and groups: positive ints, both
    channel counts divisible by ``groups``."""
    c_in = positive_int(in_channels, "in_channels")
    c_out = positive_int(out_channels, "out_channels")
    g = positive_int(groups, "groups")
    if c_in % g:
        raise ValueError(f"in_channels ({in_channels}) must be divisible by groups ({groups})")
    if c_out % g:
        raise ValueError(f"out_channels ({out_channels}) must be divisible by groups ({groups})")
    return c_in, c_out, g


def batched(x, d: int, layer: str, channels: int | None = None) -> tuple[np.ndarray, bool]:
    """Accept ``(N, C, *S)`` or unbatched ``(C, *S)`` with ``d`` spatial dims, as torch does;
    return ``(x as (N, C, *S), unbatched)``. With ``channels``, ``C`` must equal it."""
    x = check_input(x, (d + 1, d + 2), layer)
    unbatched = x.ndim == d + 1
    if unbatched:
        x = x[None]
    return check_input(x, d + 2, layer, channels), unbatched


def batched_grad_out(grad_out, unbatched: bool, out_shape: tuple[int, ...]) -> np.ndarray:
    """``grad_out`` for an output of batched shape ``out_shape`` (given unbatched when the input
    was); ValueError naming ``grad_out`` when its shape does not match."""
    grad_out = np.asarray(grad_out)
    if unbatched:
        grad_out = grad_out[None]
    if grad_out.shape != out_shape:
        raise ValueError(f"grad_out has shape {grad_out.shape}, expected {out_shape}")
    return grad_out
