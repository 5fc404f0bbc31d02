"""Who is scanning on which device: the device cookie (or header), badge-and-PIN login, the language cookie."""

import functools
import secrets
from urllib.parse import urlsplit

from flask import Blueprint, current_app, g, redirect, render_template, request, session, url_for

from domain.errors import InvalidInput
from domain.scanning import LoginRefused, check_device
from domain.staff import WORK_SCREENS, NotAllowed

from . import i18n

bp = Blueprint("auth", __name__)

DEVICE_COOKIE = "cangku_device"
DEVICE_HEADER = "X-Device-Id"
FIVE_YEARS = 5 * 365 * 24 * 3600


def system():
    return current_app.extensions["cangku"]


def identify_device() -> None:
    """Before each request: the device id from the header or cookie, a new one for a device seen first."""
    g.lang = i18n.language_of(request.cookies.get(i18n.COOKIE))
    g.new_device = False
    for candidate in (request.headers.get(DEVICE_HEADER), request.cookies.get(DEVICE_COOKIE)):
        if candidate:
            try:
                g.device = check_device(candidate)
                return
            except InvalidInput:
                continue
    g.device = "d-" + secrets.token_hex(8)
    g.new_device = True


def remember_device(response):
    if getattr(g, "new_device", False):
        response.set_cookie(DEVICE_COOKIE, g.device, max_age=FIVE_YEARS, httponly=True, samesite="Lax")
    return response


def current_staff() -> dict | None:
    """The signed-in member of staff (checked against the event store on every request), or None."""
    if "staff" not in g:
        g.staff = None
        badge = session.get("badge")
        if badge:
            try:
                member = system().app.staff.staff_member(badge)
            except NotAllowed:
                member = None
            g.staff = member if member and member["active"] else None
    return g.staff


def working_warehouse() -> str:
    """The warehouse the signed-in person works in on this device: chosen at login, else the device's last one,
    else the configured default."""
    return (session.get("warehouse") or system().app.floor.device_warehouse(g.device)
            or system().settings.warehouse)


def warehouse_choices() -> list[str]:
    from projections.inventory import warehouse_codes

    return warehouse_codes(system().fresh("inventory"))


def login_required(view):
    @functools.wraps(view)
    def wrapper(*args, **kwargs):
        if current_staff() is None:
            return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))
        return view(*args, **kwargs)

    return wrapper


def _local_path(target: str | None, default: str) -> str:
    parts = urlsplit(target or "")
    if not target or parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return default
    return target


@bp.route("/login", methods=["GET", "POST"])
def login():
    """Scan the badge, type the PIN."""
    badge, error, params, focus, status = "", "", {}, "", 200
    if request.method == "POST":
        badge = request.form.get("badge", "").strip()[:32]
        pin = request.form.get("pin", "")
        if badge and pin:
            try:
                member = system().app.floor.login(g.device, badge, pin, _screen_of(request.args.get("next")),
                                                  request.form.get("warehouse", ""), system().settings.warehouse)
            except LoginRefused as refused:
                error, params, focus = refused.code, dict(refused.params), refused.field
                if "role" in params:
                    params.update(role=i18n.translate(g.lang, f"role:{params['role']}"),
                                  screen=i18n.translate(g.lang, params["screen"]))
                # a badge on the wrong screen or in the wrong warehouse is no wrong PIN: the lockout does not count it
                status = 403 if refused.code == "badge_not_for_screen" or refused.field == "warehouse" else 401
                badge = badge if focus == "pin" else ""  # the next scan replaces a wrong badge, not appends to it
            except (NotAllowed, InvalidInput):
                error, status = "not_allowed", 401
            else:
                session.clear()
                session["badge"] = member["badge"]
                session["warehouse"] = member["warehouse"]
                session.permanent = True
                return redirect(_local_path(request.args.get("next"), url_for("scanner.menu")), 303)
    return render_template("login.html", badge=badge, error=error, error_params=params, focus=focus,
                           next=request.args.get("next", ""), warehouses=warehouse_choices(),
                           chosen=request.form.get("warehouse") or working_warehouse()), status


def _screen_of(target: str | None) -> str:
    """The screen a login is headed for (its role is checked at the door), or "" for the menu."""
    parts = urlsplit(_local_path(target, "/")).path.strip("/").split("/")
    if parts[0] == "supervisor":
        return "supervisor"
    return parts[1] if parts[0] == "s" and len(parts) > 1 and parts[1] in WORK_SCREENS else ""


@bp.post("/logout")
def logout():
    member = current_staff()
    if member:
        system().app.floor.logout(g.device, member["badge"])
    session.clear()
    return redirect(url_for("auth.login"), 303)


@bp.get("/lang/<code>")
def language(code: str):
    """Switch the language and go back where the person was."""
    response = redirect(_local_path(request.args.get("next"), url_for("scanner.menu")), 303)
    response.set_cookie(i18n.COOKIE, i18n.language_of(code), max_age=FIVE_YEARS, samesite="Lax")
    return response
