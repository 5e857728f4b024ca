"""Where jobs run: a pool of local worker processes, threads, or a Dask distributed cluster.

Every executor has ``run(jobs)``: an iterator of ``Outcome`` in completion order, and
``close()``, which stops what is running (the batch calls it on Ctrl-C and at the end).

* ``LocalPool`` (``--executor local``, the default): N long-lived ``python -m
  grader.batch._worker`` processes, one job each at a time, each with a warm sandbox pool of one
  (``CONVGRADE_WARM_POOL``: the next job's sandbox worker starts while this one is graded). A job past its hard timeout gets its
  worker terminated (SIGTERM closes the sandbox session; SIGKILL after a grace period) and a
  fresh worker takes the next job; a worker that dies is replaced the same way. Workers die with
  the batch (PR_SET_PDEATHSIG), so a ``kill -9`` of the batch leaves nothing running.
* ``ThreadPool`` (``--executor threads``): jobs in threads of this process. No hard timeout
  beyond the sandbox's own ``wall_s`` (a thread cannot be killed); kept for comparison.
* ``DaskPool`` (``--executor dask --scheduler ADDRESS``): one task per job on a Dask
  distributed cluster. Each task carries the submission's bytes, the seeds of its hidden checks
  (derived in the client: the course secret never leaves it) and the assignment folder (as a
  tar, scattered once), so workers need no shared filesystem. The hard timeout is enforced on
  the worker (the job runs in a child grading process that is killed past it). Jobs of
  assignments with GPU training checks ask for ``resources={"GPU": 1}``: start GPU workers with
  ``dask worker ADDRESS --resources GPU=1``. Use a ``tls://`` scheduler with a
  ``distributed.Security`` (or the ``distributed.comm.tls`` config) between machines.
"""
from __future__ import annotations

import atexit
import os
import pickle
import select
import selectors
import signal
import struct
import subprocess
import sys
import threading
import time
from collections import deque
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait
from dataclasses import dataclass
from pathlib import Path

from .jobs import Job, grade_job


@dataclass
class Outcome:
    job: Job
    payload: dict | None = None       # grade_job's payload, or None when the job failed
    kind: str = ""                    # "internal_error" | "timeout" when payload is None
    reason: str = ""
    seconds: float = 0.0


# ----------------------------------------------------------------------------------------------
class _Proc:
    def __init__(self, log: Path | None):
        env = dict(os.environ, CONVGRADE_BATCH_PARENT=str(os.getpid()))
        env.setdefault("OMP_WAIT_POLICY", "PASSIVE")
        # one sandbox worker kept started ahead per grading process (grader.sandbox.pool): the next
        # submission's sandbox starts while this one is graded; each still gets a fresh worker
        env.setdefault("CONVGRADE_WARM_POOL", "1")
        self.log = open(log, "ab") if log else subprocess.DEVNULL
        self.popen = subprocess.Popen([sys.executable, "-m", "grader.batch._worker"], stdin=subprocess.PIPE,
                                      stdout=subprocess.PIPE, stderr=self.log, env=env,
                                      start_new_session=True)   # Ctrl-C reaches only the batch
        self.job: Job | None = None
        self.started = 0.0
        self.deadline = 0.0

    def send(self, job: Job, timeout: float) -> None:
        data = pickle.dumps(job, protocol=pickle.HIGHEST_PROTOCOL)
        self.popen.stdin.write(struct.pack(">Q", len(data)) + data)
        self.popen.stdin.flush()
        self.job, self.started, self.deadline = job, time.monotonic(), time.monotonic() + timeout

    def receive(self) -> dict | None:
        f = self.popen.stdout
        head = f.read(8)
        if len(head) < 8:
            return None
        n = struct.unpack(">Q", head)[0]
        data = f.read(n)
        return pickle.loads(data) if len(data) == n else None

    def stop(self, grace: float = 3.0) -> None:
        p = self.popen
        if p.poll() is None:
            try:
                p.stdin.close()
            except OSError:
                pass
            if self.job is not None:          # busy: SIGTERM closes its sandbox session cleanly
                p.send_signal(signal.SIGTERM)
            try:
                p.wait(grace)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
        for f in (p.stdin, p.stdout):
            try:
                f.close()
            except OSError:
                pass
        if self.log is not subprocess.DEVNULL:
            self.log.close()


class LocalPool:
    name = "local"

    def __init__(self, workers: int, timeout: float, log: Path | None = None):
        if workers < 1:
            raise ValueError(f"workers: must be at least 1, got {workers}")
        self.workers, self.timeout, self.log = workers, timeout, log
        self.procs: list[_Proc] = []

    def run(self, jobs):
        pending = deque(jobs)
        idle: list[_Proc] = []
        busy: dict[int, _Proc] = {}
        sel = selectors.DefaultSelector()

        def refill() -> None:
            while pending and len(busy) < self.workers:
                proc = idle.pop() if idle else self._spawn()
                job = pending.popleft()
                try:
                    proc.send(job, self.timeout)
                except (BrokenPipeError, OSError):
                    self._retire(proc)
                    pending.appendleft(job)
                    continue
                busy[proc.popen.stdout.fileno()] = proc
                sel.register(proc.popen.stdout, selectors.EVENT_READ, proc)

        try:
            while pending or busy:
                refill()
                ready: list[Outcome] = []
                wait_s = max(0.0, min(p.deadline for p in busy.values()) - time.monotonic())
                for key, _ in sel.select(timeout=min(wait_s, 1.0)):
                    proc = key.data
                    sel.unregister(proc.popen.stdout)
                    del busy[proc.popen.stdout.fileno()]
                    job, seconds = proc.job, time.monotonic() - proc.started
                    reply = proc.receive()
                    proc.job = None
                    if reply is None:
                        code = proc.popen.poll()
                        self._retire(proc)
                        ready.append(Outcome(job, None, "internal_error",
                                             f"the grading process died (exit code {code})", seconds))
                    elif not reply["ok"]:
                        idle.append(proc)
                        ready.append(Outcome(job, None, "internal_error", reply["reason"], seconds))
                    else:
                        idle.append(proc)
                        ready.append(Outcome(job, reply["payload"], seconds=seconds))
                now = time.monotonic()
                for fd, proc in list(busy.items()):
                    if now >= proc.deadline:
                        sel.unregister(proc.popen.stdout)
                        del busy[fd]
                        job = proc.job
                        self._retire(proc)
                        ready.append(Outcome(job, None, "timeout",
                                             f"grading took longer than the batch limit of {self.timeout:g} s",
                                             now - proc.started))
                # the freed workers get their next job before the caller writes these results
                # (writing is the caller's, in this process; the workers grade meanwhile)
                refill()
                yield from ready
        finally:
            sel.close()

    def _spawn(self) -> _Proc:
        proc = _Proc(self.log)
        self.procs.append(proc)
        return proc

    def _retire(self, proc: _Proc) -> None:
        proc.stop()
        if proc in self.procs:
            self.procs.remove(proc)

    def close(self) -> None:
        for proc in list(self.procs):
            self._retire(proc)


# ----------------------------------------------------------------------------------------------
class ThreadPool:
    name = "threads"

    def __init__(self, workers: int, timeout: float):
        if workers < 1:
            raise ValueError(f"workers: must be at least 1, got {workers}")
        self.pool = ThreadPoolExecutor(max_workers=workers)
        self.workers = workers

    def run(self, jobs):
        pending = deque(jobs)
        running = {}
        while pending or running:
            while pending and len(running) < self.workers:
                job = pending.popleft()
                running[self.pool.submit(grade_job, job)] = (job, time.monotonic())
            done, _ = wait(list(running), return_when=FIRST_COMPLETED)
            for fut in done:
                job, t0 = running.pop(fut)
                exc = fut.exception()
                if exc is not None:
                    yield Outcome(job, None, "internal_error",
                                  f"internal error ({type(exc).__name__}: {str(exc)[:200]})", time.monotonic() - t0)
                else:
                    yield Outcome(job, fut.result(), seconds=time.monotonic() - t0)

    def close(self) -> None:
        self.pool.shutdown(wait=True, cancel_futures=True)


# ----------------------------------------------------------------------------------------------
# Grading processes of this Dask worker, kept between tasks (one per task running at a time):
# a task takes an idle one or starts one, and hands it back when the job finished in time.
_IDLE: list[_Proc] = []
_IDLE_LOCK = threading.Lock()


@atexit.register
def close_grading_processes() -> None:
    """Stop the idle grading processes this Dask worker keeps (also run at exit)."""
    with _IDLE_LOCK:
        procs, _IDLE[:] = list(_IDLE), []
    for proc in procs:
        proc.stop()


def _grade_in_child(job: Job, timeout: float) -> dict:
    """Grade ``job`` in a grading process of this machine under a hard ``timeout``: the reply's
    payload, or a failure marker ``{"convgrade_failed": kind, "reason": ...}`` after killing the
    process (past the timeout) or finding it dead."""
    with _IDLE_LOCK:
        proc = _IDLE.pop() if _IDLE else None
    if proc is None or proc.popen.poll() is not None:
        proc = _Proc(None)
    t0 = time.monotonic()
    try:
        proc.send(job, timeout)
    except (BrokenPipeError, OSError):
        proc.stop()
        proc = _Proc(None)
        proc.send(job, timeout)
    ready, _, _ = select.select([proc.popen.stdout], [], [], max(0.0, timeout - (time.monotonic() - t0)))
    if not ready:
        proc.stop()
        return {"convgrade_failed": "timeout", "reason": f"grading took longer than the batch limit of {timeout:g} s"}
    reply = proc.receive()
    proc.job = None
    if reply is None:
        code = proc.popen.poll()
        proc.stop()
        return {"convgrade_failed": "internal_error", "reason": f"the grading process died (exit code {code})"}
    with _IDLE_LOCK:
        _IDLE.append(proc)
    if not reply["ok"]:
        return {"convgrade_failed": "internal_error", "reason": reply["reason"]}
    return reply["payload"]


def _dask_task(job: Job, bundle: bytes, timeout: float | None = None) -> dict:
    """Runs on a Dask worker: the same grading the local pool runs, in a grading process of that
    worker (kept for the next task), so the per-task ``timeout`` is enforced where the work
    happens: past it the process tree is killed and the task returns a failure marker that the
    client turns into the student's row. Without a timeout the job runs in the worker's thread."""
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    job.bundle = bundle
    if not timeout:
        from grader.batch.jobs import grade_job as _grade

        return _grade(job)
    return _grade_in_child(job, float(timeout))


class DaskPool:
    """One Dask task per job (see the module docstring).

    ``gpu``: every task asks for ``resources={"GPU": 1}`` (only workers started with
    ``--resources GPU=1`` run them). ``timeout``: the hard per-task limit, enforced on the worker
    (``_dask_task``). ``security``: a ``distributed.Security`` for ``tls://`` schedulers (default:
    the dask config, ``distributed.comm.tls.*``). ``task``: the function run per job, ``task(job,
    bundle, timeout) -> payload`` (tests pass a cheap stand-in). The job carries the seeds of its
    hidden checks, never the course secret."""
    name = "dask"

    def __init__(self, scheduler: str | None, bundle: bytes, gpu: bool = False, timeout: float | None = None,
                 client=None, security=None, task=None):
        from distributed import Client

        kw = {"security": security} if security is not None else {}
        self.client = client or Client(scheduler, timeout="30s", **kw)
        self.own_client = client is None
        self.bundle = self.client.scatter(bundle, broadcast=True, hash=False)
        self.resources = {"GPU": 1} if gpu else None
        self.timeout = timeout
        self.task = task or _dask_task
        self.futures = []
        if gpu and not any((w.get("resources") or {}).get("GPU")
                           for w in self.client.scheduler_info().get("workers", {}).values()):
            import warnings

            warnings.warn("the assignment's training checks ask for a GPU and no worker of this cluster has "
                          "the GPU resource yet: its jobs wait until one started with `--resources GPU=1` joins",
                          RuntimeWarning, stacklevel=2)

    def run(self, jobs):
        from distributed import as_completed

        by_future = {}
        for job in jobs:
            if job.data is None:
                job.data = Path(job.path).read_bytes() if Path(job.path).is_file() else b""
            fut = self.client.submit(self.task, job, self.bundle, self.timeout,
                                     key=f"convgrade-{job.key}-{time.time_ns()}",
                                     resources=self.resources, pure=False, retries=1)
            by_future[fut] = (job, time.monotonic())
        self.futures = list(by_future)
        for fut in as_completed(self.futures):
            job, t0 = by_future[fut]
            job.data = None
            try:
                payload = fut.result()
            except Exception as exc:     # a task error or a worker lost twice (KilledWorker)
                yield Outcome(job, None, "internal_error",
                              f"internal error on the Dask worker ({type(exc).__name__}: {str(exc)[:200]})",
                              time.monotonic() - t0)
                continue
            if isinstance(payload, dict) and payload.get("convgrade_failed"):
                yield Outcome(job, None, str(payload["convgrade_failed"]), str(payload.get("reason", "")),
                              time.monotonic() - t0)
                continue
            yield Outcome(job, payload, seconds=time.monotonic() - t0)

    def close(self) -> None:
        try:
            if self.futures:
                self.client.cancel(self.futures)
        finally:
            if self.own_client:
                self.client.close()
