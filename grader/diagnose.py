"""Named mistakes: when a known wrong implementation explains the student's answer, say so.

Each ``Alternative`` computes, with the trusted reference (no layer math lives here), what a
specific mistaken implementation would have returned for the same case; if the student's answer
matches it, the feedback names the mistake. Generic diagnoses read the error pattern itself
(wrong only at the border, off by the batch size, a reshaped/transposed answer).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

from .judge import Comparison, as_array, close


@dataclass
class Diagnosis:
    code: str
    message: str

    def as_dict(self) -> dict:
        return {"code": self.code, "message": self.message}


@dataclass
class Alternative:
    code: str
    part: str                                   # "output", "input", or a parameter name
    message: str
    layers: tuple[str, ...]                     # reference class names it applies to
    applies: Callable[[object], bool]
    compute: Callable[[object, dict], np.ndarray]


def _kw(case, name, default):
    return case.kwargs.get(name, default)


def _nontrivial(value, trivial) -> bool:
    if isinstance(value, tuple):
        return any(v != trivial for v in value)
    return value != trivial


def _spatial_axes(arr: np.ndarray) -> tuple[int, ...]:
    return tuple(range(2, arr.ndim))


def _forward_with(case, state_fn=None, **overrides) -> np.ndarray:
    layer = case.build_reference(**overrides)
    if state_fn is not None:
        layer.load_state_dict(state_fn(dict(case.state)))
    return np.asarray(layer.forward(case.x))


def _backward_with(case, part: str, state_fn=None, **overrides) -> np.ndarray:
    layer = case.build_reference(**overrides)
    if state_fn is not None:
        layer.load_state_dict(state_fn(dict(case.state)))
    layer.forward(case.x)
    dx = layer.backward(case.grad_out)
    return np.asarray(dx if part == "input" else layer.grads[part])


def _flip_weight(state: dict) -> dict:
    w = state["weight"]
    state["weight"] = np.ascontiguousarray(np.flip(w, axis=_spatial_axes(w)))
    return state


def _zero_bias(state: dict) -> dict:
    state["bias"] = np.zeros_like(state["bias"])
    return state


CONV = ("Conv1d", "Conv2d", "Conv3d")
CONVT = ("ConvTranspose1d", "ConvTranspose2d")
POOL = ("MaxPool1d", "MaxPool2d", "AvgPool1d", "AvgPool2d")

ALTERNATIVES: list[Alternative] = [
    Alternative(
        "flipped_kernel", "output",
        "Your output matches a *convolution* with the kernel flipped. This layer computes "
        "cross-correlation (as torch does): slide the kernel without flipping it.",
        CONV + CONVT, lambda c: True, lambda c, e: _forward_with(c, _flip_weight)),
    Alternative(
        "zero_padding_instead", "output",
        "Your output is right in the interior but matches *zero* padding at the border; this case "
        "uses `padding_mode={mode!r}`.",
        CONV, lambda c: _kw(c, "padding_mode", "zeros") != "zeros" and _nontrivial(_kw(c, "padding", 0), 0),
        lambda c, e: _forward_with(c, padding_mode="zeros")),
    Alternative(
        "padding_ignored", "output",
        "Your output has the shape (and values) of the layer *without padding*: pad the input by "
        "`padding` on each side before sliding the window.",
        CONV + POOL, lambda c: isinstance(_kw(c, "padding", 0), (int, tuple)) and _nontrivial(_kw(c, "padding", 0), 0),
        lambda c, e: _forward_with(c, padding=0)),
    Alternative(
        "stride_ignored", "output",
        "Your output matches stride 1: the window must move by `stride` positions "
        "(output size (W - F + 2P) / S + 1).",
        CONV + CONVT, lambda c: _nontrivial(_kw(c, "stride", 1), 1),
        lambda c, e: _forward_with(c, stride=1, **({"output_padding": 0} if "output_padding" in c.kwargs else {}))),
    Alternative(
        "stride_ignored", "output",
        "Your output matches stride 1: pooling windows move by `stride` (default: the kernel size).",
        POOL, lambda c: _kw(c, "stride", None) != 1,
        lambda c, e: _forward_with(c, stride=1)),
    Alternative(
        "dilation_ignored", "output",
        "Your output matches dilation 1: with dilation d the kernel taps are d pixels apart "
        "(effective kernel size d·(F-1)+1).",
        CONV + CONVT + ("MaxPool1d", "MaxPool2d"), lambda c: _nontrivial(_kw(c, "dilation", 1), 1),
        lambda c, e: _forward_with(c, dilation=1)),
    Alternative(
        "bias_missing", "output",
        "Your output matches the layer without its bias: add `bias[c]` to every position of "
        "output channel c.",
        CONV + CONVT + ("Linear",), lambda c: "bias" in c.state,
        lambda c, e: _forward_with(c, _zero_bias)),
    Alternative(
        "count_include_pad_swapped", "output",
        "Your averages at the border divide by the wrong count: with `count_include_pad={flag}` "
        "the padded zeros {verb} counted.",
        ("AvgPool1d", "AvgPool2d"), lambda c: _nontrivial(_kw(c, "padding", 0), 0),
        lambda c, e: _forward_with(c, count_include_pad=not _kw(c, "count_include_pad", True))),
    Alternative(
        "output_padding_ignored", "output",
        "Your output is missing the extra `output_padding` rows/columns at the bottom/right.",
        CONVT, lambda c: _nontrivial(_kw(c, "output_padding", 0), 0),
        lambda c, e: _forward_with(c, output_padding=0)),
    # ---- backward ---------------------------------------------------------------------
    Alternative(
        "flipped_kernel", "input",
        "Your input gradient matches a layer whose kernel is flipped: if your forward flips the "
        "kernel, fix that first; the input gradient is the full correlation of the upstream "
        "gradient with the kernel rotated by 180°.",
        CONV, lambda c: True, lambda c, e: _backward_with(c, "input", _flip_weight)),
    Alternative(
        "flipped_kernel", "weight",
        "Your weight gradient is flipped in space: dW[o, i, u, v] = Σ grad_out[n, o, y, x] · "
        "x_padded[n, i, y·S + u·D, x·S + v·D] — no flip.",
        CONV + CONVT, lambda c: True, lambda c, e: np.flip(e["weight"], axis=_spatial_axes(e["weight"]))),
    Alternative(
        "max_grad_to_every_element", "input",
        "Your max-pool gradient is sent to every element of the window; only the position that "
        "was the maximum (the argmax) receives the upstream gradient.",
        ("MaxPool1d", "MaxPool2d"), lambda c: _kw(c, "dilation", 1) in (1, (1, 1), (1,)),
        lambda c, e: _max_to_all(c)),
]


def _max_to_all(case) -> np.ndarray:
    """Upstream gradient added to every input position of each window (window sum)."""
    name = case.spec.get("reference", case.spec.target)
    avg_name = name.replace("Max", "Avg")
    import reference.nn as rnn

    kwargs = {k: v for k, v in case.kwargs.items() if k in ("kernel_size", "stride", "padding", "ceil_mode")}
    avg = getattr(rnn, avg_name)(count_include_pad=True, **kwargs)
    avg.forward(case.x)
    k = kwargs["kernel_size"]
    area = int(np.prod(k)) if isinstance(k, tuple) else k ** (case.x.ndim - 2)
    return np.asarray(avg.backward(case.grad_out)) * area


def _format(alt: Alternative, case) -> str:
    flag = _kw(case, "count_include_pad", True)
    return alt.message.format(mode=_kw(case, "padding_mode", "zeros"), flag=flag,
                              verb="are" if flag else "are not")


def explain(case, part: str, actual, expected: dict, comparison: Comparison) -> list[Diagnosis]:
    """Diagnoses for one failed part of a layer check, best first."""
    found: list[Diagnosis] = []
    name = case.spec.get("reference", case.spec.target)
    arr = as_array(actual)
    exp = np.asarray(expected[part], dtype=np.float64)
    if arr is None:
        return found
    for alt in ALTERNATIVES:
        if alt.part != part or name not in alt.layers:
            continue
        try:
            if not alt.applies(case):
                continue
            value = np.asarray(alt.compute(case, expected), dtype=np.float64)
        except Exception:   # an alternative that cannot be built for this case does not apply
            continue
        if value.shape == arr.shape and not np.allclose(value, exp, rtol=1e-6, atol=1e-9) \
                and close(arr, value, dtype=case.dtype, rtol=1e-4):
            found.append(Diagnosis(alt.code, _format(alt, case)))
            return found
    found.extend(_generic(case, part, arr, exp, comparison))
    return found


def _generic(case, part: str, arr: np.ndarray, exp: np.ndarray, comparison: Comparison) -> list[Diagnosis]:
    out: list[Diagnosis] = []
    n = int(case.x.shape[0]) if case.x.ndim else 1
    what = "the output" if part == "output" else ("the input gradient" if part == "input" else f"grads[{part!r}]")
    if arr.shape == exp.shape and n > 1 and part != "output":
        if close(arr, exp / n, dtype=case.dtype, rtol=1e-4):
            out.append(Diagnosis("divided_by_batch", f"{what} is the right one divided by the batch size "
                                 f"N={n}: a layer's backward sums over the batch; only the loss averages."))
        elif close(arr, exp * n, dtype=case.dtype, rtol=1e-4):
            out.append(Diagnosis("multiplied_by_batch", f"{what} is the right one multiplied by the batch "
                                 f"size N={n}."))
    if arr.shape != exp.shape:
        out.extend(_shape_mismatch(case, part, arr, exp))
    elif comparison.error_map is not None and arr.ndim >= 3 and part in ("output", "input"):
        if _only_border(comparison, arr.ndim):
            out.append(Diagnosis("border_only", f"{what} is correct in the interior and wrong only near the "
                                 "border: check how you pad (amount and mode) and the windows that touch it."))
    return out


def _shape_mismatch(case, part: str, arr: np.ndarray, exp: np.ndarray) -> list[Diagnosis]:
    out = []
    g = case.grad_out
    if part == "bias" and g is not None:
        if arr.shape == g.shape:
            out.append(Diagnosis("bias_grad_not_summed", "grads['bias'] has the shape of the upstream "
                                 "gradient: sum it over the batch and every spatial position (one value per channel)."))
        elif arr.shape == (g.shape[0], g.shape[1]):
            out.append(Diagnosis("bias_grad_not_summed", "grads['bias'] is summed over space but not over "
                                 "the batch: sum over axis 0 too."))
        elif arr.shape == g.shape[1:]:
            out.append(Diagnosis("bias_grad_not_summed", "grads['bias'] is summed over the batch but not over "
                                 "the spatial positions."))
    if part == "weight" and arr.ndim >= 2 and arr.shape == np.swapaxes(exp, 0, 1).shape:
        if close(arr, np.swapaxes(exp, 0, 1), dtype=case.dtype, rtol=1e-4):
            out.append(Diagnosis("weight_grad_transposed", "grads['weight'] is transposed: it must have the "
                                 "weight's layout (out_channels, in_channels/groups, *kernel_size)."))
    return out


def _only_border(comparison: Comparison, ndim: int) -> bool:
    err = comparison.error_map
    tol = max(comparison.max_abs_error * 1e-3, 1e-12)
    bad = err > tol
    spatial = bad.shape[2:]
    if min(spatial) < 3 or not bad.any():
        return False
    inner = bad[(slice(None), slice(None)) + tuple(slice(1, s - 1) for s in spatial)]
    return not inner.any()


def heatmap(error_map: np.ndarray | None, max_side: int = 16, max_channels: int = 8) -> dict | None:
    """Absolute error of sample 0, channel by channel, max-pooled to at most ``max_side`` per side."""
    if error_map is None or error_map.ndim < 3:
        return None
    err = error_map[0]
    if err.ndim == 1:
        err = err[None, :]
    if err.ndim == 2:       # (C, L) -> one row per channel
        err = err[:, None, :]
    if err.ndim > 3:        # 3-D: the middle depth slice
        err = err[:, err.shape[1] // 2]
    channels = []
    for c in range(min(err.shape[0], max_channels)):
        m = err[c]
        h, w = m.shape
        fh, fw = -(-h // max_side), -(-w // max_side)
        ph, pw = -(-h // fh) * fh, -(-w // fw) * fw
        padded = np.zeros((ph, pw))
        padded[:h, :w] = m
        pooled = padded.reshape(ph // fh, fh, pw // fw, fw).max(axis=(1, 3))
        channels.append([[round(float(v), 6) for v in row] for row in pooled])
    return {"title": "absolute error of sample 0, channel by channel", "channels": channels}
