"""Per-student outputs under OUT, written so that a crash at any instant loses nothing.

``OUT/<student>/`` gets ``feedback.md``, ``feedback.html``, ``source.py`` (when the submission
loaded) and, last, ``results.json``; every file is written to a temporary name, fsynced and
renamed over the old one. ``results.json`` is the source of truth: a student is *done* when it
exists, parses, and its ``convgrade`` block names the same submission hash, assignment version
and submission time as the job and no batch error. A crash between files leaves either the old
results.json (the student is graded again) or the new one with its feedback already in place.

``OUT/index.json`` is a summary of the batch rebuilt from the results (never read to decide
what is done): per student the hash, version, status, score, max and submission time.
"""
from __future__ import annotations

import json
import os
from pathlib import Path

from grader.results import write_json_atomic, write_results, write_text_atomic

FEEDBACK_FILES = ("feedback.md", "feedback.html")


def _fsync_dir(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def write_student(out: Path, student: str, member: dict, source: str | None) -> Path:
    """Write one student's files (feedback and source first, results.json last); return the folder.

    Never raises for one student: when their files cannot be written (a disk error, data that
    will not serialize), a short failure result is written instead if it can be, and
    ``member["results"]`` is replaced by it, so the caller's row and index say ``write_error``
    (a batch error: the next run tries again)."""
    d = out / student
    try:
        _write_student(d, member, source)
    except Exception as exc:      # noqa: BLE001 - one student's outputs never stop the batch
        member["results"] = write_failure(member.get("results"), f"{type(exc).__name__}: {str(exc)[:200]}")
        try:
            d.mkdir(parents=True, exist_ok=True)
            write_results(d / "results.json", member["results"])
        except Exception:         # noqa: BLE001 - the index still records the failure
            pass
    return d


def _write_student(d: Path, member: dict, source: str | None) -> None:
    if d.exists() and (d.is_symlink() or not d.is_dir()):
        raise OSError(f"{d.name} exists and is not a student folder")
    d.mkdir(parents=True, exist_ok=True)
    write_text_atomic(d / "feedback.md", member["feedback_md"])
    write_text_atomic(d / "feedback.html", member["feedback_html"])
    if source is not None:
        write_text_atomic(d / "source.py", source)
    else:
        try:
            (d / "source.py").unlink()
        except FileNotFoundError:
            pass
    write_results(d / "results.json", member["results"])
    _fsync_dir(d)


def write_failure(results, reason: str) -> dict:
    """The result written when a student's outputs could not be: their checks failed with the
    reason, ``convgrade.batch_error = "write_error"``; the identity fields are kept."""
    r = results if isinstance(results, dict) else {}
    cg = r.get("convgrade") if isinstance(r.get("convgrade"), dict) else {}
    text = f"Not graded: the grader could not write this result ({reason}). Your TA has been told."
    tests = []
    for t in r.get("tests") or []:
        if isinstance(t, dict):
            tests.append({k: t.get(k) for k in ("name", "number", "max_score", "visibility", "tags")}
                         | {"score": 0.0, "status": "failed", "output": text, "output_format": "md"})
    keep = ("assignment", "version", "student", "name", "submission_sha256", "submitted_at", "group")
    return {"score": 0.0, "max_score": r.get("max_score", 0.0), "execution_time": 0.0, "output": text,
            "output_format": "md", "visibility": "visible", "stdout_visibility": "hidden", "tests": tests,
            "convgrade": {k: cg.get(k) for k in keep if k in cg} | {"load_error": text, "batch_error": "write_error",
                                                                   "notes": [], "static_findings": []}}


def read_results(out: Path, student: str) -> dict | None:
    try:
        data = json.loads((out / student / "results.json").read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError):
        return None
    return data if isinstance(data, dict) and isinstance(data.get("convgrade"), dict) else None


def matches(results: dict | None, sha256: str | None, version: str, submitted_at: str | None) -> bool:
    """True when ``results`` (a parsed results.json) is a complete result for exactly this
    submission: same hash, assignment version and submission time, and no batch error."""
    if results is None:
        return False
    cg = results["convgrade"]
    if cg.get("batch_error"):
        return False
    if sha256 is None or cg.get("submission_sha256") != sha256 or cg.get("version") != version:
        return False
    return cg.get("submitted_at") == submitted_at


def is_done(out: Path, student: str, sha256: str | None, version: str, submitted_at: str | None) -> bool:
    """True when ``OUT/<student>`` holds a complete result for exactly this submission and its
    feedback files."""
    return (matches(read_results(out, student), sha256, version, submitted_at)
            and all((out / student / f).is_file() for f in FEEDBACK_FILES))


def clean_partial(out: Path) -> int:
    """Remove temporary files a killed batch left behind (``.results.json.xyz`` ...); returns how
    many. Only names this module creates are touched."""
    names = ("results.json", "source.py") + FEEDBACK_FILES
    n = 0
    if not out.is_dir():
        return 0
    for d in out.iterdir():
        if not d.is_dir() or d.name.startswith((".", "_")):
            continue
        for f in d.iterdir():
            if f.name.startswith(tuple(f".{x}." for x in names)) and f.is_file():
                f.unlink(missing_ok=True)
                n += 1
    return n


def status_of(results: dict) -> str:
    """``ok`` | ``load_error`` | ``internal_error`` | ``timeout`` | ``write_error``."""
    cg = results.get("convgrade", {})
    if cg.get("batch_error"):
        return str(cg["batch_error"])
    return "load_error" if cg.get("load_error") else "ok"


def index_entry(results: dict | None) -> dict:
    """What ``index.json`` records of one student (no timings: it is reproducible)."""
    if results is None:
        return {"status": "missing"}
    cg = results["convgrade"]
    return {"status": status_of(results), "submission_sha256": cg.get("submission_sha256"),
            "version": cg.get("version"), "score": results.get("score"), "max_score": results.get("max_score"),
            "submitted_at": cg.get("submitted_at"), "late": cg.get("late")}


def write_index(out: Path, entries: dict[str, dict], assignment_id: str, version: str) -> dict:
    """Write ``OUT/index.json``: ``{"assignment", "version", "students": {student: entry}}``
    (students sorted; entries from ``index_entry``)."""
    index = {"assignment": assignment_id, "version": version,
             "students": {s: entries[s] for s in sorted(entries)}}
    write_json_atomic(out / "index.json", index)
    return index
