"""WarmPool: sandbox workers started ahead of time, each used for exactly one submission.

A cold :class:`~grader.sandbox.WorkerSession` pays for the worker's start (bubblewrap, a
cgroup, the interpreter, ``import numpy``, for torch assignments ``import torch``) while the
student waits. A pool starts that work early: its workers are launched exactly as a cold
session launches them — the same bubblewrap namespaces, a fresh cgroup each, the same rlimits,
the same cleared environment — and then block reading their first request. No student code and
no student bytes reach a worker before it is handed to a session: the source travels only in
the ``init`` request the session sends. A worker serves one session and dies with it
(``WorkerSession.close`` kills it and removes its cgroup); a crash restart inside that session
starts a cold worker, never another submission's. So isolation is unchanged; only the start-up
moves off the critical path.

    from grader.sandbox.pool import WarmPool

    with WarmPool(config, size=2) as pool:          # keyed by the config: one pool per config
        for source in sources:
            with pool.session(source, "submission.py") as session:   # started, like start()
                session.probe(...)

``grade_submission(..., session_factory=pool.session)`` grades with it. A worker idle longer
than ``max_idle_s`` is recycled (killed, replaced) instead of being handed out; a worker that
died while idle is never handed out. ``shared_pool(config)`` is the per-process pool the batch's
local workers use (``CONVGRADE_WARM_POOL=<size>`` in their environment, set by ``LocalPool``).
"""
from __future__ import annotations

import dataclasses
import os
import threading
import time
import weakref

from . import isolation
from . import zygote as zygotes
from .config import SandboxConfig
from .launcher import SandboxUnavailable, WorkerSession, _Worker

ENV_VAR = "CONVGRADE_WARM_POOL"


def config_key(config: SandboxConfig) -> str:
    """A stable key of everything in ``config`` that shapes a worker (the pool's identity)."""
    return repr(sorted(dataclasses.asdict(config).items()))


def default_preload(config: SandboxConfig) -> tuple[str, ...]:
    """The allowed heavy libraries a warm worker imports before its submission: torch when the
    assignment allows it and forbids none of its submodules, with the torch modules its checks'
    probes would import lazily (``config.torch_preload``); numpy is always imported."""
    if not config.allow_torch:
        return ()
    if any(n == "torch" or n.startswith("torch.") for n in config.forbidden):
        return ()
    return ("torch", *config.torch_preload)


class WarmPool:
    """``size`` pre-started sandbox workers for sessions with ``config``.

    Args:
        config: the sandbox configuration of every worker (limits, forbidden imports, isolation).
        size: workers kept started and waiting (≥ 0; 0 makes every session cold).
        max_idle_s: a waiting worker older than this is killed and replaced, never handed out.
        preload: modules a worker imports while it waits (default: :func:`default_preload`).
        replenish: start a replacement whenever a worker is handed out (False: a one-shot pool).
        total: the most workers this pool ever starts (None: no bound) — a caller that knows how
            many sessions it will ask for (``validate``: its sandboxed mutants) wastes no start.
        zygote: fork each session's worker from one of ``size`` zygotes (grader.sandbox.zygote)
            instead of keeping pre-started workers: None (default) where the zygote can be used
            here (bubblewrap and cgroups, no GPU, ``$CONVGRADE_ZYGOTE`` not 0) and the pool
            replenishes; False never. ``total`` and ``max_idle_s`` then do not apply.

    Thread-safe. ``close()`` (or the end of the ``with`` block, or interpreter exit) kills the
    waiting workers; sessions already handed out are the caller's to close.
    """

    def __init__(self, config: SandboxConfig | None = None, size: int = 1, *, max_idle_s: float = 120.0,
                 preload: tuple[str, ...] | None = None, replenish: bool = True, total: int | None = None,
                 zygote: bool | None = None):
        if isinstance(size, bool) or not isinstance(size, int) or size < 0:
            raise ValueError(f"size: must be an int >= 0, got {size!r}")
        if not max_idle_s > 0:
            raise ValueError(f"max_idle_s: must be positive, got {max_idle_s!r}")
        self.config = config or SandboxConfig()
        self.key = config_key(self.config)
        self.size = size
        self.max_idle_s = float(max_idle_s)
        self.preload = default_preload(self.config) if preload is None else tuple(preload)
        self.replenish = replenish
        self.total = None if total is None else max(0, int(total))
        report = isolation.detect_isolation(self.config)
        self._use_bwrap = report.level.startswith("bwrap")
        self._use_cgroup = report.level.endswith("+cgroup")
        if self.config.isolation == "bwrap" and not self._use_bwrap:
            raise SandboxUnavailable(f"isolation='bwrap' requested but {isolation.bwrap_status()[1]}")
        self._lock = threading.Lock()
        self._idle: list[tuple[float, _Worker]] = []     # (started at, worker), oldest first
        self._zygotes: list = []                         # grader.sandbox.zygote.Zygote, in zygote mode
        self._taken: set[int] = set()                    # ids of zygotes a thread is forking from now
        self.zygote = (replenish if zygote is None else bool(zygote)) and \
            zygotes.enabled(self.config, self._use_bwrap, self._use_cgroup)
        self._n = 0
        self._closed = False
        self.stats = {"warm": 0, "cold": 0, "recycled": 0, "dead": 0}
        self._finalizer = weakref.finalize(self, _kill_all, self._idle, self._zygotes)
        self.fill()

    # ---- public API

    def session(self, source: str, filename: str = "submission.py", *, config: SandboxConfig | None = None,
                start: bool = True, max_restarts: int = 3) -> WorkerSession:
        """A session for ``source`` on a pre-started worker (a cold one when none is ready).

        ``config``, when given, must be the pool's (compared by :func:`config_key`); a session
        with another config is started cold, so a pool never serves a sandbox it was not built
        for. With ``start`` (default) the session is returned started (``session.start()`` then
        returns the cached import result)."""
        if config is not None and config_key(config) != self.key:
            session = WorkerSession(source, config, filename=filename, max_restarts=max_restarts)
            self._count("cold")
        else:
            session = WorkerSession(source, self.config, filename=filename, max_restarts=max_restarts)
            worker = self._take()
            if worker is not None:
                session._warm_worker = worker
            self._count("warm" if worker is not None else "cold")
        if start:
            session.start()
        if self.replenish:
            self.fill()
        return session

    def fill(self) -> None:
        """Start workers until ``size`` are waiting (recycling those idle too long); in zygote
        mode, zygotes until ``size`` are alive."""
        if self.zygote:
            return self._fill_zygotes()
        self._recycle()
        while True:
            with self._lock:
                if self._closed or len(self._idle) >= self.size or \
                        (self.total is not None and self._n >= self.total):
                    return
                self._n += 1
                n = self._n
            worker = _Worker("", "submission.py", self.config, self._use_bwrap, self._use_cgroup,
                             f"convgrade-pool-{os.getpid()}-{id(self):x}-{n}", preload=self.preload)
            try:
                worker.spawn()
            except Exception:
                worker.kill()
                return   # the session's own launch will report why
            with self._lock:
                if self._closed:
                    worker.kill()
                    return
                self._idle.append((time.monotonic(), worker))

    def idle(self) -> int:
        """How many workers are waiting now (zygote mode: zygotes without a child)."""
        with self._lock:
            return len(self._free_zygotes()) if self.zygote else len(self._idle)

    def close(self) -> None:
        with self._lock:
            self._closed = True
        self._finalizer()

    @property
    def closed(self) -> bool:
        return self._closed

    def busy(self) -> bool:
        """Whether a session's worker forked from one of this pool's zygotes may still run (closing
        the pool kills its zygotes, and a zygote's namespace takes its child with it). Workers
        handed out in the other mode are their sessions' own: closing never touches them."""
        with self._lock:
            return bool(self._taken) or any(z.child is not None and z.child.returncode is None
                                            for z in self._zygotes)

    def __enter__(self) -> "WarmPool":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # ---- internals

    def _count(self, what: str) -> None:
        with self._lock:
            self.stats[what] += 1

    def _free_zygotes(self) -> list:
        """Zygotes alive with no child and no thread forking from them (call under the lock)."""
        return [z for z in self._zygotes if z.alive and z.child is None and id(z) not in self._taken]

    def _fill_zygotes(self) -> None:
        with self._lock:
            self._zygotes[:] = [z for z in self._zygotes if z.alive or id(z) in self._taken]
            missing = 0 if self._closed else self.size - len(self._zygotes)
        for _ in range(missing):
            with self._lock:
                self._n += 1
                n = self._n
            try:
                z = zygotes.Zygote(self.config, f"convgrade-zygote-{os.getpid()}-{id(self):x}-{n}", self.preload)
            except Exception:
                return   # the sessions start cold and report why
            with self._lock:
                if self._closed:
                    z.kill()
                    return
                self._zygotes.append(z)

    def _fork(self) -> _Worker | None:
        """A worker forked from a free zygote (None when none is free: the session starts cold)."""
        with self._lock:
            free = self._free_zygotes()
            if not free:
                return None
            z = free[0]
            self._taken.add(id(z))
        try:
            starting = z.state == "starting"   # its imports may take a while: waiting beats a cold start
            if not z.ready(zygotes.START_TIMEOUT_S if starting else zygotes.READY_TIMEOUT_S):
                if not starting or not z.alive:
                    self._count("dead")
                    z.kill()
                return None
            worker = _Worker("", "submission.py", self.config, self._use_bwrap, self._use_cgroup,
                             f"convgrade-fork-{os.getpid()}-{id(self):x}", preload=self.preload)
            try:
                worker.adopt(z)
            except Exception:
                worker.kill()
                self._count("dead")
                z.kill()
                return None
            return worker
        finally:
            with self._lock:
                self._taken.discard(id(z))

    def _take(self) -> _Worker | None:
        if self.zygote:
            worker = self._fork()
            if worker is None:
                self._fill_zygotes()
            return worker
        self._recycle()
        while True:
            with self._lock:
                if not self._idle:
                    return None
                _, worker = self._idle.pop(0)
            if worker.proc is not None and worker.proc.poll() is None:
                return worker
            self._count("dead")   # died while waiting: never handed out
            worker.kill()

    def _recycle(self) -> None:
        now = time.monotonic()
        with self._lock:
            stale = [w for t, w in self._idle if now - t > self.max_idle_s]
            self._idle[:] = [(t, w) for t, w in self._idle if now - t <= self.max_idle_s]
        for w in stale:
            self._count("recycled")
            w.kill()


def _kill_all(idle: list, zygote_list: list) -> None:
    while idle:
        _, worker = idle.pop()
        worker.kill()
    while zygote_list:
        zygote_list.pop().kill()


_SHARED: dict[str, WarmPool] = {}     # least recently used first
_SHARED_LOCK = threading.Lock()
SHARED_MAX = 8     # pools shared_pool keeps; beyond it the least recently used idle ones are closed


def shared_pool(config: SandboxConfig, size: int = 1) -> WarmPool:
    """This process's pool for ``config`` (created on first use, at least ``size`` workers or
    zygotes from then on, closed at exit). A process that grades many assignments keeps at most
    ``SHARED_MAX`` of them: the least recently used pools beyond that are closed, unless a session
    forked from one is still running."""
    key = config_key(config)
    with _SHARED_LOCK:
        pool = _SHARED.pop(key, None)
        if pool is None or pool.closed:
            pool = WarmPool(config, size)
        elif size > pool.size:       # a caller that grades more at once than the pool's first one
            pool.size = size
            pool.fill()
        _SHARED[key] = pool
        extra = len(_SHARED) - SHARED_MAX
        for old in [k for k, p in _SHARED.items() if k != key and not p.busy()][:max(0, extra)]:
            _SHARED.pop(old).close()
        return pool


_EARLY: list[WarmPool] = []


def start_early(config: SandboxConfig) -> WarmPool:
    """A one-shot pool (one worker, not replaced) for a grade that is about to begin, started
    before the grader has imported what grading needs (numpy, the check kinds: a fifth of a
    second in which the worker starts too). :func:`take_early` hands it over."""
    pool = WarmPool(config, size=1, replenish=False)
    _EARLY.append(pool)
    return pool


def take_early(config: SandboxConfig) -> WarmPool | None:
    """The early pool started for exactly ``config`` (None when there is none); any other early
    pool is closed (it was started for a configuration grading did not ask for)."""
    key, found = config_key(config), None
    while _EARLY:
        pool = _EARLY.pop()
        if found is None and config_key(pool.config) == key:
            found = pool
        else:
            pool.close()
    return found


def env_pool_size() -> int:
    """``$CONVGRADE_WARM_POOL`` as a pool size (0 when unset or invalid: no shared pool)."""
    try:
        return max(0, int(os.environ.get(ENV_VAR, "0")))
    except ValueError:
        return 0
