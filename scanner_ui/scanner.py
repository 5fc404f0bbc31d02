"""The scanner screens: one input, Enter submits, each scan one numbered request mapped to one command.

Without JavaScript each scan is a plain form POST answered by a redirect (POST/redirect/GET). With it, scans go
through a client-side queue as JSON, one at a time and in order, and the answer replaces the screen's panel.
"""

import copy
import functools
from uuid import UUID

from flask import Blueprint, abort, current_app, g, redirect, render_template, request, url_for
from markupsafe import escape

from domain.errors import InvalidInput
from domain.scanning import SCAN_SCREENS, Scan, ScanResult, StaleSequence
from domain.staff import WORK_SCREENS, may_use

from .auth import current_staff, login_required, system, working_warehouse
from .errors import status_of_code
from .i18n import translate, with_title

bp = Blueprint("scanner", __name__)


def ports():
    """The floor's ports, working in the warehouse of the person signed in on this device."""
    if "floor_ports" not in g:
        base = current_app.extensions["cangku_ports"]
        here = working_warehouse() if current_staff() is not None else base.warehouse
        g.floor_ports = base
        if here != base.warehouse:
            g.floor_ports = copy.copy(base)
            g.floor_ports.warehouse = here
    return g.floor_ports


def on_the_floor(view):
    """The request reads the floor as of one look at the event log, not one question per aggregate."""

    @functools.wraps(view)
    def wrapper(*args, **kwargs):
        with system().app.store.floor_reads():
            return view(*args, **kwargs)

    return wrapper


def _order_number(order_id: str) -> str:
    return system().app.orders.get_order(UUID(order_id))["platform_order_no"]


def screen_view(screen: str) -> dict:
    """What a screen shows now: the step awaited and what the person needs to see for it."""
    app = system().app
    if screen == "pick":
        return app.screens.pick_view(g.device, ports())
    if screen == "pack":
        return app.screens.pack_view(g.device)
    c = app.floor.screen_context(g.device, screen)
    if screen == "receive":
        return {"step": c.get("awaiting") or ("quantity" if "sku" in c else "item"), **c}
    if screen == "putaway":
        return {"step": "bin" if "sku" in c else "item", **c}
    if screen == "count":
        return {"step": "quantity" if "sku" in c else "item" if "bin" in c else "bin", **c}
    if screen == "dispatch":
        if "transfer" in c:
            c["lines"] = app.transfers.transfer(c["transfer"])
        return {"step": "quantity" if "sku" in c else "item" if "bin" in c else "bin" if "transfer" in c
                else "transfer", **c}
    if screen == "returns":
        step = "grade" if "barcode" in c else "item" if "order" in c else "order"
        return {"step": step, **c, "order": _order_number(c["order"]) if "order" in c else ""}
    return {"step": "parcel", "count": c.get("count", 0)}


def render_panel(screen: str, seq: int) -> str:
    return render_template(f"panels/{screen}.html", view=screen_view(screen), seq=seq, screen=screen)


def told_back(params: dict) -> dict:
    """A refusal's parameters as an answer may carry them: a scanned value is escaped, never markup as it was typed."""
    return {name: str(escape(value)) if isinstance(value, str) else value for name, value in params.items()}


def said(result: ScanResult | dict | None) -> tuple[str, str]:
    """(outcome, text) of a scan's answer, in the person's language."""
    if result is None:
        return "", ""
    if isinstance(result, ScanResult):
        result = {"outcome": result.outcome, "key": result.key, "params": result.params}
    key, params = result["key"], result["params"]
    if params.get("refusal"):
        shown = told_back(params)
        return result["outcome"], with_title(g.lang, key, translate(g.lang, params["refusal"], shown), shown)
    return result["outcome"], translate(g.lang, key, params)


@bp.get("/")
@login_required
def menu():
    member = current_staff()
    screens = [s for s in WORK_SCREENS if may_use(member["role"], s)]
    reports = member["role"] in ("supervisor", "auditor", "admin")
    return render_template("menu.html", screens=screens, reports=reports, warehouse=ports().warehouse)


@bp.get("/sw.js")
def service_worker():
    """The worker that opens a scanner screen from its last copy when the connection is gone."""
    response = current_app.send_static_file("sw.js")
    response.headers["Cache-Control"] = "no-cache"
    return response


@bp.get("/s/<screen>")
@on_the_floor
@login_required
def screen_page(screen: str):
    if screen not in WORK_SCREENS:
        abort(404)
    if not may_use(current_staff()["role"], screen):
        return render_template("refused.html", key="not_permitted_screen"), 403
    app = system().app
    seq = app.floor.next_sequence(g.device)
    answer = app.floor.scan_answer(g.device, request.args.get("r", type=int) or 0)
    outcome, message = said(answer if answer and answer["screen"] == screen else None)
    return render_template("screen.html", screen=screen, seq=seq, panel=render_panel(screen, seq), outcome=outcome,
                           message=message)


def _scan_from(data) -> Scan:
    value = data.get("value")
    if value is None and data.get("weight_g") is not None:
        value = data.get("weight_g")  # a scale posts its reading as weight_g
    try:
        sequence = int(str(data.get("seq", "")))
    except ValueError:
        raise InvalidInput("a scan needs its sequence number 'seq'") from None
    return Scan(g.device, sequence, current_staff()["badge"], str(data.get("screen", ""))[:20],
                str("" if value is None else value)[:1000], str(data.get("kind") or "scan")[:20],
                str(data.get("entry") or "")[:10])


@bp.post("/scan")
@on_the_floor
def scan():
    """One numbered scan, from a form (answered by a redirect) or as JSON (answered with the new panel)."""
    as_json = request.is_json or request.accept_mimetypes.best == "application/json"
    data = (request.get_json(silent=True) or {}) if request.is_json else request.form
    if current_staff() is None:
        if as_json:
            return {"error": {"code": "not_logged_in", "message": translate(g.lang, "not_logged_in")}}, 401
        screen = str(data.get("screen", ""))
        back = url_for("scanner.screen_page", screen=screen) if screen in WORK_SCREENS else None
        return redirect(url_for("auth.login", next=back), 303)
    scan = _scan_from(data)
    after = url_for("supervisor.page") if scan.screen == "supervisor" else None
    if scan.screen not in SCAN_SCREENS:
        raise InvalidInput("unknown screen")
    try:
        result = system().app.floor.scan(scan, ports())
    except StaleSequence as stale:
        if as_json:
            return {"error": {"code": stale.code, "message": translate(g.lang, stale.code)},
                    "next_sequence": stale.next_sequence}, 409
        return redirect(after or url_for("scanner.screen_page", screen=scan.screen), 303)
    if not as_json:
        return redirect(f"{after or url_for('scanner.screen_page', screen=scan.screen)}?r={result.sequence}", 303)
    outcome, message = said(result)
    body = {
        "scan": {"sequence": result.sequence, "outcome": outcome, "key": result.key,
                 "params": told_back(result.params),
                 "duplicate": result.duplicate},
        "message": message,
        "next_sequence": result.next_sequence,
    }
    if scan.screen in WORK_SCREENS:
        body["panel"] = render_panel(scan.screen, result.next_sequence)
    if result.ok:
        return body
    body["error"] = {"code": result.key, "message": message}
    return body, status_of_code(result.key)
