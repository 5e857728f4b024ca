"""``convgrade exam build``: one paper per student of a roster, plus the staff answer key.

Roster: a CSV file with a header row; the student id column is ``id`` (or ``student_id``,
``student``, ``login``, ``email``); optional ``name`` and ``lang`` (``en``/``ru``) columns.

Output folder::

    DIR/papers/<id>.md, <id>.html [, <id>.pdf]    one paper per student, in their language
    DIR/key.md, key.html                          every variant with its exact answers (staff only)
    DIR/key.json                                  the same as data: {student: {qid: answer text}}
    DIR/index.json                                exam id, version, students, files, pdf flag
"""
from __future__ import annotations

import csv
import json
import re
from dataclasses import dataclass, field
from pathlib import Path

from .exam import Exam, make_paper
from .questions import LANGS
from .render import key_markdown, paper_html, paper_markdown, to_html, write_pdf

ID_COLUMNS = ("id", "student_id", "student", "login", "email")


class RosterError(ValueError):
    """The roster file cannot be used (the message names the row or column)."""


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


def read_roster(path: str | Path) -> list[RosterRow]:
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except OSError as exc:
        raise RosterError(f"cannot read roster {path}: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise RosterError(f"roster {path} is not UTF-8 text") from None
    reader = csv.DictReader(text.splitlines())
    cols = {c.strip().lower(): c for c in (reader.fieldnames or []) if c}
    id_col = next((cols[c] for c in ID_COLUMNS if c in cols), None)
    if id_col is None:
        raise RosterError(f"roster {path}: no student id column (one of {', '.join(ID_COLUMNS)}) in the header")
    rows, seen = [], set()
    for n, rec in enumerate(reader, 2):
        sid = (rec.get(id_col) or "").strip()
        if not sid:
            raise RosterError(f"roster {path}, line {n}: empty student id")
        if sid in seen:
            raise RosterError(f"roster {path}, line {n}: duplicate student id {sid!r}")
        seen.add(sid)
        lang = (rec.get(cols.get("lang", ""), "") or "").strip().lower() if "lang" in cols else ""
        if lang and lang not in LANGS:
            raise RosterError(f"roster {path}, line {n}: lang must be one of {LANGS}, got {lang!r}")
        name = (rec.get(cols["name"]) or "").strip() if "name" in cols else ""
        rows.append(RosterRow(sid, name, lang))
    if not rows:
        raise RosterError(f"roster {path}: no students")
    return rows


def safe_name(student: str) -> str:
    """A file name for a student id (ids may hold @, spaces, slashes)."""
    name = re.sub(r"[^A-Za-z0-9._-]+", "_", student).strip("._") or "student"
    return name[:100]


def build_exam(exam: Exam, roster: str | Path, out_dir: str | Path, secret: bytes, lang: str | None = None,
               pdf: str = "auto") -> BuildReport:
    """Write every student's paper and the key; ``pdf``: "auto" (when a converter exists) / "no"."""
    rows = read_roster(roster)
    out = Path(out_dir)
    (out / "papers").mkdir(parents=True, exist_ok=True)
    report = BuildReport(out)
    papers, key_data, used = [], {}, {}
    for row in rows:
        fname = safe_name(row.id)
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
    key_md = key_markdown(papers, exam)
    (out / "key.md").write_text(key_md, encoding="utf-8")
    (out / "key.html").write_text(to_html(key_md, f"Answer key — {exam.title}"), encoding="utf-8")
    (out / "key.json").write_text(json.dumps({"exam": exam.id, "version": exam.version, "students": key_data},
                                             indent=2, ensure_ascii=False), encoding="utf-8")
    (out / "index.json").write_text(json.dumps({
        "exam": exam.id, "version": exam.version, "title": exam.title, "students": report.students,
        "max_score": exam.max_score, "questions": [{"id": s.id, "kind": s.kind, "points": s.points}
                                                   for s in exam.slots],
        "pdf": report.pdf}, indent=2, ensure_ascii=False), encoding="utf-8")
    report.files += [out / "key.md", out / "key.html", out / "key.json", out / "index.json"]
    return report
