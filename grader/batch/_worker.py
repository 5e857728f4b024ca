"""A long-lived local grading worker: ``python -m grader.batch._worker``.

Reads jobs from stdin and writes payloads to stdout, each frame an 8-byte big-endian length and a
pickle (both ends are the trusted grader; student code never touches these pipes — it runs in
the sandbox worker that ``grade_submission`` starts). SIGINT is ignored (the batch decides when
to stop); SIGTERM, and the death of the batch process (PR_SET_PDEATHSIG), end the worker through
SystemExit so the open sandbox session is closed and its processes killed.
"""
from __future__ import annotations

import ctypes
import os
import pickle
import signal
import struct
import sys
import traceback


def _die_with_parent() -> None:
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGTERM)          # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def _read_exact(f, n: int) -> bytes | None:
    buf = b""
    while len(buf) < n:
        chunk = f.read(n - len(buf))
        if not chunk:
            return None
        buf += chunk
    return buf


def main() -> int:
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    _die_with_parent()
    parent = int(os.environ.get("CONVGRADE_BATCH_PARENT", "0"))
    if parent and os.getppid() != parent:      # the batch died before prctl took effect
        return 0
    out = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)                              # stray prints go to the log, not into the protocol
    sys.stdout = sys.stderr
    inp = sys.stdin.buffer
    from grader.batch.jobs import grade_job

    while True:
        head = _read_exact(inp, 8)
        if head is None:
            return 0
        job = pickle.loads(_read_exact(inp, struct.unpack(">Q", head)[0]) or b"")
        try:
            reply = {"ok": True, "payload": grade_job(job)}
        except Exception as exc:
            reply = {"ok": False, "reason": f"internal error ({type(exc).__name__}: {str(exc)[:200]})",
                     "traceback": traceback.format_exc(limit=8)}
        data = pickle.dumps(reply, protocol=pickle.HIGHEST_PROTOCOL)
        try:
            out.write(struct.pack(">Q", len(data)) + data)
            out.flush()
        except BrokenPipeError:
            return 0


if __name__ == "__main__":
    sys.exit(main())
