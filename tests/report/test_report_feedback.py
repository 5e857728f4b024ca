"""Per-student feedback rendering (grader/report/feedback.py) over fixture results.json dicts."""
import re

import numpy as np
import pytest

from grader.report import _html
from grader.report.feedback import render_html, render_markdown, text_heatmap

from .fixtures import SECRET, assert_self_contained, make_results

def _heatmap_block(md: str, channel: int) -> list[str]:
    lines = md.splitlines()
    start = lines.index(f"channel {channel}") + 1
    block = []
    for line in lines[start:]:
        if not line.startswith("│"):
            break
        block.append(line[1:-1])
    return block


def test_markdown_failing_has_score_late_notes_table_output_diagnosis_heatmap_curve():
    res = make_results("alice", "failing", late={"days_late": 2, "penalty_fraction": 0.2})
    md = render_markdown(res)
    assert md.startswith("# hw2-conv — Feedback for alice")
    assert "**Total score: 4 / 10**" in md
    assert "Late by 2 day(s): penalty 20% (score before the penalty: 5)" in md
    assert "Dropped 2 IPython magics" in md
    assert "#### conv2d_forward (0 / 3)" in md            # failures first, with their score
    assert "| conv2d_backward | 3 / 3 | passed |" in md
    assert "**Expected** `out[0, 0, 0, 0] = 0.4172`" in md
    assert "> **Likely cause:** Errors only on the 1-pixel border" in md
    assert "border_padding" not in md                     # the internal code is not shown
    assert "Isolation: bwrap" in md
    # the padding bug shows as a ring: full border rows, blank interior
    for c in (0, 1):
        block = _heatmap_block(md, c)
        assert len(block) == 8 and all(len(r) == 16 for r in block)
        assert " " not in block[0] and " " not in block[-1]
        for row in block[1:-1]:
            assert row[2:-2] == " " * 12 and " " not in row[:2] + row[-2:]
    assert "█" in "".join(_heatmap_block(md, 0))       # the max lands in the top shade
    assert "loss: 2.3 → 2.18 over 10 points (min 2.18 at 10, max 2.3 at 1)" in md
    # passing checks get no detail section
    assert "### conv2d_backward" not in md and "### conv2d_forward (0 / 3)" in md


def test_text_heatmap_levels_and_nonfinite():
    grid = np.array([[0.0, 0.1, 0.3], [0.6, 1.0, np.nan]])
    assert text_heatmap(grid, vmax=1.0) == ["│  ░░▒▒│", "│▓▓██!!│"]
    assert text_heatmap(np.zeros((1, 2)), vmax=0.0) == ["│    │"]
    with pytest.raises(ValueError, match="channel"):
        text_heatmap(np.zeros(3), vmax=1.0)


@pytest.mark.parametrize("render", [render_markdown, render_html])
def test_hidden_check_shows_only_output_and_diagnoses(render):
    res = make_results("bob", "hidden")
    out = render(res)
    assert SECRET not in out
    assert "Hidden case 2 of 4" in out
    assert "dW looks like one sample" in out and "grad_not_summed" not in out
    assert "<svg" not in out and "channel 0" not in out


def test_html_escapes_everything_and_is_self_contained():
    res = make_results("<img src=x onerror=alert(1)>", "failing", name="Eve <b>")
    res["convgrade"]["notes"].append("<script>alert('note')</script>")
    res["convgrade"]["isolation"]["details"] = "<script>x</script>"
    res["tests"][0]["extra_data"]["diagnoses"][0]["message"] = "<iframe src=http://evil>"
    res["tests"][0]["extra_data"]["heatmap"]["title"] = "<script>t</script>"
    page = render_html(res)
    assert_self_contained(page)
    assert "http" not in render_html(make_results("alice", "failing"))
    assert page.count("&lt;script&gt;") >= 4
    assert "&lt;img src=x onerror=alert(1)&gt;" in page
    assert "Eve &lt;b&gt;" in page


def _rects(svg_html: str):
    return re.findall(r'<rect x="(\d+)" y="(\d+)" width="(\d+)" height="\d+" fill="(#[0-9a-f]{6})"/>', svg_html)


def test_html_heatmap_cells_border_hot_interior_cold():
    res = make_results("alice", "failing")
    page = render_html(res)
    svgs = re.findall(r"<svg .*?</svg>", page, flags=re.S)
    heat = [s for s in svgs if "channel" in s]
    assert len(heat) == 2
    cold = _html.rgb_hex(_html.heat_colors(np.zeros(1))[0])
    hot = _html.rgb_hex(_html.HOT)
    channels = np.asarray(res["tests"][0]["extra_data"]["heatmap"]["channels"])
    for c, svg in enumerate(heat):
        cells = _rects(svg)
        assert len(cells) == 64
        cell = int(cells[0][2])
        fills = {(int(y) - 18) // cell * 8 + int(x) // cell: f for x, y, _, f in cells}
        grid = np.array([fills[i] for i in range(64)]).reshape(8, 8)
        assert (grid[1:-1, 1:-1] == cold).all()
        assert (grid[0] != cold).all() and (grid[:, 0] != cold).all()
        # one colour scale for all channels: the global max is the only HOT cell
        assert ((grid == hot) == (channels[c] == channels.max())).all()
        assert "max 1.2" in svg


def test_html_curve_and_nonfinite_points():
    res = make_results("alice", "failing")
    curve = res["tests"][3]["extra_data"]["curve"]
    curve["series"]["loss"][4:] = [float("nan")] * 6
    page = render_html(res)
    md = render_markdown(res)
    assert page.count("<polyline") == 2            # loss (finite prefix) and accuracy
    assert "×" in page
    assert "loss: not finite from x = 5 on" in md


def test_crashed_submission_shows_load_error():
    res = make_results("carol", "crashed")
    md, page = render_markdown(res), render_html(res)
    for out in (md, page):
        assert "SyntaxError: invalid syntax (submission.py, line 12)" in out
        assert "0 / 10" in out
    assert "Your submission could not be graded" in md


def test_passing_says_all_passed():
    md = render_markdown(make_results("dan", "passing"))
    assert "All checks passed." in md and "Failed checks" not in md


def test_russian_labels_and_bad_lang():
    res = make_results("alice", "failing", late={"days_late": 1, "penalty_fraction": 0.1})
    md, page = render_markdown(res, lang="ru"), render_html(res, lang="ru")
    for label in ("Отзыв для alice", "Итого баллов", "Непройденные проверки", "Вероятная причина",
                  "Опоздание на 1 дн.", "Изоляция"):
        assert label in md and label in page
    assert "Total score" not in md and '<html lang="ru">' in page
    with pytest.raises(ValueError, match="lang"):
        render_markdown(res, lang="de")
    with pytest.raises(ValueError, match="lang"):
        render_html(res, lang="fr")


def test_markdown_subset_converter_escapes_first():
    md = ("Intro **bold <b>x</b>** and `a<b` code.\nsecond line\n\n- item *one*\n- item `two`\n"
          "  continued\n\n```python\n**not bold** <script>\n```\n\n## Head\n\n"
          "| a | b |\n|---|---|\n| `1` | **2** |\n\nunmatched ` tick")
    html = _html.markdown_to_html(md)
    assert "<p>Intro <strong>bold &lt;b&gt;x&lt;/b&gt;</strong> and <code>a&lt;b</code> code.<br>second line</p>" in html
    assert "<ul><li>item <em>one</em></li><li>item <code>two</code> continued</li></ul>" in html
    assert "<pre><code>**not bold** &lt;script&gt;</code></pre>" in html
    assert "<h4>Head</h4>" in html
    assert "<thead><tr><th>a</th><th>b</th></tr></thead><tbody><tr><td><code>1</code></td><td><strong>2</strong></td></tr>" in html
    assert "<p>unmatched ` tick</p>" in html
    assert "<script" not in html


def test_bad_results_argument():
    with pytest.raises(ValueError, match="results"):
        render_markdown(["not", "a", "dict"])


@pytest.mark.parametrize("bad", ['<p><script>x</script></p>', '<img src="a.png">', '<a href="http://x">',
                                 '<svg><rect fill="url(http://x/y)"/></svg>', '<style>@import "x.css";</style>',
                                 '<div onclick="f()">'])
def test_self_contained_checker_catches_loading_markup(bad):
    with pytest.raises(AssertionError):
        assert_self_contained(bad)


def test_minimal_and_partial_results_render():
    # an older or partial results.json: no convgrade block, tests without status or extra_data
    res = {"score": 1, "tests": [{"name": "a", "score": 1, "max_score": 1},
                                 {"name": "b", "score": 0, "max_score": 2, "output": "x",
                                  "extra_data": {"heatmap": {"channels": "oops"}, "curve": {"x": [1]}}}]}
    md = render_markdown(res)
    assert "| a | 1 / 1 | passed |" in md and "#### b (0 / 2)" in md and "1 / 3" in md
    page = render_html(res)
    assert "<svg" not in page and "Isolation: ?" in page
    assert "No checks were run." in render_markdown({})
