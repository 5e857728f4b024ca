"""The grading queue: a ``jobs`` table claimed atomically, with a lease.

``claim`` is one ``UPDATE ... RETURNING`` statement: on PostgreSQL the candidate row is picked
with ``FOR UPDATE SKIP LOCKED`` (many workers, no double claim); on SQLite the transaction is
``BEGIN IMMEDIATE`` (one writer at a time), which makes the same statement atomic. A running job
whose lease ran out (its worker died or hung) is claimable again. ``finish`` writes the result and
marks the job done in one transaction, only while the caller still holds the lease, so each job
gets at most one result (``results.job_id`` is unique as a second guard).
"""
from __future__ import annotations

import datetime as dt
import json
import os
import socket

from sqlalchemy import DateTime, bindparam, func, select, text, update
from sqlalchemy.engine import Engine

from .db import Job, Result, utcnow

LEASE_S = 120.0
MAX_ATTEMPTS = 3  # a job whose worker died this many times is finished with an error result


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def enqueue(session, submission_id: int) -> Job:
    job = Job(submission_id=submission_id, state="queued", attempts=0, created_at=utcnow())
    session.add(job)
    session.flush()
    return job


def claim(engine: Engine, worker: str, lease_s: float = LEASE_S) -> tuple[int, int, int] | None:
    """Claim the oldest claimable job: ``(job_id, submission_id, attempts)`` (attempts counts this
    claim), or None when there is none."""
    now = utcnow()
    lock = " FOR UPDATE SKIP LOCKED" if engine.dialect.name == "postgresql" else ""
    sql = text(
        "UPDATE jobs SET state='running', worker=:worker, lease_until=:lease, attempts=attempts+1 "
        "WHERE id = (SELECT id FROM jobs WHERE state='queued' OR (state='running' AND lease_until < :now) "
        f"ORDER BY id LIMIT 1{lock}) RETURNING id, submission_id, attempts").bindparams(
        # typed, so SQLite gets the same text form the ORM writes (comparisons are textual there)
        bindparam("now", type_=DateTime(timezone=True)), bindparam("lease", type_=DateTime(timezone=True)))
    with engine.begin() as conn:
        row = conn.execute(sql, {"worker": worker, "now": now,
                                 "lease": now + dt.timedelta(seconds=lease_s)}).first()
    return (row[0], row[1], row[2]) if row else None


def renew(engine: Engine, job_id: int, worker: str, lease_s: float = LEASE_S) -> bool:
    with engine.begin() as conn:
        n = conn.execute(update(Job).where(Job.id == job_id, Job.state == "running", Job.worker == worker)
                         .values(lease_until=utcnow() + dt.timedelta(seconds=lease_s))).rowcount
    return n == 1


def finish(engine: Engine, job_id: int, submission_id: int, worker: str, results: dict) -> bool:
    """Store the result and mark the job done; False (nothing written) if the lease was lost."""
    with engine.connect() as conn:
        conn.begin()
        n = conn.execute(update(Job).where(Job.id == job_id, Job.state == "running", Job.worker == worker)
                         .values(state="done", finished_at=utcnow(), lease_until=None)).rowcount
        if n != 1:
            conn.rollback()
            return False
        conn.execute(Result.__table__.insert().values(
            job_id=job_id, submission_id=submission_id, score=float(results.get("score") or 0.0),
            max_score=float(results.get("max_score") or 0.0), results_json=json.dumps(results),
            created_at=utcnow()))
        conn.commit()
    return True


def _pid_alive(pid: int) -> bool:
    """True while process ``pid`` runs. A zombie (killed, not yet reaped: its parent died too and
    the container's init does not reap) is dead, and so is a pid now held by another program."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            stat = f.read()
        if stat[stat.rindex(b")") + 2:][:1] in (b"Z", b"X"):
            return False
    except (OSError, ValueError):
        pass
    return True


def requeue_dead(engine: Engine) -> int:
    """Re-queue running jobs whose worker on this host is gone (a crash or SIGKILL); jobs of other
    hosts come back when their lease expires. Returns how many."""
    host = socket.gethostname()
    with engine.begin() as conn:
        rows = conn.execute(select(Job.id, Job.worker).where(Job.state == "running")).all()
        dead = [jid for jid, w in rows
                if w and w.rsplit(":", 1)[0] == host and w.rsplit(":", 1)[1].isdigit()
                and not _pid_alive(int(w.rsplit(":", 1)[1]))]
        if dead:
            conn.execute(update(Job).where(Job.id.in_(dead), Job.state == "running")
                         .values(state="queued", worker=None, lease_until=None))
    return len(dead)


def position(session, job: Job) -> int:
    """1 for the next job to be claimed; 0 when the job is no longer queued."""
    if job.state != "queued":
        return 0
    return session.scalar(select(func.count()).select_from(Job)
                          .where(Job.state == "queued", Job.id <= job.id)) or 0
