"""Check kinds for a student's layer class: ``forward``, ``backward``, ``gradient_consistency``,
``shape`` and ``api``.

All expected values are computed here, in the grader, with ``reference.nn``; the worker only
receives constructor arguments, parameters and inputs.
"""
from __future__ import annotations

import numpy as np

from ..diagnose import explain, explain_error, heatmap
from ..i18n import t
from ..judge import as_array, compare, describe_value, fmt_shape
from .base import CheckDefinitionError, CheckKind, CheckSpec, Part, Plan, case_text, literal, register, \
    require_target, split_points, worker_error_text
from .cases import LayerCase, call_repr, init_kwargs, make_case, module_steps, reference_class, template

PART_LABEL = {"output": "grading.what_output", "input": "grading.what_dx"}     # catalogue keys


def part_label(part: str) -> str:
    """The name of a part's value in messages and row names, in the current language
    (``grads['weight']`` for a parameter: code)."""
    return t(PART_LABEL[part]) if part in PART_LABEL else f"grads[{part!r}]"


def mistake_text(message: str) -> str:
    """A diagnosis as the output's paragraph the report recognizes (``grading.likely_mistake_prefix``)."""
    return f"{t('grading.likely_mistake_prefix')} {message}"


def forward_note() -> str:
    """The note of a gradient part judged while the forward output is wrong."""
    return t("grading.fix_forward_first")


def case_line(spec: CheckSpec, case: LayerCase) -> str:
    return case_text(spec, case.describe)


def _fail_text(spec, case, comparison, diagnoses, sentence: str) -> str:
    lines = [case_line(spec, case), sentence]
    if comparison.problem == "value" and spec.visible and comparison.worst_index:
        lines.append(t("grading.largest_error", index=comparison.worst_index))
    for d in diagnoses:
        lines.append(mistake_text(d.message))
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
        return Part(name, points, points, f"{case_line(spec, case)} "
                    + t("grading.correct_rel", rel=f"{comparison.rel_error:.1e}"), {"kind": spec.kind})
    if actual is None and result.status != "ok":
        text = f"{case_line(spec, case)}\n\n" + t("grading.no_value", label=label, why=worker_error_text(result))
        found = explain_error(case, result)
        for d in found:
            text += "\n\n" + mistake_text(d.message)
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
        y = case.reference_output()
        return [judge_part(spec, case, "output", result.values.get("y"), {"output": y},
                           spec.points, result, spec.display_name)]


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
        names = [n for n, _ in template(reference_class(spec), init_kwargs(spec)).named_parameters()]
        return [(f"{spec.display_name} — {part_label(p)}", pts) for p, pts in self._points(spec, names).items()]

    def judge(self, spec, plan, result):
        case = plan.context["case"]
        y, dx, grads = case.reference_gradients()
        expected = {"output": y, "input": dx, **grads}
        names = case.param_names()
        parts = ["input"] + names
        points = self._points(spec, names)
        fwd_ok = compare(result.values.get("y"), y, dtype=case.dtype).ok
        note = "" if fwd_ok else forward_note()
        out = []
        for p in parts:   # each part on its own: one that cannot be judged never takes the others down
            actual = result.values.get("dx" if p == "input" else f"grad:{p}")
            name = f"{spec.display_name} — {part_label(p)}"
            try:
                out.append(judge_part(spec, case, p, actual, expected, points[p], result, name, note))
            except Exception:
                out.append(Part(name, points[p], 0.0, t("grading.internal_error_part"),
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

    # what each instance of the plan is for, to say which call failed
    ROLES = {"m_own": "grading.gc_role_own", "m_fd": "grading.gc_role_fd", "m": "grading.gc_role_std"}

    def _worker_why(self, plan, result) -> str:
        """The worker's failure, with the call of the plan that failed and what it was for."""
        why = worker_error_text(result)
        step = (result.error or {}).get("step")
        if result.status == "error" and isinstance(step, int) and 0 <= step < len(plan.steps):
            call = plan.steps[step].get("call")
            if isinstance(call, str):
                role = self.ROLES.get(call.split(".")[0])
                if role:
                    why += " " + t("grading.gc_failed_call", call=call, role=t(role))
        return why

    def judge(self, spec, plan, result):
        case, h = plan.context["case"], plan.context["h"]
        vals = result.values
        y0 = as_array(vals.get("y0"))
        line = case_line(spec, case)
        name = spec.display_name
        if y0 is None or y0.ndim == 0 or y0.size > 10**7:
            if result.status != "ok" and "y0" not in vals:
                why = self._worker_why(plan, result)
            elif y0 is not None and y0.size > 10**7:
                why = t("grading.gc_too_large", size=y0.size)
            else:
                why = t("grading.gc_no_array", got=describe_value(vals.get("y0")) if y0 is None
                        else t("grading.value_array", shape=fmt_shape(y0.shape)))
            return [Part(name, spec.points, 0.0, f"{line}\n\n" + t("grading.gc_not_evaluated", why=why),
                         {"kind": self.kind, "failed": True})]
        y_ref = case.reference_output()
        own = y0.shape != np.shape(y_ref)
        if own:   # judge the backward of the student's own output shape
            g = np.random.default_rng(plan.context["gseed"]).standard_normal(y0.shape)
        else:
            g = case.grad_out.astype(np.float64)
        shape_note = "" if not own else "\n\n" + t("grading.gc_shape_note", got=fmt_shape(y0.shape),
                                                   want=fmt_shape(np.shape(y_ref)))
        problems, unevaluated, worst = [], [], 0.0
        worker_why = self._worker_why(plan, result) if result.status != "ok" else ""

        def directional(tag_p, tag_m, param=None):
            """(finite-difference directional derivative, None) or (None, why it cannot be computed)."""
            for tag, which in ((tag_p, "+h·v"), (tag_m, "−h·v")):
                if vals.get(tag) is None or as_array(vals.get(tag)) is None:
                    if worker_why and tag not in vals:
                        return None, worker_why
                    got = describe_value(vals.get(tag))
                    return None, (t("grading.gc_fd_missing_param", param=param, which=which, got=got) if param
                                  else t("grading.gc_fd_missing", which=which, got=got))
            yp, ym = as_array(vals.get(tag_p)), as_array(vals.get(tag_m))
            for y in (yp, ym):
                if y.shape != g.shape:
                    return None, t("grading.gc_fd_shape", got=fmt_shape(y.shape), want=fmt_shape(g.shape))
            fd = float(np.sum(g * (yp - ym)) / (2 * h))
            if not np.isfinite(fd):
                return None, t("grading.gc_fd_nonfinite", value=f"{fd}")
            return fd, None

        def analytic(key, v):
            """(<gradient, v>, None) or (None, why it cannot be computed)."""
            grad = vals.get(key)
            arr = as_array(grad)
            if arr is None or arr.shape != v.shape:
                if worker_why and key not in vals:
                    return None, worker_why
                got = describe_value(grad) if arr is None else t("grading.value_array", shape=fmt_shape(arr.shape))
                return None, t("grading.gc_an_missing", got=got, want=fmt_shape(v.shape))
            an = float(np.sum(arr * v))
            if not np.isfinite(an):
                return None, t("grading.gc_an_nonfinite", value=f"{an}")
            return an, None

        def agree(label, fd_why, an_why):
            nonlocal worst
            (fd, why_fd), (an, why_an) = fd_why, an_why
            if fd is None or an is None:
                why = why_fd if fd is None else why_an
                problems.append(t("grading.gc_problem", label=label, why=why))
                unevaluated.append(why)
                return
            err = abs(fd - an) / max(abs(fd), abs(an), 1e-8)
            worst = max(worst, err)
            if err > 1e-4:
                problems.append(t("grading.gc_mismatch", label=label, an=f"{an:.6g}", fd=f"{fd:.6g}"))

        dx_key = "dx_own" if own else "dx"
        for j, v in enumerate(plan.context["dirs"]):
            agree(t("grading.gc_direction", j=j + 1), directional(f"yp{j}", f"ym{j}"), analytic(dx_key, v))
        for p, v in plan.context["pdirs"]:
            agree(f"grads[{p!r}]", directional(f"wp_{p}", f"wm_{p}", param=p),
                  analytic(f"grad_own:{p}" if own else f"grad:{p}", v))
        if not problems:
            return [Part(name, spec.points, spec.points,
                         f"{line} " + t("grading.gc_ok", worst=f"{worst:.1e}") + shape_note, {"kind": self.kind})]
        if worker_why and len(unevaluated) == len(problems) and set(unevaluated) == {worker_why}:
            return [Part(name, spec.points, 0.0, f"{line}\n\n" + t("grading.gc_not_evaluated", why=worker_why)
                         + shape_note, {"kind": self.kind, "failed": True})]
        text = (f"{line}\n\n" + t("grading.gc_wrong") + "\n\n" + "\n".join(f"- {p}" for p in problems) + shape_note)
        if len(unevaluated) == len(problems):      # nothing compared: no verdict on backward itself
            text = f"{line}\n\n" + "\n".join(f"- {p}" for p in problems) + shape_note
            return [Part(name, spec.points, 0.0, text, {"kind": self.kind, "failed": True})]
        diag = [{"code": "backward_inconsistent", "message": t("grading.gc_diagnosis")}]
        return [Part(name, spec.points, 0.0, text, {"kind": self.kind, "failed": True, "diagnoses": diag})]


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
            raised = got is None and result.status != "ok"     # "but your code raised ...", not "got <error>"
            have = fmt_shape(got.shape) if got is not None else t("grading.no_output")
            if got is not None and got.shape == want:
                score += per[str(i)]
                lines.append(t("grading.shape_correct", shape=fmt_shape(shape), want=fmt_shape(want)) if spec.visible
                             else t("grading.shape_hidden_correct", n=i + 1))
            elif spec.visible and raised:
                lines.append(t("grading.shape_raised", shape=fmt_shape(shape), want=fmt_shape(want),
                               error=worker_error_text(result)))
            elif spec.visible:
                lines.append(t("grading.shape_wrong", shape=fmt_shape(shape), want=fmt_shape(want), have=have))
            elif raised:   # the input and expected shapes are the hidden case
                lines.append(t("grading.shape_hidden_raised", n=i + 1, error=worker_error_text(result)))
            else:
                lines.append(t("grading.shape_hidden_wrong", n=i + 1, have=have))
        head = t("grading.shape_head", call=call_repr(spec)) if spec.visible else t("grading.shape_head_hidden")
        text = f"{head}:\n\n" + "\n".join(lines)
        failed = score < spec.points - 1e-9
        extra = {"kind": self.kind, "failed": failed}
        if failed:
            text += "\n\n" + t("grading.shape_formula")
        return [Part(spec.display_name, spec.points, round(score, 6), text, extra)]


@register
class ApiCheck(CheckKind):
    """The class can be constructed with torch's arguments and has the expected attributes,
    and its parameters have torch's names and shapes."""
    kind = "api"

    def validate(self, spec):
        require_target(spec)
        reference_class(spec)(**init_kwargs(spec))

    def plan(self, spec, rng):
        layer = template(reference_class(spec), init_kwargs(spec))
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
        who = f"`{call_repr(spec)}`" if spec.visible else t("grading.api_hidden_who", target=spec.target)
        name = spec.display_name
        if result.status != "ok" and not result.values:
            return [Part(name, spec.points, 0.0,
                         t("grading.api_not_constructed", who=who, why=worker_error_text(result)),
                         {"kind": self.kind, "failed": True})]
        score, lines = 0.0, []
        for a in attrs:
            if result.values.get(f"has_{a}") is True:
                score += per[f"attr:{a}"]
            else:
                lines.append(t("grading.api_missing_attr", attr=a))
        for k, shape in params.items():
            got = as_array(result.values.get(f"param:{k}"))
            if got is not None and got.shape == shape:
                score += per[f"param:{k}"]
            else:
                have = fmt_shape(got.shape) if got is not None else t("grading.api_missing")
                lines.append(t("grading.api_param_shape", param=k, shape=fmt_shape(shape), have=have)
                             if spec.visible else t("grading.api_param_shape_hidden", param=k, have=have))
        if not lines:
            return [Part(name, spec.points, spec.points, t("grading.api_ok", who=who), {"kind": self.kind})]
        return [Part(name, spec.points, round(score, 6), f"{who}:\n\n" + "\n".join(lines),
                     {"kind": self.kind, "failed": True})]
