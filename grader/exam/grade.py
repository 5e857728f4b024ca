"""``convgrade exam grade``: read a student's answer file and score it against their paper.

Answer files (never executed):

* ``.yaml``/``.yml``: a mapping ``q1: ...`` read with ``yaml.safe_load``;
* ``.json``: an object ``{"q1": ...}``;
* ``.ipynb`` / ``.py``: a top-level assignment ``ANSWERS = {...}`` (the last one wins), its value
  read with ``ast.literal_eval`` — literals only, no names, no calls.

Keys are ``q1``, ``Q1``, ``1`` or the integer ``1``.

Answer files are hostile input parsed in the grader process, so every parser is bounded: at most
:data:`MAX_BYTES`, nesting at most :data:`MAX_DEPTH`, YAML anchors and aliases refused (a
600-byte alias bomb expands to gigabytes), at most :data:`MAX_KEYS` answers, each a small value
(long lists, deep structures and numbers of more than a few dozen digits are not answers). Any
failure, whatever raised it, is that student's result with a reason (``load_error``), never a
traceback.

:func:`verify_paper` checks a student id and the course secret against the papers ``exam build``
wrote (``key.json``: the students, the secret's fingerprint and every answer), so a typo in the id
or another TA's secret cannot silently grade against a paper nobody was given. The paper is re-drawn from the seeds, so
grading needs only the exam, the student id and the course secret. The result is the same
``results.json`` (Gradescope schema + ``convgrade`` block) as homework grading writes.
"""
from __future__ import annotations

import ast
import dataclasses
import hashlib
import json
import time
from pathlib import Path

import yaml

from .. import __version__
from ..checks.base import CheckSpec, Part
from ..results import build_results
from ..submission import SubmissionError, json_depth_ok, read_notebook_cells
from ..i18n import current, language, t
from .answers import _short, score_answer
from .exam import Exam, Paper, make_paper


class AnswersError(ValueError):
    """The answer file cannot be read (the message is student-facing)."""


MAX_BYTES = 256_000
MAX_DEPTH = 8
MAX_KEYS = 200
MAX_EVENTS = 20_000
MAX_VALUE_ITEMS = 64
MAX_STR = 1_000


def _yaml_bounded(text: str, name: str):
    """``yaml.safe_load`` after a linear pass over the parse events: no anchors or aliases, nesting
    at most MAX_DEPTH, at most MAX_EVENTS events (the composer recurses; aliases multiply)."""
    depth = events = 0
    for ev in yaml.parse(text, Loader=yaml.SafeLoader):
        events += 1
        if events > MAX_EVENTS:
            raise AnswersError(t("exam.yaml_too_many", file=name))
        if isinstance(ev, yaml.AliasEvent) or getattr(ev, "anchor", None):
            raise AnswersError(t("exam.yaml_alias", file=name))
        if isinstance(ev, (yaml.MappingStartEvent, yaml.SequenceStartEvent)):
            depth += 1
            if depth > MAX_DEPTH:
                raise AnswersError(t("exam.too_deep", file=name, n=MAX_DEPTH))
        elif isinstance(ev, (yaml.MappingEndEvent, yaml.SequenceEndEvent)):
            depth -= 1
    return yaml.safe_load(text)


def _bounded_value(value, depth: int = 0):
    """A small answer value, or AnswersError (lists of numbers, short strings, numbers)."""
    if depth > 3:
        raise AnswersError(t("exam.value_too_deep"))
    if isinstance(value, str):
        if len(value) > MAX_STR:
            raise AnswersError(t("exam.value_long_text", n=len(value)))
        return value
    if isinstance(value, (list, tuple)):
        if len(value) > MAX_VALUE_ITEMS:
            raise AnswersError(t("exam.value_long_list", n=len(value)))
        return type(value)(_bounded_value(v, depth + 1) for v in value)
    if isinstance(value, dict):
        raise AnswersError(t("exam.value_mapping"))
    return value


def _from_source(source: str, where: str) -> object:
    try:
        tree = ast.parse(source)
    except SyntaxError as exc:
        raise AnswersError(t("exam.python_syntax", where=where, line=exc.lineno, msg=exc.msg)) from None
    except (MemoryError, RecursionError, ValueError):
        raise AnswersError(t("exam.python_nested", where=where)) from None
    found = None
    for node in tree.body:
        if isinstance(node, (ast.Assign, ast.AnnAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            if any(isinstance(t, ast.Name) and t.id == "ANSWERS" for t in targets):
                found = node
    if found is None:
        return None
    try:
        return ast.literal_eval(found.value)
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        raise AnswersError(t("exam.not_literal", where=where, line=found.lineno,
                             example="`{'q1': [8, 16, 16], 'q2': 1234}`")) from None


def load_answers(path: str | Path) -> dict[str, object]:
    """The answers of a file as ``{"q1": value, ...}``, or :class:`AnswersError` (never another
    exception: whatever a parser raises on a crafted file becomes the reason)."""
    try:
        return _load_answers(Path(path))
    except AnswersError:
        raise
    except (Exception, RecursionError, MemoryError) as exc:   # noqa: BLE001 - hostile bytes
        raise AnswersError(t("exam.file_unreadable", file=Path(path).name, error=type(exc).__name__)) from None


def _load_answers(path: Path) -> dict[str, object]:
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise AnswersError(t("exam.cannot_read", file=path.name, error=exc.strerror)) from None
    if len(raw) > MAX_BYTES:
        raise AnswersError(t("exam.too_large", file=path.name, kb=MAX_BYTES // 1000))
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise AnswersError(t("exam.not_utf8", file=path.name)) from None
    suffix = path.suffix.lower()
    if suffix in (".yaml", ".yml"):
        try:
            data = _yaml_bounded(text, path.name)
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            line = t("exam.on_line", line=mark.line + 1) if mark is not None else ""
            raise AnswersError(t("exam.yaml_invalid", file=path.name, where=line,
                                 problem=getattr(exc, "problem", None) or exc)) from None
    elif suffix == ".json":
        if not json_depth_ok(text, MAX_DEPTH):
            raise AnswersError(t("exam.too_deep", file=path.name, n=MAX_DEPTH))
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise AnswersError(t("exam.json_invalid", file=path.name, line=exc.lineno, msg=exc.msg)) from None
    elif suffix == ".ipynb":
        try:     # the one bounded notebook reader the submission loader uses
            cells = [c for c in read_notebook_cells(text, path.name) if c["cell_type"] == "code"]
        except SubmissionError as exc:
            raise AnswersError(exc.reason) from None
        data = None
        for i, cell in enumerate(cells, 1):
            src = cell["source"]
            if "ANSWERS" not in src:
                continue
            # IPython magics make a cell unparsable; drop them, answers are plain Python
            src = "\n".join(ln for ln in src.split("\n") if not ln.lstrip().startswith(("%", "!")))
            value = _from_source(src, t("exam.code_cell", file=path.name, i=i))
            if value is not None:
                data = value
        if data is None:
            raise AnswersError(t("exam.no_answers_cell", file=path.name))
    elif suffix == ".py":
        data = _from_source(text, path.name)
        if data is None:
            raise AnswersError(t("exam.no_answers_py", file=path.name))
    else:
        raise AnswersError(t("exam.bad_suffix", file=path.name))
    if not isinstance(data, dict):
        raise AnswersError(t("exam.not_mapping", file=path.name, type=type(data).__name__))
    if len(data) > MAX_KEYS:
        raise AnswersError(t("exam.too_many_answers", file=path.name, n=len(data)))
    out: dict[str, object] = {}
    for key, value in data.items():
        if isinstance(key, bool) or not isinstance(key, (str, int)):
            raise AnswersError(t("exam.bad_key", file=path.name, key=_short(key)))
        norm = str(key).strip().lower()
        if norm.isdigit():
            norm = f"q{int(norm)}"
        if len(norm) > 20:
            raise AnswersError(t("exam.long_key", file=path.name))
        if norm in out:
            raise AnswersError(t("exam.answered_twice", file=path.name, qid=norm))
        try:
            out[norm] = _bounded_value(value)
        except AnswersError as exc:
            raise AnswersError(f"{path.name}: {norm}: {exc}") from None
    return out


def score_paper(paper: Paper, answers: dict[str, object]) -> list[tuple[CheckSpec, list[Part]]]:
    """One row per question: its verdict and, when points were lost, the expected answer and how
    it is found, in the current language (:func:`grader.i18n.language`)."""
    rows = []
    lang = current()
    for i, q in enumerate(paper.questions, 1):
        spec = CheckSpec(name=f"{q.id}. {q.title_en}", kind=f"exam:{q.kind}", points=q.points,
                         visibility="visible", target=q.id, number=str(i), tags=["exam"],
                         name_ru=f"{q.id}. {q.title_ru}")
        frac, verdict = score_answer(q.answer_type, q.answer, answers.get(q.id),
                                     partial=q.partial_rule == "per_component", n_choices=len(q.choices),
                                     choices=q.choices)
        score = round(q.points * frac, 6)
        text = f"**{q.id}** ({q.title(lang)}): {verdict}."
        if frac < 1.0:
            text += "\n\n" + t("exam.expected", answer=q.answer_text_in(lang), how=q.how(lang))
        extra = {"kind": spec.kind, "answer_type": q.answer_type, "given": _plain(answers.get(q.id))}
        if frac < 1.0:
            extra["failed"] = True
        rows.append((spec, [Part(spec.display_name, q.points, score, text, extra)]))
    return rows


def _plain(value):
    """JSON-safe copy of a student's answer (tuples become lists, anything odd becomes text)."""
    try:
        return json.loads(json.dumps(value, allow_nan=False, default=str))
    except (TypeError, ValueError):
        return str(value)


def grade_answers(exam: Exam, path: str | Path, student: str, secret: bytes, lang: str | None = None) -> dict:
    """``results.json`` of ``student``'s answer file ``path``; a malformed file scores 0 with the
    reason in ``convgrade.load_error`` (as a broken homework upload). Every message is in ``lang``
    (default: the exam's ``lang``, else the course's), recorded as ``convgrade.lang``."""
    paper = make_paper(exam, student, secret, lang)
    with language(paper.lang):
        return _grade_paper(exam, paper, Path(path), student)


def _grade_paper(exam: Exam, paper: Paper, path: Path, student: str) -> dict:
    t0 = time.monotonic()
    meta = {"assignment": exam.id, "version": exam.version, "student": student, "name": None,
            "grader_version": __version__, "notes": [], "static_findings": [], "filename": path.name,
            "lang": paper.lang, "isolation": {"level": "none", "details": [t("exam.isolation")]}}
    try:
        meta["submission_sha256"] = hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError:
        meta["submission_sha256"] = None
    try:
        answers = load_answers(path)
    except AnswersError as exc:
        meta["load_error"] = t("exam.load_error", reason=exc)
        answers = {}
        rows = score_paper(paper, answers)
        for _, parts in rows:
            parts[0].output = t("exam.not_graded", reason=exc)
    else:
        ids = {q.id for q in paper.questions}
        extra = sorted(k for k in answers if k not in ids)
        if extra:
            meta["notes"].append(t("exam.extra_answers", ids=", ".join(extra)))
        missing = [q.id for q in paper.questions if q.id not in answers]
        if missing:
            meta["notes"].append(t("exam.missing_answers", ids=", ".join(missing)))
        rows = score_paper(paper, answers)
    # the summary line names the exam in the results' language
    titled = dataclasses.replace(exam, title=exam.title_ru) if paper.lang == "ru" else exam
    return build_results(titled, rows, meta, time.monotonic() - t0)
