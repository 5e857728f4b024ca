"""Red team: attacks on the grader process itself — discovery, result writing, batch resume,
and what TAs open (feedback Markdown, the terminal). Each test is one class of issue 11:

* discovery trusts student files (a metadata file in a student's folder, keys used as paths,
  unsafe zip members);
* one student stops the batch (non-finite numbers, colliding ids, a file named like OUT's own);
* output amplification (thousands of curve series);
* injection into what TAs open (raw HTML / ``javascript:`` links, terminal escapes, ``<solution.py``);
* ``grade-batch --only`` / ``--force`` re-grade whatever the saved result says.
"""
from __future__ import annotations

import copy
import io
import json
import os
import zipfile
from pathlib import Path

import pytest
from click.testing import CliRunner

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

from grader.assignment import load  # noqa: E402
from grader.authoring import master_source  # noqa: E402
from grader.batch import discover, run_batch  # noqa: E402
from grader.inert import inert_markdown, terminal_text  # noqa: E402
from grader.report.feedback import render_markdown  # noqa: E402
from grader.results import MAX_POINTS, MAX_SERIES, sanitize_results, write_results  # noqa: E402

HERE = Path(__file__).parent
SOLUTION = master_source("a2_convolution")
SECRET = b"redteam-course-secret-7f3a9c"
# results fields that are wall-clock timings: everything else must be identical run to run
TIMING_FIELDS = (("execution_time",), ("convgrade", "timing"))


@pytest.fixture(scope="module")
def assignment():
    return load(HERE / "assignment")


def _zip(path: Path, members: dict[str, str]) -> Path:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for name, text in members.items():
            z.writestr(name, text)
    path.write_bytes(buf.getvalue())
    return path


def without_timing(results: dict) -> dict:
    """``results`` without what depends on when and how it ran: timings, and whether its sandbox
    worker was forked from a zygote or started on its own (the same isolation either way; which
    one a session gets depends on what else the process is grading at that moment)."""
    from grader.i18n import language, t

    r = copy.deepcopy(results)
    for path in TIMING_FIELDS:
        d = r
        for key in path[:-1]:
            d = d.get(key, {})
        d.pop(path[-1], None)
    iso = r.get("convgrade", {}).get("isolation")
    if isinstance(iso, dict) and isinstance(iso.get("details"), list):
        forked = set()
        for lang in ("en", "ru"):
            with language(lang):
                forked.add(t("loading.isolation.forked"))
        iso["details"] = [d for d in iso["details"] if d not in forked]
    return r


# ----------------------------------------------------------------------------- discovery
def test_metadata_file_in_a_student_folder_is_just_that_students_file(tmp_path):
    cls = tmp_path / "class"
    (cls / "alice").mkdir(parents=True)
    (cls / "alice" / "solution.py").write_text(SOLUTION)
    (cls / "mallory").mkdir()
    (cls / "mallory" / "solution.py").write_text("x = 1\n")
    (cls / "mallory" / "submission_metadata.yml").write_text(
        "../alice:\n  :submitters:\n  - :sid: mallory\n"
        f"{tmp_path / 'master'}:\n  :submitters:\n  - :sid: boss\n")
    entries = {e.key: e for e in discover(cls, tmp_path / "st")}
    assert sorted(entries) == ["alice", "mallory"]
    assert entries["alice"].path == cls / "alice" / "solution.py"
    assert entries["mallory"].path.parent == tmp_path / "st"     # mallory's two files, packed
    assert not any(e.error for e in entries.values())


def test_export_keys_are_plain_ids_inside_the_root(tmp_path):
    outside = tmp_path / "instructor"
    outside.mkdir()
    (outside / "master.py").write_text(SOLUTION)
    exp = tmp_path / "export"
    (exp / "submission_1").mkdir(parents=True)
    (exp / "submission_1" / "solution.py").write_text("x = 1\n")
    (exp / "submission_2").symlink_to(outside, target_is_directory=True)
    (exp / "submission_metadata.yml").write_text(
        "submission_1:\n  :submitters:\n  - :sid: '1'\n"
        "submission_2:\n  :submitters:\n  - :sid: '2'\n"
        "../instructor:\n  :submitters:\n  - :sid: '3'\n"
        f"{outside}:\n  :submitters:\n  - :sid: '4'\n")
    entries = {e.key: e for e in discover(exp, tmp_path / "st")}
    assert sorted(entries) == ["1", "2", "3", "4"]
    assert entries["1"].error is None and entries["1"].path == exp / "submission_1" / "solution.py"
    for key in ("2", "3", "4"):
        assert entries[key].error, key                      # a row with the reason, nothing read
        assert outside not in entries[key].path.parents


def test_unsafe_zip_members_make_only_their_submission_a_load_error(tmp_path):
    z = _zip(tmp_path / "export.zip", {
        "export/submission_metadata.yml": "submission_1:\n  :submitters:\n  - :sid: a\n"
                                          "submission_2:\n  :submitters:\n  - :sid: b\n",
        "export/submission_1/solution.py": "x = 1\n",
        "export/submission_2/solution.py": "x = 2\n",
        "export/submission_2/../../../escaped.py": "x = 3\n",
    })
    entries = {e.key: e for e in discover(z, tmp_path / "st")}
    assert entries["a"].error is None
    assert "unsafe" in entries["b"].error
    assert not list(tmp_path.rglob("escaped.py"))


# ----------------------------------------------------------------------------- results
def test_non_finite_and_amplified_results_are_sanitized_and_written(tmp_path):
    inf = float("inf")
    huge = {"x": list(range(5000)), "series": {f"s{i}": [float(i)] * 5000 for i in range(3000)}}
    huge["series"]["loss"] = [float("nan")] * 5000
    r = {"score": float("nan"), "max_score": 1.0, "execution_time": inf, "output": "ok",
         "tests": [{"name": "t", "score": inf, "max_score": 1.0, "status": "failed", "visibility": "hidden",
                    "output": "x" * 10 ** 6, "extra_data": {"curve": huge, "case": "secret", "heatmap": {}}}],
         "convgrade": {"timing": {"t": -inf}, "notes": ["n"] * 10 ** 5}}
    clean = sanitize_results(r)
    assert clean == sanitize_results(clean)                          # idempotent
    text = json.dumps(clean, allow_nan=False)
    assert len(text) < 1 << 20
    t = clean["tests"][0]
    assert clean["score"] == 0 and t["score"] == 0
    assert set(t["extra_data"]) == {"curve"}                       # hidden: no case, no heatmap
    assert list(t["extra_data"]["curve"]["series"])[0] == "loss"
    assert len(t["extra_data"]["curve"]["series"]) <= MAX_SERIES
    assert all(len(v) <= MAX_POINTS for v in t["extra_data"]["curve"]["series"].values())
    write_results(tmp_path / "results.json", r)
    assert json.loads((tmp_path / "results.json").read_text())["score"] == 0


def test_honest_result_is_unchanged_by_the_sanitizer(assignment, tmp_path):
    from grader.grade import grade_submission

    sub = tmp_path / "alice.py"
    sub.write_text(SOLUTION)
    r = grade_submission(assignment, sub, student="alice", secret=SECRET)
    assert r["score"] == r["max_score"]
    assert sanitize_results(r) == r


# ----------------------------------------------------------------------------- the batch
def _class(folder: Path) -> None:
    folder.mkdir(parents=True)
    (folder / "alice.py").write_text(SOLUTION)
    (folder / "bob.py").write_text(SOLUTION + "\n# bob\n")
    (folder / "index.json.py").write_text(SOLUTION)                 # named like OUT/index.json
    (folder / "a b.py").write_text(SOLUTION)                        # a b and a_b: one folder name
    (folder / "a_b.py").write_text("raise SystemExit(3)\n")
    (folder / "broken.py").write_text("def f(:\n")
    (folder / "nan.py").write_text(SOLUTION)                        # its result gets non-finite numbers


def _poison(monkeypatch):
    """The nan student's result carries non-finite numbers and a huge curve, as a patched clock
    or a NaN loss history would put there."""
    import grader.grade as grade

    real = grade.grade_submission

    def graded(assignment, path, **kw):
        r = real(assignment, path, **kw)
        if Path(path).stem == "nan":
            r["execution_time"] = float("inf")
            r["tests"][0]["score"] = float("nan")
            r["tests"][0]["extra_data"]["curve"] = {"x": [1, 2], "series": {f"s{i}": [float("nan"), 1e309]
                                                                            for i in range(5000)}}
            r["convgrade"]["timing"] = {"sandbox_start_s": float("-inf")}
        return r

    monkeypatch.setattr(grade, "grade_submission", graded)


def test_mixed_batch_always_completes_and_honest_results_equal_grading_alone(assignment, tmp_path, monkeypatch):
    monkeypatch.setenv("CONVGRADE_SECRET", SECRET.decode())
    _poison(monkeypatch)
    subs, out = tmp_path / "class", tmp_path / "out"
    _class(subs)
    entries = discover(subs, out / "_staging")
    report = run_batch(assignment, entries, out, executor="threads", workers=2, secret=SECRET, progress=False)
    students = {m.student for e in entries for m in e.members}
    assert len(students) == 7 and set(report.statuses) == students       # a row for each
    assert "index.json_" in students and (out / "index.json").is_file()
    dups = sorted(s for s in students if s.startswith("a_b.dup-"))
    assert len(dups) == 2
    index = json.loads((out / "index.json").read_text())["students"]
    assert set(index) == students
    assert index["broken"]["status"] == "load_error"
    nan = json.loads((out / "nan" / "results.json").read_text())
    assert nan["execution_time"] == 0 and len(nan["tests"][0]["extra_data"]["curve"]["series"]) <= MAX_SERIES

    alone_subs, alone = tmp_path / "alone", tmp_path / "out_alone"
    alone_subs.mkdir()
    for name in ("alice.py", "bob.py"):
        (alone_subs / name).write_bytes((subs / name).read_bytes())
    run_batch(assignment, discover(alone_subs, alone / "_staging"), alone, executor="threads", workers=1,
              secret=SECRET, progress=False)
    for s in ("alice", "bob"):
        mixed = json.loads((out / s / "results.json").read_text())
        single = json.loads((alone / s / "results.json").read_text())
        assert without_timing(mixed) == without_timing(single), s
        assert (out / s / "feedback.md").read_text().split("\n---\n")[0] == \
            (alone / s / "feedback.md").read_text().split("\n---\n")[0]

    # --only re-grades a chosen load error whatever the saved result says; --force re-grades all
    again = run_batch(assignment, entries, out, executor="threads", workers=2, secret=SECRET, progress=False)
    assert again.graded <= 2                                            # only what has no stable hash
    only = run_batch(assignment, entries, out, executor="threads", workers=1, secret=SECRET, progress=False,
                     only={"broken"})
    assert only.graded == 1 and set(only.statuses) == students


def test_grade_batch_only_names_unknown_students(assignment, tmp_path):
    from grader.cli import main

    subs = tmp_path / "class"
    subs.mkdir()
    (subs / "broken.py").write_text("def f(:\n")
    res = CliRunner().invoke(main, ["grade-batch", str(HERE / "assignment"), str(subs), "-o", str(tmp_path / "o"),
                                    "--only", "nobody", "--executor", "threads"])
    assert res.exit_code == 3 and "nobody" in res.output


# ----------------------------------------------------------------------------- what TAs open
EVIL = "<img src=x onerror=alert(1)>[click](javascript:alert(1))"


def test_markdown_from_students_is_inert_everywhere(assignment, tmp_path):
    from grader.grade import grade_submission

    """Inert = a fixed point of inert_markdown: no '<' and no link syntax outside code spans and
    fenced blocks (which every viewer shows literally)."""
    bad = tmp_path / "bad.py"
    bad.write_text(f"raise ValueError({EVIL!r} + '`' + {EVIL!r} + '\\x1b[2J\\x1b]0;owned\\x07')\n")
    for sub in (_zip(tmp_path / "upload.zip", {"solution.py": SOLUTION, f"{EVIL}.txt": "x"}),
                _zip(tmp_path / "two.zip", {"solution.py": SOLUTION, f"{EVIL}.py": "x = 1"}), bad):
        r = grade_submission(assignment, sub, student="mallory", secret=SECRET, name=EVIL)
        md = render_markdown(r)
        assert EVIL not in md.split("```")[0]                  # the title: the name escaped
        for text in [md, r["output"]] + [t["output"] for t in r["tests"]]:
            assert inert_markdown(text) == text, text[:500]
    assert "\x1b" not in terminal_text(r["convgrade"]["load_error"])
    assert inert_markdown(EVIL) == "&lt;img src=x onerror=alert(1)>[click]\\(javascript:alert(1))"


def test_grade_cli_takes_odd_upload_names_and_strips_terminal_escapes(tmp_path):
    from grader.cli import main

    sub = tmp_path / "<solution.py"
    sub.write_text("raise ValueError('\\x1b[31mred\\x1b[0m \\x1b]0;title\\x07')\n")
    out = tmp_path / "r.json"
    res = CliRunner().invoke(main, ["grade", str(HERE / "assignment"), str(sub), "--student", "m", "-o", str(out)],
                             env={"CONVGRADE_SECRET": SECRET.decode()})
    assert res.exception is None or isinstance(res.exception, SystemExit), res.output
    assert res.exit_code == 1 and out.is_file()
    assert "\x1b" not in res.output and "\x07" not in res.output
