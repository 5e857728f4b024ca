"""grader.kit, the public checks in the notebook: the grader's own run_checks with the sandbox
worker's step executor running in this process (see tests/kit/test_release_path.py for the
released notebooks in Jupyter)."""
from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest

from grader.assignment import load
from grader.authoring import load_mutants, master_source
from grader.authoring.scaffold import scaffold
from grader.authoring.toml_out import dumps
from grader.grade import grade_submission
from grader.kit import InProcessSession, KitError, check_in_notebook, find_release, run_public_checks
from grader.sandbox import worker

ROOT = Path(__file__).resolve().parents[2]


def _env(source: str) -> dict:
    env = {"__name__": "__main__"}
    exec(compile(source, "notebook.py", "exec"), env)
    return env


@pytest.fixture(scope="module")
def a2():
    return load("a2_convolution")


@pytest.fixture()
def relu(tmp_path):
    folder = tmp_path / "a9_relu"
    scaffold("a9_relu", folder)
    text = (folder / "assignment.toml").read_text()
    (folder / "assignment.toml").write_text(re.sub(r"probe_timeout_s = \d+", "probe_timeout_s = 1", text))
    return folder


def test_the_probe_runs_in_the_sandbox_workers_own_executor():
    s = InProcessSession({"f": lambda x: x + 1})
    assert type(s._session) is worker.Session
    r = s.probe([{"let": "y", "call": "f", "args": [41]}], {"y": "y"})
    assert r.status == "ok" and r.values == {"y": 42}
    r = s.probe([{"let": "y", "call": "g"}], {"y": "y"})
    assert r.status == "error" and r.error["type"] == "NameError" and "'g'" in r.error["message"]


def test_flipped_kernel_same_verdict_in_the_notebook_and_in_convgrade_check(a2, tmp_path):
    """The issue's case: the notebook's checker and `convgrade check` disagreed on a flipped kernel."""
    m = {m.name: m for m in load_mutants(a2.path)}["conv2d_flipped_kernel"]
    source = m.apply(master_source(a2))
    (tmp_path / "flipped.py").write_text(source)
    sandbox = grade_submission(a2, tmp_path / "flipped.py", student="public", visibility="visible")
    kernel = run_public_checks(_env(source), a2)
    assert [(t["name"], t["status"], t["score"]) for t in kernel["tests"]] == \
        [(t["name"], t["status"], t["score"]) for t in sandbox["tests"]]
    backward = [t for t in kernel["tests"] if t["name"].startswith("Conv2d backward: 3x3")]
    assert backward     # the row the old second checker failed while `convgrade check` passed it
    # in the notebook: the grader's feedback, its diagnosis included
    with pytest.raises(AssertionError, match=r"(?s)FAIL Conv2d forward: 3x3.*Likely mistake.*flipped"):
        check_in_notebook(_env(source), "Conv2d forward: 3x3, no padding", a2.path)
    check_in_notebook(_env(master_source(a2)), "Conv2d forward: 3x3, no padding", a2.path)


def test_a_hanging_function_fails_its_check_instead_of_the_kernel(relu):
    source = master_source(relu).replace("def forward(self, x):", "def forward(self, x):\n        while True:\n            pass", 1)
    res = run_public_checks(_env(source), relu)
    forward = [t for t in res["tests"] if "forward" in t["name"].lower()]
    assert forward and all(t["status"] == "failed" for t in forward)
    assert any("time limit" in t["output"] or "did not finish" in t["output"] for t in forward)


def test_where_the_checks_are(relu, tmp_path, monkeypatch):
    assert find_release(relu / "sub" / "dir") == relu        # a path inside the folder
    with pytest.raises(KitError, match="no assignment.toml and checks.toml"):
        find_release(tmp_path / "elsewhere")
    env = _env(master_source(relu))
    with pytest.raises(KitError, match="belongs to 'a2_convolution'"):
        check_in_notebook(env, "ReLU forward", relu, assignment="a2_convolution")
    with pytest.raises(KitError, match="no visible check 'nope'"):
        check_in_notebook(env, "nope", relu)
    monkeypatch.chdir(relu)                                    # Jupyter: the notebook's folder
    check_in_notebook(env, "ReLU forward", assignment="a9_relu")


def test_toml_writer_round_trips_every_bundled_file():
    files = sorted((ROOT / "assignments").rglob("*.toml"))
    assert files
    for f in files:
        doc = tomllib.loads(f.read_text())
        assert tomllib.loads(dumps(doc, header="# a comment")) == doc, f
    assert tomllib.loads(dumps({"a": float("inf"), "b": "x\"y\n", "c weird": [1, {"d": []}]})) == \
        {"a": float("inf"), "b": "x\"y\n", "c weird": [1, {"d": []}]}


def test_audit_of_the_public_files(relu, tmp_path):
    from grader.authoring.release import audit, release

    out = tmp_path / "release"
    release(relu, out, verify=False)
    a = load(relu)
    assert audit(a, out) == []
    hidden = next(c for c in tomllib.loads((relu / "checks.toml").read_text())["check"] if c["visibility"] != "visible")
    checks = (out / "checks.toml").read_text()
    (out / "checks.toml").write_text(checks + "\n" + dumps({"check": [hidden]}))
    problems = audit(a, out)
    assert any(f"check {hidden['name']!r} is not a visible check" in p for p in problems)
    assert any(f"names hidden check {hidden['name']!r}" in p for p in problems)
    (out / "checks.toml").write_text(checks.replace("points = 1", "points = 2", 1))
    assert any("differs from the instructor's" in p for p in audit(a, out))
    (out / "checks.toml").write_text(checks)
    manifest = (out / "assignment.toml").read_text()
    (out / "assignment.toml").write_text(manifest + '\n[demo]\nmutants = []\n')
    assert any("instructor-only keys ['demo']" in p for p in audit(a, out))
    (out / "assignment.toml").write_text(manifest)
    (out / "tests" / "checks.toml").write_text(checks)           # only the top-level ones are public
    assert any("tests/checks.toml: an instructor file" in p for p in audit(a, out))


def test_release_records_the_course_language_and_check_speaks_it(relu, tmp_path):
    """The released assignment.toml carries the course's ``lang``; ``convgrade check`` in the
    released folder (and the notebook's checks, ``kit_lang``) use it unless ``--lang`` says otherwise."""
    import subprocess
    import sys

    from grader.authoring.release import release

    out = tmp_path / "released"
    release(relu, out, verify=False)
    manifest = tomllib.loads((out / "assignment.toml").read_text(encoding="utf-8"))
    assert manifest["lang"] == "en"                       # the bundled examples' course
    (out / "assignment.toml").write_text((out / "assignment.toml").read_text(encoding="utf-8")
                                         .replace('lang = "en"', 'lang = "ru"'), encoding="utf-8")
    sub = tmp_path / "solution.py"
    sub.write_text(master_source(relu), encoding="utf-8")
    run = lambda *extra: subprocess.run([sys.executable, "-m", "grader", "check", str(out), str(sub), *extra],
                                        capture_output=True, text=True, timeout=120, cwd=tmp_path)
    ru, en = run(), run("--lang", "en")
    assert ru.returncode == 0 and en.returncode == 0, ru.stderr + en.stderr
    assert re.search("[а-яё]{4}", ru.stdout) and "visible checks pass" not in ru.stdout
    assert "visible checks pass" in en.stdout
