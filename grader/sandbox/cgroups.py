"""A fresh cgroup per sandbox worker: memory and pids limits, OOM detection, kill-all, removal.

cgroup v1 (separate ``memory`` and ``pids`` hierarchies, as on this machine) and cgroup v2 (a
unified hierarchy with ``cgroup.controllers``) are supported. A child cgroup is created under
the grader's own cgroup when that directory is writable (so limits above us still apply), else
under the hierarchy's root. The worker joins it from a tiny ``preexec_fn`` before ``exec``
(see launcher), so nothing it forks can start outside the cgroup.
"""
from __future__ import annotations

import functools
import itertools
import os
import signal
import time
from pathlib import Path

ROOT = Path("/sys/fs/cgroup")
_counter = itertools.count()


def _own_path(controller: str) -> str:
    """This process's cgroup path in a v1 ``controller`` hierarchy ('' for v2: the ``0::`` line)."""
    try:
        lines = Path("/proc/self/cgroup").read_text().splitlines()
    except OSError:
        return "/"
    for line in lines:
        _, ctrls, path = line.split(":", 2)
        if (controller == "" and ctrls == "") or controller in ctrls.split(","):
            return path or "/"
    return "/"


def _base_dir(mount: Path, controller: str) -> Path:
    own = mount / _own_path(controller).lstrip("/")
    return own if own.is_dir() and os.access(own, os.W_OK) else mount


def _write(path: Path, value: str) -> None:
    with open(path, "w") as fh:
        fh.write(value)


def version() -> int:
    """2 for a unified hierarchy, 1 for v1 memory+pids hierarchies, 0 when neither is mounted."""
    if (ROOT / "cgroup.controllers").exists():
        return 2
    if (ROOT / "memory" / "cgroup.procs").exists() and (ROOT / "pids" / "cgroup.procs").exists():
        return 1
    return 0


class Cgroup:
    """One worker's cgroup (one directory per hierarchy: v1 memory + pids, or one v2 directory)."""

    def __init__(self, dirs: list[Path], version: int, memory_bytes: int):
        self.dirs = dirs
        self.version = version
        self.memory_bytes = memory_bytes

    @classmethod
    def create(cls, memory_mb: int, pids: int) -> "Cgroup":
        """Create and configure a fresh cgroup; raises OSError when cgroups are not usable."""
        ver = version()
        name = f"convgrade-{os.getpid()}-{next(_counter)}"
        memory_bytes = int(memory_mb) << 20
        if ver == 1:
            mem = _base_dir(ROOT / "memory", "memory") / name
            pid = _base_dir(ROOT / "pids", "pids") / name
            made: list[Path] = []
            try:
                for d in (mem, pid):
                    d.mkdir()
                    made.append(d)
                _write(mem / "memory.limit_in_bytes", str(memory_bytes))
                if (mem / "memory.memsw.limit_in_bytes").exists():   # no escape into swap
                    _write(mem / "memory.memsw.limit_in_bytes", str(memory_bytes))
                _write(pid / "pids.max", str(int(pids)))
            except OSError:
                for d in reversed(made):
                    _rmdir(d)
                raise
            return cls([mem, pid], 1, memory_bytes)
        if ver == 2:
            base = _base_dir(ROOT, "")
            have = set((base / "cgroup.subtree_control").read_text().split())
            missing = {"memory", "pids"} - have
            if missing:   # fails when the base has processes of its own ("no internal processes")
                _write(base / "cgroup.subtree_control", " ".join("+" + c for c in sorted(missing)))
            d = base / name
            d.mkdir()
            try:
                _write(d / "memory.max", str(memory_bytes))
                if (d / "memory.swap.max").exists():
                    _write(d / "memory.swap.max", "0")
                _write(d / "pids.max", str(int(pids)))
            except OSError:
                _rmdir(d)
                raise
            return cls([d], 2, memory_bytes)
        raise OSError("no cgroup v1 memory+pids or v2 hierarchy mounted at /sys/fs/cgroup")

    @property
    def procs_files(self) -> list[bytes]:
        """Paths of the ``cgroup.procs`` files a new process writes its pid into (for preexec)."""
        return [os.fsencode(d / "cgroup.procs") for d in self.dirs]

    def add(self, pid: int) -> None:
        """Move the running process ``pid`` into this cgroup (every hierarchy). A new process
        joins from its ``preexec_fn`` instead (launcher._make_preexec), before it execs."""
        for path in self.procs_files:
            fd = os.open(path, os.O_WRONLY)
            try:
                os.write(fd, b"%d" % pid)
            finally:
                os.close(fd)

    def pids(self) -> set[int]:
        out: set[int] = set()
        for d in self.dirs:
            try:
                out.update(int(x) for x in (d / "cgroup.procs").read_text().split())
            except (OSError, ValueError):
                pass
        return out

    def oom_kills(self) -> int:
        """How many processes the kernel's OOM killer killed in this cgroup."""
        name = "memory.oom_control" if self.version == 1 else "memory.events"
        try:
            text = (self.dirs[0] / name).read_text()
        except OSError:
            return 0
        for line in text.splitlines():
            key, _, value = line.partition(" ")
            if key == "oom_kill" and value.strip().isdigit():
                return int(value)
        return 0

    def kill_all(self, timeout: float = 5.0) -> bool:
        """SIGKILL every process in the cgroup until it is empty; True when it is."""
        if self.version == 2 and (self.dirs[0] / "cgroup.kill").exists():
            try:
                _write(self.dirs[0] / "cgroup.kill", "1")
            except OSError:
                pass
        end = time.monotonic() + timeout
        while True:
            pids = self.pids()
            if not pids:
                return True
            for p in pids:
                try:
                    os.kill(p, signal.SIGKILL)
                except (ProcessLookupError, PermissionError):
                    pass
            if time.monotonic() > end:
                return False
            time.sleep(0.005)

    def remove(self, timeout: float = 5.0) -> bool:
        """Kill what is left and remove the directories; True when all are gone."""
        self.kill_all(timeout)
        end = time.monotonic() + timeout
        ok = True
        for d in self.dirs:
            while not _rmdir(d):
                if time.monotonic() > end:
                    ok = False
                    break
                time.sleep(0.005)
        return ok


def _rmdir(d: Path) -> bool:
    try:
        d.rmdir()
        return True
    except FileNotFoundError:
        return True
    except OSError:
        return False


@functools.lru_cache(maxsize=1)
def probe() -> tuple[bool, int, str]:
    """(usable, cgroup version (0: none mounted), where the per-worker cgroups go or why not) —
    tried once per process by creating and removing a cgroup."""
    ver = version()
    if ver == 0:
        return False, 0, ""
    try:
        cg = Cgroup.create(64, 8)
    except OSError as exc:
        why = "not writable (not root)" if os.geteuid() != 0 else f"not usable ({exc.strerror or exc})"
        return False, ver, why
    where = os.path.dirname(cg.dirs[0])
    cg.remove()
    return True, ver, where


def status() -> tuple[bool, str]:
    """(usable, description in English, for logs and TAs' errors)."""
    ok, ver, detail = probe()
    if ver == 0:
        return False, "cgroups: no v1 memory+pids or v2 hierarchy mounted"
    if not ok:
        return False, f"cgroup v{ver} memory+pids: {detail}"
    return True, f"cgroup v{ver} memory+pids: per-worker cgroup under {detail}"


def status_text() -> tuple[bool, str]:
    """(usable, description in the current language: the line of a results' isolation details)."""
    from grader.i18n import t

    ok, ver, detail = probe()
    if ver == 0:
        return False, t("loading.isolation.cgroup_none")
    if not ok:
        return False, t("loading.isolation.cgroup_unusable", ver=ver, why=detail)
    return True, t("loading.isolation.cgroup", ver=ver, where=detail)
