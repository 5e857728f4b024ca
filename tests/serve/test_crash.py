"""SIGKILL the server and its worker mid-grade, restart: every acknowledged submission is graded
exactly once, nothing lost."""
from __future__ import annotations

import pytest

import sqlite3
import time

for _mod in ("httpx", "starlette", "uvicorn", "sqlalchemy", "alembic"):
    pytest.importorskip(_mod, reason="the [serve] extra is not installed")

from grader.authoring.mutants import load_mutants
from grader.authoring.notebook import parse

from .conftest import A2, issue_tokens, sign_in, upload

pytestmark = pytest.mark.slow  # a real server and real grading: ~20-60 s on a busy 2-core machine


def _db(course):
    return sqlite3.connect(course / ".convgrade-serve" / "serve.db", timeout=30)


def _wait(pred, timeout: float, what: str):
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout:
        if pred():
            return
        time.sleep(0.1)
    raise AssertionError(what)


def test_sigkill_mid_grade_then_restart_grades_each_submission_once(course, server_factory):
    tokens = issue_tokens(course)
    master = parse(A2 / "master.ipynb").source
    mutant = load_mutants(A2)[0].apply(master)
    srv = server_factory(course, "--workers", "1").start()
    acked = []
    for who in ("alice", "bob"):
        c = sign_in(srv.base, tokens[who])
        for src in (master, mutant):
            r = upload(c, "a2_convolution", "convolution.py", src.encode())
            assert r.status_code == 303
            acked.append(int(r.headers["location"].rsplit("/", 1)[1]))

    def running():
        with _db(course) as db:
            return db.execute("SELECT count(*) FROM jobs WHERE state='running'").fetchone()[0] > 0
    _wait(running, 30, "no job started")
    srv.kill()
    with _db(course) as db:
        assert db.execute("SELECT count(*) FROM results").fetchone()[0] < len(acked)   # killed mid-way

    again = server_factory(course, "--workers", "2").start()
    def all_done():
        with _db(course) as db:
            return db.execute("SELECT count(*) FROM jobs WHERE state!='done'").fetchone()[0] == 0
    _wait(all_done, 50, "jobs not finished after the restart")
    with _db(course) as db:
        subs = sorted(i for (i,) in db.execute("SELECT id FROM submissions"))
        per = dict(db.execute("SELECT submission_id, count(*) FROM results GROUP BY submission_id").fetchall())
        jobs = db.execute("SELECT count(*), max(attempts) FROM jobs").fetchone()
        files = [p for (p,) in db.execute("SELECT path FROM submissions")]
    assert subs == sorted(acked)
    assert per == {s: 1 for s in acked}
    assert jobs[0] == len(acked) and jobs[1] >= 2          # the killed job was claimed a second time
    assert all(__import__("pathlib").Path(p).is_file() for p in files)
    again.stop()
