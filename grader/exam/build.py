"""``convgrade exam build``: one paper per student of a roster, plus the staff answer key.

Roster: a CSV file with a header row (``grader.roster``); the student id column is ``id`` (or
``student_id``, ``student``, ``login``, ``email``); optional ``name`` and ``lang`` (``en``/``ru``)
columns.

Output folder::

    DIR/papers/<id>.md, <id>.html [, <id>.pdf]    one paper per student, in their language
    DIR/key.md, key.html                          every variant with its exact answers (staff only)
    DIR/key.json                                  the same as data: {student: {qid: answer text}}
    DIR/index.json                                exam id, version, students, files, pdf flag
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from grader.roster import RosterError  # noqa: F401  (re-exported: callers catch it from here)
from grader.roster import EXAM_ID_COLUMNS, safe_id
from grader.roster import read_roster as read_roster_rows

from ..i18n import default_lang, known, t
from .exam import Exam, make_paper
from .questions import LANGS
from .render import key_markdown, paper_html, paper_markdown, to_html, write_pdf


@dataclass
class RosterRow:
    id: str
    name: str = ""
    lang: str = ""


@dataclass
class BuildReport:
    out_dir: Path
    students: list[str] = field(default_factory=list)
    files: list[Path] = field(default_factory=list)
    pdf: bool = False


def secret_fingerprint(secret: bytes, exam_id: str) -> str:
    """A short HMAC of the exam id under the course secret: tells whether grading uses the secret
    the papers were built with, without revealing it."""
    import hashlib
    import hmac

    return hmac.new(secret, b"convgrade-exam-key|" + exam_id.encode(), hashlib.sha256).hexdigest()[:16]


def verify_paper(exam: Exam, student: str, secret: bytes, papers_dir: str | Path) -> list[str]:
    """Problems that make grading ``student`` with ``secret`` grade a paper nobody was given:
    the id is not among the papers ``exam build`` wrote in ``papers_dir`` (its ``key.json``), the
    secret's fingerprint differs, or the re-drawn paper's answers differ from the key's. [] is fine."""
    path = Path(papers_dir) / "key.json"
    try:
        key = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        return [t("exam.key_unreadable", path=path, error=exc)]
    problems = []
    if key.get("exam") != exam.id:
        problems.append(t("exam.key_other_exam", path=path, other=repr(key.get("exam")), exam=repr(exam.id)))
    fp = key.get("secret_fingerprint")
    if fp is not None and fp != secret_fingerprint(secret, exam.id):
        problems.append(t("exam.secret_differs"))
    students = key.get("students") or {}
    if student not in students:
        near = sorted(s for s in students if s.lower() == student.lower() or safe_id(s) == safe_id(student))
        problems.append(t("exam.no_paper", student=repr(student))
                        + (t("exam.did_you_mean", near=repr(near[0])) if near else ""))
    elif not problems:
        paper = make_paper(exam, student, secret, students[student].get("lang") or None)
        texts = students[student].get("answer_texts") or {}
        if any(texts.get(q.id) != q.answer_text for q in paper.questions):
            problems.append(t("exam.paper_differs", student=repr(student), path=path))
    return problems


def paper_lang(papers_dir: str | Path, student: str) -> str | None:
    """The language ``student``'s paper was built in (``key.json`` of ``exam build``), or None
    when the key cannot be read or has no such student."""
    try:
        key = json.loads((Path(papers_dir) / "key.json").read_text(encoding="utf-8"))
        lang = key["students"][student].get("lang")
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None
    return known(lang)


def read_roster(path: str | Path) -> list[RosterRow]:
    """Roster CSV (see ``grader.roster``; a ``lang`` cell must be one of ``LANGS``) -> rows in
    file order. Raises RosterError naming the file and the line or column."""
    return [RosterRow(row["student"], row.get("name", ""), row.get("lang", ""))
            for row in read_roster_rows(path, EXAM_ID_COLUMNS, langs=LANGS)]


def build_exam(exam: Exam, roster: str | Path, out_dir: str | Path, secret: bytes, lang: str | None = None,
               pdf: str = "auto", key_lang: str | None = None) -> BuildReport:
    """Write every student's paper and the key; ``pdf``: "auto" (when a converter exists) / "no".

    Papers: in ``lang`` for everyone, else each roster row's ``lang``, else the exam's, else the
    course's. The staff key: in ``key_lang`` (default ``lang``, else the course's language)."""
    rows = read_roster(roster)
    out = Path(out_dir)
    (out / "papers").mkdir(parents=True, exist_ok=True)
    report = BuildReport(out)
    papers, key_data, used = [], {}, {}
    for row in rows:
        fname = safe_id(row.id)
        if fname in used:
            raise RosterError(f"students {used[fname]!r} and {row.id!r} map to the same file name {fname!r}")
        used[fname] = row.id
        paper = make_paper(exam, row.id, secret, lang or row.lang or exam.lang)
        md = out / "papers" / f"{fname}.md"
        html = out / "papers" / f"{fname}.html"
        md.write_text(paper_markdown(paper, row.name), encoding="utf-8")
        html.write_text(paper_html(paper, row.name), encoding="utf-8")
        report.files += [md, html]
        if pdf == "auto":
            target = out / "papers" / f"{fname}.pdf"
            if write_pdf(html, target):
                report.files.append(target)
                report.pdf = True
            else:
                pdf = "no"      # no converter (or it failed once): do not retry for every student
        papers.append((paper, row.name))
        key_data[row.id] = {"name": row.name, "lang": paper.lang, "file": fname,
                            "answers": {q.id: q.answer_value for q in paper.questions},
                            "answer_texts": {q.id: q.answer_text for q in paper.questions}}
        report.students.append(row.id)
    key_lang = key_lang or lang or default_lang()
    key_md = key_markdown(papers, exam, key_lang)
    (out / "key.md").write_text(key_md, encoding="utf-8")
    key_title = f"{t('exam.key', lang=key_lang)} — {exam.title_ru if key_lang == 'ru' else exam.title}"
    (out / "key.html").write_text(to_html(key_md, key_title, key_lang), encoding="utf-8")
    (out / "key.json").write_text(json.dumps({"exam": exam.id, "version": exam.version,
                                              "secret_fingerprint": secret_fingerprint(secret, exam.id),
                                              "students": key_data},
                                             indent=2, ensure_ascii=False), encoding="utf-8")
    (out / "index.json").write_text(json.dumps({
        "exam": exam.id, "version": exam.version, "title": exam.title, "students": report.students,
        "max_score": exam.max_score, "questions": [{"id": s.id, "kind": s.kind, "points": s.points}
                                                   for s in exam.slots],
        "pdf": report.pdf}, indent=2, ensure_ascii=False), encoding="utf-8")
    report.files += [out / "key.md", out / "key.html", out / "key.json", out / "index.json"]
    return report
