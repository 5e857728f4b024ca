"""The same server on a real PostgreSQL (``CONVGRADE_TEST_PG_URL``, set by .ci/run)."""
from __future__ import annotations

import os
import secrets

import pytest

for _mod in ("httpx", "starlette", "uvicorn", "sqlalchemy", "alembic"):
    pytest.importorskip(_mod, reason="the [serve] extra is not installed")

from grader.authoring.mutants import load_mutants
from grader.authoring.notebook import parse

from .conftest import A2, issue_tokens, sign_in, upload, wait_graded

pytestmark = pytest.mark.slow  # a real server and real grading: ~20-60 s on a busy 2-core machine

PG = os.environ.get("CONVGRADE_TEST_PG_URL", "")


@pytest.fixture
def pg_url():
    if not PG:
        pytest.skip("no PostgreSQL: set CONVGRADE_TEST_PG_URL=postgresql://user@host:port/db (.ci/run does)")
    psycopg = pytest.importorskip("psycopg", reason="psycopg is not installed (the [serve] extra)")
    try:
        admin = psycopg.connect(PG, autocommit=True, connect_timeout=5)
    except psycopg.OperationalError as exc:
        pytest.skip(f"PostgreSQL at CONVGRADE_TEST_PG_URL is not reachable: {exc}")
    name = "cg_test_" + secrets.token_hex(4)
    admin.execute(f"CREATE DATABASE {name}")
    yield PG.rsplit("/", 1)[0] + "/" + name, psycopg
    admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
    admin.close()


def test_postgres_two_workers_grade_each_submission_once(course, server_factory, pg_url):
    url, psycopg = pg_url
    srv = server_factory(course, "--db", url, "--workers", "2").start()
    import subprocess, sys
    from .conftest import _env
    out = subprocess.run([sys.executable, "-m", "grader", "serve-tokens", "--course", str(course), "--db", url],
                         env=_env(), capture_output=True, text=True, timeout=120, check=True).stdout
    tokens = {l.split("\t")[1]: l.split("\t")[2].split("token=")[1] for l in out.splitlines()}
    master = parse(A2 / "master.ipynb").source
    bad = next(m for m in load_mutants(A2) if m.name == "conv2d_flipped_kernel").apply(master)
    sids = {}
    for who in ("alice", "bob"):
        c = sign_in(srv.base, tokens[who])
        for label, src in (("good", master), ("bad", bad)):
            r = upload(c, "a2_convolution", "convolution.py", src.encode())
            assert r.status_code == 303, r.text
            sids[(who, label)] = (c, int(r.headers["location"].rsplit("/", 1)[1]))
    for (who, label), (c, sid) in sids.items():
        html = wait_graded(c, sid)
        assert ("flip" in c.get(f"/submission/{sid}/feedback").text.lower()) == (label == "bad")
    with psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://")) as db:
        per = dict(db.execute("SELECT submission_id, count(*) FROM results GROUP BY submission_id").fetchall())
        workers = {w for (w,) in db.execute("SELECT DISTINCT worker FROM jobs")}
    assert per == {sid: 1 for _, sid in sids.values()}
