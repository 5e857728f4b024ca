"""The ``quiz`` check kind judged directly (plan -> fake worker answer -> judge)."""
import pytest

from grader.checks import CheckDefinitionError, CheckSpec, kind_of
from grader.checks.quiz import render_quiz
from grader.exam.questions import generate
from grader.sandbox.config import ProbeResult


def spec(**kw):
    params = {"question": "conv_output_shape", "seed": 3}
    params.update(kw)
    return CheckSpec("quiz", "quiz", 4.0, "visible", target="QUIZ.q1", params=params)


def judge(s, value, status="ok"):
    k = kind_of(s)
    k.validate(s)
    plan = k.plan(s, None)
    assert plan.steps == [{"let": "a", ("call" if s.get("call") else "get"): "QUIZ.q1"}]
    values = {} if value is None else {"a": value}
    return k.judge(s, plan, ProbeResult(status=status, values=values))[0]


def test_quiz_full_partial_and_forms():
    q = generate("conv_output_shape", 3)
    assert judge(spec(), list(q.answer)).score == 4.0
    assert judge(spec(), "x".join(map(str, q.answer))).score == 4.0
    wrong = list(q.answer)
    wrong[1] += 1
    part = judge(spec(), wrong)
    assert part.score == 3.0 and not part.passed
    assert judge(spec(), "nonsense").score == 0.0
    assert judge(spec(), None, status="error").score == 0.0


def test_quiz_ratio_and_call():
    s = spec(question="factorized_ratio", seed=1, call=True)
    q = generate("factorized_ratio", 1)
    k = kind_of(s)
    assert k.plan(s, None).steps == [{"let": "a", "call": "QUIZ.q1"}]
    assert judge(s, f"{q.answer.numerator}/{q.answer.denominator}").score == 4.0
    assert judge(s, float(q.answer)).score == 4.0


def test_quiz_validation_and_render():
    with pytest.raises(CheckDefinitionError, match="question must be one of"):
        kind_of(spec(question="nope")).validate(spec(question="nope"))
    with pytest.raises(CheckDefinitionError, match="seed"):
        kind_of(spec(seed=-1)).validate(spec(seed=-1))
    assert "nn.Conv2d" in render_quiz("conv_output_shape", 3) and "Слой" in render_quiz("conv_output_shape", 3, "ru")
