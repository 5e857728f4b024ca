"""The student's own notebook handed back with feedback under each question (like nbgrader).

``annotate(nb, results, lang, questions, names)`` returns a copy of the notebook ``nb`` with
one Markdown cell per question inserted under the question's last cell (its
``grader.check("<question>")`` cell in a released notebook, else the last code cell that defines
one of the question's names), a score summary cell at the top, and a cell at the end for checks
of no question found in the notebook. The inserted cells carry ``metadata.convgrade.feedback``
and the tag ``convgrade-feedback``; annotating an annotated notebook replaces them.

Everything in those cells that comes from results.json is made inert before it becomes Markdown:
outside code spans ``<``, ``>`` and ``&`` become entities and ``[``, ``]`` are escaped, so a
student-controlled string (a name, printed output) can neither add HTML nor a link or image.
``annotated_html(nb, lang)`` renders the annotated notebook as one self-contained page
(no script, every cell escaped).
"""
from __future__ import annotations

import ast
import copy
import html
import re
from pathlib import Path

from grader.report._html import esc, fmt_num, markdown_to_html, page
from grader.report.feedback import (_grouped, _is_hidden, _late_line, _points, _split_output,
                                    assignment_title, load_error_text, max_score, student_label,
                                    test_status, total_score)
from grader.i18n import tr

TAG = "convgrade-feedback"
_CODE = re.compile(r"(```.*?```|~~~.*?~~~|`[^`\n]*`)", re.S)


def inert(text) -> str:
    """Markdown that shows ``text`` as written: no HTML tag, entity, link or image survives outside
    code spans and fences (inside them Markdown shows everything literally anyway)."""
    parts = _CODE.split("" if text is None else str(text))
    out = []
    for i, part in enumerate(parts):
        if i % 2:
            out.append(part)
        else:
            out.append(part.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
                       .replace("[", "\\[").replace("]", "\\]"))
    return "".join(out)


def _is_feedback(cell) -> bool:
    return TAG in (cell.get("metadata", {}).get("tags") or [])


def _cell_source(cell) -> str:
    src = cell.get("source", "")
    return "".join(src) if isinstance(src, list) else str(src)


def _defines(source: str) -> set[str]:
    """Top-level names a code cell defines (a regex fallback when the cell does not parse)."""
    from grader.authoring.notebook import top_level_names
    from grader.submission import PARSE_LOCK

    try:
        with PARSE_LOCK:      # ast.parse is serialized process-wide (grader.submission)
            tree = ast.parse(source)
    except (SyntaxError, ValueError):
        return set(re.findall(r"^(?:class|def)\s+([A-Za-z_]\w*)", source, re.M))
    return top_level_names(tree)


def _anchor(cells, question: str, names: set[str]) -> int | None:
    """Index of the cell the question's feedback goes under, or None."""
    check = re.compile(r"""grader\.check\(\s*['"]""" + re.escape(question) + r"""['"]\s*\)""")
    hits = [i for i, c in enumerate(cells) if c.get("cell_type") == "code" and check.search(_cell_source(c))]
    if hits:
        return hits[-1]
    hits = [i for i, c in enumerate(cells) if c.get("cell_type") == "code" and names & _defines(_cell_source(c))]
    return hits[-1] if hits else None


def _question_markdown(q: str, group_all: list[dict], s: dict) -> str:
    failed = [t for t in group_all if test_status(t) == "failed"]
    got, total = _points(group_all)
    head = s["question"].format(q=q) if q else s["other_checks"]
    mark = "✅" if not failed else "❌"
    lines = [f"### {mark} {s['feedback']}: {inert(head)} — {fmt_num(got)} / {fmt_num(total)}", "",
             s["checks_passed"].format(n=len(group_all) - len(failed), total=len(group_all)) + ".", ""]
    for t in failed:
        hidden = f" ({s['hidden']})" if _is_hidden(t) else ""
        lines += [f"**{inert(t.get('name', '?'))}**{hidden} — {fmt_num(t.get('score'))} / "
                  f"{fmt_num(t.get('max_score'))}", ""]
        case, body, diags = _split_output(t)
        if case:
            lines += [f"*{s['case']}:* {inert(case)}", ""]
        if body:
            lines += [inert(body.strip()), ""]
        lines += [f"> **{s['diagnoses']}:** {inert(msg)}\n" for msg in diags]
    return "\n".join(lines).rstrip() + "\n"


def _summary_markdown(results: dict, s: dict) -> str:
    title = assignment_title(results)
    who = s["feedback_for"].format(student=student_label(results))
    lines = [f"## {inert(title + ' — ' if title else '')}{inert(who)}", "",
             f"**{s['total']}: {fmt_num(total_score(results))} / {fmt_num(max_score(results))}**", ""]
    late = _late_line(results, s)
    if late:
        lines += [f"> {inert(late)}", ""]
    err = load_error_text(results)
    if err:
        lines += [f"**{s['load_error']}:**", "", "```", err.replace("`", "ˋ"), "```", ""]
    lines += [f"*{s['annotated_note']}*"]
    return "\n".join(lines) + "\n"


def _feedback_cell(source: str, question: str | None):
    import nbformat

    return nbformat.v4.new_markdown_cell(
        source, metadata={"tags": [TAG], "convgrade": {"feedback": True, "question": question},
                          "editable": False, "deletable": True})


def annotate(nb, results: dict, lang: str = "en", questions: dict[str, str] | None = None,
             names: dict[str, set[str]] | None = None):
    """A copy of notebook ``nb`` (nbformat v4) with the feedback of ``results`` under each question.

    ``questions``: ``{check number: question}`` (``question_map``); ``names``: ``{question: names
    its code defines}`` (``question_names``), used where the notebook has no ``grader.check`` cell.
    """
    import nbformat

    s = tr(lang)
    nb = copy.deepcopy(nb)
    nb.cells = [c for c in nb.cells if not _is_feedback(c)]
    _, _, groups = _grouped(results, questions)
    inserts: dict[int, list] = {}
    leftover = []
    for q, group in groups.items():
        at = _anchor(nb.cells, q, (names or {}).get(q, set())) if q else None
        cell = _feedback_cell(_question_markdown(q, group, s), q or None)
        if at is None:
            leftover.append(cell)
        else:
            inserts.setdefault(at, []).append(cell)
    cells = [_feedback_cell(_summary_markdown(results, s), None)]
    for i, c in enumerate(nb.cells):
        cells.append(c)
        cells += inserts.get(i, [])
    nb.cells = cells + leftover
    nbformat.validate(nb)
    return nb


def annotated_html(nb, lang: str = "en", title: str = "") -> str:
    """The annotated notebook as one self-contained HTML page: Markdown cells through the escaping
    Markdown subset, code cells as escaped code, feedback cells highlighted."""
    b = []
    for c in nb.cells:
        src = _cell_source(c)
        if c.get("cell_type") == "code":
            b.append(f"<pre><code>{esc(src)}</code></pre>")
        elif _is_feedback(c):
            plain = html.unescape(src).replace("\\[", "[").replace("\\]", "]")   # escaped again below
            b.append(f'<div class="diag">{markdown_to_html(plain)}</div>')
        elif c.get("cell_type") == "markdown":
            b.append(markdown_to_html(src))
    return page(title or tr(lang)["feedback"], "\n".join(b), lang)


def write_feedback(folder: str | Path, results: dict, lang: str | None = None, *, assignment=None,
                   notebook: str | Path | None = None) -> list[Path]:
    """Write ``feedback.md`` and ``feedback.html`` into ``folder`` and, when ``notebook`` is an
    ``.ipynb``, ``<stem>.annotated.ipynb`` and ``<stem>.annotated.html``; returns the paths.
    ``lang`` None: the language the results were graded in, else the course's (``default_lang``)."""
    import nbformat

    from grader.report.feedback import render_html, render_markdown
    from grader.report.questions import question_map, question_names
    from grader.results import write_text_atomic

    from grader.i18n import default_lang, results_lang

    lang = lang or results_lang(results) or default_lang()
    folder = Path(folder)
    questions = question_map(assignment) if assignment is not None else None
    written = []
    for name, text in (("feedback.md", render_markdown(results, lang, questions)),
                       ("feedback.html", render_html(results, lang, questions))):
        write_text_atomic(folder / name, text)
        written.append(folder / name)
    if notebook is not None and Path(notebook).suffix == ".ipynb":
        nb = nbformat.read(str(notebook), as_version=4)
        names = question_names(assignment) if assignment is not None else None
        out = annotate(nb, results, lang, questions, names)
        stem = Path(notebook).stem
        write_text_atomic(folder / f"{stem}.annotated.ipynb", nbformat.writes(out))
        write_text_atomic(folder / f"{stem}.annotated.html", annotated_html(out, lang, stem))
        written += [folder / f"{stem}.annotated.ipynb", folder / f"{stem}.annotated.html"]
    return written


__all__ = ["annotate", "annotated_html", "inert", "write_feedback", "TAG"]
