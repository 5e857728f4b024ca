"""LTI 1.3 launch against a simulated platform: the test is Moodle. It has an RSA key, serves its
JWKS on 127.0.0.1 (the course's ``key_set_url``), answers the tool's OIDC redirect by signing an
id_token with PyJWT and posting it back, like a browser would. One real server for the module.

Covered: a good launch signs the roster student in (matched by email) and a TA into the staff
pages; a bad signature, a wrong audience, a replayed id_token (its nonce already used), a
forged state, an expired token and a user not on the roster are each refused with the reason.
"""
from __future__ import annotations

import json
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, HTTPServer
from urllib.parse import parse_qs, urlparse

import pytest

for _mod in ("httpx", "starlette", "uvicorn", "sqlalchemy", "alembic", "pylti1p3", "jwt", "cryptography"):
    pytest.importorskip(_mod, reason="the [serve] extra is not installed")

import httpx  # noqa: E402
import jwt  # noqa: E402
from cryptography.hazmat.primitives import serialization  # noqa: E402
from cryptography.hazmat.primitives.asymmetric import rsa  # noqa: E402

from .conftest import ROSTER, Server, free_port  # noqa: E402

pytestmark = pytest.mark.slow  # a real server

ISS = "https://moodle.test"
CLIENT = "convgrade-tool"
DEPLOYMENT = "1"
KID = "platform-key-1"
AUTH = "https://moodle.test/mod/lti/auth.php"


def _key():
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _pem(key) -> bytes:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


class Platform:
    def __init__(self):
        self.key, self.other = _key(), _key()
        jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(self.key.public_key()))
        self.jwks = {"keys": [dict(jwk, kid=KID, alg="RS256", use="sig")]}
        self.fetches = 0
        platform = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                platform.fetches += 1
                body = json.dumps(platform.jwks).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass
        self.http = HTTPServer(("127.0.0.1", free_port()), Handler)
        self.url = f"http://127.0.0.1:{self.http.server_port}/mod/lti/certs.php"
        threading.Thread(target=self.http.serve_forever, daemon=True).start()

    def id_token(self, nonce: str, email: str, *, key=None, aud=CLIENT, exp_in: float = 300, **extra) -> str:
        now = int(time.time())
        claims = {
            "iss": ISS, "aud": aud, "sub": "moodle-user-" + email.split("@")[0], "iat": now, "exp": now + exp_in,
            "nonce": nonce, "email": email, "name": "A Student",
            "https://purl.imsglobal.org/spec/lti/claim/deployment_id": DEPLOYMENT,
            "https://purl.imsglobal.org/spec/lti/claim/message_type": "LtiResourceLinkRequest",
            "https://purl.imsglobal.org/spec/lti/claim/version": "1.3.0",
            "https://purl.imsglobal.org/spec/lti/claim/roles": [
                "http://purl.imsglobal.org/vocab/lis/v2/membership#Learner"],
            "https://purl.imsglobal.org/spec/lti/claim/resource_link": {"id": "a2-link"},
            "https://purl.imsglobal.org/spec/lti/claim/target_link_uri": "https://grader.test/",
        }
        claims.update(extra)
        return jwt.encode(claims, _pem(key or self.key), algorithm="RS256", headers={"kid": KID})


@pytest.fixture(scope="module")
def lti_server(tmp_path_factory):
    platform = Platform()
    course = tmp_path_factory.mktemp("lti") / "course"
    (course / "assignments").mkdir(parents=True)
    (course / "roster.csv").write_text(ROSTER, encoding="utf-8")
    srv = Server(course, "--workers", "0")
    (course / "convgrade.toml").write_text(
        f'name = "CNN"\n[lti]\ntool_url = "{srv.base}"\n[[lti.platform]]\nissuer = "{ISS}"\n'
        f'client_id = "{CLIENT}"\ndeployment_ids = ["{DEPLOYMENT}"]\nauth_login_url = "{AUTH}"\n'
        f'key_set_url = "{platform.url}"\nmatch = "email"\n', encoding="utf-8")
    srv.start()
    yield srv, platform
    srv.stop()
    platform.http.shutdown()


def _login(srv) -> tuple[httpx.Client, dict]:
    """The platform's login initiation, as the browser follows it: the tool's redirect's query."""
    c = httpx.Client(base_url=srv.base, timeout=30, follow_redirects=False)
    r = c.get("/lti/login", params={"iss": ISS, "login_hint": "42", "target_link_uri": srv.base + "/",
                                    "client_id": CLIENT, "lti_deployment_id": DEPLOYMENT,
                                    "lti_message_hint": "hint"})
    assert r.status_code == 302, r.text
    loc = r.headers["location"]
    assert loc.startswith(AUTH + "?")
    q = {k: v[0] for k, v in parse_qs(urlparse(loc).query).items()}
    assert q["redirect_uri"] == srv.base + "/lti/launch" and q["client_id"] == CLIENT
    assert q["response_type"] == "id_token" and q["scope"] == "openid" and q["lti_message_hint"] == "hint"
    return c, q


def _launch(c, q, token):
    return c.post("/lti/launch", data={"id_token": token, "state": q["state"]})


def test_good_launch_signs_the_roster_student_in(lti_server):
    srv, platform = lti_server
    c, q = _login(srv)
    r = _launch(c, q, platform.id_token(q["nonce"], "Alice@X.edu"))        # email matched without case
    assert r.status_code == 200 and 'id="signed-in"' in r.text and 'content="0;url=/"' in r.text
    assert "cg_session" in r.headers.get("set-cookie", "")
    home = c.get("/").text
    assert "signed in as <b>alice</b>" in home
    assert platform.fetches >= 1                                           # the JWKS came from the platform


def test_a_ta_lands_on_the_staff_pages(lti_server):
    srv, platform = lti_server
    c, q = _login(srv)
    r = _launch(c, q, platform.id_token(q["nonce"], "ta@x.edu"))
    assert r.status_code == 200 and 'content="0;url=/staff"' in r.text
    assert c.get("/staff").status_code == 200


@pytest.mark.parametrize("case, says", [
    ("bad_signature", "Signature verification failed"),
    ("wrong_audience", "not addressed to this tool"),
    ("expired", "expired"),
    ("not_on_roster", "no one on the course roster"),
    ("forged_state", "State not found"),
])
def test_refused_launches(lti_server, case, says):
    srv, platform = lti_server
    c, q = _login(srv)
    email = "mallory@x.edu" if case == "not_on_roster" else "alice@x.edu"
    token = platform.id_token(q["nonce"], email, key=platform.other if case == "bad_signature" else None,
                              aud="someone-else" if case == "wrong_audience" else CLIENT,
                              exp_in=-60 if case == "expired" else 300)
    state = "state-" + str(uuid.uuid4()) if case == "forged_state" else q["state"]
    r = c.post("/lti/launch", data={"id_token": token, "state": state})
    assert r.status_code == 403 and "LTI launch refused" in r.text and says in r.text, r.text
    assert "cg_session" not in r.headers.get("set-cookie", "")
    assert "signed in as" not in c.get("/").text


def test_a_replayed_id_token_is_refused(lti_server):
    srv, platform = lti_server
    c, q = _login(srv)
    token = platform.id_token(q["nonce"], "bob@x.edu")
    assert _launch(c, q, token).status_code == 200
    c.cookies.delete("cg_session")
    again = _launch(c, q, token)                      # the same browser, state and token: the nonce is used up
    assert again.status_code == 403 and "Invalid Nonce" in again.text
    other = httpx.Client(base_url=srv.base, timeout=30, cookies={k: v for k, v in c.cookies.items()
                                                                 if k.startswith("lti1p3")})
    assert other.post("/lti/launch", data={"id_token": token, "state": q["state"]}).status_code == 403


def test_login_of_an_unknown_platform_is_refused(lti_server):
    srv, _ = lti_server
    r = httpx.get(srv.base + "/lti/login", params={"iss": "https://evil.test", "login_hint": "1",
                                                   "target_link_uri": srv.base + "/"})
    assert r.status_code == 400 and "registration" in r.text.lower()
