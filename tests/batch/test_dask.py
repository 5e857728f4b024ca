"""The same batch on a Dask distributed cluster (local, loopback) gives the same results; GPU
jobs are routed to GPU workers, the per-task timeout holds, the secret stays in the client, TLS
works with self-made certificates, and a dask-jobqueue Slurm deployment builds its job script."""
from __future__ import annotations

import json
import pickle
import shutil
import subprocess
import sys
import warnings
from pathlib import Path

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
    from grader.seeds import hidden_seeds

    sub = tmp_path / "alice.py"
    make_class(tmp_path / "c", 1, include=("correct.py",))
    sub.write_bytes((tmp_path / "c" / "s00.py").read_bytes())
    job = Job(key="alice", assignment=str(tmp_path / "not-on-this-worker"), version=assignment.version,
              path="/elsewhere/alice.py", members=[("alice", "Alice")], sha256=file_sha256(sub),
              seeds=hidden_seeds(assignment, "alice", SECRET), data=sub.read_bytes(),
              bundle=assignment_bundle(assignment.path))
    payload = grade_job(job)
    r = payload["members"]["alice"]["results"]
    assert r["score"] == r["max_score"] == 6 and r["convgrade"]["version"] == assignment.version
    job.version = "f" * 16      # a bundle of another version is refused, not silently used
    with pytest.raises(RuntimeError, match="version"):
        grade_job(job)


# ---------------------------------------------------------------------------------------------- routing
ROOT = Path(__file__).resolve().parents[2]


def _whoami(job, bundle, timeout):
    """A cheap stand-in for grading: which worker ran the task, with what resources."""
    from distributed import get_worker

    w = get_worker()
    return {"worker": w.name, "resources": dict(w.state.total_resources), "key": job.key,
            "seeds": dict(job.seeds or {})}


def _restrictions(dask_scheduler):
    return {ts.key: dict(ts.resource_restrictions or {}) for ts in dask_scheduler.tasks.values()
            if str(ts.key).startswith("convgrade-")}


def _jobs(assignment, n, tmp_path):
    from grader.batch.runner import make_job
    from grader.batch.discover import Entry, Member

    sub = tmp_path / "s.py"
    sub.write_text("x = 1\n")
    return [make_job(assignment, Entry(f"s{i}", sub, [Member(f"s{i}")]), isolation="process", lang="en",
                     secret=SECRET) for i in range(n)]


@pytest.fixture
def two_workers():
    """One scheduler and two in-process workers on loopback, one of them with GPU=1."""
    from distributed import Client, Scheduler, SpecCluster, Worker

    spec = {"cpu": {"cls": Worker, "options": {"nthreads": 1}},
            "gpu": {"cls": Worker, "options": {"nthreads": 1, "resources": {"GPU": 1}}}}
    with SpecCluster(workers=spec, scheduler={"cls": Scheduler, "options": {"dashboard_address": None,
                                                                            "host": "127.0.0.1"}}) as cluster:
        with Client(cluster) as client:
            client.wait_for_workers(2)
            yield client


def test_a6_jobs_ask_for_the_gpu_and_run_on_the_gpu_worker(two_workers, tmp_path):
    from grader.assignment import load
    from grader.batch.executors import DaskPool
    from grader.batch.runner import needs_gpu

    a6, a2 = load("a6_training"), load("a2_convolution")
    assert needs_gpu(a6) and not needs_gpu(a2)     # a6 writes budget_s = { cpu = ..., gpu = ... }
    pool = DaskPool(None, b"bundle", gpu=needs_gpu(a6), timeout=60, client=two_workers, task=_whoami)
    assert pool.resources == {"GPU": 1}
    outcomes = list(pool.run(_jobs(a6, 4, tmp_path)))
    assert len(outcomes) == 4 and {o.payload["worker"] for o in outcomes} == {"gpu"}
    assert all(o.payload["resources"] == {"GPU": 1} for o in outcomes)
    spec = two_workers.run_on_scheduler(_restrictions)
    assert len(spec) == 4 and all(r == {"GPU": 1} for r in spec.values())
    pool.close()

    pool = DaskPool(None, b"bundle", gpu=needs_gpu(a2), client=two_workers, task=_whoami)
    outcomes = list(pool.run(_jobs(a2, 6, tmp_path)))
    assert all(not r for r in two_workers.run_on_scheduler(_restrictions).values())
    assert {o.payload["worker"] for o in outcomes} <= {"cpu", "gpu"}
    pool.close()


def test_jobs_carry_seeds_never_the_secret(two_workers, tmp_path):
    from grader.assignment import load
    from grader.batch.executors import DaskPool
    from grader.seeds import hidden_seeds

    a2 = load("a2_convolution")
    jobs = _jobs(a2, 2, tmp_path)
    for job in jobs:
        blob = pickle.dumps(job)
        assert SECRET not in blob and not hasattr(job, "secret")
        assert job.seeds == hidden_seeds(a2, job.members[0][0], SECRET)
        assert len(job.seeds) == sum(not c.visible for c in a2.checks) > 0
    sent = []
    real_submit = two_workers.submit

    def spy(fn, *args, **kw):
        sent.append(pickle.dumps(args))
        return real_submit(fn, *args, **kw)

    two_workers.submit = spy
    try:
        pool = DaskPool(None, b"bundle", client=two_workers, task=_whoami)
        out = list(pool.run(jobs))
        pool.close()
    finally:
        del two_workers.submit
    assert len(sent) == 2 and not any(SECRET in b for b in sent)
    assert {o.payload["key"]: o.payload["seeds"] for o in out} == {j.key: j.seeds for j in jobs}


def test_per_task_timeout_is_enforced_on_the_worker(tmp_path, assignment):
    """A submission that takes far longer than the batch limit is killed on the worker and gets
    a timeout row (a normal one under the default limit: test_dask_cluster_equals_local_pool)."""
    from grader.batch.discover import Entry, Member
    from grader.batch.executors import DaskPool
    from grader.batch.jobs import assignment_bundle
    from grader.batch.runner import make_job

    from grader.assignment import load

    folder = tmp_path / "patient"                 # the sandbox itself would wait a minute
    shutil.copytree(assignment.path, folder)
    manifest = folder / "assignment.toml"
    manifest.write_text(manifest.read_text().replace("wall_s = 6", "wall_s = 90").replace("cpu_s = 10", "cpu_s = 90"))
    assignment = load(folder)
    assert assignment.limits["wall_s"] == 90
    make_class(tmp_path / "c", 1, include=("correct.py",))
    slow = tmp_path / "slow.py"
    slow.write_text("import time\ntime.sleep(120)\n" + (tmp_path / "c" / "s00.py").read_text())
    job = make_job(assignment, Entry("slow", slow, [Member("slow")]), isolation="process", lang="en", secret=SECRET)
    with distributed.LocalCluster(n_workers=1, threads_per_worker=1, processes=False, protocol="tcp",
                                  host="127.0.0.1", dashboard_address=None) as cluster, \
            distributed.Client(cluster) as client:
        pool = DaskPool(None, assignment_bundle(assignment.path), timeout=5, client=client)
        (out,) = list(pool.run([job]))
        pool.close()
    assert out.payload is None, out.payload["members"]["slow"]["results"]["convgrade"].get("load_error")
    assert out.kind == "timeout" and "5 s" in out.reason
    assert out.seconds < 60


# ---------------------------------------------------------------------------------------------- TLS
def _certs(folder: Path) -> dict[str, str]:
    """A CA and one certificate for 127.0.0.1 signed by it (openssl CLI)."""
    folder.mkdir(parents=True, exist_ok=True)

    def ssl(*args):
        subprocess.run(["openssl", *args], cwd=folder, check=True, capture_output=True)

    ssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out", "ca.pem", "-days", "2",
        "-subj", "/CN=convgrade-test-ca")
    ssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", "node.key", "-out", "node.csr", "-subj", "/CN=127.0.0.1")
    (folder / "san.cnf").write_text("subjectAltName=IP:127.0.0.1,DNS:localhost\n"
                                    "extendedKeyUsage=serverAuth,clientAuth\n")
    ssl("x509", "-req", "-in", "node.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial",
        "-out", "node.pem", "-days", "2", "-extfile", "san.cnf")
    return {n: str(folder / n) for n in ("ca.pem", "node.pem", "node.key")}


_CLIENT = """
import json, sys
from distributed import Client
from distributed.security import Security
try:
    Client(sys.argv[1], timeout="3s", security=Security(**json.loads(sys.argv[2]))).close()
    print("connected")
except BaseException as exc:
    print("OSError" if isinstance(exc, OSError) else type(exc).__name__)
"""


def _client_error(address: str, security: dict) -> str:
    """What a Client with ``security`` meets at ``address``, from a fresh process: the exception's
    class (OSError for any of its subclasses), or "connected"."""
    p = subprocess.run([sys.executable, "-c", _CLIENT, address, json.dumps(security)], capture_output=True,
                       text=True, timeout=120)
    return (p.stdout.strip().splitlines() or [p.stderr[-500:]])[-1]


@pytest.mark.skipif(shutil.which("openssl") is None, reason="needs the openssl command")
def test_tls_between_client_scheduler_and_workers(tmp_path):
    from distributed import LocalCluster
    from distributed.security import Security

    from grader.batch.executors import DaskPool

    c = _certs(tmp_path / "ours")
    other = _certs(tmp_path / "theirs")          # a certificate from another CA
    sec = Security(tls_ca_file=c["ca.pem"], tls_client_cert=c["node.pem"], tls_client_key=c["node.key"],
                   tls_scheduler_cert=c["node.pem"], tls_scheduler_key=c["node.key"],
                   tls_worker_cert=c["node.pem"], tls_worker_key=c["node.key"], require_encryption=True)
    with LocalCluster(n_workers=1, threads_per_worker=1, processes=False, protocol="tls", host="127.0.0.1",
                      security=sec, dashboard_address=None) as cluster:
        address = cluster.scheduler_address
        assert address.startswith("tls://127.0.0.1:")
        # each refused client in a fresh process: a Client whose start failed can leave this
        # process's IO loops so that the next Client's loop never starts (distributed's own assert)
        assert _client_error(address, {"require_encryption": True}) in {"OSError", "TimeoutError", "TypeError"}
        stranger = {"tls_ca_file": other["ca.pem"], "tls_client_cert": other["node.pem"],
                    "tls_client_key": other["node.key"], "require_encryption": True}
        assert _client_error(address, stranger) in {"OSError", "TimeoutError"}   # another CA's certificate
        pool = DaskPool(address, b"bundle", security=sec, task=_whoami)
        try:
            assert pool.client.scheduler.address.startswith("tls://")
            jobs = _jobs(__import__("grader.assignment", fromlist=["load"]).load("a2_convolution"), 1, tmp_path)
            out = list(pool.run(jobs))
        finally:
            pool.close()
    assert out[0].payload["key"] == jobs[0].key


# ---------------------------------------------------------------------------------------------- Slurm
def test_slurm_cluster_job_script_for_gpu_workers():
    """The documented dask-jobqueue deployment (README, "Deploy"): its job script starts dask
    workers with the GPU resource on the partition asked for, without submitting anything."""
    jobqueue = pytest.importorskip("dask_jobqueue")
    from grader.batch.cluster import slurm_cluster

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cluster = slurm_cluster(queue="gpu", gpus=1, cores=4, memory="16GB", walltime="02:00:00",
                                python=sys.executable, scheduler_options={"host": "127.0.0.1",
                                                                          "dashboard_address": None})
    try:
        assert isinstance(cluster, jobqueue.SLURMCluster)
        script = cluster.job_script()
    finally:
        cluster.close()
    assert script.startswith("#!/usr/bin/env bash")
    assert "#SBATCH -p gpu" in script and "#SBATCH --gres=gpu:1" in script
    assert "#SBATCH -t 02:00:00" in script and "--resources GPU=1" in script
    assert "distributed.cli.dask_worker" in script or "dask worker" in script or "dask-worker" in script
