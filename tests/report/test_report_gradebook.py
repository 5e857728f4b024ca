"""Gradebook collection, CSV export and the class summary page (grader/report/gradebook.py)."""
import csv
import re

import numpy as np
import pytest

from grader.report import _html
from grader.report.gradebook import (collect, frequent_diagnoses, pass_rates, read_roster,
                                     render_summary_html, score_histogram, write_csv)
from grader.report.similarity import Pair

from .fixtures import assert_self_contained, make_results, write_batch


@pytest.fixture
def batch(tmp_path):
    out = write_batch(tmp_path / "OUT", {
        "s01": make_results("s01", "passing", name="Ada Lovelace", execution_time=3.0),
        "s02": make_results("s02", "failing", late={"days_late": 2, "penalty_fraction": 0.2},
                            execution_time=41.5),
        "s03": make_results("s03", "hidden", isolation="rlimits", execution_time=7.25),
        "s04": make_results("s04", "crashed", execution_time=0.4),
        "s05": make_results("s05", "failing", execution_time=12.0),
    })
    (out / "s06").mkdir()
    (out / "s06" / "results.json").write_text('{"score": 3, "tests": [', encoding="utf-8")
    (out / "s07").mkdir()                                  # grading never finished
    (out / "_work").mkdir()                                # scratch space is not a student
    (out / "_work" / "results.json").write_text("{}")
    return out


def test_collect_one_row_per_student_folder(batch):
    rows = collect(batch)
    assert [r["student"] for r in rows] == [f"s0{i}" for i in range(1, 8)]
    by = {r["student"]: r for r in rows}
    assert by["s01"]["score"] == 10 and by["s01"]["max_score"] == 10 and by["s01"]["name"] == "Ada Lovelace"
    assert by["s02"]["score"] == pytest.approx(4.0) and by["s02"]["late"]["raw_score"] == 5
    assert by["s04"]["status"] == "load_error" and "SyntaxError" in by["s04"]["reason"]
    assert by["s06"]["status"] == "unreadable" and "JSONDecodeError" in by["s06"]["reason"]
    assert by["s07"]["status"] == "unreadable" and by["s07"]["reason"] == "no results.json"
    assert by["s06"]["score"] is None
    assert by["s03"]["isolation"] == "rlimits"
    assert {d["code"] for d in by["s02"]["diagnoses"]} == {"border_padding", "no_learning"}
    with pytest.raises(ValueError, match="out_dir"):
        collect(batch / "nope")


def _read(path):
    with open(path, newline="", encoding="utf-8") as fh:
        return list(csv.reader(fh))


def test_canvas_csv(batch, tmp_path):
    rows = collect(batch)
    roster_file = tmp_path / "roster.csv"
    roster_file.write_text("student,name,sis_id,canvas_id,section,email\n"
                           "s01,\"Lovelace, Ada\",A-001,9001,Sec 1,ada@uni.edu\n", encoding="utf-8")
    roster = read_roster(roster_file)
    table = _read(write_csv(rows, tmp_path / "canvas.csv", "canvas", roster=roster, canvas_assignment_id=4242))
    assert table[0] == ["Student", "ID", "SIS User ID", "SIS Login ID", "Section", "hw2-conv (4242)"]
    assert table[1] == ["Points Possible", "", "", "", "", "10"]
    assert table[2] == ["Lovelace, Ada", "9001", "A-001", "", "Sec 1", "10"]
    assert table[3] == ["s02", "", "s02", "", "", "4"]
    assert table[5][-1] == "0"              # a load error is a graded zero
    assert table[7][-1] == ""               # unreadable: leave the grade alone
    assert len(table) == 2 + 7
    plain_title = _read(write_csv(rows, tmp_path / "c2.csv", "canvas", title="HW 2"))
    assert plain_title[0][-1] == "HW 2"


def test_moodle_and_plain_csv(batch, tmp_path):
    rows = collect(batch)
    roster = {"s02": {"email": "s02@uni.edu", "id_number": "20231002", "name": "Boris"}}
    table = _read(write_csv(rows, tmp_path / "m.csv", "moodle", roster=roster))
    assert table[0] == ["ID number", "Email address", "Full name", "hw2-conv", "Late penalty (%)", "Feedback"]
    assert table[2] == ["20231002", "s02@uni.edu", "Boris", "4", "20", "late 2 day(s), -20% (raw 5)"]
    assert table[4][3] == "0" and "SyntaxError" in table[4][5]
    assert table[6][3] == "" and "JSONDecodeError" in table[6][5]
    plain = _read(write_csv(rows, tmp_path / "p.csv", "plain"))
    assert plain[0] == ["student", "name", "score", "max_score", "days_late", "penalty_fraction",
                        "raw_score", "status", "reason"]
    assert plain[2] == ["s02", "", "4", "10", "2", "0.2", "5", "ok", ""]
    with pytest.raises(ValueError, match="fmt"):
        write_csv(rows, tmp_path / "x.csv", "blackboard")
    bad = tmp_path / "bad_roster.csv"
    bad.write_text("id,name\n1,x\n")
    with pytest.raises(ValueError, match="path"):
        read_roster(bad)


def test_pass_rates_diagnoses_histogram(batch):
    rows = collect(batch)
    rates = pass_rates(rows)
    # loaded rows: s01 passing, s02/s05 failing (conv2d_forward, train_lenet), s03 hidden (backward)
    assert rates[0][:3] in (("conv2d_forward", 2, 4), ("train_lenet", 2, 4))
    assert [r[0] for r in rates[:2]] == ["conv2d_forward", "train_lenet"]
    assert rates[2] == ("conv2d_backward", 3, 4, 0.75)
    assert rates[-1] == ("maxpool2d_forward", 4, 4, 1.0)
    diags = frequent_diagnoses(rows)
    assert diags[0][0] in ("border_padding", "no_learning") and diags[0][2] == 2
    assert ("grad_not_summed", "dW looks like one sample's gradient, not the batch sum.", 1) in diags
    counts = score_histogram(rows)
    # scores in %: 100, 40, 70, 0, 50 (s06, s07 unreadable)
    expected = np.zeros(10, dtype=int)
    expected[[9, 4, 7, 0, 5]] = 1
    np.testing.assert_array_equal(counts, expected)


def test_summary_html(batch):
    rows = collect(batch)
    rows[3]["reason"] = "<script>alert(1)</script> crashed"
    pairs = [Pair("s02", "s05", 0.93, [((4, 20), (6, 22))], 40, 43, 45),
             {"a": "s01", "b": "s03", "score": 0.61, "regions": [[[1, 3], [2, 4]]]}]
    page = render_summary_html(rows, similarity_pairs=pairs)
    assert_self_contained(page)
    assert "&lt;script&gt;alert(1)&lt;/script&gt; crashed" in page
    assert "Class summary: hw2-conv" in page and "Submissions: 7 · graded: 5" in page
    # histogram: one bar per bin, drawn with height for the 5 non-empty bins
    bars = re.findall(r'<rect x="[\d.]+" y="[\d.]+" width="[\d.]+" height="([\d.]+)" fill="%s">'
                      % _html.rgb_hex(_html.BAR), page)
    assert len(bars) == 10 and sum(float(h) > 0 for h in bars) == 5
    # sections in order, with content
    order = [page.index(h) for h in ("Pass rate per check", "Most frequent diagnoses", "Slowest submissions",
                                     "Crashed or unreadable", "Isolation levels used", "Similar pairs")]
    assert order == sorted(order)
    slow = page[order[2]:order[3]]
    assert slow.index("s02") < slow.index("s05") < slow.index("s03")
    assert "41.5" in slow
    broken = page[order[3]:order[4]]
    assert all(s in broken for s in ("s04", "s06", "s07", "no results.json"))
    iso = page[order[4]:order[5]]
    assert re.search(r"bwrap</td><td class=\"num\">4<", iso) and re.search(r"rlimits</td><td class=\"num\">1<", iso)
    sim = page[order[5]:]
    assert "93%" in sim and "4–20 ↔ 6–22" in sim and "61%" in sim
    ru = render_summary_html(rows, lang="ru")
    assert "Сводка по группе" in ru and "Similar pairs" not in ru


def test_summary_of_empty_class():
    page = render_summary_html([])
    assert "Submissions: 0" in page and page.count("None.") >= 4


def test_roster_ids_match_the_safe_folder_names(tmp_path):
    """grade-batch files "Anna Ivanova" under OUT/Anna_Ivanova; the gradebook finds her roster
    row there and writes her roster id, not the folder name, into the LMS columns."""
    out = write_batch(tmp_path / "OUT", {"Anna_Ivanova": make_results("Anna_Ivanova", "passing"),
                                         "b.petrov@uni.edu": make_results("b.petrov@uni.edu", "failing")})
    roster_file = tmp_path / "roster.csv"
    roster_file.write_text("student,name,section\nAnna Ivanova,Анна Иванова,Sec 2\n"
                           "b.petrov@uni.edu,Boris Petrov,Sec 1\n", encoding="utf-8")
    roster = read_roster(roster_file)
    assert set(roster) == {"Anna_Ivanova", "b.petrov@uni.edu"}
    rows = collect(out)
    canvas = _read(write_csv(rows, tmp_path / "c.csv", "canvas", roster=roster))
    assert canvas[2] == ["Анна Иванова", "", "Anna Ivanova", "", "Sec 2", "10"]
    moodle = _read(write_csv(rows, tmp_path / "m.csv", "moodle", roster=roster))
    assert moodle[1][:3] == ["Anna Ivanova", "", "Анна Иванова"]
    plain = _read(write_csv(rows, tmp_path / "p.csv", "plain", roster=roster))
    assert plain[1][:2] == ["Anna Ivanova", "Анна Иванова"]
    clash = tmp_path / "clash.csv"
    clash.write_text("student\na b\na_b\n", encoding="utf-8")
    with pytest.raises(ValueError, match="same folder name 'a_b'"):
        read_roster(clash)
