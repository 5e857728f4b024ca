"""Check kind ``sgd_step``: the student's gradient-descent update, judged against
``reference.optim.SGD`` on the same parameters and gradients.

The student's function is called as ``target(layers, lr)`` (``call = "function"``, the default)
on a list of the student's own layers whose parameters were loaded with ``load_state_dict`` and
whose ``grads`` were set by the grader; or, with ``call = "optimizer"``, ``opt = target(layers,
lr=lr)`` once and ``opt.step()`` per update. After ``updates`` updates (fresh gradients each time)
every parameter is read back (``layer.weight``; updated in place or reassigned, both count) and
compared with the reference's::

    [[check]]
    name = "sgd_step: two updates of Linear, ReLU, Linear"
    kind = "sgd_step"
    target = "sgd_step"
    layers = [ { type = "Linear", init = { in_features = 4, out_features = 3 } },
               { type = "ReLU" },                                   # no parameters: must be skipped
               { type = "Linear", init = { in_features = 3, out_features = 2 } } ]
    lr = 0.1                     # or { choice = [...] }: drawn from the check's seed
    updates = 2

The layers are built in the sandbox from the student's classes of those names (``type``); the
reference side uses ``reference.nn``. Named mistakes (computed with the reference optimizer):
the step taken uphill (``maximize=True``), the learning rate ignored (``lr = 1``), nothing updated.
"""
from __future__ import annotations

import numpy as np

from ..diagnose import Diagnosis
from ..i18n import t
from ..judge import as_array, close, compare
from .base import CheckDefinitionError, CheckKind, Part, Plan, literal, register, require_target, \
    split_points, worker_error_text
from .cases import draw_state
from .functions import draw, oracle
from .layers import mistake_text


def _layers(spec):
    import reference.nn as rnn

    layers = spec.get("layers")
    if not isinstance(layers, list) or not layers or not all(isinstance(x, dict) and "type" in x for x in layers):
        raise CheckDefinitionError(f"check {spec.name!r}: layers = [{{ type = \"Linear\", init = {{...}} }}, ...]")
    out = []
    for i, layer in enumerate(layers):
        cls = getattr(rnn, layer["type"], None)
        if cls is None:
            raise CheckDefinitionError(f"check {spec.name!r}: layers[{i}]: reference.nn has no layer {layer['type']!r}")
        kwargs = {k: tuple(v) if isinstance(v, list) else v for k, v in layer.get("init", {}).items()}
        try:
            cls(**kwargs)
        except (TypeError, ValueError) as exc:
            raise CheckDefinitionError(f"check {spec.name!r}: layers[{i}]: {exc}") from None
        out.append((layer["type"], cls, kwargs))
    return out


def _lr(spec, rng) -> float:
    lr = draw(spec.get("lr", 0.1), rng)
    if isinstance(lr, bool) or not isinstance(lr, (int, float)) or not lr > 0:
        raise CheckDefinitionError(f"check {spec.name!r}: lr must be a positive number, got {lr!r}")
    return float(lr)


def reference_updates(layers, states, grads, lr: float, **sgd_kwargs) -> list[dict[str, np.ndarray]]:
    """Parameters of each layer after ``len(grads)`` reference SGD steps (fresh gradients each step)."""
    from reference.optim import SGD

    modules = []
    for (_, cls, kwargs), state in zip(layers, states):
        m = cls(**kwargs)
        if state:
            m.load_state_dict({k: v.copy() for k, v in state.items()})
        modules.append(m)
    opt = SGD(modules, lr=lr, **sgd_kwargs)
    for step in grads:
        for m, g in zip(modules, step):
            m.grads = {k: v.copy() for k, v in g.items()}
        opt.step()
    return [{k: np.asarray(v, dtype=np.float64).copy() for k, v in m.state_dict().items()} for m in modules]


MISTAKES = (          # (code, the reference SGD's arguments that reproduce it); message: grading.<code>
    ("sgd_sign_flipped", {"maximize": True}),
    ("sgd_lr_ignored", {"lr": 1.0}),
)


@register
class SgdStepCheck(CheckKind):
    kind = "sgd_step"

    def validate(self, spec):
        require_target(spec, "the student's update function or optimizer class")
        _layers(spec)
        _lr(spec, np.random.default_rng(0))
        if spec.get("call", "function") not in ("function", "optimizer"):
            raise CheckDefinitionError(f"check {spec.name!r}: call must be \"function\" or \"optimizer\"")
        n = spec.get("updates", 1)
        if isinstance(n, bool) or not isinstance(n, int) or n < 1:
            raise CheckDefinitionError(f"check {spec.name!r}: updates must be an int >= 1, got {n!r}")

    def plan(self, spec, rng):
        layers = _layers(spec)
        lr = _lr(spec, rng)
        states = [draw_state(cls(**kwargs), rng, "float64") for _, cls, kwargs in layers]
        grads = [[{k: rng.standard_normal(v.shape) for k, v in st.items()} for st in states]
                 for _ in range(int(spec.get("updates", 1)))]
        plan = Plan([], {}, context={"layers": layers, "states": states, "grads": grads, "lr": lr})
        refs = []
        for i, ((name, _, kwargs), state) in enumerate(zip(layers, states)):
            plan.steps.append({"let": f"l{i}", "call": name, "kwargs": literal(kwargs)})
            if state:
                plan.steps.append({"let": "_", "call": f"l{i}.load_state_dict",
                                   "args": [{"$dict": {k: plan.array(v) for k, v in state.items()}}]})
            refs.append({"$ref": f"l{i}"})
        optimizer = spec.get("call", "function") == "optimizer"
        if optimizer:
            plan.steps.append({"let": "opt", "call": spec.target, "args": [refs], "kwargs": {"lr": lr}})
        for step in grads:
            for i, g in enumerate(step):
                plan.steps.append({"set": f"l{i}.grads", "value": {"$dict": {k: plan.array(v) for k, v in g.items()}}})
            plan.steps.append({"let": "_", "call": "opt.step"} if optimizer else
                              {"let": "_", "call": spec.target, "args": [refs, lr]})
        for i, state in enumerate(states):
            for k in state:
                plan.returns[f"p:{i}:{k}"] = f"l{i}.{k}"
        return plan

    def judge(self, spec, plan, result):
        ctx = plan.context
        layers, states, grads, lr = ctx["layers"], ctx["states"], ctx["grads"], ctx["lr"]
        want = reference_updates(layers, states, grads, lr)
        keys = [(i, k) for i, st in enumerate(states) for k in st]
        per = split_points(spec.points, {f"{i}:{k}": 1.0 for i, k in keys})
        what = (f"`{spec.target}(layers, lr={lr:g})`" if spec.get("call", "function") == "function"
                else f"`{spec.target}(layers, lr={lr:g}).step()`")
        case = t("grading.sgd_case", what=what, layers=", ".join(n for n, _, _ in layers), n=len(grads))
        score, lines, wrong = 0.0, [], []
        for i, k in keys:
            got = result.values.get(f"p:{i}:{k}")
            cmp = compare(got, want[i][k], what=f"layers[{i}].{k}")
            if cmp.ok:
                score += per[f"{i}:{k}"]
            else:
                wrong.append((i, k))
                lines.append(f"- {cmp.message}" if got is not None else
                             t("grading.sgd_not_read", param=f"layers[{i}].{k}", why=worker_error_text(result)))
        if not wrong:
            return [Part(spec.display_name, spec.points, spec.points, t("grading.sgd_ok", case=case),
                         {"kind": self.kind})]
        diagnoses = self._diagnose(result, layers, states, grads, lr, keys)
        text = f"{case}:\n\n" + "\n".join(lines)
        for d in diagnoses:
            text += "\n\n" + mistake_text(d.message)
        if result.status != "ok":
            text += f"\n\n({worker_error_text(result)}.)"
        return [Part(spec.display_name, spec.points, round(score, 6), text,
                     {"kind": self.kind, "failed": True, "diagnoses": [d.as_dict() for d in diagnoses]})]

    @staticmethod
    def _diagnose(result, layers, states, grads, lr, keys) -> list[Diagnosis]:
        got = {(i, k): as_array(result.values.get(f"p:{i}:{k}")) for i, k in keys}
        if any(v is None for v in got.values()):
            return []

        def matches(params) -> bool:
            return all(got[i, k].shape == params[i][k].shape and close(got[i, k], params[i][k]) for i, k in keys)

        for code, kwargs in MISTAKES:
            kwargs = dict(kwargs)
            if matches(reference_updates(layers, states, grads, kwargs.pop("lr", lr), **kwargs)):
                return [Diagnosis(code, t(f"grading.{code}"))]
        if matches([{k: np.asarray(v, dtype=np.float64) for k, v in st.items()} for st in states]):
            return [Diagnosis("sgd_no_update", t("grading.sgd_no_update"))]
        if len(grads) > 1 and matches(reference_updates(layers, states, grads[-1:], lr)):
            return [Diagnosis("sgd_only_last_update", t("grading.sgd_only_last_update"))]
        return []


@oracle("lecture.gd_poll")
def gd_poll() -> int:
    """The lecture's poll "which formula is a gradient-descent step?" answered by the reference.

    Options (w⁰ the start, η the learning rate): 1. wᵗ = wᵗ⁻¹ + η∇Q(wᵗ); 2. wᵗ = wᵗ⁻¹ − η∇Q(wᵗ⁻¹);
    3. wᵗ = wᵗ⁻¹ − η∇Q(wᵗ); 4. wᵗ = wᵗ⁻¹ + η∇Q(w⁰). On Q(w) = w²/2 (∇Q(w) = w) from w⁰ = wᵗ⁻¹ = 1
    each option gives a different wᵗ (the implicit ones solved for wᵗ); the answer is the option
    that equals one step of ``reference.optim.SGD``."""
    from reference.nn import Linear
    from reference.optim import SGD

    eta, w_prev = 0.1, 1.0
    layer = Linear(1, 1, bias=False)
    layer.load_state_dict({"weight": np.array([[w_prev]])})
    layer.grads = {"weight": np.array([[w_prev]])}          # ∇Q(w) = w
    SGD(layer, lr=eta).step()
    stepped = float(layer.weight[0, 0])
    options = {1: w_prev / (1 - eta), 2: w_prev - eta * w_prev, 3: w_prev / (1 + eta), 4: w_prev + eta * w_prev}
    (answer,) = [k for k, v in options.items() if abs(v - stepped) < 1e-12]
    return answer
