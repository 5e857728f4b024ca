"""Content of a1_backprop: the master solution earns full marks, every mutant (a known student mistake)
loses points on the checks it targets and names the diagnosis it is written to trigger, every graded
class or function has at least 6 mutants, the starter has skeletons only; and the digits training
check sends the held-out images but never their labels into the sandbox."""
from __future__ import annotations

import numpy as np
import pytest

from grader.assignment import load
from grader.authoring.notebook import parse, starter_source

from ._mutant_grading import (check_every_graded_class_has_six_mutants, check_feedback_text_names_the_mistake,
                              check_master_solution_earns_full_marks, check_mutants_lose_points_on_their_targets,
                              check_mutants_trigger_their_diagnoses, failed_tests, grade_all)

ASSIGNMENT = "a1_backprop"
HELDOUT = "TwoLayerNet trained on digits: held-out accuracy"
# The diagnoses the issue asks a1 to name, each proven by a mutant below.
REQUIRED = {"softmax_no_max_subtraction": "softmax_overflow", "ce_no_max_subtraction": "softmax_overflow",
            "ce_grad_not_divided_by_batch": "ce_grad_not_divided_by_batch",
            "relu_grad_sign": "relu_grad_negative", "relu_grad_nonzero": "relu_grad_negative"}


@pytest.fixture(scope="module")
def graded():
    return grade_all(ASSIGNMENT, keep=tuple(REQUIRED) + ("softmax_no_max_subtraction",))


def test_master_solution_earns_full_marks(graded):
    check_master_solution_earns_full_marks(graded)


def test_master_trains_past_the_full_marks_band(graded):
    _, master, _, _ = graded
    row = next(t for t in master["tests"] if t["name"] == HELDOUT)
    assert row["score"] == row["max_score"]
    assert row["extra_data"]["accuracy"] >= 0.87, row["output"]
    assert row["extra_data"]["curve"]["series"]["loss"], "the training history reaches the feedback"


def test_every_graded_class_has_six_mutants():
    check_every_graded_class_has_six_mutants(ASSIGNMENT)


def test_mutants_lose_points_on_their_targets(graded):
    check_mutants_lose_points_on_their_targets(graded)


def test_mutants_trigger_their_diagnoses(graded):
    check_mutants_trigger_their_diagnoses(graded)


def test_feedback_text_names_the_mistake(graded):
    check_feedback_text_names_the_mistake(graded)


@pytest.mark.parametrize("mutant,code", sorted(REQUIRED.items()))
def test_required_diagnosis_named_in_feedback(graded, mutant, code):
    _, _, results, mutants = graded
    assert f"diagnosis:{code}" in mutants[mutant].targets
    named = [t for t in failed_tests(results[mutant])
             if any(d["code"] == code and d["message"] in t["output"] for d in t.get("extra_data", {}).get("diagnoses", []))]
    assert named, [(t["name"], t["output"][:200]) for t in failed_tests(results[mutant])]


def test_overflow_is_named_from_nans(graded):
    """Without the max shift the answer holds NaN: the feedback says which mistake makes them."""
    _, _, results, _ = graded
    row = next(t for t in failed_tests(results["softmax_no_max_subtraction"]) if "logits up to" in t["name"])
    assert "non-finite" in row["output"] and "Subtract the maximum" in row["output"]


def test_heldout_labels_never_enter_the_sandbox():
    from grader.checks.base import kind_of
    from reference import data

    a = load(ASSIGNMENT)
    spec = next(c for c in a.checks if c.name == HELDOUT)
    assert spec.kind == "milestone" and spec.get("framework") == "numpy"
    plan = kind_of(spec).plan(spec, np.random.default_rng(0))
    split = data.load(spec.get("dataset"))
    x_test = np.asarray(split.x_test, dtype=np.float64).reshape(len(split.x_test), -1)   # flatten = true
    y_train, y_test = np.asarray(split.y_train), np.asarray(split.y_test)
    # the held-out images go in an order drawn per student; the grader keeps their labels in that order
    x_sent = next(a for a in plan.arrays if a.shape == x_test.shape)
    where = {row.tobytes(): i for i, row in enumerate(x_test)}
    order = np.array([where[row.tobytes()] for row in np.asarray(x_sent, dtype=np.float64)])
    assert sorted(order) == list(range(len(x_test)))
    assert np.array_equal(plan.context["y_test"], y_test[order])
    assert not any(a.shape == y_test.shape and np.array_equal(a, y_test) for a in plan.arrays)
    assert any(a.shape == y_train.shape and np.array_equal(a, y_train) for a in plan.arrays)
    flat = repr(plan.steps) + repr(plan.returns)
    assert "y_test" not in flat
    assert "torch" not in flat, "a numpy-only assignment's setup steps must not import torch"
    # nothing the worker receives is a permutation or copy of the held-out labels either
    held = np.sort(y_test)
    assert not any(a.size == y_test.size and np.array_equal(np.sort(a.reshape(-1)), held) for a in plan.arrays)


def test_starter_has_skeletons_without_solutions():
    a = load(ASSIGNMENT)
    master = parse(a.path / "master.ipynb")
    starter = starter_source(master)
    for target in {c.target for c in a.checks if c.kind not in ("value",)}:
        assert f"class {target}(" in starter or f"def {target}(" in starter, target
    for answer in ("ANSWER_GD_POLL", "Q_PARAMS_784_1000", "Q_PARAMS_1000_10"):
        assert f"{answer} = ..." in starter, answer
    assert "np.logaddexp" not in starter and "785000" not in starter
    assert "class Module:" in starter   # the given base class stays


def test_starter_fails_every_visible_check_cleanly(tmp_path):
    from grader.grade import grade_submission

    from ._mutant_grading import SECRET

    a = load(ASSIGNMENT)
    path = tmp_path / "starter.py"
    path.write_text(starter_source(parse(a.path / "master.ipynb")), encoding="utf-8")
    res = grade_submission(a, path, student="public", visibility="visible", secret=SECRET, isolation="auto")
    cg = res["convgrade"]
    assert not cg.get("load_error") and not cg.get("internal_errors"), cg
    assert res["tests"] and all(t["status"] == "failed" for t in res["tests"]), \
        [t["name"] for t in res["tests"] if t["status"] != "failed"]


def test_gd_poll_oracle_is_the_reference_sgd_step():
    from grader.checks.functions import resolve_oracle

    assert resolve_oracle("lecture.gd_poll")() == 2


def test_summed_cross_entropy_still_named_on_the_loss_value():
    """The a1 gradient diagnosis sits before the generic "summed instead of averaged" one for the
    gradient; a loss that is summed is still named on its value."""
    import reference.nn as rnn
    from grader.checks.base import CheckSpec, kind_of
    from types import SimpleNamespace

    spec = CheckSpec("ce", "loss", 2, "visible", "CrossEntropyLoss",
                     {"input": {"shape": [6, 4]}, "labels": {"kind": "classes"}})
    kind = kind_of(spec)
    plan = kind.plan(spec, np.random.default_rng(1))
    case = plan.context["case"]
    layer = rnn.CrossEntropyLoss(reduction="sum")
    value = layer.forward(case.x, case.target)
    res = SimpleNamespace(status="ok", error=None, values={"loss": float(value), "dx": np.asarray(layer.backward())})
    parts = kind.judge(spec, plan, res)
    codes = [[d["code"] for d in p.extra.get("diagnoses", [])] for p in parts]
    assert codes == [["loss_sum_instead_of_mean"], ["ce_grad_not_divided_by_batch"]], codes
