"""Discovery of a class's submissions: plain folders, Gradescope exports, rosters (no grading)."""
from __future__ import annotations

import datetime as dt
import io
import zipfile

import pytest

from grader.batch import DiscoveryError, discover, parse_metadata, read_roster, safe_id
from grader.batch.progress import Progress
from grader.batch.runner import needs_gpu

UTC = dt.timezone.utc


def test_plain_folder_files_subfolders_and_zip(tmp_path):
    subs = tmp_path / "subs"
    subs.mkdir()
    (subs / "alice.py").write_text("x = 1\n")
    (subs / "bob.ipynb").write_text("{}")
    (subs / "carol").mkdir()
    (subs / "carol" / "convolution.ipynb").write_text("{}")
    (subs / "dave").mkdir()                       # several files: packed into one zip
    (subs / "dave" / "convolution.py").write_text("y = 2\n")
    (subs / "dave" / "helpers.py").write_text("z = 3\n")
    (subs / "dave" / "__MACOSX").mkdir()
    (subs / "dave" / "__MACOSX" / "junk").write_text("junk")
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("convolution.py", "w = 4\n")
    (subs / "eve.zip").write_bytes(buf.getvalue())
    (subs / "frank smith!.txt").write_text("not code")
    (subs / ".hidden.py").write_text("ignored")

    entries = discover(subs, tmp_path / "staging")
    by = {e.key: e for e in entries}
    assert sorted(by) == ["alice", "bob", "carol", "dave", "eve", "frank_smith_"]
    assert by["alice"].path == subs / "alice.py"
    assert by["carol"].path == subs / "carol" / "convolution.ipynb"
    assert by["eve"].path == subs / "eve.zip"
    packed = by["dave"].path
    assert packed.parent == tmp_path / "staging" and packed.suffix == ".zip"
    assert sorted(zipfile.ZipFile(packed).namelist()) == ["convolution.py", "helpers.py"]
    assert all(e.submitted_at is None for e in entries)   # no metadata: on time, mtime ignored

    # packing is deterministic: discovering again gives the same bytes, so resume sees no change
    sha = by["dave"].sha256()
    again = {e.key: e for e in discover(subs, tmp_path / "staging")}
    assert again["dave"].sha256() == sha


def test_roster_names_and_times(tmp_path):
    subs = tmp_path / "subs"
    subs.mkdir()
    (subs / "alice.py").write_text("x = 1\n")
    (subs / "bob.py").write_text("x = 2\n")
    roster = tmp_path / "roster.csv"
    roster.write_text("student,name,email,submitted_at\n"
                      "alice,Alice Liddell,alice@uni.edu,2026-01-12T10:00:00+03:00\n"
                      "bob,Bob Stone,,\n", encoding="utf-8")
    entries = {e.key: e for e in discover(subs, tmp_path / "st", read_roster(roster))}
    assert entries["alice"].members[0].name == "Alice Liddell"
    assert entries["alice"].members[0].email == "alice@uni.edu"
    assert entries["alice"].submitted_at == dt.datetime(2026, 1, 12, 7, 0, tzinfo=UTC)
    assert entries["bob"].submitted_at is None
    bad = tmp_path / "bad.csv"
    bad.write_text("id,name\n1,x\n")
    with pytest.raises(DiscoveryError, match="student"):
        read_roster(bad)


METADATA = """\
submission_101:
  :submitters:
  - :name: Alice Liddell
    :sid: '1001'
    :email: alice@uni.edu
  :created_at: 2026-01-10 20:00:00.123456789 -08:00
  :score: !ruby/object:BigDecimal 18:0.4e1
submission_102:
  :submitters:
  - :name: Bob Stone
    :sid: '1002'
    :email: bob@uni.edu
  - :name: Carol Ng
    :sid: ''
    :email: carol@uni.edu
  :created_at: 2026-01-10T21:00:00+00:00
"""


def test_gradescope_export_folder_and_zip(tmp_path):
    exp = tmp_path / "export"
    (exp / "submission_101").mkdir(parents=True)
    (exp / "submission_101" / "convolution.py").write_text("x = 1\n")
    (exp / "submission_102").mkdir()
    (exp / "submission_102" / "convolution.ipynb").write_text("{}")
    (exp / "submission_metadata.yml").write_text(METADATA)

    meta = parse_metadata(exp / "submission_metadata.yml")
    assert meta["submission_101"]["submitters"][0]["sid"] == "1001"

    entries = discover(exp, tmp_path / "staging")
    assert [e.key for e in entries] == ["1001", "1002"]
    alice, group = entries
    assert alice.members[0].name == "Alice Liddell"
    assert alice.submitted_at == dt.datetime(2026, 1, 11, 4, 0, 0, 123456, tzinfo=UTC)
    assert [m.student for m in group.members] == ["1002", "carol@uni.edu"]   # no sid: e-mail
    assert group.path == exp / "submission_102" / "convolution.ipynb"
    assert "group submission" in group.notes[0]

    # the same export as Gradescope's zip (with its top-level folder)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for p in sorted(exp.rglob("*")):
            if p.is_file():
                z.write(p, "assignment_9_export/" + str(p.relative_to(exp)))
    (tmp_path / "export.zip").write_bytes(buf.getvalue())
    zipped = discover(tmp_path / "export.zip", tmp_path / "staging2")
    assert [e.key for e in zipped] == ["1001", "1002"]
    assert zipped[0].sha256() == alice.sha256()
    assert zipped[0].submitted_at == alice.submitted_at


def test_bad_inputs(tmp_path):
    """The TA's own input (a missing folder) is an error; what is wrong with one submission is
    that submission's row with the reason, never an abort of the whole batch."""
    with pytest.raises(DiscoveryError, match="submissions"):
        discover(tmp_path / "missing", tmp_path / "st")
    exp = tmp_path / "exp"
    exp.mkdir()
    (exp / "submission_metadata.yml").write_text("submission_1:\n  :submitters: []\n")
    [e] = discover(exp, tmp_path / "st")
    assert e.student == "submission_1" and "submitters" in e.error
    (exp / "submission_metadata.yml").write_text(
        "submission_1:\n  :submitters:\n  - :sid: '7'\n  :created_at: yesterday\n")
    [e] = discover(exp, tmp_path / "st")
    assert e.student == "7" and "created_at" in e.error
    dup = tmp_path / "dup"
    dup.mkdir()
    (dup / "a.py").write_text("x = 1\n")
    (dup / "a.ipynb").write_text("{}")
    entries = discover(dup, tmp_path / "st")
    assert len({e.student for e in entries}) == 2 and all(e.student.startswith("a.dup-") for e in entries)
    assert all("A TA must decide" in e.notes[0] for e in entries)
    assert [e.student for e in discover(dup, tmp_path / "st")] == [e.student for e in entries]   # stable
    evil = tmp_path / "evil.zip"
    with zipfile.ZipFile(evil, "w") as z:
        z.writestr("../escape.py", "x = 1\n")
    assert discover(evil, tmp_path / "st") == []
    assert not (tmp_path / "escape.py").exists()


def test_safe_id():
    assert safe_id("alice") == "alice"
    assert safe_id("../../etc/passwd") == "etc_passwd"
    assert safe_id("_hidden") == "hidden"
    assert safe_id("Иван Петров") == "Иван_Петров"
    assert safe_id("a/b\\c:d") == "a_b_c_d"
    assert safe_id("") == "unnamed"


def test_needs_gpu_only_for_milestones_with_a_gpu_budget():
    from types import SimpleNamespace as NS

    def a(*checks):
        return NS(checks=[NS(kind=k, params=p) for k, p in checks])

    assert not needs_gpu(a(("forward", {"gpu": True})))
    assert not needs_gpu(a(("milestone", {"budget_s": 60})))
    assert not needs_gpu(a(("milestone", {"budget_s": {"cpu": 60}})))
    assert needs_gpu(a(("forward", {}), ("milestone", {"budget_s": {"cpu": 60, "gpu": 10}})))
    assert needs_gpu(a(("overfit_small_batch", {"budget_s": {"cpu": 20, "gpu": 10}})))   # every training kind
    assert not needs_gpu(a(("milestone", {"framework": "numpy", "budget_s": {"cpu": 60, "gpu": 10}})))
    assert needs_gpu(a(("milestone", {"device": "cuda"})))


def test_progress_line():
    out = io.StringIO()
    bar = Progress(4, skipped=2, stream=out, enabled=True)
    bar.update()
    bar.update(failed=True)
    line = bar.line()
    assert "2/4" in line and "50%" in line and "/min" in line and "ETA" in line
    assert "2 unchanged" in line and "1 broken" in line
    quiet = io.StringIO()
    Progress(3, stream=quiet, enabled=False).update()
    assert quiet.getvalue() == ""


def test_canvas_download_one_entry_per_user_named_from_the_roster(tmp_path):
    subs = tmp_path / "canvas"
    subs.mkdir()
    (subs / "ivanovaanna_123456_987_convolution.ipynb").write_text("{}")
    (subs / "petrovpetr_late_222333_988_convolution-1.ipynb").write_text("{}")
    (subs / "sidorovivan_444555_989_convolution.py").write_text("x = 1\n")       # two files: one entry
    (subs / "sidorovivan_444555_990_notes.txt").write_text("notes")
    (subs / "smithjohn_777_991_convolution.py").write_text("y = 1\n")            # same name, other users:
    (subs / "smithjohn_777_995_notes.txt").write_text("a")                        # never merged, packed
    (subs / "smithjohn_778_992_convolution.py").write_text("y = 2\n")            # apart
    (subs / "smithjohn_778_996_notes.txt").write_text("b")
    roster = tmp_path / "roster.csv"
    roster.write_text("student,name,canvas_id\nanna,Anna Ivanova,123456\npetr,Petr Petrov,222333\n")
    by = {e.key: e for e in discover(subs, tmp_path / "staging", read_roster(roster))}
    assert sorted(by)[:3] == ["anna", "petr", "sidorovivan"] and len(by) == 5
    assert by["anna"].path == subs / "ivanovaanna_123456_987_convolution.ipynb"
    assert "user 123456, matched to the roster's 'anna'" in by["anna"].notes[0]
    assert any("Canvas marked this submission late" in n for n in by["petr"].notes)
    with zipfile.ZipFile(by["sidorovivan"].path) as z:       # the names they uploaded
        assert sorted(z.namelist()) == ["convolution.py", "notes.txt"]
    assert "not in the roster" in by["sidorovivan"].notes[0]
    smiths = [e for k, e in by.items() if k.startswith("smithjohn")]
    packed = [zipfile.ZipFile(e.path).read("convolution.py") for e in smiths]
    assert len(smiths) == 2 and sorted(packed) == [b"y = 1\n", b"y = 2\n"]


def test_moodle_download_folders_and_a_plain_folder_that_only_looks_alike(tmp_path):
    subs = tmp_path / "moodle"
    (subs / "Anna Ivanova_12345_assignsubmission_file_").mkdir(parents=True)
    (subs / "Anna Ivanova_12345_assignsubmission_file_" / "convolution.ipynb").write_text("{}")
    (subs / "Пётр Петров_12346_assignsubmission_file_").mkdir()
    (subs / "Пётр Петров_12346_assignsubmission_file_" / "convolution.py").write_text("x = 1\n")
    roster = tmp_path / "roster.csv"
    roster.write_text("student,name\nanna,anna  ivanova\n", encoding="utf-8")
    by = {e.key: e for e in discover(subs, tmp_path / "staging", read_roster(roster))}
    assert sorted(by) == ["anna", safe_id("Пётр Петров")]
    assert by["anna"].path.name == "convolution.ipynb" and "Moodle download" in by["anna"].notes[0]
    # a class folder with one Canvas-like name among plain ones is a plain folder
    plain = tmp_path / "plain"
    plain.mkdir()
    (plain / "alice.py").write_text("x = 1\n")
    (plain / "lab_1_2_solution.py").write_text("x = 2\n")
    assert sorted(e.key for e in discover(plain, tmp_path / "staging2")) == ["alice", "lab_1_2_solution"]
