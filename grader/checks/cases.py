"""Seeded cases for layer checks: the reference layer, its parameters and the inputs.

Everything here runs in the grader process. The reference layer is built from the same
constructor arguments the student's class receives; its parameters are drawn from the check's
seed and handed to both (to the student through ``load_state_dict``), so any difference in the
outputs is the student's.

What does not change within a grade is computed once: the parameter names and state layout of a
reference class with given arguments (:func:`template`), and a case's reference output and
gradients (:meth:`LayerCase.reference_output`, :meth:`LayerCase.reference_gradients`), which are
also shared between equal cases across grades (keyed by the case's content: a visible check's
inputs are every student's) in a small bounded cache.
"""
from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
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


# --------------------------------------------------------------------------------------------
# reference layers built once

TEMPLATES = 256                          # (class, arguments) pairs kept
_TEMPLATES: "OrderedDict[tuple, object]" = OrderedDict()
_LOCK = threading.Lock()


def template(cls, kwargs: dict):
    """A reference layer ``cls(**kwargs)`` shared by every caller that only reads its structure
    (``state_dict()`` layout, ``named_parameters()`` names); never change it, never run it. Its
    random initial values mean nothing: the checks load their own. Raises what ``cls(**kwargs)``
    raises."""
    key = (cls, repr(kwargs))
    with _LOCK:
        layer = _TEMPLATES.get(key)
        if layer is not None:
            _TEMPLATES.move_to_end(key)
            return layer
    layer = cls(**kwargs)
    with _LOCK:
        _TEMPLATES[key] = layer
        while len(_TEMPLATES) > TEMPLATES:
            _TEMPLATES.popitem(last=False)
    return layer


def _draws(layer) -> bool:
    """Whether the layer (or a submodule) holds a random generator its forward may draw from
    (dropout): its outputs are then never reused."""
    return any(hasattr(module, "rng") for _, module in layer.named_modules())


# Reference results of equal cases, across grades: (what, content digest) -> arrays.
RESULTS = 512                            # entries (a2's hidden cases: a few kB each)
RESULTS_BYTES = 16 << 20                 # and bytes, together; one entry at most a sixteenth of it
_RESULTS: "OrderedDict[tuple, tuple[int, object]]" = OrderedDict()
_results_bytes = 0


def _digest(*arrays) -> str:
    h = hashlib.blake2b(digest_size=20)
    for a in arrays:
        a = np.ascontiguousarray(a)
        h.update(f"{a.dtype.str}{a.shape}".encode())
        h.update(a.tobytes())
    return h.hexdigest()


def _nbytes(value) -> int:
    if isinstance(value, np.ndarray):
        return value.nbytes
    if isinstance(value, (tuple, list)):
        return sum(_nbytes(v) for v in value)
    if isinstance(value, dict):
        return sum(_nbytes(v) for v in value.values())
    return 64


def _copied(value):
    """A copy of a cached result for a caller (who may change it)."""
    if isinstance(value, np.ndarray):
        return value.copy()
    if isinstance(value, tuple):
        return tuple(_copied(v) for v in value)
    if isinstance(value, dict):
        return {k: _copied(v) for k, v in value.items()}
    return value


def _remembered(key, compute):
    global _results_bytes
    with _LOCK:
        hit = _RESULTS.get(key)
        if hit is not None:
            _RESULTS.move_to_end(key)
            return _copied(hit[1])
    value = compute()
    size = _nbytes(value)
    if size <= RESULTS_BYTES // 16:
        with _LOCK:
            if key not in _RESULTS:
                _RESULTS[key] = (size, _copied(value))
                _results_bytes += size
            while _RESULTS and (len(_RESULTS) > RESULTS or _results_bytes > RESULTS_BYTES):
                _results_bytes -= _RESULTS.popitem(last=False)[1][0]
    return value


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

    def _content(self) -> tuple | None:
        """What the case's reference results depend on, digested (once: a case's inputs never
        change after :func:`make_case`); None when they are not to be reused: a subclass (its
        ``build_reference`` differs) or a layer that draws at random."""
        if type(self) is not LayerCase:
            return None
        if "_content_key" not in self.__dict__:
            cls = reference_class(self.spec)
            key = None
            if not _draws(template(cls, self.kwargs)):
                names = sorted(self.state)
                key = (f"{cls.__module__}.{cls.__qualname__}", repr(self.kwargs), self.dtype, self.training,
                       tuple(names), _digest(self.x, *(self.state[k] for k in names)))
            self.__dict__["_content_key"] = key
        return self.__dict__["_content_key"]

    def _memo(self, what: str, compute, *extra):
        """``compute()``, once per case and content (``extra``: arrays it also depends on); for a
        case whose results are not reused (:meth:`_content` None), every call."""
        content = self._content()
        if content is None:
            return compute()
        key = (what,) + tuple(_digest(a) for a in extra) + content
        memo = self.__dict__.setdefault("_results", {})
        if key not in memo:
            memo[key] = _remembered(key, compute)
        return _copied(memo[key])

    def reference_output(self) -> np.ndarray:
        """The output of a fresh reference layer for the case's input (``reference_forward()``'s),
        computed once per case (and once for equal cases: :func:`_remembered`); a copy each call."""
        def compute():
            layer, y = self.reference_forward()
            if reused:
                self.__dict__["_forwarded"] = layer     # ready for the backward of reference_gradients
            return y

        reused = self._content() is not None

        return self._memo("output", compute)

    def reference_gradients(self) -> tuple[np.ndarray, np.ndarray, dict[str, np.ndarray]]:
        """``(y, dx, {parameter: gradient})`` of a fresh reference layer: forward of the case's
        input, backward of its ``grad_out``; computed once, like :meth:`reference_output` (whose
        layer, right after its forward, does the backward when there is one)."""
        def compute():
            layer = self.__dict__.pop("_forwarded", None)
            if layer is None:
                layer = self.build_reference()
                y = np.asarray(layer.forward(self.x))
            else:
                y = self.reference_output()
            dx = np.asarray(layer.backward(self.grad_out))
            return y, dx, {p: np.asarray(layer.grads[p]) for p in self.param_names()}

        return self._memo("gradients", compute, self.grad_out)

    def param_names(self) -> list[str]:
        return [name for name, _ in template(reference_class(self.spec), self.kwargs).named_parameters()]

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
        layer = template(cls, kwargs)
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
    y = case.reference_output()
    case.grad_out = rng.standard_normal(y.shape).astype(dtype)
    return case


# A returned value ``<ATTR_SHAPE><key>``: the shape of the student's ``m.<key>`` when it is there
# (left out when the attribute is missing, None or has no shape). It tells a parameter that was
# assigned instead of registered (``load_state_dict`` refuses a key the object has) from one
# that is simply missing (an unfinished ``__init__``).
ATTR_SHAPE = "attr_shape:"


def module_steps(plan, case: LayerCase, *, load_state: bool = True) -> list[dict]:
    """The steps that construct the student's layer, load the case's parameters, set the mode
    (and, with the parameters, the returns :data:`ATTR_SHAPE` of their attributes)."""
    from .base import literal

    steps = [{"let": "m", "call": case.spec.target, "kwargs": literal(case.kwargs)}]
    if load_state and case.state:
        steps.append({"let": "_", "call": "m.load_state_dict",
                      "args": [{"$dict": {k: plan.array(v) for k, v in case.state.items()}}]})
        for key in case.state:
            plan.returns.setdefault(f"{ATTR_SHAPE}{key}", f"m.{key}.shape")
    if not case.training:
        steps.append({"let": "_", "call": "m.eval"})
    return steps
