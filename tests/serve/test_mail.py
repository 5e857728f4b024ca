"""``convgrade serve-tokens --mail`` against a real SMTP server on 127.0.0.1 (aiosmtpd): each
person with an email gets their link, in their language; the command prints no token of anyone
mailed; the mailed link signs in; a wrong password changes no link."""
from __future__ import annotations

import email
import email.policy
import hashlib
import sqlite3
import subprocess
import sys

import pytest

for _mod in ("sqlalchemy", "alembic"):
    pytest.importorskip(_mod, reason="the [serve] extra is not installed")
pytest.importorskip("aiosmtpd", reason="aiosmtpd is not installed (the [test] extra)")

from aiosmtpd.controller import Controller  # noqa: E402
from aiosmtpd.smtp import AuthResult  # noqa: E402

from .conftest import _env, free_port  # noqa: E402

ROSTER = ("student,name,email,lang,role\nalice,Alice A,alice@x.edu,en,\nboris,Борис Б,boris@x.edu,ru,\n"
          "nomail,No Mail,,,\nta1,Tara T,ta@x.edu,,ta\n")
PASSWORD = "s3cret-smtp"


class Inbox:
    def __init__(self):
        self.messages = []

    async def handle_DATA(self, server, session, envelope):
        self.messages.append((envelope.rcpt_tos, email.message_from_bytes(envelope.content, policy=email.policy.default)))
        return "250 OK"


def _auth(server, session, envelope, mechanism, auth_data):
    ok = auth_data.login == b"cnn-bot" and auth_data.password == PASSWORD.encode()
    return AuthResult(success=ok, handled=False)


@pytest.fixture(scope="module")
def smtp():
    inbox = Inbox()
    port = free_port()
    ctl = Controller(inbox, hostname="127.0.0.1", port=port, authenticator=_auth, auth_require_tls=False)
    ctl.start()
    yield inbox, port
    ctl.stop()


def _course(tmp_path, port: int):
    c = tmp_path / "course"
    (c / "assignments").mkdir(parents=True)
    (c / "roster.csv").write_text(ROSTER, encoding="utf-8")
    (c / "convgrade.toml").write_text(
        f'name = "CNN 2026"\nlang = "en"\n[serve.mail]\nhost = "127.0.0.1"\nport = {port}\n'
        f'from = "CNN course <cnn@x.edu>"\nstarttls = false\nusername = "cnn-bot"\n'
        f'password_env = "TEST_SMTP_PASSWORD"\n', encoding="utf-8")
    return c


def _tokens(course, password: str, *extra):
    env = dict(_env(), TEST_SMTP_PASSWORD=password)
    return subprocess.run([sys.executable, "-m", "grader", "serve-tokens", "--course", str(course), "--mail",
                           "--base-url", "https://grader.x.edu", *extra],
                          env=env, capture_output=True, text=True, timeout=120)


def _hashes(course) -> dict[str, str]:
    with sqlite3.connect(course / ".convgrade-serve" / "serve.db") as db:
        return dict(db.execute("SELECT login, token_hash FROM students UNION ALL SELECT login, token_hash FROM staff"))


def test_mail_sends_each_person_their_link_and_prints_no_mailed_token(tmp_path, smtp):
    inbox, port = smtp
    course = _course(tmp_path, port)
    inbox.messages.clear()
    r = _tokens(course, PASSWORD)
    assert r.returncode == 1, r.stdout + r.stderr          # nomail has no email: its link is printed
    by_to = {rcpt[0]: msg for rcpt, msg in inbox.messages}
    assert sorted(by_to) == ["alice@x.edu", "boris@x.edu", "ta@x.edu"]
    hashes = _hashes(course)
    links = {}
    for login, to in (("alice", "alice@x.edu"), ("boris", "boris@x.edu"), ("ta1", "ta@x.edu")):
        body = by_to[to].get_content()
        link = next(w for w in body.split() if w.startswith("https://grader.x.edu/login?token="))
        token = link.split("token=")[1]
        assert hashlib.sha256(token.encode()).hexdigest() == hashes[login]      # the mailed link signs in
        assert token not in r.stdout and token not in r.stderr                   # never printed
        links[login] = link
    assert "CNN 2026" in by_to["alice@x.edu"]["Subject"] and "Hello Alice A" in by_to["alice@x.edu"].get_content()
    assert "Здравствуйте, Борис Б" in by_to["boris@x.edu"].get_content()        # the roster's language
    assert by_to["alice@x.edu"]["From"] == "CNN course <cnn@x.edu>"
    lines = dict(l.split("\t", 1) and (l.split("\t")[1], l.split("\t")[2]) for l in r.stdout.splitlines())
    assert lines["alice"] == "mailed" and lines["ta1"] == "mailed"
    assert lines["nomail"].startswith("https://grader.x.edu/login?token=")      # as without --mail
    assert "nomail: not mailed (no email in the roster)" in r.stderr
    assert PASSWORD not in r.stdout + r.stderr

    # --only one person: only that message, the others' links unchanged
    inbox.messages.clear()
    assert _tokens(course, PASSWORD, "--only", "alice").returncode == 0
    assert [rcpt for rcpt, _ in inbox.messages] == [["alice@x.edu"]]
    after = _hashes(course)
    assert after["boris"] == hashes["boris"] and after["alice"] != hashes["alice"]


def test_a_refused_login_changes_no_link(tmp_path, smtp):
    inbox, port = smtp
    course = _course(tmp_path, port)
    assert _tokens(course, PASSWORD, "--only", "alice").returncode == 0
    before = _hashes(course)
    inbox.messages.clear()
    r = _tokens(course, "wrong-password")
    assert r.returncode == 3 and "refused the login" in r.stderr and "no link was changed" in r.stderr
    assert inbox.messages == [] and _hashes(course) == before
    assert "wrong-password" not in r.stdout + r.stderr
