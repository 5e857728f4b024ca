"""Check kinds for a student's plain functions and answers: ``function`` and ``value``.

``function``: call the student's function with given arguments and compare what it returns with
a trusted expected value::

    [[check]]
    name = "conv_output_size: stride and padding"
    kind = "function"
    target = "conv_output_size"           # the student's function
    expected = "arith.conv_output_size"   # a trusted oracle (see ORACLES), called with the same args
    points = 1
    cases = [ { args = [32, 3], kwargs = { stride = 2, padding = 1 } },
              { args = [{ randint = [8, 64] }, { choice = [1, 3, 5] }] } ]

``value``: a module-level answer (``ANSWER_Q3 = 55``) compared with ``expected`` called with
``args``/``kwargs``::

    [[check]]
    name = "Q3: AlexNet conv1 output width"
    kind = "value"
    target = "ANSWER_ALEXNET_CONV1"
    expected = "arith.conv_output_size"
    args = [227, 11, 4, 0]

Argument values are TOML data; ``{ randint = [lo, hi] }`` (inclusive) and ``{ choice = [...] }``
are drawn from the check's seed, so hidden cases differ per student. Expected values come only
from oracles, named functions in the grader process built on ``reference`` (an ``arith.<name>``
for every formula in :mod:`reference.arith`, plus those registered with :func:`oracle`); the
worker never sees them. Comparison: ints exactly (an integral float passes with a note), floats
and ``Fraction`` with ``rtol`` (default 1e-6) and ``atol`` (default 0), bools exactly, tuples
and lists element by element, arrays with :func:`grader.judge.compare`.
"""
from __future__ import annotations

import math
from fractions import Fraction
from numbers import Integral, Real
from typing import Callable

import numpy as np

from ..judge import as_array, compare
from .base import CheckDefinitionError, CheckKind, CheckSpec, Part, Plan, literal, register, require_target, \
    split_points, worker_error_text

ORACLES: dict[str, Callable] = {}


def oracle(name: str):
    """Register a trusted expected-value function under ``name`` (used as ``expected = name``)."""
    def deco(fn):
        ORACLES[name] = fn
        return fn
    return deco


def resolve_oracle(name: str) -> Callable:
    """The oracle called ``name``: a registered one, or ``arith.<f>`` for a formula of reference.arith."""
    if name in ORACLES:
        return ORACLES[name]
    if isinstance(name, str) and name.startswith("arith."):
        import reference.arith as arith

        fn = name.split(".", 1)[1]
        if fn in arith.__all__ and callable(getattr(arith, fn)) and not isinstance(getattr(arith, fn), type):
            return getattr(arith, fn)
    raise CheckDefinitionError(f"unknown oracle {name!r} (registered: {', '.join(sorted(ORACLES))}, "
                               f"or arith.<formula of reference.arith>)")


def _layers(layers):
    """TOML lists ``[k, s, p, d]`` -> tuples, so reference.arith reads them as layers."""
    return [tuple(layer) if isinstance(layer, list) else layer for layer in layers]


@oracle("arith.receptive_field_size")
def receptive_field_size(layers, axis=None) -> int:
    """Input pixels seen by one unit after ``layers`` (``(kernel_size, stride, padding, dilation)``
    tuples, trailing entries optional)."""
    import reference.arith as arith

    return arith.receptive_field(_layers(layers), axis=axis).size


@oracle("arith.receptive_field_jump")
def receptive_field_jump(layers, axis=None) -> int:
    """Distance in input pixels between the fields of neighbouring units (product of strides)."""
    import reference.arith as arith

    return arith.receptive_field(_layers(layers), axis=axis).stride


@oracle("nn.sigmoid_chain_gradient")
def sigmoid_chain_gradient(depth: int, z: float = 0.0) -> float:
    """Factor by which a gradient shrinks through ``depth`` sigmoid units whose pre-activations all
    equal ``z`` (unit weights): the product of the sigmoid derivatives, computed with
    ``reference.nn.Sigmoid``'s backward (at ``z = 0`` this is the lecture's ``0.25**depth``)."""
    import reference.nn as rnn

    if isinstance(depth, bool) or not isinstance(depth, Integral) or depth < 0:
        raise ValueError(f"depth must be an int >= 0, got {depth!r}")
    layer = rnn.Sigmoid()
    layer.forward(np.full(int(depth), float(z)))
    derivatives = np.asarray(layer.backward(np.ones(int(depth))), dtype=np.float64)
    return float(np.prod(derivatives))


@oracle("nn.output_shape")
def output_shape(layer: str, init: dict, input_shape) -> tuple:
    """Shape a ``reference.nn`` layer built with ``init`` produces from an input of ``input_shape``."""
    import reference.nn as rnn

    cls = getattr(rnn, layer, None)
    if cls is None:
        raise ValueError(f"layer: reference.nn has no layer {layer!r}")
    kwargs = {k: tuple(v) if isinstance(v, list) else v for k, v in init.items()}
    return tuple(np.asarray(cls(**kwargs).forward(np.zeros(tuple(input_shape)))).shape)


# ----------------------------------------------------------------------------- arguments

def draw(value, rng: np.random.Generator):
    """Resolve ``{randint = [lo, hi]}`` / ``{choice = [...]}`` anywhere inside an argument."""
    if isinstance(value, dict):
        if set(value) == {"randint"}:
            lo, hi = value["randint"]
            return int(rng.integers(int(lo), int(hi) + 1))
        if set(value) == {"choice"}:
            options = value["choice"]
            return draw(options[int(rng.integers(len(options)))], rng)
        return {k: draw(v, rng) for k, v in value.items()}
    if isinstance(value, list):
        return [draw(v, rng) for v in value]
    return value


def call_text(target: str, args: list, kwargs: dict) -> str:
    parts = [repr(a) for a in args] + [f"{k}={v!r}" for k, v in kwargs.items()]
    return f"{target}({', '.join(parts)})"


def plain(value):
    """An oracle's answer as plain data (Fraction and numpy scalars kept exact where possible)."""
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (Integral, np.integer)):
        return int(value)
    if isinstance(value, Fraction):
        return value
    if isinstance(value, (Real, np.floating)):
        return float(value)
    if isinstance(value, (tuple, list)):
        return [plain(v) for v in value]
    if isinstance(value, np.ndarray):
        return np.asarray(value, dtype=np.float64)
    raise CheckDefinitionError(f"oracle returned an unsupported value of type {type(value).__name__}")


def _fmt(value) -> str:
    if isinstance(value, Fraction):
        return f"{value} (= {float(value):.6g})"
    if isinstance(value, float):
        return f"{value:.6g}"
    if isinstance(value, np.ndarray):
        return f"an array of shape {tuple(value.shape)}"
    return repr(value)


def _got(value) -> str:
    if isinstance(value, dict) and "$unencodable" in value:
        return f"an object of type {value['$unencodable']}"
    if isinstance(value, np.ndarray) and value.ndim == 0:
        return _fmt(float(value))
    return _fmt(value)


def agree(actual, expected, rtol: float, atol: float) -> tuple[bool, str]:
    """(matches, note) for a decoded worker value against an oracle's plain answer."""
    if isinstance(actual, np.ndarray) and actual.ndim == 0 and not isinstance(expected, np.ndarray):
        actual = actual.item()
    if isinstance(expected, bool):
        return (actual is True or actual is False) and actual == expected, ""
    if isinstance(expected, int):
        if isinstance(actual, bool) or not isinstance(actual, (int, float)) or not math.isfinite(actual):
            return False, ""
        if actual != expected:
            return False, ""
        return True, ("returned a float; a size or count is an int (use `//`)" if isinstance(actual, float) else "")
    if isinstance(expected, (float, Fraction)):
        if isinstance(actual, bool) or not isinstance(actual, (int, float)) or not math.isfinite(actual):
            return False, ""
        want = float(expected)
        return abs(actual - want) <= atol + rtol * abs(want), ""
    if isinstance(expected, list):
        if not isinstance(actual, list) or len(actual) != len(expected):
            return False, ""
        results = [agree(a, e, rtol, atol) for a, e in zip(actual, expected)]
        return all(ok for ok, _ in results), next((n for _, n in results if n), "")
    if isinstance(expected, np.ndarray):
        return compare(actual, expected, rtol=rtol if rtol else None).ok, ""
    return False, ""


# ----------------------------------------------------------------------------- kinds

def _spec_oracle(spec: CheckSpec) -> Callable:
    name = spec.get("expected")
    if not name:
        raise CheckDefinitionError(f"check {spec.name!r}: needs expected = \"<oracle name>\"")
    try:
        return resolve_oracle(name)
    except CheckDefinitionError as exc:
        raise CheckDefinitionError(f"check {spec.name!r}: {exc}") from None


def _tolerances(spec: CheckSpec) -> tuple[float, float]:
    return float(spec.get("rtol", 1e-6)), float(spec.get("atol", 0.0))


def _expected(spec: CheckSpec, fn: Callable, args: list, kwargs: dict):
    try:
        return plain(fn(*args, **kwargs))
    except (TypeError, ValueError) as exc:
        raise CheckDefinitionError(f"check {spec.name!r}: oracle {spec.get('expected')} "
                                   f"{call_text('', args, kwargs)}: {exc}") from None


@register
class FunctionCheck(CheckKind):
    """The student's function, called on each case, returns what the oracle returns."""
    kind = "function"

    def _cases(self, spec, rng):
        cases = spec.get("cases")
        if not isinstance(cases, list) or not cases:
            raise CheckDefinitionError(f"check {spec.name!r}: needs cases = [{{ args = [...] }}, ...]")
        out = []
        for case in cases:
            if not isinstance(case, dict) or set(case) - {"args", "kwargs"}:
                raise CheckDefinitionError(f"check {spec.name!r}: a case is {{ args = [...], kwargs = {{...}} }}")
            out.append((draw(list(case.get("args", [])), rng), draw(dict(case.get("kwargs", {})), rng)))
        return out

    def validate(self, spec):
        require_target(spec, "the student's function")
        fn = _spec_oracle(spec)
        for seed in range(3):   # random cases must be valid for the oracle whatever the seed
            for args, kwargs in self._cases(spec, np.random.default_rng(seed)):
                _expected(spec, fn, args, kwargs)

    def plan(self, spec, rng):
        fn = _spec_oracle(spec)
        cases = self._cases(spec, rng)
        plan = Plan([], {}, context={"cases": []})
        for i, (args, kwargs) in enumerate(cases):
            plan.context["cases"].append((args, kwargs, _expected(spec, fn, args, kwargs)))
            plan.steps.append({"let": f"r{i}", "call": spec.target, "args": literal(args),
                               "kwargs": literal(kwargs)})
            plan.returns[f"r{i}"] = f"r{i}"
        return plan

    def judge(self, spec, plan, result):
        cases = plan.context["cases"]
        rtol, atol = _tolerances(spec)
        per = split_points(spec.points, {str(i): 1.0 for i in range(len(cases))})
        score, lines = 0.0, []
        for i, (args, kwargs, want) in enumerate(cases):
            # a hidden case is named by its number only: its arguments and answer never show
            call = f"`{call_text(spec.target, args, kwargs)}`" if spec.visible else f"hidden case {i + 1}"
            if f"r{i}" not in result.values:
                lines.append(f"- {call}: no result — {worker_error_text(result)}")
                continue
            got = result.values[f"r{i}"]
            ok, note = agree(got, want, rtol, atol)
            if ok:
                score += per[str(i)]
                shown = f"{call} = {_fmt(want)}" if spec.visible else call
                lines.append(f"- {shown}: correct" + (f" ({note})" if note else ""))
            elif spec.visible:
                lines.append(f"- {call}: expected {_fmt(want)}, got {_got(got)}")
            else:
                lines.append(f"- {call}: wrong answer" + _hidden_hint(got, want))
        failed = score < spec.points - 1e-9
        text = "\n".join(lines)
        return [Part(spec.name, spec.points, round(score, 6), text,
                     {"kind": self.kind, "failed": True, "diagnoses": []} if failed else {"kind": self.kind})]


def _hidden_hint(got, want) -> str:
    """What may be said about a wrong answer to a hidden case: its type, never a value."""
    if got is None:
        return " (your function returned None: a missing `return`?)"
    if isinstance(got, dict) and "$unencodable" in got:
        return f" (your function returned an object of type {got['$unencodable']})"
    if isinstance(want, int) and isinstance(got, float) and not float(got).is_integer():
        return " (a size or count is a whole number: check the rounding, `//`)"
    if isinstance(want, list) and not isinstance(got, list):
        return " (expected a tuple or list)"
    return ""


@register
class ValueCheck(CheckKind):
    """A module-level answer (``ANSWER_Q3 = 55``) equals the oracle's value for ``args``."""
    kind = "value"

    def _call(self, spec, rng):
        return draw(list(spec.get("args", [])), rng), draw(dict(spec.get("kwargs", {})), rng)

    def validate(self, spec):
        if not spec.target or not spec.target.isidentifier():
            raise CheckDefinitionError(f"check {spec.name!r}: target must be the answer's variable name")
        args, kwargs = self._call(spec, np.random.default_rng(0))
        _expected(spec, _spec_oracle(spec), args, kwargs)

    def plan(self, spec, rng):
        args, kwargs = self._call(spec, rng)
        want = _expected(spec, _spec_oracle(spec), args, kwargs)
        return Plan([{"let": "v", "get": spec.target}], {"v": "v"}, context={"expected": want})

    def judge(self, spec, plan, result):
        want = plan.context["expected"]
        rtol, atol = _tolerances(spec)
        if "v" not in result.values:
            why = worker_error_text(result) if result.status != "ok" else "the variable is not defined"
            return [Part(spec.name, spec.points, 0.0, f"`{spec.target}`: no answer ({why}).",
                         {"kind": self.kind, "failed": True, "diagnoses": []})]
        got = result.values["v"]
        ok, note = agree(got, want, rtol, atol)
        if ok:
            return [Part(spec.name, spec.points, spec.points, f"`{spec.target}` is correct."
                         + (f" Note: {note}." if note else ""), {"kind": self.kind})]
        text = f"`{spec.target}` = {_got(got)} is not right."
        if got is Ellipsis or (isinstance(got, dict) and got.get("$unencodable") == "ellipsis"):
            text = f"`{spec.target}` is still `...`: write your answer."
        return [Part(spec.name, spec.points, 0.0, text, {"kind": self.kind, "failed": True, "diagnoses": []})]
