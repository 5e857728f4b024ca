"""The staff's class overview of one assignment, from every student's latest graded attempt.

``class_overview(assignment, latest)`` with ``latest = [(login, name, submission_id, results)]``
returns the gradebook rows (``grader.report.gradebook``'s, plus ``submission_id``) and:

* ``questions``  per notebook question (``grader.report.questions.question_map``, in notebook
  order): how many students passed every row of it, of how many that loaded, and the mean share
  of its points they got;
* ``checks``     per check row, worst first (the batch summary's pass rates);
* ``diagnoses``  the most common diagnoses: code, its most common message, how many students,
  in which checks;
* ``broken``     attempts that did not load, crashed or stopped the grader, with the reason;
* ``late``       late attempts with days late and the penalty taken off.
"""
from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field


@dataclass
class QuestionRate:
    question: str
    passed: int          # students who passed every row of the question
    graded: int          # students whose attempt loaded
    points: float        # mean share of the question's points, 0..1

    @property
    def rate(self) -> float:
        return self.passed / self.graded if self.graded else 0.0


@dataclass
class Overview:
    rows: list[dict]
    questions: list[QuestionRate] = field(default_factory=list)
    checks: list[tuple[str, int, int, float]] = field(default_factory=list)
    diagnoses: list[tuple[str, str, int, list[str]]] = field(default_factory=list)
    broken: list[dict] = field(default_factory=list)
    late: list[dict] = field(default_factory=list)
    histogram: list[int] = field(default_factory=lambda: [0] * 10)


def broken_reason(results: dict) -> str:
    """Why an attempt has no real grade (did not load, the grader stopped on it), or ``""``."""
    from grader.report.feedback import load_error_text
    cg = results.get("convgrade") if isinstance(results.get("convgrade"), dict) else {}
    if cg.get("batch_error"):
        notes = cg.get("notes") or [str(cg["batch_error"])]
        return str(notes[0] if isinstance(notes, list) and notes else notes)
    return load_error_text(results)


def class_overview(assignment, latest: list[tuple[str, str, int, dict]], top: int = 15) -> Overview:
    from grader.report.gradebook import _row_from_results, pass_rates, score_histogram
    from grader.report.questions import question_map, question_of_test

    qmap = question_map(assignment) if assignment is not None else {}
    order = list(dict.fromkeys(qmap.values()))
    rows: list[dict] = []
    q_pass, q_seen, q_share = Counter(), Counter(), defaultdict(float)
    d_students: dict[str, set[str]] = defaultdict(set)
    d_messages: dict[str, Counter] = defaultdict(Counter)
    d_checks: dict[str, list[str]] = defaultdict(list)
    out = Overview(rows=rows)
    for login, name, sid, res in latest:
        row = _row_from_results(login, res)
        row["name"] = row["name"] or name
        row["submission_id"] = sid
        reason = broken_reason(res)
        if reason:
            row["status"] = row["status"] if row["status"] != "ok" else "error"
            out.broken.append({"student": login, "name": row["name"], "submission_id": sid, "reason": reason})
        rows.append(row)
        late = row.get("late") or {}
        if late.get("days_late"):
            out.late.append({"student": login, "name": row["name"], "submission_id": sid,
                             "days_late": float(late.get("days_late") or 0),
                             "penalty": float(late.get("penalty_fraction") or late.get("penalty") or 0)})
        if reason:
            continue
        per_q: dict[str, list[float]] = defaultdict(lambda: [0.0, 0.0, 1.0])   # score, max, all passed
        for t in res.get("tests") or []:
            if not isinstance(t, dict):
                continue
            q = question_of_test(t, qmap) or "—"
            acc = per_q[q]
            acc[0] += float(t.get("score") or 0)
            acc[1] += float(t.get("max_score") or 0)
            if float(t.get("score") or 0) < float(t.get("max_score") or 0) - 1e-9:
                acc[2] = 0.0
        for q, (score, top_, ok) in per_q.items():
            q_seen[q] += 1
            q_pass[q] += int(ok)
            q_share[q] += score / top_ if top_ else float(ok)
        for d in row["diagnoses"]:
            d_students[d["code"]].add(login)
            d_messages[d["code"]][d["message"]] += 1
            if d["check"] not in d_checks[d["code"]]:
                d_checks[d["code"]].append(d["check"])
    names = order + sorted(q for q in q_seen if q not in order)
    out.questions = [QuestionRate(q, q_pass[q], q_seen[q], q_share[q] / q_seen[q]) for q in names if q_seen[q]]
    out.checks = pass_rates(rows) if rows else []
    ranked = sorted(d_students, key=lambda c: (-len(d_students[c]), c))[:top]
    out.diagnoses = [(c, d_messages[c].most_common(1)[0][0], len(d_students[c]), d_checks[c]) for c in ranked]
    if rows:
        out.histogram = [int(x) for x in score_histogram(rows)]
    return out
