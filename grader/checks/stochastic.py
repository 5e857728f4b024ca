"""Check kinds for layers that draw random numbers (dropout): the student's layer receives a seeded
``numpy.random.Generator`` (``rng=``, sent as ``{"$rng": seed}``) and exposes its last mask as
``self.mask``.

* ``dropout_mask``: one training forward and backward. The student's own mask is read back and
  replayed into the reference layer (a generator that reproduces exactly that keep pattern), so the
  output and the input gradient are judged exactly: ``x * keep / (1 - p)`` and
  ``grad_out * keep / (1 - p)``. A second layer built with the same seed must draw the same mask.
  The mask may be binary (0/1 or bool) or carry the scale (0 and ``1 / (1 - p)``): both accepted.
* ``dropout_eval``: eval mode is the identity (forward and backward), with a diagnosis when the
  answer looks like dropout applied anyway.
* ``dropout_statistics``: on a large input of ones, for several ``p``: the fraction of zeros is
  ``p`` and the mean output is 1 (inverted scaling) within ``sigmas`` binomial standard deviations,
  and every kept value is exactly ``1 / (1 - p)``.

Spec keys: ``target``, ``init`` (``{p = 0.3}``), ``input = {shape = [...]}``; statistics also
``ps = [0.2, 0.5, 0.8]``, ``sigmas = 5``.
"""
from __future__ import annotations

import numpy as np

from ..diagnose import Diagnosis
from ..i18n import t
from ..judge import as_array, compare, fmt_shape
from .base import CheckDefinitionError, CheckKind, Part, Plan, case_text, literal, register, require_target, \
    split_points, worker_error_text
from .cases import LayerCase, call_repr, init_kwargs, make_case
from .layers import judge_part


class ReplayRng:
    """Stands in for ``numpy.random.Generator`` in a reference dropout layer: ``random(shape)``
    returns 0 where ``keep`` is true and 1 elsewhere, so the reference keeps exactly ``keep``
    (it keeps where ``u < 1 - p``)."""

    def __init__(self, keep: np.ndarray):
        self.keep = np.asarray(keep, dtype=bool)

    def random(self, size=None):
        if tuple(size) != self.keep.shape:
            raise ValueError(f"replayed mask has shape {self.keep.shape}, layer asked for {tuple(size)}")
        return np.where(self.keep, 0.0, 1.0)


class DropoutCase(LayerCase):
    """A layer case whose reference layer replays the student's keep pattern (``extra_inputs["keep"]``)."""

    @property
    def p(self) -> float:
        return float(self.kwargs.get("p", 0.5))

    def build_reference(self, **overrides):
        layer = super().build_reference(**overrides)
        if "keep" in self.extra_inputs:
            layer.rng = ReplayRng(self.extra_inputs["keep"])
        return layer


def _p_of(spec) -> float:
    return float(init_kwargs(spec).get("p", 0.5))


def read_mask(mask, shape, p: float) -> tuple[np.ndarray | None, str]:
    """The keep pattern of a student's ``self.mask``, or (None, why it is not a valid mask)."""
    arr = as_array(mask)
    if arr is None:
        return None, t("training.mask_missing", shape=fmt_shape(shape),
                       got="None" if mask is None else type(mask).__name__)
    if arr.shape != tuple(shape):
        return None, t("training.mask_shape", shape=fmt_shape(arr.shape), expected=fmt_shape(shape))
    if not np.isfinite(arr).all():
        return None, t("training.mask_not_finite")
    keep = arr != 0
    kept = arr[keep]
    scale = 1.0 / (1.0 - p) if p < 1 else 1.0
    if kept.size and not (np.allclose(kept, 1.0, rtol=1e-6) or np.allclose(kept, scale, rtol=1e-6)):
        return None, t("training.mask_values", scale=f"{scale:.4g}",
                       values=", ".join(f"{v:.4g}" for v in np.unique(kept)[:4]))
    return keep, ""


def _likely(message: str) -> str:
    """The "likely mistake" paragraph that follows a failed part's text."""
    return "\n\n" + t("grading.likely_mistake_prefix") + " " + message


def with_rng(kwargs: dict, seed: int) -> dict:
    """Protocol kwargs: the constructor arguments plus ``rng=np.random.default_rng(seed)``."""
    value = literal(dict(kwargs))
    value["$dict"]["rng"] = {"$rng": int(seed)}
    return value


def _dropout_plan_steps(plan: Plan, spec, case, seed: int, *, eval_mode: bool = False, name: str = "m") -> list[dict]:
    steps = [{"let": name, "call": spec.target, "kwargs": with_rng(case.kwargs, seed)}]
    if eval_mode:
        steps.append({"let": "_", "call": f"{name}.eval"})
    return steps


def new_mask_in_backward(keep: np.ndarray, dx: np.ndarray | None, g: np.ndarray, p: float) -> bool:
    """True when ``dx`` is dropout of ``g`` (entries 0 or g/(1-p), or g) but with another keep pattern."""
    if dx is None or dx.shape != g.shape or not 0 < p < 1:
        return False
    nz = dx != 0
    if np.array_equal(nz, keep & (g != 0)):
        return False
    ok_scaled = np.allclose(dx[nz], g[nz] / (1 - p), rtol=1e-6)
    ok_plain = np.allclose(dx[nz], g[nz], rtol=1e-6)
    return bool(ok_scaled or ok_plain) and nz.any()


@register
class DropoutMaskCheck(CheckKind):
    """Training forward and backward judged exactly against the student's own exposed mask."""
    kind = "dropout_mask"

    def validate(self, spec):
        require_target(spec, "the student's class")
        make_case(spec, np.random.default_rng(0))

    def plan(self, spec, rng):
        base = make_case(spec, rng)
        case = DropoutCase(spec, base.kwargs, base.dtype, {}, base.x, base.grad_out, True)
        seed = int(rng.integers(2 ** 31))
        plan = Plan([], {"y": "y", "mask": "mask", "dx": "dx", "mask2": "mask2"}, context={"case": case})
        x = plan.array(case.x)
        plan.steps = _dropout_plan_steps(plan, spec, case, seed) + [
            {"let": "y", "call": "m.forward", "args": [x]},
            {"let": "mask", "get": "m.mask"},
            {"let": "dx", "call": "m.backward", "args": [plan.array(case.grad_out)]},
        ] + _dropout_plan_steps(plan, spec, case, seed, name="m2") + [
            {"let": "y2", "call": "m2.forward", "args": [x]},
            {"let": "mask2", "get": "m2.mask"},
        ]
        return plan

    def judge(self, spec, plan, result):
        case: DropoutCase = plan.context["case"]
        weights = spec.get("parts") or {}
        points = split_points(spec.points, {"output": float(weights.get("output", 2.0)),
                                            "input": float(weights.get("input", 2.0)),
                                            "seeded": float(weights.get("seeded", 1.0))})
        names = {k: t(f"training.dropout_row_{k}", name=spec.display_name) for k in ("output", "input", "seeded")}
        line = case_text(spec, lambda: f"{case.describe()}, `rng=np.random.default_rng(seed)`")
        vals = result.values
        keep, why = read_mask(vals.get("mask"), case.x.shape, case.p)
        if keep is None:
            reason = why if "mask" in vals or result.status == "ok" else worker_error_text(result)
            return [Part(names[k], points[k], 0.0, t("training.mask_unreadable", case=line, reason=reason),
                         {"kind": self.kind, "failed": True})
                    for k in ("output", "input", "seeded")]
        case.extra_inputs["keep"] = keep
        layer = case.build_reference()
        y = np.asarray(layer.forward(case.x))
        dx = np.asarray(layer.backward(case.grad_out))
        expected = {"output": y, "input": dx}
        out = [judge_part(spec, case, "output", vals.get("y"), expected, points["output"], result, names["output"])]
        part = judge_part(spec, case, "input", vals.get("dx"), expected, points["input"], result, names["input"])
        if part.extra.get("failed") and new_mask_in_backward(keep, as_array(vals.get("dx")), case.grad_out, case.p):
            d = Diagnosis("dropout_mask_not_reused", t("training.dropout_mask_not_reused"))
            part.extra.setdefault("diagnoses", []).insert(0, d.as_dict())
            part.output += _likely(d.message)
        out.append(part)
        mask2 = as_array(vals.get("mask2"))
        keep2 = None if mask2 is None or mask2.shape != keep.shape else mask2 != 0
        if keep2 is not None and np.array_equal(keep, keep2):
            out.append(Part(names["seeded"], points["seeded"], points["seeded"],
                            t("training.dropout_seeded_ok", case=line), {"kind": self.kind}))
        else:
            diag = {"code": "dropout_rng_ignored", "message": t("training.dropout_rng_ignored")}
            text = t("training.dropout_seeded_differ", case=line) + _likely(diag["message"])
            out.append(Part(names["seeded"], points["seeded"], 0.0, text,
                            {"kind": self.kind, "failed": True, "diagnoses": [diag]}))
        return out


def looks_like_dropout(x: np.ndarray, y: np.ndarray | None, p: float) -> str | None:
    """'scaled' / 'plain' when ``y`` is ``x`` with some elements zeroed (kept ones scaled by
    1/(1-p) or not) and at least one element was dropped; else None."""
    if y is None or y.shape != x.shape or not 0 < p < 1:
        return None
    dropped = (y == 0) & (x != 0)
    if not dropped.any():
        return None
    kept = ~dropped
    if np.allclose(y[kept], x[kept] / (1 - p), rtol=1e-6):
        return "scaled"
    if np.allclose(y[kept], x[kept], rtol=1e-6):
        return "plain"
    return None


@register
class DropoutEvalCheck(CheckKind):
    """In eval mode dropout is the identity: forward returns x and backward returns grad_out."""
    kind = "dropout_eval"

    def validate(self, spec):
        require_target(spec, "the student's class")
        make_case(spec, np.random.default_rng(0))

    def plan(self, spec, rng):
        base = make_case(spec, rng)
        case = DropoutCase(spec, base.kwargs, base.dtype, {}, base.x, base.grad_out, False)
        plan = Plan([], {"y": "y", "dx": "dx"}, context={"case": case})
        plan.steps = _dropout_plan_steps(plan, spec, case, int(rng.integers(2 ** 31)), eval_mode=True) + [
            {"let": "y", "call": "m.forward", "args": [plan.array(case.x)]},
            {"let": "dx", "call": "m.backward", "args": [plan.array(case.grad_out)]},
        ]
        return plan

    def judge(self, spec, plan, result):
        case: DropoutCase = plan.context["case"]
        layer = case.build_reference()
        expected = {"output": np.asarray(layer.forward(case.x)), "input": np.asarray(layer.backward(case.grad_out))}
        points = split_points(spec.points, {"output": 1.0, "input": 1.0})
        out = []
        for part, key, src in (("output", "y", case.x), ("input", "dx", case.grad_out)):
            p = judge_part(spec, case, part, result.values.get(key), expected, points[part], result,
                           t(f"training.dropout_row_{part}", name=spec.display_name))
            style = looks_like_dropout(src, as_array(result.values.get(key)), case.p) if p.extra.get("failed") else None
            if style:
                d = Diagnosis("dropout_in_eval", t("training.dropout_in_eval_scaled" if style == "scaled"
                                                   else "training.dropout_in_eval"))
                p.extra.setdefault("diagnoses", []).insert(0, d.as_dict())
                p.output += _likely(d.message)
            out.append(p)
        return out


@register
class DropoutStatisticsCheck(CheckKind):
    """Drop rate and inverted scaling, statistically, on a large input of ones for several p."""
    kind = "dropout_statistics"

    def validate(self, spec):
        require_target(spec, "the student's class")
        ps = spec.get("ps")
        if not ps or not all(isinstance(p, (int, float)) and 0 <= p <= 1 for p in ps):
            raise CheckDefinitionError(f"check {spec.name!r}: ps must be a list of probabilities in [0, 1]")
        shape = (spec.get("input") or {}).get("shape")
        if not shape or int(np.prod(shape)) < 1000:
            raise CheckDefinitionError(f"check {spec.name!r}: needs input = {{shape = [...]}} with at least 1000 elements")

    def plan(self, spec, rng):
        shape = tuple(int(s) for s in spec.get("input")["shape"])
        ps = [float(p) for p in spec.get("ps")]
        plan = Plan([], {}, context={"shape": shape, "ps": ps})
        ones = plan.array(np.ones(shape))
        extra = {k: v for k, v in init_kwargs(spec).items() if k != "p"}
        for i, p in enumerate(ps):
            plan.steps += [
                {"let": f"m{i}", "call": spec.target, "kwargs": with_rng({**extra, "p": p}, int(rng.integers(2 ** 31)))},
                {"let": f"y{i}", "call": f"m{i}.forward", "args": [ones]},
            ]
            plan.returns[f"y{i}"] = f"y{i}"
        return plan

    def judge(self, spec, plan, result):
        shape, ps = plan.context["shape"], plan.context["ps"]
        k = float(spec.get("sigmas", 5.0))
        n = int(np.prod(shape))
        per = split_points(spec.points, {str(i): 1.0 for i in range(len(ps))})
        score, lines, diags = 0.0, [], []
        for i, p in enumerate(ps):
            y = as_array(result.values.get(f"y{i}"))
            if y is None or y.shape != shape:
                have = fmt_shape(y.shape) if y is not None else worker_error_text(result)
                lines.append(t("training.stats_shape", p=f"{p:g}", shape=fmt_shape(shape), got=have))
                continue
            if not np.isfinite(y).all():
                lines.append(t("training.stats_not_finite_p1" if p == 1 else "training.stats_not_finite", p=f"{p:g}"))
                continue
            frac0 = float(np.mean(y == 0))
            mean = float(y.mean())
            sd0 = np.sqrt(p * (1 - p) / n)
            sdm = np.sqrt(p / ((1 - p) * n)) if p < 1 else 0.0
            scale = 1.0 / (1 - p) if p < 1 else 0.0
            kept = y[y != 0]
            problems = []
            if abs(frac0 - p) > k * sd0 + 1e-12:
                problems.append(t("training.stats_zeros", zeros=f"{frac0:.2%}", p=f"{p:.0%}", band=f"{k * sd0:.2%}"))
                if 0 < p < 1 and abs(p - 0.5) > 0.05 and abs(frac0 - (1 - p)) <= k * sd0:
                    diags.append(Diagnosis("dropout_keep_prob_swapped", t("training.dropout_keep_prob_swapped")))
            want = 1.0 if p < 1 else 0.0
            if abs(mean - want) > k * sdm + 1e-9:
                problems.append(t("training.stats_mean_inverted" if p < 1 else "training.stats_mean",
                                  mean=f"{mean:.4f}", want=f"{want:g}", band=f"{k * sdm:.4f}"))
            if kept.size and p < 1 and not np.allclose(kept, scale, rtol=1e-6):
                vals = ", ".join(f"{v:.4g}" for v in np.unique(kept)[:3])
                problems.append(t("training.stats_kept", values=vals, scale=f"{scale:.4g}"))
                if np.allclose(kept, 1.0):
                    diags.append(Diagnosis("dropout_not_rescaled", t("training.dropout_not_rescaled")))
                elif p > 0 and np.allclose(kept, 1.0 / p):
                    diags.append(Diagnosis("dropout_scaled_by_p", t("training.dropout_scaled_by_p")))
            if problems:
                lines.append(f"- p={p:g}: " + "; ".join(problems))
            else:
                score += per[str(i)]
                lines.append(t("training.stats_correct", p=f"{p:g}", zeros=f"{frac0:.2%}", mean=f"{mean:.4f}"))
        failed = score < spec.points - 1e-9
        text = (t("training.stats_intro", target=spec.target, shape=fmt_shape(shape), sigmas=f"{k:g}")
                + "\n\n" + "\n".join(lines))
        seen, unique = set(), []
        for d in diags:
            if d.code not in seen:
                seen.add(d.code)
                unique.append(d)
                text += _likely(d.message)
        extra = {"kind": self.kind, "failed": failed, "diagnoses": [d.as_dict() for d in unique]}
        return [Part(spec.display_name, spec.points, round(score, 6), text, extra)]
