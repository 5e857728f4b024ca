"""Check kind ``loss``: a student's loss class, ``forward(input, target) -> scalar`` and
``backward() -> d loss / d input``, judged against ``reference.nn`` (CrossEntropyLoss, MSELoss,
DiceLoss, or any loss with that interface).

Spec keys::

    kind = "loss"
    target = "DiceLoss"                          # the student's class (reference = same name
    reference = "DiceLoss"                       #   unless given)
    init = { eps = 1.0 }                         # constructor kwargs, given to both
    input = { shape = [2, 3, 6, 6], low = 0.05, high = 0.95 }   # logits / predictions
    labels = { kind = "binary" }                 # "binary" (0/1 masks of the input's shape),
                                                 # "classes" (int class indices, shape without
                                                 # axis 1; ``ignore = 0.2`` marks that fraction
                                                 # with ``ignore_index``), "normal", "uniform"
    backward = true                              # also judge backward() (default true)
    parts = { output = 1, input = 2 }            # point weights of the loss value and the gradient

The loss value is the ``output`` part and the gradient the ``input`` part, so diagnoses written for
those parts (grader.diagnose.ALTERNATIVES) apply; the case keeps the target in
``case.extra_inputs["target"]``.
"""
from __future__ import annotations

import numpy as np

from ..i18n import t
from ..judge import as_array
from .base import CheckDefinitionError, CheckKind, Part, Plan, literal, register, require_target, split_points
from .cases import LayerCase, draw_input, dtype_of, init_kwargs, input_spec, reference_class
from .layers import judge_part

LABEL_KINDS = ("binary", "classes", "normal", "uniform")


def draw_labels(spec, rng: np.random.Generator, x: np.ndarray, kwargs: dict) -> np.ndarray:
    labels = spec.get("labels", {"kind": "normal"})
    kind = labels.get("kind", "normal")
    if kind == "binary":
        t = (rng.random(x.shape) < float(labels.get("fraction", 0.4))).astype(x.dtype)
        return t
    if kind == "classes":
        if x.ndim < 2:
            raise CheckDefinitionError(f"check {spec.name!r}: class labels need an input (N, C, ...)")
        shape = x.shape[:1] + x.shape[2:]
        t = rng.integers(0, x.shape[1], size=shape).astype(np.int64)
        ignore = float(labels.get("ignore", 0.0))
        if ignore > 0:
            t = np.where(rng.random(shape) < ignore, int(kwargs.get("ignore_index", -100)), t)
        return t
    if kind == "normal":
        return rng.standard_normal(x.shape).astype(x.dtype)
    if kind == "uniform":
        return rng.uniform(float(labels.get("low", 0.0)), float(labels.get("high", 1.0)), x.shape).astype(x.dtype)
    raise CheckDefinitionError(f"check {spec.name!r}: labels.kind must be one of {LABEL_KINDS}")


def scalar_of(value):
    """A loss value as a 0-d array when it holds exactly one number (a Python float, a 0-d array,
    or a one-element array: the transport and students' code differ there); else unchanged."""
    arr = as_array(value)
    return arr.reshape(()) if arr is not None and arr.size == 1 else value


class LossCase(LayerCase):
    """A loss case: ``x`` is the input (logits / predictions), the target is in ``extra_inputs``."""

    @property
    def target(self) -> np.ndarray:
        return self.extra_inputs["target"]

    def reference_loss(self, **overrides):
        """(loss value, d loss / d input) of the reference loss built with ``overrides``."""
        layer = self.build_reference(**overrides)
        value = np.asarray(layer.forward(self.x, self.target), dtype=np.float64)
        return value, np.asarray(layer.backward(), dtype=np.float64)

    def describe(self) -> str:
        from .cases import call_repr
        target = self.target
        what = t("grading.loss_class_indices") if target.dtype.kind in "iu" else t("grading.loss_targets")
        return t("grading.describe_loss", call=call_repr(self.spec), shape=tuple(self.x.shape), what=what,
                 tshape=tuple(target.shape), dtype=self.dtype)


def make_loss_case(spec, rng: np.random.Generator) -> LossCase:
    cls = reference_class(spec)
    kwargs = init_kwargs(spec)
    dtype = dtype_of(spec)
    try:
        cls(**kwargs)
    except (TypeError, ValueError) as exc:
        raise CheckDefinitionError(f"check {spec.name!r}: reference {cls.__name__}: {exc}") from None
    inp = input_spec(spec)
    x = draw_input(rng, inp["shape"], scale=float(inp.get("scale", 1.0)), dtype=dtype,
                   low=inp.get("low"), high=inp.get("high"))
    t = draw_labels(spec, rng, x, kwargs)
    case = LossCase(spec, kwargs, dtype, {}, x, extra_inputs={"target": t})
    try:
        case.reference_loss()
    except (TypeError, ValueError) as exc:
        raise CheckDefinitionError(f"check {spec.name!r}: reference {cls.__name__} rejects the case: {exc}") from None
    return case


@register
class LossCheck(CheckKind):
    """The loss value and its gradient with respect to the input, each scored separately."""
    kind = "loss"

    def validate(self, spec):
        require_target(spec, "the student's loss class")
        make_loss_case(spec, np.random.default_rng(0))

    def plan(self, spec, rng):
        case = make_loss_case(spec, rng)
        plan = Plan([], {"loss": "loss"}, context={"case": case})
        plan.steps = [
            {"let": "m", "call": spec.target, "kwargs": literal(case.kwargs)},
            {"let": "loss", "call": "m.forward", "args": [plan.array(case.x), plan.array(case.target)]},
        ]
        if spec.get("backward", True):
            plan.steps.append({"let": "dx", "call": "m.backward"})
            plan.returns["dx"] = "dx"
        return plan

    def judge(self, spec, plan, result):
        case = plan.context["case"]
        value, grad = case.reference_loss()
        expected = {"output": value, "input": grad}
        parts = ["output", "input"] if spec.get("backward", True) else ["output"]
        weights = spec.get("parts") or {}
        points = split_points(spec.points, {p: float(weights.get(p, 1.0)) for p in parts})
        out = []
        for p in parts:
            actual = result.values.get("loss" if p == "output" else "dx")
            if p == "output":
                actual = scalar_of(actual)
            label = t("grading.what_loss") if p == "output" else t("grading.what_dx")
            name = spec.display_name if len(parts) == 1 else f"{spec.display_name} — {label}"
            out.append(judge_part(spec, case, p, actual, expected, points[p], result, name))
        return out
