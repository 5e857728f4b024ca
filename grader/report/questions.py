"""Which notebook question each results.json test belongs to, for feedback grouped by question.

A check's ``target`` (class, function or variable) maps to the master notebook's question that
defines it (``MasterNotebook.question_of``). A results.json test carries the check's ``number``
(``"4"``, or ``"4.2"`` for the second part of check 4), so the map is keyed by check number. When
the assignment has no master notebook (a release kit), the group is the check's target.
"""
from __future__ import annotations

from collections import OrderedDict

OTHER = ""                  # tests of no known question (shown without a question heading)


def question_map(assignment) -> dict[str, str]:
    """``{check number: question name}`` for every check of ``assignment`` (an Assignment).

    The question is the master notebook's (``assignment.path / "master.ipynb"``) when there is
    one and it parses, else the check's target, else ``""``.
    """
    master = None
    path = getattr(assignment, "path", None)
    if path is not None and (path / "master.ipynb").is_file():
        from grader.authoring.notebook import MasterError, parse

        try:
            master = parse(path)
        except (MasterError, OSError, ValueError):
            master = None
    out = {}
    for spec in assignment.checks:
        q = master.question_of(spec.target) if master is not None and spec.target else None
        out[str(spec.number)] = q.name if q is not None else (spec.target.split(".")[0] if spec.target else OTHER)
    return out


def question_names(assignment) -> dict[str, set[str]]:
    """``{question: top-level names its master code defines}`` (``{target: {target}}`` without a
    master notebook): where a question's code lives in a student's notebook."""
    path = getattr(assignment, "path", None)
    if path is not None and (path / "master.ipynb").is_file():
        from grader.authoring.notebook import MasterError, parse

        try:
            return {q.name: q.defined_names() for q in parse(path).questions}
        except (MasterError, OSError, ValueError):
            pass
    return {spec.target.split(".")[0]: {spec.target.split(".")[0]} for spec in assignment.checks if spec.target}


def question_of_test(test: dict, questions: dict[str, str] | None) -> str:
    """The question name of one results.json test (``""`` when unknown)."""
    if not questions:
        return OTHER
    number = str(test.get("number", ""))
    return questions.get(number, questions.get(number.split(".")[0], OTHER))


def group_by_question(tests: list[dict], questions: dict[str, str] | None) -> "OrderedDict[str, list[dict]]":
    """Tests grouped by question, groups in the order their first test appears (notebook order)."""
    groups: OrderedDict[str, list[dict]] = OrderedDict()
    for t in tests:
        groups.setdefault(question_of_test(t, questions), []).append(t)
    return groups
