"""Formulas the course quizzes: output sizes, parameter counts, multiply-accumulates, receptive fields.

Everything here is exact integer (or ``fractions.Fraction``) arithmetic in pure Python, so a
judge can compare a student's answer with ``==``. Conventions follow ``torch.nn``:

* spatial sizes are per axis; ``kernel_size``/``stride``/``padding``/``dilation`` may be an int
  (same on every axis) or a tuple with one entry per axis;
* an *effective* kernel of a dilated convolution spans ``d·(k − 1) + 1`` input pixels;
* division is floor division, as in torch (the lecture's ``W2 = (W1 − F + 2P)/S + 1`` assumes
  the division is exact; torch, and this module, floor it).

Lecture formulas and where they live here:

==============================================  ===========================================
``W2 = (W1 − F + 2P)/S + 1``                     :func:`conv_output_size`
``W2 = (W1 − 1)·S − 2P + d(F − 1) + P_out + 1``  :func:`conv_transpose_output_size`
``(F·F·C_in + 1)·C_out`` parameters              :func:`conv_params`
``K²·C_in + C_in·C_out`` (separable)             :func:`depthwise_separable_params`
``(n_in + 1)·n_out`` (fully connected)           :func:`linear_params`
``H·W·K²·C_in·C_out`` operations                 :func:`conv_macs`
``H·W·(K²·C_in + C_in·C_out)`` (separable)       :func:`depthwise_separable_macs`
separable / standard = ``1/N + 1/D_K²``          :func:`separable_cost_ratio`
two 3×3 vs one 5×5: ``18/25``                    :func:`factorized_5x5_ratio`
receptive field 3, 5, 7 after 1, 2, 3 3×3 convs  :func:`receptive_field`
==============================================  ===========================================
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction
from numbers import Integral
from typing import Iterable, Sequence

__all__ = [
    "conv_output_size", "conv_transpose_output_size", "pool_output_size", "conv_output_shape",
    "conv_params", "conv_transpose_params", "depthwise_separable_params", "linear_params",
    "batchnorm_params", "batchnorm_buffers", "count_parameters", "count_buffers",
    "conv_macs", "linear_macs", "depthwise_separable_macs", "separable_cost_ratio",
    "factorized_ratio", "factorized_5x5_ratio",
    "ReceptiveField", "receptive_field", "receptive_field_per_layer",
]


# ----------------------------------------------------------------------------- validation

def _int(value, name: str, minimum: int) -> int:
    if not isinstance(value, Integral) or isinstance(value, bool):
        raise ValueError(f"{name} must be an int, got {value!r}")
    value = int(value)
    if value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value}")
    return value


def _tuple(value, n: int, name: str, minimum: int) -> tuple[int, ...]:
    """``3 -> (3,)*n``; a tuple/list of ``n`` ints passes through; every entry >= ``minimum``."""
    if isinstance(value, (tuple, list)):
        if len(value) != n:
            raise ValueError(f"{name} must be an int or a tuple of {n} ints, got {value!r}")
        return tuple(_int(v, name, minimum) for v in value)
    return (_int(value, name, minimum),) * n


def _bool(value, name: str) -> bool:
    if not isinstance(value, bool):
        raise ValueError(f"{name} must be a bool, got {value!r}")
    return value


# ----------------------------------------------------------------------------- output sizes

def conv_output_size(size: int, kernel_size: int, stride: int = 1, padding: int = 0,
                     dilation: int = 1) -> int:
    """Output length of a convolution along one axis (torch's ``Conv*d`` rule).

    ``out = floor((size + 2·padding − dilation·(kernel_size − 1) − 1) / stride) + 1``,
    i.e. the lecture's ``W2 = (W1 − F + 2P)/S + 1`` with the effective kernel
    ``F = dilation·(kernel_size − 1) + 1`` and the division floored.

    Raises ``ValueError`` naming ``kernel_size`` when the (effective) kernel does not fit
    into the padded input (the output would be empty), as torch refuses such a layer.
    """
    size = _int(size, "size", 1)
    kernel_size = _int(kernel_size, "kernel_size", 1)
    stride = _int(stride, "stride", 1)
    padding = _int(padding, "padding", 0)
    dilation = _int(dilation, "dilation", 1)
    effective = dilation * (kernel_size - 1) + 1
    padded = size + 2 * padding
    if effective > padded:
        raise ValueError(
            f"kernel_size: effective kernel dilation*(kernel_size-1)+1 = {effective} is larger "
            f"than the padded input size + 2*padding = {padded}; the output would be empty")
    return (padded - effective) // stride + 1


def conv_transpose_output_size(size: int, kernel_size: int, stride: int = 1, padding: int = 0,
                               output_padding: int = 0, dilation: int = 1) -> int:
    """Output length of a transposed convolution along one axis (torch's ``ConvTranspose*d``).

    ``out = (size − 1)·stride − 2·padding + dilation·(kernel_size − 1) + output_padding + 1``.
    With ``kernel_size == stride`` and no padding this is the lecture's ``W2 = W1·S``.
    ``output_padding`` must be smaller than ``stride`` or ``dilation`` (torch's rule); it picks
    one of the ``stride`` input sizes a strided convolution maps to ``size``.
    """
    size = _int(size, "size", 1)
    kernel_size = _int(kernel_size, "kernel_size", 1)
    stride = _int(stride, "stride", 1)
    padding = _int(padding, "padding", 0)
    output_padding = _int(output_padding, "output_padding", 0)
    dilation = _int(dilation, "dilation", 1)
    if output_padding >= stride and output_padding >= dilation:
        raise ValueError(f"output_padding must be smaller than either stride or dilation, got "
                         f"output_padding={output_padding}, stride={stride}, dilation={dilation}")
    out = (size - 1) * stride - 2 * padding + dilation * (kernel_size - 1) + output_padding + 1
    if out < 1:
        raise ValueError(f"padding={padding} is too large: the output size would be {out}")
    return out


def pool_output_size(size: int, kernel_size: int, stride: int | None = None, padding: int = 0,
                     dilation: int = 1, ceil_mode: bool = False) -> int:
    """Output length of ``MaxPool*d``/``AvgPool*d`` along one axis (torch's rule).

    ``stride`` defaults to ``kernel_size``; ``padding`` must be at most ``kernel_size // 2``.
    Floor mode is :func:`conv_output_size`. With ``ceil_mode=True`` the division is rounded up,
    so a last, partial window is kept, but a window that would *start* in the right padding is
    dropped: if ``(out − 1)·stride >= size + padding`` then ``out −= 1``.
    """
    size = _int(size, "size", 1)
    kernel_size = _int(kernel_size, "kernel_size", 1)
    stride = kernel_size if stride is None else _int(stride, "stride", 1)
    padding = _int(padding, "padding", 0)
    dilation = _int(dilation, "dilation", 1)
    ceil_mode = _bool(ceil_mode, "ceil_mode")
    if 2 * padding > kernel_size:
        raise ValueError(f"padding should be at most half of kernel_size, got padding={padding}, "
                         f"kernel_size={kernel_size}")
    effective = dilation * (kernel_size - 1) + 1
    padded = size + 2 * padding
    if effective > padded:
        raise ValueError(
            f"kernel_size: effective kernel dilation*(kernel_size-1)+1 = {effective} is larger "
            f"than the padded input size + 2*padding = {padded}; the output would be empty")
    span = padded - effective
    if not ceil_mode:
        return span // stride + 1
    out = -(-span // stride) + 1
    if (out - 1) * stride >= size + padding:
        out -= 1
    return out


def conv_output_shape(in_shape: Sequence[int], out_channels: int, kernel_size,
                      stride=1, padding=0, dilation=1, groups: int = 1) -> tuple[int, ...]:
    """Shape produced by ``nn.Conv2d``: ``(C_in, H, W) -> (C_out, H_out, W_out)`` or
    ``(N, C_in, H, W) -> (N, C_out, H_out, W_out)``.

    ``kernel_size``, ``stride``, ``padding``, ``dilation`` are ints or ``(h, w)`` tuples.
    ``in_channels`` (``C_in``) and ``out_channels`` must be divisible by ``groups``.
    """
    if not isinstance(in_shape, (tuple, list)) or len(in_shape) not in (3, 4):
        raise ValueError(f"in_shape must be (C, H, W) or (N, C, H, W), got {in_shape!r}")
    batch = tuple(_int(n, "in_shape", 1) for n in in_shape[:-3])
    channels = _int(in_shape[-3], "in_shape", 1)
    out_channels = _int(out_channels, "out_channels", 1)
    groups = _int(groups, "groups", 1)
    if channels % groups:
        raise ValueError(f"groups={groups} must divide the input channels {channels}")
    if out_channels % groups:
        raise ValueError(f"groups={groups} must divide out_channels={out_channels}")
    k = _tuple(kernel_size, 2, "kernel_size", 1)
    s = _tuple(stride, 2, "stride", 1)
    p = _tuple(padding, 2, "padding", 0)
    d = _tuple(dilation, 2, "dilation", 1)
    spatial = tuple(conv_output_size(n, *args)
                    for n, args in zip(in_shape[-2:], zip(k, s, p, d)))
    return batch + (out_channels,) + spatial


# ----------------------------------------------------------------------------- parameter counts

def conv_params(in_channels: int, out_channels: int, kernel_size, groups: int = 1,
                bias: bool = True, dims: int = 2) -> int:
    """Parameters of ``nn.Conv{dims}d``: ``C_out·(C_in/groups)·prod(kernel) (+ C_out)``.

    For ``groups=1``, ``dims=2`` this is the lecture's ``(F·F·C_in + 1)·C_out``.
    ``weight`` has shape ``(C_out, C_in/groups, *kernel_size)``, ``bias`` ``(C_out,)``.
    """
    in_channels = _int(in_channels, "in_channels", 1)
    out_channels = _int(out_channels, "out_channels", 1)
    groups = _int(groups, "groups", 1)
    dims = _int(dims, "dims", 1)
    bias = _bool(bias, "bias")
    if in_channels % groups:
        raise ValueError(f"in_channels={in_channels} must be divisible by groups={groups}")
    if out_channels % groups:
        raise ValueError(f"out_channels={out_channels} must be divisible by groups={groups}")
    k = _tuple(kernel_size, dims, "kernel_size", 1)
    return out_channels * (in_channels // groups) * math.prod(k) + (out_channels if bias else 0)


def conv_transpose_params(in_channels: int, out_channels: int, kernel_size, groups: int = 1,
                          bias: bool = True, dims: int = 2) -> int:
    """Parameters of ``nn.ConvTranspose{dims}d``: weight ``(C_in, C_out/groups, *kernel)``
    plus ``C_out`` biases; the same number as the convolution it transposes, ``C_in`` and
    ``C_out`` swapped in the weight's layout only."""
    return conv_params(in_channels, out_channels, kernel_size, groups=groups, bias=bias,
                       dims=dims)


def depthwise_separable_params(in_channels: int, out_channels: int, kernel_size,
                               bias: bool = True, dims: int = 2) -> int:
    """Depthwise ``k×k`` conv (``groups=C_in``) followed by a pointwise ``1×1`` conv.

    Without biases this is the lecture's ``K²·C_in + C_in·C_out``; ``bias=True`` adds
    ``C_in + C_out`` (one bias per depthwise and per pointwise filter).
    """
    return (conv_params(in_channels, in_channels, kernel_size, groups=in_channels, bias=bias,
                        dims=dims)
            + conv_params(in_channels, out_channels, 1, bias=bias, dims=dims))


def linear_params(in_features: int, out_features: int, bias: bool = True) -> int:
    """Parameters of ``nn.Linear``: ``(in_features + 1)·out_features`` (lecture: (784+1)·1000)."""
    in_features = _int(in_features, "in_features", 1)
    out_features = _int(out_features, "out_features", 1)
    bias = _bool(bias, "bias")
    return (in_features + (1 if bias else 0)) * out_features


def batchnorm_params(num_features: int, affine: bool = True) -> int:
    """Trainable parameters of ``nn.BatchNorm*d``: ``weight`` (γ) and ``bias`` (β), ``2·C``
    when ``affine`` else 0."""
    num_features = _int(num_features, "num_features", 1)
    return 2 * num_features if _bool(affine, "affine") else 0


def batchnorm_buffers(num_features: int, track_running_stats: bool = True,
                      include_num_batches_tracked: bool = False) -> int:
    """Buffer elements of ``nn.BatchNorm*d``: ``running_mean`` and ``running_var``, ``2·C``.

    torch also keeps ``num_batches_tracked``, a 0-d integer buffer (one element), which is
    counted only when ``include_num_batches_tracked=True``; so
    ``count_buffers(nn.BatchNorm2d(C)) == batchnorm_buffers(C, include_num_batches_tracked=True)
    == 2·C + 1``. Buffers are state, not parameters: the optimizer never updates them.
    """
    num_features = _int(num_features, "num_features", 1)
    if not _bool(track_running_stats, "track_running_stats"):
        return 0
    extra = 1 if _bool(include_num_batches_tracked, "include_num_batches_tracked") else 0
    return 2 * num_features + extra


def count_parameters(module, trainable_only: bool = True) -> int:
    """Number of parameter elements of a ``torch.nn.Module`` (shared ones counted once).

    Only parameters with ``requires_grad`` count unless ``trainable_only=False``; buffers
    (batch-norm running statistics) never count. Works on ``meta``-device modules.
    """
    if not hasattr(module, "parameters"):
        raise ValueError(f"module must be a torch.nn.Module, got {type(module).__name__}")
    _bool(trainable_only, "trainable_only")
    return sum(p.numel() for p in module.parameters()
               if p.requires_grad or not trainable_only)


def count_buffers(module) -> int:
    """Number of buffer elements of a ``torch.nn.Module`` (``running_mean``, ``running_var``,
    ``num_batches_tracked``, ...)."""
    if not hasattr(module, "buffers"):
        raise ValueError(f"module must be a torch.nn.Module, got {type(module).__name__}")
    return sum(b.numel() for b in module.buffers())


# ----------------------------------------------------------------------------- multiply-accumulates

def _out_size(out_size, name: str = "out_size") -> tuple[int, ...]:
    if isinstance(out_size, (tuple, list)):
        if not out_size:
            raise ValueError(f"{name} must be an int or a non-empty tuple of ints")
        return tuple(_int(v, name, 1) for v in out_size)
    return (_int(out_size, name, 1), _int(out_size, name, 1))


def conv_macs(in_channels: int, out_channels: int, kernel_size, out_size, groups: int = 1) -> int:
    """Multiply-accumulates of one convolution on one sample (bias additions not counted).

    ``out_size`` is the output's spatial size (an int means square ``H = W``; a tuple of 1, 2
    or 3 entries picks Conv1d/2d/3d). Lecture: ``H·W·K·K·C_in·C_out`` for ``groups=1``;
    in general ``prod(out_size)·C_out·(C_in/groups)·prod(kernel)``. FLOPs are ``2·MACs``.
    """
    spatial = _out_size(out_size)
    weights = conv_params(in_channels, out_channels, kernel_size, groups=groups, bias=False,
                          dims=len(spatial))
    return math.prod(spatial) * weights


def linear_macs(in_features: int, out_features: int, batch: int = 1) -> int:
    """Multiply-accumulates of ``nn.Linear`` on ``batch`` samples: ``batch·in·out``."""
    return _int(batch, "batch", 1) * linear_params(in_features, out_features, bias=False)


def depthwise_separable_macs(in_channels: int, out_channels: int, kernel_size, out_size) -> int:
    """MACs of a depthwise-separable convolution producing ``out_size``:
    ``H·W·K²·C_in`` (depthwise) ``+ H·W·C_in·C_out`` (pointwise), as in the MobileNet lecture."""
    spatial = _out_size(out_size)
    return (conv_macs(in_channels, in_channels, kernel_size, spatial, groups=in_channels)
            + conv_macs(in_channels, out_channels, 1, spatial))


def separable_cost_ratio(kernel_size: int, out_channels: int) -> Fraction:
    """Cost of a depthwise-separable conv relative to a standard one (MobileNet paper, eq. 5):

    ``(D_K²·M·D_F² + M·N·D_F²) / (D_K²·M·N·D_F²) = 1/N + 1/D_K²``,
    independent of the input channels ``M`` and the map size ``D_F``; exact ``Fraction``.
    For 3×3 kernels and 512 output channels: ``1/512 + 1/9`` (about 8.5 times cheaper).
    """
    kernel_size = _int(kernel_size, "kernel_size", 1)
    out_channels = _int(out_channels, "out_channels", 1)
    return Fraction(1, out_channels) + Fraction(1, kernel_size * kernel_size)


def factorized_ratio(kernel_size: int, small_kernel: int = 3) -> Fraction:
    """Weights (and MACs) of a stack of ``small_kernel`` convs with the same receptive field as
    one ``kernel_size`` conv, relative to that conv, for equal channel counts everywhere.

    ``n = (kernel_size − 1)/(small_kernel − 1)`` small convs see ``kernel_size`` pixels, so the
    ratio is ``n·small_kernel² / kernel_size²``: 18/25 for 5×5 (two 3×3), 27/49 for 7×7.
    """
    kernel_size = _int(kernel_size, "kernel_size", 2)
    small_kernel = _int(small_kernel, "small_kernel", 2)
    if (kernel_size - 1) % (small_kernel - 1):
        raise ValueError(f"small_kernel={small_kernel} convs cannot reach exactly "
                         f"kernel_size={kernel_size}: (kernel_size-1) must be a multiple of "
                         f"(small_kernel-1)")
    n = (kernel_size - 1) // (small_kernel - 1)
    return Fraction(n * small_kernel * small_kernel, kernel_size * kernel_size)


def factorized_5x5_ratio() -> Fraction:
    """Two 3×3 convs vs one 5×5 (Inception v2): ``2·9·C_in·C_out / (25·C_in·C_out) = 18/25``."""
    return factorized_ratio(5, 3)


# ----------------------------------------------------------------------------- receptive fields

@dataclass(frozen=True)
class ReceptiveField:
    """Receptive field of the units of a layer with respect to the network input (one axis).

    ``size``: how many input pixels one unit sees (``r_0``); ``stride``: distance in input
    pixels between the fields of neighbouring units (the effective jump ``S = prod s_l``);
    ``padding``: effective padding ``P`` such that unit ``j`` sees input pixels
    ``j·stride − padding ... j·stride − padding + size − 1`` (indices outside the input are
    padding).
    """

    size: int
    stride: int
    padding: int

    def span(self, index: int) -> tuple[int, int]:
        """First and last input index (inclusive) seen by output unit ``index``."""
        first = index * self.stride - self.padding
        return first, first + self.size - 1


_LAYER_KEYS = ("kernel_size", "stride", "padding", "dilation")
_LAYER_DEFAULTS = {"stride": 1, "padding": 0, "dilation": 1}


def _layer_value(value, name: str, axis: int | None, minimum: int) -> int:
    if isinstance(value, (tuple, list)):
        if axis is None:
            if len(set(value)) != 1:
                raise ValueError(f"{name}={value!r} differs between axes: pass axis=")
            value = value[0]
        else:
            if not 0 <= axis < len(value):
                raise ValueError(f"axis={axis} is out of range for {name}={value!r}")
            value = value[axis]
    return _int(value, name, minimum)


def _parse_layer(layer, axis: int | None) -> tuple[int, int, int, int]:
    """A layer as ``(k, s, p, d)``: from a dict, a tuple ``(k[, s[, p[, d]]])`` or any object
    with ``kernel_size``/``stride``/``padding``/``dilation`` attributes (torch Conv/Pool)."""
    if isinstance(layer, dict):
        unknown = set(layer) - set(_LAYER_KEYS)
        if unknown:
            raise ValueError(f"layers: unknown keys {sorted(unknown)}; use {_LAYER_KEYS}")
        if "kernel_size" not in layer:
            raise ValueError("layers: every layer needs a kernel_size")
        raw = {**_LAYER_DEFAULTS, **layer}
    elif isinstance(layer, (tuple, list)):
        if not 1 <= len(layer) <= 4:
            raise ValueError(f"layers: a tuple layer is (kernel_size, stride, padding, "
                             f"dilation), got {layer!r}")
        raw = {**_LAYER_DEFAULTS, **dict(zip(_LAYER_KEYS, layer))}
    elif hasattr(layer, "kernel_size"):
        raw = {key: getattr(layer, key, _LAYER_DEFAULTS.get(key)) for key in _LAYER_KEYS}
        if raw["stride"] is None:  # pooling layers: stride defaults to kernel_size
            raw["stride"] = raw["kernel_size"]
        if isinstance(raw["padding"], str):
            raise ValueError(f"layers: string padding {raw['padding']!r} is not supported")
    else:
        raise ValueError(f"layers: cannot read a layer from {type(layer).__name__}")
    k = _layer_value(raw["kernel_size"], "kernel_size", axis, 1)
    s = _layer_value(raw["stride"], "stride", axis, 1)
    p = _layer_value(raw["padding"], "padding", axis, 0)
    d = _layer_value(raw["dilation"], "dilation", axis, 1)
    return k, s, p, d


def receptive_field_per_layer(layers: Iterable, axis: int | None = None) -> list[ReceptiveField]:
    """Receptive field of every layer's output units, first layer first.

    Forward form of the recurrences of Araujo, Norris & Sim (Distill, 2019), with the dilated
    kernel ``k_l ← d_l(k_l − 1) + 1``::

        r_l = r_{l-1} + (k_l − 1)·S_{l-1}      (r_0 = 1)
        S_l = S_{l-1}·s_l                      (S_0 = 1)
        P_l = P_{l-1} + p_l·S_{l-1}            (P_0 = 0)

    equivalent to the backward recurrence ``r_{l-1} = s_l·r_l + k_l − s_l`` run from the top.
    ``axis`` picks one entry from tuple-valued arguments (e.g. ``kernel_size=(3, 5)``).
    """
    size, stride, padding = 1, 1, 0
    out = []
    for layer in layers:
        k, s, p, d = _parse_layer(layer, axis)
        k_eff = d * (k - 1) + 1
        size += (k_eff - 1) * stride
        padding += p * stride
        stride *= s
        out.append(ReceptiveField(size=size, stride=stride, padding=padding))
    return out


def receptive_field(layers: Iterable, axis: int | None = None) -> ReceptiveField:
    """Receptive field of the last layer of a stack w.r.t. its input (one axis).

    ``layers``: dicts ``{"kernel_size": 3, "stride": 1, "padding": 1, "dilation": 1}`` (missing
    keys default to 1, 1→stride, 0→padding), tuples ``(kernel_size, stride, padding,
    dilation)`` (trailing entries optional) or torch Conv/Pool modules. Pooling layers count
    like convolutions of their kernel (they have no weights but a field). An empty stack has
    ``size=1, stride=1, padding=0``.

    Example (lecture): three 3×3 convs → ``size`` 7; three 5×5 → 13.
    """
    per_layer = receptive_field_per_layer(layers, axis=axis)
    return per_layer[-1] if per_layer else ReceptiveField(size=1, stride=1, padding=0)
