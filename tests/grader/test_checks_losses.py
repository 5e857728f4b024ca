"""The ``loss`` check kind and the loss diagnoses, judged on simulated worker answers (no sandbox):
the answer of a correct or a known-wrong implementation is computed here and handed to ``judge``."""
from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

import reference.nn as rnn
from grader.checks import CheckDefinitionError, CheckSpec, kind_of
from reference import mistakes


def spec(target, init, shape, labels, **extra):
    s = CheckSpec(name=f"{target} loss", kind="loss", points=2.0, visibility="visible", target=target,
                  params={"init": init, "input": {"shape": shape, "low": 0.05, "high": 0.95}, "labels": labels, **extra})
    kind_of(s).validate(s)
    return s


def judge(s, answer, seed=0):
    kind = kind_of(s)
    plan = kind.plan(s, np.random.default_rng(seed))
    case = plan.context["case"]
    loss, dx = answer(case.x, case.target)
    return kind.judge(s, plan, SimpleNamespace(status="ok", values={"loss": loss, "dx": dx}, error=None))


def codes(parts):
    return {d["code"] for p in parts for d in p.extra.get("diagnoses", [])}


def reference_answer(cls, **kw):
    def answer(x, t):
        layer = cls(**kw)
        return layer.forward(x, t), layer.backward()
    return answer


CASES = [
    ("DiceLoss", {"eps": 1.0}, [2, 3, 5, 5], {"kind": "binary"}, rnn.DiceLoss),
    ("MSELoss", {}, [3, 4], {"kind": "normal"}, rnn.MSELoss),
    ("CrossEntropyLoss", {}, [5, 4], {"kind": "classes"}, rnn.CrossEntropyLoss),
    ("CrossEntropyLoss", {"ignore_index": -1}, [4, 3, 2, 2], {"kind": "classes", "ignore": 0.3}, rnn.CrossEntropyLoss),
]


@pytest.mark.parametrize("target,init,shape,labels,cls", CASES)
def test_correct_answer_scores_full_and_plan_sends_inputs_only(target, init, shape, labels, cls):
    s = spec(target, init, shape, labels)
    plan = kind_of(s).plan(s, np.random.default_rng(3))
    assert len(plan.arrays) == 2 and plan.returns == {"loss": "loss", "dx": "dx"}
    parts = judge(s, reference_answer(cls, **init), seed=3)
    assert [p.score for p in parts] == [1.0, 1.0]


def test_scalar_in_one_element_array_is_accepted():
    s = spec("DiceLoss", {"eps": 1.0}, [2, 2, 4, 4], {"kind": "binary"})
    parts = judge(s, lambda x, t: (np.array([rnn.DiceLoss().forward(x, t)]), _dice_grad(x, t)))
    assert all(p.passed for p in parts)


def _dice_grad(x, t):
    layer = rnn.DiceLoss()
    layer.forward(x, t)
    return layer.backward()


@pytest.mark.parametrize("variant,code", [("dice_loss_global", "dice_global"),
                                          ("dice_loss_per_sample", "dice_per_sample")])
def test_dice_reduction_mistakes_are_named(variant, code):
    s = spec("DiceLoss", {"eps": 1.0}, [2, 3, 5, 5], {"kind": "binary"})
    parts = judge(s, lambda x, t: getattr(mistakes, variant)(x, t, 1.0))
    assert [p.score for p in parts] == [0.0, 0.0]
    assert all(code in {d["code"] for d in p.extra["diagnoses"]} for p in parts)
    assert all("**Likely mistake:**" in p.output for p in parts)


def test_dice_eps_missing_and_gradient_sign():
    s = spec("DiceLoss", {"eps": 1.0}, [2, 2, 4, 4], {"kind": "binary"})
    assert codes(judge(s, reference_answer(rnn.DiceLoss, eps=0.0))) == {"dice_eps_missing"}
    right = reference_answer(rnn.DiceLoss, eps=1.0)
    parts = judge(s, lambda x, t: (right(x, t)[0], -right(x, t)[1]))
    assert parts[0].passed and codes(parts) == {"loss_grad_sign"}


def test_mse_sum_instead_of_mean_and_missing_factor_two():
    s = spec("MSELoss", {}, [3, 4], {"kind": "normal"})
    assert codes(judge(s, reference_answer(rnn.MSELoss, reduction="sum"))) == {"loss_sum_instead_of_mean"}
    right = reference_answer(rnn.MSELoss)
    parts = judge(s, lambda x, t: (right(x, t)[0], right(x, t)[1] / 2))
    assert parts[0].passed and codes(parts) == {"mse_grad_missing_factor_2"}


def test_unrelated_wrong_answer_gets_no_named_mistake():
    s = spec("DiceLoss", {"eps": 1.0}, [2, 2, 4, 4], {"kind": "binary"})
    parts = judge(s, lambda x, t: (0.123, np.ones_like(x)))
    assert [p.score for p in parts] == [0.0, 0.0] and not codes(parts)


def test_worker_error_is_reported():
    s = spec("MSELoss", {}, [3, 4], {"kind": "normal"})
    kind = kind_of(s)
    plan = kind.plan(s, np.random.default_rng(0))
    res = SimpleNamespace(status="error", values={}, error={"type": "ValueError", "message": "boom", "where": "line 3"})
    parts = kind.judge(s, plan, res)
    assert all(p.score == 0 and "boom" in p.output for p in parts)


def test_malformed_specs_are_rejected_at_load():
    with pytest.raises(CheckDefinitionError):
        spec("DiceLoss", {"eps": 1.0}, [2, 2, 4, 4], {"kind": "weird"})
    with pytest.raises(CheckDefinitionError):
        spec("DiceLoss", {"eps": 1.0}, [4, 4], {"kind": "binary"})   # the reference rejects 2-D input
    with pytest.raises(CheckDefinitionError):
        s = CheckSpec(name="x", kind="loss", points=1.0, target="MSELoss", params={})
        kind_of(s).validate(s)
