"""WorkerSession end to end: probes, errors, hostile submissions, cleanup.

Each test starts real workers (about 0.2 s each); the important ones run under bubblewrap and
under the process fallback.
"""
import os
import socket
import textwrap

import numpy as np
import pytest

from grader.sandbox import Limits, SandboxConfig, SandboxUnavailable, WorkerSession, detect_isolation

from .util import BWRAP_OK, ISOLATIONS, cgroups_available, make_config, procs_with, session

LAYER = """
import numpy as np

class Scale:
    def __init__(self, n, rng=None, shift=0.0):
        self.weight = np.arange(n, dtype=np.float64)
        self.grads = {"weight": np.zeros(n)}
        self.rng = rng
        self.shift = shift
        self.seen = None

    def forward(self, x):
        self.seen = str(x.dtype)
        print("forward", x.shape)
        return x * self.weight + self.shift

    def noise(self, k):
        return self.rng.standard_normal(k)

    def backward(self, dy):
        raise ValueError("backward is not done yet")

def specials():
    return [float("nan"), float("inf"), -float("inf"), 1.5, np.float32(2.5), np.int64(7), True, None, "s"]

def containers(a, pair, d):
    return {"list": [a, a * 2], "tuple": pair, "dict": d, "big": 10**30, "obj": object(),
            "nested": {"x": [1, [2, [3]]]}, "complex": np.array([1j])}
"""


@pytest.mark.parametrize("iso", ISOLATIONS)
def test_probe_round_trip(iso):
    x = np.arange(6, dtype=np.int32).reshape(2, 3)
    with session(LAYER, iso) as s:
        assert s.start().status == "ok"
        r = s.probe([{"let": "m", "call": "Scale", "args": [3], "kwargs": {"rng": {"$rng": 5}, "shift": 0.5}},
                     {"let": "y", "call": "m.forward", "args": [{"$array": 0}]},
                     {"let": "has_w", "hasattr": "m.weight"},
                     {"let": "has_b", "hasattr": "m.bias"},
                     {"set": "m.grads.weight", "value": {"$array": 1}},
                     {"set": "m.shift", "value": {"$float": "-inf"}},
                     {"let": "z", "call": "m.noise", "args": [4]},
                     {"let": "sp", "call": "specials"},
                     {"let": "c", "call": "containers",
                      "args": [{"$array": 1}, {"$tuple": [1, "two"]}, {"$dict": {"k": {"$ref": "m.weight"}}}]}],
                    {"y": "y", "w": "m.weight", "gw": "m.grads.weight", "seen": "m.seen", "has_w": "has_w",
                     "has_b": "has_b", "z": "z", "sp": "sp", "c": "c", "shift": "m.shift", "missing": "m.nothing"},
                    [x, np.array([1.0, -2.0, 3.0])])
        assert r.status == "ok", r.error
        v = r.values
        np.testing.assert_array_equal(v["y"], x * np.arange(3) + 0.5)
        assert v["y"].dtype == np.float64 and v["seen"] == "int32"   # the worker got the dtype sent
        np.testing.assert_array_equal(v["w"], [0, 1, 2])
        np.testing.assert_array_equal(v["gw"], [1, -2, 3])
        assert v["has_w"] is True and v["has_b"] is False
        np.testing.assert_allclose(v["z"], np.random.default_rng(5).standard_normal(4))
        assert v["shift"] == -np.inf and "missing" not in v
        sp = v["sp"]
        assert np.isnan(sp[0]) and sp[1:4] == [np.inf, -np.inf, 1.5] and sp[4:] == [2.5, 7, True, None, "s"]
        c = v["c"]
        np.testing.assert_array_equal(c["list"][1], [2, -4, 6])
        assert c["tuple"] == [1, "two"] and c["nested"] == {"x": [1, [2, [3]]]}
        np.testing.assert_array_equal(c["dict"]["k"], [0, 1, 2])
        assert c["big"] == {"$unencodable": "int (too large)"} and c["obj"] == {"$unencodable": "object"}
        assert "complex" in c["complex"]["$unencodable"]
        assert r.stdout == "forward (2, 3)\n" and "forward (2, 3)" in s.stdout_tail
        # state persists between probes of one worker; a fresh namespace per probe
        r2 = s.probe([{"let": "n", "call": "Scale", "args": [2]}], {"n_w": "n.weight", "m": "m"})
        assert r2.status == "ok" and "m" not in r2.values
        np.testing.assert_array_equal(r2.values["n_w"], [0, 1])


@pytest.mark.parametrize("iso", ISOLATIONS)
def test_error_in_a_step_keeps_earlier_values(iso):
    with session(LAYER, iso) as s:
        r = s.probe([{"let": "m", "call": "Scale", "args": [2]},
                     {"let": "y", "call": "m.forward", "args": [{"$array": 0}]},
                     {"let": "dx", "call": "m.backward", "args": [{"$array": 0}]}],
                    {"y": "y", "dx": "dx"}, [np.ones(2)])
        assert r.status == "error"
        np.testing.assert_array_equal(r.values["y"], [0, 1])
        assert "dx" not in r.values
        assert r.error["type"] == "ValueError" and r.error["message"] == "backward is not done yet"
        assert r.error["step"] == 2 and r.error["line"] == 21 and r.error["where"] == "line 21 in backward"
        r = s.probe([{"let": "m", "call": "Nope"}], {})
        assert r.status == "error" and r.error["type"] == "NameError" and "Nope" in r.error["message"]
        r = s.probe([{"let": "m", "call": "Scale", "args": [2], "kwargs": {"bad": 1}}], {})
        assert r.status == "error" and r.error["type"] == "TypeError" and r.error["line"] is None


@pytest.mark.parametrize("iso", ISOLATIONS)
def test_import_error_reports_line_and_function(iso):
    src = """
    import numpy as np

    def helper():
        return undefined_name

    X = helper()
    """
    with session(src, iso) as s:
        r = s.start()
        assert r.status == "error" and r.error["type"] == "NameError"
        assert "undefined_name" in r.error["message"]
        assert r.error["line"] == 5 and r.error["where"] == "line 5 in helper"
        p = s.probe([{"let": "a", "get": "np"}], {})
        assert p.status == "not_started"


def test_syntax_error_reports_line():
    with session("x = 1\n\ndef f(:\n    pass\n") as s:
        r = s.start()
        assert r.status == "error" and r.error["type"] == "SyntaxError" and r.error["line"] == 3


def test_print_at_import_is_captured():
    with session("print('hello from import')\n") as s:
        r = s.start()
        assert r.status == "ok" and r.stdout == "hello from import\n"
        assert "hello from import" in s.stdout_tail


@pytest.mark.parametrize("iso", ISOLATIONS)
def test_system_exit_and_os_exit_at_import(iso):
    with session("import sys\nprint('bye')\nsys.exit(3)\n", iso) as s:
        r = s.start()
        assert r.status == "error" and r.error["type"] == "SystemExit" and r.error["line"] == 3
    with session("import os\nos._exit(4)\n", iso) as s:
        r = s.start()
        assert r.status == "crashed" and "code 4" in r.error["message"]
        assert s.probe([], {}).status == "not_started"


def test_forbidden_imports_are_refused_with_their_name():
    cfg = SandboxConfig(limits=Limits(probe_timeout_s=5.0), forbidden_imports=["scipy", "json.decoder"])
    src = """
    import importlib
    def load(name):
        importlib.import_module(name)
    """
    with WorkerSession(textwrap.dedent(src), cfg) as s:
        assert s.start().status == "ok"
        for name, blocked in [("scipy", "scipy"), ("scipy.linalg", "scipy"), ("torch", "torch"),
                              ("torch.nn", "torch"), ("json.decoder", "json.decoder")]:
            r = s.probe([{"call": "load", "args": [name]}], {})
            assert r.status == "error" and r.error["type"] == "ModuleNotFoundError", name
            assert r.error["message"] == f"import of {blocked} is not allowed in this assignment"
        r = s.probe([{"call": "load", "args": ["json"]}], {})   # the parent package is fine
        assert r.status == "ok"
    with WorkerSession("import scipy.signal\n", cfg) as s:
        r = s.start()
        assert r.status == "error" and "import of scipy is not allowed" in r.error["message"] and r.error["line"] == 1


@pytest.mark.parametrize("iso", ISOLATIONS)
def test_trusted_packages_cannot_be_imported(iso):
    src = """
    import importlib, sys
    def attempt(name):
        try:
            importlib.import_module(name)
            return "imported"
        except ImportError as e:
            return str(e)
    def attempt_without_blocker(name):
        sys.meta_path[:] = [f for f in sys.meta_path if type(f).__name__ != "ImportBlocker"]
        return attempt(name)
    """
    with session(src, iso) as s:
        names = ["grader", "reference", "assignments", "reference.nn", "grader.sandbox"]
        r = s.probe([{"let": f"v{i}", "call": "attempt", "args": [n]} for i, n in enumerate(names)],
                    {n: f"v{i}" for i, n in enumerate(names)})
        assert r.status == "ok"
        for n in names:
            assert r.values[n] == f"import of {n.split('.')[0]} is not allowed in this assignment"
        if iso == "bwrap":   # even with the blocker removed, the code is simply not there
            r = s.probe([{"let": "g", "call": "attempt_without_blocker", "args": ["grader"]},
                         {"let": "r", "call": "attempt", "args": ["reference"]}], {"g": "g", "r": "r"})
            assert r.values["g"] == "No module named 'grader'" and r.values["r"] == "No module named 'reference'"


@pytest.mark.skipif(not BWRAP_OK, reason="bubblewrap unusable")
def test_bwrap_filesystem_view():
    import grader
    repo = os.path.dirname(os.path.dirname(os.path.abspath(grader.__file__)))
    src = f"""
    import os
    def read(path):
        try:
            with open(path, "rb") as fh:
                return "read %d bytes" % len(fh.read())
        except OSError as e:
            return type(e).__name__
    def listdir(path):
        try:
            return sorted(os.listdir(path))
        except OSError as e:
            return type(e).__name__
    def write(path, n):
        try:
            with open(path, "wb") as fh:
                for _ in range(n):
                    fh.write(b"x" * (1 << 20))
            return "wrote"
        except OSError as e:
            return type(e).__name__
    def env():
        return dict(os.environ)
    def ids():
        return [os.getuid(), os.getgid()]
    """
    with session(src, "bwrap", tmpfs_mb=4, fsize_mb=64) as s:
        r = s.probe([{"let": "a", "call": "read", "args": [f"{repo}/grader/__init__.py"]},
                     {"let": "b", "call": "read", "args": [f"{repo}/reference/__init__.py"]},
                     {"let": "c", "call": "listdir", "args": [repo]},
                     {"let": "d", "call": "listdir", "args": ["/"]},
                     {"let": "e", "call": "write", "args": ["/tmp/big", 8]},
                     {"let": "f", "call": "write", "args": ["/usr/x", 1]},
                     {"let": "g", "call": "write", "args": ["/x", 1]},
                     {"let": "h", "call": "write", "args": ["/dev/shm/big", 8]},
                     {"let": "i", "call": "write", "args": ["/home/student/small", 1]},
                     {"let": "j", "call": "read", "args": ["/etc/shadow"]},
                     {"let": "k", "call": "env"}, {"let": "l", "call": "ids"}],
                    {k: k for k in "abcdefghijkl"})
        v = r.values
        assert v["a"] == v["b"] == "FileNotFoundError"
        assert "grader" not in v["c"] and "reference" not in v["c"] and "assignments" not in v["c"]
        from grader.sandbox.isolation import python_roots
        # The Python environment is bound at its own path (a CI checkout may live under /check/...),
        # so its top-level folder appears too; nothing else of the host does.
        env_tops = {root.strip("/").split("/")[0] for root in python_roots()}
        assert set(v["d"]) <= {"bin", "dev", "etc", "home", "lib", "lib32", "lib64", "libx32", "proc", "root",
                               "sandbox", "sbin", "tmp", "usr", "opt"} | env_tops
        assert v["e"] == "OSError"                      # tmpfs of 4 MB is full
        assert v["f"] == v["g"] == "OSError"            # read-only
        assert v["h"] == "OSError"                      # /dev/shm is as small as /tmp
        assert v["i"] == "wrote" and v["j"] == "FileNotFoundError"
        assert v["k"]["HOME"] == "/home/student" and set(v["k"]) <= {
            "PATH", "HOME", "TMPDIR", "LANG", "OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS",
            "PYTHONHASHSEED", "PYTHONDONTWRITEBYTECODE", "OMP_WAIT_POLICY", "LC_CTYPE", "PWD"}
        assert v["l"] == [65534, 65534]


@pytest.mark.skipif(not BWRAP_OK, reason="bubblewrap unusable")
def test_bwrap_has_no_network():
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)
    listener.settimeout(0.2)
    port = listener.getsockname()[1]
    src = f"""
    import socket
    def connect(host):
        try:
            socket.create_connection((host, {port}), timeout=2).close()
            return "connected"
        except OSError as e:
            return type(e).__name__
    """
    try:
        with session(src, "bwrap") as s:
            r = s.probe([{"let": "a", "call": "connect", "args": ["127.0.0.1"]},
                         {"let": "b", "call": "connect", "args": ["10.255.255.1"]}], {"a": "a", "b": "b"})
            assert r.status == "ok" and r.values["a"] != "connected" and r.values["b"] != "connected"
        with pytest.raises(socket.timeout):
            listener.accept()
    finally:
        listener.close()


def test_process_fallback_says_what_is_weaker():
    report = detect_isolation(make_config("process"))
    assert report.level.startswith("process")
    assert any("WEAKER" in d and "network" in d for d in report.details)
    report = detect_isolation(SandboxConfig(isolation="process", use_cgroups=False))
    assert report.level == "process" and any("address space" in d for d in report.details)


@pytest.mark.parametrize("cgroup", [True, False], ids=["cgroup", "no-cgroup"])
@pytest.mark.parametrize("iso", ISOLATIONS)
def test_infinite_loop_times_out_and_leaves_nothing(iso, cgroup):
    src = """
    import os
    def spin():
        print("spinning now")
        if os.fork() == 0:
            while True:
                pass
        while True:
            pass
    def ok():
        return 1
    """
    config = make_config(iso)
    config.use_cgroups = cgroup
    with session(src, config=config) as s:
        assert s.start().status == "ok"
        assert s.isolation.level.endswith("+cgroup") == (cgroup and cgroups_available(config))
        tag = s._worker.tag
        assert procs_with(tag)
        r = s.probe([{"call": "spin"}], {}, timeout=0.5)
        assert r.status == "timeout" and "0.5 s" in r.error["message"]
        assert r.stdout == "spinning now\n"
        assert procs_with(tag) == []
        r = s.probe([{"let": "x", "call": "ok"}], {"x": "x"})   # restarted transparently
        assert r.status == "ok" and r.values == {"x": 1} and s.restarts == 1
        tag2 = s._worker.tag
    assert procs_with(tag2) == []


def test_session_wall_clock():
    src = "import time\ndef nap():\n    time.sleep(10)\n"
    with session(src, wall_s=1.0, probe_timeout_s=5.0) as s:
        r = s.probe([{"call": "nap"}], {})
        assert r.status == "timeout" and "time limit of 1 s" in r.error["message"] and r.seconds < 4
        assert s.probe([], {}).status == "not_started"


@pytest.mark.parametrize("iso", ISOLATIONS)
def test_memory_hog_is_killed_and_reported(iso):
    cfg = make_config(iso, memory_mb=200)
    if not cgroups_available(cfg):
        pytest.skip("cgroups not writable here")
    src = "import numpy as np\ndef hog():\n    a = np.ones(600 * 2**20 // 8)\n    return float(a.sum())\n"
    with WorkerSession(src, cfg) as s:
        r = s.probe([{"let": "x", "call": "hog"}], {"x": "x"})
        assert r.status == "crashed" and "memory limit of 200 MB" in r.error["message"]
        assert s.probe([], {}).status == "ok"


def test_memory_hog_without_cgroup_hits_the_address_space_limit():
    cfg = SandboxConfig(limits=Limits(memory_mb=200, probe_timeout_s=5.0), isolation="process", use_cgroups=False)
    src = "import numpy as np\ndef hog():\n    a = np.ones(2000 * 2**20 // 8)\n    return float(a.sum())\n"
    with WorkerSession(src, cfg) as s:
        assert s.isolation.level == "process"
        r = s.probe([{"let": "x", "call": "hog"}], {"x": "x"})
        assert r.status == "error" and r.error["type"] == "MemoryError" and r.error["line"] == 3


@pytest.mark.parametrize("iso", ISOLATIONS)
def test_fork_bomb_is_contained(iso):
    cfg = make_config(iso, pids=16)
    if not cgroups_available(cfg) and iso == "process":
        pytest.skip("without cgroups (as root) a fork bomb is only bounded by this test itself")
    src = """
    import os, time
    def bomb():
        n = 0
        for _ in range(200):
            try:
                pid = os.fork()
            except OSError:
                break
            if pid == 0:
                time.sleep(60)
                os._exit(0)
            n += 1
        return n
    """
    with session(src, config=cfg) as s:
        r = s.probe([{"let": "n", "call": "bomb"}], {"n": "n"})
        assert r.status == "ok" and 0 < r.values["n"] < 16
        tag = s._worker.tag
        assert len(procs_with(tag)) > r.values["n"]
    assert procs_with(tag) == []


@pytest.mark.parametrize("iso", ISOLATIONS)
def test_output_flood_is_stopped(iso):
    src = """
    import sys, os
    def flood():
        while True:
            print("x" * 10000)
    def raw():
        while True:
            os.write(2, b"y" * 65536)
    """
    with session(src, iso, output_kill_bytes=1 << 20, output_bytes=1000) as s:
        r = s.probe([{"call": "flood"}], {})
        assert r.status == "output_flood" and len(r.stdout) <= 4000
        assert len(s.stdout_tail) == 1000 and set(s.stdout_tail) <= {"x", "\n"}
        r = s.probe([{"call": "raw"}], {})
        assert r.status == "output_flood" and s.restarts == 1


def test_late_frame_from_a_daemon_thread_is_never_an_answer():
    src = """
    import os, sys, threading, time, json, struct
    FD = None
    def frame(b):
        return struct.pack(">Q", len(b)) + b
    def arm(old_id, delay):
        fd = int(open("/proc/self/cmdline", "rb").read().split(b"\\0")[4])
        body = json.dumps({"id": old_id, "values": {"x": 666}, "error": None, "n_arrays": 0}).encode()
        def later():
            time.sleep(delay)
            os.write(fd, frame(body))
        threading.Thread(target=later, daemon=True).start()
        return 1
    def value():
        return 1
    """
    with session(src) as s:
        r1 = s.probe([{"let": "x", "call": "arm", "args": [1, 0.3]}], {"x": "x"})
        assert r1.status == "ok" and r1.values == {"x": 1}
        import time
        time.sleep(0.6)
        r2 = s.probe([{"let": "x", "call": "value"}], {"x": "x"})
        assert r2.status == "protocol_error" and r2.values == {} and "late" in r2.error["message"]
        r3 = s.probe([{"let": "x", "call": "value"}], {"x": "x"})
        assert r3.status == "ok" and r3.values == {"x": 1} and s.restarts == 1


def test_hostile_reply_frames_are_refused():
    src = """
    import os, struct, io, json
    import numpy as np
    def fd():
        return int(open("/proc/self/cmdline", "rb").read().split(b"\\0")[4])
    def huge_frame():
        os.write(fd(), struct.pack(">Q", 10**12))
        os._exit(0)
    def object_array(probe_id):
        buf = io.BytesIO()
        np.save(buf, np.array([{"a": 1}], dtype=object), allow_pickle=True)
        body = json.dumps({"id": probe_id, "values": {"x": {"$array": 0}}, "error": None, "n_arrays": 1}).encode()
        os.write(fd(), struct.pack(">Q", len(body)) + body + struct.pack(">Q", len(buf.getvalue())) + buf.getvalue())
        os._exit(0)
    """
    with session(src) as s:
        r = s.probe([{"call": "huge_frame"}], {})
        assert r.status == "protocol_error" and "larger than" in r.error["message"]
        r = s.probe([{"call": "object_array", "args": [2]}], {"x": "x"})
        assert r.status == "protocol_error" and "dtype" in r.error["message"]


@pytest.mark.parametrize("iso", ISOLATIONS)
def test_crash_restart_and_restart_cap(iso):
    src = """
    import os, sys
    CALLS = []
    def count():
        CALLS.append(1)
        return len(CALLS)
    def die():
        os._exit(3)
    def leave():
        sys.exit("leaving")
    """
    with session(src, iso) as s:
        assert s.probe([{"let": "n", "call": "count"}], {"n": "n"}).values == {"n": 1}
        r = s.probe([{"let": "n", "call": "leave"}], {"n": "n"})   # SystemExit in a probe is an error
        assert r.status == "error" and r.error["type"] == "SystemExit" and r.error["message"] == "leaving"
        assert s.probe([{"let": "n", "call": "count"}], {"n": "n"}).values == {"n": 2}
        r = s.probe([{"call": "die"}], {})
        assert r.status == "crashed" and "exited with code 3" in r.error["message"]
        # the next probe runs in a fresh worker: the module was imported again
        assert s.probe([{"let": "n", "call": "count"}], {"n": "n"}).values == {"n": 1}
        for _ in range(3):
            assert s.probe([{"call": "die"}], {}).status == "crashed"
        assert s.restarts == 3
        r = s.probe([{"let": "n", "call": "count"}], {"n": "n"})
        assert r.status == "not_started" and "no more restarts" in r.error["message"]


def test_array_caps_in_the_worker():
    src = "import numpy as np\ndef big():\n    return np.zeros(1000)\n"
    with session(src, max_elements=100) as s:
        r = s.probe([{"let": "a", "call": "big"}], {"a": "a"})
        assert r.status == "ok" and "1000 elements" in r.values["a"]["$unencodable"]


def test_torch_tensors_are_returned_as_arrays():
    pytest.importorskip("torch")
    cfg = SandboxConfig(limits=Limits(probe_timeout_s=60.0), allow_torch=True)
    src = "import torch\ndef t():\n    return torch.arange(4.0, requires_grad=True) * 2\n"
    with WorkerSession(src, cfg) as s:
        r = s.probe([{"let": "a", "call": "t"}], {"a": "a"})
        assert r.status == "ok", r.error
        np.testing.assert_array_equal(r.values["a"], [0, 2, 4, 6])


def test_close_is_idempotent_and_removes_cgroups():
    with session("x = 1\n") as s:
        assert s.start().status == "ok"
        cg = s._worker.cgroup
        dirs = list(cg.dirs) if cg else []
        assert all(d.is_dir() for d in dirs)
        s.close()
        s.close()
        assert not any(d.exists() for d in dirs)
        assert s.probe([], {}).status == "not_started"


def test_config_validation():
    with pytest.raises(ValueError, match="memory_mb"):
        Limits(memory_mb=0)
    with pytest.raises(ValueError, match="isolation"):
        SandboxConfig(isolation="docker")
    with pytest.raises(ValueError, match="extra_ro_binds"):
        SandboxConfig(extra_ro_binds=[("relative", "/x")])
    if not BWRAP_OK:
        with pytest.raises(SandboxUnavailable):
            WorkerSession("x = 1", SandboxConfig(isolation="bwrap"))


@pytest.mark.skipif(not BWRAP_OK, reason="bubblewrap unusable")
def test_extra_binds_are_read_only_and_project_packages_are_masked(tmp_path):
    import grader
    repo = os.path.dirname(os.path.dirname(os.path.abspath(grader.__file__)))
    data = tmp_path / "data.npy"
    np.save(data, np.arange(3.0))
    cfg = make_config("bwrap")
    cfg.extra_ro_binds = [(str(data), "/data/x.npy"), (repo, "/repo")]
    src = """
    import os
    import numpy as np
    def load():
        return np.load("/data/x.npy")
    def listing(path):
        try:
            return sorted(os.listdir(path))
        except OSError as e:
            return type(e).__name__
    def overwrite():
        try:
            open("/data/x.npy", "wb").close()
            return "written"
        except OSError as e:
            return type(e).__name__
    """
    with session(src, config=cfg) as s:
        r = s.probe([{"let": "a", "call": "load"}, {"let": "w", "call": "overwrite"},
                     {"let": "g", "call": "listing", "args": ["/repo/grader"]},
                     {"let": "r", "call": "listing", "args": ["/repo/reference"]},
                     {"let": "t", "call": "listing", "args": ["/repo/assignments"]}],
                    {"a": "a", "w": "w", "g": "g", "r": "r", "t": "t"})
        assert r.status == "ok", r.error
        np.testing.assert_array_equal(r.values["a"], [0, 1, 2])
        assert r.values["w"] == "OSError"
        # the project's packages are empty, or the forbidden-package stub (an __init__ that raises
        # ModuleNotFoundError): never their code
        assert r.values["g"] in ([], ["__init__.py"]) and r.values["r"] in ([], ["__init__.py"])
        assert r.values["t"] in ([], ["__init__.py"], "FileNotFoundError")


def test_a_dropped_session_is_cleaned_up():
    import gc
    s = session("x = 1\n", "process")
    assert s.start().status == "ok"
    tag = s._worker.tag
    assert procs_with(tag)
    del s
    gc.collect()
    assert procs_with(tag) == []
