"""``convgrade exam grade``: read a student's answer file and score it against their paper.

Answer files (never executed):

* ``.yaml``/``.yml``: a mapping ``q1: ...`` read with ``yaml.safe_load``;
* ``.json``: an object ``{"q1": ...}``;
* ``.ipynb`` / ``.py``: a top-level assignment ``ANSWERS = {...}`` (the last one wins), its value
  read with ``ast.literal_eval`` — literals only, no names, no calls.

Keys are ``q1``, ``Q1``, ``1`` or the integer ``1``. The paper is re-drawn from the seeds, so
grading needs only the exam, the student id and the course secret. The result is the same
``results.json`` (Gradescope schema + ``convgrade`` block) as homework grading writes.
"""
from __future__ import annotations

import ast
import hashlib
import json
import time
from pathlib import Path

import yaml

from .. import __version__
from ..checks.base import CheckSpec, Part
from ..results import build_results
from .answers import score_answer
from .exam import Exam, Paper, make_paper


class AnswersError(ValueError):
    """The answer file cannot be read (the message is student-facing)."""


def _from_source(source: str, where: str) -> object:
    try:
        tree = ast.parse(source)
    except SyntaxError as exc:
        raise AnswersError(f"{where}: Python syntax error on line {exc.lineno}: {exc.msg}") from None
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
        raise AnswersError(f"{where}: ANSWERS (line {found.lineno}) must be a plain literal dict such as "
                           f"{{'q1': [8, 16, 16], 'q2': 1234}}: no variables, calls or expressions") from None


def load_answers(path: str | Path) -> dict[str, object]:
    """The answers of a file as ``{"q1": value, ...}``, or :class:`AnswersError`."""
    path = Path(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise AnswersError(f"cannot read {path.name}: {exc.strerror}") from None
    if len(raw) > 2_000_000:
        raise AnswersError(f"{path.name} is larger than 2 MB: not an answer file")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise AnswersError(f"{path.name} is not UTF-8 text") from None
    suffix = path.suffix.lower()
    if suffix in (".yaml", ".yml"):
        try:
            data = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            line = f" on line {mark.line + 1}" if mark is not None else ""
            raise AnswersError(f"{path.name}: invalid YAML{line}: {getattr(exc, 'problem', exc)}") from None
    elif suffix == ".json":
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise AnswersError(f"{path.name}: invalid JSON on line {exc.lineno}: {exc.msg}") from None
    elif suffix == ".ipynb":
        try:
            nb = json.loads(text)
            cells = [c for c in nb["cells"] if c.get("cell_type") == "code"]
        except (json.JSONDecodeError, KeyError, TypeError, AttributeError):
            raise AnswersError(f"{path.name}: not a Jupyter notebook") from None
        data = None
        for i, cell in enumerate(cells, 1):
            src = cell.get("source", "")
            src = "".join(src) if isinstance(src, list) else str(src)
            if "ANSWERS" not in src:
                continue
            # IPython magics make a cell unparsable; drop them, answers are plain Python
            src = "\n".join(ln for ln in src.split("\n") if not ln.lstrip().startswith(("%", "!")))
            value = _from_source(src, f"{path.name}, code cell {i}")
            if value is not None:
                data = value
        if data is None:
            raise AnswersError(f"{path.name}: no code cell assigns ANSWERS = {{...}}")
    elif suffix == ".py":
        data = _from_source(text, path.name)
        if data is None:
            raise AnswersError(f"{path.name}: no top-level ANSWERS = {{...}}")
    else:
        raise AnswersError(f"{path.name}: answer files are .yaml, .yml, .json, .ipynb or .py")
    if not isinstance(data, dict):
        raise AnswersError(f"{path.name}: the answers must be a mapping like {{q1: ..., q2: ...}}, "
                           f"got {type(data).__name__}")
    out: dict[str, object] = {}
    for key, value in data.items():
        if isinstance(key, bool) or not isinstance(key, (str, int)):
            raise AnswersError(f"{path.name}: question keys are q1, q2, ...; got {key!r}")
        norm = str(key).strip().lower()
        if norm.isdigit():
            norm = f"q{int(norm)}"
        if norm in out:
            raise AnswersError(f"{path.name}: question {norm} is answered twice")
        out[norm] = value
    return out


def score_paper(paper: Paper, answers: dict[str, object]) -> list[tuple[CheckSpec, list[Part]]]:
    rows = []
    for i, q in enumerate(paper.questions, 1):
        spec = CheckSpec(name=f"{q.id}. {q.title_en}", kind=f"exam:{q.kind}", points=q.points,
                         visibility="visible", target=q.id, number=str(i), tags=["exam"])
        frac, verdict = score_answer(q.answer_type, q.answer, answers.get(q.id),
                                     partial=q.partial_rule == "per_component", n_choices=len(q.choices))
        score = round(q.points * frac, 6)
        text = f"**{q.id}** ({q.title_en}): {verdict}."
        if frac < 1.0:
            text += f"\n\nExpected: `{q.answer_text}` ({q.explanation})."
        extra = {"kind": spec.kind, "answer_type": q.answer_type, "given": _plain(answers.get(q.id))}
        if frac < 1.0:
            extra["failed"] = True
        rows.append((spec, [Part(spec.name, q.points, score, text, extra)]))
    return rows


def _plain(value):
    """JSON-safe copy of a student's answer (tuples become lists, anything odd becomes text)."""
    try:
        return json.loads(json.dumps(value, allow_nan=False, default=str))
    except (TypeError, ValueError):
        return str(value)


def grade_answers(exam: Exam, path: str | Path, student: str, secret: bytes, lang: str | None = None) -> dict:
    """``results.json`` of ``student``'s answer file ``path``; a malformed file scores 0 with the
    reason in ``convgrade.load_error`` (as a broken homework upload)."""
    t0 = time.monotonic()
    path = Path(path)
    paper = make_paper(exam, student, secret, lang)
    meta = {"assignment": exam.id, "version": exam.version, "student": student, "name": None,
            "grader_version": __version__, "notes": [], "static_findings": [], "filename": path.name,
            "isolation": {"level": "none", "details": ["exam answers are data: nothing was executed"]}}
    try:
        meta["submission_sha256"] = hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError:
        meta["submission_sha256"] = None
    try:
        answers = load_answers(path)
    except AnswersError as exc:
        meta["load_error"] = f"Your answer file could not be read: {exc}"
        answers = {}
        rows = score_paper(paper, answers)
        for _, parts in rows:
            parts[0].output = f"Not graded: {exc}"
    else:
        ids = {q.id for q in paper.questions}
        extra = sorted(k for k in answers if k not in ids)
        if extra:
            meta["notes"].append(f"answers for questions that are not on your paper were ignored: {', '.join(extra)}")
        missing = [q.id for q in paper.questions if q.id not in answers]
        if missing:
            meta["notes"].append(f"no answer for: {', '.join(missing)}")
        rows = score_paper(paper, answers)
    return build_results(exam, rows, meta, time.monotonic() - t0)
