"""The class overview's figures from results of the real a2 assignment (no server)."""
from __future__ import annotations

import pytest

pytest.importorskip("starlette", reason="the [serve] extra is not installed")

from grader.assignment import load  # noqa: E402
from grader.report.questions import question_map  # noqa: E402
from grader.serve.overview import broken_reason, class_overview  # noqa: E402

from .conftest import A2  # noqa: E402


def _results(qmap, failing: set[str], diag: str | None = None, late=None) -> dict:
    tests = []
    for number, q in qmap.items():
        bad = q in failing
        extra = {"diagnoses": [{"code": diag, "message": f"{diag} message"}]} if bad and diag else {}
        tests.append({"name": f"check {number}", "number": number, "score": 0.0 if bad else 1.0,
                      "max_score": 1.0, "status": "failed" if bad else "passed", "visibility": "visible",
                      "extra_data": extra})
    cg = {"assignment": "a2_convolution"}
    if late:
        cg["late"] = late
    return {"score": sum(t["score"] for t in tests), "max_score": float(len(tests)), "tests": tests,
            "convgrade": cg}


def test_per_question_rates_diagnoses_broken_and_late():
    a = load(A2)
    qmap = question_map(a)
    questions = list(dict.fromkeys(qmap.values()))
    assert "conv2d" in questions and "pooling" in questions
    latest = [
        ("alice", "Alice", 1, _results(qmap, set())),
        ("bob", "Bob", 2, _results(qmap, {"conv2d"}, "flipped_kernel",
                                   late={"days_late": 1.5, "penalty_fraction": 0.2, "raw_score": 3})),
        ("carol", "Carol", 3, _results(qmap, {"conv2d", "pooling"}, "flipped_kernel")),
        ("dan", "Dan", 4, {"score": 0, "max_score": 0, "tests": [],
                           "convgrade": {"load_error": "SyntaxError in cell 3"}}),
        ("eve", "Eve", 5, {"score": 0, "max_score": 0, "tests": [],
                           "convgrade": {"batch_error": "internal_error", "notes": ["the grader stopped 3 times"]}}),
    ]
    ov = class_overview(a, latest)
    rates = {q.question: (q.passed, q.graded) for q in ov.questions}
    assert [q.question for q in ov.questions] == [q for q in questions if q in rates]   # notebook order
    assert rates["conv2d"] == (1, 3) and rates["pooling"] == (2, 3) and rates["sizes"] == (3, 3)
    conv2d = next(q for q in ov.questions if q.question == "conv2d")
    assert conv2d.points == pytest.approx(1 / 3) and conv2d.rate == pytest.approx(1 / 3)
    code, msg, students, checks = ov.diagnoses[0]
    assert (code, msg, students) == ("flipped_kernel", "flipped_kernel message", 2)
    assert checks and all(c.startswith("check ") for c in checks)
    assert {b["student"]: b["reason"] for b in ov.broken} == {"dan": "SyntaxError in cell 3",
                                                             "eve": "the grader stopped 3 times"}
    assert [(l["student"], l["days_late"], l["penalty"]) for l in ov.late] == [("bob", 1.5, 0.2)]
    assert sum(ov.histogram) == 3 and len(ov.rows) == 5      # no points possible: not in the histogram
    assert broken_reason(latest[0][3]) == ""


def test_an_empty_class_and_no_assignment_folder():
    ov = class_overview(None, [])
    assert ov.rows == [] and ov.questions == [] and ov.histogram == [0] * 10
