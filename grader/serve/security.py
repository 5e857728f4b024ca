"""Tokens, session cookies and CSRF for ``convgrade serve``.

* Sign-in tokens are random (``secrets.token_urlsafe``) and stored only as their SHA-256.
* The session cookie is ``kind:id:expiry`` signed with HMAC-SHA256 under the server's own key
  (``COURSE/.convgrade-serve/session.key``, mode 600; never the course secret, which the server
  neither reads nor serves).
* CSRF: a random ``cg_csrf`` cookie per browser; every form carries ``HMAC(key, cookie)`` and every
  POST is refused unless the two match.
"""
from __future__ import annotations

import hashlib
import hmac
import os
import secrets
import time
from pathlib import Path

SESSION_COOKIE = "cg_session"
CSRF_COOKIE = "cg_csrf"
SESSION_S = 12 * 3600


def new_token() -> str:
    return secrets.token_urlsafe(24)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def load_key(path: Path) -> bytes:
    if not path.exists():
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            return path.read_bytes()
        with os.fdopen(fd, "wb") as f:
            f.write(secrets.token_bytes(32))
    return path.read_bytes()


def _sign(key: bytes, value: str) -> str:
    return hmac.new(key, value.encode(), hashlib.sha256).hexdigest()


def make_session(key: bytes, kind: str, ident: int) -> str:
    value = f"{kind}:{ident}:{int(time.time()) + SESSION_S}"
    return f"{value}:{_sign(key, value)}"


def read_session(key: bytes, cookie: str | None) -> tuple[str, int] | None:
    if not cookie or cookie.count(":") != 3:
        return None
    kind, ident, exp, sig = cookie.split(":")
    if not hmac.compare_digest(sig, _sign(key, f"{kind}:{ident}:{exp}")):
        return None
    if kind not in ("student", "staff") or not ident.isdigit() or not exp.isdigit() or int(exp) < time.time():
        return None
    return kind, int(ident)


def csrf_for(key: bytes, nonce: str) -> str:
    return _sign(key, "csrf:" + nonce)


def csrf_ok(key: bytes, nonce: str | None, sent: str | None) -> bool:
    return bool(nonce) and bool(sent) and hmac.compare_digest(csrf_for(key, nonce), str(sent))
