"""Login throttling: after too many wrong PINs for a badge, or at a device, within the lockout period, that badge or
device is locked for the period, and the login page says until when.

Attempts, lockouts and a supervisor's unlock are events on a small stream per badge and per device
(`domain.staff.LoginGuard`), so every server process counts the same failures and a restart forgets nothing.
An attempt counts as failed from the moment it starts until it succeeds, so parallel guesses cannot slip past the
limit while the first ones are still being checked.
"""

from datetime import datetime, timedelta, timezone
from typing import Callable

from flask import Flask, current_app, g, render_template, request

from domain.staff import login_keys
from projections.backoffice import business_calendar

ENDPOINT = "auth.login"


def utc_now() -> datetime:
    return datetime.now(timezone.utc)


class LoginThrottle:
    """Failures per key (a badge, a device) in a sliding period; the limit reached locks the key for the period.

    The counting is the staff service's (`guards`, the running system's when not given)."""

    def __init__(self, max_failures: int = 5, period: timedelta = timedelta(minutes=15),
                 clock: Callable[[], datetime] = utc_now, guards=None):
        self.max_failures = max_failures
        self.period = period
        self.clock = clock
        self._guards = guards

    @property
    def guards(self):
        return self._guards if self._guards is not None else current_app.extensions["cangku"].app.staff

    def begin(self, keys: tuple[str, ...]) -> datetime | None:
        """Start an attempt: the instant a key is locked until, or None with the attempt counted as failed."""
        return self.guards.begin_login(keys, self.clock(), self.max_failures, self.period)

    def failed(self, keys: tuple[str, ...]) -> None:
        """The attempt begun was refused: a key at the limit is locked for the period from now."""
        self.guards.login_refused(keys, self.clock(), self.max_failures, self.period)

    def succeeded(self, keys: tuple[str, ...]) -> None:
        """The right PIN: the badge's and the device's failures are forgotten."""
        self.guards.login_accepted(keys)

    def abandoned(self, keys: tuple[str, ...]) -> None:
        """The attempt checked no PIN (an empty form): it does not count."""
        self.guards.login_withdrawn(keys)


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
    keys = login_keys(badge, g.device)
    until = _throttle().begin(keys)
    if until is None:
        g.login_attempt = keys
        return None
    seconds = max(int((until - _throttle().clock()).total_seconds()), 1)
    shown = business_calendar.local(until).strftime("%H:%M")
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
