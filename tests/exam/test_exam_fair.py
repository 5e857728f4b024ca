"""Exam judgement that cannot be fooled or crashed (issue 12, item 9; issue 11, class 5).

Hostile answer files become the student's row with a reason, quickly and with bounded memory;
Russian-layout letters count; no prompt shows its own answer; ``exam grade --papers`` refuses a
wrong student id or another course secret.
"""
import json
from fractions import Fraction

import nbformat
import numpy as np
import pytest
from click.testing import CliRunner

from grader.cli import main
from grader.exam.answers import parse_choice, score_answer
from grader.exam.build import build_exam, verify_paper
from grader.exam.exam import make_paper
from grader.exam.grade import AnswersError, grade_answers, load_answers
from grader.exam.questions import factorized_ratio

SECRET = b"exam-fair-secret"


def _alias_bomb() -> str:
    text = 'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]\n'
    prev = "a"
    for name in "bcdefghi":
        text += f"{name}: &{name} [" + ",".join(["*" + prev] * 9) + "]\n"
        prev = name
    return text + "q1: *i\n"


def _notebook_with_int_in_source() -> str:
    nb = {"cells": [{"cell_type": "code", "source": ["ANSWERS = {'q1': 1}\n", 5], "metadata": {},
                     "outputs": [], "execution_count": None}], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}
    return json.dumps(nb)


HOSTILE = {
    "deep.json": '{"q1": ' + "[" * 100_000 + "]" * 100_000 + "}",
    "deep.yaml": "q1: " + "[" * 100_000 + "]" * 100_000 + "\n",
    "digits.yaml": "q1: " + "1" * 100_000 + "\n",
    "digits.json": '{"q1": ' + "1" * 100_000 + "}",
    "minus.py": "ANSWERS = {'q1': " + "-" * 100_000 + "1}\n",
    "source.ipynb": _notebook_with_int_in_source(),
    "bomb.yaml": _alias_bomb(),
    "wide.json": json.dumps({"q1": list(range(10_000))}),
    "keys.json": json.dumps({f"q{i}": 1 for i in range(1000)}),
    "big.py": "ANSWERS = {'q1': " + "9" * 5000 + "}\n",
}


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_hostile_answer_file_is_the_students_row_with_a_reason(tmp_path, exam, name):
    p = tmp_path / name
    p.write_text(HOSTILE[name], encoding="utf-8")
    res = grade_answers(exam, p, "alice", SECRET)
    assert res["score"] == 0 and len(res["tests"]) == len(exam.slots)
    reason = res["convgrade"]["load_error"]
    assert reason.startswith("Your answer file could not be read") and len(reason) < 400
    assert len(json.dumps(res)) < 200_000   # no amplification into results.json


def test_alias_bomb_is_refused_by_name(tmp_path):
    p = tmp_path / "bomb.yaml"
    p.write_text(_alias_bomb())
    with pytest.raises(AnswersError, match="anchors and aliases"):
        load_answers(p)


def test_huge_numbers_in_answers_read_as_format_errors():
    frac, verdict = score_answer("int", 1234, 10 ** 5000)
    assert frac == 0 and "digits" in verdict
    frac, verdict = score_answer("ratio", Fraction(3, 4), "1" * 1000 + "/4")
    assert frac == 0 and len(verdict) < 200


@pytest.mark.parametrize("typed,letter", [("А", "A"), ("В", "B"), ("с", "C"), ("(Е)", "E"), ("b", "B")])
def test_cyrillic_lookalike_letters_are_the_latin_choices(typed, letter):
    assert parse_choice(typed, 5) == letter


OPTIONS = [("Batch statistics of the test batch.", "Статистики тестового батча."),
           ("The running mean and variance accumulated during training.", "Скользящие среднее и дисперсия.")]


@pytest.mark.parametrize("typed,letter", [
    ("B) The running mean", "B"), ("(b) the running mean and variance accumulated during training.", "B"),
    ("В) Скользящие", "B"), ("b. The  running\nmean", "B"),
    ("The running mean and variance accumulated during training", "B"), ("Статистики тестового батча.", "A")])
def test_an_option_copied_from_the_paper_reads_as_its_letter(typed, letter):
    assert parse_choice(typed, 2, OPTIONS) == letter
    frac, _ = score_answer("choice", letter, typed, n_choices=2, choices=OPTIONS)
    assert frac == 1.0


@pytest.mark.parametrize("typed", ["A) The running mean", "The running", "C) Batch statistics", "x" * 5000])
def test_a_letter_with_another_options_text_or_a_fragment_alone_is_not_read(typed):
    frac, verdict = score_answer("choice", "B", typed, n_choices=2, choices=OPTIONS)
    assert frac == 0 and "could not read your answer" in verdict and len(verdict) < 300
    assert ("not option A's" in verdict) == typed.startswith("A)")


def test_russian_layout_answers_score_in_a_graded_file(tmp_path, exam):
    paper = make_paper(exam, "alice", SECRET)
    cyr = str.maketrans({"A": "А", "B": "В", "C": "С", "E": "Е"})
    ans = {q.id: (q.answer_value.translate(cyr) if q.answer_type == "choice" else q.answer_value)
           for q in paper.questions}
    assert any(q.answer_type == "choice" and q.answer_value in "ABCE" for q in paper.questions)
    (tmp_path / "a.yaml").write_text("\n".join(f"{k}: {json.dumps(v, ensure_ascii=False)}" for k, v in ans.items()),
                                     encoding="utf-8")
    res = grade_answers(exam, tmp_path / "a.yaml", "alice", SECRET)
    assert res["score"] == exam.max_score


@pytest.mark.parametrize("lang", ["en", "ru"])
def test_factorized_ratio_prompt_never_shows_its_own_answer(lang):
    for seed in range(60):
        q = factorized_ratio(np.random.default_rng(seed), lang)
        frac = Fraction(q.answer)
        shown = {f"{frac.numerator}/{frac.denominator}", f"{2 * (frac.numerator)}/{2 * frac.denominator}",
                 "18/25" if frac == Fraction(18, 25) else "-"}
        prompt = q.text(lang)
        assert not any(s in prompt for s in shown), (seed, prompt)


def test_every_ratio_question_of_the_exam_hides_its_answer(exam):
    for k in range(40):
        for q in make_paper(exam, f"s{k}", SECRET).questions:
            if q.answer_type == "ratio":
                frac = Fraction(q.answer)
                assert f"{frac.numerator}/{frac.denominator}" not in q.text_en + q.text_ru, q.id


def _roster(tmp_path):
    p = tmp_path / "roster.csv"
    p.write_text("id,name,lang\nalice,Alice,en\nbob,Bob,ru\n", encoding="utf-8")
    return p


def test_verify_paper_names_a_wrong_id_and_a_wrong_secret(tmp_path, exam):
    build_exam(exam, _roster(tmp_path), tmp_path / "papers", SECRET, pdf="no")
    assert verify_paper(exam, "alice", SECRET, tmp_path / "papers") == []
    assert any("no paper was built for student 'Alice'" in p and "did you mean 'alice'" in p
               for p in verify_paper(exam, "Alice", SECRET, tmp_path / "papers"))
    assert any("fingerprints differ" in p for p in verify_paper(exam, "alice", b"another TA's secret",
                                                                  tmp_path / "papers"))


def test_exam_grade_with_papers_refuses_a_mismatch_and_grades_a_match(tmp_path, exam, monkeypatch):
    monkeypatch.setenv("CONVGRADE_SECRET", SECRET.decode())
    build_exam(exam, _roster(tmp_path), tmp_path / "papers", SECRET, pdf="no")
    ans = {q.id: q.answer_value for q in make_paper(exam, "alice", SECRET).questions}
    (tmp_path / "a.json").write_text(json.dumps(ans))
    args = ["exam", "grade", "exam_midterm", str(tmp_path / "a.json"), "--papers", str(tmp_path / "papers")]
    r = CliRunner().invoke(main, args + ["--student", "alice"])
    assert r.exit_code == 0, r.output
    r = CliRunner().invoke(main, args + ["--student", "alicee"])
    assert r.exit_code == 3 and "no paper was built for student 'alicee'" in r.output
    monkeypatch.setenv("CONVGRADE_SECRET", "someone else's secret")
    r = CliRunner().invoke(main, args + ["--student", "alice"])
    assert r.exit_code == 3 and "fingerprints differ" in r.output


def test_exam_grade_without_papers_warns(tmp_path, exam, monkeypatch):
    monkeypatch.setenv("CONVGRADE_SECRET", SECRET.decode())
    (tmp_path / "a.json").write_text("{}")
    r = CliRunner().invoke(main, ["exam", "grade", "exam_midterm", str(tmp_path / "a.json"), "--student", "x"])
    assert "warning: not checked against the built papers" in r.output


def test_notebook_answers_with_outputs_still_read(tmp_path):
    nb = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell("ANSWERS = {'q1': [8, 16, 16]}")
    cell.outputs = [nbformat.v4.new_output("display_data", data={"application/json": {"a": {"b": {"c": [1]}}}})]
    nb.cells = [cell]
    nbformat.write(nb, str(tmp_path / "a.ipynb"))
    assert load_answers(tmp_path / "a.ipynb") == {"q1": [8, 16, 16]}


@pytest.mark.parametrize("typed", ["torch.Size([8, 16, 3, 9])", "Size([8,16,3,9])", "N=8, C=16, H=3, W=9",
                                   "(N: 8, C: 16, H: 3, W: 9)", "(8; 16; 3; 9)", "8 × 16 × 3 × 9"])
def test_a_shape_as_torch_prints_it_or_named_as_on_the_paper_reads_as_numbers(typed):
    frac, verdict = score_answer("shape", (8, 16, 3, 9), typed)
    assert frac == 1.0, verdict
