"""The annotated notebook (``convgrade feedback``, ``convgrade grade --feedback-dir``): valid
nbformat, the feedback of each question right under it, student text inert."""
from __future__ import annotations

import json
import re

import nbformat
import pytest
from click.testing import CliRunner

from grader.assignment import load
from grader.authoring.mutants import load_mutants
from grader.authoring.notebook import parse
from grader.cli import main
from grader.report.annotate import TAG, annotate, annotated_html, inert
from grader.report.questions import question_map, question_names

from .fixtures import make_results


@pytest.fixture(scope="module")
def student_notebook(tmp_path_factory):
    """a2_convolution's master code as a student notebook with the flipped-kernel mutant: a
    heading per question, its code cells, and a ``grader.check`` cell after the pooling question."""
    a = load("a2_convolution")
    master = parse(a.path)
    mutant = next(m for m in load_mutants(a.path) if m.name == "conv2d_flipped_kernel")
    old, new = mutant.replace[0]
    cells = [nbformat.v4.new_markdown_cell("# Convolution homework")]
    owner = {}
    for q in master.questions:
        for code in q.cells:
            owner[code] = q.name
    seen = set()
    for code in master.code_cells:
        q = owner.get(code)
        if q and q not in seen:
            seen.add(q)
            cells.append(nbformat.v4.new_markdown_cell(f"## Question {q}"))
        cells.append(nbformat.v4.new_code_cell(code.replace(old, new)))
        if q == "pooling" and code == [c for c in master.code_cells if owner.get(c) == "pooling"][-1]:
            cells.append(nbformat.v4.new_code_cell('grader.check("pooling")'))
    nb = nbformat.v4.new_notebook(cells=cells)
    path = tmp_path_factory.mktemp("nb") / "alice.ipynb"
    nbformat.write(nb, str(path))
    return a, path


def _feedback_cells(nb):
    return [(i, c) for i, c in enumerate(nb.cells) if TAG in c.metadata.get("tags", [])]


def test_grade_feedback_dir_and_feedback_command(student_notebook, tmp_path):
    a, nb_path = student_notebook
    runner = CliRunner()
    res = runner.invoke(main, ["grade", "a2_convolution", str(nb_path), "--student", "alice", "--isolation",
                               "process", "-o", str(tmp_path / "r.json"), "--feedback-dir", str(tmp_path / "fb")])
    assert res.exit_code == 1, res.output                   # checks failed
    written = sorted(p.name for p in (tmp_path / "fb").iterdir())
    assert written == ["alice.annotated.html", "alice.annotated.ipynb", "feedback.html", "feedback.md"]
    annotated = nbformat.read(str(tmp_path / "fb" / "alice.annotated.ipynb"), as_version=4)
    nbformat.validate(annotated)
    fb = _feedback_cells(annotated)
    assert fb[0][0] == 0 and "Total score" in fb[0][1].source             # the summary on top
    by_q = {c.metadata["convgrade"]["question"]: i for i, c in fb[1:]}
    assert set(by_q) == {"conv2d", "pooling", "conv1d", "sizes", "vanishing"}
    # each question's feedback comes after its own code and before the next question's heading
    headings = {c.source.split()[-1]: i for i, c in enumerate(annotated.cells)
                if c.cell_type == "markdown" and c.source.startswith("## Question ")}
    order = sorted(headings, key=headings.get)
    for q, nxt in zip(order, order[1:] + [None]):
        assert headings[q] < by_q[q] < (headings[nxt] if nxt else len(annotated.cells))
    assert 'grader.check("pooling")' in annotated.cells[by_q["pooling"] - 1].source
    conv = annotated.cells[by_q["conv2d"]].source
    assert conv.startswith("### ❌") and "Conv2d forward: 3x3, no padding" in conv
    assert conv.count("Your output matches a") >= 1 and "flipped_kernel" not in conv
    assert annotated.cells[by_q["pooling"]].source.startswith("### ✅")
    # the student's own cells are all still there, unchanged
    original = nbformat.read(str(nb_path), as_version=4)
    assert [c.source for c in annotated.cells if TAG not in c.metadata.get("tags", [])] == \
        [c.source for c in original.cells]

    # the feedback command makes the same notebook from the results.json
    out = tmp_path / "again.ipynb"
    res = runner.invoke(main, ["feedback", str(nb_path), str(tmp_path / "r.json"), "-o", str(out),
                               "--html", str(tmp_path / "again.html"), "--lang", "ru"])
    assert res.exit_code == 0, res.output
    again = nbformat.read(str(out), as_version=4)
    nbformat.validate(again)
    assert [c.metadata["convgrade"]["question"] for _, c in _feedback_cells(again)] == \
        [c.metadata["convgrade"]["question"] for _, c in fb]
    assert "Вопрос conv2d" in again.cells[by_q["conv2d"]].source
    page = (tmp_path / "again.html").read_text(encoding="utf-8")
    assert "<script" not in page and "Вопрос conv2d" in page
    # annotating an annotated notebook replaces the feedback instead of stacking it
    twice = annotate(again, json.loads((tmp_path / "r.json").read_text()), "en", question_map(a), question_names(a))
    assert len(_feedback_cells(twice)) == len(fb)


def test_feedback_command_bad_input(tmp_path):
    bad = tmp_path / "x.ipynb"
    bad.write_text("{not json")
    res = CliRunner().invoke(main, ["feedback", str(bad), str(bad), "-o", str(tmp_path / "o.ipynb")])
    assert res.exit_code == 3 and "results.json" in res.output


def test_student_text_is_inert():
    res = make_results("<img src=x onerror=alert(1)>", "failing", name="Eve <b>[x](http://evil)</b>")
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("def conv2d_forward(): pass")])
    out = annotate(nb, res, "en")
    nbformat.validate(out)
    text = "\n".join(c.source for c in out.cells[:1] + out.cells[2:])
    outside_code = re.sub(r"```.*?```", "", text, flags=re.S)       # code blocks show text literally
    assert "<" not in outside_code.replace("&lt;", "")
    assert "&lt;img src=x" in text and "\\[x\\](http://evil)" in text
    assert inert("a `<b>` <b> [l](u)") == "a `<b>` &lt;b&gt; \\[l\\](u)"
    page = annotated_html(out)
    assert "<img" not in page and "<script>" not in page
