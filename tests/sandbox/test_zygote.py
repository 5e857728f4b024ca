"""Zygote-forked workers: each submission a fresh process, and nothing crosses to the next one.

A pool in zygote mode forks every session's worker from one sandboxed process that has imported
numpy. These tests hold it to what a cold worker guarantees: a submission that leaves markers in
its process, its files (/tmp, the home, /dev/shm), running processes or System V IPC is never
seen by the next; each child has its own cgroup (memory limit, OOM reported); a child that
hangs, crashes or kills the zygote costs only its own session.
"""
import os
import subprocess
import sys
import textwrap
import time

import pytest

from grader.sandbox.pool import WarmPool
from grader.sandbox.zygote import ForkedChild, enabled

from .util import BWRAP_OK, cgroups_available, make_config, procs_with

CONFIG = make_config("bwrap") if BWRAP_OK else None
pytestmark = pytest.mark.skipif(not (BWRAP_OK and cgroups_available(CONFIG) and enabled(CONFIG, True, True)),
                                reason="the zygote needs bubblewrap and writable cgroups")

LEAVE = textwrap.dedent("""
    import ctypes, os, sys, time
    import numpy as np

    SECRET = "alice-was-here"
    np.MARKER = SECRET
    sys.modules["marker_module"] = sys
    os.environ["MARKER"] = SECRET
    for folder in ("/tmp", os.path.expanduser("~"), "/dev/shm"):
        with open(os.path.join(folder, "marker"), "w") as fh:
            fh.write(SECRET)
        os.makedirs(os.path.join(folder, "locked", "deep"), exist_ok=True)
        os.chmod(os.path.join(folder, "locked"), 0)
    libc = ctypes.CDLL(None, use_errno=True)
    SHM = libc.shmget(4242, 4096, 0o1600)          # IPC_CREAT | 0600
    if os.fork() == 0:                              # a daemon that outlives the submission
        os.setsid()
        if os.fork() == 0:
            time.sleep(1.0)
            with open("/tmp/late", "w") as fh:
                fh.write(SECRET)
            time.sleep(60)
        os._exit(0)

    def pid():
        return os.getpid()
""")

LOOK = textwrap.dedent("""
    import ctypes, os, sys, time
    import numpy as np

    def look(wait=1.5):
        time.sleep(wait)                            # the daemon, had it survived, has written by now
        found = []
        for folder in ("/tmp", os.path.expanduser("~"), "/dev/shm"):
            found += [os.path.join(folder, n) for n in os.listdir(folder)]
        libc = ctypes.CDLL(None, use_errno=True)
        others = sorted(int(p) for p in os.listdir("/proc") if p.isdigit() and int(p) not in (1, os.getppid(), os.getpid()))
        return {"files": found, "np": hasattr(np, "MARKER"), "module": "marker_module" in sys.modules,
                "env": "MARKER" in os.environ, "shm": libc.shmget(4242, 0, 0) >= 0, "others": others,
                "pid": os.getpid()}
""")


def _fresh_files() -> list:
    """What /tmp, the home and /dev/shm hold in a cold sandbox: nothing, or the folders leading to
    a bind mount (a virtual environment that lives under /tmp, as in CI)."""
    from grader.sandbox import WorkerSession

    with WorkerSession(LOOK, CONFIG) as s:
        r = s.probe([{"let": "v", "call": "look", "args": [0.0]}], {"v": "v"})
        assert r.ok, r.error
        return r.values["v"]["files"]


def test_nothing_a_submission_leaves_reaches_the_next_one():
    fresh = _fresh_files()
    with WarmPool(CONFIG, size=1) as pool:
        assert pool.zygote
        with pool.session(LEAVE, "alice.py") as s:
            assert s.start().ok, s.start().error
            assert isinstance(s._worker.proc, ForkedChild)
            first = s.probe([{"let": "p", "call": "pid"}], {"p": "p"}).values["p"]
        with pool.session(LOOK, "bob.py") as s:
            assert isinstance(s._worker.proc, ForkedChild)
            r = s.probe([{"let": "v", "call": "look"}], {"v": "v"})
            assert r.ok, r.error
        v = r.values["v"]
        assert v == {"files": fresh, "np": False, "module": False, "env": False, "shm": False, "others": [],
                     "pid": v["pid"]}
        assert v["pid"] != first                     # a new process, forked from the zygote
        assert pool.stats["warm"] == 2 and pool.stats["cold"] == 0


def test_forked_grade_equals_a_cold_grade():
    from grader.assignment import load
    from grader.grade import grade_submission, sandbox_config

    a = load("a2_convolution")
    nb = a.path / "master.ipynb"
    cold = grade_submission(a, nb, student="s1", secret=b"k")
    with WarmPool(sandbox_config(a, "auto"), size=1) as pool:
        assert pool.zygote
        warm = [grade_submission(a, nb, student="s1", secret=b"k", session_factory=pool.session) for _ in range(2)]
        assert pool.stats["warm"] == 2
    strip = lambda r: [(t["name"], t["score"], t["output"]) for t in r["tests"]]   # noqa: E731
    assert strip(warm[0]) == strip(warm[1]) == strip(cold) and cold["score"] == a.max_score


def test_each_child_has_its_own_cgroup_memory_limit():
    config = make_config("bwrap", memory_mb=200)
    with WarmPool(config, size=1) as pool:
        with pool.session("import numpy as np\ndef grab():\n    return float(np.ones(400 * 2**20 // 8).sum())\n") as s:
            r = s.probe([{"let": "v", "call": "grab"}], {"v": "v"})
            assert r.status == "crashed" and "memory" in r.error["message"].lower(), r
        with pool.session("def one():\n    return 1\n") as s:   # the zygote survived the child's OOM
            assert s.probe([{"let": "v", "call": "one"}], {"v": "v"}).values == {"v": 1}
            assert isinstance(s._worker.proc, ForkedChild)


def test_a_hang_and_a_crash_cost_only_their_session():
    with WarmPool(make_config("bwrap", probe_timeout_s=1.0), size=1) as pool:
        with pool.session("def spin():\n    while True:\n        pass\n") as s:
            assert s.probe([{"call": "spin"}], {}).status == "timeout"
        with pool.session("import os\ndef die():\n    os._exit(7)\n") as s:
            r = s.probe([{"call": "die"}], {})
            assert r.status == "crashed" and "7" in r.error["message"]
        with pool.session("def one():\n    return 1\n") as s:
            assert s.probe([{"let": "v", "call": "one"}], {"v": "v"}).values == {"v": 1}
        assert pool.stats["cold"] == 0 and pool.stats["dead"] == 0


def test_a_child_that_kills_its_zygote_only_loses_itself():
    with WarmPool(CONFIG, size=1) as pool:
        tag = pool._zygotes[0].proc.args[-1]
        with pool.session("import os, signal, time\ndef kill():\n    os.kill(os.getppid(), signal.SIGKILL)\n"
                          "    time.sleep(5)\n") as s:
            assert s.probe([{"call": "kill"}], {}).status == "crashed"   # the namespace died with it
        deadline = time.monotonic() + 5
        while procs_with(tag) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert procs_with(tag) == []                 # the zygote's namespace is gone with it
        for _ in range(2):                           # the next sessions still answer
            with pool.session("def one():\n    return 1\n") as s:
                assert s.probe([{"let": "v", "call": "one"}], {"v": "v"}).values == {"v": 1}
        assert pool.stats["warm"] + pool.stats["cold"] == 3


def test_zygote_refuses_to_run_outside_a_pid_namespace():
    from grader.sandbox.launcher import WORKER_PATH

    a, b = __import__("socket").socketpair()
    try:
        rc = subprocess.run([sys.executable, "-I", WORKER_PATH, "--zygote", str(b.fileno())],
                            pass_fds=(b.fileno(),), timeout=60).returncode
    finally:
        a.close()
        b.close()
    assert rc == 3


def test_pool_close_kills_every_zygote():
    pool = WarmPool(CONFIG, size=2)
    tags = [z.proc.args[-1] for z in pool._zygotes]
    assert len(tags) == 2 and all(procs_with(t) for t in tags)
    pool.close()
    assert all(procs_with(t) == [] for t in tags)
    assert os.environ.get("CONVGRADE_ZYGOTE", "1") != "0"


def test_a_stopped_zygote_or_an_unremovable_tree_is_thrown_away(monkeypatch):
    import grader.sandbox.launcher as launcher

    # the stopped zygote never reports its child's end: given up after KILL_WAIT_S (a second here)
    monkeypatch.setattr(launcher, "KILL_WAIT_S", 1.0)
    stop = "import os, signal\ndef stop():\n    os.kill(os.getppid(), signal.SIGSTOP)\n"
    deep = ("import os\ndef deep():\n    os.chdir('/tmp')\n    for _ in range(3000):\n"
            "        os.mkdir('d')\n        os.chdir('d')\n")   # deeper than PATH_MAX: no path removes it
    fresh = _fresh_files()
    with WarmPool(CONFIG, size=1) as pool:
        for source, call in ((stop, "stop"), (deep, "deep")):
            with pool.session(source) as s:
                assert s.probe([{"call": call}], {}).ok
            for _ in range(2):
                with pool.session(LOOK) as s:     # no daemon to wait for here
                    r = s.probe([{"let": "v", "call": "look", "args": [0.0]}], {"v": "v"})
                    assert r.ok and r.values["v"]["files"] == fresh, r
        assert pool.stats["dead"] + pool.stats["cold"] >= 2


def test_a_child_cannot_reach_into_its_zygote():
    probe = textwrap.dedent("""
        import ctypes, os

        def reach():
            z, got = os.getppid(), []
            for path in (f"/proc/{z}/mem", f"/proc/{z}/environ", f"/proc/{z}/maps"):
                try:
                    with open(path, "rb") as fh:
                        fh.read(1)
                    got.append(path)
                except OSError:
                    pass
            for fd in range(64):                        # the control socket among them
                for how in (os.readlink, lambda p: os.close(os.open(p, os.O_RDWR))):
                    try:
                        how(f"/proc/{z}/fd/{fd}")
                        got.append(f"fd {fd}")
                    except OSError:
                        pass
            libc = ctypes.CDLL(None, use_errno=True)
            if libc.ptrace(16, z, None, None) == 0:     # PTRACE_ATTACH
                got.append("ptrace")
            return got
    """)
    with WarmPool(CONFIG, size=1) as pool:
        with pool.session(probe) as s:
            assert isinstance(s._worker.proc, ForkedChild)
            r = s.probe([{"let": "v", "call": "reach"}], {"v": "v"})
            assert r.ok and r.values == {"v": []}, r


def test_the_folders_bubblewrap_made_are_restored_or_the_zygote_quits():
    """A child that changes what the sandbox started with (renames or locks the folders leading to
    a bind mount, when the environment lives under /tmp) leaves the next submission a sandbox
    exactly like a fresh one: the zygote restores the modes, and quits over what it cannot."""
    fresh = _fresh_files()
    meddle = ("import os\ndef meddle():\n    for p in sorted(os.listdir('/tmp')):\n"
              "        full = os.path.join('/tmp', p)\n        try:\n            os.chmod(full, 0)\n"
              "            os.rename(full, full + '-moved')\n        except OSError:\n            pass\n"
              "    os.mkdir('/tmp/extra')\n")
    with WarmPool(CONFIG, size=1) as pool:
        for _ in range(2):
            with pool.session(meddle) as s:
                assert s.probe([{"call": "meddle"}], {}).ok
            with pool.session(LOOK) as s:
                r = s.probe([{"let": "v", "call": "look", "args": [0.0]}], {"v": "v"})
                assert r.ok and r.values["v"]["files"] == fresh, r
                import_ok = s.probe([{"let": "v", "call": "look", "args": [0.0]}], {"v": "v"})
                assert import_ok.ok
