"""Zygote: one sandboxed process that forks a fresh worker for each submission.

Starting a worker costs an interpreter and ``import numpy`` (≈ 0.15 s of CPU; with torch,
seconds): most of a small grade. A zygote pays it once. It is launched exactly as a worker is —
the same bubblewrap namespaces and binds, its own cgroup, the same rlimits, the cleared
environment — runs ``worker.py --zygote`` and waits on a control socket (``SOCK_SEQPACKET``,
``SO_PASSCRED``). For each session the grader sends it four pipe ends (``SCM_RIGHTS``); it forks,
and the child — holding nothing but numpy and the worker's code — sends its credentials (the
kernel translates its pid into the grader's namespace), closes the control socket and becomes
an ordinary worker on the pipes. The grader moves that pid into the session's own fresh cgroup
*before* it sends ``init``, so the child runs no student code outside its memory and pids limits.

One child at a time. When it exits (or the grader kills its cgroup), the zygote reports the exit
status, kills and reaps everything left in the pid namespace, empties /tmp, the home and
/dev/shm, removes System V IPC objects and the user's keys, and only then is ready for the next
fork: a submission never sees what the previous one left (tests/sandbox/test_zygote.py). A
child cannot reach into the zygote (it is not dumpable; its memory is copy-on-write). What a
hostile child *can* do is kill or stop the zygote: the next fork then fails or times out, the
zygote is thrown away and the session starts cold — a submission can only slow itself down.

Used by :class:`grader.sandbox.pool.WarmPool` when bubblewrap and cgroups are both available and
the sandbox has no GPU (CUDA does not survive a fork); otherwise the pool keeps its pre-started
workers. ``$CONVGRADE_ZYGOTE=0`` turns it off.
"""
from __future__ import annotations

import os
import select
import signal
import socket
import struct
import subprocess
import time

from . import isolation
from .config import SandboxConfig

ENV_VAR = "CONVGRADE_ZYGOTE"
CREDS = struct.Struct("3i")
READY_TIMEOUT_S = 10.0      # a zygote that is not ready within this (after a child) is killed
START_TIMEOUT_S = 30.0      # how long a session waits for a zygote still importing its libraries
FORK_TIMEOUT_S = 5.0


class ZygoteError(OSError):
    """The zygote did not answer as it must (dead, stopped, or out of protocol): throw it away."""


def enabled(config: SandboxConfig, use_bwrap: bool, use_cgroup: bool) -> bool:
    """Whether sessions with ``config`` may be forked from a zygote here."""
    if os.environ.get(ENV_VAR, "1").strip() in ("0", "false", "no", "off"):
        return False
    return use_bwrap and use_cgroup and not config.gpu and hasattr(socket, "SCM_CREDENTIALS") \
        and hasattr(socket, "send_fds")


class ForkedChild:
    """The grader's handle on a worker forked by a :class:`Zygote`: enough of ``subprocess.Popen``
    for :class:`grader.sandbox.launcher._Worker` (``pid`` in the grader's namespace,
    ``returncode``, ``poll``, ``wait``, ``stdout``/``stderr``). It is never signalled by pid: the
    zygote reaps it, so its pid may be reused; it is killed through its cgroup."""

    def __init__(self, zygote: "Zygote", pid: int, out_fd: int, err_fd: int):
        self.zygote = zygote
        self.pid = pid
        self.returncode: int | None = None
        self.stdout = open(out_fd, "rb", buffering=0)
        self.stderr = open(err_fd, "rb", buffering=0)

    def poll(self) -> int | None:
        if self.returncode is None:
            self.zygote.pump(0.0)
        return self.returncode

    def wait(self, timeout: float | None = None) -> int:
        """Wait for the zygote to report the child's exit (``subprocess.TimeoutExpired`` after
        ``timeout``, as Popen). A zygote that dies meanwhile took its namespace, the child
        included, with it (bubblewrap's init ends the namespace when the zygote exits)."""
        end = None if timeout is None else time.monotonic() + timeout
        while self.returncode is None:
            if not self.zygote.alive:
                self.returncode = -signal.SIGKILL
                break
            left = READY_TIMEOUT_S if end is None else end - time.monotonic()
            if left <= 0:
                raise subprocess.TimeoutExpired("zygote child", timeout)
            self.zygote.pump(min(left, 0.5))
        return self.returncode

    def kill(self) -> None:
        """Kill the whole zygote (the child is killed through its cgroup by its _Worker; this is
        the last resort when the zygote will not report)."""
        self.zygote.kill()
        if self.returncode is None:
            self.returncode = -signal.SIGKILL


class Zygote:
    """One zygote process for sessions of ``config`` (see the module docstring). Not thread-safe:
    the pool hands a zygote to one session at a time."""

    def __init__(self, config: SandboxConfig, tag: str, preload: tuple[str, ...] = ()):
        from . import cgroups
        from .launcher import WORKER_PATH, _make_preexec, _rlimits, _worker_script

        self.config = config
        self.owner = os.getpid()     # a forked copy of the grader must not use or kill it
        self.cgroup = cgroups.Cgroup.create(config.limits.memory_mb, config.limits.pids)
        self.sock, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_PASSCRED, 1)
        self.state = "starting"      # starting | ready | busy | cleaning | dead
        self.child: ForkedChild | None = None
        self.pid: int | None = None  # the zygote's own pid (from its first message's credentials)
        self.served = 0
        cmd = isolation.bwrap_argv(isolation.bwrap_exe(), config, WORKER_PATH) + \
            [isolation.worker_python(), "-I", *_worker_script(f"{isolation.SANDBOX_DIR}/worker.py", preload),
             "--zygote", str(theirs.fileno()), tag]
        try:
            self.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                         stderr=subprocess.DEVNULL, pass_fds=(theirs.fileno(),),
                                         env={"PATH": "/usr/bin:/bin"}, start_new_session=True,
                                         preexec_fn=_make_preexec(self.cgroup.procs_files,
                                                                  _rlimits(config, True)))
        except BaseException:
            theirs.close()
            self.sock.close()
            self.cgroup.remove()
            raise
        theirs.close()

    # ---- state

    @property
    def alive(self) -> bool:
        return self.state != "dead" and self.proc.poll() is None

    def ready(self, timeout: float = READY_TIMEOUT_S) -> bool:
        """Wait until the zygote can fork (its start or the previous child's clean-up is done)."""
        end = time.monotonic() + timeout
        while self.state != "ready":
            if self.state == "dead" or (self.state == "busy" and self.child is not None
                                        and self.child.returncode is None):
                return False   # gone, or a session still holds its child
            left = end - time.monotonic()
            if left <= 0 or not self.pump(left):
                return False
        return True

    def _receive(self, timeout: float) -> tuple[bytes, int | None] | None:
        """(message, sender's pid) from the zygote's socket within ``timeout``; None when none
        came; ``(b"", None)`` when the socket is closed or broken."""
        try:
            r, _, _ = select.select([self.sock], [], [], max(0.0, timeout))
            if not r:
                return None
            msg, anc, _, _ = self.sock.recvmsg(64, socket.CMSG_SPACE(CREDS.size))
        except (OSError, ValueError):
            return b"", None
        return msg, (_sender(anc) if msg else None)

    def pump(self, timeout: float) -> bool:
        """Read one message from the zygote within ``timeout``; False when none came (or it died)."""
        if self.state == "dead":
            return False
        got = self._receive(timeout)
        if got is None:
            return False
        msg, pid = got
        if not msg or pid is None or (self.pid is not None and pid != self.pid):
            self.kill()   # closed, or a message that is not the zygote's: never trusted again
            return False
        if msg == b"R":
            if self.pid is None:
                self.pid = pid
            self.state = "ready"
        elif msg[:1] == b"X" and self.state == "busy" and msg[1:].isdigit():
            if self.child is not None:
                self.child.returncode = os.waitstatus_to_exitcode(int(msg[1:]))
            self.child = None
            self.state = "cleaning"
        else:
            self.kill()
            return False
        return True

    # ---- fork

    def fork(self) -> tuple["ForkedChild", int, int]:
        """A fresh child: (handle, request fd to write, reply fd to read). The child waits for
        ``init`` on the request pipe; it is not yet in any session cgroup (the caller moves it)."""
        from .launcher import message_pipe

        if os.getpid() != self.owner or not self.ready():
            raise ZygoteError("the zygote is not ready")
        req_r, req_w = message_pipe()
        rep_r, rep_w = message_pipe()
        out_r, out_w = os.pipe()
        err_r, err_w = os.pipe()
        theirs = (req_r, rep_w, out_w, err_w)
        try:
            socket.send_fds(self.sock, [b"F"], list(theirs))
        except OSError as exc:
            for fd in (*theirs, req_w, rep_r, out_r, err_r):
                os.close(fd)
            self.kill()
            raise ZygoteError(f"the zygote did not take the pipes ({exc})") from None
        finally:
            for fd in theirs:
                try:
                    os.close(fd)
                except OSError:
                    pass
        self.state = "busy"
        pid = self._child_pid(FORK_TIMEOUT_S)
        if pid is None:
            for fd in (req_w, rep_r, out_r, err_r):
                os.close(fd)
            self.kill()
            raise ZygoteError("the zygote's child did not report")
        self.child = ForkedChild(self, pid, out_r, err_r)
        self.served += 1
        return self.child, req_w, rep_r

    def _child_pid(self, timeout: float) -> int | None:
        got = self._receive(timeout)
        if got is None or got[0] != b"P" or got[1] is None or got[1] == self.pid or got[1] <= 1:
            return None
        return got[1]

    # ---- teardown

    def kill(self) -> None:
        """Kill the zygote, its namespace and its cgroup (idempotent; only in the process that
        started it — a forked copy of the grader just closes its copy of the socket)."""
        self.state = "dead"
        try:
            self.sock.close()
        except OSError:
            pass
        if os.getpid() != self.owner:
            return
        if self.proc.returncode is None:
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
            self.cgroup.kill_all()
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                pass
        self.cgroup.remove()


def _sender(ancillary) -> int | None:
    """The sender's pid from SCM_CREDENTIALS ancillary data (None when absent)."""
    for level, kind, data in ancillary:
        if level == socket.SOL_SOCKET and kind == socket.SCM_CREDENTIALS and len(data) >= CREDS.size:
            return CREDS.unpack_from(data)[0]
    return None
