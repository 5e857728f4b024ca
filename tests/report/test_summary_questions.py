"""Class summary grouped by question with the most common diagnoses per question."""
from grader.report.gradebook import collect
from grader.report.summary import by_question, questions_by_name, render_questions_html

from .fixtures import assert_self_contained, make_results, write_batch

QUESTIONS = {"1": "conv", "2": "conv", "3": "pool", "4": "train"}


def _rows(tmp_path):
    res = {"alice": make_results("alice", "failing"), "bob": make_results("bob", "failing"),
           "carol": make_results("carol", "passing"), "dan": make_results("dan", "hidden")}
    return collect(write_batch(tmp_path / "OUT", res)), res["alice"]["tests"]


def test_grouped_by_question_with_common_diagnoses(tmp_path):
    rows, tests = _rows(tmp_path)
    by_name = questions_by_name(tests, QUESTIONS)
    assert by_name == {"conv2d_forward": "conv", "conv2d_backward": "conv", "maxpool2d_forward": "pool",
                       "train_lenet": "train"}
    groups = by_question(rows, by_name)
    assert list(groups) == ["conv", "pool", "train"]
    conv = groups["conv"]
    assert conv["checks"][0] == ("conv2d_forward", 2, 4)            # worst pass rate first
    assert conv["diagnoses"][0] == ("Errors only on the 1-pixel border: the input is not zero-padded "
                                    "(or padded with the wrong mode).", 2)
    assert groups["pool"]["diagnoses"] == []
    assert 0 < conv["got"] < conv["max"]


def test_html_fragment_escaped_and_localized(tmp_path):
    rows, tests = _rows(tmp_path)
    by_name = questions_by_name(tests, QUESTIONS)
    en = render_questions_html(rows, by_name, "en")
    assert "Question conv" in en and "Most common mistakes" in en and "<details>" in en
    assert "border_padding" not in en                                   # messages, not codes
    ru = render_questions_html(rows, by_name, "ru")
    assert "Вопрос conv" in ru and "Самые частые ошибки" in ru and "Most common" not in ru
    assert_self_contained(f"<html><body>{ru}</body></html>")


def test_summary_page_gets_the_section_under_the_histogram(tmp_path):
    from grader.report.gradebook import render_summary_html
    from grader.report.summary import questions_for

    res = {s: make_results(s, kind) for s, kind in (("alice", "failing"), ("bob", "passing"))}
    for r in res.values():
        r["convgrade"]["assignment"] = "a2_convolution"       # checks 1-4 are the conv2d question
    out = write_batch(tmp_path / "OUT", res)
    rows = collect(out)
    page = render_summary_html(rows, questions=questions_for(out))
    at = page.index("Question conv2d")
    assert page.index("</svg>") < at < page.index("Most frequent diagnoses")
    assert "Pass rate per check" not in page            # grouped by question, no flat table
    res["alice"]["convgrade"]["assignment"] = res["bob"]["convgrade"]["assignment"] = "../../etc"
    out2 = write_batch(tmp_path / "OUT2", res)
    assert questions_for(out2) is None                               # unknown assignment: no questions
    assert "Pass rate per check" in render_summary_html(collect(out2), questions=questions_for(out2))
