"""Closing assignments and the due date by the server's own clock, in process (the app over
Starlette's TestClient with a clock the test moves; the worker grades with the real engine).

The a2 copy is due at ``DUE`` with ``[late] accept_days = 2`` and one check ``after_due_date``:
before the due date a student sees every row but that one (and a score without it); an upload
1.5 days late is accepted and graded with the late penalty from its receipt time, and the hidden
row shows; after the close an upload is refused with a message naming the times.
"""
from __future__ import annotations

import datetime as dt
import re
import shutil

import pytest

for _mod in ("httpx", "starlette", "sqlalchemy", "alembic"):
    pytest.importorskip(_mod, reason="the [serve] extra is not installed")

import warnings  # noqa: E402

with warnings.catch_warnings():   # Starlette's note about httpx2; the TestClient works the same
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient  # noqa: E402

from grader.assignment import load  # noqa: E402
from grader.authoring.notebook import parse  # noqa: E402
from grader.serve import worker  # noqa: E402
from grader.serve.app import Settings, create_app  # noqa: E402
from grader.serve.course import closes_at, issue_tokens  # noqa: E402
from grader.serve.db import make_engine, sessions  # noqa: E402

from .conftest import A2, CSRF_RE, ROSTER  # noqa: E402

DUE = dt.datetime(2030, 1, 10, 12, 0, tzinfo=dt.timezone.utc)
AID = "a2_convolution"


class Clock:
    def __init__(self, now: dt.datetime):
        self.now = now

    def __call__(self) -> dt.datetime:
        return self.now


@pytest.fixture
def closing_course(tmp_path, monkeypatch):
    monkeypatch.setenv("CONVGRADE_SECRET", "serve-test-secret")
    monkeypatch.setenv("OMP_WAIT_POLICY", "PASSIVE")
    c = tmp_path / "course"
    a = c / "assignments" / A2.name
    shutil.copytree(A2, a)
    man = (a / "assignment.toml").read_text()
    man = re.sub(r'^due = ".*"$', f'due = "{DUE.isoformat()}"', man, flags=re.M)
    (a / "assignment.toml").write_text(man.replace("[late]\n", "[late]\naccept_days = 2\n", 1))
    checks = (a / "checks.toml").read_text()
    (a / "checks.toml").write_text(checks.replace('visibility = "visible"', 'visibility = "after_due_date"', 1))
    (c / "roster.csv").write_text(ROSTER, encoding="utf-8")
    return c


def _client(app, token: str) -> TestClient:
    c = TestClient(app, follow_redirects=False)
    csrf = CSRF_RE.search(c.get(f"/login?token={token}").text).group(1)
    assert c.post("/login", data={"csrf": csrf, "token": token}).status_code == 303
    return c


def _upload(c: TestClient, data: bytes):
    csrf = CSRF_RE.search(c.get("/").text).group(1)
    return c.post(f"/submit/{AID}", data={"csrf": csrf}, files={"file": ("convolution.py", data)})


def test_closes_at_follows_the_late_policy(closing_course):
    a = load(closing_course / "assignments" / A2.name)
    assert closes_at(a) == DUE + dt.timedelta(days=2)
    bundled = load(A2)                         # 10 %/day up to 50 %: late work always earns something
    assert closes_at(bundled) is None
    bundled.late.max_penalty = 1.0             # ... up to 100 %: day 9 is the last that can earn points
    assert closes_at(bundled) == bundled.due + dt.timedelta(days=9)
    bundled.late.penalty_per_day = 0.0         # no late policy: the due date plus the grace minutes
    assert closes_at(bundled) == bundled.due + dt.timedelta(minutes=15)
    bundled.due = None
    assert closes_at(bundled) is None


def test_due_date_and_closing_by_the_server_clock(closing_course):
    from grader.commands.serve import _prepare
    url = _prepare(closing_course, None, None)
    with sessions(make_engine(url))() as s, s.begin():
        tokens = {login: tok for _, login, tok in issue_tokens(s)}
    clock = Clock(DUE - dt.timedelta(hours=1))
    app = create_app(Settings(course=closing_course, url=url, secure_cookies=False, clock=clock))
    alice = _client(app, tokens["alice"])
    master = parse(A2 / "master.ipynb").source.encode()
    first_check = load(closing_course / "assignments" / A2.name).checks[0]
    assert first_check.visibility == "after_due_date"

    r = _upload(alice, master)                          # on time
    assert r.status_code == 303
    on_time = int(r.headers["location"].rsplit("/", 1)[1])
    assert worker.run(url, once=True) == 1
    page = alice.get(f"/submission/{on_time}").text
    shown, top = (float(x) for x in re.search(r'id="score">Score: ([\d.]+) / ([\d.]+)<', page).groups())
    full = load(A2).max_score
    assert shown == top == pytest.approx(full - first_check.points)     # the after-due-date row left out
    assert first_check.name not in alice.get(f"/submission/{on_time}/feedback").text
    home = alice.get("/").text
    assert f"{shown:g} / {top:g}" in home and f"{full:g}" not in home.split("<table>")[1]

    clock.now = DUE + dt.timedelta(days=1.5)            # late, still accepted
    r = _upload(alice, master)
    assert r.status_code == 303
    late = int(r.headers["location"].rsplit("/", 1)[1])
    assert worker.run(url, once=True) == 1
    page = alice.get(f"/submission/{late}").text
    score, top = (float(x) for x in re.search(r'id="score">Score: ([\d.]+) / ([\d.]+)<', page).groups())
    assert top == pytest.approx(full) and score == pytest.approx(full * 0.8, abs=0.01)   # 2 days x 10 %
    assert first_check.name in alice.get(f"/submission/{on_time}/feedback").text      # past the due date
    ta = _client(app, tokens["ta1"])
    ov = ta.get(f"/staff/a/{AID}").text
    assert "alice" in ov.split('id="late"')[1].split("</table>")[0]
    # lateness is the receipt time's, not the grading time's: the on-time attempt re-graded now
    csrf = CSRF_RE.search(ta.get("/staff").text).group(1)
    assert ta.post(f"/staff/regrade/{on_time}", data={"csrf": csrf}).status_code == 303
    assert worker.run(url, once=True) == 1
    page = alice.get(f"/submission/{on_time}").text
    assert re.search(r'id="score">Score: ([\d.]+) / ', page).group(1) == f"{full:g}" and "Late:" not in page

    clock.now = DUE + dt.timedelta(days=2, minutes=1)   # closed
    home = alice.get("/").text
    assert f'id="closed-{AID}"' in home and f'action="/submit/{AID}"' not in home
    r = _upload(alice, master)
    assert r.status_code == 403
    assert "closed at 2030-01-12 12:00 UTC" in r.text and "2030-01-12 12:01 UTC" in r.text
    assert "not accepted" in r.text
    with sessions(make_engine(url))() as s:
        from sqlalchemy import func, select
        from grader.serve.db import Submission
        assert s.scalar(select(func.count()).select_from(Submission)) == 2          # nothing stored
