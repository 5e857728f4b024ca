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

from grader.results import write_json_atomic, write_text_atomic

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
    """Write one student's files (feedback and source first, results.json last); return the folder."""
    d = out / student
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
    write_json_atomic(d / "results.json", member["results"])
    _fsync_dir(d)
    return d


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
    """``ok`` | ``load_error`` | ``internal_error`` | ``timeout``."""
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
