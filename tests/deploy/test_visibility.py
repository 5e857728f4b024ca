"""Gradescope visibility for every bundled assignment: a check with hidden inputs is a visible
row (verdict and diagnosis, never the inputs), after_due_date stays after_due_date, the total is
visible, and every results.json validates against the schema written from Gradescope's spec."""
from __future__ import annotations

import pytest

from grader.assignment import available, load
from grader.checks import Part
from grader.deploy.gradescope import validate_results
from grader.deploy.grading import student_view
from grader.results import build_results, hidden_inputs

ASSIGNMENTS = [a for a in available() if not a.startswith("exam")]


def _results(a):
    parts = [(s, [Part(s.name, s.points, 0.0, "Failed: wrong border values.",
                       {"kind": s.kind, "case": "x of shape (2, 3, 7, 7), seed 12345",
                        "heatmap": {"title": "|error|", "channels": [[[0.5, 0.25]]]},
                        "curve": {"x": [0, 1], "series": {"loss": [2.3, 1.1]}},
                        "diagnoses": [{"code": "border_padding", "message": "zero padding at the border"}]})])
             for s in a.checks]
    meta = {"assignment": a.id, "version": a.version, "student": "s1", "notes": [], "static_findings": [],
            "isolation": {"level": "bwrap+cgroup", "details": []}}
    return build_results(a, parts, meta, 1.0)


@pytest.mark.parametrize("name", ASSIGNMENTS)
def test_hidden_inputs_are_visible_rows(name):
    a = load(name)
    res = _results(a)
    validate_results(res)
    assert res["visibility"] == "visible" and res["stdout_visibility"] == "hidden"
    by_name = {t["name"]: t for t in res["tests"]}
    for spec in a.checks:
        t = by_name[spec.name]
        assert t["visibility"] == ("after_due_date" if spec.visibility == "after_due_date" else "visible")
        assert hidden_inputs(t) == (not spec.visible)
        if not spec.visible:      # results.json itself: verdict and diagnosis, no case data
            assert not {"case", "heatmap"} & set(t["extra_data"]) and t["extra_data"]["diagnoses"]
    view = student_view(res)
    validate_results(view)
    assert view["extra_data"]["isolation"] == "bwrap+cgroup"
    for t in view["tests"]:
        if hidden_inputs(t):
            assert not {"case", "heatmap", "curve"} & set(t["extra_data"]) and t["extra_data"]["diagnoses"]
        else:
            assert "case" in t["extra_data"]
    hidden_points = sum(s.points for s in a.checks if s.visibility == "hidden")
    shown = sum(t["max_score"] for t in view["tests"] if t["visibility"] == "visible")
    assert shown >= hidden_points      # e.g. a2: the 69.5 hidden-input points are on rows students see


def test_old_results_with_hidden_rows_are_shown_without_inputs():
    old = {"score": 1.0, "tests": [{"name": "x", "score": 0, "max_score": 1, "visibility": "hidden",
                                    "output": "wrong", "extra_data": {"case": "seed 3", "diagnoses": []}}]}
    view = student_view(old)
    validate_results(view)
    assert view["tests"][0]["visibility"] == "visible" and "case" not in view["tests"][0]["extra_data"]
