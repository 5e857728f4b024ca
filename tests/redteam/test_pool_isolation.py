"""Red team: a warm pool never lets one submission see another's process.

Submission A, on a worker from a pool, leaves every marker it can in its process and its files:
a module global, a monkeypatch of numpy, os.environ, builtins, sys.modules, a file in /tmp and
in its home, a child process that keeps running. Submission B, the next one from the same pool
(size 1, so B's worker was started while A ran — or, in zygote mode, forked after A's was
reaped and its files removed), must see none of them, and A's process must be gone when A's
session closes.
"""
import os
import textwrap

import pytest

from grader.sandbox import Limits, SandboxConfig
from grader.sandbox.isolation import bwrap_status
from grader.sandbox.pool import WarmPool

BWRAP_OK, BWRAP_WHY = bwrap_status()
ISOLATIONS = [pytest.param("bwrap", marks=pytest.mark.skipif(not BWRAP_OK, reason=f"bubblewrap unusable: {BWRAP_WHY}")),
              "process"]

LEAVE_MARKERS = textwrap.dedent("""
    import builtins, os, subprocess, sys, tempfile, types
    import numpy as np

    MARK = "left-by-A"
    np.CONVGRADE_MARK = MARK
    np.sum = lambda *a, **k: 42                     # a monkeypatch of numpy
    os.environ["CONVGRADE_MARK"] = MARK
    builtins.CONVGRADE_MARK = MARK
    sys.modules["convgrade_mark"] = types.ModuleType("convgrade_mark")
    for d in ("/tmp", tempfile.gettempdir(), os.path.expanduser("~"), os.getcwd()):
        try:
            with open(os.path.join(d, "convgrade_mark.txt"), "w") as fh:
                fh.write(MARK)
        except OSError:
            pass
    try:
        CHILD = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"]).pid
    except OSError:
        CHILD = None

    def who():
        return os.getpid()
""")

LOOK_FOR_MARKERS = textwrap.dedent("""
    import builtins, os, sys, tempfile
    import numpy as np

    def seen():
        found = []
        if hasattr(np, "CONVGRADE_MARK"):
            found.append("numpy global")
        if int(np.sum(np.ones(3))) != 3:
            found.append("numpy monkeypatch")
        if "CONVGRADE_MARK" in os.environ:
            found.append("environment")
        if hasattr(builtins, "CONVGRADE_MARK"):
            found.append("builtins")
        if "convgrade_mark" in sys.modules:
            found.append("sys.modules")
        for d in ("/tmp", tempfile.gettempdir(), os.path.expanduser("~"), os.getcwd()):
            if os.path.exists(os.path.join(d, "convgrade_mark.txt")):
                found.append("file in " + d)
        return found
""")


@pytest.mark.parametrize("iso", ISOLATIONS)
def test_next_submission_from_the_pool_sees_nothing_of_the_previous(iso, tmp_path):
    config = SandboxConfig(limits=Limits(wall_s=30.0, probe_timeout_s=10.0), isolation=iso)
    with WarmPool(config, size=1) as pool:
        with pool.session(LEAVE_MARKERS) as a:
            assert a.start().status == "ok"
            assert a._worker is not None
            a_proc = a._worker.proc
            r = a.probe([{"let": "c", "get": "CHILD"}], {"c": "c"})
            assert r.ok
        assert a_proc.poll() is not None          # A's worker is dead once its session closes
        assert pool.stats["warm"] == 1 and pool.idle() == 1   # B's worker started while A ran
        with pool.session(LOOK_FOR_MARKERS) as b:
            assert b.start().status == "ok"
            assert b._worker.proc.pid != a_proc.pid
            r = b.probe([{"let": "s", "call": "seen"}], {"s": "s"})
            assert r.ok, r.error
            found = r.values["s"]
        assert pool.stats["warm"] == 2
    if iso == "process":   # without bwrap /tmp is the machine's: a cold session shares it the same way
        found = [f for f in found if not f.startswith("file in /tmp")]
        try:
            os.unlink("/tmp/convgrade_mark.txt")
        except OSError:
            pass
    assert found == []


@pytest.mark.parametrize("iso", ISOLATIONS)
def test_waiting_worker_has_no_student_bytes(iso):
    """A worker waiting in the pool was started without any source: its command line and the
    grader-side worker object carry none, and nothing has been written to its request pipe."""
    config = SandboxConfig(limits=Limits(wall_s=30.0), isolation=iso)
    with WarmPool(config, size=1, zygote=False) as pool:
        (_, w), = pool._idle
        assert w.source == ""
        with open(f"/proc/{w.proc.pid}/cmdline", "rb") as fh:
            cmdline = fh.read()
        assert b"SECRET_SOURCE_MARK" not in cmdline
        with pool.session("SECRET_SOURCE_MARK = 1\n") as s:
            assert s.start().status == "ok"
            r = s.probe([{"let": "v", "get": "SECRET_SOURCE_MARK"}], {"v": "v"})
            assert r.values == {"v": 1}
        (_, w2), = pool._idle
        assert w2 is not w and w2.source == ""


def test_zygote_never_holds_student_bytes():
    """In zygote mode (bwrap + cgroups) the source goes only down the forked child's own request
    pipe: the zygote got four pipe ends and nothing else, and its command line has no source."""
    config = SandboxConfig(limits=Limits(wall_s=30.0), isolation="bwrap" if BWRAP_OK else "process")
    with WarmPool(config, size=1) as pool:
        if not pool.zygote:
            pytest.skip("no zygote here (it needs bubblewrap and cgroups)")
        z, = pool._zygotes
        with pool.session("SECRET_SOURCE_MARK = 1\n") as s:
            r = s.probe([{"let": "v", "get": "SECRET_SOURCE_MARK"}], {"v": "v"})
            assert r.values == {"v": 1} and s._worker.proc.zygote is z
        with open(f"/proc/{z.proc.pid}/cmdline", "rb") as fh:
            assert b"SECRET_SOURCE_MARK" not in fh.read()
        assert z.served == 1 and z.alive
