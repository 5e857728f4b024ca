"""``convgrade serve-worker --dask``: the server's queue worked by a real local Dask cluster
(``distributed.LocalCluster`` in this process, threads), the dispatcher started from the CLI.
Every job is finished once with the engine's real verdicts."""
from __future__ import annotations

import json
import shutil
import sqlite3
import subprocess
import sys
import warnings

import pytest

for _mod in ("httpx", "starlette", "sqlalchemy", "alembic", "distributed"):
    pytest.importorskip(_mod, reason="the [serve] and [cluster] extras are not installed")

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient  # noqa: E402

from grader.authoring.mutants import load_mutants  # noqa: E402
from grader.authoring.notebook import parse  # noqa: E402
from grader.serve.app import Settings, create_app  # noqa: E402
from grader.serve.course import issue_tokens  # noqa: E402
from grader.serve.db import make_engine, sessions  # noqa: E402

from .conftest import A2, CSRF_RE, ROSTER, _env  # noqa: E402

pytestmark = pytest.mark.slow  # a Dask cluster and real grading
AID = "a2_convolution"


def test_dask_cluster_works_the_queue(tmp_path, monkeypatch):
    import distributed

    from grader.batch.executors import close_grading_processes
    from grader.commands.serve import _prepare
    monkeypatch.setenv("CONVGRADE_SECRET", "serve-test-secret")
    c = tmp_path / "course"
    shutil.copytree(A2, c / "assignments" / A2.name)
    (c / "roster.csv").write_text(ROSTER, encoding="utf-8")
    url = _prepare(c, None, None)
    with sessions(make_engine(url))() as s, s.begin():
        tokens = {login: tok for _, login, tok in issue_tokens(s)}
    app = create_app(Settings(course=c, url=url, secure_cookies=False))
    master = parse(A2 / "master.ipynb").source
    bad = next(m for m in load_mutants(A2) if m.name == "conv2d_flipped_kernel").apply(master)
    sids = {}
    for who, src in (("alice", master), ("bob", bad)):
        client = TestClient(app, follow_redirects=False)
        csrf = CSRF_RE.search(client.get(f"/login?token={tokens[who]}").text).group(1)
        client.post("/login", data={"csrf": csrf, "token": tokens[who]})
        csrf = CSRF_RE.search(client.get("/").text).group(1)
        r = client.post(f"/submit/{AID}", data={"csrf": csrf}, files={"file": ("convolution.py", src.encode())})
        sids[who] = int(r.headers["location"].rsplit("/", 1)[1])

    with distributed.LocalCluster(n_workers=1, threads_per_worker=2, processes=False, dashboard_address=None, protocol="tcp",
                                  host="127.0.0.1") as cluster:
        r = subprocess.run([sys.executable, "-m", "grader", "serve-worker", "--db", url, "--once",
                            "--dask", cluster.scheduler_address], env=_env(), capture_output=True, text=True,
                           timeout=180)

    close_grading_processes()
    assert r.returncode == 0, r.stdout + r.stderr
    with sqlite3.connect(c / ".convgrade-serve" / "serve.db") as db:
        per = dict(db.execute("SELECT submission_id, count(*) FROM results GROUP BY submission_id").fetchall())
        states = {s for (s,) in db.execute("SELECT state FROM jobs")}
        res = {sid: json.loads(j) for sid, j in db.execute("SELECT submission_id, results_json FROM results")}
    assert per == {sids["alice"]: 1, sids["bob"]: 1} and states == {"done"}
    good, flipped = res[sids["alice"]], res[sids["bob"]]
    assert good["score"] == pytest.approx(good["max_score"]) and good["max_score"] > 0
    assert flipped["score"] < flipped["max_score"]
    assert "flipped_kernel" in json.dumps(flipped["tests"])
    assert good["convgrade"]["student"] == "alice" and good["convgrade"]["submission_sha256"]

