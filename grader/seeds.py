"""Seeds for check inputs: HMAC-SHA256 of (assignment, check, student) under a key.

Hidden checks use the course secret, so each student gets their own hidden inputs and a re-grade
is bit-identical; the secret never leaves the grader process. Visible checks use a public key, so
the inputs a student sees with ``convgrade check`` are the ones ``convgrade grade`` uses.
"""
from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from pathlib import Path

PUBLIC_KEY = b"convgrade-public-checks"
PUBLIC_STUDENT = "public"


class SecretError(RuntimeError):
    pass


def secret_path() -> Path:
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "convgrade" / "secret"


def course_secret(create: bool = True) -> bytes:
    """The course secret: ``$CONVGRADE_SECRET``, else ``$CONVGRADE_SECRET_FILE``, else the current
    course's ``secret_file`` (convgrade.toml), else ``~/.config/convgrade/secret``; a missing file
    is created with 32 random bytes, mode 600, on first use."""
    value = os.environ.get("CONVGRADE_SECRET")
    if value:
        return value.encode()
    path = os.environ.get("CONVGRADE_SECRET_FILE")
    if not path:
        from .course import current_course

        path = current_course().secret_file or secret_path()
    path = Path(path)
    if path.exists():
        return path.read_bytes().strip()
    if not create:
        raise SecretError(f"no course secret: set CONVGRADE_SECRET or create {path}")
    path.parent.mkdir(parents=True, exist_ok=True)
    token = secrets.token_hex(32).encode()
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(token)
    return token


def derive_seed(key: bytes, assignment: str, check: str, student: str) -> int:
    """A 63-bit seed from HMAC-SHA256(key, assignment | check | student)."""
    msg = "\x1f".join((assignment, check, student)).encode()
    digest = hmac.new(key, msg, hashlib.sha256).digest()
    return int.from_bytes(digest[:8], "big") >> 1


def hidden_seeds(assignment, student: str, secret: bytes) -> dict[str, int]:
    """``{check name: seed}`` of every hidden check of ``assignment`` for ``student``. A batch
    computes these where the secret lives and sends only them to grading machines (Dask
    workers): a seed opens one student's inputs of one check, the secret every student's."""
    return {c.name: derive_seed(secret, assignment.id, c.name, student) for c in assignment.checks if not c.visible}


def check_seed(assignment: str, check: str, student: str, visible: bool,
               secret: bytes | None = None) -> int:
    if visible:
        return derive_seed(PUBLIC_KEY, assignment, check, PUBLIC_STUDENT)
    return derive_seed(secret if secret is not None else course_secret(), assignment, check, student)
