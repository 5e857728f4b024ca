"""The ``function`` and ``value`` check kinds: oracles, seeded arguments, judging (no sandbox)."""
from __future__ import annotations

from fractions import Fraction
from types import SimpleNamespace

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from grader.checks import CheckDefinitionError, CheckSpec, kind_of
from grader.checks.functions import agree, draw, resolve_oracle
import reference.arith as arith


def spec(kind="function", **params):
    target = params.pop("target", "conv_output_size")
    return CheckSpec(name="t", kind=kind, points=2.0, target=target, params=params)


def result(values, status="ok"):
    return SimpleNamespace(values=values, status=status, error=None)


def test_oracles_resolve_arith_and_registered():
    assert resolve_oracle("arith.conv_output_size")(32, 3, 2, 1) == 16
    assert resolve_oracle("arith.receptive_field_size")([[3, 1], [3, 1], [2, 2]]) == 6
    assert resolve_oracle("nn.sigmoid_chain_gradient")(4) == pytest.approx(0.25 ** 4, rel=1e-12)
    s = 1 / (1 + np.exp(-1.0))
    assert resolve_oracle("nn.sigmoid_chain_gradient")(3, z=1.0) == pytest.approx((s * (1 - s)) ** 3)
    for bad in ("arith.ReceptiveField", "arith.nope", "os.system", "nn.Conv2d"):
        with pytest.raises(CheckDefinitionError):
            resolve_oracle(bad)


@settings(max_examples=30, deadline=None)
@given(st.integers(0, 2**32))
def test_draw_respects_ranges_and_choices(seed):
    rng = np.random.default_rng(seed)
    v = draw({"a": [{"randint": [3, 5]}, {"choice": [7, {"randint": [10, 11]}]}], "b": 1}, rng)
    assert 3 <= v["a"][0] <= 5 and v["a"][1] in (7, 10, 11) and v["b"] == 1


def test_function_plan_and_judge_scores_cases_separately():
    s = spec(expected="arith.conv_output_size",
             cases=[{"args": [32, 3], "kwargs": {"stride": 2, "padding": 1}}, {"args": [8, 3], "kwargs": {"stride": 2}}])
    kind = kind_of(s)
    kind.validate(s)
    plan = kind.plan(s, np.random.default_rng(0))
    assert [st_["call"] for st_ in plan.steps] == ["conv_output_size"] * 2
    assert "16" not in str(plan.steps) or plan.steps[0]["args"] == [32, 3]   # expected values never sent
    assert all("expected" not in str(st_) for st_ in plan.steps)
    full = kind.judge(s, plan, result({"r0": 16, "r1": 3}))[0]
    assert full.score == 2.0 and full.passed
    half = kind.judge(s, plan, result({"r0": 16, "r1": 3.5}))[0]
    assert half.score == 1.0 and "hidden case 2: wrong answer" in half.output
    assert "8, 3" not in half.output and "expected" not in half.output     # a hidden case never shows
    s.visibility = "visible"
    half = kind.judge(s, plan, result({"r0": 16, "r1": 3.5}))[0]
    assert half.score == 1.0 and "expected 3, got 3.5" in half.output
    s.visibility = "hidden"
    none = kind.judge(s, plan, result({}, status="timeout"))[0]
    assert none.score == 0 and "time limit" in none.output


def test_int_answers_accept_integral_floats_with_a_note_and_reject_bools():
    assert agree(16, 16, 1e-6, 0) == (True, "")
    ok, note = agree(16.0, 16, 1e-6, 0)
    assert ok and "int" in note
    assert not agree(True, 1, 1e-6, 0)[0]
    assert not agree(float("nan"), 1, 1e-6, 0)[0]
    assert agree(np.array(0.25), Fraction(1, 4), 1e-9, 0)[0]
    assert agree([3, 5.0], [3, 5], 1e-6, 0)[0] and not agree([3], [3, 5], 1e-6, 0)[0]
    assert not agree({"$unencodable": "ellipsis"}, 3, 1e-6, 0)[0]


def test_random_cases_vary_with_the_seed_and_match_the_oracle():
    s = spec(expected="arith.conv_output_size",
             cases=[{"args": [{"randint": [20, 64]}, {"choice": [1, 3, 5]}], "kwargs": {"stride": {"randint": [1, 3]}}}])
    kind = kind_of(s)
    plans = [kind.plan(s, np.random.default_rng(i)) for i in range(8)]
    assert len({str(p.steps) for p in plans}) > 1
    for p in plans:
        (args, kwargs, want), = p.context["cases"]
        assert want == arith.conv_output_size(*args, **kwargs)


def test_value_kind():
    s = spec("value", target="ANSWER_Q", expected="arith.receptive_field_size", args=[[[3, 1], [3, 1]]])
    kind = kind_of(s)
    kind.validate(s)
    plan = kind.plan(s, np.random.default_rng(0))
    assert plan.steps == [{"let": "v", "get": "ANSWER_Q"}]
    assert kind.judge(s, plan, result({"v": 5}))[0].passed
    wrong = kind.judge(s, plan, result({"v": 4}))[0]
    assert wrong.score == 0 and "5" not in wrong.output          # the answer is not revealed
    todo = kind.judge(s, plan, result({"v": {"$unencodable": "ellipsis"}}))[0]
    assert "still `...`" in todo.output
    assert "not defined" in kind.judge(s, plan, result({}))[0].output


@pytest.mark.parametrize("params, message", [
    ({"cases": [{"args": [1]}]}, "needs expected"),
    ({"expected": "arith.conv_output_size"}, "needs cases"),
    ({"expected": "arith.conv_output_size", "cases": [{"args": [3, 5]}]}, "kernel_size"),     # invalid for the oracle
    ({"expected": "arith.conv_output_size", "cases": [{"argz": [3]}]}, "a case is"),
])
def test_malformed_function_checks_are_refused_at_load(params, message):
    with pytest.raises(CheckDefinitionError, match=message):
        kind_of(spec(**params)).validate(spec(**params))
