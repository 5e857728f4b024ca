"""Check kinds for a student's torch architecture (assignment a5): ``model_params``,
``model_shapes``, ``model_trace`` and ``model_forward``.

The worker only ever returns plain data: lists of parameter shapes, output shapes, a shape trace
(``[[name, type, shape], ...]``) and one output array. The evidence comes from the **grader's own
helpers in the worker** (``{"grader": ...}`` probe steps, grader/sandbox/worker.py
``TorchHelpers``), never from helpers in the student's notebook (a model with no layers and an
edited ``param_shapes`` used to pass)::

    param_shapes(model)                 -> [[name, [d0, ...]], ...]: the model's parameters, enumerated
                                           from its modules' ``_parameters`` in registration order
    shape_trace(model, input_shape)     -> [[N, C, H, W], [[name, torch.nn type, shape], ...]]: the
                                           output and every leaf's; forward on zeros on the CPU for a small
                                           model and input, else on the meta device, hooks on every
                                           leaf module registered by the worker; the type is the
                                           torch.nn class the layer is (by identity, not by name)
    load_weights(model, params, buffers)   the grader's arrays into those parameters and buffers
    run(model, x, train=False)          -> model(x) in float64

Every verdict is computed here from the reference model (``reference.models``). An output shape is
credited only when it comes out of the model's layers (its trace holds at least one conv, linear or
pooling layer), and ``model_forward`` — the output for weights the grader draws — cannot be faked
without computing the right function. ``param_shapes`` is also returned by the forward check, so a
shape mismatch is reported from trusted comparison (first mismatching parameter, expected vs actual
shape).

Spec keys: ``target`` (the student's class), ``reference`` (a builder name of
:data:`REFERENCES`, default: the target), ``init`` (constructor kwargs, the same for both),
``inputs`` (list of input shapes; ``model_forward`` uses the first), ``train`` (forward in
training mode, default false: eval mode with drawn running statistics).
"""
from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Callable

import numpy as np

from ..i18n import t
from ..judge import compare, fmt_shape
from .base import CheckDefinitionError, CheckKind, CheckSpec, Part, Plan, literal, register, require_target, \
    split_points, worker_error_text

TRACE_TYPES = ("Conv2d", "ConvTranspose2d", "Linear", "MaxPool2d", "AvgPool2d", "AdaptiveAvgPool2d")


def _lenet5(num_classes: int = 10, in_channels: int = 1):
    from reference.models import LeNet5
    return LeNet5(num_classes=num_classes, in_channels=in_channels)


def _vgg_stack(config, in_channels: int = 3, batch_norm: bool = False):
    from reference.models import make_vgg_layers
    return make_vgg_layers(list(config), in_channels=in_channels, batch_norm=batch_norm)


def _projection(in_channels: int, out_channels: int, stride: int):
    import torch.nn as nn
    from reference.models.resnet import conv1x1
    if stride == 1 and in_channels == out_channels:
        return None
    return nn.Sequential(conv1x1(in_channels, out_channels, stride), nn.BatchNorm2d(out_channels))


def _basic_block(in_channels: int, out_channels: int, stride: int = 1):
    from reference.models import BasicBlock
    return BasicBlock(in_channels, out_channels, stride, _projection(in_channels, out_channels, stride))


def _bottleneck(in_channels: int, planes: int, stride: int = 1):
    from reference.models import Bottleneck
    return Bottleneck(in_channels, planes, stride, _projection(in_channels, 4 * planes, stride))


def _depthwise_separable(in_channels: int, out_channels: int, stride: int = 1):
    from reference.models import DepthwiseSeparableConv
    return DepthwiseSeparableConv(in_channels, out_channels, stride)


def _inception(in_channels, ch1x1, ch3x3red, ch3x3, ch5x5red, ch5x5, pool_proj):
    from reference.models import Inception
    return Inception(in_channels, ch1x1, ch3x3red, ch3x3, ch5x5red, ch5x5, pool_proj)


def _unet(in_channels: int = 1, num_classes: int = 2, base_channels: int = 64, depth: int = 4, padding: int = 0):
    from reference.models import UNet
    return UNet(in_channels, num_classes, base_channels, depth, padding)


# builder name -> function(**init) -> torch module with the student's constructor signature
REFERENCES: dict[str, Callable] = {
    "LeNet5": _lenet5,
    "VGGStack": _vgg_stack,
    "BasicBlock": _basic_block,
    "Bottleneck": _bottleneck,
    "DepthwiseSeparable": _depthwise_separable,
    "InceptionModule": _inception,
    "UNet": _unet,
}


def _build(spec: CheckSpec, device: str | None = None):
    import torch

    name = spec.get("reference", spec.target)
    if name not in REFERENCES:
        raise CheckDefinitionError(f"check {spec.name!r}: reference must be one of {sorted(REFERENCES)}, got {name!r}")
    try:
        if device:
            with torch.device(device):
                return REFERENCES[name](**spec.get("init", {}))
        return REFERENCES[name](**spec.get("init", {}))
    except (TypeError, ValueError) as exc:
        raise CheckDefinitionError(f"check {spec.name!r}: reference {name}: {exc}") from None


# What the reference architecture's structure gives (parameter shapes, output shapes, shape traces
# on the meta device) depends only on the builder, its arguments and the input shape: the same for
# every student and every grade, so it is computed once per process (a few hundred entries kept).
STRUCTURES = 256
_STRUCTURES: "OrderedDict[tuple, object]" = OrderedDict()
_STRUCTURES_LOCK = threading.Lock()


def _structure(what: str, spec: CheckSpec, shape, compute):
    """``compute()`` for (``what``, the spec's builder and ``init``, ``shape``), once; the kept value
    is immutable or copied (a list of tuples) for each caller."""
    key = (what, spec.get("reference", spec.target), repr(spec.get("init", {})),
           None if shape is None else tuple(int(d) for d in shape))
    with _STRUCTURES_LOCK:
        if key in _STRUCTURES:
            _STRUCTURES.move_to_end(key)
            value = _STRUCTURES[key]
            return list(value) if isinstance(value, list) else value
    value = compute()
    with _STRUCTURES_LOCK:
        _STRUCTURES[key] = list(value) if isinstance(value, list) else value
        while len(_STRUCTURES) > STRUCTURES:
            _STRUCTURES.popitem(last=False)
    return value


def _call(spec: CheckSpec) -> str:
    args = ", ".join(f"{k}={v!r}" for k, v in spec.get("init", {}).items())
    return f"{spec.target}({args})"


def reference_trace(model, input_shape, device: str = "meta") -> list[tuple[str, str, tuple[int, ...]]]:
    """The shape trace of a reference model (run on ``device``): every leaf module's output shapes,
    leaves in registration order (the course's contract: the order data flows, as the weights are
    loaded), each leaf's calls in call order — so a shortcut computed before its main path, or
    Inception's branches run in another order, trace alike (as the worker's ``shape_trace``)."""
    return _run(model, input_shape, device)[1]


def _run(model, input_shape, device: str):
    """(output shape, trace) of ``model`` on zeros of ``input_shape`` on ``device``."""
    import torch

    per_leaf, hooks = [], []
    for name, mod in model.named_modules():
        if not list(mod.children()):
            rows = []
            per_leaf.append(rows)
            hooks.append(mod.register_forward_hook(
                lambda m, i, o, name=name, rows=rows: rows.append((name, type(m).__name__, tuple(int(d) for d in o.shape)))))
    try:
        with torch.no_grad():
            out = model.to(device)(torch.zeros(tuple(input_shape), device=device))
    finally:
        for h in hooks:
            h.remove()
    return tuple(int(d) for d in out.shape), [row for rows in per_leaf for row in rows]


SMALL_INPUT = 1 << 17     # elements of an input a shape run does on the CPU (the worker's shape_trace too)
META_IMPORTS = ("torch._dynamo", "torch.fx.experimental.symbolic_shapes")  # what meta-device runs import
SMALL_MODEL = 1 << 21     # parameters of a model a shape run builds on the CPU


def shape_run(spec: CheckSpec, shape) -> tuple[tuple[int, ...], tuple[tuple[str, str, tuple[int, ...]], ...]]:
    """(output shape, shape trace) of the check's reference model on an input of ``shape``,
    memoized. Small models on small inputs run on the CPU on zeros (milliseconds): on the meta
    device some ops (``tanh``, ``torch.cat``) go through torch's Python references, whose first
    call imports ``torch._dynamo`` — seconds, in every process that loads or grades a5. Large ones
    (the 572×572 U-Net) run on the CPU on a batch of none (:func:`_zero_batch_run`), and on the
    meta device only where that cannot answer. The CPU build does not touch torch's global RNG.
    Kept once per process (:func:`_structure`)."""
    def compute():
        import torch

        model = _build(spec, "meta")
        small = sum(p.numel() for p in model.parameters()) <= SMALL_MODEL and int(np.prod(shape)) <= SMALL_INPUT
        if small:
            with torch.random.fork_rng(devices=[]):
                model = _build(spec)
            out, trace = _run(model, shape, "cpu")
            return out, tuple(trace)
        found = _zero_batch_run(model, shape)
        # (a fresh meta build: _zero_batch_run moved ``model`` to the CPU)
        out, trace = found if found is not None else _run(_build(spec, "meta"), shape, "meta")
        return out, tuple(trace)

    return _structure("run", spec, shape, compute)


def _zero_batch_run(model, shape):
    """(output shape, trace) of a *reference* model (built on the meta device) run on the CPU on
    a batch of zero images, the batch size then put back in every shape; None when it cannot
    answer (a batch of none, an op that refuses an empty batch, or an output whose first dimension
    is not the batch). Nothing is computed (there is no image) and no meta-device op is called, so
    torch._dynamo is never imported; the weights are uninitialised memory no op reads. Only for the
    references (REFERENCES: every layer maps the batch dimension through, so the other dimensions
    are those of the real batch; tests/reference/test_zero_batch_shapes.py compares them with the
    meta device) — never for a student's model, which could tell an empty batch from a real one."""
    n = int(shape[0]) if len(shape) else 0
    if n < 1:
        return None
    import torch

    try:
        # as Module.to_empty, without empty_like on a meta tensor (its Python reference imports sympy)
        model = model._apply(lambda t: torch.empty(tuple(t.shape), dtype=t.dtype))
        out, trace = _run(model, (0, *shape[1:]), "cpu")
    except (RuntimeError, ValueError):
        return None
    if out[:1] != (0,) or any(s[:1] != (0,) for _, _, s in trace):
        return None
    return (n, *out[1:]), [(name, kind, (n, *s[1:])) for name, kind, s in trace]


def parse_shapes(value) -> list[tuple[str, tuple[int, ...]]] | None:
    """The worker's ``param_shapes`` answer as ``[(name, shape), ...]``; None when malformed."""
    if not isinstance(value, list):
        return None
    out = []
    for item in value:
        if not (isinstance(item, list) and len(item) == 2 and isinstance(item[0], str)
                and isinstance(item[1], list) and all(isinstance(d, int) and not isinstance(d, bool) for d in item[1])):
            return None
        out.append((item[0], tuple(item[1])))
    return out


def first_mismatch(want: list[tuple[str, tuple]], got: list[tuple[str, tuple]]) -> str:
    """A sentence naming the first parameter whose shape differs (or the count difference)."""
    for i, ((wn, ws), (gn, gs)) in enumerate(zip(want, got)):
        if ws != gs:
            return t("grading.tm_mismatch", i=i + 1, want=wn, wshape=fmt_shape(ws), got=gn, gshape=fmt_shape(gs))
    if len(got) < len(want):
        wn, ws = want[len(got)]
        return t("grading.tm_missing_param", got=len(got), want=len(want), name=wn, shape=fmt_shape(ws))
    if len(got) > len(want):
        gn, gs = got[len(want)]
        return t("grading.tm_extra_param", got=len(got), want=len(want), name=gn, shape=fmt_shape(gs))
    return ""


def _count(shapes) -> int:
    return int(sum(int(np.prod(s)) for _, s in shapes))


def _top_counts(shapes) -> dict[str, int]:
    out: dict[str, int] = {}
    for name, s in shapes:
        out[name.split(".")[0]] = out.get(name.split(".")[0], 0) + int(np.prod(s))
    return out


def _no_answer(spec, result, what) -> list[Part]:
    who = f"`{_call(spec)}`" if spec.visible else t("grading.tm_hidden_who", target=spec.target)
    return [Part(spec.display_name, spec.points, 0.0, t("grading.tm_no_answer", who=who, what=what,
                                                         why=worker_error_text(result)),
                 {"kind": spec.kind, "failed": True})]


class _ModelKind(CheckKind):
    needs_inputs = False

    def validate(self, spec):
        require_target(spec, "the student's class")
        if not isinstance(spec.get("init", {}), dict):
            raise CheckDefinitionError(f"check {spec.name!r}: init must be a table of constructor kwargs")
        if self.needs_inputs:
            inputs = spec.get("inputs")
            if not inputs or not all(isinstance(s, list) and all(isinstance(d, int) for d in s) for s in inputs):
                raise CheckDefinitionError(f"check {spec.name!r}: needs inputs = [[N, C, H, W], ...]")
        _build(spec, "meta")
        for shape in spec.get("inputs", []):
            try:
                shape_run(spec, shape)
            except RuntimeError as exc:
                raise CheckDefinitionError(f"check {spec.name!r}: the reference fails on {shape}: {exc}") from None

    def _construct(self, spec) -> list[dict]:
        """The student's model built by the worker's ``build`` helper: every kind here uses only its
        structure or loads the grader's weights into all of it, so torch's random initialisation is
        skipped (zeros instead)."""
        return [{"let": "m", "grader": "build", "args": [{"$ref": spec.target}],
                 "kwargs": literal(spec.get("init", {}))}]

    traces = False    # whether the plan calls the worker's shape_trace

    def worker_imports(self, spec):
        """A shape trace on an input too large for the CPU runs on the meta device, whose first
        conv imports sympy (symbolic shapes) and whose first reference op torch._dynamo."""
        if self.traces and any(int(np.prod(s)) > SMALL_INPUT for s in spec.get("inputs", [])):
            return META_IMPORTS
        return ()


@register
class ModelParamsCheck(_ModelKind):
    """Total parameter count (exact) and the parameter shapes in registration order."""
    kind = "model_params"

    def plan(self, spec, rng):
        plan = Plan(self._construct(spec) + [{"let": "ps", "grader": "param_shapes", "args": [{"$ref": "m"}]}],
                    {"ps": "ps"})
        plan.context["want"] = list(skeleton(spec)[0])
        return plan

    def judge(self, spec, plan, result):
        want = plan.context["want"]
        got = parse_shapes(result.values.get("ps"))
        if got is None:
            return _no_answer(spec, result, t("grading.tm_what_param_shapes"))
        pts = split_points(spec.points, {"total": 1.0, "shapes": 1.0})
        total_w, total_g = _count(want), _count(got)
        score, lines = 0.0, []
        if total_g == total_w:
            score += pts["total"]
            lines.append(t("grading.tm_total_ok", n=f"{total_w:,}"))
        else:
            lines.append(t("grading.tm_total_wrong", got=f"{total_g:,}", want=f"{total_w:,}",
                           diff=f"{total_g - total_w:+,}"))
        problem = first_mismatch(want, got)
        if not problem:
            score += pts["shapes"]
            lines.append(t("grading.tm_shapes_ok", n=len(want)))
        else:
            lines.append(f"- {problem}")
            ref_top = ", ".join(f"{k}: {v:,}" for k, v in _top_counts(want).items())
            your_top = ", ".join(f"{k}: {v:,}" for k, v in _top_counts(got).items())
            lines.append(t("grading.tm_per_module_ref", counts=ref_top))
            lines.append(t("grading.tm_per_module_yours", counts=your_top or t("grading.tm_none")))
        failed = score < spec.points - 1e-9
        return [Part(spec.display_name, spec.points, round(score, 6),
                     t("grading.tm_params_head", call=_call(spec)) + "\n\n" + "\n".join(lines),
                     {"kind": self.kind, "failed": failed})]


@register
class ModelShapesCheck(_ModelKind):
    """Output shapes for several inputs (computed on the meta device, so large inputs are free)."""
    kind = "model_shapes"
    needs_inputs = True
    traces = True

    def plan(self, spec, rng):
        plan = Plan(self._construct(spec), {})
        want = []
        for i, shape in enumerate(spec.get("inputs")):
            plan.steps.append({"let": f"s{i}", "grader": "shape_trace", "args": [{"$ref": "m"}, list(shape)]})
            plan.returns[f"s{i}"] = f"s{i}"
            want.append(tuple(int(d) for d in _meta_output(spec, shape)))
        plan.context["want"] = want
        return plan

    def judge(self, spec, plan, result):
        shapes = spec.get("inputs")
        per = split_points(spec.points, {str(i): 1.0 for i in range(len(shapes))})
        score, lines = 0.0, []
        for i, (shape, want) in enumerate(zip(shapes, plan.context["want"])):
            traced = _parse_trace(result.values.get(f"s{i}"))
            got = traced[0] if traced else None
            layers = [r for r in traced[1] if r[1] in TRACE_TYPES] if traced else []
            if got is not None and got == want and layers:
                score += per[str(i)]
                lines.append(t("grading.tm_shape_correct", shape=fmt_shape(shape), want=fmt_shape(want)))
            elif got is not None and got == want:
                lines.append(t("grading.tm_shape_no_layer", shape=fmt_shape(shape), want=fmt_shape(want)))
            elif got is None:   # "but your code raised ...", not "got <error>"
                lines.append(t("grading.tm_shape_raised", shape=fmt_shape(shape), want=fmt_shape(want),
                               error=worker_error_text(result)))
            else:
                lines.append(t("grading.tm_shape_wrong", shape=fmt_shape(shape), want=fmt_shape(want),
                               have=fmt_shape(got)))
        failed = score < spec.points - 1e-9
        return [Part(spec.display_name, spec.points, round(score, 6),
                     t("grading.tm_shapes_head", call=_call(spec)) + "\n\n" + "\n".join(lines),
                     {"kind": self.kind, "failed": failed})]


def _parse_trace(value) -> tuple[tuple[int, ...], list[tuple[str, str, tuple[int, ...]]]] | None:
    """The worker's ``shape_trace`` answer as (output shape, rows); None when malformed."""
    if not (isinstance(value, list) and len(value) == 2):
        return None
    out, raw = value
    if not (isinstance(out, list) and all(type(d) is int for d in out) and isinstance(raw, list)):
        return None
    rows = []
    for r in raw:
        if not (isinstance(r, list) and len(r) == 3 and isinstance(r[0], str) and isinstance(r[1], str)
                and isinstance(r[2], list) and all(type(d) is int for d in r[2])):
            return None
        rows.append((r[0], r[1], tuple(r[2])))
    return tuple(out), rows


def _meta_output(spec, shape) -> tuple[int, ...]:
    return shape_run(spec, shape)[0]


@register
class ModelTraceCheck(_ModelKind):
    """Per-layer output shapes of the shape-changing layers (conv, transposed conv, linear,
    pooling), leaves in registration order and each one's calls in call order (:func:`_run`), against
    the reference's; credit per matching row."""
    kind = "model_trace"
    needs_inputs = True
    traces = True

    def plan(self, spec, rng):
        shape = spec.get("inputs")[0]
        plan = Plan(self._construct(spec) + [{"let": "t", "grader": "shape_trace", "args": [{"$ref": "m"}, list(shape)]}],
                    {"t": "t"})
        plan.context["want"] = [r for r in shape_run(spec, shape)[1] if r[1] in TRACE_TYPES]
        return plan

    def judge(self, spec, plan, result):
        want = plan.context["want"]
        traced = _parse_trace(result.values.get("t"))
        if traced is None:
            return _no_answer(spec, result, t("grading.tm_what_trace"))
        rows = traced[1]
        got = [r for r in rows if r[1] in TRACE_TYPES]
        right = sum(1 for w, g in zip(want, got) if w[1:] == g[1:])
        frac = right / len(want) if len(got) == len(want) else min(right, len(got)) / max(len(want), len(got))
        score = round(spec.points * frac, 6)
        shape = spec.get("inputs")[0]
        where = (t("grading.tm_trace_where", call=_call(spec), shape=fmt_shape(shape)) if spec.visible
                 else t("grading.tm_trace_hidden"))
        text = t("grading.tm_trace_count", where=where, right=right, n=len(want))
        first = next((i for i, (w, g) in enumerate(zip(want, got)) if w[1:] != g[1:]), None)
        if first is not None and spec.visible:
            w, g = want[first], got[first]
            text += "\n\n" + t("grading.tm_trace_first", i=first + 1, wtype=w[1], wshape=fmt_shape(w[2]), name=g[0],
                               gtype=g[1], gshape=fmt_shape(g[2]))
        elif first is not None:    # hidden: which layer, never the expected shapes
            text += "\n\n" + t("grading.tm_trace_first_hidden", i=first + 1, name=got[first][0], gtype=got[first][1])
        elif len(got) != len(want):
            text += "\n\n" + t("grading.tm_trace_length", got=len(got), want=len(want))
        if not got and rows:
            text += "\n\n" + t("grading.tm_trace_no_layers")
        failed = score < spec.points - 1e-9
        return [Part(spec.display_name, spec.points, score, text, {"kind": self.kind, "failed": failed})]


def _named_shapes(model) -> tuple[tuple[tuple[str, tuple[int, ...]], ...], tuple[tuple[str, tuple[int, ...]], ...]]:
    """(parameters, floating-point buffers) of ``model`` as ``(name, shape)``, in registration order."""
    return (tuple((n, tuple(int(d) for d in p.shape)) for n, p in model.named_parameters()),
            tuple((n, tuple(int(d) for d in b.shape)) for n, b in model.named_buffers() if b.is_floating_point()))


def skeleton(spec: CheckSpec) -> tuple[tuple[tuple[str, tuple[int, ...]], ...], tuple[tuple[str, tuple[int, ...]], ...]]:
    """:func:`_named_shapes` of the check's reference model: what :func:`draw_weights` fills and
    the parameter shapes the model checks expect, once per process (:func:`_structure`)."""
    return _structure("skeleton", spec, None, lambda: _named_shapes(_build(spec, "meta")))


def draw_weights(model, rng: np.random.Generator) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Seeded values for every parameter and floating-point buffer of ``model`` (a module, or a
    :func:`skeleton`), float32-representable: weights ~ N(0, 1/fan_in), 1-d weights (batch-norm
    γ) in [0.5, 1.5], biases N(0, 0.2²), running means N(0, 0.2²), running variances in [0.5, 1.5]."""
    named_params, named_buffers = model if isinstance(model, tuple) else _named_shapes(model)
    params = []
    for name, shape in named_params:
        if len(shape) >= 2:
            v = rng.standard_normal(shape) / np.sqrt(max(int(np.prod(shape[1:])), 1))
        elif name.endswith("weight"):
            v = rng.uniform(0.5, 1.5, size=shape)
        else:
            v = rng.standard_normal(shape) * 0.2
        params.append(v.astype(np.float32).astype(np.float64))
    buffers = []
    for name, shape in named_buffers:
        v = rng.uniform(0.5, 1.5, size=shape) if name.endswith("running_var") else rng.standard_normal(shape) * 0.2
        buffers.append(v.astype(np.float32).astype(np.float64))
    return params, buffers


# Reference models for forward checks, one per (builder, init), reused: each call overwrites every
# parameter and buffer, so a kept model computes exactly what a fresh one would (a lock each).
MODELS = 32
_MODELS: "OrderedDict[tuple, tuple[object, threading.Lock]]" = OrderedDict()


def _reference_model(spec):
    key = (spec.get("reference", spec.target), repr(spec.get("init", {})))
    with _STRUCTURES_LOCK:
        if key in _MODELS:
            _MODELS.move_to_end(key)
            return _MODELS[key]
    import torch

    with torch.random.fork_rng(devices=[]):    # its initial values are never used
        entry = (_build(spec).double(), threading.Lock())
    with _STRUCTURES_LOCK:
        entry = _MODELS.setdefault(key, entry)
        while len(_MODELS) > MODELS:
            _MODELS.popitem(last=False)
    return entry


def reference_forward(spec, params, buffers, x, train: bool) -> np.ndarray:
    """The reference model's float64 output on ``x`` with ``params`` and the floating-point
    ``buffers`` loaded (:func:`draw_weights`' order; other buffers, batch norm's step counter,
    zeroed as in a fresh model), in training mode when ``train``."""
    import torch

    model, lock = _reference_model(spec)
    with lock, torch.no_grad():
        ps = list(model.parameters())
        bs = [b for b in model.buffers() if b.is_floating_point()]
        if len(ps) != len(params) or len(bs) != len(buffers):
            raise ValueError(f"{len(params)} parameter and {len(buffers)} buffer values for a reference "
                             f"with {len(ps)} and {len(bs)}")
        for p, v in zip(ps, params):
            p.copy_(torch.from_numpy(v))
        for b, v in zip(bs, buffers):
            b.copy_(torch.from_numpy(v))
        for b in model.buffers():
            if not b.is_floating_point():
                b.zero_()
        model.train(train)
        return model(torch.from_numpy(x)).numpy()


@register
class ModelForwardCheck(_ModelKind):
    """Forward equivalence: the grader's seeded weights loaded into the student's model (by
    parameter shapes, in order) give the reference's output on a seeded input."""
    kind = "model_forward"
    needs_inputs = True

    def plan(self, spec, rng):
        shapes = skeleton(spec)
        params, buffers = draw_weights(shapes, rng)
        x = rng.standard_normal(tuple(spec.get("inputs")[0]))
        train = bool(spec.get("train", False))
        plan = Plan([], {"ps": "ps", "y": "y"}, timeout=spec.get("timeout"))
        plan.steps = self._construct(spec) + [
            {"let": "ps", "grader": "param_shapes", "args": [{"$ref": "m"}]},
            {"let": "_", "grader": "load_weights",
             "args": [{"$ref": "m"}, [plan.array(v) for v in params], [plan.array(v) for v in buffers]]},
            {"let": "y", "grader": "run", "args": [{"$ref": "m"}, plan.array(x)], "kwargs": {"train": train}},
        ]
        plan.context.update(params=params, buffers=buffers, x=x, train=train,
                            want=list(shapes[0]))
        return plan

    def judge(self, spec, plan, result):
        ctx = plan.context
        mode = t("grading.tm_mode_train") if ctx["train"] else t("grading.tm_mode_eval")
        case = (t("grading.tm_fwd_case", call=_call(spec), mode=mode, shape=fmt_shape(ctx["x"].shape)) if spec.visible
                else t("grading.tm_fwd_case_hidden", mode=mode))   # never the hidden case
        got = parse_shapes(result.values.get("ps"))
        if got is not None:
            problem = first_mismatch(ctx["want"], got)
            if problem:
                return [Part(spec.display_name, spec.points, 0.0,
                             t("grading.tm_fwd_unloadable", case=case, problem=problem),
                             {"kind": self.kind, "failed": True,
                              "diagnoses": [{"code": "parameter_shapes", "message": problem}]})]
        y = ctx.get("expected")
        if y is None:   # a function of the plan alone: validate judges every mutant on one plan
            y = ctx["expected"] = reference_forward(spec, ctx["params"], ctx["buffers"], ctx["x"], ctx["train"])
        actual = result.values.get("y")
        if actual is None and result.status != "ok" or (actual is None and result.error):
            return [Part(spec.display_name, spec.points, 0.0, t("grading.tm_fwd_no_output", case=case,
                                                                  why=worker_error_text(result)),
                         {"kind": self.kind, "failed": True})]
        cmp = compare(actual, y, what=t("grading.what_your_output"), dtype="float64",
                      rtol=float(spec.get("rtol", 1e-6)))
        if cmp.ok:
            return [Part(spec.display_name, spec.points, spec.points,
                         t("grading.tm_fwd_ok", case=case, rel=f"{cmp.rel_error:.1e}"),
                         {"kind": self.kind})]
        return [Part(spec.display_name, spec.points, 0.0, t("grading.tm_fwd_wrong", case=case, message=cmp.message),
                     {"kind": self.kind, "failed": True})]


__all__ = ["REFERENCES", "TRACE_TYPES", "draw_weights", "skeleton", "first_mismatch", "reference_trace", "reference_forward"]
