"""Prove an assignment's checks right and strong before students see it.

:func:`validate` grades, with the real grading path (``grade_submission``, sandbox included):

1. the master solution, under every validation student id: it must score full marks;
2. every mutant (``mutants.toml``): it must lose points, and fail a check its targets name (or
   trigger the diagnosis they name); a mutant whose edit does not apply, or that only breaks the
   import, is a problem; every graded class or function (the target of a non-``value`` check)
   needs at least :data:`MIN_MUTANTS` mutants aimed at its checks;
3. the starter students get (otter's solution stripping of the master notebook) against the
   visible checks: it must import, and every visible check must fail cleanly (a check that
   passes on the starter tests nothing the student writes; a grader error is a crash).

Hidden inputs come from a fixed validation secret and several student ids, so they differ from
the ones any student gets; mutants rotate through the ids (``thorough=True`` grades each mutant
under every id). Submissions grade in parallel threads (the work is in sandbox subprocesses).
"""
from __future__ import annotations

import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from ..assignment import Assignment, AssignmentError, load
from .mutants import Mutant, MutantError, hits_target, load_mutants
from .notebook import MASTER, MasterError, parse, starter_source

VALIDATION_SECRET = b"convgrade-validation-secret"
STUDENTS = ("validate-1", "validate-2")
MIN_MUTANTS = 6


@dataclass
class MutantRow:
    name: str
    description: str
    caught_by: list[str] = field(default_factory=list)
    points_lost: float = 0.0
    target_hit: bool = False
    error: str = ""
    students: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.error and self.points_lost > 1e-9 and self.target_hit


@dataclass
class ValidationReport:
    assignment: str
    max_score: float
    master_scores: dict[str, float] = field(default_factory=dict)
    rows: list[MutantRow] = field(default_factory=list)
    starter_passing: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return not self.problems


ANSWER_KINDS = ("value", "quiz")

def _grade(assignment, source: str, folder: Path, tag: str, student: str, isolation: str,
           visibility: str = "all") -> dict:
    from ..grade import grade_submission

    path = folder / f"{tag}.py"
    path.write_text(source, encoding="utf-8")
    return grade_submission(assignment, path, student=student, visibility=visibility,
                            secret=VALIDATION_SECRET, isolation=isolation)


def _failed(results: dict) -> list[dict]:
    return [t for t in results["tests"] if t["score"] < t["max_score"] - 1e-9 or t["status"] != "passed"]


def _crash_text(results: dict) -> str:
    cg = results["convgrade"]
    if cg.get("load_error"):
        return cg["load_error"]
    if cg.get("internal_errors"):
        return "grader internal error: " + cg["internal_errors"][0].splitlines()[0]
    return ""


def coverage(assignment: Assignment, mutants: list[Mutant]) -> dict[str, int]:
    """Mutants aimed at each graded class or function (targets of checks other than the answer
    kinds ``value`` and ``quiz``, whose targets are single answers, not code)."""
    counts = {c.target.split(".")[0]: 0 for c in assignment.checks if c.kind not in ANSWER_KINDS and c.target}
    for m in mutants:
        subs = [t.lower() for t in m.targets if not t.startswith("diagnosis:")]
        hit = {c.target.split(".")[0] for c in assignment.checks
               if c.target and any(s in c.name.lower() for s in subs)}
        for t in hit & counts.keys():
            counts[t] += 1
    return counts


def validate(assignment: str | Path | Assignment, *, isolation: str = "auto", workers: int = 2,
             students: tuple[str, ...] = STUDENTS, thorough: bool = False) -> ValidationReport:
    t0 = time.monotonic()
    a = assignment if isinstance(assignment, Assignment) else load(assignment)
    report = ValidationReport(a.id, a.max_score)
    try:
        master = parse(a.path / MASTER)
        mutants = load_mutants(a.path)
    except (MasterError, MutantError) as exc:
        report.problems.append(str(exc))
        report.seconds = time.monotonic() - t0
        return report
    source = master.source
    if not mutants:
        report.problems.append(f"{a.id}: no mutants (mutants.toml): nothing proves the hidden checks are strong")
    for target, n in coverage(a, mutants).items():
        if n < MIN_MUTANTS:
            report.problems.append(f"{target}: {n} mutant(s) aim at its checks; at least {MIN_MUTANTS} are required")
    for q in master.questions:
        if not q.solution_cells:
            report.problems.append(f"question {q.name!r} has no solution block: the starter would give the answer away")

    jobs = []   # (kind, key, source, student, visibility)
    for s in students:
        jobs.append(("master", s, source, s, "all"))
    rows = {}
    for i, m in enumerate(mutants):
        row = rows[m.name] = MutantRow(m.name, m.description)
        try:
            mutated = m.apply(source)
        except MutantError as exc:
            row.error = str(exc)
            continue
        for s in (students if thorough else (students[i % len(students)],)):
            row.students.append(s)
            jobs.append(("mutant", m.name, mutated, s, "all"))
    try:
        starter = starter_source(master)
        jobs.append(("starter", "starter", starter, "public", "visible"))
    except (AssertionError, ValueError) as exc:   # otter's stripping asserts on unbalanced markers
        report.problems.append(f"the starter cannot be produced: {exc}")

    with tempfile.TemporaryDirectory(prefix="convgrade-validate-") as tmp:
        folder = Path(tmp)

        def run(job):
            kind, key, src, student, vis = job
            tag = f"{kind}_{len(key)}_{abs(hash((key, student))) % 10**8}"
            return job, _grade(a, src, folder, tag, student, isolation, vis)

        with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
            results = list(pool.map(run, jobs))

    by_name = {m.name: m for m in mutants}
    graded: dict[str, list[dict]] = {}
    for (kind, key, _, student, _), res in results:
        crash = _crash_text(res)
        if kind == "master":
            report.master_scores[student] = res["score"]
            if crash:
                report.problems.append(f"master solution ({student}): {crash}")
            for t in _failed(res):
                report.problems.append(f"master solution fails {t['name']!r} (student {student}): "
                                       f"{t['output'].splitlines()[0] if t['output'] else ''}")
        elif kind == "starter":
            if crash:
                report.problems.append(f"starter: visible checks crash: {crash}")
            report.starter_passing = [t["name"] for t in res["tests"] if t["status"] == "passed"]
            for name in report.starter_passing:
                report.problems.append(f"visible check {name!r} passes on the starter: it tests nothing the "
                                       f"student writes")
        else:
            graded.setdefault(key, []).append(res)
    for name, runs in graded.items():
        row, m = rows[name], by_name[name]
        names = [t["name"] for t in runs[0]["tests"]]
        caught = set()
        row.target_hit, row.points_lost = True, float("inf")
        for res in runs:   # under every student id it ran with, it must be caught on target
            failed = _failed(res)
            caught |= {t["name"] for t in failed}
            row.points_lost = min(row.points_lost, round(res["max_score"] - res["score"], 6))
            row.target_hit = row.target_hit and hits_target(m, failed)
            if res["convgrade"].get("load_error"):
                row.error = f"breaks the import only ({res['convgrade']['load_error'][:120]})"
            elif res["convgrade"].get("internal_errors"):
                row.error = _crash_text(res)
        row.caught_by = sorted(caught, key=names.index)
    for m in mutants:
        row = rows[m.name]
        report.rows.append(row)
        if row.error:
            report.problems.append(f"mutant {m.name!r}: {row.error}")
        elif row.points_lost <= 1e-9:
            report.problems.append(f"mutant {m.name!r} is not caught: no check loses points ({m.description})")
        elif not row.target_hit:
            report.problems.append(f"mutant {m.name!r} loses points but not on its targets {m.targets} "
                                   f"(failed: {', '.join(row.caught_by[:3])})")
    report.seconds = time.monotonic() - t0
    return report


def format_table(report: ValidationReport, style=None) -> str:
    """The mutation table: mutant | description | caught by | points lost | target hit."""
    style = style or (lambda text, **_: text)
    header = ("mutant", "description", "caught by", "lost", "target")
    body = []
    for r in report.rows:
        caught = ", ".join(r.caught_by[:3]) + (f" (+{len(r.caught_by) - 3})" if len(r.caught_by) > 3 else "")
        if r.error:
            caught = "ERROR: " + r.error
        body.append((r.name, r.description, caught or "—", f"{r.points_lost:g}", "✓" if r.ok else "✗"))
    widths = [min(max([len(h)] + [len(row[i]) for row in body]), cap)
              for i, (h, cap) in enumerate(zip(header, (28, 48, 70, 6, 6)))]

    def cut(text, w):
        return text if len(text) <= w else text[: w - 1] + "…"

    lines = ["  ".join(cut(h, w).ljust(w) for h, w in zip(header, widths))]
    lines.append("  ".join("-" * w for w in widths))
    for row in body:
        mark = row[-1]
        cells = [cut(c, w).ljust(w) for c, w in zip(row[:-1], widths[:-1])]
        colored = style(mark, fg="green" if mark == "✓" else "red")
        lines.append("  ".join(cells) + "  " + colored)
    return "\n".join(lines)


__all__ = ["validate", "format_table", "coverage", "ValidationReport", "MutantRow", "VALIDATION_SECRET",
           "STUDENTS", "AssignmentError"]
