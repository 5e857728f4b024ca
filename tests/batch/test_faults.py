"""Fault injection: the batch process is killed (SIGKILL, SIGINT) at random points and resumed;
the final gradebook equals one uninterrupted run, bit for bit, and nothing is left running."""
from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

from grader.report.gradebook import collect, write_csv

from .conftest import ASSIGNMENT, SECRET, make_class

ROOT = Path(__file__).resolve().parents[2]


def _start(subs: Path, out: Path) -> subprocess.Popen:
    env = dict(os.environ, CONVGRADE_SECRET=SECRET.decode(), OMP_WAIT_POLICY="PASSIVE")
    return subprocess.Popen([sys.executable, "-m", "grader", "grade-batch", str(ASSIGNMENT), str(subs),
                             "-o", str(out), "-j", "2", "--no-progress"], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _finished(out: Path) -> int:
    return sum(1 for _ in out.glob("*/results.json")) if out.is_dir() else 0


def _workers_of(pid: int) -> list[int]:
    """Live grading workers started by the batch process ``pid`` (they carry its pid in env)."""
    tag = f"CONVGRADE_BATCH_PARENT={pid}".encode()
    found = []
    for p in Path("/proc").iterdir():
        if p.name.isdigit():
            try:
                if tag in (p / "environ").read_bytes().split(b"\0"):
                    found.append(int(p.name))
            except OSError:
                pass
    return found


def _wait_gone(pid: int, limit: float = 15.0) -> list[int]:
    end = time.monotonic() + limit
    while (left := _workers_of(pid)) and time.monotonic() < end:
        time.sleep(0.1)
    return left


def _gradebook(out: Path, tmp: Path) -> dict:
    rows = collect(out)
    roster = {r["student"]: {"student": r["student"], "sis_id": r["student"], "id_number": r["student"]} for r in rows}
    files = {}
    for fmt in ("canvas", "moodle", "plain"):
        files[fmt] = write_csv(rows, tmp / f"{out.name}-{fmt}.csv", fmt, roster=roster,
                               canvas_assignment_id=1).read_bytes()
    per_student = {r["student"]: (r["score"], r["status"], [(t["name"], t["status"], t["score"]) for t in r["tests"]])
                   for r in rows}
    return {"csv": files, "students": per_student, "index": (out / "index.json").read_bytes()}


def test_killed_at_random_points_and_resumed_equals_one_run(tmp_path):
    subs = tmp_path / "subs"
    ids = make_class(subs, 12)
    ref = tmp_path / "ref"
    p = _start(subs, ref)
    _, err = p.communicate(timeout=300)
    assert p.returncode == 1, err                # the class has broken submissions
    assert _finished(ref) == len(ids)

    out = tmp_path / "out"
    rng = random.Random(7)
    signals = [signal.SIGKILL, signal.SIGINT, signal.SIGKILL]
    for sig in signals:
        done = _finished(out)
        target = done + rng.randint(1, 3)
        p = _start(subs, out)
        end = time.monotonic() + 120
        while _finished(out) < target and p.poll() is None and time.monotonic() < end:
            time.sleep(0.01)
        time.sleep(rng.uniform(0.0, 0.05))       # land anywhere: between files, mid-grading
        if p.poll() is None:
            p.send_signal(sig)
        _, err = p.communicate(timeout=60)
        if sig == signal.SIGINT:
            assert p.returncode == 130, err
            assert "run the same command again to resume" in err
        else:
            assert p.returncode == -signal.SIGKILL
        assert not _wait_gone(p.pid), "grading workers outlived the batch"
        assert _finished(out) < len(ids)

    p = _start(subs, out)
    _, err = p.communicate(timeout=300)
    assert p.returncode == 1, err
    assert "unchanged" in err
    assert _gradebook(out, tmp_path) == _gradebook(ref, tmp_path)
    leftovers = [f for f in out.glob("*/.*")]
    assert not leftovers, leftovers

    # and one more run grades nothing
    p = _start(subs, out)
    _, err = p.communicate(timeout=120)
    assert f"0 graded now, {len(ids)} unchanged" in err
