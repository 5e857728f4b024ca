"""Exams in both languages: papers, the key, results and the `exam` commands' console lines come
from the catalogue (grader/i18n/exam.py) in the language asked for, defaulting to the paper's and
then the course's."""
import json
import re

import pytest
from click.testing import CliRunner

from grader.cli import main
from grader.exam.answers import AnswerFormatError, parse_int, score_answer
from grader.exam.build import build_exam, paper_lang
from grader.exam.exam import make_paper
from grader.exam.grade import AnswersError, grade_answers, load_answers
from grader.exam.render import key_markdown, paper_markdown
from grader.i18n import language

from .conftest import SECRET

CYRILLIC = re.compile(r"[а-яё]", re.I)


def _wrong_answers(paper) -> dict:
    """Every question answered wrongly (a shape of the wrong length, a letter not offered, ...)."""
    out = {}
    for q in paper.questions:
        if q.answer_type in ("shape", "tuple"):
            out[q.id] = list(q.answer_value) + [1]
        elif q.answer_type == "choice":
            out[q.id] = "Z"
        elif q.answer_type == "ratio":
            out[q.id] = "1/1000"
        else:
            out[q.id] = int(q.answer_value) + 1
    return out


def test_verdicts_follow_the_language():
    assert score_answer("int", 5, None)[1] == "no answer"
    with language("ru"):
        assert score_answer("int", 5, None)[1] == "нет ответа"
        assert score_answer("int", 5, 5)[1] == "верно"
        frac, verdict = score_answer("shape", (1, 2, 3), [1, 2, 4])
        assert verdict == "ваш ответ (1, 2, 4): верно 2 из 3 чисел (неверно: позиция 3)"
        with pytest.raises(AnswerFormatError, match="ожидалось целое число"):
            parse_int("много")
    with pytest.raises(AnswerFormatError, match="expected a whole number"):
        parse_int("many")


def test_answer_file_errors_in_russian(tmp_path):
    p = tmp_path / "a.yaml"
    p.write_text("q1: [1, 2\n", encoding="utf-8")
    with language("ru"), pytest.raises(AnswersError, match="некорректный YAML в строке"):
        load_answers(p)
    p = tmp_path / "a.txt"
    p.write_text("q1: 1", encoding="utf-8")
    with language("ru"), pytest.raises(AnswersError, match="файлы с ответами"):
        load_answers(p)


def test_results_in_russian(tmp_path, exam):
    paper = make_paper(exam, "bob", SECRET, "ru")
    answers = _wrong_answers(paper)
    del answers["q1"]
    answers["q99"] = 1
    (tmp_path / "w.json").write_text(json.dumps(answers), encoding="utf-8")
    res = grade_answers(exam, tmp_path / "w.json", "bob", SECRET, lang="ru")
    cg = res["convgrade"]
    assert cg["lang"] == "ru"
    assert cg["notes"] == ["ответы на вопросы, которых нет в вашем варианте, не учтены: q99", "нет ответа на: q1"]
    assert CYRILLIC.search(cg["isolation"]["details"][0])
    assert res["output"].startswith(f"**{exam.title_ru}**")
    for row, q in zip(res["tests"], paper.questions):
        assert row["name"] == f"{q.id}. {q.title_ru}"
        assert "Правильный ответ:" in row["output"], row["output"]
        assert q.answer_text_in("ru") in row["output"]
    # a choice's expected answer is the Russian option
    mc = next(q for q in paper.questions if q.kind == "mc_batchnorm_eval")
    assert CYRILLIC.search(mc.answer_text_in("ru")) and not CYRILLIC.search(mc.answer_text)


def test_results_in_english_by_default(tmp_path, exam):
    """The bundled course's language is en and exam_midterm sets none: English, as before."""
    assert exam.lang == ""
    paper = make_paper(exam, "alice", SECRET)
    assert paper.lang == "en"
    (tmp_path / "w.json").write_text(json.dumps(_wrong_answers(paper)), encoding="utf-8")
    res = grade_answers(exam, tmp_path / "w.json", "alice", SECRET)
    assert res["convgrade"]["lang"] == "en"
    assert all("Expected:" in t["output"] for t in res["tests"])
    assert not any(CYRILLIC.search(t["output"]) for t in res["tests"])


def test_unreadable_file_in_russian(tmp_path, exam):
    (tmp_path / "b.yaml").write_text("a: &x [1]\nb: *x\n", encoding="utf-8")
    res = grade_answers(exam, tmp_path / "b.yaml", "bob", SECRET, lang="ru")
    assert res["convgrade"]["load_error"].startswith("Не удалось прочитать файл с ответами: b.yaml: якоря")
    assert all(t["output"].startswith("Не оценено:") for t in res["tests"])


def test_paper_and_key_in_russian(exam):
    paper = make_paper(exam, "bob", SECRET, "ru")
    md = paper_markdown(paper, "Боб")
    assert "## Как отвечать" in md and "**Всего:** 24 балла" in md and "**Время:** 60 минут" in md
    assert all(f"## {q.id}. {q.title_ru}" in md for q in paper.questions)
    key = key_markdown([(paper, "Боб")], exam, "ru")
    assert key.startswith(f"# Ключ ответов: {exam.title_ru}")
    assert "| # | вопрос | ответ | баллы | как получить |" in key
    for q in paper.questions:
        assert q.how("ru").replace("|", "/") in key
    key_en = key_markdown([(paper, "Боб")], exam, "en")
    assert key_en.startswith(f"# Answer key: {exam.title}") and paper.questions[0].answer_text in key_en


def test_plural_forms():
    from grader.exam.render import plural

    got = [plural(n, "points", "ru") for n in (1, 2, 5, 11, 12, 21, 24, 0.5, 1.5)]
    assert got == ["1 балл", "2 балла", "5 баллов", "11 баллов", "12 баллов", "21 балл", "24 балла", "0.5 балла",
                   "1.5 балла"]
    assert [plural(n, "points", "en") for n in (1, 2, 0.5)] == ["1 point", "2 points", "0.5 points"]
    assert plural(1, "minutes", "ru") == "1 минута" and plural(3, "minutes", "ru") == "3 минуты"


def test_every_question_has_a_russian_explanation_where_it_has_words(exam):
    for student in ("a", "b", "c", "d"):
        for q in make_paper(exam, student, SECRET, "ru").questions:
            words = re.findall(r"(?<![\w/])[a-z]{4,}\b", q.explanation)
            if any(w not in ("ceil", "floor", "output_padding", "torch", "optim") for w in words):
                assert q.explanation_ru and CYRILLIC.search(q.explanation_ru), (q.kind, q.explanation)


def test_cli_grade_lang_and_paper_default(tmp_path, exam, env):
    roster = tmp_path / "roster.csv"
    roster.write_text("id,name,lang\nalice,Alice,en\nbob,Боб,ru\n", encoding="utf-8")
    r = CliRunner().invoke(main, ["exam", "build", "exam_midterm", "--roster", str(roster), "-o",
                                  str(tmp_path / "papers"), "--no-pdf", "--lang", "ru"])
    assert r.exit_code == 0, r.output
    assert "вариантов в" in r.output and "без PDF" in r.output
    key = (tmp_path / "papers" / "key.md").read_text(encoding="utf-8")
    assert key.startswith("# Ключ ответов")
    assert '<html lang="ru"' in (tmp_path / "papers" / "key.html").read_text(encoding="utf-8")

    # papers built per roster lang: bob's is Russian, and grading with --papers defaults to it
    r = CliRunner().invoke(main, ["exam", "build", "exam_midterm", "--roster", str(roster), "-o",
                                  str(tmp_path / "p2"), "--no-pdf"])
    assert r.exit_code == 0 and "papers in" in r.output
    assert paper_lang(tmp_path / "p2", "bob") == "ru" and paper_lang(tmp_path / "p2", "alice") == "en"
    assert paper_lang(tmp_path / "p2", "nobody") is None and paper_lang(tmp_path / "none", "bob") is None
    paper = make_paper(exam, "bob", SECRET, "ru")
    (tmp_path / "bob.json").write_text(json.dumps(_wrong_answers(paper)), encoding="utf-8")
    r = CliRunner().invoke(main, ["exam", "grade", "exam_midterm", str(tmp_path / "bob.json"), "--student", "bob",
                                  "--papers", str(tmp_path / "p2"), "-o", str(tmp_path / "bob.results.json")])
    assert r.exit_code == 1, r.output
    assert "НЕВЕРНО" in r.output and "Баллы: 0 /" in r.output
    assert json.loads((tmp_path / "bob.results.json").read_text())["convgrade"]["lang"] == "ru"
    # --lang wins over the paper's
    r = CliRunner().invoke(main, ["exam", "grade", "exam_midterm", str(tmp_path / "bob.json"), "--student", "bob",
                                  "--papers", str(tmp_path / "p2"), "--lang", "en"])
    assert "FAIL" in r.output and "Score: 0 /" in r.output
    # without --papers: the course's language, with the warning in it
    r = CliRunner().invoke(main, ["exam", "grade", "exam_midterm", str(tmp_path / "bob.json"), "--student", "bob",
                                  "--lang", "ru"])
    assert "предупреждение: не сверено" in r.output
    # a refusal in Russian
    r = CliRunner().invoke(main, ["exam", "grade", "exam_midterm", str(tmp_path / "bob.json"), "--student", "bobb",
                                  "--papers", str(tmp_path / "p2"), "--lang", "ru"])
    assert r.exit_code == 3 and "для студента 'bobb' вариант не строился" in r.output


def test_build_key_language(tmp_path, exam):
    roster = tmp_path / "r.csv"
    roster.write_text("id,lang\nx,ru\n", encoding="utf-8")
    build_exam(exam, roster, tmp_path / "o", SECRET, pdf="no", key_lang="ru")
    assert (tmp_path / "o" / "key.md").read_text(encoding="utf-8").startswith("# Ключ ответов")
    build_exam(exam, roster, tmp_path / "o2", SECRET, pdf="no")
    assert (tmp_path / "o2" / "key.md").read_text(encoding="utf-8").startswith("# Answer key")
    assert "## Как отвечать" in (tmp_path / "o2" / "papers" / "x.md").read_text(encoding="utf-8")
