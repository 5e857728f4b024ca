"""The command line as students and TAs use it: exit codes, results.json, readable output."""
import json
import os
from pathlib import Path

import pytest
from click.testing import CliRunner

from grader.authoring.examples import example_source
from grader.cli import main

ROOT = Path(__file__).resolve().parents[2]
REDTEAM = ROOT / "tests" / "redteam" / "assignment"
SOLUTION = example_source("a2_convolution", "correct")
ZERO_PADDING = example_source("a2_convolution", "conv2d_always_zero_padding")


@pytest.fixture
def runner(monkeypatch):
    monkeypatch.setenv("CONVGRADE_SECRET", "cli-test-secret")
    return CliRunner()


def test_grade_writes_gradescope_results_and_exits_zero_on_full_marks(runner, tmp_path):
    sub = tmp_path / "alice.py"
    sub.write_text(SOLUTION)
    out = tmp_path / "results.json"
    r = runner.invoke(main, ["grade", str(REDTEAM), str(sub), "--student", "alice", "-o", str(out)])
    assert r.exit_code == 0, r.output
    res = json.loads(out.read_text())
    assert res["score"] == res["max_score"] == 6
    assert {"score", "execution_time", "output", "tests"} <= set(res)
    for t in res["tests"]:
        assert {"name", "number", "score", "max_score", "status", "visibility", "output", "tags"} <= set(t)
        assert t["visibility"] in ("visible", "hidden", "after_due_date")
    cg = res["convgrade"]
    assert cg["student"] == "alice" and cg["isolation"]["level"] and cg["limits"]["wall_s"] == 20
    assert "Score: 6 / 6" in r.output


def test_grade_exits_one_when_points_are_lost_and_names_the_mistake(runner, tmp_path):
    sub = tmp_path / "bob.py"
    sub.write_text(ZERO_PADDING)
    r = runner.invoke(main, ["grade", str(REDTEAM), str(sub), "--json"])
    assert r.exit_code == 1
    res = json.loads(r.output)
    failed = [t for t in res["tests"] if t["status"] == "failed"]
    assert failed and any("zero" in t["output"] for t in failed)


def test_check_runs_only_visible_checks_and_uses_exit_codes(runner, tmp_path):
    good = tmp_path / "good.py"
    good.write_text(SOLUTION)
    r = runner.invoke(main, ["check", str(REDTEAM), str(good)])
    assert r.exit_code == 0, r.output
    assert "Conv2d forward" in r.output and "hidden" not in r.output.lower().split("visible checks pass")[0]
    bad = tmp_path / "bad.py"
    bad.write_text(SOLUTION.replace("out = out + self.bias[None, :, None, None]", "pass"))
    r = runner.invoke(main, ["check", str(REDTEAM), str(bad)])
    assert r.exit_code == 1
    assert "FAIL" in r.output and "bias" in r.output


def test_broken_submission_gets_a_reason_not_a_traceback(runner, tmp_path):
    sub = tmp_path / "broken.ipynb"
    sub.write_text("{not json")
    r = runner.invoke(main, ["grade", str(REDTEAM), str(sub), "--json"])
    assert r.exit_code == 1 and "Traceback" not in r.output
    res = json.loads(r.output)
    assert res["score"] == 0 and "not a valid notebook" in res["convgrade"]["load_error"]
    assert len(res["tests"]) == 5 and all(t["status"] == "failed" for t in res["tests"])


def test_usage_and_input_errors_have_distinct_exit_codes(runner, tmp_path):
    assert runner.invoke(main, ["grade"]).exit_code == 2
    r = runner.invoke(main, ["grade", "no_such_assignment", str(tmp_path / "x.py")])
    assert r.exit_code != 0 and "no assignment" in r.output
    r = runner.invoke(main, ["grade", str(REDTEAM), str(tmp_path / "missing.py")])
    assert r.exit_code == 3 and "no such file" in r.output


def test_help_shows_an_example(runner):
    for cmd in ("grade", "check"):
        r = runner.invoke(main, [cmd, "--help"])
        assert r.exit_code == 0 and "Example" in r.output


def test_fallback_isolation_still_grades_and_says_so(runner, tmp_path):
    sub = tmp_path / "alice.py"
    sub.write_text(SOLUTION)
    r = runner.invoke(main, ["grade", str(REDTEAM), str(sub), "--isolation", "process", "--json"])
    res = json.loads(r.output)
    assert res["score"] == 6
    iso = res["convgrade"]["isolation"]
    assert iso["level"].startswith("process")
    assert any("network" in d or "filesystem" in d for d in iso["details"])


def test_regrade_is_bit_identical_and_students_get_different_hidden_inputs(tmp_path, monkeypatch):
    from grader.assignment import load
    from grader.grade import grade_submission

    a = load(REDTEAM)
    sub = tmp_path / "s.py"
    sub.write_text(ZERO_PADDING)

    def outputs(student):
        r = grade_submission(a, sub, student=student, secret=b"k")
        return [(t["name"], t["score"], t["output"]) for t in r["tests"]]

    assert outputs("alice") == outputs("alice")
    assert outputs("alice") != outputs("bob")   # hidden errors differ in value: other inputs


@pytest.mark.parametrize("lang", ["en", "ru"])
def test_demo_grades_the_bundled_examples(runner, lang):
    """`make demo`'s command: every example of a bundled assignment graded, the correct ones at
    full marks, the buggy ones with their diagnosis codes, in the language asked for."""
    r = runner.invoke(main, ["demo", "--assignment", "a1_backprop", "--lang", lang])
    assert r.exit_code == 0, r.output
    lines = r.output.splitlines()
    assert lines[0].startswith("Grading 9 example" if lang == "en" else "Проверяем примеры решений (9)")
    correct = next(line for line in lines if line.strip().startswith("correct.py"))
    assert "50.5 / 50.5" in correct
    buggy = next(line for line in lines if line.strip().startswith("ce_grad_not_divided_by_batch.py"))
    assert "ce_grad_not_divided_by_batch" in buggy.split(".py", 1)[1]


def test_python_started_by_a_relative_path_through_folders_the_sandbox_lacks(tmp_path):
    """`../../venv/bin/python -m grader check ...` from a folder under /tmp (which the sandbox
    replaces with an empty one): the worker's interpreter is found all the same."""
    import subprocess
    import sys

    where = tmp_path / "course" / "week2"
    where.mkdir(parents=True)
    python = os.path.relpath(sys.executable, where)
    assert python.startswith("..")
    env = dict(os.environ, PYTHONPATH=str(ROOT), OMP_WAIT_POLICY="PASSIVE")
    proc = subprocess.run([python, "-m", "grader", "check", "a2_convolution",
                           str(ROOT / "assignments" / "a2_convolution" / "master.ipynb")],
                          cwd=where, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    assert "19/19 visible checks pass" in proc.stdout
