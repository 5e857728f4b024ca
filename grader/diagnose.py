"""Named mistakes: when a known wrong implementation explains the student's answer, say so.

Each ``Alternative`` computes, with the trusted reference (no layer math lives here), what a
specific mistaken implementation would have returned for the same case; if the student's answer
matches it, the feedback names the mistake. Generic diagnoses read the error pattern itself
(wrong only at the border, off by the batch size, a reshaped/transposed answer).
"""
from __future__ import annotations

import contextlib
import contextvars
import logging
import traceback
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

@dataclass
class Variant:
    """A mistaken layer that is the reference with other constructor arguments or transformed
    parameters. It explains the output *and* every gradient: a student whose forward pads with
    zeros gets the same diagnosis on dx and dW, not a bare "values differ"."""
    code: str
    message: str                                # "{What} matches ..."; {mode} {flag} {verb} filled in
    layers: tuple[str, ...]
    applies: Callable[[object], bool]
    overrides: Callable[[object], dict] = lambda c: {}
    state_fn: Callable[[dict], dict] | None = None

    def value(self, case, part: str) -> np.ndarray:
        if part == "output":
            return _forward_with(case, self.state_fn, **self.overrides(case))
        return _backward_with(case, part, self.state_fn, **self.overrides(case))


VARIANTS: list[Variant] = [
    Variant("flipped_kernel",
            "{What} matches a *convolution* with the kernel flipped. This layer computes cross-correlation "
            "(as torch does): slide the kernel without flipping it.",
            CONV + CONVT, lambda c: True, state_fn=lambda st: _flip_weight(st)),
    Variant("zero_padding_instead",
            "{What} is right in the interior but matches *zero* padding at the border; this case uses "
            "`padding_mode={mode!r}`.",
            CONV, lambda c: _kw(c, "padding_mode", "zeros") != "zeros" and _nontrivial(_kw(c, "padding", 0), 0),
            lambda c: {"padding_mode": "zeros"}),
    Variant("padding_ignored",
            "{What} matches the layer *without padding*: pad the input by `padding` on each side before "
            "sliding the window.",
            CONV + POOL, lambda c: isinstance(_kw(c, "padding", 0), (int, tuple)) and _nontrivial(_kw(c, "padding", 0), 0),
            lambda c: {"padding": 0}),
    Variant("padding_too_small",
            "{What} matches padding 1, but this case asks for `padding={padding}`: pad the input by `padding` "
            "on each side (the output grows by 2 per unit of padding).",
            CONV + POOL, lambda c: isinstance(_kw(c, "padding", 0), int) and not isinstance(_kw(c, "padding", 0), bool)
            and _kw(c, "padding", 0) >= 2, lambda c: {"padding": 1}),
    Variant("stride_ignored",
            "{What} matches stride 1: the window must move by `stride` positions "
            "(output size floor((W - F + 2P) / S) + 1).",
            CONV + CONVT, lambda c: _nontrivial(_kw(c, "stride", 1), 1),
            lambda c: {"stride": 1, **({"output_padding": 0} if "output_padding" in c.kwargs else {})}),
    Variant("stride_ignored",
            "{What} matches stride 1: pooling windows move by `stride` (default: the kernel size).",
            POOL, lambda c: _kw(c, "stride", None) != 1, lambda c: {"stride": 1}),
    Variant("dilation_ignored",
            "{What} matches dilation 1: with dilation d the kernel taps are d pixels apart "
            "(effective kernel size d·(F-1)+1).",
            CONV + CONVT + ("MaxPool1d", "MaxPool2d"), lambda c: _nontrivial(_kw(c, "dilation", 1), 1),
            lambda c: {"dilation": 1}),
    Variant("bias_missing",
            "{What} matches the layer without its bias: add `bias[c]` to every position of output channel c.",
            CONV + CONVT + ("Linear",), lambda c: "bias" in c.state, state_fn=lambda st: _zero_bias(st)),
    Variant("count_include_pad_swapped",
            "{What}: the averages at the border divide by the wrong count; with `count_include_pad={flag}` "
            "the padded zeros {verb} counted.",
            ("AvgPool1d", "AvgPool2d"), lambda c: _nontrivial(_kw(c, "padding", 0), 0),
            lambda c: {"count_include_pad": not _kw(c, "count_include_pad", True)}),
    Variant("output_padding_ignored",
            "{What} is missing the extra `output_padding` rows/columns at the bottom/right.",
            CONVT, lambda c: _nontrivial(_kw(c, "output_padding", 0), 0), lambda c: {"output_padding": 0}),
]

def _dilation_taps_adjacent(case, expected: dict) -> np.ndarray:
    """Output size computed with the dilation, taps taken adjacent: dilation-1 output, cropped."""
    y = _forward_with(case, dilation=1)
    shape = np.shape(expected["output"])
    if y.ndim != len(shape) or any(a < b for a, b in zip(y.shape, shape)):
        raise ValueError("not comparable")
    return y[tuple(slice(0, n) for n in shape)]


ALTERNATIVES: list[Alternative] = [
    Alternative(
        "dilation_ignored", "output",
        "Your output has the right size but matches kernel taps that are *adjacent*: with dilation d the taps "
        "are d pixels apart (x[.., y·S + u·d, x·S + v·d]); your output size already uses d, the window does not.",
        CONV, lambda c: _nontrivial(_kw(c, "dilation", 1), 1), _dilation_taps_adjacent),
    # ---- backward ---------------------------------------------------------------------
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


def _what(part: str) -> str:
    return "your output" if part == "output" else ("your input gradient" if part == "input"
                                                   else f"your grads[{part!r}]")


def _format(alt, case, what: str) -> str:
    flag = _kw(case, "count_include_pad", True)
    return alt.message.format(mode=_kw(case, "padding_mode", "zeros"), flag=flag, padding=_kw(case, "padding", 0),
                              verb="are" if flag else "are not", what=what, What=what[0].upper() + what[1:])


log = logging.getLogger(__name__)


_VERDICTS_ONLY = contextvars.ContextVar("convgrade_verdicts_only", default=False)


@contextlib.contextmanager
def verdicts_only():
    """Within it, :func:`explain` names no mistakes: scores and pass/fail are unchanged, only the
    feedback is shorter (``validate`` samples mutants that target no diagnosis this way)."""
    token = _VERDICTS_ONLY.set(True)
    try:
        yield
    finally:
        _VERDICTS_ONLY.reset(token)


def explain(case, part: str, actual, expected: dict, comparison: Comparison,
            errors: list[str] | None = None) -> list[Diagnosis]:
    """Diagnoses for one failed part of a layer check, best first (none under :func:`verdicts_only`).

    Never raises: a diagnosis that fails is an internal error of that diagnosis only (appended to
    ``errors`` and logged), so it can never change a score or hide the comparison's message."""
    if _VERDICTS_ONLY.get():
        return []
    try:
        return _explain(case, part, actual, expected, comparison, errors)
    except Exception:
        _diagnosis_failed("explain", errors)
        return []


def explain_error(case, result, errors: list[str] | None = None) -> list[Diagnosis]:
    """Diagnoses for a layer check whose probe raised before producing the value (never raises)."""
    try:
        err = result.error or {}
        msg = str(err.get("message", ""))
        if err.get("type") in ("ZeroDivisionError", "FloatingPointError") and _dropout_p_one(case):
            return [_DROPOUT_P1]
        if err.get("type") == "KeyError" and err.get("step") == 1 and case.state:
            names = [k for k in case.state if f"'{k}'" in msg or f'"{k}"' in msg or msg.strip("'\"") == k]
            if names:
                return [Diagnosis("parameter_not_registered", (
                    f"`load_state_dict` does not know the parameter {names[0]!r}: it was assigned as "
                    f"`self.{names[0]} = ...` instead of `self.register_parameter({names[0]!r}, ...)`. Only "
                    "registered parameters are in the state dict, receive gradients and can be loaded."))]
    except Exception:
        _diagnosis_failed("explain_error", errors)
    return []


_DROPOUT_P1 = Diagnosis("dropout_p1_divides_by_zero", (
    "With p = 1 every element is dropped, and the rescaling 1/(1 − p) divides by zero. Handle p = 1 "
    "on its own: the output (and the gradient) is all zeros, as in torch."))


def _dropout_p_one(case) -> bool:
    return case.spec.get("reference", case.spec.target) in ("Dropout", "Dropout2d") and \
        float(case.kwargs.get("p", 0.5)) == 1.0


def _dropout_nonfinite(case, part: str, arr: np.ndarray, exp: np.ndarray, comparison: Comparison) -> list[Diagnosis]:
    if _dropout_p_one(case) and arr.size and not np.isfinite(arr).all():
        return [_DROPOUT_P1]
    return []


def _diagnosis_failed(what: str, errors: list[str] | None) -> None:
    text = f"diagnosis {what} failed: {traceback.format_exc(limit=4)}"
    log.warning(text)
    if errors is not None:
        errors.append(text)


def _explain(case, part: str, actual, expected: dict, comparison: Comparison,
             errors: list[str] | None) -> list[Diagnosis]:
    found: list[Diagnosis] = []
    name = case.spec.get("reference", case.spec.target)
    arr = as_array(actual)
    exp = np.asarray(expected[part], dtype=np.float64)
    if arr is None:
        return found
    candidates = [(v, lambda v=v: v.value(case, part)) for v in VARIANTS]
    candidates += [(a, lambda a=a: a.compute(case, expected)) for a in ALTERNATIVES if a.part == part]
    for alt, compute in candidates:
        if name not in alt.layers:
            continue
        try:
            if not alt.applies(case):
                continue
            value = np.asarray(compute(), dtype=np.float64)
        except Exception:   # an alternative that cannot be built for this case does not apply
            continue
        if value.shape == arr.shape and (value.shape != exp.shape or not np.allclose(value, exp, rtol=1e-6, atol=1e-9)) \
                and close(arr, value, dtype=case.dtype, rtol=1e-4):
            found.append(Diagnosis(alt.code, _format(alt, case, _what(part))))
            return found
    for generic in GENERIC:
        try:
            found.extend(generic(case, part, arr, exp, comparison))
        except Exception:
            _diagnosis_failed(generic.__name__, errors)
    return found


def _batch_scaled(case, part: str, arr: np.ndarray, exp: np.ndarray, comparison: Comparison) -> list[Diagnosis]:
    out: list[Diagnosis] = []
    n = int(case.x.shape[0]) if case.x.ndim else 1
    what = _what(part)
    if arr.shape == exp.shape and n > 1 and part != "output":
        if close(arr, exp / n, dtype=case.dtype, rtol=1e-4):
            out.append(Diagnosis("divided_by_batch", f"{what.capitalize()} is the right one divided by the batch size "
                                 f"N={n}: a layer's backward sums over the batch; only the loss averages."))
        elif close(arr, exp * n, dtype=case.dtype, rtol=1e-4):
            out.append(Diagnosis("multiplied_by_batch", f"{what.capitalize()} is the right one multiplied by the batch "
                                 f"size N={n}."))
    return out


def _border(case, part: str, arr: np.ndarray, exp: np.ndarray, comparison: Comparison) -> list[Diagnosis]:
    if arr.shape == exp.shape and comparison.error_map is not None and arr.ndim >= 3 \
            and part in ("output", "input") and _only_border(comparison, arr.ndim):
        return [Diagnosis("border_only", f"{_what(part).capitalize()} is correct in the interior and wrong only near "
                          "the border: check how you pad (amount and mode) and the windows that touch it.")]
    return []


def _all_zero(case, part: str, arr: np.ndarray, exp: np.ndarray, comparison: Comparison) -> list[Diagnosis]:
    """An unfinished backward: the gradient was allocated (np.zeros_like) and never filled."""
    if part != "output" and arr.shape == exp.shape and arr.size and not arr.any() and np.abs(exp).max() > 0:
        return [Diagnosis("gradient_all_zero", f"{_what(part).capitalize()} is all zeros: the array was created "
                          "but nothing was accumulated into it (is the loop or the `+=` that fills it missing, or "
                          "does it write into a copy?).")]
    return []


def _empty(case, part: str, arr: np.ndarray, exp: np.ndarray, comparison: Comparison) -> list[Diagnosis]:
    """``dx_padded[..., pad:-pad, pad:-pad]`` with pad = 0 is an empty slice (``-0`` is ``0``)."""
    if arr.size == 0 and exp.size > 0 and arr.ndim == exp.ndim:
        padding = _kw(case, "padding", 0)
        zero = padding == 0 or (isinstance(padding, tuple) and 0 in padding)
        hint = (" This case has padding 0, and a slice `p:-p` with p = 0 is `0:0`, empty: use "
                "`p:H + p` (or `p:p + H`) to cut the padding off." if zero else "")
        return [Diagnosis("empty_gradient" if part != "output" else "empty_output",
                          f"{_what(part).capitalize()} is empty (shape {tuple(arr.shape)}).{hint}")]
    return []


def _shape_mismatch(case, part: str, arr: np.ndarray, exp: np.ndarray, comparison: Comparison = None) -> list[Diagnosis]:
    out = []
    if arr.shape == exp.shape:
        return out
    if arr.size == exp.size and arr.size and tuple(d for d in arr.shape if d != 1) == tuple(d for d in exp.shape if d != 1):
        out.append(Diagnosis("extra_axis", f"{_what(part).capitalize()} has shape {tuple(arr.shape)}, expected "
                             f"{tuple(exp.shape)}: the same values with an extra or missing axis of length 1 "
                             "(keepdims=True, or a reshape to a row)."))
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
    if part == "weight" and arr.ndim >= 2 and exp.ndim >= 2 and arr.shape == np.swapaxes(exp, 0, 1).shape:
        if close(arr, np.swapaxes(exp, 0, 1), dtype=case.dtype, rtol=1e-4):
            out.append(Diagnosis("weight_grad_transposed", "grads['weight'] is transposed: it must have the "
                                 "weight's layout (out_channels, in_channels/groups, *kernel_size)."))
    return out


BORDER_MIN_SIDE = 5


def _only_border(comparison: Comparison, ndim: int) -> bool:
    err = comparison.error_map
    tol = max(comparison.max_abs_error * 1e-3, 1e-12)
    bad = err > tol
    spatial = bad.shape[2:]
    # on small outputs most cells touch the border (8 of 9 on 3x3): "only at the border" says nothing
    if min(spatial) < BORDER_MIN_SIDE or not bad.any():
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


# generic diagnoses read the error pattern itself; each runs on its own (one failing never hides another)
GENERIC = [_batch_scaled, _shape_mismatch, _empty, _all_zero, _border, _dropout_nonfinite]


# ---- normalization, dropout, losses, upsampling (appended) -------------------------------------
# Known-wrong variants that are not a constructor argument live in reference/mistakes.py.
BATCHNORM = ("BatchNorm1d", "BatchNorm2d")
DROPOUT = ("Dropout", "Dropout2d")


def _bn_forward_in_mode(case, training: bool) -> np.ndarray:
    """The case's reference layer (after any training forwards of the case) run in the other mode."""
    layer = case.build_reference()
    layer.train(training)
    return np.asarray(layer.forward(case.x))


def _bn_buffer(case, buffer: str, layer) -> np.ndarray:
    return np.asarray(getattr(case.advance(layer), buffer))


def _bn_running_biased(case) -> np.ndarray:
    from reference import mistakes
    return mistakes.batchnorm_running_biased(case.start_reference(), case.extra_inputs["xs"])["running_var"]


def _dropout_p(case) -> float:
    return float(case.kwargs.get("p", 0.5))


def _replayed(case) -> bool:
    return "keep" in case.extra_inputs and 0 < _dropout_p(case) < 1


def _loss_with(case, part: str, **overrides) -> np.ndarray:
    value, grad = case.reference_loss(**overrides)
    return value if part == "output" else grad


def _dice_variant(case, part: str, name: str) -> np.ndarray:
    from reference import mistakes
    value, grad = getattr(mistakes, name)(case.x, case.target, float(case.kwargs.get("eps", 1.0)))
    return np.asarray(value) if part == "output" else grad


def _upsample_overwrite(case) -> np.ndarray:
    from reference import mistakes
    layer = case.build_reference()
    _, scales = layer._output_size(case.x.shape[2:])
    return mistakes.upsample_nearest_backward_overwrite(case.grad_out, case.x.shape[2:], scales)


def _window_area(case) -> int:
    k = _kw(case, "kernel_size", 1)
    return int(np.prod(k)) if isinstance(k, tuple) else int(k) ** (case.x.ndim - 2)


ALTERNATIVES += [
    # batch normalization
    Alternative(
        "bn_running_stats_in_training", "output",
        "In training mode batch norm normalizes with the statistics of the *current batch*; your output "
        "matches normalizing with `running_mean`/`running_var` (that is eval mode).",
        BATCHNORM, lambda c: c.training, lambda c, e: _bn_forward_in_mode(c, False)),
    Alternative(
        "bn_batch_stats_in_eval", "output",
        "In eval mode batch norm normalizes with `running_mean`/`running_var`; your output matches "
        "normalizing with the statistics of the current batch (training mode). Check `self.training`.",
        BATCHNORM, lambda c: not c.training, lambda c, e: _bn_forward_in_mode(c, True)),
    Alternative(
        "bn_unbiased_variance", "output",
        "Your output is normalized with the *unbiased* batch variance (divided by M-1). Normalization uses "
        "the biased variance (divided by M = N·H·W); only the running variance is updated with the unbiased one.",
        BATCHNORM, lambda c: c.training, lambda c, e: _mistake_bn_unbiased(c)),
    Alternative(
        "bn_backward_constant_stats", "input",
        "Your input gradient treats the batch mean and variance as constants (dx = γ·g/σ). In training "
        "they depend on x: dx = γ/(M·σ) · (M·g − Σg − x̂·Σ(g·x̂)).",
        BATCHNORM, lambda c: c.training, lambda c, e: _mistake_bn_constant_stats(c)),
    Alternative(
        "bn_running_var_biased", "running_var",
        "Your running variance is updated with the *biased* batch variance; torch updates it with the "
        "unbiased one (var · M/(M−1)) while normalizing with the biased one.",
        BATCHNORM, lambda c: hasattr(c, "start_reference"), lambda c, e: _bn_running_biased(c)),
    Alternative(
        "bn_running_not_updated", "running_mean",
        "Your running statistics did not change during training forwards: update `self.running_mean` and "
        "`self.running_var` (assign to the attributes, not to local variables) in every training forward.",
        BATCHNORM, lambda c: hasattr(c, "start_reference"),
        lambda c, e: np.asarray(c.start_reference().running_mean)),
    *[Alternative(
        "bn_momentum_swapped", buffer,
        "Your running statistics use the momentum the other way round: torch computes "
        "running = (1 − momentum)·running + momentum·batch (momentum is the weight of the *new* batch).",
        BATCHNORM, lambda c: hasattr(c, "start_reference") and _kw(c, "momentum", 0.1) not in (None, 0.5),
        lambda c, e, b=buffer: _bn_buffer(c, b, c.start_reference(momentum=1 - _kw(c, "momentum", 0.1))))
      for buffer in ("running_mean", "running_var")],
    *[Alternative(
        "bn_momentum_none_ignored", buffer,
        "With `momentum=None` the running statistics are a cumulative average: the factor is "
        "1/num_batches_tracked (after incrementing it), not a fixed momentum of 0.1.",
        BATCHNORM, lambda c: hasattr(c, "start_reference") and "momentum" in c.kwargs and c.kwargs["momentum"] is None,
        lambda c, e, b=buffer: _bn_buffer(c, b, c.start_reference(momentum=0.1)))
      for buffer in ("running_mean", "running_var")],
    # dropout (the case replays the student's own mask: see grader/checks/stochastic.py)
    Alternative(
        "dropout_not_rescaled", "output",
        "Your output is x·mask without rescaling: inverted dropout divides the kept elements by the keep "
        "probability 1−p during training, so that eval mode needs no change.",
        DROPOUT, _replayed, lambda c, e: _forward_with(c) * (1 - _dropout_p(c))),
    Alternative(
        "dropout_scaled_by_p", "output",
        "Your kept elements are divided by p; divide by the keep probability 1−p.",
        DROPOUT, _replayed, lambda c, e: _forward_with(c) * (1 - _dropout_p(c)) / _dropout_p(c)),
    Alternative(
        "dropout_multiplied_by_keep_prob", "output",
        "Your kept elements are multiplied by 1−p (the old, non-inverted test-time scaling); in training "
        "inverted dropout divides them by 1−p.",
        DROPOUT, _replayed, lambda c, e: _forward_with(c) * (1 - _dropout_p(c)) ** 2),
    Alternative(
        "dropout_not_rescaled", "input",
        "Your input gradient is grad_out·mask without the 1/(1−p) factor: backward multiplies by exactly "
        "what forward multiplied x by.",
        DROPOUT, _replayed, lambda c, e: _backward_with(c, "input") * (1 - _dropout_p(c))),
    # losses
    *[Alternative(
        "dice_global", part,
        "Your Dice loss is one ratio over the whole batch; compute Dice per (sample, channel) — sums over "
        "the spatial axes only — and average 1 − Dice over samples and channels.",
        ("DiceLoss",), lambda c: True, lambda c, e, p=part: _dice_variant(c, p, "dice_loss_global"))
      for part in ("output", "input")],
    *[Alternative(
        "dice_per_sample", part,
        "Your Dice loss sums over the channels too (one ratio per sample); compute it per (sample, channel).",
        ("DiceLoss",), lambda c: True, lambda c, e, p=part: _dice_variant(c, p, "dice_loss_per_sample"))
      for part in ("output", "input")],
    *[Alternative(
        "dice_eps_missing", part,
        "Your Dice loss leaves out the smoothing term `eps` (add it to both the numerator 2·Σpt and the "
        "denominator Σp + Σt).",
        ("DiceLoss",), lambda c: float(c.kwargs.get("eps", 1.0)) != 0,
        lambda c, e, p=part: _loss_with(c, p, eps=0.0))
      for part in ("output", "input")],
    *[Alternative(
        "loss_sum_instead_of_mean", part,
        "Your loss is summed over the elements; `reduction='mean'` divides by their number.",
        ("MSELoss", "CrossEntropyLoss"), lambda c: c.kwargs.get("reduction", "mean") == "mean",
        lambda c, e, p=part: _loss_with(c, p, reduction="sum"))
      for part in ("output", "input")],
    Alternative(
        "mse_grad_missing_factor_2", "input",
        "Your MSE gradient is missing the factor 2: d/dx (x − t)² = 2(x − t).",
        ("MSELoss",), lambda c: True, lambda c, e: e["input"] / 2),
    Alternative(
        "loss_grad_sign", "input",
        "Your loss gradient has the wrong sign.",
        ("MSELoss", "CrossEntropyLoss", "DiceLoss"), lambda c: True, lambda c, e: -e["input"]),
    # upsampling, pooling, transposed convolution
    *[Alternative(
        "align_corners_swapped", part,
        "Your bilinear interpolation matches the other `align_corners` convention. With "
        "align_corners=False (the default) pixel centres are at i + 0.5: src = (dst + 0.5)/scale − 0.5; "
        "with True the corner pixels align: src = dst·(in − 1)/(out − 1).",
        ("Upsample",), lambda c: _kw(c, "mode", "nearest") == "bilinear",
        (lambda c, e: _forward_with(c, align_corners=not bool(_kw(c, "align_corners", False)))) if part == "output"
        else (lambda c, e: _backward_with(c, "input", align_corners=not bool(_kw(c, "align_corners", False)))))
      for part in ("output", "input")],
    Alternative(
        "upsample_grad_not_accumulated", "input",
        "Your upsampling gradient keeps only one of the output gradients that come from each input pixel "
        "(an indexed assignment `dx[..., i, j] = g` overwrites repeated indices). Every output copied "
        "from a pixel contributes: accumulate with `np.add.at` or sum over the copies.",
        ("Upsample",), lambda c: _kw(c, "mode", "nearest") == "nearest", lambda c, e: _upsample_overwrite(c)),
    Alternative(
        "avg_grad_not_divided", "input",
        "Your average-pool gradient is not divided by the window size: each input of a window receives "
        "grad_out / (kernel area).",
        ("AvgPool1d", "AvgPool2d"), lambda c: not _nontrivial(_kw(c, "padding", 0), 0),
        lambda c, e: e["input"] * _window_area(c)),
    Alternative(
        "ceil_mode_ignored", "output",
        "Your output matches `ceil_mode=False`: with ceil_mode=True the output size rounds up, and a last "
        "partial window that starts inside the input is kept.",
        POOL, lambda c: bool(_kw(c, "ceil_mode", False)), lambda c, e: _forward_with(c, ceil_mode=False)),
    Alternative(
        "padding_ignored", "output",
        "Your output matches `padding=0`: in a transposed convolution `padding` crops `padding` "
        "rows/columns from each side of the full output: H_out = (H − 1)·S − 2P + D·(K − 1) + output_padding + 1.",
        CONVT, lambda c: _nontrivial(_kw(c, "padding", 0), 0), lambda c, e: _forward_with(c, padding=0)),
]


def _mistake_bn_unbiased(case) -> np.ndarray:
    from reference import mistakes
    return mistakes.batchnorm_forward_unbiased(case.build_reference(), case.x)


def _mistake_bn_constant_stats(case) -> np.ndarray:
    from reference import mistakes
    return mistakes.batchnorm_backward_constant_stats(case.build_reference(), case.x, case.grad_out)


# ---- a1_backprop: activations, softmax / cross-entropy, maxout (appended) -----------------------
# Known-wrong variants that are not a constructor argument live in reference/mistakes.py.
SOFTMAX_LIKE = ("Softmax", "LogSoftmax", "CrossEntropyLoss")
OVERFLOW_LOGIT = 700.0      # exp overflows float64 just above 709.78


def _softmax_axis(case) -> int:
    from reference.nn.activation import _softmax_dim
    return _softmax_dim(case.kwargs.get("dim"), case.x.ndim, "Softmax")


def _large_logits(case) -> bool:
    return float(np.max(np.abs(case.x))) > OVERFLOW_LOGIT if case.x.size else False


def _naive_softmax_family(case, part: str) -> np.ndarray:
    from reference import mistakes
    name = case.spec.get("reference", case.spec.target)
    if name == "Softmax":
        return mistakes.softmax_without_max_subtraction(case.x, _softmax_axis(case))
    if name == "LogSoftmax":
        return mistakes.log_softmax_without_max_subtraction(case.x, _softmax_axis(case))
    loss, dx = mistakes.cross_entropy_without_max_subtraction(case.x, case.target)
    return np.asarray(loss) if part == "output" else dx


def _mistake_ce_log_of_softmax(case) -> float:
    from reference import mistakes
    return mistakes.cross_entropy_log_of_softmax(case.x, case.target)[0]


def _softplus_naive(case) -> np.ndarray:
    from reference import mistakes
    return mistakes.softplus_without_threshold(case.x, _kw(case, "beta", 1.0))


def _reference_output(case) -> np.ndarray:
    return _forward_with(case)


def _maxout_regrouped(state: dict, out_features: int, pieces: int) -> dict:
    """Rows of a Maxout weight/bias reordered so that piece k of unit j is the row ``k·out + j``
    (the student's grouping) instead of ``j·pieces + k`` (the reference's)."""
    order = np.arange(out_features * pieces).reshape(out_features, pieces).T.reshape(-1)
    inverse = np.argsort(order)
    for key in ("weight", "bias"):
        if key in state:
            state[key] = np.ascontiguousarray(np.asarray(state[key])[inverse])
    return state


def _maxout_grouping(case, part: str) -> np.ndarray:
    out, pieces = int(case.kwargs["out_features"]), int(case.kwargs["pieces"])
    fn = lambda st: _maxout_regrouped(st, out, pieces)   # noqa: E731
    return _forward_with(case, fn) if part == "output" else _backward_with(case, "input", fn)


ALTERNATIVES += [
    # ReLU / LeakyReLU / ELU
    Alternative(
        "relu_grad_negative", "input",
        "Your ReLU gradient is wrong where x < 0: it lets the upstream gradient through there. "
        "ReLU'(x) = 1 for x > 0 and 0 for x ≤ 0, so dx = grad_out · (x > 0).",
        ("ReLU",), lambda c: bool(np.any(c.x < 0)), lambda c, e: np.asarray(c.grad_out, dtype=np.float64)),
    Alternative(
        "relu_grad_negative", "input",
        "Your ReLU gradient is wrong where x < 0: it matches dx = grad_out · sign(x) (−1 there). "
        "ReLU'(x) = 1 for x > 0 and 0 for x ≤ 0, so dx = grad_out · (x > 0).",
        ("ReLU",), lambda c: bool(np.any(c.x < 0)), lambda c, e: c.grad_out * np.sign(c.x)),
    Alternative(
        "leaky_relu_branches_swapped", "output",
        "Your Leaky ReLU multiplies the *positive* inputs by `negative_slope` and passes the negative ones "
        "unchanged: it is x for x > 0 and negative_slope·x for x ≤ 0.",
        ("LeakyReLU",), lambda c: True, lambda c, e: np.where(c.x > 0, c.x * _kw(c, "negative_slope", 0.01), c.x)),
    Alternative(
        "leaky_relu_branches_swapped", "input",
        "Your Leaky ReLU gradient applies `negative_slope` to the positive inputs: the derivative is 1 for "
        "x > 0 and negative_slope for x ≤ 0.",
        ("LeakyReLU",), lambda c: True,
        lambda c, e: np.where(c.x > 0, c.grad_out * _kw(c, "negative_slope", 0.01), c.grad_out)),
    Alternative(
        "leaky_relu_grad_zero_negative", "input",
        "Your Leaky ReLU gradient is 0 for x ≤ 0 (that is ReLU's): there the derivative is negative_slope.",
        ("LeakyReLU",), lambda c: _kw(c, "negative_slope", 0.01) != 0, lambda c, e: c.grad_out * (c.x > 0)),
    Alternative(
        "elu_grad_missing_alpha", "input",
        "Your ELU gradient for x ≤ 0 is missing the factor alpha: d/dx α(eˣ − 1) = α·eˣ.",
        ("ELU",), lambda c: _kw(c, "alpha", 1.0) != 1.0,
        lambda c, e: np.where(c.x > 0, c.grad_out, c.grad_out * np.exp(np.minimum(c.x, 0)))),
    # Sigmoid / Tanh / Softsign / Softplus
    Alternative(
        "sigmoid_grad_missing_factor", "input",
        "Your sigmoid gradient is grad_out · σ(x): the derivative is σ(x)·(1 − σ(x)).",
        ("Sigmoid",), lambda c: True, lambda c, e: c.grad_out * _reference_output(c)),
    Alternative(
        "tanh_grad_uses_input", "input",
        "Your tanh gradient is grad_out · (1 − x²) with the *input* x: the derivative is 1 − tanh²(x), "
        "computed from the output t = tanh(x).",
        ("Tanh",), lambda c: True, lambda c, e: c.grad_out * (1 - c.x * c.x)),
    Alternative(
        "softsign_grad_not_squared", "input",
        "Your softsign gradient is grad_out / (1 + |x|): the derivative is 1 / (1 + |x|)².",
        ("Softsign",), lambda c: True, lambda c, e: c.grad_out / (1 + np.abs(c.x))),
    Alternative(
        "softplus_overflow", "output",
        "Your softplus overflows: log(1 + exp(βx)) computed literally is inf once βx exceeds ~709. "
        "Above `threshold` softplus is x itself (torch switches to the identity there); below it use a "
        "stable form such as np.logaddexp(0, βx) / β.",
        ("Softplus",), lambda c: float(np.max(c.x)) * _kw(c, "beta", 1.0) > OVERFLOW_LOGIT,
        lambda c, e: _softplus_naive(c)),
    # cross-entropy as log(softmax): the shift is there, the log of an underflowed probability is not
    Alternative(
        "ce_log_of_softmax", "output",
        "Your loss is infinite at large logits: it takes the log of a probability that underflowed to 0 "
        "(log 0 = −inf), or of an exp that overflowed. Subtracting the maximum prevents the overflow but not the "
        "underflow: compute the log-probabilities directly with log-sum-exp, log softmax(x)ₖ = (xₖ − m) − "
        "log Σⱼ exp(xⱼ − m) with m the row maximum, and never take the log of a softmax.",
        ("CrossEntropyLoss",), _large_logits,
        lambda c, e: np.asarray(_mistake_ce_log_of_softmax(c))),
    # softmax / log-softmax / cross-entropy with large logits (NaN/inf answers are matched by the
    # large_inputs check kind, grader/checks/large_inputs.py, which compares non-finite positions)
    *[Alternative(
        "softmax_overflow", part,
        "Your softmax overflows at large logits: exp(x) is inf above x ≈ 709, and inf/inf is NaN. Subtract "
        "the maximum of each row before exponentiating — softmax(x) = softmax(x − max(x)), and then the "
        "largest exponent is exp(0) = 1 (for log-softmax / cross-entropy: log-sum-exp with the max taken out).",
        SOFTMAX_LIKE, _large_logits, lambda c, e, p=part: _naive_softmax_family(c, p))
      for part in ("output", "input")],
    # Maxout
    *[Alternative(
        "maxout_pieces_grouping", part,
        "Your Maxout groups the pieces the wrong way: unit j takes the maximum over the consecutive rows "
        "j·pieces … j·pieces + pieces − 1 of x Wᵀ + b, i.e. reshape to (N, out_features, pieces) and take the max "
        "over the last axis.",
        ("Maxout",), lambda c: int(_kw(c, "pieces", 1)) > 1 and int(_kw(c, "out_features", 1)) > 1,
        lambda c, e, p=part: _maxout_grouping(c, p))
      for part in ("output", "input")],
]

# The cross-entropy gradient N times too large. Placed before the generic "loss summed instead of
# averaged" alternative, which computes the same input gradient: the message here is right both when
# the loss value is also summed and when only the gradient forgot the 1/N (a common a1 mistake).
_CE_GRAD_NOT_DIVIDED = Alternative(
    "ce_grad_not_divided_by_batch", "input",
    "Your cross-entropy gradient is N times too large: the loss is the *mean* over the N samples, so "
    "d loss / d logits = (softmax(x) − onehot(y)) / N. Divide by the batch size in backward too.",
    ("CrossEntropyLoss",),
    lambda c: c.kwargs.get("reduction", "mean") == "mean" and c.kwargs.get("weight") is None and c.x.ndim >= 2
    and c.x.shape[0] > 1,
    lambda c, e: _loss_with(c, "input", reduction="sum"))
ALTERNATIVES.insert(next((i for i, a in enumerate(ALTERNATIVES)
                          if a.code == "loss_sum_instead_of_mean" and a.part == "input"), len(ALTERNATIVES)),
                    _CE_GRAD_NOT_DIVIDED)
