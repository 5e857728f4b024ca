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
  distributed cluster. Each task carries the submission's bytes and the assignment folder (as a
  tar, scattered once), so workers need no shared filesystem; the course secret goes to the
  workers (trusted grading machines) and from there never to the sandbox. Jobs of assignments
  with GPU milestone checks ask for ``resources={"GPU": 1}``: start GPU workers with
  ``dask worker ADDRESS --resources GPU=1``.
"""
from __future__ import annotations

import os
import pickle
import selectors
import signal
import struct
import subprocess
import sys
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
        try:
            while pending or busy:
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
                        yield Outcome(job, None, "internal_error",
                                      f"the grading process died (exit code {code})", seconds)
                    elif not reply["ok"]:
                        idle.append(proc)
                        yield Outcome(job, None, "internal_error", reply["reason"], seconds)
                    else:
                        idle.append(proc)
                        yield Outcome(job, reply["payload"], seconds=seconds)
                now = time.monotonic()
                for fd, proc in list(busy.items()):
                    if now >= proc.deadline:
                        sel.unregister(proc.popen.stdout)
                        del busy[fd]
                        job = proc.job
                        self._retire(proc)
                        yield Outcome(job, None, "timeout",
                                      f"grading took longer than the batch limit of {self.timeout:g} s",
                                      now - proc.started)
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
def _dask_task(job: Job, bundle: bytes) -> dict:
    """Runs on a Dask worker: the grading itself is the same function the local pool runs."""
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    from grader.batch.jobs import grade_job as _grade

    job.bundle = bundle
    return _grade(job)


class DaskPool:
    name = "dask"

    def __init__(self, scheduler: str, bundle: bytes, gpu: bool = False, timeout: float | None = None,
                 client=None):
        from distributed import Client

        self.client = client or Client(scheduler, timeout="30s")
        self.own_client = client is None
        self.bundle = self.client.scatter(bundle, broadcast=True, hash=False)
        self.resources = {"GPU": 1} if gpu else None
        self.timeout = timeout
        self.futures = []

    def run(self, jobs):
        from distributed import as_completed

        by_future = {}
        for job in jobs:
            if job.data is None:
                job.data = Path(job.path).read_bytes() if Path(job.path).is_file() else b""
            fut = self.client.submit(_dask_task, job, self.bundle, key=f"convgrade-{job.key}-{time.time_ns()}",
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
            yield Outcome(job, payload, seconds=time.monotonic() - t0)

    def close(self) -> None:
        try:
            if self.futures:
                self.client.cancel(self.futures)
        finally:
            if self.own_client:
                self.client.close()
