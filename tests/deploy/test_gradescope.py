"""The Gradescope autograder end to end: build the zip for a2, lay out /autograder in a temp root,
run setup.sh (offline: nothing installed) and run_autograder, validate results.json."""
from __future__ import annotations

import json
import re
import subprocess
import zipfile

import jsonschema
import pytest

from grader.deploy.gradescope import build, schema, validate_results
from grader.results import hidden_inputs

from .conftest import SECRET, assert_no_hidden_inputs, env_for_container, hidden_input_snippets, solution_notebook


@pytest.fixture(scope="module")
def autograder_zip(a2, tmp_path_factory):
    return build(a2, tmp_path_factory.mktemp("gs") / "autograder.zip", secret=SECRET)


def _container(zpath, root, notebook: str, metadata: dict):
    """/autograder as Gradescope lays it out: source/ (the zip), run_autograder, submission/, metadata."""
    with zipfile.ZipFile(zpath) as z:
        z.extractall(root / "source")
        for info in z.infolist():              # zipfile drops the mode bits; Gradescope keeps them
            mode = (info.external_attr >> 16) & 0o777
            if mode:
                (root / "source" / info.filename).chmod(mode)
    (root / "run_autograder").write_bytes((root / "source" / "run_autograder").read_bytes())
    (root / "run_autograder").chmod(0o755)
    (root / "submission").mkdir()
    (root / "submission" / "convolution.ipynb").write_text(notebook, encoding="utf-8")
    (root / "results").mkdir()
    (root / "submission_metadata.json").write_text(json.dumps(metadata), encoding="utf-8")


def _metadata(created_at="2026-12-01T10:00:00+00:00", due="2026-12-07T23:59:00+03:00"):
    return {"id": 123456, "created_at": created_at, "submission_method": "upload",
            "assignment": {"id": 25828, "course_id": 1234, "title": "A2", "due_date": due, "late_due_date": None,
                           "release_date": "2026-11-01T00:00:00+00:00", "total_points": "87.5",
                           "group_submission": False, "group_size": None},
            "users": [{"email": "alice@uni.edu", "id": 4242, "name": "Alice <b>Smith</b>"}],
            "previous_submissions": []}


def _run(root, script: str, **env):
    return subprocess.run(["bash", str(root / script) if script == "run_autograder" else str(root / "source" / script)],
                          cwd=root, env=env_for_container(CONVGRADE_AUTOGRADER_ROOT=str(root), **env),
                          capture_output=True, text=True, timeout=300)


def test_zip_layout_and_no_solution_inside(autograder_zip, a2, tmp_path):
    with zipfile.ZipFile(autograder_zip) as z:
        names = set(z.namelist())
        modes = {i.filename: (i.external_attr >> 16) & 0o777 for i in z.infolist()}
        assert {"setup.sh", "run_autograder", "requirements.txt", "secret", "convgrade-deploy.json",
                "assignment/assignment.toml", "assignment/checks.toml", "README.md"} <= names
        assert modes["setup.sh"] == modes["run_autograder"] == 0o755 and modes["secret"] == 0o600
        assert not any(n.endswith(("master.ipynb", "mutants.toml")) or "/examples/" in n for n in names)
        wheel = [n for n in names if n.startswith("wheels/convgrade-") and n.endswith("-py3-none-any.whl")]
        assert len(wheel) == 1
        reqs = z.read("requirements.txt").decode().split()
        assert all("==" in r for r in reqs) and any(r.startswith("numpy==") for r in reqs)
        assert not any(r.startswith(("dask==", "distributed==", "otter-grader==")) for r in reqs)
        with zipfile.ZipFile(__import__("io").BytesIO(z.read(wheel[0]))) as w:
            wn = set(w.namelist())
            assert "grader/deploy/gradescope.py" in wn and "reference/nn/conv.py" in wn
            assert any(n.endswith(".dist-info/RECORD") for n in wn)
        cfg = json.loads(z.read("convgrade-deploy.json"))
        assert cfg["assignment"] == a2.id and cfg["version"] == a2.version
        assert z.read("secret") == SECRET
        setup = z.read("setup.sh").decode()
        assert "ppa:deadsnakes/ppa" in setup and "python install" in setup
        assert not re.search(r"@[A-Z_]+@", setup), "every placeholder filled"
    for script in ("setup.sh", "run_autograder"):         # both parse as bash
        with zipfile.ZipFile(autograder_zip) as z:
            (tmp_path / script).write_bytes(z.read(script))
        assert subprocess.run(["bash", "-n", str(tmp_path / script)]).returncode == 0


@pytest.fixture(params=["notebook", "released"])
def submitted(request, a2):
    """A filled-in notebook: the master in a student's notebook, and the release's own notebook
    (otter's init and grader.check cells, starter stubs) with the solution typed in."""
    if request.param == "notebook":
        return solution_notebook(a2)
    from grader.submission import load_bytes

    nb = request.getfixturevalue("released_filled")
    if "import otter" in load_bytes(nb.encode(), "convolution.ipynb").source:
        pytest.skip("this checkout's loader still runs otter's init cell (left out on the loader branch)")
    return nb


def test_run_autograder_end_to_end(autograder_zip, a2, submitted, tmp_path):
    root = tmp_path / "autograder"
    _container(autograder_zip, root, submitted, _metadata())
    setup = _run(root, "setup.sh")
    assert setup.returncode == 0, setup.stderr + setup.stdout
    assert "offline" in setup.stdout
    r = _run(root, "run_autograder")
    assert r.returncode == 0, r.stderr + r.stdout
    text = (root / "results" / "results.json").read_text(encoding="utf-8")
    res = json.loads(text)
    validate_results(res)
    assert res["visibility"] == "visible" and res["stdout_visibility"] == "hidden"
    assert res["score"] == res["max_score"] == a2.max_score, res["output"]
    hidden = [t for t in res["tests"] if hidden_inputs(t)]
    assert hidden and all(t["visibility"] in ("visible", "after_due_date") for t in res["tests"])
    assert all(set(t["extra_data"]) <= {"kind", "diagnoses", "hidden_inputs", "worker_status"} for t in hidden)
    assert res["extra_data"]["isolation"] == res["convgrade"]["isolation"]["level"] != "none"
    assert res["convgrade"]["student"] == "alice@uni.edu" and res["convgrade"]["name"].startswith("Alice")
    assert res["convgrade"]["submitted_at"].startswith("2026-12-01T10:00")
    assert "late" not in res["convgrade"]
    assert not (root / "source" / "secret").exists(), "the secret must be gone before the submission runs"
    assert SECRET.decode() not in text
    assert_no_hidden_inputs(text, hidden_input_snippets(a2, "alice@uni.edu", SECRET))


def test_late_and_wrong_submission_shows_diagnoses_not_inputs(autograder_zip, a2, tmp_path):
    root = tmp_path / "autograder"
    meta = _metadata(created_at="2026-12-09T12:00:00+03:00")      # 1.5 days after Gradescope's due date
    _container(autograder_zip, root, solution_notebook(a2, "conv2d_always_zero_padding"), meta)
    assert _run(root, "setup.sh").returncode == 0
    r = _run(root, "run_autograder")
    assert r.returncode == 0, r.stderr
    text = (root / "results" / "results.json").read_text(encoding="utf-8")
    res = json.loads(text)
    validate_results(res)
    late = res["convgrade"]["late"]
    assert late["penalty_fraction"] == pytest.approx(0.2) and res["score"] == pytest.approx(0.8 * late["raw_score"])
    failed_hidden = [t for t in res["tests"] if hidden_inputs(t) and t["status"] == "failed"]
    assert failed_hidden and all(t["visibility"] == "visible" for t in failed_hidden)
    assert any(d["code"] for t in failed_hidden for d in t["extra_data"].get("diagnoses", []))
    assert_no_hidden_inputs(text, hidden_input_snippets(a2, "alice@uni.edu", SECRET))


def test_results_in_the_course_language(autograder_zip, a2, tmp_path):
    """The bundle records the course's language (``convgrade-deploy.json`` ``lang``); a Russian
    course's students read Russian rows on Gradescope."""
    root = tmp_path / "autograder"
    _container(autograder_zip, root, solution_notebook(a2, "conv2d_always_zero_padding"), _metadata())
    cfg_path = root / "source" / "convgrade-deploy.json"
    cfg = json.loads(cfg_path.read_text(encoding="utf-8"))
    assert cfg["lang"] == "en"                                  # the bundled examples' course
    cfg_path.write_text(json.dumps(dict(cfg, lang="ru")), encoding="utf-8")
    assert _run(root, "setup.sh").returncode == 0
    r = _run(root, "run_autograder")
    assert r.returncode == 0, r.stderr
    res = json.loads((root / "results" / "results.json").read_text(encoding="utf-8"))
    validate_results(res)
    assert res["convgrade"]["lang"] == "ru"
    failed = [t for t in res["tests"] if t["status"] == "failed"]
    assert failed and all(re.search("[а-яё]", t["output"]) for t in failed)
    assert not any("Likely mistake" in t["output"] for t in failed)


def test_missing_submission_still_writes_a_result(autograder_zip, a2, tmp_path):
    root = tmp_path / "autograder"
    _container(autograder_zip, root, "", _metadata())
    (root / "submission" / "convolution.ipynb").unlink()
    assert _run(root, "setup.sh").returncode == 0
    r = _run(root, "run_autograder")
    assert r.returncode == 0, r.stderr
    res = json.loads((root / "results" / "results.json").read_text())
    validate_results(res)
    assert res["score"] == 0 and res["convgrade"]["load_error"] and len(res["tests"]) == len(res["tests"]) > 0


def test_offline_setup_refuses_a_python_without_the_requirements(autograder_zip, tmp_path):
    root = tmp_path / "autograder"
    _container(autograder_zip, root, "{}", _metadata())
    reqs = root / "source" / "requirements.txt"
    reqs.write_text(reqs.read_text() + "convgrade-no-such-package==1.0\n")
    r = _run(root, "setup.sh")
    assert r.returncode != 0 and "convgrade-no-such-package" in (r.stderr + r.stdout)


def test_requirements_follow_the_assignment():
    from grader.assignment import load
    from grader.deploy.bundle import requirements

    a6 = requirements(load("a6_training"))                    # torch allowed: torch is pinned
    assert any(r.startswith("torch==") and "+" not in r for r in a6)
    assert any(r.startswith(("mlxtend==", "scikit-learn==")) for r in a6)


def test_schema_rejects_what_gradescope_rejects():
    ok = {"score": 1.0, "tests": [{"score": 1, "max_score": 1, "visibility": "visible", "status": "passed"}]}
    jsonschema.validate(ok, schema())
    for bad in ({"tests": [{"score": 1, "visibility": "secret"}], "score": 1},
                {"score": "1"}, {"score": 1, "stdout_visibility": "sometimes"},
                {"tests": [{"max_score": 1}]}, {"score": 1, "tests": [{"status": "ok"}]}):
        with pytest.raises(jsonschema.ValidationError):
            jsonschema.validate(bad, schema())


def test_cli_builds_the_zip_and_grade_takes_a_folder(a2, tmp_path, monkeypatch):
    from click.testing import CliRunner

    from grader.cli import main

    monkeypatch.setenv("CONVGRADE_SECRET", SECRET.decode())
    runner = CliRunner()
    r = runner.invoke(main, ["gradescope", "a2_convolution", "-o", str(tmp_path / "ag.zip")])
    assert r.exit_code == 0, r.output
    assert zipfile.is_zipfile(tmp_path / "ag.zip")
    monkeypatch.delenv("CONVGRADE_SECRET")
    monkeypatch.setenv("CONVGRADE_SECRET_FILE", str(tmp_path / "none"))
    r = runner.invoke(main, ["gradescope", "a2_convolution", "-o", str(tmp_path / "ag2.zip")])
    assert r.exit_code == 3 and "secret" in r.output
    sub = tmp_path / "submission"
    sub.mkdir()
    (sub / "convolution.ipynb").write_text(solution_notebook(a2), encoding="utf-8")
    (sub / "notes.txt").write_text("my notes")
    monkeypatch.setenv("CONVGRADE_SECRET", SECRET.decode())
    r = runner.invoke(main, ["grade", "a2_convolution", str(sub), "--student", "alice", "-o", str(tmp_path / "r.json")])
    assert r.exit_code == 0, r.output
    res = json.loads((tmp_path / "r.json").read_text())
    assert res["score"] == res["max_score"] and res["convgrade"]["filename"].endswith("convolution.ipynb")


def test_a_grader_crash_still_leaves_a_results_json(tmp_path, monkeypatch):
    import grader.deploy.gradescope as gs

    def boom(*a, **k):
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(gs, "run", boom)
    assert gs.main(["--root", str(tmp_path)]) == 1
    res = json.loads((tmp_path / "results" / "results.json").read_text())
    validate_results(res)
    assert res["score"] == 0 and "RuntimeError" in res["output"] and "disk" not in res["output"]
