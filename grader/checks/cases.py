"""Seeded cases for layer checks: the reference layer, its parameters and the inputs.

Everything here runs in the grader process. The reference layer is built from the same
constructor arguments the student's class receives; its parameters are drawn from the check's
seed and handed to both (to the student through ``load_state_dict``), so any difference in the
outputs is the student's.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .base import CheckDefinitionError, CheckSpec


def reference_class(spec: CheckSpec):
    import reference.nn as rnn

    name = spec.get("reference", spec.target)
    cls = getattr(rnn, name, None)
    if cls is None:
        raise CheckDefinitionError(f"check {spec.name!r}: reference.nn has no layer {name!r}")
    return cls


def init_kwargs(spec: CheckSpec) -> dict:
    """Constructor arguments, with TOML lists turned into tuples (torch accepts both)."""
    return {k: tuple(v) if isinstance(v, list) else v for k, v in spec.get("init", {}).items()}


def call_repr(spec: CheckSpec) -> str:
    """``Conv2d(3, 4, kernel_size=3, stride=2)``: the constructor call as the student would write it."""
    args = ", ".join(f"{k}={v!r}" for k, v in init_kwargs(spec).items())
    return f"{spec.target}({args})"


def dtype_of(spec: CheckSpec) -> str:
    dtype = spec.get("dtype", "float64")
    if dtype not in ("float64", "float32"):
        raise CheckDefinitionError(f"check {spec.name!r}: dtype must be float64 or float32")
    return dtype


def low_corner(x: np.ndarray, corner) -> np.ndarray:
    """``x`` with its smallest values swapped into the top-left ``corner`` block of sample 0,
    channel 0: a guaranteed all-negative border window (max pooling that pads with 0 instead of
    -inf is then caught for every student), while the values stay each student's own (and
    distinct, when they were)."""
    x = np.array(x, copy=True)
    corner = tuple(int(c) for c in corner)
    if x.ndim != 2 + len(corner) or min(corner, default=0) < 1:
        raise ValueError("negative_corner needs one positive size per spatial axis of the input")
    mask = np.zeros(x.shape, bool)
    mask[(0, 0) + tuple(slice(0, c) for c in corner)] = True
    flat, m = x.reshape(-1), mask.reshape(-1)
    smallest = np.argsort(flat, kind="stable")[: int(m.sum())]
    small = np.zeros(flat.size, bool)
    small[smallest] = True
    move_in, move_out = smallest[~m[smallest]], np.flatnonzero(m & ~small)
    flat[move_in], flat[move_out] = flat[move_out].copy(), flat[move_in].copy()
    if not (flat[m] < 0).all():
        raise ValueError("negative_corner: the input has too few negative values for the block")
    return flat.reshape(x.shape)


def draw_input(rng: np.random.Generator, shape, *, distinct: bool = False, scale: float = 1.0,
               dtype: str = "float64", low: float | None = None, high: float | None = None,
               negative_corner=None) -> np.ndarray:
    shape = tuple(int(s) for s in shape)
    n = int(np.prod(shape)) if shape else 1
    if distinct:  # no ties: max pooling's argmax is unique everywhere
        x = (rng.permutation(n).astype(np.float64) / max(n, 1) - 0.5) * 2 * scale
        x = x.reshape(shape)
    elif low is not None and high is not None:
        x = rng.uniform(low, high, size=shape)
    else:
        x = rng.standard_normal(shape) * scale
    if negative_corner is not None:
        x = low_corner(x, negative_corner)
    return x.astype(dtype)


def draw_state(layer, rng: np.random.Generator, dtype: str) -> dict[str, np.ndarray]:
    """Random values for every parameter and buffer of ``layer``: weights ~ N(0, 1/fan_in),
    running variances in [0.5, 1.5], counters kept."""
    state = {}
    for key, value in layer.state_dict().items():
        leaf = key.rsplit(".", 1)[-1]
        value = np.asarray(value)
        if not np.issubdtype(value.dtype, np.floating):
            state[key] = value.copy()
        elif leaf == "running_var":
            state[key] = rng.uniform(0.5, 1.5, size=value.shape).astype(dtype)
        elif leaf == "weight" and value.ndim >= 2:
            fan_in = max(int(np.prod(value.shape[1:])), 1)
            state[key] = (rng.standard_normal(value.shape) / np.sqrt(fan_in)).astype(dtype)
        else:
            state[key] = (rng.standard_normal(value.shape) * 0.5).astype(dtype)
    return state


@dataclass
class LayerCase:
    """One seeded case: constructor kwargs, parameters, input, upstream gradient, mode."""
    spec: CheckSpec
    kwargs: dict
    dtype: str
    state: dict[str, np.ndarray]
    x: np.ndarray
    grad_out: np.ndarray | None = None
    training: bool = True
    extra_inputs: dict = field(default_factory=dict)

    def build_reference(self, **overrides):
        """A fresh reference layer with this case's parameters (``overrides`` change kwargs)."""
        cls = reference_class(self.spec)
        kwargs = dict(self.kwargs)
        kwargs.update(overrides)
        layer = cls(**kwargs)
        if self.dtype == "float32":
            layer.to(np.float32)
        if self.state:
            layer.load_state_dict(self.state)
        layer.train(self.training)
        return layer

    def reference_forward(self, layer=None, x=None):
        layer = layer if layer is not None else self.build_reference()
        return layer, np.asarray(layer.forward(self.x if x is None else x))

    def param_names(self) -> list[str]:
        layer = reference_class(self.spec)(**self.kwargs)
        return [name for name, _ in layer.named_parameters()]

    def describe(self) -> str:
        """The case in words, in the current language (shown for visible checks only)."""
        from grader.i18n import t

        mode = "" if self.training else t("grading.describe_eval_mode")
        return t("grading.describe_layer", call=call_repr(self.spec), shape=tuple(self.x.shape), mode=mode,
                 dtype=self.dtype)


def input_spec(spec) -> dict:
    """The check's ``input = {shape = [...], ...}`` table; CheckDefinitionError without one."""
    inp = spec.get("input")
    if not isinstance(inp, dict) or "shape" not in inp:
        raise CheckDefinitionError(f"check {spec.name!r}: needs input = {{shape = [...]}}")
    return inp


def make_case(spec: CheckSpec, rng: np.random.Generator) -> LayerCase:
    cls = reference_class(spec)
    kwargs = init_kwargs(spec)
    dtype = dtype_of(spec)
    try:
        layer = cls(**kwargs)
    except (TypeError, ValueError) as exc:
        raise CheckDefinitionError(f"check {spec.name!r}: reference {cls.__name__}: {exc}") from None
    inp = input_spec(spec)
    state = draw_state(layer, rng, dtype)
    try:
        x = draw_input(rng, inp["shape"], distinct=bool(inp.get("distinct", False)),
                       scale=float(inp.get("scale", 1.0)), dtype=dtype,
                       low=inp.get("low"), high=inp.get("high"), negative_corner=inp.get("negative_corner"))
    except ValueError as exc:
        raise CheckDefinitionError(f"check {spec.name!r}: input: {exc}") from None
    case = LayerCase(spec, kwargs, dtype, state, x, training=bool(spec.get("train", True)))
    _, y = case.reference_forward()
    case.grad_out = rng.standard_normal(y.shape).astype(dtype)
    return case


def module_steps(plan, case: LayerCase, *, load_state: bool = True) -> list[dict]:
    """The steps that construct the student's layer, load the case's parameters, set the mode."""
    from .base import literal

    steps = [{"let": "m", "call": case.spec.target, "kwargs": literal(case.kwargs)}]
    if load_state and case.state:
        steps.append({"let": "_", "call": "m.load_state_dict",
                      "args": [{"$dict": {k: plan.array(v) for k, v in case.state.items()}}]})
    if not case.training:
        steps.append({"let": "_", "call": "m.eval"})
    return steps
