"""The same batch on a Dask distributed cluster (local, loopback) gives the same results."""
from __future__ import annotations

import pytest

from grader.batch import discover, run_batch
from grader.batch.outputs import read_results

from .conftest import SECRET, make_class

distributed = pytest.importorskip("distributed")


def _outcome(out, students):
    res = {s: read_results(out, s) for s in students}
    return {s: (r["score"], r["convgrade"]["submission_sha256"], r["convgrade"].get("load_error"),
                [(t["name"], t["status"], t["score"], t["output"]) for t in r["tests"]]) for s, r in res.items()}


def test_dask_cluster_equals_local_pool(tmp_path, assignment):
    subs = tmp_path / "subs"
    ids = make_class(subs, 4, include=("correct.py", "flipped.py", "crash.py", "notebook.ipynb"))
    local = tmp_path / "local"
    run_batch(assignment, discover(subs, local / "_staging"), local, workers=2, secret=SECRET, progress=False)

    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                                  dashboard_address=None) as cluster:
        # by address, as `--scheduler tcp://...` does
        out = tmp_path / "dask"
        report = run_batch(assignment, discover(subs, out / "_staging"), out, executor="dask",
                           scheduler=cluster.scheduler_address, secret=SECRET, progress=False)
    assert report.graded == 4 and report.executor == "dask"
    assert report.statuses == {ids[0]: "ok", ids[1]: "ok", ids[2]: "load_error", ids[3]: "ok"}
    assert _outcome(out, ids) == _outcome(local, ids)
    for s in ids:
        assert (out / s / "feedback.html").is_file()
    assert (out / ids[0] / "source.py").read_text() == (local / ids[0] / "source.py").read_text()


def test_job_runs_from_the_shipped_assignment_bundle(tmp_path, assignment):
    """A remote worker without the assignment folder grades from the tar the client scattered."""
    from grader.batch.jobs import Job, assignment_bundle, file_sha256, grade_job

    sub = tmp_path / "alice.py"
    make_class(tmp_path / "c", 1, include=("correct.py",))
    sub.write_bytes((tmp_path / "c" / "s00.py").read_bytes())
    job = Job(key="alice", assignment=str(tmp_path / "not-on-this-worker"), version=assignment.version,
              path="/elsewhere/alice.py", members=[("alice", "Alice")], sha256=file_sha256(sub),
              secret=SECRET, data=sub.read_bytes(), bundle=assignment_bundle(assignment.path))
    payload = grade_job(job)
    r = payload["members"]["alice"]["results"]
    assert r["score"] == r["max_score"] == 6 and r["convgrade"]["version"] == assignment.version
    job.version = "f" * 16      # a bundle of another version is refused, not silently used
    with pytest.raises(RuntimeError, match="version"):
        grade_job(job)
