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


def grade_all(assignment_id: str, student: str = "content-test") -> tuple[object, dict, dict, dict]:
    """(assignment, master results, {mutant name: results}, {mutant name: Mutant})."""
    a = load(assignment_id)
    source = parse(a.path / "master.ipynb").source
    mutants = {m.name: m for m in load_mutants(a.path)}
    jobs = [("__master__", source)] + [(name, m.apply(source)) for name, m in mutants.items()]
    with tempfile.TemporaryDirectory(prefix="convgrade-content-") as tmp:
        paths = []
        for i, (name, src) in enumerate(jobs):
            path = Path(tmp) / f"submission_{i}.py"
            path.write_text(src, encoding="utf-8")
            paths.append((name, str(path)))
        ctx = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(max_workers=2, mp_context=ctx) as pool:
            results = dict(pool.map(_grade_one, [(assignment_id, name, path, student) for name, path in paths]))
    return a, results.pop("__master__"), results, mutants


def _grade_one(job):
    assignment_id, name, path, student = job
    return name, grade_submission(load(assignment_id), path, student=student, secret=SECRET, isolation="auto")


def failed_tests(results: dict) -> list[dict]:
    return [t for t in results["tests"] if t["score"] < t["max_score"] - 1e-9]


def diagnosis_codes(results: dict) -> set[str]:
    return {d["code"] for t in failed_tests(results) for d in t.get("extra_data", {}).get("diagnoses", [])}
