"""The server's settings in the course's ``convgrade.toml`` (every key optional; an unknown key is
an error that names it)::

    lang = "ru"                         # the course's language: server pages and feedback default

    [serve]
    staff = ["ta1"]                     # roster logins that are TAs ...
    instructors = ["prof"]              # ... and instructors (besides the roster's role column)

    [serve.mail]                        # `convgrade serve-tokens --mail`
    host = "smtp.example.edu"
    port = 587                          # default: 587 with starttls, 465 with ssl, else 25
    from = "CNN course <cnn@example.edu>"
    starttls = true                     # STARTTLS after connecting (default true)
    ssl = false                         # implicit TLS (SMTPS) instead
    username = "cnn-bot"                # optional: log in with it ...
    password_env = "CONVGRADE_SMTP_PASSWORD"   # ... and the password from this environment variable

    [lti]                               # LTI 1.3 launch from Moodle / Canvas (grader.serve.lti)
    tool_url = "https://grader.example.edu"    # this server's public base URL
    [[lti.platform]]
    issuer = "https://moodle.example.edu"
    client_id = "abc123"
    deployment_ids = ["1"]
    auth_login_url = "https://moodle.example.edu/mod/lti/auth.php"
    auth_token_url = "https://moodle.example.edu/mod/lti/token.php"
    key_set_url = "https://moodle.example.edu/mod/lti/certs.php"   # the platform's JWKS
    # key_set_file = "moodle-jwks.json"  # or a JWKS file (relative: to the course folder)
    match = "email"                     # roster column the LTI user is matched by: email | login

The password never sits in the file: only the name of the variable that holds it.
"""
from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path

COURSE_FILE = "convgrade.toml"
SERVE_KEYS = ("staff", "instructors", "mail")
MAIL_KEYS = ("host", "port", "from", "starttls", "ssl", "username", "password_env")
LTI_KEYS = ("tool_url", "platform")
PLATFORM_KEYS = ("issuer", "client_id", "deployment_ids", "auth_login_url", "auth_token_url", "key_set_url",
                 "key_set_file", "match")


class ConfigError(ValueError):
    """A server setting in convgrade.toml is wrong (the message names the file and key)."""


@dataclass(frozen=True)
class MailConfig:
    host: str
    port: int
    sender: str
    starttls: bool = True
    ssl: bool = False
    username: str = ""
    password_env: str = ""


@dataclass(frozen=True)
class Platform:
    issuer: str
    client_id: str
    deployment_ids: tuple[str, ...]
    auth_login_url: str
    auth_token_url: str = ""
    key_set_url: str = ""
    key_set_file: Path | None = None
    match: str = "email"


@dataclass(frozen=True)
class ServeConfig:
    name: str = ""                      # the course's name (convgrade.toml name, else the folder's)
    lang: str = "en"
    staff: tuple[str, ...] = ()
    instructors: tuple[str, ...] = ()
    mail: MailConfig | None = None
    tool_url: str = ""
    platforms: tuple[Platform, ...] = field(default_factory=tuple)


def _table(value, key: str, file: Path, known: tuple[str, ...]) -> dict:
    if not isinstance(value, dict):
        raise ConfigError(f"{file}: {key} must be a table")
    for k in value:
        if k not in known:
            raise ConfigError(f"{file}: unknown key '{key}.{k}' (known: {', '.join(known)})")
    return value


def _str(table: dict, key: str, where: str, file: Path, required: bool = False, default: str = "") -> str:
    value = table.get(key, None)
    if value is None:
        if required:
            raise ConfigError(f"{file}: {where}.{key} is required")
        return default
    if not isinstance(value, str) or (required and not value.strip()):
        raise ConfigError(f"{file}: {where}.{key} must be a non-empty string")
    return value


def _bool(table: dict, key: str, where: str, file: Path, default: bool) -> bool:
    value = table.get(key, default)
    if not isinstance(value, bool):
        raise ConfigError(f"{file}: {where}.{key} must be true or false")
    return value


def _logins(table: dict, key: str, file: Path) -> tuple[str, ...]:
    value = table.get(key, [])
    if not isinstance(value, list) or not all(isinstance(x, (str, int)) for x in value):
        raise ConfigError(f"{file}: serve.{key} must be a list of roster logins")
    return tuple(str(x) for x in value)


def _mail(doc, file: Path) -> MailConfig:
    t = _table(doc, "serve.mail", file, MAIL_KEYS)
    ssl = _bool(t, "ssl", "serve.mail", file, False)
    starttls = _bool(t, "starttls", "serve.mail", file, not ssl)
    if ssl and starttls:
        raise ConfigError(f"{file}: serve.mail: ssl and starttls exclude each other")
    port = t.get("port", 465 if ssl else 587 if starttls else 25)
    if isinstance(port, bool) or not isinstance(port, int) or not 0 < port < 65536:
        raise ConfigError(f"{file}: serve.mail.port must be a port number")
    username = _str(t, "username", "serve.mail", file)
    password_env = _str(t, "password_env", "serve.mail", file, default="CONVGRADE_SMTP_PASSWORD" if username else "")
    return MailConfig(host=_str(t, "host", "serve.mail", file, required=True), port=port,
                      sender=_str(t, "from", "serve.mail", file, required=True), starttls=starttls, ssl=ssl,
                      username=username, password_env=password_env)


def _platform(doc, i: int, file: Path) -> Platform:
    where = f"lti.platform[{i}]"
    t = _table(doc, where, file, PLATFORM_KEYS)
    deployments = t.get("deployment_ids", [])
    if not isinstance(deployments, list) or not deployments or not all(isinstance(d, (str, int)) for d in deployments):
        raise ConfigError(f"{file}: {where}.deployment_ids must be a non-empty list")
    key_set_url = _str(t, "key_set_url", where, file)
    key_file = _str(t, "key_set_file", where, file)
    if bool(key_set_url) == bool(key_file):
        raise ConfigError(f"{file}: {where}: give exactly one of key_set_url and key_set_file (the platform's JWKS)")
    match = _str(t, "match", where, file, default="email")
    if match not in ("email", "login"):
        raise ConfigError(f"{file}: {where}.match must be 'email' or 'login'")
    path = None
    if key_file:
        path = Path(key_file).expanduser()
        path = path if path.is_absolute() else file.parent / path
    return Platform(issuer=_str(t, "issuer", where, file, required=True),
                    client_id=_str(t, "client_id", where, file, required=True),
                    deployment_ids=tuple(str(d) for d in deployments),
                    auth_login_url=_str(t, "auth_login_url", where, file, required=True),
                    auth_token_url=_str(t, "auth_token_url", where, file),
                    key_set_url=key_set_url, key_set_file=path, match=match)


def load_config(course: Path) -> ServeConfig:
    """The server settings of the course folder ``course`` (defaults when it has no convgrade.toml)."""
    file = Path(course) / COURSE_FILE
    if not file.is_file():
        return ServeConfig(name=Path(course).resolve().name)
    try:
        doc = tomllib.loads(file.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{file}: invalid TOML: {exc}") from None
    lang = doc.get("lang", "en")
    if lang not in ("en", "ru"):
        raise ConfigError(f"{file}: lang must be en or ru, got {lang!r}")
    serve = _table(doc.get("serve", {}), "serve", file, SERVE_KEYS)
    mail = _mail(serve["mail"], file) if "mail" in serve else None
    lti = _table(doc.get("lti", {}), "lti", file, LTI_KEYS)
    platforms = lti.get("platform", [])
    if not isinstance(platforms, list):
        raise ConfigError(f"{file}: lti.platform must be an array of tables ([[lti.platform]])")
    tool_url = _str(lti, "tool_url", "lti", file, required=bool(platforms)).rstrip("/")
    name = doc.get("name", Path(course).resolve().name)
    return ServeConfig(name=str(name), lang=lang, staff=_logins(serve, "staff", file), instructors=_logins(serve, "instructors", file),
                       mail=mail, tool_url=tool_url,
                       platforms=tuple(_platform(p, i, file) for i, p in enumerate(platforms)))
