"""An exam definition (``exam.toml``) and the per-student paper drawn from it.

``assignments/<exam>/exam.toml``::

    id = "exam_midterm"
    title = "Midterm: convolutional networks"
    title_ru = "Контрольная: свёрточные сети"
    lang = "en"                         # optional paper language (a roster's lang column overrides;
                                        # default: the course's convgrade.toml lang)
    duration_minutes = 60               # optional, printed on the paper
    instructions = "..."                # optional, printed on the paper (instructions_ru too)

    [[question]]
    kind = "conv_output_shape"          # a generator of grader.exam.questions.BANK
    points = 3
    count = 2                           # this many slots, each its own variant (default 1)

Slot ``n`` (``q1``, ``q2``, ... in file order) of student ``s`` is drawn from the seed
``HMAC(course secret, exam id | "q<n>:<kind>" | s)``: the same student always gets the same
paper, neighbours get different numbers, and nobody can compute another student's variant
without the secret.
"""
from __future__ import annotations

import hashlib
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from ..assignment import LatePolicy
from ..course import CourseError, resolve_in_course
from ..i18n import default_lang
from ..seeds import derive_seed
from .questions import BANK, LANGS, Question, generate

EXAM_FILE = "exam.toml"


class ExamError(ValueError):
    """The exam definition is malformed (an instructor's error)."""


@dataclass
class Slot:
    id: str
    kind: str
    points: float


@dataclass
class Exam:
    id: str
    title: str
    title_ru: str
    path: Path
    slots: list[Slot]
    version: str
    lang: str = ""                      # "" : the course's language (grader.i18n.default_lang)
    duration_minutes: int | None = None
    instructions: str = ""
    instructions_ru: str = ""
    # results.build_results reads these, as for an assignment
    due: None = None
    late: LatePolicy = field(default_factory=LatePolicy)

    @property
    def max_score(self) -> float:
        return round(sum(s.points for s in self.slots), 6)


@dataclass
class Paper:
    exam: Exam
    student: str
    questions: list[Question]
    lang: str


def resolve_exam(name_or_path: str | Path) -> Path:
    p = Path(name_or_path)
    if p.is_file() and p.name == EXAM_FILE:
        return p
    try:    # a folder with exam.toml, else an exam id of the current course (grader.course)
        return resolve_in_course(name_or_path, EXAM_FILE, "exam") / EXAM_FILE
    except CourseError as exc:
        raise ExamError(str(exc)) from None


def load_exam(name_or_path: str | Path) -> Exam:
    path = resolve_exam(name_or_path)
    raw = path.read_bytes()
    try:
        doc = tomllib.loads(raw.decode("utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ExamError(f"{path}: invalid TOML: {exc}") from None
    for key in ("id", "title"):
        if not isinstance(doc.get(key), str) or not doc[key]:
            raise ExamError(f"{path}: missing {key!r}")
    lang = doc.get("lang", "")
    if lang and lang not in LANGS:
        raise ExamError(f"{path}: lang must be one of {LANGS}, got {lang!r}")
    slots: list[Slot] = []
    items = doc.get("question", [])
    if not items:
        raise ExamError(f"{path}: no [[question]] tables")
    for i, item in enumerate(items, 1):
        unknown = set(item) - {"kind", "points", "count"}
        if unknown:
            raise ExamError(f"{path}: question #{i}: unknown keys {sorted(unknown)}")
        kind = item.get("kind")
        if kind not in BANK:
            raise ExamError(f"{path}: question #{i}: kind must be one of {sorted(BANK)}, got {kind!r}")
        points, count = item.get("points", 1), item.get("count", 1)
        if not isinstance(points, (int, float)) or isinstance(points, bool) or points <= 0:
            raise ExamError(f"{path}: question #{i}: points must be a positive number, got {points!r}")
        if not isinstance(count, int) or isinstance(count, bool) or count < 1:
            raise ExamError(f"{path}: question #{i}: count must be a positive int, got {count!r}")
        for _ in range(count):
            slots.append(Slot(f"q{len(slots) + 1}", kind, float(points)))
    duration = doc.get("duration_minutes")
    return Exam(id=doc["id"], title=doc["title"], title_ru=str(doc.get("title_ru", doc["title"])),
                path=path.parent, slots=slots, version=hashlib.sha256(raw).hexdigest()[:16], lang=lang,
                duration_minutes=int(duration) if duration is not None else None,
                instructions=str(doc.get("instructions", "")).strip(),
                instructions_ru=str(doc.get("instructions_ru", doc.get("instructions", ""))).strip())


def slot_seed(exam: Exam, slot: Slot, student: str, secret: bytes) -> int:
    return derive_seed(secret, exam.id, f"{slot.id}:{slot.kind}", str(student))


def make_paper(exam: Exam, student: str, secret: bytes, lang: str | None = None) -> Paper:
    """The paper of ``student``: every slot drawn from its own seed (deterministic), in ``lang``
    (default: the exam's ``lang``, else the course's, :func:`grader.i18n.default_lang`)."""
    lang = lang or exam.lang or default_lang()
    if lang not in LANGS:
        raise ValueError(f"lang must be one of {LANGS}, got {lang!r}")
    if not str(student):
        raise ValueError("student must be a non-empty id")
    questions = [generate(s.kind, slot_seed(exam, s, student, secret), lang, qid=s.id, points=s.points)
                 for s in exam.slots]
    return Paper(exam, str(student), questions, lang)
