"""WarmPool: pre-started workers behave exactly like cold sessions, and are never reused."""
import json
import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from grader.sandbox import Limits, SandboxConfig
from grader.sandbox.pool import WarmPool, config_key, default_preload, shared_pool

from .util import ISOLATIONS, make_config, procs_with

ROOT = Path(__file__).resolve().parents[2]

SRC = "import numpy as np\n\ndef double(x):\n    return 2 * x\n"


@pytest.mark.parametrize("iso", ISOLATIONS)
def test_warm_session_answers_like_a_cold_one_and_the_pool_refills(iso):
    config = make_config(iso)
    with WarmPool(config, size=1, zygote=False) as pool:   # pre-started workers (zygotes: test_zygote.py)
        assert pool.idle() == 1
        (_, waiting), = pool._idle
        with pool.session(SRC, "student.py") as s:
            assert s._worker is waiting                       # the pre-started worker serves it
            assert s.start().status == "ok"
            r = s.probe([{"let": "y", "call": "double", "args": [21]}], {"y": "y"})
            assert r.ok and r.values == {"y": 42}
            assert s.isolation.level.startswith(iso)
        assert waiting.proc.poll() is not None               # killed with its session
        assert pool.idle() == 1 and pool.stats == {"warm": 1, "cold": 0, "recycled": 0, "dead": 0}
        tag = pool._idle[0][1].tag
        assert procs_with(tag)
    assert procs_with(tag) == []                              # close() kills the waiting workers


def test_import_error_and_crash_restart_on_a_warm_worker():
    with WarmPool(make_config("process"), size=1) as pool:
        with pool.session("raise ValueError('boom')\n") as s:
            r = s.start()
            assert r.status == "error" and r.error["message"] == "boom"
        with pool.session("import os\ndef die():\n    os._exit(3)\ndef one():\n    return 1\n") as s:
            assert s.probe([{"call": "die"}], {}).status == "crashed"
            r = s.probe([{"let": "v", "call": "one"}], {"v": "v"})   # a cold restart, same submission
            assert r.values == {"v": 1} and s.restarts == 1


def test_idle_worker_is_recycled_and_a_dead_one_never_handed_out():
    with WarmPool(make_config("process"), size=1, max_idle_s=0.3) as pool:
        (_, old), = pool._idle
        time.sleep(0.5)
        with pool.session(SRC) as s:
            assert s._worker is not old and s.start().ok
        assert old.proc.poll() is not None and pool.stats["recycled"] == 1
        (_, w), = pool._idle
        w.proc.kill()
        w.proc.wait()
        with pool.session(SRC) as s:
            assert s.start().ok
        assert pool.stats["dead"] == 1


def test_other_config_gets_a_cold_session_with_that_config():
    config = make_config("process")
    other = make_config("process", wall_s=7.0)
    assert config_key(config) != config_key(other) and config_key(config) == config_key(make_config("process"))
    with WarmPool(config, size=1) as pool:
        with pool.session(SRC, config=other) as s:
            assert s.config is other and s.start().ok
        assert pool.stats["cold"] == 1 and pool.idle() == 1


def test_size_zero_and_one_shot_pools():
    with WarmPool(make_config("process"), size=0) as pool:
        with pool.session(SRC) as s:
            assert s.start().ok
        assert pool.stats["cold"] == 1 and pool.idle() == 0
    pool = WarmPool(make_config("process"), size=1, replenish=False)
    with pool.session(SRC) as s:
        assert s.start().ok
    assert pool.idle() == 0
    pool.close()
    with pytest.raises(ValueError, match="size"):
        WarmPool(make_config("process"), size=-1)


def test_unstarted_session_from_a_pool_kills_its_worker_on_close():
    with WarmPool(make_config("process"), size=1) as pool:
        s = pool.session(SRC, start=False)
        w = s._warm_worker
        assert w is not None and w.proc.poll() is None
        s.close()
        assert w.proc.poll() is not None


def test_preload_torch_only_where_torch_and_all_its_submodules_are_allowed():
    assert default_preload(SandboxConfig()) == ()
    assert default_preload(SandboxConfig(allow_torch=True, forbidden_imports=["torchvision"])) == ("torch",)
    assert default_preload(SandboxConfig(allow_torch=True, forbidden_imports=["torch.nn.functional"])) == ()


def test_preloaded_worker_has_torch_before_the_submission_runs():
    config = SandboxConfig(limits=Limits(wall_s=60.0, probe_timeout_s=30.0), allow_torch=True, isolation="process")
    with WarmPool(config, size=1) as pool:
        with pool.session("import sys\nPRE = 'torch' in sys.modules\n") as s:
            r = s.probe([{"let": "v", "get": "PRE"}], {"v": "v"}, timeout=30)
            assert r.values == {"v": True}


def test_shared_pool_is_one_per_config():
    a = shared_pool(make_config("process"), size=0)
    b = shared_pool(make_config("process"), size=0)
    c = shared_pool(make_config("process", wall_s=9.0), size=0)
    assert a is b and a is not c


def test_grade_submission_through_a_pool_equals_a_cold_grade():
    from grader.assignment import load
    from grader.grade import grade_submission, sandbox_config

    a = load("a2_convolution")
    nb = a.path / "master.ipynb"
    cold = grade_submission(a, nb, student="s1", secret=b"k")
    with WarmPool(sandbox_config(a, "auto"), size=1) as pool:
        warm = grade_submission(a, nb, student="s1", secret=b"k", session_factory=pool.session)
        assert pool.stats["warm"] == 1
    strip = lambda r: [(t["name"], t["score"], t["output"]) for t in r["tests"]]   # noqa: E731
    assert strip(warm) == strip(cold) and warm["score"] == cold["score"] == a.max_score


def test_total_bounds_the_workers_a_pool_ever_starts():
    with WarmPool(make_config("process"), size=2, total=3) as pool:
        assert pool.idle() == 2
        for _ in range(4):
            with pool.session(SRC) as s:
                assert s.start().ok
        assert pool.stats["warm"] == 3 and pool.stats["cold"] == 1   # the fourth was not foreseen
        assert pool.idle() == 0                                        # and nothing waits for nobody


def test_an_early_pool_is_taken_only_for_its_own_configuration():
    from grader.sandbox.config import Limits, SandboxConfig
    from grader.sandbox.pool import start_early, take_early

    config = SandboxConfig(limits=Limits(wall_s=30), isolation="process")
    other = SandboxConfig(limits=Limits(wall_s=31), isolation="process")
    early = start_early(config)
    assert take_early(config) is early and take_early(config) is None    # handed over once
    early.close()
    stray = start_early(other)
    assert take_early(config) is None and stray._closed                    # another one: closed


def test_grade_and_check_take_the_worker_started_from_the_manifest(monkeypatch, tmp_path, one_shot_pools):
    from click.testing import CliRunner

    import grader.sandbox.pool as pool_mod
    from grader.cli import main

    taken = []
    real = pool_mod.take_early
    monkeypatch.setattr(pool_mod, "take_early", lambda config: taken.append(real(config)) or taken[-1])
    nb = ROOT / "assignments" / "a2_convolution" / "master.ipynb"
    runner = CliRunner()
    r = runner.invoke(main, ["grade", "a2_convolution", str(nb), "-o", str(tmp_path / "r.json")])
    assert r.exit_code == 0, r.output
    r = runner.invoke(main, ["check", "a2_convolution", str(nb)])
    assert r.exit_code == 0, r.output
    assert len(taken) == 2 and all(p is not None for p in taken)


def test_a_torch_assignments_worker_starts_before_the_grader_imports_torch():
    """`grade` and `check` of a torch assignment (a5) start its worker from the checks read without
    the kinds' validation, which would import torch (seconds the worker's own start overlaps), with
    exactly the configuration grade_submission computes, so that it is taken, not thrown away."""
    code = textwrap.dedent("""
        import json, sys
        import grader.cli as cli
        import grader.sandbox.pool as pool
        out, keys = {}, {}
        for vis in ("visible", "all"):
            cli._start_early("a5_architectures", visibility=vis)
            out[vis] = {"torch": "torch" in sys.modules, "early": len(pool._EARLY)}
            early = pool._EARLY.pop()
            keys[vis], out["preload"] = pool.config_key(early.config), list(early.preload)
            early.close()
        from grader.assignment import load
        from grader.checks.milestone import needs_gpu
        from grader.grade import sandbox_config
        a = load("a5_architectures")      # the full load (validation: torch) only now
        out["same"] = [pool.config_key(sandbox_config(a, gpu=needs_gpu(a.select(v)))) == k for v, k in keys.items()]
        print(json.dumps(out))
    """)
    env = dict(os.environ, PYTHONPATH=str(ROOT), OMP_WAIT_POLICY="PASSIVE")
    proc = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    assert out["visible"] == out["all"] == {"torch": False, "early": 1}
    assert out["same"] == [True, True] and out["preload"][0] == "torch"


def test_shared_pools_beyond_the_bound_are_closed_least_recently_used_first_unless_busy(monkeypatch):
    import grader.sandbox.pool as pool_mod

    monkeypatch.setattr(pool_mod, "_SHARED", {})
    monkeypatch.setattr(pool_mod, "SHARED_MAX", 2)
    configs = [make_config("process", wall_s=30.0 + i) for i in range(4)]
    a, b = shared_pool(configs[0], size=0), shared_pool(configs[1], size=0)
    assert shared_pool(configs[0], size=0) is a                      # a is now the most recent
    c = shared_pool(configs[2], size=0)
    assert b.closed and not a.closed and not c.closed                # b was the least recently used
    monkeypatch.setattr(type(a), "busy", lambda self: self is a)     # a session still runs on a
    d = shared_pool(configs[3], size=0)
    assert not a.closed and c.closed and not d.closed
    again = shared_pool(configs[1], size=0)                          # a closed pool is never handed out
    assert again is not b and not again.closed
    assert shared_pool(configs[1], size=1) is again and again.size == 1   # it grows to the larger size
    for p in (a, d, again):
        p.close()
