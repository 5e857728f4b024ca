"""Grading one submission inside an LMS container (Gradescope, PrairieLearn): the same
``grade_submission`` as ``convgrade grade``, on a folder of student files, and the student's view
of the result.

``grade_folder`` never raises: whatever goes wrong (no files, an unreadable assignment, a grader
bug) becomes a result with every check at 0 and the reason, so the LMS always gets a results file.
"""
from __future__ import annotations

import dataclasses
import datetime as dt
import tempfile
import time
import traceback
from pathlib import Path

# extra_data keys a row judged on hidden inputs may keep in what the student's LMS stores; the
# case, heatmap and curve (which describe or derive from the hidden inputs) are dropped.
HIDDEN_ROW_EXTRA = ("kind", "diagnoses", "hidden_inputs", "worker_status")


def parse_time(value) -> dt.datetime | None:
    """An ISO 8601 time (Gradescope's ``created_at``, ``due_date``) -> aware datetime, or None."""
    if not isinstance(value, str) or not value or len(value) > 64:
        return None
    try:
        t = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return t if t.tzinfo else t.replace(tzinfo=dt.timezone.utc)


def submission_path(folder: Path, scratch: Path) -> Path:
    """The one gradeable file of an LMS submission folder, or all its files packed into a zip
    (the same packing ``grade-batch`` uses for a student's folder)."""
    from grader.batch.discover import _folder_file

    return _folder_file(Path(folder), Path(scratch) / "submission.zip")


def grade_folder(assignment_dir: Path, folder: Path, *, student: str, name: str | None = None,
                 secret: bytes | None = None, submitted_at: dt.datetime | None = None,
                 due: dt.datetime | None = None, isolation: str = "auto", lang: str | None = None) -> dict:
    """Grade the student files in ``folder`` with the assignment at ``assignment_dir``; ``due``
    (when given) replaces the manifest's due date for the late policy; ``lang``: the language of
    the results (the deployment's, ``bundle.config_lang``)."""
    from grader.assignment import load

    t0 = time.monotonic()
    try:
        a = load(assignment_dir)
    except Exception as exc:     # a broken deployment: still a result, and the reason
        return _broken(f"the autograder's assignment could not be loaded ({type(exc).__name__}: "
                       f"{str(exc)[:300]})", student)
    if due is not None:
        a = dataclasses.replace(a, due=due)
    try:
        from grader.grade import grade_submission

        with tempfile.TemporaryDirectory(prefix="convgrade-lms-") as tmp:
            folder = Path(folder)
            if not folder.is_dir() or not any(folder.iterdir()):
                path = Path(tmp) / "missing.py"        # not written: load reports "no such file"
            else:
                path = submission_path(folder, Path(tmp))
            return grade_submission(a, path, student=student, name=name, secret=secret,
                                    submitted_at=submitted_at, isolation=isolation, lang=lang)
    except Exception as exc:
        from grader.batch.jobs import Job, failure_results

        job = Job(key=student, assignment=str(a.path), version=a.version, path=str(folder),
                  members=[(student, name or "")], sha256=None,
                  submitted_at=submitted_at.isoformat() if submitted_at else None)
        r = failure_results(a, job, f"internal error ({type(exc).__name__}: {str(exc)[:200]})", "internal_error",
                            time.monotonic() - t0)
        r["convgrade"]["internal_errors"] = [traceback.format_exc(limit=6)]
        return r


def _broken(reason: str, student: str) -> dict:
    text = f"Not graded: {reason}. This is not your fault; your instructor has been told."
    return {"score": 0.0, "max_score": 0.0, "execution_time": 0.0, "output": text, "output_format": "md",
            "visibility": "visible", "stdout_visibility": "hidden", "tests": [],
            "convgrade": {"student": student, "load_error": text, "batch_error": "internal_error",
                          "isolation": {"level": "none", "details": ["the submission was not run"]}}}


def student_view(results: dict) -> dict:
    """``results`` as an LMS may store and show it: total and rows visible (results-level
    ``visibility`` and ``stdout_visibility``), rows judged on hidden inputs stripped of anything
    that describes those inputs, and the isolation level recorded in ``extra_data``."""
    from grader.results import hidden_inputs

    out = dict(results)
    tests = []
    for t in results.get("tests", []):
        t = dict(t)
        if hidden_inputs(t):
            extra = t.get("extra_data") if isinstance(t.get("extra_data"), dict) else {}
            t["extra_data"] = {k: extra[k] for k in HIDDEN_ROW_EXTRA if k in extra}
            t["extra_data"]["hidden_inputs"] = True
            if t.get("visibility") == "hidden":      # a results.json from before the mapping changed
                t["visibility"] = "visible"
        tests.append(t)
    out["tests"] = tests
    out["visibility"] = "visible"
    out["stdout_visibility"] = "hidden"
    cg = results.get("convgrade") if isinstance(results.get("convgrade"), dict) else {}
    iso = cg.get("isolation") if isinstance(cg.get("isolation"), dict) else {}
    out["extra_data"] = {"isolation": iso.get("level", "none"), "assignment": cg.get("assignment"),
                         "assignment_version": cg.get("version"), "convgrade": cg.get("grader_version")}
    return out
