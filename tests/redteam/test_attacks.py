"""Red team: hostile submissions against the full grading path.

Each file in ``attacks/`` declares its expected outcome in ``# expect:`` header lines:
``max_score=N`` (no more than its honest part), ``min_score=N`` (the honest part is still
scored), ``reason~=REGEX`` (the reason shown), ``no_leak`` (the secret and hidden inputs never
appear in the results), ``bwrap_no_network``. For every attack the test also asserts that the
grader finished within its limits and that no process, cgroup or file is left behind and that no
trusted file changed.
"""
from __future__ import annotations

import io
import json
import os
import re
import socket
import threading
import time
import zipfile
from pathlib import Path

import pytest

from grader.assignment import load
from grader.authoring.examples import example_source
from grader.authoring import master_source
from grader.grade import grade_submission
from grader.results import hidden_inputs
from grader.sandbox import SandboxConfig, detect_isolation

HERE = Path(__file__).parent
ROOT = HERE.parent.parent
ATTACKS = sorted((HERE / "attacks").glob("*.py"))
SOLUTION = master_source("a2_convolution")
SECRET = b"redteam-course-secret-7f3a9c"

ISOLATION = detect_isolation(SandboxConfig())
pytestmark = pytest.mark.skipif(
    not ISOLATION.level.startswith("bwrap"),
    reason=f"red-team attacks that write files or open sockets run only under bubblewrap "
           f"(here: {ISOLATION.level}; install bubblewrap)")
# every attack is graded as `convgrade grade` grades it, and nothing may outlive that grade (no
# zygote kept for the next test: tests/sandbox/test_zygote.py attacks the kept zygotes)
pytestmark = [pytestmark, pytest.mark.usefixtures("one_shot_pools")]


def expectations(text: str) -> dict:
    exp = {}
    for line in text.splitlines():
        m = re.match(r"#\s*expect:\s*(\w+)(?:(=|~=)(.*))?$", line.strip())
        if m:
            key, op, value = m.groups()
            exp[key] = value.strip() if op else True
    return exp


def trusted_digest() -> frozenset:
    """Trusted files an attack has written to (the overwrite attack writes ``PWNED = True``), and
    results files dropped into the repository. Content hashes would be flaky while people edit
    the tree, so the check looks for the attacks' marks."""
    marked = set()
    for folder in ("grader", "reference", "assignments", "tests/redteam/assignment"):
        for p in (ROOT / folder).rglob("*"):
            try:
                if p.is_file() and p.stat().st_size < 1 << 20 and p.read_bytes() == b"PWNED = True\n":
                    marked.add(str(p))
            except OSError:
                pass
    marked |= {str(p) for p in (ROOT / "results.json", ROOT.parent / "results.json") if p.exists()}
    return frozenset(marked)


def _descendants(pid: int) -> set[str]:
    """Pids of every live descendant of ``pid`` (read from /proc)."""
    children: dict[str, list[str]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        ppid = stat.rsplit(")", 1)[1].split()[1]
        children.setdefault(ppid, []).append(entry)
    out, todo = set(), [str(pid)]
    while todo:
        for c in children.get(todo.pop(), []):
            if c not in out:
                out.add(c)
                todo.append(c)
    return out


def leftovers() -> tuple[set, set]:
    """This process's sandbox cgroups (named convgrade-<pid>-<n>) and its descendant processes."""
    me = f"convgrade-{os.getpid()}-"
    cgroups = set()
    for ctl in ("memory", "pids"):
        for dirpath, dirnames, _ in os.walk(Path("/sys/fs/cgroup") / ctl, onerror=lambda e: None):
            cgroups |= {os.path.join(dirpath, d) for d in dirnames if d.startswith(me)}
    procs = {p for p in _descendants(os.getpid())
             if "ps" not in Path(f"/proc/{p}/comm").read_text(errors="replace") if Path(f"/proc/{p}").exists()}
    return cgroups, procs


@pytest.fixture(scope="module")
def assignment():
    return load(HERE / "assignment")


@pytest.fixture
def listener():
    """A loopback TCP listener recording every connection it gets."""
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(8)
    srv.settimeout(0.2)
    got = []
    stop = threading.Event()

    def serve():
        while not stop.is_set():
            try:
                conn, _ = srv.accept()
                got.append(conn.recv(100))
                conn.close()
            except OSError:
                pass

    t = threading.Thread(target=serve, daemon=True)
    t.start()
    yield srv.getsockname()[1], got
    stop.set()
    t.join(2)
    srv.close()


def run_attack(assignment, path: Path, monkeypatch) -> tuple[dict, float]:
    monkeypatch.setenv("CONVGRADE_SECRET", SECRET.decode())
    t0 = time.monotonic()
    results = grade_submission(assignment, path, student="mallory", secret=SECRET)
    return results, time.monotonic() - t0


def check_expectations(exp: dict, results: dict, listener_got=None):
    score = results["score"]
    text = json.dumps(results)
    if "max_score" in exp:
        assert score <= float(exp["max_score"]) + 1e-9, f"scored {score}: {results['output']}"
    if "min_score" in exp:
        assert score >= float(exp["min_score"]) - 1e-9, f"scored only {score}: {text[:3000]}"
    if "reason" in exp:
        assert re.search(exp["reason"], text, re.I), f"reason /{exp['reason']}/ not in results"
    if "no_leak" in exp:
        assert SECRET.decode() not in text
        assert "checks.toml" not in text and "assignment.toml" not in text
    if "bwrap_no_network" in exp and listener_got is not None:
        assert listener_got == [], f"the sandbox reached the loopback listener: {listener_got}"


@pytest.mark.parametrize("path", ATTACKS, ids=[p.stem for p in ATTACKS])
def test_attack(path, assignment, listener, tmp_path, monkeypatch):
    port, got = listener
    source = path.read_text().replace("{SOLUTION}", SOLUTION).replace("{PORT}", str(port))
    sub = tmp_path / "submission.py"
    sub.write_text(source)
    before_digest, before_left = trusted_digest(), leftovers()
    results, elapsed = run_attack(assignment, sub, monkeypatch)
    check_expectations(expectations(source), results, got)
    assert results["convgrade"]["isolation"]["level"].startswith("bwrap")
    n_rows = len(results["tests"])
    assert n_rows == 5, [t["name"] for t in results["tests"]]   # forward, dx, dW, db, maxpool
    assert_clean_common(before_digest, before_left, elapsed, assignment)


def assert_clean_common(before_digest, before_left, elapsed, assignment):
    assert elapsed < assignment.limits["wall_s"] * 2 + 15, f"grader took {elapsed:.1f} s"
    assert trusted_digest() == before_digest, "a trusted file changed"
    deadline = time.monotonic() + 5
    cg, procs = leftovers()
    while (procs - before_left[1] or cg - before_left[0]) and time.monotonic() < deadline:
        time.sleep(0.2)
        cg, procs = leftovers()
    assert cg <= before_left[0], f"cgroups left behind: {cg - before_left[0]}"
    assert procs <= before_left[1], f"processes left behind: {procs - before_left[1]}"
    assert not Path("/tmp/convgrade-pwned").exists()


def test_hidden_feedback_never_shows_hidden_inputs(assignment, tmp_path, monkeypatch):
    """A wrong answer on a hidden check gets a diagnosis, not the hidden input values."""
    sub = tmp_path / "zero_padding.py"
    sub.write_text(example_source("a2_convolution", "conv2d_always_zero_padding"))
    results, _ = run_attack(assignment, sub, monkeypatch)
    hidden = [t for t in results["tests"] if hidden_inputs(t) and t["status"] == "failed"]
    assert hidden
    for t in hidden:
        assert "case" not in t["extra_data"]
        assert "index" not in t["output"]   # no element positions for hidden inputs
        assert not re.search(r"-?\d+\.\d{4,}", t["output"]), t["output"]   # no raw input values


def _zip(path: Path, members: dict[str, str]):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for name, text in members.items():
            z.writestr(name, text)
    path.write_bytes(buf.getvalue())


def test_sitecustomize_and_conftest_in_zip_are_never_loaded(assignment, tmp_path, monkeypatch):
    evil = "import os\nopen('/tmp/convgrade-pwned', 'w').write('x')\nraise SystemExit(7)\n"
    sub = tmp_path / "upload.zip"
    _zip(sub, {"sitecustomize.py": evil, "conftest.py": evil, "usercustomize.py": evil,
               "solution.py": SOLUTION})
    before = trusted_digest(), leftovers()
    results, elapsed = run_attack(assignment, sub, monkeypatch)
    assert results["score"] == results["max_score"], results["output"]
    assert any("ignored" in n for n in results["convgrade"]["notes"])
    assert_clean_common(before[0], before[1], elapsed, assignment)


def test_notebook_with_stored_success_outputs_scores_only_its_code(assignment, tmp_path, monkeypatch):
    nb = {"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": [
        {"cell_type": "code", "metadata": {}, "execution_count": 1, "source": "x = 1",
         "outputs": [{"output_type": "stream", "name": "stdout",
                      "text": "All checks passed. Score: 6/6\n"},
                     {"output_type": "execute_result", "execution_count": 1, "metadata": {},
                      "data": {"application/json": {"score": 6, "tests": []}}}]}]}
    sub = tmp_path / "claims.ipynb"
    sub.write_text(json.dumps(nb))
    results, _ = run_attack(assignment, sub, monkeypatch)
    assert results["score"] == 0
