"""Judge a mutated master solution on chosen checks, in process (the validation driver)."""
from __future__ import annotations

from grader.assignment import load
from grader.authoring import master_source
from grader.authoring.trusted import TrustedSession
from grader.authoring.validate import _Judge
from grader.grade import sandbox_config


def mutated(assignment_id: str, *edits: tuple[str, str]) -> str:
    source = master_source(load(assignment_id))
    for old, new in edits:
        assert source.count(old) == 1, old
        source = source.replace(old, new)
    return source


def judge(assignment_id: str, source: str, *check_names: str, student: str = "fair-test"):
    """(test rows by name, internal errors) of ``source`` on the named checks."""
    a = load(assignment_id)
    specs = [s for s in a.checks if s.name in check_names]
    assert len(specs) == len(check_names), [s.name for s in specs]
    j = _Judge(a)
    with TrustedSession(source, forbidden=sandbox_config(a).forbidden) as session:
        assert session.start().status == "ok"
        rows = [r for spec in specs for r in j.check(session, spec, student, {})]
    return {r["name"]: r for r in rows}, j.internal_errors


def codes(row: dict) -> set[str]:
    return {d["code"] for d in row.get("extra_data", {}).get("diagnoses", [])}
