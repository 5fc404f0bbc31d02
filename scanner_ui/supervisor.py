"""The supervisor's page: waves, short picks, held count differences, picks per hour and mis-scan rates.

Auditors see the same figures, read-only. Every button on it is a numbered input of the scan pipeline, so it
is recorded (who, device, when) like any scan.
"""

from datetime import datetime, timedelta, timezone

from flask import Blueprint, g, render_template, request

from domain.errors import InvalidInput
from projections import orders_board
from projections.backoffice import business_calendar
from projections import scanning as view

from .auth import current_staff, login_required, system
from .scanner import ports, said

bp = Blueprint("supervisor", __name__, url_prefix="/supervisor")

READERS = ("supervisor", "auditor", "admin")


def floor(since: datetime) -> dict:
    """Everything the page shows, as plain dicts (also served as JSON)."""
    engine = ports().fresh()
    warehouse = ports().warehouse
    return {
        "warehouse": warehouse,
        "waves": view.open_waves(engine, warehouse),
        "reserved": len(view.reserved_orders(engine, warehouse)),
        "exceptions": view.pick_exceptions(engine),
        "pending_counts": view.pending_count_adjustments(engine, warehouse),
        "held": held_orders(engine, warehouse),
        "statistics": view.floor_statistics(engine, since),
        "hourly": view.hourly_statistics(engine, since),
        "print_failures": print_failures(),
        "productivity": view.productivity(engine, since),
    }


def print_failures() -> list[dict]:
    """Print jobs whose last attempt failed (paper out, cover open, printer gone), until they print."""
    rows = orders_board.exception_queue(system().fresh("orders_board"), "failed_job")
    return [{"order": r["platform_order_no"], "detail": r["detail"], "attempts": r["times_raised"],
             "since": business_calendar.local(r["raised_at"])} for r in rows if r["subject"].startswith("print:")]


def held_orders(engine, warehouse: str) -> list[dict]:
    """Orders held on this floor, each with why (a short pick names the SKU and the units missing)."""
    orders = system().app.orders
    return [{"order_id": str(held["order_id"]), "number": held["number"],
             "reasons": orders.get_order(held["order_id"])["hold_reasons"]}
            for held in view.held_orders(engine, warehouse)]


@bp.get("")
@login_required
def page():
    member = current_staff()
    if member["role"] not in READERS:
        return render_template("refused.html", key="not_permitted_screen"), 403
    hours = min(max(request.args.get("hours", 24, type=int), 1), 24 * 31)
    since = datetime.now(timezone.utc) - timedelta(hours=hours)
    answer = system().app.floor.scan_answer(g.device, request.args.get("r", type=int) or 0)
    outcome, message = said(answer if answer and answer["screen"] == "supervisor" else None)
    data = floor(since)
    if request.accept_mimetypes.best == "application/json":
        return data
    return render_template("supervisor.html", **data, seq=system().app.floor.next_sequence(g.device),
                           writable=member["role"] != "auditor", outcome=outcome, message=message, hours=hours)


@bp.get("/scans")
@login_required
def scans():
    """The recorded scans, newest first: who, which device, when, which screen, the value and the outcome."""
    if current_staff()["role"] not in READERS:
        return render_template("refused.html", key="not_permitted_screen"), 403
    limit = request.args.get("limit", 200, type=int)
    if not 1 <= limit <= 1000:
        raise InvalidInput(f"limit must be 1-1000, not {limit}")
    rows = view.recorded_scans(ports().fresh(), staff=request.args.get("staff") or None,
                               device=request.args.get("device") or None, limit=limit)
    return render_template("scans.html", rows=rows)


@bp.get("/jobs")
@login_required
def failed_jobs():
    """Jobs that kept failing (the dead-letter queue), each with a retry button."""
    if current_staff()["role"] not in READERS:
        return render_template("refused.html", key="not_permitted_screen"), 403
    from workers.dead_letters import dead_letters

    broker = system().broker
    rows = dead_letters(broker) if broker is not None else []
    if request.accept_mimetypes.best == "application/json":
        return {"failed_jobs": rows}
    return render_template("jobs.html", jobs=rows, writable=current_staff()["role"] in ("supervisor", "admin"))


@bp.post("/jobs/<message_id>/retry")
@login_required
def retry_job(message_id: str):
    """Send a dead-lettered job again."""
    if current_staff()["role"] not in ("supervisor", "admin"):
        return render_template("refused.html", key="not_permitted_screen"), 403
    from flask import redirect, url_for

    from workers.dead_letters import retry_dead_letter

    broker = system().broker
    if broker is None or not retry_dead_letter(broker, message_id[:64]):
        return render_template("refused.html", key="job_not_found"), 404
    return redirect(url_for("supervisor.failed_jobs"), 303)
