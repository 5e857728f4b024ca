"""The grading loop of one worker process (``convgrade serve-worker`` or spawned by ``serve``).

Each claimed job is graded by ``grader.grade.grade_submission`` (the CLI's engine, sandbox and
late policy, with the server's receipt time as the submission time, in the student's roster
language) and finished once.
"""
from __future__ import annotations

import threading
import time
from pathlib import Path

from .db import AssignmentRow, Student, Submission, as_utc, make_engine, sessions
from . import queue


def _heartbeat(engine, job_id: int, worker: str, stop: threading.Event, every: float) -> None:
    while not stop.wait(every):
        queue.renew(engine, job_id, worker)


def grade_job(Session, submission_id: int) -> dict:
    from grader.assignment import load
    from grader.grade import grade_submission
    with Session() as s:
        sub = s.get(Submission, submission_id)
        student = s.get(Student, sub.student_id)
        arow = s.get(AssignmentRow, sub.assignment_id)
        path, login, name, received = Path(sub.path), student.login, student.name, as_utc(sub.received_at)
        lang = student.lang if student.lang in ("en", "ru") else None
        apath = arow.path
    assignment = load(apath)
    return grade_submission(assignment, path, student=login, name=name or None, submitted_at=received, lang=lang)


def _error_results(message: str) -> dict:
    return {"score": 0.0, "max_score": 0.0, "tests": [], "output": message,
            "convgrade": {"batch_error": "internal_error", "notes": [message]}}


def run(url: str, *, once: bool = False, poll_s: float = 0.5, stop: threading.Event | None = None) -> int:
    """Work the queue until ``stop`` is set (or, with ``once``, until it is empty); jobs done."""
    engine = make_engine(url)
    Session = sessions(engine)
    me = queue.worker_name()
    done = 0
    stop = stop or threading.Event()
    while not stop.is_set():
        got = queue.claim(engine, me)
        if got is None:
            if once:
                break
            stop.wait(poll_s)
            continue
        job_id, sub_id, attempts = got
        if attempts > queue.MAX_ATTEMPTS:  # it killed its worker every time: record that, stop retrying
            queue.finish(engine, job_id, sub_id, me, _error_results(
                f"Not graded: the grader stopped {attempts - 1} times on this submission; staff will look at it."))
            continue
        hb_stop = threading.Event()
        hb = threading.Thread(target=_heartbeat, args=(engine, job_id, me, hb_stop, queue.LEASE_S / 4),
                              daemon=True)
        hb.start()
        try:
            results = grade_job(Session, sub_id)
        except Exception as exc:  # the engine itself failed: record it, never lose the job silently
            results = _error_results(f"Internal grader error: {type(exc).__name__}")
        finally:
            hb_stop.set()
        queue.finish(engine, job_id, sub_id, me, results)
        done += 1
    engine.dispose()
    return done
