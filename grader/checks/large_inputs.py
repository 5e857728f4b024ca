"""Check kind ``large_inputs``: a layer or loss judged on inputs of large magnitude (logits of
±1000), where a formula that is right on paper overflows: ``exp(1000)`` is ``inf`` in float64 and
``inf / inf`` is ``NaN``.

It runs another kind's probe and verdict unchanged (``of = "forward"``, ``"backward"`` or
``"loss"``; every key of that kind applies) and adds what that verdict cannot: when the student's
answer holds NaN/inf where the reference's is finite, the named mistakes of
:data:`grader.diagnose.ALTERNATIVES` for that layer and part are compared *position by position*
(the same entries non-finite, the finite ones equal within tolerance), so "softmax without the max
subtracted" is named from its NaNs::

    [[check]]
    name = "Softmax forward: logits up to ±1000"
    kind = "large_inputs"
    of = "forward"
    target = "Softmax"
    init = { dim = 1 }
    input = { shape = [6, 10], low = -1000.0, high = 1000.0 }

When no named mistake fits, a non-finite answer still gets the generic diagnosis
``nonfinite_large_input``.
"""
from __future__ import annotations

import numpy as np

from ..diagnose import ALTERNATIVES, Diagnosis
from ..i18n import t
from ..judge import as_array
from .base import REGISTRY, CheckDefinitionError, CheckKind, register
from .layers import mistake_text
from .losses import scalar_of

OF = ("forward", "backward", "loss")


def _of(spec) -> str:
    of = spec.get("of")
    if of not in OF:
        raise CheckDefinitionError(f"check {spec.name!r}: of must be one of {OF}, got {of!r}")
    return of


def _answers(of: str, case, values: dict, with_backward: bool) -> list[tuple[str, object, np.ndarray]]:
    """(part, the student's value, the reference's value) in the order the wrapped kind's parts come."""
    if of == "forward":
        return [("output", values.get("y"), case.reference_output())]
    if of == "loss":
        value, grad = case.reference_loss()
        out = [("output", scalar_of(values.get("loss")), value)]
        return out + ([("input", values.get("dx"), grad)] if with_backward else [])
    _, dx, grads = case.reference_gradients()
    return [("input", values.get("dx"), dx)] + [(p, values.get(f"grad:{p}"), grads[p]) for p in case.param_names()]


def same_nonfinite(actual: np.ndarray, value: np.ndarray, rtol: float = 1e-4) -> bool:
    """Non-finite at exactly the same entries, and close on the finite ones."""
    if actual.shape != value.shape:
        return False
    bad_a, bad_v = ~np.isfinite(actual), ~np.isfinite(value)
    if not bad_v.any() or not np.array_equal(bad_a, bad_v):
        return False
    # NaN, +inf and -inf tell different mistakes apart (log 0 = -inf is not inf / inf = NaN)
    if not (np.array_equal(np.isnan(actual), np.isnan(value)) and np.array_equal(actual[bad_a] > 0, value[bad_v] > 0)):
        return False
    a, v = actual[~bad_a], value[~bad_v]
    if a.size == 0:
        return True
    scale = max(float(np.abs(v).max()), float(np.abs(a).max()), 1e-12)
    return bool(np.all(np.abs(a - v) <= rtol * scale + 1e-12))


def explain_nonfinite(case, part: str, actual, expected: np.ndarray) -> list[Diagnosis]:
    """Diagnoses for an answer with NaN/inf where ``expected`` is finite, best first."""
    arr = as_array(actual)
    if arr is None or np.all(np.isfinite(arr)) or not np.all(np.isfinite(expected)):
        return []
    name = case.spec.get("reference", case.spec.target)
    for alt in ALTERNATIVES:
        if alt.part != part or name not in alt.layers:
            continue
        try:
            if not alt.applies(case):
                continue
            value = np.asarray(alt.compute(case, {part: expected}), dtype=np.float64)
        except Exception:   # an alternative that cannot be built for this case does not apply
            continue
        if same_nonfinite(arr, value):
            return [Diagnosis(alt.code, alt.message)]
    what = (t("grading.nonfinite_your_output") if part == "output" else t("grading.nonfinite_your_dx")
            if part == "input" else t("grading.nonfinite_your_grad", param=repr(part)))
    return [Diagnosis("nonfinite_large_input", t("grading.nonfinite_large_input", what=what))]


@register
class LargeInputsCheck(CheckKind):
    """Another kind's check on large-magnitude inputs, with non-finite answers diagnosed."""
    kind = "large_inputs"

    def validate(self, spec):
        REGISTRY[_of(spec)].validate(spec)

    def parts(self, spec):
        return REGISTRY[_of(spec)].parts(spec)

    def plan(self, spec, rng):
        return REGISTRY[_of(spec)].plan(spec, rng)

    def judge(self, spec, plan, result):
        of = _of(spec)
        parts = REGISTRY[of].judge(spec, plan, result)
        case = plan.context["case"]
        answers = _answers(of, case, result.values, bool(spec.get("backward", True)))
        for part, (key, actual, expected) in zip(parts, answers):
            if part.passed or actual is None:
                continue
            found = explain_nonfinite(case, key, actual, np.asarray(expected, dtype=np.float64))
            if not found:
                continue
            have = part.extra.setdefault("diagnoses", [])
            for d in found:
                if d.code not in {h.get("code") for h in have}:
                    have.append(d.as_dict())
                    part.output += "\n\n" + mistake_text(d.message)
            part.extra["failed"] = True
        return parts
