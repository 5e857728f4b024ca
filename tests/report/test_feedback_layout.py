"""feedback.html as a student with a flipped kernel in Conv2d sees it (issue 14).

The submission is the master solution of a2_convolution with the mutant
``conv2d_flipped_kernel`` applied, graded for real; the page is checked on its structure (parsed
HTML) and, when Chromium is installed, on a screenshot in English and Russian (saved next to the
test's tmp files for people to look at).
"""
from __future__ import annotations

from html.parser import HTMLParser

import numpy as np
import pytest

from grader.assignment import load
from grader.authoring.mutants import load_mutants
from grader.authoring.notebook import parse
from grader.grade import grade_submission
from grader.report.feedback import render_html, render_markdown
from grader.report.questions import question_map

from .test_render_chromium import near, needs_chromium, screenshot

DIAG = "Your output matches a"                 # the flipped-kernel diagnosis (en message)


class _Node:
    def __init__(self, tag, attrs, parent):
        self.tag, self.attrs, self.parent, self.children, self.text = tag, dict(attrs), parent, [], []

    @property
    def cls(self) -> set[str]:
        return set((self.attrs.get("class") or "").split())

    def all_text(self) -> str:
        return "".join(self.text + [c.all_text() if isinstance(c, _Node) else c for c in self.children])

    def iter(self):
        yield self
        for c in self.children:
            if isinstance(c, _Node):
                yield from c.iter()


class _Tree(HTMLParser):
    VOID = {"meta", "br", "img", "input", "link", "hr", "stop", "rect", "circle", "polyline", "line"}

    def __init__(self, page: str):
        super().__init__(convert_charrefs=True)
        self.root = self.cur = _Node("root", [], None)
        self.feed(page)

    def handle_starttag(self, tag, attrs):
        node = _Node(tag, attrs, self.cur)
        self.cur.children.append(node)
        if tag not in self.VOID:
            self.cur = node

    def handle_startendtag(self, tag, attrs):
        self.cur.children.append(_Node(tag, attrs, self.cur))

    def handle_endtag(self, tag):
        node = self.cur
        while node is not None and node.tag != tag:
            node = node.parent
        if node is not None and node.parent is not None:
            self.cur = node.parent

    def handle_data(self, data):
        self.cur.children.append(data)


@pytest.fixture(scope="module")
def flipped():
    a = load("a2_convolution")
    mutant = next(m for m in load_mutants(a.path) if m.name == "conv2d_flipped_kernel")
    return a, mutant.apply(parse(a.path).source)


@pytest.fixture(scope="module")
def graded(flipped, tmp_path_factory):
    a, source = flipped
    sub = tmp_path_factory.mktemp("flipped") / "submission.py"
    sub.write_text(source, encoding="utf-8")
    results = grade_submission(a, sub, student="alice", isolation="process")
    return results, question_map(a)


def _body(page: str) -> list[_Node]:
    body = next(n for n in _Tree(page).root.iter() if n.tag == "body")
    return [c for c in body.children if isinstance(c, _Node)]


def test_question_map_follows_the_master_notebook():
    qm = question_map(load("a2_convolution"))
    a = load("a2_convolution")
    by_name = {s.name: qm[s.number] for s in a.checks}
    assert by_name["Conv2d forward: 3x3, no padding"] == "conv2d"
    assert by_name["MaxPool2d forward: 2x2"] == "pooling"


def test_flipped_kernel_page_order_and_diagnosis_once(graded):
    results, questions = graded
    page = render_html(results, "en", questions)
    top = _body(page)
    assert top[0].tag == "h1"
    summary = top[1]
    assert "summary" in summary.cls
    assert f"Total score: {results['score']:g} / {results['max_score']:g}" in summary.all_text()
    assert "Question conv2d" in summary.all_text()                # the question to fix, linked
    # failures come first: the first question section is conv2d, its first check the forward one
    sections = [n for n in top if n.tag == "section" and "question" in n.cls]
    first = sections[0]
    assert next(n for n in first.iter() if n.tag == "h3").all_text().startswith("Question conv2d")
    check = next(n for n in first.iter() if n.tag == "section" and "check" in n.cls)
    text = check.all_text()
    assert text.startswith("Conv2d forward")
    assert "Case: Conv2d(in_channels=" in text and "Output differs" in text
    diags = [n for n in check.iter() if "diag" in n.cls]
    assert len(diags) == 1 and DIAG in diags[0].all_text()
    assert text.count(DIAG) == 1 and "Likely mistake" not in text
    assert any(n.tag == "svg" for n in check.iter())               # the heatmap
    # the internal code and raw Markdown never reach the page
    assert "flipped_kernel" not in page and "**" not in page and "*convolution*" not in page
    # every failed check is shown before the passed ones, which are collapsed in <details>
    passed = [n for n in top if n.tag == "details"]
    assert len(passed) == 1 and top.index(passed[0]) > top.index(sections[-1])
    n_passed = sum(t["status"] == "passed" for t in results["tests"])
    assert len([n for n in passed[0].iter() if n.tag == "td" and "num" not in n.cls]) == n_passed
    # the footer is sentences, not a printed Python list
    footer = top[-1]
    assert footer.tag == "footer" and "['" not in footer.all_text() and "[\"" not in footer.all_text()


def test_late_banner_and_notes_once(graded):
    results, questions = graded
    r = dict(results, convgrade=dict(results["convgrade"], notes=["Dropped 1 IPython magic (`%time`)."],
                                     late={"days_late": 1.5, "penalty_fraction": 0.2, "raw_score": 70}))
    r["output"] = ("**Convolution** — 56 / 87.5\n\nSubmitted 1.50 days late: 20% off (before the penalty: 70)."
                   "\n\nNote: Dropped 1 IPython magic (`%time`).")
    page = render_html(r, "en", questions)
    md = render_markdown(r, "en", questions)
    for out in (page, md):
        assert out.count("Late by 1.5 day(s)") == 1 and "Submitted 1.50 days late" not in out
        assert out.count("Dropped 1 IPython magic") == 1


def test_markdown_same_order(graded):
    results, questions = graded
    md = render_markdown(results, "en", questions)
    failed_at, passed_at = md.index("## Failed checks"), md.index("## Passed checks")
    assert md.index("### Question conv2d") > failed_at and md.index("#### Conv2d forward: 3x3") < passed_at
    assert md.count(DIAG) == sum(1 for t in results["tests"] if DIAG in (t.get("output") or ""))
    assert "flipped_kernel" not in md


@pytest.fixture(scope="module")
def graded_ru(flipped, tmp_path_factory):
    """The same submission graded with ``lang="ru"``: every message in the results is Russian."""
    a, source = flipped
    sub = tmp_path_factory.mktemp("flipped_ru") / "submission.py"
    sub.write_text(source, encoding="utf-8")
    return grade_submission(a, sub, student="alice", isolation="process", lang="ru"), question_map(a)


def _prose(node) -> str:
    """The text of ``node`` outside code (``<code>``, ``<pre>``) and drawings (``<svg>``)."""
    if node.tag in ("code", "pre", "svg", "style", "script"):
        return " "
    return " ".join(c if isinstance(c, str) else _prose(c) for c in node.children)


def test_russian_page_is_russian_outside_code(graded_ru):
    """Graded in Russian, the flipped-kernel page: the score, the failing question, the case
    and the diagnosis once, all Russian; no English word outside code."""
    import re

    results, questions = graded_ru
    assert results["convgrade"]["lang"] == "ru"
    page = render_html(results, "ru", questions)
    assert 'lang="ru"' in page
    top = _body(page)
    summary_text = top[1].all_text()
    assert "Итого баллов" in summary_text and "Вопрос conv2d" in summary_text
    first = next(n for n in top if n.tag == "section" and "question" in n.cls)
    check = next(n for n in first.iter() if n.tag == "section" and "check" in n.cls)
    text = check.all_text()
    assert "Случай:" in text and "Case:" not in text
    diags = [n for n in check.iter() if "diag" in n.cls]
    assert len(diags) == 1 and re.search("[а-яё]{4}", diags[0].all_text())
    body = next(n for n in _Tree(page).root.iter() if n.tag == "body")
    prose = _prose(body)
    # course jargon (bias, backward, dilation) may stand alone; an English phrase may not
    english = re.findall(r"\b[A-Za-z][a-z]+(?:[ ,]+[A-Za-z][a-z]+){2,}", prose)
    assert not english, english


@needs_chromium
@pytest.mark.parametrize("lang", ["en", "ru"])
def test_screenshot_above_the_fold(graded, graded_ru, tmp_path, lang):
    """Above the fold (the first 900 px of a 1000 px wide window): the score box, the first
    failing question and check, its case and its diagnosis box — graded in that language."""
    results, questions = graded if lang == "en" else graded_ru
    img = screenshot(render_html(results, lang, questions), tmp_path, f"feedback-{lang}")
    fold = img[:900]
    diag_rows = np.flatnonzero(near(fold, (0xdd, 0xf4, 0xff), 4).sum(axis=1) > 300)
    assert diag_rows.size > 10                              # the light-blue diagnosis box is visible
    box_rows = np.flatnonzero(near(fold, (0xf6, 0xf8, 0xfa), 2).sum(axis=1) > 600)
    assert box_rows.size and box_rows[0] < 150              # the score summary starts at the top
    assert (tmp_path / f"feedback-{lang}.png").stat().st_size > 10_000


def test_flipped_kernel_page_is_self_contained(graded):
    from .fixtures import assert_self_contained

    results, questions = graded
    for lang in ("en", "ru"):
        assert_self_contained(render_html(results, lang, questions))
