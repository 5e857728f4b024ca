"""Content of a4_upsampling_segmentation: the master solution earns full marks, every mutant (a known student mistake)
loses points on the checks it targets, and names the diagnosis it is written to trigger; every
graded class has at least 6 mutants; the starter fails every visible check."""
from __future__ import annotations

import pytest

from grader.authoring.mutants import hits_target, load_mutants
from grader.authoring.notebook import parse, starter_source
from grader.authoring.validate import coverage

from ._mutant_grading import diagnosis_codes, failed_tests, grade_all

ASSIGNMENT = "a4_upsampling_segmentation"


@pytest.fixture(scope="module")
def graded():
    return grade_all(ASSIGNMENT)


def test_master_solution_earns_full_marks(graded):
    a, master, _, _ = graded
    assert not master["convgrade"].get("internal_errors"), master["convgrade"].get("internal_errors")
    assert master["score"] == pytest.approx(a.max_score)
    assert not failed_tests(master)


def test_every_graded_class_has_six_mutants():
    from grader.assignment import load

    a = load(ASSIGNMENT)
    counts = coverage(a, load_mutants(a.path))
    assert counts and all(n >= 6 for n in counts.values()), counts


def test_mutants_lose_points_on_their_targets(graded):
    a, _, results, mutants = graded
    problems = []
    for name, res in results.items():
        cg = res["convgrade"]
        if cg.get("load_error") or cg.get("internal_errors"):
            problems.append(f"{name}: {cg.get('load_error') or cg.get('internal_errors')}")
        elif res["score"] >= a.max_score - 1e-9:
            problems.append(f"{name}: not caught")
        elif not hits_target(mutants[name], failed_tests(res)):
            problems.append(f"{name}: failed {[t['name'] for t in failed_tests(res)][:3]}, not its targets")
    assert not problems, problems


def test_mutants_trigger_their_diagnoses(graded):
    _, _, results, mutants = graded
    missing = []
    for name, m in mutants.items():
        wanted = {t.split(":", 1)[1] for t in m.targets if t.startswith("diagnosis:")}
        got = diagnosis_codes(results[name])
        if wanted - got:
            missing.append(f"{name}: wants {sorted(wanted - got)}, got {sorted(got)}")
    assert not missing, missing


def test_feedback_text_names_the_mistake(graded):
    """The diagnosis reaches the student's feedback text, not only the extra data."""
    _, _, results, mutants = graded
    for name, m in mutants.items():
        wanted = {t.split(":", 1)[1] for t in m.targets if t.startswith("diagnosis:")}
        for t in failed_tests(results[name]):
            for d in t.get("extra_data", {}).get("diagnoses", []):
                if d["code"] in wanted:
                    assert d["message"] in t["output"], (name, t["name"], d["code"])


def test_starter_has_skeletons_without_solutions():
    from grader.assignment import load

    a = load(ASSIGNMENT)
    master = parse(a.path / "master.ipynb")
    starter = starter_source(master)
    targets = {c.target for c in a.checks}
    for target in targets:
        assert f"class {target}(" in starter, target
    assert "# BEGIN SOLUTION" not in master.source and len(starter) < len(master.source)
