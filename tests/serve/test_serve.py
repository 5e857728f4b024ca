"""End to end over HTTP: students upload, the worker grades with the CLI's engine, staff read the class."""
from __future__ import annotations

import re
import sqlite3

import pytest

for _mod in ("httpx", "starlette", "uvicorn", "sqlalchemy", "alembic"):
    pytest.importorskip(_mod, reason="the [serve] extra is not installed")

from grader.authoring.mutants import load_mutants
from grader.authoring.notebook import parse

from .conftest import A2, csrf_of, issue_tokens, sign_in, upload, wait_graded

AID = "a2_convolution"


def _score(html: str) -> tuple[float, float]:
    m = re.search(r'id="score">Score: ([\d.]+) / ([\d.]+)<', html)
    return float(m.group(1)), float(m.group(2))


def _sid(resp) -> int:
    assert resp.status_code == 303, resp.text
    return int(resp.headers["location"].rsplit("/", 1)[1])


def test_student_flow_isolation_and_staff(course, server_factory):
    tokens = issue_tokens(course)
    srv = server_factory(course, "--workers", "1", "--rate", "2/600", "--max-upload-kb", "200").start()
    master = parse(A2 / "master.ipynb").source
    mutant = next(m for m in load_mutants(A2) if m.name == "conv2d_flipped_kernel")

    alice = sign_in(srv.base, tokens["alice"])
    good = _sid(upload(alice, AID, "convolution.py", master.encode()))
    bad = _sid(upload(alice, AID, "convolution.py", mutant.apply(master).encode()))
    # refusals, each with its own message
    r = upload(alice, AID, "convolution.py", master.encode())
    assert r.status_code == 429 and "Too many uploads" in r.text
    r = upload(alice, AID, "notes.txt", b"x")
    assert r.status_code == 400 and ".ipynb" in r.text
    r = upload(alice, AID, "big.py", b"#" * (300 * 1024))
    assert r.status_code == 413 and "too large" in r.text
    # a notebook's stored outputs do not count: 300 KiB of outputs passes the size gate (and meets
    # the rate limit); over the notebook's on-disk ceiling it is refused by size
    from grader.submission import raw_cap
    nb = b'{"cells": [], "metadata": {"pad": "' + b"o" * (300 * 1024) + b'"}, "nbformat": 4, "nbformat_minor": 5}'
    assert upload(alice, AID, "outputs.ipynb", nb).status_code == 429
    huge = b"o" * (raw_cap(200 * 1024, "x.ipynb") + 1)
    r = upload(alice, AID, "huge.ipynb", huge)
    assert r.status_code == 413 and "too large" in r.text
    r = upload(alice, "no_such_assignment", "x.py", b"x = 1\n")
    assert r.status_code in (404, 429)
    r = alice.post(f"/submit/{AID}", data={"csrf": "forged"}, files={"file": ("a.py", b"x=1\n")})
    assert r.status_code == 403

    score, top = _score(wait_graded(alice, good))
    assert score == top > 0
    bscore, _ = _score(wait_graded(alice, bad))
    assert bscore < top
    fb = alice.get(f"/submission/{bad}/feedback")
    assert fb.status_code == 200 and "flip" in fb.text.lower()
    assert "default-src 'none'" in fb.headers["content-security-policy"]
    home = alice.get("/").text
    assert f"/submission/{good}" in home and f"/submission/{bad}" in home   # every attempt listed

    bob = sign_in(srv.base, tokens["bob"])
    for path in (f"/submission/{good}", f"/submission/{good}/feedback", f"/submission/{bad}/feedback"):
        r = bob.get(path)
        assert r.status_code == 404 and "flip" not in r.text.lower()
    assert bob.get("/staff").status_code == 403
    assert bob.get(f"/staff/a/{AID}/gradebook.csv").status_code == 403
    assert alice.get("/staff/student/bob").status_code == 403

    ta = sign_in(srv.base, tokens["ta1"])
    ov = ta.get(f"/staff/a/{AID}")
    assert ov.status_code == 200 and "alice" in ov.text and "flipped_kernel" in ov.text
    assert ta.get(f"/submission/{good}").status_code == 200
    hist = ta.get("/staff/student/alice").text
    assert f"/submission/{good}" in hist and f"/submission/{bad}" in hist
    csv = ta.get(f"/staff/a/{AID}/gradebook.csv?fmt=plain")
    assert csv.status_code == 200 and "alice" in csv.text and "bob" not in csv.text
    # the session cookie is HttpOnly and SameSite; tokens are stored hashed only
    db = sqlite3.connect(course / ".convgrade-serve" / "serve.db")
    hashes = [h for (h,) in db.execute("SELECT token_hash FROM students")]
    assert tokens["alice"] not in hashes and len(hashes[0]) == 64
    assert db.execute("SELECT count(*) FROM results").fetchone()[0] == 2
    for page in (fb.text, ov.text, csv.text, hist, home):
        assert "serve-test-secret" not in page          # the course secret is never served
    # re-grade: a new job and a second result for the same submission; the first stays
    assert ta.post(f"/staff/regrade/{good}", data={"csrf": "forged"}).status_code == 403
    assert alice.post(f"/staff/regrade/{good}", data={"csrf": csrf_of(alice)}).status_code == 403
    assert ta.post(f"/staff/regrade/{good}", data={"csrf": csrf_of(ta, "/staff")}).status_code == 303
    import time
    t0 = time.monotonic()
    while db.execute("SELECT count(*) FROM results").fetchone()[0] < 3 and time.monotonic() - t0 < 50:
        time.sleep(0.3)
    assert db.execute("SELECT count(*) FROM results WHERE submission_id=?", (good,)).fetchone()[0] == 2
    assert _score(wait_graded(alice, good)) == (score, top)
    sim = ta.get(f"/staff/a/{AID}/similarity")
    assert sim.status_code == 200 and "<html" in sim.text.lower()
    assert bob.get(f"/staff/a/{AID}/similarity").status_code == 403
    ov = ta.get(f"/staff/a/{AID}").text
    assert 'id="diagnoses"' in ov and "flipped_kernel" in ov.split('id="diagnoses"')[1].split("</table>")[0]
    assert ta.post(f"/staff/a/{AID}/regrade", data={"csrf": csrf_of(ta, "/staff")}).status_code == 303
    # alice's latest attempt (the buggy one) is queued again
    assert db.execute("SELECT count(*) FROM jobs WHERE submission_id=?", (bad,)).fetchone()[0] == 2


def test_sign_in_refusals_and_cookie_flags(course, server_factory):
    tokens = issue_tokens(course)
    srv = server_factory(course, "--workers", "0", "--secure-cookies").start()
    import httpx
    c = httpx.Client(base_url=srv.base, timeout=30)
    csrf = csrf_of(c, "/login")
    assert c.post("/login", data={"csrf": csrf, "token": "wrong"}).status_code == 403
    assert c.post("/login", data={"token": tokens["alice"]}).status_code == 403          # no CSRF token
    r = c.post("/login", data={"csrf": csrf, "token": tokens["alice"]})
    cookie = r.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=strict" in cookie and "secure" in cookie
    assert c.get("/submission/1").status_code == 404   # signed out: nothing to read
