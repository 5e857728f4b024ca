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

from ..i18n import localized, t
from ..judge import as_array, compare, fmt_shape
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
        return t("grading.value_array", shape=tuple(value.shape))
    return repr(value)


def _got(value) -> str:
    if isinstance(value, dict) and "$unencodable" in value:
        return t("grading.value_object", type=value["$unencodable"])
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
        return True, (t("grading.fn_float_for_int") if isinstance(actual, float) else "")
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
            call = (f"`{call_text(spec.target, args, kwargs)}`" if spec.visible
                    else t("grading.hidden_case_n", n=i + 1))
            if f"r{i}" not in result.values:
                lines.append(t("grading.fn_no_result", call=call, why=worker_error_text(result)))
                continue
            got = result.values[f"r{i}"]
            ok, note = agree(got, want, rtol, atol)
            if ok:
                score += per[str(i)]
                shown = f"{call} = {_fmt(want)}" if spec.visible else call
                lines.append(t("grading.fn_correct_note", call=shown, note=note) if note
                             else t("grading.fn_correct", call=shown))
            elif spec.visible:
                lines.append(t("grading.fn_expected", call=call, want=_fmt(want), got=_got(got)))
            else:
                hint = _hidden_hint(got, want)
                lines.append(t("grading.fn_wrong_hint", call=call, hint=hint) if hint
                             else t("grading.fn_wrong", call=call))
        failed = score < spec.points - 1e-9
        text = "\n".join(lines)
        return [Part(spec.display_name, spec.points, round(score, 6), text,
                     {"kind": self.kind, "failed": True, "diagnoses": []} if failed else {"kind": self.kind})]


def _hidden_hint(got, want) -> str:
    """What may be said about a wrong answer to a hidden case: its form, never a value ("" when
    nothing but the value is wrong)."""
    if got is None:
        return t("grading.fn_returned_none")
    if isinstance(got, dict) and "$unencodable" in got:
        return t("grading.fn_returned_object", type=got["$unencodable"])
    if isinstance(want, int) and not isinstance(want, bool) and isinstance(got, float) and not float(got).is_integer():
        return t("grading.fn_whole_number")
    if not same_form(got, want):
        return t("grading.fn_wrong_form", form=expected_form(want), got=given_form(got))
    return ""


# ----------------------------------------------------------------------------- forms
# The *form* of an answer (its type, and for a tuple its length and items' types) may always be
# said, also for hidden cases; the expected *value* never is.

def _scalar(value):
    return value.item() if isinstance(value, np.ndarray) and value.ndim == 0 else value


def _kind(value) -> str:
    """bool | int | float | str | tuple | array | none | ellipsis | object: the form class of a
    plain (oracle) or decoded (worker) value."""
    value = _scalar(value)
    if value is None:
        return "none"
    if value is Ellipsis or (isinstance(value, dict) and value.get("$unencodable") == "ellipsis"):
        return "ellipsis"
    if isinstance(value, (bool, np.bool_)):
        return "bool"
    if isinstance(value, (Integral, np.integer)):
        return "int"
    if isinstance(value, (Real, Fraction, np.floating)):
        return "float"
    if isinstance(value, str):
        return "str"
    if isinstance(value, (list, tuple)):
        return "tuple"
    if isinstance(value, np.ndarray):
        return "array"
    return "object"


def same_form(got, want) -> bool:
    """True when ``got`` has the form of ``want`` (an integral float for an int counts; so does an
    int for a float; a tuple needs the same length and item forms; an array the same shape)."""
    kg, kw = _kind(got), _kind(want)
    if kw == "float":
        return kg in ("float", "int")
    if kw == "int":
        return kg == "int" or (kg == "float" and float(_scalar(got)).is_integer())
    if kw == "tuple":
        return kg == "tuple" and len(got) == len(want) and all(same_form(g, w) for g, w in zip(got, want))
    if kw == "array":
        arr = as_array(got)
        return arr is not None and arr.shape == np.shape(want)
    return kg == kw


def _item_form(value) -> str:
    k = _kind(value)
    if k == "tuple":
        return t("grading.form_item_tuple", n=len(value))
    if k == "array":
        return t("grading.form_item_array", shape=fmt_shape(np.shape(value)))
    if k == "object":
        kind = value.get("$unencodable") if isinstance(value, dict) else None
        return t("grading.form_item_object", type=kind or type(value).__name__)
    if k == "ellipsis":
        return "`...`"
    return "None" if k == "none" else k          # bool, int, float, str: Python's own names


def expected_form(want) -> str:
    """The form of an expected (oracle) answer in words: "one number (a float)", "a tuple of 2
    values (int, float)", "an array of shape (3, 4)" — never its value."""
    k = _kind(want)
    if k == "tuple":
        return t("grading.form_tuple", n=len(want), items=", ".join(_item_form(w) for w in want))
    if k == "array":
        return t("grading.form_array", shape=fmt_shape(np.shape(want)))
    if k in ("bool", "int", "float", "str"):
        return t(f"grading.form_{k}")
    return _item_form(want)


def given_form(got) -> str:
    """The form of a student's (decoded) answer in words, like :func:`expected_form`."""
    k = _kind(got)
    if k == "tuple":
        return t("grading.form_tuple", n=len(got), items=", ".join(_item_form(g) for g in got))
    if k == "array":
        return t("grading.form_array", shape=fmt_shape(np.shape(got)))
    if k in ("none", "object", "ellipsis"):
        return _item_form(got)
    return t(f"grading.form_{k}")


def answer_form(spec: CheckSpec, want) -> str:
    """The expected form of a ``value`` check's answer: the check's own ``form``/``form_ru`` text
    (an instructor's words, e.g. "one number: the value, not the z where it is reached") when it
    has one, else :func:`expected_form` of the expected value."""
    own = localized(spec.params, "form")
    return own if own else expected_form(want)


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
            why = worker_error_text(result) if result.status != "ok" else t("grading.value_not_defined")
            text = t("grading.value_no_answer", target=spec.target, why=why) + " " + \
                t("grading.value_form", form=answer_form(spec, want))
            return [Part(spec.display_name, spec.points, 0.0, text,
                         {"kind": self.kind, "failed": True, "diagnoses": []})]
        got = result.values["v"]
        ok, note = agree(got, want, rtol, atol)
        if ok:
            return [Part(spec.display_name, spec.points, spec.points,
                         t("grading.value_correct_note", target=spec.target, note=note) if note
                         else t("grading.value_correct", target=spec.target), {"kind": self.kind})]
        if _kind(got) == "ellipsis":
            text = t("grading.value_ellipsis", target=spec.target)
            text += " " + t("grading.value_form", form=answer_form(spec, want))
        else:
            text = t("grading.value_wrong", target=spec.target, got=_got(got))
            # the expected form, always (a wrong answer in the right form is still told what form
            # is asked for); what the student gave, when its form differs
            text += " " + (t("grading.value_form", form=answer_form(spec, want)) if same_form(got, want)
                           else t("grading.value_form_differs", form=answer_form(spec, want), got=given_form(got)))
        return [Part(spec.display_name, spec.points, 0.0, text, {"kind": self.kind, "failed": True, "diagnoses": []})]
