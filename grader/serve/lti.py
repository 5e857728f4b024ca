"""LTI 1.3 launch from Moodle or Canvas, through PyLTI1p3 (the ``[serve]`` extra).

The platforms are ``[[lti.platform]]`` tables in convgrade.toml (grader.serve.config). The tool's
URLs, registered in the platform: OIDC login initiation ``TOOL_URL/lti/login`` (GET or POST),
redirect / launch ``TOOL_URL/lti/launch``.

1. ``login``: the platform's login initiation (``iss``, ``login_hint``, ``client_id`` ...) is
   checked against the registered platforms; the browser is sent to the platform's
   ``auth_login_url`` with a fresh ``state`` (also a short-lived cookie) and ``nonce``.
2. ``launch``: the platform posts back ``id_token`` and ``state``. PyLTI1p3 checks the state
   against the cookie, the nonce against the store, the issuer and audience (``aud``: the
   registered ``client_id``; with several audiences ``azp`` must be it too), the signature against
   the platform's JWKS (``key_set_url``, or a ``key_set_file``), ``exp``, the deployment and the
   message (a resource link launch, LTI 1.3.0, a user, roles).
3. A nonce is good for one launch: the store hands it out once (a replayed id_token is refused).
4. ``person``: the launch's user is matched to the roster by ``match``: ``email`` (the ``email``
   claim) or ``login`` (Canvas's custom ``login_id`` / ``canvas_user_login_id``, Moodle's
   ``ext.user_username``, else ``lis.person_sourcedid``). The roster decides who is staff; LMS
   roles grant nothing. Someone not on the roster is refused.

The store is the ``lti_store`` table (every server process shares it); expired rows are purged
at each login.
"""
from __future__ import annotations

import datetime as dt
import json
from sqlalchemy import delete, func, select

from pylti1p3.cookie import CookieService
from pylti1p3.exception import LtiException, OIDCException
from pylti1p3.launch_data_storage.base import LaunchDataStorage
from pylti1p3.message_launch import MessageLaunch
from pylti1p3.oidc_login import OIDCLogin
from pylti1p3.redirect import Redirect
from pylti1p3.request import Request as _LtiRequest
from pylti1p3.session import SessionService
from pylti1p3.tool_config import ToolConfDict

from .config import Platform, ServeConfig
from .db import LtiValue, Staff, Student, as_utc, utcnow

CLAIM = "https://purl.imsglobal.org/spec/lti/claim/"
STATE_S = 300          # the OIDC state cookie
STORE_S = 3600         # nonces and launch data


class LaunchRefused(Exception):
    """The login or launch is not accepted; the message says why (no secret in it)."""


class _Request(_LtiRequest):
    def __init__(self, params: dict[str, str], cookies: dict[str, str], secure: bool):
        self._params, self._cookies, self._secure = params, cookies, secure

    @property
    def session(self):          # not used: the store is the database
        return {}

    def is_secure(self) -> bool:
        return self._secure

    def get_param(self, key: str) -> str:
        return self._params.get(key)

    def get_cookie(self, key: str) -> str | None:
        return self._cookies.get(key)


class _Cookies(CookieService):
    """Reads the request's ``lti1p3-*`` cookies; collects the ones to set on the response."""

    def __init__(self, request: _Request):
        self._request = request
        self.to_set: dict[str, tuple[str, int | None]] = {}

    def _key(self, name: str) -> str:
        return f"{self._cookie_prefix}-{name}"

    def get_cookie(self, name: str) -> str | None:
        return self._request.get_cookie(self._key(name))

    def set_cookie(self, name: str, value, exp: int | None = 3600):
        self.to_set[self._key(name)] = (str(value), exp)

    def apply(self, response) -> None:
        secure = self._request.is_secure()
        for key, (value, exp) in self.to_set.items():
            # the launch is a cross-site POST from the platform: over HTTPS the cookies must be
            # SameSite=None to come back with it (plain HTTP is for loopback tests only)
            response.set_cookie(key, value, max_age=exp, path="/", httponly=True, secure=secure,
                                samesite="none" if secure else "lax")


class _Redirect(Redirect):
    def __init__(self, location: str):
        self._location = location

    def do_redirect(self) -> str:
        return self._location

    def do_js_redirect(self) -> str:
        return self._location

    def set_redirect_url(self, location: str):
        self._location = location

    def get_redirect_url(self) -> str:
        return self._location


class _Login(OIDCLogin):
    def get_redirect(self, url: str) -> _Redirect:
        return _Redirect(url)


class _Launch(MessageLaunch):
    def _get_request_param(self, key: str) -> str:
        return self._request.get_param(key)


class DbStore(LaunchDataStorage):
    """PyLTI1p3's launch data storage on the ``lti_store`` table. ``check_value`` of a nonce
    deletes it: the first launch that shows a nonce uses it up."""

    def __init__(self, Session, clock=utcnow):
        super().__init__()
        self._Session, self._clock = Session, clock

    def can_set_keys_expiration(self) -> bool:
        return True

    def set_value(self, key: str, value, exp: int | None = None) -> None:
        key = self._prepare_key(key)
        until = self._clock() + dt.timedelta(seconds=min(exp or STORE_S, 86400))
        with self._Session() as s, s.begin():
            row = s.get(LtiValue, key) or LtiValue(key=key)
            row.value, row.expires_at = json.dumps(value), until
            s.add(row)

    def get_value(self, key: str):
        key = self._prepare_key(key)
        with self._Session() as s:
            row = s.get(LtiValue, key)
            if row is None or as_utc(row.expires_at) <= self._clock():
                return None
            return json.loads(row.value)

    def check_value(self, key: str) -> bool:
        key = self._prepare_key(key)
        now = self._clock()
        with self._Session() as s, s.begin():
            if "-nonce-" in key:    # single use: only one request gets rowcount 1
                return s.execute(delete(LtiValue).where(LtiValue.key == key, LtiValue.expires_at > now)).rowcount == 1
            return s.scalar(select(func.count()).select_from(LtiValue)
                            .where(LtiValue.key == key, LtiValue.expires_at > now)) == 1

    def purge(self) -> None:
        with self._Session() as s, s.begin():
            s.execute(delete(LtiValue).where(LtiValue.expires_at <= self._clock()))


def tool_config(cfg: ServeConfig) -> ToolConfDict:
    conf: dict[str, list[dict]] = {}
    for p in cfg.platforms:
        key_set = None
        if p.key_set_file is not None:
            try:
                key_set = json.loads(p.key_set_file.read_text(encoding="utf-8"))
            except (OSError, ValueError) as exc:
                raise LaunchRefused(f"the JWKS file of {p.issuer} cannot be read: {exc}") from None
        conf.setdefault(p.issuer, []).append({
            "default": p.issuer not in conf, "client_id": p.client_id, "auth_login_url": p.auth_login_url,
            "auth_token_url": p.auth_token_url or p.auth_login_url, "key_set_url": p.key_set_url or None,
            "key_set": key_set, "deployment_ids": list(p.deployment_ids)})
    return ToolConfDict(conf)


class Lti:
    """The tool side of the launch for one server (its settings, its database)."""

    def __init__(self, cfg: ServeConfig, Session, clock=utcnow):
        self.cfg, self.Session, self.clock = cfg, Session, clock
        self.conf = tool_config(cfg) if cfg.platforms else None

    @property
    def enabled(self) -> bool:
        return self.conf is not None

    @property
    def launch_url(self) -> str:
        return f"{self.cfg.tool_url}/lti/launch"

    def login(self, params: dict[str, str], cookies: dict[str, str], secure: bool) -> tuple[str, _Cookies]:
        """The platform's URL to send the browser to, and the cookies to set with it."""
        if not any(p.issuer == params.get("iss") for p in self.cfg.platforms):
            raise LaunchRefused(f"no platform registration has the issuer {str(params.get('iss'))[:200]!r}")
        req = _Request(params, cookies, secure)
        jar = _Cookies(req)
        store = DbStore(self.Session, self.clock)
        store.purge()
        try:
            url = _Login(req, self.conf, SessionService(req), jar, launch_data_storage=store).redirect(self.launch_url)
        except (OIDCException, LtiException) as exc:
            raise LaunchRefused(str(exc)) from None
        return url, jar

    def launch(self, params: dict[str, str], cookies: dict[str, str], secure: bool) -> tuple[dict, Platform]:
        """The validated id_token claims and the platform that signed them."""
        self._addressed_here(params.get("id_token") or "")
        req = _Request(params, cookies, secure)
        jar = _Cookies(req)
        try:
            msg = _Launch(req, self.conf, SessionService(req), jar, launch_data_storage=DbStore(self.Session, self.clock))
            claims = msg.get_launch_data()
        except (OIDCException, LtiException) as exc:
            raise LaunchRefused(str(exc)) from None
        except Exception as exc:   # a malformed token the library did not expect
            raise LaunchRefused(f"the launch could not be read ({type(exc).__name__})") from None
        aud = claims.get("aud")
        auds = aud if isinstance(aud, list) else [aud]
        platform = next((p for p in self.cfg.platforms if p.issuer == claims.get("iss") and p.client_id in auds), None)
        if platform is None:
            raise LaunchRefused("the id_token is not addressed to this tool (aud)")
        if len(auds) > 1 and claims.get("azp") != platform.client_id:
            raise LaunchRefused("the id_token has several audiences and azp is not this tool")
        return claims, platform

    def _addressed_here(self, token: str) -> None:
        """Refuse a token of an unknown issuer or for another audience before the library looks
        up its registration (unverified read: the library verifies everything afterwards)."""
        import jwt
        try:
            claims = jwt.decode(token, options={"verify_signature": False})
        except jwt.InvalidTokenError:
            raise LaunchRefused("the id_token is not a JWT") from None
        aud = claims.get("aud")
        auds = aud if isinstance(aud, list) else [aud]
        mine = [p for p in self.cfg.platforms if p.issuer == claims.get("iss")]
        if not mine:
            raise LaunchRefused(f"no platform registration has the issuer {str(claims.get('iss'))[:200]!r}")
        if not any(p.client_id in auds for p in mine):
            raise LaunchRefused("the id_token is not addressed to this tool (aud)")

    def person(self, session, claims: dict, platform: Platform):
        """``("student" | "staff", row)`` of the roster person the launch names; LaunchRefused else."""
        value = identity(claims, platform.match)
        if not value:
            raise LaunchRefused(f"the launch does not say the user's {platform.match} "
                                f"(the platform must share it with the tool)")
        for kind, model in (("staff", Staff), ("student", Student)):
            column = model.email if platform.match == "email" else model.login
            row = session.scalar(select(model).where(func.lower(column) == value.lower()))
            if row is not None:
                return kind, row
        raise LaunchRefused(f"no one on the course roster has the {platform.match} {value!r}: "
                            f"ask your instructor to add you")


def identity(claims: dict, match: str) -> str:
    """The roster key of the launch's user: its email, or its login (see the module doc)."""
    if match == "email":
        return str(claims.get("email") or "").strip()
    custom = claims.get(CLAIM + "custom") if isinstance(claims.get(CLAIM + "custom"), dict) else {}
    ext = claims.get(CLAIM + "ext") if isinstance(claims.get(CLAIM + "ext"), dict) else {}
    lis = claims.get(CLAIM + "lis") if isinstance(claims.get(CLAIM + "lis"), dict) else {}
    for value in (custom.get("login_id"), custom.get("canvas_user_login_id"), ext.get("user_username"),
                  lis.get("person_sourcedid")):
        if isinstance(value, str) and value.strip() and not value.startswith("$"):   # "$Canvas..." unexpanded
            return value.strip()
    return ""

