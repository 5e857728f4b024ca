"""Acceptance (issue 14): the feedback of every bundled example submission and of the bundled
exam, graded and rendered in Russian, holds no English sentence outside code.

``english_sentences(text)`` is the detector: it drops what is code or data (HTML ``<pre>``,
``<code>``, ``<style>``; Markdown code fences and spans; tracebacks; identifiers, numbers, file
names, paths and URLs) and reports every run of at least three consecutive plain English words
(ASCII letters, mostly lowercase) in what is left.

Two tests per assignment: ``test_assignment_texts_are_russian`` holds what this assignment's own
data contributes (row names, title) to no English at all; ``test_feedback_has_no_english``
holds the whole rendered pages.
"""
from __future__ import annotations

import functools
import html as _html
import json
import re
from pathlib import Path

import pytest

from grader import assignment
from grader.i18n import language

SECRET = b"convgrade-test-secret-for-i18n-0000"

# --------------------------------------------------------------------------------------- detector

# Words that are code or course jargon written in Latin letters inside Russian text.
ALLOW = {
    "numpy", "torch", "pytorch", "max", "min", "float32", "float64", "int64", "nan", "inf", "eval", "train",
    "nearest", "bilinear", "same", "valid", "reflect", "replicate", "circular", "zeros", "bias", "depthwise",
    "separable", "pointwise", "dropout", "inverted", "softmax", "sigmoid", "tanh", "relu", "logits",
    "dilation", "groups", "momentum", "eps", "affine", "padding", "stride", "kernel", "shortcut", "true",
    "false", "none", "ceil", "floor", "log", "mac", "macs", "yaml", "json", "ipynb", "py", "csv", "html",
    "utf", "pdf", "kb", "mb", "gb", "ms", "convgrade", "bwrap", "seccomp", "cgroup", "cgroups", "rlimits",
}
_BLOCKS = [
    re.compile(r"<(style|script|pre|code)\b[^>]*>.*?</\1\s*>", re.S | re.I),   # HTML code and CSS
    re.compile(r"```.*?(```|\Z)", re.S),                                        # Markdown fences
    re.compile(r"`[^`\n]*`"),                                                   # Markdown code spans
    re.compile(r"^Traceback \(most recent call last\):.*?(?:\n\s*\n|\Z)", re.S | re.M),
    re.compile(r'^\s*File "[^"\n]*", line \d+.*$', re.M),
]
_ATTR_TEXT = re.compile(r'\b(?:title|alt|aria-label)="([^"]*)"', re.I)   # read by people: kept
_TAG = re.compile(r"<[^>]*>")
_URL = re.compile(r"\b(?:https?|file)://\S+")
_PATH = re.compile(r"(?:[\w.~-]*/)+[\w.-]*|\b[\w-]+\.(?:py|ipynb|json|ya?ml|toml|csv|html?|md|txt|zip|pdf|npy)\b",
                   re.I)
_MD_LINK = re.compile(r"\]\([^)]*\)")
# a token: letters (any script), digits, _ . ' and inner hyphens
_TOKEN = re.compile(r"[^\W_][\w.'’-]*", re.UNICODE)
# what breaks a run of words: sentence punctuation and brackets (commas and spaces do not)
_BREAK = re.compile(r"[.:;!?()\[\]{}|=<>\"«»—–/\\*#+]")


def _is_word(tok: str) -> bool:
    """A plain English word: ASCII letters only, lowercase or Capitalized, not jargon."""
    if not re.fullmatch(r"[A-Za-z]+(?:'[a-z]+)?", tok):
        return False
    if tok.lower() in ALLOW:
        return False
    if len(tok) == 1:
        return tok in ("a", "A", "I")
    if tok.isupper():                         # PASS, ID, ANSWERS, MNIST: acronyms and constants
        return False
    if re.search(r"[a-z][A-Z]", tok):          # camelCase / ReLU / BatchNorm
        return False
    return True


def english_sentences(text: str) -> list[str]:
    """Every run of >= 3 consecutive plain English words outside code, with at least two of them
    lowercase (a list of class names such as ``Tanh, Sigmoid, Softplus`` is not a sentence)."""
    text = str(text)
    kept = " . ".join(_ATTR_TEXT.findall(text))
    for rx in _BLOCKS:
        text = rx.sub(" . ", text)
    text = _TAG.sub(" . ", text) + " . " + kept
    text = _html.unescape(text)
    text = _MD_LINK.sub("] ", text)
    text = _URL.sub(" . ", text)
    text = _PATH.sub(" . ", text)
    found: list[str] = []
    for segment in _BREAK.split(text):
        run: list[str] = []
        for tok in _TOKEN.findall(segment) + [""]:
            tok = tok.strip(".'’-")
            if tok and _is_word(tok):
                run.append(tok)
                continue
            if len(run) >= 3 and sum(w.islower() for w in run) >= 2:
                found.append(" ".join(run))
            run = []
    return found


@pytest.mark.parametrize("text, expected", [
    ("Случай: вход размера (2, 3)", []),
    ("Случай: input of shape (2, 3) could not be evaluated", ["input of shape", "could not be evaluated"]),
    ("Ошибка: `grad_out is not defined` в строке 3", []),
    ("<pre><code>raise ValueError('this is not right')</code></pre><p>Всё верно</p>", []),
    ("<p>Your answer is wrong</p>", ["Your answer is wrong"]),
    ("Traceback (most recent call last):\n  File \"x.py\", line 3, in f\nValueError: bad value here\n\nГотово",
     []),
    ("Tanh, Sigmoid, Softplus: прямой проход", []),
    ("Conv2d: прямой проход, padding='same', ядро 4x4", []),
    ("ожидалась дробь, например 3/4, или число 0.72", []),
    ("файл submission.py и /tmp/a/b.ipynb не найден", []),
    ("The max of the window", ["of the window"]),         # jargon breaks a run
    ('<span title="expected a whole number">?</span>', ["expected a whole number"]),
    ("Оценка: 3 / 5 · isolation: process · convgrade 0.1", []),
    ("shape mismatch: got (2, 3)", []),                    # two words only
])
def test_detector(text, expected):
    assert english_sentences(text) == expected


# --------------------------------------------------------------------------------------- grading

IDS = assignment.available()


def _slow(a) -> bool:
    """Torch models and torch training take 10 s to minutes per graded example."""
    return a.allow_torch


def _examples(a, folder: Path) -> list[Path]:
    """The bundled examples (grader.authoring.examples) worth grading within the time budget:
    all of them, but for torch assignments (10 s to minutes per run) only those that fail before
    any check runs: the import crash and the hand-written ones."""
    from grader.authoring.examples import write_examples

    paths = write_examples(a, folder)
    if _slow(a):
        paths = [p for p in paths if p.stem == "import_crash" or (a.path / "examples" / p.name).is_file()]
    return paths


@functools.lru_cache(maxsize=None)
def graded(aid: str, tmp: str) -> tuple:
    """``[(example name, results, markdown, html, annotated feedback cells)]`` graded and
    rendered in Russian (cached: both tests of an assignment share it)."""
    import nbformat

    from grader.grade import grade_submission
    from grader.report.annotate import annotate
    from grader.report.feedback import render_html, render_markdown
    from grader.report.questions import question_map, question_names

    a = assignment.load(aid)
    questions = question_map(a)
    names = question_names(a)
    out = []
    for path in _examples(a, Path(tmp)):
        results = grade_submission(a, path, student="alice", secret=SECRET, lang="ru")
        md = render_markdown(results, "ru", questions)
        page = render_html(results, "ru", questions)
        cells = []
        if path.suffix == ".ipynb":
            try:
                nb = nbformat.read(str(path), as_version=4)
            except Exception:                      # noqa: BLE001 - a broken example notebook
                nb = None
            if nb is not None:
                annotated = annotate(nb, results, "ru", questions, names)
                cells = ["".join(c.source) for c in annotated.cells
                         if "convgrade-feedback" in c.get("metadata", {}).get("tags", [])]
        out.append((path.name, results, md, page, cells))
    return tuple(out)


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    return tmp_path_factory.mktemp("examples")


def _where(name: str, sentence: str, kind: str) -> str:
    return f"{name} ({kind}): {sentence}"


# results.json fields that hold what the student's own code printed or answered, not the grader's words
STUDENT_FIELDS = {"stdout_tail", "stdout", "given"}


def _strings(value):
    """Every string inside a results.json value (what Gradescope and the pages show), but the
    student's own output and answers (:data:`STUDENT_FIELDS`)."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for k, v in value.items():
            if k not in STUDENT_FIELDS:
                yield from _strings(v)
    elif isinstance(value, (list, tuple)):
        for v in value:
            yield from _strings(v)


@pytest.mark.parametrize("aid", IDS)
def test_assignment_texts_are_russian(aid, workdir):
    """Row names and the title come from the assignment's data: no English; every example was
    graded in Russian (the whole pages are the next test's)."""
    a = assignment.load(aid)
    with language("ru"):
        bad = [s.display_name for s in a.checks if english_sentences(s.display_name)]
    bad += [a.title_ru] if english_sentences(a.title_ru) else []
    assert bad == []
    rows = graded(aid, str(workdir / aid))
    assert rows and all(results["convgrade"].get("lang") == "ru" for _, results, *_ in rows)
    assert all(len(results["tests"]) >= len(a.checks) for _, results, *_ in rows)


@pytest.mark.parametrize("aid", IDS)
def test_feedback_has_no_english(aid, workdir):
    found = []
    for name, results, md, page, cells in graded(aid, str(workdir / aid)):
        found += [_where(name, s, "results.json") for text in _strings(results) for s in english_sentences(text)]
        found += [_where(name, s, "feedback.md") for s in english_sentences(md)]
        found += [_where(name, s, "feedback.html") for s in english_sentences(page)]
        for cell in cells:
            found += [_where(name, s, "annotated notebook") for s in english_sentences(cell)]
    assert found == [], "\n".join(dict.fromkeys(found))


# --------------------------------------------------------------------------------------- the exam

def _exam_answers(paper) -> list[tuple[str, str]]:
    """Answer files covering every verdict: all right, all wrong in each way, unreadable."""
    right = {q.id: q.answer_value for q in paper.questions}
    wrong = {}
    for i, q in enumerate(paper.questions):
        if q.answer_type in ("shape", "tuple"):
            v = list(q.answer_value)
            wrong[q.id] = [v[0] + 1] + v[1:] if i % 2 else v + [1]      # partly right / wrong length
        elif q.answer_type == "choice":
            wrong[q.id] = "Z" if i % 2 else ("A" if q.answer != "A" else "B")
        elif q.answer_type == "ratio":
            wrong[q.id] = "1/1000"
        else:
            wrong[q.id] = "много" if i % 2 else int(q.answer_value) + 1
    del wrong[paper.questions[-1].id]                                   # one missing
    wrong["q99"] = 1                                                    # one not on the paper
    return [("right.json", json.dumps(right)), ("wrong.json", json.dumps(wrong, ensure_ascii=False)),
            ("broken.yaml", "q1: [1, 2\n"), ("alias.yaml", "a: &x [1]\nb: *x\n"),
            ("code.py", "ANSWERS = {'q1': compute()}\n"), ("notes.txt", "q1: 5\n")]


def test_exam_in_russian_has_no_english(tmp_path):
    from grader.exam import load_exam, make_paper
    from grader.exam.grade import grade_answers
    from grader.exam.render import key_markdown, paper_markdown
    from grader.report.feedback import render_html, render_markdown

    exam = load_exam("exam_midterm")
    paper = make_paper(exam, "bob", SECRET, "ru")
    found = [_where("paper", s, "paper.md") for s in english_sentences(paper_markdown(paper, "Боб"))]
    found += [_where("key", s, "key.md") for s in english_sentences(key_markdown([(paper, "Боб")], exam, "ru"))]
    for name, text in _exam_answers(paper):
        path = tmp_path / name
        path.write_text(text, encoding="utf-8")
        results = grade_answers(exam, path, "bob", SECRET, lang="ru")
        assert results["convgrade"]["lang"] == "ru"
        found += [_where(name, s, "results.json") for text in _strings(results) for s in english_sentences(text)]
        for kind, rendered in (("feedback.md", render_markdown(results, "ru")),
                               ("feedback.html", render_html(results, "ru"))):
            found += [_where(name, s, kind) for s in english_sentences(rendered)]
    assert found == [], "\n".join(dict.fromkeys(found))


def test_exam_in_english_stays_english(tmp_path):
    """The same answers graded in English: the verdicts are English (the detector finds them)."""
    from grader.exam import load_exam, make_paper
    from grader.exam.grade import grade_answers

    exam = load_exam("exam_midterm")
    paper = make_paper(exam, "bob", SECRET, "en")
    path = tmp_path / "wrong.json"
    path.write_text(_exam_answers(paper)[1][1], encoding="utf-8")
    with language("en"):
        results = grade_answers(exam, path, "bob", SECRET, lang="en")
    assert results["convgrade"]["lang"] == "en"
    assert [s for text in _strings(results) for s in english_sentences(text)]
