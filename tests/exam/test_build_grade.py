"""Exam build (papers, key, HTML self-contained) and grading of answer files, through the CLI."""
import json
import os
import re
import shutil

import nbformat
import pytest
from click.testing import CliRunner

from grader.cli import main
from grader.exam.build import RosterError, build_exam, read_roster
from grader.exam.exam import ExamError, load_exam, make_paper
from grader.exam.grade import AnswersError, grade_answers, load_answers

from .conftest import SECRET


def roster(tmp_path, text="id,name,lang\nalice,Alice A,en\nbob,Боб,ru\ncarol@uni.edu,Carol,\n"):
    p = tmp_path / "roster.csv"
    p.write_text(text, encoding="utf-8")
    return p


def test_exam_definition(exam):
    assert exam.id == "exam_midterm" and len(exam.slots) >= 15
    assert [s.id for s in exam.slots] == [f"q{i}" for i in range(1, len(exam.slots) + 1)]
    assert exam.max_score == sum(s.points for s in exam.slots)


def test_bad_exam_definitions(tmp_path):
    (tmp_path / "exam.toml").write_text('id = "x"\ntitle = "t"\n[[question]]\nkind = "nope"\n')
    with pytest.raises(ExamError, match="kind must be one of"):
        load_exam(tmp_path)
    (tmp_path / "exam.toml").write_text('id = "x"\ntitle = "t"\n[[question]]\nkind = "layer_params"\ncount = 0\n')
    with pytest.raises(ExamError, match="count"):
        load_exam(tmp_path)
    with pytest.raises(ExamError, match="no exam"):
        load_exam(tmp_path / "missing")


def test_same_student_same_paper_neighbours_differ(exam):
    a1 = make_paper(exam, "alice", SECRET)
    a2 = make_paper(exam, "alice", SECRET)
    b = make_paper(exam, "bob", SECRET)
    other_secret = make_paper(exam, "alice", b"another-course")
    assert [q.fingerprint() for q in a1.questions] == [q.fingerprint() for q in a2.questions]
    numeric = [i for i, q in enumerate(a1.questions) if not q.kind.startswith("mc_")]
    differ = sum(a1.questions[i].fingerprint() != b.questions[i].fingerprint() for i in numeric)
    assert differ >= len(numeric) - 1
    assert sum(x.fingerprint() != y.fingerprint() for x, y in zip(a1.questions, other_secret.questions)) >= len(numeric) - 1


def test_roster_errors(tmp_path):
    with pytest.raises(RosterError, match="no student id column"):
        read_roster(roster(tmp_path, "name\nAlice\n"))
    with pytest.raises(RosterError, match="duplicate"):
        read_roster(roster(tmp_path, "id\na\na\n"))
    with pytest.raises(RosterError, match="line 2: lang"):
        read_roster(roster(tmp_path, "id,lang\na,de\n"))
    rows = read_roster(roster(tmp_path, "\ufeffStudent_ID,Name\n s1 ,X\n"))
    assert rows[0].id == "s1" and rows[0].name == "X"


def test_build_writes_papers_and_key(tmp_path, exam, env):
    out = tmp_path / "out"
    r = CliRunner().invoke(main, ["exam", "build", "exam_midterm", "--roster", str(roster(tmp_path)),
                                  "-o", str(out), "--no-pdf"])
    assert r.exit_code == 0, r.output
    for name in ("alice", "bob", "carol@uni.edu"):
        md = (out / "papers" / f"{name}.md").read_text(encoding="utf-8")
        html = (out / "papers" / f"{name}.html").read_text(encoding="utf-8")
        assert "q16" in md and "<html" in html
        # self-contained: no script, no external resource, inline CSS
        assert "<script" not in html.lower() and "<style>" in html
        assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", html)
        assert not re.search(r"url\(", html)
    assert "Контрольная" in (out / "papers" / "bob.md").read_text(encoding="utf-8")
    assert "Midterm" in (out / "papers" / "alice.md").read_text(encoding="utf-8")
    assert not list((out / "papers").glob("*.pdf"))
    key = json.loads((out / "key.json").read_text(encoding="utf-8"))
    assert set(key["students"]) == {"alice", "bob", "carol@uni.edu"}
    # the key holds exactly the answers of each student's paper (regenerated independently)
    paper = make_paper(exam, "bob", SECRET, "ru")
    assert key["students"]["bob"]["answers"] == {q.id: q.answer_value for q in paper.questions}
    for q in paper.questions:
        assert q.text("ru").split("\n")[0][:40] in (out / "papers" / "bob.md").read_text(encoding="utf-8")
    key_md = (out / "key.md").read_text(encoding="utf-8")
    assert "Боб (bob)" in key_md and paper.questions[0].answer_text in key_md
    assert "<table" in (out / "key.html").read_text(encoding="utf-8")
    # rebuilding gives byte-identical papers
    out2 = tmp_path / "out2"
    CliRunner().invoke(main, ["exam", "build", "exam_midterm", "--roster", str(roster(tmp_path)),
                              "-o", str(out2), "--no-pdf"])
    assert (out2 / "papers" / "alice.md").read_bytes() == (out / "papers" / "alice.md").read_bytes()


def test_build_bad_roster_exit_code(tmp_path, env):
    r = CliRunner().invoke(main, ["exam", "build", "exam_midterm", "--roster", str(roster(tmp_path, "x\n1\n")),
                                  "-o", str(tmp_path / "o")])
    assert r.exit_code == 3 and "no student id column" in r.output


@pytest.mark.skipif(not (shutil.which("chromium") or shutil.which("wkhtmltopdf")), reason="no PDF converter")
def test_build_pdf_when_a_converter_exists(tmp_path, exam):
    report = build_exam(exam, roster(tmp_path, "id\nsolo\n"), tmp_path / "o", SECRET, pdf="auto")
    pdf = tmp_path / "o" / "papers" / "solo.pdf"
    assert report.pdf and pdf.read_bytes()[:5] == b"%PDF-"


def _answers_for(exam, student, lang=None):
    return {q.id: q.answer_value for q in make_paper(exam, student, SECRET, lang).questions}


def test_grade_full_marks_in_every_file_form(tmp_path, exam, env):
    ans = _answers_for(exam, "alice")
    (tmp_path / "a.json").write_text(json.dumps(ans))
    (tmp_path / "a.yaml").write_text("\n".join(f"{k}: {json.dumps(v)}" for k, v in ans.items()))
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell("%matplotlib inline\nimport numpy as np"),
                nbformat.v4.new_code_cell(f"ANSWERS = {ans!r}")]
    nbformat.write(nb, str(tmp_path / "a.ipynb"))
    (tmp_path / "a.py").write_text(f"ANSWERS = {ans!r}\n")
    for name in ("a.json", "a.yaml", "a.ipynb", "a.py"):
        out = tmp_path / f"{name}.results.json"
        r = CliRunner().invoke(main, ["exam", "grade", "exam_midterm", str(tmp_path / name), "--student", "alice",
                                      "-o", str(out)])
        assert r.exit_code == 0, (name, r.output)
        res = json.loads(out.read_text())
        assert res["score"] == res["max_score"] == exam.max_score
        assert res["convgrade"]["student"] == "alice" and res["convgrade"]["assignment"] == "exam_midterm"
        assert all(t["status"] == "passed" for t in res["tests"])


def test_grade_equivalent_forms_and_partial_credit(tmp_path, exam):
    paper = make_paper(exam, "bob", SECRET)
    ans = {}
    partial_q = None
    for q in paper.questions:
        v = q.answer_value
        if q.answer_type == "shape":
            if partial_q is None:     # one shape with one wrong dimension
                partial_q = q
                v = list(v)
                v[-1] += 1
            else:
                v = "x".join(map(str, v))          # 8x16x16 form
        elif q.answer_type == "tuple":
            v = tuple(v)
        elif q.answer_type == "int":
            v = f"{v:,}"
        elif q.answer_type == "choice":
            v = f"({v.lower()})"
        ans[q.id.upper()] = v                       # Q1 keys are fine too
    (tmp_path / "b.yaml").write_text("\n".join(f"{k}: {json.dumps(v if not isinstance(v, tuple) else list(v))}"
                                               for k, v in ans.items()))
    res = grade_answers(exam, tmp_path / "b.yaml", "bob", SECRET)
    lost = exam.max_score - res["score"]
    assert lost == pytest.approx(partial_q.points / 4)
    row = next(t for t in res["tests"] if t["name"].startswith(f"{partial_q.id}."))
    assert row["score"] == pytest.approx(0.75 * partial_q.points) and row["status"] == "failed"
    assert "3 of 4 numbers right" in row["output"]


def test_wrong_student_id_scores_low(tmp_path, exam):
    (tmp_path / "a.json").write_text(json.dumps(_answers_for(exam, "alice")))
    res = grade_answers(exam, tmp_path / "a.json", "bob", SECRET)
    assert res["score"] < exam.max_score / 2


@pytest.mark.parametrize("name,content,message", [
    ("x.yaml", "q1: [1, 2\nq2: 3", "invalid YAML on line"),
    ("x.json", "{\"q1\": 1,}", "invalid JSON on line 1"),
    ("x.json", "[1, 2, 3]", "must be a mapping"),
    ("x.py", "ANSWERS = {'q1': compute()}", "plain literal dict"),
    ("x.py", "x = 1", "no top-level `ANSWERS"),
    ("x.py", "ANSWERS = {'q1': 1, 1: 2}", "answered twice"),
    ("x.txt", "q1: 1", "answer files are"),
    ("x.ipynb", "{\"nbformat\": 4, \"cells\": []}", "no code cell assigns `ANSWERS"),
    ("x.ipynb", "{\"cells\": []}", "not a Jupyter notebook"),
    ("x.ipynb", "not json", "not a valid notebook"),
])
def test_malformed_answer_files(tmp_path, name, content, message):
    p = tmp_path / name
    p.write_text(content)
    with pytest.raises(AnswersError, match=message):
        load_answers(p)


def test_malformed_file_gives_results_with_load_error_and_exit_1(tmp_path, exam, env):
    p = tmp_path / "x.yaml"
    p.write_text("q1: [1, 2\n")
    out = tmp_path / "r.json"
    r = CliRunner().invoke(main, ["exam", "grade", "exam_midterm", str(p), "--student", "alice", "-o", str(out)])
    assert r.exit_code == 1
    assert "invalid YAML" in r.output
    res = json.loads(out.read_text())
    assert res["score"] == 0 and len(res["tests"]) == len(exam.slots)
    assert "invalid YAML" in res["convgrade"]["load_error"]
    r = CliRunner().invoke(main, ["exam", "grade", "exam_midterm", str(tmp_path / "none.yaml"), "--student", "a"])
    assert r.exit_code == 3


def test_notes_for_missing_and_unknown_answers(tmp_path, exam):
    (tmp_path / "a.json").write_text(json.dumps({"q1": [1, 2, 3, 4], "q99": 5}))
    res = grade_answers(exam, tmp_path / "a.json", "alice", SECRET)
    notes = " ".join(res["convgrade"]["notes"])
    assert "q99" in notes and "no answer for: q2" in notes
    assert os.path.basename(res["convgrade"]["filename"]) == "a.json"
