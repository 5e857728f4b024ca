"""Check kinds for a student's layer class: ``forward``, ``backward``, ``gradient_consistency``,
``shape`` and ``api``.

All expected values are computed here, in the grader, with ``reference.nn``; the worker only
receives constructor arguments, parameters and inputs.
"""
from __future__ import annotations

import numpy as np

from ..diagnose import explain, explain_error, heatmap
from ..judge import as_array, compare, fmt_shape
from .base import CheckDefinitionError, CheckKind, CheckSpec, Part, Plan, case_text, literal, register, \
    require_target, split_points, worker_error_text
from .cases import LayerCase, call_repr, init_kwargs, make_case, module_steps, reference_class

PART_LABEL = {"output": "output", "input": "input gradient (dx)"}


def part_label(part: str) -> str:
    return PART_LABEL.get(part, f"grads[{part!r}]")


def case_line(spec: CheckSpec, case: LayerCase) -> str:
    return case_text(spec, case.describe)


def _fail_text(spec, case, comparison, diagnoses, sentence: str) -> str:
    lines = [case_line(spec, case), sentence]
    if comparison.problem == "value" and spec.visible and comparison.worst_index:
        lines.append(f"Largest error at index {comparison.worst_index}.")
    for d in diagnoses:
        lines.append(f"**Likely mistake:** {d.message}")
    return "\n\n".join(lines)


def _capitalized(message: str) -> str:
    """The comparison's message as the failure sentence (``grads[...]`` keeps its case)."""
    if not message.startswith("grads"):
        message = message[0].upper() + message[1:]
    return f"{message}."


def judge_part(spec, case, part: str, actual, expected: dict, points: float, result, name: str,
               extra_note: str = "", label: str | None = None, sentence=_capitalized) -> Part:
    """One scored part: compare ``actual`` with ``expected[part]``; on failure explain it (named
    mistakes, heatmap, the case when visible) or, when the worker produced nothing, say why.
    ``label`` names the value in messages (default ``part_label(part)``); ``sentence(message)``
    turns the comparison's message into the failure sentence."""
    label = label or part_label(part)
    comparison = compare(actual, expected[part], what=label, dtype=case.dtype)
    if comparison.ok:
        return Part(name, points, points, f"{case_line(spec, case)} Correct (max relative error "
                    f"{comparison.rel_error:.1e}).", {"kind": spec.kind})
    if actual is None and result.status != "ok":
        text = f"{case_line(spec, case)}\n\nNo {label}: {worker_error_text(result)}."
        found = explain_error(case, result)
        for d in found:
            text += f"\n\n**Likely mistake:** {d.message}"
        return Part(name, points, 0.0, text, {"kind": spec.kind, "failed": True,
                                              "diagnoses": [d.as_dict() for d in found]})
    errors: list[str] = []
    diagnoses = explain(case, part, actual, expected, comparison, errors)
    text = _fail_text(spec, case, comparison, diagnoses, sentence(comparison.message))
    if extra_note:
        text += "\n\n" + extra_note
    extra = {"kind": spec.kind, "failed": True, "diagnoses": [d.as_dict() for d in diagnoses]}
    if comparison.problem == "value":
        try:
            hm = heatmap(comparison.error_map)
        except Exception:   # feedback decoration only: never costs the row
            hm = None
            errors.append("heatmap failed")
        if hm:
            extra["heatmap"] = hm
    if errors:
        extra["diagnosis_errors"] = [e.splitlines()[0][:200] for e in errors]
    if spec.visible:
        extra["case"] = case.describe()
    return Part(name, points, 0.0, text, extra)


def _renamed(steps: list[dict], name: str) -> list[dict]:
    """``module_steps`` building the layer under another name than ``m``."""
    out = []
    for step in steps:
        step = dict(step)
        if step.get("let") == "m":
            step["let"] = name
        if isinstance(step.get("call"), str) and step["call"].startswith("m."):
            step["call"] = name + step["call"][1:]
        out.append(step)
    return out


class _LayerKind(CheckKind):
    def validate(self, spec: CheckSpec) -> None:
        require_target(spec, "the student's class name")
        make_case(spec, np.random.default_rng(0))   # builds the reference case: raises if malformed


@register
class ForwardCheck(_LayerKind):
    """The layer's output equals the reference's for the same parameters and input."""
    kind = "forward"

    def plan(self, spec, rng):
        case = make_case(spec, rng)
        plan = Plan([], {"y": "y"}, context={"case": case})
        plan.steps = module_steps(plan, case) + [{"let": "y", "call": "m.forward", "args": [plan.array(case.x)]}]
        return plan

    def judge(self, spec, plan, result):
        case = plan.context["case"]
        _, y = case.reference_forward()
        return [judge_part(spec, case, "output", result.values.get("y"), {"output": y},
                           spec.points, result, spec.name)]


@register
class BackwardCheck(_LayerKind):
    """Input and parameter gradients under a random upstream gradient, each scored separately."""
    kind = "backward"

    def plan(self, spec, rng):
        case = make_case(spec, rng)
        plan = Plan([], {"y": "y", "dx": "dx"}, context={"case": case})
        plan.steps = module_steps(plan, case) + [
            {"let": "y", "call": "m.forward", "args": [plan.array(case.x)]},
            {"let": "dx", "call": "m.backward", "args": [plan.array(case.grad_out)]},
        ]
        for p in case.param_names():
            plan.returns[f"grad:{p}"] = f"m.grads.{p}"
        return plan

    @staticmethod
    def _points(spec, names: list[str]) -> dict[str, float]:
        parts = ["input"] + names
        weights = spec.get("parts") or {p: 1.0 for p in parts}
        return split_points(spec.points, {p: float(weights.get(p, 1.0)) for p in parts})

    def parts(self, spec):
        names = [n for n, _ in reference_class(spec)(**init_kwargs(spec)).named_parameters()]
        return [(f"{spec.name} — {part_label(p)}", pts) for p, pts in self._points(spec, names).items()]

    def judge(self, spec, plan, result):
        case = plan.context["case"]
        layer = case.build_reference()
        y = np.asarray(layer.forward(case.x))
        dx = np.asarray(layer.backward(case.grad_out))
        expected = {"output": y, "input": dx}
        for p in case.param_names():
            expected[p] = np.asarray(layer.grads[p])
        parts = ["input"] + case.param_names()
        points = self._points(spec, case.param_names())
        fwd_ok = compare(result.values.get("y"), y, dtype=case.dtype).ok
        note = "" if fwd_ok else ("Note: your forward output is also wrong for this case; gradients are "
                                  "judged against the correct forward, so fix forward first.")
        out = []
        for p in parts:   # each part on its own: one that cannot be judged never takes the others down
            actual = result.values.get("dx" if p == "input" else f"grad:{p}")
            name = f"{spec.name} — {part_label(p)}"
            try:
                out.append(judge_part(spec, case, p, actual, expected, points[p], result, name, note))
            except Exception:
                out.append(Part(name, points[p], 0.0, "The grader failed on this part (internal error); your TA "
                                "has been told. This is not your fault.",
                                {"kind": spec.kind, "failed": True, "internal_error": True}))
        return out


@register
class GradientConsistencyCheck(_LayerKind):
    """The student's backward against central differences of the student's *own* forward.

    Separates "your backward is wrong" from "your forward is wrong": a correct backward of a wrong
    forward passes this check. Directional derivatives along random directions v:
    ``<g, (f(x + h v) - f(x - h v)) / 2h>`` must equal ``<dx, v>`` (and likewise per parameter).
    """
    kind = "gradient_consistency"

    def plan(self, spec, rng):
        case = make_case(spec, rng)
        if case.dtype != "float64":
            raise CheckDefinitionError(f"check {spec.name!r}: gradient_consistency needs float64")
        n_dir = int(spec.get("directions", 2))
        h = float(spec.get("step", 1e-5))
        gseed = int(rng.integers(2**62))
        plan = Plan([], {"dx": "dx", "y0": "y0", "dx_own": "dx_own"},
                    context={"case": case, "h": h, "dirs": [], "pdirs": [], "gseed": gseed})
        x_ref = plan.array(case.x)
        # 1. on its own instance: the upstream gradient in the shape of the student's *own* output
        # (drawn in the worker from a seed; the judge draws the same one), so a forward with a wrong
        # shape cannot make a self-consistent backward look wrong (used only when the shape is wrong)
        steps = _renamed(module_steps(plan, case), "m_own")
        steps += [{"let": "y0", "call": "m_own.forward", "args": [x_ref]},
                  {"set": "g_rng", "value": {"$rng": gseed}},
                  {"let": "g_shape", "get": "y0.shape"},
                  {"let": "g", "call": "g_rng.standard_normal", "args": [{"$ref": "g_shape"}]},
                  {"let": "dx_own", "call": "m_own.backward", "args": [{"$ref": "g"}]}]
        for p in case.param_names():
            plan.returns[f"grad_own:{p}"] = f"m_own.grads.{p}"
        # 2. the finite differences, forwards only, on another instance
        steps += _renamed(module_steps(plan, case), "m_fd")
        fd_steps = []
        for j in range(n_dir):
            v = rng.standard_normal(case.x.shape)
            plan.context["dirs"].append(v)
            for sign, tag in ((1, "p"), (-1, "m")):
                fd_steps.append({"let": f"y{tag}{j}", "call": "m_fd.forward", "args": [plan.array(case.x + sign * h * v)]})
                plan.returns[f"y{tag}{j}"] = f"y{tag}{j}"
        for p in case.param_names():
            v = {k: (rng.standard_normal(val.shape) if k == p else np.zeros_like(val))
                 for k, val in case.state.items() if np.issubdtype(val.dtype, np.floating)}
            plan.context["pdirs"].append((p, v[p]))
            for sign, tag in ((1, "p"), (-1, "m")):
                shifted = {k: case.state[k] + sign * h * v[k] if k in v else case.state[k] for k in case.state}
                fd_steps.append({"let": "_", "call": "m_fd.load_state_dict",
                                 "args": [{"$dict": {k: plan.array(a) for k, a in shifted.items()}}]})
                fd_steps.append({"let": f"w{tag}_{p}", "call": "m_fd.forward", "args": [x_ref]})
                plan.returns[f"w{tag}_{p}"] = f"w{tag}_{p}"
        # 3. last (it may raise when the forward's shape is wrong): backward of the case's upstream
        # gradient, the one the released public tests use
        std = module_steps(plan, case) + [{"let": "y", "call": "m.forward", "args": [x_ref]},
                                          {"let": "dx", "call": "m.backward", "args": [plan.array(case.grad_out)]}]
        for p in case.param_names():
            plan.returns[f"grad:{p}"] = f"m.grads.{p}"
        plan.steps = steps + fd_steps + std
        return plan

    def judge(self, spec, plan, result):
        case, h = plan.context["case"], plan.context["h"]
        vals = result.values
        y0 = as_array(vals.get("y0"))
        line = case_line(spec, case)
        if y0 is None or y0.ndim == 0 or y0.size > 10**7:
            why = worker_error_text(result) if result.status != "ok" else "your forward returned no array"
            return [Part(spec.name, spec.points, 0.0, f"{line}\n\nCould not be evaluated: {why}.",
                         {"kind": self.kind, "failed": True})]
        _, y_ref = case.reference_forward()
        own = y0.shape != np.shape(y_ref)
        if own:   # judge the backward of the student's own output shape
            g = np.random.default_rng(plan.context["gseed"]).standard_normal(y0.shape)
        else:
            g = case.grad_out.astype(np.float64)
        shape_note = "" if not own else (
            f"\n\n(Your forward returns shape {fmt_shape(y0.shape)}, expected {fmt_shape(np.shape(y_ref))}: the "
            "forward checks cover that; this check only asks whether backward is the derivative of your forward.)")
        problems, worst = [], 0.0

        def directional(tag_p, tag_m):
            yp, ym = as_array(vals.get(tag_p)), as_array(vals.get(tag_m))
            if yp is None or ym is None or yp.shape != g.shape or ym.shape != g.shape:
                return None
            return float(np.sum(g * (yp - ym)) / (2 * h))

        def agree(label, fd, an):
            nonlocal worst
            if fd is None or an is None or not np.isfinite(an) or not np.isfinite(fd):
                problems.append(f"{label}: could not be evaluated")
                return
            err = abs(fd - an) / max(abs(fd), abs(an), 1e-8)
            worst = max(worst, err)
            if err > 1e-4:
                problems.append(f"{label}: your backward gives {an:.6g}, finite differences of your "
                                f"forward give {fd:.6g}")

        dx = as_array(vals.get("dx_own" if own else "dx"))
        for j, v in enumerate(plan.context["dirs"]):
            an = float(np.sum(dx * v)) if dx is not None and dx.shape == v.shape else None
            agree(f"dx along direction {j + 1}", directional(f"yp{j}", f"ym{j}"), an)
        for p, v in plan.context["pdirs"]:
            gp = as_array(vals.get(f"grad_own:{p}" if own else f"grad:{p}"))
            an = float(np.sum(gp * v)) if gp is not None and gp.shape == v.shape else None
            agree(f"grads[{p!r}]", directional(f"wp_{p}", f"wm_{p}"), an)
        if not problems:
            return [Part(spec.name, spec.points, spec.points,
                         f"{line} Your backward agrees with finite differences of your own forward "
                         f"(worst relative disagreement {worst:.1e}).{shape_note}", {"kind": self.kind})]
        if result.status != "ok" and all(p.endswith("could not be evaluated") for p in problems):
            return [Part(spec.name, spec.points, 0.0, f"{line}\n\n{worker_error_text(result)}.{shape_note}",
                         {"kind": self.kind, "failed": True})]
        text = (f"{line}\n\nYour backward does not match your own forward, so the bug is in backward "
                "(whatever forward computes):\n\n" + "\n".join(f"- {p}" for p in problems) + shape_note)
        diag = [{"code": "backward_inconsistent", "message": "backward is not the derivative of your forward"}]
        return [Part(spec.name, spec.points, 0.0, text, {"kind": self.kind, "failed": True, "diagnoses": diag})]


@register
class ShapeCheck(_LayerKind):
    """Output shapes for several inputs (the student's own parameters: no state is loaded)."""
    kind = "shape"

    def validate(self, spec):
        if not spec.get("inputs"):
            raise CheckDefinitionError(f"check {spec.name!r}: shape checks need inputs = [[...], ...]")
        spec.params.setdefault("input", {"shape": spec.get("inputs")[0]})
        super().validate(spec)

    def plan(self, spec, rng):
        spec.params.setdefault("input", {"shape": spec.get("inputs")[0]})
        case = make_case(spec, rng)
        plan = Plan([], {}, context={"case": case, "shapes": []})
        plan.steps = module_steps(plan, case, load_state=False)
        for i, shape in enumerate(spec.get("inputs")):
            x = rng.standard_normal(tuple(shape)).astype(case.dtype)
            plan.context["shapes"].append(tuple(shape))
            plan.steps.append({"let": f"y{i}", "call": "m.forward", "args": [plan.array(x)]})
            plan.returns[f"y{i}"] = f"y{i}"
        return plan

    def judge(self, spec, plan, result):
        case = plan.context["case"]
        shapes = plan.context["shapes"]
        per = split_points(spec.points, {str(i): 1.0 for i in range(len(shapes))})
        score, lines = 0.0, []
        for i, shape in enumerate(shapes):
            layer = case.build_reference()
            want = np.asarray(layer.forward(np.zeros(shape, dtype=case.dtype))).shape
            got = as_array(result.values.get(f"y{i}"))
            have = (fmt_shape(got.shape) if got is not None else
                    worker_error_text(result) if result.status != "ok" else "no output")
            if got is not None and got.shape == want:
                score += per[str(i)]
                lines.append(f"- input {fmt_shape(shape)} → {fmt_shape(want)}: correct" if spec.visible
                             else f"- hidden case {i + 1}: correct")
            elif spec.visible:
                lines.append(f"- input {fmt_shape(shape)}: expected output shape {fmt_shape(want)}, got {have}")
            else:     # the input and expected shapes are the hidden case
                lines.append(f"- hidden case {i + 1}: wrong output shape (yours: {have})")
        head = f"`{call_repr(spec)}` output shapes" if spec.visible else "Output shapes on hidden inputs"
        text = f"{head}:\n\n" + "\n".join(lines)
        failed = score < spec.points - 1e-9
        extra = {"kind": self.kind, "failed": failed}
        if failed:
            text += "\n\nOutput size per dimension: floor((W + 2P - D·(F-1) - 1) / S) + 1."
        return [Part(spec.name, spec.points, round(score, 6), text, extra)]


@register
class ApiCheck(CheckKind):
    """The class can be constructed with torch's arguments and has the expected attributes,
    and its parameters have torch's names and shapes."""
    kind = "api"

    def validate(self, spec):
        require_target(spec)
        reference_class(spec)(**init_kwargs(spec))

    def plan(self, spec, rng):
        layer = reference_class(spec)(**init_kwargs(spec))
        attrs = list(spec.get("attributes", ["forward", "backward", "load_state_dict", "grads"]))
        params = {k: tuple(v.shape) for k, v in layer.state_dict().items()}
        plan = Plan([{"let": "m", "call": spec.target, "kwargs": literal(init_kwargs(spec))}], {},
                    context={"attrs": attrs, "params": params})
        for a in attrs:
            plan.steps.append({"let": f"has_{a}", "hasattr": f"m.{a}"})
            plan.returns[f"has_{a}"] = f"has_{a}"
        for k in params:
            plan.returns[f"param:{k}"] = f"m.{k}"
        return plan

    def judge(self, spec, plan, result):
        attrs, params = plan.context["attrs"], plan.context["params"]
        items = [f"attr:{a}" for a in attrs] + [f"param:{k}" for k in params]
        per = split_points(spec.points, {i: 1.0 for i in items})
        who = f"`{call_repr(spec)}`" if spec.visible else f"`{spec.target}` (hidden constructor arguments)"
        if result.status != "ok" and not result.values:
            return [Part(spec.name, spec.points, 0.0, f"{who} could not be constructed: "
                         f"{worker_error_text(result)}.", {"kind": self.kind, "failed": True})]
        score, lines = 0.0, []
        for a in attrs:
            if result.values.get(f"has_{a}") is True:
                score += per[f"attr:{a}"]
            else:
                lines.append(f"- missing attribute `{a}`")
        for k, shape in params.items():
            got = as_array(result.values.get(f"param:{k}"))
            if got is not None and got.shape == shape:
                score += per[f"param:{k}"]
            else:
                have = fmt_shape(got.shape) if got is not None else "missing"
                lines.append(f"- `{k}` should be an array of shape {fmt_shape(shape)} (torch's layout), got {have}"
                             if spec.visible else f"- `{k}` has the wrong shape for torch's layout (yours: {have})")
        if not lines:
            return [Part(spec.name, spec.points, spec.points, f"{who}: constructor, attributes "
                         "and parameter shapes are right.", {"kind": self.kind})]
        return [Part(spec.name, spec.points, round(score, 6), f"{who}:\n\n" + "\n".join(lines),
                     {"kind": self.kind, "failed": True})]
