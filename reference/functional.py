"""Stateless numpy kernels of the spatial reference layers: the ONE copy of their math.

Every ``*_forward`` function returns ``(out, cache)`` and the matching ``*_backward(grad_out,
cache)`` returns the gradients, CS231n-style, so that layers (``reference.nn``) and the grader's
diagnoses share a single implementation. Layout is torch's: ``(N, C, *spatial)`` with any number
of spatial dimensions (1-d, 2-d and 3-d are what the course uses).

Arguments here are already normalized tuples (one entry per spatial dimension); padding is a
tuple of ``(lo, hi)`` pairs. Argument validation with messages that name the argument lives in the
layers; this module only raises ``ValueError`` for conditions that depend on the input (an output
size that would be non-positive, a padding too large for the input in reflect/circular mode).

Vectorization scheme (no Python loop over batch items or pixels):

* convolution = ``im2col`` + batched GEMM. The column matrix has the *caffe* layout
  ``(N, C, *K, *O)``, so ``weight.reshape(C_out, C_in*prod(K)) @ col[n]`` lands directly in
  ``(N, C_out, *O)`` with no transpose, groups are a broadcast batch axis of ``np.matmul``, and
  ``col2im`` (the adjoint) is a loop over the ``prod(K)`` kernel offsets, each a strided-slice add
  of a whole ``(N, C, *O)`` block;
* transposed convolution is the adjoint of convolution: forward = GEMM + ``col2im``, backward =
  ``im2col`` + GEMM;
* pooling windows come from ``sliding_window_view``; max-pool backward scatters with
  ``np.bincount`` on torch-style flat indices; average pooling's adjoint reuses ``col2im``;
* adaptive pooling and interpolation are separable: one small ``(out, in)`` matrix per axis.
"""
from __future__ import annotations

import functools
import itertools
import math

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

__all__ = [
    "PADDING_MODES",
    "pad", "pad_backward",
    "conv_output_size", "conv_transpose_output_size", "pool_output_size",
    "im2col", "col2im",
    "conv_forward", "conv_backward",
    "conv_transpose_forward", "conv_transpose_backward",
    "max_pool_forward", "max_pool_backward",
    "avg_pool_forward", "avg_pool_backward",
    "adaptive_avg_pool_forward", "adaptive_avg_pool_backward", "adaptive_pool_bins",
    "upsample_forward", "upsample_backward",
    "nearest_indices", "linear_interp_matrix",
]

PADDING_MODES = ("zeros", "reflect", "replicate", "circular")


# ---------------------------------------------------------------------------------------------
# padding
# ---------------------------------------------------------------------------------------------
def _source_index(n: int, lo: int, hi: int, mode: str) -> np.ndarray:
    """For a padded axis of length ``lo + n + hi``: the input index each position copies."""
    i = np.arange(-lo, n + hi)
    if mode == "reflect":          # ... x2 x1 | x0 x1 x2 ... (edge not repeated)
        i = np.abs(i)
        i = np.where(i > n - 1, 2 * (n - 1) - i, i)
    elif mode == "replicate":      # x0 x0 | x0 x1 x2 ...
        i = np.clip(i, 0, n - 1)
    elif mode == "circular":       # ... x(n-2) x(n-1) | x0 x1 ...
        i = np.mod(i, n)
    else:
        raise ValueError(f"padding_mode must be one of {PADDING_MODES}, got {mode!r}")
    return i


def _check_pad_fits(shape: tuple[int, ...], pads, mode: str) -> None:
    for n, (lo, hi) in zip(shape, pads):
        if mode == "reflect" and max(lo, hi) >= n and max(lo, hi) > 0:
            raise ValueError(
                f"padding ({lo}, {hi}) in 'reflect' mode must be smaller than the input size {n}"
            )
        if mode == "circular" and max(lo, hi) > n:
            raise ValueError(
                f"padding ({lo}, {hi}) in 'circular' mode must be at most the input size {n}"
            )


def _pad_constant(x: np.ndarray, pads, value: float = 0.0) -> np.ndarray:
    """``np.pad(x, [(0, 0)] * lead + pads, constant_values=value)`` for non-negative ``pads`` of the
    last axes, without its per-call overhead (most of the time for a small input). With no padding
    at all it is ``x`` itself: callers only read it."""
    lead = x.ndim - len(pads)
    if not any(lo or hi for lo, hi in pads):
        return x
    out = np.full(x.shape[:lead] + tuple(n + lo + hi for n, (lo, hi) in zip(x.shape[lead:], pads)),
                  value, dtype=x.dtype)
    out[(Ellipsis,) + tuple(slice(lo, lo + n) for n, (lo, _) in zip(x.shape[lead:], pads))] = x
    return out


def pad(x: np.ndarray, pads, mode: str = "zeros") -> np.ndarray:
    """Pad the last ``len(pads)`` axes of ``x``; ``pads[i] = (lo, hi)`` for the i-th of them.

    ``mode``: ``zeros`` | ``reflect`` (mirror without repeating the edge, torch/numpy "reflect")
    | ``replicate`` (repeat the edge) | ``circular`` (wrap around).
    Shape ``(*, S_1, ..., S_d) -> (*, S_1 + lo_1 + hi_1, ..., S_d + lo_d + hi_d)``.
    """
    pads = tuple((int(lo), int(hi)) for lo, hi in pads)
    lead = x.ndim - len(pads)
    if mode == "zeros":
        if not any(lo or hi for lo, hi in pads):
            return x
        if min(min(p) for p in pads) < 0:
            return np.pad(x, [(0, 0)] * lead + list(pads))     # numpy's error for a negative pad
        return _pad_constant(x, pads)
    _check_pad_fits(x.shape[lead:], pads, mode)
    out = x
    for axis, (lo, hi) in enumerate(pads, start=lead):
        if lo or hi:
            out = np.take(out, _source_index(x.shape[axis], lo, hi, mode), axis=axis)
    return out


def pad_backward(grad: np.ndarray, pads, mode: str = "zeros") -> np.ndarray:
    """Adjoint of :func:`pad`: fold the gradient of the padded border back onto the input.

    ``(*, S_1 + lo_1 + hi_1, ...) -> (*, S_1, ...)``. For ``zeros`` this is a crop; for the other
    modes each border position adds its gradient to the input position it copied (a loop over
    the few border positions of each axis, each a whole-slab add).
    """
    pads = tuple((int(lo), int(hi)) for lo, hi in pads)
    lead = grad.ndim - len(pads)
    if mode == "zeros":
        index = (Ellipsis,) + tuple(slice(lo, g - hi) for (lo, hi), g in
                                    zip(pads, grad.shape[lead:]))
        return grad[index]
    out = grad
    for axis, (lo, hi) in enumerate(pads, start=lead):
        if not (lo or hi):
            continue
        n = out.shape[axis] - lo - hi
        src = _source_index(n, lo, hi, mode)
        g = np.moveaxis(out, axis, 0)
        folded = g[lo:lo + n].copy()
        for p in itertools.chain(range(lo), range(lo + n, lo + n + hi)):
            folded[src[p]] += g[p]
        out = np.moveaxis(folded, 0, axis)
    return out


# ---------------------------------------------------------------------------------------------
# output sizes
# ---------------------------------------------------------------------------------------------
def conv_output_size(size: int, kernel: int, stride: int = 1, padding: int | tuple = 0,
                     dilation: int = 1) -> int:
    """``floor((size + lo + hi - dilation*(kernel-1) - 1) / stride) + 1`` (may be <= 0)."""
    lo, hi = (padding, padding) if isinstance(padding, (int, np.integer)) else padding
    return (size + lo + hi - dilation * (kernel - 1) - 1) // stride + 1


def conv_transpose_output_size(size: int, kernel: int, stride: int = 1, padding: int = 0,
                               output_padding: int = 0, dilation: int = 1) -> int:
    """``(size-1)*stride - 2*padding + dilation*(kernel-1) + output_padding + 1``."""
    return (size - 1) * stride - 2 * padding + dilation * (kernel - 1) + output_padding + 1


def pool_output_size(size: int, kernel: int, stride: int, padding: int, dilation: int = 1,
                     ceil_mode: bool = False) -> int:
    """torch's pooling output size; with ``ceil_mode`` the last window must start inside the
    input or its left padding (``(out-1)*stride < size + padding``)."""
    span = size + 2 * padding - dilation * (kernel - 1) - 1
    if ceil_mode:
        out = -(-span // stride) + 1
        if (out - 1) * stride >= size + padding:
            out -= 1
    else:
        out = span // stride + 1
    return out


def _check_output(out_shape, layer: str, in_shape, kernel_size) -> None:
    if any(o <= 0 for o in out_shape):
        raise ValueError(
            f"{layer}: output size {tuple(out_shape)} would be non-positive for spatial input "
            f"size {tuple(in_shape)} and kernel_size {tuple(kernel_size)} (check kernel_size, "
            f"padding, stride, dilation)"
        )


# ---------------------------------------------------------------------------------------------
# im2col / col2im
# ---------------------------------------------------------------------------------------------
def _offset_slices(k, stride, dilation, out_shape):
    """Spatial slices of the padded input that kernel offset ``k`` sees for every output."""
    try:
        return _offset_slices_of(tuple(k), tuple(stride), tuple(dilation), tuple(out_shape))
    except TypeError:       # an argument that is not hashable: computed as it is
        return tuple(slice(ki * d, ki * d + s * (o - 1) + 1, s)
                     for ki, s, d, o in zip(k, stride, dilation, out_shape))


@functools.lru_cache(maxsize=4096)
def _offset_slices_of(k, stride, dilation, out_shape):
    return tuple(slice(ki * d, ki * d + s * (o - 1) + 1, s)
                 for ki, s, d, o in zip(k, stride, dilation, out_shape))


def im2col(xp: np.ndarray, kernel_size, stride, dilation) -> np.ndarray:
    """Columns of an already padded input, caffe layout.

    ``(N, C, *S) -> (N, C, *K, *O)`` (C-contiguous) with
    ``col[n, c, k..., o...] = xp[n, c, o*stride + k*dilation ...]``.
    """
    d = len(kernel_size)
    spatial = xp.shape[2:]
    out_shape = tuple((s - dl * (k - 1) - 1) // st + 1
                      for s, k, st, dl in zip(spatial, kernel_size, stride, dilation))
    extent = tuple(dl * (k - 1) + 1 for k, dl in zip(kernel_size, dilation))
    windows = sliding_window_view(xp, extent, axis=tuple(range(2, 2 + d)))
    windows = windows[(slice(None), slice(None))
                      + tuple(slice(0, st * (o - 1) + 1, st) for st, o in zip(stride, out_shape))
                      + tuple(slice(None, None, dl) for dl in dilation)]
    # (N, C, *O, *K) -> (N, C, *K, *O): one strided copy
    order = (0, 1) + tuple(range(2 + d, 2 + 2 * d)) + tuple(range(2, 2 + d))
    return np.ascontiguousarray(windows.transpose(order))


def col2im(col: np.ndarray, padded_shape, kernel_size, stride, dilation) -> np.ndarray:
    """Adjoint of :func:`im2col`: ``(N, C, *K, *O) -> (N, C, *S_padded)``.

    Overlapping windows add up. One strided-slice add per kernel offset.
    """
    d = len(kernel_size)
    out_shape = col.shape[2 + d:]
    dx = np.zeros(tuple(padded_shape), dtype=col.dtype)
    for k in itertools.product(*(range(kk) for kk in kernel_size)):
        dx[(slice(None), slice(None)) + _offset_slices(k, stride, dilation, out_shape)] += \
            col[(slice(None), slice(None)) + k]
    return dx


# ---------------------------------------------------------------------------------------------
# convolution
# ---------------------------------------------------------------------------------------------
def _buffer(workspace: dict | None, key: str, shape, dtype) -> np.ndarray:
    """An uninitialized array of ``shape``/``dtype``: ``workspace[key]`` again when it fits (a
    layer's column buffers are reused from call to call: no fresh pages to fault in), else new."""
    shape = tuple(shape)
    if workspace is None:
        return np.empty(shape, dtype=dtype)
    buf = workspace.get(key)
    if buf is None or buf.shape != shape or buf.dtype != dtype:
        buf = workspace[key] = np.empty(shape, dtype=dtype)
    return buf


def _im2col_cm(xp: np.ndarray, kernel_size, stride, dilation, out_shape, out: np.ndarray) -> np.ndarray:
    """Columns in *channel-major* layout: padded ``(N, C, *S) -> (C, *K, N, *O)`` into ``out``.

    ``out.reshape(C*prod(K), N*prod(O))`` is then one GEMM operand for the whole batch (a few
    large GEMMs run several times faster than N thin ones). One strided copy per kernel offset.
    """
    xt = xp.swapaxes(0, 1)                                        # (C, N, *S), a view
    for k in itertools.product(*(range(kk) for kk in kernel_size)):
        out[(slice(None),) + k] = xt[(slice(None), slice(None)) + _offset_slices(k, stride, dilation, out_shape)]
    return out


def _group_gemm(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``a[g] @ b[g]`` for each group (``(G, m, k) x (G, k, n) -> (G, m, n)``), as 2-d products:
    numpy hands a 2-d product of transposed views to BLAS, while a stacked ``matmul`` with a
    transposed operand falls back to a loop many times slower."""
    out = np.empty((a.shape[0], a.shape[1], b.shape[2]), dtype=np.result_type(a, b))
    for i in range(a.shape[0]):
        np.matmul(a[i], b[i], out=out[i])
    return out


def _batch_first(a_cm: np.ndarray, out: np.ndarray, bias: np.ndarray | None = None) -> np.ndarray:
    """``(C, N, *O)`` -> ``out`` ``(N, C, *O)`` (plus ``bias`` per channel) in one pass."""
    src = a_cm.swapaxes(0, 1)
    if bias is None:
        np.copyto(out, src)
    else:
        np.add(src, bias.reshape((1, -1) + (1,) * (out.ndim - 2)), out=out)
    return out


def conv_forward(x: np.ndarray, weight: np.ndarray, bias: np.ndarray | None, stride, padding,
                 dilation, groups: int = 1, padding_mode: str = "zeros",
                 layer: str = "conv", workspace: dict | None = None):
    """N-d cross-correlation as torch's ``conv{1,2,3}d``.

    x: ``(N, C_in, *S)``; weight: ``(C_out, C_in/groups, *K)``; bias: ``(C_out,)`` or None;
    ``padding``: ``(lo, hi)`` per spatial dim, applied with ``padding_mode``.
    Returns ``out`` of shape ``(N, C_out, *O)`` (dtype of ``x``) and the cache for
    :func:`conv_backward`. ``workspace``: a dict the caller keeps (a layer's) in which column
    buffers are reused across calls; the returned cache then refers to them until the next call.

    Columns are channel-major (:func:`_im2col_cm`), so the forward is one GEMM per group,
    ``W_g (C_out/G, C_in/G*K) @ col_g (C_in/G*K, N*O)``, for the whole batch.
    """
    dtype = x.dtype
    w = weight.astype(dtype, copy=False)
    n, c_in = x.shape[:2]
    c_out, kernel_size = w.shape[0], w.shape[2:]
    xp = pad(x, padding, padding_mode)
    out_shape = tuple((s - dl * (k - 1) - 1) // st + 1
                      for s, k, st, dl in zip(xp.shape[2:], kernel_size, stride, dilation))
    _check_output(out_shape, layer, x.shape[2:], kernel_size)
    k_numel, o_numel = math.prod(kernel_size), math.prod(out_shape)
    col = _buffer(workspace, "col", (c_in,) + tuple(kernel_size) + (n,) + out_shape, dtype)
    _im2col_cm(xp, kernel_size, stride, dilation, out_shape, col)   # (C_in, *K, N, *O)
    col_g = col.reshape(groups, (c_in // groups) * k_numel, n * o_numel)
    w_g = w.reshape(groups, c_out // groups, (c_in // groups) * k_numel)
    out_cm = _group_gemm(w_g, col_g).reshape((c_out, n) + out_shape)      # (C_out, N, *O)
    out = _batch_first(out_cm, np.empty((n, c_out) + out_shape, dtype=dtype),
                       None if bias is None else bias.astype(dtype, copy=False))
    cache = dict(x_shape=x.shape, xp_shape=xp.shape, col=col, weight=w, has_bias=bias is not None,
                 stride=tuple(stride), padding=tuple(padding), dilation=tuple(dilation),
                 groups=groups, padding_mode=padding_mode, workspace=workspace)
    return out, cache


def conv_backward(grad_out: np.ndarray, cache: dict):
    """Gradients of :func:`conv_forward`: ``(dx, dweight, dbias)`` (``dbias`` None without bias).

    dweight = grad (C_out/G, N*O) @ col^T, one GEMM per group for the whole batch. dx takes the
    faster of two formulations: with stride 1 it is a convolution of the (zero-padded) output
    gradient with the flipped, transposed kernel (im2col + one GEMM); with a stride it is
    ``col2im(W^T @ grad)``; then the padding adjoint.
    """
    col, w, groups = cache["col"], cache["weight"], cache["groups"]
    workspace = cache.get("workspace")
    dtype = col.dtype
    grad_out = np.asarray(grad_out, dtype=dtype)
    c_in, n = col.shape[0], grad_out.shape[0]
    c_out, kernel_size = w.shape[0], w.shape[2:]
    d = len(kernel_size)
    cg, og = c_in // groups, c_out // groups
    out_shape = grad_out.shape[2:]
    k_numel, o_numel = math.prod(kernel_size), math.prod(out_shape)
    g_cm = np.ascontiguousarray(grad_out.swapaxes(0, 1))                 # (C_out, N, *O)
    g_g = g_cm.reshape(groups, og, n * o_numel)
    col_g = col.reshape(groups, cg * k_numel, n * o_numel)

    # as (col @ grad^T)^T: OpenBLAS runs this long-inner-dimension product far faster that way round
    dw = np.ascontiguousarray(_group_gemm(col_g, g_g.swapaxes(-1, -2)).swapaxes(-1, -2)).reshape(w.shape)
    db = grad_out.sum(axis=(0,) + tuple(range(2, grad_out.ndim))) if cache["has_bias"] else None

    stride, dilation, padding = cache["stride"], cache["dilation"], cache["padding"]
    xp_shape = tuple(cache["xp_shape"])
    if all(st == 1 for st in stride):
        # dxp[s] = sum_k grad[s - k*dil] . W[k]: a correlation of grad, zero-padded by dil*(K-1),
        # with the flipped kernel. With zero padding only the unpadded part of dxp is needed.
        full = [dl * (k - 1) for dl, k in zip(dilation, kernel_size)]
        if cache["padding_mode"] == "zeros" and all(f >= max(lo, hi) for f, (lo, hi) in zip(full, padding)):
            gpads, target, crop = [(f - lo, f - hi) for f, (lo, hi) in zip(full, padding)], cache["x_shape"][2:], False
        else:
            gpads, target, crop = [(f, f) for f in full], xp_shape[2:], True
        gp = pad(grad_out, gpads)
        gcol = _buffer(workspace, "gcol", (c_out,) + tuple(kernel_size) + (n,) + tuple(target), dtype)
        _im2col_cm(gp, kernel_size, (1,) * d, dilation, target, gcol)    # (C_out, *K, N, *T)
        flip = (slice(None),) * 3 + (slice(None, None, -1),) * d
        w_f = np.ascontiguousarray(w.reshape((groups, og, cg) + tuple(kernel_size))[flip].swapaxes(1, 2))
        w_f = w_f.reshape(groups, cg, og * k_numel)
        dx_cm = _group_gemm(w_f, gcol.reshape(groups, og * k_numel, n * math.prod(target)))
        dx = _batch_first(dx_cm.reshape((c_in, n) + tuple(target)), np.empty((n, c_in) + tuple(target), dtype=dtype))
        if crop:
            dx = np.ascontiguousarray(pad_backward(dx, padding, cache["padding_mode"]))
        return dx, dw, db
    w_g = w.reshape(groups, og, cg * k_numel)
    dcol = _group_gemm(w_g.swapaxes(-1, -2), g_g)                        # (G, C_in/G*K, N*O)
    dcol = dcol.reshape((c_in,) + tuple(kernel_size) + (n,) + tuple(out_shape))
    dxp_cm = np.zeros((c_in, n) + xp_shape[2:], dtype=dtype)
    for k in itertools.product(*(range(kk) for kk in kernel_size)):
        dxp_cm[(slice(None), slice(None)) + _offset_slices(k, stride, dilation, out_shape)] += dcol[(slice(None),) + k]
    dxp = _batch_first(dxp_cm, np.empty((n, c_in) + xp_shape[2:], dtype=dtype))
    dx = np.ascontiguousarray(pad_backward(dxp, padding, cache["padding_mode"]))
    return dx, dw, db


def conv_transpose_forward(x: np.ndarray, weight: np.ndarray, bias: np.ndarray | None, stride,
                           padding, output_padding, dilation, groups: int = 1,
                           layer: str = "conv_transpose", workspace: dict | None = None):
    """N-d transposed convolution as torch's ``conv_transpose{1,2,3}d`` (the adjoint of conv).

    x: ``(N, C_in, *S)``; weight: ``(C_in, C_out/groups, *K)``; ``padding``/``output_padding``:
    one int per spatial dim. ``O = (S-1)*stride - 2*padding + dilation*(K-1) + output_padding + 1``.
    Returns ``out`` ``(N, C_out, *O)`` and the cache for :func:`conv_transpose_backward`.
    Channel-major: ``col = W_g^T @ x_g`` is one GEMM per group for the whole batch, then col2im.
    """
    dtype = x.dtype
    w = weight.astype(dtype, copy=False)
    n, c_in = x.shape[:2]
    c_out, kernel_size = w.shape[1] * groups, w.shape[2:]
    in_shape = x.shape[2:]
    out_shape = tuple(conv_transpose_output_size(s, k, st, p, op, dl) for s, k, st, p, op, dl in
                      zip(in_shape, kernel_size, stride, padding, output_padding, dilation))
    _check_output(out_shape, layer, in_shape, kernel_size)
    full_shape = tuple(o + 2 * p for o, p in zip(out_shape, padding))
    k_numel, s_numel = math.prod(kernel_size), math.prod(in_shape)
    cig, cog = c_in // groups, c_out // groups
    x_cm = np.ascontiguousarray(x.swapaxes(0, 1))                        # (C_in, N, *S)
    x_g = x_cm.reshape(groups, cig, n * s_numel)
    w_g = w.reshape(groups, cig, cog * k_numel)
    col = _group_gemm(w_g.swapaxes(-1, -2), x_g)                          # (G, C_out/G*K, N*S)
    col = col.reshape((c_out,) + tuple(kernel_size) + (n,) + tuple(in_shape))
    full = np.zeros((c_out, n) + full_shape, dtype=dtype)
    for k in itertools.product(*(range(kk) for kk in kernel_size)):
        full[(slice(None), slice(None)) + _offset_slices(k, stride, dilation, in_shape)] += col[(slice(None),) + k]
    crop = full[(slice(None), slice(None)) + tuple(slice(p, p + o) for p, o in zip(padding, out_shape))]
    out = _batch_first(crop, np.empty((n, c_out) + out_shape, dtype=dtype),
                       None if bias is None else bias.astype(dtype, copy=False))
    cache = dict(x_shape=x.shape, x_cm=x_cm, weight=w, has_bias=bias is not None, stride=tuple(stride),
                 padding=tuple(padding), dilation=tuple(dilation), groups=groups, workspace=workspace)
    return out, cache


def conv_transpose_backward(grad_out: np.ndarray, cache: dict):
    """Gradients of :func:`conv_transpose_forward`: ``(dx, dweight, dbias)``.

    The input gradient is an ordinary convolution of ``grad_out`` with the same weight:
    ``col = im2col(pad(grad_out))`` (channel-major), ``dx = W @ col``,
    ``dweight = x @ col^T`` (computed as ``(col @ x^T)^T``), one GEMM per group each.
    """
    x_cm, w, groups = cache["x_cm"], cache["weight"], cache["groups"]
    dtype = x_cm.dtype
    grad_out = np.asarray(grad_out, dtype=dtype)
    n, c_in = cache["x_shape"][:2]
    c_out, kernel_size = w.shape[1] * groups, w.shape[2:]
    in_shape = tuple(cache["x_shape"][2:])
    stride, dilation, padding = cache["stride"], cache["dilation"], cache["padding"]
    gp = pad(grad_out, [(p, p) for p in padding])
    # only the extent the input positions reach (output_padding may leave a tail)
    gp = gp[(Ellipsis,) + tuple(slice(0, (s - 1) * st + dl * (k - 1) + 1) for s, st, dl, k in
                                zip(in_shape, stride, dilation, kernel_size))]
    col = _buffer(cache.get("workspace"), "gcol", (c_out,) + tuple(kernel_size) + (n,) + in_shape, dtype)
    _im2col_cm(gp, kernel_size, stride, dilation, in_shape, col)          # (C_out, *K, N, *S)
    k_numel, s_numel = math.prod(kernel_size), math.prod(in_shape)
    cig, cog = c_in // groups, c_out // groups
    col_g = col.reshape(groups, cog * k_numel, n * s_numel)
    x_g = x_cm.reshape(groups, cig, n * s_numel)
    w_g = w.reshape(groups, cig, cog * k_numel)
    dx_cm = _group_gemm(w_g, col_g).reshape((c_in, n) + in_shape)
    dx = _batch_first(dx_cm, np.empty((n, c_in) + in_shape, dtype=dtype))
    dw = np.ascontiguousarray(_group_gemm(col_g, x_g.swapaxes(-1, -2)).swapaxes(-1, -2)).reshape(w.shape)
    db = grad_out.sum(axis=(0,) + tuple(range(2, grad_out.ndim))) if cache["has_bias"] else None
    return dx, dw, db


# ---------------------------------------------------------------------------------------------
# pooling
# ---------------------------------------------------------------------------------------------
def _pool_geometry(in_shape, kernel_size, stride, padding, dilation, ceil_mode, layer):
    out_shape = tuple(pool_output_size(s, k, st, p, dl, ceil_mode) for s, k, st, p, dl in
                      zip(in_shape, kernel_size, stride, padding, dilation))
    _check_output(out_shape, layer, in_shape, kernel_size)
    # padded extent the windows need: left padding p, right padding whatever the last window
    # reaches (ceil_mode may read past the right padding; floor mode may leave a tail unused)
    need = tuple((o - 1) * st + dl * (k - 1) + 1 for o, st, dl, k in
                 zip(out_shape, stride, dilation, kernel_size))
    pads = tuple((p, max(nd - s - p, 0)) for p, nd, s in zip(padding, need, in_shape))
    return out_shape, need, pads


def _windows(xp, kernel_size, stride, dilation, out_shape):
    """View ``(N, C, *O, *K)`` of the windows of a padded input."""
    d = len(kernel_size)
    extent = tuple(dl * (k - 1) + 1 for k, dl in zip(kernel_size, dilation))
    v = sliding_window_view(xp, extent, axis=tuple(range(2, 2 + d)))
    return v[(slice(None), slice(None))
             + tuple(slice(0, st * (o - 1) + 1, st) for st, o in zip(stride, out_shape))
             + tuple(slice(None, None, dl) for dl in dilation)]


def max_pool_forward(x: np.ndarray, kernel_size, stride, padding, dilation, ceil_mode=False,
                     layer: str = "max_pool"):
    """Max pooling as torch's ``max_pool{1,2,3}d``: ``(N, C, *S) -> (N, C, *O)``.

    Returns ``(out, indices, cache)``; ``indices`` are torch's: int64 flat positions in the
    (unpadded) spatial input of each (n, c) plane. Padding is ``-inf``; the first maximum in
    window order wins ties and NaN propagates (as torch).
    """
    in_shape = x.shape[2:]
    out_shape, _, pads = _pool_geometry(in_shape, kernel_size, stride, padding, dilation,
                                        ceil_mode, layer)
    xp = _pad_constant(x, pads, -np.inf)
    # torch's scan: along each axis the window starts at o*stride - padding; the max starts at
    # -inf with the index of the first in-bounds position (first non-negative coordinate on the
    # dilation grid) and a later element replaces it only if greater (first max wins) or NaN.
    # A dilated window may lie wholly in the padding: it stays -inf and has no gradient.
    d = len(kernel_size)
    plane_strides = [math.prod(in_shape[axis + 1:]) for axis in range(d)]
    starts, first_flat, valid = [], np.zeros((1,) * d, dtype=np.int64), np.ones((1,) * d, bool)
    for axis, (s_n, o_n, st, p, dl) in enumerate(zip(in_shape, out_shape, stride, padding,
                                                     dilation)):
        start = (np.arange(o_n) * st - p).reshape((-1,) + (1,) * (d - axis - 1))
        first = start + (np.maximum(-start, 0) + dl - 1) // dl * dl
        valid = valid & (first < s_n)
        first_flat = first_flat + first * plane_strides[axis]
        starts.append(start)
    out = np.full(x.shape[:2] + out_shape, -np.inf, dtype=x.dtype)
    indices = np.broadcast_to(first_flat, out.shape).copy()
    # running max over the prod(K) kernel offsets, each a strided slice of the whole batch
    # (copied to a contiguous block first: numpy's strided elementwise ops are several times
    # slower than one strided copy plus contiguous ones)
    check_nan = bool(np.isnan(x).any())
    for k in itertools.product(*(range(kk) for kk in kernel_size)):
        v = np.ascontiguousarray(
            xp[(slice(None), slice(None)) + _offset_slices(k, stride, dilation, out_shape)])
        better = v > out
        if check_nan:
            better |= np.isnan(v)
        np.copyto(out, v, where=better)
        flat_k = sum((start + kk * dl) * ps for start, kk, dl, ps in
                     zip(starts, k, dilation, plane_strides))
        np.copyto(indices, flat_k, where=better)
    cache = dict(x_shape=x.shape, dtype=x.dtype, indices=indices, valid=valid)
    return out, indices, cache


def max_pool_backward(grad_out: np.ndarray, cache: dict) -> np.ndarray:
    """Route each output gradient to its argmax (overlapping windows add): ``(N, C, *O) ->
    (N, C, *S)``, one ``np.bincount`` over global flat indices."""
    n, c = cache["x_shape"][:2]
    plane = math.prod(cache["x_shape"][2:])
    valid = np.broadcast_to(cache["valid"], cache["indices"].shape).reshape(n * c, -1)
    idx = np.where(valid, cache["indices"].reshape(n * c, -1), 0) \
        + (np.arange(n * c) * plane)[:, None]
    weights = np.where(valid, np.asarray(grad_out, dtype=np.float64).reshape(n * c, -1), 0.0)
    dx = np.bincount(idx.ravel(), weights=weights.ravel(), minlength=n * c * plane)
    return dx.reshape(cache["x_shape"]).astype(cache["dtype"], copy=False)


def _avg_divisor(in_shape, out_shape, kernel_size, stride, padding, count_include_pad, dtype):
    """Per-output divisor, separable over axes (torch's avg_pool rule):
    window [o*s - p, min(o*s - p + k, S + p)); with count_include_pad its length, else the
    length of its intersection with [0, S)."""
    div = np.ones((1,) * len(out_shape), dtype=dtype)
    for axis, (s, o_n, k, st, p) in enumerate(zip(in_shape, out_shape, kernel_size, stride,
                                                   padding)):
        start = np.arange(o_n) * st - p
        end = np.minimum(start + k, s + p)
        if count_include_pad:
            length = end - start
        else:
            length = np.minimum(end, s) - np.maximum(start, 0)
        shape = [1] * len(out_shape)
        shape[axis] = o_n
        div = div * length.reshape(shape).astype(dtype)
    return div


def avg_pool_forward(x: np.ndarray, kernel_size, stride, padding, ceil_mode=False,
                     count_include_pad=True, layer: str = "avg_pool"):
    """Average pooling as torch's ``avg_pool{1,2,3}d``: ``(N, C, *S) -> (N, C, *O)``.

    Returns ``(out, cache)``. Zero padding; the divisor follows ``count_include_pad`` and never
    counts the part of a ``ceil_mode`` window beyond the right padding.
    """
    d = len(kernel_size)
    in_shape = x.shape[2:]
    dilation = (1,) * d
    out_shape, need, pads = _pool_geometry(in_shape, kernel_size, stride, padding, dilation,
                                           ceil_mode, layer)
    xp = _pad_constant(x, pads)
    win = _windows(xp, kernel_size, stride, dilation, out_shape)
    div = _avg_divisor(in_shape, out_shape, kernel_size, stride, padding, count_include_pad,
                       x.dtype)
    out = win.sum(axis=tuple(range(2 + d, 2 + 2 * d))) / div
    cache = dict(x_shape=x.shape, xp_shape=xp.shape, pads=pads, div=div,
                 kernel_size=tuple(kernel_size), stride=tuple(stride), dtype=x.dtype)
    return out, cache


def avg_pool_backward(grad_out: np.ndarray, cache: dict) -> np.ndarray:
    """Spread ``grad/divisor`` over each window (col2im of a broadcast column):
    ``(N, C, *O) -> (N, C, *S)``."""
    k = cache["kernel_size"]
    d = len(k)
    g = np.asarray(grad_out, dtype=cache["dtype"]) / cache["div"]
    dcol = np.broadcast_to(g.reshape(g.shape[:2] + (1,) * d + g.shape[2:]),
                           g.shape[:2] + k + g.shape[2:])
    dxp = col2im(dcol, cache["xp_shape"], k, cache["stride"], (1,) * d)
    return np.ascontiguousarray(pad_backward(dxp, cache["pads"], "zeros"))


def adaptive_pool_bins(size: int, out: int) -> tuple[np.ndarray, np.ndarray]:
    """torch's adaptive bins: ``start = floor(i*size/out)``, ``end = ceil((i+1)*size/out)``."""
    i = np.arange(out)
    return (i * size) // out, -((-(i + 1) * size) // out)


def _adaptive_matrix(size: int, out: int, dtype) -> np.ndarray:
    start, end = adaptive_pool_bins(size, out)
    j = np.arange(size)
    inside = (j[None, :] >= start[:, None]) & (j[None, :] < end[:, None])
    return inside.astype(dtype) / (end - start)[:, None].astype(dtype)


def _apply_along(y: np.ndarray, a: np.ndarray, axis: int) -> np.ndarray:
    """``y`` with axis ``axis`` (length m) replaced by ``a @ y`` along it (``a``: (p, m))."""
    return np.moveaxis(np.matmul(a, np.moveaxis(y, axis, -2)), -2, axis)


def adaptive_avg_pool_forward(x: np.ndarray, output_size):
    """Adaptive average pooling: ``(N, C, *S) -> (N, C, *output_size)``; each output averages
    its bin (bins may overlap). Separable: one ``(out, in)`` averaging matrix per axis."""
    d = len(output_size)
    lead = x.ndim - d
    mats = [_adaptive_matrix(s, o, x.dtype) for s, o in zip(x.shape[lead:], output_size)]
    out = x
    for axis, a in enumerate(mats, start=lead):
        out = _apply_along(out, a, axis)
    return np.ascontiguousarray(out), dict(mats=mats, lead=lead, dtype=x.dtype)


def adaptive_avg_pool_backward(grad_out: np.ndarray, cache: dict) -> np.ndarray:
    g = np.asarray(grad_out, dtype=cache["dtype"])
    for axis, a in enumerate(cache["mats"], start=cache["lead"]):
        g = _apply_along(g, a.T, axis)
    return np.ascontiguousarray(g)


# ---------------------------------------------------------------------------------------------
# upsampling (torch's "nearest" and "bilinear"/"linear" interpolate)
# ---------------------------------------------------------------------------------------------
def nearest_indices(size: int, out: int, scale: float | None = None) -> np.ndarray:
    """torch's legacy ``nearest``: identity if ``out == size``, ``i >> 1`` if ``out == 2*size``,
    else ``min(floor(float32(i) * float32 scale), size-1)`` where the scale is ``1/scale_factor``
    when a scale factor was given, else ``size/out`` (all in float32, as torch's kernel)."""
    i = np.arange(out)
    if out == size:
        return i
    if out == 2 * size:
        return i >> 1
    if scale is not None and scale > 0:
        s = np.float32(1.0 / scale)
    else:
        s = np.float32(size) / np.float32(out)
    src = np.floor(i.astype(np.float32) * s).astype(np.int64)
    return np.minimum(src, size - 1)


def linear_interp_matrix(size: int, out: int, align_corners: bool, scale: float | None = None,
                         dtype=np.float64) -> np.ndarray:
    """``(out, size)`` matrix of torch's linear interpolation weights along one axis
    (arithmetic in ``dtype``, as torch's ``opmath``)."""
    m = np.zeros((out, size), dtype=dtype)
    i = np.arange(out)
    if out == size:
        m[i, i] = 1
        return m
    one = dtype(1)
    if align_corners:
        ratio = dtype(size - 1) / dtype(out - 1) if out > 1 else dtype(0)
        src = ratio * i.astype(dtype)
    else:
        ratio = dtype(1.0 / scale) if (scale is not None and scale > 0) else \
            dtype(size) / dtype(out)
        src = ratio * (i.astype(dtype) + dtype(0.5)) - dtype(0.5)
        src = np.maximum(src, dtype(0))
    i0 = np.minimum(np.floor(src).astype(np.int64), size - 1)
    lam1 = np.clip(src - i0.astype(dtype), 0, 1).astype(dtype)
    i1 = i0 + (i0 < size - 1)
    np.add.at(m, (i, i0), one - lam1)
    np.add.at(m, (i, i1), lam1)
    return m


def upsample_forward(x: np.ndarray, out_size, mode: str = "nearest",
                     align_corners: bool | None = None, scales=None):
    """Interpolate the spatial axes of ``x`` ``(N, C, *S) -> (N, C, *out_size)``.

    ``mode``: ``nearest`` (gather) or ``bilinear``/``linear``/``trilinear`` (separable weight
    matrices); ``scales``: the user's scale factor per axis or None (torch uses them for the
    index arithmetic when given).
    """
    d = len(out_size)
    lead = x.ndim - d
    scales = tuple(scales) if scales is not None else (None,) * d
    in_shape = x.shape[lead:]
    if mode == "nearest":
        idx = [nearest_indices(s, o, sc) for s, o, sc in zip(in_shape, out_size, scales)]
        out = x
        for axis, ix in enumerate(idx, start=lead):
            out = np.take(out, ix, axis=axis)
        mats = []
        for s, ix in zip(in_shape, idx):   # 0/1 matrices for the adjoint
            m = np.zeros((len(ix), s), dtype=x.dtype)
            m[np.arange(len(ix)), ix] = 1
            mats.append(m)
    elif mode in ("linear", "bilinear", "trilinear"):
        mats = [linear_interp_matrix(s, o, bool(align_corners), sc, x.dtype.type)
                for s, o, sc in zip(in_shape, out_size, scales)]
        out = x
        for axis, a in enumerate(mats, start=lead):
            out = _apply_along(out, a, axis)
    else:
        raise ValueError(f"mode must be 'nearest' or 'bilinear', got {mode!r}")
    return np.ascontiguousarray(out), dict(mats=mats, lead=lead, dtype=x.dtype)


def upsample_backward(grad_out: np.ndarray, cache: dict) -> np.ndarray:
    """Adjoint of :func:`upsample_forward`: ``(N, C, *out_size) -> (N, C, *S)``."""
    g = np.asarray(grad_out, dtype=cache["dtype"])
    for axis, a in enumerate(cache["mats"], start=cache["lead"]):
        g = _apply_along(g, a.T, axis)
    return np.ascontiguousarray(g)
