"""Check kinds that exercise a layer or a model over several calls.

``running_stats`` — a layer with running statistics (BatchNorm1d/2d): after ``forwards`` training
forwards on different batches (starting from random running statistics loaded with
``load_state_dict``), ``m.running_mean``, ``m.running_var`` and ``m.num_batches_tracked`` must equal
the reference's; with ``eval_after = true`` one more forward in eval mode is judged too::

    kind = "running_stats"
    target = "BatchNorm2d"
    init = { num_features = 3, momentum = 0.3 }      # momentum = "none" for torch's None
    input = { shape = [4, 3, 5, 5] }
    forwards = 3
    eval_after = true

``model`` — a student's small network checked as a whole against a ``reference.nn.Sequential``
built from ``layers``; the student's class exposes each layer with parameters as an attribute
named like the layer (``m.conv``), whose ``load_state_dict`` receives that layer's parameters and
whose ``grads`` are read after ``m.backward``::

    kind = "model"
    target = "EncoderDecoder"
    init = { in_channels = 2, hidden_channels = 4, out_channels = 3 }
    layers = [ { name = "conv", type = "Conv2d", init = { in_channels = 2, out_channels = 4, kernel_size = 3, padding = 1 } },
               { name = "relu", type = "ReLU" }, ... ]
    input = { shape = [2, 2, 8, 8] }
    backward = true                                 # false: judge the forward output only
"""
from __future__ import annotations

from collections import OrderedDict

import numpy as np

from ..diagnose import Diagnosis
from ..i18n import t
from ..judge import compare
from .base import CheckDefinitionError, CheckKind, Part, Plan, literal, register, require_target, split_points, \
    worker_error_text
from .layers import forward_note, judge_part, mistake_text, part_label
from .losses import scalar_of
from .cases import LayerCase, draw_state, dtype_of, init_kwargs, input_spec, make_case, module_steps

NONE_WORDS = ("none", "None")


def _none_words(kwargs: dict) -> dict:
    """TOML has no null: ``momentum = "none"`` means torch's ``momentum=None``."""
    return {k: (None if isinstance(v, str) and v in NONE_WORDS else v) for k, v in kwargs.items()}


def judge_labeled(spec, case, part: str, label: str, actual, expected: np.ndarray, points: float, result,
                  name: str, extra_note: str = "") -> Part:
    """One scored part named by ``label`` (``layers.judge_part``); a failure reads "Your <label>: ..."."""
    return judge_part(spec, case, part, actual, {part: expected}, points, result, name, extra_note,
                      label=label, sentence=lambda message: t("grading.your_label", label=label, message=message))


# ---------------------------------------------------------------------------------------------
# running statistics
# ---------------------------------------------------------------------------------------------
class RunningStatsCase(LayerCase):
    """``extra_inputs["xs"]``: the training batches; ``x``: the eval batch (when judged).

    ``build_reference()`` returns the reference layer *after* the training forwards, in the case's
    mode; ``start_reference()`` the layer before them (loaded state, training mode)."""

    def start_reference(self, **overrides):
        layer = LayerCase.build_reference(self, **overrides)
        return layer.train(True)

    def advance(self, layer):
        layer.train(True)
        for x in self.extra_inputs["xs"]:
            layer.forward(x)
        return layer.train(self.training)

    def build_reference(self, **overrides):
        return self.advance(self.start_reference(**overrides))

    def describe(self) -> str:
        from .cases import call_repr
        xs = self.extra_inputs["xs"]
        text = t("grading.describe_running", call=call_repr(self.spec), n=len(xs), shape=tuple(xs[0].shape))
        if not self.training:
            text += t("grading.describe_then_eval")
        return text + f" ({self.dtype})"


def _batch(rng, shape, dtype):
    c = shape[1]
    loc = rng.normal(0.0, 1.0, size=(1, c) + (1,) * (len(shape) - 2))
    scale = rng.uniform(0.5, 2.0, size=(1, c) + (1,) * (len(shape) - 2))
    return (loc + scale * rng.standard_normal(shape)).astype(dtype)


def make_running_case(spec, rng) -> RunningStatsCase:
    spec.params["init"] = _none_words(spec.get("init", {}))
    base = make_case(spec, rng)
    shape = tuple(base.x.shape)
    n = int(spec.get("forwards", 2))
    if n < 1:
        raise CheckDefinitionError(f"check {spec.name!r}: forwards must be at least 1")
    xs = [_batch(rng, shape, base.dtype) for _ in range(n)]
    x_eval = _batch(rng, shape, base.dtype)
    case = RunningStatsCase(spec, base.kwargs, base.dtype, base.state, x_eval, None,
                            not spec.get("eval_after", False), {"xs": xs})
    if not any(k.endswith("running_mean") for k in case.state):
        raise CheckDefinitionError(f"check {spec.name!r}: {spec.target} has no running statistics to check")
    return case


@register
class RunningStatsCheck(CheckKind):
    kind = "running_stats"
    BUFFERS = ("running_mean", "running_var", "num_batches_tracked")
    LABELS = {"running_mean": "running_mean", "running_var": "running_var",
              "num_batches_tracked": "num_batches_tracked", "output": "grading.what_eval_output"}

    def label(self, part: str) -> str:
        """The part's name in messages and rows: the buffer's name (code), or a catalogue label."""
        text = self.LABELS[part]
        return t(text) if text.startswith("grading.") else text

    @staticmethod
    def _weights(spec, parts) -> dict[str, float]:
        weights = {"running_mean": 2.0, "running_var": 2.0, "num_batches_tracked": 1.0, "output": 2.0}
        weights.update(spec.get("parts") or {})
        return {p: float(weights[p]) for p in parts}

    def validate(self, spec):
        require_target(spec, "the student's class")
        make_running_case(spec, np.random.default_rng(0))

    def plan(self, spec, rng):
        case = make_running_case(spec, rng)
        plan = Plan([], {b: f"m.{b}" for b in self.BUFFERS}, context={"case": case})
        steps = module_steps(plan, case)   # constructs, loads the state; training mode
        steps = [s for s in steps if s.get("call") != "m.eval"]
        plan.context["train_steps"] = (len(steps), len(steps) + len(case.extra_inputs["xs"]))
        for i, x in enumerate(case.extra_inputs["xs"]):
            steps.append({"let": f"y{i}", "call": "m.forward", "args": [plan.array(x)]})
        if not case.training:
            steps += [{"let": "_", "call": "m.eval"},
                      {"let": "y_eval", "call": "m.forward", "args": [plan.array(case.x)]}]
            plan.returns["y_eval"] = "y_eval"
        plan.steps = steps
        return plan

    def judge(self, spec, plan, result):
        case = plan.context["case"]
        layer = case.build_reference()
        expected = {b: np.asarray(getattr(layer, b)) for b in self.BUFFERS}
        parts = list(self.BUFFERS)
        if not case.training:
            expected["output"] = np.asarray(layer.forward(case.x))
            parts.append("output")
        points = split_points(spec.points, self._weights(spec, parts))
        step = (result.error or {}).get("step")
        first, end = plan.context.get("train_steps", (0, 0))
        if result.status == "error" and isinstance(step, int) and first <= step < end:
            # the training forward raised: the buffers are whatever it left, never "not updated"
            why = (f"{case.describe()}.\n\n"
                   + t("grading.running_forward_raised", k=step - first + 1, why=worker_error_text(result)))
            return [Part(f"{spec.display_name} — {self.label(p)}", points[p], 0.0, why,
                         {"kind": self.kind, "failed": True, "diagnoses": []}) for p in parts]
        out = []
        for p in parts:
            actual = result.values.get("y_eval" if p == "output" else p)
            if p == "num_batches_tracked":
                actual = scalar_of(actual)
            out.append(judge_labeled(spec, case, p, self.label(p), actual, expected[p], points[p], result,
                                     f"{spec.display_name} — {self.label(p)}"))
        return out


# ---------------------------------------------------------------------------------------------
# a model as a whole
# ---------------------------------------------------------------------------------------------
class ModelCase(LayerCase):
    """The reference is a ``Sequential`` of ``spec.layers``; ``state`` uses its dotted keys."""

    def build_reference(self, **overrides):
        model = build_sequential(self.spec)
        if self.dtype == "float32":
            model.to(np.float32)
        model.load_state_dict(self.state)
        return model.train(self.training)

    def param_names(self) -> list[str]:
        return [name for name, _ in build_sequential(self.spec).named_parameters()]

    def describe(self) -> str:
        from .cases import call_repr
        chain = " → ".join(f"{layer['name']} ({layer['type']})" for layer in self.spec.get("layers"))
        return t("grading.describe_model", call=call_repr(self.spec), chain=chain, shape=tuple(self.x.shape),
                 dtype=self.dtype)


def build_sequential(spec):
    import reference.nn as rnn

    layers = spec.get("layers")
    if not isinstance(layers, list) or not layers:
        raise CheckDefinitionError(f"check {spec.name!r}: model checks need layers = [{{name, type, init}}, ...]")
    items = []
    for layer in layers:
        if not isinstance(layer, dict) or "name" not in layer or "type" not in layer:
            raise CheckDefinitionError(f"check {spec.name!r}: each layer needs a name and a type")
        cls = getattr(rnn, layer["type"], None)
        if cls is None:
            raise CheckDefinitionError(f"check {spec.name!r}: reference.nn has no layer {layer['type']!r}")
        kwargs = {k: tuple(v) if isinstance(v, list) else v for k, v in layer.get("init", {}).items()}
        try:
            items.append((str(layer["name"]), cls(**kwargs)))
        except (TypeError, ValueError) as exc:
            raise CheckDefinitionError(f"check {spec.name!r}: layer {layer['name']!r}: {exc}") from None
    return rnn.Sequential(OrderedDict(items))


def make_model_case(spec, rng) -> ModelCase:
    from .cases import draw_input

    model = build_sequential(spec)
    dtype = dtype_of(spec)
    inp = input_spec(spec)
    state = draw_state(model, rng, dtype)
    x = draw_input(rng, inp["shape"], distinct=bool(inp.get("distinct", False)),
                   scale=float(inp.get("scale", 1.0)), dtype=dtype)
    case = ModelCase(spec, init_kwargs(spec), dtype, state, x, training=bool(spec.get("train", True)))
    try:
        y = np.asarray(case.build_reference().forward(x))
    except (TypeError, ValueError) as exc:
        raise CheckDefinitionError(f"check {spec.name!r}: the reference model rejects the input: {exc}") from None
    case.grad_out = rng.standard_normal(y.shape).astype(dtype)
    return case


def _split_key(key: str) -> tuple[str, str]:
    child, _, leaf = key.rpartition(".")
    return child, leaf


@register
class ModelCheck(CheckKind):
    kind = "model"

    def validate(self, spec):
        require_target(spec, "the student's model class")
        make_model_case(spec, np.random.default_rng(0))

    def plan(self, spec, rng):
        case = make_model_case(spec, rng)
        plan = Plan([{"let": "m", "call": spec.target, "kwargs": literal(case.kwargs)}], {"y": "y"},
                    context={"case": case})
        by_child: dict[str, dict] = OrderedDict()
        for key, value in case.state.items():
            child, leaf = _split_key(key)
            by_child.setdefault(child, {})[leaf] = plan.array(value)
        for child, tensors in by_child.items():
            plan.steps.append({"let": "_", "call": f"m.{child}.load_state_dict", "args": [{"$dict": tensors}]})
        if not case.training:
            plan.steps.append({"let": "_", "call": "m.eval"})
        plan.steps.append({"let": "y", "call": "m.forward", "args": [plan.array(case.x)]})
        if spec.get("backward", True):
            plan.steps.append({"let": "dx", "call": "m.backward", "args": [plan.array(case.grad_out)]})
            plan.returns["dx"] = "dx"
            for key in case.param_names():
                child, leaf = _split_key(key)
                plan.returns[f"grad:{key}"] = f"m.{child}.grads.{leaf}"
        return plan

    def judge(self, spec, plan, result):
        case = plan.context["case"]
        model = case.build_reference()
        expected = {"output": np.asarray(model.forward(case.x))}
        if not spec.get("backward", True):
            return [judge_labeled(spec, case, "output", part_label("output"), result.values.get("y"),
                                  expected["output"], spec.points, result, spec.display_name)]
        expected["input"] = np.asarray(model.backward(case.grad_out))
        names = case.param_names()
        grads = dict(model.named_grads())
        for key in names:
            expected[key] = np.asarray(grads[key])
        parts = ["input"] + names
        weights = spec.get("parts") or {}
        points = split_points(spec.points, {p: float(weights.get(p, 1.0)) for p in parts})
        fwd_ok = compare(result.values.get("y"), expected["output"], dtype=case.dtype).ok
        ok = {p: compare(result.values.get("dx" if p == "input" else f"grad:{p}"), expected[p],
                         dtype=case.dtype).ok for p in parts}
        note = "" if fwd_ok else forward_note()
        chain = self._chain_note(spec, names, ok) if fwd_ok else None
        out = []
        for p in parts:
            label = self.label(p)
            actual = result.values.get("dx" if p == "input" else f"grad:{p}")
            part = judge_labeled(spec, case, p, label, actual, expected[p], points[p], result,
                                 f"{spec.display_name} — {label}", note)
            if chain and part.extra.get("failed"):
                part.extra.setdefault("diagnoses", []).insert(0, chain.as_dict())
                part.output += "\n\n" + mistake_text(chain.message)
            out.append(part)
        return out

    @staticmethod
    def label(part: str) -> str:
        """A part's name: the input gradient, or the gradient of one parameter (by its dotted key)."""
        return t("grading.what_dx") if part == "input" else t("grading.what_param_grad", param=part)

    @staticmethod
    def _chain_note(spec, names: list[str], ok: dict) -> Diagnosis | None:
        """When a later layer's gradients are right and an earlier one's wrong, the gradient was
        lost on its way back between them: name the layers in between."""
        order = [layer["name"] for layer in spec.get("layers")]
        children = [c for c in order if any(_split_key(n)[0] == c for n in names)]
        good = [c for c in children if all(ok[n] for n in names if _split_key(n)[0] == c)]
        bad = [c for c in children if c not in good]
        if not good or not bad:
            return None
        last_bad = max(bad, key=order.index)
        after = [c for c in good if order.index(c) > order.index(last_bad)]
        if not after:
            return None
        first_good = min(after, key=order.index)
        between = order[order.index(last_bad) + 1: order.index(first_good)]
        where = t("grading.model_gradient_through", names=", ".join(f"`{b}`" for b in between)) if between else ""
        return Diagnosis("model_gradient_lost", t("grading.model_gradient_lost", good=first_good, bad=last_bad,
                                                  where=where))
