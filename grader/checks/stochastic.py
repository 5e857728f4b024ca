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
        return None, f"`m.mask` after forward should be an array of shape {fmt_shape(shape)}, got " \
                     f"{'None' if mask is None else type(mask).__name__}"
    if arr.shape != tuple(shape):
        return None, f"`m.mask` has shape {fmt_shape(arr.shape)}, expected {fmt_shape(shape)} (one entry per element)"
    if not np.isfinite(arr).all():
        return None, "`m.mask` contains non-finite values"
    keep = arr != 0
    kept = arr[keep]
    scale = 1.0 / (1.0 - p) if p < 1 else 1.0
    if kept.size and not (np.allclose(kept, 1.0, rtol=1e-6) or np.allclose(kept, scale, rtol=1e-6)):
        return None, (f"`m.mask` should hold 0/1 (or 0 and 1/(1-p) = {scale:.4g}); it holds values such as "
                      f"{', '.join(f'{v:.4g}' for v in np.unique(kept)[:4])}")
    return keep, ""


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
        names = {"output": f"{spec.name} — output", "input": f"{spec.name} — input gradient (dx)",
                 "seeded": f"{spec.name} — mask drawn from the given rng"}
        line = case_text(spec, lambda: f"{case.describe()}, `rng=np.random.default_rng(seed)`")
        vals = result.values
        keep, why = read_mask(vals.get("mask"), case.x.shape, case.p)
        if keep is None:
            reason = why if "mask" in vals or result.status == "ok" else worker_error_text(result)
            return [Part(names[k], points[k], 0.0, f"{line}\n\n{reason}. The check reads your mask to know "
                         "which elements you dropped.", {"kind": self.kind, "failed": True})
                    for k in ("output", "input", "seeded")]
        case.extra_inputs["keep"] = keep
        layer = case.build_reference()
        y = np.asarray(layer.forward(case.x))
        dx = np.asarray(layer.backward(case.grad_out))
        expected = {"output": y, "input": dx}
        out = [judge_part(spec, case, "output", vals.get("y"), expected, points["output"], result, names["output"])]
        part = judge_part(spec, case, "input", vals.get("dx"), expected, points["input"], result, names["input"])
        if part.extra.get("failed") and new_mask_in_backward(keep, as_array(vals.get("dx")), case.grad_out, case.p):
            d = Diagnosis("dropout_mask_not_reused", "Your backward drops a different set of elements than "
                          "forward did: backward must reuse the mask saved in forward (`self.mask`), not draw a new one.")
            part.extra.setdefault("diagnoses", []).insert(0, d.as_dict())
            part.output += f"\n\n**Likely mistake:** {d.message}"
        out.append(part)
        mask2 = as_array(vals.get("mask2"))
        keep2 = None if mask2 is None or mask2.shape != keep.shape else mask2 != 0
        if keep2 is not None and np.array_equal(keep, keep2):
            out.append(Part(names["seeded"], points["seeded"], points["seeded"],
                            f"{line} Two layers given the same seed drew the same mask.", {"kind": self.kind}))
        else:
            text = (f"{line}\n\nTwo layers constructed with `rng=np.random.default_rng(seed)` for the same seed "
                    "drew different masks. Draw the mask from the generator passed as `rng` "
                    "(e.g. `self.rng.random(x.shape)`), not from `np.random`.")
            diag = {"code": "dropout_rng_ignored", "message": "Your mask is not drawn from the generator you "
                    "were given: use `self.rng`, so that the same seed gives the same mask."}
            text += f"\n\n**Likely mistake:** {diag['message']}"
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
            label = "output" if part == "output" else "input gradient (dx)"
            p = judge_part(spec, case, part, result.values.get(key), expected, points[part], result,
                           f"{spec.name} — {label}")
            style = looks_like_dropout(src, as_array(result.values.get(key)), case.p) if p.extra.get("failed") else None
            if style:
                d = Diagnosis("dropout_in_eval", "In eval mode dropout must do nothing (return the input "
                              "unchanged, and pass the gradient through unchanged); yours still drops elements"
                              + (" and rescales the rest." if style == "scaled" else "."))
                p.extra.setdefault("diagnoses", []).insert(0, d.as_dict())
                p.output += f"\n\n**Likely mistake:** {d.message}"
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
                lines.append(f"- p={p:g}: expected an output of shape {fmt_shape(shape)}, got {have}")
                continue
            if not np.isfinite(y).all():
                lines.append(f"- p={p:g}: the output contains NaN or inf" +
                             (" (with p=1 every element is dropped: return zeros, do not divide by 1-p=0)" if p == 1 else ""))
                continue
            frac0 = float(np.mean(y == 0))
            mean = float(y.mean())
            sd0 = np.sqrt(p * (1 - p) / n)
            sdm = np.sqrt(p / ((1 - p) * n)) if p < 1 else 0.0
            scale = 1.0 / (1 - p) if p < 1 else 0.0
            kept = y[y != 0]
            problems = []
            if abs(frac0 - p) > k * sd0 + 1e-12:
                problems.append(f"{frac0:.2%} of the outputs are zero, expected {p:.0%} ± {k * sd0:.2%}")
                if 0 < p < 1 and abs(p - 0.5) > 0.05 and abs(frac0 - (1 - p)) <= k * sd0:
                    diags.append(Diagnosis("dropout_keep_prob_swapped", "You drop elements with probability "
                                           "1-p: `p` is the probability of *dropping* an element (torch's "
                                           "convention), so keep where `rng.random(shape) >= p`."))
            want = 1.0 if p < 1 else 0.0
            if abs(mean - want) > k * sdm + 1e-9:
                problems.append(f"the mean output is {mean:.4f}, expected {want:g} ± {k * sdm:.4f}" +
                                (" (inverted dropout keeps the expected value)" if p < 1 else ""))
            if kept.size and p < 1 and not np.allclose(kept, scale, rtol=1e-6):
                vals = ", ".join(f"{v:.4g}" for v in np.unique(kept)[:3])
                problems.append(f"kept elements of an input of ones are {vals}, expected 1/(1-p) = {scale:.4g}")
                if np.allclose(kept, 1.0):
                    diags.append(Diagnosis("dropout_not_rescaled", "Kept elements are not rescaled: inverted "
                                           "dropout multiplies them by 1/(1-p) in training so that eval needs no change."))
                elif p > 0 and np.allclose(kept, 1.0 / p):
                    diags.append(Diagnosis("dropout_scaled_by_p", "Kept elements are divided by p; divide by "
                                           "the keep probability 1-p."))
            if problems:
                lines.append(f"- p={p:g}: " + "; ".join(problems))
            else:
                score += per[str(i)]
                lines.append(f"- p={p:g}: {frac0:.2%} zeros, mean {mean:.4f}: correct")
        failed = score < spec.points - 1e-9
        text = (f"`{spec.target}(p, rng=...)` in training mode on an input of ones of shape {fmt_shape(shape)} "
                f"(tolerance {k:g} standard deviations):\n\n" + "\n".join(lines))
        seen, unique = set(), []
        for d in diags:
            if d.code not in seen:
                seen.add(d.code)
                unique.append(d)
                text += f"\n\n**Likely mistake:** {d.message}"
        extra = {"kind": self.kind, "failed": failed, "diagnoses": [d.as_dict() for d in unique]}
        return [Part(spec.name, spec.points, round(score, 6), text, extra)]
