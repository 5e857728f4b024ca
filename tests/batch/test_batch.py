"""Grading a class: every submission gets a result, late policy, resume, failures, commands."""
from __future__ import annotations

import csv
import json

import pytest
from click.testing import CliRunner

from grader.batch import discover, run_batch
from grader.batch.outputs import read_results
from grader.cli import main

from .conftest import ASSIGNMENT, SECRET, kinds, make_class


def _run(assignment, subs, out, **kw):
    kw.setdefault("workers", 2)
    kw.setdefault("secret", SECRET)
    kw.setdefault("progress", False)
    return run_batch(assignment, discover(subs, out / "_staging"), out, **kw)


def _zygote_here() -> bool:
    from grader.assignment import load
    from grader.grade import sandbox_config
    from grader.sandbox.launcher import detect_isolation
    from grader.sandbox.zygote import enabled

    config = sandbox_config(load(ASSIGNMENT))
    level = detect_isolation(config).level
    return enabled(config, level.startswith("bwrap"), level.endswith("+cgroup"))


def _scores(out, students):
    res = {s: read_results(out, s) for s in students}
    return {s: (r["score"], [(t["name"], t["status"], t["score"]) for t in r["tests"]]) for s, r in res.items()}


def test_every_submission_gets_a_result_and_the_commands_report_them(tmp_path, monkeypatch):
    monkeypatch.setenv("CONVGRADE_SECRET", SECRET.decode())
    subs = tmp_path / "subs"
    ids = make_class(subs, 7, include=("correct.py", "flipped.py", "crash.py", "broken.ipynb", "hang.py",
                                       "notebook.ipynb", "correct.py"))
    (subs / "zz_wrong.txt").write_text("print('hello')\n")
    out = tmp_path / "out"
    runner = CliRunner()
    r = runner.invoke(main, ["grade-batch", str(ASSIGNMENT), str(subs), "-o", str(out), "-j", "2"])
    assert r.exit_code == 1, r.output          # some did not load: still graded, exit 1
    assert "Not fully graded" in r.output and "load error" in r.output

    students = ids + ["zz_wrong"]
    for s in students:
        for f in ("results.json", "feedback.md", "feedback.html"):
            assert (out / s / f).is_file(), (s, f)
    res = {s: read_results(out, s) for s in students}
    correct, flipped, crash, broken, hang, notebook, correct2 = ids
    assert res[correct]["score"] == res[correct]["max_score"] == 6
    assert res[notebook]["score"] == 6
    assert 0 < res[flipped]["score"] < 6
    for s in (crash, broken, "zz_wrong"):
        assert res[s]["score"] == 0 and res[s]["convgrade"]["load_error"], s
    assert "wrong type" in res["zz_wrong"]["convgrade"]["load_error"]
    assert "import" in res[crash]["convgrade"]["load_error"]
    assert res[hang]["score"] < 6
    hung = [t for t in res[hang]["tests"] if t["status"] == "failed"]
    assert hung and any("time" in t["output"].lower() for t in hung)
    assert (out / correct / "source.py").is_file() and not (out / broken / "source.py").exists()
    if _zygote_here():      # each batch worker forks its submissions' sandbox workers from a zygote
        for s in (correct, flipped, notebook, correct2):
            assert any("zygote" in d for d in res[s]["convgrade"]["isolation"]["details"]), \
                (s, res[s]["convgrade"]["isolation"], res[s]["convgrade"].get("timing"),
                 (out / "_logs" / "workers.log").read_text(errors="replace")[-3000:])
    assert "Conv2d" in (out / flipped / "feedback.md").read_text()
    index = json.loads((out / "index.json").read_text())
    assert set(index["students"]) == set(students)
    assert index["students"][crash]["status"] == "load_error"
    assert index["students"][correct]["status"] == "ok"

    r = runner.invoke(main, ["similarity", str(out), "--threshold", "0.8"])
    assert r.exit_code == 0, r.output
    pairs = json.loads((out / "similarity.json").read_text())["pairs"]
    assert {(p["a"], p["b"]) for p in pairs} >= {(correct, correct2)}
    assert "Similar submissions" in (out / "similarity.html").read_text()

    r = runner.invoke(main, ["gradebook", str(out), "--format", "plain"])
    assert r.exit_code == 0, r.output
    rows = list(csv.DictReader(open(out / "gradebook-plain.csv", encoding="utf-8")))
    assert [row["student"] for row in rows] == sorted(students)
    assert {row["student"]: row["status"] for row in rows}[crash] == "load_error"
    summary = (out / "summary.html").read_text()
    assert "Conv2d forward" in summary and correct2 in summary      # pass rates + similar pair
    r = runner.invoke(main, ["gradebook", str(out), "--format", "canvas", "--canvas-assignment-id", "77",
                             "-o", str(tmp_path / "canvas.csv")])
    assert r.exit_code == 3 and sorted(students)[0] in r.output     # no roster: no Canvas ids to match by
    ros = tmp_path / "lms_roster.csv"
    ros.write_text("student,sis_id\n" + "".join(f"{s},SIS-{s}\n" for s in students))
    r = runner.invoke(main, ["gradebook", str(out), "--format", "canvas", "--canvas-assignment-id", "77",
                             "--roster", str(ros), "-o", str(tmp_path / "canvas.csv")])
    assert r.exit_code == 0, r.output
    lines = (tmp_path / "canvas.csv").read_text().splitlines()
    assert lines[0].endswith("(77)") and lines[1].startswith("Points Possible") and len(lines) == 2 + len(students)

    r = runner.invoke(main, ["grade-batch", "--help"])
    assert "Example" in r.output and "grade-batch a2_convolution" in r.output
    r = runner.invoke(main, ["grade-batch", str(ASSIGNMENT), str(tmp_path / "nope"), "-o", str(out)])
    assert r.exit_code == 3
    r = runner.invoke(main, ["gradebook", str(tmp_path / "nope")])
    assert r.exit_code == 3


EXPORT_META = """\
submission_1:
  :submitters:
  - :name: Alice Liddell
    :sid: a1
  :created_at: 2026-01-11 00:10:00.000000000 +00:00
submission_2:
  :submitters:
  - :name: Bob Stone
    :sid: b2
  - :name: Carol Ng
    :sid: c3
  :created_at: 2026-01-12T12:00:00+00:00
submission_3:
  :submitters:
  - :name: Dan Brown
    :sid: d4
  :created_at: 2026-02-28T12:00:00+00:00
"""


def test_gradescope_export_late_policy_and_groups(tmp_path, assignment):
    exp = tmp_path / "export"
    correct = kinds()["correct.py"]
    for i in (1, 2, 3):
        (exp / f"submission_{i}").mkdir(parents=True)
        (exp / f"submission_{i}" / "convolution.py").write_bytes(correct + f"\n# {i}\n".encode())
    (exp / "submission_metadata.yml").write_text(EXPORT_META)
    out = tmp_path / "out"
    report = _run(assignment, exp, out, lang="ru")
    assert report.graded == 3 and not report.broken
    res = {s: read_results(out, s) for s in ("a1", "b2", "c3", "d4")}
    # due 2026-01-10T23:59Z, grace 15 min: 11 minutes late is on time
    assert res["a1"]["score"] == 6 and "late" not in res["a1"]["convgrade"]
    # 1.5 days late: 2 started days x 10%
    late = res["b2"]["convgrade"]["late"]
    assert late["penalty_fraction"] == pytest.approx(0.2) and res["b2"]["score"] == pytest.approx(4.8)
    assert res["c3"]["score"] == res["b2"]["score"] and res["c3"]["convgrade"]["name"] == "Carol Ng"
    assert res["c3"]["convgrade"]["group"] == ["b2", "c3"]
    # 48 days late: capped at 30 %
    assert res["d4"]["convgrade"]["late"]["penalty_fraction"] == pytest.approx(0.3)
    assert res["d4"]["score"] == pytest.approx(4.2)
    md = (out / "b2" / "feedback.md").read_text()
    assert "Bob Stone" in md and "20" in md
    assert "Carol Ng" in (out / "c3" / "feedback.html").read_text()
    assert (out / "c3" / "source.py").read_text() == (out / "b2" / "source.py").read_text()

    ros = tmp_path / "roster.csv"
    ros.write_text("student,id_number\n" + "".join(f"{s},{s}\n" for s in ("a1", "b2", "c3", "d4")))
    r = CliRunner().invoke(main, ["gradebook", str(out), "--format", "moodle", "--roster", str(ros)])
    assert r.exit_code == 0, r.output
    rows = {row["ID number"]: row for row in csv.DictReader(open(out / "gradebook-moodle.csv", encoding="utf-8"))}
    assert rows["b2"]["Late penalty (%)"] == "20" and rows["a1"]["Late penalty (%)"] == ""
    assert rows["c3"]["Full name"] == "Carol Ng"


def test_resume_skips_unchanged_and_regrades_changed(tmp_path, assignment):
    subs = tmp_path / "subs"
    ids = make_class(subs, 4, include=("correct.py", "flipped.py"))
    out = tmp_path / "out"
    first = _run(assignment, subs, out)
    assert (first.graded, first.skipped) == (4, 0)
    before = _scores(out, ids)
    mtimes = {s: (out / s / "results.json").stat().st_mtime_ns for s in ids}

    again = _run(assignment, subs, out)
    assert (again.graded, again.skipped) == (0, 4)
    assert {s: (out / s / "results.json").stat().st_mtime_ns for s in ids} == mtimes

    (subs / "s01.py").write_bytes(kinds()["correct.py"])          # s01 fixed its bug
    (subs / "s04.py").write_bytes(kinds()["flipped.py"])          # a late arrival
    (out / "s02" / "feedback.html").unlink()                       # a crash between files
    (out / "s03" / "results.json").write_text('{"score": 6, "tests": [')   # a torn file
    third = _run(assignment, subs, out)
    assert (third.graded, third.skipped) == (4, 1)
    assert (out / "s00" / "results.json").stat().st_mtime_ns == mtimes["s00"]
    after = _scores(out, ids + ["s04"])
    assert after["s01"][0] == 6 and before["s01"][0] < 6
    assert after["s02"] == before["s02"] and after["s03"] == before["s03"]
    assert (out / "s02" / "feedback.html").is_file()

    # a new assignment version regrades everything (seeds and checks may differ)
    import dataclasses
    bumped = dataclasses.replace(assignment, version="0" * 16)
    assert _run(bumped, subs, out, executor="threads").graded == 5


def test_grader_failures_become_results_and_are_retried(tmp_path, assignment, monkeypatch):
    subs = tmp_path / "subs"
    ids = make_class(subs, 3, include=("correct.py",))
    out = tmp_path / "out"
    # hard timeout: the worker is killed, the submission still gets a result with the reason
    report = _run(assignment, subs, out, timeout=0.2, workers=1)
    assert report.graded == 3 and set(report.statuses.values()) == {"timeout"}
    r = read_results(out, ids[0])
    assert r["score"] == 0 and r["convgrade"]["batch_error"] == "timeout"
    assert "longer than the batch limit" in (out / ids[0] / "feedback.md").read_text()
    assert [t["name"] for t in r["tests"]] == [c.name for c in assignment.checks]   # a row per check

    # a grader bug on one submission: that one gets "internal error", the others are graded
    import grader.grade

    real = grader.grade.grade_submission

    def flaky(a, path, **kw):
        if kw.get("student") == ids[1]:
            raise RuntimeError("boom")
        return real(a, path, **kw)

    monkeypatch.setattr(grader.grade, "grade_submission", flaky)
    report = _run(assignment, subs, out, executor="threads")
    assert report.graded == 3      # timeouts are retried on resume
    assert report.statuses == {ids[0]: "ok", ids[1]: "internal_error", ids[2]: "ok"}
    assert "internal error (RuntimeError: boom)" in read_results(out, ids[1])["convgrade"]["load_error"]
    monkeypatch.setattr(grader.grade, "grade_submission", real)
    report = _run(assignment, subs, out)
    assert report.graded == 1 and report.statuses[ids[1]] == "ok"


def test_canvas_download_zip_to_a_canvas_gradebook_from_the_command_line(tmp_path):
    """A TA's path with Canvas: its "Download Submissions" zip (files named
    ``<name>_[late_]<user id>_<attachment id>_<file>``) graded as it comes, one student per Canvas
    user, named after the roster's canvas_id; the gradebook for Canvas has their scores."""
    import io
    import zipfile

    src = kinds()
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("ivanovaanna_123456_987_convolution.py", src["correct.py"])
        z.writestr("petrovpetr_late_222333_988_convolution-1.py", src["flipped.py"])
        z.writestr("petrovpetr_late_222333_989_notes.txt", b"my notes")
    (tmp_path / "submissions.zip").write_bytes(buf.getvalue())
    roster = tmp_path / "roster.csv"
    roster.write_text("student,name,canvas_id,sis_id\nanna,Anna Ivanova,123456,S1\npetr,Petr Petrov,222333,S2\n")
    out = tmp_path / "out"
    runner = CliRunner()
    r = runner.invoke(main, ["grade-batch", str(ASSIGNMENT), str(tmp_path / "submissions.zip"), "-o", str(out),
                             "--roster", str(roster), "-j", "1", "--no-progress", "--lang", "ru"])
    assert r.exit_code in (0, 1), r.output
    anna, petr = read_results(out, "anna"), read_results(out, "petr")
    assert anna["score"] == anna["max_score"] and petr["score"] < petr["max_score"]
    assert any("выгрузка Canvas" in n and "222333" in n for n in petr["convgrade"]["notes"])
    assert any("с опозданием" in n for n in petr["convgrade"]["notes"])
    r = runner.invoke(main, ["gradebook", str(out), "--format", "canvas", "--roster", str(roster),
                             "--canvas-assignment-id", "4242"])
    assert r.exit_code == 0, r.output
    rows = {row["ID"]: row for row in csv.DictReader(open(out / "gradebook-canvas.csv", encoding="utf-8"))}
    column = next(k for k in rows["123456"] if k.endswith("(4242)"))
    assert float(rows["123456"][column]) == anna["score"] and float(rows["222333"][column]) == petr["score"]
    # without a roster: the students are named after the download, the Canvas ids come from it
    out2 = tmp_path / "out2"
    r = runner.invoke(main, ["grade-batch", str(ASSIGNMENT), str(tmp_path / "submissions.zip"), "-o", str(out2),
                             "-j", "1", "--no-progress"])
    assert r.exit_code in (0, 1), r.output
    assert read_results(out2, "ivanovaanna")["convgrade"]["lms"] == {"canvas_id": "123456"}
    r = runner.invoke(main, ["gradebook", str(out2), "--format", "canvas", "--canvas-assignment-id", "4242"])
    assert r.exit_code == 0, r.output
    rows = {row["ID"]: row for row in csv.DictReader(open(out2 / "gradebook-canvas.csv", encoding="utf-8"))}
    assert rows["123456"]["Student"] == "ivanovaanna" and float(rows["222333"][column]) == petr["score"]
