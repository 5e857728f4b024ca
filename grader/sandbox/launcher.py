"""WorkerSession: one student module in a sandboxed worker process, probed many times.

The grader side of docs/ARCHITECTURE.md "Sandbox worker protocol". Every worker gets fresh
pipes (request, reply, stdout, stderr), a fresh cgroup when cgroups are writable, rlimits set in
a minimal ``preexec_fn`` (so they cover bubblewrap and everything below it), a new session, and
bubblewrap namespaces when available. One thread does all the I/O with ``poll``: it writes the
request, drains stdout/stderr into a bounded tail (killing the worker past
``output_kill_bytes``) and parses the reply incrementally, refusing oversized frames, replies
carrying another request's id, and array frames that fail ``protocol.decode_npy``.

After a crash, timeout, flood or protocol error the worker is killed; the next probe starts a new
one (re-running init) until ``max_restarts`` is used up, then probes answer ``not_started``.
"""
from __future__ import annotations

import os
import resource
import select
import shutil
import signal
import subprocess
import tempfile
import time
import weakref
from pathlib import Path
from typing import TYPE_CHECKING

from ..i18n import t as _t
from . import cgroups, isolation
from .config import IsolationReport, Limits, ProbeResult, SandboxConfig
from .protocol import HEADER, ProtocolError, decode_json, decode_npy, decode_value, encode_message

if TYPE_CHECKING:
    import numpy as np

WORKER_PATH = str(Path(__file__).with_name("worker.py"))
PROBE_STDOUT_CAP = 4000
MAX_ARRAYS_PER_REPLY = 10_000
KILL_WAIT_S = 5.0      # how long a killed worker is waited for (a forked one: its zygote's report)


class SandboxUnavailable(RuntimeError):
    """The requested isolation (``isolation="bwrap"``) cannot be provided on this machine."""


class _Failure(Exception):
    """A probe that did not get a valid reply: status + message; the worker must be killed."""

    def __init__(self, status: str, message: str):
        super().__init__(message)
        self.status = status
        self.message = message


class _ReplyParser:
    """Incremental parser of one reply message (JSON frame + n_arrays .npy frames)."""

    def __init__(self, limits: Limits, expect_id):
        self.limits = limits
        self.expect_id = expect_id   # None: the init reply (no id, has "ok")
        self.buf = bytearray()
        self.total = 0
        self.header: dict | None = None
        self.arrays: list[np.ndarray] = []
        self.n_arrays = 0

    def feed(self, data: bytes) -> bytes | None:
        """Add bytes; returns the bytes past the end of the message once it is complete, else None."""
        self.buf += data
        while True:
            if len(self.buf) < HEADER.size:
                return None
            (n,) = HEADER.unpack_from(self.buf)
            if self.total + HEADER.size + n > self.limits.result_bytes:
                raise ProtocolError(f"reply larger than the limit of {self.limits.result_bytes} bytes")
            if len(self.buf) < HEADER.size + n:
                return None
            body = bytes(self.buf[HEADER.size:HEADER.size + n])
            del self.buf[:HEADER.size + n]
            self.total += HEADER.size + n
            if self.header is None:
                self._take_header(decode_json(body))
            else:
                self.arrays.append(decode_npy(body, self.limits.max_elements))
            if len(self.arrays) == self.n_arrays:
                rest = bytes(self.buf)
                self.buf = bytearray()
                return rest

    def _take_header(self, header: dict) -> None:
        if self.expect_id is None:
            if "ok" not in header or "id" in header:
                raise ProtocolError("expected the reply to init")
        elif header.get("id") != self.expect_id or type(header.get("id")) is not int:
            raise ProtocolError(f"reply for request {header.get('id')!r} while waiting for {self.expect_id} "
                                "(a stray or late message)")
        n = header.get("n_arrays", 0)
        if type(n) is not int or not 0 <= n <= MAX_ARRAYS_PER_REPLY:
            raise ProtocolError(f"bad n_arrays {n!r}")
        self.header, self.n_arrays = header, n


class _Worker:
    """One running worker process with its pipes and cgroup (killed, never reused, on failure)."""

    def __init__(self, source: str, filename: str, config: SandboxConfig, use_bwrap: bool,
                 use_cgroup: bool, tag: str, preload: tuple[str, ...] = ()):
        self.config = config
        self.preload = tuple(preload)   # modules imported before the worker waits for init (pool.py)
        self.limits = config.limits
        self.proc: subprocess.Popen | None = None
        self.cgroup: cgroups.Cgroup | None = None
        self.tmp_home: str | None = None
        self.notes: list[str] = []
        self.fds: dict[str, int] = {}
        self.leftover = b""
        self.output_total = 0
        self.probe_output = bytearray()
        self.tail = bytearray()
        self.source, self.filename = source, filename
        self.use_bwrap = use_bwrap
        self.tag = tag
        if use_cgroup:
            try:
                self.cgroup = cgroups.Cgroup.create(self.limits.memory_mb, self.limits.pids)
            except OSError as exc:
                self.notes.append(f"cgroup: could not create one for this worker ({exc})")

    # ---- launching

    def _rlimits(self) -> list[tuple[int, tuple[int, int]]]:
        return _rlimits(self.config, self.cgroup is not None)

    def spawn(self) -> None:
        req_r, req_w = message_pipe()
        rep_r, rep_w = message_pipe()
        python = isolation.worker_python()
        worker_args = [str(req_r), str(rep_w), self.tag]
        if self.use_bwrap:
            exe = isolation.bwrap_exe()
            cmd = isolation.bwrap_argv(exe, self.config, WORKER_PATH) + \
                [python, "-I", *_worker_script(f"{isolation.SANDBOX_DIR}/worker.py", self.preload), *worker_args]
            env = {"PATH": "/usr/bin:/bin"}
            cwd = None
        else:
            self.tmp_home = tempfile.mkdtemp(prefix="convgrade-home-")
            cmd = [python, "-I", *_worker_script(WORKER_PATH, self.preload), *worker_args]
            env = isolation.base_env(self.tmp_home)
            cwd = self.tmp_home
        procs_files = self.cgroup.procs_files if self.cgroup else []
        preexec = _make_preexec(procs_files, self._rlimits())
        try:
            self.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                         stderr=subprocess.PIPE, pass_fds=(req_r, rep_w), env=env, cwd=cwd,
                                         start_new_session=True, preexec_fn=preexec)
        finally:
            os.close(req_r)
            os.close(rep_w)
        self.fds = {"req": req_w, "rep": rep_r, "out": self.proc.stdout.fileno(), "err": self.proc.stderr.fileno()}
        for fd in self.fds.values():
            os.set_blocking(fd, False)

    def adopt(self, zygote) -> None:
        """Become a worker forked by ``zygote`` (grader.sandbox.zygote) instead of spawning one:
        the child joins this worker's own cgroup before anything is sent to it. Raises OSError
        (the zygote is then unusable or the child is gone; nothing of it is left running)."""
        child, req_w, rep_r = zygote.fork()
        try:
            if self.cgroup is None:
                raise OSError("a forked worker needs its own cgroup")
            self.cgroup.add(child.pid)
        except BaseException:
            os.close(req_w)     # the child, still waiting for init, exits on end of file
            os.close(rep_r)
            child.stdout.close()
            child.stderr.close()
            raise
        self.proc = child
        self.fds = {"req": req_w, "rep": rep_r, "out": child.stdout.fileno(), "err": child.stderr.fileno()}
        for fd in self.fds.values():
            os.set_blocking(fd, False)

    # ---- I/O

    def _output(self, data: bytes) -> None:
        self.output_total += len(data)
        if len(self.probe_output) < PROBE_STDOUT_CAP:
            self.probe_output += data[:PROBE_STDOUT_CAP - len(self.probe_output)]
        self.tail += data
        if len(self.tail) > self.limits.output_bytes:
            del self.tail[:len(self.tail) - self.limits.output_bytes]
        if self.output_total > self.limits.output_kill_bytes:
            raise _Failure("output_flood", _t("loading.worker.output_flood", n=self.limits.output_kill_bytes))

    def drain_output(self) -> None:
        """Read whatever stdout/stderr holds now, without waiting."""
        for key in ("out", "err"):
            fd = self.fds.get(key)
            while fd is not None:
                try:
                    data = os.read(fd, 1 << 16)
                except BlockingIOError:
                    break
                except OSError:
                    data = b""
                if not data:
                    self._close_fd(key)
                    break
                self._output(data)

    def _close_fd(self, key: str) -> None:
        fd = self.fds.pop(key, None)
        if fd is None:
            return
        if key == "out":
            self.proc.stdout.close()
        elif key == "err":
            self.proc.stderr.close()
        else:
            try:
                os.close(fd)
            except OSError:
                pass

    def exchange(self, request: bytes, expect_id, deadline: float) -> tuple[dict, list[np.ndarray]]:
        """Send ``request`` and wait until ``deadline`` for its reply; raises _Failure/ProtocolError."""
        self.probe_output = bytearray()
        parser = _ReplyParser(self.limits, expect_id)
        pending = memoryview(request)
        poller = select.poll()
        by_fd = {}
        for key in ("req", "rep", "out", "err"):
            if key in self.fds and (key != "req" or pending):
                fd = self.fds[key]
                poller.register(fd, select.POLLOUT if key == "req" else select.POLLIN)
                by_fd[fd] = key
        if self.leftover:   # bytes that followed the previous reply: a stray message
            data, self.leftover = self.leftover, b""
            rest = parser.feed(data)
            if rest is not None:
                return self._finish(parser, rest)
        while True:
            timeout = deadline - time.monotonic()
            if timeout <= 0:
                raise _Failure("timeout", "")
            if "rep" not in self.fds:
                raise _Failure("crashed", self.death_reason())
            for fd, ev in poller.poll(max(1, int(timeout * 1000))):
                key = by_fd.get(fd)
                if key == "req":
                    try:
                        n = os.write(fd, pending[:1 << 20])
                        pending = pending[n:]
                    except BlockingIOError:
                        continue
                    except OSError:   # broken pipe: the worker is gone
                        raise _Failure("crashed", self.death_reason()) from None
                    if not pending:
                        poller.unregister(fd)
                    continue
                if key is None:
                    continue
                try:
                    data = os.read(fd, 1 << 20)
                except BlockingIOError:
                    continue
                except OSError:
                    data = b""
                if not data:
                    poller.unregister(fd)
                    del by_fd[fd]
                    self._close_fd(key)
                    if key == "rep":
                        self.drain_output()
                        raise _Failure("crashed", self.death_reason())
                    continue
                if key == "rep":
                    rest = parser.feed(data)
                    if rest is not None:
                        return self._finish(parser, rest)
                else:
                    self._output(data)

    def _finish(self, parser: _ReplyParser, rest: bytes):
        self.leftover = rest
        self.drain_output()   # the worker flushed its output before replying
        return parser.header, parser.arrays

    def death_reason(self) -> str:
        """Why the worker died, in words (waits briefly for it to exit, then kills what is left)."""
        rc = None
        if self.proc is not None and self.proc.returncode is None:
            exited = _exited_within(self.proc, 2.0)
            self._kill_tree()
            rc = self.proc.wait()
            if not exited:
                return _t("loading.worker.closed_pipe")
        elif self.proc is not None:
            rc = self.proc.returncode
        if self.cgroup is not None and self.cgroup.oom_kills() > 0:
            return _t("loading.worker.memory", mb=self.limits.memory_mb)
        if rc is None:
            return _t("loading.worker.not_started")
        sig = -rc if rc < 0 else (rc - 128 if self.use_bwrap and rc > 128 else None)
        if sig:
            if sig == signal.SIGXCPU:
                return _t("loading.worker.cpu", s=self.limits.cpu_s)
            try:
                name = signal.Signals(sig).name
            except ValueError:
                name = f"signal {sig}"
            hint = {signal.SIGSEGV: "loading.worker.segv", signal.SIGKILL: "loading.worker.sigkill"}.get(sig)
            return _t("loading.worker.signal", name=name) + (_t(hint) if hint else "")
        return _t("loading.worker.exit_code", rc=rc)

    # ---- teardown

    def _kill_tree(self) -> None:
        """SIGKILL the worker's process group (and, without a cgroup, its descendants).

        Only while the worker is not reaped (``returncode is None``): until then its pid, which is
        also its process group id, cannot be reused by an unrelated process.
        """
        proc = self.proc
        if proc is None or proc.returncode is not None:
            return
        if _forked(proc):   # reaped by the zygote: never signalled by pid
            self.cgroup.kill_all()
            return
        victims = [] if self.cgroup is not None else _descendants(proc.pid)
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        for pid in victims:
            try:
                os.kill(pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
        if self.cgroup is not None:
            self.cgroup.kill_all()
        else:
            _wait_gone(victims, 2.0)

    def kill(self) -> None:
        """Kill the whole process tree, remove the cgroup and temporary home, close every fd."""
        proc = self.proc
        self._kill_tree()
        if proc is not None:
            try:
                proc.wait(timeout=KILL_WAIT_S)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        if self.cgroup is not None:
            self.cgroup.remove()
            self.cgroup = None
        for key in list(self.fds):
            self._close_fd(key)
        for stream in (proc.stdout, proc.stderr) if proc is not None else ():
            if stream is not None:
                stream.close()
        if self.tmp_home:
            shutil.rmtree(self.tmp_home, ignore_errors=True)
            self.tmp_home = None


def _forked(proc) -> bool:
    """Whether ``proc`` is a worker forked by a zygote (a ``grader.sandbox.zygote.ForkedChild``)."""
    return getattr(proc, "zygote", None) is not None


PIPE_BYTES = 1 << 20


def message_pipe() -> tuple[int, int]:
    """A pipe for protocol messages, its buffer enlarged to ``PIPE_BYTES`` where Linux allows
    (``F_SETPIPE_SZ``): a typical request or reply then crosses in one write instead of 16
    64-KiB round trips between the two processes."""
    r, w = os.pipe()
    try:
        import fcntl

        fcntl.fcntl(w, getattr(fcntl, "F_SETPIPE_SZ", 1031), PIPE_BYTES)
    except (OSError, ImportError):
        pass
    return r, w


def _rlimits(config: SandboxConfig, has_cgroup: bool) -> list[tuple[int, tuple[int, int]]]:
    """The rlimits of a worker (or a zygote, whose children inherit them) with ``config``."""
    lim = config.limits
    out = [(resource.RLIMIT_CPU, (int(lim.cpu_s), int(lim.cpu_s) + 1)),
           (resource.RLIMIT_FSIZE, (int(lim.fsize_mb) << 20, int(lim.fsize_mb) << 20)),
           (resource.RLIMIT_NOFILE, (int(lim.nofile), int(lim.nofile))),
           (resource.RLIMIT_CORE, (0, 0))]
    as_mb = isolation.address_space_mb(config, has_cgroup)
    if as_mb:
        out.append((resource.RLIMIT_AS, (as_mb << 20, as_mb << 20)))
    if not has_cgroup and os.geteuid() != 0:
        n = int(lim.pids) + _count_user_processes()
        out.append((resource.RLIMIT_NPROC, (n, n)))
    return [(res, _clamp(res, soft, hard)) for res, (soft, hard) in out]


def _worker_script(path: str, preload: tuple[str, ...]) -> list[str]:
    """``[worker.py]``, or with ``preload`` a ``-c`` bootstrap that imports those modules (errors
    ignored: the student's own import reports them) and then runs worker.py as ``__main__``."""
    if not preload:
        return [path]
    names = [n for n in preload if n.replace(".", "").replace("_", "").isalnum()]
    code = ("import runpy\n" + "".join(f"try:\n    import {n}\nexcept BaseException:\n    pass\n" for n in names)
            + f"runpy.run_path({path!r}, run_name='__main__')\n")
    return ["-c", code]


def _clamp(res: int, soft: int, hard: int) -> tuple[int, int]:
    """Never ask for more than the current hard limit (that would fail; the current one is stricter)."""
    _, cur_hard = resource.getrlimit(res)
    if cur_hard != resource.RLIM_INFINITY:
        soft, hard = min(soft, cur_hard), min(hard, cur_hard)
    return soft, hard


def _make_preexec(procs_files: list[bytes], rlimits: list[tuple[int, tuple[int, int]]]):
    """Runs in the child between fork and exec: join the cgroup, then set the rlimits. Minimal."""
    def preexec() -> None:
        pid = b"%d" % os.getpid()
        for path in procs_files:
            fd = os.open(path, os.O_WRONLY)
            try:
                os.write(fd, pid)
            finally:
                os.close(fd)
        for res, lim in rlimits:
            try:
                resource.setrlimit(res, lim)
            except (ValueError, OSError):   # e.g. RLIMIT_AS on macOS; nothing to report from here
                pass
    return preexec


def _exited_within(proc: subprocess.Popen, timeout: float) -> bool:
    """Whether ``proc`` exits within ``timeout``, peeking without reaping it where the OS allows
    (``waitid(WNOWAIT)``: its pid, which is also its process group id, stays reserved)."""
    if _forked(proc) or not hasattr(os, "waitid"):
        try:
            proc.wait(timeout=timeout)
            return True
        except subprocess.TimeoutExpired:
            return False
    end = time.monotonic() + timeout
    while True:
        try:
            if os.waitid(os.P_PID, proc.pid, os.WEXITED | os.WNOWAIT | os.WNOHANG) is not None:
                return True
        except ChildProcessError:
            return True
        if time.monotonic() > end:
            return False
        time.sleep(0.005)


def _pids() -> list[str]:
    try:
        return [e for e in os.listdir("/proc") if e.isdigit()]
    except OSError:   # no /proc (macOS): descendants are then reached through the process group only
        return []


def _proc_table() -> dict[int, int]:
    """pid -> ppid of every process (from /proc)."""
    table = {}
    for entry in _pids():
        try:
            with open(f"/proc/{entry}/stat", "rb") as fh:
                stat = fh.read()
            table[int(entry)] = int(stat[stat.rindex(b")") + 2:].split()[1])
        except (OSError, ValueError, IndexError):
            pass
    return table


def _descendants(pid: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for p, pp in _proc_table().items():
        children.setdefault(pp, []).append(p)
    out, frontier = [], [pid]
    while frontier:
        kids = children.get(frontier.pop(), [])
        out += kids
        frontier += kids
    return out


def _wait_gone(pids: list[int], timeout: float) -> None:
    """Wait until every pid has exited (gone, or a zombie waiting for its parent)."""
    end = time.monotonic() + timeout
    pending = list(pids)
    while pending and time.monotonic() < end:
        still = []
        for pid in pending:
            try:
                with open(f"/proc/{pid}/stat", "rb") as fh:
                    stat = fh.read()
                if stat[stat.rindex(b")") + 2:stat.rindex(b")") + 3] != b"Z":
                    still.append(pid)
            except (OSError, ValueError):
                pass
        pending = still
        if pending:
            time.sleep(0.005)


def _count_user_processes() -> int:
    uid, n = os.getuid(), 0
    for entry in _pids():
        try:
            if os.stat(f"/proc/{entry}").st_uid == uid:
                n += 1
        except OSError:
            pass
    return n


def detect_isolation(config: SandboxConfig) -> IsolationReport:
    """The isolation a session with ``config`` would get here (cached probes; cheap)."""
    return isolation.detect_isolation(config)


class WorkerSession:
    """A sandboxed worker running one submission; a context manager.

    ``start()`` launches the worker and imports the module; ``probe()`` runs steps and returns
    decoded values; ``close()`` kills everything (idempotent, called by ``__exit__``).
    """

    def __init__(self, source: str, config: SandboxConfig | None = None, filename: str = "submission.py",
                 max_restarts: int = 3):
        if not isinstance(source, str):
            raise ValueError("source: must be a str")
        if not filename or "/" in filename or filename.startswith("<"):
            raise ValueError(f"filename: must be a plain file name, got {filename!r}")
        self.source = source
        self.config = config or SandboxConfig()
        self.filename = filename
        self.max_restarts = max_restarts
        self.restarts = 0
        report = isolation.detect_isolation(self.config)
        self._use_bwrap = report.level.startswith("bwrap")
        self._use_cgroup = report.level.endswith("+cgroup")
        if self.config.isolation == "bwrap" and not self._use_bwrap:
            raise SandboxUnavailable(f"isolation='bwrap' requested but {isolation.bwrap_status()[1]}")
        self._report = report
        self._worker: _Worker | None = None
        self._started: ProbeResult | None = None
        self._next_id = 1
        self._n_workers = 0
        self._t0: float | None = None
        self._tail = bytearray()
        self._closed = False
        self._dead_reason: str | None = None   # set when no further worker may be started
        self._finalizer: weakref.finalize | None = None
        self._warm_worker: _Worker | None = None   # a pre-started worker (grader.sandbox.pool) for the first launch

    # ---- public API

    @property
    def isolation(self) -> IsolationReport:
        return self._report

    @property
    def stdout_tail(self) -> str:
        data = bytes(self._tail) + (bytes(self._worker.tail) if self._worker else b"")
        return data[-self.config.limits.output_bytes:].decode("utf-8", "replace")

    def start(self) -> ProbeResult:
        """Launch the worker and import the submission: ``ok``, or the import error / failure."""
        if self._started is not None:
            return self._started
        if self._closed:
            return ProbeResult("not_started", error={"type": "Closed", "message": _t("loading.worker.closed")})
        self._t0 = time.monotonic()
        t = time.monotonic()
        result = self._launch()
        result.seconds = time.monotonic() - t
        self._t0 = time.monotonic()   # the import has its own deadline: the wall clock starts now
        self._started = result
        if result.status != "ok":
            self._dead_reason = _t("loading.worker.dead.not_loaded")
        return result

    def probe(self, steps: list[dict], returns: dict[str, str], arrays=(), timeout: float | None = None) -> ProbeResult:
        """Run ``steps`` in the worker and return the values named in ``returns``."""
        t = time.monotonic()
        result = self._probe(steps, returns, list(arrays), timeout)
        result.seconds = time.monotonic() - t
        return result

    def close(self) -> None:
        if self._worker is not None:
            self._retire()
        if self._warm_worker is not None:   # handed over by a pool but never started
            self._warm_worker.kill()
            self._warm_worker = None
        self._closed = True

    def __enter__(self) -> "WorkerSession":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # ---- internals

    def _deadline(self, timeout: float) -> tuple[float, bool]:
        """(deadline, is_wall): the probe deadline capped by the session's wall clock."""
        end = self._t0 + self.config.limits.wall_s
        mine = time.monotonic() + timeout
        return (mine, False) if mine <= end else (end, True)

    def _retire(self) -> None:
        w, self._worker = self._worker, None
        self._finalizer.detach()
        w.kill()
        self._tail += w.tail
        del self._tail[:-self.config.limits.output_bytes]

    def _launch(self) -> ProbeResult:
        """Start a worker and run init; on failure the worker is retired and the reason returned."""
        self._n_workers += 1
        tag = f"convgrade-{os.getpid()}-{id(self):x}-{self._n_workers}"
        w, self._warm_worker = self._warm_worker, None
        if w is None:
            w = _Worker(self.source, self.filename, self.config, self._use_bwrap, self._use_cgroup, tag)
        self._worker = w
        self._finalizer = weakref.finalize(self, w.kill)   # a session dropped without close()
        if w.notes:
            self._report = IsolationReport(self._report.level.replace("+cgroup", ""), self._report.details + w.notes)
        if _forked(w.proc) and self._n_workers == 1:   # the results say so
            self._report = IsolationReport(self._report.level, self._report.details + [_t("loading.isolation.forked")])
        try:
            if w.proc is None:
                w.spawn()
        except (OSError, subprocess.SubprocessError) as exc:
            self._retire()
            return ProbeResult("not_started", error={"type": "LaunchError",
                                                     "message": _t("loading.worker.launch_error", error=exc)})
        lim = self.config.limits
        init = {"op": "init", "source": self.source, "filename": self.filename, "module": "submission",
                "forbidden": self.config.forbidden, "max_elements": int(lim.max_elements),
                "max_bytes": int(lim.result_bytes) // 2}
        # The import deadline, not a check's: the first import before the session's wall clock
        # starts, an import after a restart within what is left of it.
        timeout = lim.import_timeout_s
        deadline, is_wall = (time.monotonic() + timeout, False) if self._started is None \
            else self._deadline(timeout)
        try:
            header, _ = w.exchange(encode_message(init), None, deadline)
        except (_Failure, ProtocolError) as exc:
            result = self._failure(exc, w, is_wall, timeout, what=_t("loading.worker.importing"), deadline="import")
            self._retire()
            return result
        stdout = _text(header.get("stdout"))
        if header.get("ok") is True:
            return ProbeResult("ok", stdout=stdout)
        self._retire()
        return ProbeResult("error", error=_clean_error(header.get("error")), stdout=stdout)

    def _failure(self, exc: Exception, w: _Worker, is_wall: bool, timeout: float, what: str,
                 deadline: str = "probe") -> ProbeResult:
        stdout = bytes(w.probe_output).decode("utf-8", "replace")
        if isinstance(exc, ProtocolError):
            return ProbeResult("protocol_error", error={"type": "ProtocolError", "message": str(exc)}, stdout=stdout)
        status, message = exc.status, exc.message
        if status == "timeout":
            if is_wall:
                message = _t("loading.worker.wall", s=f"{self.config.limits.wall_s:g}", what=what)
                self._dead_reason = _t("loading.worker.dead.wall")
            else:
                message = _t("loading.worker.timeout", s=f"{timeout:g}", what=what)
            limit = self.config.limits.wall_s if is_wall else timeout
            return ProbeResult(status, error={"type": status, "message": message, "limit_s": float(limit),
                                              "deadline": "wall" if is_wall else deadline}, stdout=stdout)
        return ProbeResult(status, error={"type": status, "message": message}, stdout=stdout)

    def _probe(self, steps, returns, arrays, timeout) -> ProbeResult:
        if self._closed:
            return ProbeResult("not_started", error={"type": "Closed", "message": _t("loading.worker.closed")})
        if self._started is None:
            self.start()
        if self._dead_reason is not None:
            return ProbeResult("not_started", error={"type": "NotStarted", "message": self._dead_reason})
        if self._worker is None:   # the previous worker failed: restart (re-running init)
            if self.restarts >= self.max_restarts:
                self._dead_reason = _t("loading.worker.dead.restarts", n=self.restarts + 1)
                return ProbeResult("not_started", error={"type": "NotStarted", "message": self._dead_reason})
            self.restarts += 1
            started = self._launch()
            if started.status != "ok":
                if self._dead_reason is None and started.status == "error":
                    self._dead_reason = _t("loading.worker.dead.restart_import")
                msg = (started.error or {}).get("message", "")
                return ProbeResult("not_started", error={"type": "NotStarted",
                                   "message": _t("loading.worker.restart_failed", status=started.status, message=msg)},
                                   stdout=started.stdout)
        timeout = self.config.limits.probe_timeout_s if timeout is None else float(timeout)
        if not timeout > 0:
            raise ValueError(f"timeout: must be positive, got {timeout!r}")
        probe_id = self._next_id
        self._next_id += 1
        request = encode_message({"op": "probe", "id": probe_id, "steps": steps, "return": dict(returns)}, arrays)
        w = self._worker
        deadline, is_wall = self._deadline(timeout)
        try:
            header, frames = w.exchange(request, probe_id, deadline)
            return reply_result(header, frames, returns)
        except (_Failure, ProtocolError) as exc:
            result = self._failure(exc, w, is_wall, timeout, what=_t("loading.worker.running_check"))
            self._retire()
            return result
        except RecursionError:
            self._retire()
            return ProbeResult("protocol_error", error={"type": "ProtocolError", "message": "reply nests too deeply"})


def reply_result(header: dict, frames: list[np.ndarray], returns: dict[str, str]) -> ProbeResult:
    """A parsed probe reply (JSON header + validated array frames) as a ProbeResult: the values
    named in ``returns`` decoded, the error reduced to known keys. Raises ProtocolError (or
    RecursionError) on a malformed reply. ``grader.kit``'s in-process session uses it too."""
    values = header.get("values", {})
    if not isinstance(values, dict):
        raise ProtocolError("values is not an object")
    values = {str(k): v for k, v in decode_value(values, frames).items() if str(k) in returns}
    error = header.get("error")
    stdout = _text(header.get("stdout"))
    if error is None:
        return ProbeResult("ok", values=values, stdout=stdout)
    return ProbeResult("error", values=values, error=_clean_error(error), stdout=stdout)


def _text(value, cap: int = PROBE_STDOUT_CAP) -> str:
    return value[:cap] if isinstance(value, str) else ""


def _clean_error(err) -> dict:
    """The worker's error dict, reduced to known keys of known types (it is untrusted)."""
    if not isinstance(err, dict):
        return {"type": "Exception", "message": "", "where": "", "line": None, "step": None, "frames": []}
    line = err.get("line")
    step = err.get("step")
    frames = err.get("frames")
    frames = [[f[0], _text(f[1], 200)] for f in (frames if isinstance(frames, list) else [])[-20:]
              if isinstance(f, list) and len(f) == 2 and type(f[0]) is int and f[0] > 0]
    return {"type": _text(err.get("type"), 200) or "Exception", "message": _text(err.get("message"), 2000),
            "where": _text(err.get("where"), 200),
            "line": line if type(line) is int and line > 0 else None,
            "step": step if type(step) is int and step >= 0 else None, "frames": frames}
