"""The grading loop of one worker process (``convgrade serve-worker`` or spawned by ``serve``),
or of a dispatcher that hands the jobs to a Dask cluster (``serve-worker --dask``, ``run_dask``).

Each claimed job is graded by ``grader.grade.grade_submission`` (the CLI's engine, sandbox —
from this process's warm pool, grader.sandbox.pool — and late policy, with the server's receipt
time as the submission time, in the student's roster language) and finished once.
"""
from __future__ import annotations

import os
import threading
import time
from pathlib import Path

from grader.i18n import known

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
        lang = known(student.lang)
        apath = arow.path
    assignment = load(apath)
    return grade_submission(assignment, path, student=login, name=name or None, submitted_at=received, lang=lang)


def _error_results(message: str) -> dict:
    return {"score": 0.0, "max_score": 0.0, "tests": [], "output": message,
            "convgrade": {"batch_error": "internal_error", "notes": [message]}}


def run(url: str, *, once: bool = False, poll_s: float = 0.5, stop: threading.Event | None = None) -> int:
    """Work the queue until ``stop`` is set (or, with ``once``, until it is empty); jobs done."""
    from grader.sandbox.pool import ENV_VAR
    # A long-lived worker grades from this process's shared pool (grader.grade reads the
    # variable): each submission's sandbox worker is forked from a zygote, not started cold.
    os.environ.setdefault(ENV_VAR, "1")
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


# ---------------------------------------------------------------------------------------------
def _batch_job(Session, submission_id: int, secret: bytes, bundles: dict, client):
    """The batch executor's ``Job`` for one submission (its bytes, the seeds of its hidden checks:
    the secret stays here) and the assignment's bundle, scattered to the cluster once per version."""
    from grader.assignment import load
    from grader.batch.jobs import Job, assignment_bundle
    from grader.batch.runner import default_timeout, needs_gpu
    from grader.seeds import hidden_seeds
    with Session() as s:
        sub = s.get(Submission, submission_id)
        student = s.get(Student, sub.student_id)
        arow = s.get(AssignmentRow, sub.assignment_id)
        path, login, name, received, sha = sub.path, student.login, student.name, as_utc(sub.received_at), sub.sha256
        lang, apath = known(student.lang, "en"), arow.path
    a = load(apath)
    if (apath, a.version) not in bundles:
        bundles[(apath, a.version)] = (client.scatter(assignment_bundle(Path(apath)), broadcast=True, hash=False),
                                       default_timeout(a), {"GPU": 1} if needs_gpu(a) else None)
    job = Job(key=str(submission_id), assignment=apath, version=a.version, path=path, members=[(login, name)],
              sha256=sha, submitted_at=received.isoformat() if received else None, lang=lang,
              seeds=hidden_seeds(a, login, secret), data=Path(path).read_bytes())
    return job, login, bundles[(apath, a.version)]


def run_dask(url: str, scheduler: str | None = None, *, client=None, slots: int | None = None, once: bool = False,
             poll_s: float = 0.5, stop: threading.Event | None = None, security=None) -> int:
    """Work the queue on a Dask cluster (``convgrade serve-worker --dask SCHEDULER``): claim up to
    ``slots`` jobs (default: the cluster's worker threads), grade each as one task of the batch
    executor (``grader.batch.executors._dask_task``: the same engine and sandbox, on the worker,
    under the batch's hard timeout), renew their leases while they run, finish each once. This
    process holds the leases: if it dies, its jobs go back to the queue like a local worker's.
    Returns the jobs done."""
    from distributed import Client

    from grader.batch.executors import _dask_task
    from grader.seeds import course_secret

    engine = make_engine(url)
    Session = sessions(engine)
    me = queue.worker_name()
    stop = stop or threading.Event()
    own = client is None
    if own:
        client = Client(scheduler, timeout="30s", **({"security": security} if security is not None else {}))
    if not slots:
        slots = max(1, sum(int(w.get("nthreads") or 1) for w in client.scheduler_info().get("workers", {}).values()))
    secret = course_secret()
    bundles: dict = {}
    running: dict = {}            # future -> (job id, submission id, login)
    done = 0
    last_renew = time.monotonic()
    try:
        while not stop.is_set():
            while len(running) < slots and (got := queue.claim(engine, me)) is not None:
                job_id, sub_id, attempts = got
                if attempts > queue.MAX_ATTEMPTS:
                    queue.finish(engine, job_id, sub_id, me, _error_results(
                        f"Not graded: the grader stopped {attempts - 1} times on this submission; staff will look at it."))
                    continue
                try:
                    job, login, (bundle, timeout, resources) = _batch_job(Session, sub_id, secret, bundles, client)
                except Exception as exc:   # the file or the assignment went away: record it
                    queue.finish(engine, job_id, sub_id, me, _error_results(f"Internal grader error: {type(exc).__name__}"))
                    done += 1
                    continue
                fut = client.submit(_dask_task, job, bundle, timeout, key=f"convgrade-serve-{job_id}-{time.time_ns()}",
                                    resources=resources, pure=False, retries=1)
                running[fut] = (job_id, sub_id, login)
            if not running:
                if once:
                    break
                stop.wait(poll_s)
                continue
            finished = [f for f in running if f.done()]
            if not finished:
                stop.wait(min(poll_s, 0.2))
            if time.monotonic() - last_renew > queue.LEASE_S / 4:
                for job_id, _, _ in running.values():
                    queue.renew(engine, job_id, me)
                last_renew = time.monotonic()
            for fut in finished:
                job_id, sub_id, login = running.pop(fut)
                try:
                    payload = fut.result()
                except Exception as exc:    # a task error or a worker lost twice (KilledWorker)
                    results = _error_results(f"Internal grader error on the cluster: {type(exc).__name__}")
                else:
                    if isinstance(payload, dict) and payload.get("convgrade_failed"):
                        results = _error_results(f"Not graded: {payload.get('reason', '')}")
                    else:
                        results = payload["members"][login]["results"]
                queue.finish(engine, job_id, sub_id, me, results)
                done += 1
    finally:
        if running:
            client.cancel(list(running))
        if own:
            client.close()
        engine.dispose()
    return done
