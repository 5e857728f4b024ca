"""A worker session that runs *instructor* code (the master solution, its mutants) in this process.

``validate`` judges every mutant for hundreds of student ids; a sandbox per (mutant, student)
would cost seconds each. Mutants are the instructor's own edits of the master, so they are
trusted: :class:`TrustedSession` runs them in the grader process through the sandbox worker's own
probe code (``grader/sandbox/worker.py``'s ``Session``, loaded from its file, no import blocker),
and every request and reply makes the same JSON / ``.npy`` round trip the pipe would (tuples
become lists, arrays come back as fresh float64 copies). Plans, judges and diagnoses are the ones
``grade`` uses; only the process boundary is missing.

It has :class:`grader.sandbox.WorkerSession`'s interface (``start``, ``probe``, ``close``,
``isolation``, ``stdout_tail``; a context manager), so validation can swap one session factory
for another (a warm sandbox pool, say) without changing its driver.

Never use it for student code: nothing here isolates anything.
"""
from __future__ import annotations

import contextlib
import importlib.util
import io
import itertools
import json
import signal
import sys
import threading
from pathlib import Path

import numpy as np

from ..sandbox.config import IsolationReport, ProbeResult
from ..sandbox.protocol import _json_default, decode_value

_WORKER = Path(__file__).resolve().parent.parent / "sandbox" / "worker.py"
_worker_module = None
_ids = itertools.count(1)
STDOUT_CAP = 4_000


def _worker():
    """The sandbox worker script as a module (its ``Session`` class; ``main`` is never called)."""
    global _worker_module
    if _worker_module is None:
        spec = importlib.util.spec_from_file_location("_convgrade_trusted_worker", _WORKER)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        _worker_module = module
    return _worker_module


class ProbeDeadline(BaseException):
    """Raised inside trusted code that runs past its probe deadline (main thread only)."""


@contextlib.contextmanager
def _deadline(seconds: float | None):
    """SIGALRM-based deadline in the main thread; elsewhere no deadline (trusted code)."""
    if not seconds or threading.current_thread() is not threading.main_thread():
        yield
        return

    def fire(signum, frame):
        raise ProbeDeadline(f"no answer within {seconds:g} s")

    old = signal.signal(signal.SIGALRM, fire)
    signal.setitimer(signal.ITIMER_REAL, float(seconds))
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)


class TrustedSession:
    """In-process stand-in for :class:`grader.sandbox.WorkerSession` (instructor code only).

    >>> with TrustedSession("def double(x):\\n    return 2 * x\\n") as s:
    ...     s.start().status, s.probe([{"let": "y", "call": "double", "args": [3]}], {"y": "y"}).values
    ('ok', {'y': 6})
    """

    def __init__(self, source: str, filename: str = "submission.py", probe_timeout_s: float | None = 30.0,
                 max_elements: int = 10**7, max_bytes: int = 64 << 20, forbidden=("torch",)):
        self.source = source
        self.filename = filename
        self.probe_timeout_s = probe_timeout_s
        self._session = _worker().Session(filename, max_elements, max_bytes)
        # the grader's own helpers ({"grader": ...} steps), as worker.main sets them before the
        # module runs: torch's only where the assignment allows torch
        self._session.helpers = _worker().capture_torch([str(n) for n in forbidden])
        self._module = f"_convgrade_trusted_{next(_ids)}"
        self._started: ProbeResult | None = None
        self._out = io.StringIO()
        self.restarts = 0

    # ---- WorkerSession's interface

    @property
    def isolation(self) -> IsolationReport:
        return IsolationReport("trusted-in-process", ["instructor code (master or mutant) run in the grader "
                                                      "process for validation; never used for student code"])

    @property
    def stdout_tail(self) -> str:
        return self._out.getvalue()[-STDOUT_CAP:]

    def _capture(self):
        stack = contextlib.ExitStack()
        if self._out.tell() > 1 << 20:     # keep memory bounded for chatty code
            self._out = io.StringIO()
        stack.enter_context(contextlib.redirect_stdout(self._out))
        stack.enter_context(contextlib.redirect_stderr(self._out))
        return stack

    def start(self) -> ProbeResult:
        if self._started is not None:
            return self._started
        w = _worker()
        try:
            with self._capture(), np.errstate(all="ignore"), _deadline(self.probe_timeout_s):
                self._session.load(self.source, self._module)
            self._started = ProbeResult("ok")
        except ProbeDeadline as exc:
            self._started = ProbeResult("timeout", error={"type": "timeout", "message": str(exc)})
        except BaseException as exc:   # noqa: BLE001 - the worker reports everything, so do we
            self._started = ProbeResult("error", error=dict(w.error_info(exc, self.filename), step=None))
        finally:
            sys.modules.pop(self._module, None)
        return self._started

    def probe(self, steps: list[dict], returns: dict[str, str], arrays=(), timeout: float | None = None) -> ProbeResult:
        if self._started is None:
            self.start()
        if self._started.status != "ok":
            return ProbeResult("not_started", error={"type": "NotStarted", "message": "the module could not be loaded"})
        msg = json.loads(json.dumps({"steps": steps, "return": dict(returns)}, default=_json_default))
        inputs = [np.array(a, copy=True) for a in arrays]
        limit = timeout if timeout is not None else self.probe_timeout_s
        with self._capture(), np.errstate(all="ignore"), _deadline(limit):
            try:
                reply, out = self._session.probe(msg, inputs)
            except ProbeDeadline as exc:   # fired outside the worker's own try (while encoding)
                return ProbeResult("timeout", error={"type": "timeout", "message": str(exc)})
        reply = json.loads(json.dumps(reply, allow_nan=False))
        frames = [np.array(a, dtype=np.float64, copy=True) for a in out]
        values = {str(k): v for k, v in decode_value(reply.get("values", {}), frames).items() if str(k) in returns}
        error = reply.get("error")
        if error is None:
            return ProbeResult("ok", values=values)
        if error.get("type") == "ProbeDeadline":
            return ProbeResult("timeout", values=values, error={"type": "timeout", "message": error.get("message", "")})
        return ProbeResult("error", values=values, error=error)

    def close(self) -> None:
        pass

    def __enter__(self) -> "TrustedSession":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


__all__ = ["TrustedSession"]
