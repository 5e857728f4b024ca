"""Shared helper of the assignment content tests: grade the master solution and every mutant of an
assignment once, keyed by mutant name. Gradings run in two worker *processes* (each grading is one
sandbox worker): concurrent ``ast.parse`` in threads trips CPython 3.11's "AST constructor
recursion depth mismatch" SystemError (the static import scan parses every submission)."""
from __future__ import annotations

import tempfile
import multiprocessing
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from grader.assignment import load
from grader.authoring.mutants import load_mutants
from grader.authoring.notebook import parse
from grader.grade import grade_submission

SECRET = b"convgrade-content-tests"


OTHERS = 8   # mutants graded beyond those that name a diagnosis (validate grades every one of them)


def pick_mutants(mutants: dict, keep=(), others: int = OTHERS) -> dict:
    """The mutants the content tests grade end to end: every one that names a diagnosis (its
    feedback text is what these tests read), those in ``keep``, and ``others`` more spread evenly
    over the rest. ``convgrade validate`` (tests/authoring) judges every mutant, for hundreds of
    students; these prove the same verdicts reach results.json through the real sandbox."""
    named = [n for n, m in mutants.items() if n in keep or any(t.startswith("diagnosis:") for t in m.targets)]
    rest = [n for n in mutants if n not in named]
    step = max(1, -(-len(rest) // max(1, others))) if others else len(rest) + 1
    chosen = set(named) | set(rest[::step][:others])
    return {n: m for n, m in mutants.items() if n in chosen}


def grade_all(assignment_id: str, student: str = "content-test", keep=(), others: int = OTHERS
              ) -> tuple[object, dict, dict, dict]:
    """(assignment, master results, {mutant name: results}, {mutant name: Mutant}) for the master
    and the mutants :func:`pick_mutants` picks."""
    a = load(assignment_id)
    source = parse(a.path / "master.ipynb").source
    mutants = pick_mutants({m.name: m for m in load_mutants(a.path)}, keep, others)
    jobs = [("__master__", source, False)] + [(name, m.apply(source), not _aims_at_training(a, m))
                                              for name, m in mutants.items()]
    with tempfile.TemporaryDirectory(prefix="convgrade-content-") as tmp:
        paths = []
        for i, (name, src, light) in enumerate(jobs):
            path = Path(tmp) / f"submission_{i}.py"
            path.write_text(src, encoding="utf-8")
            paths.append((name, str(path), light))
        ctx = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(max_workers=2, mp_context=ctx, initializer=_warm) as pool:
            results = dict(pool.map(_grade_one, [(assignment_id, name, path, student, light)
                                                 for name, path, light in paths]))
    return a, results.pop("__master__"), results, mutants


def _warm():
    """Each grading process keeps its next sandbox worker started (each grading still gets a fresh one)."""
    import os

    os.environ["CONVGRADE_WARM_POOL"] = "1"


def _aims_at_training(a, mutant) -> bool:
    """Whether a mutant's targets name a training check (milestone ...): only then is it graded
    with them, as ``validate`` does — a broken layer would otherwise train until the budget ends."""
    from grader.authoring.validate import _matches
    from grader.checks.milestone import TRAINING_KINDS

    names = [t for t in mutant.targets if not t.startswith("diagnosis:")]
    return any(_matches(names, [c.name]) for c in a.checks if c.kind in TRAINING_KINDS)


def _grade_one(job):
    import dataclasses

    from grader.checks.milestone import TRAINING_KINDS

    assignment_id, name, path, student, light = job
    a = load(assignment_id)
    if light:      # the training checks left out (results.json's max_score says what was graded)
        a = dataclasses.replace(a, checks=[c for c in a.checks if c.kind not in TRAINING_KINDS])
    return name, grade_submission(a, path, student=student, secret=SECRET, isolation="auto")


def failed_tests(results: dict) -> list[dict]:
    return [t for t in results["tests"] if t["score"] < t["max_score"] - 1e-9]


def diagnosis_codes(results: dict) -> set[str]:
    return {d["code"] for t in failed_tests(results) for d in t.get("extra_data", {}).get("diagnoses", [])}


# ----------------------------------------------------------------------------------------------
# The content checks shared by the mutant-graded assignments (test_a3, test_a4, ...): each test
# module grades once in a module-scoped fixture (``graded = grade_all(ASSIGNMENT)``) and calls
# these. Every assert carries its own message: this module is not assertion-rewritten.
# ----------------------------------------------------------------------------------------------
def check_master_solution_earns_full_marks(graded) -> None:
    import pytest

    a, master, _, _ = graded
    assert not master["convgrade"].get("internal_errors"), master["convgrade"].get("internal_errors")
    assert master["score"] == pytest.approx(a.max_score), (master["score"], a.max_score)
    assert not failed_tests(master), [t["name"] for t in failed_tests(master)]


def check_every_graded_class_has_six_mutants(assignment_id: str) -> None:
    from grader.authoring.validate import coverage

    a = load(assignment_id)
    counts = coverage(a, load_mutants(a.path))
    assert counts and all(n >= 6 for n in counts.values()), counts


def check_mutants_lose_points_on_their_targets(graded) -> None:
    from grader.authoring.mutants import hits_target

    a, _, results, mutants = graded
    problems = []
    for name, res in results.items():
        cg = res["convgrade"]
        if cg.get("load_error") or cg.get("internal_errors"):
            problems.append(f"{name}: {cg.get('load_error') or cg.get('internal_errors')}")
        elif res["score"] >= res["max_score"] - 1e-9:
            problems.append(f"{name}: not caught")
        elif not hits_target(mutants[name], failed_tests(res)):
            problems.append(f"{name}: failed {[t['name'] for t in failed_tests(res)][:3]}, not its targets")
    assert not problems, problems


def _wanted_diagnoses(mutant) -> set[str]:
    return {t.split(":", 1)[1] for t in mutant.targets if t.startswith("diagnosis:")}


def check_mutants_trigger_their_diagnoses(graded) -> None:
    _, _, results, mutants = graded
    missing = []
    for name, m in mutants.items():
        wanted = _wanted_diagnoses(m)
        got = diagnosis_codes(results[name])
        if wanted - got:
            missing.append(f"{name}: wants {sorted(wanted - got)}, got {sorted(got)}")
    assert not missing, missing


def check_feedback_text_names_the_mistake(graded) -> None:
    """The diagnosis reaches the student's feedback text, not only the extra data."""
    _, _, results, mutants = graded
    for name, m in mutants.items():
        wanted = _wanted_diagnoses(m)
        for t in failed_tests(results[name]):
            for d in t.get("extra_data", {}).get("diagnoses", []):
                if d["code"] in wanted:
                    assert d["message"] in t["output"], (name, t["name"], d["code"])


def check_starter_has_skeletons_without_solutions(assignment_id: str) -> None:
    from grader.authoring.notebook import starter_source

    a = load(assignment_id)
    master = parse(a.path / "master.ipynb")
    starter = starter_source(master)
    targets = {c.target for c in a.checks}
    for target in targets:
        assert f"class {target}(" in starter, target
    assert "# BEGIN SOLUTION" not in master.source, "the master's solution markers survived parsing"
    assert len(starter) < len(master.source), (len(starter), len(master.source))
