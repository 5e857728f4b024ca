"""The job queue without a web server: atomic claims, leases, one result per job."""
from __future__ import annotations

import datetime as dt
import threading

import pytest

pytest.importorskip("sqlalchemy", reason="the [serve] extra is not installed")

from sqlalchemy import func, select, update  # noqa: E402

from grader.serve import queue  # noqa: E402
from grader.serve.db import (AssignmentRow, Job, Result, Student, Submission, make_engine, migrate,  # noqa: E402
                             sessions, utcnow)


@pytest.fixture
def engine(tmp_path):
    e = make_engine(f"sqlite:///{tmp_path / 'q.db'}")
    migrate(e)
    migrate(e)  # a second start is a no-op
    yield e
    e.dispose()


def _jobs(engine, n: int) -> None:
    with sessions(engine)() as s, s.begin():
        st = Student(login="a", name="", email="", lang="en")
        s.add_all([st, AssignmentRow(id="x", title="", path="/nowhere", version="1", max_score=1.0, active=True)])
        s.flush()
        for i in range(n):
            sub = Submission(student_id=st.id, assignment_id="x", filename="a.py", path="/nowhere", sha256="0" * 64,
                             size=1, received_at=utcnow())
            s.add(sub)
            s.flush()
            queue.enqueue(s, sub.id)


def test_concurrent_claims_take_each_job_once(engine):
    _jobs(engine, 40)
    claimed, lock = [], threading.Lock()

    def work(k):
        while (got := queue.claim(engine, f"host:w{k}")) is not None:
            with lock:
                claimed.append(got[0])
    threads = [threading.Thread(target=work, args=(k,)) for k in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(claimed) == list(range(1, 41))


def test_expired_lease_is_claimed_again_and_the_first_worker_cannot_finish(engine):
    _jobs(engine, 1)
    job, sub, n = queue.claim(engine, "h:1")
    assert n == 1
    assert queue.claim(engine, "h:2") is None                    # leased
    with engine.begin() as c:
        c.execute(update(Job).values(lease_until=utcnow() - dt.timedelta(seconds=1)))
    assert queue.claim(engine, "h:2") == (job, sub, 2)            # the lease ran out
    assert not queue.finish(engine, job, sub, "h:1", {"score": 1, "max_score": 1})
    assert not queue.renew(engine, job, "h:1")
    assert queue.finish(engine, job, sub, "h:2", {"score": 1, "max_score": 1})
    assert not queue.finish(engine, job, sub, "h:2", {"score": 1, "max_score": 1})
    with sessions(engine)() as s:
        assert s.scalar(select(func.count()).select_from(Result)) == 1
        assert s.get(Job, job).attempts == 2


def test_requeue_dead_hands_back_jobs_of_dead_local_workers(engine):
    _jobs(engine, 2)
    import socket
    dead = f"{socket.gethostname()}:{2 ** 22 + 12345}"            # above pid_max: never a live pid
    queue.claim(engine, dead)
    queue.claim(engine, queue.worker_name())                      # this (live) process
    assert queue.requeue_dead(engine) == 1
    with sessions(engine)() as s:
        states = dict(s.execute(select(Job.id, Job.state)).all())
    assert states == {1: "queued", 2: "running"}
    with sessions(engine)() as s:
        assert queue.position(s, s.get(Job, 1)) == 1


def test_a_job_that_kills_its_worker_every_time_ends_with_an_error_result(engine):
    from grader.serve import worker
    _jobs(engine, 1)
    for _ in range(queue.MAX_ATTEMPTS):
        queue.claim(engine, "h:1")
        with engine.begin() as c:
            c.execute(update(Job).values(lease_until=utcnow() - dt.timedelta(seconds=1)))
    url = engine.url.render_as_string(hide_password=False)
    assert worker.run(url, once=True) == 0                       # nothing graded: the path is /nowhere
    with sessions(engine)() as s:
        res = s.scalars(select(Result)).all()
        assert len(res) == 1 and "stopped 3 times" in res[0].results_json
        assert s.get(Job, 1).state == "done"
