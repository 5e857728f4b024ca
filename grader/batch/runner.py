"""Grade a whole class: discover, skip what is done, run the rest in parallel, write as it finishes.

``run_batch`` is what ``convgrade grade-batch`` calls. Resuming is the default: a student whose
``OUT/<student>/results.json`` already holds a complete result for the same submission hash,
assignment version and submission time is not graded again (see ``outputs.is_done``); results
with a batch error (internal error, hard timeout) are tried again. Because results are written
one at a time, atomically, and only by this process, a batch killed at any instant (Ctrl-C,
``kill -9``, power loss) and run again grades each missing submission exactly once and the final
outputs equal those of one uninterrupted run (up to the ``execution_time`` fields).
"""
from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from pathlib import Path

from .discover import Entry
from .executors import DaskPool, LocalPool, Outcome, ThreadPool
from .jobs import Job, assignment_bundle, failure_results, render_members
from .outputs import FEEDBACK_FILES, clean_partial, index_entry, matches, read_results, status_of, write_index, write_student
from .progress import Progress

EXECUTORS = ("local", "threads", "dask")


@dataclass
class BatchReport:
    total: int = 0                       # entries (submissions) discovered
    skipped: int = 0                     # already done and unchanged
    graded: int = 0                      # graded in this run
    statuses: dict = field(default_factory=dict)    # student -> status of every member
    seconds: float = 0.0
    interrupted: bool = False
    executor: str = "local"
    workers: int = 0

    @property
    def broken(self) -> list[str]:
        return sorted(s for s, st in self.statuses.items() if st != "ok")

    def rate_per_min(self) -> float:
        return 60.0 * self.graded / self.seconds if self.seconds > 0 else 0.0


def needs_gpu(assignment) -> bool:
    """True when a torch training check (``milestone``, ``initial_loss``, ... of
    ``grader.checks.milestone.TRAINING_KINDS``) has a GPU budget — a ``budget_s`` table with a
    ``gpu`` key, as the manifests write it (``budget_s = { cpu = 90, gpu = 20 }``), or ``gpu =
    true`` / ``device = "cuda"``: its jobs go to workers with a GPU resource."""
    from grader.checks.milestone import TRAINING_KINDS

    for c in assignment.checks:
        p = c.params
        if c.kind not in TRAINING_KINDS or p.get("framework", "torch") != "torch":
            continue
        budget = p.get("budget_s") if isinstance(p.get("budget_s"), dict) else {}
        if p.get("gpu") or str(p.get("device", "")).startswith("cuda") or budget.get("gpu"):
            return True
    return False


def default_timeout(assignment) -> float:
    """The hard per-submission limit: the import deadline and the sandbox's session wall clock
    (which starts after the import) plus room for starting, judging and rendering."""
    from grader.sandbox.config import Limits

    wall = float(assignment.limits.get("wall_s", Limits.wall_s))
    return float(assignment.limits.get("import_timeout_s", Limits.import_timeout_s)) + 1.5 * wall + 30.0


def make_job(assignment, entry: Entry, *, isolation: str, lang: str, secret: bytes | None) -> Job:
    """The job for ``entry``: the hidden checks' seeds for its first member are derived here, in
    the client, so the secret itself never goes to a worker process or a Dask worker."""
    from grader.seeds import course_secret, hidden_seeds

    if secret is None and any(not c.visible for c in assignment.checks):
        secret = course_secret()
    seeds = hidden_seeds(assignment, entry.members[0].student, secret) if secret is not None else {}
    return Job(key=entry.key, assignment=str(Path(assignment.path).resolve()), version=assignment.version,
               path=str(Path(entry.path).resolve()), members=[(m.student, m.name) for m in entry.members],
               sha256=entry.sha256(), submitted_at=entry.submitted_at.isoformat() if entry.submitted_at else None,
               isolation=isolation, lang=lang, seeds=seeds, notes=list(entry.notes), error=entry.error,
               lms=dict(entry.lms))


def plan(assignment, entries: list[Entry], out: Path, *, force: bool = False, only=None,
         **job_kw) -> tuple[list[Job], list[Job], dict]:
    """(jobs to run, jobs already done, index entries of every student) for ``entries`` against
    ``out``; each results.json is read once. ``only`` (entry keys): grade just those, whatever
    their results say, and leave the others as they are; ``force``: grade every entry (of
    ``only``, when given) whatever its results say."""
    todo, done, index = [], [], {}
    for e in entries:
        job = make_job(assignment, e, **job_kw)
        finished = True
        for s, _ in job.members:
            r = read_results(out, s)
            index[s] = index_entry(r)
            finished &= (matches(r, job.sha256, assignment.version, job.submitted_at)
                         and _graded_lang(r) == job.lang       # messages in another language: again
                         and all((out / s / f).is_file() for f in FEEDBACK_FILES))
        if only is not None:
            finished = e.key not in only
        elif force:
            finished = False
        (done if finished else todo).append(job)
    return todo, done, index


def _graded_lang(results) -> str:
    """The language a saved result's messages are in (results before ``convgrade.lang``: en)."""
    cg = results.get("convgrade") if isinstance(results, dict) else None
    lang = cg.get("lang") if isinstance(cg, dict) else None
    return lang if isinstance(lang, str) and lang else "en"


def _outcome_payload(assignment, o: Outcome) -> dict:
    if o.payload is not None:
        return o.payload
    results = failure_results(assignment, o.job, o.reason, o.kind, o.seconds)
    return render_members(results, o.job, None)


def run_batch(assignment, entries: list[Entry], out, *, executor: str = "local", workers: int | None = None,
              scheduler: str | None = None, isolation: str = "auto", lang: str = "en",
              secret: bytes | None = None, timeout: float | None = None, progress: bool | None = None,
              dask_client=None, on_result=None, security=None, force: bool = False,
              only=None) -> BatchReport:
    """Grade ``entries`` into ``out``; see the module docstring. ``security``: a
    ``distributed.Security`` for a ``tls://`` Dask scheduler. ``on_result(student, status)``
    is called after each student's files are written; ``force``/``only``: see ``plan``.
    KeyboardInterrupt stops the batch cleanly
    (running gradings are killed, nothing half-written) and returns with ``interrupted=True``."""
    if executor not in EXECUTORS:
        raise ValueError(f"executor: expected one of {EXECUTORS}, got {executor!r}")
    if executor == "dask" and not (scheduler or dask_client):
        raise ValueError("scheduler: --executor dask needs --scheduler ADDRESS")
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    workers = workers or os.cpu_count() or 1
    timeout = timeout or default_timeout(assignment)
    clean_partial(out)
    todo, done, index = plan(assignment, entries, out, isolation=isolation, lang=lang, secret=secret,
                             force=force, only=None if only is None else set(only))
    report = BatchReport(total=len(entries), skipped=len(done), executor=executor, workers=workers)
    t0 = time.monotonic()
    bar = Progress(len(todo), skipped=len(done), enabled=progress)
    bar.start()                         # drawn from the first second, not after the first result
    pool = None
    try:
        if todo:
            if executor == "local":
                (out / "_logs").mkdir(exist_ok=True)
                pool = LocalPool(workers, timeout, log=out / "_logs" / "workers.log")
            elif executor == "threads":
                pool = ThreadPool(workers, timeout)
            else:
                pool = DaskPool(scheduler, assignment_bundle(Path(assignment.path)), gpu=needs_gpu(assignment),
                                timeout=timeout, client=dask_client, security=security)
            last_index = time.monotonic()
            for o in pool.run(todo):
                payload = _outcome_payload(assignment, o)
                for student, member in payload["members"].items():
                    write_student(out, student, member, payload.get("source"))
                    status = status_of(member["results"])
                    index[student] = index_entry(member["results"])
                    if on_result:
                        on_result(student, status)
                report.graded += 1
                st = [status_of(m["results"]) for m in payload["members"].values()] or ["ok"]
                bar.update(failed=any(x != "ok" for x in st), note=f"{', '.join(payload['members'])}: {st[0]}",
                           status=st[0])
                if time.monotonic() - last_index > 5.0:
                    write_index(out, index, assignment.id, assignment.version)
                    last_index = time.monotonic()
    except KeyboardInterrupt:
        report.interrupted = True
    finally:
        if pool is not None:
            pool.close()
        bar.finish()
        report.seconds = time.monotonic() - t0
    write_index(out, index, assignment.id, assignment.version)
    report.statuses = {s: e["status"] for s, e in sorted(index.items())}
    return report
