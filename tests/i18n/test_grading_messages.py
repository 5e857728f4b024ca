"""The grading messages in both languages (issue 14): what the judge, the check kinds, the
grade loop and the results' summary write comes from the catalogue (grader/i18n/grading.py) in
the language ``grade_submission(lang=)`` sets; answer checks state the expected form; gradient
consistency says why it could not be evaluated."""
from __future__ import annotations

import copy
import json
import re
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from grader.assignment import load
from grader.authoring.examples import example_source
from grader.authoring.mutants import load_mutants
from grader.authoring.notebook import parse
from grader.checks import kind_of
from grader.grade import grade_submission
from grader.i18n import catalogue, language
from grader.sandbox.config import ProbeResult

ROOT = Path(__file__).resolve().parents[2]
REDTEAM = ROOT / "tests" / "redteam" / "assignment"
CYRILLIC = re.compile(r"[А-Яа-яЁё]")
CODE = re.compile(r"`[^`]*`")


def _words(text: str) -> set[str]:
    return {w.lower() for w in re.findall(r"[A-Za-z]{4,}", CODE.sub(" ", re.sub(r"\{[^}]*\}", " ", text)))}


def english_words() -> set[str]:
    """Words of the English grading templates that no Russian template uses (code words such as
    ``backward`` or ``float`` appear in both and are allowed)."""
    cat = catalogue()
    keys = [k for k in cat["en"] if k.startswith("grading.")]
    en = set().union(*(_words(cat["en"][k]) for k in keys))
    ru = set().union(*(_words(cat["ru"][k]) for k in keys))
    return en - ru


def _student_text(test: dict) -> str:
    """A row's output without what other rooms write (the diagnoses' messages) and without code."""
    text = test["output"]
    for d in test.get("extra_data", {}).get("diagnoses", []):
        text = text.replace(d.get("message", ""), " ")
    return CODE.sub(" ", text)


@pytest.fixture(scope="module")
def flipped(tmp_path_factory):
    a = load("a2_convolution")
    mutant = next(m for m in load_mutants(a.path) if m.name == "conv2d_flipped_kernel")
    sub = tmp_path_factory.mktemp("flipped") / "submission.py"
    sub.write_text(mutant.apply(parse(a.path).source), encoding="utf-8")
    return a, sub


@pytest.fixture(scope="module")
def graded(flipped):
    a, sub = flipped
    ru_names = copy.deepcopy(a)
    for spec in ru_names.checks:            # a Russian row name for every check (checks.toml name_ru)
        spec.name_ru = f"проверка {spec.number}"
    return {"en": grade_submission(a, sub, student="alice", isolation="process", lang="en"),
            "ru": grade_submission(ru_names, sub, student="alice", isolation="process", lang="ru")}


def _forward_index(results: dict) -> int:
    return next(i for i, t in enumerate(results["tests"]) if t["name"] == "Conv2d forward: 3x3, no padding")


def test_russian_rows_have_no_english_template_words(graded):
    r = graded["ru"]
    assert r["convgrade"]["lang"] == "ru"
    failed = [t for t in r["tests"] if t["status"] == "failed"]
    assert failed
    banned = english_words()
    assert {"differs", "values", "wrong", "case", "hidden", "shown", "expected"} <= banned
    for t in r["tests"]:
        assert t["name"].startswith("проверка "), t["name"]          # display_name, not the id
        text = _student_text(t)
        assert CYRILLIC.search(text), t["output"]
        found = _words(text) & banned
        assert not found, (t["name"], sorted(found), t["output"])
    forward = r["tests"][_forward_index(graded["en"])]
    assert forward["output"].startswith("Случай: `Conv2d(in_channels=")
    assert "Выход отличается" in forward["output"] and "**Вероятная ошибка:**" in forward["output"]
    assert any(t["output"].startswith("Скрытый случай:") for t in failed)
    assert r["output"].startswith("**Свёртка и пулинг на numpy**")     # the assignment's title_ru


def test_english_run_unchanged_and_the_language_changes_no_score(graded):
    en, ru = graded["en"], graded["ru"]
    assert en["convgrade"]["lang"] == "en"
    forward = en["tests"][_forward_index(en)]
    assert forward["output"].startswith("Case: `Conv2d(in_channels=")
    assert "Output differs: " in forward["output"] and "**Likely mistake:**" in forward["output"]
    assert any(t["output"].startswith("Hidden case: its inputs and expected values are not shown.")
               for t in en["tests"])
    assert not any(CYRILLIC.search(_student_text(t)) for t in en["tests"])
    # same seeds (spec.name), same verdicts: only the words differ
    assert [(t["number"], t["score"], t["status"]) for t in en["tests"]] == \
        [(t["number"], t["score"], t["status"]) for t in ru["tests"]]
    assert en["score"] == ru["score"]


def test_cli_grade_lang_ru_json(tmp_path, monkeypatch):
    monkeypatch.setenv("CONVGRADE_SECRET", "i18n-test-secret")
    sub = tmp_path / "bob.py"
    sub.write_text(example_source("a2_convolution", "conv2d_always_zero_padding"), encoding="utf-8")
    from grader.cli import main

    r = CliRunner().invoke(main, ["grade", str(REDTEAM), str(sub), "--lang", "ru", "--json",
                                  "--isolation", "process", "--feedback-dir", str(tmp_path / "fb")])
    assert r.exit_code == 1, r.output
    res = json.loads(r.output)
    assert res["convgrade"]["lang"] == "ru"
    failed = [t for t in res["tests"] if t["status"] == "failed"]
    assert failed and all(CYRILLIC.search(_student_text(t)) for t in failed)
    assert not _words(" ".join(_student_text(t) for t in res["tests"])) & english_words()
    page = (tmp_path / "fb" / "feedback.html").read_text(encoding="utf-8")
    assert 'lang="ru"' in page and "Case:" not in page and "Likely mistake" not in page


def test_cli_grade_lang_ru_terminal_table(tmp_path, monkeypatch):
    """Without --json, the terminal table and the score line are in the results' language."""
    monkeypatch.setenv("CONVGRADE_SECRET", "i18n-test-secret")
    sub = tmp_path / "bob.py"
    sub.write_text(example_source("a2_convolution", "conv2d_always_zero_padding"), encoding="utf-8")
    from grader.cli import main

    r = CliRunner().invoke(main, ["grade", str(REDTEAM), str(sub), "--lang", "ru", "--isolation", "process"])
    assert r.exit_code == 1, r.output
    assert "Баллы: " in r.output and "ОШИБКА" in r.output and "ПРОЙДЕНА" in r.output
    assert "Score:" not in r.output and "PASS" not in r.output and "FAIL" not in r.output


# ----------------------------------------------------------------------------- answer checks

def _spec(assignment: str, target: str):
    return next(s for s in load(assignment).checks if s.target == target)


def _judge_value(spec, value, lang):
    kind = kind_of(spec)
    with language(lang):
        plan = kind.plan(spec, np.random.default_rng(0))
        return kind.judge(spec, plan, ProbeResult("ok", values={"v": value}))[0]


def test_answer_check_states_the_expected_form_never_the_value():
    spec = _spec("a2_convolution", "ANSWER_SIGMOID_DERIVATIVE_MAX")     # expects one float: 0.25
    part = _judge_value(spec, [0.3, 0.0], "en")                        # a tuple (value, z)
    assert not part.passed
    assert "`ANSWER_SIGMOID_DERIVATIVE_MAX` = [0.3, 0.0] is not right." in part.output
    assert "The answer is one number (a float); yours is a tuple of 2 values (float, float)." in part.output
    assert "0.25" not in part.output
    ru = _judge_value(spec, [0.3, 0.0], "ru")
    assert "Ответ — одно число (float), а у вас кортеж из 2 значений (float, float)." in ru.output
    # the right form but a wrong value: the form is still said
    assert "The answer is one number (a float)." in _judge_value(spec, 0.3, "en").output
    # an int answer given as a string
    count = _spec("a2_convolution", "ANSWER_ALEXNET_CONV1")
    text = _judge_value(count, "55", "en").output
    assert "a whole number (an int); yours is a string" in text
    # an instructor's own words for the form (checks.toml form / form_ru) win
    own = copy.deepcopy(spec)
    own.params.update(form="one number: the value, not the z where it is reached",
                      form_ru="одно число: само значение, а не z, в котором оно достигается")
    assert "The answer is one number: the value, not the z" in _judge_value(own, [0.3, 0.0], "en").output
    assert "Ответ — одно число: само значение" in _judge_value(own, [0.3, 0.0], "ru").output


def test_hidden_function_case_says_the_form_when_it_differs():
    from grader.checks.functions import FunctionCheck
    from grader.checks.base import CheckSpec

    spec = CheckSpec("rf", "function", 1.0, "hidden", "rf", {"expected": "nn.output_shape",
                     "cases": [{"args": ["Conv2d", {"in_channels": 1, "out_channels": 2, "kernel_size": 3},
                                         [1, 1, 8, 8]]}]})
    kind = FunctionCheck()
    plan = kind.plan(spec, np.random.default_rng(0))
    part = kind.judge(spec, plan, ProbeResult("ok", values={"r0": 6}))[0]
    assert "hidden case 1: wrong answer (expected a tuple of 4 values (int, int, int, int), yours is a whole " \
           "number (an int))" in part.output
    assert "(1, 2, 6, 6)" not in part.output


def test_quiz_check_states_the_form():
    from grader.checks.base import CheckSpec
    from grader.checks.quiz import QuizCheck

    spec = CheckSpec("q", "quiz", 1.0, "hidden", "QUIZ_Q", {"question": "conv_output_shape", "seed": 3})
    kind = QuizCheck()
    plan = kind.plan(spec, np.random.default_rng(0))
    with language("ru"):
        part = kind.judge(spec, plan, ProbeResult("ok", values={"a": 7}))[0]
    assert not part.passed and "Ответ — форма из" in part.output and "целых чисел" in part.output


# ----------------------------------------------------------------------------- gradient consistency

def _gc_plan():
    spec = next(s for s in load("a2_convolution").checks if s.kind == "gradient_consistency" and s.visible)
    kind = kind_of(spec)
    return spec, kind, kind.plan(spec, np.random.default_rng(1))


def test_gradient_consistency_says_which_call_failed_and_why():
    spec, kind, plan = _gc_plan()
    case = plan.context["case"]
    _, y = case.reference_forward()
    step = next(i for i, s in enumerate(plan.steps) if s.get("call") == "m_fd.forward")
    result = ProbeResult("error", values={"y0": y, "dx_own": np.zeros_like(case.x)},
                         error={"type": "ValueError", "message": "boom in forward", "step": step})
    for lang, words in (("en", ("Could not be evaluated: your code raised", "for the finite differences")),
                        ("ru", ("Проверку не удалось выполнить: ваш код", "для конечных разностей"))):
        with language(lang):
            part = kind.judge(spec, plan, result)[0]
        assert not part.passed
        assert "boom in forward" in part.output and "`m_fd.forward`" in part.output, part.output
        assert all(w in part.output for w in words), part.output
        assert "diagnoses" not in part.extra                # no verdict on backward: it was never compared


def test_gradient_consistency_names_the_shape_and_nonfinite_reasons():
    spec, kind, plan = _gc_plan()
    case = plan.context["case"]
    _, y = case.reference_forward()
    values = {"y0": y, "dx_own": np.zeros_like(case.x), "dx": np.full(case.x.shape, np.nan)}
    for j in range(len(plan.context["dirs"])):
        values[f"yp{j}"] = y[:1]                             # a shifted forward of another shape
        values[f"ym{j}"] = y[:1]
    part = kind.judge(spec, plan, ProbeResult("ok", values=values))[0]
    assert "dx along direction 1: could not be evaluated: your forward on a shifted input returned shape" \
        in part.output, part.output
    for p, _ in plan.context["pdirs"]:
        assert f"grads['{p}']: could not be evaluated: your forward after loading the shifted `{p}`" in part.output
    values.update({f"yp{j}": y for j in range(len(plan.context["dirs"]))})
    values.update({f"ym{j}": y for j in range(len(plan.context["dirs"]))})
    part = kind.judge(spec, plan, ProbeResult("ok", values=values))[0]
    assert "your backward's gradient is not finite (nan)" in part.output, part.output


# ----------------------------------------------------------------------------- the notebook kit

def test_kit_feedback_in_russian(flipped):
    from grader.authoring import master_source
    from grader.kit import check_in_notebook

    a, sub = flipped
    env = {"__name__": "__main__"}
    exec(compile(sub.read_text(encoding="utf-8"), "notebook.py", "exec"), env)
    with pytest.raises(AssertionError) as info:
        check_in_notebook(env, "Conv2d forward: 3x3, no padding", a.path, lang="ru")
    text = str(info.value)
    assert text.startswith("НЕ ПРОЙДЕНО ") and "Случай:" in text and "Выход отличается" in text
    assert "`convgrade check` в этой папке" in text
    clean = {"__name__": "__main__"}
    exec(compile(master_source(a), "notebook.py", "exec"), clean)
    check_in_notebook(clean, "Conv2d forward: 3x3, no padding", a.path, lang="ru")


def test_a_shape_case_whose_call_raised_says_so_not_got_the_error(tmp_path):
    """An output-shape row of an answer that raised reads "expected ..., but your code raised ...",
    in both languages (not "got your code raised")."""
    a = load("a2_convolution")
    source = parse(a.path).source
    at = source.index("    def forward(self, x", source.index("class Conv2d"))
    line_end = source.index("\n", at) + 1
    sub = tmp_path / "raises.py"
    sub.write_text(source[:line_end] + "        raise ValueError('boom')\n" + source[line_end:], encoding="utf-8")
    for lang, said, never in (("en", "but your code raised `ValueError: boom`", "got your code"),
                              ("ru", "но ваш код выбросил исключение `ValueError: boom`", "получено ваш код")):
        res = grade_submission(a, sub, student="alice", lang=lang, isolation="process")
        names = {n for c in a.checks if c.kind == "shape" and c.target == "Conv2d" for n in (c.name, c.name_ru)}
        rows = [t for t in res["tests"] if t["name"] in names]
        assert rows and all(said in t["output"] and never not in t["output"] for t in rows), \
            [t["output"] for t in rows]
