"""Course folders: convgrade.toml, the order a course is found in, ``new``/``init-course``, the
course's secret file, and the CLI's exit codes for unknown assignments and missing files."""
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from grader import course as course_mod
from grader.assignment import ASSIGNMENTS_DIR, AssignmentError, available, resolve
from grader.authoring.examples import example_source
from grader.cli import main
from grader.course import (COURSE_FILE, CourseError, bundled_course, current_course, find_course_file,
                           init_course, load_course, resolve_in_course, use_course)
from grader.exam.exam import ExamError, resolve_exam
from grader.seeds import course_secret

ROOT = Path(__file__).resolve().parents[2]
REDTEAM = ROOT / "tests" / "redteam" / "assignment"     # a small numpy assignment (6 points)


@pytest.fixture(autouse=True)
def _clean(monkeypatch, tmp_path):
    """Every test starts outside any course, with no course or secret from the environment."""
    for var in ("CONVGRADE_COURSE", "CONVGRADE_SECRET", "CONVGRADE_SECRET_FILE"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    work = tmp_path / "outside"
    work.mkdir()
    monkeypatch.chdir(work)
    assert find_course_file() is None, "a convgrade.toml above the temporary folder"
    yield
    use_course(None)


def make_course(folder: Path, body: str = 'name = "CNN 2026"\n', with_redteam: bool = True) -> Path:
    (folder / "assignments").mkdir(parents=True)
    (folder / COURSE_FILE).write_text(body)
    if with_redteam:
        shutil.copytree(REDTEAM, folder / "assignments" / "hw1")
    return folder


# --------------------------------------------------------------------------- convgrade.toml

def test_full_schema_parses_with_paths_relative_to_the_course(tmp_path):
    c = make_course(tmp_path / "c", '''name = "CNN"
lang = "ru"
secret_file = "keys/course.key"
roster = "/srv/roster.csv"
[lms.canvas]
course_id = 123
[lms.canvas.assignments]
hw1 = 987
[lms.gradescope]
course_id = "abc"
''')
    got = load_course(c)
    assert (got.name, got.lang, got.bundled) == ("CNN", "ru", False)
    assert got.secret_file == c.resolve() / "keys" / "course.key"
    assert got.roster == Path("/srv/roster.csv")
    assert got.lms_id("canvas", "hw1") == 987 and got.lms["gradescope"].course_id == "abc"
    assert got.lms_id("moodle", "hw1") is None
    assert got.ids() == ["hw1"] and got.assignments_dir == c.resolve() / "assignments"


@pytest.mark.parametrize("body, key", [
    ('nmae = "typo"\n', "'nmae'"),
    ('[lms.blackboard]\ncourse_id = 1\n', "lms.blackboard"),
    ('[lms.canvas]\ncourse = 1\n', "lms.canvas.course"),
    ('lang = "de"\n', "lang"),
    ('roster = 5\n', "roster"),
    ('[lms.canvas.assignments]\nhw1 = true\n', "lms.canvas.assignments.hw1"),
    ('name = \n', "invalid TOML"),
])
def test_a_wrong_key_is_an_error_that_names_it(tmp_path, body, key):
    c = make_course(tmp_path / "c", body, with_redteam=False)
    with pytest.raises(CourseError, match=key.replace(".", r"\.")):
        load_course(c)


def test_defaults_and_init_course_template_parse(tmp_path):
    c = make_course(tmp_path / "bare", "", with_redteam=False)
    assert load_course(c).name == "bare" and load_course(c).lang == "en"
    written = init_course(tmp_path / "new", name="Deep CNNs", lang="ru")
    assert [p.name for p in written] == [COURSE_FILE, "assignments"]
    got = load_course(tmp_path / "new")
    assert (got.name, got.lang, got.secret_file) == ("Deep CNNs", "ru", None)
    with pytest.raises(CourseError, match="exists"):
        init_course(tmp_path / "new")


# --------------------------------------------------------------------------- which course

def test_resolution_order_explicit_path_course_option_env_nearest_bundled(tmp_path, monkeypatch):
    assert current_course().bundled and current_course().assignments_dir == ASSIGNMENTS_DIR
    assert "a2_convolution" in available() and resolve("a2_convolution") == ASSIGNMENTS_DIR / "a2_convolution"
    near = make_course(tmp_path / "near")
    (near / "sub" / "deeper").mkdir(parents=True)
    monkeypatch.chdir(near / "sub" / "deeper")
    assert current_course().root == near.resolve() and available() == ["hw1"]
    assert resolve("hw1") == near.resolve() / "assignments" / "hw1"
    with pytest.raises(AssignmentError, match=r"no assignment 'a2_convolution'.*CNN 2026.*hw1"):
        resolve("a2_convolution")            # a course never falls through to the examples
    assert resolve(ASSIGNMENTS_DIR / "a2_convolution") == ASSIGNMENTS_DIR / "a2_convolution"   # a path
    far = make_course(tmp_path / "env", 'name = "from env"\n', with_redteam=False)
    shutil.copytree(REDTEAM, far / "assignments" / "hw2")
    monkeypatch.setenv("CONVGRADE_COURSE", str(far))
    assert current_course().name == "from env" and available() == ["hw2"]
    opt = make_course(tmp_path / "opt", 'name = "from option"\n', with_redteam=False)
    use_course(opt)
    assert current_course().name == "from option" and available() == []
    use_course(None)
    monkeypatch.setenv("CONVGRADE_COURSE", str(tmp_path / "missing"))
    with pytest.raises(CourseError, match="CONVGRADE_COURSE"):
        current_course()


def test_exams_resolve_through_the_course(tmp_path, monkeypatch):
    assert resolve_exam("exam_midterm") == ASSIGNMENTS_DIR / "exam_midterm" / "exam.toml"
    c = make_course(tmp_path / "c", with_redteam=False)
    shutil.copytree(ASSIGNMENTS_DIR / "exam_midterm", c / "assignments" / "final")
    monkeypatch.chdir(c)
    assert resolve_exam("final") == c.resolve() / "assignments" / "final" / "exam.toml"
    with pytest.raises(ExamError, match="no exam 'exam_midterm'"):
        resolve_exam("exam_midterm")
    assert resolve_in_course("final", "exam.toml", "exam").name == "final"


def test_bundled_course_is_the_repository_examples():
    b = bundled_course()
    assert b.bundled and b.assignments_dir == ASSIGNMENTS_DIR == ROOT / "assignments"
    assert {"a1_backprop", "a2_convolution", "a6_training"} <= set(b.ids())
    assert b.ids("exam.toml") == ["exam_midterm"]


def test_secret_file_comes_from_the_course_and_the_environment_still_wins(tmp_path, monkeypatch):
    c = make_course(tmp_path / "c", 'secret_file = "private/key"\n', with_redteam=False)
    monkeypatch.chdir(c)
    first = course_secret()
    key = c / "private" / "key"
    assert key.read_bytes().strip() == first and oct(key.stat().st_mode & 0o777) == "0o600"
    assert course_secret() == first
    assert not (tmp_path / "xdg" / "convgrade" / "secret").exists()
    other = tmp_path / "other.key"
    other.write_bytes(b"from-env-file")
    monkeypatch.setenv("CONVGRADE_SECRET_FILE", str(other))
    assert course_secret() == b"from-env-file"
    monkeypatch.setenv("CONVGRADE_SECRET", "from-env")
    assert course_secret() == b"from-env"


# --------------------------------------------------------------------------- CLI

@pytest.fixture
def runner():
    return CliRunner()


def test_new_writes_into_the_course_and_refuses_outside_one(runner, tmp_path, monkeypatch):
    r = runner.invoke(main, ["new", "a7_x"])
    assert r.exit_code == 3 and "init-course" in r.output
    assert not (ASSIGNMENTS_DIR / "a7_x").exists()
    r = runner.invoke(main, ["init-course", str(tmp_path / "cnn")])
    assert r.exit_code == 0, r.output
    r = runner.invoke(main, ["init-course", str(tmp_path / "cnn")])
    assert r.exit_code == 3
    monkeypatch.chdir(tmp_path / "cnn" / "assignments")
    r = runner.invoke(main, ["new", "a7_x"])
    assert r.exit_code == 0, r.output
    assert (tmp_path / "cnn" / "assignments" / "a7_x" / "assignment.toml").is_file()
    assert "convgrade validate a7_x" in r.output
    assert available() == ["a7_x"]
    r = runner.invoke(main, ["new", "a7_x"])          # not empty any more
    assert r.exit_code == 3
    r = runner.invoke(main, ["new", "Bad-Id"])
    assert r.exit_code == 3
    monkeypatch.chdir(tmp_path)
    r = runner.invoke(main, ["--course", str(tmp_path / "cnn"), "new", "a8_y"])
    assert r.exit_code == 0, r.output
    assert (tmp_path / "cnn" / "assignments" / "a8_y" / "checks.toml").is_file()
    r = runner.invoke(main, ["new", "a9_z", "-d", str(tmp_path / "elsewhere")])
    assert r.exit_code == 0 and (tmp_path / "elsewhere" / "master.ipynb").is_file()


@pytest.mark.parametrize("args", [
    ["check", "no_such_assignment", "x.py"],
    ["grade", "no_such_assignment", "x.py"],
    ["validate", "no_such_assignment"],
    ["release", "no_such_assignment", "-o", "rel"],
    ["grade-batch", "no_such_assignment", ".", "-o", "out"],
    ["exam", "grade", "no_such_exam", "x.yaml", "--student", "s1"],
    ["check", "a2_convolution", "missing.ipynb"],
    ["grade", "a2_convolution", "missing.py"],
    ["--course", "not_a_course", "course"],
])
def test_unknown_assignment_exam_course_or_missing_file_is_exit_3(runner, args):
    Path("x.py").write_text("x = 1\n")
    Path("x.yaml").write_text("{}\n")
    r = runner.invoke(main, args)
    assert r.exit_code == 3, r.output
    assert "Traceback" not in r.output


@pytest.mark.parametrize("args", [["check"], ["check", "a", "b", "c"], ["check", "sub.py"], ["new"],
                                  ["grade", "a2_convolution"], ["validate"], ["release", "a2_convolution"]])
def test_usage_errors_are_exit_2(runner, args):
    Path("sub.py").write_text("x = 1\n")
    r = runner.invoke(main, args)
    assert r.exit_code == 2, r.output


def test_broken_convgrade_toml_is_exit_3_naming_the_key(runner, tmp_path, monkeypatch):
    make_course(tmp_path / "c", 'name = "x"\ncanvas_id = 5\n')
    monkeypatch.chdir(tmp_path / "c")
    r = runner.invoke(main, ["grade", "hw1", "x.py"])
    assert r.exit_code == 3 and "canvas_id" in r.output


def test_check_with_one_argument_inside_a_released_folder(runner, tmp_path, monkeypatch):
    rel = tmp_path / "rel"
    shutil.copytree(REDTEAM, rel)
    (rel / "mine.py").write_text(example_source("a2_convolution", "correct"))
    monkeypatch.chdir(rel)
    r = runner.invoke(main, ["check", "mine.py"])
    assert r.exit_code == 0, r.output
    assert "visible checks pass" in r.output
    monkeypatch.chdir(tmp_path)
    r = runner.invoke(main, ["check", "rel", "rel/mine.py"])
    assert r.exit_code == 0, r.output


# --------------------------------------------------------------------------- one entry point

def _entry_points():
    yield [sys.executable, "-m", "grader"]
    script = Path(sys.executable).parent / "convgrade"
    if script.is_file():
        yield [str(script)]


@pytest.mark.parametrize("entry", list(_entry_points()), ids=lambda e: "python -m grader" if "-m" in e else "convgrade")
def test_console_script_and_python_m_grader_resolve_alike(entry, tmp_path):
    c = make_course(tmp_path / "c")
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_WAIT_POLICY": "PASSIVE"}
    env.pop("CONVGRADE_COURSE", None)

    def run(*args, cwd):
        return subprocess.run([*entry, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=120)

    r = run("course", cwd=c / "assignments")
    assert r.returncode == 0, r.stderr
    assert "CNN 2026" in r.stdout and "assignments: hw1" in r.stdout
    r = run("grade", "a2_convolution", "x.py", cwd=c)
    assert r.returncode == 3 and "no assignment 'a2_convolution'" in r.stderr
    assert r.stderr.startswith("Error:") and "Usage: convgrade" not in r.stderr
    r = run("check", cwd=c)
    assert r.returncode == 2 and "Usage: convgrade check" in r.stderr
    r = run("--course", str(c), "course", cwd=tmp_path)
    assert r.returncode == 0 and "hw1" in r.stdout
