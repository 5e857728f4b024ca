"""Named mistakes: when a known wrong implementation explains the student's answer, say so.

Each ``Alternative`` computes, with the trusted reference (no layer math lives here), what a
specific mistaken implementation would have returned for the same case; if the student's answer
matches it, the feedback names the mistake. Generic diagnoses read the error pattern itself
(wrong only at the border, off by the batch size, a reshaped/transposed answer).

Every message is a key of the message catalogue (``grader/i18n/diagnoses.py``, keys
``diagnosis.<code>[.<variant>]``), rendered with :func:`grader.i18n.t` when the diagnosis fires, so
it is in the language of the grade (``grade_submission(lang=...)``). The codes are ids and are never
translated.
"""
from __future__ import annotations

import contextlib
import contextvars
import logging
import traceback
from dataclasses import dataclass
from typing import Callable

import numpy as np

from .i18n import t
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
    key: str                                    # the message's catalogue key (no placeholders)
    layers: tuple[str, ...]                     # reference class names it applies to
    applies: Callable[[object], bool]
    compute: Callable[[object, dict], np.ndarray]

    @property
    def message(self) -> str:
        """The message in the current language (rendered now, not at import)."""
        return t(self.key)


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
    key: str                                    # catalogue key: "{What} matches ..."; {mode} {flag} {verb} {padding}
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
            "diagnosis.flipped_kernel",
            CONV + CONVT, lambda c: True, state_fn=lambda st: _flip_weight(st)),
    Variant("zero_padding_instead",
            "diagnosis.zero_padding_instead",
            CONV, lambda c: _kw(c, "padding_mode", "zeros") != "zeros" and _nontrivial(_kw(c, "padding", 0), 0),
            lambda c: {"padding_mode": "zeros"}),
    Variant("padding_ignored",
            "diagnosis.padding_ignored",
            CONV + POOL, lambda c: isinstance(_kw(c, "padding", 0), (int, tuple)) and _nontrivial(_kw(c, "padding", 0), 0),
            lambda c: {"padding": 0}),
    Variant("padding_too_small",
            "diagnosis.padding_too_small",
            CONV + POOL, lambda c: isinstance(_kw(c, "padding", 0), int) and not isinstance(_kw(c, "padding", 0), bool)
            and _kw(c, "padding", 0) >= 2, lambda c: {"padding": 1}),
    Variant("stride_ignored",
            "diagnosis.stride_ignored",
            CONV + CONVT, lambda c: _nontrivial(_kw(c, "stride", 1), 1),
            lambda c: {"stride": 1, **({"output_padding": 0} if "output_padding" in c.kwargs else {})}),
    Variant("stride_ignored",
            "diagnosis.stride_ignored.pool",
            POOL, lambda c: _kw(c, "stride", None) != 1, lambda c: {"stride": 1}),
    Variant("dilation_ignored",
            "diagnosis.dilation_ignored",
            CONV + CONVT + ("MaxPool1d", "MaxPool2d"), lambda c: _nontrivial(_kw(c, "dilation", 1), 1),
            lambda c: {"dilation": 1}),
    Variant("bias_missing",
            "diagnosis.bias_missing",
            CONV + CONVT + ("Linear",), lambda c: "bias" in c.state, state_fn=lambda st: _zero_bias(st)),
    Variant("count_include_pad_swapped",
            "diagnosis.count_include_pad_swapped",
            ("AvgPool1d", "AvgPool2d"), lambda c: _nontrivial(_kw(c, "padding", 0), 0),
            lambda c: {"count_include_pad": not _kw(c, "count_include_pad", True)}),
    Variant("output_padding_ignored",
            "diagnosis.output_padding_ignored",
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
        "diagnosis.dilation_ignored.taps",
        CONV, lambda c: _nontrivial(_kw(c, "dilation", 1), 1), _dilation_taps_adjacent),
    # ---- backward ---------------------------------------------------------------------
    Alternative(
        "flipped_kernel", "weight",
        "diagnosis.flipped_kernel.weight",
        CONV + CONVT, lambda c: True, lambda c, e: np.flip(e["weight"], axis=_spatial_axes(e["weight"]))),
    Alternative(
        "max_grad_to_every_element", "input",
        "diagnosis.max_grad_to_every_element",
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
    """"Your output" / "Your input gradient" / "Your grads['weight']" in the current language
    (the subject of a sentence)."""
    if part in ("output", "input"):
        return t(f"diagnosis.what.{part}")
    return t("diagnosis.what.param", part=repr(part))


def _message(alt, case, part: str) -> str:
    """The message of a Variant or Alternative that fired, rendered now in the current language."""
    flag = _kw(case, "count_include_pad", True)
    return t(alt.key, mode=repr(_kw(case, "padding_mode", "zeros")), flag=flag,
             padding=_kw(case, "padding", 0), What=_what(part),
             verb=t("diagnosis.verb.counted" if flag else "diagnosis.verb.not_counted"))


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
            return [_dropout_p1()]
        if err.get("type") == "KeyError" and err.get("step") == 1 and case.state:
            # load_state_dict refused a key the object *has* (an attribute with a shape): assigned,
            # not registered; a parameter that is simply missing is another matter
            from .checks.cases import ATTR_SHAPE

            values = result.values if isinstance(result.values, dict) else {}
            names = [k for k in case.state if (f"'{k}'" in msg or f'"{k}"' in msg or msg.strip("'\"") == k)
                     and f"{ATTR_SHAPE}{k}" in values]
            if names:
                return [Diagnosis("parameter_not_registered", t(
                    "diagnosis.parameter_not_registered", name=repr(names[0]), attr=names[0]))]
    except Exception:
        _diagnosis_failed("explain_error", errors)
    return []


def _dropout_p1() -> Diagnosis:
    return Diagnosis("dropout_p1_divides_by_zero", t("diagnosis.dropout_p1_divides_by_zero"))


def _dropout_p_one(case) -> bool:
    return case.spec.get("reference", case.spec.target) in ("Dropout", "Dropout2d") and \
        float(case.kwargs.get("p", 0.5)) == 1.0


def _dropout_nonfinite(case, part: str, arr: np.ndarray, exp: np.ndarray, comparison: Comparison) -> list[Diagnosis]:
    if _dropout_p_one(case) and arr.size and not np.isfinite(arr).all():
        return [_dropout_p1()]
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
            found.append(Diagnosis(alt.code, _message(alt, case, part)))
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
    if arr.shape == exp.shape and n > 1 and part != "output":
        if close(arr, exp / n, dtype=case.dtype, rtol=1e-4):
            out.append(Diagnosis("divided_by_batch", t("diagnosis.divided_by_batch", What=_what(part), n=n)))
        elif close(arr, exp * n, dtype=case.dtype, rtol=1e-4):
            out.append(Diagnosis("multiplied_by_batch", t("diagnosis.multiplied_by_batch", What=_what(part), n=n)))
    return out


def _border(case, part: str, arr: np.ndarray, exp: np.ndarray, comparison: Comparison) -> list[Diagnosis]:
    if arr.shape == exp.shape and comparison.error_map is not None and arr.ndim >= 3 \
            and part in ("output", "input") and _only_border(comparison, arr.ndim):
        return [Diagnosis("border_only", t("diagnosis.border_only", What=_what(part)))]
    return []


def _all_zero(case, part: str, arr: np.ndarray, exp: np.ndarray, comparison: Comparison) -> list[Diagnosis]:
    """An unfinished backward: the gradient was allocated (np.zeros_like) and never filled."""
    if part != "output" and arr.shape == exp.shape and arr.size and not arr.any() and np.abs(exp).max() > 0:
        return [Diagnosis("gradient_all_zero", t("diagnosis.gradient_all_zero", What=_what(part)))]
    return []


def _empty(case, part: str, arr: np.ndarray, exp: np.ndarray, comparison: Comparison) -> list[Diagnosis]:
    """``dx_padded[..., pad:-pad, pad:-pad]`` with pad = 0 is an empty slice (``-0`` is ``0``)."""
    if arr.size == 0 and exp.size > 0 and arr.ndim == exp.ndim:
        padding = _kw(case, "padding", 0)
        zero = padding == 0 or (isinstance(padding, tuple) and 0 in padding)
        code = "empty_gradient" if part != "output" else "empty_output"
        text = t(f"diagnosis.{code}", What=_what(part), shape=tuple(arr.shape))
        if zero:
            text += " " + t("diagnosis.empty.padding_zero_slice")
        return [Diagnosis(code, text)]
    return []


def _shape_mismatch(case, part: str, arr: np.ndarray, exp: np.ndarray, comparison: Comparison = None) -> list[Diagnosis]:
    out = []
    if arr.shape == exp.shape:
        return out
    if arr.size == exp.size and arr.size and tuple(d for d in arr.shape if d != 1) == tuple(d for d in exp.shape if d != 1):
        out.append(Diagnosis("extra_axis", t("diagnosis.extra_axis", What=_what(part), shape=tuple(arr.shape),
                                             expected=tuple(exp.shape))))
    g = case.grad_out
    if part == "bias" and g is not None:
        if arr.shape == g.shape:
            out.append(Diagnosis("bias_grad_not_summed", t("diagnosis.bias_grad_not_summed")))
        elif arr.shape == (g.shape[0], g.shape[1]):
            out.append(Diagnosis("bias_grad_not_summed", t("diagnosis.bias_grad_not_summed.batch")))
        elif arr.shape == g.shape[1:]:
            out.append(Diagnosis("bias_grad_not_summed", t("diagnosis.bias_grad_not_summed.space")))
    if part == "weight" and arr.ndim >= 2 and exp.ndim >= 2 and arr.shape == np.swapaxes(exp, 0, 1).shape:
        if close(arr, np.swapaxes(exp, 0, 1), dtype=case.dtype, rtol=1e-4):
            out.append(Diagnosis("weight_grad_transposed", t("diagnosis.weight_grad_transposed")))
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
    return {"title": t("diagnosis.heatmap_title"), "channels": channels}


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
        "diagnosis.bn_running_stats_in_training",
        BATCHNORM, lambda c: c.training, lambda c, e: _bn_forward_in_mode(c, False)),
    Alternative(
        "bn_batch_stats_in_eval", "output",
        "diagnosis.bn_batch_stats_in_eval",
        BATCHNORM, lambda c: not c.training, lambda c, e: _bn_forward_in_mode(c, True)),
    Alternative(
        "bn_unbiased_variance", "output",
        "diagnosis.bn_unbiased_variance",
        BATCHNORM, lambda c: c.training, lambda c, e: _mistake_bn_unbiased(c)),
    Alternative(
        "bn_backward_constant_stats", "input",
        "diagnosis.bn_backward_constant_stats",
        BATCHNORM, lambda c: c.training, lambda c, e: _mistake_bn_constant_stats(c)),
    Alternative(
        "bn_running_var_biased", "running_var",
        "diagnosis.bn_running_var_biased",
        BATCHNORM, lambda c: hasattr(c, "start_reference"), lambda c, e: _bn_running_biased(c)),
    Alternative(
        "bn_running_not_updated", "running_mean",
        "diagnosis.bn_running_not_updated",
        BATCHNORM, lambda c: hasattr(c, "start_reference"),
        lambda c, e: np.asarray(c.start_reference().running_mean)),
    *[Alternative(
        "bn_momentum_swapped", buffer,
        "diagnosis.bn_momentum_swapped",
        BATCHNORM, lambda c: hasattr(c, "start_reference") and _kw(c, "momentum", 0.1) not in (None, 0.5),
        lambda c, e, b=buffer: _bn_buffer(c, b, c.start_reference(momentum=1 - _kw(c, "momentum", 0.1))))
      for buffer in ("running_mean", "running_var")],
    *[Alternative(
        "bn_momentum_none_ignored", buffer,
        "diagnosis.bn_momentum_none_ignored",
        BATCHNORM, lambda c: hasattr(c, "start_reference") and "momentum" in c.kwargs and c.kwargs["momentum"] is None,
        lambda c, e, b=buffer: _bn_buffer(c, b, c.start_reference(momentum=0.1)))
      for buffer in ("running_mean", "running_var")],
    # dropout (the case replays the student's own mask: see grader/checks/stochastic.py)
    Alternative(
        "dropout_not_rescaled", "output",
        "diagnosis.dropout_not_rescaled",
        DROPOUT, _replayed, lambda c, e: _forward_with(c) * (1 - _dropout_p(c))),
    Alternative(
        "dropout_scaled_by_p", "output",
        "diagnosis.dropout_scaled_by_p",
        DROPOUT, _replayed, lambda c, e: _forward_with(c) * (1 - _dropout_p(c)) / _dropout_p(c)),
    Alternative(
        "dropout_multiplied_by_keep_prob", "output",
        "diagnosis.dropout_multiplied_by_keep_prob",
        DROPOUT, _replayed, lambda c, e: _forward_with(c) * (1 - _dropout_p(c)) ** 2),
    Alternative(
        "dropout_not_rescaled", "input",
        "diagnosis.dropout_not_rescaled.input",
        DROPOUT, _replayed, lambda c, e: _backward_with(c, "input") * (1 - _dropout_p(c))),
    # losses
    *[Alternative(
        "dice_global", part,
        "diagnosis.dice_global",
        ("DiceLoss",), lambda c: True, lambda c, e, p=part: _dice_variant(c, p, "dice_loss_global"))
      for part in ("output", "input")],
    *[Alternative(
        "dice_per_sample", part,
        "diagnosis.dice_per_sample",
        ("DiceLoss",), lambda c: True, lambda c, e, p=part: _dice_variant(c, p, "dice_loss_per_sample"))
      for part in ("output", "input")],
    *[Alternative(
        "dice_eps_missing", part,
        "diagnosis.dice_eps_missing",
        ("DiceLoss",), lambda c: float(c.kwargs.get("eps", 1.0)) != 0,
        lambda c, e, p=part: _loss_with(c, p, eps=0.0))
      for part in ("output", "input")],
    *[Alternative(
        "loss_sum_instead_of_mean", part,
        "diagnosis.loss_sum_instead_of_mean",
        ("MSELoss", "CrossEntropyLoss"), lambda c: c.kwargs.get("reduction", "mean") == "mean",
        lambda c, e, p=part: _loss_with(c, p, reduction="sum"))
      for part in ("output", "input")],
    Alternative(
        "mse_grad_missing_factor_2", "input",
        "diagnosis.mse_grad_missing_factor_2",
        ("MSELoss",), lambda c: True, lambda c, e: e["input"] / 2),
    Alternative(
        "loss_grad_sign", "input",
        "diagnosis.loss_grad_sign",
        ("MSELoss", "CrossEntropyLoss", "DiceLoss"), lambda c: True, lambda c, e: -e["input"]),
    # upsampling, pooling, transposed convolution
    *[Alternative(
        "align_corners_swapped", part,
        "diagnosis.align_corners_swapped",
        ("Upsample",), lambda c: _kw(c, "mode", "nearest") == "bilinear",
        (lambda c, e: _forward_with(c, align_corners=not bool(_kw(c, "align_corners", False)))) if part == "output"
        else (lambda c, e: _backward_with(c, "input", align_corners=not bool(_kw(c, "align_corners", False)))))
      for part in ("output", "input")],
    Alternative(
        "upsample_grad_not_accumulated", "input",
        "diagnosis.upsample_grad_not_accumulated",
        ("Upsample",), lambda c: _kw(c, "mode", "nearest") == "nearest", lambda c, e: _upsample_overwrite(c)),
    Alternative(
        "avg_grad_not_divided", "input",
        "diagnosis.avg_grad_not_divided",
        ("AvgPool1d", "AvgPool2d"), lambda c: not _nontrivial(_kw(c, "padding", 0), 0),
        lambda c, e: e["input"] * _window_area(c)),
    Alternative(
        "ceil_mode_ignored", "output",
        "diagnosis.ceil_mode_ignored",
        POOL, lambda c: bool(_kw(c, "ceil_mode", False)), lambda c, e: _forward_with(c, ceil_mode=False)),
    Alternative(
        "padding_ignored", "output",
        "diagnosis.padding_ignored.transposed",
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
        "diagnosis.relu_grad_negative",
        ("ReLU",), lambda c: bool(np.any(c.x < 0)), lambda c, e: np.asarray(c.grad_out, dtype=np.float64)),
    Alternative(
        "relu_grad_negative", "input",
        "diagnosis.relu_grad_negative.sign",
        ("ReLU",), lambda c: bool(np.any(c.x < 0)), lambda c, e: c.grad_out * np.sign(c.x)),
    Alternative(
        "leaky_relu_branches_swapped", "output",
        "diagnosis.leaky_relu_branches_swapped",
        ("LeakyReLU",), lambda c: True, lambda c, e: np.where(c.x > 0, c.x * _kw(c, "negative_slope", 0.01), c.x)),
    Alternative(
        "leaky_relu_branches_swapped", "input",
        "diagnosis.leaky_relu_branches_swapped.input",
        ("LeakyReLU",), lambda c: True,
        lambda c, e: np.where(c.x > 0, c.grad_out * _kw(c, "negative_slope", 0.01), c.grad_out)),
    Alternative(
        "leaky_relu_grad_zero_negative", "input",
        "diagnosis.leaky_relu_grad_zero_negative",
        ("LeakyReLU",), lambda c: _kw(c, "negative_slope", 0.01) != 0, lambda c, e: c.grad_out * (c.x > 0)),
    Alternative(
        "elu_grad_missing_alpha", "input",
        "diagnosis.elu_grad_missing_alpha",
        ("ELU",), lambda c: _kw(c, "alpha", 1.0) != 1.0,
        lambda c, e: np.where(c.x > 0, c.grad_out, c.grad_out * np.exp(np.minimum(c.x, 0)))),
    # Sigmoid / Tanh / Softsign / Softplus
    Alternative(
        "sigmoid_grad_missing_factor", "input",
        "diagnosis.sigmoid_grad_missing_factor",
        ("Sigmoid",), lambda c: True, lambda c, e: c.grad_out * _reference_output(c)),
    Alternative(
        "tanh_grad_uses_input", "input",
        "diagnosis.tanh_grad_uses_input",
        ("Tanh",), lambda c: True, lambda c, e: c.grad_out * (1 - c.x * c.x)),
    Alternative(
        "softsign_grad_not_squared", "input",
        "diagnosis.softsign_grad_not_squared",
        ("Softsign",), lambda c: True, lambda c, e: c.grad_out / (1 + np.abs(c.x))),
    Alternative(
        "softplus_overflow", "output",
        "diagnosis.softplus_overflow",
        ("Softplus",), lambda c: float(np.max(c.x)) * _kw(c, "beta", 1.0) > OVERFLOW_LOGIT,
        lambda c, e: _softplus_naive(c)),
    # cross-entropy as log(softmax): the shift is there, the log of an underflowed probability is not
    Alternative(
        "ce_log_of_softmax", "output",
        "diagnosis.ce_log_of_softmax",
        ("CrossEntropyLoss",), _large_logits,
        lambda c, e: np.asarray(_mistake_ce_log_of_softmax(c))),
    # softmax / log-softmax / cross-entropy with large logits (NaN/inf answers are matched by the
    # large_inputs check kind, grader/checks/large_inputs.py, which compares non-finite positions)
    *[Alternative(
        "softmax_overflow", part,
        "diagnosis.softmax_overflow",
        SOFTMAX_LIKE, _large_logits, lambda c, e, p=part: _naive_softmax_family(c, p))
      for part in ("output", "input")],
    # Maxout
    *[Alternative(
        "maxout_pieces_grouping", part,
        "diagnosis.maxout_pieces_grouping",
        ("Maxout",), lambda c: int(_kw(c, "pieces", 1)) > 1 and int(_kw(c, "out_features", 1)) > 1,
        lambda c, e, p=part: _maxout_grouping(c, p))
      for part in ("output", "input")],
]

# The cross-entropy gradient N times too large. Placed before the generic "loss summed instead of
# averaged" alternative, which computes the same input gradient: the message here is right both when
# the loss value is also summed and when only the gradient forgot the 1/N (a common a1 mistake).
_CE_GRAD_NOT_DIVIDED = Alternative(
    "ce_grad_not_divided_by_batch", "input",
    "diagnosis.ce_grad_not_divided_by_batch",
    ("CrossEntropyLoss",),
    lambda c: c.kwargs.get("reduction", "mean") == "mean" and c.kwargs.get("weight") is None and c.x.ndim >= 2
    and c.x.shape[0] > 1,
    lambda c, e: _loss_with(c, "input", reduction="sum"))
ALTERNATIVES.insert(next((i for i, a in enumerate(ALTERNATIVES)
                          if a.code == "loss_sum_instead_of_mean" and a.part == "input"), len(ALTERNATIVES)),
                    _CE_GRAD_NOT_DIVIDED)
