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
import hashlib
import json
import time
from pathlib import Path

import yaml

from .. import __version__
from ..checks.base import CheckSpec, Part
from ..results import build_results
from ..submission import SubmissionError, json_depth_ok, read_notebook_cells
from .answers import score_answer
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
            raise AnswersError(f"{name}: too many YAML items for an answer file")
        if isinstance(ev, yaml.AliasEvent) or getattr(ev, "anchor", None):
            raise AnswersError(f"{name}: YAML anchors and aliases (&, *) are not allowed in answer files")
        if isinstance(ev, (yaml.MappingStartEvent, yaml.SequenceStartEvent)):
            depth += 1
            if depth > MAX_DEPTH:
                raise AnswersError(f"{name}: answers nest deeper than {MAX_DEPTH} levels")
        elif isinstance(ev, (yaml.MappingEndEvent, yaml.SequenceEndEvent)):
            depth -= 1
    return yaml.safe_load(text)


def _bounded_value(value, depth: int = 0):
    """A small answer value, or AnswersError (lists of numbers, short strings, numbers)."""
    if depth > 3:
        raise AnswersError("an answer nests too deeply")
    if isinstance(value, str):
        if len(value) > MAX_STR:
            raise AnswersError(f"an answer is a text of {len(value)} characters")
        return value
    if isinstance(value, (list, tuple)):
        if len(value) > MAX_VALUE_ITEMS:
            raise AnswersError(f"an answer is a list of {len(value)} items")
        return type(value)(_bounded_value(v, depth + 1) for v in value)
    if isinstance(value, dict):
        raise AnswersError("an answer is itself a mapping; each answer is a number, a shape, a ratio or a letter")
    return value


def _from_source(source: str, where: str) -> object:
    try:
        tree = ast.parse(source)
    except SyntaxError as exc:
        raise AnswersError(f"{where}: Python syntax error on line {exc.lineno}: {exc.msg}") from None
    except (MemoryError, RecursionError, ValueError):
        raise AnswersError(f"{where}: the code is nested too deeply to be read") from None
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
    """The answers of a file as ``{"q1": value, ...}``, or :class:`AnswersError` (never another
    exception: whatever a parser raises on a crafted file becomes the reason)."""
    try:
        return _load_answers(Path(path))
    except AnswersError:
        raise
    except (Exception, RecursionError, MemoryError) as exc:   # noqa: BLE001 - hostile bytes
        raise AnswersError(f"{Path(path).name}: could not be read as an answer file "
                           f"({type(exc).__name__})") from None


def _load_answers(path: Path) -> dict[str, object]:
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise AnswersError(f"cannot read {path.name}: {exc.strerror}") from None
    if len(raw) > MAX_BYTES:
        raise AnswersError(f"{path.name} is larger than {MAX_BYTES // 1000} kB: not an answer file")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise AnswersError(f"{path.name} is not UTF-8 text") from None
    suffix = path.suffix.lower()
    if suffix in (".yaml", ".yml"):
        try:
            data = _yaml_bounded(text, path.name)
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            line = f" on line {mark.line + 1}" if mark is not None else ""
            raise AnswersError(f"{path.name}: invalid YAML{line}: {getattr(exc, 'problem', exc)}") from None
    elif suffix == ".json":
        if not json_depth_ok(text, MAX_DEPTH):
            raise AnswersError(f"{path.name}: answers nest deeper than {MAX_DEPTH} levels")
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise AnswersError(f"{path.name}: invalid JSON on line {exc.lineno}: {exc.msg}") from None
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
    if len(data) > MAX_KEYS:
        raise AnswersError(f"{path.name}: {len(data)} answers; an exam has far fewer questions")
    out: dict[str, object] = {}
    for key, value in data.items():
        if isinstance(key, bool) or not isinstance(key, (str, int)):
            raise AnswersError(f"{path.name}: question keys are q1, q2, ...; got {key!r}")
        norm = str(key).strip().lower()
        if norm.isdigit():
            norm = f"q{int(norm)}"
        if len(norm) > 20:
            raise AnswersError(f"{path.name}: question keys are q1, q2, ...; got a long key")
        if norm in out:
            raise AnswersError(f"{path.name}: question {norm} is answered twice")
        try:
            out[norm] = _bounded_value(value)
        except AnswersError as exc:
            raise AnswersError(f"{path.name}: {norm}: {exc}") from None
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
