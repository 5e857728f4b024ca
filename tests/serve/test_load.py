"""Loopback load: 200 students upload at once; every upload is acknowledged and queued exactly once.

Workers are off (``--workers 0``; ``CONVGRADE_SERVE_LOAD_WORKERS=N`` grades all too and prints the
time until the last result) so the figure is the web tier's acknowledgement latency (write,
fsync, commit); grading speed is the engine's and is measured by its benchmarks. The p50/p99
latencies are printed (run with ``-s``), never asserted.
"""
from __future__ import annotations

import pytest

import os
import sqlite3
import time
from concurrent.futures import ThreadPoolExecutor

for _mod in ("httpx", "starlette", "uvicorn", "sqlalchemy", "alembic"):
    pytest.importorskip(_mod, reason="the [serve] extra is not installed")

from grader.authoring.notebook import parse

from .conftest import A2, issue_tokens, sign_in, upload

pytestmark = pytest.mark.slow  # a real server and real grading: ~20-60 s on a busy 2-core machine

N = 200
GRADE_WORKERS = int(os.environ.get("CONVGRADE_SERVE_LOAD_WORKERS", "0"))  # >0: also grade all, report the time


def test_200_uploads_all_acknowledged_and_queued(course, server_factory):
    (course / "roster.csv").write_text("student,name\n" + "".join(f"s{i:03d},Student {i}\n" for i in range(N)),
                                       encoding="utf-8")
    t = time.perf_counter()
    tokens = issue_tokens(course)
    print(f"\ntokens {time.perf_counter() - t:.1f} s")
    srv = server_factory(course, "--workers", str(GRADE_WORKERS)).start()
    data = parse(A2 / "master.ipynb").source.encode()
    t = time.perf_counter()
    clients = list(ThreadPoolExecutor(16).map(lambda s: sign_in(srv.base, tokens[s]), sorted(tokens)))
    print(f"sign-in {time.perf_counter() - t:.1f} s")

    def one(c):
        t0 = time.perf_counter()
        r = upload(c, "a2_convolution", "convolution.py", data)
        return r.status_code, time.perf_counter() - t0, r.headers.get("location")
    t0 = time.perf_counter()
    got = list(ThreadPoolExecutor(32).map(one, clients))
    wall = time.perf_counter() - t0
    assert [g[0] for g in got] == [303] * N
    lat = sorted(g[1] for g in got)
    print(f"\n{N} uploads in {wall:.2f} s; acknowledgement p50 {1000 * lat[N // 2]:.0f} ms, "
          f"p99 {1000 * lat[int(N * 0.99) - 1]:.0f} ms")
    with sqlite3.connect(course / ".convgrade-serve" / "serve.db") as db:
        assert db.execute("SELECT count(*), count(DISTINCT student_id) FROM submissions").fetchone() == (N, N)
        if not GRADE_WORKERS:
            assert db.execute("SELECT count(*) FROM jobs WHERE state='queued'").fetchone()[0] == N
    assert len({g[2] for g in got}) == N
    if GRADE_WORKERS:
        while True:
            with sqlite3.connect(course / ".convgrade-serve" / "serve.db") as db:
                n = db.execute("SELECT count(*) FROM results").fetchone()[0]
            if n >= N:
                break
            time.sleep(1)
        print(f"last result {time.perf_counter() - t0:.1f} s after the first upload ({GRADE_WORKERS} workers)")
        with sqlite3.connect(course / ".convgrade-serve" / "serve.db") as db:
            per = db.execute("SELECT count(DISTINCT submission_id), count(*), min(score) FROM results").fetchone()
        assert per[:2] == (N, N) and per[2] > 0
    for c in clients:
        c.close()
