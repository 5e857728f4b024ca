"""A real ``convgrade serve`` on 127.0.0.1 (a free port) with SQLite in a tmp course folder."""
from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

try:  # the test modules skip themselves (SERVE_SKIP) without the [serve] extra
    import httpx
except ImportError:
    httpx = None

ROOT = Path(__file__).resolve().parents[2]
A2 = ROOT / "assignments" / "a2_convolution"
ROSTER = "student,name,email,role\nalice,Alice A,alice@x.edu,\nbob,Bob B,bob@x.edu,\nta1,Tara T,ta@x.edu,ta\n"


def _env() -> dict:
    env = dict(os.environ, PYTHONPATH=str(ROOT), OMP_WAIT_POLICY="PASSIVE",
               CONVGRADE_SECRET="serve-test-secret")
    return env


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def course(tmp_path) -> Path:
    c = tmp_path / "course"
    (c / "assignments").mkdir(parents=True)
    shutil.copytree(A2, c / "assignments" / A2.name)
    (c / "roster.csv").write_text(ROSTER, encoding="utf-8")
    return c


def issue_tokens(course: Path) -> dict[str, str]:
    out = subprocess.run([sys.executable, "-m", "grader", "serve-tokens", "--course", str(course)],
                         env=_env(), capture_output=True, text=True, timeout=120, check=True).stdout
    return {line.split("\t")[1]: line.split("\t")[2].split("token=")[1] for line in out.splitlines()}


class Server:
    def __init__(self, course: Path, *args: str):
        self.course, self.args = course, args
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.proc = None

    def start(self, timeout: float = 60.0) -> "Server":
        self.proc = subprocess.Popen([sys.executable, "-m", "grader", "serve", "--course", str(self.course),
                                      "--port", str(self.port), *self.args],
                                     env=_env(), start_new_session=True)
        t0 = time.monotonic()
        while time.monotonic() - t0 < timeout:
            assert self.proc.poll() is None, "the server exited while starting"
            try:
                httpx.get(self.base + "/", timeout=2)
                return self
            except httpx.HTTPError:
                time.sleep(0.2)
        raise AssertionError("the server did not start")

    def kill(self) -> None:
        """SIGKILL the server and its workers (the whole process group): a crash."""
        os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(10)

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                pass
        if self.proc:
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass


@pytest.fixture
def server_factory():
    started = []

    def make(course, *args):
        s = Server(course, *args)
        started.append(s)
        return s
    yield make
    for s in started:
        s.stop()


CSRF_RE = re.compile(r'name="csrf" value="([^"]+)"')


def csrf_of(client, path: str = "/") -> str:
    html = client.get(path).text
    return CSRF_RE.search(html).group(1)


_SSL = None


def sign_in(base: str, token: str):
    global _SSL
    if _SSL is None:  # one context for all clients: building one per client costs ~50 ms of CPU
        import ssl
        _SSL = ssl.create_default_context()
    client = httpx.Client(base_url=base, timeout=60, follow_redirects=False, verify=_SSL)
    csrf = csrf_of(client, f"/login?token={token}")
    r = client.post("/login", data={"csrf": csrf, "token": token})
    assert r.status_code == 303, r.text
    return client


def upload(client, aid: str, filename: str, data: bytes):
    csrf = csrf_of(client)
    return client.post(f"/submit/{aid}", data={"csrf": csrf}, files={"file": (filename, data)})


def wait_graded(client, sid: int, timeout: float = 50.0) -> str:
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout:
        html = client.get(f"/submission/{sid}").text
        if 'id="score"' in html:
            return html
        time.sleep(0.3)
    raise AssertionError(f"submission {sid} not graded in {timeout} s")
