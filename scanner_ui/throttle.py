"""Login throttling: after too many wrong PINs for a badge, or at a device, within the lockout period, that badge or
device is locked for the period, and the login page says until when.

Kept in this process's memory for now: a restart forgets lockouts, and each server process counts on its own.
An attempt counts as failed from the moment it starts until it succeeds, so parallel guesses cannot slip past the
limit while the first ones are still being checked.
"""

import threading
from datetime import datetime, timedelta, timezone
from typing import Callable

from flask import Flask, current_app, g, render_template, request

from projections.backoffice import BUSINESS_TIME

ENDPOINT = "auth.login"


def utc_now() -> datetime:
    return datetime.now(timezone.utc)


class LoginThrottle:
    """Failures per key (a badge, a device) in a sliding period; the limit reached locks the key for the period."""

    def __init__(self, max_failures: int = 5, period: timedelta = timedelta(minutes=15),
                 clock: Callable[[], datetime] = utc_now):
        self.max_failures = max_failures
        self.period = period
        self.clock = clock
        self._lock = threading.Lock()
        self._failures: dict[str, list[datetime]] = {}
        self._locked_until: dict[str, datetime] = {}

    def begin(self, keys: tuple[str, ...]) -> datetime | None:
        """Start an attempt: the instant a key is locked until, or None with the attempt counted as failed."""
        with self._lock:
            now = self.clock()
            self._forget_before(now)
            until = max((self._locked_until[k] for k in keys if k in self._locked_until), default=None)
            if until is None:
                crowded = [k for k in keys if len(self._failures.get(k, ())) >= self.max_failures]
                if crowded:  # failures still being checked fill the allowance
                    until = min(self._failures[crowded[0]]) + self.period
            if until is not None:
                return until
            for key in keys:
                self._failures.setdefault(key, []).append(now)
            return None

    def failed(self, keys: tuple[str, ...]) -> None:
        """The attempt begun was refused: a key at the limit is locked for the period from now."""
        with self._lock:
            now = self.clock()
            for key in keys:
                if len(self._failures.get(key, ())) >= self.max_failures:
                    self._locked_until[key] = now + self.period
                    self._failures.pop(key, None)

    def succeeded(self, keys: tuple[str, ...]) -> None:
        """The right PIN: the badge's and the device's failures are forgotten."""
        with self._lock:
            for key in keys:
                self._failures.pop(key, None)

    def abandoned(self, keys: tuple[str, ...]) -> None:
        """The attempt checked no PIN (an empty form): it does not count."""
        with self._lock:
            for key in keys:
                attempts = self._failures.get(key)
                if attempts:
                    attempts.pop()
                    if not attempts:
                        del self._failures[key]

    def _forget_before(self, now: datetime) -> None:
        for key in [k for k, until in self._locked_until.items() if until <= now]:
            del self._locked_until[key]
        oldest = now - self.period
        for key in list(self._failures):
            recent = [at for at in self._failures[key] if at > oldest]
            if recent:
                self._failures[key] = recent
            else:
                del self._failures[key]


def init_app(app: Flask, throttle: LoginThrottle | None = None) -> None:
    app.extensions["cangku_login_throttle"] = throttle or LoginThrottle(
        app.config["LOGIN_MAX_FAILURES"], timedelta(minutes=app.config["LOGIN_LOCKOUT_MINUTES"]))
    app.before_request(check_login)
    app.after_request(settle_login)
    app.teardown_request(settle_interrupted_login)


def _throttle() -> LoginThrottle:
    return current_app.extensions["cangku_login_throttle"]


def check_login():
    if request.endpoint != ENDPOINT or request.method != "POST":
        return None
    badge = request.form.get("badge", "").strip()[:32]
    if not (badge and request.form.get("pin")):
        return None
    keys = (f"badge:{badge.upper()}", f"device:{g.device}")
    until = _throttle().begin(keys)
    if until is None:
        g.login_attempt = keys
        return None
    seconds = max(int((until - _throttle().clock()).total_seconds()), 1)
    shown = until.astimezone(BUSINESS_TIME).strftime("%H:%M")
    page = render_template("login.html", badge=badge, error="login_locked", error_params={"until": shown},
                           next=request.args.get("next", ""))
    return page, 429, {"Retry-After": str(seconds)}


def settle_login(response):
    keys = g.pop("login_attempt", None)
    if keys:
        if response.status_code == 401:
            _throttle().failed(keys)
        elif response.status_code in (302, 303):
            _throttle().succeeded(keys)
        else:
            _throttle().abandoned(keys)
    return response


def settle_interrupted_login(error=None) -> None:
    keys = g.pop("login_attempt", None)
    if keys:
        _throttle().failed(keys)
