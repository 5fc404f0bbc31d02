"""The web layer's defences: the session key and lifetime, security headers, body size limits, cross-site request
refusal and strict JSON parsing.

Cross-site requests are refused by what the browser says about them (Sec-Fetch-Site, else Origin) rather than by
tokens in forms: every state-changing page and the scan queue work unchanged, and a form on another port of the
same host, which SameSite=Lax cookies do not stop, is refused. API calls under /api/v1 carry bearer tokens, not
the session cookie, so they are not checked.
"""

import json
import logging
import os
import secrets
import stat
import time
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit

from flask import Flask, current_app, request, session
from flask.json.provider import DefaultJSONProvider
from werkzeug.exceptions import Forbidden, RequestEntityTooLarge
from werkzeug.routing import IntegerConverter

from domain.errors import InvalidInput

log = logging.getLogger(__name__)

SECRET_FILE = "session-secret"
SAFE_METHODS = ("GET", "HEAD", "OPTIONS", "TRACE")
API_PREFIX = "/api/v1/"
MAX_BODY = 1024 * 1024
# A settlement bill or a SKU file may be 20 MB (office.MAX_BILL_BYTES); the multipart envelope adds a little.
MAX_UPLOAD_BODY = 21 * 1024 * 1024
LARGE_BODY_ENDPOINTS = ("office.upload_bill", "products.upload", "office_costs.upload_bill")
CONTENT_SECURITY_POLICY = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
                           "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; "
                           "frame-ancestors 'none'")
HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
}
LARGEST_ID = 2**63 - 1


class CrossSiteRequest(Forbidden):
    name = "Cross Site Request"
    description = "a page of another site (or another port of this host) may not send this request"


def stored_secret_key(data_dir: Path) -> str:
    """The session key kept in the data folder (mode 0600), made at random on first start."""
    path = Path(data_dir) / SECRET_FILE
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        draft = path.with_name(f".{SECRET_FILE}.{os.getpid()}.{secrets.token_hex(4)}")
        descriptor = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w") as file:
            file.write(secrets.token_urlsafe(48))
        try:
            os.link(draft, path)  # two processes starting at once: the first key written is the one both use
        except FileExistsError:
            pass
        finally:
            draft.unlink()
    if stat.S_IMODE(path.stat().st_mode) & 0o077:
        log.warning("%s was readable by others; its mode is now 0600", path)
        path.chmod(0o600)
    key = path.read_text().strip()
    if len(key) < 32:
        raise RuntimeError(f"{path} holds no usable session key; remove it to have a new one made")
    return key


def _flag(value: str | None) -> bool:
    return (value or "").strip().lower() in ("1", "true", "yes", "on")


def _whole(environ, name: str, default: int) -> int:
    raw = environ.get(name, "").strip()
    try:
        value = int(raw) if raw else default
    except ValueError:
        raise ValueError(f"{name} must be a whole number, not {raw!r}") from None
    if value <= 0:
        raise ValueError(f"{name} must be greater than zero")
    return value


def config_from_env(environ=None) -> dict:
    """The Flask settings of the defences, from CANGKU_* environment variables."""
    environ = os.environ if environ is None else environ
    secure = _flag(environ.get("CANGKU_SECURE_COOKIES"))
    return {
        "SESSION_COOKIE_SECURE": secure,
        "SESSION_COOKIE_HTTPONLY": True,
        "PERMANENT_SESSION_LIFETIME": timedelta(minutes=_whole(environ, "CANGKU_SESSION_IDLE_MINUTES", 30)),
        "SESSION_MAX_HOURS": _whole(environ, "CANGKU_SESSION_MAX_HOURS", 12),
        "MAX_CONTENT_LENGTH": MAX_BODY,
        "MAX_UPLOAD_LENGTH": MAX_UPLOAD_BODY,
        "LOGIN_MAX_FAILURES": _whole(environ, "CANGKU_LOGIN_MAX_FAILURES", 5),
        "LOGIN_LOCKOUT_MINUTES": _whole(environ, "CANGKU_LOGIN_LOCKOUT_MINUTES", 15),
    }


class StrictJSONProvider(DefaultJSONProvider):
    """JSON bodies that would break later (too deeply nested, or holding a lone surrogate that is not text) are
    refused when read, as any malformed input is."""

    def loads(self, s, **kwargs):
        try:
            value = super().loads(s, **kwargs)
            if ("\\u" in s) if isinstance(s, str) else (b"\\u" in s):
                json.dumps(value, ensure_ascii=False).encode("utf-8")
        except RecursionError:
            raise InvalidInput("the JSON body is nested too deeply") from None
        except UnicodeEncodeError:
            raise InvalidInput("the JSON body holds a lone surrogate (\\ud800-\\udfff), which is not text") from None
        return value


class DatabaseId(IntegerConverter):
    """An <int:...> path part beyond what a database id can hold matches nothing (404) instead of overflowing."""

    def __init__(self, map, fixed_digits=0, min=None, max=LARGEST_ID, signed=False):
        super().__init__(map, fixed_digits=fixed_digits, min=min, max=max, signed=signed)


def install_before_routes(app: Flask) -> None:
    """What must be in place before any route is added: bounded ids, strict JSON."""
    app.url_map.converters["int"] = DatabaseId
    app.json = StrictJSONProvider(app)


def init_app(app: Flask) -> None:
    """Register the defences' hooks (settings come from `config_from_env`, overridable by the app's config)."""
    app.before_request(limit_body)
    app.before_request(refuse_cross_site)
    app.before_request(end_long_sessions)
    app.after_request(add_headers)


def limit_body() -> None:
    if request.endpoint in LARGE_BODY_ENDPOINTS:
        request.max_content_length = _config("MAX_UPLOAD_LENGTH")
    most = request.max_content_length
    if most is not None and request.content_length is not None and request.content_length > most:
        raise RequestEntityTooLarge(f"the request body is larger than {most // 1024} KB")


def _config(name: str):
    return current_app.config[name]


def refuse_cross_site() -> None:
    """Refuse a state-changing request a browser says comes from another origin (another port counts)."""
    if request.method in SAFE_METHODS or request.path.startswith(API_PREFIX):
        return
    site = request.headers.get("Sec-Fetch-Site")
    if site is not None:
        if site in ("same-origin", "none"):
            return
        raise CrossSiteRequest()
    origin = request.headers.get("Origin")
    if origin is None:
        return  # not a browser, or one too old to say: nothing a cross-site page could have sent
    if urlsplit(origin).netloc != request.host:
        raise CrossSiteRequest()


def end_long_sessions() -> None:
    """A signed-in session ends after SESSION_MAX_HOURS however busy it is (idle ones end by the cookie's age)."""
    if not session.get("badge"):
        return
    now = int(time.time())
    since = session.get("since")
    if not isinstance(since, int):
        session["since"] = now
    elif now - since > _config("SESSION_MAX_HOURS") * 3600:
        session.clear()


def add_headers(response):
    for name, value in HEADERS.items():
        response.headers.setdefault(name, value)
    if _config("SESSION_COOKIE_SECURE"):
        response.headers.setdefault("Strict-Transport-Security", "max-age=31536000")
        cookies = response.headers.getlist("Set-Cookie")
        if cookies:  # the device and language cookies (the session cookie follows SESSION_COOKIE_SECURE)
            response.headers.remove("Set-Cookie")
            for cookie in cookies:
                response.headers.add("Set-Cookie", cookie if "; Secure" in cookie else cookie + "; Secure")
    if request.endpoint != "static" and "Cache-Control" not in response.headers:
        response.headers["Cache-Control"] = "no-store"
    return response
