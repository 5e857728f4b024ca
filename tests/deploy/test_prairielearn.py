"""The PrairieLearn external grader by simulation: build the files for a2, lay out /grade in a
temp root as PrairieLearn mounts it, run the entry point, check results.json."""
from __future__ import annotations

import json
import shutil
import subprocess

import jsonschema
import pytest

from grader.deploy.bundle import DeployError
from grader.deploy.prairielearn import build

from .conftest import SECRET, assert_no_hidden_inputs, env_for_container, hidden_input_snippets, solution_notebook

# PrairieLearn's external grading results format (docs: "External Grading", grading results).
PL_SCHEMA = {
    "type": "object",
    "required": ["gradable", "score"],
    "properties": {
        "gradable": {"type": "boolean"},
        "score": {"type": "number", "minimum": 0, "maximum": 1},
        "message": {"type": "string"},
        "output": {"type": "string"},
        "images": {"type": "array"},
        "tests": {"type": "array", "items": {
            "type": "object", "required": ["name", "points", "max_points"],
            "properties": {"name": {"type": "string"}, "description": {"type": "string"},
                           "points": {"type": "number", "minimum": 0}, "max_points": {"type": "number", "minimum": 0},
                           "message": {"type": "string"}, "output": {"type": "string"}}}},
    },
}


@pytest.fixture(scope="module")
def pl_dir(a2, tmp_path_factory):
    out = tmp_path_factory.mktemp("pl") / "pl"
    build(a2, out, secret=SECRET)
    return out


def _job(pl_dir, a2, root, notebook: str | None, data: dict):
    shutil.copytree(pl_dir / "serverFilesCourse", root / "serverFilesCourse")
    (root / "student").mkdir(parents=True)
    if notebook is not None:
        (root / "student" / "convolution.ipynb").write_text(notebook, encoding="utf-8")
    (root / "data").mkdir()
    (root / "data" / "data.json").write_text(json.dumps(data))
    (root / "tests").mkdir()
    info = json.loads((pl_dir / "questions" / a2.id / "info.json").read_text())
    entry = info["externalGradingOptions"]["entrypoint"].replace("/grade", str(root), 1)
    return entry


def _run(entry, root):
    return subprocess.run(["sh", entry], env=env_for_container(CONVGRADE_PL_ROOT=str(root)),
                          capture_output=True, text=True, timeout=300)


def test_files_and_question(pl_dir, a2):
    info = json.loads((pl_dir / "questions" / a2.id / "info.json").read_text())
    opts = info["externalGradingOptions"]
    assert info["gradingMethod"] == "External" and opts["enabled"] and opts["timeout"] >= 60
    assert opts["serverFilesCourse"] == [f"convgrade/{a2.id}/"]
    grader = pl_dir / "serverFilesCourse" / "convgrade" / a2.id
    assert (grader / "run.sh").stat().st_mode & 0o111 and (grader / "secret").read_bytes() == SECRET
    assert (grader / "assignment" / "checks.toml").is_file() and not (grader / "assignment" / "master.ipynb").exists()
    docker = (pl_dir / "Dockerfile").read_text()
    assert "python:3.11" in docker and "--no-deps" in docker
    assert list((pl_dir / "wheels").glob("convgrade-*-py3-none-any.whl"))
    with pytest.raises(DeployError, match="not empty"):
        build(a2, pl_dir, secret=SECRET)


def test_grader_end_to_end(pl_dir, a2, tmp_path):
    root = tmp_path / "grade"
    entry = _job(pl_dir, a2, root, solution_notebook(a2, "conv2d_flipped_kernel"),
                 {"params": {"convgrade_student": "bob"}, "variant_seed": 77, "submitted_answers": {}})
    r = _run(entry, root)
    assert r.returncode == 0, r.stderr + r.stdout
    text = (root / "results" / "results.json").read_text(encoding="utf-8")
    res = json.loads(text)
    jsonschema.validate(res, PL_SCHEMA)
    assert res["gradable"] is True and 0 < res["score"] < 1
    earned = sum(t["points"] for t in res["tests"])
    possible = sum(t["max_points"] for t in res["tests"])
    assert res["score"] == pytest.approx(earned / possible, abs=1e-6)
    assert any(t["message"] == "failed" and "flip" in t["output"].lower() for t in res["tests"])
    assert "isolation" in res["output"]
    assert not (root / "serverFilesCourse" / "convgrade" / a2.id / "secret").exists()
    assert_no_hidden_inputs(text, hidden_input_snippets(a2, "bob", SECRET))


def test_full_marks_and_nothing_submitted(pl_dir, a2, tmp_path):
    root = tmp_path / "ok"
    r = _run(_job(pl_dir, a2, root, solution_notebook(a2), {"variant_seed": 5}), root)
    assert r.returncode == 0, r.stderr
    res = json.loads((root / "results" / "results.json").read_text())
    jsonschema.validate(res, PL_SCHEMA)
    assert res["score"] == 1.0
    root = tmp_path / "empty"
    r = _run(_job(pl_dir, a2, root, None, {}), root)
    res = json.loads((root / "results" / "results.json").read_text())
    jsonschema.validate(res, PL_SCHEMA)
    assert res["score"] == 0 and res["gradable"] and "Not graded" in "".join(t["output"] for t in res["tests"])
